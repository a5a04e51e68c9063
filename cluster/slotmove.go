package cluster

// The metadata side of atomic slot migration (docs/slot-migration.md): the
// data node streams the slots (package node) and settles each job here
// with one Raft entry, move-slots or abort-slot-move (fsm/slotmove.go).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/skiffdb/skiff/fsm"
)

// SettleSlotMove ends a job in the log: move (the flip, from source to
// target) or abort. It returns the outcome the log holds afterwards,
// fsm.SlotMoveDone or fsm.SlotMoveAborted, which may be the other end's
// when it settled the job first. An error means the outcome is still
// unknown (no quorum within ctx): the caller must not act as if either.
func (n *Node) SettleSlotMove(ctx context.Context, job string, move *fsm.MoveSlots) (string, error) {
	g := n.Group()
	if g == nil {
		return "", errSwapping
	}
	var cmd fsm.Command = &fsm.AbortSlotMove{Job: job}
	if move != nil {
		cmd = move
	}
	for {
		res, err, _ := proposeWaitingLeader(ctx, g, cmd)
		if err == nil {
			err = g.WaitForIndex(ctx, res.Index)
		} else if fsm.IsCommandError(err) {
			// Refused: the other outcome may already be in the log (or
			// the move was refused on its own: slots not owned).
			err = nil
			nres, nerr, _ := proposeWaitingLeader(ctx, g, &fsm.Noop{Note: "settle slot move " + job})
			if nerr == nil {
				nerr = g.WaitForIndex(ctx, nres.Index)
			}
			if nerr != nil {
				err = nerr
			} else if g.FSM().SlotMoveOutcome(job) == "" {
				// The move was refused for a reason of its own: record
				// the abort so that no retry can move the slots later.
				cmd = &fsm.AbortSlotMove{Job: job}
				continue
			}
		}
		if err == nil {
			n.refresh()
			return g.FSM().SlotMoveOutcome(job), nil
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("settle slot migration %s: %w", job, err)
		}
		if !outcomeUnknown(err) && !electionError(err) {
			return "", fmt.Errorf("settle slot migration %s: %w", job, err)
		}
		// Unknown: a proposal again is harmless (the second of the two
		// is refused) and tells which one the log holds.
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("settle slot migration %s: %w", job, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// SlotMoveOutcome is the outcome of a job as this member has applied it
// ("" while none).
func (n *Node) SlotMoveOutcome(job string) string {
	g := n.Group()
	if g == nil {
		return ""
	}
	return g.FSM().SlotMoveOutcome(job)
}

// Barrier commits a no-op and waits until this member applied it: the
// view is then at least as recent as every entry committed before.
func (n *Node) Barrier(ctx context.Context) error {
	g := n.Group()
	if g == nil {
		return errSwapping
	}
	res, err, _ := proposeWaitingLeader(ctx, g, &fsm.Noop{Note: "barrier"})
	if err == nil {
		err = g.WaitForIndex(ctx, res.Index)
	}
	if err == nil {
		n.refresh()
	}
	return err
}

// DialPeer opens a RESP connection to another node, authenticated as
// the nodes authenticate to each other (masterauth, else requirepass).
func (n *Node) DialPeer(addr string, timeout time.Duration) (net.Conn, *bufio.Reader, error) {
	c, br, err := dialRESP(addr, n.opts.PeerPassword, timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	return c, br, nil
}

// WaitView waits until the view satisfies ok (it is rebuilt after every
// applied entry), or ctx ends.
func (n *Node) WaitView(ctx context.Context, ok func(*View) bool) error {
	for {
		g := n.Group()
		var ch <-chan struct{}
		if g != nil {
			ch = g.FSM().Changed()
		}
		if v := n.refresh(); v != nil && ok(v) {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.New("timed out waiting for the cluster view")
		case <-ch:
		case <-time.After(50 * time.Millisecond):
		}
	}
}
