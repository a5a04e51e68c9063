package node

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiffdb/skiff/acl"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/store"
)

// Client flags.
const (
	clientCloseAfterReply = 1 << iota
	clientCloseASAP
	clientNoEvict
	clientNoTouch
	clientMaster
	clientReplica
	clientPubSub
	clientMulti
	clientBlocked
	clientReplyOff
	clientReplySkip
	clientReplySkipNext
	// clientPostponed: the command waits for a CLIENT PAUSE to end
	// (counted in blocked_clients, as Redis's BLOCKED_POSTPONE).
	clientPostponed
)

// Client is one connection's state. Fields other than the atomics are
// guarded by the server's data lock, except the parser and the reply
// buffer, which only the connection's goroutine touches.
type Client struct {
	srv  *Server
	id   int64
	conn net.Conn
	addr string
	lad  string
	fd   int
	// unixSock: connected through the Unix socket (CLIENT LIST flag U)
	unixSock bool
	// recheck: the command waited out a pause; call() checks it again
	recheck bool

	p *resp.Parser
	w resp.Writer

	db   *store.DB
	name string
	// user is the ACL user of the connection (nil: a superuser, as the
	// link to our master); authed is Redis's c->authenticated.
	user     *acl.User
	authed   bool
	flags    int
	created  time.Time
	lastUsed time.Time
	lastCmd  string
	libName  string
	libVer   string

	// now is the clock (unix ms) of the command being executed; Redis
	// caches it once per command so one command sees one time.
	now int64
	// batchWall and batchMono are the wall and monotonic clocks read once
	// at the start of the current batch of pipelined commands.
	batchWall time.Time
	batchMono time.Duration
	// strongHold: this batch ran a command whose reply may show data, so
	// in consistency strong it waits until that data is durable.
	strongHold bool
	// cmd is the command being executed, argv its arguments.
	cmd  *Command
	argv [][]byte
	// propagateArgv, when set by a handler, replaces argv in what is sent
	// to replicas and the AOF (Redis's rewriteClientCommandVector).
	propagateArgv [][]byte
	// woff is the replication offset after the client's last command:
	// what WAIT waits for.
	woff int64
	// blk is set while the client is blocked on keys (blocking.go).
	blk *blockState
	// x is the state of transactions, pub/sub and monitor (multi.go).
	x clientExt
	// errs counts the error replies sent to this client.
	errs int64
	// trk is the CLIENT TRACKING state (tracking.go); nil when tracking
	// is off.
	trk *trackingState
	// trkInbox holds tracking messages for a client that has no output
	// queue yet, and pushWake tells its goroutine to make one and move
	// them there (tracking.go).
	trkInbox []byte
	pushWake atomic.Bool

	// frozenNow, when set, is the clock every command of this client
	// sees (the script client: Redis's script time snapshot).
	frozenNow int64
	// unregistered is set while a connection accepted during a busy
	// script is not in the client table yet (busy.go).
	unregistered bool
	// bufs: query and reply buffer accounting (clientbuf.go).
	bufs clientBufs
	// rw writes to the socket without waiting (outbuf.go); nil for TLS.
	// The connection's goroutine's.
	rw *rawWriter

	scratch [32]byte
}

func (s *Server) newClient(conn net.Conn) *Client {
	c := &Client{
		srv:      s,
		id:       s.nextClientID.Add(1),
		conn:     conn,
		addr:     conn.RemoteAddr().String(),
		lad:      conn.LocalAddr().String(),
		db:       s.store.DBs[0],
		user:     s.acl.reg.Default,
		created:  time.Now(),
		lastUsed: time.Now(),
		lastCmd:  "NULL",
	}
	if conn.LocalAddr().Network() == "unix" {
		// Redis shows a fixed name for either end of a Unix socket.
		c.addr, c.lad, c.unixSock = unixSocketAddr, unixSocketAddr, true
	}
	c.w.Proto = 2
	c.p = resp.NewParser(conn)
	c.initBufs(conn) // clientbuf.go
	raw := conn
	tc, isTLS := conn.(*tls.Conn)
	if isTLS {
		raw = tc.NetConn() // CLIENT LIST's fd= is the socket's
	}
	if sc, ok := raw.(interface {
		SyscallConn() (syscall.RawConn, error)
	}); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { c.fd = int(fd) })
			if !isTLS {
				c.rw = newRawWriter(rc) // outbuf.go
			}
		}
	}
	return c
}

