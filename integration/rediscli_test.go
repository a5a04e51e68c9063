package integration

// redis-cli against skiff: the same invocations against both servers must
// print the same output.

import (
	"context"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cli runs redis-cli against s with stdin and returns its combined output.
func cli(t *testing.T, s *Server, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, redisCliBin, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("redis-cli %v against %s timed out; output so far:\n%s", args, s.Kind, out)
	}
	if err != nil {
		// redis-cli exits non-zero on some errors; the output is compared anyway.
		return string(out) + "<exit: " + err.Error() + ">"
	}
	return string(out)
}

func TestRedisCli(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not installed (make test installs redis-tools)")
	}
	sk, rd := startPair(t)
	steps := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"PING"}},
		{"", []string{"SET", "greeting", "hello world"}},
		{"", []string{"GET", "greeting"}},
		{"", []string{"--no-raw", "GET", "greeting"}},
		{"", []string{"--raw", "GET", "greeting"}},
		{"", []string{"GET", "missing"}},
		{"", []string{"--no-raw", "GET", "missing"}},
		{"", []string{"SET", "n", "41"}},
		{"", []string{"--no-raw", "INCR", "n"}},
		{"", []string{"--no-raw", "INCR", "greeting"}},
		{"", []string{"--raw", "INCR", "greeting"}},
		{"", []string{"--no-raw", "MGET", "greeting", "missing", "n"}},
		{"", []string{"--raw", "MGET", "greeting", "missing", "n"}},
		{"", []string{"--no-raw", "ECHO", "bin\x01\xffary"}},
		{"", []string{"--no-raw", "NOSUCHCOMMAND", "x"}},
		{"", []string{"--no-raw", "GET"}},
		{"line one\nline two\n", []string{"-x", "SET", "fromstdin"}},
		{"", []string{"--no-raw", "GET", "fromstdin"}},
		{"", []string{"--raw", "GET", "fromstdin"}},
		{"SET a 1\nINCR a\nGET a\nSET b \"x y\"\nGET b\n", nil},
		{"SET a 1\nINCR a\nMGET a b nokey\n", []string{"--no-raw"}},
		{"", []string{"-n", "3", "SET", "indb3", "v"}},
		{"", []string{"-n", "3", "GET", "indb3"}},
		{"", []string{"GET", "indb3"}},
		{"", []string{"-r", "3", "INCR", "counter"}},
		{"", []string{"--no-raw", "SET", "k", "v", "EX", "0"}},
	}
	for _, st := range steps {
		want := cli(t, rd, st.stdin, st.args...)
		got := cli(t, sk, st.stdin, st.args...)
		if got != want {
			t.Errorf("redis-cli %q (stdin %q):\nskiff: %q\nredis: %q", st.args, st.stdin, got, want)
		}
	}
}

func TestRedisCliScan(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not installed (make test installs redis-tools)")
	}
	sk, rd := startPair(t)
	var load strings.Builder
	for i := 0; i < 300; i++ {
		load.WriteString("SET user:" + strconv.Itoa(i) + " v\n")
		if i%3 == 0 {
			load.WriteString("SET other:" + strconv.Itoa(i) + " v\n")
		}
	}
	for _, s := range []*Server{sk, rd} {
		cli(t, s, load.String())
	}
	sorted := func(out string) string {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	}
	for _, args := range [][]string{
		{"--scan", "--pattern", "user:1*"},
		{"--scan", "--pattern", "other:*"},
		{"--scan", "--pattern", "nomatch*"},
		{"--scan"},
		{"--scan", "--count", "7", "--pattern", "*:2?"},
	} {
		want := sorted(cli(t, rd, "", args...))
		got := sorted(cli(t, sk, "", args...))
		if got != want {
			t.Errorf("redis-cli %q: skiff and redis list different keys\nskiff: %.300q\nredis: %.300q", args, got, want)
		}
		if len(args) > 2 && args[2] == "user:1*" && strings.Count(got, "\n")+1 != 111 {
			t.Errorf("redis-cli %q on skiff listed %d keys, want 111", args, strings.Count(got, "\n")+1)
		}
	}
}
