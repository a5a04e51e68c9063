package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

// proposeSure commits cmd through the leader, riding out leader changes:
// an election is waited out (proposeWaitingLeader), and when leadership
// was lost while the entry was committing (outcome unknown) it commits a
// no-op, waits until this member has applied it (so the uncertain entry is
// applied here or lost for good), and then either finds the command's
// effect in the state (success) or proposes it again. Every command the
// cluster code sends has a recognisable effect or is idempotent.
func proposeSure(ctx context.Context, g *raftgroup.Group, cmd fsm.Command) (fsm.Result, error) {
	for {
		res, err, resent := proposeWaitingLeader(ctx, g, cmd)
		var refused *fsm.CommandError
		if resent && errors.As(err, &refused) {
			// An earlier attempt may have been committed (its forward
			// failed after the request was sent) and this one refused
			// because of it (ADDSLOTS: "Slot N is already busy"): the
			// command's effect in the state, if there, is its success.
			if r, ok := effectAfterBarrier(ctx, g, cmd); ok {
				return r, nil
			}
			return res, err
		}
		if err == nil || !outcomeUnknown(err) {
			return res, err
		}
		nres, nerr, _ := proposeWaitingLeader(ctx, g, &fsm.Noop{Note: "after an outcome unknown"})
		if nerr == nil {
			nerr = g.WaitForIndex(ctx, nres.Index)
		}
		if nerr != nil {
			if ctx.Err() != nil || !outcomeUnknown(nerr) {
				return res, err
			}
			continue
		}
		if r, ok := effectApplied(g.FSM(), cmd); ok {
			r.Index = nres.Index
			return r, nil
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// effectAfterBarrier commits a no-op, waits until this member has
// applied it and reports whether cmd's effect is in the state.
func effectAfterBarrier(ctx context.Context, g *raftgroup.Group, cmd fsm.Command) (fsm.Result, bool) {
	nres, err, _ := proposeWaitingLeader(ctx, g, &fsm.Noop{Note: "after a resent proposal was refused"})
	if err == nil {
		err = g.WaitForIndex(ctx, nres.Index)
	}
	if err != nil {
		return fsm.Result{}, false
	}
	r, ok := effectApplied(g.FSM(), cmd)
	if ok {
		r.Index = nres.Index
	}
	return r, ok
}

func outcomeUnknown(err error) bool {
	if errors.Is(err, raftgroup.ErrOutcomeUnknown) {
		return true
	}
	var ae *admin.APIError
	return errors.As(err, &ae) && ae.Code == admin.CodeOutcomeUnknown
}

// effectApplied reports whether the applied state already shows cmd's
// effect (and the result it would have returned).
func effectApplied(f *fsm.FSM, cmd fsm.Command) (fsm.Result, bool) {
	var res fsm.Result
	ok := false
	f.View(func(s *fsm.State) {
		switch c := cmd.(type) {
		case *fsm.SetSlot:
			switch c.Mode {
			case fsm.SlotNode:
				ok = s.Slots[c.Slot] == c.NodeID && s.Migrating[c.Slot] == "" && s.Importing[c.Slot] == ""
			case fsm.SlotMigrating:
				ok = s.Migrating[c.Slot] == c.NodeID
			case fsm.SlotImporting:
				ok = s.Importing[c.Slot] == c.NodeID && s.ImportingBy[c.Slot] == c.By
			case fsm.SlotStable:
				ok = s.Importing[c.Slot] == "" && s.Migrating[c.Slot] == ""
			}
		case *fsm.AddSlots:
			ok = true
			for _, r := range c.Ranges {
				for i := r.Start; i <= r.End && ok; i++ {
					ok = s.Slots[i] == c.NodeID
				}
			}
		case *fsm.DelSlots:
			ok = true
			for _, r := range c.Ranges {
				for i := r.Start; i <= r.End && ok; i++ {
					ok = s.Slots[i] == ""
				}
			}
		case *fsm.Replicate:
			n := s.Nodes[c.ID]
			ok = n != nil && n.Role == fsm.RoleReplica && n.MasterID == c.MasterID
		case *fsm.SetConfigEpoch:
			n := s.Nodes[c.NodeID]
			ok = n != nil && n.ConfigEpoch == c.Epoch
			res.Epoch = c.Epoch
		case *fsm.RemoveNode:
			_, ok = s.Removed[c.ID]
		case *fsm.StartFailover:
			for _, fo := range s.Failovers {
				if fo.Kind == c.Kind && fo.Target == c.Target && fo.Candidate == c.Candidate {
					ok, res.Epoch = true, fo.Epoch
				}
			}
			if n := s.Nodes[c.Candidate]; !ok && n != nil && n.Role == fsm.RoleMaster && c.Kind == fsm.FailoverCluster {
				if t := s.Nodes[c.Target]; t != nil && t.MasterID == c.Candidate {
					ok, res.Epoch = true, n.ConfigEpoch // already finished
				}
			}
		case *fsm.FinishFailover:
			if c.Kind == fsm.FailoverCluster {
				t := s.Nodes[c.Target]
				ok = t != nil && t.Role == fsm.RoleReplica && func() bool {
					m := s.Nodes[t.MasterID]
					return m != nil && m.ConfigEpoch == c.Epoch
				}()
				res.Epoch = c.Epoch
			}
		case *fsm.MarkFailed:
			x := s.Nodes[c.ID]
			ok = x != nil && x.Failed == c.Failed
			if ok && c.Candidate != "" {
				cand := s.Nodes[c.Candidate]
				ok = cand != nil && cand.Role == fsm.RoleMaster && x.MasterID == cand.ID
				if ok {
					res.Epoch = cand.ConfigEpoch
				}
			}
		case *fsm.UpsertNode:
			n := s.Nodes[c.Node.ID]
			ok = n != nil && n.Addr == c.Node.Addr && n.RaftAddr == c.Node.RaftAddr && n.AdminAddr == c.Node.AdminAddr
		case *fsm.SetNodeHostname:
			x := s.Nodes[c.ID]
			ok = x != nil && x.Hostname == c.Hostname
		case *fsm.SetNodeFlags, *fsm.Noop:
			// idempotent: proposed again
		}
	})
	return res, ok
}
