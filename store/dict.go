package store

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
)

// Dict is a chained hash table keyed by strings with Redis's properties
// that Go maps lack: a stateless SCAN cursor that returns every element
// present for the whole iteration even across resizes (reverse-binary
// cursor increments), incremental rehashing so that no single operation
// pays for a whole resize, and fair random sampling.
type Dict[V any] = MetaDict[V, struct{}]

// Node is one element of a Dict.
type Node[V any] = MetaNode[V, struct{}]

// MetaDict is a Dict whose nodes also carry a value of type M that the
// dict itself never reads: the keyspace keeps its per-slot index position
// there (slotindex.go). With M = struct{} (Dict) it costs nothing.
type MetaDict[V, M any] struct {
	ht        [2]table[V, M]
	rehashIdx int // -1 when not rehashing
	// pauseRehash > 0 while an unsafe iteration is in progress.
	pauseRehash int
}

type table[V, M any] struct {
	buckets []*MetaNode[V, M]
	mask    uint64
	used    int
}

// MetaNode is one element; Val is addressable and stays at the same
// address for the element's lifetime, so callers may keep *MetaNode
// briefly.
type MetaNode[V, M any] struct {
	Key  string
	next *MetaNode[V, M]
	// meta precedes Val so that a zero-size M adds no padding.
	meta M
	Val  V
}

var seed = maphash.MakeSeed()

func hashString(s string) uint64 { return maphash.String(seed, s) }

const initialSize = 4

// NewDict returns an empty dict.
func NewDict[V any]() *Dict[V] { return newMetaDict[V, struct{}]() }

func newMetaDict[V, M any]() *MetaDict[V, M] { return &MetaDict[V, M]{rehashIdx: -1} }

// Len is the number of elements.
func (d *MetaDict[V, M]) Len() int { return d.ht[0].used + d.ht[1].used }

// Buckets is the number of slots of the main table (for INFO/DEBUG).
func (d *MetaDict[V, M]) Buckets() int { return len(d.ht[0].buckets) + len(d.ht[1].buckets) }

func (d *MetaDict[V, M]) rehashing() bool { return d.rehashIdx >= 0 }

// rehashStep moves up to n non-empty buckets from table 0 to table 1,
// visiting at most 10*n empty ones, like Redis's dictRehash.
func (d *MetaDict[V, M]) rehashStep(n int) {
	if !d.rehashing() || d.pauseRehash > 0 {
		return
	}
	empty := n * 10
	for n > 0 && d.ht[0].used > 0 {
		for d.ht[0].buckets[d.rehashIdx] == nil {
			d.rehashIdx++
			empty--
			if empty == 0 {
				return
			}
		}
		e := d.ht[0].buckets[d.rehashIdx]
		for e != nil {
			next := e.next
			i := hashString(e.Key) & d.ht[1].mask
			e.next = d.ht[1].buckets[i]
			d.ht[1].buckets[i] = e
			d.ht[0].used--
			d.ht[1].used++
			e = next
		}
		d.ht[0].buckets[d.rehashIdx] = nil
		d.rehashIdx++
		n--
	}
	if d.ht[0].used == 0 {
		d.ht[0] = d.ht[1]
		d.ht[1] = table[V, M]{}
		d.rehashIdx = -1
	}
}

func (d *MetaDict[V, M]) resize(size int) {
	if size < initialSize {
		size = initialSize
	}
	size = 1 << bits.Len(uint(size-1))
	t := table[V, M]{buckets: make([]*MetaNode[V, M], size), mask: uint64(size - 1)}
	if d.ht[0].buckets == nil {
		d.ht[0] = t
		return
	}
	if size == len(d.ht[0].buckets) {
		return
	}
	d.ht[1] = t
	d.rehashIdx = 0
}

func (d *MetaDict[V, M]) expandIfNeeded() {
	if d.rehashing() {
		return
	}
	if d.ht[0].buckets == nil {
		d.resize(initialSize)
		return
	}
	if d.ht[0].used >= len(d.ht[0].buckets) {
		d.resize(d.ht[0].used + 1)
	}
}

