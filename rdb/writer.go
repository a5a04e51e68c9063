package rdb

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/skiffdb/skiff/store"
)

// Writer writes an RDB file: Header, then per database SelectDB and its
// Entry calls, then Finish. It buffers its output and computes the CRC64
// trailer as the bytes go out. After the first error every call returns
// that error. A Writer is not safe for concurrent use.
type Writer struct {
	out      io.Writer
	crc      crcWriter
	bw       *bufio.Writer
	buf      []byte
	err      error
	compress bool
}

type crcWriter struct {
	w   io.Writer
	crc uint64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = crcUpdate(c.crc, p)
	return c.w.Write(p)
}

// NewWriter returns a Writer to w. Strings are LZF-compressed as Redis
// does with rdbcompression yes; call SetCompression(false) to turn that
// off.
func NewWriter(w io.Writer) *Writer {
	wr := &Writer{out: w, compress: true}
	wr.crc.w = w
	// 64 KiB chunks keep the CRC on the stdlib's fast table path.
	wr.bw = bufio.NewWriterSize(&wr.crc, 64<<10)
	return wr
}

// SetCompression chooses whether strings longer than 20 bytes are stored
// LZF-compressed when that saves space (Redis's rdbcompression).
func (w *Writer) SetCompression(on bool) { w.compress = on }

func (w *Writer) write(p []byte) error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.bw.Write(p); err != nil {
		w.err = fmt.Errorf("rdb: write: %w", err)
	}
	return w.err
}

// DefaultAux are the AUX fields Redis 7.0 writes that do not depend on
// the moment of the save; Header adds ctime itself when absent.
func DefaultAux() map[string]string {
	return map[string]string{
		"redis-ver":  "7.0.15",
		"redis-bits": "64",
		"used-mem":   "0",
		"aof-base":   "0",
	}
}

// auxOrder is the order Redis writes its AUX fields in; others follow in
// sorted order so that output is deterministic.
var auxOrder = []string{"redis-ver", "redis-bits", "ctime", "used-mem", "repl-stream-db", "repl-id", "repl-offset", "aof-base"}

// Header writes the magic "REDIS0010" and one AUX field per aux entry.
// A nil aux writes DefaultAux (without ctime).
func (w *Writer) Header(aux map[string]string) error {
	if aux == nil {
		aux = DefaultAux()
	}
	b := append(w.buf[:0], "REDIS0010"...)
	done := make(map[string]bool, len(aux))
	for _, k := range auxOrder {
		if v, ok := aux[k]; ok {
			b = appendAux(b, k, v)
			done[k] = true
		}
	}
	rest := make([]string, 0, len(aux))
	for k := range aux {
		if !done[k] {
			rest = append(rest, k)
		}
	}
	sortStrings(rest)
	for _, k := range rest {
		b = appendAux(b, k, aux[k])
	}
	w.buf = b
	return w.write(b)
}

func appendAux(b []byte, k, v string) []byte {
	b = append(b, opAux)
	b = appendString(b, k, false)
	return appendString(b, v, false)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// SelectDB starts database db, announcing its number of keys and of keys
// with a TTL (hints for the loader's table sizes).
func (w *Writer) SelectDB(db int, size, expires int) error {
	b := append(w.buf[:0], opSelectDB)
	b = appendLen(b, uint64(db))
	b = append(b, opResizeDB)
	b = appendLen(b, uint64(size))
	b = appendLen(b, uint64(expires))
	w.buf = b
	return w.write(b)
}

// Entry writes one key: its expiry (EXPIRETIME_MS) when obj.Expire is set,
// then the value's type, the key and the value.
func (w *Writer) Entry(key string, obj *store.Object) error {
	if w.err != nil {
		return w.err
	}
	b := w.buf[:0]
	if obj.Expire != 0 {
		b = append(b, opExpireTimeMS)
		b = binary.LittleEndian.AppendUint64(b, uint64(obj.Expire))
	}
	t, err := valueType(obj)
	if err != nil {
		return fmt.Errorf("rdb: key %q: %w", key, err)
	}
	b = append(b, t)
	b = appendString(b, key, w.compress)
	b, err = appendValue(b, obj, w.compress)
	if err != nil {
		return fmt.Errorf("rdb: key %q: %w", key, err)
	}
	err = w.write(b)
	if cap(b) > 1<<20 {
		b = nil // do not pin one huge value's buffer for the rest of the save
	}
	w.buf = b
	return err
}

// Finish writes the EOF opcode and the CRC64 trailer and flushes.
func (w *Writer) Finish() error {
	if err := w.write([]byte{opEOF}); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("rdb: write: %w", err)
		return w.err
	}
	var tr [8]byte
	binary.LittleEndian.PutUint64(tr[:], w.crc.crc)
	if _, err := w.out.Write(tr[:]); err != nil {
		w.err = fmt.Errorf("rdb: write: %w", err)
	}
	return w.err
}

