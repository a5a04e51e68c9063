// Package lualib provides, for gopher-lua, the four C libraries that Redis 7.0
// bundles into its Lua 5.1 interpreter: cjson, cmsgpack, bit and struct.
//
// The goal is byte-for-byte compatibility with Redis's copies (including
// error texts), because scripts written for Redis depend on exact encodings.
// The helpers in this file reproduce the Lua 5.1 C API conventions that those
// libraries rely on (number/string coercion, luaL_argerror texts, errors raised
// from C functions carrying no "chunk:line:" prefix).
package lualib

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Open registers the globals cjson, cmsgpack, bit and struct, as Redis does
// when it creates its Lua interpreter.
func Open(L *lua.LState) {
	OpenCjson(L)
	OpenCmsgpack(L)
	OpenBit(L)
	OpenStruct(L)
	OpenBaseFixes(L)
}

// newLib builds a module table from Go functions and stores it as a global.
func newLib(L *lua.LState, name string, funcs map[string]lua.LGFunction) *lua.LTable {
	t := L.NewTable()
	for k, f := range funcs {
		t.RawSetString(k, L.NewFunction(f))
	}
	L.SetGlobal(name, t)
	return t
}

// raise throws a Lua error the way luaL_error does: prefixed with the
// position of the caller ("chunk:line: ") when the caller is Lua code, and
// bare when it is a C (here Go) function such as pcall.
func raise(L *lua.LState, format string, args ...interface{}) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if dbg, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("Sl", dbg, lua.LNil); err == nil && dbg.What != "G" && dbg.CurrentLine > 0 {
			msg = fmt.Sprintf("%s:%d: %s", dbg.Source, dbg.CurrentLine, msg)
		}
	}
	L.Error(lua.LString(msg), 0)
}

// raiseRuntime throws an error without position, as luaG_runerror does when
// the running function is a C function (e.g. "table index is nil").
func raiseRuntime(L *lua.LState, msg string) {
	L.Error(lua.LString(msg), 0)
}

// funcName is the name Lua 5.1 would print in "bad argument" messages: the
// name the caller used for the function, or "?" when it is unknown.
func funcName(L *lua.LState) string {
	if caller, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("S", caller, lua.LNil); err == nil && caller.What == "G" {
			return "?" // called from C: Lua 5.1 has no name for it
		}
	}
	if dbg, ok := L.GetStack(0); ok {
		if _, err := L.GetInfo("n", dbg, lua.LNil); err == nil && dbg.Name != "" &&
			!strings.HasPrefix(dbg.Name, "<") && !strings.HasPrefix(dbg.Name, "(") {
			return dbg.Name
		}
	}
	return "?"
}

// argError mirrors luaL_argerror.
func argError(L *lua.LState, n int, msg string) {
	raise(L, "bad argument #%d to '%s' (%s)", n, funcName(L), msg)
}

// typeName mirrors lua_typename(lua_type(L, n)), including "no value".
func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return luaTypeName(L.Get(n))
}

func luaTypeName(v lua.LValue) string {
	switch v.Type() {
	case lua.LTNil:
		return "nil"
	case lua.LTBool:
		return "boolean"
	case lua.LTNumber:
		return "number"
	case lua.LTString:
		return "string"
	case lua.LTTable:
		return "table"
	case lua.LTFunction:
		return "function"
	case lua.LTUserData:
		return "userdata"
	case lua.LTThread:
		return "thread"
	}
	return v.Type().String()
}

// typeError mirrors luaL_typerror.
func typeError(L *lua.LState, n int, want string) {
	argError(L, n, fmt.Sprintf("%s expected, got %s", want, typeName(L, n)))
}

// toNumber mirrors lua_tonumber/lua_isnumber of Lua 5.1: numbers, and strings
// that strtod accepts in full (surrounding white space allowed). C sees a
// string only up to its first NUL byte.
func toNumber(L *lua.LState, n int) (float64, bool) {
	if n > L.GetTop() {
		return 0, false
	}
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return float64(v), true
	case lua.LString:
		return str2number(string(v))
	}
	return 0, false
}

func str2number(s string) (float64, bool) {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	f, end := cStrtod(s, 0)
	if end == 0 {
		return 0, false
	}
	for end < len(s) && isSpace(s[end]) {
		end++
	}
	if end != len(s) {
		return 0, false
	}
	return f, true
}

// checkNumber mirrors luaL_checknumber.
func checkNumber(L *lua.LState, n int) float64 {
	f, ok := toNumber(L, n)
	if !ok {
		typeError(L, n, "number")
	}
	return f
}

// checkInteger mirrors luaL_checkinteger (truncation to a 64-bit integer).
func checkInteger(L *lua.LState, n int) int64 {
	return cInt64(checkNumber(L, n))
}

