package node

// Running Lua scripts (EVAL and FCALL) against the keyspace.
//
// A script runs inside its command's handler, under the data lock, so it
// is atomic like any command. Its redis.call goes through scriptRun.Call:
// the checks Redis makes for commands called from scripts (scriptCall in
// Redis's script.c), then execute() on the script client, a client
// without a connection whose reply buffer is handed back to Lua. The
// commands run nested in the EVAL (blocking depth > 0), so their effects
// queue up and endCommand emits them as one MULTI/EXEC block, as Redis
// 7.0 replicates scripts by effects; EVAL itself is never propagated.
//
// A script running longer than busy-reply-threshold makes the server
// "busy": clients that find the lock taken by a script get -BUSY instead
// of waiting (lockOrBusy), and SCRIPT KILL / FUNCTION KILL / SHUTDOWN
// NOSAVE are served without the lock (busy.go).

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/acl"
	"github.com/skiffdb/skiff/cluster"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/script"
	"github.com/skiffdb/skiff/slots"
)

// scriptsState is the server's scripting state.
type scriptsState struct {
	eval *script.Eval
	// client is Redis's lua_client: it runs the scripts' commands.
	client *Client
	// running is the script being executed, read without the lock by
	// clients deciding whether to answer -BUSY.
	running atomic.Pointer[scriptRun]
	// busyTimer marks the running script busy (checkBusyScript). It is
	// armed lazily: a script that finds it pending early enough leaves it
	// alone, and a firing that finds no script running just disarms it.
	// Resetting and stopping a timer for every script cost about 2% of
	// an EVALSHA at -P 16. timerMu guards busyTimer, busyArmed, busyDue.
	timerMu   sync.Mutex
	busyTimer *time.Timer
	busyArmed bool
	busyDue   time.Time
	// allowNoScript is DEBUG SET-DISABLE-DENY-SCRIPTS: scripts may call
	// noscript commands (Redis's tests use it).
	allowNoScript bool
	// busyMs is busy-reply-threshold, kept up to date by a config hook
	// registered by the first script (busyHooked, under the lock).
	busyMs     atomic.Int64
	busyHooked bool
	// kept holds the copies of the effects scripts queue in
	// s.repl.pending (see keepArgs).
	kept argArena
}

// argArena copies command lines into shared buffers: a script's effects
// wait in s.repl.pending until the command that ran the script ends, but
// their arguments are the Lua engine's scratch space. Copying them into
// two allocations per command cost ~15% of EVALSHA's allocations; the
// arena is rewound when nothing is pending, so in the steady state it
// allocates nothing.
type argArena struct {
	buf  []byte
	args [][]byte
}

// keep returns a copy of args that stays valid until the arena is
// rewound. A full buffer is replaced, not grown: what was handed out
// keeps pointing into the old one.
func (a *argArena) keep(args [][]byte) [][]byte {
	n := 0
	for _, x := range args {
		n += len(x)
	}
	if len(a.buf)+n > cap(a.buf) {
		a.buf = make([]byte, 0, max(2*cap(a.buf), n, 4096))
	}
	if len(a.args)+len(args) > cap(a.args) {
		a.args = make([][]byte, 0, max(2*cap(a.args), len(args), 64))
	}
	start := len(a.args)
	for _, x := range args {
		a.buf = append(a.buf, x...)
		a.args = append(a.args, a.buf[len(a.buf)-len(x):len(a.buf):len(a.buf)])
	}
	return a.args[start:len(a.args):len(a.args)]
}

// rewind makes the arena's space reusable. Only when s.repl.pending is
// empty: nothing then points into it (endCommand emits and clears the
// queue; the AOF and the replication stream copy what they are given).
func (a *argArena) rewind() {
	if cap(a.buf) > 1<<20 || cap(a.args) > 1<<14 {
		*a = argArena{} // a big script's effects: not kept for ever
		return
	}
	a.buf = a.buf[:0]
	clear(a.args)
	a.args = a.args[:0]
}

// scriptRun is one execution of a script or function.
type scriptRun struct {
	s      *Server
	run    *script.Run
	caller *Client
	// argv is the caller's command line (it aliases the caller's read
	// buffer, which stays as it is while the command runs).
	argv  [][]byte
	flags script.Flags
	ro    bool
	// oom is Redis's pre_command_oom_state: memory was over maxmemory
	// when the script started.
	oom bool
	// slot is the one slot the script's keys may use in cluster mode
	// (-1 until known).
	slot int
	// busyFlag is set once the script is past busy-reply-threshold.
	busyFlag atomic.Bool
	// busyAfter is busy-reply-threshold when the script started (0: off).
	busyAfter time.Duration
	// wake is closed once the script is busy or has ended. Only a client
	// waiting for the lock needs it, so it is made on the first wait
	// (waitChan); waitMu guards it, ended and woken.
	waitMu sync.Mutex
	wake   chan struct{}
	ended  bool
	woken  bool
	// runv is run's storage: one allocation per script.
	runv script.Run
}

