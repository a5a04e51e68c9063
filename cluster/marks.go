package cluster

// Slot migration marks (CLUSTER SETSLOT IMPORTING / MIGRATING / STABLE)
// answer at once and reach the Raft log in the background.
//
// In Redis the marks are each node's own state: only the node that holds
// them acts on them (ASK from the source, ASKING served by the target),
// and no other node needs to learn them. Here they are still Raft entries
// (set-slot with By = this node), so that they are durable and visible in
// the metadata, but a node applies its own mark to its view immediately
// (an overlay on the applied state) and proposes it from a queue, in
// order. A slot move by redis-cli then costs one synchronous proposal
// (SETSLOT NODE) instead of three. SETSLOT NODE, FLUSHSLOTS, DELSLOTS and
// RESET first wait for this node's queued marks, so a mark can never
// land after the ownership change that ends it; and the state machine
// refuses a migrating mark for a slot the source no longer owns and an
// importing mark for a slot the importer already owns.

import (
	"context"
	"errors"
	"time"

	"github.com/skiffdb/skiff/fsm"
)

type markState struct {
	pending map[int]*pendingMark // slot -> latest local mark not applied yet
	owners  map[int]ownerChange  // slot -> SETSLOT NODE committed, not applied here yet
	queue   []*pendingMark
	busy    bool // the worker is proposing
	version uint64
	idle    chan struct{} // closed when queue and worker are idle
}

// pendingMark is a mark on this node's view until the applied state
// shows it: queued, then proposed, then committed (index set) and applied.
type pendingMark struct {
	c     *fsm.SetSlot
	index uint64 // its entry, once committed
	gen   uint64 // the member generation it was committed in
	tries int    // proposals that failed without a refusal
}

// setMark applies a mark to this node's view now and queues its proposal.
func (n *Node) setMark(c *fsm.SetSlot) {
	p := &pendingMark{c: c}
	n.marksMu.Lock()
	m := &n.marks
	if m.pending == nil {
		m.pending = map[int]*pendingMark{}
	}
	m.pending[c.Slot] = p
	m.queue = append(m.queue, p)
	m.version++
	if !m.busy {
		m.busy = true
		m.idle = make(chan struct{})
		n.wg.Add(1)
		go n.markWorker()
	}
	n.marksMu.Unlock()
	n.refresh()
}

// markWorker proposes the queued marks in order. A mark is done for the
// queue once committed (flushMarks only needs the order of the log); it
// stays on the view until this member has applied it.
func (n *Node) markWorker() {
	defer n.wg.Done()
	for {
		n.marksMu.Lock()
		m := &n.marks
		if len(m.queue) == 0 || n.stopped() {
			m.busy = false
			close(m.idle)
			n.marksMu.Unlock()
			return
		}
		p := m.queue[0]
		m.queue = m.queue[1:]
		n.marksMu.Unlock()

		var err error
		var res fsm.Result
		gen := n.generation()
		g := n.Group()
		if g == nil {
			err = errSwapping
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), proposeTimeout)
			res, err = proposeSure(ctx, g, p.c)
			cancel()
		}
		var refused *fsm.CommandError
		if errors.As(err, &refused) {
			// A late mark the slot's move made moot (see flushSlotMarks).
			n.log.Debug("CLUSTER SETSLOT: the metadata refused a mark", "slot", p.c.Slot, "mode", p.c.Mode, "error", err)
		} else if err != nil {
			n.log.Warn("CLUSTER SETSLOT: the mark did not reach the cluster metadata", "slot", p.c.Slot, "mode", p.c.Mode, "error", err)
			// The mark is this node's own state (as in Redis) and a
			// migration in progress relies on it (RESTORE-ASKING on the
			// importing node): it stays on the view and is proposed
			// again, a few times, rather than vanishing on a timeout.
			n.marksMu.Lock()
			retry := p.tries < 5 && m.pending[p.c.Slot] == p && !n.stopped()
			if retry {
				p.tries++
				m.queue = append([]*pendingMark{p}, m.queue...)
			}
			n.marksMu.Unlock()
			if retry {
				select {
				case <-n.stop:
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
		}
		// A committed mark stays on the view until a view is built from
		// a state that holds it (overlayMarks drops it then): dropping it
		// here would race with a rebuild from an older state, which would
		// then publish a view without the mark (an importing node
		// answering MOVED to RESTORE-ASKING in the middle of a migration).
		n.marksMu.Lock()
		if err != nil {
			if m.pending[p.c.Slot] == p {
				delete(m.pending, p.c.Slot)
				m.version++
			}
		} else {
			p.index, p.gen = res.Index, gen
		}
		applied := err != nil || g.FSM().AppliedIndex() >= res.Index
		n.marksMu.Unlock()
		if applied {
			n.refresh()
		}
	}
}

