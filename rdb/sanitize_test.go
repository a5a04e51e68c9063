package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"testing"

	"github.com/skiffdb/skiff/store"
)

// Corrupt DUMP payloads built by hand, and what Redis 7.0.15 answers for
// each at both depths of sanitize-dump-payload: the reason it logs when
// it refuses one, or (without deep checks) that it takes the payload and
// fails only when the value is read (*DeferredError here).

// listpack encodes elems as a listpack: canonical integers 0..127 in the
// 7-bit form, other strings (under 64 bytes) with a 6-bit length.
func listpack(elems ...string) []byte {
	lp := make([]byte, 6, 64)
	for _, s := range elems {
		start := len(lp)
		if v, err := strconv.Atoi(s); err == nil && v >= 0 && v < 128 && strconv.Itoa(v) == s {
			lp = append(lp, byte(v))
		} else {
			lp = append(append(lp, 0x80|byte(len(s))), s...)
		}
		lp = append(lp, byte(len(lp)-start)) // back-length (entries < 128 bytes)
	}
	lp = append(lp, 0xFF)
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	binary.LittleEndian.PutUint16(lp[4:], uint16(len(elems)))
	return lp
}

// payload frames a value of RDB type t as a DUMP payload with a good CRC.
func payload(t byte, v *enc) []byte {
	p := append([]byte{t}, v.b...)
	p = append(p, Version, 0)
	return binary.LittleEndian.AppendUint64(p, CRC64(p))
}

// blobOf is a value holding one encoded blob.
func blobOf(b []byte) *enc { return val().str(string(b)) }

func mutated(b []byte, f func([]byte)) []byte {
	b = bytes.Clone(b)
	f(b)
	return b
}

