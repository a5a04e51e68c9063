package node

import (
	"testing"
	"time"
)

func TestClientPauseWrite(t *testing.T) {
	s := extTestServer(t)
	admin, w := dialRaw(t, s), dialRaw(t, s)
	expect(t, admin, "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n", "CLIENT", "PAUSE", "100", "READ")
	expect(t, admin, "-ERR timeout is not an integer or out of range\r\n", "CLIENT", "PAUSE", "x")
	expect(t, admin, "-ERR timeout is negative\r\n", "CLIENT", "PAUSE", "-1")
	expect(t, admin, "+OK\r\n", "CLIENT", "PAUSE", "60000", "WRITE")
	// Reads go on; a write waits until UNPAUSE.
	expect(t, w, "$-1\r\n", "GET", "k")
	w.send(t, "SET", "k", "v")
	w.nc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := w.br.Peek(1); err == nil {
		t.Fatal("a write ran while clients were paused")
	}
	expect(t, admin, "$-1\r\n", "GET", "k")
	expect(t, admin, "+OK\r\n", "CLIENT", "UNPAUSE")
	if got := w.readReply(t, 5*time.Second); got != "+OK\r\n" {
		t.Fatalf("paused SET answered %q", got)
	}
	expect(t, admin, "$1\r\nv\r\n", "GET", "k")
}

func TestClientPauseAllExpires(t *testing.T) {
	s := extTestServer(t)
	admin, r := dialRaw(t, s), dialRaw(t, s)
	start := time.Now()
	expect(t, admin, "+OK\r\n", "CLIENT", "PAUSE", "150", "ALL")
	// Even reads wait in ALL mode, until the pause times out.
	expect(t, r, "$-1\r\n", "GET", "k")
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Fatalf("read answered after %v, during the pause", d)
	}
}

// Nothing expires while clients are paused, neither by lookup nor by the
// active cycle: expired keys read as missing but stay until UNPAUSE
// (unit/pause "Test both active and passive expires are skipped during
// client pause").
func TestClientPauseHoldsExpiry(t *testing.T) {
	s := extTestServer(t, "--hz", "100")
	c := dialRaw(t, s)
	// One transaction, so that nothing can expire before the pause.
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "+QUEUED\r\n", "SET", "a", "1", "PX", "10")
	expect(t, c, "+QUEUED\r\n", "SET", "b", "1", "PX", "10")
	expect(t, c, "+QUEUED\r\n", "CLIENT", "PAUSE", "60000", "WRITE")
	expect(t, c, "*3\r\n+OK\r\n+OK\r\n+OK\r\n", "EXEC")
	waitUntil(t, "the keys to expire logically", 5*time.Second, func() bool {
		return do(t, c, "GET", "a") == "$-1\r\n" && do(t, c, "GET", "b") == "$-1\r\n"
	})
	// Give the active cycle (100 Hz) time to run: it must not reclaim them.
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		if got := infoFields(do(t, c, "INFO", "stats"))["expired_keys"]; got != "0" {
			t.Fatalf("expired_keys %s during the pause", got)
		}
	}
	expect(t, c, ":2\r\n", "DBSIZE")
	expect(t, c, "+OK\r\n", "CLIENT", "UNPAUSE")
	do(t, c, "GET", "a")
	do(t, c, "GET", "b")
	if got := infoFields(do(t, c, "INFO", "stats"))["expired_keys"]; got != "2" {
		t.Fatalf("expired_keys %s after the pause", got)
	}
}

// A pause that times out on its own lets keys expire again without any
// command noticing the end first.
func TestClientPauseTimeoutReleasesExpiry(t *testing.T) {
	s := extTestServer(t, "--hz", "100")
	c := dialRaw(t, s)
	expect(t, c, "+OK\r\n", "SET", "a", "1", "PX", "10")
	expect(t, c, "+OK\r\n", "CLIENT", "PAUSE", "100", "WRITE")
	waitUntil(t, "the active cycle to reclaim the key after the pause", 5*time.Second, func() bool {
		return infoFields(do(t, c, "INFO", "stats"))["expired_keys"] == "1"
	})
}