// waitChan returns a channel closed once r is busy or has ended.
func (r *scriptRun) waitChan() <-chan struct{} {
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	if r.wake == nil {
		r.wake = make(chan struct{})
		if r.ended || r.busyFlag.Load() {
			close(r.wake)
			r.woken = true
		}
	}
	return r.wake
}

// wakeWaiters closes r's wait channel (if a waiter made it); end marks
// the script ended.
func (r *scriptRun) wakeWaiters(end bool) {
	r.waitMu.Lock()
	if end {
		r.ended = true
	}
	if r.wake != nil && !r.woken {
		close(r.wake)
		r.woken = true
	}
	r.waitMu.Unlock()
}

// busyNow reports whether r is past busy-reply-threshold and still
// running (a client then answers -BUSY without the lock).
func (r *scriptRun) busyNow() bool {
	if !r.busyFlag.Load() {
		return false
	}
	r.waitMu.Lock()
	defer r.waitMu.Unlock()
	return !r.ended
}

// scriptEngine returns the EVAL engine, created on first use.
func (s *Server) scriptEngine() *script.Eval {
	if s.scripts.eval == nil {
		s.scripts.eval = script.NewEval(s.luaLogger())
	}
	return s.scripts.eval
}

// luaLogger sends redis.log lines to the server log at their level.
func (s *Server) luaLogger() script.Logger {
	return func(level int, msg string) {
		switch level {
		case script.LogDebug:
			s.log.Debug(msg)
		case script.LogVerbose:
			s.log.Debug(msg)
		case script.LogNotice:
			s.log.Info(msg)
		default:
			s.log.Warn(msg)
		}
	}
}

// scriptClient returns the connection-less client scripts run commands
// with.
func (s *Server) scriptClient() *Client {
	if s.scripts.client == nil {
		a, _ := net.Pipe() // never read or written: replies go to w.B
		c := s.newClient(a)
		c.authed = true
		c.addr = "lua" // what MONITOR shows, as Redis: "[0 lua]"
		s.scripts.client = c
	}
	return s.scripts.client
}

// prepareScript makes Redis's checks before a script runs
// (scriptPrepareForRun) and returns the run, or nil having replied the
// refusal to c.
func (s *Server) prepareScript(c *Client, name string, flags script.Flags, ro, eval bool, args [][]byte) *scriptRun {
	master := c.flags&clientMaster != 0
	stale := s.repl.masterHost != "" && s.repl.state != linkConnected && !s.cfg.Bool("replica-serve-stale-data")
	if flags&script.FlagEvalCompat == 0 {
		if flags&script.FlagNoCluster != 0 && s.cl != nil {
			c.replyError("ERR Can not run script on cluster, 'no-cluster' flag is set.")
			return nil
		}
		if stale && flags&script.FlagAllowStale == 0 {
			c.replyError("MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.")
			return nil
		}
		if flags&script.FlagNoWrites == 0 {
			if s.repl.masterHost != "" && s.cfg.Bool("replica-read-only") && !master {
				c.replyError("READONLY Can not run script with write flag on readonly replica")
				return nil
			}
			if s.p.denyWrites.Load() && !master {
				if s.p.aof.writeErr != "" {
					c.replyError("MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: " + s.p.aof.writeErr)
				} else {
					c.replyError("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.")
				}
				return nil
			}
			if ro {
				c.replyError("ERR Can not execute a script with write flag using *_ro command.")
				return nil
			}
			if s.repl.masterHost == "" && !s.enoughGoodReplicas() {
				c.replyError("NOREPLICAS Not enough good replicas to write.")
				return nil
			}
		}
	} else if stale {
		c.replyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
		return nil
	}
	oom := false
	if e := &s.x.evict; e.maxmemory > 0 && !master {
		oom = !s.performEvictions()
	}
	if oom && flags&script.FlagEvalCompat == 0 && flags&(script.FlagAllowOOM|script.FlagNoWrites) == 0 {
		c.replyError("OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'")
		return nil
	}
	r := &scriptRun{s: s, caller: c, flags: flags, oom: oom, slot: -1}
	r.ro = ro || flags&script.FlagEvalCompat == 0 && flags&script.FlagNoWrites != 0
	// processStart plus the monotonic clock: one clock read where
	// time.Now makes two (the run's start is only used for durations).
	r.runv.Init(r, name, eval, processStart.Add(monoNow()))
	r.run = &r.runv
	r.argv = args
	return r
}

