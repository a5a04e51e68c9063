package script

import (
	"testing"

	"github.com/skiffdb/skiff/internal/resp"
)

// fakeCaller answers every command with a fixed reply.
type fakeCaller struct {
	replies map[string]string
	calls   [][]string
}

func (f *fakeCaller) Call(args [][]byte, proto int) ([]byte, string) {
	var s []string
	for _, a := range args {
		s = append(s, string(a))
	}
	f.calls = append(f.calls, s)
	if r, ok := f.replies[s[0]]; ok {
		return []byte(r), ""
	}
	return nil, "Unknown Redis command called from script"
}

func (f *fakeCaller) ACLCheck(args [][]byte) (bool, bool) { return true, true }

func runEval(t *testing.T, e *Eval, body string, keys, args []string, c Caller) string {
	t.Helper()
	s, err := e.Load([]byte(body))
	if err != nil {
		return "-" + err.Error() + "\r\n"
	}
	w := &resp.Writer{Proto: 2}
	run := NewRun(c, s.SHA, true)
	var k, a [][]byte
	for _, x := range keys {
		k = append(k, []byte(x))
	}
	for _, x := range args {
		a = append(a, []byte(x))
	}
	e.Exec(s, run, k, a, w)
	return string(w.B)
}

func TestEvalRepliesAndErrors(t *testing.T) {
	e := NewEval(nil)
	c := &fakeCaller{replies: map[string]string{"get": "$3\r\nbar\r\n", "incr": "-ERR value is not an integer or out of range\r\n", "ping": "+PONG\r\n", "nil": "$-1\r\n"}}
	for _, tc := range []struct{ body, want string }{
		{"return 1", ":1\r\n"},
		{"return 3.99", ":3\r\n"},
		{"return 'x'", "$1\r\nx\r\n"},
		{"return true", ":1\r\n"},
		{"return false", "$-1\r\n"},
		{"return nil", "$-1\r\n"},
		{"return {1,2,3,'ciao',{1,2}}", "*5\r\n:1\r\n:2\r\n:3\r\n$4\r\nciao\r\n*2\r\n:1\r\n:2\r\n"},
		{"return {1,nil,3}", "*1\r\n:1\r\n"},
		{"return KEYS[1]..ARGV[1]", "$2\r\nka\r\n"},
		{"return redis.call('get','k')", "$3\r\nbar\r\n"},
		{"return redis.call('nil','k')", "$-1\r\n"},
		{"return redis.call('ping')", "+PONG\r\n"},
		{"return redis.pcall('incr','k')", "-ERR value is not an integer or out of range\r\n"},
		{"return redis.call('incr','k')", "-ERR value is not an integer or out of range script: %s, on @user_script:1.\r\n"},
		{"return redis.call('nosuch')", "-ERR Unknown Redis command called from script script: %s, on @user_script:1.\r\n"},
		{"return a", "-ERR user_script:1: Script attempted to access nonexistent global variable 'a' script: %s, on @user_script:1.\r\n"},
		{"x = 1", "-ERR user_script:1: Attempt to modify a readonly table script: %s, on @user_script:1.\r\n"},
		{"redis.call = nil", "-ERR user_script:1: Attempt to modify a readonly table script: %s, on @user_script:1.\r\n"},
		{"\n\nerror('boom')", "-ERR user_script:3: boom script: %s, on @user_script:3.\r\n"},
		{"error({err='XX my'})", "-XX my script: %s, on @user_script:1.\r\n"},
		{"return redis.error_reply('My Error')", "-My Error\r\n"},
		{"return redis.status_reply('fine')", "+fine\r\n"},
		{"return redis.call('get', {})", "-ERR Lua redis lib command arguments must be strings or integers script: %s, on @user_script:1.\r\n"},
		{"return print", "-ERR user_script:1: Script attempted to access nonexistent global variable 'print' script: %s, on @user_script:1.\r\n"},
		{"return {pcall(function() error({err='x'}) end)}", "*2\r\n$-1\r\n$1\r\nx\r\n"},
		{"local ok, e = pcall(function() redis.call('incr','k') end) return e", "$43\r\nERR value is not an integer or out of range\r\n"},
		{"return redis.sha1hex('')", "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"},
		{"return tostring(1e20)", "$5\r\n1e+20\r\n"},
		{"return 1 +", "-Error compiling script (new function): user_script:1: syntax error near '<eof>'\r\n"},
		{"#!lua flags=no-writes\nreturn 1", ":1\r\n"},
		{"#!lua flags=bad\nreturn 1", "-Unexpected flag in script shebang: bad\r\n"},
		{"#!python\nreturn 1", "-Unexpected engine in script shebang: #!python\r\n"},
		{"setmetatable(_G, {})", "-ERR Attempt to modify a readonly table script: %s, on @user_script:1.\r\n"},
		{"local g = getmetatable(_G); g.__index = {}", "-ERR user_script:1: Attempt to modify a readonly table script: %s, on @user_script:1.\r\n"},
		{"local g = getmetatable(_G).__index; g.redis = 1", "-ERR user_script:1: Attempt to modify a readonly table script: %s, on @user_script:1.\r\n"},
		{"_G.x = 1", "-ERR user_script:1: Attempt to modify a readonly table script: %s, on @user_script:1.\r\n"},
		{"return math.random(0)", "-ERR user_script:1: bad argument #1 to 'random' (interval is empty) script: %s, on @user_script:1.\r\n"},
	} {
		want := tc.want
		if len(want) > 0 && want[0] == '-' {
			want = sprintfSHA(want, SHA1Hex([]byte(tc.body)))
		}
		if got := runEval(t, e, tc.body, []string{"k"}, []string{"a"}, c); got != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.body, got, want)
		}
	}
}

func sprintfSHA(s, sha string) string {
	out := ""
	for i := 0; i < len(s); i++ {
		if i+1 < len(s) && s[i] == '%' && s[i+1] == 's' {
			out += sha
			i++
			continue
		}
		out += string(s[i])
	}
	return out
}

func TestMathRandomIsRedisSequence(t *testing.T) {
	e := NewEval(nil)
	c := &fakeCaller{}
	// redis-server 7.0.15: EVAL "math.randomseed(1); return {math.random(100), math.random(100), math.random(100)}" 0
	got := runEval(t, e, "math.randomseed(1); return {math.random(100), math.random(100), math.random(100)}", nil, nil, c)
	if got != want3 {
		t.Errorf("math.random after randomseed(1): %q, want %q", got, want3)
	}
}

const want3 = "*3\r\n:5\r\n:46\r\n:84\r\n"