// serveConn runs one connection: read, execute every complete command
// under the data lock, write the replies, repeat.
func (s *Server) serveConn(conn net.Conn) {
	c := s.newClient(conn)
	if s.lockForConnect() {
		ok := s.registerClient(c)
		s.mu.Unlock()
		if !ok {
			return
		}
	} else {
		// A busy script holds the lock (busy.go): the client is served
		// -BUSY now and registered at its first batch under the lock.
		c.unregistered = true
		c.authed = s.defaultAuthenticated()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		if ka := s.cfg.Int("tcp-keepalive"); ka > 0 {
			tc.SetKeepAlive(true)
			tc.SetKeepAlivePeriod(time.Duration(ka) * time.Second)
		}
	}
	defer s.removeClient(c)
	// flags is c.flags as of the end of the last batch: other clients
	// change c.flags under the lock (CLIENT KILL), so it is read there.
	flags := 0
	var resumeDeadline time.Time
	for {
		c.p.MaxBulk = s.protoMaxBulk.Load()
		c.p.MaxQuery = s.queryBufLimit.Load()
		var deadline time.Time
		if t := s.idleTimeout.Load(); t > 0 && flags&(clientPubSub|clientMaster|clientReplica|clientBlocked) == 0 {
			deadline = time.Now().Add(time.Duration(t) * time.Second)
			if !resumeDeadline.IsZero() {
				deadline = resumeDeadline // the read a resize interrupted
			}
		}
		resumeDeadline = time.Time{}
		conn.SetReadDeadline(deadline)
		if c.pushWake.Load() {
			s.adoptPushQueue(c) // tracking messages wait for an output queue (tracking.go)
		}
		before := c.p.Buffered()
		if err := c.fillQuery(); err != nil { // clientbuf.go
			if c.pushWake.Load() {
				continue // the read was interrupted for them
			}
			if wokenForResize(err, deadline) {
				resumeDeadline = deadline
				continue // the cron asked for a resize (clientbuf.go)
			}
			if errors.Is(err, resp.ErrQueryBufferLimit) {
				s.log.Warn("closing client that reached max query buffer length", "addr", c.addr, "qbuf", c.p.Buffered())
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				s.log.Debug("closing idle client", "addr", c.addr)
			}
			return
		}
		s.stats.NetInputBytes.Add(int64(c.p.Buffered() - before))
		if !s.lockForBatch(c) {
			// A busy script holds the lock: the batch was answered
			// without it (busy.go).
			if len(c.w.B) > 0 {
				if err := c.flushBusy(); err != nil { // outbuf.go
					return
				}
			}
			continue
		}
		if !c.registerLate() {
			s.mu.Unlock()
			return
		}
		if s.x.evict.clients.limit > 0 {
			s.checkClientMem(c) // before running what it sent (outbuf.go)
		}
		c.processInput()
		for c.flags&clientBlocked != 0 {
			if !c.waitUnblocked() {
				s.mu.Unlock()
				return
			}
			c.processInput()
		}
		if s.trk.bcastPending {
			s.trackingBroadcast() // BCAST messages about the keys this batch changed
		}
		if c.x.out != nil {
			c.dropIdleQueue() // outbuf.go
			if c.x.out != nil {
				c.queueReplies() // under the lock: ordered with pushed messages
			}
		}
		c.publishQuery()
		if s.x.evict.maxmemory > 0 || s.x.evict.clients.limit > 0 {
			s.checkClientMem(c) // used_memory, maxmemory-clients (outbuf.go)
		}
		aofOff := s.aofBatchDone()
		var strongW *strongWaiter
		if c.strongHold {
			c.strongHold = false
			if c.flags&(clientReplica|clientMaster) == 0 {
				strongW = s.strongHoldReplies()
			}
		}
		flags = c.flags
		s.mu.Unlock()
		s.aofWait(aofOff) // appendfsync always: durable before replying
		if strongW != nil && !s.strongWait(c, strongW) {
			return // consistency strong: never a reply that a failover could undo
		}
		if len(c.w.B) > 0 {
			if err := c.flush(); err != nil {
				return
			}
		}
		if flags&(clientCloseAfterReply|clientCloseASAP) != 0 {
			return
		}
	}
}

