package tracking

import (
	"reflect"
	"testing"
)

func TestRememberInvalidate(t *testing.T) {
	tb := New()
	if !tb.Remember([]byte("k"), 5) || tb.Remember([]byte("k"), 5) {
		t.Fatal("Remember must report only a new pair")
	}
	tb.Remember([]byte("k"), 3)
	tb.Remember([]byte("j"), 5)
	if tb.Keys() != 2 || tb.Items() != 3 {
		t.Fatalf("keys %d items %d, want 2 3", tb.Keys(), tb.Items())
	}
	if got := tb.Invalidate([]byte("k")); !reflect.DeepEqual(got, []int64{3, 5}) {
		t.Fatalf("Invalidate(k) = %v", got)
	}
	if got := tb.Invalidate([]byte("k")); got != nil {
		t.Fatalf("second Invalidate(k) = %v, want nil: a key is told once", got)
	}
	if tb.Keys() != 1 || tb.Items() != 1 {
		t.Fatalf("keys %d items %d, want 1 1", tb.Keys(), tb.Items())
	}
	tb.Clear()
	if tb.Keys() != 0 || tb.Items() != 0 {
		t.Fatal("Clear left entries")
	}
	if _, ok := tb.RandomKey(); ok {
		t.Fatal("RandomKey of an empty table")
	}
}

// Redis keeps the IDs of a key in a radix tree of their little-endian
// bytes: 256 (00 01 ...) sorts before 1 (01 00 ...), which sorts
// before 513 (01 02 ...).
func TestInvalidateOrderIsRedis(t *testing.T) {
	tb := New()
	for _, id := range []int64{1, 256, 2, 513, 3} {
		tb.Remember([]byte("k"), id)
	}
	want := []int64{256, 1, 513, 2, 3}
	if got := tb.Invalidate([]byte("k")); !reflect.DeepEqual(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestBroadcasts(t *testing.T) {
	tb := New()
	tb.Subscribe("b:", 1)
	tb.Subscribe("a:", 1)
	tb.Subscribe("a:", 2)
	if tb.Subscribe("a:", 2) {
		t.Fatal("Subscribe twice reported new")
	}
	if tb.Prefixes() != 2 {
		t.Fatalf("prefixes %d", tb.Prefixes())
	}
	if tb.Modified([]byte("c:1"), 7) || tb.Pending() {
		t.Fatal("c:1 matches no prefix")
	}
	tb.Modified([]byte("a:2"), 7)
	tb.Modified([]byte("a:1"), 7)
	tb.Modified([]byte("b:1"), 0)
	tb.Modified([]byte("a:2"), 0) // the last change counts
	var got []Broadcast
	tb.Broadcasts(func(b *Broadcast) {
		got = append(got, Broadcast{b.Prefix, append([]string(nil), b.Keys...), append([]int64(nil), b.By...), append([]int64(nil), b.Clients...)})
	})
	want := []Broadcast{
		{"a:", []string{"a:1", "a:2"}, []int64{7, 0}, []int64{1, 2}},
		{"b:", []string{"b:1"}, []int64{0}, []int64{1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("broadcasts\n got %+v\nwant %+v", got, want)
	}
	if tb.Pending() {
		t.Fatal("still pending after Broadcasts")
	}
	n := 0
	tb.Broadcasts(func(*Broadcast) { n++ })
	if n != 0 {
		t.Fatal("keys broadcast twice")
	}
}

func TestUnsubscribeDropsPrefixAndKeys(t *testing.T) {
	tb := New()
	tb.Subscribe("", 1)
	tb.Modified([]byte("x"), 0)
	tb.Unsubscribe("", 1)
	if tb.Prefixes() != 0 || tb.Pending() {
		t.Fatalf("prefixes %d pending %v after the last client left", tb.Prefixes(), tb.Pending())
	}
	tb.Unsubscribe("nope", 1) // no such prefix: nothing happens
}

func TestOverlap(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"FOO", "FOOBAR", true}, {"FOOBAR", "FOO", true}, {"FOO", "BAR", false}, {"", "x", true}, {"a", "a", true}} {
		if got := Overlap(c.a, c.b); got != c.want {
			t.Errorf("Overlap(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
