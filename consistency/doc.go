// Package consistency holds the pure parts of `consistency strong`: the
// master's lease (lease.go), the in-sync replica set a master waits for
// before it answers (isr.go), and the timing rules a Raft leader follows
// before granting a lease or promoting a replica (granter.go).
//
// The three guarantees of strong mode (docs/consistency.md):
//
//   - A master answers a command only once every replica that could be
//     promoted has the effects of everything it has executed so far: the
//     in-sync set (ISR) is recorded in the Raft group, a failover promotes
//     only a member of it, and the master's wait set always contains the
//     recorded set.
//   - A master serves only while it holds a lease granted by the Raft
//     leader after a quorum check; the leader promotes only after every
//     lease it or a previous leader could have granted has expired.
//   - A replica never acknowledges a client write (replicas refuse writes),
//     and a replica that was left behind or restarted is not in the ISR,
//     so it can't be promoted.
//
// Nothing here takes a lock: node, sentinel and cluster call into it
// under their own. leaseclient.go is the one piece that talks to the
// network: the granter's side of the lease exchange.
package consistency
