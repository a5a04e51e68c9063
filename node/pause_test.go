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
