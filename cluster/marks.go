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
	"time"

	"github.com/skiffdb/skiff/fsm"
)

type markState struct {
	pending map[int]*fsm.SetSlot // slot -> latest local mark not applied yet
	queue   []*fsm.SetSlot
	busy    bool // the worker is proposing
	version uint64
	idle    chan struct{} // closed when queue and worker are idle
}

// setMark applies a mark to this node's view now and queues its proposal.
func (n *Node) setMark(c *fsm.SetSlot) {
	n.marksMu.Lock()
	m := &n.marks
	if m.pending == nil {
		m.pending = map[int]*fsm.SetSlot{}
	}
	m.pending[c.Slot] = c
	m.queue = append(m.queue, c)
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
		c := m.queue[0]
		m.queue = m.queue[1:]
		n.marksMu.Unlock()

		var err error
		if g := n.Group(); g == nil {
			err = errSwapping
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), proposeTimeout)
			var res fsm.Result
			if res, err = proposeSure(ctx, g, c); err == nil {
				err = g.WaitForIndex(ctx, res.Index)
			}
			cancel()
		}
		if err != nil {
			n.log.Warn("CLUSTER SETSLOT: the mark did not reach the cluster metadata", "slot", c.Slot, "mode", c.Mode, "error", err)
		}
		n.marksMu.Lock()
		if m.pending[c.Slot] == c {
			delete(m.pending, c.Slot)
			m.version++
		}
		n.marksMu.Unlock()
		n.refresh()
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
	for sl, c := range n.marks.pending {
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
	return n.marks.version
}

func (n *Node) marksVersion() uint64 {
	n.marksMu.Lock()
	defer n.marksMu.Unlock()
	return n.marks.version
}
