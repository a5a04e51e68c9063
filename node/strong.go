package node

// consistency strong on a data node (docs/consistency.md). The rules live
// in package consistency; this file is the glue to the replication state
// and the connection loop:
//
//   - a master admits commands only while it holds a lease (-MASTERDOWN
//     otherwise) and writes only while its in-sync set is large enough
//     (-NOREPLICAS);
//   - a master sends a batch's replies only once every member of its wait
//     set acknowledged the replication offset reached by the batch, so a
//     reply never shows state that a failover could lose;
//   - the lease and the committed in-sync set arrive from the Raft leader
//     (a sentinel, or a cluster node) through CLIENT SKIFF-LEASE;
//   - replicas acknowledge every applied batch at once and every 100 ms,
//     and tell their master their run id (REPLCONF skiff-runid).

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/consistency"
)

func init() {
	skiff := &Command{Name: "skiff", Arity: -2, Flags: "admin noscript loading stale", Group: "connection",
		Summary: "Skiff-only subcommands for consistency strong (CLIENT SKIFF-LEASE, CLIENT SKIFF-PROMOTE-IF).",
		Handler: cmdClientSkiff}
	prepare(skiff, commands["client"])
	commands["client"].SkiffSub = skiff
}

// strongState is a data node's strong-mode state, guarded by s.mu.
type strongState struct {
	isr        *consistency.ISR
	lease      consistency.Lease
	durableOff int64 // highest offset known durable (replies up to it need no wait)
	// waiters are the connections holding replies, each woken alone once
	// its offset is durable (or the role changed): a broadcast would wake
	// every waiting client at every acknowledgement.
	waiters []*strongWaiter
	samples [64]offSample // the master offset every 100 ms, for "keeps up"
	head    int
}

type strongWaiter struct {
	target int64
	ch     chan struct{}
	// durable is set, before ch is closed, when target became durable on
	// this master: the woken goroutine then replies without taking the
	// data lock again (a second lock round per batch was most of what
	// strong mode added under -P 16 contention).
	durable bool
}

type offSample struct {
	at  time.Duration // monoNow
	off int64
}

func (s *Server) initStrong() {
	if s.cfg.String("consistency") != "strong" {
		return
	}
	s.strong = &strongState{}
	s.strong.isr = consistency.NewISR(s.minISR())
}

// minISR: a strong master needs at least one in-sync replica, or
// min-replicas-to-write of them if that is larger.
func (s *Server) minISR() int {
	if n := int(s.cfg.Int("min-replicas-to-write")); n > 1 {
		return n
	}
	return 1
}

// advance recomputes the durable offset (under the lock) and wakes the
// waiters it satisfies. all wakes every waiter (role change): each then
// checks for itself.
func (st *strongState) advance(masterOff int64, all bool) {
	// Exact, not a maximum: a member joining the set lowers it.
	st.durableOff = st.isr.DurableOffset(masterOff)
	keep := st.waiters[:0]
	for _, w := range st.waiters {
		if all || w.target <= st.durableOff {
			// A wake for a role change decides nothing: strongWait then
			// looks at the role itself.
			w.durable = !all && w.target <= st.durableOff
			close(w.ch)
			continue
		}
		keep = append(keep, w)
	}
	clear(st.waiters[len(keep):])
	st.waiters = keep
}

func (s *Server) strongWake(all bool) { s.strong.advance(s.repl.offset, all) }

// strongRoleChanged runs when the node becomes a master or a replica: a
// lease and an in-sync set belong to one term as master. Waiting replies
// are woken and, on a replica, fail (strongWait).
func (s *Server) strongRoleChanged() {
	st := s.strong
	if st == nil {
		return
	}
	st.lease.Revoke()
	st.isr = consistency.NewISR(s.minISR())
	st.durableOff = s.repl.offset
	s.strongWake(true)
}

