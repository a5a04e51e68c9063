package cluster

import (
	"testing"
	"time"
)

func TestAutoRaftTimeout(t *testing.T) {
	for _, c := range []struct{ nt, want time.Duration }{
		{0, 200 * time.Millisecond},
		{1000 * time.Millisecond, 200 * time.Millisecond},
		{3000 * time.Millisecond, 600 * time.Millisecond},
		{5000 * time.Millisecond, 1000 * time.Millisecond},
		{15000 * time.Millisecond, 1000 * time.Millisecond},
		{60000 * time.Millisecond, 1000 * time.Millisecond},
	} {
		if got := autoRaftTimeout(c.nt); got != c.want {
			t.Errorf("autoRaftTimeout(%v) = %v, want %v", c.nt, got, c.want)
		}
	}
}
