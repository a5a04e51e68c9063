package cluster

// consistency strong in cluster mode (docs/consistency.md): the cluster's
// Raft leader grants every strong master its lease, as the sentinels'
// leader does in sentinel mode (sentinel/lease.go), with the same rounds:
// prepare, record the in-sync set (set-isr, kind cluster) when it changed,
// VerifyLeader, grant. Failover rules (failover.go): a strong master is
// promoted away from only after its lease surely expired (no grant is sent
// once the leader decided to fail it over), only to a member of its
// in-sync set, and a master that restarted (another run id at its address)
// is failed over at once. Manual failovers are refused (fsm StartFailover).

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/consistency"
	"github.com/skiffdb/skiff/fsm"
)

// leases is the leader's lease bookkeeping.
type leases struct {
	mu       sync.Mutex
	granter  *consistency.Granter
	busy     map[string]bool
	last     map[string]time.Time
	conns    map[string]*consistency.LeaseConn
	noGrant  map[string]bool // a failover of this master is being decided
	rebooted map[string]bool // the lease holder restarted: fail over
	fails    *consistency.RoundLog
}

func newLeases(d time.Duration) *leases {
	return &leases{granter: consistency.NewGranter(d), busy: map[string]bool{}, last: map[string]time.Time{},
		conns: map[string]*consistency.LeaseConn{}, noGrant: map[string]bool{}, rebooted: map[string]bool{},
		fails: &consistency.RoundLog{After: 3 * d, Every: 10 * time.Second}}
}

// leaseLoop runs the rounds while this node leads the group.
func (n *Node) leaseLoop() {
	defer n.wg.Done()
	ls := n.lease
	period := ls.granter.Duration / 4
	tick := time.NewTicker(period / 2)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-tick.C:
		}
		g := n.Group()
		leader := g != nil && g.Raft().State() == raft.Leader
		now := time.Now()
		ls.mu.Lock()
		ls.granter.SetLeader(leader, now)
		ls.mu.Unlock()
		if !leader {
			continue
		}
		v := n.View()
		for _, x := range v.Nodes {
			if !x.Master {
				n.leaseResume(x.ID) // a demoted master may be promoted again later
				continue
			}
			if x.Fail {
				continue
			}
			ls.mu.Lock()
			due := !ls.busy[x.ID] && !ls.noGrant[x.ID] && now.Sub(ls.last[x.ID]) >= period
			if due {
				ls.busy[x.ID], ls.last[x.ID] = true, now
			}
			ls.mu.Unlock()
			if due {
				go n.leaseRound(x.ID, x.Addr)
			}
		}
	}
}

func (n *Node) leaseRound(id, addr string) {
	ls := n.lease
	defer func() {
		ls.mu.Lock()
		ls.busy[id] = false
		ls.mu.Unlock()
	}()
	err := n.leaseRoundErr(id, addr)
	if err == nil {
		if ls.fails.OK(id) {
			n.log.Info("consistency strong: the master holds a lease again", "master", id)
		}
		return
	}
	if warn, failing := ls.fails.Failed(id, time.Now()); warn {
		n.log.Warn("consistency strong: no lease granted to the master (it refuses commands meanwhile)",
			"master", id, "addr", addr, "for", failing.Round(time.Millisecond), "error", err)
	} else {
		n.log.Debug("lease round failed", "master", id, "addr", addr, "error", err)
	}
}

func (n *Node) leaseRoundErr(id, addr string) error {
	ls := n.lease
	g := n.Group()
	if g == nil {
		return fmt.Errorf("no group")
	}
	ls.mu.Lock()
	lc := ls.conns[id]
	if lc != nil && lc.Addr != addr {
		lc.Close()
		lc = nil
	}
	if lc == nil {
		lc = &consistency.LeaseConn{Addr: addr, Pass: n.opts.PeerPassword, Dial: dialPeer}
		ls.conns[id] = lc
	}
	d := ls.granter.Duration
	ls.mu.Unlock()

	prep, err := lc.Prepare()
	if err != nil {
		return err
	}
	rec, ok := g.FSM().Node(id)
	if !ok || rec.Role != fsm.RoleMaster || rec.Addr != addr || rec.Failed {
		return fmt.Errorf("not a live master any more")
	}
	if rec.RunID != "" && rec.RunID != prep.RunID {
		ls.mu.Lock()
		if !ls.rebooted[id] {
			ls.rebooted[id] = true
			n.log.Warn("consistency strong: the master restarted (its lease holder lost its data); failing over",
				"master", id, "holder", rec.RunID, "now", prep.RunID)
		}
		ls.mu.Unlock()
		if id == n.myID() {
			// The restarted master leads the group itself (its Raft state
			// survived on disk): the failure detector never judges its own
			// node, so hand the leadership over.
			go g.Raft().LeadershipTransfer()
		}
		return fmt.Errorf("run id %s is not the lease holder %s", prep.RunID, rec.RunID)
	}
	version, list := rec.ISRVersion, rec.ISR
	if consistency.MustRecord(prep, rec.RunID, rec.ISRVersion, rec.ISR, rec.ISRAddrs) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := proposeSure(ctx, g, &fsm.SetISR{Kind: fsm.FailoverCluster, Name: id, RunID: prep.RunID,
			PrevVersion: rec.ISRVersion, ISR: prep.Desired, Addrs: prep.Addrs})
		cancel()
		if err != nil {
			return fmt.Errorf("record in-sync set: %w", err)
		}
		version, list = res.Index, prep.Desired
	}
	vctx, vcancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = g.VerifyLeader(vctx)
	vcancel()
	if err != nil {
		return fmt.Errorf("verify leadership: %w", err)
	}
	ls.mu.Lock()
	if ls.noGrant[id] || !ls.granter.Leader() {
		ls.mu.Unlock()
		return fmt.Errorf("failover being decided or leadership lost")
	}
	ls.granter.Sending(id, time.Now())
	ls.mu.Unlock()
	return lc.Grant(prep, d, version, list)
}

// strongHolds reports whether a master is run in consistency strong.
func (n *Node) strongMaster(id string) (fsm.Node, bool) {
	g := n.Group()
	if g == nil || n.lease == nil {
		return fsm.Node{}, false
	}
	rec, ok := g.FSM().Node(id)
	return rec, ok && rec.Strong
}

// leaseReleased is asked before a strong master is failed over: it stops
// the grants to it and reports whether its lease has surely expired.
func (n *Node) leaseReleased(id string) bool {
	ls := n.lease
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.noGrant[id] = true
	return !time.Now().Before(ls.granter.SafeAt(id))
}

// leaseResume lets grants to a master go on (it is reachable again, or no
// longer a master).
func (n *Node) leaseResume(id string) {
	if n.lease == nil {
		return
	}
	ls := n.lease
	ls.mu.Lock()
	delete(ls.noGrant, id)
	delete(ls.rebooted, id)
	ls.mu.Unlock()
}

func (n *Node) leaseRebooted(id string) bool {
	if n.lease == nil {
		return false
	}
	ls := n.lease
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.rebooted[id]
}
