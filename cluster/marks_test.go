package cluster

import (
	"fmt"
	"testing"

	"github.com/skiffdb/skiff/fsm"
)

// A SETSLOT NODE committed but not applied here yet is an overlay on the
// view: the same owner, slot ranges, counts and marks as the state after
// the entry.
func TestSetOwnerOverlayMatchesAppliedState(t *testing.T) {
	s := sixNodes()
	s.Importing[0] = nid(1)
	s.ImportingBy[0] = nid(2)
	s.Migrating[0] = nid(2)
	v := BuildView(s, nid(2), SelfAddrs{})
	for _, sl := range []int{0, 1, 5460, 12000} {
		v.setOwner(sl, v.Node(nid(2)))
	}

	after := sixNodes()
	for _, sl := range []int{0, 1, 5460, 12000} {
		after.Slots[sl] = nid(2)
	}
	want := BuildView(after, nid(2), SelfAddrs{})
	for i := 0; i < NumSlots; i++ {
		if got, w := v.Owner[i], want.Owner[i]; got.ID != w.ID {
			t.Fatalf("slot %d: owner %s, want %s", i, got.ID, w.ID)
		}
	}
	for _, id := range []string{nid(1), nid(2), nid(3)} {
		got, w := v.Node(id), want.Node(id)
		if got.NumSlots != w.NumSlots || fmtRanges(got.Slots) != fmtRanges(w.Slots) {
			t.Errorf("%s: %d slots %s, want %d %s", id, got.NumSlots, fmtRanges(got.Slots), w.NumSlots, fmtRanges(w.Slots))
		}
	}
	if v.Assigned != want.Assigned || len(v.Migrating) != 0 || len(v.Importing) != 0 {
		t.Errorf("assigned %d (want %d), marks %v %v", v.Assigned, want.Assigned, v.Migrating, v.Importing)
	}
	if v.NodesText(nil) != want.NodesText(nil) {
		t.Errorf("CLUSTER NODES:\n%s\nwant\n%s", v.NodesText(nil), want.NodesText(nil))
	}

	// An unassigned slot gets an owner.
	s = sixNodes()
	s.Slots[7] = ""
	v = BuildView(s, nid(2), SelfAddrs{})
	v.setOwner(7, v.Node(nid(3)))
	if v.Assigned != NumSlots || v.Owner[7].ID != nid(3) || v.Node(nid(3)).NumSlots != 5462 {
		t.Errorf("assigned %d, owner of 7 %v, node 3 holds %d", v.Assigned, v.Owner[7], v.Node(nid(3)).NumSlots)
	}
}

func fmtRanges(rs []fsm.SlotRange) string {
	out := ""
	for _, r := range rs {
		out += fmt.Sprintf(" %d-%d", r.Start, r.End)
	}
	return out
}
