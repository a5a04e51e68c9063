package consistency

import (
	"sync"
	"time"
)

// RoundLog decides when a granter's failing lease rounds are worth a
// warning. One failed round is routine (a master being failed over, a
// dropped connection) and stays at debug level; a master that has gone
// without a grant for longer than After serves nothing in strong mode,
// which an operator must be able to see in the log, once per Every.
type RoundLog struct {
	After, Every time.Duration

	mu      sync.Mutex
	since   map[string]time.Time // first failure of the current run of failures
	lastLog map[string]time.Time
}

// Failed records a failed round for holder at now and reports whether to
// warn, and for how long the rounds have been failing.
func (l *RoundLog) Failed(holder string, now time.Time) (warn bool, failing time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.since == nil {
		l.since, l.lastLog = map[string]time.Time{}, map[string]time.Time{}
	}
	s, ok := l.since[holder]
	if !ok {
		l.since[holder] = now
		return false, 0
	}
	failing = now.Sub(s)
	if failing < l.After {
		return false, failing
	}
	if last, ok := l.lastLog[holder]; ok && now.Sub(last) < l.Every {
		return false, failing
	}
	l.lastLog[holder] = now
	return true, failing
}

// OK records a successful round and reports whether a warning was logged
// for the failures it ends (so that the recovery is logged too).
func (l *RoundLog) OK(holder string) (recovered bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, recovered = l.lastLog[holder]
	delete(l.since, holder)
	delete(l.lastLog, holder)
	return recovered
}
