package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
)

// Command is a typed change of the metadata. Every command has a type name
// and a version; both travel in the log entry so that a member running an
// older binary refuses a command it does not understand instead of
// mis-applying it. Commands are defined only in this package.
type Command interface {
	// Type is the command's stable wire name.
	Type() string
	// Version is the encoding version of the command's body.
	Version() int
	apply(s *State, index uint64) (Result, error)
}

// Result is what applying a command produced.
type Result struct {
	Index uint64 `json:"index"`           // log index of the entry
	Epoch uint64 `json:"epoch,omitempty"` // epoch assigned by the command, if any
}

// CommandError is a command refused by the state machine. The refusal is
// deterministic: every member refuses the same entry the same way and the
// state is unchanged.
type CommandError struct {
	Type string
	Msg  string
}

func (e *CommandError) Error() string { return e.Type + ": " + e.Msg }

// IsCommandError reports whether err is a deterministic refusal of a
// command (as opposed to a replication or leadership failure).
func IsCommandError(err error) bool {
	var ce *CommandError
	return errors.As(err, &ce)
}

// envelope is the log entry encoding of a command.
type envelope struct {
	Type    string          `json:"type"`
	Version int             `json:"v"`
	Body    json.RawMessage `json:"cmd"`
}

type decoder func(body []byte) (Command, error)

// decoders lists, per command type, the body versions this binary can
// apply. Adding a version means adding an entry that decodes the old body
// into the current struct; removing one is a compatibility break.
var decoders = map[string]map[int]decoder{
	"noop":              {1: dec[Noop]},
	"upsert-node":       {1: dec[UpsertNode]},
	"remove-node":       {1: dec[RemoveNode]},
	"add-slots":         {1: dec[AddSlots]},
	"del-slots":         {1: dec[DelSlots]},
	"set-slot":          {1: dec[SetSlot], 2: dec[SetSlot]},
	"replicate":         {1: dec[Replicate]},
	"bump-epoch":        {1: dec[BumpEpoch]},
	"set-config-epoch":  {1: dec[SetConfigEpoch]},
	"set-node-flags":    {1: dec[SetNodeFlags]},
	"set-node-hostname": {1: dec[SetNodeHostname]},
	"monitor":           {1: dec[MonitorMaster]},
	"unmonitor":         {1: dec[Unmonitor]},
	"set-monitor":       {1: dec[SetMonitor]},
	"start-failover":    {1: dec[StartFailover]},
	"finish-failover":   {1: dec[FinishFailover]},
	"mark-failed":       {1: dec[MarkFailed]},
	"set-isr":           {1: dec[SetISR]},
	"move-slots":        {1: dec[MoveSlots]},
	"abort-slot-move":   {1: dec[AbortSlotMove]},
}

func dec[T any, P interface {
	*T
	Command
}](body []byte) (Command, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return P(&v), nil
}

// Encode returns the log entry bytes of a command.
func Encode(c Command) ([]byte, error) {
	if c == nil {
		return nil, errors.New("fsm: nil command")
	}
	body, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("fsm: encode %s: %w", c.Type(), err)
	}
	return json.Marshal(envelope{Type: c.Type(), Version: c.Version(), Body: body})
}

// Decode parses log entry bytes. It refuses unknown types and versions.
func Decode(data []byte) (Command, error) {
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, &CommandError{Type: "decode", Msg: "malformed command: " + err.Error()}
	}
	versions, ok := decoders[env.Type]
	if !ok {
		return nil, &CommandError{Type: env.Type, Msg: fmt.Sprintf("unknown command type %q", env.Type)}
	}
	d, ok := versions[env.Version]
	if !ok {
		return nil, &CommandError{Type: env.Type, Msg: fmt.Sprintf("unsupported command version %d (this binary applies %v)", env.Version, versionList(versions))}
	}
	if len(env.Body) == 0 {
		env.Body = []byte("{}")
	}
	c, err := d(env.Body)
	if err != nil {
		return nil, &CommandError{Type: env.Type, Msg: "malformed body: " + err.Error()}
	}
	return c, nil
}

