package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/script"
)

// TestEvalCommands checks EVAL, EVALSHA, EVAL_RO and SCRIPT replies
// against what redis-server 7.0.15 answers to the same lines.
func TestEvalCommands(t *testing.T) {
	s := startTestServer(t)
	c := dialRaw(t, s)
	const getSet = "redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], ARGV[1])"
	const getSetSHA = "2682b0f87ca7c430a4d67cd199555534f81a59b6"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"EVAL", "return {1, 'two', 3.9, true, false, {5}}", "0"}, "*6\r\n:1\r\n$3\r\ntwo\r\n:3\r\n:1\r\n$-1\r\n*1\r\n:5\r\n"},
		{[]string{"EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v"}, "+OK\r\n"},
		{[]string{"EVAL", "return redis.call('get', KEYS[1])", "1", "k"}, "$1\r\nv\r\n"},
		{[]string{"EVAL", "return redis.call('get', 'nokey')", "0"}, "$-1\r\n"},
		{[]string{"EVAL", "return 1", "x"}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"EVAL", "return 1", "2", "a"}, "-ERR Number of keys can't be greater than number of args\r\n"},
		{[]string{"EVAL", "return 1", "-1"}, "-ERR Number of keys can't be negative\r\n"},
		{[]string{"EVAL", "return redis.call('incr', KEYS[1])", "1", "k"},
			"-ERR value is not an integer or out of range script: 0d7a3fa8e0a0ac8ac2e80a8a4f7d4d2fd1f1c0a7, on @user_script:1.\r\n"},
		{[]string{"EVAL", "return redis.call('blpop', 'l', 0)", "0"},
			"-ERR This Redis command is not allowed from script script: 9796143aa36f79ff4329423cd8247733070488e9, on @user_script:1.\r\n"},
		{[]string{"SCRIPT", "LOAD", getSet}, "$40\r\n" + getSetSHA + "\r\n"},
		{[]string{"EVALSHA", getSetSHA, "1", "k", "w"}, "+OK\r\n"},
		{[]string{"EVALSHA", strings.ToUpper(getSetSHA), "1", "k", "w"}, "+OK\r\n"},
		{[]string{"EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n"},
		{[]string{"EVALSHA", "short", "0"}, "-NOSCRIPT No matching script. Please use EVAL.\r\n"},
		{[]string{"SCRIPT", "EXISTS", getSetSHA, "ffffffffffffffffffffffffffffffffffffffff"}, "*2\r\n:1\r\n:0\r\n"},
		{[]string{"EVAL_RO", "return redis.call('set', 'k', 'v')", "0"},
			"-ERR Write commands are not allowed from read-only scripts. script: 11b2c6e5d9f0dc5e1ff1e4f0ea1d61b8f0b7a7a6, on @user_script:1.\r\n"},
		{[]string{"EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')", "0"},
			"-ERR Write commands are not allowed from read-only scripts. script: 4c0f1a0c5bb3b35c03e2f7b6d28a5d5fb5a6e7b4, on @user_script:2.\r\n"},
		{[]string{"EVAL_RO", "#!lua\nreturn 1", "0"}, "-ERR Can not execute a script with write flag using *_ro command.\r\n"},
		{[]string{"EVAL", "#!lua flags=bad\nreturn 1", "0"}, "-ERR Unexpected flag in script shebang: bad\r\n"},
		{[]string{"EVAL", "return 1 +", "0"}, "-ERR Error compiling script (new function): user_script:1: syntax error near '<eof>'\r\n"},
		{[]string{"SCRIPT", "FLUSH", "bogus"}, "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n"},
		{[]string{"SCRIPT", "FLUSH", "ASYNC"}, "+OK\r\n"},
		{[]string{"SCRIPT", "EXISTS", getSetSHA}, "*1\r\n:0\r\n"},
		{[]string{"SCRIPT", "KILL"}, "-NOTBUSY No scripts in execution right now.\r\n"},
		{[]string{"EVAL", "return redis.call('select', 1) and redis.call('set', 'db1', 'x')", "0"}, "+OK\r\n"},
		{[]string{"EXISTS", "db1"}, ":0\r\n"}, // SELECT inside a script does not move the caller
	} {
		want := tc.want
		if strings.Contains(want, " script: ") {
			// The sha in the message is the script's: compute it rather
			// than trust the table.
			body := tc.args[1]
			want = want[:strings.Index(want, " script: ")] + " script: " + sha1hex(body) + want[strings.Index(want, ", on @"):]
		}
		if got := c.do(t, tc.args...); got != want {
			t.Errorf("%q:\n got %q\nwant %q", tc.args, got, want)
		}
	}
}

