package rdb

import (
	"fmt"
	"math"
	"strconv"

	"github.com/skiffdb/skiff/store"
)

// The value types stored as compact blobs (ziplists, listpacks, intsets,
// zipmaps, quicklists of them), checked as Redis 7.0 checks them (see
// sanitize.go for the two depths).

// quicklist reads a list stored as nodes: ziplists (RDB type 14), or
// (type 18) listpacks and plain single elements.
func (s *src) quicklist(v2 bool) (*store.Object, error) {
	n, err := s.count("quicklist node count")
	if err != nil {
		return nil, err
	}
	l := store.NewList()
	push := func(e elem) error {
		l.PushBack(string(e.bytes()))
		return nil
	}
	// late is the first node only a deep check refuses (shallow mode):
	// the nodes after it still get the shallow checks, which Redis makes
	// on every node before it accepts the list.
	var late *DeferredError
	for i := uint64(0); i < n; i++ {
		container := uint64(containerPacked)
		if v2 {
			if container, err = s.count("quicklist container"); err != nil {
				return nil, err
			}
			if container != containerPlain && container != containerPacked {
				return nil, &Error{Offset: s.off, Msg: fmt.Sprintf("unknown quicklist container %d", container), Reason: reasonQuicklist}
			}
		}
		start := s.off
		blob, err := s.str("quicklist node")
		if err != nil {
			return nil, err
		}
		if len(blob) == 0 {
			// Redis refuses an empty node without a word in its log.
			return nil, &Error{Offset: start, Msg: "quicklist node of 0 bytes"}
		}
		switch {
		case container == containerPlain:
			if late == nil {
				l.PushBack(string(blob))
			}
		case !v2:
			if err := walkZiplist(blob, push); err != nil {
				return nil, &Error{Offset: start, Msg: err.Error(), Reason: reasonZiplist}
			}
		default:
			if err := listpackShallow(blob); err != nil {
				return nil, &Error{Offset: start, Msg: err.Error(), Reason: reasonListpack}
			}
			if late != nil || (s.shallow && listpackCount(blob) == 0) {
				// Without deep checks Redis takes the header's word
				// that a node is empty, and drops it.
				continue
			}
			if err := walkListpack(blob, push); err != nil {
				if !s.shallow {
					return nil, &Error{Offset: start, Msg: err.Error(), Reason: reasonListpack}
				}
				late = deferred(start, reasonListpack, err, nil)
			}
		}
	}
	if late != nil {
		late.Value = &store.Object{Type: store.TypeList, Val: l}
		return nil, late
	}
	return listObject(l)
}

