package store

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"unsafe"
)

// Hash is a Redis hash. While small it is packed field/value pairs in
// insertion order (what Redis's listpack encoding gives: HGETALL of a
// small hash lists fields in the order they were added, and so does
// Skiff); once it outgrows the listpack thresholds it becomes a Dict, so
// that HSCAN gets Redis's cursor guarantees and lookups stay O(1). Like
// Redis 7.0 it never converts back.
//
// The packed form is one byte slice: per pair, uvarint(len(field)),
// field, uvarint(len(value)), value. A hash of ten short fields costs one
// allocation of about 200 bytes instead of a 16-slot slice of string
// pairs and twenty strings (about 750 bytes; see docs/memory.md "Where
// RSS goes"). Fields and values handed out are strings over lp's bytes,
// without a copy, so those bytes never change once written: new pairs
// are only ever appended past every byte already handed out, and any
// other change (an overwritten value, a deleted pair) builds a new slice.
type Hash struct {
	lp   []byte
	n    int // pairs in lp
	dict *Dict[string]
}

// NewHash returns an empty hash in the compact encoding.
func NewHash() *Hash { return &Hash{} }

// Len is the number of fields.
func (h *Hash) Len() int {
	if h.dict != nil {
		return h.dict.Len()
	}
	return h.n
}

// Encoding is "listpack" while compact, then "hashtable".
func (h *Hash) Encoding() string {
	if h.dict != nil {
		return "hashtable"
	}
	return "listpack"
}

// IsCompact reports whether the hash is still in the compact encoding.
func (h *Hash) IsCompact() bool { return h.dict == nil }

// Clone returns a deep copy in the same encoding (field and value strings
// are immutable and shared).
func (h *Hash) Clone() Collection {
	c := &Hash{}
	if h.dict == nil {
		// The packed bytes are shared: capped at their length, the
		// copy's first append reallocates, and the original's appends
		// write only past what the copy can see.
		c.lp, c.n = h.lp[:len(h.lp):len(h.lp)], h.n
		return c
	}
	c.dict = NewDict[string]()
	h.dict.Each(func(n *Node[string]) bool {
		e, _ := c.dict.Upsert(n.Key)
		e.Val = n.Val
		return true
	})
	return c
}

// MemoryUsage estimates the bytes the hash occupies.
func (h *Hash) MemoryUsage() int64 {
	var sz int64 = 48
	if h.dict == nil {
		return sz + allocSize(cap(h.lp))
	}
	sz += int64(8 * h.dict.Buckets())
	var sampled int64
	k := 0
	h.dict.Each(func(n *Node[string]) bool {
		sampled += 48 + allocSize(len(n.Key)) + allocSize(len(n.Val))
		k++
		return k < memSamples
	})
	return sz + extrapolate(sampled, k, h.dict.Len())
}

// Convert switches to the hashtable encoding.
func (h *Hash) Convert() {
	if h.dict != nil {
		return
	}
	d := NewDict[string]()
	h.each(func(f, v string) bool {
		// Copies: substrings would keep the whole packed slice alive
		// for as long as any one field of it lives.
		e, _ := d.Upsert(strings.Clone(f))
		e.Val = strings.Clone(v)
		return true
	})
	h.dict = d
	h.lp, h.n = nil, 0
}

// ConvertIfLonger converts to a hashtable when any of args is longer than
// maxValue bytes, as Redis checks a command's fields and values before
// writing them.
func (h *Hash) ConvertIfLonger(maxValue int, args ...[]byte) {
	if h.dict != nil {
		return
	}
	for _, a := range args {
		if len(a) > maxValue {
			h.Convert()
			return
		}
	}
}

// lpString reads one length-prefixed string at off, returning it (over
// lp's bytes) and the offset past it.
func lpString(lp []byte, off int) (string, int) {
	l, k := binary.Uvarint(lp[off:])
	off += k
	if l == 0 {
		return "", off
	}
	return unsafe.String(&lp[off], int(l)), off + int(l)
}

// smallFind returns the offsets of field's pair and of the pair after
// it, or -1.
func (h *Hash) smallFind(field []byte) (start, end int) {
	for off := 0; off < len(h.lp); {
		f, voff := lpString(h.lp, off)
		_, next := lpString(h.lp, voff)
		if f == string(field) {
			return off, next
		}
		off = next
	}
	return -1, -1
}

// lpGrow returns lp with room for n more bytes, growing by an eighth
// where append would double: a small hash or sorted set is mostly written
// once and then kept, and doubling would leave up to half of its bytes
// unused for good (Redis's listpack is reallocated to its exact size).
// The copy is a new array: strings over the old one stay as they were.
func lpGrow(lp []byte, n int) []byte {
	if cap(lp)-len(lp) >= n {
		return lp
	}
	grown := make([]byte, len(lp), len(lp)+n+len(lp)/8)
	copy(grown, lp)
	return grown
}

// uvarintLen is the length of x as a uvarint.
func uvarintLen(x uint64) int {
	n := 1
	for ; x >= 0x80; x >>= 7 {
		n++
	}
	return n
}

