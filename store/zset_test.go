package store

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"
)

// zmodel is the reference: a plain map, sorted on demand.
type zmodel map[string]float64

func (m zmodel) sorted() []ZMember {
	out := make([]ZMember, 0, len(m))
	for k, v := range m {
		out = append(out, ZMember{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return zless(out[i].Score, out[i].Member, out[j].Score, out[j].Member) })
	return out
}

func checkZSet(t *testing.T, z *ZSet, m zmodel) {
	t.Helper()
	want := m.sorted()
	if z.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", z.Len(), len(want))
	}
	if got := z.Members(); !slices.Equal(got, want) {
		t.Fatalf("members differ:\n got %v\nwant %v", got, want)
	}
	for i, w := range want {
		if r, ok := z.Rank(w.Member); !ok || r != i {
			t.Fatalf("Rank(%q) = %d,%v, want %d", w.Member, r, ok, i)
		}
		if at := z.At(i); at != w {
			t.Fatalf("At(%d) = %v, want %v", i, at, w)
		}
		if s, ok := z.Score(w.Member); !ok || s != w.Score {
			t.Fatalf("Score(%q) = %v,%v", w.Member, s, ok)
		}
	}
	if len(want) > 0 {
		var rev []ZMember
		z.Descend(len(want)-1, func(m ZMember) bool { rev = append(rev, m); return true })
		slices.Reverse(rev)
		if !slices.Equal(rev, want) {
			t.Fatalf("Descend differs")
		}
	}
}

func TestZSetRandomOpsAgainstModel(t *testing.T) {
	for _, lim := range []ZLimits{DefaultZLimits, {Entries: 0, Value: 0}, {Entries: 16, Value: 64}} {
		t.Run(fmt.Sprintf("entries=%d", lim.Entries), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(lim.Entries)))
			z := NewZSet(0, 0, lim)
			m := zmodel{}
			for step := 0; step < 4000; step++ {
				member := fmt.Sprintf("m%03d", r.IntN(300))
				score := float64(r.IntN(50)) // many ties: member order matters
				switch op := r.IntN(10); {
				case op < 5:
					if _, ok := m[member]; ok {
						z.Update(member, score)
					} else {
						z.Insert(member, score, lim)
					}
					m[member] = score
				case op < 8:
					_, ok := m[member]
					if got := z.Remove(member); got != ok {
						t.Fatalf("Remove(%q) = %v, want %v", member, got, ok)
					}
					delete(m, member)
				case op == 8 && z.Len() > 0:
					a, b := r.IntN(z.Len()), r.IntN(z.Len())
					a, b = min(a, b), max(a, b)
					want := m.sorted()[a : b+1]
					got := z.RemoveRange(a, b)
					if !slices.Equal(got, want) {
						t.Fatalf("RemoveRange(%d,%d) = %v, want %v", a, b, got, want)
					}
					for _, x := range got {
						delete(m, x.Member)
					}
				default:
					n := r.IntN(4)
					s := m.sorted()
					var got, want []ZMember
					if r.IntN(2) == 0 {
						want = s[:min(n, len(s))]
						got = z.PopMin(n)
					} else {
						want = slices.Clone(s[len(s)-min(n, len(s)):])
						slices.Reverse(want)
						got = z.PopMax(n)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("pop %d = %v, want %v", n, got, want)
					}
					for _, x := range got {
						delete(m, x.Member)
					}
				}
				if step%200 == 0 {
					checkZSet(t, z, m)
				}
			}
			checkZSet(t, z, m)
			if lim.Entries == 0 && z.Encoding() != "skiplist" {
				t.Fatalf("encoding %s with zero listpack entries", z.Encoding())
			}
		})
	}
}

func TestZSetEncodingConversion(t *testing.T) {
	lim := ZLimits{Entries: 4, Value: 8}
	z := NewZSet(1, 1, lim)
	for i := 0; i < 4; i++ {
		z.Insert(fmt.Sprint(i), float64(i), lim)
	}
	if z.Encoding() != "listpack" {
		t.Fatalf("4 entries: %s", z.Encoding())
	}
	z.Insert("4", 4, lim)
	if z.Encoding() != "skiplist" {
		t.Fatalf("5 entries: %s", z.Encoding())
	}
	y := NewZSet(1, 1, lim)
	y.Insert("a-long-member", 1, lim)
	if y.Encoding() != "skiplist" {
		t.Fatalf("long member: %s", y.Encoding())
	}
	z.RemoveRange(0, 1)
	z.Compact(lim)
	if z.Encoding() != "listpack" || z.Len() != 3 {
		t.Fatalf("after compact: %s %d", z.Encoding(), z.Len())
	}
	c := z.Clone().(*ZSet)
	c.Insert("x", 0, lim)
	if z.Len() != 3 {
		t.Fatal("clone shares state with the original")
	}
}