// runScript executes exec (which runs the Lua code and writes the reply
// to c.w) as the running script: the script client takes the caller's
// database and user, and the busy timer runs.
func (s *Server) runScript(r *scriptRun, keys [][]byte, exec func(w *resp.Writer) (errMsg string)) {
	s.runScriptCounted(r, keys, func(w *resp.Writer) (string, bool) { return exec(w), false })
}

// runScriptCounted is runScript for an exec that also reports whether
// its error reply was already counted in the error stats.
func (s *Server) runScriptCounted(r *scriptRun, keys [][]byte, exec func(w *resp.Writer) (errMsg string, counted bool)) {
	s.beginScript(r, keys)
	errMsg, counted := exec(&r.caller.w)
	s.endScript(r, errMsg, counted)
}

// beginScript makes r the running script: the script client takes the
// caller's database and user, and the busy timer runs. The caller then
// executes the Lua code, writing the reply to r.caller.w, and calls
// endScript. (EVAL calls the two directly: a closure for
// runScriptCounted would cost an allocation per script.)
func (s *Server) beginScript(r *scriptRun, keys [][]byte) {
	c := r.caller
	sc := s.scriptClient()
	sc.db = c.db
	sc.user = c.user
	sc.flags &^= clientMulti
	sc.flags |= c.flags & clientMulti
	sc.frozenNow = c.now
	if sc.frozenNow == 0 {
		sc.frozenNow = time.Now().UnixMilli()
	}
	if s.cl != nil && len(keys) > 0 {
		r.slot = slots.KeySlot(keys[0])
	}
	if len(s.repl.pending) == 0 {
		s.scripts.kept.rewind()
	}
	if !s.scripts.busyHooked {
		// busy-reply-threshold followed through CONFIG SET instead of
		// read (a locked map look-up and a parse) for every script.
		s.scripts.busyHooked = true
		_ = s.cfg.OnChange("busy-reply-threshold", func(v string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("busy-reply-threshold %q: %w", v, err)
			}
			s.scripts.busyMs.Store(n)
			return nil
		})
	}
	if limit := s.scripts.busyMs.Load(); limit > 0 {
		r.busyAfter = time.Duration(limit) * time.Millisecond
	}
	s.scripts.running.Store(r)
	if r.busyAfter > 0 {
		s.armBusyTimer(r)
	}
}

// armBusyTimer makes sure the busy timer fires by the time r is past
// busy-reply-threshold. Called after r is stored as running: a firing
// that found no script has already disarmed the timer (under timerMu).
func (s *Server) armBusyTimer(r *scriptRun) {
	ss := &s.scripts
	due := r.run.Start.Add(r.busyAfter)
	ss.timerMu.Lock()
	defer ss.timerMu.Unlock()
	if ss.busyTimer == nil {
		// Made stopped, then armed below: the callback, which takes
		// timerMu, never sees the field unset.
		ss.busyTimer = time.AfterFunc(time.Hour, s.checkBusyScript)
		ss.busyTimer.Stop()
	}
	if ss.busyArmed && !due.Before(ss.busyDue) {
		return // fires in time; it re-arms itself for r if r is not done
	}
	ss.busyArmed, ss.busyDue = true, due
	ss.busyTimer.Reset(time.Until(due))
}

// endScript ends the run begun by beginScript: r is no longer running,
// its waiters wake, and its error reply is counted.
func (s *Server) endScript(r *scriptRun, errMsg string, counted bool) {
	c := r.caller
	sc := s.scripts.client
	s.scripts.running.Store(nil)
	r.wakeWaiters(true)
	s.repl.propSkip = 0
	sc.flags &^= clientMulti
	sc.frozenNow = 0
	if errMsg != "" && !counted {
		s.countErrorReply(c, errMsg)
	} else if errMsg != "" {
		// Already in the error counts: the script's command still
		// counts as failed, as Redis's afterErrorReply does.
		c.errs++
		if c.cmd != nil {
			if st := s.stats.CmdStats[c.cmd.FullName()]; st != nil {
				st.FailedCalls++
			} else {
				s.stats.CmdStats[c.cmd.FullName()] = &CmdStat{FailedCalls: 1}
			}
		}
	}
}

