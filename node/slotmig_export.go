package node

// The source's side of an atomic slot migration.
//
// Consistency without a fork: the slots are copied one at a time, each
// under the data lock, so every slot is copied at one instant of its
// own; from that instant on, every write to that slot is forwarded on
// the same connection, behind the copy (the write hook in replicate
// sees every effect this master propagates). Commands never span slots
// in cluster mode, so the target ends up with each slot's copy plus,
// in order, every write made to it since: the slot as it is here. The
// lock is held for one slot at a time (a few ms for a thousand keys),
// never for the whole job.
//
// The copy is CLUSTER SKIFF-LOAD batches of keys (key, absolute expire
// time, DUMP payload; big keys as chunk commands), the forwarded writes
// are the propagated effects as they are; the target answers each command and the source counts the
// answers, which is how it knows the target caught up. Then writes to
// the slots are held (clusterAdmit waits), the last answers are awaited,
// and one Raft entry moves the slots; the held writes then find the slots
// moved and are redirected with MOVED. The keys left here are deleted in
// the background, a few hundred per lock hold.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/replication"
	"github.com/skiffdb/skiff/slots"
	"github.com/skiffdb/skiff/store"
)

const (
	asmDialTimeout   = 5 * time.Second
	asmHandshakeTime = 30 * time.Second // the target deletes leftovers of an earlier attempt first
	asmWriteTimeout  = 60 * time.Second
	asmCopyBudget    = 2 * time.Millisecond   // lock hold per copy step (a slot is never split)
	asmQueueHigh     = 1 << 20                // unsent bytes above which the copy waits (see asmStepBytes)
	asmStepBytes     = 512 << 10              // most a copy step queues (a slot is never split)
	asmUnackedHigh   = 256                    // unanswered commands above which the copy waits
	asmCatchUpTime   = 5 * time.Minute        // the stream must drain this fast
	asmPauseAckTime  = 2 * time.Second        // the last answers, writes held
	asmSettleTime    = 10 * time.Second       // one attempt to commit the flip
	asmFlipAckTime   = 200 * time.Millisecond // the target serving the slots after the flip
	asmOutputLimit   = 1 << 30                // the forwarded writes' queue
	asmDropBatch     = 256                    // keys deleted per lock hold after the move
	asmBatchBytes    = 64 << 10               // a SKIFF-LOAD command's batch of keys
	asmBigElems      = 1024                   // a collection above this goes in chunks
	asmChunkElems    = 512                    // elements per chunk command
)

var errCancelled = errors.New("cancelled")

// fail records the job's first failure and wakes its goroutine (locked
// or not: only the channel and the error, under s.mu).
func (j *slotJob) fail(err error) {
	if j.failErr != nil {
		return
	}
	j.failErr = err
	close(j.failCh)
}

func (s *Server) runExport(j *slotJob) {
	err := s.exportJob(j)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.asm()
	a.exports--
	if j.paused {
		// Only reached with the outcome known (abort recorded).
		s.resumeWritesLocked(j)
	}
	j.streaming = slots.Set{}
	if j.out != nil {
		j.out.Close(nil) // the target sees the end and drops its copy
	} else if j.conn != nil {
		j.conn.Close()
	}
	switch {
	case err == nil:
		j.setState(jobSuccess)
		s.log.Info("slot migration done", "job", j.name, "slots", j.rangesText(), "target", j.target,
			"keys", j.keysSent, "write_pause", j.pauseTook,
			"pause_confirmed", j.pauseSteps[0], "pause_committed", j.pauseSteps[1])
		j.dropping = true
		go s.dropMovedSlots(j)
	case errors.Is(err, errCancelled):
		j.setState(jobCancelled)
		j.message = "Slot migration cancelled."
		s.log.Warn("slot migration cancelled", "job", j.name, "slots", j.rangesText())
	default:
		j.setState(jobFailed)
		j.message = err.Error()
		s.log.Warn("slot migration failed", "job", j.name, "slots", j.rangesText(), "error", err)
	}
}