func TestZSetCountBeforeRanges(t *testing.T) {
	for _, lim := range []ZLimits{DefaultZLimits, {}} {
		z := NewZSet(0, 0, lim)
		for i := 0; i < 200; i++ {
			z.Insert(fmt.Sprintf("k%03d", i), float64(i/2), lim)
		}
		// Scores in [10, 20): members with score >= 10 start at rank 20.
		lo := z.CountBefore(func(s float64, _ string) bool { return s < 10 })
		hi := z.CountBefore(func(s float64, _ string) bool { return s < 20 })
		if lo != 20 || hi != 40 {
			t.Fatalf("%s: score range ranks = [%d,%d), want [20,40)", z.Encoding(), lo, hi)
		}
		// Lex: all members below "k100".
		if n := z.CountBefore(func(_ float64, m string) bool { return m < "k100" }); n != 100 {
			t.Fatalf("%s: lex count = %d", z.Encoding(), n)
		}
		if n := z.CountBefore(func(float64, string) bool { return true }); n != 200 {
			t.Fatalf("%s: all = %d", z.Encoding(), n)
		}
	}
}

func TestZSetInfScores(t *testing.T) {
	lim := ZLimits{}
	z := NewZSet(0, 0, lim)
	z.Insert("a", math.Inf(1), lim)
	z.Insert("b", math.Inf(-1), lim)
	z.Insert("c", 0, lim)
	got := z.Members()
	if got[0].Member != "b" || got[2].Member != "a" {
		t.Fatalf("order with infinities: %v", got)
	}
}

// TestZSetRandomUniform checks that Random draws members uniformly: every
// one of 20 members within 25% of the expected count over 40000 draws
// (about 8 standard deviations, so the test is stable yet catches bias).
func TestZSetRandomUniform(t *testing.T) {
	for _, lim := range []ZLimits{DefaultZLimits, {}} {
		z := NewZSet(0, 0, lim)
		for i := 0; i < 20; i++ {
			z.Insert(fmt.Sprint(i), float64(i), lim)
		}
		counts := map[string]int{}
		const draws = 40000
		for i := 0; i < draws; i++ {
			counts[z.Random().Member]++
		}
		for k, n := range counts {
			if math.Abs(float64(n)-draws/20) > 0.25*draws/20 {
				t.Fatalf("%s: member %s drawn %d times, want about %d", z.Encoding(), k, n, draws/20)
			}
		}
		if len(counts) != 20 {
			t.Fatalf("only %d members ever drawn", len(counts))
		}
	}
}

