// Package fsm is Skiff's metadata state machine: the deterministic state
// that every member of the Raft group applies identically. It holds cluster
// nodes, shards, the 16384-slot table with migrating/importing marks, the
// current epoch, the masters monitored in sentinel mode and the failovers in
// progress. It holds no key data.
//
// The state changes only through typed, versioned commands (see commands.go)
// that raftgroup appends to the Raft log. Everything here is a pure function
// of the log: no clocks, no randomness, no map iteration order leaks into the
// state or the snapshot.
package fsm

import (
	"fmt"
	"sort"
	"strings"
)

// NumSlots is the number of hash slots of Redis Cluster.
const NumSlots = 16384

// Node roles.
const (
	RoleMaster  = "master"
	RoleReplica = "replica"
)

// Node is one member of the cluster metadata (a data node, or a sentinel
// process in sentinel mode).
type Node struct {
	ID          string   `json:"id"`                  // 40 lowercase hex characters
	Addr        string   `json:"addr"`                // RESP host:port
	RaftAddr    string   `json:"raft_addr"`           // Raft transport host:port
	AdminAddr   string   `json:"admin_addr"`          // admin HTTP host:port
	Role        string   `json:"role"`                // RoleMaster or RoleReplica
	MasterID    string   `json:"master_id,omitempty"` // for replicas
	ShardID     string   `json:"shard_id"`            // masters: own id unless set; replicas: their master's
	Flags       []string `json:"flags,omitempty"`     // sorted, unique (e.g. "nofailover")
	ConfigEpoch uint64   `json:"config_epoch"`        // Redis's configEpoch
	JoinedIndex uint64   `json:"joined_index"`        // log index of the entry that added it
	// Failed is Redis's FAIL flag: a majority of voters found the node
	// unreachable for the node timeout (mark-failed). It is cleared when
	// the leader reaches the node again.
	Failed bool `json:"failed,omitempty"`
	// Hostname is the node's cluster-announce-hostname ("" = none), set by
	// the node itself (set-node-hostname).
	Hostname string `json:"hostname,omitempty"`
	// A strong master's lease holder and in-sync set (set-isr with kind
	// cluster; as Monitor's fields in sentinel mode, docs/consistency.md).
	Strong     bool              `json:"strong,omitempty"`
	RunID      string            `json:"run_id,omitempty"`
	ISR        []string          `json:"isr,omitempty"`
	ISRVersion uint64            `json:"isr_version,omitempty"`
	ISRAddrs   map[string]string `json:"isr_addrs,omitempty"`
}

func (n *Node) clone() *Node {
	c := *n
	c.Flags = append([]string(nil), n.Flags...)
	return &c
}

// Monitor is a master watched in sentinel mode (SENTINEL MONITOR).
type Monitor struct {
	Name              string `json:"name"`
	Addr              string `json:"addr"` // host:port of the current master
	Quorum            int    `json:"quorum"`
	DownAfterMs       int64  `json:"down_after_ms"`
	FailoverTimeoutMs int64  `json:"failover_timeout_ms"`
	ParallelSyncs     int    `json:"parallel_syncs"`
	ConfigEpoch       uint64 `json:"config_epoch"` // epoch of the last completed failover

	// consistency strong (docs/consistency.md), set by set-isr: the master
	// process that holds leases, its in-sync replicas (run ids) and the
	// version of that set (the log index that last changed it). A failover
	// of a strong master promotes only a member of ISR.
	Strong     bool     `json:"strong,omitempty"`
	RunID      string   `json:"run_id,omitempty"`
	ISR        []string `json:"isr,omitempty"`
	ISRVersion uint64   `json:"isr_version,omitempty"`
	// ISRAddrs: each in-sync replica's address (run id → host:port), so
	// that every sentinel knows the replicas it may have to promote even
	// if it never saw them in the master's INFO. Replaced, never mutated.
	ISRAddrs map[string]string `json:"isr_addrs,omitempty"`
}

// Failover kinds.
const (
	FailoverCluster  = "cluster"  // Target is a master node id, Candidate a replica node id
	FailoverSentinel = "sentinel" // Target is a monitor name, Candidate a host:port
)

// Failover is a failover decided by the Raft leader and not yet finished.
// Because it is in the log, a leader that dies mid-way leaves it for the
// next leader, and a second decision for the same target is refused.
type Failover struct {
	Kind         string `json:"kind"`
	Target       string `json:"target"`
	Candidate    string `json:"candidate"`
	Epoch        uint64 `json:"epoch"`
	StartedIndex uint64 `json:"started_index"`
	DecidedBy    string `json:"decided_by,omitempty"` // node id of the deciding leader (informational)
	// CandidateRunID is the candidate's process (sentinel kind, strong
	// masters): the promoted master becomes the lease holder.
	CandidateRunID string `json:"candidate_run_id,omitempty"`
}

func failoverKey(kind, target string) string { return kind + ":" + target }

