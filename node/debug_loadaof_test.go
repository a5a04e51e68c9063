package node

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestDebugLoadAOF: DEBUG LOADAOF rebuilds the dataset from the AOF (a
// key written only in memory since is gone, keys in the AOF are back),
// writes nothing of the replay to the AOF, and appending goes on after it.
func TestDebugLoadAOF(t *testing.T) {
	dir := t.TempDir()
	s := startTestServer(t, "--dir", dir, "--appendfsync", "always", "--enable-debug-command", "yes")
	c := dialRaw(t, s)
	if got := c.do(t, "CONFIG", "SET", "appendonly", "yes"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET appendonly yes: %q", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for infoFields(c.do(t, "INFO", "persistence"))["aof_rewrite_in_progress"] != "0" {
		if time.Now().After(deadline) {
			t.Fatal("the first AOF rewrite did not end within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	aofSize := func() int64 {
		files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*.aof"))
		var n int64
		for _, f := range files {
			if st, err := os.Stat(f); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	for _, cmd := range [][]string{{"SET", "a", "1"}, {"RPUSH", "l", "x", "y"}, {"SET", "gone", "v"}} {
		if got := c.do(t, cmd...); got == "" || got[0] == '-' {
			t.Fatalf("%v: %q", cmd, got)
		}
	}
	// A change the AOF never saw: the replay must undo it.
	s.mu.Lock()
	s.store.DBs[0].Flush()
	s.mu.Unlock()
	before := aofSize()
	if got := c.do(t, "DEBUG", "LOADAOF"); got != "+OK\r\n" {
		t.Fatalf("DEBUG LOADAOF: %q", got)
	}
	if got := c.do(t, "GET", "a"); got != "$1\r\n1\r\n" {
		t.Errorf("GET a after LOADAOF = %q", got)
	}
	if got := c.do(t, "LRANGE", "l", "0", "-1"); got != "*2\r\n$1\r\nx\r\n$1\r\ny\r\n" {
		t.Errorf("LRANGE l after LOADAOF = %q", got)
	}
	if got := aofSize(); got != before {
		t.Errorf("the replay wrote to the AOF: %d bytes before, %d after", before, got)
	}
	// Appending resumed: a write after the reload survives the next one.
	if got := c.do(t, "SET", "b", "2"); got != "+OK\r\n" {
		t.Fatalf("SET b: %q", got)
	}
	if got := c.do(t, "DEBUG", "LOADAOF"); got != "+OK\r\n" {
		t.Fatalf("second DEBUG LOADAOF: %q", got)
	}
	if got := c.do(t, "MGET", "a", "b", "gone"); got != "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\nv\r\n" {
		t.Errorf("MGET after the second LOADAOF = %q", got)
	}
}