func TestSanitizeDepths(t *testing.T) {
	const (
		refused  = iota // both depths refuse with reason
		deferLow        // deep refuses with reason; shallow defers (type want)
		emptyLow        // deep refuses with reason; shallow: empty key
	)
	zlHash := ziplist("a", "1", "b", "2")
	lpHash := listpack("a", "1", "b", "2")
	// A listpack whose last element claims more bytes than there are,
	// with a header that still adds up (Redis's shallow check passes).
	lpBroken := mutated(lpHash, func(b []byte) { b[len(b)-4] = 0x85 })
	ql2 := func(nodes ...[]byte) *enc {
		e := val().len(uint64(len(nodes)))
		for _, n := range nodes {
			e.len(containerPacked).str(string(n))
		}
		return e
	}
	cases := []struct {
		name   string
		t      byte
		v      *enc
		kind   int
		reason string
		typ    store.Type
		// lowReason, when set, is the shallow depth's reason.
		lowReason string
	}{
		{"hash ziplist dup field", typeHashZiplist, blobOf(ziplist("a", "1", "a", "2")), refused, reasonHashZiplist, 0, ""},
		{"hash ziplist odd count", typeHashZiplist, blobOf(ziplist("a", "1", "b")), refused, reasonHashZiplist, 0, ""},
		{"zset ziplist tail offset", typeZSetZiplist, blobOf(mutated(ziplist("a", "1"), func(b []byte) { b[4] = 10 })), refused, reasonZSetZiplist, 0, ""},
		{"ziplist tail past the end", typeListZiplist, blobOf(mutated(zlHash, func(b []byte) { b[4] = 200 })), refused, reasonListZiplist, 0, ""},
		{"ziplist count", typeListZiplist, blobOf(mutated(zlHash, func(b []byte) { b[8] = 3 })), refused, reasonListZiplist, 0, ""},
		{"quicklist ziplist prevlen", typeListQuicklist, val().len(1).str(string(mutated(zlHash, func(b []byte) { b[13] = 9 }))), refused, reasonZiplist, 0, ""},
		{"empty zipmap", typeHashZipmap, blobOf([]byte{0, 0xFF}), refused, reasonZipmap, 0, ""},
		{"zipmap count", typeHashZipmap, blobOf(mutated(zipmap(zmPair{"a", "1", 0}), func(b []byte) { b[0] = 2 })), refused, reasonZipmap, 0, ""},
		{"zipmap dup", typeHashZipmap, blobOf(zipmap(zmPair{"a", "1", 0}, zmPair{"a", "2", 0})), refused, "Hash zipmap with dup elements, or big length (1)", 0, ""},
		{"empty intset", typeSetIntset, blobOf(intset(2)), refused, reasonIntset, 0, ""},
		{"intset width", typeSetIntset, blobOf(mutated(intset(2, 1, 2), func(b []byte) { b[0] = 3 })), refused, reasonIntset, 0, ""},
		{"intset order", typeSetIntset, blobOf(intset(2, 5, 3)), deferLow, reasonIntset, store.TypeSet, ""},
		{"intset dup", typeSetIntset, blobOf(intset(4, 7, 7)), deferLow, reasonIntset, store.TypeSet, ""},
		{"listpack size header", typeHashListpack, blobOf(mutated(lpHash, func(b []byte) { b[0]++ })), refused, reasonHashListpack, 0, ""},
		{"listpack terminator", typeZSetListpack, blobOf(mutated(listpack("a", "1"), func(b []byte) { b[len(b)-1] = 0 })), refused, reasonZSetListpack, 0, ""},
		{"hash listpack entry", typeHashListpack, blobOf(lpBroken), deferLow, reasonHashListpack, store.TypeHash, ""},
		{"hash listpack dup", typeHashListpack, blobOf(listpack("a", "1", "a", "2")), deferLow, reasonHashListpack, store.TypeHash, ""},
		{"hash listpack odd", typeHashListpack, blobOf(listpack("a", "1", "b")), deferLow, reasonHashListpack, store.TypeHash, ""},
		{"hash listpack says empty", typeHashListpack, blobOf(mutated(lpHash, func(b []byte) { b[4] = 0 })), emptyLow, reasonHashListpack, 0, ""},
		{"zset listpack score", typeZSetListpack, blobOf(listpack("a", "x")), deferLow, reasonZSetListpack, store.TypeZSet, ""},
		{"zset listpack dup", typeZSetListpack, blobOf(listpack("a", "1", "a", "2")), deferLow, reasonZSetListpack, store.TypeZSet, ""},
		{"quicklist2 ziplist in a listpack node", typeListQuicklist2, ql2(ziplist("abc", "d")), deferLow, reasonListpack, store.TypeList, ""},
		{"quicklist2 later node broken", typeListQuicklist2, ql2(listpack("x"), lpBroken), deferLow, reasonListpack, store.TypeList, ""},
		// A node that fails the deep check and a later one that fails the
		// shallow one: Redis refuses the list whatever the depth.
		{"quicklist2 shallow failure after a deep one", typeListQuicklist2, ql2(lpBroken, mutated(listpack("x"), func(b []byte) { b[0] = 3 })), refused, reasonListpack, 0, ""},
		{"quicklist2 container", typeListQuicklist2, val().len(1).len(3).str(string(listpack("x"))), refused, reasonQuicklist, 0, ""},
		{"set dup", typeSet, val().len(2).str("m").str("m"), refused, reasonSetDup, 0, ""},
		{"zset NaN", typeZSet2, val().len(1).str("m").raw(0, 0, 0, 0, 0, 0, 0xF8, 0x7F), refused, reasonZSetNaN, 0, ""},
		{"zset dup", typeZSet2, val().len(2).str("m").raw(0, 0, 0, 0, 0, 0, 0xF0, 0x3F).str("m").raw(0, 0, 0, 0, 0, 0, 0xF0, 0x3F), refused, reasonZSetDup, 0, ""},
		// (Redis takes this one without deep checks, into a listpack with
		// the duplicate; Skiff's hashes cannot hold one.)
		{"small hash dup", typeHash, val().len(2).str("f").str("1").str("f").str("2"), refused, reasonHashDupDeep, 0, reasonHashDup},
		{"lzf", typeString, val().raw(0xC3, 2, 10, 0x1F, 'a'), refused, reasonLZF, 0, ""},
	}
	for _, c := range cases {
		p := payload(c.t, c.v)
		for _, shallow := range []bool{false, true} {
			o, err := DecodeValueOpts(p, DefaultLimits, DecodeOptions{Shallow: shallow})
			want := c.kind
			if !shallow {
				want = refused
			}
			var re *Error
			var de *DeferredError
			switch want {
			case refused:
				reason := c.reason
				if shallow && c.lowReason != "" {
					reason = c.lowReason
				}
				if o != nil || !errors.As(err, &re) || errors.As(err, &de) || re.Reason != reason {
					t.Errorf("%s (shallow %v): got %v, %v; want refused with %q", c.name, shallow, o, err, reason)
				}
			case emptyLow:
				if o != nil || err != ErrEmptyKey {
					t.Errorf("%s (shallow): got %v, %v; want an empty key", c.name, o, err)
				}
			case deferLow:
				if o != nil || !errors.As(err, &de) || de.Err.Reason != c.reason || de.Value == nil || de.Value.Type != c.typ || de.Value.Val == nil {
					t.Errorf("%s (shallow): got %v, %v; want deferred %q with a value of type %v", c.name, o, err, c.reason, c.typ)
				}
			}
		}
	}
}

