package node

import (
	"strings"
	"testing"
	"time"
)

// TestRdbKeySaveDelay: rdb-key-save-delay slows a BGSAVE down by that many
// microseconds a key, while the server keeps answering.
func TestRdbKeySaveDelay(t *testing.T) {
	s := startTestServer(t, "--enable-debug-command", "yes")
	c := dialRaw(t, s)
	if r := c.do(t, "DEBUG", "POPULATE", "300"); r != "+OK\r\n" {
		t.Fatalf("DEBUG POPULATE: %q", r)
	}
	c.do(t, "CONFIG", "SET", "rdb-key-save-delay", "2000") // 300 keys: at least 600 ms
	start := time.Now()
	if r := c.do(t, "BGSAVE"); !strings.Contains(r, "Background saving started") {
		t.Fatalf("BGSAVE: %q", r)
	}
	pingStart := time.Now()
	c.do(t, "PING")
	pingTook := time.Since(pingStart)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if strings.Contains(c.do(t, "INFO", "persistence"), "rdb_bgsave_in_progress:0") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("BGSAVE still running after 20 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	if took < 600*time.Millisecond {
		t.Fatalf("BGSAVE of 300 keys with rdb-key-save-delay 2000 took %v, want at least 600 ms", took)
	}
	if pingTook > 300*time.Millisecond {
		t.Errorf("PING during the delayed BGSAVE took %v", pingTook)
	}
	if r := c.do(t, "CONFIG", "SET", "rdb-key-save-delay", "x"); !strings.HasPrefix(r, "-ERR") {
		t.Fatalf("CONFIG SET rdb-key-save-delay x: %q", r)
	}
}
