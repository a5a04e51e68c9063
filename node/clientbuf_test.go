package node

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientField reads field of the client named name from CLIENT LIST.
func clientField(t *testing.T, c *rawConn, name, field string) int {
	t.Helper()
	list := do(t, c, "CLIENT", "LIST")
	for _, l := range strings.Split(list, "\n") {
		if !strings.Contains(l, " name="+name+" ") {
			continue
		}
		m := regexp.MustCompile(` ` + regexp.QuoteMeta(field) + `=(\d+)`).FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("no %s in %q", field, l)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	t.Fatalf("no client %s in %q", name, list)
	return 0
}

func qbufTotal(t *testing.T, c *rawConn, name string) int {
	return clientField(t, c, name, "qbuf") + clientField(t, c, name, "qbuf-free")
}

// An idle client's query buffer is released after 2 s (qbuf and
// qbuf-free 0), and the client goes on working (unit/querybuf "query
// buffer resized correctly").
func TestQueryBufferReleasedWhenIdle(t *testing.T) {
	s := extTestServer(t, "--hz", "100")
	admin, idle := dialRaw(t, s), dialRaw(t, s)
	expect(t, idle, "+OK\r\n", "CLIENT", "SETNAME", "idle")
	if n := qbufTotal(t, admin, "idle"); n < 16384 || n >= 32768 {
		t.Fatalf("a new client's query buffer is %d bytes", n)
	}
	waitUntil(t, "the idle client's query buffer to be released", 10*time.Second, func() bool {
		return qbufTotal(t, admin, "idle") == 0
	})
	if idleSec := clientField(t, admin, "idle", "idle"); idleSec < 2 {
		t.Fatalf("released after %d s idle", idleSec)
	}
	expect(t, idle, "+PONG\r\n", "PING")
	if n := qbufTotal(t, admin, "idle"); n < 16384 {
		t.Fatalf("query buffer %d bytes after a read", n)
	}
}

// A buffer grown for one big request shrinks back towards its recent
// peak while the client stays busy with small ones (unit/querybuf "query
// buffer resized correctly when not idle").
func TestQueryBufferShrinksToPeak(t *testing.T) {
	// hz 10: two cron visits (the peak's reset, then the shrink) take
	// 200 ms, time enough to see the big buffer first.
	s := extTestServer(t)
	admin, c := dialRaw(t, s), dialRaw(t, s)
	expect(t, c, "+OK\r\n", "CLIENT", "SETNAME", "busy")
	expect(t, c, "+OK\r\n", "SET", "x", strings.Repeat("A", 400000))
	big := qbufTotal(t, admin, "busy")
	if big <= 32768 {
		t.Fatalf("query buffer %d bytes after a 400 kB request", big)
	}
	waitUntil(t, "the query buffer to shrink", 5*time.Second, func() bool {
		expect(t, c, "+OK\r\n", "SET", "x", "small")
		n := qbufTotal(t, admin, "busy")
		return n > 0 && n < big
	})
}

// The reply buffer follows Redis's sizing: an idle client's shrinks to
// 1 KiB, a client whose replies fill it doubles it up to 16 KiB
// (unit/replybufsize).
func TestReplyBufferResizing(t *testing.T) {
	s := extTestServer(t, "--hz", "100")
	admin, c := dialRaw(t, s), dialRaw(t, s)
	expect(t, admin, "+OK\r\n", "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
	expect(t, c, "+OK\r\n", "CLIENT", "SETNAME", "rb")
	// (A new client starts at 16 KiB, but the cron may shrink it at once.)
	waitUntil(t, "the idle client's reply buffer to shrink", 5*time.Second, func() bool {
		return clientField(t, admin, "rb", "rbs") == 1024
	})
	expect(t, admin, "+OK\r\n", "SET", "big", strings.Repeat("x", 32768))
	expect(t, admin, "+OK\r\n", "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never")
	waitUntil(t, "the busy client's reply buffer to grow", 5*time.Second, func() bool {
		do(t, c, "GET", "big")
		return clientField(t, admin, "rb", "rbs") == 16384
	})
	if got := infoFields(do(t, admin, "INFO", "stats")); got["reply_buffer_shrinks"] == "0" || got["reply_buffer_expands"] == "0" {
		t.Fatalf("shrinks %s expands %s", got["reply_buffer_shrinks"], got["reply_buffer_expands"])
	}
	expect(t, admin, "+OK\r\n", "DEBUG", "REPLYBUFFER", "RESIZING", "0")
	expect(t, admin, "+OK\r\n", "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset")
	expect(t, admin, "-ERR value is not an integer or out of range\r\n", "DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "x")
}

// Waking an idle client to release its buffer does not restart its idle
// timeout.
func TestQueryBufferReleaseKeepsIdleTimeout(t *testing.T) {
	s := extTestServer(t, "--hz", "100", "--timeout", "4")
	c := dialRaw(t, s)
	start := time.Now()
	expect(t, c, "+PONG\r\n", "PING")
	c.nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.br.ReadByte(); err == nil {
		t.Fatal("the server sent something to an idle client")
	}
	if d := time.Since(start); d < 3500*time.Millisecond || d > 8*time.Second {
		t.Fatalf("idle client closed after %v, want about 4 s", d)
	}
}

// A client whose buffer is released while its next command is already
// waiting in the socket gets that command served: the wait for input
// without a buffer must look at the socket, not only at new arrivals (a
// long EVAL in unit/latency-monitor hung here).
func TestQueryBufferReleaseWithPendingInput(t *testing.T) {
	s := extTestServer(t, "--hz", "100")
	c := dialRaw(t, s)
	for i := 0; i < 2; i++ {
		c.send(t, "DEBUG", "SLEEP", "3.1") // idle long enough to be released after it
		time.Sleep(100 * time.Millisecond)
		c.send(t, "PING") // arrives while the server sleeps
		if got := c.readReply(t, 10*time.Second); got != "+OK\r\n" {
			t.Fatalf("DEBUG SLEEP: %q", got)
		}
		if got := c.readReply(t, 5*time.Second); got != "+PONG\r\n" {
			t.Fatalf("PING: %q", got)
		}
	}
}