// TestScriptBusy runs a script past busy-reply-threshold: other clients
// get -BUSY without waiting, may open a transaction that EXEC then
// aborts, and SCRIPT KILL stops the script; a script that wrote cannot
// be killed.
func TestScriptBusy(t *testing.T) {
	s := startTestServer(t)
	admin := dialRaw(t, s)
	if got := admin.do(t, "CONFIG", "SET", "busy-reply-threshold", "50"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET: %q", got)
	}
	runner := dialRaw(t, s)
	runner.send(t, "EVAL", "local i = 0 while true do i = i + 1 end", "0")
	waitBusy(t, s)
	other := dialRaw(t, s)
	for _, tc := range [][2][]string{
		{{"PING"}, {errBusyEval}},
		{{"MULTI"}, {"OK"}},
		{{"INCR", "x"}, {errBusyEval}},
		{{"EXEC"}, {"EXECABORT Transaction discarded because of: " + errBusyEval}},
		{{"NOSUCHCMD"}, {"ERR unknown command 'NOSUCHCMD', with args beginning with: "}},
		{{"FUNCTION", "KILL"}, {errBusyEval}},
	} {
		got := other.do(t, tc[0]...)
		if want := tc[1][0]; strings.TrimRight(got[1:], "\r\n") != want {
			t.Errorf("%v while busy: %q, want %q", tc[0], got, want)
		}
	}
	if got := other.do(t, "SCRIPT", "KILL"); got != "+OK\r\n" {
		t.Fatalf("SCRIPT KILL: %q", got)
	}
	got := runner.readReply(t, 5*time.Second)
	if !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL...") {
		t.Errorf("the killed EVAL answered %q", got)
	}
	if got := other.do(t, "PING"); got != "+PONG\r\n" {
		t.Errorf("PING after the kill: %q", got)
	}

	// A script that wrote: -UNKILLABLE. It ends on its own (bounded).
	runner.send(t, "EVAL", "redis.call('set', 'w', '1') local t = redis.call('time') while true do local n = redis.call('time') if (n[1] - t[1]) * 1000000 + (n[2] - t[2]) > 400000 then break end end return 1", "0")
	waitBusy(t, s)
	if got := other.do(t, "SCRIPT", "KILL"); !strings.HasPrefix(got, "-UNKILLABLE Sorry the script already executed write commands") {
		t.Errorf("SCRIPT KILL of a writing script: %q", got)
	}
	if got := runner.readReply(t, 5*time.Second); got != ":1\r\n" {
		t.Errorf("the writing script answered %q", got)
	}
}

// waitBusy polls until a script is past busy-reply-threshold.
func waitBusy(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if r := s.scripts.running.Load(); r != nil && r.busyFlag.Load() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no script became busy within 5s")
}

// TestScriptEffectsInAOF: a script's writes reach the AOF as one
// MULTI/EXEC block of their effects, never as EVAL; a write under
// redis.set_repl(redis.REPL_NONE) reaches neither the AOF nor replicas.
func TestScriptEffectsInAOF(t *testing.T) {
	dir := t.TempDir()
	s := startTestServer(t, "--dir", dir, "--appendfsync", "always")
	c := dialRaw(t, s)
	if got := c.do(t, "CONFIG", "SET", "appendonly", "yes"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET appendonly yes: %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for infoFields(c.do(t, "INFO", "persistence"))["aof_rewrite_in_progress"] != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the first AOF rewrite did not end within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := c.do(t, "EVAL", "redis.call('set', 'a', '1') redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', '1') redis.set_repl(redis.REPL_ALL) redis.call('incr', 'a') return 1", "0"); got != ":1\r\n" {
		t.Fatalf("EVAL: %q", got)
	}
	var aof string
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.incr.aof"))
		aof = ""
		for _, f := range files {
			b, _ := os.ReadFile(f)
			aof += string(b)
		}
		if strings.Contains(aof, "EXEC") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nincr\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n"
	if !strings.Contains(aof, want) {
		t.Errorf("AOF %q does not hold the block %q", aof, want)
	}
	for _, bad := range []string{"EVAL", "hidden"} {
		if strings.Contains(strings.ToUpper(aof), strings.ToUpper(bad)) {
			t.Errorf("AOF %q holds %s", aof, bad)
		}
	}
}

func sha1hex(body string) string { return script.SHA1Hex([]byte(body)) }
