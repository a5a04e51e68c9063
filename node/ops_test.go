package node

import (
	"testing"
	"time"
)

func TestLatencyBucket(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {999 * time.Nanosecond, 0}, {time.Microsecond, 1}, {1999 * time.Nanosecond, 1},
		{2 * time.Microsecond, 2}, {3 * time.Microsecond, 2}, {4 * time.Microsecond, 3},
		{1023 * time.Microsecond, 10}, {1024 * time.Microsecond, 11},
		{time.Second, 20}, {2 * time.Second, LatencyBuckets - 1}, {time.Hour, LatencyBuckets - 1}, {-time.Second, 0},
	} {
		if got := latencyBucket(c.d); got != c.want {
			t.Errorf("latencyBucket(%v) = %d, want %d", c.d, got, c.want)
		}
		// The bucket's bound holds: d < 2^i µs for every finite bucket.
		if i := latencyBucket(c.d); i < LatencyBuckets-1 && c.d >= time.Duration(1<<i)*time.Microsecond {
			t.Errorf("%v in bucket %d (< %d µs)", c.d, i, 1<<i)
		}
	}
}

// The histogram must not cost the command path an allocation.
func TestLatencyBucketNoAlloc(t *testing.T) {
	var st CmdStat
	if n := testing.AllocsPerRun(1000, func() { st.Hist[latencyBucket(37*time.Microsecond)]++ }); n != 0 {
		t.Fatalf("%v allocations per record", n)
	}
}
