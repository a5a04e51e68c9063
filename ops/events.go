package ops

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/skiffdb/skiff/fsm"
)

// events watches the applied metadata and keeps a small ring of what
// changed (failovers, slot moves, leader changes) with timings, and the
// counters behind skiff_failovers_*_total. The metadata holds only the
// present, so the history is what this process saw: each process of a
// cluster keeps its own, and a restart starts a new one.
//
// It polls every 100 ms rather than hooking the Raft apply path: the
// apply path belongs to the state machine, and a tenth of a second is
// far below the page's and Prometheus's resolution.
type events struct {
	p    *Ops
	mu   sync.Mutex
	ring []Event
	next int64
	c    eventCounts
	done chan struct{}
	once sync.Once

	// watcher state (run goroutine only)
	prev      *fsm.SnapshotData
	leader    string
	suspected map[string]time.Time // node id -> when this node first suspected or saw it failed
	migrSince map[int]time.Time    // slot -> when its migrating mark was first seen
	foStarted map[string]time.Time // fsm failover key -> when first seen
	foEntries map[string]fsm.Failover
	monAddrs  map[string]string
}

// Event is one entry of the ring, newest last.
type Event struct {
	Seq  int64     `json:"seq"`
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // failover, failover-aborted, failover-started, node-failed, node-recovered, migration, leader
	Text string    `json:"text"`
	// DurationMs is how long it took, when known: for a failover, from
	// when this process first saw the old master suspected (or marked
	// failed, or the failover start) to the promotion; for a migration,
	// from the first migrating mark of the slots to the ownership change.
	DurationMs int64 `json:"duration_ms,omitempty"`
}

type eventCounts struct {
	leaderChanges, started, finished, aborted, slotsMoved int64
}

const ringSize = 32

func newEvents(p *Ops) *events {
	return &events{p: p, done: make(chan struct{}), suspected: map[string]time.Time{},
		migrSince: map[int]time.Time{}, foStarted: map[string]time.Time{}, foEntries: map[string]fsm.Failover{},
		monAddrs: map[string]string{}}
}

func (e *events) stop() { e.once.Do(func() { close(e.done) }) }

func (e *events) counts() eventCounts {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.c
}

// list returns the ring, oldest first.
func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.ring...)
}

func (e *events) add(kind, text string, d time.Duration, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next++
	ev := Event{Seq: e.next, At: now.UTC(), Kind: kind, Text: text}
	if d > 0 {
		ev.DurationMs = d.Milliseconds()
	}
	e.ring = append(e.ring, ev)
	if len(e.ring) > ringSize {
		e.ring = e.ring[len(e.ring)-ringSize:]
	}
}

func (e *events) bump(f func(c *eventCounts)) {
	e.mu.Lock()
	f(&e.c)
	e.mu.Unlock()
}

func (e *events) run() {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		e.tick(time.Now())
		select {
		case <-e.done:
			return
		case <-t.C:
		}
	}
}

