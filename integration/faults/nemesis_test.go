package faults

// The fault schedule. One fault at a time: warm-up, then repeatedly a
// fault for 3-6 s, its end (restart, SIGCONT or heal), a healing gap of
// 5 s, and a wait (at most 30 s) until the system is healthy again, as
// long as the drawn fault and its gap still fit in the run. The kinds and
// targets are drawn from the run's seed.
//
//   kill        kill -9, restarted at the end with the same dir and config
//   pause       SIGSTOP, SIGCONT at the end
//   part-master the master | every other process
//   part-leader the Raft leader | every other process (sentinel
//               topology with redis-sentinel, which has no standing
//               leader: a random sentinel)
//   part-minority a random minority | the rest: sentinel topology, one
//               sentinel and, half the time, one data node; cluster
//               topology, one or two nodes, never both of a shard
//
// kill and pause hit a master two times in three, otherwise any process.

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/internal/netfault"
)

const (
	warmup      = 3 * time.Second
	faultMin    = 3 * time.Second
	faultMax    = 6 * time.Second
	healGap     = 5 * time.Second
	healthyWait = 30 * time.Second
)

var allFaultKinds = []string{"kill", "pause", "part-master", "part-leader", "part-minority"}

// topology is what the nemesis and the run need of a sentinel or cluster
// setup.
type topology interface {
	names() []string
	proc(name string) *proc
	procs() []*proc
	netlab() *netfault.Lab
	newClient() redis.UniversalClient
	masters() []string // current master(s), best effort
	raftLeader() string
	minority(rng *rand.Rand) []string
	healthy() (bool, string)
	finalClient() (redis.UniversalClient, error)
	restart(name string) error
	close()
}

// faultEvent is one fault of a run (a JSON line of history.jsonl with
// "type":"fault").
type faultEvent struct {
	Type    string   `json:"type"`
	Kind    string   `json:"kind"`
	Targets []string `json:"targets"`
	Start   int64    `json:"start"` // ns since the run's start
	End     int64    `json:"end"`
	Healthy int64    `json:"healthy,omitempty"` // ns since the run's start when healthy again (0: not within the wait)
	Note    string   `json:"note,omitempty"`
}

type nemesis struct {
	topo     topology
	rng      *rand.Rand
	kinds    []string
	rec      *recorder
	logf     func(string, ...any)
	events   []faultEvent
	warnings []string
}

func others(all, except []string) []string {
	ex := map[string]bool{}
	for _, e := range except {
		ex[e] = true
	}
	var out []string
	for _, a := range all {
		if !ex[a] {
			out = append(out, a)
		}
	}
	return out
}

// pickTarget: a master two times in three, otherwise any process.
func (n *nemesis) pickTarget() string {
	if n.rng.Intn(3) != 0 {
		if ms := n.topo.masters(); len(ms) > 0 {
			return ms[n.rng.Intn(len(ms))]
		}
	}
	all := n.topo.names()
	return all[n.rng.Intn(len(all))]
}

// run injects faults until the schedule would pass end (a time since the
// run's start); it returns with everything healed.
func (n *nemesis) run(end time.Duration, stop <-chan struct{}) error {
	sleep := func(d time.Duration) bool {
		select {
		case <-stop:
			return false
		case <-time.After(d):
			return true
		}
	}
	if !sleep(warmup) {
		return nil
	}
	for {
		kind := n.kinds[n.rng.Intn(len(n.kinds))]
		dur := faultMin + time.Duration(n.rng.Int63n(int64(faultMax-faultMin)+1))
		if time.Duration(n.rec.now())+dur+healGap > end {
			return nil
		}
		ev := faultEvent{Type: "fault", Kind: kind}
		var undo func() error
		switch kind {
		case "kill":
			target := n.pickTarget()
			ev.Targets = []string{target}
			p := n.topo.proc(target)
			if err := p.kill(); err != nil {
				return err
			}
			undo = func() error { return n.topo.restart(target) }
		case "pause":
			target := n.pickTarget()
			ev.Targets = []string{target}
			p := n.topo.proc(target)
			if err := p.pause(); err != nil {
				return err
			}
			undo = p.resume
		default:
			var side []string
			switch kind {
			case "part-master":
				side = n.topo.masters()
				if len(side) > 1 {
					side = side[n.rng.Intn(len(side)):][:1]
				}
			case "part-leader":
				if l := n.topo.raftLeader(); l != "" {
					side = []string{l}
				} else {
					ev.Note = "no raft leader known: a random minority"
				}
			}
			if len(side) == 0 {
				side = n.topo.minority(n.rng)
			}
			sort.Strings(side)
			ev.Targets = side
			rest := others(n.topo.names(), side)
			lab := n.topo.netlab()
			lab.Partition(side, rest)
			if bp := lab.Bypasses(side, rest); len(bp) > 0 {
				w := fmt.Sprintf("%s %v: links across the partition bypass the proxies: %v", kind, side, bp)
				n.warnings = append(n.warnings, w)
				n.logf("WARNING %s", w)
			}
			undo = func() error { lab.Heal(); return nil }
		}
		ev.Start = n.rec.now()
		n.logf("fault %s %v for %v (at %.1fs)", kind, ev.Targets, dur, time.Duration(ev.Start).Seconds())
		time.Sleep(dur) // the fault's duration (schedule, not synchronisation)
		err := undo()
		ev.End = n.rec.now()
		n.events = append(n.events, ev)
		idx := len(n.events) - 1
		if err != nil {
			return fmt.Errorf("ending fault %s %v: %w", kind, ev.Targets, err)
		}
		if !sleep(healGap) {
			return nil
		}
		deadline := time.Now().Add(healthyWait)
		for {
			ok, info := n.topo.healthy()
			if ok {
				n.events[idx].Healthy = n.rec.now()
				break
			}
			if time.Now().After(deadline) {
				w := fmt.Sprintf("not healthy %v after the end of %s %v: %s", healGap+healthyWait, kind, ev.Targets, info)
				n.events[idx].Note = strings.TrimSpace(n.events[idx].Note + " " + w)
				n.warnings = append(n.warnings, w)
				n.logf("WARNING %s", w)
				break
			}
			if !sleep(100 * time.Millisecond) {
				return nil
			}
		}
	}
}