// TestSanitizeConversionAtRestore: a listpack too long for its encoding is
// converted by Redis during the RESTORE itself, deep checks or not, so a
// corrupt one is refused then; a duplicate field in a hash is logged as a
// hexdump first.
func TestSanitizeConversionAtRestore(t *testing.T) {
	lim := DefaultLimits
	lim.HashEntries = 1
	p := payload(typeHashListpack, blobOf(listpack("a", "1", "a", "2")))
	_, err := DecodeValueOpts(p, lim, DecodeOptions{Shallow: true})
	var re *Error
	if !errors.As(err, &re) || re.Reason != reasonHashListpack || re.DumpName != "listpack with dup elements dump" || !bytes.Equal(re.Dump, listpack("a", "1", "a", "2")) {
		t.Fatalf("dup in a hash listpack to convert: %v (%+v)", err, re)
	}
	lim = DefaultLimits
	lim.SetIntset = 1
	if _, err := DecodeValueOpts(payload(typeSetIntset, blobOf(intset(2, 1, 1))), lim, DecodeOptions{Shallow: true}); !errors.As(err, &re) || re.Reason != reasonIntset {
		t.Fatalf("dup in an intset to convert: %v", err)
	}
	// Within the limits the same payloads are deferred.
	if _, err := DecodeValueOpts(p, DefaultLimits, DecodeOptions{Shallow: true}); !errors.As(err, new(*DeferredError)) {
		t.Fatalf("dup in a hash listpack kept as one: %v", err)
	}
}

// TestSanitizeGoodPayloads: intact payloads of the checked encodings
// decode the same at both depths.
func TestSanitizeGoodPayloads(t *testing.T) {
	for _, p := range [][]byte{
		payload(typeHashListpack, blobOf(listpack("a", "1", "b", "2"))),
		payload(typeZSetListpack, blobOf(listpack("a", "1", "b", "2"))),
		payload(typeSetIntset, blobOf(intset(2, -3, 5))),
		payload(typeListQuicklist2, val().len(2).len(containerPacked).str(string(listpack("x", "1"))).len(containerPlain).str("plain")),
		payload(typeHashZiplist, blobOf(ziplist("a", "1", "b", "2"))),
		payload(typeHashZipmap, blobOf(zipmap(zmPair{"a", "1", 2}))),
	} {
		deep, err1 := DecodeValueOpts(p, DefaultLimits, DecodeOptions{})
		shallow, err2 := DecodeValueOpts(p, DefaultLimits, DecodeOptions{Shallow: true})
		if err1 != nil || err2 != nil || describe(deep) != describe(shallow) {
			t.Errorf("type %d: deep %v %v, shallow %v %v", p[0], describe(deep), err1, describe(shallow), err2)
		}
	}
}