// strongAdmit is the strong-mode part of replAdmit on a master: "" or the
// error to reply.
func (s *Server) strongAdmit(cmd *Command, write, denyStale bool) string {
	st := s.strong
	if !st.lease.Valid(monoNow()) && denyStale && !showsNoData(cmd) {
		if s.cl != nil {
			// Cluster clients retry CLUSTERDOWN, and reload the slots.
			return "CLUSTERDOWN This master holds no lease from the Raft group (consistency strong); it may have been replaced."
		}
		return "MASTERDOWN This master holds no lease from the Raft group (consistency strong); it may have been replaced."
	}
	if write && st.isr.Size() < st.isr.MinSize {
		return "NOREPLICAS Not enough good replicas to write."
	}
	return ""
}

// strongHoldReplies is called under the lock at the end of a batch: it
// returns nil when the batch's replies may go now, or a waiter registered
// for the offset the batch reached, to pass to strongWait once the lock
// is released.
func (s *Server) strongHoldReplies() *strongWaiter {
	st := s.strong
	if st == nil || s.repl.masterHost != "" {
		return nil
	}
	off := s.repl.offset
	if off <= st.durableOff {
		return nil
	}
	st.durableOff = st.isr.DurableOffset(off)
	if off <= st.durableOff {
		return nil
	}
	w := &strongWaiter{target: off, ch: make(chan struct{})}
	st.waiters = append(st.waiters, w)
	return w
}

// strongWait blocks, without the lock, until w's offset is durable. It
// reports false when it can't become so here (the node was demoted, shut
// down, or the set stayed short for too long): the caller then closes the
// connection instead of sending replies that might not survive a
// failover. The client sees an error and must treat the outcome as
// unknown.
func (s *Server) strongWait(c *Client, w *strongWaiter) bool {
	limit := time.Duration(s.cfg.Int("consistency-isr-timeout-ms")) * time.Millisecond * 10
	if limit < 10*time.Second {
		limit = 10 * time.Second
	}
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case <-w.ch:
			if w.durable {
				return true
			}
		case <-s.done:
			return false
		case <-deadline.C:
			s.mu.Lock()
			s.strong.dropWaiter(w)
			s.mu.Unlock()
			s.log.Warn("consistency strong: replies not durable in time, closing the connection", "client", c.addr, "last_command", c.lastCmd, "offset", w.target)
			return false
		}
		// Woken for a role change: decide under the lock, and wait again
		// if this is still the master and the offset is not durable yet.
		s.mu.Lock()
		st := s.strong
		if s.repl.masterHost != "" {
			s.mu.Unlock()
			return false
		}
		if w.target <= st.durableOff {
			s.mu.Unlock()
			return true
		}
		w = &strongWaiter{target: w.target, ch: make(chan struct{})}
		st.waiters = append(st.waiters, w)
		s.mu.Unlock()
	}
}

// dropWaiter forgets a waiter that gave up. Under the lock.
func (st *strongState) dropWaiter(w *strongWaiter) {
	for i, x := range st.waiters {
		if x == w {
			st.waiters = append(st.waiters[:i], st.waiters[i+1:]...)
			return
		}
	}
}

// strongAck records a replica's REPLCONF ACK.
func (s *Server) strongAck(rc *replicaConn, off int64) {
	st := s.strong
	if st == nil || rc.runID == "" {
		return
	}
	if st.isr.Ack(rc.runID, off) && len(st.waiters) > 0 {
		s.strongWake(false)
	}
}

// strongRefuseSync says why a PSYNC that needs a full sync must be
// refused, or "". A master without a lease may have lost its data (a
// restarted process): replicas must not copy it. A replica in the wait
// set holds acknowledged data that may be the only copy besides ours: it
// keeps it until the group drops it from the set.
func (s *Server) strongRefuseSync(rc *replicaConn) string {
	st := s.strong
	if st == nil || s.repl.masterHost != "" {
		return ""
	}
	if !st.lease.Valid(monoNow()) {
		return "MASTERDOWN This master holds no lease (consistency strong): no full sync until it has one."
	}
	if rc.runID != "" && st.isr.InWaitSet(rc.runID) {
		return "MASTERDOWN This replica is in the in-sync set (consistency strong): no full sync until the group drops it."
	}
	if rc.runID != "" {
		st.isr.ForgetAcks(rc.runID)
	}
	return ""
}

