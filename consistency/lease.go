package consistency

import (
	"time"
)

// Clock-rate assumptions. A lease is measured twice: by the master from
// the moment it answered the leader's prepare (its own monotonic clock),
// and by the granter from the moment it sent the grant (its monotonic
// clock). The master gives up at HolderFraction of the duration and the
// granter waits GranterFactor of it, so the scheme stays safe as long as
// the holder's clock runs at least HolderFraction/GranterFactor ≈ 0.82
// times as fast as the granter's (18 % slower at most; a faster holder
// clock only ends its lease sooner). Monotonic clocks of real machines
// differ by parts per million; the margin is for virtualised clocks and
// is documented in docs/consistency.md.
const (
	HolderFraction = 0.9
	GranterFactor  = 1.1
)

// Lease is a master's permission to serve. The zero value holds nothing.
// Times are monotonic offsets from an origin the owner chooses (node uses
// the time since process start), so a wall-clock step can't extend it.
type Lease struct {
	until time.Duration // serve while now < until
	epoch uint64        // highest ISR version the grants carried (informational)
}

// Grant extends the lease to anchor + HolderFraction·d, where anchor is
// the monotonic time at which this process answered the prepare the
// grant answers. A late or replayed grant can only shorten nothing: the
// lease keeps the latest end.
func (l *Lease) Grant(anchor, d time.Duration) {
	if d <= 0 {
		return
	}
	end := anchor + time.Duration(float64(d)*HolderFraction)
	if end > l.until {
		l.until = end
	}
}

// Valid reports whether the lease is held at monotonic time now.
func (l *Lease) Valid(now time.Duration) bool { return now < l.until }

// Remaining is how long the lease still runs at now (0 when expired).
func (l *Lease) Remaining(now time.Duration) time.Duration {
	if now >= l.until {
		return 0
	}
	return l.until - now
}

// Revoke drops the lease at once (demotion, SLAVEOF).
func (l *Lease) Revoke() { l.until = 0 }

// GranterWait is how long after sending a grant of duration d (or after
// becoming the leader that might have to honour a predecessor's grant of
// at most d) a granter must wait before the lease has surely expired.
func GranterWait(d time.Duration) time.Duration {
	return time.Duration(float64(d)*GranterFactor) + 10*time.Millisecond
}
