package store

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

func listSlice(l *List) []string {
	out := make([]string, l.Len())
	for i := range out {
		out[i] = l.At(i)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestListAgainstModel drives a List and a plain slice with the same
// random operations and compares them after each step.
func TestListAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	l := NewList()
	var m []string
	for step := 0; step < 20000; step++ {
		v := strconv.Itoa(r.IntN(20))
		switch op := r.IntN(10); op {
		case 0, 1:
			l.PushFront(v)
			m = append([]string{v}, m...)
		case 2, 3:
			l.PushBack(v)
			m = append(m, v)
		case 4:
			got, ok := l.PopFront()
			if ok != (len(m) > 0) || (ok && got != m[0]) {
				t.Fatalf("step %d PopFront = %q,%v; model %v", step, got, ok, m)
			}
			if ok {
				m = m[1:]
			}
		case 5:
			got, ok := l.PopBack()
			if ok != (len(m) > 0) || (ok && got != m[len(m)-1]) {
				t.Fatalf("step %d PopBack = %q,%v", step, got, ok)
			}
			if ok {
				m = m[:len(m)-1]
			}
		case 6:
			i := r.IntN(len(m) + 1)
			l.Insert(i, v)
			m = append(m[:i], append([]string{v}, m[i:]...)...)
		case 7:
			if len(m) > 0 {
				i := r.IntN(len(m))
				l.RemoveAt(i)
				m = append(m[:i:i], m[i+1:]...)
			}
		case 8:
			limit := int64(r.IntN(5) - 2)
			got := l.Filter(v, limit)
			var want int64
			var nm []string
			if limit >= 0 {
				for _, x := range m {
					if x == v && (limit == 0 || want < limit) {
						want++
						continue
					}
					nm = append(nm, x)
				}
			} else {
				keep := make([]bool, len(m))
				for i := len(m) - 1; i >= 0; i-- {
					if m[i] == v && want < -limit {
						want++
						continue
					}
					keep[i] = true
				}
				for i, x := range m {
					if keep[i] {
						nm = append(nm, x)
					}
				}
			}
			if got != want {
				t.Fatalf("step %d Filter(%q,%d) = %d want %d", step, v, limit, got, want)
			}
			m = nm
		case 9:
			if len(m) > 0 {
				a, b := r.IntN(len(m)/2+1), r.IntN(len(m)/2+1)
				l.TrimFront(a)
				l.TrimBack(b)
				if a+b >= len(m) {
					m = nil
				} else {
					m = m[a : len(m)-b]
				}
			}
		}
		if !equalStrings(listSlice(l), m) {
			t.Fatalf("step %d: list %v, model %v", step, listSlice(l), m)
		}
	}
}

func TestListIndexAndRange(t *testing.T) {
	l := NewList()
	for i := 0; i < 10; i++ {
		l.PushBack(strconv.Itoa(i))
	}
	cases := []struct {
		idx  int64
		want string
		ok   bool
	}{{0, "0", true}, {9, "9", true}, {-1, "9", true}, {-10, "0", true}, {10, "", false}, {-11, "", false}}
	for _, c := range cases {
		got, ok := l.Index(c.idx)
		if got != c.want || ok != c.ok {
			t.Errorf("Index(%d) = %q,%v want %q,%v", c.idx, got, ok, c.want, c.ok)
		}
	}
	if !l.Set(-2, "x") || l.At(8) != "x" || l.Set(10, "y") {
		t.Errorf("Set misbehaves: %v", listSlice(l))
	}
	ranges := []struct {
		start, stop int64
		from, to    int
		ok          bool
	}{{0, -1, 0, 9, true}, {-3, -1, 7, 9, true}, {5, 100, 5, 9, true}, {-100, 2, 0, 2, true}, {3, 2, 0, 0, false}, {10, 20, 0, 0, false}, {0, -11, 0, 0, false}}
	for _, c := range ranges {
		f, to, ok := l.RangeBounds(c.start, c.stop)
		if ok != c.ok || (ok && (f != c.from || to != c.to)) {
			t.Errorf("RangeBounds(%d,%d) = %d,%d,%v", c.start, c.stop, f, to, ok)
		}
	}
	c := l.Clone().(*List)
	l.PushFront("new")
	if c.Len() != 10 || c.At(0) != "0" {
		t.Errorf("clone changed with original: %v", listSlice(c))
	}
	if l.Encoding() != "quicklist" {
		t.Errorf("encoding %q", l.Encoding())
	}
}

func BenchmarkListPushPop(b *testing.B) {
	l := NewList()
	for i := 0; i < b.N; i++ {
		l.PushFront("element")
		if l.Len() > 1000 {
			l.PopBack()
		}
	}
}

func BenchmarkListIndex(b *testing.B) {
	l := NewList()
	for i := 0; i < 100000; i++ {
		l.PushBack("element")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Index(int64(i % 100000))
	}
}