// EncodeValue is DUMP's payload for obj: the value's type and encoding,
// the RDB version (2 bytes, little-endian) and the CRC64 of all that.
func EncodeValue(obj *store.Object) ([]byte, error) {
	t, err := valueType(obj)
	if err != nil {
		return nil, err
	}
	b, err := appendValue([]byte{t}, obj, true)
	if err != nil {
		return nil, err
	}
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, CRC64(b)), nil
}

// AppendValueUncompressed appends DUMP's payload for obj to dst without
// LZF-compressing its strings (a valid payload all the same, for a
// trusted peer on a fast link: atomic slot migration), returning the
// extended slice.
func AppendValueUncompressed(dst []byte, obj *store.Object) ([]byte, error) {
	t, err := valueType(obj)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	b, err := appendValue(append(dst, t), obj, false)
	if err != nil {
		return dst, err
	}
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, CRC64(b[start:])), nil
}

// valueType picks the RDB type a value is written as.
func valueType(obj *store.Object) (byte, error) {
	switch obj.Type {
	case store.TypeString:
		return typeString, nil
	case store.TypeList:
		return typeList, nil
	case store.TypeSet:
		if s, ok := obj.Val.(*store.Set); ok && s.IsIntset() {
			return typeSetIntset, nil
		}
		return typeSet, nil
	case store.TypeZSet:
		return typeZSet2, nil
	case store.TypeHash:
		return typeHash, nil
	case store.TypeStream:
		return typeStreamLP2, nil
	}
	return 0, fmt.Errorf("cannot encode a value of type %s", obj.Type)
}

func appendValue(b []byte, obj *store.Object, compress bool) ([]byte, error) {
	switch obj.Type {
	case store.TypeString:
		return appendBytes(b, obj.Str, compress), nil
	case store.TypeList:
		l, ok := obj.Val.(*store.List)
		if !ok {
			break
		}
		b = appendLen(b, uint64(l.Len()))
		for i := 0; i < l.Len(); i++ {
			b = appendString(b, l.At(i), compress)
		}
		return b, nil
	case store.TypeSet:
		s, ok := obj.Val.(*store.Set)
		if !ok {
			break
		}
		if s.IsIntset() {
			return appendIntset(b, s)
		}
		b = appendLen(b, uint64(s.Len()))
		s.Each(func(m string) bool {
			b = appendString(b, m, compress)
			return true
		})
		return b, nil
	case store.TypeZSet:
		z, ok := obj.Val.(*store.ZSet)
		if !ok {
			break
		}
		b = appendLen(b, uint64(z.Len()))
		// Highest score first, as Redis writes it, so that a loader
		// inserting at the head of a skiplist does so in O(1).
		z.Descend(z.Len()-1, func(m store.ZMember) bool {
			b = appendString(b, m.Member, compress)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(m.Score))
			return true
		})
		return b, nil
	case store.TypeStream:
		st, ok := obj.Val.(*store.Stream)
		if !ok {
			break
		}
		return appendStream(b, st, compress) // stream.go
	case store.TypeHash:
		h, ok := obj.Val.(*store.Hash)
		if !ok {
			break
		}
		b = appendLen(b, uint64(h.Len()))
		h.Each(func(f, v string) bool {
			b = appendString(b, f, compress)
			b = appendString(b, v, compress)
			return true
		})
		return b, nil
	}
	return nil, fmt.Errorf("cannot encode a value of type %s (%T)", obj.Type, obj.Val)
}

