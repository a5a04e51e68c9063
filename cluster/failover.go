package cluster

// Automatic failover. Every node probes every other one (peer.go) and
// suspects a peer once it has not answered for cluster-node-timeout
// ("fail?", Redis's PFAIL). The Raft leader alone turns suspicion into a
// verdict: when it suspects a node, it asks the other voters whether they
// do too (CLUSTER SKIFF-PFAIL), and once a majority of voters agree it
// commits one mark-failed entry that sets the node's FAIL flag and, for a
// master with slots, promotes its best replica with a new config epoch.
// There is no moment where the master is failed and its slots are not
// taken over, a promotion can't be decided twice (it is one log entry),
// and a minority side never decides anything (its leader can't commit).
// Every node then follows the metadata: the promoted replica becomes a
// master keeping its history as replid2 (its siblings resync partially),
// the siblings re-point, and the old master becomes a replica when it
// returns. The leader clears FAIL once it reaches the node again.
//
// Sentinel mode makes the same decisions from its own links; the shared
// pieces (Reachability, Majority, Opinions, PickCandidate) are in package
// sentinel.

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
	"github.com/skiffdb/skiff/sentinel"
)

// failLoop runs on every node and acts only while this node leads the
// Raft group.
func (n *Node) failLoop() {
	defer n.wg.Done()
	var flagTry time.Time // when syncNoFailover last proposed
	var hostTry time.Time // when syncHostname last proposed
	for {
		kicked := false
		select {
		case <-n.stop:
			return
		case <-n.hostKick:
			kicked = true
		case <-time.After(n.pollInterval()):
		}
		g := n.Group()
		if g == nil {
			continue
		}
		if kicked { // HostnameChanged: record it now
			hostTry = time.Time{}
			n.syncHostname(n.View(), &hostTry)
			continue
		}
		n.syncNoFailover(n.View(), &flagTry)
		n.syncHostname(n.View(), &hostTry)
		if g.Raft().State() != raft.Leader {
			continue
		}
		v := n.View()
		for _, x := range v.Nodes {
			if x == v.Self || n.stopped() {
				continue
			}
			n.judge(v, x)
		}
	}
}

// judge decides about one node as the leader.
func (n *Node) judge(v *View, x *NodeInfo) {
	ps, seen := n.peerState(x.ID)
	if !seen {
		return
	}
	// consistency strong (lease.go): a strong master is failed over only
	// once its lease surely expired, to a member of its in-sync set, and
	// at once when its lease holder restarted.
	rec, strong := n.strongMaster(x.ID)
	if x.Fail {
		switch {
		case ps.Reachable && !ps.PFail:
			n.decide(&fsm.MarkFailed{ID: x.ID, Failed: false, DecidedBy: n.myID()}, "the node is reachable again: FAIL cleared")
		case x.Master && x.NumSlots > 0:
			// Failed earlier with no usable replica; one may be usable now.
			if strong && !n.leaseReleased(x.ID) {
				return
			}
			if c, runID, ok := n.pickReplica(x, false, rec); ok {
				n.decide(&fsm.MarkFailed{ID: x.ID, Failed: true, Candidate: c, CandidateRunID: runID, DecidedBy: n.myID()}, "failover of a failed master")
			}
		}
		return
	}
	rebooted := strong && n.leaseRebooted(x.ID)
	if !ps.PFail && !rebooted {
		if strong {
			n.leaseResume(x.ID) // a suspicion that went away
		}
		return
	}
	if !rebooted {
		agree, voters := n.opinions(x.ID)
		if !sentinel.Majority(agree, voters) {
			n.log.Debug("node suspected, no majority yet", "node", x.ID, "agree", agree, "voters", voters)
			if strong {
				// A majority that agreed at an earlier poll (grants were
				// stopped then) may have gone: grants go on until one
				// agrees again, and a failover then waits its lease out
				// afresh.
				n.leaseResume(x.ID)
			}
			return
		}
	}
	cmd := &fsm.MarkFailed{ID: x.ID, Failed: true, DecidedBy: n.myID()}
	why := "marking the node as failing (a majority of voters can't reach it)"
	if rebooted {
		why = "marking the node as failing (consistency strong: it restarted and lost its data)"
	}
	if x.Master && x.NumSlots > 0 {
		if strong && !n.leaseReleased(x.ID) {
			return // again at the next poll, once the lease surely expired
		}
		if c, runID, ok := n.pickReplica(x, true, rec); ok {
			cmd.Candidate, cmd.CandidateRunID = c, runID
			why = "failover: the master is failing, promoting its replica " + c
		} else {
			why = "the master is failing and no replica can take over"
		}
	}
	n.decide(cmd, why)
}

