package fsm

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
)

// FSM is the replicated state machine. It implements raft.FSM. Reads go
// through accessors that copy out of the applied state; use WaitForIndex to
// read your own writes on a follower.
type FSM struct {
	mu      sync.RWMutex
	state   *State
	changed chan struct{} // closed and replaced after every applied entry
}

var _ raft.FSM = (*FSM)(nil)

// New returns an FSM holding an empty state.
func New() *FSM {
	return &FSM{state: NewState(), changed: make(chan struct{})}
}

// ApplyResult is what raft's ApplyFuture.Response() holds for an entry
// applied by this FSM.
type ApplyResult struct {
	Result Result
	Err    error // a *CommandError when the command was refused
}

// Apply implements raft.FSM. It never panics on a bad entry: an entry that
// cannot be decoded or is refused leaves the state unchanged (except for
// the applied index) and its error is returned to the proposer.
func (f *FSM) Apply(l *raft.Log) interface{} {
	if l.Type != raft.LogCommand {
		f.mu.Lock()
		f.advance(l.Index)
		f.mu.Unlock()
		return ApplyResult{Result: Result{Index: l.Index}}
	}
	return f.ApplyEntry(l.Index, l.Data)
}

// ApplyEntry applies encoded command bytes at a log index. It is Apply
// without raft types, for tests and tools.
func (f *FSM) ApplyEntry(index uint64, data []byte) ApplyResult {
	cmd, err := Decode(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	if index <= f.state.Index && index != 0 {
		// Raft never re-applies; be safe if a caller does.
		return ApplyResult{Err: fmt.Errorf("fsm: entry %d already applied (at %d)", index, f.state.Index)}
	}
	if err != nil {
		f.advance(index)
		return ApplyResult{Err: err}
	}
	res, err := f.applyLocked(cmd, index)
	f.advance(index)
	return ApplyResult{Result: res, Err: err}
}

// applyLocked applies cmd to a copy-on-failure basis: commands validate
// before they mutate, so a refusal leaves the state unchanged.
func (f *FSM) applyLocked(cmd Command, index uint64) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			// A bug in a command must not crash every member at once.
			err = &CommandError{Type: cmd.Type(), Msg: fmt.Sprintf("internal error applying command: %v", r)}
		}
	}()
	return cmd.apply(f.state, index)
}

func (f *FSM) advance(index uint64) {
	if index > f.state.Index {
		f.state.Index = index
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

// AppliedIndex is the index of the last applied entry.
func (f *FSM) AppliedIndex() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state.Index
}

// WaitForIndex blocks until the entry at index has been applied, or ctx
// ends.
func (f *FSM) WaitForIndex(ctx context.Context, index uint64) error {
	for {
		f.mu.RLock()
		applied, ch := f.state.Index, f.changed
		f.mu.RUnlock()
		if applied >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for index %d (applied %d): %w", index, applied, ctx.Err())
		}
	}
}

// Changed returns a channel closed at the next applied entry; a watcher
// loops on it to react to metadata changes.
func (f *FSM) Changed() <-chan struct{} {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.changed
}

// View calls fn with the applied state under the read lock. fn must not
// keep or modify anything it is given.
func (f *FSM) View(fn func(s *State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.state)
}

// Copy returns a deep copy of the applied state.
func (f *FSM) Copy() *State {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state.Clone()
}

// Node returns a copy of a node.
func (f *FSM) Node(id string) (Node, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	n, ok := f.state.Nodes[id]
	if !ok {
		return Node{}, false
	}
	return *n.clone(), true
}

// Nodes returns copies of all nodes in id order.
func (f *FSM) Nodes() []Node {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Node, 0, len(f.state.Nodes))
	for _, id := range sortedKeys(f.state.Nodes) {
		out = append(out, *f.state.Nodes[id].clone())
	}
	return out
}

// SlotInfo is one slot's owner and migration marks.
type SlotInfo struct {
	Owner     string // "" = unassigned
	Migrating string // destination node id, if migrating
	Importing string // source node id, if importing
	// ImportingBy is the node that set the importing mark ("" when
	// unknown: a mark set by a version-1 set-slot).
	ImportingBy string
}

// Slot returns the state of one slot; ok is false for a slot out of range.
func (f *FSM) Slot(slot int) (SlotInfo, bool) {
	if slot < 0 || slot >= NumSlots {
		return SlotInfo{}, false
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return SlotInfo{Owner: f.state.Slots[slot], Migrating: f.state.Migrating[slot], Importing: f.state.Importing[slot],
		ImportingBy: f.state.ImportingBy[slot]}, true
}

// SlotRanges returns the assigned slots as ranges with their owners.
func (f *FSM) SlotRanges() []OwnedRange {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state.SlotRanges()
}

// Shards returns the shards (a master and its replicas) with their slots.
func (f *FSM) Shards() []Shard {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state.Shards()
}

// CurrentEpoch returns the cluster's current epoch.
func (f *FSM) CurrentEpoch() uint64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state.CurrentEpoch
}

// Monitor returns a copy of a monitored master.
func (f *FSM) Monitor(name string) (Monitor, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.state.Monitors[name]
	if !ok {
		return Monitor{}, false
	}
	return *m, true
}

// Monitors returns copies of all monitored masters in name order.
func (f *FSM) Monitors() []Monitor {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Monitor, 0, len(f.state.Monitors))
	for _, k := range sortedKeys(f.state.Monitors) {
		out = append(out, *f.state.Monitors[k])
	}
	return out
}

// Failovers returns the failovers in progress, ordered by kind and target.
func (f *FSM) Failovers() []Failover {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]Failover, 0, len(f.state.Failovers))
	for _, k := range sortedKeys(f.state.Failovers) {
		out = append(out, *f.state.Failovers[k])
	}
	return out
}

// IsRemoved reports whether a node id was removed from the cluster.
func (f *FSM) IsRemoved(id string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	_, ok := f.state.Removed[id]
	return ok
}

// Export returns the applied state in its JSON form (the current snapshot
// format), for GET /cluster and debugging.
func (f *FSM) Export() *SnapshotData {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return exportState(f.state)
}

// Snapshot implements raft.FSM: it copies the state (fast, no I/O) and
// leaves the encoding to Persist.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{data: f.Export()}, nil
}

// Restore implements raft.FSM: it replaces the state with a snapshot of
// any supported format version.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := ReadSnapshot(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.state = st
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
	return nil
}

type fsmSnapshot struct{ data *SnapshotData }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := WriteSnapshot(sink, s.data); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("fsm: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
