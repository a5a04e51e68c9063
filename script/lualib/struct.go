package lualib

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Sizes and limits of the x86-64 build of Redis's struct library.
const (
	structMaxIntSize = 32 // MAXINTSIZE
	structMaxAlign   = 8  // alignment of double on x86-64
	structIntMax     = math.MaxInt32
)

// OpenStruct registers the global "struct" (Roberto Ierusalimschy's struct
// library, with Redis's bounds checks).
func OpenStruct(L *lua.LState) {
	newLib(L, "struct", map[string]lua.LGFunction{
		"pack":   structPack,
		"unpack": structUnpack,
		"size":   structSize,
	})
}

type structHeader struct {
	little bool // native order on x86-64 is little endian
	align  int
}

// fmtReader walks a format string; C stops at the first NUL byte.
type fmtReader struct {
	s string
	i int
}

func newFmtReader(s string) *fmtReader {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return &fmtReader{s: s}
}

func (f *fmtReader) more() bool { return f.i < len(f.s) }
func (f *fmtReader) next() byte { c := f.s[f.i]; f.i++; return c }

// getnum reads an optional decimal size, refusing values beyond INT_MAX.
func (f *fmtReader) getnum(L *lua.LState, def int) int {
	if !f.more() || !isDigit(f.s[f.i]) {
		return def
	}
	a := 0
	for f.more() && isDigit(f.s[f.i]) {
		d := int(f.s[f.i] - '0')
		if a > structIntMax/10 || a*10 > structIntMax-d {
			raise(L, "integral size overflow")
		}
		a = a*10 + d
		f.i++
	}
	return a
}

