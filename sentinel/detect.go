package sentinel

import (
	"context"
	"sort"
	"sync"
	"time"
)

// The pieces of failure detection and replica choice that sentinel mode
// and cluster mode share. Sentinel mode drives them from its instance
// links (periodic.go); cluster mode from its peer probes (package
// cluster). In both, only the Raft leader acts on a verdict, and the
// verdict and the promotion are Raft entries.

// Reachability follows one peer as periodic probes see it: the peer is
// down once no probe has been answered for the timeout. The clock starts
// when tracking starts, so a peer never heard from becomes down too.
// Not safe for concurrent use; callers guard it.
type Reachability struct {
	lastOK time.Time
}

// NewReachability starts tracking at now.
func NewReachability(now time.Time) Reachability { return Reachability{lastOK: now} }

// Answered records a probe answered at now.
func (r *Reachability) Answered(now time.Time) {
	if now.After(r.lastOK) {
		r.lastOK = now
	}
}

// LastOK is when the peer last answered (or tracking began).
func (r *Reachability) LastOK() time.Time { return r.lastOK }

// Silent is how long the peer has not answered.
func (r *Reachability) Silent(now time.Time) time.Duration { return now.Sub(r.lastOK) }

// Down reports whether the peer has been silent for longer than timeout.
func (r *Reachability) Down(now time.Time, timeout time.Duration) bool {
	return r.Silent(now) > timeout
}

// Majority reports whether agree voters out of voters are a strict
// majority (the Raft quorum size).
func Majority(agree, voters int) bool { return voters > 0 && agree >= voters/2+1 }

// Opinions asks each voter (in parallel, bounded by ctx) whether it agrees
// and returns how many did. ask must return promptly once ctx is done.
func Opinions(ctx context.Context, voters []string, ask func(ctx context.Context, voter string) bool) int {
	var mu sync.Mutex
	var wg sync.WaitGroup
	agree := 0
	for _, v := range voters {
		wg.Add(1)
		go func(v string) {
			defer wg.Done()
			if ask(ctx, v) {
				mu.Lock()
				agree++
				mu.Unlock()
			}
		}(v)
	}
	wg.Wait()
	return agree
}

// Candidate is a replica that could be promoted.
type Candidate struct {
	ID       string
	Offset   int64 // replication offset
	Priority int   // lower is preferred; 0 = never (replica-priority 0)
	Eligible bool  // the replica's own verdict: no-failover not set, data recent enough
	Down     bool  // unreachable as the deciding leader sees it
}

// PickCandidate returns the replica to promote by Redis's order: usable
// ones (eligible, reachable, priority not 0) by the largest replication
// offset, then the lowest priority, then the smallest id. A larger offset
// comes first because losing fewer writes matters more than an operator's
// preference between two replicas.
func PickCandidate(cands []Candidate) (Candidate, bool) {
	var ok []Candidate
	for _, c := range cands {
		if c.Eligible && !c.Down && c.Priority != 0 {
			ok = append(ok, c)
		}
	}
	if len(ok) == 0 {
		return Candidate{}, false
	}
	sort.Slice(ok, func(i, j int) bool {
		a, b := ok[i], ok[j]
		if a.Offset != b.Offset {
			return a.Offset > b.Offset
		}
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		return a.ID < b.ID
	})
	return ok[0], true
}
