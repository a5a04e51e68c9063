package raftgroup

import (
	"context"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/raft"
	"github.com/skiffdb/skiff/fsm"
)

// JoinRequest asks the leader to add a member.
type JoinRequest struct {
	ID        string `json:"id"`
	RaftAddr  string `json:"raft_addr"`
	Addr      string `json:"addr,omitempty"`       // RESP host:port
	AdminAddr string `json:"admin_addr,omitempty"` // admin HTTP host:port
	NonVoter  bool   `json:"nonvoter,omitempty"`   // never make it a voter
}

// JoinResult says what the leader did.
type JoinResult struct {
	ID            string `json:"id"`
	Suffrage      string `json:"suffrage"` // "voter" or "nonvoter"
	AlreadyMember bool   `json:"already_member"`
	Index         uint64 `json:"index"` // an index after which the join is applied
}

func checkHostPort(field, a string, required bool) error {
	if a == "" {
		if required {
			return &InvalidError{Msg: field + " is required"}
		}
		return nil
	}
	h, p, err := net.SplitHostPort(a)
	if err != nil || h == "" {
		return &InvalidError{Msg: fmt.Sprintf("%s %q is not host:port", field, a)}
	}
	if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
		return &InvalidError{Msg: fmt.Sprintf("%s %q has an invalid port", field, a)}
	}
	return nil
}

// Validate checks the request's shape.
func (r *JoinRequest) Validate() error {
	if !fsm.ValidNodeID(r.ID) {
		return &InvalidError{Msg: fmt.Sprintf("id %q is not a node id (40 lowercase hex characters)", r.ID)}
	}
	if err := checkHostPort("raft_addr", r.RaftAddr, true); err != nil {
		return err
	}
	if err := checkHostPort("addr", r.Addr, false); err != nil {
		return err
	}
	return checkHostPort("admin_addr", r.AdminAddr, false)
}

func suffrageName(s raft.ServerSuffrage) string {
	switch s {
	case raft.Voter:
		return "voter"
	case raft.Nonvoter:
		return "nonvoter"
	default:
		return "staging"
	}
}

// Join adds a member (leader only). It is idempotent for the same id and
// raft address. It refuses an id already present at another raft address,
// a raft address used by another id, and a removed id. The first
// Options.Voters members are voters; later ones are non-voters.
func (g *Group) Join(ctx context.Context, req JoinRequest) (JoinResult, error) {
	if err := req.Validate(); err != nil {
		return JoinResult{}, err
	}
	if g.raft.State() != raft.Leader {
		return JoinResult{}, g.Leader()
	}
	if err := g.ensureBarrier(ctx); err != nil {
		return JoinResult{}, err
	}
	// Members that join learn the leader's admin address from its entry.
	if err := g.recordSelf(ctx); err != nil {
		return JoinResult{}, err
	}
	if g.fsm.IsRemoved(req.ID) {
		return JoinResult{}, &ConflictError{Msg: fmt.Sprintf("node %s was removed from the cluster and cannot rejoin; start it with an empty dir to get a new id", req.ID)}
	}
	g.memberMu.Lock()
	defer g.memberMu.Unlock()
	cf := g.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return JoinResult{}, g.mapErr(err)
	}
	voters := 0
	var existing *raft.Server
	for _, s := range cf.Configuration().Servers {
		s := s
		if s.Suffrage == raft.Voter {
			voters++
		}
		switch {
		case string(s.ID) == req.ID && string(s.Address) == req.RaftAddr:
			existing = &s
		case string(s.ID) == req.ID:
			return JoinResult{}, &ConflictError{Msg: fmt.Sprintf("node id %s is already a member at raft address %s, not %s: the same node id started twice? "+
				"stop the other process, or remove %s first", req.ID, s.Address, req.RaftAddr, req.ID)}
		case string(s.Address) == req.RaftAddr:
			return JoinResult{}, &ConflictError{Msg: fmt.Sprintf("raft address %s is used by member %s; remove that member first", req.RaftAddr, s.ID)}
		}
	}
	// Record the node's addresses in the metadata first: this validates
	// them deterministically (e.g. a RESP address used by another node)
	// before the raft configuration changes. It is idempotent.
	res, err := g.applyLocal(ctx, mustEncode(&fsm.UpsertNode{Node: fsm.Node{ID: req.ID, Addr: req.Addr, RaftAddr: req.RaftAddr, AdminAddr: req.AdminAddr}}))
	if err != nil {
		if fsm.IsCommandError(err) {
			return JoinResult{}, &ConflictError{Msg: err.Error()}
		}
		return JoinResult{}, err
	}
	if existing != nil {
		return JoinResult{ID: req.ID, Suffrage: suffrageName(existing.Suffrage), AlreadyMember: true, Index: res.Index}, nil
	}
	var f raft.IndexFuture
	suff := "nonvoter"
	if !req.NonVoter && voters < g.opts.Voters {
		suff = "voter"
		f = g.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.RaftAddr), 0, g.timeout(ctx))
	} else {
		f = g.raft.AddNonvoter(raft.ServerID(req.ID), raft.ServerAddress(req.RaftAddr), 0, g.timeout(ctx))
	}
	if err := f.Error(); err != nil {
		return JoinResult{}, g.mapErr(err)
	}
	g.log.Info("member joined", "id", req.ID, "raft_addr", req.RaftAddr, "suffrage", suff)
	return JoinResult{ID: req.ID, Suffrage: suff, Index: f.Index()}, nil
}

