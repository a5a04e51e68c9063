package store

import (
	"math/rand/v2"
	"slices"
	"strconv"
)

// Set is a Redis set. While every member is a canonical 64-bit integer
// and the set is small it is an "intset": a sorted []int64, compact and
// iterated in numeric order as Redis does. Otherwise it is a "hashtable":
// a Dict, so SSCAN has Redis's cursor guarantees and random members are
// O(1). Redis 7.0 has no listpack sets (that is 7.2), so neither do we.
type Set struct {
	ints []int64
	d    *Dict[struct{}] // nil while the set is an intset
}

// NewSet returns an empty set in the encoding Redis would pick for a set
// whose first member is first (setTypeCreate): intset for an integer,
// hashtable otherwise.
func NewSet(first []byte) *Set {
	if _, ok := ParseStrictInt(first); ok {
		return &Set{}
	}
	return &Set{d: NewDict[struct{}]()}
}

// NewIntSet returns an empty set in intset encoding.
func NewIntSet() *Set { return &Set{} }

// Len is the number of members.
func (s *Set) Len() int {
	if s.d != nil {
		return s.d.Len()
	}
	return len(s.ints)
}

// IsIntset reports whether the set is intset-encoded.
func (s *Set) IsIntset() bool { return s.d == nil }

// Encoding is "intset" or "hashtable".
func (s *Set) Encoding() string {
	if s.d == nil {
		return "intset"
	}
	return "hashtable"
}

// Clone returns a deep copy.
func (s *Set) Clone() Collection {
	if s.d == nil {
		return &Set{ints: slices.Clone(s.ints)}
	}
	n := &Set{d: NewDict[struct{}]()}
	s.d.Each(func(e *Node[struct{}]) bool {
		n.d.Upsert(e.Key)
		return true
	})
	return n
}

// MemoryUsage estimates the bytes the set occupies.
func (s *Set) MemoryUsage() int64 {
	if s.d == nil {
		return 16 + int64(cap(s.ints))*8
	}
	total := int64(s.d.Buckets())*8 + 48
	var sampled int64
	k := 0
	s.d.Each(func(e *Node[struct{}]) bool {
		sampled += int64(len(e.Key)) + 40
		k++
		return k < memSamples
	})
	return total + extrapolate(sampled, k, s.d.Len())
}

func (s *Set) intIndex(v int64) (int, bool) { return slices.BinarySearch(s.ints, v) }

// toHashtable converts an intset to a hashtable.
func (s *Set) toHashtable() {
	d := NewDict[struct{}]()
	var buf [24]byte
	for _, v := range s.ints {
		d.Upsert(string(strconv.AppendInt(buf[:0], v, 10)))
	}
	s.d, s.ints = d, nil
}

// Add inserts m and reports whether it was new. maxIntset is
// set-max-intset-entries: an intset that grows past it, or meets a
// non-integer member, becomes a hashtable.
func (s *Set) Add(m []byte, maxIntset int) bool {
	if s.d == nil {
		if v, ok := ParseStrictInt(m); ok {
			i, found := s.intIndex(v)
			if found {
				return false
			}
			s.ints = slices.Insert(s.ints, i, v)
			if len(s.ints) > maxIntset {
				s.toHashtable()
			}
			return true
		}
		s.toHashtable()
	}
	if s.d.FindBytes(m) != nil {
		return false
	}
	s.d.Upsert(string(m))
	return true
}

// AddString is Add for a string member.
func (s *Set) AddString(m string, maxIntset int) bool {
	if s.d != nil {
		_, created := s.d.Upsert(m)
		return created
	}
	return s.Add([]byte(m), maxIntset)
}

// Remove deletes m and reports whether it was present.
func (s *Set) Remove(m []byte) bool {
	if s.d == nil {
		v, ok := ParseStrictInt(m)
		if !ok {
			return false
		}
		i, found := s.intIndex(v)
		if !found {
			return false
		}
		s.ints = slices.Delete(s.ints, i, i+1)
		return true
	}
	if s.d.Delete(string(m)) == nil {
		return false
	}
	s.d.ShrinkIfNeeded()
	return true
}

// Has reports whether m is a member.
func (s *Set) Has(m []byte) bool {
	if s.d == nil {
		v, ok := ParseStrictInt(m)
		if !ok {
			return false
		}
		_, found := s.intIndex(v)
		return found
	}
	return s.d.FindBytes(m) != nil
}

// HasString is Has for a string member.
func (s *Set) HasString(m string) bool {
	if s.d == nil {
		return s.Has([]byte(m))
	}
	return s.d.Find(m) != nil
}

// Each calls fn for every member (numeric order for an intset) until fn
// returns false. fn must not modify the set.
func (s *Set) Each(fn func(m string) bool) {
	if s.d == nil {
		for _, v := range s.ints {
			if !fn(strconv.FormatInt(v, 10)) {
				return
			}
		}
		return
	}
	s.d.Each(func(e *Node[struct{}]) bool { return fn(e.Key) })
}

// Members returns every member.
func (s *Set) Members() []string {
	out := make([]string, 0, s.Len())
	s.Each(func(m string) bool {
		out = append(out, m)
		return true
	})
	return out
}

// Random returns a random member; the set must not be empty.
func (s *Set) Random() string {
	if s.d == nil {
		return strconv.FormatInt(s.ints[rand.IntN(len(s.ints))], 10)
	}
	return fairRandom(s.d).Key // fairRandom lives in hash.go
}

// Scan is SSCAN's step: an intset is returned whole with cursor 0 (as
// Redis does for compact encodings); a hashtable uses the dict cursor.
func (s *Set) Scan(cursor uint64, fn func(m string)) uint64 {
	if s.d == nil {
		s.Each(func(m string) bool { fn(m); return true })
		return 0
	}
	return s.d.Scan(cursor, func(e *Node[struct{}]) { fn(e.Key) })
}
