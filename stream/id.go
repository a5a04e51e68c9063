// Package stream is Redis's stream data type: entries ordered by ID kept
// in nodes that are Redis's own stream listpacks (a master entry, then
// delta-encoded entries, see listpack.go and node.go), the nodes in ID
// order with O(log N) seek, consumer groups with their pending entries
// lists. It is pure data, like package store: no locking, no network.
package stream

import (
	"math"
	"strconv"

	"github.com/skiffdb/skiff/internal/strint"
)

// ID is a stream entry ID: milliseconds and sequence.
type ID struct {
	Ms, Seq uint64
}

// MaxID is the largest ID (Redis's "+").
var MaxID = ID{math.MaxUint64, math.MaxUint64}

// Compare returns -1, 0 or 1.
func (a ID) Compare(b ID) int {
	switch {
	case a.Ms < b.Ms:
		return -1
	case a.Ms > b.Ms:
		return 1
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// Less reports a < b.
func (a ID) Less(b ID) bool { return a.Compare(b) < 0 }

// IsZero reports a == 0-0.
func (a ID) IsZero() bool { return a.Ms == 0 && a.Seq == 0 }

// Incr returns the next ID; ok is false when a is the largest ID (the
// result then wraps to 0-0, as Redis's streamIncrID).
func (a ID) Incr() (ID, bool) {
	if a.Seq == math.MaxUint64 {
		if a.Ms == math.MaxUint64 {
			return ID{}, false
		}
		return ID{a.Ms + 1, 0}, true
	}
	return ID{a.Ms, a.Seq + 1}, true
}

// Decr returns the previous ID; ok is false for 0-0 (the result then
// wraps to the largest ID).
func (a ID) Decr() (ID, bool) {
	if a.Seq == 0 {
		if a.Ms == 0 {
			return MaxID, false
		}
		return ID{a.Ms - 1, math.MaxUint64}, true
	}
	return ID{a.Ms, a.Seq - 1}, true
}

// Append appends "ms-seq".
func (a ID) Append(b []byte) []byte {
	b = strconv.AppendUint(b, a.Ms, 10)
	b = append(b, '-')
	return strconv.AppendUint(b, a.Seq, 10)
}

// String is "ms-seq".
func (a ID) String() string { return string(a.Append(make([]byte, 0, 42))) }

// Bytes is "ms-seq" in a fresh slice.
func (a ID) Bytes() []byte { return a.Append(make([]byte, 0, 42)) }

// Encode is the 16-byte big-endian form Redis uses as radix tree key (and
// in RDB files).
func (a ID) Encode(b []byte) []byte {
	for i := 7; i >= 0; i-- {
		b = append(b, byte(a.Ms>>(8*uint(i))))
	}
	for i := 7; i >= 0; i-- {
		b = append(b, byte(a.Seq>>(8*uint(i))))
	}
	return b
}

// DecodeID reads the 16-byte big-endian form.
func DecodeID(b []byte) (ID, bool) {
	if len(b) != 16 {
		return ID{}, false
	}
	var id ID
	for i := 0; i < 8; i++ {
		id.Ms = id.Ms<<8 | uint64(b[i])
		id.Seq = id.Seq<<8 | uint64(b[8+i])
	}
	return id, true
}

// parseU64 parses plain decimal digits into a uint64, refusing overflow.
func parseU64(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// ParseID parses a client-given ID as Redis's streamGenericParseIDOrReply:
// "-" and "+" (unless strict), "ms" (the sequence is then missingSeq) or
// "ms-seq"; with allowSeqStar, "ms-*" gives seqGiven=false.
func ParseID(b []byte, missingSeq uint64, strict, allowSeqStar bool) (id ID, seqGiven bool, ok bool) {
	if len(b) > 127 {
		return ID{}, false, false
	}
	if len(b) == 1 && (b[0] == '-' || b[0] == '+') {
		if strict {
			return ID{}, false, false
		}
		if b[0] == '-' {
			return ID{}, true, true
		}
		return MaxID, true, true
	}
	// Redis copies into a C string: a NUL ends it.
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	dash := -1
	for i, c := range b {
		if c == '-' {
			dash = i
			break
		}
	}
	msPart := b
	if dash >= 0 {
		msPart = b[:dash]
	}
	ms, okMs := parseULL(msPart)
	if !okMs {
		return ID{}, false, false
	}
	if dash < 0 {
		return ID{ms, missingSeq}, true, true
	}
	rest := b[dash+1:]
	if allowSeqStar && len(rest) == 1 && rest[0] == '*' {
		return ID{ms, 0}, false, true
	}
	seq, okSeq := parseULL(rest)
	if !okSeq {
		return ID{}, false, false
	}
	return ID{ms, seq}, true, true
}

// parseULL is Redis's string2ull: a string that string2ll accepts is
// taken as that number (a negative one is refused); otherwise strtoull's rules with the whole string consumed.
func parseULL(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if v, ok := strint.Parse(b); ok {
		if v < 0 {
			return 0, false
		}
		return uint64(v), true
	}
	// strtoull: optional leading spaces and sign, digits, base 10, must
	// consume everything (Redis checks *endptr == '\0'), errors on
	// overflow.
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	if i == len(b) {
		return 0, false
	}
	v, ok := parseU64(b[i:])
	if !ok {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
