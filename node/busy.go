package node

// Serving clients while a script is busy.
//
// Redis, once a script has run longer than busy-reply-threshold, goes
// back to its event loop between Lua instructions and answers other
// clients -BUSY, except for the few commands flagged allow_busy (SCRIPT
// KILL, FUNCTION KILL, SHUTDOWN NOSAVE, the transaction commands). Here
// the script holds the data lock for its whole run, so a client that
// finds the lock taken by a busy script answers its commands itself,
// without the lock (lockForBatch). What it cannot answer that way waits
// for the lock as any command does.
//
// Two simplifications, written down: the -BUSY replies are not counted
// in INFO errorstats (the counters live under the lock), and a client
// that was already waiting for the lock when the script started gets
// its reply when the script ends, not -BUSY.

import (
	"errors"
	"strings"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
)

const (
	errBusyEval     = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
	errBusyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
)

// lockOrBusyScript takes the data lock, unless a script that is past
// busy-reply-threshold holds it: it then returns that script, and the
// lock is not held.
func (s *Server) lockOrBusyScript() *scriptRun {
	for {
		if s.mu.TryLock() {
			return nil
		}
		r := s.scripts.running.Load()
		if r == nil {
			// Counted so that a background saver stepping through a
			// snapshot can let the waiting clients in first (savepace.go).
			s.p.lockWaiters.Add(1)
			s.mu.Lock()
			s.p.lockWaiters.Add(-1)
			return nil
		}
		<-r.waitChan() // closed once r is busy or has ended
		if r.busyNow() {
			return r
		}
	}
}

// lockForBatch takes the data lock to execute the client's batch. While
// a busy script holds it, the batch's commands are answered without it;
// it reports false when they all were (the lock is then not held).
func (s *Server) lockForBatch(c *Client) bool {
	if r := s.lockOrBusyScript(); r != nil {
		return c.serveBusy(r)
	}
	return true
}

// lockForConnect takes the lock to register a new connection, unless a
// busy script holds it (false: the lock is not held).
func (s *Server) lockForConnect() bool { return s.lockOrBusyScript() == nil }

// serveBusy answers the buffered commands while r is busy. It returns
// true, holding the lock, when a command needs it (that command has then
// been executed), false when every command was answered.
func (c *Client) serveBusy(r *scriptRun) bool {
	s := c.srv
	for c.flags&(clientCloseAfterReply|clientCloseASAP) == 0 {
		args, err := c.p.Next()
		if err != nil {
			s.mu.Lock()
			if !c.registerLate() {
				return true
			}
			var pe *resp.ProtocolError
			if errors.As(err, &pe) {
				c.replyError("ERR " + pe.Error())
			}
			c.flags |= clientCloseAfterReply
			return true
		}
		if args == nil {
			return false
		}
		cmd := s.cmds[strings.ToLower(string(args[0]))]
		if cmd != nil && cmd.Subcommands != nil && len(args) >= 2 {
			if sub := cmd.Subcommands[strings.ToLower(string(args[1]))]; sub != nil {
				cmd = sub
			}
		}
		switch {
		case cmd == nil:
			c.flagTransaction()
			c.w.AppendError(unknownCommandError(args))
			continue
		case !arityOK(cmd.Arity, len(args)) || cmd.Handler == nil:
			c.flagTransaction()
			c.w.AppendError("ERR wrong number of arguments for '" + cmd.FullName() + "' command")
			continue
		case c.protectedCommandError(cmd) != "":
			c.flagTransaction()
			c.w.AppendError(c.protectedCommandError(cmd))
			continue
		case !c.authed && !cmd.Has(FlagNoAuth):
			c.w.AppendError(errNoAuth)
			continue
		case cmd.Has(FlagAllowBusy) && c.busyServe(r, cmd, args):
			continue
		case !cmd.Has(FlagAllowBusy) && !(cmd.parent == nil && cmd.Name == "exec"):
			c.flagTransaction()
			c.w.AppendError(busyError(r))
			continue
		case cmd.parent == nil && cmd.Name == "exec" && c.flags&clientMulti != 0 && len(c.x.watching) == 0:
			// EXEC refused while busy ends the transaction (Redis's
			// rejectCommand), which touches only this client.
			c.x.tx = nil
			c.flags &^= clientMulti
			c.x.dirtyCAS = false
			c.w.AppendError("EXECABORT Transaction discarded because of: " + busyError(r))
			continue
		case cmd.parent == nil && cmd.Name == "exec" && c.flags&clientMulti == 0:
			c.w.AppendError(busyError(r))
			continue
		}
		// What needs the data (WATCH, AUTH, an EXEC with watched keys):
		// run under the lock, after the script.
		s.mu.Lock()
		if !c.registerLate() {
			return true
		}
		c.batchWall = time.Now()
		c.batchMono = monoNow()
		s.call(c, args)
		return true
	}
	return false
}

