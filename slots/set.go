package slots

import (
	"errors"
	"math/bits"
	"strconv"
	"strings"
)

// Set is a set of hash slots, one bit per slot. The zero value is empty;
// Sets are values and compare with ==. Methods taking a slot panic when it
// is outside 0..16383, as indexing an array does.
type Set struct {
	w [Count / 64]uint64
}

// Add puts slot in the set.
func (s *Set) Add(slot int) { s.w[slot>>6] |= 1 << (slot & 63) }

// Remove takes slot out of the set.
func (s *Set) Remove(slot int) { s.w[slot>>6] &^= 1 << (slot & 63) }

// Has reports whether slot is in the set.
func (s *Set) Has(slot int) bool { return s.w[slot>>6]&(1<<(slot&63)) != 0 }

// AddRange adds every slot of r.
func (s *Set) AddRange(r Range) { s.setRange(r, true) }

// RemoveRange removes every slot of r.
func (s *Set) RemoveRange(r Range) { s.setRange(r, false) }

func (s *Set) setRange(r Range, on bool) {
	if r.Start < 0 || r.End >= Count || r.Start > r.End {
		panic("slots: invalid range " + strconv.Itoa(r.Start) + "-" + strconv.Itoa(r.End))
	}
	for i := r.Start >> 6; i <= r.End>>6; i++ {
		m := ^uint64(0)
		if i == r.Start>>6 {
			m &= ^uint64(0) << (r.Start & 63)
		}
		if i == r.End>>6 {
			m &= ^uint64(0) >> (63 - r.End&63)
		}
		if on {
			s.w[i] |= m
		} else {
			s.w[i] &^= m
		}
	}
}

// Count is the number of slots in the set.
func (s *Set) Count() int {
	n := 0
	for _, w := range s.w {
		n += bits.OnesCount64(w)
	}
	return n
}

// Empty reports whether the set has no slot.
func (s *Set) Empty() bool { return *s == Set{} }

// Next returns the smallest slot in the set that is ≥ from, or -1.
func (s *Set) Next(from int) int {
	if from < 0 {
		from = 0
	}
	for i := from >> 6; i < len(s.w); i++ {
		w := s.w[i]
		if i == from>>6 {
			w &= ^uint64(0) << (from & 63)
		}
		if w != 0 {
			return i<<6 + bits.TrailingZeros64(w)
		}
	}
	return -1
}

// nextAbsent returns the smallest slot not in the set that is ≥ from, or
// Count.
func (s *Set) nextAbsent(from int) int {
	for i := from >> 6; i < len(s.w); i++ {
		w := ^s.w[i]
		if i == from>>6 {
			w &= ^uint64(0) << (from & 63)
		}
		if w != 0 {
			return i<<6 + bits.TrailingZeros64(w)
		}
	}
	return Count
}

// Ranges returns the maximal runs of consecutive slots of the set, in
// slot order (nil for an empty set).
func (s *Set) Ranges() []Range {
	var out []Range
	s.EachRange(func(r Range) bool { out = append(out, r); return true })
	return out
}

// EachRange calls fn for each maximal run of the set in slot order until
// fn returns false. It does not allocate.
func (s *Set) EachRange(fn func(Range) bool) {
	for start := s.Next(0); start >= 0; {
		end := s.nextAbsent(start) - 1
		if !fn(Range{start, end}) {
			return
		}
		if end+1 >= Count {
			return
		}
		start = s.Next(end + 1)
	}
}

// String is the set in CLUSTER NODES notation: its ranges separated by
// single spaces, "" for an empty set.
func (s *Set) String() string { return string(s.AppendText(nil)) }

// AppendText appends the set in CLUSTER NODES notation to b.
func (s *Set) AppendText(b []byte) []byte {
	first := true
	s.EachRange(func(r Range) bool {
		if !first {
			b = append(b, ' ')
		}
		first = false
		b = r.AppendText(b)
		return true
	})
	return b
}

// Range is the slots Start..End, both included.
type Range struct {
	Start, End int
}

// Len is the number of slots in the range.
func (r Range) Len() int { return r.End - r.Start + 1 }

// String is Redis's notation: "N" when the range is one slot, "A-B"
// otherwise.
func (r Range) String() string { return string(r.AppendText(nil)) }

// AppendText appends r in Redis's notation to b.
func (r Range) AppendText(b []byte) []byte {
	b = strconv.AppendInt(b, int64(r.Start), 10)
	if r.End != r.Start {
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(r.End), 10)
	}
	return b
}

// ErrSlot is the error of ParseSlot, ParseRange and ParseSet for a slot
// number that is not a decimal integer in 0..16383.
var ErrSlot = errors.New("invalid or out of range slot")

// ErrRange is the error of ParseRange and ParseSet for a range whose start
// is after its end.
var ErrRange = errors.New("slot range start is greater than its end")

// ParseSlot parses a slot number: decimal digits only (no sign, no
// spaces), in 0..16383.
func ParseSlot(s string) (int, error) {
	if len(s) == 0 || len(s) > 5 {
		return 0, ErrSlot
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, ErrSlot
		}
		n = n*10 + int(c-'0')
	}
	if n >= Count {
		return 0, ErrSlot
	}
	return n, nil
}

// ParseRange parses "N" or "A-B" (A ≤ B), as CLUSTER NODES and
// nodes.conf write them.
func ParseRange(s string) (Range, error) {
	a, b, dash := strings.Cut(s, "-")
	start, err := ParseSlot(a)
	if err != nil {
		return Range{}, err
	}
	if !dash {
		return Range{start, start}, nil
	}
	end, err := ParseSlot(b)
	if err != nil {
		return Range{}, err
	}
	if start > end {
		return Range{}, ErrRange
	}
	return Range{start, end}, nil
}

// ParseSet parses space-separated ranges in ParseRange's notation (the
// slot part of a CLUSTER NODES line) into a Set. Ranges may overlap or
// come in any order.
func ParseSet(s string) (Set, error) {
	var set Set
	for _, f := range strings.Fields(s) {
		r, err := ParseRange(f)
		if err != nil {
			return Set{}, err
		}
		set.AddRange(r)
	}
	return set, nil
}
