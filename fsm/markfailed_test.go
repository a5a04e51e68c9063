package fsm

import "testing"

// TestMarkFailed: marking and promotion are one entry; a failover is never
// decided twice; clearing the flag changes nothing else.
func TestMarkFailed(t *testing.T) {
	f := New()
	res := applyAll(t, f, []Command{
		&UpsertNode{Node: node(1)},
		&UpsertNode{Node: node(2)},
		&UpsertNode{Node: node(3)},
		&UpsertNode{Node: node(4)},
		&AddSlots{NodeID: id(1), Ranges: []SlotRange{{0, 8191}}},
		&AddSlots{NodeID: id(2), Ranges: []SlotRange{{8192, 16383}}},
		&Replicate{ID: id(3), MasterID: id(1)},
		&Replicate{ID: id(4), MasterID: id(1)},
		&MarkFailed{ID: id(1), Failed: true, Candidate: id(2)},                 // 8: refused: not its replica
		&MarkFailed{ID: id(1), Failed: true, Candidate: id(3)},                 // 9: promotes 3
		&MarkFailed{ID: id(1), Failed: true, Candidate: id(4)},                 // 10: refused: 1 is no longer a master
		&MarkFailed{ID: id(9), Failed: true},                                   // 11: refused: unknown
		&MarkFailed{ID: id(4), Failed: true},                                   // 12: flag only
		&MarkFailed{ID: id(3), Failed: true, Candidate: id(4)},                 // 13: refused: candidate failed
		&MarkFailed{ID: id(1), Failed: false},                                  // 14: clears
		&MarkFailed{ID: id(1), Failed: false, Candidate: id(3)},                // 15: refused
		&StartFailover{Kind: FailoverCluster, Target: id(3), Candidate: id(1)}, // 16
		&MarkFailed{ID: id(3), Failed: true, Candidate: id(1)},                 // 17: refused: in progress
	})
	refusedWant := map[int]bool{8: true, 10: true, 11: true, 13: true, 15: true, 17: true}
	for i, r := range res {
		if (r.Err != nil) != refusedWant[i] {
			t.Fatalf("entry %d: err %v, want refused=%v", i, r.Err, refusedWant[i])
		}
	}
	if res[9].Result.Epoch != 1 {
		t.Fatalf("promotion epoch %d, want 1", res[9].Result.Epoch)
	}
	n1, _ := f.Node(id(1))
	n3, _ := f.Node(id(3))
	n4, _ := f.Node(id(4))
	if n3.Role != RoleMaster || n3.ConfigEpoch != 1 || owner(f, 0) != id(3) || owner(f, 8191) != id(3) || owner(f, 8192) != id(2) {
		t.Fatalf("promotion not applied: node3 %+v slot0 %s", n3, owner(f, 0))
	}
	if n1.Role != RoleReplica || n1.MasterID != id(3) || n1.Failed {
		t.Fatalf("old master: %+v", n1)
	}
	if n4.MasterID != id(3) || !n4.Failed {
		t.Fatalf("sibling: %+v", n4)
	}
}

func owner(f *FSM, slot int) string {
	si, _ := f.Slot(slot)
	return si.Owner
}
