package sentinel

import (
	"context"

	"github.com/skiffdb/skiff/fsm"
)

// Meta is the engine's view of the sentinels' Raft group. The process
// wiring implements it over raftgroup; the group behind it may change
// while the sentinel runs (a lone sentinel joining the group of its peers),
// so the engine never keeps anything it returns.
type Meta interface {
	// Propose commits a command through the group's leader, forwarding it
	// when this member is not the leader.
	Propose(ctx context.Context, cmd fsm.Command) (fsm.Result, error)
	// VerifyLeader confirms with a quorum of voters that this member is
	// still the leader (hashicorp/raft's VerifyLeader); lease grants
	// depend on it (lease.go).
	VerifyLeader(ctx context.Context) error
	// IsLeader reports whether this member is the Raft leader and has
	// heard from a majority of voters recently: only then may it act.
	IsLeader() bool
	// Monitor returns the group's record of a monitored master.
	Monitor(name string) (fsm.Monitor, bool)
	// Failover returns the failover in progress for a master, if any.
	Failover(name string) (fsm.Failover, bool)
	// CurrentEpoch is the group's current epoch.
	CurrentEpoch() uint64
	// Status summarises the group for INFO, CKQUORUM and SENTINEL
	// SENTINELS.
	Status() MetaStatus
	// Applied returns a channel closed at the next change of the group's
	// state (an applied entry, or the group being replaced), so that a
	// failover recorded by the leader reaches this sentinel's clients
	// without waiting for the next tick.
	Applied() <-chan struct{}
}

// MetaStatus is what the engine reports about the group.
type MetaStatus struct {
	MyID       string // this member's node id (= the sentinel's myid)
	LeaderID   string // "" when no leader is known
	Members    int    // voters and non-voters
	Voters     int
	Reachable  int // voters this member knows to be reachable (the leader knows; others: Voters if they hear a leader, else 1)
	HasQuorum  bool
	MemberIDs  []string
	VoterIDs   []string
	GroupState string // "Leader", "Follower", "Candidate", "Shutdown", or "joining"
}
