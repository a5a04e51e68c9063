package node

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// slowlogArgs returns the arguments of the newest slow log entry, joined.
func slowlogArgs(t *testing.T, c *rawConn) string {
	t.Helper()
	// *1 *6 :id :time :dur *N $..args.. $addr $name
	lines := strings.Split(do(t, c, "SLOWLOG", "GET", "1"), "\r\n")
	if len(lines) < 6 || lines[0] != "*1" {
		t.Fatalf("slow log: %q", lines)
	}
	var n int
	if _, err := fmt.Sscanf(lines[5], "*%d", &n); err != nil {
		t.Fatalf("slow log args header %q", lines[5])
	}
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, lines[7+2*i])
	}
	return strings.Join(out, " ")
}

// A command that blocked is logged when it is served, after what ran
// meanwhile, as the command the client sent (unit/slowlog "Rewritten
// commands are logged as their original command").
func TestSlowlogBlockedCommandLoggedWhenServed(t *testing.T) {
	s := extTestServer(t)
	c, b := dialRaw(t, s), dialRaw(t, s)
	expect(t, c, "+OK\r\n", "CONFIG", "SET", "slowlog-log-slower-than", "0")
	b.send(t, "BLPOP", "l", "0")
	waitUntil(t, "BLPOP to block", 5*time.Second, func() bool {
		return strings.Contains(do(t, c, "INFO", "clients"), "blocked_clients:1")
	})
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "+QUEUED\r\n", "LPUSH", "l", "foo")
	expect(t, c, "+QUEUED\r\n", "SLOWLOG", "RESET")
	expect(t, c, "*2\r\n:1\r\n+OK\r\n", "EXEC")
	if got := b.readReply(t, 5*time.Second); got != "*2\r\n$1\r\nl\r\n$3\r\nfoo\r\n" {
		t.Fatalf("BLPOP: %q", got)
	}
	if got := slowlogArgs(t, c); got != "blpop l 0" && got != "BLPOP l 0" {
		t.Fatalf("newest slow log entry %q, want the BLPOP", got)
	}
	// A timed-out block is not logged (nor is it in Redis).
	expect(t, c, "+OK\r\n", "SLOWLOG", "RESET")
	expect(t, b, "*-1\r\n", "BLPOP", "l", "0.01")
	if got := slowlogArgs(t, c); got != "SLOWLOG RESET" {
		t.Fatalf("newest slow log entry %q after a timeout", got)
	}
}

// MIGRATE's credentials never reach the slow log or MONITOR.
func TestSlowlogAndMonitorRedactMigrate(t *testing.T) {
	s := extTestServer(t)
	c, m := dialRaw(t, s), dialRaw(t, s)
	expect(t, m, "+OK\r\n", "MONITOR")
	expect(t, c, "+OK\r\n", "CONFIG", "SET", "slowlog-log-slower-than", "0")
	do(t, c, "MIGRATE", "127.0.0.1", "1", "key", "9", "5000", "AUTH2", "user", "secret")
	if got := slowlogArgs(t, c); got != "MIGRATE 127.0.0.1 1 key 9 5000 AUTH2 (redacted) (redacted)" {
		t.Fatalf("slow log %q", got)
	}
	line := m.readReply(t, 5*time.Second)
	if !strings.Contains(line, `"key" "9" "5000" "AUTH2" "(redacted)" "(redacted)"`) || strings.Contains(line, "secret") {
		t.Fatalf("monitor %q", line)
	}
}