func mustEncode(c fsm.Command) []byte {
	b, err := fsm.Encode(c)
	if err != nil {
		panic(err) // only for commands built here from validated fields
	}
	return b
}

// RemoveResult says what the leader did.
type RemoveResult struct {
	ID    string `json:"id"`
	Index uint64 `json:"index"` // index of the metadata entry that removed it
}

// Remove takes a member out of the group for good (leader only). Removing
// the leader itself first transfers leadership and returns a
// *NotLeaderError naming the new leader, to which the caller retries.
// The node id is remembered as removed and can never rejoin.
func (g *Group) Remove(ctx context.Context, id string) (RemoveResult, error) {
	if !fsm.ValidNodeID(id) {
		return RemoveResult{}, &InvalidError{Msg: fmt.Sprintf("id %q is not a node id", id)}
	}
	if g.raft.State() != raft.Leader {
		return RemoveResult{}, g.Leader()
	}
	if err := g.ensureBarrier(ctx); err != nil {
		return RemoveResult{}, err
	}
	if id == g.opts.NodeID {
		if g.voterCount() <= 1 {
			return RemoveResult{}, &ConflictError{Msg: "cannot remove the only voter of the group"}
		}
		// Bounded by ctx: a transfer to a voter that does not answer can
		// otherwise take as long as raft lets it (CLUSTER RESET waits on
		// this).
		f := g.raft.LeadershipTransfer()
		done := make(chan error, 1)
		go func() { done <- f.Error() }()
		select {
		case err := <-done:
			if err != nil {
				return RemoveResult{}, fmt.Errorf("transfer leadership before removing myself: %w", err)
			}
		case <-ctx.Done():
			return RemoveResult{}, fmt.Errorf("transfer leadership before removing myself: %w", ctx.Err())
		}
		l, err := g.waitOtherLeader(ctx)
		if err != nil {
			return RemoveResult{}, err
		}
		return RemoveResult{}, l
	}
	g.memberMu.Lock()
	defer g.memberMu.Unlock()
	cf := g.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return RemoveResult{}, g.mapErr(err)
	}
	inRaft := false
	for _, s := range cf.Configuration().Servers {
		if string(s.ID) == id {
			inRaft = true
		}
	}
	_, inFSM := g.fsm.Node(id)
	if !inRaft && !inFSM {
		if g.fsm.IsRemoved(id) {
			return RemoveResult{}, &NotFoundError{Msg: fmt.Sprintf("node %s was already removed", id)}
		}
		return RemoveResult{}, &NotFoundError{Msg: fmt.Sprintf("node %s is not a member", id)}
	}
	var res RemoveResult
	res.ID = id
	// The metadata entry goes first so that the removed node, while still
	// receiving the log, learns it was removed.
	if !g.fsm.IsRemoved(id) {
		r, err := g.applyLocal(ctx, mustEncode(&fsm.RemoveNode{ID: id}))
		if err != nil {
			return RemoveResult{}, err
		}
		res.Index = r.Index
	}
	if inRaft {
		if err := g.raft.RemoveServer(raft.ServerID(id), 0, g.timeout(ctx)).Error(); err != nil {
			return res, g.mapErr(err)
		}
	}
	g.log.Info("member removed", "id", id)
	return res, nil
}

// WaitOtherLeader waits until a leader other than this member is known.
func (g *Group) waitOtherLeader(ctx context.Context) (*NotLeaderError, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	deadline := time.After(5 * time.Second)
	for {
		if l := g.Leader(); l.LeaderID != "" && l.LeaderID != g.opts.NodeID {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a new leader: %w", ctx.Err())
		case <-deadline:
			return nil, fmt.Errorf("no new leader within 5s after leadership transfer")
		case <-t.C:
		}
	}
}

