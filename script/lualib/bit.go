package lualib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// OpenBit registers the global "bit" (LuaBitOp 1.0.2 semantics).
func OpenBit(L *lua.LState) {
	newLib(L, "bit", map[string]lua.LGFunction{
		"tobit":   func(L *lua.LState) int { return bret(L, barg(L, 1)) },
		"bnot":    func(L *lua.LState) int { return bret(L, ^barg(L, 1)) },
		"band":    bitFold(func(a, b uint32) uint32 { return a & b }),
		"bor":     bitFold(func(a, b uint32) uint32 { return a | b }),
		"bxor":    bitFold(func(a, b uint32) uint32 { return a ^ b }),
		"lshift":  bitShift(func(b, n uint32) uint32 { return b << n }),
		"rshift":  bitShift(func(b, n uint32) uint32 { return b >> n }),
		"arshift": bitShift(func(b, n uint32) uint32 { return uint32(int32(b) >> n) }),
		// Go defines shifts by 32 as 0, so n == 0 still yields b.
		"rol":   bitShift(func(b, n uint32) uint32 { return b<<n | b>>(32-n) }),
		"ror":   bitShift(func(b, n uint32) uint32 { return b<<(32-n) | b>>n }),
		"bswap": bitBswap,
		"tohex": bitTohex,
	})
}

// barg normalises an argument the way LuaBitOp does: add 2^52+2^51 so the
// low 32 bits of the double's mantissa hold the value rounded to an integer
// (round-half-even) modulo 2^32. Non-numbers only fail when the result is 0,
// exactly as the C code checks it.
func barg(L *lua.LState, n int) uint32 {
	f, ok := toNumber(L, n)
	var b uint32
	if !math.IsNaN(f) { // x86 NaNs made by arithmetic carry a zero payload
		b = uint32(math.Float64bits(f + 6755399441055744.0))
	}
	if b == 0 && !ok {
		typeError(L, n, "number")
	}
	return b
}

// bret returns the result as a signed 32-bit number.
func bret(L *lua.LState, b uint32) int {
	L.Push(lua.LNumber(int32(b)))
	return 1
}

func bitFold(op func(a, b uint32) uint32) lua.LGFunction {
	return func(L *lua.LState) int {
		b := barg(L, 1)
		// The C code folds from the last argument down to the second.
		for i := L.GetTop(); i > 1; i-- {
			b = op(b, barg(L, i))
		}
		return bret(L, b)
	}
}

func bitShift(op func(b, n uint32) uint32) lua.LGFunction {
	return func(L *lua.LState) int {
		b := barg(L, 1)
		n := barg(L, 2) & 31
		return bret(L, op(b, n))
	}
}

func bitBswap(L *lua.LState) int {
	b := barg(L, 1)
	return bret(L, b>>24|(b>>8)&0xff00|(b&0xff00)<<8|b<<24)
}

func bitTohex(L *lua.LState) int {
	b := barg(L, 1)
	n := int32(8)
	if L.GetTop() >= 2 {
		n = int32(barg(L, 2))
	}
	digits := "0123456789abcdef"
	if n < 0 {
		n = -n
		digits = "0123456789ABCDEF"
	}
	if n < 0 {
		// -INT_MIN overflows; the C code would then ask for a ~2^64 byte
		// string, which can only fail.
		raise(L, "not enough memory")
	}
	if n > 8 {
		n = 8
	}
	buf := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		buf[i] = digits[b&15]
		b >>= 4
	}
	L.Push(lua.LString(buf))
	return 1
}
