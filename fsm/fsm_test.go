package fsm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func id(n int) string { return fmt.Sprintf("%040x", n) }

func node(n int) Node {
	return Node{ID: id(n), Addr: fmt.Sprintf("127.0.0.1:%d", 7000+n), RaftAddr: fmt.Sprintf("127.0.0.1:%d", 17000+n), AdminAddr: fmt.Sprintf("127.0.0.1:%d", 27000+n)}
}

// script exercises every command type, including refusals.
func script() []Command {
	return []Command{
		&Noop{Note: "hello"},
		&UpsertNode{Node: node(1)},
		&UpsertNode{Node: node(2)},
		&UpsertNode{Node: node(3)},
		&UpsertNode{Node: node(4)},
		&UpsertNode{Node: Node{ID: id(5), RaftAddr: node(1).RaftAddr}}, // refused: address in use
		&UpsertNode{Node: Node{ID: "xyz", RaftAddr: "127.0.0.1:1"}},    // refused: bad id
		&AddSlots{NodeID: id(1), Ranges: []SlotRange{{0, 5460}}},
		&AddSlots{NodeID: id(2), Ranges: []SlotRange{{5461, 10922}}},
		&AddSlots{NodeID: id(3), Ranges: []SlotRange{{10923, 16383}}},
		&AddSlots{NodeID: id(3), Ranges: []SlotRange{{100, 100}}},     // refused: busy
		&AddSlots{NodeID: id(3), Ranges: []SlotRange{{16000, 17000}}}, // refused: range
		&Replicate{ID: id(4), MasterID: id(1)},
		&Replicate{ID: id(2), MasterID: id(1)}, // refused: owns slots
		&SetSlot{Slot: 42, Mode: SlotImporting, NodeID: id(1)},
		&SetSlot{Slot: 42, Mode: SlotMigrating, NodeID: id(2)},
		&SetSlot{Slot: 42, Mode: SlotNode, NodeID: id(2)},
		&SetSlot{Slot: 43, Mode: SlotMigrating, NodeID: id(3)},
		&SetSlot{Slot: 43, Mode: "sideways", NodeID: id(3)}, // refused
		&DelSlots{Ranges: []SlotRange{{16383, 16383}}},
		&DelSlots{Ranges: []SlotRange{{16383, 16383}}}, // refused: unassigned
		&BumpEpoch{NodeID: id(3)},
		&SetConfigEpoch{NodeID: id(2), Epoch: 10},
		&SetNodeFlags{ID: id(4), Flags: []string{"NoFailover", "nofailover", ""}},
		&SetNodeHostname{ID: id(2), Hostname: "host-2.example.com"},
		&MonitorMaster{Monitor: Monitor{Name: "mymaster", Addr: "127.0.0.1:6380", Quorum: 2}},
		&MonitorMaster{Monitor: Monitor{Name: "mymaster", Addr: "127.0.0.1:6381", Quorum: 2}}, // refused: duplicate
		&MonitorMaster{Monitor: Monitor{Name: "other", Addr: "127.0.0.1:6390", Quorum: 1}},
		&SetMonitor{Name: "mymaster", DownAfterMs: 5000},
		&StartFailover{Kind: FailoverSentinel, Target: "mymaster", Candidate: "127.0.0.1:6381"},
		&StartFailover{Kind: FailoverSentinel, Target: "mymaster", Candidate: "127.0.0.1:6382"}, // refused: in progress
		&FinishFailover{Kind: FailoverSentinel, Target: "mymaster", Epoch: 1, Promoted: true},   // refused: stale epoch
		&FinishFailover{Kind: FailoverSentinel, Target: "mymaster", Epoch: 11, Promoted: true},
		&StartFailover{Kind: FailoverCluster, Target: id(1), Candidate: id(4)},
		&UpsertNode{Node: node(6)},
		&FinishFailover{Kind: FailoverCluster, Target: id(1), Epoch: 12, Promoted: true},
		&Unmonitor{Name: "other"},
		&Unmonitor{Name: "other"}, // refused
		&RemoveNode{ID: id(3)},
		&UpsertNode{Node: node(3)},                                             // refused: removed
		&StartFailover{Kind: FailoverCluster, Target: id(2), Candidate: id(6)}, // refused: not a replica
	}
}

