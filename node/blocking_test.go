package node

import (
	"testing"
	"time"
)

func blockingTestServer(t *testing.T) *Server {
	t.Helper()
	return startTestServer(t)
}

func waitBlockedCount(t *testing.T, s *Server, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.Lock()
		n := s.blockedClients()
		s.Unlock()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("blocked clients %d, want %d", n, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestBlockingServeFIFO(t *testing.T) {
	s := blockingTestServer(t)
	a, b, ctl := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	a.send(t, "BLPOP", "k", "0")
	waitBlockedCount(t, s, 1)
	b.send(t, "BRPOP", "k", "other", "0")
	waitBlockedCount(t, s, 2)
	ctl.send(t, "RPUSH", "k", "x", "y", "z")
	if got := ctl.readReply(t, time.Second); got != ":3\r\n" {
		t.Fatalf("RPUSH = %q", got)
	}
	// a blocked first and takes the head; b then pops the tail.
	if got := a.readReply(t, 2*time.Second); got != "*2\r\n$1\r\nk\r\n$1\r\nx\r\n" {
		t.Errorf("first blocked client got %q", got)
	}
	if got := b.readReply(t, 2*time.Second); got != "*2\r\n$1\r\nk\r\n$1\r\nz\r\n" {
		t.Errorf("second blocked client got %q", got)
	}
	waitBlockedCount(t, s, 0)
	ctl.send(t, "LRANGE", "k", "0", "-1")
	if got := ctl.readReply(t, time.Second); got != "*1\r\n$1\r\ny\r\n" {
		t.Errorf("left over %q", got)
	}
}

func TestBlockingTimeoutAndPipeline(t *testing.T) {
	s := blockingTestServer(t)
	c := dialRaw(t, s)
	start := time.Now()
	// The PING queued behind the blocking command runs only after it.
	c.send(t, "BLPOP", "k", "0.1")
	c.send(t, "PING")
	if got := c.readReply(t, 3*time.Second); got != "*-1\r\n" {
		t.Fatalf("BLPOP timeout reply %q", got)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("timed out after %v, before its 100ms timeout", d)
	}
	if got := c.readReply(t, time.Second); got != "+PONG\r\n" {
		t.Errorf("pipelined PING got %q", got)
	}
	waitBlockedCount(t, s, 0)
}

func TestBlockingDisconnectUnblocks(t *testing.T) {
	s := blockingTestServer(t)
	a, ctl := dialRaw(t, s), dialRaw(t, s)
	a.send(t, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0")
	waitBlockedCount(t, s, 1)
	a.nc.Close()
	waitBlockedCount(t, s, 0)
	ctl.send(t, "RPUSH", "src", "v")
	ctl.readReply(t, time.Second)
	ctl.send(t, "LLEN", "src")
	if got := ctl.readReply(t, time.Second); got != ":1\r\n" {
		t.Errorf("element consumed by a disconnected client: LLEN %q", got)
	}
}

func TestParseBlockTimeout(t *testing.T) {
	s := blockingTestServer(t)
	c := &Client{srv: s}
	cases := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"0", 0, ""},
		{"1", time.Second, ""},
		{"0.0001", time.Millisecond, ""}, // rounded up to whole ms
		{"1.5", 1500 * time.Millisecond, ""},
		{"-0.0001", 0, ""}, // ceil(-0.1) is 0: blocks forever, as in Redis
		{"-1", 0, "-ERR timeout is negative\r\n"},
		{"inf", 0, "-ERR timeout is negative\r\n"},
		{"abc", 0, "-ERR timeout is not a float or out of range\r\n"},
		{" 1", 0, "-ERR timeout is not a float or out of range\r\n"},
		{"1e400", 0, "-ERR timeout is negative\r\n"}, // a valid long double, too big for int64 ms
		{"1e5000", 0, "-ERR timeout is not a float or out of range\r\n"},
	}
	for _, tc := range cases {
		c.w.B = c.w.B[:0]
		s.Lock()
		d, ok := parseBlockTimeout(c, []byte(tc.in))
		s.Unlock()
		if tc.err != "" {
			if ok || string(c.w.B) != tc.err {
				t.Errorf("%q: ok=%v reply %q, want %q", tc.in, ok, c.w.B, tc.err)
			}
			continue
		}
		if !ok || d != tc.want {
			t.Errorf("%q = %v, %v (reply %q), want %v", tc.in, d, ok, c.w.B, tc.want)
		}
	}
}
