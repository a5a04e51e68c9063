package stream

import (
	"encoding/binary"
	"strconv"

	"github.com/skiffdb/skiff/internal/strint"
)

// A listpack is Redis's compact list: a 6-byte header (total bytes as a
// little-endian uint32, element count as a uint16, 65535 meaning "count
// unknown"), elements, and a 0xFF terminator. Each element is an
// encoding byte (small integers and short strings fit in it), the data,
// then a back-length: the size of encoding plus data, written so that it
// can be read from its last byte backwards, which is how a listpack is
// walked from the tail. Stream nodes are listpacks so that RDB files and
// DUMP payloads carry them as they are, and so a node costs what it costs
// in Redis.

const (
	lpHeaderSize = 6
	lpEOF        = 0xFF
)

// lpNew returns an empty listpack with room for capHint bytes.
func lpNew(capHint int) []byte {
	if capHint < lpHeaderSize+1 {
		capHint = lpHeaderSize + 1
	}
	lp := make([]byte, lpHeaderSize+1, capHint)
	binary.LittleEndian.PutUint32(lp, lpHeaderSize+1)
	lp[lpHeaderSize] = lpEOF
	return lp
}

// lpFirst is the offset of the first element (lpEOF's offset when empty).
func lpFirst() int { return lpHeaderSize }

// lpBacklenSize is the back-length's size for an element of l bytes.
func lpBacklenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// lpAppendBacklen appends the back-length of an element of l bytes.
func lpAppendBacklen(b []byte, l int) []byte {
	n := lpBacklenSize(l)
	// Most significant 7-bit group first; every byte but the first one
	// written (the last one read going backwards) has the high bit set.
	for i := n - 1; i >= 0; i-- {
		v := byte(l>>(7*uint(i))) & 127
		if i != n-1 {
			v |= 128
		}
		b = append(b, v)
	}
	return b
}

