package node

// Replication glue: the master side's stream (propagate, backlog, replica
// queues, SYNC/PSYNC/REPLCONF/WAIT), the replica side's link goroutine
// (handshake, RDB load, stream apply through the dispatcher as the master
// client) and ROLE / INFO replication. Network and byte-level work lives
// in the replication package; this file holds what needs the keyspace
// and the data lock.

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/replication"
	"github.com/skiffdb/skiff/script"
	"github.com/skiffdb/skiff/store"
)

// Replica link states (Redis's repl_state, collapsed to what ROLE and
// INFO distinguish).
const (
	linkNone       = iota // not a replica
	linkConnect           // must (re)connect
	linkConnecting        // dialing
	linkHandshake         // PING/AUTH/REPLCONF/PSYNC
	linkTransfer          // receiving the RDB
	linkConnected         // streaming
)

// Master-side replica states (INFO's slaveN state=).
const (
	replicaWaitBgsave = iota
	replicaSendBulk
	replicaOnline
)

var replicaStateNames = [...]string{"wait_bgsave", "send_bulk", "online"}

// replicaConn is one replica attached to this server.
type replicaConn struct {
	c          *Client
	state      int
	out        *replication.Outbound
	listenPort int
	announceIP string
	capaEOF    bool
	capaPsync2 bool
	runID      string // REPLCONF skiff-runid: a Skiff replica's process (consistency strong)
	ackOff     int64
	ackTime    time.Time
	// startOnAck: the diskless payload was sent; stream once the replica
	// has loaded it and acknowledged (it could not tell our stream apart
	// from the payload's end mark otherwise).
	startOnAck bool
	// filter: what the replica asked to receive (REPLCONF
	// rdb-filter-only, replfilter.go).
	filter rdbFilter
}

// replState is the replication state of a server, guarded by s.mu.
type replState struct {
	replid, replid2 string
	offset          int64 // master_repl_offset
	secondOffset    int64 // second_repl_offset
	backlog         *replication.Backlog
	seldb           int // database of the last propagated command, -1: emit SELECT
	noReplicasSince time.Time
	enc             []byte

	// Replica side.
	masterHost   string
	masterPort   int
	state        int
	link         *replication.Link
	linkStop     chan struct{}
	master       *Client
	masterDB     int
	hasHistory   bool // PSYNC with our replid/offset rather than "? -1"
	lastIO       time.Time
	downSince    time.Time
	transferSize int64
	transferRead int64
	transferIO   time.Time
	ackPending   bool // the master sent GETACK

	// Master side.
	replicas  []*replicaConn
	failover  failoverState          // FAILOVER (failover_cmd.go)
	handshake map[int64]*replicaConn // REPLCONF seen, PSYNC not yet
	waiting   []*Client              // clients blocked in WAIT
	waitOff   map[*Client]int64
	waitNeed  map[*Client]int64

	syncFull, syncPartialOK, syncPartialErr int64

	pending []propagateOp // effects of the running command (alsoPropagate)
	// propSkip marks the effects queued now (a script under redis.set_repl).
	propSkip uint8
}

func newReplID() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func init() {
	replicationInfo = writeReplicationInfo
	resetStatHooks = append(resetStatHooks, func(s *Server) {
		s.repl.syncFull, s.repl.syncPartialOK, s.repl.syncPartialErr = 0, 0, 0
	})
	roleReply = writeRole
	register(
		&Command{Name: "replicaof", Arity: 3, Flags: "admin noscript stale no_async_loading", Group: "server", Since: "5.0.0", Summary: "Configures a server as replica of another, or promotes it to a master.", Complexity: "O(1)", Handler: cmdReplicaof},
		&Command{Name: "slaveof", Arity: 3, Flags: "admin noscript stale no_async_loading", Group: "server", Since: "1.0.0", Summary: "Sets a Redis server as a replica of another, or promotes it to being a master.", Complexity: "O(1)", Handler: cmdReplicaof},
		&Command{Name: "sync", Arity: 1, Flags: "admin noscript no_async_loading no_multi", Group: "server", Since: "1.0.0", Summary: "An internal command used in replication.", Complexity: "", Handler: cmdSync},
		&Command{Name: "psync", Arity: -3, Flags: "admin noscript no_async_loading no_multi", Group: "server", Since: "2.8.0", Summary: "An internal command used in replication.", Complexity: "", Handler: cmdSync},
		&Command{Name: "replconf", Arity: -1, Flags: "admin noscript loading stale allow_busy", Group: "server", Since: "3.0.0", Summary: "An internal command for configuring the replication stream.", Complexity: "O(1)", Handler: cmdReplconf},
		&Command{Name: "wait", Arity: 3, Flags: "noscript", Group: "generic", ACL: []string{"connection"}, Since: "3.0.0", Summary: "Blocks until the asynchronous replication of all preceding write commands sent by the connection is completed.", Complexity: "O(1)", Handler: cmdWait},
	)
}