func TestZSetScanCoversAll(t *testing.T) {
	lim := ZLimits{}
	z := NewZSet(0, 0, lim)
	for i := 0; i < 1000; i++ {
		z.Insert(fmt.Sprint(i), float64(i), lim)
	}
	seen := map[string]bool{}
	cur := uint64(0)
	for i := 0; i < 100000; i++ {
		cur = z.Scan(cur, func(m ZMember) { seen[m.Member] = true })
		if cur == 0 {
			break
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("scan saw %d of 1000", len(seen))
	}
}

func BenchmarkZSetInsert(b *testing.B) {
	lim := DefaultZLimits
	z := NewZSet(0, 0, lim)
	r := rand.New(rand.NewPCG(1, 2))
	members := make([]string, 1<<16)
	for i := range members {
		members[i] = fmt.Sprint("member:", i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m := members[i&(len(members)-1)]
		if _, ok := z.Score(m); ok {
			z.Update(m, r.Float64())
		} else {
			z.Insert(m, r.Float64(), lim)
		}
	}
}

func BenchmarkZSetRank(b *testing.B) {
	lim := DefaultZLimits
	z := NewZSet(0, 0, lim)
	for i := 0; i < 100000; i++ {
		z.Insert(fmt.Sprint(i), float64(i), lim)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z.Rank(fmt.Sprint(i % 100000))
	}
}

// BenchmarkZSetRangeByRank is ZRANGE key start start+9 on a 100k-member
// skiplist set: an O(log n) seek and ten steps.
func BenchmarkZSetRangeByRank(b *testing.B) {
	lim := DefaultZLimits
	z := NewZSet(0, 0, lim)
	for i := 0; i < 100000; i++ {
		z.Insert(fmt.Sprint("member:", i), float64(i), lim)
	}
	r := rand.New(rand.NewPCG(3, 4))
	b.ResetTimer()
	got := 0
	for i := 0; i < b.N; i++ {
		n := 0
		z.Ascend(r.IntN(100000-10), func(ZMember) bool { n++; return n < 10 })
		got += n
	}
	if got != 10*b.N {
		b.Fatalf("visited %d members, want %d", got, 10*b.N)
	}
}

// BenchmarkZSetRangeByScore is ZRANGEBYSCORE key x +inf LIMIT 0 10 on a
// 100k-member skiplist set: find the first member by score, then ten.
func BenchmarkZSetRangeByScore(b *testing.B) {
	lim := DefaultZLimits
	z := NewZSet(0, 0, lim)
	for i := 0; i < 100000; i++ {
		z.Insert(fmt.Sprint("member:", i), float64(i), lim)
	}
	r := rand.New(rand.NewPCG(5, 6))
	b.ResetTimer()
	got := 0
	for i := 0; i < b.N; i++ {
		min := float64(r.IntN(100000 - 10))
		start := z.CountBefore(func(s float64, _ string) bool { return s < min })
		n := 0
		z.Ascend(start, func(ZMember) bool { n++; return n < 10 })
		got += n
	}
	if got != 10*b.N {
		b.Fatalf("visited %d members, want %d", got, 10*b.N)
	}
}

// Members handed out by a compact sorted set point into its packed
// bytes: no later change of the set may alter them.
func TestZSetCompactMembersStayIntact(t *testing.T) {
	lim := DefaultZLimits
	z := NewZSet(0, 0, lim)
	for i := 0; i < 8; i++ {
		z.Insert("m"+strconv.Itoa(i), float64(i), lim)
	}
	last := z.At(7)
	all := z.Members()
	c := z.Clone().(*ZSet)
	z.Remove("m7")           // the last member: the next append must not reuse its bytes
	z.Insert("zz", 100, lim) // appended where m7 was, if it reused them
	z.Update("m0", 50)       // moves m0 within the packed bytes
	c.Insert("c", 200, lim)  // the clone appends too
	if last.Member != "m7" || last.Score != 7 {
		t.Fatalf("handed-out member changed: %+v", last)
	}
	for i, m := range all {
		if m.Member != "m"+strconv.Itoa(i) || m.Score != float64(i) {
			t.Fatalf("handed-out member %d changed: %+v", i, m)
		}
	}
	if s, ok := c.Score("m7"); !ok || s != 7 || c.Len() != 9 {
		t.Fatalf("clone changed by the original: m7 %v %v len %d", s, ok, c.Len())
	}
	if _, ok := c.Score("zz"); ok {
		t.Fatal("clone sees the original's new member")
	}
	got := ""
	z.Ascend(0, func(m ZMember) bool { got += m.Member + " "; return true })
	if got != "m1 m2 m3 m4 m5 m6 m0 zz " {
		t.Fatalf("order after changes: %q", got)
	}
	got = ""
	z.Descend(3, func(m ZMember) bool { got += m.Member + " "; return true })
	if got != "m4 m3 m2 m1 " {
		t.Fatalf("Descend(3): %q", got)
	}
	if r, ok := z.Rank("m0"); !ok || r != 6 {
		t.Fatalf("Rank m0 = %d %v", r, ok)
	}
	if n := z.CountBefore(func(s float64, _ string) bool { return s < 5 }); n != 4 {
		t.Fatalf("CountBefore(score < 5) = %d", n)
	}
	out := z.RemoveRange(2, 4)
	if len(out) != 3 || out[0].Member != "m3" || out[2].Member != "m5" || z.Len() != 5 {
		t.Fatalf("RemoveRange(2,4) = %+v, len %d", out, z.Len())
	}
	if m := z.At(4); m.Member != "zz" || m.Score != 100 {
		t.Fatalf("At(4) = %+v", m)
	}
	// An empty member, -0 (kept as 0, as a listpack keeps it), and the
	// way back from skiplist.
	e := NewZSet(0, 0, lim)
	e.Insert("", math.Copysign(0, -1), lim)
	if s, ok := e.Score(""); !ok || math.Signbit(s) {
		t.Fatalf("empty member: %v %v", s, ok)
	}
	big := NewZSet(200, 0, lim)
	for i := 0; i < 10; i++ {
		big.Insert("b"+strconv.Itoa(i), float64(-i), lim)
	}
	big.Compact(lim)
	if big.Encoding() != "listpack" || big.Len() != 10 || big.At(0).Member != "b9" {
		t.Fatalf("Compact: %s len %d first %+v", big.Encoding(), big.Len(), big.At(0))
	}
}
