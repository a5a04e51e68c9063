package fsm

import "testing"

// TestSetISR: compare-and-set on the version, one lease holder per
// master, frozen during a failover, and only in-sync candidates promoted
// (cluster mark-failed, sentinel start-failover); promotion hands the set
// and the lease holder to the candidate.
func TestSetISR(t *testing.T) {
	f := New()
	res := applyAll(t, f, []Command{
		&UpsertNode{Node: node(1)},
		&UpsertNode{Node: node(2)},
		&UpsertNode{Node: node(3)},
		&AddSlots{NodeID: id(1), Ranges: []SlotRange{{0, 16383}}},
		&Replicate{ID: id(2), MasterID: id(1)},
		&Replicate{ID: id(3), MasterID: id(1)},
		&SetISR{Kind: FailoverCluster, Name: id(1), RunID: "m1", PrevVersion: 0, ISR: []string{"r2"}},       // 6
		&SetISR{Kind: FailoverCluster, Name: id(1), RunID: "m1", PrevVersion: 0, ISR: []string{"r2", "r3"}}, // 7: refused, stale version
		&SetISR{Kind: FailoverCluster, Name: id(1), RunID: "mX", PrevVersion: 7, ISR: nil},                  // 8: refused, not the holder
		&SetISR{Kind: FailoverCluster, Name: id(2), RunID: "r2", PrevVersion: 0, ISR: nil},                  // 9: refused, not a master
		&MarkFailed{ID: id(1), Failed: true, Candidate: id(3), CandidateRunID: "r3"},                        // 10: refused, not in sync
		&MarkFailed{ID: id(1), Failed: true, Candidate: id(2)},                                              // 11: refused, no run id
		&StartFailover{Kind: FailoverCluster, Target: id(1), Candidate: id(2)},                              // 12: refused, manual in strong
		&MarkFailed{ID: id(1), Failed: true, Candidate: id(2), CandidateRunID: "r2"},                        // 13: promotes 2
		&MonitorMaster{Monitor: Monitor{Name: "m", Addr: "127.0.0.1:1", Quorum: 2}},                         // 14
		&SetISR{Name: "m", RunID: "s1", PrevVersion: 0, ISR: []string{"a", "b", "s1"}},                      // 15
		&StartFailover{Kind: FailoverSentinel, Target: "m", Candidate: "127.0.0.1:2", CandidateRunID: "c"},  // 16: refused
		&StartFailover{Kind: FailoverSentinel, Target: "m", Candidate: "127.0.0.1:2", CandidateRunID: "a"},  // 17
		&SetISR{Name: "m", RunID: "s1", PrevVersion: 16, ISR: []string{"a"}},                                // 18: refused, frozen
		&FinishFailover{Kind: FailoverSentinel, Target: "m", Epoch: 2, Promoted: true},                      // 19
	})
	refusedWant := map[int]bool{7: true, 8: true, 9: true, 10: true, 11: true, 12: true, 16: true, 18: true}
	for i, r := range res {
		if (r.Err != nil) != refusedWant[i] {
			t.Fatalf("entry %d: err %v, want refused=%v", i, r.Err, refusedWant[i])
		}
	}
	n1, _ := f.Node(id(1))
	n2, _ := f.Node(id(2))
	if n2.Role != RoleMaster || !n2.Strong || n2.RunID != "r2" || len(n2.ISR) != 0 || n2.ISRVersion != 14 {
		t.Fatalf("promoted node: %+v", n2)
	}
	if n1.Strong || n1.RunID != "" || n1.ISR != nil {
		t.Fatalf("old master keeps lease state: %+v", n1)
	}
	m, _ := f.Monitor("m")
	if m.RunID != "a" || len(m.ISR) != 1 || m.ISR[0] != "b" || m.ISRVersion != 20 || m.Addr != "127.0.0.1:2" {
		t.Fatalf("sentinel record after promotion: %+v", m)
	}
}