// decide commits a verdict (bounded in time) and logs it.
func (n *Node) decide(cmd *fsm.MarkFailed, why string) {
	g := n.Group()
	if g == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := proposeSure(ctx, g, cmd)
	if err != nil {
		n.log.Warn("failure detector: proposal failed", "node", cmd.ID, "error", err)
		return
	}
	n.log.Warn("failure detector: "+why, "node", cmd.ID, "epoch", res.Epoch, "index", res.Index)
	n.refresh()
}

// opinions asks the voters whether they find the node unreachable; it
// returns the number that do (this leader included) and the number of
// voters.
func (n *Node) opinions(id string) (agree, voters int) {
	g := n.Group()
	if g == nil {
		return 0, 0
	}
	v := n.View()
	var ask []string
	for _, m := range g.Status().Members {
		if m.Suffrage != "voter" {
			continue
		}
		voters++
		switch {
		case m.ID == n.myID():
			agree++
		case m.ID == id:
			// The suspect can't vouch for itself.
		default:
			if x := v.Node(m.ID); x != nil && x.Addr != "" {
				ask = append(ask, x.Addr)
			}
		}
	}
	if voters == 0 {
		return 0, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.pollTimeout())
	defer cancel()
	agree += sentinel.Opinions(ctx, ask, func(ctx context.Context, addr string) bool {
		d, _ := ctx.Deadline()
		rep, err := sendCommand(addr, n.opts.PeerPassword, time.Until(d), "CLUSTER", "SKIFF-PFAIL", id)
		r, ok := rep.(int64)
		return err == nil && ok && r == 1
	})
	return agree, voters
}

// pfailOpinion is this node's answer to CLUSTER SKIFF-PFAIL: 1 when it
// has not heard from the node for the node timeout.
func (n *Node) pfailOpinion(id string) int64 {
	if ps, seen := n.peerState(id); seen && ps.PFail {
		return 1
	}
	return 0
}

// pickReplica chooses the replica of master m to promote: the ones that
// are reachable and call themselves eligible, by replication offset, then
// id. Their state is asked afresh, so that the offsets compared are the
// ones they have now that the master is gone. warn logs when none can be
// promoted (at the verdict; not at every retry while the shard is down).
func (n *Node) pickReplica(m *NodeInfo, warn bool, rec fsm.Node) (string, string, bool) {
	var cands []sentinel.Candidate
	runIDs := map[string]string{}
	var runMu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), n.pollTimeout())
	defer cancel()
	type answer struct {
		c  sentinel.Candidate
		ok bool
	}
	ch := make(chan answer, len(m.Replicas))
	for _, r := range m.Replicas {
		go func(r *NodeInfo) {
			c := sentinel.Candidate{ID: r.ID, Priority: 1}
			if r.Fail {
				ch <- answer{c, false}
				return
			}
			if r.ID == n.myID() {
				if l := n.getLocal(); l != nil {
					c.Offset, c.Eligible = l.Offset(), n.eligibleNow(l)
					c.Eligible = c.Eligible && (!rec.Strong || contains(rec.ISR, l.RunID()))
					runMu.Lock()
					runIDs[r.ID] = l.RunID()
					runMu.Unlock()
				}
				ch <- answer{c, true}
				return
			}
			info, err := QueryInfo(ctx, r.Addr, n.opts.PeerPassword)
			if err != nil || info.ID != r.ID {
				c.Down = true
				ch <- answer{c, true}
				return
			}
			// consistency strong: only an in-sync replica has everything
			// the master acknowledged.
			c.Offset, c.Eligible = info.Offset, info.Eligible && (!rec.Strong || contains(rec.ISR, info.RunID))
			runMu.Lock()
			runIDs[r.ID] = info.RunID
			runMu.Unlock()
			ch <- answer{c, true}
		}(r)
	}
	for range m.Replicas {
		if a := <-ch; a.ok {
			cands = append(cands, a.c)
		}
	}
	c, ok := sentinel.PickCandidate(cands)
	if !ok && warn && len(cands) > 0 {
		n.log.Warn("failure detector: no replica of the failing master can be promoted", "master", m.ID, "replicas", len(m.Replicas))
	}
	return c.ID, runIDs[c.ID], ok
}