func (f *fmtReader) optsize(L *lua.LState, opt byte) int {
	switch opt {
	case 'B', 'b', 'x':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'c':
		return f.getnum(L, 1)
	case 'i', 'I':
		sz := f.getnum(L, 4)
		if sz > structMaxIntSize {
			raise(L, "integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

// gettoalign reproduces the C padding formula, including its behaviour for
// sizes that are not powers of two.
func gettoalign(pos int, h *structHeader, opt byte, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (pos & (size - 1))) & (size - 1)
}

func (f *fmtReader) controloptions(L *lua.LState, opt byte, h *structHeader) {
	switch opt {
	case ' ':
	case '>':
		h.little = false
	case '<':
		h.little = true
	case '!':
		a := f.getnum(L, structMaxAlign)
		if a <= 0 || a&(a-1) != 0 {
			raise(L, "alignment %d is not a power of 2", a)
		}
		h.align = a
	default:
		argError(L, 1, fmt.Sprintf("invalid format option '%c'", opt))
	}
}

func structPack(L *lua.LState) int {
	f := newFmtReader(checkLString(L, 1))
	h := structHeader{little: true, align: 1}
	arg := 2
	nargs := L.GetTop()
	// The C code pushes a nil marker above the arguments, so the first
	// missing argument reads as nil and later ones as "no value".
	missing := func(n int, want string) {
		if n > nargs {
			got := "no value"
			if n == nargs+1 {
				got = "nil"
			}
			argError(L, n, fmt.Sprintf("%s expected, got %s", want, got))
		}
	}
	var out []byte
	for f.more() {
		opt := f.next()
		size := f.optsize(L, opt)
		pad := gettoalign(len(out), &h, opt, size)
		for ; pad > 0; pad-- {
			out = append(out, 0)
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			missing(arg, "number")
			n := checkNumber(L, arg)
			arg++
			v := cUint64(n)
			if n < 0 {
				v = uint64(cInt64(n))
			}
			buf := make([]byte, size)
			// Bytes beyond the 8 of a long are zero: the C code shifts an
			// unsigned long, which does not sign-extend.
			for i := 0; i < size; i++ {
				j := i
				if !h.little {
					j = size - 1 - i
				}
				buf[j] = byte(v)
				v >>= 8
			}
			out = append(out, buf...)
		case 'x':
			out = append(out, 0)
		case 'f':
			missing(arg, "number")
			bits := math.Float32bits(float32(checkNumber(L, arg)))
			arg++
			out = appendUint(out, uint64(bits), 4, h.little)
		case 'd':
			missing(arg, "number")
			bits := math.Float64bits(checkNumber(L, arg))
			arg++
			out = appendUint(out, bits, 8, h.little)
		case 'c', 's':
			missing(arg, "string")
			s := checkLString(L, arg)
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				// The C code reports the argument after the string.
				argError(L, arg, "string too short")
			}
			out = append(out, s[:size]...)
			if opt == 's' {
				out = append(out, 0)
				size++
			}
		default:
			f.controloptions(L, opt, &h)
		}
	}
	L.Push(lua.LString(out))
	return 1
}

func appendUint(out []byte, v uint64, size int, little bool) []byte {
	var b [8]byte
	if little {
		binary.LittleEndian.PutUint64(b[:], v)
		return append(out, b[:size]...)
	}
	binary.BigEndian.PutUint64(b[:], v)
	return append(out, b[8-size:]...)
}

// getinteger decodes an integer field the way the C code does with an
// unsigned long accumulator (bytes past the eighth shift out).
func getinteger(data string, little, signed bool, size int) float64 {
	var l uint64
	for i := 0; i < size; i++ {
		j := i
		if little {
			j = size - 1 - i
		}
		l = l<<8 | uint64(data[j])
	}
	if !signed {
		return float64(l)
	}
	// x86 masks 64-bit shift counts to 6 bits; reproduce it for sizes > 8.
	mask := ^uint64(0) << (uint(size*8-1) & 63)
	if l&mask != 0 {
		l |= mask
	}
	return float64(int64(l))
}

func structUnpack(L *lua.LState) int {
	f := newFmtReader(checkLString(L, 1))
	data := checkLString(L, 2)
	ld := len(data)
	// luaL_optinteger gives a signed value that C then stores in a size_t.
	pos := uint64(optInteger(L, 3, 1))
	if pos == 0 {
		argError(L, 3, "offset must be 1 or greater")
	}
	pos--
	h := structHeader{little: true, align: 1}
	nargs := L.GetTop()
	var res []lua.LValue
	fits := func(size uint64) bool {
		return size <= uint64(ld) && pos <= uint64(ld)-size
	}
	for f.more() {
		opt := f.next()
		size := uint64(f.optsize(L, opt))
		pos += uint64(gettoalign(int(pos), &h, opt, int(size)))
		if !fits(size) {
			argError(L, 2, "data string too short")
		}
		// The C stack of a call holds at most LUAI_MAXCSTACK (8000) slots.
		if nargs+len(res)+2 > luaMaxCStack {
			raise(L, "stack overflow (too many results)")
		}
		switch opt {
		case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
			signed := opt >= 'a'
			res = append(res, lua.LNumber(getinteger(data[pos:pos+size], h.little, signed, int(size))))
		case 'x':
		case 'f':
			var bits uint32
			if h.little {
				bits = binary.LittleEndian.Uint32([]byte(data[pos : pos+4]))
			} else {
				bits = binary.BigEndian.Uint32([]byte(data[pos : pos+4]))
			}
			res = append(res, lua.LNumber(math.Float32frombits(bits)))
		case 'd':
			var bits uint64
			if h.little {
				bits = binary.LittleEndian.Uint64([]byte(data[pos : pos+8]))
			} else {
				bits = binary.BigEndian.Uint64([]byte(data[pos : pos+8]))
			}
			res = append(res, lua.LNumber(math.Float64frombits(bits)))
		case 'c':
			if size == 0 {
				// c0 takes its length from the previous result, which must
				// be a number or a numeric string (lua_isnumber).
				var n float64
				ok := false
				if len(res) > 0 {
					switch v := res[len(res)-1].(type) {
					case lua.LNumber:
						n, ok = float64(v), true
					case lua.LString:
						n, ok = str2number(string(v))
					}
				}
				if !ok {
					raise(L, "format 'c0' needs a previous size")
				}
				size = cUint64(n)
				res = res[:len(res)-1]
				if !fits(size) {
					argError(L, 2, "data string too short")
				}
			}
			res = append(res, lua.LString(data[pos:pos+size]))
		case 's':
			e := strings.IndexByte(data[pos:], 0)
			if e < 0 {
				raise(L, "unfinished string in data")
			}
			res = append(res, lua.LString(data[pos:pos+uint64(e)]))
			size = uint64(e) + 1
		default:
			f.controloptions(L, opt, &h)
		}
		pos += size
	}
	for _, v := range res {
		L.Push(v)
	}
	L.Push(lua.LNumber(float64(int64(pos + 1))))
	return len(res) + 1
}

func structSize(L *lua.LState) int {
	f := newFmtReader(checkLString(L, 1))
	h := structHeader{little: true, align: 1}
	pos := 0
	for f.more() {
		opt := f.next()
		size := f.optsize(L, opt)
		pos += gettoalign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "option 'c0' has no fixed size")
		}
		// Unknown letters and digits are silently ignored by size().
		if !(isDigit(opt) || (opt|0x20 >= 'a' && opt|0x20 <= 'z')) {
			f.controloptions(L, opt, &h)
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
