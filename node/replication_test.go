package node

import (
	"strings"
	"testing"
	"time"
)

func replRun(c *Client, line string) string {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	c.w.B = c.w.B[:0]
	c.batchWall, c.batchMono = time.Now(), monoNow()
	c.srv.call(c, args)
	return string(c.w.B)
}

// TestReplStreamBytes checks the exact stream a master produces once a
// backlog exists: SELECT on a database change only, effects rather than
// commands, and the offset counting every byte.
func TestReplStreamBytes(t *testing.T) {
	c := stringTestClient(t)
	s := c.srv
	// Before any replica attached there is no backlog: nothing is kept.
	replRun(c, "SET a 1")
	if s.repl.offset != 0 || s.repl.backlog != nil {
		t.Fatalf("offset %d without replicas", s.repl.offset)
	}
	s.mu.Lock()
	s.createBacklog()
	s.mu.Unlock()
	replRun(c, "SET k v")
	replRun(c, "INCR n")
	replRun(c, "GET k") // reads are not propagated
	replRun(c, "SELECT 2")
	replRun(c, "SET k v")
	want := "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" +
		"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n" +
		"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
	got := string(s.repl.backlog.From(s.repl.backlog.FirstByteOffset()))
	if got != want {
		t.Fatalf("stream\n%q\nwant\n%q", got, want)
	}
	if s.repl.offset != int64(len(want)) {
		t.Fatalf("master_repl_offset %d, want %d", s.repl.offset, len(want))
	}
	// EXPIRE goes out as PEXPIREAT with an absolute time.
	replRun(c, "EXPIRE k 100")
	tail := string(s.repl.backlog.From(int64(len(want)) + 1))
	if !strings.HasPrefix(tail, "*3\r\n$9\r\nPEXPIREAT\r\n") {
		t.Fatalf("EXPIRE propagated as %q", tail)
	}
}

// TestReplReadOnlyReplica checks the -READONLY gate and that ROLE and
// INFO describe a replica whose link is down.
func TestReplReadOnlyReplica(t *testing.T) {
	c := stringTestClient(t)
	s := c.srv
	s.mu.Lock()
	// A master that is not listening: the link stays down.
	s.setMasterLocked("127.0.0.1", 1)
	s.mu.Unlock()
	t.Cleanup(func() { s.mu.Lock(); s.unsetMasterLocked(); s.mu.Unlock() })
	if got := replRun(c, "SET k v"); got != "-READONLY You can't write against a read only replica.\r\n" {
		t.Fatalf("write on replica: %q", got)
	}
	if got := replRun(c, "GET k"); got != "$-1\r\n" {
		t.Fatalf("read on replica: %q", got)
	}
	role := replRun(c, "ROLE")
	if !strings.HasPrefix(role, "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:1\r\n") || !strings.HasSuffix(role, ":-1\r\n") {
		t.Fatalf("ROLE %q", role)
	}
	s.cfg.SetPairs([]string{"replica-serve-stale-data", "no"})
	if got := replRun(c, "GET k"); !strings.HasPrefix(got, "-MASTERDOWN ") {
		t.Fatalf("stale read: %q", got)
	}
	if got := replRun(c, "INFO replication"); !strings.Contains(got, "master_link_status:down") {
		t.Fatalf("INFO on a stale replica: %q", got)
	}
	// REPLICAOF NO ONE shifts the history: the old id becomes replid2.
	s.mu.Lock()
	old := s.repl.replid
	s.unsetMasterLocked()
	s.mu.Unlock()
	if s.repl.replid2 != old || s.repl.secondOffset != s.repl.offset+1 || s.repl.replid == old {
		t.Fatalf("after NO ONE: replid %s replid2 %s second %d", s.repl.replid, s.repl.replid2, s.repl.secondOffset)
	}
	if got := replRun(c, "SET k v"); got != "+OK\r\n" {
		t.Fatalf("write after promotion: %q", got)
	}
}