// TestSkipChecksumOnly: a wrong CRC is accepted with SkipChecksum, a wrong
// version never.
func TestSkipChecksumOnly(t *testing.T) {
	p := payload(typeString, val().str("v"))
	p[len(p)-1] ^= 1
	if _, err := DecodeValueOpts(p, DefaultLimits, DecodeOptions{}); err != ErrChecksum {
		t.Fatalf("bad CRC: %v", err)
	}
	if o, err := DecodeValueOpts(p, DefaultLimits, DecodeOptions{SkipChecksum: true}); err != nil || string(o.Str) != "v" {
		t.Fatalf("bad CRC skipped: %v", err)
	}
	p[len(p)-10] = Version + 1
	if _, err := DecodeValueOpts(p, DefaultLimits, DecodeOptions{SkipChecksum: true}); err != ErrChecksum {
		t.Fatalf("version %d: %v", Version+1, err)
	}
}

// streamPayload builds an RDB_TYPE_STREAM_LISTPACKS_2 payload of one node
// (master ID 1-0, field "f", entries 1-0 "a" and 1-1 "b"), passing its
// listpack through lp first, and the groups given.
func streamPayload(lp func([]byte) []byte, groups func(*enc)) []byte {
	node := listpack("2", "0", "1", "f", "0", "2", "0", "0", "a", "4", "2", "0", "1", "b", "4")
	key := make([]byte, 16)
	key[7] = 1
	e := val().len(1).str(string(key)).str(string(lp(node)))
	e.len(2).len(1).len(1).len(1).len(0).len(0).len(0).len(2) // length, last, first, max deleted, added
	if groups == nil {
		e.len(0)
	} else {
		groups(e)
	}
	return payload(typeStreamLP2, e)
}

// rawID is a stream ID as PELs store it: 16 bytes big-endian.
func rawID(ms, seq uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, ms)
	return binary.BigEndian.AppendUint64(b, seq)
}

// group writes one group "g" whose PEL holds 1-0 and whose consumers
// (name, their PEL) are given.
func group(consumers ...[2]string) func(*enc) {
	return func(e *enc) {
		e.len(1).str("g").len(1).len(1).len(2)
		e.len(1).raw(rawID(1, 0)...).raw(make([]byte, 8)...).len(1)
		e.len(uint64(len(consumers)))
		for _, c := range consumers {
			e.str(c[0]).raw(make([]byte, 8)...)
			if c[1] == "" {
				e.len(0)
			} else {
				e.len(1).raw(rawID(1, 0)...)
			}
		}
	}
}

func TestSanitizeStreams(t *testing.T) {
	same := func(b []byte) []byte { return b }
	// The good stream decodes at both depths.
	for _, shallow := range []bool{false, true} {
		if o, err := DecodeValueOpts(streamPayload(same, group([2]string{"c", "owner"})), DefaultLimits, DecodeOptions{Shallow: shallow}); err != nil || o.Type != store.TypeStream {
			t.Fatalf("good stream (shallow %v): %v", shallow, err)
		}
	}
	lastBacklen := func(b []byte) []byte { b = bytes.Clone(b); b[len(b)-2] = 9; return b }
	firstBacklen := func(b []byte) []byte { b = bytes.Clone(b); b[7] = 9; return b }
	size := func(b []byte) []byte { b = bytes.Clone(b); b[0]++; return b }
	cases := []struct {
		name    string
		p       []byte
		deep    string // Redis's reason with deep checks
		shallow string // without: a reason, "defer", or "assert" (refused, Redis asserts)
	}{
		{"listpack size", streamPayload(size, nil), reasonStreamListpack, reasonStreamListpack},
		{"last entry", streamPayload(lastBacklen, nil), reasonStreamListpack, "defer"},
		{"first entry", streamPayload(firstBacklen, nil), reasonStreamListpack, "assert"},
		{"duplicate consumer", streamPayload(same, group([2]string{"c", "owner"}, [2]string{"c", ""})), reasonStreamConsDup, reasonStreamConsDup},
		{"PEL without consumer", streamPayload(same, group([2]string{"c", ""})), reasonStreamNoConsumr, "defer"},
	}
	for _, c := range cases {
		for _, shallow := range []bool{false, true} {
			want := c.deep
			if shallow {
				want = c.shallow
			}
			_, err := DecodeValueOpts(c.p, DefaultLimits, DecodeOptions{Shallow: shallow})
			var re *Error
			var de *DeferredError
			switch {
			case want == "defer":
				if !errors.As(err, &de) || de.Value.Type != store.TypeStream || de.Err.Reason == "" {
					t.Errorf("%s (shallow): %v, want deferred", c.name, err)
				}
			case want == "assert":
				if !errors.As(err, &re) || !re.RedisAsserts {
					t.Errorf("%s (shallow): %v, want refused as Redis's assertion", c.name, err)
				}
			default:
				if !errors.As(err, &re) || errors.As(err, &de) || re.Reason != want || re.RedisAsserts {
					t.Errorf("%s (shallow %v): %v (%+v), want refused with %q", c.name, shallow, err, re, want)
				}
			}
		}
	}
}

