package consistency

import (
	"sort"
	"time"
)

// Granter is the Raft leader's bookkeeping for the leases it grants. It
// answers one question: when may a master be replaced? Not before every
// lease it might hold has expired: those this process sent (LastGrant) and
// those a previous leader might have sent before this process became the
// leader (LeaderSince). Times are monotonic (time.Time with its monotonic
// reading, compared with Sub).
type Granter struct {
	Duration    time.Duration // the lease length every granter of the group uses
	leaderSince time.Time     // when this process last became the leader; zero while it is not
	lastGrant   map[string]time.Time
}

// NewGranter returns a granter for leases of duration d.
func NewGranter(d time.Duration) *Granter {
	return &Granter{Duration: d, lastGrant: map[string]time.Time{}}
}

// SetLeader records a change of leadership seen at now. Becoming the
// leader restarts the clock a predecessor's grants are waited out from.
func (g *Granter) SetLeader(leader bool, now time.Time) {
	switch {
	case leader && g.leaderSince.IsZero():
		g.leaderSince = now
	case !leader:
		g.leaderSince = time.Time{}
	}
}

// Leader reports whether SetLeader last said this process leads.
func (g *Granter) Leader() bool { return !g.leaderSince.IsZero() }

// Sending records a grant to holder about to be sent at now. Record it
// before the bytes leave, so that a concurrent promotion check sees it.
func (g *Granter) Sending(holder string, now time.Time) { g.lastGrant[holder] = now }

// SafeAt is the earliest time at which holder surely holds no lease: the
// later of GranterWait after its last grant from here and GranterWait
// after this process became the leader.
func (g *Granter) SafeAt(holder string) time.Time {
	w := GranterWait(g.Duration)
	t := g.leaderSince.Add(w)
	if last, ok := g.lastGrant[holder]; ok && last.Add(w).After(t) {
		t = last.Add(w)
	}
	return t
}

// Forget drops the record of a holder that no longer exists.
func (g *Granter) Forget(holder string) { delete(g.lastGrant, holder) }

// SameSet reports whether two run id lists hold the same members.
func SameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}
