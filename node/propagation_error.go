package node

import (
	"fmt"
	"os"
)

// An error reply on a replication link, or to the AOF loader, means the
// two sides' datasets may have diverged: the replica ran a command its
// master accepted, or the AOF holds a command this server refuses. It
// goes nowhere useful (nobody reads replies on those links), so it is
// logged, counted in unexpected_error_replies, and, as
// propagation-error-behavior says, may stop the process: panic stops on
// a read-only replica and on AOF load, panic-on-replicas only on the
// replica, ignore never.

// exitProcess ends the process; tests replace it.
var exitProcess = os.Exit

// replicationLinkError runs for every error reply. Under the lock.
func (c *Client) replicationLinkError(msg string) {
	s := c.srv
	isMaster := c.flags&clientMaster != 0 && c == s.repl.master
	isAOF := c.flags&clientMaster != 0 && !isMaster && s.p.aof.loading
	isReplica := c.flags&clientReplica != 0
	if !isMaster && !isAOF && !isReplica {
		return
	}
	from, to := "master", "replica"
	switch {
	case isAOF:
		from, to = "server", "AOF-loading-client"
	case isMaster:
		from, to = "replica", "master"
	}
	cmd := "<unknown>"
	if c.cmd != nil {
		cmd = c.cmd.FullName()
	}
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	s.log.Warn(fmt.Sprintf("== CRITICAL == This %s is sending an error to its %s: '%s' after processing the command '%s'", from, to, msg, cmd))
	s.stats.UnexpectedErrors++
	behavior := s.cfg.String("propagation-error-behavior")
	readOnly := s.cfg.Bool("replica-read-only")
	if isMaster && readOnly && (behavior == "panic" || behavior == "panic-on-replicas") || isAOF && behavior == "panic" {
		s.log.Error(fmt.Sprintf("This %s panicked sending an error to its %s after processing the command '%s' (propagation-error-behavior %s)", from, to, cmd, behavior))
		exitProcess(1)
	}
}
