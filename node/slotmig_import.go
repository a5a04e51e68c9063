package node

// The target's side of an atomic slot migration: CLUSTER SKIFF-IMPORT
// turns the source's connection into an import connection, whose commands
// (the slots' copy, then their forwarded writes) are served although the
// slots are not this node's yet. Clients still get MOVED to the source
// for those slots: the metadata is unchanged until the flip. Like any
// write here, the import reaches this node's replicas and AOF.
//
// When the connection ends the job is settled in the log: it either moved
// the slots (they are ours, the keys stay) or it is recorded as aborted,
// after which the keys of its slots are deleted, a batch per lock hold.

import (
	"context"
	"encoding/binary"
	"runtime/metrics"
	"time"

	"github.com/skiffdb/skiff/cluster"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/slots"
)

// cmdSkiffImport is CLUSTER SKIFF-IMPORT <job> <source-id> <start> <end>
// [<start> <end> ...], sent by a source as the first command of a job.
func (s *Server) cmdSkiffImport(c *Client, args [][]byte) {
	if len(args) < 6 {
		c.replyError("ERR wrong number of arguments for 'cluster|skiff-import' command")
		return
	}
	a := s.asm()
	name, source := string(args[2]), string(args[3])
	set, msg := parseSlotPairs(args[4:])
	if msg != "" {
		c.replyError(msg)
		return
	}
	v := s.cl.node.View()
	src := v.Node(source)
	switch {
	case c.flags&clientImport != 0:
		c.replyError("ERR this connection already imports slots")
		return
	case !v.Self.Master || s.repl.masterHost != "":
		c.replyError("ERR Target node is not a primary")
		return
	case src == nil || !src.Master:
		c.replyErrorf("ERR Unknown source node %s", source)
		return
	}
	for sl := set.Next(0); sl >= 0; sl = set.Next(sl + 1) {
		if v.Owner[sl] != src {
			c.replyErrorf("ERR Slot %d is not owned by the source node", sl)
			return
		}
		if v.Importing[sl] != nil || v.Migrating[sl] != nil {
			c.replyErrorf("ERR Slots are being manually imported (slot %d)", sl)
			return
		}
	}
	var placeholder *slotJob // CLUSTER MIGRATION IMPORT's job, waiting for the source
	for _, j := range a.jobs {
		if j.export || j.finished() {
			continue
		}
		if j.name == name && j.client == nil && j.state == jobConnecting && j.set == set && j.source == source {
			placeholder = j
			continue
		}
		for sl := set.Next(0); sl >= 0; sl = set.Next(sl + 1) {
			if j.set.Has(sl) {
				c.replyErrorf("ERR Slot %d is already being imported", sl)
				return
			}
		}
	}
	// Leftovers of an earlier attempt that ended while this node was
	// down: the copy starts from nothing.
	for sl := set.Next(0); sl >= 0; sl = set.Next(sl + 1) {
		for s.deleteSlotBatchLocked(sl, 1<<20) > 0 {
		}
	}
	j := placeholder
	if j == nil {
		j = &slotJob{name: name, source: source, target: v.SelfID, set: set, created: time.Now()}
		a.add(j)
	}
	j.client = c
	j.setState(jobImporting)
	j.lastAck.Store(time.Now().Unix())
	if a.byClient == nil {
		a.byClient = map[int64]*slotJob{}
	}
	a.byClient[c.id] = j
	c.flags |= clientImport
	// As a full sync's load does, the import raises the GC target
	// (loadingGC): the heap grows by what arrives, nearly all of it live,
	// and at the usual target the collector re-marked the whole growing
	// heap again and again (a third of the target's CPU). importGone
	// lowers it again only after a collection at the raised target:
	// lowering it over a grown heap at once owed a collection that
	// stalled clients for a second.
	loadingGC(true)
	j.raisedGC = true
	s.log.Info("importing slots", "job", name, "slots", j.rangesText(), "source", source)
	c.replyOK()
}

// lowerGCAfterCycle undoes an import's loadingGC(true) once the
// collector has finished a cycle of its own at the raised target, so
// that the lowered target is computed from the grown heap and does not
// owe a collection at once. Forcing that cycle (runtime.GC) was tried:
// clients of the target were slow for the second after the move (p99
// 94-537 ms against 4 ms). The cycle comes when the heap reaches the
// raised target (the bound on memory meanwhile); a node that allocates
// nothing more keeps the raised target and needs no collection.
func lowerGCAfterCycle(done <-chan struct{}) {
	sample := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(sample)
	start := sample[0].Value.Uint64()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			loadingGC(false)
			return
		case <-t.C:
			metrics.Read(sample)
			if sample[0].Value.Uint64() != start {
				loadingGC(false)
				return
			}
		}
	}
}

// importGone is called when an import connection closes (locked): the
// job is settled in the background.
func (s *Server) importGone(c *Client) {
	a := s.asm()
	j := a.byClient[c.id]
	if j == nil {
		return
	}
	delete(a.byClient, c.id)
	if j.pipe != nil {
		j.pipe.close()
		j.pipe = nil
	}
	if j.raisedGC {
		j.raisedGC = false
		go lowerGCAfterCycle(s.done)
	}
	j.client = nil
	j.setState(jobSettling)
	go s.settleImport(j)
}

