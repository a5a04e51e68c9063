package node

// CLIENT PAUSE / CLIENT UNPAUSE. A paused command waits, with the data
// lock released, until the pause ends (timeout or UNPAUSE) and then runs,
// as Redis's postponed clients do. Its arguments stay valid meanwhile:
// they alias the client's own read buffer, which only its goroutine
// touches.

import (
	"strconv"
	"strings"
	"time"
)

func init() {
	registerSub("client",
		&Command{Name: "pause", Arity: -3, Flags: "admin noscript loading stale sentinel", Group: "connection", Since: "2.9.50", Summary: "Stop processing commands from clients for some time", Complexity: "O(1)", Handler: cmdClientPause},
		&Command{Name: "unpause", Arity: 2, Flags: "admin noscript loading stale sentinel", Group: "connection", Since: "6.2.0", Summary: "Resume processing of clients that were paused", Complexity: "O(N) Where N is the number of paused clients", Handler: cmdClientUnpause},
	)
}

// pauseState is the current client pause, guarded by the data lock.
type pauseState struct {
	// shutdown: writes wait while a shutdown waits for replicas (Redis's
	// PAUSE_DURING_SHUTDOWN); apart from CLIENT PAUSE, which can't lift it
	shutdown bool
	failover bool // the same for FAILOVER (PAUSE_DURING_FAILOVER)
	active   bool
	all      bool // ALL; otherwise WRITE
	end      time.Time
	// changed is closed whenever the pause ends or is modified, waking
	// the paused clients so they re-check.
	changed chan struct{}
}

func cmdClientPause(c *Client, args [][]byte) {
	if len(args) > 4 {
		c.replySyntax()
		return
	}
	all := true
	if len(args) == 4 {
		switch strings.ToLower(string(args[3])) {
		case "write":
			all = false
		case "all":
		default:
			c.replyError("ERR CLIENT PAUSE mode must be WRITE or ALL")
			return
		}
	}
	ms, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		c.replyError("ERR timeout is not an integer or out of range")
		return
	}
	if ms < 0 {
		c.replyError(errNegativeTime)
		return
	}
	c.srv.pauseClients(time.UnixMilli(c.now).Add(time.Duration(ms)*time.Millisecond), all)
	c.replyOK()
}

func cmdClientUnpause(c *Client, args [][]byte) {
	c.srv.unpauseClients()
	c.replyOK()
}

// pauseClients starts or extends a pause: the stricter mode and the later
// end win, as in Redis.
func (s *Server) pauseClients(end time.Time, all bool) {
	p := &s.x.pause
	if p.active {
		p.all = p.all || all
		if end.After(p.end) {
			p.end = end
		}
	} else {
		p.active, p.all, p.end = true, all, end
	}
	s.pauseChanged()
	s.updateGate()
}

func (s *Server) unpauseClients() {
	if !s.x.pause.active {
		return
	}
	s.x.pause.active = false
	s.pauseChanged()
	s.updateGate()
}

func (s *Server) pauseChanged() {
	if s.x.pause.changed != nil {
		close(s.x.pause.changed)
	}
	s.x.pause.changed = make(chan struct{})
}

// pausedFor reports whether cmd of c must wait now; it ends a pause whose
// time is up.
func (s *Server) pausedFor(c *Client, cmd *Command) bool {
	p := &s.x.pause
	if p.active && !time.Now().Before(p.end) {
		s.unpauseClients()
	}
	if !p.active && !p.shutdown && !p.failover {
		return false
	}
	if c.flags&(clientReplica|clientMaster) != 0 {
		return false
	}
	if p.active && p.all {
		return true
	}
	if cmd.Has(FlagWrite | FlagMayReplicate) {
		return true
	}
	return cmd.Name == "exec" && cmd.parent == nil && c.x.tx != nil && c.x.tx.flags&(FlagWrite|FlagMayReplicate) != 0
}

// admitPaused waits out a pause that applies to cmd. It runs under the
// data lock and returns with it held. waited: the lock was released, so
// the world may have changed (this server became a replica, a key moved):
// the caller checks the command again from the start, as Redis processes
// a postponed command anew. ok false: the server shut down meanwhile.
func (s *Server) admitPaused(c *Client, cmd *Command) (ok, waited bool) {
	defer func() { c.flags &^= clientPostponed }()
	for s.pausedFor(c, cmd) {
		waited = true
		c.flags |= clientPostponed
		ch, end := s.x.pause.changed, s.x.pause.end
		if !s.x.pause.active {
			end = time.Now().Add(time.Hour) // the shutdown's pause: until changed
		}
		s.mu.Unlock()
		t := time.NewTimer(time.Until(end))
		select {
		case <-ch:
		case <-t.C:
		case <-s.done:
		}
		t.Stop()
		s.mu.Lock()
		select {
		case <-s.done:
			return false, waited
		default:
		}
	}
	return true, waited
}

// updateGate recomputes whether call() must consult admit for clients
// that are neither in MULTI nor subscribed.
func (s *Server) updateGate() {
	s.x.gated = s.x.pause.active || s.x.pause.shutdown || s.x.pause.failover || s.x.evict.maxmemory > 0 || len(s.x.monitors) > 0 || s.ld.active || s.trk.over
	// While clients are paused nothing expires (Redis: the dataset stays
	// constant so that a failover finds it as the replicas do).
	s.store.HoldExpired = s.x.pause.active || s.x.pause.shutdown || s.x.pause.failover
}

// pauseCron ends a CLIENT PAUSE whose time is up even when no command
// comes to notice it, so that keys start expiring again on time.
func (s *Server) pauseCron() {
	if p := &s.x.pause; p.active && !time.Now().Before(p.end) {
		s.unpauseClients()
	}
}
