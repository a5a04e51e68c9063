package lualib

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

// cmsgpackMaxNesting is LUACMSGPACK_MAX_NESTING: tables nested deeper than
// this are packed as nil rather than failing.
const cmsgpackMaxNesting = 16

// OpenCmsgpack registers the global "cmsgpack" (lua-cmsgpack 0.4.0 as
// bundled by Redis).
func OpenCmsgpack(L *lua.LState) {
	t := newLib(L, "cmsgpack", map[string]lua.LGFunction{
		"pack":         mpPack,
		"unpack":       mpUnpack,
		"unpack_one":   mpUnpackOne,
		"unpack_limit": mpUnpackLimit,
	})
	t.RawSetString("_NAME", lua.LString("cmsgpack"))
	t.RawSetString("_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	t.RawSetString("_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	t.RawSetString("_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
}

func mpPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "MessagePack pack needs input.")
	}
	var buf []byte
	for i := 1; i <= n; i++ {
		buf = mpEncode(buf, L.Get(i), 0)
	}
	L.Push(lua.LString(buf))
	return 1
}

func mpEncode(buf []byte, v lua.LValue, level int) []byte {
	switch v := v.(type) {
	case lua.LString:
		return mpEncodeBytes(buf, string(v))
	case lua.LBool:
		if v {
			return append(buf, 0xc3)
		}
		return append(buf, 0xc2)
	case lua.LNumber:
		f := float64(v)
		// Integral values that survive a round trip through int64 are
		// packed as integers; everything else as float or double.
		if !math.IsInf(f, 0) && float64(cInt64(f)) == f {
			return mpEncodeInt(buf, cInt64(f))
		}
		return mpEncodeDouble(buf, f)
	case *lua.LTable:
		if level == cmsgpackMaxNesting {
			return append(buf, 0xc0)
		}
		if n, ok := mpTableArrayLen(v); ok {
			buf = mpEncodeHeader(buf, 0x90, 0xdc, 0xdd, uint64(n))
			for i := 1; i <= n; i++ {
				buf = mpEncode(buf, v.RawGetInt(i), level+1)
			}
			return buf
		}
		count := 0
		for k, _ := v.Next(lua.LNil); k != lua.LNil; k, _ = v.Next(k) {
			count++
		}
		buf = mpEncodeHeader(buf, 0x80, 0xde, 0xdf, uint64(count))
		for k, val := v.Next(lua.LNil); k != lua.LNil; k, val = v.Next(k) {
			buf = mpEncode(buf, k, level+1)
			buf = mpEncode(buf, val, level+1)
		}
		return buf
	}
	// nil, functions, userdata (cjson.null included), threads.
	return append(buf, 0xc0)
}

// mpTableArrayLen reports whether all keys are positive numbers that fit a C
// int and form exactly 1..n.
func mpTableArrayLen(t *lua.LTable) (int, bool) {
	count, max := 0, 0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if !ok || n <= 0 || math.IsInf(float64(n), 0) || float64(cInt32(float64(n))) != float64(n) {
			return 0, false
		}
		if int(n) > max {
			max = int(n)
		}
		count++
	}
	return max, max == count
}

func mpEncodeBytes(buf []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		buf = append(buf, 0xa0|byte(n))
	case n <= 0xff:
		buf = append(buf, 0xd9, byte(n))
	case n <= 0xffff:
		buf = append(buf, 0xda, byte(n>>8), byte(n))
	default:
		buf = append(buf, 0xdb)
		buf = binary.BigEndian.AppendUint32(buf, uint32(n))
	}
	return append(buf, s...)
}

func mpEncodeDouble(buf []byte, d float64) []byte {
	f := float32(d)
	if float64(f) == d {
		buf = append(buf, 0xca)
		return binary.BigEndian.AppendUint32(buf, math.Float32bits(f))
	}
	buf = append(buf, 0xcb)
	return binary.BigEndian.AppendUint64(buf, math.Float64bits(d))
}