// processInput executes every complete command in the parser's buffer.
// It runs under the data lock.
func (c *Client) processInput() {
	// One wall-clock read per batch; each command then reads only the
	// cheaper monotonic clock (time.Now costs ~60 ns here, a large share
	// of a pipelined GET).
	c.batchWall = time.Now()
	c.batchMono = monoNow()
	c.lastUsed = c.batchWall
	for c.flags&(clientCloseAfterReply|clientCloseASAP|clientBlocked) == 0 {
		c.p.Unauthenticated = !c.authed && c.srv.authRequired()
		args, err := c.p.Next()
		if err != nil {
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				c.srv.log.Debug("protocol error from client", "addr", c.addr, "error", pe.Msg)
				c.replyError("ERR " + pe.Error())
			}
			c.flags |= clientCloseAfterReply
			return
		}
		if args == nil {
			return
		}
		mark := len(c.w.B)
		replica := c.flags&clientReplica != 0
		c.srv.call(c, args)
		if replica && len(c.w.B) > mark {
			c.replicaReplied(args, mark) // replication.go
			return
		}
		if c.replyOverLimit() { // obuflimit.go
			return
		}
		if c.flags&(clientReplyOff|clientReplySkip|clientReplySkipNext) != 0 {
			c.applyReplyMode(mark)
		}
		if c.trk != nil && c.trk.caching {
			c.trackingCachingDone(args[0]) // CLIENT CACHING lasts one command
		}
	}
}

// flush writes the reply buffer to the connection without waiting for
// it; what the socket does not take is queued (outbuf.go). Called
// without the lock.
func (c *Client) flush() error {
	c.noteReplyBatch(len(c.w.B)) // clientbuf.go
	n, err := c.tryWrite(c.w.B)
	if err != nil {
		return err
	}
	if n < len(c.w.B) {
		c.srv.mu.Lock()
		c.spill(c.w.B[n:])
		// Emptied under the lock: from now on other clients may push
		// to c, and a push finds its reply buffer empty (pubsub.go).
		c.resetReplyBuf()
		c.srv.mu.Unlock()
		return nil
	}
	c.resetReplyBuf()
	return nil
}

// resetReplyBuf empties the reply buffer, dropping a large one.
func (c *Client) resetReplyBuf() {
	if cap(c.w.B) > 64*1024 {
		c.w.B = nil // do not keep a large reply buffer per idle client
	} else {
		c.w.B = c.w.B[:0]
	}
}

// registerClient adds a new connection to the client table, or refuses
// it (maxclients) and closes it. Called under the lock.
func (s *Server) registerClient(c *Client) bool {
	if int64(len(s.clients)) >= s.maxClients.Load() {
		s.stats.RejectedConns++
		c.conn.Write([]byte("-ERR max number of clients reached\r\n"))
		c.conn.Close()
		return false
	}
	if s.protectedModeRefuses(c) {
		// One short write to a fresh socket: the kernel takes it whole,
		// so this never waits on the peer while the lock is held.
		s.stats.RejectedConns++
		c.conn.Write([]byte(errProtectedMode))
		c.conn.Close()
		return false
	}
	s.clients[c.id] = c
	s.stats.TotalConnections++
	c.authed = s.defaultAuthenticated()
	return true
}

func (s *Server) removeClient(c *Client) {
	s.mu.Lock()
	q := s.freeClientExt(c)
	s.replicaGone(c)
	if c.flags&clientImport != 0 {
		s.importGone(c) // slotmig_import.go
	}
	s.mu.Unlock()
	if q != nil {
		q.drain(time.Now().Add(time.Second)) // e.g. +OK of a subscriber's QUIT
	}
	c.conn.Close()
	s.mu.Lock()
	delete(s.clients, c.id)
	s.forgetClientMem(c) // outbuf.go
	s.mu.Unlock()
}