// checkBusyScript runs on the busy timer (one per server, reset for
// each script): it marks the running script busy once it has run for
// busy-reply-threshold, or waits the rest of that time.
func (s *Server) checkBusyScript() {
	ss := &s.scripts
	ss.timerMu.Lock()
	ss.busyArmed = false
	r := ss.running.Load()
	if r == nil || r.busyFlag.Load() || r.busyAfter == 0 {
		ss.timerMu.Unlock()
		return
	}
	if left := r.busyAfter - time.Since(r.run.Start); left > 0 {
		// Armed for an earlier script: wait for this one's threshold.
		ss.busyArmed, ss.busyDue = true, r.run.Start.Add(r.busyAfter)
		ss.busyTimer.Reset(left)
		ss.timerMu.Unlock()
		return
	}
	ss.timerMu.Unlock()
	if !r.busyFlag.CompareAndSwap(false, true) {
		return
	}
	r.wakeWaiters(false)
	kill := "SCRIPT KILL"
	if !r.run.Eval {
		kill = "FUNCTION KILL"
	}
	s.log.Warn(fmt.Sprintf("Slow script detected: still in execution after %d milliseconds. You can try killing the script using the %s command. Script name is: %s.",
		time.Since(r.run.Start).Milliseconds(), kill, r.run.Name))
}

// countScriptRefusal counts a command refused inside a script in INFO
// errorstats, as Redis's afterErrorReply does: the script's own error
// reply that follows is then not counted again.
func (s *Server) countScriptRefusal(msg string) {
	s.stats.TotalErrorReplies++
	code := "ERR"
	if strings.HasPrefix(msg, "-") {
		code = msg[1:]
		if i := strings.IndexByte(code, ' '); i > 0 {
			code = code[:i]
		}
	}
	s.stats.ErrorStats[code]++
	s.errMark = s.stats.TotalErrorReplies // not the script's own failure
}

// countErrorReply counts an error reply written directly to c.w (a
// script's) as replyError counts its own.
func (s *Server) countErrorReply(c *Client, msg string) {
	s.stats.TotalErrorReplies++
	code := msg
	if i := strings.IndexByte(msg, ' '); i > 0 {
		code = msg[:i]
	}
	s.stats.ErrorStats[code]++
	c.errs++
}

// Call runs one command for the script (Redis's scriptCall).
func (r *scriptRun) Call(args [][]byte, proto int) ([]byte, string) {
	s := r.s
	sc := s.scripts.client
	cmd := sc.lookupCommand(args[0])
	if cmd != nil && cmd.Subcommands != nil && len(args) >= 2 {
		if sub := cmd.Subcommands[strings.ToLower(string(args[1]))]; sub != nil {
			cmd = sub
		} else if cmd.Handler == nil {
			cmd = nil
		}
	}
	if cmd == nil {
		msg := "Unknown Redis command called from script"
		s.countScriptRefusal(msg)
		return nil, msg
	}
	if !arityOK(cmd.Arity, len(args)) || cmd.Handler == nil {
		msg := "Wrong number of args calling Redis command from script"
		s.rejectedCall(cmd)
		s.countScriptRefusal(msg)
		return nil, msg
	}
	refuse := func(msg string) ([]byte, string) {
		s.rejectedCall(cmd)
		s.countScriptRefusal(msg)
		return nil, msg
	}
	if cmd.Has(FlagNoScript) && !s.scripts.allowNoScript {
		return refuse("This Redis command is not allowed from script")
	}
	master := r.caller.flags&clientMaster != 0
	if s.repl.masterHost != "" && s.repl.state != linkConnected && !s.cfg.Bool("replica-serve-stale-data") && !cmd.Has(FlagStale) {
		return refuse("Can not execute the command on a stale replica")
	}
	if u := r.caller.user; u != nil && !u.AllPermissions() && !master {
		if ac := s.acl.byCmd[cmd]; ac != nil {
			res, pos := u.Check(ac, args)
			if res != acl.OK {
				s.aclLogDenied(r.caller, cmd, args, res, acl.ContextLua, pos)
				return refuse("The user executing the script " + aclErrorMessage(res))
			}
		}
	}
	if r.ro && cmd.Has(FlagWrite|FlagMayReplicate) {
		return refuse("Write commands are not allowed from read-only scripts.")
	}
	dirty := r.run.WriteDirty.Load()
	if cmd.Has(FlagWrite) && !dirty {
		if s.repl.masterHost != "" && s.cfg.Bool("replica-read-only") && !master {
			return refuse("-READONLY You can't write against a read only replica.")
		}
		if msg := s.diskError(r.caller, cmd); msg != "" {
			return refuse("-" + msg)
		}
		if s.repl.masterHost == "" && !s.enoughGoodReplicas() {
			return refuse("-NOREPLICAS Not enough good replicas to write.")
		}
	}
	if r.flags&script.FlagAllowOOM == 0 && s.x.evict.maxmemory > 0 && !master && !dirty && r.oom && cmd.Has(FlagDenyOOM) {
		return refuse("-OOM command not allowed when used memory > 'maxmemory'.")
	}
	if cmd.Has(FlagWrite) {
		r.run.WriteDirty.Store(true)
	}
	if s.cl != nil && !master {
		if msg := r.clusterCheck(cmd, args); msg != "" {
			return refuse(msg)
		}
	}
	switch r.run.Repl {
	case script.ReplAll:
		s.repl.propSkip = 0
	case script.ReplAOF:
		s.repl.propSkip = skipReplicas
	case script.ReplReplica:
		s.repl.propSkip = skipAOF
	default:
		s.repl.propSkip = skipAOF | skipReplicas
	}
	sc.w.Proto = proto
	sc.w.B = sc.w.B[:0]
	sc.batchWall = r.caller.batchWall
	sc.batchMono = r.caller.batchMono
	queued := len(s.repl.pending)
	s.execute(sc, cmd, args)
	s.repl.propSkip = 0
	// The effects wait for the end of the script in s.repl.pending, but
	// args is the engine's scratch space, reused by the next call.
	for i := queued; i < len(s.repl.pending); i++ {
		s.repl.pending[i].args = s.scripts.kept.keep(s.repl.pending[i].args)
	}
	return sc.w.B, ""
}

