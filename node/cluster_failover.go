package node

import "time"

// DataAge tells the cluster's failure detector how fresh this replica's
// data is (cluster-replica-validity-factor): since the last byte from the
// master while the link is up, since the link went down otherwise.
// Called with the lock held.
func (l clusterLocal) DataAge() (time.Duration, bool) {
	r := &l.s.repl
	now := time.Now()
	switch {
	case r.master != nil:
		if r.lastIO.IsZero() {
			return 0, true
		}
		return now.Sub(r.lastIO), true
	case !r.hasHistory:
		return 0, false
	case !r.downSince.IsZero():
		return now.Sub(r.downSince), true
	case !r.lastIO.IsZero():
		return now.Sub(r.lastIO), true
	}
	return 0, true
}

// Locked runs f with the server lock held.
func (l clusterLocal) Locked(f func()) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	f()
}