// flushSlotMarks is flushMarks before SETSLOT sl NODE dst: only a mark
// of this node for that slot can conflict with the entry, and not even
// its importing mark when dst is this node (the state machine refuses an
// importing mark for a slot its importer owns, so a late one is
// harmless). The usual SETSLOT NODE at the end of a migration, sent to
// the importing node first, then goes to the log without waiting for the
// commit of the IMPORTING mark just before it.
func (n *Node) flushSlotMarks(sl int, dst string) {
	n.marksMu.Lock()
	p := n.marks.pending[sl]
	wait := p != nil && p.index == 0 && !(p.c.Mode == fsm.SlotImporting && dst == n.myID())
	n.marksMu.Unlock()
	if wait {
		n.flushMarks()
	}
}

// flushMarks waits (bounded) until this node's queued marks are in the
// metadata.
func (n *Node) flushMarks() {
	n.marksMu.Lock()
	busy, idle := n.marks.busy, n.marks.idle
	n.marksMu.Unlock()
	if !busy {
		return
	}
	select {
	case <-idle:
	case <-time.After(proposeTimeout):
	case <-n.stop:
	}
}

// overlayMarks applies the pending marks to a freshly built view; it
// returns the version it applied.
func (n *Node) overlayMarks(v *View) uint64 {
	n.marksMu.Lock()
	defer n.marksMu.Unlock()
	for sl, p := range n.marks.pending {
		if p.index != 0 && (v.Index >= p.index || v.gen != p.gen) {
			delete(n.marks.pending, sl) // applied (the state shows it), or another group
			continue
		}
		c := p.c
		switch c.Mode {
		case fsm.SlotMigrating:
			if d := v.Node(c.NodeID); d != nil && v.Owner[sl] == v.Self {
				v.Migrating[sl] = d
			}
		case fsm.SlotImporting:
			if src := v.Node(c.NodeID); src != nil && v.Owner[sl] != v.Self {
				v.Importing[sl] = src
			}
		case fsm.SlotStable:
			delete(v.Migrating, sl)
			delete(v.Importing, sl)
		}
	}
	for sl, o := range n.marks.owners {
		if v.Index >= o.index || v.gen != o.gen {
			delete(n.marks.owners, sl) // applied (the state shows it), or another group
			continue
		}
		v.setOwner(sl, v.Node(o.node))
	}
	return n.marks.version
}

func (n *Node) marksVersion() uint64 {
	n.marksMu.Lock()
	defer n.marksMu.Unlock()
	return n.marks.version
}

// ownerChange is a SETSLOT NODE this node proposed that the leader has
// committed (so it is durable in the group) but this member has not
// applied yet.
type ownerChange struct {
	node  string
	index uint64
	gen   uint64 // the member generation it was committed in
}

// proposeSlotNode commits SETSLOT <slot> NODE <id> (through the leader)
// and returns once it is committed, i.e. durable in the Raft group. It
// does not wait until this member has applied it (a follower learns the
// commit index from the leader's next AppendEntries, a few ms later):
// until then the change is an overlay on this node's view, so the next
// command here already sees the new owner.
func (n *Node) proposeSlotNode(c *fsm.SetSlot) error {
	g := n.Group()
	if g == nil {
		return errSwapping
	}
	ctx, cancel := context.WithTimeout(context.Background(), proposeTimeout)
	defer cancel()
	if err := n.ensureSelf(ctx, g); err != nil {
		return err
	}
	res, err := proposeSure(ctx, g, c)
	if err != nil {
		return err
	}
	if g.FSM().AppliedIndex() < res.Index {
		n.marksMu.Lock()
		if n.marks.owners == nil {
			n.marks.owners = map[int]ownerChange{}
		}
		n.marks.owners[c.Slot] = ownerChange{node: c.NodeID, index: res.Index, gen: n.generation()}
		n.marks.version++
		n.marksMu.Unlock()
	}
	n.refresh()
	return nil
}

// catchUpSlotNode is for a SETSLOT NODE whose effect this node's view
// does not show: when this member's log holds entries it has not applied
// yet (typically the very ownership change, proposed by the node that got
// SETSLOT NODE first, whose commit index has not reached this member),
// it waits (at most catchUpWait) until they are applied and reports
// whether the view then shows slot sl owned by dst without marks. The
// applied state is committed state, so +OK is then as durable as after
// a proposal of our own, without a second entry.
func (n *Node) catchUpSlotNode(sl int, dst string) bool {
	shows := func(v *View) bool {
		d := v.Node(dst)
		return d != nil && v.Owner[sl] == d && v.Migrating[sl] == nil && v.Importing[sl] == nil
	}
	if shows(n.refresh()) { // the view is rebuilt after each entry, maybe not yet after the last
		return true
	}
	g := n.Group()
	if g == nil {
		return false
	}
	r := g.Raft()
	target := r.LastIndex()
	if r.AppliedIndex() >= target {
		return false
	}
	deadline := time.Now().Add(catchUpWait)
	for r.AppliedIndex() < target && time.Now().Before(deadline) {
		select {
		case <-g.FSM().Changed():
		case <-time.After(time.Millisecond): // raft's own entries do not signal the FSM
		case <-n.stop:
			return false
		}
	}
	return shows(n.refresh())
}

// catchUpWait bounds catchUpSlotNode: about one replication round.
const catchUpWait = 50 * time.Millisecond