// Reserve sizes an empty dict for n elements at once, so that filling it
// (an RDB load, after the file's RESIZEDB hint) never rehashes. It does
// nothing to a dict that holds elements.
func (d *MetaDict[V, M]) Reserve(n int) {
	if d.Len() > 0 || d.rehashing() || n <= len(d.ht[0].buckets) {
		return
	}
	d.ht[0] = table[V, M]{}
	d.resize(n)
}

// ShrinkIfNeeded starts shrinking a table that is under 10% full.
func (d *MetaDict[V, M]) ShrinkIfNeeded() {
	if d.rehashing() || len(d.ht[0].buckets) <= initialSize {
		return
	}
	if d.ht[0].used*10 < len(d.ht[0].buckets) {
		d.resize(d.ht[0].used)
	}
}

// Find returns the node for key, or nil.
func (d *MetaDict[V, M]) Find(key string) *MetaNode[V, M] {
	if d.Len() == 0 {
		return nil
	}
	d.rehashStep(1)
	h := hashString(key)
	for t := 0; t < 2; t++ {
		tb := &d.ht[t]
		if tb.buckets != nil {
			for e := tb.buckets[h&tb.mask]; e != nil; e = e.next {
				if e.Key == key {
					return e
				}
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// FindBytes is Find for a []byte key without converting it to a string.
func (d *MetaDict[V, M]) FindBytes(key []byte) *MetaNode[V, M] {
	if d.Len() == 0 {
		return nil
	}
	d.rehashStep(1)
	h := maphash.Bytes(seed, key)
	for t := 0; t < 2; t++ {
		tb := &d.ht[t]
		if tb.buckets != nil {
			for e := tb.buckets[h&tb.mask]; e != nil; e = e.next {
				if e.Key == string(key) {
					return e
				}
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// Upsert returns the node for key, creating it with a zero Val when
// absent. created tells which happened. The key is hashed once for the
// lookup and the insertion (an RDB load inserts every key through here).
func (d *MetaDict[V, M]) Upsert(key string) (n *MetaNode[V, M], created bool) {
	h := hashString(key)
	if d.Len() > 0 {
		d.rehashStep(1)
		for t := 0; t < 2; t++ {
			tb := &d.ht[t]
			if tb.buckets != nil {
				for e := tb.buckets[h&tb.mask]; e != nil; e = e.next {
					if e.Key == key {
						return e, false
					}
				}
			}
			if !d.rehashing() {
				break
			}
		}
	}
	d.expandIfNeeded()
	d.rehashStep(1)
	tb := &d.ht[0]
	if d.rehashing() {
		tb = &d.ht[1]
	}
	i := h & tb.mask
	n = &MetaNode[V, M]{Key: key, next: tb.buckets[i]}
	tb.buckets[i] = n
	tb.used++
	return n, true
}

// Delete removes key and returns its node (nil when absent).
func (d *MetaDict[V, M]) Delete(key string) *MetaNode[V, M] {
	if d.Len() == 0 {
		return nil
	}
	d.rehashStep(1)
	h := hashString(key)
	for t := 0; t < 2; t++ {
		tb := &d.ht[t]
		if tb.buckets != nil {
			var prev *MetaNode[V, M]
			for e := tb.buckets[h&tb.mask]; e != nil; prev, e = e, e.next {
				if e.Key == key {
					if prev == nil {
						tb.buckets[h&tb.mask] = e.next
					} else {
						prev.next = e.next
					}
					e.next = nil
					tb.used--
					return e
				}
			}
		}
		if !d.rehashing() {
			break
		}
	}
	return nil
}

// Clear empties the dict.
func (d *MetaDict[V, M]) Clear() {
	*d = MetaDict[V, M]{rehashIdx: -1}
}

// Scan calls fn for the elements of the buckets at cursor and returns the
// next cursor (0 when the iteration is complete). fn must not modify the
// dict. The reverse-binary cursor guarantees that an element present from
// the start to the end of a full iteration is returned at least once.
func (d *MetaDict[V, M]) Scan(cursor uint64, fn func(*MetaNode[V, M])) uint64 {
	if d.Len() == 0 {
		return 0
	}
	d.pauseRehash++
	defer func() { d.pauseRehash-- }()
	emit := func(tb *table[V, M], idx uint64) {
		for e := tb.buckets[idx&tb.mask]; e != nil; e = e.next {
			fn(e)
		}
	}
	if !d.rehashing() {
		t0 := &d.ht[0]
		emit(t0, cursor)
		cursor |= ^t0.mask
		cursor = bits.Reverse64(cursor)
		cursor++
		cursor = bits.Reverse64(cursor)
		return cursor
	}
	small, large := &d.ht[0], &d.ht[1]
	if len(small.buckets) > len(large.buckets) {
		small, large = large, small
	}
	emit(small, cursor)
	// Visit every bucket of the larger table that expands the smaller
	// table's bucket at cursor.
	for {
		emit(large, cursor)
		cursor |= ^large.mask
		cursor = bits.Reverse64(cursor)
		cursor++
		cursor = bits.Reverse64(cursor)
		// The carry reaching the smaller table's bits ends the expansion
		// and has advanced the cursor for the smaller table too.
		if cursor&(small.mask^large.mask) == 0 {
			break
		}
	}
	return cursor
}

// PauseRehash stops incremental rehashing until ResumeRehash: elements
// stay in the table and bucket they are in (a resize may still begin,
// putting new elements in the new table). Redis likewise keeps its
// tables from resizing while a child process saves.
func (d *MetaDict[V, M]) PauseRehash() { d.pauseRehash++ }

// ResumeRehash undoes one PauseRehash.
func (d *MetaDict[V, M]) ResumeRehash() { d.pauseRehash-- }

// CollectBuckets appends the elements of whole buckets to out, in bucket
// order, starting at position pos (the main table's buckets, then the
// other table's), until out holds at least want elements or the tables
// end. It returns out and the next position, -1 at the end. Only valid
// while rehashing is paused: then every element present for the whole
// walk is collected exactly once. Reading buckets in order, instead of
// SCAN's reverse-binary order, lets the CPU prefetch the bucket array.
func (d *MetaDict[V, M]) CollectBuckets(pos int, want int, out []*MetaNode[V, M]) ([]*MetaNode[V, M], int) {
	for pos >= 0 && len(out) < want {
		t, i := 0, pos
		if n := len(d.ht[0].buckets); i >= n {
			t, i = 1, i-n
		}
		b := d.ht[t].buckets
		if i >= len(b) {
			return out, -1
		}
		for ; i < len(b) && len(out) < want; i++ {
			for e := b[i]; e != nil; e = e.next {
				out = append(out, e)
			}
			pos++
		}
	}
	return out, pos
}

// Random returns a random element, or nil when empty. Like Redis's
// dictGetFairRandomKey it samples a random non-empty bucket and then a
// random element of its chain.
func (d *MetaDict[V, M]) Random() *MetaNode[V, M] {
	if d.Len() == 0 {
		return nil
	}
	d.rehashStep(1)
	var e *MetaNode[V, M]
	for tries := 0; e == nil; tries++ {
		if d.rehashing() {
			total := uint64(len(d.ht[0].buckets) + len(d.ht[1].buckets))
			i := rand.Uint64N(total - uint64(d.rehashIdx))
			i += uint64(d.rehashIdx)
			if i >= uint64(len(d.ht[0].buckets)) {
				e = d.ht[1].buckets[i-uint64(len(d.ht[0].buckets))]
			} else {
				e = d.ht[0].buckets[i]
			}
		} else {
			e = d.ht[0].buckets[rand.Uint64N(uint64(len(d.ht[0].buckets)))]
		}
		if tries > 1000 && e == nil {
			// Pathologically sparse table: fall back to a linear walk.
			return d.first()
		}
	}
	n := 0
	for x := e; x != nil; x = x.next {
		n++
	}
	k := rand.IntN(n)
	for ; k > 0; k-- {
		e = e.next
	}
	return e
}

func (d *MetaDict[V, M]) first() *MetaNode[V, M] {
	for t := 0; t < 2; t++ {
		for _, e := range d.ht[t].buckets {
			if e != nil {
				return e
			}
		}
	}
	return nil
}

// Each calls fn for every element until fn returns false. fn may delete
// the element it is given (and only that one).
func (d *MetaDict[V, M]) Each(fn func(*MetaNode[V, M]) bool) {
	d.pauseRehash++
	defer func() { d.pauseRehash-- }()
	for t := 0; t < 2; t++ {
		for _, e := range d.ht[t].buckets {
			for e != nil {
				next := e.next
				if !fn(e) {
					return
				}
				e = next
			}
		}
	}
}
