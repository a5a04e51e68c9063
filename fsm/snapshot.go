package fsm

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// SnapshotVersion is the format this binary writes. Restore accepts every
// version from 1 to SnapshotVersion.
//
//   - 1: nodes, slots as a 16384-entry array of owner ids, migrating and
//     importing as slot->id maps, monitors. No failovers, no removed ids.
//   - 2: slots as owned ranges; failovers in progress; removed node ids;
//     every list sorted so the bytes are a function of the state.
const SnapshotVersion = 2

// maxSnapshotBytes bounds what Restore will read.
const maxSnapshotBytes = 256 << 20

// SnapshotData is the version-2 snapshot, also the JSON of GET /cluster.
type SnapshotData struct {
	Version      int           `json:"version"`
	Index        uint64        `json:"index"`
	CurrentEpoch uint64        `json:"current_epoch"`
	Nodes        []Node        `json:"nodes"`
	Slots        []OwnedRange  `json:"slots"`
	Migrating    []SlotMark    `json:"migrating"`
	Importing    []SlotMark    `json:"importing"`
	Monitors     []Monitor     `json:"monitors"`
	Failovers    []Failover    `json:"failovers"`
	Removed      []RemovedNode `json:"removed"`
	// SlotMoves: outcomes of atomic slot migrations (optional in v2).
	SlotMoves []SlotMoveOutcome `json:"slot_moves,omitempty"`
	Shards    []Shard           `json:"shards,omitempty"` // derived; ignored by Restore
}

// SlotMark is a migrating (Node = destination) or importing (Node =
// source, By = the importing node, when known) mark. By is optional, so
// version-2 snapshots without it still restore.
type SlotMark struct {
	Slot   int    `json:"slot"`
	NodeID string `json:"node"`
	By     string `json:"by,omitempty"`
}

// RemovedNode is a node id that may never rejoin.
type RemovedNode struct {
	ID    string `json:"id"`
	Index uint64 `json:"index"`
}

func exportState(s *State) *SnapshotData {
	d := &SnapshotData{Version: SnapshotVersion, Index: s.Index, CurrentEpoch: s.CurrentEpoch,
		Nodes: []Node{}, Slots: s.SlotRanges(), Migrating: []SlotMark{}, Importing: []SlotMark{},
		Monitors: []Monitor{}, Failovers: []Failover{}, Removed: []RemovedNode{}}
	if d.Slots == nil {
		d.Slots = []OwnedRange{}
	}
	for _, id := range sortedKeys(s.Nodes) {
		d.Nodes = append(d.Nodes, *s.Nodes[id].clone())
	}
	for _, sl := range sortedInts(s.Migrating) {
		d.Migrating = append(d.Migrating, SlotMark{Slot: sl, NodeID: s.Migrating[sl]})
	}
	for _, sl := range sortedInts(s.Importing) {
		d.Importing = append(d.Importing, SlotMark{Slot: sl, NodeID: s.Importing[sl], By: s.ImportingBy[sl]})
	}
	for _, k := range sortedKeys(s.Monitors) {
		d.Monitors = append(d.Monitors, *s.Monitors[k])
	}
	for _, k := range sortedKeys(s.Failovers) {
		d.Failovers = append(d.Failovers, *s.Failovers[k])
	}
	for _, id := range sortedKeys(s.Removed) {
		d.Removed = append(d.Removed, RemovedNode{ID: id, Index: s.Removed[id]})
	}
	d.SlotMoves = exportSlotMoves(s)
	return d
}

// WriteSnapshot encodes d in the current format.
func WriteSnapshot(w io.Writer, d *SnapshotData) error {
	out := *d
	out.Version = SnapshotVersion
	out.Shards = nil
	bw := bufio.NewWriter(w)
	if err := json.NewEncoder(bw).Encode(&out); err != nil {
		return err
	}
	return bw.Flush()
}

// snapshotV1 is the version-1 layout.
type snapshotV1 struct {
	Version      int               `json:"version"`
	Index        uint64            `json:"index"`
	CurrentEpoch uint64            `json:"current_epoch"`
	Nodes        []Node            `json:"nodes"`
	Slots        []string          `json:"slots"` // NumSlots entries, "" = unassigned
	Migrating    map[string]string `json:"migrating"`
	Importing    map[string]string `json:"importing"`
	Monitors     []Monitor         `json:"monitors"`
}

