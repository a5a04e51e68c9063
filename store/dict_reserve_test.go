package store

import (
	"strconv"
	"testing"
)

// A reserved dict takes its elements without ever rehashing, and Upsert
// finds what it inserted (one hash for the lookup and the insertion).
func TestDictReserveThenFillNeverRehashes(t *testing.T) {
	d := NewDict[int]()
	d.Reserve(1000)
	if b := d.Buckets(); b != 1024 {
		t.Fatalf("buckets after Reserve(1000) = %d, want 1024", b)
	}
	for i := 0; i < 1000; i++ {
		n, created := d.Upsert("k" + strconv.Itoa(i))
		if !created {
			t.Fatalf("k%d reported as existing", i)
		}
		n.Val = i
		if d.rehashing() {
			t.Fatalf("rehashing after %d inserts into a reserved dict", i+1)
		}
	}
	for i := 0; i < 1000; i++ {
		n, created := d.Upsert("k" + strconv.Itoa(i))
		if created || n.Val != i {
			t.Fatalf("k%d: created %v val %d", i, created, n.Val)
		}
	}
	// Reserve leaves a dict that holds elements alone.
	d.Reserve(1 << 20)
	if b := d.Buckets(); b != 1024 {
		t.Fatalf("Reserve on a filled dict resized it to %d buckets", b)
	}
}

// Upsert during a rehash finds keys still in the old table and puts new
// ones in the new table, as before.
func TestDictUpsertDuringRehash(t *testing.T) {
	d := NewDict[int]()
	for i := 0; i < 64; i++ {
		n, _ := d.Upsert("a" + strconv.Itoa(i))
		n.Val = i
	}
	d.pauseRehash++ // hold the rehash half way
	for i := 0; !d.rehashing() && i < 1000; i++ {
		n, _ := d.Upsert("b" + strconv.Itoa(i))
		n.Val = -1
	}
	if !d.rehashing() {
		t.Fatal("no rehash started")
	}
	for i := 0; i < 64; i++ {
		n, created := d.Upsert("a" + strconv.Itoa(i))
		if created || n.Val != i {
			t.Fatalf("a%d during rehash: created %v val %d", i, created, n.Val)
		}
	}
	d.pauseRehash--
	n := d.Len()
	if _, created := d.Upsert("new"); !created || d.Len() != n+1 {
		t.Fatalf("new key: created %v, len %d want %d", created, d.Len(), n+1)
	}
}
