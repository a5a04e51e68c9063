package consistency

import (
	"math/rand"
	"testing"
	"time"
)

func TestLeaseGrantValidRevoke(t *testing.T) {
	var l Lease
	if l.Valid(0) {
		t.Fatal("zero lease is valid")
	}
	l.Grant(100*time.Millisecond, time.Second)
	end := 100*time.Millisecond + 900*time.Millisecond
	if !l.Valid(end-time.Nanosecond) || l.Valid(end) {
		t.Fatalf("lease should end at anchor + 0.9·d = %v (remaining at anchor: %v)", end, l.Remaining(100*time.Millisecond))
	}
	l.Grant(0, time.Second) // an older grant arriving late shortens nothing
	if !l.Valid(end - time.Nanosecond) {
		t.Fatal("late older grant shortened the lease")
	}
	l.Revoke()
	if l.Valid(0) {
		t.Fatal("revoked lease still valid")
	}
}

// The granter's wait must cover the holder's lease even if the holder's
// clock runs up to 18 % slower: anchor ≤ grant time, so the holder's end
// (anchor + 0.9·d measured on a clock running at rate r ≥ 0.82) comes
// before grant + GranterWait(d).
func TestGranterWaitCoversHolder(t *testing.T) {
	d := time.Second
	g := NewGranter(d)
	t0 := time.Now()
	g.SetLeader(true, t0.Add(-10*time.Second))
	grant := t0
	g.Sending("m", grant)
	holderDur := float64(900*time.Millisecond) / 0.82
	holderEndReal := grant.Add(time.Duration(holderDur))
	if g.SafeAt("m").Before(holderEndReal) {
		t.Fatalf("granter's safe time %v before holder's end %v", g.SafeAt("m").Sub(t0), holderEndReal.Sub(t0))
	}
	// A new leader waits a full lease from its own start.
	g2 := NewGranter(d)
	g2.SetLeader(true, t0)
	if g2.SafeAt("m").Before(t0.Add(d)) {
		t.Fatal("new leader would promote before a predecessor's lease expired")
	}
	g2.SetLeader(false, t0.Add(time.Second))
	if g2.Leader() {
		t.Fatal("still leader after SetLeader(false)")
	}
}

// The invariant the ISR bookkeeping exists for: whatever the group may
// have committed (any proposal built from any report, applied in any
// order that compare-and-set allows) is always inside the master's wait
// set. A model group applies random reports' proposals with CAS.
func TestISRCommittedAlwaysInWaitSet(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	ids := []string{"a", "b", "c", "d"}
	for trial := 0; trial < 300; trial++ {
		s := NewISR(1)
		groupVersion, groupSet := uint64(0), []string(nil)
		index := uint64(0)
		type proposal struct {
			prev uint64
			set  []string
		}
		var inflight []proposal
		healthy := map[string]bool{}
		for step := 0; step < 60; step++ {
			switch rng.Intn(4) {
			case 0: // replicas come and go
				id := ids[rng.Intn(len(ids))]
				healthy[id] = !healthy[id]
			case 1: // the leader prepares; the proposal may be delayed
				var cands []string
				for _, id := range ids {
					if healthy[id] {
						cands = append(cands, id)
					}
				}
				rep := s.Prepare(func(id string) bool { return healthy[id] }, cands)
				if rep.Version >= groupVersion {
					inflight = append(inflight, proposal{prev: groupVersion, set: rep.Desired})
					if rep.Version != groupVersion {
						inflight[len(inflight)-1].prev = groupVersion
					} else {
						inflight[len(inflight)-1].prev = rep.Version
					}
				}
			case 2: // some in-flight proposal is applied (CAS)
				if len(inflight) == 0 {
					continue
				}
				i := rng.Intn(len(inflight))
				p := inflight[i]
				inflight = append(inflight[:i], inflight[i+1:]...)
				index++
				if p.prev == groupVersion {
					groupVersion, groupSet = index+1000, p.set
				}
			case 3: // a grant carries the group's state to the master
				s.Commit(groupVersion, groupSet)
			}
			for _, id := range groupSet {
				if !s.InWaitSet(id) {
					t.Fatalf("trial %d step %d: group committed %v (v%d) but the master waits for %v only",
						trial, step, groupSet, groupVersion, s.WaitSet())
				}
			}
		}
	}
}

func TestISRDurable(t *testing.T) {
	s := NewISR(1)
	if !s.Durable(100) {
		t.Fatal("empty wait set: nothing to wait for")
	}
	s.Prepare(func(string) bool { return true }, []string{"r1", "r2"})
	if s.Durable(1) {
		t.Fatal("durable with no acknowledgement")
	}
	s.Ack("r1", 10)
	s.Ack("r2", 5)
	if s.Durable(10) || !s.Durable(5) {
		t.Fatal("durable must be the minimum of the members' acks")
	}
	if s.Ack("r1", 3) {
		t.Fatal("an older ack moved a replica back")
	}
	s.ForgetAcks("r2")
	if s.Durable(1) {
		t.Fatal("forgotten acks still count")
	}
}

func TestMustRecord(t *testing.T) {
	p := PrepareReply{Version: 5, Desired: []string{"a"}, Addrs: map[string]string{"a": "h:1"}}
	if MustRecord(p, "m", 5, []string{"a"}, map[string]string{"a": "h:1"}) {
		t.Fatal("nothing changed, nothing to record")
	}
	for name, c := range map[string]bool{
		"no holder yet": MustRecord(p, "", 5, []string{"a"}, map[string]string{"a": "h:1"}),
		"another set":   MustRecord(p, "m", 5, nil, nil),
		"moved replica": MustRecord(p, "m", 5, []string{"a"}, map[string]string{"a": "h:2"}),
		"record reset":  MustRecord(p, "m", 3, []string{"a"}, map[string]string{"a": "h:1"}),
		"bump":          MustRecord(PrepareReply{Version: 5, Bump: true}, "m", 5, nil, nil),
	} {
		if !c {
			t.Errorf("%s: must record", name)
		}
	}
	if MustRecord(PrepareReply{Version: 2, Desired: []string{"b"}}, "m", 5, []string{"a"}, nil) {
		t.Error("a master behind the record is granted the record, not recorded")
	}
}

func TestRoundLog(t *testing.T) {
	l := &RoundLog{After: 2 * time.Second, Every: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	if w, _ := l.Failed("m", t0); w {
		t.Fatal("first failure warned")
	}
	if w, _ := l.Failed("m", t0.Add(time.Second)); w {
		t.Fatal("warned before After")
	}
	if w, d := l.Failed("m", t0.Add(3*time.Second)); !w || d != 3*time.Second {
		t.Fatalf("after After: warn %v, failing %v", w, d)
	}
	if w, _ := l.Failed("m", t0.Add(5*time.Second)); w {
		t.Fatal("warned again within Every")
	}
	if w, _ := l.Failed("m", t0.Add(14*time.Second)); !w {
		t.Fatal("no warning after Every")
	}
	if w, _ := l.Failed("other", t0.Add(14*time.Second)); w {
		t.Fatal("another holder's first failure warned")
	}
	if !l.OK("m") {
		t.Fatal("recovery after a warning not reported")
	}
	if l.OK("other") {
		t.Fatal("recovery reported without a warning")
	}
	if w, _ := l.Failed("m", t0.Add(20*time.Second)); w {
		t.Fatal("a new run of failures warned at once")
	}
}
