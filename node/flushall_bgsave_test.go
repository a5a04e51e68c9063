package node

import (
	"strconv"
	"testing"
	"time"
)

// TestFlushallAbortsBgsave: FLUSHALL stops a background save in progress
// (it would write the dataset just flushed), which then counts as not
// done: the change counter stays.
func TestFlushallAbortsBgsave(t *testing.T) {
	s := startTestServer(t, "--rdb-key-save-delay", "1000")
	c := dialRaw(t, s)
	for i := 0; i < 2000; i++ {
		if got := c.do(t, "SET", "k"+strconv.Itoa(i), "v"); got != "+OK\r\n" {
			t.Fatalf("SET: %q", got)
		}
	}
	if got := c.do(t, "BGSAVE"); got != "+Background saving started\r\n" {
		t.Fatalf("BGSAVE: %q", got)
	}
	if p := infoFields(c.do(t, "INFO", "persistence"))["rdb_bgsave_in_progress"]; p != "1" {
		t.Fatalf("rdb_bgsave_in_progress = %q right after BGSAVE (2000 keys at 1 ms each)", p)
	}
	if got := c.do(t, "FLUSHALL"); got != "+OK\r\n" {
		t.Fatalf("FLUSHALL: %q", got)
	}
	deadline := time.Now().Add(time.Second)
	for infoFields(c.do(t, "INFO", "persistence"))["rdb_bgsave_in_progress"] != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the save was not aborted within 1s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n, _ := strconv.Atoi(infoFields(c.do(t, "INFO", "persistence"))["rdb_changes_since_last_save"]); n < 2000 {
		t.Errorf("rdb_changes_since_last_save = %d after the aborted save, want >= 2000", n)
	}
	if got := c.do(t, "SET", "x", "xx"); got != "+OK\r\n" {
		t.Errorf("SET after FLUSHALL: %q", got)
	}
}