// call looks up and runs one command with Redis's checks in Redis's order:
// unknown command, arity, authentication.
func (s *Server) call(c *Client, args [][]byte) {
	if s.ld.hold != nil && !s.waitLoadHold(c) {
		return // shut down while a load held the command (loading.go)
	}
	cmd := c.lookupCommand(args[0])
	if cmd == nil {
		c.replyError(unknownCommandError(args))
		return
	}
	if cmd.Subcommands != nil && len(args) >= 2 {
		subName := strings.ToLower(string(args[1]))
		sub := cmd.Subcommands[subName]
		if sub == nil && cmd.SkiffSub != nil && strings.HasPrefix(subName, "skiff-") {
			sub = cmd.SkiffSub
		}
		if sub == nil {
			if cmd.Handler == nil {
				c.replyError(fmt.Sprintf("ERR unknown subcommand '%.128s'. Try %s HELP.", args[1], strings.ToUpper(cmd.Name)))
				return
			}
		} else {
			cmd = sub
		}
	}
	if !arityOK(cmd.Arity, len(args)) || cmd.Handler == nil {
		s.rejectedCall(cmd)
		c.replyError(fmt.Sprintf("ERR wrong number of arguments for '%s' command", cmd.FullName()))
		return
	}
	if msg := c.protectedCommandError(cmd); msg != "" {
		s.rejectedCall(cmd)
		c.replyError(msg)
		return
	}
	if !c.authed && !cmd.Has(FlagNoAuth) && s.authRequired() {
		s.rejectedCall(cmd)
		c.replyError(errNoAuth)
		return
	}
	if cmd.flagsFor != nil {
		if f := cmd.flagsFor(s, cmd, args); f != cmd.flags {
			cp := *cmd
			cp.flags, cp.orig = f, cmd
			cmd = &cp
		}
	}
	// ACL: one flag for a user with every permission (acl.go).
	if u := c.user; u != nil && !u.AllPermissions() && c.flags&clientMaster == 0 && !s.aclCheck(c, cmd, args) {
		return
	}
	if s.cl != nil && !s.clusterAdmit(c, cmd, args) {
		return // -MOVED, -ASK, -CROSSSLOT, ... (cluster.go)
	}
	if s.replGated() && !s.replAdmit(c, cmd) {
		return // -READONLY, -NOREPLICAS, -MASTERDOWN (replication.go)
	}
	if c.flags&clientReplica != 0 && cmd.Has(FlagWrite|FlagReadonly|FlagMayReplicate) {
		// A replica is exempt from pauses: it must not use that to
		// reach the keyspace, as in Redis.
		s.rejectedCall(cmd)
		c.replyError("ERR Replica can't interact with the keyspace")
		return
	}
	if msg := s.diskError(c, cmd); msg != "" {
		s.rejectedCall(cmd)
		c.replyError(msg)
		return
	}
	if (c.flags&(clientMulti|clientPubSub) != 0 || s.x.gated) && !s.admit(c, cmd, args) {
		if c.recheck {
			// It waited for a pause: checked again as if it just
			// arrived (the server may be a replica now).
			c.recheck = false
			s.call(c, args)
		}
		return // queued in MULTI, or refused (multi.go)
	}
	s.execute(c, cmd, args)
}

// execute runs a command that passed call's checks (or a script's,
// script_run.go): the handler, then stats, slowlog, monitors and
// propagation.
func (s *Server) execute(c *Client, cmd *Command, args [][]byte) {
	c.cmd = cmd
	c.argv = args
	c.propagateArgv = nil
	if s.strong != nil && c.flags&(clientReplica|clientMaster) == 0 && !showsNoData(cmd) {
		c.strongHold = true
	}
	start := monoNow()
	c.now = c.batchWall.UnixMilli() + int64(start-c.batchMono)/1e6
	if c.frozenNow != 0 {
		c.now = c.frozenNow // a script's commands see the time it started
	}
	dirty := s.dirty
	// Like Redis's prev_err_count: a nested command (EXEC's, a
	// script's) moves the mark, so the caller counts as failed only for
	// an error of its own after it.
	s.errMark = s.stats.TotalErrorReplies
	clientErrs := c.errs
	sentinel := s.sentinel != nil
	var writing bool
	if sentinel {
		// No keyspace, MULTI or blocking in sentinel mode: the handler
		// may release the lock (sentinel_mode.go), so call keeps no
		// per-call server state across it.
		cmd.Handler(c, args)
	} else {
		s.blocking.depth++
		writing = s.store.SetWriting(cmd.Has(FlagWrite)) // snapshot copy-on-write
		// Client-side caching: which client runs, and which one changes
		// keys (tracking.go).
		by := s.trk.by
		s.trk.by = c
		if s.blocking.depth == 1 {
			s.trk.cur = c
		}
		if len(s.x.dump.corrupt) == 0 || !s.refuseCorrupt(c, cmd, args) { // sanitize.go
			cmd.Handler(c, args)
		}
		s.trk.by = by
		if s.trk.clients > 0 && cmd.Has(FlagReadonly) {
			s.trackingRemember(c, cmd, args)
		}
		s.blocking.depth--
	}
	if len(s.x.monitors) > 0 {
		s.feedMonitors(c, cmd, args)
	}
	dur := monoNow() - start
	if s.latTrack.mon.threshold.Load() != 0 {
		s.latencyCommandSample(cmd, dur) // latency.go
	}
	if c.blk != nil {
		c.blk.deferSlowlog(cmd, args, dur) // logged when served (blocking.go)
	} else {
		s.slowlogPush(c, cmd, args, dur)
	}
	st := s.stats.CmdStats[cmd.FullName()]
	if st == nil {
		st = &CmdStat{}
		s.stats.CmdStats[cmd.FullName()] = st
	}
	st.Calls++
	st.Usec += int64(dur / time.Microsecond)
	st.Hist[latencyBucket(dur)]++
	if s.latTrack.on && c.blk == nil { // a blocked one: when served (blocking.go)
		st.recordLatency(dur)
	}
	// A sentinel handler may release the lock, so another command can move
	// errMark meanwhile: there, only this client's own error replies count.
	if sentinel && c.errs != clientErrs || !sentinel && s.stats.TotalErrorReplies != s.errMark {
		st.FailedCalls++
	}
	s.errMark = s.stats.TotalErrorReplies
	s.stats.TotalCommands++
	c.lastCmd = cmd.FullName()
	if s.dirty != dirty && cmd.Has(FlagWrite|FlagMayReplicate) && !cmd.Has(FlagNoPropagate) {
		pa := c.propagateArgv
		if pa == nil {
			pa = args
		}
		if len(pa) > 0 { // empty: the handler propagated its effects itself
			s.propagateCall(c.db.ID, pa)
		}
	}
	if s.blocking.depth == 0 {
		s.endCommand(c, cmd) // emit queued effects, WAIT offset (replication.go)
		if len(s.trk.pending) > 0 {
			s.trackingFlushPending() // invalidations for c, after its reply
		}
		s.trk.cur = nil
	}
	c.cmd = nil
	c.argv = nil
	if s.blocking.depth == 0 && len(s.blocking.ready) > 0 {
		s.handleReadyKeys()
	}
	if !sentinel {
		s.store.SetWriting(writing)
	}
}