func contains(list []string, x string) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

// eligible is a replica's own verdict (locked): Redis's rules for a
// replica that may start a failover. cluster-replica-no-failover forbids
// it; with cluster-replica-validity-factor > 0, a replica whose data is
// older than node-timeout × factor + the replica ping period (beyond the
// node timeout itself) may not either.
func (n *Node) eligible(l Local) bool {
	if n.opts.NoFailover != nil && n.opts.NoFailover() {
		return false
	}
	age, synced := l.DataAge()
	if !synced {
		return false
	}
	factor := 0
	if n.opts.ValidityFactor != nil {
		factor = n.opts.ValidityFactor()
	}
	if factor == 0 {
		return true
	}
	timeout := n.opts.NodeTimeout()
	if age > timeout {
		age -= timeout
	}
	ping := 10 * time.Second
	if n.opts.ReplPingPeriod != nil {
		ping = n.opts.ReplPingPeriod()
	}
	return age <= ping+timeout*time.Duration(factor)
}

// eligibleNow is eligible taking the data node's lock.
func (n *Node) eligibleNow(l Local) bool {
	ok := false
	l.Locked(func() { ok = n.eligible(l) })
	return ok
}

// syncNoFailover keeps this node's "nofailover" flag in the metadata equal
// to its cluster-replica-no-failover setting, so that every node's CLUSTER
// NODES shows it as Redis's gossip would. Retried at most every 5 s.
func (n *Node) syncNoFailover(v *View, flagTry *time.Time) {
	if n.opts.NoFailover == nil || v == nil || v.Lone {
		return
	}
	want := n.opts.NoFailover()
	if v.Self.NoFailover == want || time.Since(*flagTry) < 5*time.Second {
		return
	}
	*flagTry = time.Now()
	var flags []string
	if want {
		flags = []string{"nofailover"}
	}
	if _, err := n.propose(&fsm.SetNodeFlags{ID: n.myID(), Flags: flags}); err != nil {
		n.log.Debug("cannot record cluster-replica-no-failover in the metadata", "error", err)
	}
}

// syncHostname keeps this node's hostname in the metadata equal to its
// cluster-announce-hostname, so that every node shows it as Redis's
// gossip (its hostname ping extension) would. Retried at most every
// second.
func (n *Node) syncHostname(v *View, try *time.Time) {
	if n.opts.Hostname == nil || v == nil || v.Lone {
		return
	}
	want := n.opts.Hostname()
	if v.MetaHostname == want || time.Since(*try) < time.Second {
		return
	}
	*try = time.Now()
	if _, err := n.propose(&fsm.SetNodeHostname{ID: n.myID(), Hostname: want}); err != nil {
		n.log.Debug("cannot record cluster-announce-hostname in the metadata", "error", err)
	}
}

// reachesVoterMajority reports whether this node's probes reach a majority
// of the Raft voters (itself included): then it is on the majority side
// even while the group has no leader.
func (n *Node) reachesVoterMajority(g *raftgroup.Group) bool {
	voters, up := 0, 0
	for _, m := range g.Status().Members {
		if m.Suffrage != "voter" {
			continue
		}
		voters++
		if m.ID == n.myID() {
			up++
			continue
		}
		if ps, seen := n.peerState(m.ID); seen && !ps.PFail {
			up++
		}
	}
	return sentinel.Majority(up, voters)
}