// clusterCheck refuses a command whose keys are not served here, or that
// uses another slot than the script's (unless allow-cross-slot-keys).
func (r *scriptRun) clusterCheck(cmd *Command, args [][]byte) string {
	s := r.s
	cs := s.cl
	keys := cs.appendKeys(nil, cmd, args)
	if len(keys) == 0 {
		return ""
	}
	c := r.caller
	q := cluster.Query{Asking: c.flags&clientAsking != 0, ReadOnly: c.flags&clientReadonly != 0, Write: cmd.Has(FlagWrite)}
	q.Keys = keys
	q.Down = !cs.node.StateOK(cs.requireFull.Load())
	q.AllowReadsWhenDown = cs.allowReadsWhenDown.Load()
	q.Exists = cs.exists
	q.Endpoint = cluster.Endpoint(cs.endpoint.Load())
	if msg := cs.node.View().Redirect(&q); msg != "" {
		switch msg {
		case cluster.ErrDownReadOnly:
			return "Script attempted to execute a write command while the cluster is down and readonly"
		case cluster.ErrDown:
			return "Script attempted to execute a command while the cluster is down"
		}
		return "Script attempted to access a non local key in a cluster node"
	}
	slot := slots.KeySlot(keys[0])
	if r.run.Eval && r.flags&script.FlagEvalCompat != 0 || r.flags&script.FlagAllowCrossSlot != 0 {
		return ""
	}
	if r.slot == -1 {
		r.slot = slot
	} else if r.slot != slot {
		return "Script attempted to access keys that do not hash to the same slot"
	}
	return ""
}

// ACLCheck is redis.acl_check_cmd.
func (r *scriptRun) ACLCheck(args [][]byte) (allowed, known bool) {
	s := r.s
	cmd := s.scripts.client.lookupCommand(args[0])
	if cmd != nil && cmd.Subcommands != nil && len(args) >= 2 {
		if sub := cmd.Subcommands[strings.ToLower(string(args[1]))]; sub != nil {
			cmd = sub
		}
	}
	if cmd == nil || !arityOK(cmd.Arity, len(args)) {
		return false, false
	}
	u := r.caller.user
	if u == nil || u.AllPermissions() {
		return true, true
	}
	ac := s.acl.byCmd[cmd]
	if ac == nil {
		return true, true
	}
	res, _ := u.Check(ac, args)
	return res == acl.OK, true
}

// aclErrorMessage is Redis's getAclErrorMessage.
func aclErrorMessage(res int) string {
	switch res {
	case acl.DeniedCommand:
		return "can't run this command or subcommand"
	case acl.DeniedKey:
		return "can't access at least one of the keys mentioned in the command arguments"
	case acl.DeniedChannel:
		return "can't publish to the channel mentioned in the command"
	}
	return "lacking the permissions for the command"
}