// ReadSnapshot decodes a snapshot of any supported version into a state.
func ReadSnapshot(r io.Reader) (*State, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSnapshotBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fsm: read snapshot: %w", err)
	}
	if len(data) > maxSnapshotBytes {
		return nil, fmt.Errorf("fsm: snapshot larger than %d bytes", maxSnapshotBytes)
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("fsm: malformed snapshot: %w", err)
	}
	switch head.Version {
	case 1:
		return restoreV1(data)
	case 2:
		return restoreV2(data)
	default:
		return nil, fmt.Errorf("fsm: unsupported snapshot version %d (this binary reads 1-%d)", head.Version, SnapshotVersion)
	}
}

func restoreV1(data []byte) (*State, error) {
	var v snapshotV1
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("fsm: malformed v1 snapshot: %w", err)
	}
	s := NewState()
	s.Index, s.CurrentEpoch = v.Index, v.CurrentEpoch
	if err := addNodes(s, v.Nodes); err != nil {
		return nil, err
	}
	if len(v.Slots) != 0 && len(v.Slots) != NumSlots {
		return nil, fmt.Errorf("fsm: v1 snapshot has %d slots, want %d", len(v.Slots), NumSlots)
	}
	for i, id := range v.Slots {
		if id != "" {
			if _, ok := s.Nodes[id]; !ok {
				return nil, fmt.Errorf("fsm: v1 snapshot: slot %d owned by unknown node %s", i, id)
			}
		}
		s.Slots[i] = id
	}
	for _, m := range []struct {
		src map[string]string
		dst map[int]string
	}{{v.Migrating, s.Migrating}, {v.Importing, s.Importing}} {
		for k, id := range m.src {
			var sl int
			if _, err := fmt.Sscanf(k, "%d", &sl); err != nil || sl < 0 || sl >= NumSlots {
				return nil, fmt.Errorf("fsm: v1 snapshot: bad slot %q", k)
			}
			m.dst[sl] = id
		}
	}
	for i := range v.Monitors {
		m := v.Monitors[i]
		s.Monitors[m.Name] = &m
	}
	return s, nil
}

func restoreV2(data []byte) (*State, error) {
	var v SnapshotData
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, fmt.Errorf("fsm: malformed v2 snapshot: %w", err)
	}
	s := NewState()
	s.Index, s.CurrentEpoch = v.Index, v.CurrentEpoch
	if err := addNodes(s, v.Nodes); err != nil {
		return nil, err
	}
	for _, r := range v.Slots {
		if err := (SlotRange{Start: r.Start, End: r.End}).valid(); err != nil {
			return nil, fmt.Errorf("fsm: v2 snapshot: %w", err)
		}
		if _, ok := s.Nodes[r.NodeID]; !ok {
			return nil, fmt.Errorf("fsm: v2 snapshot: slots %d-%d owned by unknown node %s", r.Start, r.End, r.NodeID)
		}
		for i := r.Start; i <= r.End; i++ {
			s.Slots[i] = r.NodeID
		}
	}
	for _, m := range v.Migrating {
		if m.Slot < 0 || m.Slot >= NumSlots {
			return nil, fmt.Errorf("fsm: v2 snapshot: bad migrating slot %d", m.Slot)
		}
		s.Migrating[m.Slot] = m.NodeID
	}
	for _, m := range v.Importing {
		if m.Slot < 0 || m.Slot >= NumSlots {
			return nil, fmt.Errorf("fsm: v2 snapshot: bad importing slot %d", m.Slot)
		}
		s.Importing[m.Slot] = m.NodeID
		if m.By != "" {
			s.ImportingBy[m.Slot] = m.By
		}
	}
	for i := range v.Monitors {
		m := v.Monitors[i]
		s.Monitors[m.Name] = &m
	}
	for i := range v.Failovers {
		f := v.Failovers[i]
		s.Failovers[failoverKey(f.Kind, f.Target)] = &f
	}
	for _, r := range v.Removed {
		s.Removed[r.ID] = r.Index
	}
	for _, m := range v.SlotMoves {
		s.SlotMoves[m.Job] = m
	}
	return s, nil
}

func addNodes(s *State, nodes []Node) error {
	for i := range nodes {
		n := nodes[i]
		if !ValidNodeID(n.ID) {
			return fmt.Errorf("fsm: snapshot: invalid node id %q", n.ID)
		}
		n.Flags = normFlags(n.Flags)
		s.Nodes[n.ID] = &n
	}
	return nil
}