// FuzzDecodeValueShallow feeds arbitrary payloads to the shallow decoder
// (checksums not enforced): it never panics; a deferred value is of the
// type the payload announced and never nil; a payload the deep checks
// take decodes the same shallowly. (The converse does not hold: without
// deep checks a quicklist node whose header counts no element is dropped,
// as Redis drops it.)
func FuzzDecodeValueShallow(f *testing.F) {
	f.Add(payload(typeHashListpack, blobOf(listpack("a", "1", "b", "2"))))
	f.Add(payload(typeZSetListpack, blobOf(listpack("a", "1"))))
	f.Add(payload(typeSetIntset, blobOf(intset(2, 1, 5))))
	f.Add(payload(typeListQuicklist2, val().len(2).len(containerPacked).str(string(listpack("x", "y"))).len(containerPlain).str("p")))
	f.Add(payload(typeHashZiplist, blobOf(ziplist("a", "1"))))
	f.Add(streamPayload(func(b []byte) []byte { return b }, group([2]string{"c", "owner"})))
	types := map[byte]store.Type{
		typeHashListpack: store.TypeHash, typeZSetListpack: store.TypeZSet, typeSetIntset: store.TypeSet,
		typeListQuicklist2: store.TypeList, typeStreamLP: store.TypeStream, typeStreamLP2: store.TypeStream,
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		o, err := DecodeValueOpts(p, DefaultLimits, DecodeOptions{SkipChecksum: true, Shallow: true})
		var de *DeferredError
		if errors.As(err, &de) {
			want, ok := types[p[0]]
			if de.Value == nil || de.Value.Val == nil || !ok || de.Value.Type != want || de.Err == nil {
				t.Fatalf("deferred %v for type %d: value %+v", err, p[0], de.Value)
			}
		}
		deep, derr := DecodeValueOpts(p, DefaultLimits, DecodeOptions{SkipChecksum: true})
		if derr == nil && (err != nil || describe(deep) != describe(o)) {
			t.Fatalf("deep took %s, shallow %s (%v)", describe(deep), describe(o), err)
		}
	})
}

// streamPayloadV1 is the older RDB_TYPE_STREAM_LISTPACKS with the node
// listpack given (master ID 1-0) and no group.
func streamPayloadV1(lp []byte) []byte {
	key := make([]byte, 16)
	key[7] = 1
	e := val().len(1).str(string(key)).str(string(lp))
	e.len(1).len(1).len(1).len(0) // length, last ID, no group
	return payload(typeStreamLP, e)
}

