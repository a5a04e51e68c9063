package node

import (
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/store"
)

// TestUsedMemoryFirstEstimate: the first used_memory figure after a bulk
// load of values of widely spread sizes (what Redis's memefficiency test
// reads) is close to the exact sum of the entries' sizes. With 16
// samples it was off by about 11% on average.
func TestUsedMemoryFirstEstimate(t *testing.T) {
	c := stringTestClient(t)
	s := c.srv
	rng := rand.New(rand.NewSource(1))
	const trials, keys = 20, 2000
	var sumErr float64
	for trial := 0; trial < trials; trial++ {
		replRun(c, "FLUSHALL")
		s.mu.Lock()
		base := s.usedMemory()
		s.mu.Unlock()
		for j := 0; j < keys; j++ {
			replRun(c, "SET key:"+strconv.Itoa(j)+" A"+strings.Repeat("A", rng.Intn(16384)))
		}
		s.mu.Lock()
		est := float64(s.usedMemory() - base)
		var exact float64
		s.store.DBs[0].Dict().Each(func(e *store.Entry) bool {
			exact += float64(entrySize(e))
			return true
		})
		s.mu.Unlock()
		sumErr += math.Abs(est-exact) / exact
	}
	if mean := sumErr / trials; mean > 0.05 {
		t.Fatalf("first estimate off by %.1f%% on average, want under 5%%", 100*mean)
	}
}