// blobValue decodes the value types stored as one encoded string that
// started at offset start of the input. Errors from the walkers name the
// offset inside the blob; value() adds the blob's own position.
func (s *src) blobValue(t byte, blob []byte, start int64) (*store.Object, error) {
	switch t {
	case typeListZiplist:
		l := store.NewList()
		if err := walkZiplist(blob, func(e elem) error {
			l.PushBack(string(e.bytes()))
			return nil
		}); err != nil {
			return nil, withReason(reasonListZiplist, err)
		}
		return listObject(l)
	case typeSetIntset:
		return s.intsetValue(blob, start)
	case typeHashZipmap:
		// Redis checks the whole zipmap before it reads a pair of it, so
		// a broken one is reported as such even after a duplicate.
		if err := walkZipmap(blob, func(_, _ []byte) error { return nil }); err != nil {
			return nil, withReason(reasonZipmap, err)
		}
		b := hashBuilder{maxEntries: s.lim.HashEntries, maxValue: s.lim.HashValue}
		if err := walkZipmap(blob, func(f, v []byte) error {
			if err := b.add(f, v); err != nil {
				return withReason(fmt.Sprintf(reasonZipmapDupOrBig, len(f)), err)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		return b.object()
	case typeHashZiplist:
		b, _, err := s.hashPairs(blob, walkZiplist)
		if err != nil {
			return nil, withReason(reasonHashZiplist, err)
		}
		return b.object()
	case typeZSetZiplist:
		b, err := s.zsetPairs(blob, walkZiplist)
		if err != nil {
			return nil, withReason(reasonZSetZiplist, err)
		}
		return b.object(s.lim.ZSet, true)
	case typeHashListpack:
		return s.hashListpack(blob, start)
	case typeZSetListpack:
		return s.zsetListpack(blob, start)
	}
	return nil, fmt.Errorf("unknown encoded type %d", t)
}

func (s *src) intsetValue(blob []byte, start int64) (*store.Object, error) {
	_, count, err := intsetShallow(blob)
	if err != nil {
		return nil, withReason(reasonIntset, err)
	}
	b := setBuilder{set: store.NewIntSet(), max: s.lim.SetIntset}
	var buf [24]byte
	err = walkIntset(blob, func(v int64) error {
		return b.add(strconv.AppendInt(buf[:0], v, 10))
	})
	if err == nil {
		return b.object()
	}
	// Without deep checks Redis keeps the intset as it is, unless it is
	// too long for one: then it converts it at once, and a duplicate
	// fails that.
	if !s.shallow || count > uint64(s.lim.SetIntset) {
		return nil, withReason(reasonIntset, err)
	}
	o, oerr := b.object()
	return nil, deferred(start, reasonIntset, err, partial(o, oerr, store.TypeSet))
}

// walker is walkZiplist or walkListpack.
type walker func([]byte, func(elem) error) error

// hashPairs walks a ziplist or listpack of field, value pairs into a
// hash builder; dup reports that the walk stopped at a repeated field.
// Redis converts these by entry count only.
func (s *src) hashPairs(blob []byte, walk walker) (b *hashBuilder, dup bool, err error) {
	b = &hashBuilder{maxEntries: s.lim.HashEntries, maxValue: math.MaxInt}
	var field []byte
	odd := false
	err = walk(blob, func(e elem) error {
		if !odd {
			field, odd = e.bytes(), true
			return nil
		}
		odd = false
		if err := b.add(field, e.bytes()); err != nil {
			dup = true
			return err
		}
		return nil
	})
	if err == nil && odd {
		err = fmt.Errorf("hash with an odd number of elements")
	}
	return b, dup, err
}

// zsetPairs walks a ziplist or listpack of member, score pairs.
func (s *src) zsetPairs(blob []byte, walk walker) (*zsetBuilder, error) {
	b := &zsetBuilder{}
	var member string
	odd := false
	err := walk(blob, func(e elem) error {
		if !odd {
			member, odd = string(e.bytes()), true
			return nil
		}
		odd = false
		score := float64(e.i)
		if !e.isInt {
			f, err := strconv.ParseFloat(string(e.s), 64)
			if err != nil && !isRangeErr(err) {
				return fmt.Errorf("bad score %q", e.s)
			}
			score = f
		}
		return b.add(member, score)
	})
	if err == nil && odd {
		err = fmt.Errorf("sorted set with an odd number of elements")
	}
	return b, err
}

// hashListpack reads RDB type 16. Without deep checks Redis keeps the
// listpack as it is (trusting its header's count) unless it has too many
// entries for one: then it converts it at once, and panics on a
// duplicate field after logging the listpack; Skiff logs it the same way
// (the error's Dump) and refuses the value.
func (s *src) hashListpack(blob []byte, start int64) (*store.Object, error) {
	if err := listpackShallow(blob); err != nil {
		return nil, withReason(reasonHashListpack, err)
	}
	n := listpackCount(blob)
	if s.shallow && n == 0 {
		return nil, ErrEmptyKey
	}
	b, dup, err := s.hashPairs(blob, walkListpack)
	if err == nil {
		return b.object()
	}
	if !s.shallow {
		return nil, withReason(reasonHashListpack, err)
	}
	if n == 0xFFFF || n/2 > s.lim.HashEntries {
		if dup {
			return nil, &reasonErr{reason: reasonHashListpack, err: err, dumpName: "listpack with dup elements dump", dump: blob}
		}
		return nil, withReason(reasonHashListpack, err)
	}
	o, oerr := b.object()
	return nil, deferred(start, reasonHashListpack, err, partial(o, oerr, store.TypeHash))
}

// zsetListpack reads RDB type 17, as hashListpack does type 16 (Redis's
// conversion of a too long one asserts on a duplicate, without a dump).
func (s *src) zsetListpack(blob []byte, start int64) (*store.Object, error) {
	if err := listpackShallow(blob); err != nil {
		return nil, withReason(reasonZSetListpack, err)
	}
	n := listpackCount(blob)
	if s.shallow && n == 0 {
		return nil, ErrEmptyKey
	}
	b, err := s.zsetPairs(blob, walkListpack)
	if err == nil {
		return b.object(s.lim.ZSet, true)
	}
	if !s.shallow || n == 0xFFFF || n/2 > s.lim.ZSet.Entries {
		return nil, withReason(reasonZSetListpack, err)
	}
	o, oerr := b.object(s.lim.ZSet, true)
	return nil, deferred(start, reasonZSetListpack, err, partial(o, oerr, store.TypeZSet))
}