// initReplication sets up the replication state from the configuration;
// called from New.
func (s *Server) initReplication() error {
	r := &s.repl
	r.replid = newReplID()
	r.replid2 = strings.Repeat("0", 40)
	r.secondOffset = -1
	r.seldb = -1
	r.noReplicasSince = time.Now()
	r.handshake = map[int64]*replicaConn{}
	r.waitOff = map[*Client]int64{}
	r.waitNeed = map[*Client]int64{}
	if err := s.cfg.OnChange("repl-backlog-size", func(v string) error {
		if r.backlog != nil {
			r.backlog.Resize(int(atoi64(v)))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("config repl-backlog-size: %w", err)
	}
	if ro := strings.Fields(s.cfg.String("replicaof")); len(ro) == 2 {
		port, err := strconv.Atoi(ro[1])
		if err != nil || port < 0 || port > 65535 {
			return fmt.Errorf("replicaof: invalid master port %q", ro[1])
		}
		r.masterHost, r.masterPort = ro[0], port
		r.state = linkConnect
		r.downSince = time.Time{}
		s.store.NoLazyExpire = true
		s.store.TrackReplicaTTL = true
	}
	return nil
}

// startReplication starts the link (when configured as a replica) and
// the replication cron; called from Serve once the port is known.
func (s *Server) startReplication() {
	s.mu.Lock()
	if s.repl.masterHost != "" {
		s.startLinkLocked()
	}
	s.mu.Unlock()
	go s.replicationCron()
	if s.strong != nil {
		go s.strongCron()
	}
}

// replGated reports whether call() must run replAdmit.
func (s *Server) replGated() bool {
	return s.repl.masterHost != "" || s.cfg.Int("min-replicas-to-write") > 0 || s.strong != nil
}

// replAdmit applies Redis's replication checks before a command runs:
// -NOREPLICAS, -READONLY and -MASTERDOWN, in Redis's order.
func (s *Server) replAdmit(c *Client, cmd *Command) bool {
	r := &s.repl
	if c.flags&clientMaster != 0 || s.blocking.depth > 0 {
		return true
	}
	write := cmd.Has(FlagWrite)
	// EXEC of a transaction that queued writes is a write, as in Redis;
	// refusing it ends the transaction with EXECABORT.
	isExec := cmd.parent == nil && cmd.Name == "exec" && c.x.tx != nil
	if isExec && c.x.tx.flags&FlagWrite != 0 {
		write = true
	}
	reject := func(msg string) bool {
		s.rejectedCall(cmd)
		if isExec {
			s.discardTransaction(c)
			c.replyError("EXECABORT Transaction discarded because of: " + msg)
			return false
		}
		c.replyError(msg)
		return false
	}
	denyStale := !cmd.Has(FlagStale)
	if isExec {
		// EXEC is refused when any queued command may not run stale.
		for _, qc := range c.x.tx.cmds {
			if !qc.Has(FlagStale) {
				denyStale = true
			}
		}
	}
	if r.masterHost == "" && s.strong != nil {
		if msg := s.strongAdmit(cmd, write, denyStale); msg != "" {
			return reject(msg)
		}
	}
	if write && r.masterHost == "" && !s.enoughGoodReplicas() {
		return reject("NOREPLICAS Not enough good replicas to write.")
	}
	if r.masterHost == "" {
		return true
	}
	if write && s.cfg.Bool("replica-read-only") {
		return reject("READONLY You can't write against a read only replica.")
	}
	if r.state != linkConnected && !s.cfg.Bool("replica-serve-stale-data") && denyStale {
		return reject("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
	}
	return true
}

// goodReplicas counts online replicas that acknowledged within
// min-replicas-max-lag seconds.
func (s *Server) goodReplicas() int {
	maxLag := time.Duration(s.cfg.Int("min-replicas-max-lag")) * time.Second
	n := 0
	for _, rc := range s.repl.replicas {
		if rc.state == replicaOnline && time.Since(rc.ackTime) <= maxLag {
			n++
		}
	}
	return n
}

func (s *Server) enoughGoodReplicas() bool {
	min := s.cfg.Int("min-replicas-to-write")
	if min == 0 || s.cfg.Int("min-replicas-max-lag") == 0 {
		return true
	}
	return int64(s.goodReplicas()) >= min
}

// propagate appends a write's effect to the replication stream: the
// backlog and every attached replica. A replica does not originate a
// stream; it proxies its master's bytes (feedStream) so that offsets and
// replids stay identical down a chain.
func (s *Server) propagate(dbID int, args [][]byte) {
	if s.x.txProp != nil {
		s.x.txProp.add(dbID, args) // inside EXEC: wrapped in MULTI/EXEC after (multi.go)
		return
	}
	if s.blocking.depth > 0 {
		s.alsoPropagate(dbID, args)
		return
	}
	s.propagateNow(dbID, args)
}

// propagateCall queues the effect of the command call() just ran, after
// the effects its handler queued, as Redis's call() does.
func (s *Server) propagateCall(dbID int, args [][]byte) {
	if s.x.txProp != nil {
		s.x.txProp.add(dbID, args)
		return
	}
	s.alsoPropagate(dbID, args)
}

// propagateNow emits one effect to the AOF and the replication stream.
func (s *Server) propagateNow(dbID int, args [][]byte) {
	s.feedAOF(dbID, args)
	s.replicate(dbID, args)
}

// propagateOp is one effect waiting for the end of the command that
// produced it.
type propagateOp struct {
	db   int
	args [][]byte
	// skip is what the effect must not reach (skipAOF, skipReplicas): a
	// script's redis.set_repl.
	skip uint8
}

const (
	skipAOF = 1 << iota
	skipReplicas
)

// alsoPropagate queues an effect of the running command (Redis's
// alsoPropagate). The queue is emitted when the top-level command ends
// (endCommand), so that several effects of one command reach replicas
// and the AOF as one MULTI/EXEC block, as Redis 7.0 does.
func (s *Server) alsoPropagate(dbID int, args [][]byte) {
	if s.repl.propSkip == skipAOF|skipReplicas {
		return // redis.set_repl(redis.REPL_NONE)
	}
	s.repl.pending = append(s.repl.pending, propagateOp{dbID, args, s.repl.propSkip})
}

// endCommand runs after every top-level command: it emits the effects
// the command queued, wrapped in MULTI/EXEC when there are several, and
// records the client's write offset for WAIT (Redis's c->woff).
func (s *Server) endCommand(c *Client, cmd *Command) {
	r := &s.repl
	if len(r.pending) > 0 {
		ops := r.pending
		if cmd.parent == nil && cmd.Name == "exec" && len(ops) >= 2 && isVerb(ops[0].args, "MULTI") && isVerb(ops[len(ops)-1].args, "EXEC") {
			// EXEC marks its block itself; Redis 7.0 wraps by count alone,
			// so a transaction with one effect propagates bare.
			ops = ops[1 : len(ops)-1]
		}
		// Commands that may delete arbitrary expired keys (SCAN,
		// RANDOMKEY) propagate those DELs bare, as Redis does.
		wrap := len(ops) > 1 && !(cmd.parent == nil && (cmd.Name == "scan" || cmd.Name == "randomkey"))
		if wrap {
			s.propagateNow(ops[0].db, argvMulti)
		}
		for _, op := range ops {
			switch op.skip {
			case 0:
				s.propagateNow(op.db, op.args)
			case skipAOF:
				s.replicate(op.db, op.args)
			case skipReplicas:
				s.feedAOF(op.db, op.args)
			}
		}
		if wrap {
			s.propagateNow(ops[len(ops)-1].db, argvExec)
		}
		clear(r.pending)
		r.pending = r.pending[:0]
	}
	c.woff = r.offset
}

var (
	argvMulti = [][]byte{[]byte("MULTI")}
	argvExec  = [][]byte{[]byte("EXEC")}
)

func isVerb(args [][]byte, verb string) bool {
	return len(args) == 1 && strings.EqualFold(string(args[0]), verb)
}

// replicate feeds the replication stream only (the master's PING and
// REPLCONF GETACK do not go to the AOF).
func (s *Server) replicate(dbID int, args [][]byte) {
	r := &s.repl
	if s.cl != nil && s.cl.asm.exports > 0 {
		s.forwardToExports(args) // atomic slot migration (slotmig_export.go)
	}
	if r.masterHost != "" || (r.backlog == nil && len(r.replicas) == 0) {
		return
	}
	b := r.enc[:0]
	if dbID >= 0 && r.seldb != dbID {
		b = replication.AppendSelect(b, dbID)
		r.seldb = dbID
	}
	b = replication.AppendCommand(b, args)
	s.feedStream(b)
	if cap(b) <= 64<<10 {
		r.enc = b[:0]
	} else {
		r.enc = nil
	}
}

// feedStream adds bytes to the stream: the backlog, the offset and the
// queue of every replica past the snapshot point.
func (s *Server) feedStream(b []byte) {
	r := &s.repl
	if r.backlog == nil {
		s.createBacklog()
	}
	r.backlog.Write(b)
	r.offset += int64(len(b))
	for i := 0; i < len(r.replicas); i++ {
		rc := r.replicas[i]
		if rc.out == nil {
			continue
		}
		if err := rc.out.Write(b); err != nil {
			s.log.Warn("dropping replica", "addr", rc.c.addr, "error", err)
			s.dropReplicaLocked(rc)
			i--
		}
	}
}

func (s *Server) createBacklog() {
	s.repl.backlog = replication.NewBacklog(int(s.cfg.Int("repl-backlog-size")), s.repl.offset)
}

// dropReplicaLocked forgets a replica and closes its connection.
func (s *Server) dropReplicaLocked(rc *replicaConn) {
	r := &s.repl
	for i, x := range r.replicas {
		if x == rc {
			r.replicas = append(r.replicas[:i:i], r.replicas[i+1:]...)
			break
		}
	}
	if rc.out != nil {
		rc.out.Close(nil)
	}
	rc.c.conn.Close()
	if len(r.replicas) == 0 {
		r.noReplicasSince = time.Now()
	}
}

// disconnectReplicasLocked drops every attached replica so that they
// reconnect and PSYNC again (new history, or we became a replica).
func (s *Server) disconnectReplicasLocked() {
	for len(s.repl.replicas) > 0 {
		s.dropReplicaLocked(s.repl.replicas[0])
	}
}

// replicaGone is called when a client's connection ends.
func (s *Server) replicaGone(c *Client) {
	r := &s.repl
	delete(r.handshake, c.id)
	for _, rc := range r.replicas {
		if rc.c == c {
			s.dropReplicaLocked(rc)
			break
		}
	}
	if c.flags&clientBlocked != 0 {
		s.removeWaiter(c)
	}
}

// shiftReplID starts a new history, keeping the old one as replid2 so
// that replicas of our old master can continue with us (PSYNC2).
func (s *Server) shiftReplID() {
	r := &s.repl
	r.replid2 = r.replid
	r.secondOffset = r.offset + 1
	r.replid = newReplID()
}

// ---- REPLICAOF ----

func cmdReplicaof(c *Client, args [][]byte) {
	s := c.srv
	r := &s.repl
	if s.cfg.Bool("cluster-enabled") {
		c.replyError("ERR REPLICAOF not allowed in cluster mode.")
		return
	}
	if strings.EqualFold(string(args[1]), "no") && strings.EqualFold(string(args[2]), "one") {
		if r.masterHost != "" {
			s.unsetMasterLocked()
			s.log.Info("MASTER MODE enabled", "client", c.addr)
		}
		c.replyOK()
		return
	}
	if c.flags&clientReplica != 0 {
		c.replyError("ERR Command is not valid when client is a replica.")
		return
	}
	if r.failover.state != failoverNone {
		c.replyError("ERR REPLICAOF not allowed while failing over.")
		return
	}
	port, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil || port < 0 || port > 65535 {
		c.replyError("ERR Invalid master port")
		return
	}
	host := string(args[1])
	if r.masterHost != "" && strings.EqualFold(r.masterHost, host) && r.masterPort == int(port) {
		c.w.AppendSimple("OK Already connected to specified master")
		return
	}
	s.setMasterLocked(host, int(port))
	s.log.Info("REPLICAOF enabled", "master", net.JoinHostPort(host, strconv.Itoa(int(port))), "client", c.addr)
	c.replyOK()
}

// setMasterLocked makes this server a replica of host:port.
func (s *Server) setMasterLocked(host string, port int) {
	r := &s.repl
	wasMaster := r.masterHost == ""
	s.stopLinkLocked()
	s.disconnectBlockedClients()
	r.masterHost, r.masterPort = host, port
	// CONFIG GET and CONFIG REWRITE show the current master, as in Redis
	// (a failover's CONFIG REWRITE persists the new role).
	_ = s.cfg.SetByServer("replicaof", host+" "+strconv.Itoa(port))
	s.store.NoLazyExpire = true
	s.store.TrackReplicaTTL = true
	if wasMaster {
		// Our own history is what the new master may share with us:
		// offer it in PSYNC (Redis's replicationCacheMasterUsingMyself).
		r.hasHistory = true
		r.masterDB = 0
	}
	r.downSince = time.Time{}
	s.strongRoleChanged()
	_ = s.applyOOMScore() // logged; the role changes all the same, as in Redis
	s.startLinkLocked()
}

// unsetMasterLocked is REPLICAOF NO ONE.
func (s *Server) unsetMasterLocked() {
	r := &s.repl
	s.stopLinkLocked()
	r.masterHost, r.masterPort = "", 0
	_ = s.cfg.SetByServer("replicaof", "")
	r.state = linkNone
	s.shiftReplID()
	// Replicas of ours must learn the new replid: they reconnect and
	// continue thanks to replid2.
	s.disconnectReplicasLocked()
	r.seldb = -1
	r.noReplicasSince = time.Now()
	s.store.NoLazyExpire = false
	s.store.TrackReplicaTTL = false
	s.store.ForgetReplicaKeys() // a master expires every key itself
	s.strongRoleChanged()
	_ = s.applyOOMScore()
}

// stopLinkLocked ends the current link goroutine, if any.
func (s *Server) stopLinkLocked() {
	r := &s.repl
	if r.linkStop != nil {
		close(r.linkStop)
		r.linkStop = nil
	}
	if r.link != nil {
		r.link.Close()
		r.link = nil
	}
	if r.master != nil {
		s.freeMasterClientLocked()
	}
	if r.state == linkConnected {
		r.downSince = time.Now()
	}
	r.state = linkNone
}

func (s *Server) startLinkLocked() {
	r := &s.repl
	stop := make(chan struct{})
	r.linkStop = stop
	r.state = linkConnect
	go s.runLink(stop, r.masterHost, r.masterPort)
}

func (s *Server) freeMasterClientLocked() {
	r := &s.repl
	m := r.master
	r.master = nil
	r.masterDB = m.db.ID
	s.discardTransaction(m)
	delete(s.clients, m.id)
}

// ---- Replica side: the link goroutine ----

// runLink keeps this replica attached to host:port until stop is closed,
// reconnecting after failures with a backoff of up to a few seconds.
func (s *Server) runLink(stop chan struct{}, host string, port int) {
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := s.syncWithMaster(stop, host, port)
		select {
		case <-stop:
			return
		default:
		}
		// The link is down from now, not from when the lock is free again
		// (a DEBUG SLEEP may hold it): the cluster's replica validity
		// check (cluster-replica-validity-factor) counts from here.
		failedAt := time.Now()
		s.mu.Lock()
		// A link that got as far as the transfer retries at once, as
		// Redis does: its master was there a moment ago.
		reached := s.repl.linkStop == stop && s.repl.state >= linkTransfer
		if err != nil {
			s.logLinkFailure(host, port, err)
		}
		if s.repl.linkStop == stop {
			if s.repl.master != nil {
				s.freeMasterClientLocked()
			}
			if s.repl.state == linkConnected {
				s.repl.downSince = failedAt
			}
			s.repl.state = linkConnect
			s.repl.link = nil
		}
		s.mu.Unlock()
		if time.Since(start) > 10*time.Second || reached {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-stop:
			return
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

// logLinkFailure logs why the link to the master ended. A timeout gets
// Redis's words for the phase it happened in (what operators and Redis's
// tests look for in the log); the link state is still that phase's.
func (s *Server) logLinkFailure(host string, port int, err error) {
	master := net.JoinHostPort(host, strconv.Itoa(port))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		switch s.repl.state {
		case linkConnecting, linkHandshake:
			s.log.Warn("Timeout connecting to the MASTER...", "master", master, "error", err)
			return
		case linkTransfer:
			s.log.Warn("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.", "master", master, "error", err)
			return
		case linkConnected:
			s.log.Warn("MASTER timeout: no data nor PING received...", "master", master, "error", err)
			return
		}
	}
	s.log.Warn("replication link to master failed", "master", master, "error", err)
}

// current reports, under the lock, whether the link goroutine of stop is
// still the wanted one.
func (s *Server) linkCurrent(stop chan struct{}) bool { return s.repl.linkStop == stop }

var errLinkStopped = errors.New("replication link replaced")

func (s *Server) syncWithMaster(stop chan struct{}, host string, port int) error {
	cfg := replication.LinkConfig{
		Addr:          net.JoinHostPort(host, strconv.Itoa(port)),
		User:          s.cfg.String("masteruser"),
		Password:      s.cfg.String("masterauth"),
		ListeningPort: s.announcedReplicaPort(),
		AnnounceIP:    s.cfg.String("replica-announce-ip"),
		RunID:         s.strongRunID(),
		Timeout:       time.Duration(s.cfg.Int("repl-timeout")) * time.Second,
		SourceAddr:    s.cfg.String("bind-source-addr"),
	}
	if p := s.cfg.Int("replica-announce-port"); p != 0 {
		cfg.ListeningPort = int(p)
	}
	tcfg, err := s.replicationTLS()
	if err != nil {
		return fmt.Errorf("connect to master %s: %w", cfg.Addr, err)
	}
	cfg.TLS = tcfg
	s.mu.Lock()
	if !s.linkCurrent(stop) {
		s.mu.Unlock()
		return errLinkStopped
	}
	s.repl.state = linkConnecting
	s.mu.Unlock()
	l, err := replication.Dial(cfg)
	if err != nil {
		return err
	}
	defer l.Close()
	s.mu.Lock()
	if !s.linkCurrent(stop) {
		s.mu.Unlock()
		return errLinkStopped
	}
	s.repl.link = l
	s.repl.state = linkHandshake
	replid, off := "?", int64(-1)
	if s.repl.hasHistory {
		replid, off = s.repl.replid, s.repl.offset+1
	}
	failing := s.repl.failover.state == failoverInProgress
	s.mu.Unlock()
	if err := l.Handshake(cfg); err != nil {
		return err
	}
	var res replication.PSyncResult
	if failing {
		res, err = l.PSyncFailover(replid, off)
		s.mu.Lock()
		stop := s.failoverPSyncOutcome(err)
		s.mu.Unlock()
		if stop {
			return errLinkStopped
		}
	} else {
		res, err = l.PSync(replid, off)
	}
	if err != nil {
		return err
	}
	eofForm := false
	if res.Full {
		if eofForm, err = s.fullSync(stop, l, res); err != nil {
			return err
		}
	} else if err := s.partialSync(stop, l, res); err != nil {
		return err
	}
	if eofForm {
		// The master streams only after our first ACK.
		s.mu.Lock()
		off := s.repl.offset
		s.mu.Unlock()
		if err := l.SendAck(off); err != nil {
			return err
		}
	}
	return s.applyStream(stop, l)
}

// partialSync continues the current history after +CONTINUE.
func (s *Server) partialSync(stop chan struct{}, l *replication.Link, res replication.PSyncResult) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &s.repl
	if !s.linkCurrent(stop) {
		return errLinkStopped
	}
	if res.ReplID != r.replid {
		// The master moved to a new history (it was promoted): ours
		// becomes replid2 and our replicas must reconnect to learn it.
		r.replid2 = r.replid
		r.secondOffset = r.offset + 1
		r.replid = res.ReplID
		s.disconnectReplicasLocked()
	}
	if r.backlog == nil {
		s.createBacklog()
	}
	s.attachMasterLocked(l, r.masterDB)
	s.log.Info("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
	s.log.Info("Successful partial resynchronization with master.", "offset", r.offset)
	return nil
}

// fullSync receives the RDB into a file, loads it into a fresh keyspace
// while the old one is kept, and swaps them only when the load is
// complete: a failed transfer never leaves a mixed dataset. Receiving and
// decoding overlap; what clients see follows Redis's
// repl-diskless-load modes (loading.go):
//
//   - disabled (and on-empty-db with data): Redis receives the file while
//     serving the old data, then loads it answering -LOADING. Here the
//     decoder follows the file as it is written, without slowing the
//     transfer down (key-load-delay), and the loading state starts when
//     the transfer ends and lasts until the swap.
//   - swapdb, on-empty-db with no keys: Redis loads from the socket, in
//     the loading state from the first byte: asynchronously (old data
//     served, async_loading:1) under swapdb when the master continues our
//     history, else -LOADING. Here the decoder reads the transfer through
//     a pipe.
func (s *Server) fullSync(stop chan struct{}, l *replication.Link, res replication.PSyncResult) (bool, error) {
	s.mu.Lock()
	if !s.linkCurrent(stop) {
		s.mu.Unlock()
		return false, errLinkStopped
	}
	r := &s.repl
	r.state = linkTransfer
	r.transferSize, r.transferRead = -1, 0
	r.transferIO = time.Now()
	dir := s.cfg.String("dir")
	dbfile := s.cfg.String("dbfilename")
	mode := s.cfg.String("repl-diskless-load")
	diskless := mode == "swapdb" || (mode == "on-empty-db" && s.keyCount() == 0)
	async := mode == "swapdb" && r.replid == res.ReplID
	s.mu.Unlock()

	tmp := filepath.Join(dir, fmt.Sprintf("temp-%d.%d.rdb", time.Now().UnixNano(), os.Getpid()))
	f, err := os.Create(tmp)
	if err != nil {
		return false, fmt.Errorf("open temp file for the RDB from master: %w", err)
	}
	defer os.Remove(tmp) // no-op once renamed
	loadingGC(true)
	defer loadingGC(false)
	p := s.newLoadProgress(false, stop)
	p.publish.Store(false) // until the loading state starts
	loading := false
	startLoading := func(total int64) { // under the lock
		s.log.Info("MASTER <-> REPLICA sync: Loading DB in memory")
		s.startLoadingLocked(total, async)
		s.holdClientsLocked()
		p.publishNowLocked()
		loading = true
	}
	defer func() {
		if loading {
			s.mu.Lock()
			s.stopLoadingLocked()
			s.mu.Unlock()
		}
	}()
	type loaded struct {
		st    *store.Store
		codes [][]byte
		err   error
	}
	done := make(chan loaded, 1)
	var sink io.Writer
	var finishSink func(error)
	var tail *tailFile
	if diskless {
		pr, pw := io.Pipe()
		go func() {
			// swapdb loads aside: INFO keyspace keeps showing the old
			// data, as in Redis; on-empty-db fills the (empty) keyspace.
			st, codes, err := loadRDBReader(bufio.NewReaderSize(pr, 256<<10), len(s.store.DBs), p, mode != "swapdb")
			// Unblock the receiver whatever happened: after an error, or
			// bytes after the end of the RDB.
			if err != nil {
				pr.CloseWithError(err)
			} else {
				pr.CloseWithError(errors.New("data after the end of the RDB"))
			}
			done <- loaded{st, codes, err}
		}()
		first := true
		sink = writerFunc(func(b []byte) (int, error) {
			if first {
				first = false
				s.mu.Lock()
				startLoading(0) // the size, when announced, comes with the progress
				s.mu.Unlock()
			}
			if _, err := f.Write(b); err != nil {
				return 0, err
			}
			return pw.Write(b)
		})
		finishSink = func(err error) {
			if err != nil {
				pw.CloseWithError(err)
			} else {
				pw.Close()
			}
		}
	} else {
		rf, err := os.Open(tmp)
		if err != nil {
			f.Close()
			return false, fmt.Errorf("open temp file for the RDB from master: %w", err)
		}
		defer rf.Close()
		tail = newTailFile()
		go func() {
			// Redis flushes the old data and fills its keyspace: INFO
			// keyspace shows the new one from the loading phase on.
			st, codes, err := loadRDBReader(bufio.NewReaderSize(tail.reader(rf), 256<<10), len(s.store.DBs), p, true)
			tail.loaderDone(err)
			done <- loaded{st, codes, err}
		}()
		sink = tail.writer(f)
		finishSink = tail.close
	}
	syncLog := newProgressLog(s.log, "full sync from master") // progress_log.go
	eofForm, err := l.ReadRDB(sink, func(read, total int64) {
		syncLog.note(read, total)
		s.mu.Lock()
		r.transferRead, r.transferSize, r.transferIO = read, total, time.Now()
		if loading && total > 0 {
			s.ld.total = total
		}
		s.mu.Unlock()
	})
	finishSink(err)
	var synced chan error
	if err == nil {
		// Make the file durable while the loader finishes.
		synced = make(chan error, 1)
		go func() { synced <- f.Sync() }()
	}
	var ld loaded
	select {
	case ld = <-done: // already decoded (or failed): no loading phase
	default:
		if err == nil && !diskless {
			// The transfer is over: from now on clients wait for the
			// load, as Redis's disk-based replica loads its file.
			s.mu.Lock()
			startLoading(tail.size()) // the file Redis would load
			s.mu.Unlock()
		}
		ld = <-done
	}
	if ld.err != nil && loading {
		// Back to the old data at once, not after the fsync.
		s.mu.Lock()
		s.stopLoadingLocked()
		s.mu.Unlock()
		loading = false
	}
	if ld.err != nil && diskless {
		// Redis's words for a load from the socket that failed (a
		// truncated transfer, a corrupt payload).
		s.log.Warn(fmt.Sprintf("Internal error in RDB reading offset %d -> %v", p.cur.Load(), ld.err))
		s.log.Warn("Failed trying to load the MASTER synchronization DB from socket, check server logs.")
	}
	if synced != nil {
		err = <-synced
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return eofForm, fmt.Errorf("receive RDB from master: %w", err)
	}
	if ld.err != nil {
		return eofForm, fmt.Errorf("load RDB from master: %w", ld.err)
	}
	fresh := ld.st
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.linkCurrent(stop) {
		return eofForm, errLinkStopped
	}
	// The master's libraries replace ours, as Redis swaps its functions
	// context after a full sync.
	if err := s.installFunctions(ld.codes, script.RestoreFlush); err != nil {
		if loading {
			s.stopLoadingLocked()
			loading = false
		}
		return eofForm, fmt.Errorf("load RDB from master: %w", err)
	}
	now := time.Now().UnixMilli()
	s.trackingFlush()
	for i, db := range s.store.DBs {
		s.touchWatchedInDB(db, fresh.DBs[i], now)
		db.Swap(fresh.DBs[i])
		s.signalSwappedDBs(db)
	}
	s.store.ForgetReplicaKeys() // the keys it named are gone
	p.finishLocked(p.cur.Load())
	s.stopLoadingLocked()
	loading = false
	// Keep the RDB as our dump file, as a disk-loading Redis replica does.
	if dbfile != "" {
		if err := os.Rename(tmp, filepath.Join(dir, dbfile)); err != nil {
			s.log.Warn("cannot keep the RDB received from master", "error", err)
		}
	}
	r.replid = res.ReplID
	r.offset = res.Offset
	r.replid2 = strings.Repeat("0", 40)
	r.secondOffset = -1
	r.hasHistory = true
	// Our replicas hold a history we no longer have.
	s.disconnectReplicasLocked()
	s.createBacklog()
	s.attachMasterLocked(l, 0)
	s.log.Info("MASTER <-> REPLICA sync: Finished with success", "offset", r.offset)
	return eofForm, nil
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(b []byte) (int, error) { return w(b) }

var loadGC struct {
	sync.Mutex
	n   int
	old int
}

// loadingGC raises the GC target while at least one full-sync load runs
// in the process. Loading allocates almost nothing but live data, so
// collections while the new keyspace grows would re-mark it again and
// again for little to reclaim. An operator's GOGC is left alone.
func loadingGC(start bool) {
	if os.Getenv("GOGC") != "" {
		return
	}
	loadGC.Lock()
	defer loadGC.Unlock()
	if start {
		if loadGC.n == 0 {
			loadGC.old = debug.SetGCPercent(400)
		}
		loadGC.n++
		return
	}
	loadGC.n--
	if loadGC.n == 0 {
		debug.SetGCPercent(loadGC.old)
	}
}

// loadRDBReader reads an RDB into a new store of n databases; p follows
// the load (key-load-delay, progress, abort when the link stops).
func loadRDBReader(rd io.Reader, n int, p *loadProgress, showKeyspace bool) (*store.Store, [][]byte, error) {
	fresh := store.New(n)
	fresh.NoLazyExpire = true
	if showKeyspace {
		p.fresh = fresh
	}
	var codes [][]byte
	hooks := rdb.Hooks{Aux: p.aux, Function: collectFunction(&codes)}
	err := loadRDBPipelined(rd, hooks, n, fresh, func(db int, key string, obj *store.Object) {
		d := fresh.DBs[db]
		exp := obj.Expire
		e := d.SetValueString(key, *obj, false)
		if exp != 0 {
			d.SetExpire(e, exp)
		}
		p.keys.Add(1)
	}, p.entry)
	if err != nil {
		return nil, nil, err
	}
	return fresh, codes, nil
}

// attachMasterLocked creates the master client that applies the stream.
func (s *Server) attachMasterLocked(l *replication.Link, dbID int) {
	r := &s.repl
	m := s.newClient(l.NetConn())
	m.flags |= clientMaster
	m.authed = true
	m.user = nil // the master may run anything: CLIENT LIST shows user=(superuser)
	if dbID < 0 || dbID >= len(s.store.DBs) {
		dbID = 0
	}
	m.db = s.store.DBs[dbID]
	s.clients[m.id] = m
	r.master = m
	r.link = l
	r.state = linkConnected
	r.lastIO = time.Now()
	r.downSince = time.Time{}
}

// applyStream runs the commands the master sends through the dispatcher
// as the master client, batching those that arrived together under one
// lock, and proxies their exact bytes to our own backlog and replicas.
func (s *Server) applyStream(stop chan struct{}, l *replication.Link) error {
	rd := l.Stream()
	var batch []replication.Command
	for {
		batch = batch[:0]
		rd.Reset() // the previous batch has been applied
		cmd, err := rd.Next()
		if err != nil {
			return fmt.Errorf("read replication stream: %w", err)
		}
		batch = append(batch, cmd)
		for rd.Buffered() > 0 && len(batch) < 1024 {
			cmd, err := rd.Next()
			if err != nil {
				return fmt.Errorf("read replication stream: %w", err)
			}
			batch = append(batch, cmd)
		}
		s.mu.Lock()
		r := &s.repl
		m := r.master
		if !s.linkCurrent(stop) || m == nil || m.flags&clientCloseASAP != 0 {
			s.mu.Unlock()
			return errors.New("master client closed")
		}
		m.batchWall = time.Now()
		m.batchMono = monoNow()
		r.lastIO = m.batchWall
		s.store.MasterView = true
		for _, cmd := range batch {
			if len(cmd.Args) > 0 {
				s.call(m, cmd.Args)
				m.w.B = m.w.B[:0]
			}
			if r.backlog == nil {
				s.createBacklog()
			}
			s.feedStream(cmd.Raw)
		}
		s.store.MasterView = false
		// consistency strong: the master answers its clients only once we
		// acknowledged, so acknowledge every batch at once.
		ack := r.ackPending || s.strong != nil
		r.ackPending = false
		off := r.offset
		s.mu.Unlock()
		if ack {
			if err := l.SendAck(off); err != nil {
				return err
			}
		}
	}
}

// ---- Master side: SYNC / PSYNC / REPLCONF ----

func (s *Server) replicaOf(c *Client) *replicaConn {
	for _, rc := range s.repl.replicas {
		if rc.c == c {
			return rc
		}
	}
	return nil
}

func cmdReplconf(c *Client, args [][]byte) {
	s := c.srv
	r := &s.repl
	if len(args)%2 == 0 {
		c.replySyntax()
		return
	}
	rc := s.replicaOf(c)
	if rc == nil {
		rc = r.handshake[c.id]
		if rc == nil {
			rc = &replicaConn{c: c}
			r.handshake[c.id] = rc
		}
	}
	for i := 1; i < len(args); i += 2 {
		opt, val := strings.ToLower(string(args[i])), args[i+1]
		switch opt {
		case "listening-port":
			p, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil {
				c.replyError(errNotInt)
				return
			}
			rc.listenPort = int(p)
		case "ip-address":
			rc.announceIP = string(val)
		case "skiff-runid":
			rc.runID = string(val)
		case "capa":
			switch strings.ToLower(string(val)) {
			case "eof":
				rc.capaEOF = true
			case "psync2":
				rc.capaPsync2 = true
			}
		case "ack":
			// Sent by replicas only, never answered.
			if c.flags&clientReplica == 0 || s.replicaOf(c) == nil {
				return
			}
			off, err := strconv.ParseInt(string(val), 10, 64)
			if err != nil {
				return
			}
			if off > rc.ackOff {
				rc.ackOff = off
			}
			rc.ackTime = time.Now()
			s.strongAck(rc, off)
			if rc.startOnAck && rc.out != nil {
				rc.startOnAck = false
				rc.state = replicaOnline
				rc.out.Start()
			}
			s.checkWaiters()
			return
		case "getack":
			if c.flags&clientMaster != 0 {
				r.ackPending = true
			}
			return
		case "rdb-only", "rdb-filter-only":
			if !rc.replconfFilter(c, opt, val) {
				return
			}
		default:
			c.replyErrorf("ERR Unrecognized REPLCONF option: %s", args[i])
			return
		}
	}
	c.replyOK()
}

// replicaReplied handles a command of a replica client that produced a
// reply. A replica reads nothing on its link but the stream: a reply
// there would be taken for the stream's bytes. As Redis does, the reply
// is dropped, the event logged with the client's description, and the
// replica disconnected.
func (c *Client) replicaReplied(args [][]byte, mark int) {
	s := c.srv
	c.w.B = c.w.B[:mark]
	name := "<unknown>"
	if cmd := c.lookupCommand(args[0]); cmd != nil {
		name = cmd.FullName()
		if cmd.Subcommands != nil && len(args) >= 2 {
			if sub := cmd.Subcommands[strings.ToLower(string(args[1]))]; sub != nil {
				name = sub.FullName()
			}
		}
	}
	info := strings.TrimRight(string(c.infoLine(nil, c, time.Now())), "\n")
	s.log.Warn(fmt.Sprintf("Replica generated a reply to command '%s', disconnecting it: %s", name, info))
	c.flags |= clientCloseASAP
	if rc := s.replicaOf(c); rc != nil {
		s.dropReplicaLocked(rc)
	}
}

// replicaName names a replica in the log as Redis does: its address and
// the port it listens on, or its connection's address before it said.
func replicaName(c *Client, rc *replicaConn) string {
	if rc != nil && rc.listenPort != 0 {
		return net.JoinHostPort(replicaIP(rc), strconv.Itoa(rc.listenPort))
	}
	return c.addr
}

// cmdSync is SYNC and PSYNC.
func cmdSync(c *Client, args [][]byte) {
	s := c.srv
	r := &s.repl
	if c.flags&clientReplica != 0 {
		return
	}
	// PSYNC <replid> <offset> FAILOVER: our master hands over (FAILOVER,
	// failover_cmd.go); we take over its history if it is ours.
	if len(args) > 3 && strings.EqualFold(string(args[0]), "psync") && strings.EqualFold(string(args[3]), "failover") {
		s.log.Warn("Failover request received for replid " + string(args[1]) + ".")
		if r.masterHost == "" {
			c.replyError("ERR PSYNC FAILOVER can't be sent to a master.")
			return
		}
		if string(args[1]) != r.replid {
			c.replyError("ERR PSYNC FAILOVER replid must match my replid.")
			return
		}
		s.unsetMasterLocked()
		s.log.Info("MASTER MODE enabled (failover request from '" + c.addr + "')")
	}
	if r.failover.state != failoverNone {
		c.replyError("NOMASTERLINK Can't SYNC while failing over")
		return
	}
	if r.masterHost != "" && r.state != linkConnected {
		c.replyError("NOMASTERLINK Can't SYNC while not connected with my master")
		return
	}
	if len(c.w.B) > 0 {
		c.replyError("ERR SYNC and PSYNC are invalid with pending output")
		return
	}
	rc := r.handshake[c.id]
	psync := strings.EqualFold(string(args[0]), "psync")
	s.log.Info(fmt.Sprintf("Replica %s asks for synchronization", replicaName(c, rc)))
	if psync && len(args) >= 3 {
		if _, err := strconv.ParseInt(string(args[2]), 10, 64); err != nil {
			// Refused before anything changed: the client stays a
			// normal one.
			s.log.Warn(fmt.Sprintf("Replica %s asks for synchronization but with a wrong offset", replicaName(c, rc)))
			c.replyError(errNotInt)
			return
		}
	}
	delete(r.handshake, c.id)
	if rc == nil {
		rc = &replicaConn{c: c}
	}
	if psync && len(args) >= 3 {
		if s.tryPartialResync(c, rc, string(args[1]), string(args[2])) {
			return
		}
	}
	if msg := s.strongRefuseSync(rc); msg != "" {
		c.replyError(msg)
		return
	}
	if !psync {
		// Old-style SYNC: the replica does not understand replids.
		rc.capaPsync2 = false
	}
	s.startFullResync(c, rc, psync)
}

// tryPartialResync serves PSYNC from the backlog when the history
// matches (ours, or our previous one up to where it forked).
func (s *Server) tryPartialResync(c *Client, rc *replicaConn, replid, offArg string) bool {
	r := &s.repl
	off, err := strconv.ParseInt(offArg, 10, 64)
	if err != nil {
		return false
	}
	if replid != r.replid && (replid != r.replid2 || off > r.secondOffset) {
		if replid != "?" {
			r.syncPartialErr++
		}
		return false
	}
	if r.backlog == nil || !r.backlog.Covers(off) {
		r.syncPartialErr++
		return false
	}
	s.attachReplicaLocked(c, rc)
	rc.out = replication.NewOutbound(c.conn, s.replicaLimits())
	line := "+CONTINUE\r\n"
	if rc.capaPsync2 {
		line = "+CONTINUE " + r.replid + "\r\n"
	}
	rc.out.Write([]byte(line))
	rc.out.Write(r.backlog.From(off))
	rc.state = replicaOnline
	rc.ackTime = time.Now()
	go rc.out.Run(time.Duration(s.cfg.Int("repl-timeout")) * time.Second)
	rc.out.Start()
	r.syncPartialOK++
	s.log.Info("partial resynchronization accepted", "replica", c.addr, "offset", off)
	return true
}

func (s *Server) attachReplicaLocked(c *Client, rc *replicaConn) {
	c.flags |= clientReplica | clientReplyOff
	c.conn.SetReadDeadline(time.Time{})
	s.repl.replicas = append(s.repl.replicas, rc)
}

func (s *Server) replicaLimits() replication.Limits {
	f := strings.Fields(s.cfg.String("client-output-buffer-limit"))
	for i := 0; i+3 < len(f); i += 4 {
		if f[i] == "slave" || f[i] == "replica" {
			return replication.Limits{Hard: atoi64(f[i+1]), Soft: atoi64(f[i+2]), SoftSeconds: atoi64(f[i+3])}
		}
	}
	return replication.Limits{}
}

// startFullResync snapshots the keyspace at the current offset and sends
// it. The stream from that offset on is queued for the replica (within
// its output buffer limit) while the payload is sent.
func (s *Server) startFullResync(c *Client, rc *replicaConn, psync bool) {
	r := &s.repl
	r.syncFull++
	if r.backlog == nil && len(r.replicas) == 0 && r.masterHost == "" {
		// A first replica starts a new history, as in Redis.
		r.replid = newReplID()
		r.replid2 = strings.Repeat("0", 40)
		r.secondOffset = -1
		s.createBacklog()
	} else if r.backlog == nil {
		s.createBacklog()
	}
	s.attachReplicaLocked(c, rc)
	rc.state = replicaWaitBgsave
	delay := time.Duration(0)
	diskless := s.cfg.Bool("repl-diskless-sync") && rc.capaEOF
	if diskless {
		delay = time.Duration(s.cfg.Int("repl-diskless-sync-delay")) * time.Second
	}
	go s.sendFullSync(rc, psync, diskless, delay)
}

// sendFullSync waits out the diskless delay, takes the snapshot under the
// lock together with the offset, and writes the +FULLRESYNC line and the
// payload; the outbound writer then takes over.
func (s *Server) sendFullSync(rc *replicaConn, psync, diskless bool, delay time.Duration) {
	nc := rc.c.conn
	// Until the payload starts, a newline every second tells the replica
	// we are alive (it counts repl-timeout from its last read), as Redis
	// does for replicas waiting for a BGSAVE.
	stopKeepalive := s.replKeepalive(nc)
	defer stopKeepalive() // never under the lock: the writer may wait for it
	if delay > 0 {
		time.Sleep(delay)
	}
	s.mu.Lock()
	if s.replicaOf(rc.c) != rc {
		s.mu.Unlock()
		return
	}
	r := &s.repl
	r.seldb = -1 // the stream after the snapshot starts with SELECT
	replid, off := r.replid, r.offset
	aux := s.replAux(replid, off)
	// The function libraries go with the keys (Redis's rdbSaveFunctions).
	codes := s.functionCodes()
	if rc.filter.excludeFunctions {
		codes = nil
	}
	rc.out = replication.NewOutbound(rc.c.conn, s.replicaLimits())
	rc.state = replicaSendBulk
	timeout := time.Duration(s.cfg.Int("repl-timeout")) * time.Second
	var payload []byte
	var snap *store.Snapshot
	var err error
	if rc.filter.excludeData {
		payload, err = s.noDataRDB(aux, codes) // replfilter.go
	} else if snap, err = s.store.BeginSnapshot(); err != nil {
		// Another snapshot (BGSAVE) is running: encode in one go under
		// the lock instead.
		payload, err = s.snapshotRDB(aux, codes)
	}
	s.mu.Unlock()

	var hdr string
	if psync {
		hdr = fmt.Sprintf("+FULLRESYNC %s %d\r\n", replid, off)
	}
	if diskless && snap != nil {
		stopKeepalive()
		mark := newReplID()
		err = s.streamSnapshot(nc, snap, aux, codes, hdr+"$EOF:"+mark+"\r\n", mark, timeout)
	} else {
		if snap != nil {
			payload, err = s.encodeSnapshot(snap, aux, codes)
		}
		stopKeepalive()
		if err != nil {
			s.log.Error("cannot produce the RDB for a replica", "error", err)
			s.mu.Lock()
			s.dropReplicaLocked(rc)
			s.mu.Unlock()
			return
		}
		var mark string
		if diskless {
			mark = newReplID()
			hdr += "$EOF:" + mark + "\r\n"
		} else {
			hdr += "$" + strconv.Itoa(len(payload)) + "\r\n"
		}
		nc.SetWriteDeadline(time.Now().Add(timeout))
		_, err = nc.Write([]byte(hdr))
		if err == nil {
			_, err = nc.Write(payload)
		}
		if err == nil && diskless {
			_, err = nc.Write([]byte(mark))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replicaOf(rc.c) != rc {
		return
	}
	if err != nil {
		s.log.Warn("sending the RDB to a replica failed", "replica", rc.c.addr, "error", err)
		s.dropReplicaLocked(rc)
		return
	}
	go rc.out.Run(timeout)
	rc.ackTime = time.Now()
	if diskless {
		rc.startOnAck = true
		return
	}
	rc.state = replicaOnline
	rc.out.Start()
}

// replKeepalive writes a newline to a replica's connection every second
// until the returned function is called; that function returns once no
// newline can be written any more, so the payload never interleaves with
// one. Each newline is written under the data lock, as Redis's main
// thread sends them: a master stalled by a command (DEBUG SLEEP) goes
// silent, and the replica's repl-timeout notices.
func (s *Server) replKeepalive(nc net.Conn) (stop func()) {
	quit := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			s.mu.Lock()
			select {
			case <-quit:
				s.mu.Unlock()
				return
			default:
			}
			// One byte to a socket nobody else writes to now: it does not
			// wait on the peer, the deadline is only a bound.
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			_, err := nc.Write([]byte{'\n'})
			s.mu.Unlock()
			if err != nil {
				return // the payload write will fail and drop the replica
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-exited
	}
}

// streamSnapshot sends a diskless payload while it is encoded: each step
// of the snapshot is encoded under the lock and written to the replica
// outside it, so the replica receives (and loads) while we encode, and
// the whole payload is never held in memory.
func (s *Server) streamSnapshot(nc net.Conn, snap *store.Snapshot, aux map[string]string, codes [][]byte, hdr, mark string, timeout time.Duration) error {
	defer func() {
		s.mu.Lock()
		snap.Close()
		s.mu.Unlock()
	}()
	const chunk = 256 << 10
	buf := &bytesBuffer{b: append(make([]byte, 0, 2*chunk), hdr...)}
	flush := func(min int) error {
		if len(buf.b) < min {
			return nil
		}
		nc.SetWriteDeadline(time.Now().Add(timeout))
		_, err := nc.Write(buf.b)
		buf.b = buf.b[:0]
		if err != nil {
			return fmt.Errorf("write payload: %w", err)
		}
		return nil
	}
	// The header goes out first: the replica learns the offset and
	// starts receiving at once.
	if err := flush(0); err != nil {
		return err
	}
	w := rdb.NewWriter(buf)
	w.SetCompression(s.cfg.Bool("rdbcompression"))
	if err := w.Header(aux); err != nil {
		return err
	}
	if err := writeFunctionCodes(w, codes); err != nil {
		return err
	}
	for done := false; !done; {
		var err error
		s.mu.Lock()
		before := snap.Processed
		done, err = snap.Step(w, s.saveStepKeys(2000), time.Millisecond)
		stepped := snap.Processed - before
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("encode snapshot: %w", err)
		}
		s.saveStepPause(int64(stepped))
		if err := flush(chunk); err != nil {
			return err
		}
	}
	if err := w.Finish(); err != nil {
		return err
	}
	buf.b = append(buf.b, mark...)
	return flush(0)
}

// encodeSnapshot encodes a point-in-time snapshot a step at a time,
// taking the lock for each step only, so writers are not stalled.
func (s *Server) encodeSnapshot(snap *store.Snapshot, aux map[string]string, codes [][]byte) ([]byte, error) {
	defer func() {
		s.mu.Lock()
		snap.Close()
		s.mu.Unlock()
	}()
	var buf bytesBuffer
	w := rdb.NewWriter(&buf)
	w.SetCompression(s.cfg.Bool("rdbcompression"))
	if err := w.Header(aux); err != nil {
		return nil, err
	}
	if err := writeFunctionCodes(w, codes); err != nil {
		return nil, err
	}
	for done := false; !done; {
		var err error
		s.mu.Lock()
		before := snap.Processed
		done, err = snap.Step(w, s.saveStepKeys(2000), time.Millisecond)
		stepped := snap.Processed - before
		s.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("encode snapshot: %w", err)
		}
		s.saveStepPause(int64(stepped))
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	return buf.b, nil
}

func (s *Server) replAux(replid string, off int64) map[string]string {
	aux := rdb.DefaultAux()
	db, _ := s.replStreamDB()
	aux["repl-id"] = replid
	aux["repl-offset"] = strconv.FormatInt(off, 10)
	aux["repl-stream-db"] = strconv.Itoa(db)
	return aux
}

// replStreamDB is the database the replication stream is in, and whether
// this server holds a history worth saving in an RDB (Redis's
// rdbPopulateSaveInfo): a master with a backlog, or a replica with a
// master or a cached master.
func (s *Server) replStreamDB() (int, bool) {
	r := &s.repl
	switch {
	case r.masterHost == "" && r.backlog != nil:
		// No SELECT sent since the last full sync: the next write sends
		// one, so 0 is as good as any.
		return max(r.seldb, 0), true
	case r.masterHost == "":
		return 0, false
	case r.master != nil:
		return r.master.db.ID, true
	case r.hasHistory:
		return r.masterDB, true
	}
	return 0, false
}

// addReplAux adds repl-stream-db, repl-id and repl-offset to the aux
// fields of an RDB being saved (SAVE, BGSAVE, SHUTDOWN), so that after a
// restart the server can continue its history: a replica resyncs
// partially, a master lets its replicas do so. Called under the lock, at
// the instant of the snapshot.
func (s *Server) addReplAux(aux map[string]string) {
	db, ok := s.replStreamDB()
	if !ok {
		return
	}
	aux["repl-stream-db"] = strconv.Itoa(db)
	aux["repl-id"] = s.repl.replid
	aux["repl-offset"] = strconv.FormatInt(s.repl.offset, 10)
}

// restoreReplFromAux continues the history an RDB loaded at start-up
// was saved with (aux fields repl-id, repl-offset, repl-stream-db), as
// Redis's loadDataFromDisk does. A replica takes them as its cached
// master, so that its first PSYNC asks to continue; a master keeps them
// as its previous history (replid2), so that its replicas can continue
// from it. LoadRDB calls it under the lock once the file is loaded,
// before replication starts (Serve).
// It reports whether the fields were valid.
func (s *Server) restoreReplFromAux(aux map[string]string) bool {
	id := aux["repl-id"]
	off, err := strconv.ParseInt(aux["repl-offset"], 10, 64)
	if err != nil || off < 0 || len(id) != 40 {
		return false
	}
	db, err := strconv.Atoi(aux["repl-stream-db"])
	if err != nil || db < 0 {
		return false
	}
	r := &s.repl
	if r.masterHost != "" {
		r.replid = id
		r.offset = off
		r.hasHistory = true
		if db >= len(s.store.DBs) {
			db = 0
		}
		r.masterDB = db
		s.log.Info("replication history restored from the RDB", "replid", id, "offset", off)
		return true
	}
	r.replid2 = id
	r.secondOffset = off + 1
	r.offset = off
	s.createBacklog()
	r.noReplicasSince = time.Now()
	s.log.Info("replication history restored from the RDB as replid2", "replid2", id, "offset", off)
	return true
}

// snapshotRDB serialises the keyspace as an RDB with the replication aux
// fields. It runs under the lock, so it stalls writers for the time of
// the encoding: the fallback while a BGSAVE holds the snapshot.
func (s *Server) snapshotRDB(aux map[string]string, codes [][]byte) ([]byte, error) {
	var buf bytesBuffer
	w := rdb.NewWriter(&buf)
	w.SetCompression(s.cfg.Bool("rdbcompression"))
	if err := w.Header(aux); err != nil {
		return nil, err
	}
	if err := writeFunctionCodes(w, codes); err != nil {
		return nil, err
	}
	now := time.Now().UnixMilli()
	for _, db := range s.store.DBs {
		if db.Len() == 0 {
			continue
		}
		if err := w.SelectDB(db.ID, db.Len(), db.Expires()); err != nil {
			return nil, err
		}
		var werr error
		db.Dict().Each(func(e *store.Entry) bool {
			if e.Val.Expire != 0 && e.Val.Expire < now && !s.store.NoLazyExpire {
				return true
			}
			werr = w.Entry(e.Key, &e.Val)
			return werr == nil
		})
		if werr != nil {
			return nil, werr
		}
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	return buf.b, nil
}

type bytesBuffer struct{ b []byte }

func (b *bytesBuffer) Write(p []byte) (int, error) { b.b = append(b.b, p...); return len(p), nil }

var _ io.Writer = (*bytesBuffer)(nil)

// ---- WAIT ----

func cmdWait(c *Client, args [][]byte) {
	s := c.srv
	r := &s.repl
	if r.masterHost != "" {
		c.replyError("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.")
		return
	}
	n, err := strconv.ParseInt(string(args[1]), 10, 64)
	if err != nil {
		c.replyError(errNotInt)
		return
	}
	ms, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		c.replyError("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.replyError("ERR timeout is negative")
		return
	}
	// The client's last write, not the server's current offset: others'
	// later writes are not this client's business (Redis's c->woff).
	target := c.woff
	acked := s.countAcked(target)
	if int64(acked) >= n || c.flags&clientMulti != 0 || !c.canBlock() {
		c.replyInt(int64(acked))
		return
	}
	r.waitOff[c] = target
	r.waiting = append(r.waiting, c)
	c.block(nil, time.Duration(ms)*time.Millisecond, func(c *Client, key []byte) bool { return false }, func(c *Client) {
		c.replyInt(int64(c.srv.countAcked(c.srv.repl.waitOff[c])))
		c.srv.removeWaiter(c)
	})
	r.waitNeed[c] = n
	// Ask the replicas for their offsets now rather than in a second.
	s.replicate(-1, [][]byte{[]byte("REPLCONF"), []byte("GETACK"), []byte("*")})
}

func (s *Server) countAcked(off int64) int {
	n := 0
	for _, rc := range s.repl.replicas {
		if rc.state == replicaOnline && rc.ackOff >= off {
			n++
		}
	}
	return n
}

func (s *Server) removeWaiter(c *Client) {
	r := &s.repl
	for i, x := range r.waiting {
		if x == c {
			r.waiting = append(r.waiting[:i:i], r.waiting[i+1:]...)
			break
		}
	}
	delete(r.waitOff, c)
	delete(r.waitNeed, c)
}

// checkWaiters wakes WAIT clients whose replica count is reached.
func (s *Server) checkWaiters() {
	r := &s.repl
	for i := 0; i < len(r.waiting); i++ {
		c := r.waiting[i]
		acked := s.countAcked(r.waitOff[c])
		if int64(acked) < r.waitNeed[c] || c.blk == nil {
			continue
		}
		c.replyInt(int64(acked))
		s.removeWaiter(c)
		s.unblock(c)
		c.wake()
		i--
	}
}

// ---- cron ----

// replicationCron sends ACKs to our master every second, PINGs our
// replicas every repl-ping-replica-period, drops silent replicas after
// repl-timeout and frees the backlog after repl-backlog-ttl without
// replicas.
func (s *Server) replicationCron() {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	loops := int64(0)
	for {
		select {
		case <-s.done:
			s.mu.Lock()
			s.stopLinkLocked()
			s.disconnectReplicasLocked()
			s.mu.Unlock()
			return
		case <-tick.C:
		}
		loops++
		s.mu.Lock()
		r := &s.repl
		var ackLink *replication.Link
		var ackOff int64
		if r.state == linkConnected && r.link != nil {
			ackLink, ackOff = r.link, r.offset
		}
		period := s.cfg.Int("repl-ping-replica-period")
		// No PING while writes are paused for a failover or a shutdown:
		// the replicas must be able to reach the master's offset.
		if period > 0 && loops%period == 0 && len(r.replicas) > 0 && r.masterHost == "" && !s.x.pause.failover && !s.x.pause.shutdown {
			s.replicate(r.seldb, [][]byte{[]byte("PING")})
		}
		timeout := time.Duration(s.cfg.Int("repl-timeout")) * time.Second
		for i := 0; i < len(r.replicas); i++ {
			rc := r.replicas[i]
			if rc.state == replicaOnline && time.Since(rc.ackTime) > timeout {
				s.log.Warn("disconnecting timedout replica", "replica", rc.c.addr)
				s.dropReplicaLocked(rc)
				i--
			}
		}
		if ttl := s.cfg.Int("repl-backlog-ttl"); ttl > 0 && r.backlog != nil && len(r.replicas) == 0 &&
			r.masterHost == "" && time.Since(r.noReplicasSince) > time.Duration(ttl)*time.Second {
			// Without the backlog our offset cannot be continued from:
			// start a new history, as Redis does.
			s.shiftReplID()
			s.repl.replid2 = strings.Repeat("0", 40)
			s.repl.secondOffset = -1
			r.backlog = nil
		}
		if len(r.waiting) > 0 {
			s.checkWaiters()
		}
		s.mu.Unlock()
		if ackLink != nil {
			ackLink.SendAck(ackOff)
		}
	}
}

// ---- ROLE and INFO ----

func writeRole(c *Client) {
	s := c.srv
	r := &s.repl
	if r.masterHost == "" {
		c.w.AppendArray(3)
		c.w.AppendBulkString("master")
		c.w.AppendInt(r.offset)
		var online []*replicaConn
		for _, rc := range r.replicas {
			if rc.state == replicaOnline {
				online = append(online, rc)
			}
		}
		c.w.AppendArray(len(online))
		for _, rc := range online {
			c.w.AppendArray(3)
			c.w.AppendBulkString(replicaIP(rc))
			c.w.AppendBulkString(strconv.Itoa(rc.listenPort))
			c.w.AppendBulkString(strconv.FormatInt(rc.ackOff, 10))
		}
		return
	}
	c.w.AppendArray(5)
	c.w.AppendBulkString("slave")
	c.w.AppendBulkString(r.masterHost)
	c.w.AppendInt(int64(r.masterPort))
	var st string
	switch r.state {
	case linkConnect:
		st = "connect"
	case linkConnecting:
		st = "connecting"
	case linkHandshake:
		st = "handshake"
	case linkTransfer:
		st = "sync"
	case linkConnected:
		st = "connected"
	default:
		st = "none"
	}
	c.w.AppendBulkString(st)
	if r.master != nil {
		c.w.AppendInt(r.offset)
	} else {
		c.w.AppendInt(-1)
	}
}

func replicaIP(rc *replicaConn) string {
	if rc.announceIP != "" {
		return rc.announceIP
	}
	host, _, err := net.SplitHostPort(rc.c.addr)
	if err != nil {
		return rc.c.addr
	}
	return host
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func writeReplicationInfo(s *Server, b *infoBuf) {
	r := &s.repl
	now := time.Now()
	if r.masterHost == "" {
		b.kv("role", "master")
	} else {
		b.kv("role", "slave")
		b.kv("master_host", r.masterHost)
		b.kv("master_port", r.masterPort)
		b.kv("master_link_status", map[bool]string{true: "up", false: "down"}[r.state == linkConnected])
		if r.master != nil {
			b.kv("master_last_io_seconds_ago", int64(now.Sub(r.lastIO)/time.Second))
		} else {
			b.kv("master_last_io_seconds_ago", -1)
		}
		b.kv("master_sync_in_progress", boolInt(r.state == linkTransfer))
		off := int64(1)
		if r.master != nil || r.hasHistory {
			off = r.offset
		}
		b.kv("slave_read_repl_offset", off)
		b.kv("slave_repl_offset", off)
		if r.state == linkTransfer {
			size := r.transferSize
			if size < 0 {
				size = 0
			}
			perc := 0.0
			if size > 0 {
				perc = float64(r.transferRead) / float64(size) * 100
			}
			b.kv("master_sync_total_bytes", size)
			b.kv("master_sync_read_bytes", r.transferRead)
			b.kv("master_sync_left_bytes", size-r.transferRead)
			b.kv("master_sync_perc", strconv.FormatFloat(perc, 'f', 2, 64))
			b.kv("master_sync_last_io_seconds_ago", int64(now.Sub(r.transferIO)/time.Second))
		}
		if r.state != linkConnected {
			if r.downSince.IsZero() {
				b.kv("master_link_down_since_seconds", -1)
			} else {
				b.kv("master_link_down_since_seconds", int64(now.Sub(r.downSince)/time.Second))
			}
		}
		b.kv("slave_priority", s.cfg.Int("replica-priority"))
		b.kv("slave_read_only", boolInt(s.cfg.Bool("replica-read-only")))
		b.kv("replica_announced", boolInt(s.cfg.Bool("replica-announced")))
	}
	b.kv("connected_slaves", len(r.replicas))
	if s.cfg.Int("min-replicas-to-write") > 0 && s.cfg.Int("min-replicas-max-lag") > 0 {
		b.kv("min_slaves_good_slaves", s.goodReplicas())
	}
	for i, rc := range r.replicas {
		lag := int64(0)
		if rc.state == replicaOnline {
			lag = int64(now.Sub(rc.ackTime) / time.Second)
		}
		b.kv("slave"+strconv.Itoa(i), fmt.Sprintf("ip=%s,port=%d,state=%s,offset=%d,lag=%d",
			replicaIP(rc), rc.listenPort, replicaStateNames[rc.state], rc.ackOff, lag))
	}
	b.kv("master_failover_state", failoverStateNames[r.failover.state])
	writeStrongInfo(s, b)
	b.kv("master_replid", r.replid)
	b.kv("master_replid2", r.replid2)
	b.kv("master_repl_offset", r.offset)
	b.kv("second_repl_offset", r.secondOffset)
	if r.backlog != nil {
		b.kv("repl_backlog_active", 1)
		b.kv("repl_backlog_size", r.backlog.Size())
		b.kv("repl_backlog_first_byte_offset", r.backlog.FirstByteOffset())
		b.kv("repl_backlog_histlen", r.backlog.HistLen())
	} else {
		b.kv("repl_backlog_active", 0)
		b.kv("repl_backlog_size", s.cfg.Int("repl-backlog-size"))
		b.kv("repl_backlog_first_byte_offset", 0)
		b.kv("repl_backlog_histlen", 0)
	}
}

// ReplStats are the replication counters of INFO stats.
func (s *Server) replStats() (full, partialOK, partialErr int64) {
	return s.repl.syncFull, s.repl.syncPartialOK, s.repl.syncPartialErr
}