// strongCron samples the master offset and, on a replica, acknowledges
// every 100 ms so that an idle in-sync replica never looks silent.
func (s *Server) strongCron() {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		s.mu.Lock()
		st := s.strong
		st.head = (st.head + 1) % len(st.samples)
		st.samples[st.head] = offSample{at: monoNow(), off: s.repl.offset}
		var link interface{ SendAck(int64) error }
		var off int64
		if s.repl.masterHost != "" && s.repl.state == linkConnected && s.repl.link != nil {
			link, off = s.repl.link, s.repl.offset
		}
		s.mu.Unlock()
		if link != nil {
			link.SendAck(off)
		}
	}
}

// offsetBefore is the master offset as of d ago (the oldest sample not
// younger than that), or 0.
func (st *strongState) offsetBefore(now, d time.Duration) int64 {
	var best offSample
	for _, smp := range st.samples {
		if smp.at != 0 && smp.at <= now-d && smp.at > best.at {
			best = smp
		}
	}
	return best.off
}

// replicaKeepsUp: online, acknowledged within the ISR timeout, and
// caught up with where the master was one timeout ago.
func (s *Server) replicaKeepsUp(rc *replicaConn, now time.Duration) bool {
	timeout := time.Duration(s.cfg.Int("consistency-isr-timeout-ms")) * time.Millisecond
	if rc.state != replicaOnline || rc.runID == "" || time.Since(rc.ackTime) > timeout {
		return false
	}
	return s.strong.isr.Acked(rc.runID) >= s.strong.offsetBefore(now, timeout)
}

// cmdClientSkiff: CLIENT SKIFF-LEASE PREPARE | GRANT ..., CLIENT
// SKIFF-PROMOTE-IF <runid>. Sent by the Raft leader (docs/consistency.md).
func cmdClientSkiff(c *Client, args [][]byte) {
	s := c.srv
	st := s.strong
	sub := strings.ToLower(string(args[1]))
	if st == nil {
		c.replyError("ERR consistency strong is not enabled on this node")
		return
	}
	switch {
	case sub == "skiff-lease" && len(args) == 3 && strings.EqualFold(string(args[2]), "prepare"):
		s.leasePrepare(c)
	case sub == "skiff-lease" && len(args) == 8 && strings.EqualFold(string(args[2]), "grant"):
		s.leaseGrant(c, args[3:])
	case sub == "skiff-promote-if" && len(args) == 3:
		if string(args[2]) != s.runID {
			c.replyError("ERR run id mismatch: this process is " + s.runID)
			return
		}
		if s.repl.masterHost != "" {
			s.unsetMasterLocked()
			s.log.Info("MASTER MODE enabled (consistency strong promotion)", "client", c.addr)
		}
		c.replyOK()
	default:
		c.replyErrorf("ERR unknown subcommand '%.128s'. Try CLIENT HELP.", args[1])
	}
}