// TestSanitizeOlderStreams: restoring the older stream type, Redis looks
// for the first live entry; without deep checks a corruption before it is
// an assertion during the RESTORE, one after it a deferred failure.
func TestSanitizeOlderStreams(t *testing.T) {
	// master: count 2, deleted 1, 1 field "f", 0; a deleted entry 1-0
	// (flags 3: deleted, same fields), a live one 1-1 (flags 2).
	elems := []string{"1", "1", "1", "f", "0", "3", "0", "0", "a", "4", "2", "0", "1", "b", "4"}
	lp := listpack(elems...)
	// The back-length of the deleted entry's value "a", then of the live
	// entry's lp-count.
	early := mutated(lp, func(b []byte) { b[bytes.IndexByte(b, 'a')+1] = 9 })
	late := mutated(lp, func(b []byte) { b[len(b)-2] = 9 })
	if _, err := DecodeValueOpts(streamPayloadV1(lp), DefaultLimits, DecodeOptions{Shallow: true}); err != nil {
		t.Fatalf("intact: %v", err)
	}
	var re *Error
	if _, err := DecodeValueOpts(streamPayloadV1(early), DefaultLimits, DecodeOptions{Shallow: true}); !errors.As(err, &re) || !re.RedisAsserts {
		t.Errorf("corrupt before the first live entry: %v, want Redis's assertion", err)
	}
	if _, err := DecodeValueOpts(streamPayloadV1(late), DefaultLimits, DecodeOptions{Shallow: true}); !errors.As(err, new(*DeferredError)) {
		t.Errorf("corrupt after the first live entry: %v, want deferred", err)
	}
	// Counts that point far past the node end the walk, whatever their size.
	huge := nodeElems{complete: true}
	for _, v := range []int64{1, 1, 1, 0, 0, 1, 0, 0, 1 << 62, 7, 7} {
		huge.el = append(huge.el, elem{i: v, isInt: true})
	}
	huge.el[3] = elem{s: []byte("f")}
	if !firstLiveAsserts([]nodeElems{huge}) {
		t.Errorf("a field count of 2^62 passed")
	}
}

// TestSanitizeStreamLastID: a stream whose entries are all deleted while
// its length says 2 is taken without deep checks (Redis does not compare
// them); XREAD and the like then make Redis panic looking for its last
// entry, which the DeferredError carries.
func TestSanitizeStreamLastID(t *testing.T) {
	build := func(flags2 string, length uint64) []byte {
		node := listpack("0", "2", "1", "f", "0", "3", "0", "0", "a", "4", flags2, "0", "1", "b", "4")
		if flags2 == "2" {
			node = listpack("1", "1", "1", "f", "0", "3", "0", "0", "a", "4", flags2, "0", "1", "b", "4")
		}
		key := make([]byte, 16)
		key[7] = 1
		e := val().len(1).str(string(key)).str(string(node))
		e.len(length).len(1).len(1).len(1).len(0).len(0).len(0).len(2).len(0)
		return payload(typeStreamLP2, e)
	}
	_, err := DecodeValueOpts(build("3", 2), DefaultLimits, DecodeOptions{Shallow: true})
	var de *DeferredError
	if !errors.As(err, &de) || de.LastIDPanic != "Corrupt stream, length is 2, but no max id" {
		t.Fatalf("all deleted, length 2: %v (%+v)", err, de)
	}
	// A live last entry, a length that disagrees: deferred, no panic.
	if _, err := DecodeValueOpts(build("2", 2), DefaultLimits, DecodeOptions{Shallow: true}); !errors.As(err, &de) || de.LastIDPanic != "" {
		t.Fatalf("one live entry, length 2: %v (%+v)", err, de)
	}
	if _, err := DecodeValueOpts(build("3", 2), DefaultLimits, DecodeOptions{}); err == nil || errors.As(err, &de) {
		t.Fatalf("deep: %v", err)
	}
}

// TestStreamChecksEveryByte sets every byte of stream payloads to every
// value and decodes the result at both depths: no panic, and the shallow
// answer is one of the three Redis gives (refused, taken, deferred).
func TestStreamChecksEveryByte(t *testing.T) {
	elems := []string{"1", "1", "1", "f", "0", "3", "0", "0", "a", "4", "2", "0", "1", "b", "4"}
	for _, p := range [][]byte{
		streamPayload(func(b []byte) []byte { return b }, group([2]string{"c", "owner"})),
		streamPayloadV1(listpack(elems...)),
	} {
		for i := 1; i < len(p)-10; i++ {
			for v := 0; v < 256; v++ {
				q := bytes.Clone(p)
				q[i] = byte(v)
				o, err := DecodeValueOpts(q, DefaultLimits, DecodeOptions{SkipChecksum: true, Shallow: true})
				var de *DeferredError
				if (o == nil) == (err == nil) || (errors.As(err, &de) && de.Value == nil) {
					t.Fatalf("byte %d = %#x: %v, %v", i, v, o, err)
				}
				DecodeValueOpts(q, DefaultLimits, DecodeOptions{SkipChecksum: true})
			}
		}
	}
}