func mpEncodeInt(buf []byte, n int64) []byte {
	if n >= 0 {
		switch {
		case n <= 127:
			return append(buf, byte(n))
		case n <= 0xff:
			return append(buf, 0xcc, byte(n))
		case n <= 0xffff:
			return append(buf, 0xcd, byte(n>>8), byte(n))
		case n <= 0xffffffff:
			return binary.BigEndian.AppendUint32(append(buf, 0xce), uint32(n))
		}
		return binary.BigEndian.AppendUint64(append(buf, 0xcf), uint64(n))
	}
	switch {
	case n >= -32:
		return append(buf, byte(n))
	case n >= -128:
		return append(buf, 0xd0, byte(n))
	case n >= -32768:
		return append(buf, 0xd1, byte(n>>8), byte(n))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(buf, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(buf, 0xd3), uint64(n))
}

// mpEncodeHeader writes an array or map header (fix, 16-bit or 32-bit).
func mpEncodeHeader(buf []byte, fix, b16, b32 byte, n uint64) []byte {
	switch {
	case n <= 15:
		return append(buf, fix|byte(n))
	case n <= 65535:
		return append(buf, b16, byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint32(append(buf, b32), uint32(n))
}

const (
	mpErrNone = iota
	mpErrEOF
	mpErrBadFmt
)

// mpDecoder decodes from data[pos:]. top mirrors the number of Lua stack
// slots the C decoder would be using, so that its stack limit (and error
// texts) are reproduced without relying on gopher-lua's own limits.
type mpDecoder struct {
	L    *lua.LState
	data string
	pos  int
	err  int
	top  int
}

func (d *mpDecoder) left() int { return len(d.data) - d.pos }

func (d *mpDecoder) need(n int) bool {
	if d.left() < n {
		d.err = mpErrEOF
		return false
	}
	return true
}

func (d *mpDecoder) checkStack(n int, msg string) {
	if d.top+n > luaMaxCStack {
		raise(d.L, "stack overflow (%s)", msg)
	}
}

func (d *mpDecoder) u(off, n int) uint64 {
	var v uint64
	for i := 0; i < n; i++ {
		v = v<<8 | uint64(d.data[d.pos+off+i])
	}
	return v
}

// decode returns the next value; on error d.err is set and the value is nil.
// A returned value counts as one slot in d.top until the caller consumes it.
func (d *mpDecoder) decode() lua.LValue {
	if !d.need(1) {
		return lua.LNil
	}
	d.checkStack(1, "too many return values at once; use unpack_one or unpack_limit instead.")
	c := d.data[d.pos]
	var v lua.LValue = lua.LNil
	fixed := func(size int, val lua.LValue) lua.LValue {
		if !d.need(size) {
			return lua.LNil
		}
		d.pos += size
		return val
	}
	str := func(hdr, n int) lua.LValue {
		d.pos += hdr
		if !d.need(n) {
			return lua.LNil
		}
		s := d.data[d.pos : d.pos+n]
		d.pos += n
		return lua.LString(s)
	}
	switch c {
	case 0xcc:
		if d.need(2) {
			v = fixed(2, lua.LNumber(d.u(1, 1)))
		}
	case 0xd0:
		if d.need(2) {
			v = fixed(2, lua.LNumber(int8(d.u(1, 1))))
		}
	case 0xcd:
		if d.need(3) {
			v = fixed(3, lua.LNumber(d.u(1, 2)))
		}
	case 0xd1:
		if d.need(3) {
			v = fixed(3, lua.LNumber(int16(d.u(1, 2))))
		}
	case 0xce:
		if d.need(5) {
			v = fixed(5, lua.LNumber(d.u(1, 4)))
		}
	case 0xd2:
		if d.need(5) {
			v = fixed(5, lua.LNumber(int32(d.u(1, 4))))
		}
	case 0xcf, 0xd3:
		// uint64 goes through lua_pushinteger (a signed 64-bit integer),
		// so values above 2^63 come back negative, as in Redis.
		if d.need(9) {
			v = fixed(9, lua.LNumber(int64(d.u(1, 8))))
		}
	case 0xc0:
		v = fixed(1, lua.LNil)
	case 0xc3:
		v = fixed(1, lua.LTrue)
	case 0xc2:
		v = fixed(1, lua.LFalse)
	case 0xca:
		if d.need(5) {
			v = fixed(5, lua.LNumber(math.Float32frombits(uint32(d.u(1, 4)))))
		}
	case 0xcb:
		if d.need(9) {
			v = fixed(9, lua.LNumber(math.Float64frombits(d.u(1, 8))))
		}
	case 0xd9:
		if d.need(2) {
			n := int(d.u(1, 1))
			if d.need(2 + n) {
				v = str(2, n)
			}
		}
	case 0xda:
		if d.need(3) {
			n := int(d.u(1, 2))
			if d.need(3 + n) {
				v = str(3, n)
			}
		}
	case 0xdb:
		if d.need(5) {
			v = str(5, int(d.u(1, 4)))
		}
	case 0xdc:
		if d.need(3) {
			n := int(d.u(1, 2))
			d.pos += 3
			v = d.array(n)
		}
	case 0xdd:
		if d.need(5) {
			n := int(d.u(1, 4))
			d.pos += 5
			v = d.array(n)
		}
	case 0xde:
		if d.need(3) {
			n := int(d.u(1, 2))
			d.pos += 3
			v = d.hash(n)
		}
	case 0xdf:
		if d.need(5) {
			n := int(d.u(1, 4))
			d.pos += 5
			v = d.hash(n)
		}
	default:
		switch {
		case c&0x80 == 0:
			v = fixed(1, lua.LNumber(c))
		case c&0xe0 == 0xe0:
			v = fixed(1, lua.LNumber(int8(c)))
		case c&0xe0 == 0xa0:
			n := int(c & 0x1f)
			if d.need(1 + n) {
				v = str(1, n)
			}
		case c&0xf0 == 0x90:
			d.pos++
			v = d.array(int(c & 0xf))
		case c&0xf0 == 0x80:
			d.pos++
			v = d.hash(int(c & 0xf))
		default:
			d.err = mpErrBadFmt
		}
	}
	if d.err == mpErrNone {
		d.top++
	}
	return v
}

func (d *mpDecoder) array(n int) lua.LValue {
	t := d.L.NewTable()
	d.top++ // the table
	d.checkStack(1, "in function mp_decode_to_lua_array")
	for i := 1; i <= n; i++ {
		d.top++ // the index pushed before the value
		v := d.decode()
		if d.err != mpErrNone {
			return lua.LNil
		}
		t.RawSetInt(i, v)
		d.top -= 2
	}
	d.top--
	return t
}

func (d *mpDecoder) hash(n int) lua.LValue {
	t := d.L.NewTable()
	d.top++
	for i := 0; i < n; i++ {
		k := d.decode()
		if d.err != mpErrNone {
			return lua.LNil
		}
		v := d.decode()
		if d.err != mpErrNone {
			return lua.LNil
		}
		// lua_settable raises these from C, hence without position.
		if k == lua.LNil {
			raiseRuntime(d.L, "table index is nil")
		}
		if kn, ok := k.(lua.LNumber); ok && math.IsNaN(float64(kn)) {
			raiseRuntime(d.L, "table index is NaN")
		}
		t.RawSet(k, v)
		d.top -= 2
	}
	d.top--
	return t
}

// mpUnpackFull decodes up to limit objects starting at offset; limit and
// offset both zero mean "everything, without a returned offset".
func mpUnpackFull(L *lua.LState, limit, offset int64) int {
	s := checkLString(L, 1)
	decodeAll := limit == 0 && offset == 0
	if offset < 0 || limit < 0 {
		// The C code prints the input length where it means the limit.
		raise(L, "Invalid request to unpack with offset of %d and limit of %d.", int32(offset), int32(len(s)))
	} else if offset > int64(len(s)) {
		raise(L, "Start offset %d greater than input length %d.", int32(offset), int32(len(s)))
	}
	if decodeAll {
		limit = math.MaxInt32
	}
	d := &mpDecoder{L: L, data: s, pos: int(offset), top: L.GetTop()}
	var out []lua.LValue
	for cnt := int64(0); d.left() > 0 && cnt < limit; cnt++ {
		v := d.decode()
		switch d.err {
		case mpErrEOF:
			raise(L, "Missing bytes in input.")
		case mpErrBadFmt:
			raise(L, "Bad data format in input.")
		}
		out = append(out, v)
	}
	n := 0
	if !decodeAll {
		d.checkStack(1, "in function mp_unpack_full")
		next := int64(d.pos)
		if d.left() == 0 {
			next = -1
		}
		L.Push(lua.LNumber(next))
		n++
	}
	for _, v := range out {
		L.Push(v)
	}
	return n + len(out)
}

func mpUnpack(L *lua.LState) int {
	return mpUnpackFull(L, 0, 0)
}

func mpUnpackOne(L *lua.LState) int {
	offset := optInteger(L, 2, 0)
	keepFirst(L)
	return mpUnpackFull(L, 1, offset)
}

func mpUnpackLimit(L *lua.LState) int {
	limit := checkInteger(L, 2)
	offset := optInteger(L, 3, 0)
	keepFirst(L)
	return mpUnpackFull(L, limit, offset)
}

// keepFirst drops all arguments but the first (lua_pop(L, gettop-1)); with
// no arguments at all the stack stays empty.
func keepFirst(L *lua.LState) {
	if L.GetTop() > 1 {
		L.SetTop(1)
	}
}