// leasePrepare answers the leader's prepare: [token, run id, known ISR
// version, bump (0/1), [desired run ids...], [run id, host:port, ...]]. The token is our monotonic
// clock now; a grant extends the lease from it, so a grant that arrives
// late can never stretch the lease past what the leader waits out.
func (s *Server) leasePrepare(c *Client) {
	if s.repl.masterHost != "" {
		c.replyError("ERR not a master")
		return
	}
	st := s.strong
	now := monoNow()
	// A replica may join only if it has everything a reply was released
	// for: once the group records it, it may be promoted.
	var cands []string
	for _, rc := range s.repl.replicas {
		if rc.runID != "" && s.replicaKeepsUp(rc, now) && st.isr.Acked(rc.runID) >= st.durableOff {
			cands = append(cands, rc.runID)
		}
	}
	healthy := func(id string) bool {
		for _, rc := range s.repl.replicas {
			if rc.runID == id {
				return s.replicaKeepsUp(rc, now)
			}
		}
		return false
	}
	rep := st.isr.Prepare(healthy, cands)
	s.strongWake(false) // the set may have grown: the durable offset is recomputed
	c.w.AppendArray(6)
	c.w.AppendInt(int64(now))
	c.w.AppendBulkString(s.runID)
	c.w.AppendInt(int64(rep.Version))
	c.w.AppendInt(int64(boolInt(rep.Bump)))
	c.w.AppendArray(len(rep.Desired))
	for _, id := range rep.Desired {
		c.w.AppendBulkString(id)
	}
	// The members' addresses, so that every sentinel knows them.
	var addrs []string
	for _, rc := range s.repl.replicas {
		if rc.runID != "" && rc.listenPort > 0 {
			addrs = append(addrs, rc.runID, net.JoinHostPort(replicaIP(rc), strconv.Itoa(rc.listenPort)))
		}
	}
	c.w.AppendArray(len(addrs))
	for _, a := range addrs {
		c.w.AppendBulkString(a)
	}
}

// leaseGrant: <token> <lease-ms> <run id> <ISR version> <ISR run ids...>.
// The ISR list is one argument, comma-separated ("" for none).
func (s *Server) leaseGrant(c *Client, args [][]byte) {
	if s.repl.masterHost != "" {
		c.replyError("ERR not a master")
		return
	}
	token, err1 := strconv.ParseInt(string(args[0]), 10, 64)
	ms, err2 := strconv.ParseInt(string(args[1]), 10, 64)
	version, err3 := strconv.ParseUint(string(args[3]), 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || token < 0 || ms <= 0 {
		c.replySyntax()
		return
	}
	if string(args[2]) != s.runID {
		c.replyError("ERR run id mismatch: this process is " + s.runID)
		return
	}
	st := s.strong
	if time.Duration(token) > monoNow() {
		c.replyError("ERR lease token from the future")
		return
	}
	var list []string
	if len(args[4]) > 0 {
		list = strings.Split(string(args[4]), ",")
	}
	st.isr.Commit(version, list)
	st.lease.Grant(time.Duration(token), time.Duration(ms)*time.Millisecond)
	s.strongWake(false) // a smaller set may make waiting replies durable
	c.replyOK()
}

// writeStrongInfo adds the strong-mode fields to INFO replication.
func writeStrongInfo(s *Server, b *infoBuf) {
	st := s.strong
	if st == nil {
		b.kv("skiff_consistency", "async")
		return
	}
	b.kv("skiff_consistency", "strong")
	if s.repl.masterHost != "" {
		return
	}
	b.kv("skiff_lease_remaining_ms", int64(st.lease.Remaining(monoNow())/time.Millisecond))
	b.kv("skiff_isr_version", int64(st.isr.Version()))
	b.kv("skiff_isr", strings.Join(st.isr.Committed(), ","))
	b.kv("skiff_isr_waiting", strings.Join(st.isr.WaitSet(), ","))
	b.kv("skiff_durable_offset", st.durableOff)
}

// strongRunID is what a replica tells its master with REPLCONF
// skiff-runid: only in strong mode.
func (s *Server) strongRunID() string {
	if s.strong == nil {
		return ""
	}
	return s.runID
}

// noDataCommands show no keyspace data: in consistency strong their
// replies never wait for replicas, so a sentinel's PING and INFO, and the
// lease exchange itself, are answered even while writes wait.
var noDataCommands = map[string]bool{
	"info": true, "role": true, "config": true, "replconf": true, "command": true, "time": true,
	"lastsave": true, "slowlog": true, "latency": true, "sentinel": true, "psync": true, "sync": true,
	"cluster": true, "readonly": true, "readwrite": true, "asking": true,
}

func showsNoData(cmd *Command) bool {
	top := cmd
	if top.parent != nil {
		top = top.parent
	}
	return top.Group == "connection" || noDataCommands[top.Name]
}