// State is the applied metadata. Callers get copies; the FSM owns the
// original.
type State struct {
	Index        uint64                     // last applied log index
	CurrentEpoch uint64                     // Redis's currentEpoch
	Nodes        map[string]*Node           // by id
	Slots        [NumSlots]string           // owner node id, "" = unassigned
	Migrating    map[int]string             // slot -> destination node id
	Importing    map[int]string             // slot -> source node id
	ImportingBy  map[int]string             // slot -> the importing node (set-slot v2's by; absent when unknown)
	Monitors     map[string]*Monitor        // by name
	Failovers    map[string]*Failover       // by kind:target
	Removed      map[string]uint64          // node id -> index of its removal (ids are never reused)
	SlotMoves    map[string]SlotMoveOutcome // atomic slot migration outcomes by job (slotmove.go)
}

// NewState returns an empty state.
func NewState() *State {
	return &State{
		Nodes:       map[string]*Node{},
		Migrating:   map[int]string{},
		Importing:   map[int]string{},
		ImportingBy: map[int]string{},
		Monitors:    map[string]*Monitor{},
		Failovers:   map[string]*Failover{},
		Removed:     map[string]uint64{},
		SlotMoves:   map[string]SlotMoveOutcome{},
	}
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	c := NewState()
	c.Index, c.CurrentEpoch, c.Slots = s.Index, s.CurrentEpoch, s.Slots
	for k, v := range s.Nodes {
		c.Nodes[k] = v.clone()
	}
	for k, v := range s.Migrating {
		c.Migrating[k] = v
	}
	for k, v := range s.Importing {
		c.Importing[k] = v
	}
	for k, v := range s.ImportingBy {
		c.ImportingBy[k] = v
	}
	for k, v := range s.Monitors {
		m := *v
		c.Monitors[k] = &m
	}
	for k, v := range s.Failovers {
		f := *v
		c.Failovers[k] = &f
	}
	for k, v := range s.Removed {
		c.Removed[k] = v
	}
	for k, v := range s.SlotMoves {
		c.SlotMoves[k] = v
	}
	return c
}

// SlotRange is an inclusive range of slots.
type SlotRange struct {
	Start int `json:"start"`
	End   int `json:"end"`
}

func (r SlotRange) valid() error {
	if r.Start < 0 || r.End >= NumSlots || r.Start > r.End {
		return fmt.Errorf("invalid slot range %d-%d (slots are 0-%d)", r.Start, r.End, NumSlots-1)
	}
	return nil
}

// OwnedRange is a range of slots and its owner.
type OwnedRange struct {
	Start  int    `json:"start"`
	End    int    `json:"end"`
	NodeID string `json:"node"`
}

// SlotRanges returns the assigned slots as maximal ranges in slot order.
func (s *State) SlotRanges() []OwnedRange {
	var out []OwnedRange
	for i := 0; i < NumSlots; i++ {
		id := s.Slots[i]
		if id == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].NodeID == id && out[n-1].End == i-1 {
			out[n-1].End = i
			continue
		}
		out = append(out, OwnedRange{Start: i, End: i, NodeID: id})
	}
	return out
}

// Shard is a master and its replicas.
type Shard struct {
	ID       string      `json:"id"`
	MasterID string      `json:"master_id,omitempty"`
	Nodes    []string    `json:"nodes"` // master first, then replicas by id
	Slots    []SlotRange `json:"slots"`
}

// Shards groups nodes by shard id, in shard id order.
func (s *State) Shards() []Shard {
	byID := map[string]*Shard{}
	for _, id := range sortedKeys(s.Nodes) {
		n := s.Nodes[id]
		sh := byID[n.ShardID]
		if sh == nil {
			sh = &Shard{ID: n.ShardID}
			byID[n.ShardID] = sh
		}
		if n.Role == RoleMaster {
			sh.MasterID = n.ID
			sh.Nodes = append([]string{n.ID}, sh.Nodes...)
		} else {
			sh.Nodes = append(sh.Nodes, n.ID)
		}
	}
	ranges := s.SlotRanges()
	var out []Shard
	for _, k := range sortedKeys(byID) {
		sh := byID[k]
		for _, r := range ranges {
			if r.NodeID == sh.MasterID {
				sh.Slots = append(sh.Slots, SlotRange{Start: r.Start, End: r.End})
			}
		}
		out = append(out, *sh)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedInts[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}

// ValidNodeID reports whether id is 40 lowercase hex characters.
func ValidNodeID(id string) bool {
	if len(id) != 40 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// MaxHostnameLen bounds a hostname as Redis's NET_HOST_STR_LEN does: a
// hostname must be shorter.
const MaxHostnameLen = 256

// CheckHostname validates a cluster-announce-hostname as Redis does on
// CONFIG SET (only the length and the character set): it returns Redis's
// error text, or "" when h is acceptable. "" (no hostname) is acceptable.
func CheckHostname(h string) string {
	if len(h) >= MaxHostnameLen {
		return "Hostnames must be less than 256 characters"
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return "Hostnames may only contain alphanumeric characters, hyphens or dots"
		}
	}
	return ""
}

func normFlags(flags []string) []string {
	set := map[string]bool{}
	for _, f := range flags {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "" {
			set[f] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	return sortedKeys(set)
}
