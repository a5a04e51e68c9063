package cluster

// Raft timeouts that follow cluster-node-timeout.
//
// Unless one of raft-heartbeat-timeout, raft-election-timeout and
// raft-leader-lease-timeout is given, the Raft timeouts of a cluster
// node's member that joins a group (CLUSTER MEET, --join) are derived
// from cluster-node-timeout: heartbeat and election timeout a fifth of it
// (at least 200 ms, Skiff's measured default, at most 1 s, so that a
// lost leader is replaced within a few seconds even with the default
// 15 s node timeout), the leader
// lease half of that. Redis promises nothing faster than
// cluster-node-timeout (a failure is noticed after it), and a lost Raft
// leader is replaced within about two heartbeat timeouts, so the metadata
// is writable again well within it; meanwhile a loaded machine (Redis's
// cluster test suite runs 20 nodes on 2 cores) does not see a leader step
// down each time it is descheduled for 100 ms.
//
// A member that starts its own group (a cluster of one: first start,
// CLUSTER RESET) keeps the fast defaults, so that it elects itself at
// once (CLUSTER RESET then SET-CONFIG-EPOCH). CONFIG SET
// cluster-node-timeout (and the start) reloads the heartbeat and election
// timeouts of the running member, never below its lease, which Raft
// cannot change on a running member.

import (
	"time"

	"github.com/skiffdb/skiff/raftgroup"
)

const (
	minAutoRaftTimeout = 200 * time.Millisecond
	maxAutoRaftTimeout = time.Second
)

// autoRaftTimeout is the heartbeat (and election) timeout for a node
// timeout.
func autoRaftTimeout(nodeTimeout time.Duration) time.Duration {
	t := nodeTimeout / 5
	if t < minAutoRaftTimeout {
		t = minAutoRaftTimeout
	}
	if t > maxAutoRaftTimeout {
		t = maxAutoRaftTimeout
	}
	return t
}

// memberTimeouts sets o's timeouts from cluster-node-timeout when they
// are automatic.
func (n *Node) memberTimeouts(o *raftgroup.Options) {
	if !n.opts.RaftTimeoutsAuto || n.opts.NodeTimeout == nil {
		return
	}
	t := autoRaftTimeout(n.opts.NodeTimeout())
	o.HeartbeatTimeout, o.ElectionTimeout, o.LeaderLeaseTimeout = t, t, t/2
}

// NodeTimeoutChanged is CONFIG SET cluster-node-timeout: with automatic
// Raft timeouts, the running member's heartbeat and election timeouts
// follow (never below its lease, which Raft requires).
func (n *Node) NodeTimeoutChanged(d time.Duration) {
	if !n.opts.RaftTimeoutsAuto {
		return
	}
	g := n.Group()
	if g == nil {
		return
	}
	r := g.Raft()
	t := autoRaftTimeout(d)
	if lease := g.LeaderLeaseTimeout(); t < lease {
		t = lease
	}
	rc := r.ReloadableConfig()
	if rc.HeartbeatTimeout == t && rc.ElectionTimeout == t {
		return
	}
	rc.HeartbeatTimeout, rc.ElectionTimeout = t, t
	if err := r.ReloadConfig(rc); err != nil {
		n.log.Warn("cluster-node-timeout: reloading the raft timeouts", "error", err)
	}
}
