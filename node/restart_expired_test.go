package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRestartFeedsDelsOfExpiredKeys: a master restarted from an RDB that
// holds its replication history drops the keys whose TTL passed and puts
// their DELs in its stream: the replicas that continue from the file's
// offset still hold those keys.
func TestRestartFeedsDelsOfExpiredKeys(t *testing.T) {
	dir := t.TempDir()
	a := startTestServer(t, "--dir", dir)
	replica := startTestServer(t)
	ac, rc := dialRaw(t, a), dialRaw(t, replica)
	// A replica gives the master a replication history worth saving.
	replicateFrom(t, rc, a)
	expireAt := time.Now().Add(100 * time.Millisecond)
	for i := 0; i < 10; i++ {
		ac.do(t, "SET", "gone"+strconv.Itoa(i), "v", "PXAT", strconv.FormatInt(expireAt.UnixMilli(), 10))
	}
	ac.do(t, "SET", "kept", "v")
	if got := ac.do(t, "SAVE"); got != "+OK\r\n" {
		t.Fatalf("SAVE: %q", got)
	}
	saved, _ := strconv.ParseInt(infoFields(ac.do(t, "INFO", "replication"))["master_repl_offset"], 10, 64)
	a.Shutdown()
	// The restart must find the TTLs passed.
	waitUntil(t, "the keys' expiry time", 5*time.Second, func() bool { return time.Now().After(expireAt.Add(time.Millisecond)) })

	b := newTestServer(t, "--dir", dir)
	if err := b.Listen(); err != nil {
		t.Fatal(err)
	}
	go b.Serve()
	t.Cleanup(b.Shutdown)
	if err := b.Load(); err != nil {
		t.Fatalf("load: %v", err)
	}
	bc := dialRaw(t, b)
	info := infoFields(bc.do(t, "INFO", "persistence"))
	if info["rdb_last_load_keys_expired"] != "10" {
		t.Errorf("rdb_last_load_keys_expired = %q, want 10", info["rdb_last_load_keys_expired"])
	}
	now, _ := strconv.ParseInt(infoFields(bc.do(t, "INFO", "replication"))["master_repl_offset"], 10, 64)
	b.mu.Lock()
	stream := string(b.repl.backlog.From(saved + 1))
	b.mu.Unlock()
	if now <= saved || strings.Count(stream, "$3\r\nDEL\r\n") != 10 || !strings.Contains(stream, "gone3") {
		t.Errorf("offset %d -> %d; the stream after the restart holds %d DELs: %q", saved, now, strings.Count(stream, "$3\r\nDEL\r\n"), stream)
	}
}