func nodeName(d *fsm.SnapshotData, id string) string {
	for _, n := range d.Nodes {
		if n.ID == id {
			return n.Addr
		}
	}
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func (e *events) tick(now time.Time) {
	g := e.p.o.Group()
	if g == nil {
		return
	}
	if l := g.Leader().LeaderID; l != e.leader {
		if l != "" {
			if e.leader != "" || e.prev != nil {
				e.bump(func(c *eventCounts) { c.leaderChanges++ })
				e.add("leader", "Raft leader is now "+l[:min(8, len(l))], 0, now)
			}
		}
		e.leader = l
	}
	// This node's own suspicions (cluster mode): the start of a
	// failover's clock, before the majority's verdict.
	if cn := e.p.o.Cluster; cn != nil {
		if v := cn.View(); v != nil {
			for _, n := range v.Nodes {
				if (n.PFail || n.Fail) && e.suspected[n.ID].IsZero() {
					e.suspected[n.ID] = now
				}
			}
		}
	}
	cur := g.FSM().Export()
	prev := e.prev
	e.prev = cur
	if prev == nil || prev.Index == cur.Index {
		return
	}
	if prev.Index > cur.Index {
		return // a new group (CLUSTER MEET): nothing to compare
	}
	e.diffNodes(prev, cur, now)
	e.diffSlots(prev, cur, now)
	e.diffFailovers(prev, cur, now)
	e.diffMonitors(prev, cur, now)
}

func (e *events) diffNodes(prev, cur *fsm.SnapshotData, now time.Time) {
	old := map[string]fsm.Node{}
	for _, n := range prev.Nodes {
		old[n.ID] = n
	}
	for _, n := range cur.Nodes {
		o, ok := old[n.ID]
		if !ok {
			continue
		}
		if n.Failed && !o.Failed {
			if e.suspected[n.ID].IsZero() {
				e.suspected[n.ID] = now
			}
			e.add("node-failed", fmt.Sprintf("%s marked failed by the majority", n.Addr), now.Sub(e.suspected[n.ID]), now)
		}
		if !n.Failed && o.Failed {
			delete(e.suspected, n.ID)
			e.add("node-recovered", fmt.Sprintf("%s reachable again (role %s)", n.Addr, n.Role), 0, now)
		}
		if o.Role == fsm.RoleReplica && n.Role == fsm.RoleMaster {
			// A promotion: the replica's old master lost its place.
			from := o.MasterID
			since := e.suspected[from]
			if fo, ok := e.foEntries[fsm.FailoverCluster+":"+from]; ok && fo.Candidate == n.ID {
				if t, ok := e.foStarted[fsm.FailoverCluster+":"+from]; ok && (since.IsZero() || t.Before(since)) {
					since = t
				}
			} else {
				// mark-failed decides and promotes in one entry: the
				// start and the end are one event.
				e.bump(func(c *eventCounts) { c.started++ })
			}
			var d time.Duration
			if !since.IsZero() {
				d = now.Sub(since)
			}
			e.bump(func(c *eventCounts) { c.finished++ })
			e.add("failover", fmt.Sprintf("%s promoted to master in place of %s (epoch %d)", n.Addr, nodeName(prev, from), n.ConfigEpoch), d, now)
		}
	}
	for id := range e.suspected {
		if _, ok := old[id]; !ok {
			found := false
			for _, n := range cur.Nodes {
				found = found || n.ID == id
			}
			if !found {
				delete(e.suspected, id)
			}
		}
	}
	// Suspicions that cleared without a verdict are forgotten.
	if cn := e.p.o.Cluster; cn != nil {
		if v := cn.View(); v != nil {
			for _, n := range v.Nodes {
				if !n.PFail && !n.Fail {
					delete(e.suspected, n.ID)
				}
			}
		}
	}
}

func (e *events) diffSlots(prev, cur *fsm.SnapshotData, now time.Time) {
	for _, m := range cur.Migrating {
		if _, ok := e.migrSince[m.Slot]; !ok {
			e.migrSince[m.Slot] = now
		}
	}
	var owners [fsm.NumSlots]string
	for _, r := range prev.Slots {
		for s := r.Start; s <= r.End; s++ {
			owners[s] = r.NodeID
		}
	}
	type move struct{ from, to string }
	moved := map[move][]int{}
	for _, r := range cur.Slots {
		for s := r.Start; s <= r.End; s++ {
			if o := owners[s]; o != "" && o != r.NodeID {
				moved[move{o, r.NodeID}] = append(moved[move{o, r.NodeID}], s)
			}
		}
	}
	keys := make([]move, 0, len(moved))
	for k := range moved {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].from+keys[i].to < keys[j].from+keys[j].to })
	for _, k := range keys {
		ss := moved[k]
		// A promotion moves every slot of the old master to its replica:
		// that is the failover event, not a migration.
		promo := false
		for _, n := range cur.Nodes {
			if n.ID == k.to {
				for _, o := range prev.Nodes {
					promo = promo || (o.ID == k.to && o.Role == fsm.RoleReplica)
				}
			}
		}
		if promo {
			continue
		}
		var first time.Time
		for _, s := range ss {
			if t, ok := e.migrSince[s]; ok && (first.IsZero() || t.Before(first)) {
				first = t
			}
			delete(e.migrSince, s)
		}
		var d time.Duration
		if !first.IsZero() {
			d = now.Sub(first)
		}
		n := int64(len(ss))
		e.bump(func(c *eventCounts) { c.slotsMoved += n })
		e.add("migration", fmt.Sprintf("%d slot(s) moved %s → %s (first %d)", len(ss), nodeName(cur, k.from), nodeName(cur, k.to), ss[0]), d, now)
	}
	marked := map[int]bool{}
	for _, m := range cur.Migrating {
		marked[m.Slot] = true
	}
	for s := range e.migrSince {
		if !marked[s] {
			delete(e.migrSince, s)
		}
	}
}

