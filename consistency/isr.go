package consistency

import "sort"

// ISR is a master's view of its in-sync replicas, identified by run id
// (one process incarnation: a restarted replica has lost what it
// acknowledged and comes back with a new id).
//
// Two sets matter. The committed set is what the Raft group records; a
// failover may promote only one of its members. The wait set is what the
// master waits for before it answers a client: the committed set plus the
// pending additions it reported to the group and that may still be
// committed. The invariant is committed ⊆ wait set, at every moment:
//
//   - an addition enters the wait set when the master reports it (Prepare),
//     before any proposal carrying it exists;
//   - a committed member leaves the wait set only when a grant carries a
//     newer committed set without it (Commit);
//   - a pending member leaves only once the group has committed a version
//     newer than every version it was reported with: proposals are
//     compare-and-set on the version the master reported, so an old
//     proposal carrying it can no longer commit. Prepare asks for such a
//     version (Bump) when nothing else would create one.
type ISR struct {
	// MinSize is the fewest wait-set members a write needs to be
	// admitted: with fewer, the master's failure would leave no replica
	// to promote, and only an operator could bring the data back.
	MinSize int

	version   uint64
	committed map[string]bool
	pending   map[string]uint64 // run id → highest version it was reported with
	acks      map[string]int64  // run id → highest offset acknowledged
}

// NewISR returns an empty view, version 0.
func NewISR(minSize int) *ISR {
	if minSize < 1 {
		minSize = 1
	}
	return &ISR{MinSize: minSize, committed: map[string]bool{}, pending: map[string]uint64{}, acks: map[string]int64{}}
}

// Report is what a master tells the leader in answer to a prepare.
type Report struct {
	Version uint64   // the committed version the master knows
	Desired []string // the set it wants committed (sorted)
	Bump    bool     // commit a new version even if Desired is unchanged
}

// Version is the committed version known here.
func (s *ISR) Version() uint64 { return s.version }

// Committed returns the committed set, sorted.
func (s *ISR) Committed() []string { return sortedKeys(s.committed) }

// WaitSet returns the members a reply waits for, sorted.
func (s *ISR) WaitSet() []string {
	m := map[string]bool{}
	for id := range s.committed {
		m[id] = true
	}
	for id := range s.pending {
		m[id] = true
	}
	return sortedKeys(m)
}

// InWaitSet reports whether a run id is waited for.
func (s *ISR) InWaitSet(id string) bool {
	if s.committed[id] {
		return true
	}
	_, ok := s.pending[id]
	return ok
}

// Ack records the offset a replica acknowledged. It reports whether that
// moved the replica forward.
func (s *ISR) Ack(id string, off int64) bool {
	if id == "" || off <= s.acks[id] {
		return false
	}
	s.acks[id] = off
	return true
}

// Acked is the highest offset a replica acknowledged (0 if none).
func (s *ISR) Acked(id string) int64 { return s.acks[id] }

// ForgetAcks drops what a replica acknowledged: it is about to replace
// its data with a full sync, so its old acknowledgements no longer say
// what it holds. Callers refuse the full sync while it is in the wait set.
func (s *ISR) ForgetAcks(id string) { delete(s.acks, id) }

// Durable reports whether every wait-set member acknowledged target:
// every replica that could ever be promoted then has it. (With an empty
// set, no replica can be promoted and the master's state is the only one.)
func (s *ISR) Durable(target int64) bool {
	for id := range s.committed {
		if s.acks[id] < target {
			return false
		}
	}
	for id := range s.pending {
		if s.acks[id] < target {
			return false
		}
	}
	return true
}

// DurableOffset is the highest offset every wait-set member acknowledged,
// or limit when the set is empty (nothing to wait for up to limit).
func (s *ISR) DurableOffset(limit int64) int64 {
	d := limit
	for id := range s.committed {
		d = min(d, s.acks[id])
	}
	for id := range s.pending {
		d = min(d, s.acks[id])
	}
	return d
}

// Size is the number of wait-set members.
func (s *ISR) Size() int {
	n := len(s.committed)
	for id := range s.pending {
		if !s.committed[id] {
			n++
		}
	}
	return n
}

// Prepare builds the report for a leader's prepare. healthy says whether a
// committed member still keeps up; candidates are healthy replicas that
// are not committed and may join. Candidates enter the wait set now,
// before the report leaves.
func (s *ISR) Prepare(healthy func(id string) bool, candidates []string) Report {
	desired := map[string]bool{}
	for id := range s.committed {
		if healthy(id) {
			desired[id] = true
		}
	}
	for _, id := range candidates {
		if id == "" || s.committed[id] {
			continue
		}
		desired[id] = true
		if v, ok := s.pending[id]; !ok || v < s.version {
			s.pending[id] = s.version
		}
	}
	bump := false
	for id, v := range s.pending {
		if !desired[id] && v >= s.version {
			bump = true // only a newer version lets it go
		}
	}
	return Report{Version: s.version, Desired: sortedKeys(desired), Bump: bump}
}

// Commit applies a committed set carried by a grant. A grant older than
// what is known is ignored (it reports false).
func (s *ISR) Commit(version uint64, list []string) bool {
	if version < s.version {
		return false
	}
	s.version = version
	s.committed = map[string]bool{}
	for _, id := range list {
		if id != "" {
			s.committed[id] = true
		}
	}
	for id, v := range s.pending {
		if s.committed[id] || version > v {
			delete(s.pending, id)
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
