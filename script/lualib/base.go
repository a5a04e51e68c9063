package lualib

import (
	"math"

	lua "github.com/yuin/gopher-lua"
)

// OpenBaseFixes makes the base functions gopher-lua implements its own
// way behave as Lua 5.1's (Redis's Lua) where scripts see it; the base
// and math libraries must be open already.
//
//   - tostring(number) formats with "%.14g" as Lua 5.1 does (gopher-lua
//     prints Go's shortest representation: tostring(1/3) was
//     "0.3333333333333333" instead of "0.33333333333333", 1e15 was
//     "1000000000000000" instead of "1e+15", inf "+Inf" instead of "inf");
//   - tonumber(s) accepts what strtod accepts ("1e2", " 0x10 ", "5.");
//     gopher-lua's parser refused exponents;
//   - math.huge is +inf (gopher-lua has the largest finite double).
//
// The concatenation operator still formats numbers gopher-lua's way:
// it does not go through a global that can be replaced.
func OpenBaseFixes(L *lua.LState) {
	if orig, ok := L.GetGlobal("tostring").(*lua.LFunction); ok {
		L.SetGlobal("tostring", L.NewFunction(func(L *lua.LState) int {
			if n, ok := L.Get(1).(lua.LNumber); ok && L.GetTop() >= 1 {
				L.Push(lua.LString(fmtG(float64(n), 14)))
				return 1
			}
			return callOrig(L, orig)
		}))
	}
	if orig, ok := L.GetGlobal("tonumber").(*lua.LFunction); ok {
		L.SetGlobal("tonumber", L.NewFunction(func(L *lua.LState) int {
			if L.GetTop() < 1 || (L.GetTop() >= 2 && L.Get(2) != lua.LNil) {
				return callOrig(L, orig) // a base, or no value: as before
			}
			if f, ok := toNumber(L, 1); ok {
				L.Push(lua.LNumber(f))
			} else {
				L.Push(lua.LNil)
			}
			return 1
		}))
	}
	if m, ok := L.GetGlobal("math").(*lua.LTable); ok {
		m.RawSetString("huge", lua.LNumber(math.Inf(1)))
	}
}

// callOrig calls fn with this call's arguments and returns its results.
func callOrig(L *lua.LState, fn *lua.LFunction) int {
	top := L.GetTop()
	L.Push(fn)
	for i := 1; i <= top; i++ {
		L.Push(L.Get(i))
	}
	L.Call(top, lua.MultRet)
	return L.GetTop() - top
}
