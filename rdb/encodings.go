package rdb

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// The compact encodings below arrive as one string blob. Each decoder
// walks the blob with bounds checks on every step and calls fn per
// element; an element is a string or, when isInt, an integer.

type elem struct {
	s     []byte
	i     int64
	isInt bool
}

func (e elem) bytes() []byte {
	if e.isInt {
		return strconv.AppendInt(nil, e.i, 10)
	}
	return e.s
}

func blobErr(kind string, off int, format string, args ...any) error {
	return fmt.Errorf("%s: at blob offset %d: %s", kind, off, fmt.Sprintf(format, args...))
}

// walkListpack decodes a listpack: a 6-byte header (total bytes, element
// count), elements each followed by its back-length, and 0xFF.
func walkListpack(b []byte, fn func(elem) error) error {
	const kind = "listpack"
	if err := listpackShallow(b); err != nil {
		return err
	}
	count := listpackCount(b)
	p := 6
	n := 0
	for {
		if p >= len(b) {
			return blobErr(kind, p, "missing terminator")
		}
		if b[p] == 0xFF {
			if p != len(b)-1 {
				return blobErr(kind, p, "terminator before the end")
			}
			break
		}
		start := p
		var e elem
		c := b[p]
		need := func(k int) error {
			if p+k > len(b) {
				return blobErr(kind, start, "element runs past the end")
			}
			return nil
		}
		switch {
		case c&0x80 == 0: // 7-bit unsigned
			e = elem{i: int64(c & 0x7F), isInt: true}
			p++
		case c&0xC0 == 0x80: // 6-bit length string
			l := int(c & 0x3F)
			if err := need(1 + l); err != nil {
				return err
			}
			e = elem{s: b[p+1 : p+1+l]}
			p += 1 + l
		case c&0xE0 == 0xC0: // 13-bit signed
			if err := need(2); err != nil {
				return err
			}
			u := int64(c&0x1F)<<8 | int64(b[p+1])
			if u >= 1<<12 {
				u -= 1 << 13
			}
			e = elem{i: u, isInt: true}
			p += 2
		case c&0xF0 == 0xE0: // 12-bit length string
			if err := need(2); err != nil {
				return err
			}
			l := int(c&0x0F)<<8 | int(b[p+1])
			if err := need(2 + l); err != nil {
				return err
			}
			e = elem{s: b[p+2 : p+2+l]}
			p += 2 + l
		case c == 0xF0: // 32-bit length string
			if err := need(5); err != nil {
				return err
			}
			l := uint64(binary.LittleEndian.Uint32(b[p+1:]))
			if l > uint64(len(b)) {
				return blobErr(kind, start, "element runs past the end")
			}
			if err := need(5 + int(l)); err != nil {
				return err
			}
			e = elem{s: b[p+5 : p+5+int(l)]}
			p += 5 + int(l)
		case c == 0xF1, c == 0xF2, c == 0xF3, c == 0xF4:
			w := map[byte]int{0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}[c]
			if err := need(1 + w); err != nil {
				return err
			}
			var u uint64
			for k := w - 1; k >= 0; k-- {
				u = u<<8 | uint64(b[p+1+k])
			}
			shift := uint(64 - 8*w)
			e = elem{i: int64(u<<shift) >> shift, isInt: true}
			p += 1 + w
		default:
			return blobErr(kind, start, "bad element encoding 0x%02x", c)
		}
		l := p - start
		bl := backlenSize(l)
		if err := need(bl); err != nil {
			return err
		}
		if got := decodeBacklen(b[p : p+bl]); got != l {
			return blobErr(kind, p, "back-length %d does not match element size %d", got, l)
		}
		p += bl
		n++
		if err := fn(e); err != nil {
			return err
		}
	}
	if count != 0xFFFF && count != n {
		return blobErr(kind, 4, "header counts %d elements, found %d", count, n)
	}
	return nil
}

