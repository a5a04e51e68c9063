package node

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/pqsort"
)

// TestSortScore: weights are read like C's strtod over the whole text
// (up to a NUL byte), refusing NaN, overflow and inexact underflow.
func TestSortScore(t *testing.T) {
	ok := map[string]float64{
		"1": 1, "-2.5": -2.5, " 7": 7, "": 0, "0x10": 16, "inf": math.Inf(1), "-Infinity": math.Inf(-1),
		"1e3": 1000, ".5": 0.5, "5.": 5, "+3": 3, "1\x00junk": 1, "0x1p-1074": 0x1p-1074,
		"2.2250738585072014e-308": 2.2250738585072014e-308,
	}
	for in, want := range ok {
		got, valid := sortScore(in)
		if !valid || got != want {
			t.Errorf("sortScore(%q) = %v, %v; want %v", in, got, valid, want)
		}
	}
	for _, in := range []string{"abc", "1 ", " ", "nan", "1e400", "1e-400", "1e-310", "1_0", "0x", "1e", "--1"} {
		if v, valid := sortScore(in); valid {
			t.Errorf("sortScore(%q) = %v, accepted", in, v)
		}
	}
}

// TestSortCStrcmp: ALPHA without STORE compares as strcmp does, so the
// bytes after a NUL do not count and bytes compare unsigned.
func TestSortCStrcmp(t *testing.T) {
	cases := []struct {
		a, b string
		sign int
	}{
		{"a", "b", -1}, {"b", "a", 1}, {"a\x00x", "a\x00y", 0}, {"a\x00", "a", 0}, {"a", "ab", -1},
		{"\xff", "a", 1}, {"", "", 0}, {"", "\x00", 0},
	}
	for _, c := range cases {
		got := cStrcmp(c.a, c.b)
		if (got > 0) != (c.sign > 0) || (got < 0) != (c.sign < 0) {
			t.Errorf("cStrcmp(%q, %q) = %d, want sign %d", c.a, c.b, got, c.sign)
		}
	}
}

// TestSortPartialSortRange: the partial quicksort puts the wanted range
// in order (the rest only partitioned), for every range of a few inputs.
func TestSortPartialSortRange(t *testing.T) {
	for _, n := range []int{0, 1, 6, 7, 8, 41, 100} {
		for from := 0; from < n; from += 1 + n/10 {
			for to := from; to < n; to += 1 + n/7 {
				items := make([]sortItem, n)
				for i := range items {
					// Many duplicates, in a scrambled order.
					items[i] = sortItem{score: float64((i * 37) % 11)}
				}
				sorted := make([]float64, n)
				for i := range items {
					sorted[i] = items[i].score
				}
				sortFloat(sorted)
				cmp := func(a, b sortItem) int {
					switch {
					case a.score < b.score:
						return -1
					case a.score > b.score:
						return 1
					}
					return 0
				}
				pqsort.Range(n, from, to,
					func(i, j int) int { return cmp(items[i], items[j]) },
					func(i, j int) { items[i], items[j] = items[j], items[i] })
				for i := from; i <= to; i++ {
					if items[i].score != sorted[i] {
						t.Fatalf("n=%d range [%d,%d]: position %d holds %v, want %v", n, from, to, i, items[i].score, sorted[i])
					}
				}
			}
		}
	}
}

func sortFloat(v []float64) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j-1] > v[j]; j-- {
			v[j-1], v[j] = v[j], v[j-1]
		}
	}
}

// TestSortOnReplica: a read-only replica refuses SORT (a write command,
// STORE or not) and serves SORT_RO; SORT ... STORE on the master reaches
// the replica.
func TestSortOnReplica(t *testing.T) {
	master := startTestServer(t)
	replica := startTestServer(t)
	mc := dialRaw(t, master)
	rc := dialRaw(t, replica)
	replicateFrom(t, rc, master)

	if got := mc.do(t, "RPUSH", "src", "3", "1", "2"); got != ":3\r\n" {
		t.Fatalf("RPUSH: %q", got)
	}
	if got := mc.do(t, "SORT", "src", "DESC", "STORE", "dst"); got != ":3\r\n" {
		t.Fatalf("SORT STORE: %q", got)
	}
	want := "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$1\r\n1\r\n"
	waitUntil(t, "stored list on the replica", 10*time.Second, func() bool {
		return rc.do(t, "LRANGE", "dst", "0", "-1") == want
	})
	for _, argv := range [][]string{{"SORT", "src"}, {"SORT", "src", "STORE", "x"}} {
		if got := rc.do(t, argv...); !strings.HasPrefix(got, "-READONLY ") {
			t.Errorf("%v on the replica: %q", argv, got)
		}
	}
	if got := rc.do(t, "SORT_RO", "src"); got != "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n" {
		t.Errorf("SORT_RO on the replica: %q", got)
	}
	// An empty result deletes the destination, on the replica too.
	if got := mc.do(t, "SORT", "nokey", "STORE", "dst"); got != ":0\r\n" {
		t.Fatalf("SORT empty STORE: %q", got)
	}
	waitUntil(t, "destination deleted on the replica", 10*time.Second, func() bool {
		return rc.do(t, "EXISTS", "dst") == ":0\r\n"
	})
}
