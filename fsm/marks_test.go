package fsm

import (
	"bytes"
	"testing"
)

// TestSetSlotMarksByNode covers set-slot v2: the importing node is
// recorded, STABLE clears only the sender's marks, late marks are refused,
// and the marks survive a snapshot.
func TestSetSlotMarksByNode(t *testing.T) {
	f := New()
	cmds := []Command{
		&UpsertNode{Node: node(1)}, &UpsertNode{Node: node(2)}, &UpsertNode{Node: node(3)},
		&AddSlots{NodeID: id(1), Ranges: []SlotRange{{0, 100}}},
		&SetSlot{Slot: 7, Mode: SlotImporting, NodeID: id(1), By: id(2)},
		&SetSlot{Slot: 7, Mode: SlotMigrating, NodeID: id(2), By: id(1)},
		&SetSlot{Slot: 7, Mode: SlotStable, By: id(3)}, // not its marks: nothing changes
	}
	for i, r := range applyAll(t, f, cmds) {
		if r.Err != nil {
			t.Fatalf("command %d: %v", i, r.Err)
		}
	}
	si, _ := f.Slot(7)
	if si.Importing != id(1) || si.ImportingBy != id(2) || si.Migrating != id(2) {
		t.Fatalf("slot 7 = %+v", si)
	}
	// A snapshot keeps the importing node.
	st, err := ReadSnapshot(bytesOf(t, f))
	if err != nil || st.ImportingBy[7] != id(2) {
		t.Fatalf("snapshot round trip: %v, %v", st.ImportingBy, err)
	}
	data, _ := Encode(&SetSlot{Slot: 7, Mode: SlotStable, By: id(2)})
	if r := f.ApplyEntry(100, data); r.Err != nil {
		t.Fatal(r.Err)
	}
	if si, _ := f.Slot(7); si.Importing != "" || si.Migrating != id(2) {
		t.Fatalf("STABLE by the importer cleared %+v", si)
	}
	// The slot moves; late marks of the move are refused.
	data, _ = Encode(&SetSlot{Slot: 7, Mode: SlotNode, NodeID: id(2)})
	if r := f.ApplyEntry(101, data); r.Err != nil {
		t.Fatal(r.Err)
	}
	for i, c := range []*SetSlot{
		{Slot: 7, Mode: SlotMigrating, NodeID: id(3), By: id(1)}, // the source no longer owns it
		{Slot: 7, Mode: SlotImporting, NodeID: id(1), By: id(2)}, // the importer owns it now
	} {
		data, _ := Encode(c)
		if r := f.ApplyEntry(uint64(102+i), data); !IsCommandError(r.Err) {
			t.Errorf("late mark %d: %v, want a refusal", i, r.Err)
		}
	}
	if si, _ := f.Slot(7); si.Owner != id(2) || si.Importing != "" || si.Migrating != "" {
		t.Fatalf("slot 7 after the move = %+v", si)
	}
}

func bytesOf(t *testing.T, f *FSM) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, f.Export()); err != nil {
		t.Fatal(err)
	}
	return &buf
}