// settleImport learns the job's outcome from the log, recording the
// abort when the source did not move the slots, and drops the copy of
// an aborted job.
func (s *Server) settleImport(j *slotJob) {
	outcome := s.cl.node.SlotMoveOutcome(j.name)
	for outcome == "" {
		ctx, cancel := context.WithTimeout(context.Background(), asmSettleTime)
		var err error
		outcome, err = s.cl.node.SettleSlotMove(ctx, j.name, nil)
		cancel()
		if err != nil {
			s.log.Warn("slot import: outcome unknown, retrying", "job", j.name, "error", err)
			select {
			case <-s.done:
				return
			case <-time.After(time.Second):
			}
		}
	}
	if outcome == fsm.SlotMoveDone {
		s.mu.Lock()
		j.setState(jobSuccess)
		s.mu.Unlock()
		s.log.Info("slot import done", "job", j.name, "slots", j.rangesText())
		return
	}
	s.dropImported(j)
	s.mu.Lock()
	j.setState(jobFailed)
	if j.message == "" {
		j.message = "The source ended the migration; the imported keys were deleted."
	}
	s.mu.Unlock()
	s.log.Warn("slot import aborted, imported keys deleted", "job", j.name, "slots", j.rangesText())
}

// dropImported deletes the keys of an aborted import's slots that this
// node does not own, a batch per lock hold.
func (s *Server) dropImported(j *slotJob) {
	for sl := j.set.Next(0); sl >= 0; sl = j.set.Next(sl + 1) {
		for {
			s.mu.Lock()
			v := s.cl.node.View()
			if v.Owner[sl] == v.Self || s.repl.masterHost != "" || s.importingSlot(sl) {
				s.mu.Unlock()
				break
			}
			n := s.deleteSlotBatchLocked(sl, asmDropBatch)
			s.mu.Unlock()
			if n == 0 {
				break
			}
		}
	}
}

// importingSlot reports whether a running import job loads slot (locked).
func (s *Server) importingSlot(sl int) bool {
	for _, j := range s.asm().jobs {
		if !j.export && j.client != nil && j.set.Has(sl) {
			return true
		}
	}
	return false
}

// sweepForeignSlots deletes, once the view is current, the keys this
// master holds in slots another node owns with no migration of any kind
// open on them: a copy left by an import that was cut short by a crash
// of this node (the job's state does not survive a restart).
func (s *Server) sweepForeignSlots() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.cl.node.Barrier(ctx); err != nil {
		s.log.Warn("slot sweep skipped: no current view", "error", err)
		return
	}
	var todo slots.Set
	s.mu.Lock()
	v := s.cl.node.View()
	if v.Self.Master && s.repl.masterHost == "" {
		db := s.store.DBs[0]
		for sl := 0; sl < slots.Count; sl++ {
			if o := v.Owner[sl]; o != nil && o != v.Self && v.Importing[sl] == nil &&
				!s.importingSlot(sl) && !s.exportOwnsSlot(sl) && db.CountKeysInSlot(sl) > 0 {
				todo.Add(sl)
			}
		}
	}
	s.mu.Unlock()
	if todo.Empty() {
		return
	}
	s.log.Warn("deleting keys of slots other nodes own (an interrupted slot import)", "slots", todo.String())
	s.dropImported(&slotJob{set: todo})
}

// nextLoadEntry splits the first entry off a SKIFF-LOAD batch.
func nextLoadEntry(b []byte) (key []byte, exp int64, payload, rest []byte, ok bool) {
	kl, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < kl {
		return nil, 0, nil, nil, false
	}
	key, b = b[n:n+int(kl)], b[n+int(kl):]
	e, n := binary.Uvarint(b)
	if n <= 0 || e > 1<<62 {
		return nil, 0, nil, nil, false
	}
	b = b[n:]
	pl, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < pl {
		return nil, 0, nil, nil, false
	}
	return key, int64(e), b[n : n+int(pl)], b[n+int(pl):], true
}

// appendLoadEntry appends one entry to a SKIFF-LOAD batch.
func appendLoadEntry(b []byte, key string, exp int64, payload []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(exp))
	b = binary.AppendUvarint(b, uint64(len(payload)))
	return append(b, payload...)
}

// cmdSkiffFlipped is CLUSTER SKIFF-FLIPPED <job>, the source's last
// command: it answers once this node's view gives it the job's slots
// (at most asmFlipAckTime), so that the source resumes the writes it held
// only when they will not bounce between the two nodes.
func (s *Server) cmdSkiffFlipped(c *Client, args [][]byte) {
	j := s.asm().byClient[c.id]
	if c.flags&clientImport == 0 || j == nil || len(args) != 3 || string(args[2]) != j.name {
		c.replyError("ERR CLUSTER SKIFF-FLIPPED is for slot import connections")
		return
	}
	first := j.set.Next(0)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), asmFlipAckTime)
	err := s.cl.node.WaitView(ctx, func(v *cluster.View) bool { return v.Owner[first] == v.Self })
	cancel()
	s.mu.Lock()
	if err != nil {
		c.replyError("ERR the slots are not served here yet")
		return
	}
	c.replyOK()
}
