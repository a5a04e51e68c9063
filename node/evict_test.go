package node

import (
	"strconv"
	"strings"
	"testing"
)

func TestEvictionPoolKeepsBest(t *testing.T) {
	var e evictState
	for _, sc := range []uint64{5, 1, 9, 3, 7, 20, 2, 8, 11, 4, 6, 15, 13, 12, 10, 14, 16, 0, 18} {
		e.poolInsert(evictCandidate{key: strconv.FormatUint(sc, 10), score: sc})
	}
	if len(e.pool) != 16 {
		t.Fatalf("pool has %d entries, want 16", len(e.pool))
	}
	for i := 1; i < len(e.pool); i++ {
		if e.pool[i-1].score >= e.pool[i].score {
			t.Fatalf("pool not ascending at %d: %v", i, e.pool)
		}
	}
	if e.pool[len(e.pool)-1].score != 20 || e.pool[0].score != 3 {
		t.Fatalf("pool kept %d..%d, want 3..20", e.pool[0].score, e.pool[len(e.pool)-1].score)
	}
}

func TestMaxmemoryOOMAndEviction(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	val := strings.Repeat("v", 1000)
	s.Lock()
	base := s.usedMemory()
	s.Unlock()
	limit := base + 200*1024
	expect(t, c, "+OK\r\n", "CONFIG", "SET", "maxmemory", strconv.FormatInt(limit, 10))
	oom := ""
	for i := 0; i < 1000 && oom == ""; i++ {
		if r := do(t, c, "SET", "k"+strconv.Itoa(i), val); strings.HasPrefix(r, "-") {
			oom = r
		}
	}
	if oom != "-OOM command not allowed when used memory > 'maxmemory'.\r\n" {
		t.Fatalf("noeviction: got %q, want the OOM error", oom)
	}
	// Reads still work; inside MULTI anything queued is refused, EXEC
	// then aborts.
	expect(t, c, "$1000\r\n"+val+"\r\n", "GET", "k0")
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "-OOM command not allowed when used memory > 'maxmemory'.\r\n", "GET", "k0")
	expect(t, c, "-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")

	expect(t, c, "+OK\r\n", "CONFIG", "SET", "maxmemory-policy", "allkeys-random")
	for i := 1000; i < 2000; i++ {
		if r := do(t, c, "SET", "k"+strconv.Itoa(i), val); r != "+OK\r\n" {
			t.Fatalf("allkeys-random SET answered %q", r)
		}
	}
	s.Lock()
	used, evicted := s.usedMemory(), s.stats.EvictedKeys
	s.Unlock()
	if evicted == 0 || float64(used) > 1.1*float64(limit) {
		t.Fatalf("used %d (limit %d), evicted %d", used, limit, evicted)
	}
}
