package store

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

func TestSetIntsetToHashtable(t *testing.T) {
	s := NewSet([]byte("1"))
	for _, m := range []string{"3", "1", "2", "-5"} {
		s.Add([]byte(m), 512)
	}
	if s.Encoding() != "intset" || s.Len() != 4 {
		t.Fatalf("got %s/%d", s.Encoding(), s.Len())
	}
	if got := s.Members(); !slices.Equal(got, []string{"-5", "1", "2", "3"}) {
		t.Fatalf("intset order: %v", got)
	}
	// Not canonical integers: must not be taken as ints.
	for _, m := range []string{"01", "+1", " 1"} {
		if s.Has([]byte(m)) {
			t.Fatalf("Has(%q) on intset", m)
		}
	}
	s.Add([]byte("a"), 512)
	if s.Encoding() != "hashtable" || !s.Has([]byte("2")) || !s.Has([]byte("a")) || s.Len() != 5 {
		t.Fatalf("after non-int member: %s %v", s.Encoding(), s.Members())
	}
	if NewSet([]byte("x")).Encoding() != "hashtable" {
		t.Fatal("set created with a non-int member should be a hashtable")
	}
}

func TestSetIntsetLimit(t *testing.T) {
	s := NewIntSet()
	for i := 0; i < 4; i++ {
		s.Add([]byte(fmt.Sprint(i)), 4)
	}
	if s.Encoding() != "intset" {
		t.Fatal("4 entries with limit 4 should stay intset")
	}
	s.Add([]byte("4"), 4)
	if s.Encoding() != "hashtable" {
		t.Fatal("5 entries with limit 4 should be a hashtable")
	}
}

func TestSetAddRemoveHas(t *testing.T) {
	for _, first := range []string{"1", "x"} {
		s := NewSet([]byte(first))
		model := map[string]bool{}
		for i := 0; i < 2000; i++ {
			m := fmt.Sprint(i % 700)
			if i%3 == 0 {
				m = "s" + m
			}
			if got := s.Add([]byte(m), 512); got == model[m] {
				t.Fatalf("Add(%q) = %v with model %v", m, got, model[m])
			}
			model[m] = true
			if i%5 == 0 {
				d := fmt.Sprint(i % 300)
				if got := s.Remove([]byte(d)); got != model[d] {
					t.Fatalf("Remove(%q) = %v", d, got)
				}
				delete(model, d)
			}
		}
		if s.Len() != len(model) {
			t.Fatalf("Len %d, model %d", s.Len(), len(model))
		}
		for m := range model {
			if !s.Has([]byte(m)) || !s.HasString(m) {
				t.Fatalf("missing %q", m)
			}
		}
		c := s.Clone().(*Set)
		c.Add([]byte("new"), 512)
		if s.Has([]byte("new")) {
			t.Fatal("clone shares state")
		}
	}
}

func TestSetRandomUniform(t *testing.T) {
	for _, s := range []*Set{NewIntSet(), NewSet([]byte("a"))} {
		for i := 0; i < 20; i++ {
			s.Add([]byte(fmt.Sprint(i)), 512)
		}
		counts := map[string]int{}
		const draws = 40000
		for i := 0; i < draws; i++ {
			counts[s.Random()]++
		}
		if len(counts) != 20 {
			t.Fatalf("%s: drew %d distinct members", s.Encoding(), len(counts))
		}
		for m, n := range counts {
			// Dict.Random picks a bucket then a chain element, so allow
			// more slack than for a plain slice: 40%.
			if math.Abs(float64(n)-draws/20) > 0.4*draws/20 {
				t.Fatalf("%s: %s drawn %d times", s.Encoding(), m, n)
			}
		}
	}
}

func BenchmarkSetAdd(b *testing.B) {
	members := make([][]byte, 1<<16)
	for i := range members {
		members[i] = []byte(fmt.Sprint("member:", i))
	}
	s := NewSet(members[0])
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Add(members[i&(len(members)-1)], 512)
	}
}

func BenchmarkIntsetAdd(b *testing.B) {
	members := make([][]byte, 512)
	for i := range members {
		members[i] = []byte(fmt.Sprint(i * 7))
	}
	s := NewIntSet()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.Add(members[i&511], 512)
	}
}
