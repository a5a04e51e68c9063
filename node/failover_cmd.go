package node

// FAILOVER: Redis 7.0's coordinated switch of a standalone master with
// one of its replicas, without losing writes. The master pauses writes,
// waits until the target replica (or, without TO, any replica) has
// acknowledged the whole stream, then becomes a replica of it and sends
// it "PSYNC <replid> <offset> FAILOVER", which makes the replica promote
// itself and continue the history; the old master follows it from there.
// TIMEOUT bounds the wait (FORCE then fails over anyway), FAILOVER ABORT
// cancels it. Replica side: cmdSync's PSYNC ... FAILOVER.

import (
	"strconv"
	"strings"
	"time"
)

func init() {
	register(&Command{Name: "failover", Arity: -1, Flags: "admin noscript stale", Group: "server", Since: "6.2.0",
		Summary: "Start a coordinated failover between this server and one of its replicas.", Complexity: "O(1)", Handler: cmdFailover})
}

const (
	failoverNone = iota
	failoverWaitForSync
	failoverInProgress
)

var failoverStateNames = [...]string{"no-failover", "waiting-for-sync", "failover-in-progress"}

// failoverState is guarded by the data lock.
type failoverState struct {
	state     int
	end       time.Time // zero: no TIMEOUT
	force     bool
	host      string // the target; "" until one is chosen (FAILOVER without TO)
	port      int
	targetSet bool
}

func cmdFailover(c *Client, args [][]byte) {
	s := c.srv
	f := &s.repl.failover
	if s.cfg.Bool("cluster-enabled") {
		c.replyError("ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.")
		return
	}
	if len(args) == 2 && strings.EqualFold(string(args[1]), "abort") {
		if f.state == failoverNone {
			c.replyError("ERR No failover in progress.")
			return
		}
		s.abortFailover("Failover manually aborted")
		c.replyOK()
		return
	}
	var timeoutMs, port int64
	var host string
	hostSet, force := false, false
	for j := 1; j < len(args); j++ {
		a := string(args[j])
		switch {
		case strings.EqualFold(a, "timeout") && j+1 < len(args) && timeoutMs == 0:
			n, err := strconv.ParseInt(string(args[j+1]), 10, 64)
			if err != nil {
				c.replyError(errNotInt)
				return
			}
			if n <= 0 {
				c.replyError("ERR FAILOVER timeout must be greater than 0")
				return
			}
			timeoutMs = n
			j++
		case strings.EqualFold(a, "to") && j+2 < len(args) && !hostSet:
			n, err := strconv.ParseInt(string(args[j+2]), 10, 64)
			if err != nil {
				c.replyError(errNotInt)
				return
			}
			host, port, hostSet = string(args[j+1]), n, true
			j += 2
		case strings.EqualFold(a, "force") && !force:
			force = true
		default:
			c.replySyntax()
			return
		}
	}
	r := &s.repl
	switch {
	case f.state != failoverNone:
		c.replyError("ERR FAILOVER already in progress.")
		return
	case r.masterHost != "":
		c.replyError("ERR FAILOVER is not valid when server is a replica.")
		return
	case len(r.replicas) == 0:
		c.replyError("ERR FAILOVER requires connected replicas.")
		return
	case force && (timeoutMs == 0 || !hostSet):
		c.replyError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
		return
	}
	*f = failoverState{force: force}
	if hostSet {
		rc := s.findReplica(host, int(port))
		if rc == nil {
			c.replyError("ERR FAILOVER target HOST and PORT is not a replica.")
			return
		}
		if rc.state != replicaOnline {
			c.replyError("ERR FAILOVER target replica is not online.")
			return
		}
		f.host, f.port, f.targetSet = host, int(port), true
		s.log.Info("FAILOVER requested to " + host + ":" + strconv.FormatInt(port, 10) + ".")
	} else {
		s.log.Info("FAILOVER requested to any replica.")
	}
	if timeoutMs > 0 {
		f.end = time.Now().Add(time.Duration(timeoutMs) * time.Millisecond)
	}
	f.state = failoverWaitForSync
	s.x.pause.failover = true
	s.pauseChanged()
	s.updateGate()
	c.replyOK()
}

// findReplica is the replica announcing host:port (its announced or peer
// address, and its listening port), nil if none.
func (s *Server) findReplica(host string, port int) *replicaConn {
	for _, rc := range s.repl.replicas {
		if strings.EqualFold(replicaIP(rc), host) && rc.listenPort == port {
			return rc
		}
	}
	return nil
}

// failoverCron moves a waiting failover on: to the target once it caught
// up, or past the timeout. Under the lock.
func (s *Server) failoverCron() {
	f := &s.repl.failover
	if f.state != failoverWaitForSync {
		return
	}
	if !f.end.IsZero() && !time.Now().Before(f.end) {
		if f.force {
			s.log.Info("FAILOVER to " + f.host + ":" + strconv.Itoa(f.port) + " time out exceeded, failing over.")
			s.startFailoverTo()
			return
		}
		s.abortFailover("Replica never caught up before timeout")
		return
	}
	var rc *replicaConn
	if f.targetSet {
		rc = s.findReplica(f.host, f.port)
	} else {
		for _, x := range s.repl.replicas {
			if x.ackOff == s.repl.offset {
				rc = x
				f.host, f.port, f.targetSet = replicaIP(x), x.listenPort, true
				break
			}
		}
	}
	if rc != nil && rc.ackOff == s.repl.offset {
		s.log.Info("Failover target " + f.host + ":" + strconv.Itoa(f.port) + " is synced, failing over.")
		s.startFailoverTo()
	}
}

// startFailoverTo becomes a replica of the target; the link sends PSYNC
// with FAILOVER (linkSession) and settles the outcome.
func (s *Server) startFailoverTo() {
	f := &s.repl.failover
	f.state = failoverInProgress
	s.setMasterLocked(f.host, f.port)
}

// clearFailover ends a failover, lifting its pause.
func (s *Server) clearFailover() {
	s.repl.failover = failoverState{}
	if s.x.pause.failover {
		s.x.pause.failover = false
		s.pauseChanged()
		s.updateGate()
	}
}

// abortFailover cancels a failover; one already handed to the target
// makes this server a master again.
func (s *Server) abortFailover(why string) {
	f := &s.repl.failover
	if f.state == failoverNone {
		return
	}
	if f.targetSet {
		s.log.Info("FAILOVER to " + f.host + ":" + strconv.Itoa(f.port) + " aborted: " + why)
	} else {
		s.log.Info("FAILOVER to any replica aborted: " + why)
	}
	if f.state == failoverInProgress {
		s.unsetMasterLocked()
	}
	s.clearFailover()
}

// failoverPSyncOutcome settles a failover after the PSYNC FAILOVER sent
// to the target: accepted (continue or full sync) ends it, anything else
// aborts it. It reports whether the link must stop. Under the lock.
func (s *Server) failoverPSyncOutcome(err error) (stop bool) {
	if s.repl.failover.state != failoverInProgress {
		return false
	}
	if err != nil {
		s.abortFailover("Failover target rejected psync request")
		return true
	}
	s.clearFailover()
	return false
}