func backlenSize(l int) int {
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

// decodeBacklen reads a back-length stored from its last byte backwards:
// 7 bits per byte, the high bit marking "more bytes before".
func decodeBacklen(p []byte) int {
	v := 0
	for k := 0; k < len(p); k++ {
		v |= int(p[len(p)-1-k]&0x7F) << (7 * k)
	}
	return v
}

// walkZiplist decodes a ziplist: a 10-byte header (total bytes, tail
// offset, count), entries each led by the previous entry's length and an
// encoding, and 0xFF.
func walkZiplist(b []byte, fn func(elem) error) error {
	const kind = "ziplist"
	if err := ziplistShallow(b); err != nil {
		return err
	}
	count := int(binary.LittleEndian.Uint16(b[8:]))
	p := 10
	n := 0
	prev := 0
	last := -1 // offset of the last entry, which the header's tail must name
	for {
		if p >= len(b) {
			return blobErr(kind, p, "missing terminator")
		}
		if b[p] == 0xFF {
			if p != len(b)-1 {
				return blobErr(kind, p, "terminator before the end")
			}
			break
		}
		start := p
		need := func(k int) error {
			if p+k > len(b) {
				return blobErr(kind, start, "entry runs past the end")
			}
			return nil
		}
		var prevlen int
		if b[p] < 254 {
			prevlen = int(b[p])
			p++
		} else {
			if err := need(5); err != nil {
				return err
			}
			prevlen = int(binary.LittleEndian.Uint32(b[p+1:]))
			p += 5
		}
		if prevlen != prev {
			return blobErr(kind, start, "previous-entry length %d, expected %d", prevlen, prev)
		}
		if err := need(1); err != nil {
			return err
		}
		c := b[p]
		var e elem
		switch c >> 6 {
		case 0:
			l := int(c & 0x3F)
			if err := need(1 + l); err != nil {
				return err
			}
			e = elem{s: b[p+1 : p+1+l]}
			p += 1 + l
		case 1:
			if err := need(2); err != nil {
				return err
			}
			l := int(c&0x3F)<<8 | int(b[p+1])
			if err := need(2 + l); err != nil {
				return err
			}
			e = elem{s: b[p+2 : p+2+l]}
			p += 2 + l
		case 2:
			if c != 0x80 {
				return blobErr(kind, p, "bad string encoding 0x%02x", c)
			}
			if err := need(5); err != nil {
				return err
			}
			l := uint64(binary.BigEndian.Uint32(b[p+1:]))
			if l > uint64(len(b)) {
				return blobErr(kind, start, "entry runs past the end")
			}
			if err := need(5 + int(l)); err != nil {
				return err
			}
			e = elem{s: b[p+5 : p+5+int(l)]}
			p += 5 + int(l)
		default:
			var w int
			switch c {
			case 0xC0:
				w = 2
			case 0xD0:
				w = 4
			case 0xE0:
				w = 8
			case 0xF0:
				w = 3
			case 0xFE:
				w = 1
			default:
				if c >= 0xF1 && c <= 0xFD {
					e = elem{i: int64(c&0x0F) - 1, isInt: true}
					p++
				} else {
					return blobErr(kind, p, "bad integer encoding 0x%02x", c)
				}
			}
			if w > 0 {
				if err := need(1 + w); err != nil {
					return err
				}
				var u uint64
				for k := w - 1; k >= 0; k-- {
					u = u<<8 | uint64(b[p+1+k])
				}
				shift := uint(64 - 8*w)
				e = elem{i: int64(u<<shift) >> shift, isInt: true}
				p += 1 + w
			}
		}
		prev = p - start
		last = start
		n++
		if err := fn(e); err != nil {
			return err
		}
	}
	if tail := int64(binary.LittleEndian.Uint32(b[4:])); last >= 0 && tail != int64(last) {
		return blobErr(kind, 4, "tail offset %d, the last entry is at %d", tail, last)
	}
	if count != 0xFFFF && count != n {
		return blobErr(kind, 8, "header counts %d entries, found %d", count, n)
	}
	return nil
}

// walkIntset decodes an intset: element width (2, 4 or 8), count, then
// the sorted little-endian integers.
func walkIntset(b []byte, fn func(int64) error) error {
	const kind = "intset"
	w, n, err := intsetShallow(b)
	if err != nil {
		return err
	}
	var prev int64
	for k := 0; k < int(n); k++ {
		p := 8 + k*int(w)
		var v int64
		switch w {
		case 2:
			v = int64(int16(binary.LittleEndian.Uint16(b[p:])))
		case 4:
			v = int64(int32(binary.LittleEndian.Uint32(b[p:])))
		default:
			v = int64(binary.LittleEndian.Uint64(b[p:]))
		}
		if k > 0 && v <= prev {
			return blobErr(kind, p, "integers not sorted or duplicated")
		}
		prev = v
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// walkZipmap decodes a zipmap (Redis 2.x hashes): a count byte, then
// key, value pairs with lengths of one byte, or 254 and a 4-byte length,
// a "free" byte after each value's length and that many unused bytes
// after the value, and 0xFF.
func walkZipmap(b []byte, fn func(field, value []byte) error) error {
	const kind = "zipmap"
	if len(b) < 2 {
		return blobErr(kind, 0, "too short (%d bytes)", len(b))
	}
	if b[len(b)-1] != 0xFF {
		return blobErr(kind, len(b)-1, "last byte 0x%02x is not the terminator", b[len(b)-1])
	}
	p := 1
	n := 0
	readLen := func() (int, error) {
		if p >= len(b) {
			return 0, blobErr(kind, p, "runs past the end")
		}
		c := b[p]
		if c < 254 {
			p++
			return int(c), nil
		}
		if c == 255 {
			return 0, blobErr(kind, p, "unexpected terminator")
		}
		if p+5 > len(b) {
			return 0, blobErr(kind, p, "runs past the end")
		}
		l := binary.LittleEndian.Uint32(b[p+1:])
		p += 5
		if uint64(l) > uint64(len(b)) {
			return 0, blobErr(kind, p, "length %d runs past the end", l)
		}
		return int(l), nil
	}
	for {
		if p >= len(b) {
			return blobErr(kind, p, "missing terminator")
		}
		if b[p] == 0xFF {
			if p != len(b)-1 {
				return blobErr(kind, p, "terminator before the end")
			}
			// The count byte is exact below 254 (254: count them);
			// an empty zipmap is refused too, as Redis does.
			if n == 0 {
				return blobErr(kind, p, "no entries")
			}
			if b[0] < 254 && int(b[0]) != n {
				return blobErr(kind, 0, "header counts %d entries, found %d", b[0], n)
			}
			return nil
		}
		kl, err := readLen()
		if err != nil {
			return err
		}
		if p+kl > len(b) {
			return blobErr(kind, p, "key runs past the end")
		}
		key := b[p : p+kl]
		p += kl
		vl, err := readLen()
		if err != nil {
			return err
		}
		if p >= len(b) {
			return blobErr(kind, p, "runs past the end")
		}
		free := int(b[p])
		p++
		if p+vl+free > len(b) {
			return blobErr(kind, p, "value runs past the end")
		}
		val := b[p : p+vl]
		p += vl + free
		n++
		if err := fn(key, val); err != nil {
			return err
		}
	}
}
