package script

import (
	"fmt"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/skiffdb/skiff/internal/resp"
)

// TestSpecializedSitesAreInvisible runs each script in a state whose call
// sites are specialized and in one whose are not: replies, error texts
// and the commands run must be the same, in both protocols.
func TestSpecializedSitesAreInvisible(t *testing.T) {
	replies := map[string]string{
		"ok": "+OK\r\n", "st": "+QUEUED\r\n", "int": ":42\r\n", "big": ":9007199254740993\r\n",
		"neg": ":-9223372036854775808\r\n", "bulk": "$3\r\nbar\r\n", "empty": "$0\r\n\r\n",
		"nil": "$-1\r\n", "null3": "_\r\n", "arr": "*2\r\n$1\r\na\r\n$-1\r\n", "err": "-ERR boom\r\n",
		"werr": "-WRONGTYPE Operation against a key\r\n", "dbl": ",1.5\r\n", "map": "%1\r\n$1\r\nk\r\n:1\r\n",
		"bool": "#t\r\n",
	}
	var bodies []string
	for name := range replies {
		for _, f := range []string{"call", "pcall"} {
			bodies = append(bodies,
				fmt.Sprintf("return redis.%s('%s', KEYS[1])", f, name),
				fmt.Sprintf("redis.%s('%s', KEYS[1]) return 1", f, name),
				fmt.Sprintf("local r = redis.%s('%s') return r", f, name),
				fmt.Sprintf("return {redis.%s('%s')}", f, name),
				fmt.Sprintf("return type(redis.%s('%s'))", f, name),
				fmt.Sprintf("redis.setresp(3) return redis.%s('%s')", f, name),
				fmt.Sprintf("local function f() return redis.%s('%s') end return f()", f, name),
				fmt.Sprintf("local function f() redis.%s('%s') end f() return 'done'", f, name),
				fmt.Sprintf("local ok, v = pcall(redis.%s, '%s') return {tostring(ok), type(v)}", f, name),
				fmt.Sprintf("return pcall(redis.%s, '%s')", f, name),
				fmt.Sprintf("local t = {} t[1] = redis.%s('%s', 'a' .. (KEYS[1] or 'x')) return t", f, name),
				fmt.Sprintf("if KEYS[1] == 'k' then redis.%s('%s') end return redis.%s('%s', KEYS[1] == 'k' and 'y' or 'n')", f, name, f, name),
				fmt.Sprintf("for i = 1, 2 do redis.%s('%s', i) end return redis.%s('%s')", f, name, f, name),
				fmt.Sprintf("local x = 0 while x < 2 do x = x + 1 redis.%s('%s', x) end return x", f, name),
				fmt.Sprintf("return redis.%s('%s', redis.%s('bulk'))", f, name, f),
				fmt.Sprintf("return redis.%s(unpack({'%s', 'a'}))", f, name),
			)
		}
	}
	bodies = append(bodies,
		"return redis.call()",
		"redis.call()",
		"redis.pcall({})",
		"return redis.pcall('nosuch')",
		"redis.call('nosuch')",
		"local c = redis.call return c('int')",
		"return redis.call('get', {})",
		"\n\nredis.call('err')",
		"local ok = redis.call('ok') ok.x = 1 return ok",
	)
	for _, proto := range []int{2, 3} {
		for _, body := range bodies {
			plain, spec := NewEval(nil), NewEval(nil)
			plain.calls = nil
			want, wantCalls := runBoth(t, plain, body, replies, proto)
			got, gotCalls := runBoth(t, spec, body, replies, proto)
			if got != want || gotCalls != wantCalls {
				t.Errorf("RESP%d %q:\n got %q %s\nwant %q %s", proto, body, got, gotCalls, want, wantCalls)
			}
		}
	}
}

func runBoth(t *testing.T, e *Eval, body string, replies map[string]string, proto int) (string, string) {
	t.Helper()
	s, err := e.Load([]byte(body))
	if err != nil {
		return err.Error(), ""
	}
	c := &fakeCaller{replies: replies}
	w := &resp.Writer{Proto: proto}
	msg, counted := e.Exec(s, NewRun(c, s.SHA, true), [][]byte{[]byte("k")}, [][]byte{[]byte("a")}, w)
	return fmt.Sprintf("%s|%s|%v", w.B, msg, counted), fmt.Sprint(c.calls)
}

