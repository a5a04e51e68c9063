package fsm

import "testing"

// TestMoveSlotsAndAbort: the flip moves every slot with a new epoch, only
// when the source owns them all; abort and move exclude each other
// whichever comes first; the outcomes survive a snapshot.
func TestMoveSlotsAndAbort(t *testing.T) {
	f := New()
	setup := []Command{
		&UpsertNode{Node: node(1)}, &UpsertNode{Node: node(2)},
		&AddSlots{NodeID: id(1), Ranges: []SlotRange{{0, 100}}},
	}
	for i, r := range applyAll(t, f, setup) {
		if r.Err != nil {
			t.Fatalf("setup %d: %v", i, r.Err)
		}
	}
	apply := func(idx uint64, c Command) ApplyResult {
		data, _ := Encode(c)
		return f.ApplyEntry(idx, data)
	}
	// Not all owned by the source: refused, nothing moves.
	if r := apply(10, &MoveSlots{Job: "a", Source: id(1), Target: id(2), Ranges: []SlotRange{{90, 110}}}); !IsCommandError(r.Err) {
		t.Fatalf("move of unowned slots: %v", r.Err)
	}
	if si, _ := f.Slot(95); si.Owner != id(1) {
		t.Fatalf("slot 95 moved by a refused entry: %+v", si)
	}
	epoch := f.CurrentEpoch()
	r := apply(11, &MoveSlots{Job: "a", Source: id(1), Target: id(2), Ranges: []SlotRange{{0, 9}, {20, 29}}})
	if r.Err != nil || r.Result.Epoch != epoch+1 {
		t.Fatalf("move: %+v", r)
	}
	for _, sl := range []int{0, 9, 20, 29} {
		if si, _ := f.Slot(sl); si.Owner != id(2) {
			t.Fatalf("slot %d = %+v", sl, si)
		}
	}
	if si, _ := f.Slot(10); si.Owner != id(1) {
		t.Fatalf("slot 10 = %+v", si)
	}
	if n, _ := f.Node(id(2)); n.ConfigEpoch != epoch+1 {
		t.Fatalf("target epoch %d", n.ConfigEpoch)
	}
	if r := apply(12, &AbortSlotMove{Job: "a"}); !IsCommandError(r.Err) {
		t.Fatalf("abort after the move: %v", r.Err)
	}
	// Aborted first: the move is refused.
	if r := apply(13, &AbortSlotMove{Job: "b"}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if r := apply(14, &MoveSlots{Job: "b", Source: id(1), Target: id(2), Ranges: []SlotRange{{50, 50}}}); !IsCommandError(r.Err) {
		t.Fatalf("move after the abort: %v", r.Err)
	}
	if f.SlotMoveOutcome("a") != SlotMoveDone || f.SlotMoveOutcome("b") != SlotMoveAborted {
		t.Fatalf("outcomes %q %q", f.SlotMoveOutcome("a"), f.SlotMoveOutcome("b"))
	}
	st, err := ReadSnapshot(bytesOf(t, f))
	if err != nil || st.SlotMoves["a"].Outcome != SlotMoveDone || st.SlotMoves["b"].Outcome != SlotMoveAborted {
		t.Fatalf("snapshot round trip: %v %v", st.SlotMoves, err)
	}
}
