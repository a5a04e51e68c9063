package slots

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// refRanges computes the maximal runs of a set by testing every slot.
func refRanges(s *Set) []Range {
	var out []Range
	for i := 0; i < Count; i++ {
		if !s.Has(i) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End == i-1 {
			out[n-1].End = i
		} else {
			out = append(out, Range{i, i})
		}
	}
	return out
}

func TestSetBasics(t *testing.T) {
	var s Set
	if !s.Empty() || s.Count() != 0 || s.Ranges() != nil || s.String() != "" || s.Next(0) != -1 {
		t.Fatal("zero Set is not empty")
	}
	s.Add(0)
	s.Add(5)
	s.Add(6)
	s.Add(7)
	s.Add(16383)
	if !s.Has(0) || !s.Has(6) || s.Has(1) || !s.Has(16383) || s.Count() != 5 {
		t.Fatalf("membership wrong: %v", s.String())
	}
	if got := s.String(); got != "0 5-7 16383" {
		t.Fatalf("String = %q", got)
	}
	s.Remove(6)
	if got := s.String(); got != "0 5 7 16383" {
		t.Fatalf("after Remove: %q", got)
	}
	s.Remove(6) // absent: no-op
	if s.Count() != 4 || s.Next(1) != 5 || s.Next(8) != 16383 || s.Next(16384) != -1 {
		t.Fatalf("Count/Next wrong: %d %d %d", s.Count(), s.Next(1), s.Next(8))
	}
	var full Set
	full.AddRange(Range{0, Count - 1})
	if full.Count() != Count || full.String() != "0-16383" {
		t.Fatalf("full set: %d %q", full.Count(), full.String())
	}
	full.RemoveRange(Range{64, 127})
	if got := full.String(); got != "0-63 128-16383" {
		t.Fatalf("after RemoveRange: %q", got)
	}
	a, b := Set{}, Set{}
	a.Add(100)
	b.AddRange(Range{100, 100})
	if a != b {
		t.Fatal("equal sets compare unequal")
	}
}

func TestSetRangesMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 300; round++ {
		var s Set
		for n := r.IntN(40); n > 0; n-- {
			start := r.IntN(Count)
			end := min(Count-1, start+r.IntN(200))
			if r.IntN(3) == 0 {
				s.RemoveRange(Range{start, end})
			} else {
				s.AddRange(Range{start, end})
			}
			if r.IntN(2) == 0 {
				s.Add(r.IntN(Count))
			}
		}
		want := refRanges(&s)
		if got := s.Ranges(); !reflect.DeepEqual(got, want) {
			t.Fatalf("Ranges = %v, want %v", got, want)
		}
		n := 0
		for _, rg := range want {
			n += rg.Len()
		}
		if s.Count() != n {
			t.Fatalf("Count = %d, ranges hold %d", s.Count(), n)
		}
		back, err := ParseSet(s.String())
		if err != nil || back != s {
			t.Fatalf("ParseSet(String()) round trip failed: %v", err)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Range
		err  error
	}{
		{"0", Range{0, 0}, nil},
		{"16383", Range{16383, 16383}, nil},
		{"0-5460", Range{0, 5460}, nil},
		{"7-7", Range{7, 7}, nil},
		{"16384", Range{}, ErrSlot},
		{"-1", Range{}, ErrSlot},
		{"+1", Range{}, ErrSlot},
		{"", Range{}, ErrSlot},
		{"1-", Range{}, ErrSlot},
		{"a", Range{}, ErrSlot},
		{"1-2-3", Range{}, ErrSlot},
		{" 1", Range{}, ErrSlot},
		{"100000", Range{}, ErrSlot},
		{"9-3", Range{}, ErrRange},
		{"[93->-e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca]", Range{}, ErrSlot},
	} {
		got, err := ParseRange(c.in)
		if err != c.err || got != c.want {
			t.Errorf("ParseRange(%q) = %v, %v; want %v, %v", c.in, got, err, c.want, c.err)
		}
	}
	if r := (Range{3, 3}); r.String() != "3" || r.Len() != 1 {
		t.Errorf("Range{3,3} = %q len %d", r.String(), r.Len())
	}
	s, err := ParseSet("  10-12 0 11-20\t16383 ")
	if err != nil || s.String() != "0 10-20 16383" {
		t.Fatalf("ParseSet = %q, %v", s.String(), err)
	}
	if _, err := ParseSet("1 x"); err != ErrSlot {
		t.Fatalf("ParseSet accepted a bad token: %v", err)
	}
}

func TestSetRangePanics(t *testing.T) {
	for _, r := range []Range{{-1, 3}, {5, 4}, {0, Count}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AddRange(%v) did not panic", r)
				}
			}()
			var s Set
			s.AddRange(r)
		}()
	}
}

func BenchmarkSetRanges(b *testing.B) {
	var s Set
	for i := 0; i < Count; i += 3 {
		s.AddRange(Range{i, min(i+1, Count-1)})
	}
	for b.Loop() {
		n := 0
		s.EachRange(func(Range) bool { n++; return true })
		sink += n
	}
}
