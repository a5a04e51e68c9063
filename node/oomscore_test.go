package node

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func readOOMScore(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(oomScorePath)
	if err != nil {
		t.Skipf("no %s here: %v", oomScorePath, err) // not Linux
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %q", oomScorePath, b)
	}
	return n
}

// TestOOMScoreAdj: the process's score follows the role and the values,
// relative to the score from before, and comes back when turned off.
func TestOOMScoreAdj(t *testing.T) {
	base := readOOMScore(t)
	t.Cleanup(func() { os.WriteFile(oomScorePath, []byte(strconv.Itoa(base)), 0) })
	s := startTestServer(t)
	c := dialRaw(t, s)
	step := func(want int, argv ...string) {
		t.Helper()
		if r := c.do(t, argv...); r != "+OK\r\n" {
			t.Fatalf("%v: %q", argv, r)
		}
		if got := readOOMScore(t); got != want {
			t.Fatalf("after %v: oom_score_adj %d, want %d", argv, got, want)
		}
	}
	step(base, "CONFIG", "SET", "oom-score-adj-values", "10 20 30") // off: untouched
	step(base+10, "CONFIG", "SET", "oom-score-adj", "yes")
	step(base+15, "CONFIG", "SET", "oom-score-adj-values", "15 20 30")
	step(base+20, "REPLICAOF", "127.0.0.1", "1")
	step(base+15, "REPLICAOF", "NO", "ONE")
	step(15, "CONFIG", "SET", "oom-score-adj", "absolute")
	step(base, "CONFIG", "SET", "oom-score-adj", "no")
}