// exportJob runs the job to its outcome: nil when the slots moved.
func (s *Server) exportJob(j *slotJob) error {
	s.mu.Lock()
	a := s.asm()
	a.exports++ // undone by runExport
	v := s.cl.node.View()
	s.mu.Unlock()
	t := v.Node(j.target)
	if t == nil {
		return fmt.Errorf("target node %s is unknown", j.target)
	}
	conn, br, err := s.cl.node.DialPeer(t.Addr, asmDialTimeout)
	if err != nil {
		return fmt.Errorf("Failed to connect to target: %w", err)
	}
	s.mu.Lock()
	j.conn = conn
	s.mu.Unlock()
	hs := [][]byte{[]byte("CLUSTER"), []byte("SKIFF-IMPORT"), []byte(j.name), []byte(j.source)}
	j.set.EachRange(func(r slots.Range) bool {
		hs = append(hs, strconv.AppendInt(nil, int64(r.Start), 10), strconv.AppendInt(nil, int64(r.End), 10))
		return true
	})
	_ = conn.SetDeadline(time.Now().Add(asmHandshakeTime))
	if _, err := conn.Write(appendArgs(nil, hs)); err != nil {
		return fmt.Errorf("Failed to send the handshake to target: %w", err)
	}
	if err := readPeerReply(br); err != nil {
		return fmt.Errorf("Received error during handshake to target: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	j.lastAck.Store(time.Now().Unix())
	out := replication.NewOutbound(conn, replication.Limits{Hard: asmOutputLimit})
	out.Start()
	go out.Run(asmWriteTimeout)
	go s.readExportReplies(j, br)

	s.mu.Lock()
	j.out = out
	j.setState(jobSnapshotting)
	s.mu.Unlock()
	if err := s.copySlots(j); err != nil {
		return err
	}
	s.mu.Lock()
	// The target decodes a batch while the next one arrives: an empty
	// batch makes it store the last one, and its answer confirms the
	// whole copy (catchUp).
	if err := j.check(); err != nil {
		s.mu.Unlock()
		return err
	}
	if err := j.out.Write(j.appendLoad(nil, nil)); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("stream to target: %w", err)
	}
	j.setState(jobStreaming)
	s.mu.Unlock()
	if err := s.catchUp(j); err != nil {
		return err
	}
	return s.flip(j)
}

var replyLimits = resp.ReplyLimits{MaxBulk: 1 << 20, MaxElems: 1 << 20, MaxDepth: 8}

func appendArgs(b []byte, args [][]byte) []byte { return replication.AppendCommand(b, args) }

// readPeerReply reads one reply; an error reply is returned as the error.
func readPeerReply(br *bufio.Reader) error {
	rep, err := resp.ReadReply(br, replyLimits)
	if err != nil {
		return err
	}
	if e, ok := rep.(resp.ReplyError); ok {
		return e
	}
	return nil
}

// readExportReplies counts the target's answers; an error answer or a
// broken connection fails the job.
func (s *Server) readExportReplies(j *slotJob, br *bufio.Reader) {
	for {
		rep, err := resp.ReadReply(br, replyLimits)
		if err == nil {
			if e, ok := rep.(resp.ReplyError); ok {
				err = fmt.Errorf("target replied with error: %s", string(e))
			}
		}
		if err != nil {
			s.mu.Lock()
			j.fail(fmt.Errorf("connection with target lost: %w", err))
			s.mu.Unlock()
			return
		}
		j.acked.Add(1)
		j.lastAck.Store(time.Now().Unix())
		select {
		case j.ackCh <- struct{}{}:
		default:
		}
	}
}

// check reports a failure or a cancel (locked).
func (j *slotJob) check() error {
	if j.failErr != nil {
		return j.failErr
	}
	if j.cancelled {
		return errCancelled
	}
	return nil
}

// copySlots copies every slot of the job, one or more per lock hold.
func (s *Server) copySlots(j *slotJob) error {
	list := make([]int, 0, j.set.Count())
	for sl := j.set.Next(0); sl >= 0; sl = j.set.Next(sl + 1) {
		list = append(list, sl)
	}
	for i := 0; i < len(list); {
		if err := s.waitQueue(j, asmQueueHigh, asmUnackedHigh, time.Hour); err != nil {
			return err
		}
		s.mu.Lock()
		if err := j.check(); err != nil {
			s.mu.Unlock()
			return err
		}
		v := s.cl.node.View()
		start := time.Now()
		db := s.store.DBs[0]
		now := time.Now().UnixMilli()
		b := j.buf[:0]
		batch := j.batch[:0]
		var big []bigKey
		var alloc map[string]int
		delay := s.asm().delay
		// At least one slot per hold (a slot is copied at one instant);
		// more while the budget lasts.
		for n := 0; i < len(list) && (n == 0 || delay == 0 && len(b) < asmStepBytes && time.Since(start) < asmCopyBudget); n++ {
			sl := list[i]
			if v.Owner[sl] != v.Self {
				s.mu.Unlock()
				return fmt.Errorf("slot %d is no longer owned by this node", sl)
			}
			// Where this slot starts, to undo it when one of its big keys
			// has no room made for its elements yet (batches do not span
			// slots, so that the undo drops this slot's only).
			if len(batch) >= asmBatchBytes/4 {
				b = j.appendLoad(b, batch)
				batch = batch[:0]
			}
			mark := struct {
				b, batch, big  int
				sent, lastLoad int64
				keys           int64
			}{len(b), len(batch), len(big), j.sent, j.lastLoad, j.keysSent}
			j.pre = append(j.pre[:0], batch...) // the batch so far, in case a flush in this slot takes it
			j.streaming.Add(sl)
			var err error
			undo := false
			j.entries = db.AppendEntriesInSlot(j.entries[:0], sl, db.CountKeysInSlot(sl))
			for _, e := range j.entries {
				key := e.Key
				if e.Val.Expire != 0 && e.Val.Expire < now {
					continue // an expired key: its DEL follows, if anything
				}
				if col, ok := e.Val.Val.(store.Collection); ok && col.Len() > asmBigElems {
					// A big key: its elements are taken now (their string
					// headers: Go strings never change), encoded after the
					// lock is released, and the slot's forwarded writes wait
					// behind them (held). The room for the headers is made
					// outside the lock: allocating it here would make this
					// goroutine pay for garbage collection under the lock
					// (1-2 s for a million-field hash on the loaded machine).
					if !j.hasRoom(key, col) {
						undo = true
						break
					}
					big = append(big, j.snapBigKey(key, &e.Val))
					j.holding.Add(sl)
					j.keysSent++
					continue
				}
				j.payload, err = rdb.AppendValueUncompressed(j.payload[:0], &e.Val)
				if err != nil {
					s.mu.Unlock()
					return fmt.Errorf("serialize key in slot %d: %w", sl, err)
				}
				batch = appendLoadEntry(batch, key, e.Val.Expire, j.payload)
				j.keysSent++
				if len(batch) >= asmBatchBytes {
					b = j.appendLoad(b, batch)
					batch = batch[:0]
				}
			}
			if undo {
				// The slot starts a step of its own once the room is made.
				b, batch, big = b[:mark.b], append(batch[:0], j.pre...), big[:mark.big]
				j.sent, j.lastLoad, j.keysSent = mark.sent, mark.lastLoad, mark.keys
				j.streaming.Remove(sl)
				j.holding.Remove(sl)
				if n == 0 {
					alloc = j.bigNeeds(db, sl)
				}
				break
			}
			i++
		}
		if len(batch) > 0 {
			b = j.appendLoad(b, batch) // before the lock is released: the forwarded writes come after
		}
		if len(b) > 0 {
			if err := j.out.Write(b); err != nil {
				s.mu.Unlock()
				return fmt.Errorf("stream to target: %w", err)
			}
		}
		if cap(b) <= 8<<20 {
			j.buf = b[:0]
		} else {
			j.buf = nil
		}
		clear(j.entries) // no references to deleted keys kept
		j.entries = j.entries[:0]
		j.batch = batch[:0]
		if held := time.Since(start); held > 50*time.Millisecond {
			s.log.Warn("slot migration: a copy step held the data lock long (big keys are encoded at their slot's instant)",
				"job", j.name, "slot", list[max(i-1, 0)], "held", held, "bytes", len(b))
		}
		s.mu.Unlock()
		// Clients waiting for the lock go first: Go's mutex lets the
		// goroutine that just released it take it again, and the copy's
		// steps would pass them over for up to a millisecond each time.
		runtime.Gosched()
		for key, n := range alloc {
			if j.prealloc == nil {
				j.prealloc = map[string][]string{}
			}
			j.prealloc[key] = make([]string, 0, n)
		}
		if len(big) > 0 {
			if err := s.sendBigKeys(j, big); err != nil {
				return err
			}
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-j.cancelCh:
			case <-j.failCh:
			}
		}
	}
	return nil
}