// appendPair appends one packed pair to dst.
func appendPair(dst []byte, field, value []byte) []byte {
	dst = lpGrow(dst, uvarintLen(uint64(len(field)))+len(field)+uvarintLen(uint64(len(value)))+len(value))
	dst = binary.AppendUvarint(dst, uint64(len(field)))
	dst = append(dst, field...)
	dst = binary.AppendUvarint(dst, uint64(len(value)))
	return append(dst, value...)
}

// each calls fn for every pair of the packed form until fn returns false.
func (h *Hash) each(fn func(field, value string) bool) {
	for off := 0; off < len(h.lp); {
		var f, v string
		f, off = lpString(h.lp, off)
		v, off = lpString(h.lp, off)
		if !fn(f, v) {
			return
		}
	}
}

// Get returns the value of field.
func (h *Hash) Get(field []byte) (string, bool) {
	if h.dict != nil {
		if n := h.dict.FindBytes(field); n != nil {
			return n.Val, true
		}
		return "", false
	}
	if start, _ := h.smallFind(field); start >= 0 {
		_, voff := lpString(h.lp, start)
		v, _ := lpString(h.lp, voff)
		return v, true
	}
	return "", false
}

// Set stores value under field, copying both, and reports whether the
// field is new. A compact hash converts to a hashtable first when field
// or value is longer than maxValue, and after when it holds more than
// maxEntries fields (Redis's hashTypeSet).
func (h *Hash) Set(field, value []byte, maxEntries, maxValue int) (created bool) {
	if h.dict == nil && (len(field) > maxValue || len(value) > maxValue) {
		h.Convert()
	}
	if h.dict != nil {
		if n := h.dict.FindBytes(field); n != nil {
			n.Val = string(value)
			return false
		}
		n, _ := h.dict.Upsert(string(field))
		n.Val = string(value)
		return true
	}
	if start, end := h.smallFind(field); start >= 0 {
		// A new slice: the old value's bytes may have been handed out.
		lp := make([]byte, 0, len(h.lp)-(end-start)+len(field)+len(value)+2*binary.MaxVarintLen64)
		lp = append(lp, h.lp[:start]...)
		lp = appendPair(lp, field, value)
		h.lp = append(lp, h.lp[end:]...)
		return false
	}
	h.lp = appendPair(h.lp, field, value)
	h.n++
	if h.n > maxEntries {
		h.Convert()
	}
	return true
}

// Delete removes field and reports whether it was there.
func (h *Hash) Delete(field []byte) bool {
	if h.dict != nil {
		if h.dict.Delete(string(field)) == nil {
			return false
		}
		h.dict.ShrinkIfNeeded()
		return true
	}
	start, end := h.smallFind(field)
	if start < 0 {
		return false
	}
	h.n--
	if h.n == 0 {
		h.lp = nil
		return true
	}
	// A new slice: appending over the deleted pair's bytes would change
	// strings already handed out.
	lp := make([]byte, 0, len(h.lp)-(end-start))
	lp = append(lp, h.lp[:start]...)
	h.lp = append(lp, h.lp[end:]...)
	return true
}

// Each calls fn for every field (insertion order while compact) until fn
// returns false. fn must not modify the hash.
func (h *Hash) Each(fn func(field, value string) bool) {
	if h.dict != nil {
		h.dict.Each(func(n *Node[string]) bool { return fn(n.Key, n.Val) })
		return
	}
	h.each(fn)
}

// Random returns a uniformly chosen field and its value; the hash must
// not be empty.
func (h *Hash) Random() (field, value string) {
	if h.dict != nil {
		n := fairRandom(h.dict)
		return n.Key, n.Val
	}
	i := rand.IntN(h.n)
	h.each(func(f, v string) bool {
		field, value = f, v
		i--
		return i >= 0
	})
	return field, value
}

// Scan is HSCAN's step: it calls fn for the fields at cursor and returns
// the next cursor (0 at the end). A compact hash is returned whole in
// one step, as Redis does for listpacks.
func (h *Hash) Scan(cursor uint64, fn func(field, value string)) uint64 {
	if h.dict != nil {
		return h.dict.Scan(cursor, func(n *Node[string]) { fn(n.Key, n.Val) })
	}
	h.each(func(f, v string) bool { fn(f, v); return true })
	return 0
}

// fairChain is the chain length up to which fairRandom is exactly
// uniform; longer chains are rare at the dict's load factor.
const fairChain = 4

// fairRandom picks a uniformly random element of a non-empty dict.
// Dict.Random picks a random bucket and then an element of its chain,
// which favours elements in short chains; accepting the pick with
// probability len(chain)/fairChain cancels that bias (HRANDFIELD's
// distribution is checked by Redis's own tests).
func fairRandom[V any](d *Dict[V]) *Node[V] {
	var n *Node[V]
	for tries := 0; tries < 64; tries++ {
		n = d.Random()
		l := chainLen(d, n)
		if l >= fairChain || rand.IntN(fairChain) < l {
			return n
		}
	}
	return n
}

// chainLen is the length of the bucket chain holding n.
func chainLen[V any](d *Dict[V], n *Node[V]) int {
	h := hashString(n.Key)
	for t := 0; t < 2; t++ {
		tb := &d.ht[t]
		if tb.buckets == nil {
			continue
		}
		l, found := 0, false
		for e := tb.buckets[h&tb.mask]; e != nil; e = e.next {
			l++
			found = found || e == n
		}
		if found {
			return l
		}
	}
	return 1
}