// registerLate registers a connection accepted while a script was busy,
// now that the lock is held; false when it was refused (and closed).
func (c *Client) registerLate() bool {
	if !c.unregistered {
		return true
	}
	c.unregistered = false
	if !c.srv.registerClient(c) {
		c.flags |= clientCloseASAP
		return false
	}
	return true
}

func busyError(r *scriptRun) string {
	if r.run.Eval {
		return errBusyEval
	}
	return errBusyFunction
}

// busyServe serves the allow_busy commands that need no data while the
// script r is busy: SCRIPT KILL, FUNCTION KILL, FUNCTION STATS, and the
// transaction commands that touch only this client. It reports false
// for the others, which wait for the lock (SHUTDOWN NOSAVE too, once it
// has stopped the script).
func (c *Client) busyServe(r *scriptRun, cmd *Command, args [][]byte) bool {
	name := cmd.FullName()
	inMulti := c.flags&clientMulti != 0
	switch name {
	case "multi":
		if inMulti {
			c.w.AppendError(errNestedMulti)
		} else {
			c.flags |= clientMulti
			c.x.tx = &txState{}
			c.w.AppendOK()
		}
		return true
	case "discard":
		if !inMulti {
			c.w.AppendError(errDiscardNoMulti)
			return true
		}
		if len(c.x.watching) > 0 {
			return false
		}
		c.x.tx = nil
		c.flags &^= clientMulti
		c.x.dirtyCAS = false
		c.w.AppendOK()
		return true
	case "unwatch":
		if len(c.x.watching) > 0 || inMulti {
			return false
		}
		c.w.AppendOK()
		return true
	}
	if inMulti && name != "watch" && name != "exec" && name != "reset" && name != "quit" {
		c.queueCommand(cmd, args)
		c.w.AppendSimple("QUEUED")
		return true
	}
	switch name {
	case "script|kill", "function|kill":
		eval := name == "script|kill"
		switch {
		case r.caller.flags&clientMaster != 0:
			c.w.AppendError("UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.")
		case r.run.WriteDirty.Load():
			c.w.AppendError("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
		case eval && !r.run.Eval, !eval && r.run.Eval:
			c.w.AppendError(busyError(r))
		default:
			r.run.Kill()
			c.w.AppendOK()
		}
		return true
	case "function|stats":
		c.busyFunctionStats(r) // cmd_function.go
		return true
	case "shutdown":
		for _, a := range args[1:] {
			if eqFold(a, "nosave") {
				// The script's writes are not saved anyway: stop it so
				// that SHUTDOWN gets the lock.
				r.run.Kill()
				return false
			}
		}
		// Redis's shutdownCommand: while a script is busy, only
		// SHUTDOWN NOSAVE (a SHUTDOWN that would save waited for the
		// lock here, that is for a script that may never end).
		c.w.AppendError(busyError(r))
		return true
	}
	return false
}