// bigKey is a collection taken at its slot's instant: its elements'
// string headers (the bytes are shared and immutable), not its structure.
type bigKey struct {
	key    string
	verb   string
	per    int       // strings per element: 2 for hashes and sorted sets
	elems  []string  // field, value / member
	scores []float64 // sorted sets: the members' scores (formatted later)
	expire int64
}

// hasRoom reports whether room was made for the elements of key.
func (j *slotJob) hasRoom(key string, col store.Collection) bool {
	n := col.Len()
	if _, h := col.(*store.Hash); h {
		n *= 2
	}
	return cap(j.prealloc[key]) >= n
}

// bigNeeds returns, for the big keys of slot that have no room made for
// their elements yet, how many strings to make room for (locked).
func (j *slotJob) bigNeeds(db *store.DB, sl int) map[string]int {
	var need map[string]int
	for _, key := range db.KeysInSlot(sl, db.CountKeysInSlot(sl)) {
		e := db.Peek([]byte(key))
		if e == nil {
			continue
		}
		col, ok := e.Val.Val.(store.Collection)
		if !ok || col.Len() <= asmBigElems {
			continue
		}
		n := col.Len()
		if _, h := col.(*store.Hash); h {
			n *= 2
		}
		if cap(j.prealloc[key]) < n {
			if need == nil {
				need = map[string]int{}
			}
			need[key] = n + n/8 // room for growth until the instant
		}
	}
	return need
}

