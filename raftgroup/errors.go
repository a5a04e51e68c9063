package raftgroup

import (
	"errors"
	"fmt"
)

// NotLeaderError is returned by leader-only operations on a member that is
// not the leader. The leader fields are empty when no leader is known.
type NotLeaderError struct {
	LeaderID        string
	LeaderRaftAddr  string
	LeaderAdminAddr string // "" when the leader's node entry is not applied yet
}

func (e *NotLeaderError) Error() string {
	if e.LeaderID == "" {
		return "not the leader and no leader is known (election in progress or no quorum)"
	}
	if e.LeaderAdminAddr == "" {
		return fmt.Sprintf("not the leader; the leader is %s at raft address %s", e.LeaderID, e.LeaderRaftAddr)
	}
	return fmt.Sprintf("not the leader; forward to %s (node %s, admin %s)", e.LeaderRaftAddr, e.LeaderID, e.LeaderAdminAddr)
}

// IsNotLeader reports whether err is (or wraps) a *NotLeaderError.
func IsNotLeader(err error) bool {
	var nl *NotLeaderError
	return errors.As(err, &nl)
}

// ConflictError is a membership request that contradicts the current
// membership (an id at another address, an address used by another id, a
// removed id).
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// NotFoundError is a membership request naming an unknown member.
type NotFoundError struct{ Msg string }

func (e *NotFoundError) Error() string { return e.Msg }

// InvalidError is a malformed request.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// ErrClosed is returned after Close.
var ErrClosed = errors.New("raft group is shut down")

// ErrOutcomeUnknown wraps a proposal whose entry was appended but whose
// leader lost leadership before it committed: it may or may not be applied.
// It is not safe to retry blindly.
var ErrOutcomeUnknown = errors.New("leadership lost while committing; the outcome is unknown")
