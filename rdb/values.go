package rdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/skiffdb/skiff/store"
)

// prealloc caps the capacity reserved from an announced element count, so
// that a hostile count cannot make the reader allocate before elements
// actually arrive.
func prealloc(n uint64) int { return int(min(n, 1024)) }

// value reads a value of RDB type t. key only names the key in errors.
func (s *src) value(t byte, key string) (*store.Object, error) {
	start := s.off
	obj, err := s.valueBody(t, key)
	if err != nil {
		return nil, valueErr(err, t, start) // sanitize.go
	}
	return obj, nil
}

func (s *src) valueBody(t byte, key string) (*store.Object, error) {
	switch t {
	case typeString:
		b, err := s.str("string value")
		if err != nil {
			return nil, err
		}
		return &store.Object{Type: store.TypeString, Str: b, Enc: store.StringEncoding(b)}, nil
	case typeList:
		n, err := s.count("list length")
		if err != nil {
			return nil, err
		}
		l := store.NewList()
		for i := uint64(0); i < n; i++ {
			v, err := s.strString("list element")
			if err != nil {
				return nil, err
			}
			l.PushBack(v)
		}
		return listObject(l)
	case typeSet:
		return s.plainSet()
	case typeZSet, typeZSet2:
		return s.plainZSet(t == typeZSet2)
	case typeHash:
		return s.plainHash()
	case typeListQuicklist, typeListQuicklist2:
		return s.quicklist(t == typeListQuicklist2)
	case typeHashZipmap, typeListZiplist, typeSetIntset, typeZSetZiplist, typeHashZiplist, typeHashListpack, typeZSetListpack:
		start := s.off
		blob, err := s.str("encoded value")
		if err != nil {
			return nil, err
		}
		return s.blobValue(t, blob, start) // sanitize.go
	case typeModule, typeModule2:
		return nil, s.errorf("key %q holds a module value, which Skiff cannot load", key)
	case typeStreamLP, typeStreamLP2:
		return s.streamValue(t == typeStreamLP2) // stream.go
	}
	return nil, s.errorf("unknown value type %d", t)
}

func listObject(l *store.List) (*store.Object, error) {
	if l.Len() == 0 {
		return nil, ErrEmptyKey
	}
	return &store.Object{Type: store.TypeList, Val: l}, nil
}

// setBuilder gives a loaded set the encoding Redis would: an intset while
// members are integers and fit set-max-intset-entries.
type setBuilder struct {
	set *store.Set
	max int
}

func (b *setBuilder) add(m []byte) error {
	if b.set == nil {
		b.set = store.NewSet(m)
	}
	if !b.set.Add(m, b.max) {
		return fmt.Errorf("duplicate set member %q", m)
	}
	return nil
}

func (b *setBuilder) object() (*store.Object, error) {
	if b.set == nil || b.set.Len() == 0 {
		return nil, ErrEmptyKey
	}
	return &store.Object{Type: store.TypeSet, Val: b.set}, nil
}

func (s *src) plainSet() (*store.Object, error) {
	n, err := s.count("set size")
	if err != nil {
		return nil, err
	}
	b := setBuilder{max: s.lim.SetIntset}
	for i := uint64(0); i < n; i++ {
		start := s.off
		m, err := s.str("set member")
		if err != nil {
			return nil, err
		}
		if err := b.add(m); err != nil {
			return nil, &Error{Offset: start, Msg: err.Error(), Reason: reasonSetDup}
		}
	}
	return b.object()
}

// zsetBuilder collects members first because Redis picks a sorted set's
// encoding from its final size and longest member.
type zsetBuilder struct {
	members []store.ZMember
	seen    map[string]struct{}
	maxLen  int
}

func (b *zsetBuilder) add(m string, score float64) error {
	if math.IsNaN(score) {
		return fmt.Errorf("sorted set member %q has a NaN score", m)
	}
	if b.seen == nil {
		b.seen = make(map[string]struct{})
	}
	if _, dup := b.seen[m]; dup {
		return fmt.Errorf("duplicate sorted set member %q", m)
	}
	b.seen[m] = struct{}{}
	b.members = append(b.members, store.ZMember{Member: m, Score: score})
	b.maxLen = max(b.maxLen, len(m))
	return nil
}