// snapBigKey takes a big key's elements into the room bigNeeds made
// (locked; O(elements), no allocation unless the key grew past it).
func (j *slotJob) snapBigKey(key string, obj *store.Object) bigKey {
	k := bigKey{key: key, per: 1, expire: obj.Expire}
	room := j.prealloc[key][:0]
	delete(j.prealloc, key)
	switch v := obj.Val.(type) {
	case *store.Hash:
		k.verb, k.per = "HSET", 2
		k.elems = room
		v.Each(func(f, val string) bool { k.elems = append(k.elems, f, val); return true })
	case *store.List:
		k.verb = "RPUSH"
		k.elems = room
		for i := 0; i < v.Len(); i++ {
			k.elems = append(k.elems, v.At(i))
		}
	case *store.Set:
		k.verb = "SADD"
		k.elems = room
		v.Each(func(m string) bool { k.elems = append(k.elems, m); return true })
	case *store.ZSet:
		k.verb = "ZADD"
		k.elems = room
		k.scores = make([]float64, 0, v.Len()) // pointer-free: cheap for the collector
		v.Ascend(0, func(m store.ZMember) bool {
			k.elems = append(k.elems, m.Member)
			k.scores = append(k.scores, m.Score)
			return true
		})
	}
	return k
}

// sendBigKeys sends the big keys of the last copy step, encoded outside
// the lock and queued a megabyte per lock hold, then the forwarded
// writes their slots held meanwhile, and ends the hold.
func (s *Server) sendBigKeys(j *slotJob, big []bigKey) error {
	for _, k := range big {
		var piece []byte
		cmds := 0
		push := func() error {
			if err := s.waitQueue(j, asmQueueHigh, asmUnackedHigh, time.Hour); err != nil {
				return err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if err := j.check(); err != nil {
				return err
			}
			if err := j.out.Write(piece); err != nil {
				return fmt.Errorf("stream to target: %w", err)
			}
			j.sent += int64(cmds)
			piece, cmds = piece[:0], 0
			return nil
		}
		piece = appendCmd(piece, "DEL", k.key)
		cmds++
		args := make([]string, 0, 2+2*asmChunkElems)
		for i := 0; i < len(k.elems); i += asmChunkElems * k.per {
			args = append(args[:0], k.verb, k.key)
			end := min(i+asmChunkElems*k.per, len(k.elems))
			if k.scores != nil {
				for x := i; x < end; x++ {
					args = append(args, zscoreArg(k.scores[x]), k.elems[x])
				}
			} else {
				args = append(args, k.elems[i:end]...)
			}
			piece = appendCmd(piece, args...)
			cmds++
			if len(piece) >= asmStepBytes {
				if err := push(); err != nil {
					return err
				}
			}
		}
		if k.expire != 0 {
			piece = appendCmd(piece, "PEXPIREAT", k.key, strconv.FormatInt(k.expire, 10))
			cmds++
		}
		if err := push(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for sl, held := range j.held {
		if len(held.b) > 0 {
			if err := j.out.Write(held.b); err != nil {
				return fmt.Errorf("stream to target: %w", err)
			}
			j.sent += held.n
		}
		delete(j.held, sl)
	}
	j.holding = slots.Set{}
	return nil
}

// zscoreArg formats a score so that ZADD reads back the same float64.
func zscoreArg(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

func appendCmd(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

// appendLoad appends CLUSTER SKIFF-LOAD <batch> (locked).
func (j *slotJob) appendLoad(b, batch []byte) []byte {
	b = append(b, "*3\r\n$7\r\nCLUSTER\r\n$10\r\nSKIFF-LOAD\r\n$"...)
	b = strconv.AppendInt(b, int64(len(batch)), 10)
	b = append(b, '\r', '\n')
	b = append(b, batch...)
	b = append(b, '\r', '\n')
	j.sent++
	j.lastLoad = j.sent
	return b
}

// waitQueue waits until at most maxBytes are unsent and maxUnacked
// commands unanswered, or fails after d.
func (s *Server) waitQueue(j *slotJob, maxBytes int, maxUnacked int64, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		s.mu.Lock()
		err := j.check()
		sent := j.sent
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if j.out.Pending() <= maxBytes && sent-j.acked.Load() <= maxUnacked {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("target did not catch up within %v", d)
		}
		t := time.NewTimer(time.Millisecond)
		select {
		case <-j.ackCh:
		case <-j.failCh:
		case <-j.cancelCh:
		case <-t.C:
		}
		t.Stop()
	}
}

// catchUp waits until the target has applied the whole copy and all but
// a few forwarded writes: what is left to confirm once writes are held
// must take a round trip, not a batch load.
func (s *Server) catchUp(j *slotJob) error {
	if err := s.waitQueue(j, 0, 64, asmCatchUpTime); err != nil {
		return err
	}
	s.mu.Lock()
	last := j.lastLoad
	s.mu.Unlock()
	if err := s.waitAcked(j, last, asmCatchUpTime); err != nil {
		return err
	}
	return s.waitQueue(j, 0, 16, asmCatchUpTime)
}

// flip holds the writes to the slots, waits for the target's last
// answers and commits the move. Once the writes are held they resume
// only with the outcome known.
func (s *Server) flip(j *slotJob) error {
	s.mu.Lock()
	if err := j.check(); err != nil {
		s.mu.Unlock()
		return err
	}
	j.paused = true
	j.pauseCh = make(chan struct{})
	s.asm().paused++
	pausedAt := time.Now()
	want := j.sent
	j.setState(jobPaused)
	s.mu.Unlock()

	err := s.waitAcked(j, want, asmPauseAckTime)
	j.pauseSteps[0] = time.Since(pausedAt) // the target confirmed the final offset
	outcome := ""
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), asmSettleTime)
		var r []fsm.SlotRange
		j.set.EachRange(func(x slots.Range) bool { r = append(r, fsm.SlotRange{Start: x.Start, End: x.End}); return true })
		outcome, err = s.cl.node.SettleSlotMove(ctx, j.name, &fsm.MoveSlots{Job: j.name, Source: j.source, Target: j.target, Ranges: r})
		cancel()
	}
	for outcome == "" {
		// The flip's fate is unknown (or it was never proposed): record
		// the abort, which also tells if the flip made it after all. The
		// writes stay held until the log says which.
		ctx, cancel := context.WithTimeout(context.Background(), asmSettleTime)
		var serr error
		outcome, serr = s.cl.node.SettleSlotMove(ctx, j.name, nil)
		cancel()
		if serr != nil {
			s.log.Warn("slot migration: outcome unknown, writes to its slots stay paused", "job", j.name, "error", serr)
			select {
			case <-s.done:
				return serr
			case <-time.After(time.Second):
			}
		}
	}
	j.pauseSteps[1] = time.Since(pausedAt) // the flip committed
	if outcome == fsm.SlotMoveDone {
		// Held writes resume once the target serves the slots too: before
		// that it would send them back here with MOVED, and clients back
		// off between such redirections (go-redis up to 512 ms a time).
		s.mu.Lock()
		if j.failErr == nil {
			err := j.out.Write(appendCmd(nil, "CLUSTER", "SKIFF-FLIPPED", j.name))
			if err == nil {
				j.sent++
			}
		}
		want := j.sent
		s.mu.Unlock()
		_ = s.waitAcked(j, want, asmFlipAckTime) // best effort: the move is done either way
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if outcome == fsm.SlotMoveDone {
		j.pauseTook = time.Since(pausedAt)
		s.resumeWritesLocked(j)
		return nil
	}
	if err == nil {
		err = errors.New("the slot move was refused by the cluster")
	}
	return err
}

// waitAcked waits until the target answered want commands.
func (s *Server) waitAcked(j *slotJob, want int64, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	for j.acked.Load() < want {
		select {
		case <-j.ackCh:
		case <-j.failCh:
			s.mu.Lock()
			err := j.failErr
			s.mu.Unlock()
			return err
		case <-t.C:
			return fmt.Errorf("target did not confirm the final offset within %v", d)
		}
	}
	return nil
}

// resumeWritesLocked releases the writes held by flip.
func (s *Server) resumeWritesLocked(j *slotJob) {
	if !j.paused {
		return
	}
	j.paused = false
	s.asm().paused--
	close(j.pauseCh)
}

// forwardToExports is the write hook: an effect this master propagates
// goes to every export job streaming its slot (locked). A keyless write
// that may touch keys of the slots (FLUSHALL, FLUSHDB) fails the jobs.
func (s *Server) forwardToExports(args [][]byte) {
	a := s.asm()
	if a == nil || a.exports == 0 || len(args) == 0 {
		return
	}
	cmd := s.cmds[strings.ToLower(string(args[0]))]
	if cmd == nil {
		return
	}
	keys := s.cl.appendKeys(a.keys[:0], cmd, args)
	a.keys = keys[:0]
	if len(keys) == 0 {
		if cmd.Name == "flushall" || cmd.Name == "flushdb" {
			for _, j := range a.jobs {
				if j.export && !j.finished() {
					j.fail(errors.New("the source's keyspace was flushed"))
				}
			}
		}
		return
	}
	sl := slots.KeySlot(keys[0])
	clear(keys)
	var enc []byte
	for _, j := range a.jobs {
		if !j.export || j.out == nil || !j.streaming.Has(sl) || j.failErr != nil {
			continue
		}
		if enc == nil {
			enc = replication.AppendCommand(nil, args)
		}
		if j.holding.Has(sl) {
			// A big key of this slot is still being sent: its writes go
			// after it.
			if j.held == nil {
				j.held = map[int]*heldWrites{}
			}
			h := j.held[sl]
			if h == nil {
				h = &heldWrites{}
				j.held[sl] = h
			}
			h.b = append(h.b, enc...)
			h.n++
			continue
		}
		if err := j.out.Write(enc); err != nil {
			j.fail(fmt.Errorf("stream to target: %w", err))
			continue
		}
		j.sent++
	}
}

// exportPausedJob returns the job holding the writes to slot, if any
// (locked).
func (s *Server) exportPausedJob(slot int) *slotJob {
	a := s.asm()
	if a == nil || a.paused == 0 {
		return nil
	}
	for _, j := range a.jobs {
		if j.paused && j.set.Has(slot) {
			return j
		}
	}
	return nil
}

// waitSlotPause makes a write to a held slot wait, lock released, until
// the flip settles.
func (s *Server) waitSlotPause(j *slotJob) {
	for j.paused {
		ch := j.pauseCh
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.done:
		}
		s.mu.Lock()
		select {
		case <-s.done:
			return
		default:
		}
	}
}

// exportOwnsSlot reports whether an export job is responsible for the
// keys of slot: running, or moved and deleting them (locked).
// DropSlotKeys leaves those slots to the job.
func (s *Server) exportOwnsSlot(slot int) bool {
	a := s.asm()
	if a == nil {
		return false
	}
	for _, j := range a.jobs {
		if j.export && (j.dropping || !j.finished()) && j.set.Has(slot) {
			return true
		}
	}
	return false
}

// dropMovedSlots deletes what this node still holds of a moved job's
// slots, a batch per lock hold, each key propagated as DEL.
func (s *Server) dropMovedSlots(j *slotJob) {
	defer func() {
		s.mu.Lock()
		j.dropping = false
		s.mu.Unlock()
	}()
	for sl := j.set.Next(0); sl >= 0; sl = j.set.Next(sl + 1) {
		for {
			s.mu.Lock()
			v := s.cl.node.View()
			if v.Owner[sl] == v.Self || s.repl.masterHost != "" {
				s.mu.Unlock()
				break // the slot came back, or this node is a replica now
			}
			t := time.Now()
			n := s.deleteSlotBatchLocked(sl, asmDropBatch)
			if held := time.Since(t); held > 50*time.Millisecond {
				s.log.Warn("slot migration: dropping moved keys held the data lock long", "job", j.name, "slot", sl, "held", held)
			}
			s.mu.Unlock()
			if n == 0 {
				break
			}
			runtime.Gosched() // let the clients waiting for the lock in first
		}
	}
}

// deleteSlotBatchLocked deletes up to max keys of slot, propagating each
// as DEL, and returns how many it deleted.
func (s *Server) deleteSlotBatchLocked(sl, max int) int {
	db := s.store.DBs[0]
	keys := db.KeysInSlot(sl, max)
	for _, k := range keys {
		if !db.Delete(k) {
			continue
		}
		s.signalModifiedKey(db, []byte(k))
		s.keyspaceEvent(db, k, "del", notifyGeneric)
		s.propagate(0, [][]byte{[]byte("DEL"), []byte(k)})
	}
	s.dirty += int64(len(keys))
	return len(keys)
}