// lpEncodeInt appends the encoding of v (without back-length).
func lpEncodeInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 127:
		return append(b, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & 0x1FFF
		return append(b, byte(u>>8)|0xC0, byte(u))
	case v >= -32768 && v <= 32767:
		return append(b, 0xF1, byte(v), byte(v>>8))
	case v >= -8388608 && v <= 8388607:
		return append(b, 0xF2, byte(v), byte(v>>8), byte(v>>16))
	case v >= -2147483648 && v <= 2147483647:
		return append(b, 0xF3, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	b = append(b, 0xF4)
	return binary.LittleEndian.AppendUint64(b, uint64(v))
}

// lpEncodeStr appends the encoding of a string (without back-length).
func lpEncodeStr(b []byte, s []byte) []byte {
	l := len(s)
	switch {
	case l < 64:
		b = append(b, 0x80|byte(l))
	case l < 4096:
		b = append(b, 0xE0|byte(l>>8), byte(l))
	default:
		b = append(b, 0xF0)
		b = binary.LittleEndian.AppendUint32(b, uint32(l))
	}
	return append(b, s...)
}

// lpEncode appends one element (encoding, data, back-length) holding s,
// stored as an integer when s is one in canonical form (as Redis's
// lpAppend does).
func lpEncode(b []byte, s []byte) []byte {
	start := len(b)
	if v, ok := strint.Parse(s); ok {
		b = lpEncodeInt(b, v)
	} else {
		b = lpEncodeStr(b, s)
	}
	return lpAppendBacklen(b, len(b)-start)
}

// lpEncodeInteger appends one integer element.
func lpEncodeInteger(b []byte, v int64) []byte {
	start := len(b)
	b = lpEncodeInt(b, v)
	return lpAppendBacklen(b, len(b)-start)
}

// lpSetHeader rewrites the header for the current length, adding delta
// to the element count.
func lpSetHeader(lp []byte, delta int) {
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	n := int(binary.LittleEndian.Uint16(lp[4:]))
	if n != 65535 {
		n += delta
		if n >= 65535 {
			n = 65535
		}
		binary.LittleEndian.PutUint16(lp[4:], uint16(n))
	}
}

// lpAppendInt appends an integer element.
func lpAppendInt(lp []byte, v int64) []byte {
	lp = lp[:len(lp)-1] // drop EOF
	lp = lpEncodeInteger(lp, v)
	lp = append(lp, lpEOF)
	lpSetHeader(lp, 1)
	return lp
}

// lpAppendStr appends a string element (an integer when it is one).
func lpAppendStr(lp []byte, s []byte) []byte {
	lp = lp[:len(lp)-1]
	lp = lpEncode(lp, s)
	lp = append(lp, lpEOF)
	lpSetHeader(lp, 1)
	return lp
}

// lpElem decodes the element at p: an integer (isInt) or a string (s
// aliases lp), and the offset of the next element. The listpack is
// trusted (built here or validated on load).
func lpElem(lp []byte, p int) (v int64, s []byte, isInt bool, next int) {
	c := lp[p]
	var hdr, dlen int
	switch {
	case c < 0x80:
		v, isInt, hdr = int64(c), true, 1
	case c&0xC0 == 0x80:
		hdr, dlen = 1, int(c&0x3F)
	case c&0xE0 == 0xC0:
		u := uint64(c&0x1F)<<8 | uint64(lp[p+1])
		if u >= 1<<12 {
			v = int64(u) - (1 << 13)
		} else {
			v = int64(u)
		}
		isInt, hdr = true, 2
	case c&0xF0 == 0xE0:
		hdr, dlen = 2, int(c&0x0F)<<8|int(lp[p+1])
	case c == 0xF0:
		hdr, dlen = 5, int(binary.LittleEndian.Uint32(lp[p+1:]))
	case c == 0xF1:
		v, isInt, hdr = int64(int16(binary.LittleEndian.Uint16(lp[p+1:]))), true, 3
	case c == 0xF2:
		u := uint32(lp[p+1]) | uint32(lp[p+2])<<8 | uint32(lp[p+3])<<16
		v, isInt, hdr = int64(int32(u<<8)>>8), true, 4
	case c == 0xF3:
		v, isInt, hdr = int64(int32(binary.LittleEndian.Uint32(lp[p+1:]))), true, 5
	case c == 0xF4:
		v, isInt, hdr = int64(binary.LittleEndian.Uint64(lp[p+1:])), true, 9
	default:
		// 0xFF (EOF) or an unused code: callers never ask for these.
		return 0, nil, true, p + 1
	}
	if !isInt {
		s = lp[p+hdr : p+hdr+dlen]
	}
	l := hdr + dlen
	return v, s, isInt, p + l + lpBacklenSize(l)
}

// lpInt reads the integer at p (a string that is not a number reads as 0)
// and returns the next offset.
func lpInt(lp []byte, p int) (int64, int) {
	v, s, isInt, next := lpElem(lp, p)
	if !isInt {
		v, _ = strint.Parse(s)
	}
	return v, next
}

// lpSkip returns the offset of the element after p.
func lpSkip(lp []byte, p int) int {
	_, _, _, next := lpElem(lp, p)
	return next
}

// lpPrev returns the offset of the element before p (p may be the EOF's
// offset), reading the back-length that ends at p-1.
func lpPrev(lp []byte, p int) int {
	q := p - 1
	l := 0
	shift := uint(0)
	for {
		b := lp[q]
		l |= int(b&127) << shift
		if b&128 == 0 {
			break
		}
		shift += 7
		q--
	}
	// q is the back-length's first byte; the element starts l bytes
	// before it.
	return q - l
}

// lpBytes appends the element at p as a string: integers in decimal.
func lpBytes(dst []byte, lp []byte, p int) []byte {
	v, s, isInt, _ := lpElem(lp, p)
	if isInt {
		return strconv.AppendInt(dst, v, 10)
	}
	return append(dst, s...)
}

// lpEqual reports whether the element at p equals s as a string.
func lpEqual(lp []byte, p int, s []byte) bool {
	v, es, isInt, _ := lpElem(lp, p)
	if !isInt {
		return string(es) == string(s)
	}
	var buf [24]byte
	return string(strconv.AppendInt(buf[:0], v, 10)) == string(s)
}

// lpReplaceInt replaces the element at p with the integer v, moving the
// tail when the size changes; it returns the new listpack.
func lpReplaceInt(lp []byte, p int, v int64) []byte {
	next := lpSkip(lp, p)
	var buf [16]byte
	enc := lpEncodeInteger(buf[:0], v)
	old := next - p
	if len(enc) == old {
		copy(lp[p:], enc)
		return lp
	}
	diff := len(enc) - old
	if diff > 0 {
		lp = append(lp, make([]byte, diff)...)
		copy(lp[next+diff:], lp[next:len(lp)-diff])
	} else {
		copy(lp[next+diff:], lp[next:])
		lp = lp[:len(lp)+diff]
	}
	copy(lp[p:], enc)
	lpSetHeader(lp, 0)
	return lp
}

// lpValidate walks a listpack received from outside (RDB, RESTORE) and
// reports whether it is well formed; it returns the element count.
func lpValidate(lp []byte) (int, bool) {
	if len(lp) < lpHeaderSize+1 || int(binary.LittleEndian.Uint32(lp)) != len(lp) || lp[len(lp)-1] != lpEOF {
		return 0, false
	}
	n := 0
	p := lpHeaderSize
	for p < len(lp)-1 {
		c := lp[p]
		var hdr, dlen int
		switch {
		case c < 0x80:
			hdr = 1
		case c&0xC0 == 0x80:
			hdr, dlen = 1, int(c&0x3F)
		case c&0xE0 == 0xC0:
			hdr = 2
		case c&0xF0 == 0xE0:
			hdr = 2
			if p+1 >= len(lp) {
				return 0, false
			}
			dlen = int(c&0x0F)<<8 | int(lp[p+1])
		case c == 0xF0:
			if p+5 > len(lp) {
				return 0, false
			}
			hdr, dlen = 5, int(binary.LittleEndian.Uint32(lp[p+1:]))
		case c == 0xF1:
			hdr = 3
		case c == 0xF2:
			hdr = 4
		case c == 0xF3:
			hdr = 5
		case c == 0xF4:
			hdr = 9
		default:
			return 0, false
		}
		l := hdr + dlen
		if l < 0 || p+l+lpBacklenSize(l) > len(lp)-1 {
			return 0, false
		}
		if !lpBacklenOK(lp, p+l, l) {
			return 0, false
		}
		p += l + lpBacklenSize(l)
		n++
	}
	if p != len(lp)-1 {
		return 0, false
	}
	if c := int(binary.LittleEndian.Uint16(lp[4:])); c != 65535 && c != n {
		return 0, false
	}
	return n, true
}

// lpBacklenOK checks, without trusting the bytes, that the back-length
// stored at q encodes l.
func lpBacklenOK(lp []byte, q, l int) bool {
	var want [5]byte
	enc := lpAppendBacklen(want[:0], l)
	return q+len(enc) <= len(lp) && string(lp[q:q+len(enc)]) == string(enc)
}
