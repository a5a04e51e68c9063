package node

import "time"

var processStart = time.Now()

// monoNow reads the monotonic clock (cheaper than time.Now).
func monoNow() time.Duration { return time.Since(processStart) }

// lruClock is the access clock stored in each key: seconds since the
// process started, wrapping at 2^24 like Redis's LRU clock.
func lruClock() uint32 {
	return uint32(time.Since(processStart)/time.Second) & (1<<24 - 1)
}

// idleSeconds is OBJECT IDLETIME for an entry's clock value.
func idleSeconds(lru uint32) int64 {
	now := lruClock()
	if now >= lru {
		return int64(now - lru)
	}
	return int64(now + (1<<24 - lru))
}

var processStartMs = processStart.UnixMilli()

// lruAt is the LRU clock at unix time ms (a command's c.now), without
// reading the clock again.
func lruAt(ms int64) uint32 {
	return uint32((ms-processStartMs)/1000) & (1<<24 - 1)
}