func applyAll(t *testing.T, f *FSM, cmds []Command) []ApplyResult {
	t.Helper()
	var out []ApplyResult
	for i, c := range cmds {
		data, err := Encode(c)
		if err != nil {
			t.Fatalf("encode %d: %v", i, err)
		}
		out = append(out, f.ApplyEntry(uint64(i+1), data))
	}
	return out
}

func exportJSON(t *testing.T, f *FSM) []byte {
	t.Helper()
	b, err := json.Marshal(f.Export())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeterministic(t *testing.T) {
	a, b := New(), New()
	ra := applyAll(t, a, script())
	rb := applyAll(t, b, script())
	if ja, jb := exportJSON(t, a), exportJSON(t, b); !bytes.Equal(ja, jb) {
		t.Fatalf("states differ:\n%s\n%s", ja, jb)
	}
	for i := range ra {
		if fmt.Sprint(ra[i]) != fmt.Sprint(rb[i]) {
			t.Fatalf("result %d differs: %v vs %v", i, ra[i], rb[i])
		}
	}
	// Spot-check the expected outcome so that "both equally wrong" fails.
	refused := 0
	for _, r := range ra {
		if r.Err != nil {
			if !IsCommandError(r.Err) {
				t.Fatalf("non-command error: %v", r.Err)
			}
			refused++
		}
	}
	if refused != 13 {
		for i, r := range ra {
			t.Logf("%d %T: %v", i, script()[i], r.Err)
		}
		t.Fatalf("refused %d commands, want 13", refused)
	}
	if got := a.CurrentEpoch(); got != 12 {
		t.Fatalf("current epoch %d, want 12", got)
	}
	if si, _ := a.Slot(0); si.Owner != id(4) {
		t.Fatalf("slot 0 owner %s, want promoted replica %s", si.Owner, id(4))
	}
	if si, _ := a.Slot(42); si.Owner != id(2) || si.Migrating != "" || si.Importing != "" {
		t.Fatalf("slot 42 %+v", si)
	}
	if si, _ := a.Slot(12000); si.Owner != "" {
		t.Fatalf("slot of removed node still owned: %+v", si)
	}
	if n, _ := a.Node(id(1)); n.Role != RoleReplica || n.MasterID != id(4) {
		t.Fatalf("old master %+v", n)
	}
	if m, _ := a.Monitor("mymaster"); m.Addr != "127.0.0.1:6381" || m.ConfigEpoch != 11 || m.DownAfterMs != 5000 {
		t.Fatalf("monitor %+v", m)
	}
	if !a.IsRemoved(id(3)) || len(a.Failovers()) != 0 {
		t.Fatalf("removed=%v failovers=%v", a.IsRemoved(id(3)), a.Failovers())
	}
	if n, _ := a.Node(id(4)); len(n.Flags) != 1 || n.Flags[0] != "nofailover" {
		t.Fatalf("flags %v", n.Flags)
	}
}

func TestRefusalLeavesStateUnchanged(t *testing.T) {
	f := New()
	applyAll(t, f, script()[:12])
	del, _ := Encode(&DelSlots{Ranges: []SlotRange{{16380, 16383}}})
	if r := f.ApplyEntry(99, del); r.Err != nil {
		t.Fatal(r.Err)
	}
	before := f.Copy()
	data, _ := Encode(&AddSlots{NodeID: id(3), Ranges: []SlotRange{{16380, 16383}, {5, 5}}})
	r := f.ApplyEntry(100, data)
	if r.Err == nil || !strings.Contains(r.Err.Error(), "Slot 5 is already busy") {
		t.Fatalf("want busy refusal, got %v", r.Err)
	}
	after := f.Copy()
	after.Index = before.Index
	if before.Slots != after.Slots {
		t.Fatal("a refused all-or-nothing command changed the slot table")
	}
	if f.AppliedIndex() != 100 {
		t.Fatalf("applied index %d, want 100", f.AppliedIndex())
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	a := New()
	applyAll(t, a, script())
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, a.Export()); err != nil {
		t.Fatal(err)
	}
	b := New()
	if err := b.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if ja, jb := exportJSON(t, a), exportJSON(t, b); !bytes.Equal(ja, jb) {
		t.Fatalf("round trip differs:\n%s\n%s", ja, jb)
	}
	// The restored FSM keeps applying identically.
	more := []Command{&BumpEpoch{}, &UpsertNode{Node: node(9)}, &AddSlots{NodeID: id(9), Ranges: []SlotRange{{16383, 16383}}}}
	for _, c := range more {
		data, _ := Encode(c)
		idx := a.AppliedIndex() + 1
		ea, eb := a.ApplyEntry(idx, data), b.ApplyEntry(idx, data)
		if ea.Err != nil || eb.Err != nil {
			t.Fatalf("apply after restore: %v / %v", ea.Err, eb.Err)
		}
	}
	if ja, jb := exportJSON(t, a), exportJSON(t, b); !bytes.Equal(ja, jb) {
		t.Fatalf("diverged after restore:\n%s\n%s", ja, jb)
	}
}

// A version-1 snapshot (written by an older binary) still restores.
func TestRestoreV1Snapshot(t *testing.T) {
	slots := make([]string, NumSlots)
	for i := 0; i <= 100; i++ {
		slots[i] = id(1)
	}
	slots[200] = id(2)
	v1 := map[string]any{
		"version": 1, "index": 77, "current_epoch": 5,
		"nodes":     []Node{{ID: id(1), RaftAddr: "127.0.0.1:1", Role: RoleMaster, ShardID: id(1)}, {ID: id(2), RaftAddr: "127.0.0.1:2", Role: RoleMaster, ShardID: id(2)}},
		"slots":     slots,
		"migrating": map[string]string{"7": id(2)},
		"importing": map[string]string{"200": id(1)},
		"monitors":  []Monitor{{Name: "m", Addr: "127.0.0.1:6379", Quorum: 2}},
	}
	data, _ := json.Marshal(v1)
	f := New()
	if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if f.AppliedIndex() != 77 || f.CurrentEpoch() != 5 {
		t.Fatalf("index %d epoch %d", f.AppliedIndex(), f.CurrentEpoch())
	}
	r := f.SlotRanges()
	if len(r) != 2 || r[0] != (OwnedRange{0, 100, id(1)}) || r[1] != (OwnedRange{200, 200, id(2)}) {
		t.Fatalf("ranges %+v", r)
	}
	if si, _ := f.Slot(7); si.Migrating != id(2) {
		t.Fatalf("slot 7 %+v", si)
	}
	if si, _ := f.Slot(200); si.Importing != id(1) {
		t.Fatalf("slot 200 %+v", si)
	}
	if m, ok := f.Monitor("m"); !ok || m.Quorum != 2 {
		t.Fatalf("monitor %+v", m)
	}
	// And it writes back as the current version.
	var buf bytes.Buffer
	if err := WriteSnapshot(&buf, f.Export()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `{"version":2,`) {
		t.Fatalf("rewritten snapshot: %.40s", buf.String())
	}
}

func TestRestoreRefusesBadSnapshots(t *testing.T) {
	for _, s := range []string{
		`{"version":3}`, `{"version":0}`, `not json`,
		`{"version":2,"nodes":[],"slots":[{"start":0,"end":16384,"node":"x"}]}`,
		`{"version":1,"slots":["a"]}`,
	} {
		f := New()
		if err := f.Restore(io.NopCloser(strings.NewReader(s))); err == nil {
			t.Errorf("restore of %q succeeded", s)
		}
	}
}

func TestUnknownCommandVersionRefused(t *testing.T) {
	f := New()
	for _, raw := range []string{
		`{"type":"upsert-node","v":2,"cmd":{}}`,
		`{"type":"upsert-node","v":0,"cmd":{}}`,
		`{"type":"teleport","v":1,"cmd":{}}`,
		`{"type":"add-slots","v":1,"cmd":{"node":7}}`,
		`garbage`,
	} {
		r := f.ApplyEntry(f.AppliedIndex()+1, []byte(raw))
		if r.Err == nil || !IsCommandError(r.Err) {
			t.Errorf("%s: want a command error, got %v", raw, r.Err)
		}
	}
	if r := f.ApplyEntry(f.AppliedIndex()+1, []byte(`{"type":"upsert-node","v":2,"cmd":{}}`)); !strings.Contains(r.Err.Error(), "unsupported command version 2") {
		t.Fatalf("message: %v", r.Err)
	}
	if len(f.Nodes()) != 0 {
		t.Fatal("a refused command changed the state")
	}
}

func TestWaitForIndex(t *testing.T) {
	f := New()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- f.WaitForIndex(ctx, 3)
	}()
	for i := 1; i <= 3; i++ {
		data, _ := Encode(&Noop{})
		f.ApplyEntry(uint64(i), data)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.WaitForIndex(ctx, 4); err == nil {
		t.Fatal("wait for an unapplied index returned nil")
	}
}