func (s *Server) rejectedCall(cmd *Command) {
	st := s.stats.CmdStats[cmd.FullName()]
	if st == nil {
		st = &CmdStat{}
		s.stats.CmdStats[cmd.FullName()] = st
	}
	st.RejectedCalls++
}

// unknownCommandError formats Redis's reply for an unknown command: the
// name and up to 128 characters of quoted arguments.
func unknownCommandError(args [][]byte) string {
	var b strings.Builder
	for _, a := range args[1:] {
		a = cString(a)
		if b.Len() >= 128 {
			break
		}
		n := 128 - b.Len()
		if len(a) < n {
			n = len(a)
		}
		b.WriteByte('\'')
		b.Write(a[:n])
		b.WriteString("' ")
	}
	name := cString(args[0])
	if len(name) > 128 {
		name = name[:128]
	}
	return fmt.Sprintf("ERR unknown command '%s', with args beginning with: %s", name, b.String())
}

// cString cuts b at its first NUL: Redis formats these names with %s,
// which stops there.
func cString(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// replyError writes an error reply and counts it for INFO errorstats.
func (c *Client) replyError(msg string) {
	if c.flags&clientMulti != 0 && c.srv.blocking.depth == 0 {
		// Refused before queuing (not an error of a command run by
		// EXEC): the transaction must fail with EXECABORT.
		c.flagTransaction()
	}
	c.srv.stats.TotalErrorReplies++
	code := msg
	if i := strings.IndexByte(msg, ' '); i > 0 {
		code = msg[:i]
	}
	c.srv.stats.ErrorStats[code]++
	c.errs++
	if c.flags&(clientMaster|clientReplica) != 0 {
		c.replicationLinkError(msg) // propagation_error.go
	}
	c.w.AppendError(msg)
}

// String-form helpers used by many handlers.
func (c *Client) replyOK()                       { c.w.AppendOK() }
func (c *Client) replyInt(n int64)               { c.w.AppendInt(n) }
func (c *Client) replyBulk(b []byte)             { c.w.AppendBulk(b) }
func (c *Client) replyBulkString(s string)       { c.w.AppendBulkString(s) }
func (c *Client) replyNull()                     { c.w.AppendNull() }
func (c *Client) replyWrongType()                { c.replyError(errWrongType) }
func (c *Client) replySyntax()                   { c.replyError(errSyntax) }
func (c *Client) replyErrorf(f string, a ...any) { c.replyError(fmt.Sprintf(f, a...)) }
