package store

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

func dictWith(n int, prefix string) *Dict[int] {
	d := NewDict[int]()
	for i := 0; i < n; i++ {
		e, _ := d.Upsert(prefix + strconv.Itoa(i))
		e.Val = i
	}
	return d
}

// fullScan iterates d from cursor 0 to the end, calling between(step)
// after every Scan call so the test can change the dict mid-iteration.
// It returns how often each key was seen.
func fullScan(t *testing.T, d *Dict[int], between func(step int)) map[string]int {
	t.Helper()
	seen := map[string]int{}
	var cursor uint64
	for step := 0; ; step++ {
		if step > 1<<18 {
			t.Fatalf("scan did not finish after %d calls", step)
		}
		cursor = d.Scan(cursor, func(e *Node[int]) { seen[e.Key]++ })
		if cursor == 0 {
			return seen
		}
		if between != nil {
			between(step)
		}
	}
}

func TestDictScanCompleteWithoutChanges(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 5, 100, 1000} {
		d := dictWith(n, "k")
		seen := fullScan(t, d, nil)
		if len(seen) != n {
			t.Fatalf("n=%d: scan returned %d distinct keys", n, len(seen))
		}
		for k, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: key %s returned %d times by a scan of a stable table", n, k, c)
			}
		}
	}
}

// The SCAN guarantee: an element present for the whole iteration is
// returned at least once, while the table grows, shrinks and rehashes
// under the cursor.
func TestDictScanGuaranteeAcrossResizes(t *testing.T) {
	cases := []struct {
		name    string
		initial int
		change  func(d *Dict[int], step int)
	}{
		{"grow", 64, func(d *Dict[int], step int) {
			// Grow for a while only: a table that grows faster than the
			// cursor advances would never be finished.
			for i := 0; i < 50 && step < 100; i++ {
				d.Upsert("new" + strconv.Itoa(step*50+i))
			}
		}},
		{"shrink", 5000, func(d *Dict[int], step int) {
			for i := 0; i < 200; i++ {
				d.Delete("tmp" + strconv.Itoa(step*200+i))
				d.ShrinkIfNeeded()
			}
		}},
		{"churn", 2000, func(d *Dict[int], step int) {
			r := rand.New(rand.NewPCG(uint64(step), 7))
			for i := 0; i < 100 && step < 2000; i++ {
				k := "tmp" + strconv.Itoa(r.IntN(20000))
				if r.IntN(2) == 0 {
					d.Upsert(k)
				} else {
					d.Delete(k)
					d.ShrinkIfNeeded()
				}
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := dictWith(300, "keep")
			for i := 0; i < tc.initial; i++ {
				d.Upsert("tmp" + strconv.Itoa(i))
			}
			sawRehash := false
			seen := fullScan(t, d, func(step int) {
				tc.change(d, step)
				if d.rehashing() {
					sawRehash = true
				}
			})
			for i := 0; i < 300; i++ {
				if seen["keep"+strconv.Itoa(i)] == 0 {
					t.Fatalf("key keep%d present throughout was never returned", i)
				}
			}
			if !sawRehash {
				t.Fatalf("the table never rehashed during the scan; the test did not exercise resizing")
			}
		})
	}
}

func TestDictScanWhileRehashing(t *testing.T) {
	d := dictWith(1024, "k")
	// Force a grow and keep the rehash paused half way through by
	// stepping it by hand.
	for i := 0; i < 2000 && !d.rehashing(); i++ {
		d.Upsert("x" + strconv.Itoa(i))
	}
	if !d.rehashing() {
		t.Fatal("could not bring the dict into a rehash")
	}
	want := map[string]bool{}
	d.Each(func(e *Node[int]) bool { want[e.Key] = true; return true })
	seen := fullScan(t, d, nil)
	for k := range want {
		if seen[k] == 0 {
			t.Fatalf("key %s missing from a scan started mid-rehash", k)
		}
	}
}

func TestDictRandomCoversAndIsRoughlyFair(t *testing.T) {
	if NewDict[int]().Random() != nil {
		t.Fatal("Random on an empty dict returned an element")
	}
	const n = 50
	d := dictWith(n, "k")
	counts := map[string]int{}
	const draws = n * 400
	for i := 0; i < draws; i++ {
		e := d.Random()
		if e == nil {
			t.Fatal("Random returned nil on a non-empty dict")
		}
		counts[e.Key]++
	}
	if len(counts) != n {
		t.Fatalf("Random reached %d of %d keys in %d draws", len(counts), n, draws)
	}
	// Chained buckets make the choice only roughly fair (Redis's is the
	// same); each key must still get a reasonable share.
	for k, c := range counts {
		if c < draws/n/5 {
			t.Fatalf("key %s drawn %d times of %d, expected about %d", k, c, draws, draws/n)
		}
	}
}

func TestDictRandomDuringRehashReturnsLiveKeys(t *testing.T) {
	d := dictWith(512, "k")
	for i := 0; i < 1000 && !d.rehashing(); i++ {
		d.Upsert("x" + strconv.Itoa(i))
	}
	for i := 0; i < 2000; i++ {
		e := d.Random()
		if e == nil || d.Find(e.Key) != e {
			t.Fatalf("Random returned %v, not a live element", e)
		}
	}
}

func TestDictEachAllowsDeletingCurrent(t *testing.T) {
	d := dictWith(500, "k")
	n := 0
	d.Each(func(e *Node[int]) bool {
		if e.Val%2 == 0 {
			d.Delete(e.Key)
		}
		n++
		return true
	})
	if n != 500 || d.Len() != 250 {
		t.Fatalf("visited %d, left %d; want 500 and 250", n, d.Len())
	}
	for i := 0; i < 500; i++ {
		if (d.Find("k"+strconv.Itoa(i)) != nil) != (i%2 == 1) {
			t.Fatalf("key k%d in the wrong state after Each with deletes", i)
		}
	}
}

func TestDictShrinksAfterDeletes(t *testing.T) {
	d := dictWith(4096, "k")
	for i := 0; i < 4090; i++ {
		d.Delete("k" + strconv.Itoa(i))
		d.ShrinkIfNeeded()
	}
	// Each shrink waits for the previous rehash to end; lookups step the
	// rehash, and the cron-like ShrinkIfNeeded starts the next one.
	for i := 0; i < 10000 && (d.rehashing() || d.Buckets() > 64); i++ {
		d.Find("k4095")
		d.ShrinkIfNeeded()
	}
	if d.Buckets() > 64 {
		t.Fatalf("6 keys left in %d buckets: the table did not shrink", d.Buckets())
	}
	if d.Len() != 6 {
		t.Fatalf("len %d after deletes, want 6", d.Len())
	}
}