func versionList(m map[int]decoder) []int {
	out := make([]int, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func refuse(c Command, format string, args ...any) (Result, error) {
	return Result{}, &CommandError{Type: c.Type(), Msg: fmt.Sprintf(format, args...)}
}

func validHostPort(a string) bool {
	h, p, err := net.SplitHostPort(a)
	if err != nil || h == "" {
		return false
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

// ---------------------------------------------------------------- noop

// Noop changes nothing. It is used as a barrier and by tests and probes
// ("is the group able to commit?").
type Noop struct {
	Note string `json:"note,omitempty"`
}

func (Noop) Type() string { return "noop" }
func (Noop) Version() int { return 1 }
func (c *Noop) apply(s *State, idx uint64) (Result, error) {
	return Result{Index: idx}, nil
}

// ---------------------------------------------------------------- nodes

// UpsertNode adds a node or updates its addresses. A node id that was
// removed is refused, as is an address already used by another node.
// Role, master and epoch are not changed for an existing node (use
// Replicate and the epoch commands).
type UpsertNode struct {
	Node Node `json:"node"`
}

func (UpsertNode) Type() string { return "upsert-node" }
func (UpsertNode) Version() int { return 1 }
func (c *UpsertNode) apply(s *State, idx uint64) (Result, error) {
	n := c.Node
	if !ValidNodeID(n.ID) {
		return refuse(c, "invalid node id %q (want 40 lowercase hex characters)", n.ID)
	}
	if _, gone := s.Removed[n.ID]; gone {
		return refuse(c, "node %s was removed from the cluster; start it with an empty dir to get a new id", n.ID)
	}
	for _, a := range []struct{ name, v string }{{"addr", n.Addr}, {"raft_addr", n.RaftAddr}, {"admin_addr", n.AdminAddr}} {
		if a.v != "" && !validHostPort(a.v) {
			return refuse(c, "invalid %s %q (want host:port)", a.name, a.v)
		}
	}
	if n.RaftAddr == "" {
		return refuse(c, "raft_addr is required")
	}
	for _, id := range sortedKeys(s.Nodes) {
		o := s.Nodes[id]
		if id == n.ID {
			continue
		}
		if (n.Addr != "" && o.Addr == n.Addr) || o.RaftAddr == n.RaftAddr || (n.AdminAddr != "" && o.AdminAddr == n.AdminAddr) {
			return refuse(c, "address already used by node %s", id)
		}
	}
	if old, ok := s.Nodes[n.ID]; ok {
		old.Addr, old.RaftAddr, old.AdminAddr = n.Addr, n.RaftAddr, n.AdminAddr
		return Result{Index: idx}, nil
	}
	nn := &Node{ID: n.ID, Addr: n.Addr, RaftAddr: n.RaftAddr, AdminAddr: n.AdminAddr,
		Role: RoleMaster, ShardID: n.ID, Flags: normFlags(n.Flags), JoinedIndex: idx}
	s.Nodes[n.ID] = nn
	return Result{Index: idx}, nil
}

// RemoveNode removes a node for good (CLUSTER FORGET / admin remove). Its
// slots become unassigned, migration marks naming it are cleared, its
// replicas become masters of their own shard, and its id is remembered so
// that it can never come back.
type RemoveNode struct {
	ID string `json:"id"`
}

func (RemoveNode) Type() string { return "remove-node" }
func (RemoveNode) Version() int { return 1 }
func (c *RemoveNode) apply(s *State, idx uint64) (Result, error) {
	if _, gone := s.Removed[c.ID]; gone {
		return refuse(c, "node %s was already removed", c.ID)
	}
	if !ValidNodeID(c.ID) {
		return refuse(c, "invalid node id %q", c.ID)
	}
	delete(s.Nodes, c.ID)
	for i := range s.Slots {
		if s.Slots[i] == c.ID {
			s.Slots[i] = ""
		}
	}
	for _, sl := range sortedInts(s.Migrating) {
		if s.Migrating[sl] == c.ID || s.Slots[sl] == "" {
			delete(s.Migrating, sl)
		}
	}
	for _, sl := range sortedInts(s.Importing) {
		if s.Importing[sl] == c.ID || s.ImportingBy[sl] == c.ID {
			delete(s.Importing, sl)
			delete(s.ImportingBy, sl)
		}
	}
	for _, id := range sortedKeys(s.Nodes) {
		n := s.Nodes[id]
		if n.MasterID == c.ID {
			n.Role, n.MasterID, n.ShardID = RoleMaster, "", n.ID
		}
	}
	for _, k := range sortedKeys(s.Failovers) {
		f := s.Failovers[k]
		if f.Kind == FailoverCluster && (f.Target == c.ID || f.Candidate == c.ID) {
			delete(s.Failovers, k)
		}
	}
	s.Removed[c.ID] = idx
	return Result{Index: idx}, nil
}

// SetNodeFlags replaces a node's flags.
type SetNodeFlags struct {
	ID    string   `json:"id"`
	Flags []string `json:"flags"`
}

func (SetNodeFlags) Type() string { return "set-node-flags" }
func (SetNodeFlags) Version() int { return 1 }
func (c *SetNodeFlags) apply(s *State, idx uint64) (Result, error) {
	n, ok := s.Nodes[c.ID]
	if !ok {
		return refuse(c, "unknown node %s", c.ID)
	}
	n.Flags = normFlags(c.Flags)
	return Result{Index: idx}, nil
}

// SetNodeHostname sets a node's hostname (its cluster-announce-hostname;
// "" = none). The node proposes it itself whenever its setting differs
// from the metadata, as Redis's nodes gossip theirs.
type SetNodeHostname struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
}

func (SetNodeHostname) Type() string { return "set-node-hostname" }
func (SetNodeHostname) Version() int { return 1 }
func (c *SetNodeHostname) apply(s *State, idx uint64) (Result, error) {
	n, ok := s.Nodes[c.ID]
	if !ok {
		return refuse(c, "unknown node %s", c.ID)
	}
	if msg := CheckHostname(c.Hostname); msg != "" {
		return refuse(c, "%s", msg)
	}
	n.Hostname = c.Hostname
	return Result{Index: idx}, nil
}

// Replicate makes a node a replica of a master (CLUSTER REPLICATE). The
// node must own no slots.
type Replicate struct {
	ID       string `json:"id"`
	MasterID string `json:"master_id"`
}

func (Replicate) Type() string { return "replicate" }
func (Replicate) Version() int { return 1 }
func (c *Replicate) apply(s *State, idx uint64) (Result, error) {
	n, ok := s.Nodes[c.ID]
	if !ok {
		return refuse(c, "unknown node %s", c.ID)
	}
	m, ok := s.Nodes[c.MasterID]
	if !ok {
		return refuse(c, "unknown master node %s", c.MasterID)
	}
	if c.ID == c.MasterID {
		return refuse(c, "can't replicate myself")
	}
	if m.Role != RoleMaster {
		return refuse(c, "node %s is not a master", c.MasterID)
	}
	for i := range s.Slots {
		if s.Slots[i] == c.ID {
			return refuse(c, "node %s owns slots; to set a master the node must be empty", c.ID)
		}
	}
	for _, id := range sortedKeys(s.Nodes) {
		if s.Nodes[id].MasterID == c.ID {
			// Its replicas follow it to the new master, as Redis re-points
			// replicas of a node that turns into a replica.
			s.Nodes[id].MasterID, s.Nodes[id].ShardID = c.MasterID, m.ShardID
		}
	}
	n.Role, n.MasterID, n.ShardID = RoleReplica, c.MasterID, m.ShardID
	return Result{Index: idx}, nil
}

// ---------------------------------------------------------------- slots

// AddSlots assigns unassigned slots to a master (CLUSTER ADDSLOTS[RANGE]).
// All or nothing.
type AddSlots struct {
	NodeID string      `json:"node"`
	Ranges []SlotRange `json:"ranges"`
}

func (AddSlots) Type() string { return "add-slots" }
func (AddSlots) Version() int { return 1 }
func (c *AddSlots) apply(s *State, idx uint64) (Result, error) {
	n, ok := s.Nodes[c.NodeID]
	if !ok {
		return refuse(c, "unknown node %s", c.NodeID)
	}
	if n.Role != RoleMaster {
		return refuse(c, "node %s is a replica and can't own slots", c.NodeID)
	}
	if len(c.Ranges) == 0 {
		return refuse(c, "no slots given")
	}
	seen := map[int]bool{}
	for _, r := range c.Ranges {
		if err := r.valid(); err != nil {
			return refuse(c, "%v", err)
		}
		for i := r.Start; i <= r.End; i++ {
			if seen[i] {
				return refuse(c, "Slot %d specified multiple times", i)
			}
			seen[i] = true
			if s.Slots[i] != "" {
				return refuse(c, "Slot %d is already busy", i)
			}
		}
	}
	for _, r := range c.Ranges {
		for i := r.Start; i <= r.End; i++ {
			s.Slots[i] = c.NodeID
		}
	}
	return Result{Index: idx}, nil
}

// DelSlots unassigns slots (CLUSTER DELSLOTS[RANGE]). All or nothing.
type DelSlots struct {
	Ranges []SlotRange `json:"ranges"`
}

func (DelSlots) Type() string { return "del-slots" }
func (DelSlots) Version() int { return 1 }
func (c *DelSlots) apply(s *State, idx uint64) (Result, error) {
	if len(c.Ranges) == 0 {
		return refuse(c, "no slots given")
	}
	for _, r := range c.Ranges {
		if err := r.valid(); err != nil {
			return refuse(c, "%v", err)
		}
		for i := r.Start; i <= r.End; i++ {
			if s.Slots[i] == "" {
				return refuse(c, "Slot %d is already unassigned", i)
			}
		}
	}
	for _, r := range c.Ranges {
		for i := r.Start; i <= r.End; i++ {
			s.Slots[i] = ""
			delete(s.Migrating, i)
			delete(s.Importing, i)
			delete(s.ImportingBy, i)
		}
	}
	return Result{Index: idx}, nil
}

// SetSlot modes (CLUSTER SETSLOT).
const (
	SlotMigrating = "migrating" // NodeID is the destination; the slot must be assigned to another node
	SlotImporting = "importing" // NodeID is the source, By the importing node
	SlotStable    = "stable"    // clear both marks
	SlotNode      = "node"      // assign to NodeID and clear both marks
)

// SetSlot changes one slot's migration state or owner. An assignment with
// SlotNode bumps the new owner's config epoch past every other when it
// takes the slot from another node, as Redis does at the end of a
// migration, so that the change wins any conflict.
//
// Version 2 adds By: the node that set an importing mark (in Redis the
// mark is that node's own state; only it serves ASKING requests for the
// slot and shows the mark). Version-1 bodies have no By.
type SetSlot struct {
	Slot   int    `json:"slot"`
	Mode   string `json:"mode"`
	NodeID string `json:"node,omitempty"`
	By     string `json:"by,omitempty"`
}

func (SetSlot) Type() string { return "set-slot" }
func (SetSlot) Version() int { return 2 }
func (c *SetSlot) apply(s *State, idx uint64) (Result, error) {
	if c.Slot < 0 || c.Slot >= NumSlots {
		return refuse(c, "Invalid or out of range slot %d", c.Slot)
	}
	needNode := func() (*Node, error) {
		n, ok := s.Nodes[c.NodeID]
		if !ok {
			return nil, &CommandError{Type: c.Type(), Msg: "I don't know about node " + c.NodeID}
		}
		return n, nil
	}
	switch c.Mode {
	case SlotMigrating:
		if _, err := needNode(); err != nil {
			return Result{}, err
		}
		if s.Slots[c.Slot] == "" {
			return refuse(c, "slot %d is not assigned", c.Slot)
		}
		if s.Slots[c.Slot] == c.NodeID {
			return refuse(c, "slot %d is already owned by %s", c.Slot, c.NodeID)
		}
		if c.By != "" && s.Slots[c.Slot] != c.By {
			// A mark that arrives after the slot left its source.
			return refuse(c, "I'm not the owner of hash slot %d", c.Slot)
		}
		s.Migrating[c.Slot] = c.NodeID
	case SlotImporting:
		if _, err := needNode(); err != nil {
			return Result{}, err
		}
		if c.By != "" && s.Slots[c.Slot] == c.By {
			// A mark that arrives after the slot reached its importer.
			return refuse(c, "I'm already the owner of hash slot %d", c.Slot)
		}
		s.Importing[c.Slot] = c.NodeID
		if c.By != "" {
			s.ImportingBy[c.Slot] = c.By
		} else {
			delete(s.ImportingBy, c.Slot)
		}
	case SlotStable:
		// With By (v2), only the marks that node holds: its migrating
		// mark as the owner, its importing mark (as Redis clears only
		// the receiving node's own marks). Without By, both.
		if c.By == "" || s.Slots[c.Slot] == c.By {
			delete(s.Migrating, c.Slot)
		}
		if c.By == "" || s.ImportingBy[c.Slot] == c.By || s.ImportingBy[c.Slot] == "" {
			delete(s.Importing, c.Slot)
			delete(s.ImportingBy, c.Slot)
		}
	case SlotNode:
		n, err := needNode()
		if err != nil {
			return Result{}, err
		}
		if n.Role != RoleMaster {
			return refuse(c, "Target node is not a master")
		}
		res := Result{Index: idx}
		if prev := s.Slots[c.Slot]; prev != "" && prev != c.NodeID {
			s.CurrentEpoch++
			n.ConfigEpoch = s.CurrentEpoch
			res.Epoch = s.CurrentEpoch
		}
		s.Slots[c.Slot] = c.NodeID
		delete(s.Migrating, c.Slot)
		delete(s.Importing, c.Slot)
		delete(s.ImportingBy, c.Slot)
		return res, nil
	default:
		return refuse(c, "unknown mode %q (migrating, importing, stable or node)", c.Mode)
	}
	return Result{Index: idx}, nil
}

// ---------------------------------------------------------------- epochs

// BumpEpoch increments the current epoch and, when NodeID is set, gives
// that node the new epoch as its config epoch (CLUSTER BUMPEPOCH).
type BumpEpoch struct {
	NodeID string `json:"node,omitempty"`
}

func (BumpEpoch) Type() string { return "bump-epoch" }
func (BumpEpoch) Version() int { return 1 }
func (c *BumpEpoch) apply(s *State, idx uint64) (Result, error) {
	var n *Node
	if c.NodeID != "" {
		var ok bool
		if n, ok = s.Nodes[c.NodeID]; !ok {
			return refuse(c, "unknown node %s", c.NodeID)
		}
	}
	s.CurrentEpoch++
	if n != nil {
		n.ConfigEpoch = s.CurrentEpoch
	}
	return Result{Index: idx, Epoch: s.CurrentEpoch}, nil
}

// SetConfigEpoch sets a node's config epoch (CLUSTER SET-CONFIG-EPOCH);
// the current epoch follows if it is lower.
type SetConfigEpoch struct {
	NodeID string `json:"node"`
	Epoch  uint64 `json:"epoch"`
}

func (SetConfigEpoch) Type() string { return "set-config-epoch" }
func (SetConfigEpoch) Version() int { return 1 }
func (c *SetConfigEpoch) apply(s *State, idx uint64) (Result, error) {
	n, ok := s.Nodes[c.NodeID]
	if !ok {
		return refuse(c, "unknown node %s", c.NodeID)
	}
	n.ConfigEpoch = c.Epoch
	if c.Epoch > s.CurrentEpoch {
		s.CurrentEpoch = c.Epoch
	}
	return Result{Index: idx, Epoch: c.Epoch}, nil
}

// ---------------------------------------------------------------- sentinel

// MonitorMaster starts monitoring a master (SENTINEL MONITOR).
type MonitorMaster struct {
	Monitor Monitor `json:"monitor"`
}

func (MonitorMaster) Type() string { return "monitor" }
func (MonitorMaster) Version() int { return 1 }
func (c *MonitorMaster) apply(s *State, idx uint64) (Result, error) {
	m := c.Monitor
	if m.Name == "" {
		return refuse(c, "master name is empty")
	}
	if _, ok := s.Monitors[m.Name]; ok {
		return refuse(c, "Duplicated master name")
	}
	if !validHostPort(m.Addr) {
		return refuse(c, "invalid address %q", m.Addr)
	}
	if m.Quorum <= 0 {
		return refuse(c, "Quorum must be 1 or greater.")
	}
	if m.DownAfterMs <= 0 {
		m.DownAfterMs = 30000
	}
	if m.FailoverTimeoutMs <= 0 {
		m.FailoverTimeoutMs = 180000
	}
	if m.ParallelSyncs <= 0 {
		m.ParallelSyncs = 1
	}
	m.ConfigEpoch = 0
	s.Monitors[m.Name] = &m
	return Result{Index: idx}, nil
}

// Unmonitor stops monitoring a master (SENTINEL REMOVE).
type Unmonitor struct {
	Name string `json:"name"`
}

func (Unmonitor) Type() string { return "unmonitor" }
func (Unmonitor) Version() int { return 1 }
func (c *Unmonitor) apply(s *State, idx uint64) (Result, error) {
	if _, ok := s.Monitors[c.Name]; !ok {
		return refuse(c, "No such master with that name")
	}
	delete(s.Monitors, c.Name)
	delete(s.Failovers, failoverKey(FailoverSentinel, c.Name))
	return Result{Index: idx}, nil
}

// SetMonitor changes monitor parameters (SENTINEL SET); zero fields are
// left unchanged.
type SetMonitor struct {
	Name              string `json:"name"`
	Quorum            int    `json:"quorum,omitempty"`
	DownAfterMs       int64  `json:"down_after_ms,omitempty"`
	FailoverTimeoutMs int64  `json:"failover_timeout_ms,omitempty"`
	ParallelSyncs     int    `json:"parallel_syncs,omitempty"`
}

func (SetMonitor) Type() string { return "set-monitor" }
func (SetMonitor) Version() int { return 1 }
func (c *SetMonitor) apply(s *State, idx uint64) (Result, error) {
	m, ok := s.Monitors[c.Name]
	if !ok {
		return refuse(c, "No such master with that name")
	}
	if c.Quorum < 0 || c.DownAfterMs < 0 || c.FailoverTimeoutMs < 0 || c.ParallelSyncs < 0 {
		return refuse(c, "negative value")
	}
	if c.Quorum > 0 {
		m.Quorum = c.Quorum
	}
	if c.DownAfterMs > 0 {
		m.DownAfterMs = c.DownAfterMs
	}
	if c.FailoverTimeoutMs > 0 {
		m.FailoverTimeoutMs = c.FailoverTimeoutMs
	}
	if c.ParallelSyncs > 0 {
		m.ParallelSyncs = c.ParallelSyncs
	}
	return Result{Index: idx}, nil
}

// ---------------------------------------------------------------- failover

// StartFailover records the leader's decision to fail a master over. It
// takes a new epoch. A second decision for a target whose failover is in
// progress is refused: a failover is never decided twice.
type StartFailover struct {
	Kind      string `json:"kind"`
	Target    string `json:"target"`
	Candidate string `json:"candidate"`
	DecidedBy string `json:"decided_by,omitempty"`
	// CandidateRunID (sentinel kind): the candidate's run id; a strong
	// master's failover must name a member of its in-sync set.
	CandidateRunID string `json:"candidate_run_id,omitempty"`
}

func (StartFailover) Type() string { return "start-failover" }
func (StartFailover) Version() int { return 1 }
func (c *StartFailover) apply(s *State, idx uint64) (Result, error) {
	switch c.Kind {
	case FailoverCluster:
		t, ok := s.Nodes[c.Target]
		if !ok || t.Role != RoleMaster {
			return refuse(c, "target %s is not a known master", c.Target)
		}
		if t.Strong {
			// A manual failover would let the replica serve before the
			// master's lease surely ended (docs/consistency.md).
			return refuse(c, "manual failover of %s is not supported in consistency strong", c.Target)
		}
		cand, ok := s.Nodes[c.Candidate]
		if !ok || cand.Role != RoleReplica || cand.MasterID != c.Target {
			return refuse(c, "candidate %s is not a replica of %s", c.Candidate, c.Target)
		}
	case FailoverSentinel:
		m, ok := s.Monitors[c.Target]
		if !ok {
			return refuse(c, "No such master with that name")
		}
		if !validHostPort(c.Candidate) || c.Candidate == m.Addr {
			return refuse(c, "invalid candidate address %q", c.Candidate)
		}
		if m.Strong && (c.CandidateRunID == "" || !contains(m.ISR, c.CandidateRunID)) {
			return refuse(c, "candidate %s (run id %q) is not in the in-sync set of %s", c.Candidate, c.CandidateRunID, c.Target)
		}
	default:
		return refuse(c, "unknown failover kind %q", c.Kind)
	}
	key := failoverKey(c.Kind, c.Target)
	if f, ok := s.Failovers[key]; ok {
		return refuse(c, "failover of %s already in progress (epoch %d, candidate %s)", c.Target, f.Epoch, f.Candidate)
	}
	s.CurrentEpoch++
	s.Failovers[key] = &Failover{Kind: c.Kind, Target: c.Target, Candidate: c.Candidate,
		Epoch: s.CurrentEpoch, StartedIndex: idx, DecidedBy: c.DecidedBy, CandidateRunID: c.CandidateRunID}
	return Result{Index: idx, Epoch: s.CurrentEpoch}, nil
}

// FinishFailover ends a failover in progress, identified by target and
// epoch. When Promoted, the candidate becomes the master: in cluster mode it
// takes the old master's slots and its replicas, and the old master becomes
// its replica; in sentinel mode the monitor's address becomes the
// candidate's. Otherwise the failover is aborted and nothing else changes.
type FinishFailover struct {
	Kind     string `json:"kind"`
	Target   string `json:"target"`
	Epoch    uint64 `json:"epoch"`
	Promoted bool   `json:"promoted"`
}

func (FinishFailover) Type() string { return "finish-failover" }
func (FinishFailover) Version() int { return 1 }
func (c *FinishFailover) apply(s *State, idx uint64) (Result, error) {
	key := failoverKey(c.Kind, c.Target)
	f, ok := s.Failovers[key]
	if !ok {
		return refuse(c, "no failover of %s in progress", c.Target)
	}
	if f.Epoch != c.Epoch {
		return refuse(c, "stale failover epoch %d (in progress: %d)", c.Epoch, f.Epoch)
	}
	delete(s.Failovers, key)
	if !c.Promoted {
		return Result{Index: idx, Epoch: f.Epoch}, nil
	}
	switch f.Kind {
	case FailoverCluster:
		old, ok1 := s.Nodes[f.Target]
		cand, ok2 := s.Nodes[f.Candidate]
		if !ok1 || !ok2 {
			return Result{Index: idx, Epoch: f.Epoch}, nil
		}
		promoteReplica(s, old, cand, f.Epoch)
	case FailoverSentinel:
		if m, ok := s.Monitors[f.Target]; ok {
			m.Addr, m.ConfigEpoch = f.Candidate, f.Epoch
			if m.Strong {
				// The promoted replica holds the leases from now on; the
				// other in-sync replicas stay in its set (they have
				// everything acknowledged) until it drops them.
				m.RunID = f.CandidateRunID
				m.ISR = without(m.ISR, f.CandidateRunID)
				m.ISRAddrs = addrsOf(m.ISRAddrs, m.ISR)
				m.ISRVersion = idx
			}
		}
	}
	return Result{Index: idx, Epoch: f.Epoch}, nil
}

// promoteReplica makes cand, a replica of old, the master of old's slots
// and replicas with the given epoch; old becomes cand's replica (it
// follows when it returns).
func promoteReplica(s *State, old, cand *Node, epoch uint64) {
	for i := range s.Slots {
		if s.Slots[i] == old.ID {
			s.Slots[i] = cand.ID
		}
	}
	for _, sl := range sortedInts(s.Migrating) {
		if s.Slots[sl] == cand.ID && s.Migrating[sl] == cand.ID {
			delete(s.Migrating, sl)
		}
	}
	for _, id := range sortedKeys(s.Nodes) {
		if n := s.Nodes[id]; n.MasterID == old.ID && n.ID != cand.ID {
			n.MasterID = cand.ID
		}
	}
	cand.Role, cand.MasterID, cand.ConfigEpoch = RoleMaster, "", epoch
	old.Role, old.MasterID = RoleReplica, cand.ID
	old.ShardID = cand.ShardID
}

// MarkFailed is the cluster failure detector's decision, taken by the Raft
// leader once a majority of voters found a node unreachable for the node
// timeout. With Failed it sets the node's FAIL flag and, when Candidate is
// set, promotes that replica of the failed master in the same entry (a new
// epoch): no moment exists where the master is failed and its slots are
// not being taken over, and a failover is never decided twice. Without
// Failed it clears the flag (the node is reachable again).
type MarkFailed struct {
	ID        string `json:"id"`
	Failed    bool   `json:"failed"`
	Candidate string `json:"candidate,omitempty"`
	DecidedBy string `json:"decided_by,omitempty"`
	// CandidateRunID: the candidate's process; a strong master's replica
	// must be in its in-sync set.
	CandidateRunID string `json:"candidate_run_id,omitempty"`
}

func (MarkFailed) Type() string { return "mark-failed" }
func (MarkFailed) Version() int { return 1 }
func (c *MarkFailed) apply(s *State, idx uint64) (Result, error) {
	n, ok := s.Nodes[c.ID]
	if !ok {
		return refuse(c, "unknown node %s", c.ID)
	}
	if !c.Failed {
		if c.Candidate != "" {
			return refuse(c, "a candidate needs failed")
		}
		n.Failed = false
		return Result{Index: idx}, nil
	}
	if c.Candidate == "" {
		n.Failed = true
		return Result{Index: idx}, nil
	}
	cand, ok := s.Nodes[c.Candidate]
	switch {
	case n.Role != RoleMaster:
		return refuse(c, "%s is not a master", c.ID)
	case !ok || cand.Role != RoleReplica || cand.MasterID != c.ID:
		return refuse(c, "candidate %s is not a replica of %s", c.Candidate, c.ID)
	case cand.Failed:
		return refuse(c, "candidate %s is failed", c.Candidate)
	case n.Strong && (c.CandidateRunID == "" || !contains(n.ISR, c.CandidateRunID)):
		return refuse(c, "candidate %s (run id %q) is not in the in-sync set of %s", c.Candidate, c.CandidateRunID, c.ID)
	}
	if f, ok := s.Failovers[failoverKey(FailoverCluster, c.ID)]; ok {
		return refuse(c, "failover of %s already in progress (epoch %d, candidate %s)", c.ID, f.Epoch, f.Candidate)
	}
	n.Failed = true
	s.CurrentEpoch++
	promoteReplica(s, n, cand, s.CurrentEpoch)
	if n.Strong {
		// The promoted replica holds the leases from now on, with the
		// other in-sync replicas (docs/consistency.md).
		cand.Strong, cand.RunID, cand.ISRVersion = true, c.CandidateRunID, idx
		cand.ISR = without(n.ISR, c.CandidateRunID)
		cand.ISRAddrs = addrsOf(n.ISRAddrs, cand.ISR)
		n.Strong, n.RunID, n.ISR, n.ISRAddrs = false, "", nil, nil
	}
	return Result{Index: idx, Epoch: s.CurrentEpoch}, nil
}

// SetISR records a strong master's in-sync replica set (docs/consistency.md).
// It is compare-and-set on the version the master reported, so a proposal
// built from an old report can't commit after a newer set: the master
// relies on that to stop waiting for a replica it no longer reports.
// It is refused while a failover of the master is in progress (the set is
// frozen while a candidate is chosen from it) and for another process
// than the recorded lease holder.
type SetISR struct {
	// Kind is FailoverSentinel (Name is a monitor) or FailoverCluster
	// (Name is a master node id); "" means sentinel.
	Kind        string   `json:"kind,omitempty"`
	Name        string   `json:"name"`
	RunID       string   `json:"run_id"`
	PrevVersion uint64   `json:"prev_version"`
	ISR         []string `json:"isr"`
	// Addrs: host:port of the members, by run id (informational).
	Addrs map[string]string `json:"addrs,omitempty"`
}

func (SetISR) Type() string { return "set-isr" }
func (SetISR) Version() int { return 1 }
func (c *SetISR) apply(s *State, idx uint64) (Result, error) {
	if c.RunID == "" {
		return refuse(c, "empty run id")
	}
	var strong *bool
	var runID *string
	var set *[]string
	var version *uint64
	var addrs *map[string]string
	switch c.Kind {
	case "", FailoverSentinel:
		m, ok := s.Monitors[c.Name]
		if !ok {
			return refuse(c, "No such master with that name")
		}
		strong, runID, set, version, addrs = &m.Strong, &m.RunID, &m.ISR, &m.ISRVersion, &m.ISRAddrs
		if _, busy := s.Failovers[failoverKey(FailoverSentinel, c.Name)]; busy {
			return refuse(c, "failover of %s in progress", c.Name)
		}
	case FailoverCluster:
		n, ok := s.Nodes[c.Name]
		if !ok || n.Role != RoleMaster {
			return refuse(c, "%s is not a master", c.Name)
		}
		if n.Failed {
			return refuse(c, "%s is failed", c.Name)
		}
		strong, runID, set, version, addrs = &n.Strong, &n.RunID, &n.ISR, &n.ISRVersion, &n.ISRAddrs
	default:
		return refuse(c, "unknown kind %q", c.Kind)
	}
	if *runID != "" && *runID != c.RunID {
		return refuse(c, "run id %s is not the lease holder of %s (%s)", c.RunID, c.Name, *runID)
	}
	if *version != c.PrevVersion {
		return refuse(c, "stale in-sync set version %d (current %d)", c.PrevVersion, *version)
	}
	isr := make([]string, 0, len(c.ISR))
	for _, id := range c.ISR {
		if id != "" && id != c.RunID && !contains(isr, id) {
			isr = append(isr, id)
		}
	}
	*strong, *runID, *set, *version = true, c.RunID, isr, idx
	*addrs = addrsOf(c.Addrs, isr)
	return Result{Index: idx}, nil
}

// addrsOf returns a new map with the addresses of the listed members.
func addrsOf(addrs map[string]string, members []string) map[string]string {
	out := map[string]string{}
	for _, id := range members {
		if a, ok := addrs[id]; ok && validHostPort(a) {
			out[id] = a
		}
	}
	return out
}

func contains(list []string, x string) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// without returns a new slice: states share slices after Clone.
func without(list []string, x string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if v != x {
			out = append(out, v)
		}
	}
	return out
}