// diffFailovers follows the two-entry failovers (sentinel mode, and a
// cluster's CLUSTER FAILOVER): an entry appears (started) and goes
// (finished with a promotion, or aborted).
func (e *events) diffFailovers(prev, cur *fsm.SnapshotData, now time.Time) {
	curKeys := map[string]fsm.Failover{}
	for _, f := range cur.Failovers {
		curKeys[f.Kind+":"+f.Target] = f
	}
	for k, f := range curKeys {
		if _, ok := e.foEntries[k]; !ok {
			e.foEntries[k] = f
			e.foStarted[k] = now
			e.bump(func(c *eventCounts) { c.started++ })
			e.add("failover-started", fmt.Sprintf("failover of %s started (epoch %d)", e.targetName(cur, f), f.Epoch), 0, now)
		}
	}
	for k, f := range e.foEntries {
		if _, ok := curKeys[k]; ok {
			continue
		}
		delete(e.foEntries, k)
		started := e.foStarted[k]
		delete(e.foStarted, k)
		promoted := false
		switch f.Kind {
		case fsm.FailoverCluster:
			for _, n := range cur.Nodes {
				promoted = promoted || (n.ID == f.Candidate && n.Role == fsm.RoleMaster)
			}
			if promoted {
				continue // counted and logged by diffNodes
			}
		case fsm.FailoverSentinel:
			for _, m := range cur.Monitors {
				promoted = promoted || (m.Name == f.Target && m.Addr == f.Candidate)
			}
		}
		if promoted {
			e.bump(func(c *eventCounts) { c.finished++ })
			e.add("failover", fmt.Sprintf("%s: %s promoted to master (epoch %d)", f.Target, f.Candidate, f.Epoch), now.Sub(started), now)
		} else {
			e.bump(func(c *eventCounts) { c.aborted++ })
			e.add("failover-aborted", fmt.Sprintf("failover of %s ended without a promotion", e.targetName(cur, f)), now.Sub(started), now)
		}
	}
}

// diffMonitors notes a monitored master's address changing without a
// failover entry this process saw (it joined late, or missed the start).
func (e *events) diffMonitors(prev, cur *fsm.SnapshotData, now time.Time) {
	for _, m := range cur.Monitors {
		old, ok := e.monAddrs[m.Name]
		e.monAddrs[m.Name] = m.Addr
		if !ok {
			for _, pm := range prev.Monitors {
				if pm.Name == m.Name {
					old, ok = pm.Addr, true
				}
			}
		}
		if ok && old != m.Addr {
			if _, seen := e.foEntries[fsm.FailoverSentinel+":"+m.Name]; !seen {
				e.add("switch-master", fmt.Sprintf("%s: master moved %s → %s", m.Name, old, m.Addr), 0, now)
			}
		}
	}
}

func (e *events) targetName(d *fsm.SnapshotData, f fsm.Failover) string {
	if f.Kind == fsm.FailoverCluster {
		return nodeName(d, f.Target)
	}
	return f.Target
}