// TransferLeadership hands leadership to id, or to the most up-to-date
// voter when id is empty (leader only). It returns the new leader.
func (g *Group) TransferLeadership(ctx context.Context, id string) (*NotLeaderError, error) {
	if g.raft.State() != raft.Leader {
		return nil, g.Leader()
	}
	var f raft.Future
	if id == "" {
		f = g.raft.LeadershipTransfer()
	} else {
		if id == g.opts.NodeID {
			return &NotLeaderError{LeaderID: id, LeaderRaftAddr: g.RaftAddr(), LeaderAdminAddr: g.opts.AdminAddr}, nil
		}
		var addr raft.ServerAddress
		cf := g.raft.GetConfiguration()
		if err := cf.Error(); err != nil {
			return nil, g.mapErr(err)
		}
		for _, s := range cf.Configuration().Servers {
			if string(s.ID) == id {
				if s.Suffrage != raft.Voter {
					return nil, &ConflictError{Msg: fmt.Sprintf("node %s is not a voter", id)}
				}
				addr = s.Address
			}
		}
		if addr == "" {
			return nil, &NotFoundError{Msg: fmt.Sprintf("node %s is not a member", id)}
		}
		f = g.raft.LeadershipTransferToServer(raft.ServerID(id), addr)
	}
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("leadership transfer: %w", err)
	}
	return g.waitOtherLeader(ctx)
}

// Member is one server of the raft configuration with its metadata.
type Member struct {
	ID        string `json:"id"`
	RaftAddr  string `json:"raft_addr"`
	Addr      string `json:"addr,omitempty"`
	AdminAddr string `json:"admin_addr,omitempty"`
	Suffrage  string `json:"suffrage"`
	Leader    bool   `json:"leader"`
	// Health as seen from this member: "ok", "unreachable" (the leader's
	// heartbeats fail), or "unknown" (this member is not the leader).
	Health string `json:"health"`
}

// Status is this member's view of the group.
type Status struct {
	ID            string   `json:"id"`
	RaftAddr      string   `json:"raft_addr"`
	Addr          string   `json:"addr"`
	AdminAddr     string   `json:"admin_addr"`
	State         string   `json:"state"` // Follower, Candidate, Leader, Shutdown
	Term          uint64   `json:"term"`
	CommitIndex   uint64   `json:"commit_index"`
	AppliedIndex  uint64   `json:"applied_index"`      // last entry applied to the metadata FSM
	RaftApplied   uint64   `json:"raft_applied_index"` // last entry raft handed to the FSM (includes raft's own entries)
	LastLogIndex  uint64   `json:"last_log_index"`
	LeaderID      string   `json:"leader_id"`
	LeaderAddr    string   `json:"leader_raft_addr"`
	LeaderAdmin   string   `json:"leader_admin_addr"`
	LastContactMs int64    `json:"last_contact_ms"` // since the last leader contact (followers), -1 if never
	Removed       bool     `json:"removed"`         // this node was removed from the cluster
	Voters        int      `json:"voters"`
	VoterTarget   int      `json:"voter_target"`
	Members       []Member `json:"members"`
}

// Status returns this member's view of the group.
func (g *Group) Status() Status {
	st := g.raft.State()
	l := g.Leader()
	s := Status{ID: g.opts.NodeID, RaftAddr: g.RaftAddr(), Addr: g.opts.RESPAddr, AdminAddr: g.opts.AdminAddr,
		State: st.String(), Term: g.raft.CurrentTerm(), CommitIndex: g.raft.CommitIndex(),
		AppliedIndex: g.fsm.AppliedIndex(), RaftApplied: g.raft.AppliedIndex(), LastLogIndex: g.raft.LastIndex(),
		LeaderID: l.LeaderID, LeaderAddr: l.LeaderRaftAddr, LeaderAdmin: l.LeaderAdminAddr,
		LastContactMs: -1, Removed: g.fsm.IsRemoved(g.opts.NodeID), VoterTarget: g.opts.Voters, Members: []Member{}}
	if st == raft.Leader {
		s.LastContactMs = 0
	} else if lc := g.raft.LastContact(); !lc.IsZero() {
		s.LastContactMs = time.Since(lc).Milliseconds()
	}
	cf := g.raft.GetConfiguration()
	if cf.Error() != nil {
		return s
	}
	g.mu.Lock()
	unhealthy := make(map[string]bool, len(g.unhealthy))
	for k := range g.unhealthy {
		unhealthy[k] = true
	}
	g.mu.Unlock()
	for _, sv := range cf.Configuration().Servers {
		m := Member{ID: string(sv.ID), RaftAddr: string(sv.Address), Suffrage: suffrageName(sv.Suffrage),
			Leader: string(sv.ID) == l.LeaderID, Health: "unknown"}
		if sv.Suffrage == raft.Voter {
			s.Voters++
		}
		if n, ok := g.fsm.Node(m.ID); ok {
			m.Addr, m.AdminAddr = n.Addr, n.AdminAddr
		}
		switch {
		case m.ID == g.opts.NodeID && st != raft.Shutdown:
			m.Health = "ok"
		case st == raft.Leader && unhealthy[m.ID]:
			m.Health = "unreachable"
		case st == raft.Leader:
			m.Health = "ok"
		case m.Leader && s.LastContactMs >= 0 && s.LastContactMs < 10*g.opts.HeartbeatTimeout.Milliseconds():
			m.Health = "ok"
		}
		s.Members = append(s.Members, m)
	}
	sort.Slice(s.Members, func(i, j int) bool { return s.Members[i].ID < s.Members[j].ID })
	return s
}
