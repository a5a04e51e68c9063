package cluster

// Replica migration (cluster-allow-replica-migration,
// cluster-migration-barrier), as Redis 7.0's clusterCron /
// clusterHandleSlaveMigration and CLUSTER SETSLOT NODE decide it. Like
// in Redis each node decides for itself, with its own settings, from
// its view of the metadata (the same on every node: the applied Raft
// state) and of its peers' liveness (the peer poller's PFAIL); the move
// is one replicate entry for this node.
//
//   - An orphaned master (a working master owning slots, with no working
//     replica left, that used to have replicas or was promoted from one:
//     Redis's MIGRATE_TO flag) gets a replica: when this node is a
//     replica, allowed to migrate, its master keeps more than
//     cluster-migration-barrier working replicas, its master has the most
//     working replicas of all masters (at least two), this node has the
//     smallest id among the replicas of such masters, and the target has
//     been orphaned for 5 s (CLUSTER_SLAVE_MIGRATION_DELAY), it replicates
//     the target.
//   - A master that loses its last slot to another node (SETSLOT NODE,
//     e.g. redis-cli --cluster rebalance) becomes that node's replica when
//     migration is allowed; its replicas follow it (the replicate entry
//     re-points them, as Redis's replicas follow a master that turned
//     into a replica).

import (
	"time"

	"github.com/skiffdb/skiff/fsm"
)

// MigrationSettings are a node's replica-migration options.
type MigrationSettings struct {
	Allow       bool // cluster-allow-replica-migration
	Barrier     int  // cluster-migration-barrier
	RequireFull bool // cluster-require-full-coverage (cluster state)
}

// replicaMigrationDelay is Redis's CLUSTER_SLAVE_MIGRATION_DELAY.
const replicaMigrationDelay = 5 * time.Second

// migration is the migration loop's memory (only its goroutine uses it).
type migration struct {
	migrateTo     map[string]bool      // Redis's MIGRATE_TO flag
	orphanedSince map[string]time.Time // orphaned masters
	wasReplica    map[string]bool      // roles in the last view
	mySlots       []int                // slots this master owned last
	gen           uint64               // the member generation mySlots is about
	lastTry       time.Time
}

func (n *Node) migrationLoop() {
	defer n.wg.Done()
	m := &migration{migrateTo: map[string]bool{}, orphanedSince: map[string]time.Time{}, wasReplica: map[string]bool{}}
	for {
		select {
		case <-n.stop:
			return
		case <-time.After(100 * time.Millisecond): // Redis's clusterCron period
		}
		if n.opts.Migration == nil || n.Group() == nil {
			continue
		}
		n.migrationStep(m, n.opts.Migration(), time.Now())
	}
}

// okReplicas counts a master's replicas that are neither failed nor
// suspected by this node (clusterCountNonFailingSlaves).
func (n *Node) okReplicas(v *View, m *NodeInfo) int {
	c := 0
	for _, r := range m.Replicas {
		if r.Fail {
			continue
		}
		if r.ID != v.SelfID {
			if st, ok := n.peerState(r.ID); ok && st.PFail {
				continue
			}
		}
		c++
	}
	return c
}

func (n *Node) migrationStep(m *migration, s MigrationSettings, now time.Time) {
	v := n.View()
	if v == nil || v.Lone || v.gen != m.gen {
		// A new member (MEET, RESET): what this node owned before is
		// not a slot it lost.
		m.mySlots = nil
		if v != nil {
			m.gen = v.gen
		}
		return
	}
	// MIGRATE_TO: masters that had replicas, and replicas promoted since
	// the last look.
	for _, x := range v.Nodes {
		if !x.Master {
			m.wasReplica[x.ID] = true
			continue
		}
		if len(x.Replicas) > 0 || (m.wasReplica[x.ID] && x.ID != v.SelfID) {
			m.migrateTo[x.ID] = true
		}
		delete(m.wasReplica, x.ID)
	}
	if now.Sub(m.lastTry) < time.Second {
		return // a move was just proposed: let the view catch up
	}
	if v.Self.Master {
		n.lostAllSlots(m, v, s, now)
		return
	}
	m.mySlots = nil
	if !s.Allow || !n.StateOK(s.RequireFull) {
		return
	}
	mine := v.Node(v.Self.MasterID)
	if mine == nil {
		return
	}
	thisOK := n.okReplicas(v, mine)
	if thisOK <= s.Barrier {
		return
	}
	maxOK := 0
	for _, x := range v.Nodes {
		if x.Master {
			if c := n.okReplicas(v, x); c > maxOK {
				maxOK = c
			}
		}
	}
	if maxOK < 2 || thisOK != maxOK {
		return
	}
	var target *NodeInfo
	candidate := v.SelfID
	for _, x := range v.Nodes { // id order
		ok := 0
		if x.Master {
			ok = n.okReplicas(v, x)
		}
		if x.Master && !x.Fail && m.migrateTo[x.ID] && ok == 0 {
			if target == nil && x.NumSlots > 0 {
				target = x
			}
			if _, seen := m.orphanedSince[x.ID]; !seen {
				m.orphanedSince[x.ID] = now
			}
		} else {
			delete(m.orphanedSince, x.ID)
		}
		if x.Master && ok == maxOK {
			for _, r := range x.Replicas {
				if r.ID < candidate {
					candidate = r.ID
				}
			}
		}
	}
	if target == nil || candidate != v.SelfID || now.Sub(m.orphanedSince[target.ID]) <= replicaMigrationDelay {
		return
	}
	n.log.Info("Migrating to orphaned master", "master", target.ID)
	m.lastTry = now
	if _, err := n.propose(&fsm.Replicate{ID: v.SelfID, MasterID: target.ID}); err != nil {
		n.log.Warn("replica migration failed", "master", target.ID, "error", err)
	}
}

// lostAllSlots turns this master into a replica of the node that took
// its last slot (CLUSTER SETSLOT NODE with cluster-allow-replica-migration).
func (n *Node) lostAllSlots(m *migration, v *View, s MigrationSettings, now time.Time) {
	if v.Self.NumSlots > 0 {
		m.mySlots = m.mySlots[:0]
		for _, r := range v.Self.Slots {
			for i := r.Start; i <= r.End; i++ {
				m.mySlots = append(m.mySlots, i)
			}
		}
		return
	}
	lost := m.mySlots
	if len(lost) == 0 || !s.Allow {
		m.mySlots = nil
		return
	}
	var owner *NodeInfo
	for i := len(lost) - 1; i >= 0 && owner == nil; i-- {
		if o := v.Owner[lost[i]]; o != nil && o.ID != v.SelfID && o.Master {
			owner = o
		}
	}
	if owner == nil {
		m.mySlots = nil // unassigned (DELSLOTS): stays a master
		return
	}
	n.log.Warn("Configuration change detected. Reconfiguring myself as a replica of " + owner.ID)
	m.lastTry = now
	if _, err := n.propose(&fsm.Replicate{ID: v.SelfID, MasterID: owner.ID}); err != nil {
		n.log.Warn("turning into a replica of the node that took the last slot failed", "master", owner.ID, "error", err)
		return
	}
	m.mySlots = nil
}