// TestSpecializeShapes checks which sites of the benchmark's script and
// of a few others are rewritten, and to what.
func TestSpecializeShapes(t *testing.T) {
	e := NewEval(nil)
	for _, tc := range []struct {
		body string
		want []lua.LValue // the functions the LOADKs load, in order
	}{
		{"redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], ARGV[1])", []lua.LValue{e.calls.callDrop, e.calls.callReturn}},
		{"local v = redis.pcall('get', 'a') return v", []lua.LValue{e.calls.pcall}},
		{"pcall(redis.call, 'get', 'a') return 1", []lua.LValue{e.calls.call}},
		{"local function f() return redis.call('get', 'a') end return f()", []lua.LValue{e.calls.call}},
		{"return redis.call('get', redis.call('get', 'a'))", []lua.LValue{e.calls.callReturn, e.calls.call}},
	} {
		s, err := e.Load([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		var got []lua.LValue
		var walk func(p *lua.FunctionProto)
		walk = func(p *lua.FunctionProto) {
			for _, in := range p.Code {
				if instOp(in) == lua.OP_LOADK {
					if f, ok := p.Constants[instBx(in)].(*lua.LFunction); ok {
						got = append(got, f)
					}
				}
			}
			for _, c := range p.FunctionPrototypes {
				walk(c)
			}
		}
		walk(s.fn.Proto)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: loads %v, want %v", tc.body, got, tc.want)
		}
	}
}

func TestArgsOnlyIndexed(t *testing.T) {
	e := NewEval(nil)
	for body, want := range map[string]bool{
		"return KEYS[1]": true,
		"return #KEYS":   true,
		"redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], ARGV[1])": true,
		"local function f() return ARGV[2] end return f()":                       true,
		"for i = 1, #KEYS do redis.call('get', KEYS[i]) end":                     true,
		"return KEYS":                                      false,
		"local k = KEYS return k[1]":                       false,
		"return unpack(KEYS)":                              false,
		"return _G.KEYS[1]":                                false,
		"return loadstring('return KEYS')()":               false,
		"KEYS[1] = 'x'":                                    false,
		"table.insert(ARGV, 'x')":                          false,
		"return KEYS:len()":                                false,
		"local function f() return KEYS end return f()[1]": false,
	} {
		s, err := e.Load([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if s.argsShared != want {
			t.Errorf("%q: argsShared %v, want %v", body, s.argsShared, want)
		}
	}
}

// TestSharedArgsRefill runs a script that shares its KEYS and ARGV tables
// with argument lists that grow and shrink.
func TestSharedArgsRefill(t *testing.T) {
	e := NewEval(nil)
	body := "return {#KEYS, KEYS[1] or 'nil', KEYS[3] or 'nil', #ARGV, ARGV[2] or 'nil'}"
	s, err := e.Load([]byte(body))
	if err != nil || !s.argsShared {
		t.Fatalf("load: %v, shared %v", err, s.argsShared)
	}
	for _, tc := range []struct {
		keys, args []string
		want       string
	}{
		{[]string{"a", "b", "c"}, []string{"x", "y"}, "*5\r\n:3\r\n$1\r\na\r\n$1\r\nc\r\n:2\r\n$1\r\ny\r\n"},
		{[]string{"a"}, nil, "*5\r\n:1\r\n$1\r\na\r\n$3\r\nnil\r\n:0\r\n$3\r\nnil\r\n"},
		{nil, []string{"p", "q", "r"}, "*5\r\n:0\r\n$3\r\nnil\r\n$3\r\nnil\r\n:3\r\n$1\r\nq\r\n"},
		{[]string{"d", "e", "f", "g"}, []string{"x", "y"}, "*5\r\n:4\r\n$1\r\nd\r\n$1\r\nf\r\n:2\r\n$1\r\ny\r\n"},
	} {
		if got := runEval(t, e, body, tc.keys, tc.args, &fakeCaller{}); got != tc.want {
			t.Errorf("keys %v args %v: %q, want %q", tc.keys, tc.args, got, tc.want)
		}
	}
}
