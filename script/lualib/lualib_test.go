package lualib

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// Expected values below were checked against redis-server 7.0.15.
func TestLibraries(t *testing.T) {
	tests := []struct{ body, want string }{
		// bit
		{`return bit.tobit(0xffffffff), bit.tobit(2^32+5), bit.tobit(2.5), bit.tobit('12')`, `ok -1 | 5 | 2 | 12`},
		{`return bit.tohex(255), bit.tohex(-1, -4), bit.tohex(0x1234, 2)`, `ok "000000ff" | "FFFF" | "34"`},
		{`return bit.lshift(1, 31), bit.lshift(1, 32), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.bswap(0x12345678)`, `ok -2147483648 | 1 | -16 | 878082066 | 2018915346`},
		{`local r = bit.band() return r`, `err user_script:77: bad argument #1 to 'band' (number expected, got no value)`},
		// struct
		{`return hex(struct.pack('>i', 1)), hex(struct.pack('!bi', 1, 2)), hex(struct.pack('i16', -1))`, `ok "00000001" | "0100000002000000" | "ffffffffffffffff0000000000000000"`},
		{`return struct.unpack('c1c0', '2abcd')`, `ok "ab" | 4`},
		{`return struct.size('!bd'), struct.size('z')`, `ok 16 | 0`},
		{`return pcall(struct.pack, 'c5', 'ab')`, `ok false | "bad argument #3 to '?' (string too short)"`},
		{`local r = struct.pack('i') return r`, `err user_script:77: bad argument #2 to 'pack' (number expected, got nil)`},
		{`local r = struct.unpack('i', 'ab') return r`, `err user_script:77: bad argument #2 to 'unpack' (data string too short)`},
		// cjson
		{`return cjson.encode({}), cjson.encode({1,2,3}), cjson.encode('a/b'), cjson.encode(0.1), cjson.encode(1e100)`, `ok "{}" | "[1,2,3]" | ""a\x5c/b"" | "0.1" | "1e+100"`},
		{`return cjson.encode({[1]=1,[3]=3}), cjson.encode(123456789012345678)`, `ok "[1,null,3]" | "1.2345678901235e+17"`},
		{`local r = cjson.encode({[1]=1,[12]=3}) return r`, `err user_script:77: Cannot serialise table: excessively sparse array`},
		{`local r = cjson.encode(0/0) return r`, `err user_script:77: Cannot serialise number: must not be NaN or Inf`},
		{`local r = cjson.decode('x') return r`, `err user_script:77: Expected value but found invalid token at character 1`},
		{`local r = cjson.decode(string.rep('[', 1001)) return r`, `err user_script:77: Found too many nested data structures (1001) at character 1001`},
		{`local t = {} local c = t for i=1,1000 do c[1] = {} c = c[1] end local r = cjson.encode(t) return r`, `err user_script:77: Cannot serialise, excessive nesting (1001)`},
		{`return cjson.decode('{"a":[1,null,true]}')`, `ok {"a"={1=1,2=null,3=true}}`},
		{`return cjson.decode('"\\u00e9\\ud83d\\ude00"')`, `ok "\xc3\xa9\xf0\x9f\x98\x80"`},
		// cmsgpack
		{`return hex(cmsgpack.pack(127, 128, 256, 65536, 2^32, -32, -33, -129, -32769, -2^31-1))`, `ok "7fcc80cd0100ce00010000cf0000000100000000e0d0dfd1ff7fd2ffff7fffd3ffffffff7fffffff"`},
		{`return hex(cmsgpack.pack(0.5, 0.1, {}, {1}, {a=1}, nil, true))`, `ok "ca3f000000cb3fb999999999999a90910181a16101c0c3"`},
		{`local t = {} local c = t for i=1,20 do c[1] = {} c = c[1] end return hex(cmsgpack.pack(t))`, `ok "91919191919191919191919191919191c0"`},
		{`return cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2, 1)`, `ok -1 | 2 | 3`},
		{`return cmsgpack.unpack('\207\255\255\255\255\255\255\255\255')`, `ok -1`},
		{`return pcall(cmsgpack.unpack, '\196\1a')`, `ok false | "Bad data format in input."`},
		{`local r = cmsgpack.unpack_one('\1\2', -1) return r`, `err user_script:77: Invalid request to unpack with offset of -1 and limit of 2.`},
		{`local r = cmsgpack.unpack('\129\192\1') return r`, `err table index is nil`},
	}
	for _, tc := range tests {
		got, err := runGo(wrapCase(tc.body))
		if err != nil {
			t.Errorf("%s: %v", tc.body, err)
			continue
		}
		// Positions depend on the prelude's length; normalise them.
		got = normaliseLine(got)
		if got != tc.want {
			t.Errorf("%s\n got: %s\nwant: %s", tc.body, got, tc.want)
		}
	}
}

// normaliseLine rewrites "user_script:N:" to line 77 so the table above does
// not depend on the exact length of the test prelude.
func normaliseLine(s string) string {
	const p = "user_script:"
	i := strings.Index(s, p)
	if i < 0 {
		return s
	}
	j := i + len(p)
	k := j
	for k < len(s) && s[k] >= '0' && s[k] <= '9' {
		k++
	}
	return s[:j] + "77" + s[k:]
}

func TestOpenRegistersGlobals(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Open(L)
	for _, name := range []string{"cjson", "cmsgpack", "bit", "struct"} {
		if L.GetGlobal(name).Type() != lua.LTTable {
			t.Errorf("global %s not registered", name)
		}
	}
	if err := L.DoString(`assert(cjson.decode('null') == cjson.null) assert(cjson._VERSION == '2.1.0')`); err != nil {
		t.Fatal(err)
	}
	if !IsNull(L.GetGlobal("cjson").(*lua.LTable).RawGetString("null")) {
		t.Error("IsNull(cjson.null) is false")
	}
}

// Malformed inputs must produce Lua errors, never Go panics.
func TestNoPanicsOnGarbage(t *testing.T) {
	inputs := []string{"", "\x00", "\xff", "[", "{\"a\"", "\"\\u", "\"\\ud800\\u", "\xdb\xff\xff\xff\xff",
		"\xdd\xff\xff\xff\xff", "\xdf\x00\x00\x00\x02\x01", "\x9f", "\x8f", "-", "0x", "1e", "\xca\x00"}
	L := lua.NewState()
	defer L.Close()
	Open(L)
	fns := []string{"cjson.decode", "cmsgpack.unpack", "cmsgpack.unpack_one", "struct.size", "bit.tobit"}
	for _, in := range inputs {
		L.SetGlobal("input", lua.LString(in))
		for _, f := range fns {
			if err := L.DoString(`pcall(` + f + `, input) pcall(struct.unpack, input, input) pcall(struct.pack, input, 1, 2, 3)`); err != nil {
				t.Errorf("%s(%q): %v", f, in, err)
			}
		}
	}
}
