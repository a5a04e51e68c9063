package node

import (
	"math/bits"
	"time"
)

// LatencyBuckets is the number of buckets of the per-command latency
// histogram: bucket i (i < LatencyBuckets-1) counts calls that took less
// than 2^i µs (1 µs … about 1 s), the last one the rest (+Inf).
// Powers of two make the bucket one bits.Len64 away from the duration,
// so recording costs no search and no allocation on the command path.
const LatencyBuckets = 22

// latencyBucket maps a command's duration to its histogram bucket.
func latencyBucket(d time.Duration) int {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	// us in [2^(i-1), 2^i) -> i, so d < 2^i µs; 0 µs -> bucket 0 (< 1 µs).
	i := bits.Len64(us)
	if i >= LatencyBuckets {
		i = LatencyBuckets - 1
	}
	return i
}

// OpsSnapshot is what the admin port's /metrics and topology page read
// from the data node at scrape time: the whole INFO text and the latency
// histogram of every command, taken under the data lock in one go so
// that the figures agree with each other and with INFO.
type OpsSnapshot struct {
	Info string
	// Hist: per command (commandstats' name, e.g. "get",
	// "config|get"), the non-cumulative bucket counts (LatencyBuckets).
	Hist map[string][]uint64
}

// OpsSnapshot takes the snapshot, waiting at most wait for the data
// lock (a script past busy-reply-threshold holds it): ok is false when
// the lock was not had in time; the snapshot is then dropped when the
// lock comes.
func (s *Server) OpsSnapshot(wait time.Duration) (snap OpsSnapshot, ok bool) {
	ch := make(chan OpsSnapshot, 1) // buffered: a late taker never blocks
	go func() {
		s.mu.Lock()
		out := OpsSnapshot{Info: s.genInfo([]string{"everything"}), Hist: make(map[string][]uint64, len(s.stats.CmdStats))}
		for name, st := range s.stats.CmdStats {
			if st.Calls == 0 {
				continue
			}
			out.Hist[name] = append([]uint64(nil), st.Hist[:]...)
		}
		s.mu.Unlock()
		ch <- out
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case snap = <-ch:
		return snap, true
	case <-t.C:
		return OpsSnapshot{}, false
	}
}