// object builds the set. compact says it arrived listpack-encoded, which
// Redis keeps as it is unless it has too many entries (member length is
// not rechecked).
func (b *zsetBuilder) object(lim store.ZLimits, compact bool) (*store.Object, error) {
	if len(b.members) == 0 {
		return nil, ErrEmptyKey
	}
	maxLen := b.maxLen
	ins := lim
	if compact {
		maxLen = 0
		ins.Value = math.MaxInt
	}
	z := store.NewZSet(len(b.members), maxLen, lim)
	for _, m := range b.members {
		z.Insert(m.Member, m.Score, ins)
	}
	return &store.Object{Type: store.TypeZSet, Val: z}, nil
}

func (s *src) plainZSet(binaryScores bool) (*store.Object, error) {
	n, err := s.count("sorted set size")
	if err != nil {
		return nil, err
	}
	var b zsetBuilder
	b.members = make([]store.ZMember, 0, prealloc(n))
	for i := uint64(0); i < n; i++ {
		start := s.off
		m, err := s.strString("sorted set member")
		if err != nil {
			return nil, err
		}
		var score float64
		if binaryScores {
			if err := s.full(s.tmp[:8], "score"); err != nil {
				return nil, err
			}
			score = math.Float64frombits(binary.LittleEndian.Uint64(s.tmp[:8]))
		} else if score, err = s.stringDouble(); err != nil {
			return nil, err
		}
		if err := b.add(m, score); err != nil {
			reason := reasonZSetDup
			if math.IsNaN(score) {
				reason = reasonZSetNaN
			}
			return nil, &Error{Offset: start, Msg: err.Error(), Reason: reason}
		}
	}
	return b.object(s.lim.ZSet, false)
}

// stringDouble reads the old score form: a length byte (253, 254, 255
// meaning NaN, +inf, -inf) then that many characters.
func (s *src) stringDouble() (float64, error) {
	l, err := s.byte("score length")
	if err != nil {
		return 0, err
	}
	switch l {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	start := s.off
	p := make([]byte, l)
	if err := s.full(p, "score"); err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(p), 64)
	if err != nil {
		return 0, &Error{Offset: start, Msg: fmt.Sprintf("bad score %q", p)}
	}
	return f, nil
}

// hashBuilder gives a loaded hash the encoding Redis would.
type hashBuilder struct {
	h          *store.Hash
	maxEntries int
	maxValue   int
}

func (b *hashBuilder) add(f, v []byte) error {
	if b.h == nil {
		b.h = store.NewHash()
	}
	if !b.h.Set(f, v, b.maxEntries, b.maxValue) {
		return fmt.Errorf("duplicate hash field %q", f)
	}
	return nil
}

func (b *hashBuilder) object() (*store.Object, error) {
	if b.h == nil || b.h.Len() == 0 {
		return nil, ErrEmptyKey
	}
	return &store.Object{Type: store.TypeHash, Val: b.h}, nil
}

func (s *src) plainHash() (*store.Object, error) {
	n, err := s.count("hash size")
	if err != nil {
		return nil, err
	}
	b := hashBuilder{maxEntries: s.lim.HashEntries, maxValue: s.lim.HashValue}
	for i := uint64(0); i < n; i++ {
		start := s.off
		f, err := s.str("hash field")
		if err != nil {
			return nil, err
		}
		v, err := s.str("hash value")
		if err != nil {
			return nil, err
		}
		if err := b.add(f, v); err != nil {
			// Redis's words differ by where it found the duplicate: its
			// deep check of a hash small enough for a listpack, or the
			// hash table.
			reason := reasonHashDup
			if !s.shallow && n <= uint64(s.lim.HashEntries) {
				reason = reasonHashDupDeep
			}
			return nil, &Error{Offset: start, Msg: err.Error(), Reason: reason}
		}
	}
	return b.object()
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
