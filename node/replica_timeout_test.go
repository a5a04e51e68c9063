package node

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
)

// startLoggedServer is startTestServer with its log kept in a buffer.
func startLoggedServer(t *testing.T, opts ...string) (*Server, *syncBuffer) {
	t.Helper()
	args := append([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", t.TempDir(), "--save", ""}, opts...)
	cfg, err := config.Load("", args)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &syncBuffer{}
	s, err := New(cfg, hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info}))
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	go s.Serve()
	t.Cleanup(s.Shutdown)
	return s, logs
}

// TestReplicaHandshakeTimeout: while a diskless master waits out its
// sync delay it keeps the replica's link alive with newlines, so the
// replica stays in the handshake well past repl-timeout; when the master
// stalls (DEBUG SLEEP holds it), the replica gives up with Redis's
// "Timeout connecting to the MASTER..." line.
func TestReplicaHandshakeTimeout(t *testing.T) {
	master := startTestServer(t, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "1000", "--enable-debug-command", "yes")
	replica, logs := startLoggedServer(t, "--repl-timeout", "2")
	rc := dialRaw(t, replica)
	if got := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port())); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF: %q", got)
	}
	waitUntil(t, "handshake", 5*time.Second, func() bool {
		return strings.Contains(rc.do(t, "ROLE"), "handshake")
	})
	// Twice repl-timeout: only the newlines keep the link up.
	time.Sleep(4 * time.Second)
	if strings.Contains(logs.String(), "Timeout connecting to the MASTER") {
		t.Fatalf("replica timed out while the master was waiting for the sync delay:\n%s", logs.String())
	}
	if role := rc.do(t, "ROLE"); !strings.Contains(role, "handshake") {
		t.Fatalf("ROLE %q, want the handshake state", role)
	}
	mc := dialRaw(t, master)
	mc.send(t, "DEBUG", "SLEEP", "4")
	waitUntil(t, "timeout logged", 8*time.Second, func() bool {
		return strings.Contains(logs.String(), "Timeout connecting to the MASTER...")
	})
	if got := mc.readReply(t, 8*time.Second); got != "+OK\r\n" {
		t.Fatalf("DEBUG SLEEP: %q", got)
	}
}
