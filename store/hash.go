package store

import "math/rand/v2"

// Hash is a Redis hash. While small it is a slice of field/value pairs in
// insertion order (what Redis's listpack encoding gives: HGETALL of a
// small hash lists fields in the order they were added, and so does
// Skiff); once it outgrows the listpack thresholds it becomes a Dict, so
// that HSCAN gets Redis's cursor guarantees and lookups stay O(1). Like
// Redis 7.0 it never converts back.
type Hash struct {
	small []hashPair
	dict  *Dict[string]
}

type hashPair struct{ field, value string }

// NewHash returns an empty hash in the compact encoding.
func NewHash() *Hash { return &Hash{} }

// Len is the number of fields.
func (h *Hash) Len() int {
	if h.dict != nil {
		return h.dict.Len()
	}
	return len(h.small)
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
		c.small = append([]hashPair(nil), h.small...)
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
		sz += int64(32 * cap(h.small))
		for _, p := range h.small {
			sz += allocSize(len(p.field)) + allocSize(len(p.value))
		}
		return sz
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
	for _, p := range h.small {
		e, _ := d.Upsert(p.field)
		e.Val = p.value
	}
	h.dict = d
	h.small = nil
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

func (h *Hash) smallIndex(field []byte) int {
	for i := range h.small {
		if h.small[i].field == string(field) {
			return i
		}
	}
	return -1
}

// Get returns the value of field.
func (h *Hash) Get(field []byte) (string, bool) {
	if h.dict != nil {
		if n := h.dict.FindBytes(field); n != nil {
			return n.Val, true
		}
		return "", false
	}
	if i := h.smallIndex(field); i >= 0 {
		return h.small[i].value, true
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
	if i := h.smallIndex(field); i >= 0 {
		h.small[i].value = string(value)
		return false
	}
	h.small = append(h.small, hashPair{string(field), string(value)})
	if len(h.small) > maxEntries {
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
	i := h.smallIndex(field)
	if i < 0 {
		return false
	}
	copy(h.small[i:], h.small[i+1:])
	h.small[len(h.small)-1] = hashPair{}
	h.small = h.small[:len(h.small)-1]
	return true
}

// Each calls fn for every field (insertion order while compact) until fn
// returns false. fn must not modify the hash.
func (h *Hash) Each(fn func(field, value string) bool) {
	if h.dict != nil {
		h.dict.Each(func(n *Node[string]) bool { return fn(n.Key, n.Val) })
		return
	}
	for _, p := range h.small {
		if !fn(p.field, p.value) {
			return
		}
	}
}

// Random returns a uniformly chosen field and its value; the hash must
// not be empty.
func (h *Hash) Random() (field, value string) {
	if h.dict != nil {
		n := fairRandom(h.dict)
		return n.Key, n.Val
	}
	p := h.small[rand.IntN(len(h.small))]
	return p.field, p.value
}

// Scan is HSCAN's step: it calls fn for the fields at cursor and returns
// the next cursor (0 at the end). A compact hash is returned whole in
// one step, as Redis does for listpacks.
func (h *Hash) Scan(cursor uint64, fn func(field, value string)) uint64 {
	if h.dict != nil {
		return h.dict.Scan(cursor, func(n *Node[string]) { fn(n.Key, n.Val) })
	}
	for _, p := range h.small {
		fn(p.field, p.value)
	}
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