// optInteger mirrors luaL_optinteger: none or nil gives the default.
func optInteger(L *lua.LState, n int, def int64) int64 {
	if n > L.GetTop() || L.Get(n) == lua.LNil {
		return def
	}
	return checkInteger(L, n)
}

// checkLString mirrors luaL_checklstring: strings, and numbers formatted as
// Lua 5.1 does ("%.14g").
func checkLString(L *lua.LState, n int) string {
	if n <= L.GetTop() {
		switch v := L.Get(n).(type) {
		case lua.LString:
			return string(v)
		case lua.LNumber:
			return fmtG(float64(v), 14)
		}
	}
	typeError(L, n, "string")
	return ""
}

// cInt64 converts like an x86-64 C cast from double to a signed 64-bit
// integer: out of range values and NaN give the "integer indefinite" value.
func cInt64(f float64) int64 {
	if f != f || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return math.MinInt64
	}
	return int64(f)
}

// cInt32 is the same for a cast to a 32-bit int.
func cInt32(f float64) int32 {
	if f != f || f >= 2147483648.0 || f <= -2147483649.0 {
		return math.MinInt32
	}
	return int32(f)
}

// cUint64 converts like gcc's x86-64 double to unsigned 64-bit conversion.
func cUint64(f float64) uint64 {
	if !(f >= 9223372036854775808.0) { // NaN takes this path too
		return uint64(cInt64(f))
	}
	return uint64(cInt64(f-9223372036854775808.0)) ^ (1 << 63)
}

// fmtG formats like C's printf("%.<prec>g") with glibc.
func fmtG(f float64, prec int) string {
	switch {
	case math.IsNaN(f):
		if math.Signbit(f) {
			return "-nan"
		}
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', prec, 64)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

func hasPrefixFold(s string, i int, p string) bool {
	return len(s)-i >= len(p) && strings.EqualFold(s[i:i+len(p)], p)
}

// cStrtod parses the longest prefix of s[i:] that glibc's strtod accepts
// (white space, sign, decimal or hexadecimal floats, inf/infinity, nan and
// nan(chars)). It returns the value and the end index; end == i means no
// conversion.
func cStrtod(s string, i int) (float64, int) {
	start := i
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	sign := func(f float64) float64 {
		if neg {
			return -f
		}
		return f
	}
	switch {
	case hasPrefixFold(s, i, "inf"):
		i += 3
		if hasPrefixFold(s, i, "inity") {
			i += 5
		}
		return sign(math.Inf(1)), i
	case hasPrefixFold(s, i, "nan"):
		i += 3
		if i < len(s) && s[i] == '(' {
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || (s[j]|0x20 >= 'a' && s[j]|0x20 <= 'z') || s[j] == '_') {
				j++
			}
			if j < len(s) && s[j] == ')' {
				i = j + 1
			}
		}
		return math.Copysign(math.NaN(), sign(1)), i
	}
	if i+1 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' {
		j := i + 2
		mant := strings.Builder{}
		nd := 0
		for j < len(s) && isHex(s[j]) {
			mant.WriteByte(s[j])
			j++
			nd++
		}
		if j < len(s) && s[j] == '.' {
			k := j + 1
			frac := strings.Builder{}
			for k < len(s) && isHex(s[k]) {
				frac.WriteByte(s[k])
				k++
				nd++
			}
			if nd > 0 {
				mant.WriteByte('.')
				mant.WriteString(frac.String())
				j = k
			}
		}
		if nd > 0 {
			exp := "0"
			if j < len(s) && s[j]|0x20 == 'p' {
				k := j + 1
				if k < len(s) && (s[k] == '+' || s[k] == '-') {
					k++
				}
				if k < len(s) && isDigit(s[k]) {
					for k < len(s) && isDigit(s[k]) {
						k++
					}
					exp = s[j+1 : k]
					j = k
				}
			}
			m := mant.String()
			if strings.HasPrefix(m, ".") {
				m = "0" + m
			}
			f, _ := strconv.ParseFloat("0x"+m+"p"+exp, 64)
			return sign(f), j
		}
		// "0x" without hex digits: only the "0" is a number.
		return sign(0), i + 1
	}
	j := i
	nd := 0
	for j < len(s) && isDigit(s[j]) {
		j++
		nd++
	}
	if j < len(s) && s[j] == '.' {
		k := j + 1
		for k < len(s) && isDigit(s[k]) {
			k++
			nd++
		}
		if nd > 0 {
			j = k
		}
	}
	if nd == 0 {
		return 0, start
	}
	if j < len(s) && s[j]|0x20 == 'e' {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			for k < len(s) && isDigit(s[k]) {
				k++
			}
			j = k
		}
	}
	f, err := strconv.ParseFloat(s[i:j], 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, start
		}
	}
	return sign(f), j
}

// luaMaxCStack is LUAI_MAXCSTACK: the most stack slots a C function may use.
const luaMaxCStack = 8000