// appendIntset writes Redis's intset blob: encoding width, count, then
// the sorted members little-endian in the narrowest width that fits all.
func appendIntset(b []byte, s *store.Set) ([]byte, error) {
	ints := make([]int64, 0, s.Len())
	var err error
	s.Each(func(m string) bool {
		var v int64
		v, err = strconv.ParseInt(m, 10, 64)
		ints = append(ints, v)
		return err == nil
	})
	if err != nil {
		return nil, fmt.Errorf("intset member: %w", err)
	}
	width := 2
	for _, v := range ints {
		if v < math.MinInt32 || v > math.MaxInt32 {
			width = 8
			break
		}
		if v < math.MinInt16 || v > math.MaxInt16 {
			width = 4
		}
	}
	blob := make([]byte, 0, 8+width*len(ints))
	blob = binary.LittleEndian.AppendUint32(blob, uint32(width))
	blob = binary.LittleEndian.AppendUint32(blob, uint32(len(ints)))
	for _, v := range ints {
		switch width {
		case 2:
			blob = binary.LittleEndian.AppendUint16(blob, uint16(v))
		case 4:
			blob = binary.LittleEndian.AppendUint32(blob, uint32(v))
		default:
			blob = binary.LittleEndian.AppendUint64(blob, uint64(v))
		}
	}
	return appendBytes(b, blob, false), nil
}

// appendLen writes an RDB length in the shortest of its four forms.
func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, byte(n>>8)|len14<<6, byte(n))
	case n <= math.MaxUint32:
		b = append(b, len32)
		return binary.BigEndian.AppendUint32(b, uint32(n))
	default:
		b = append(b, len64)
		return binary.BigEndian.AppendUint64(b, n)
	}
}

func appendString(b []byte, s string, compress bool) []byte { return appendStr(b, s, compress) }

func appendBytes(b []byte, p []byte, compress bool) []byte { return appendStr(b, p, compress) }

// appendStr writes a string as Redis does: canonical integers of at most
// 11 characters that fit 32 bits int-encoded, strings over 20 bytes
// LZF-compressed when that saves space, the rest raw.
func appendStr[T string | []byte](b []byte, p T, compress bool) []byte {
	if len(p) <= 11 && len(p) > 0 && (p[0] == '-' || (p[0] >= '0' && p[0] <= '9')) {
		if v, ok := store.ParseStrictInt([]byte(p)); ok {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				return append(b, 0xC0|encInt8, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				b = append(b, 0xC0|encInt16)
				return binary.LittleEndian.AppendUint16(b, uint16(v))
			case v >= math.MinInt32 && v <= math.MaxInt32:
				b = append(b, 0xC0|encInt32)
				return binary.LittleEndian.AppendUint32(b, uint32(v))
			}
		}
	}
	if compress && len(p) > 20 {
		// Compressed straight after b, then moved right by the header,
		// whose length depends on the compressed length: no allocation.
		start := len(b)
		if nb, ok := lzfAppend(b, p); ok {
			clen := len(nb) - start
			var hb [19]byte
			h := append(hb[:0], 0xC0|encLZF)
			h = appendLen(h, uint64(clen))
			h = appendLen(h, uint64(len(p)))
			nb = append(nb, h...)
			copy(nb[start+len(h):], nb[start:start+clen])
			copy(nb[start:], h)
			return nb
		}
		b = b[:start]
	}
	b = appendLen(b, uint64(len(p)))
	return append(b, p...)
}
