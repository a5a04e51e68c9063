package node

import (
	"net"
	"strconv"
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

// backlogTail returns the stream bytes written since offset from.
func backlogTail(s *Server, from int64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.repl.backlog.From(from + 1))
}

// TestReplWrapsSeveralEffects checks Redis 7.0's batching: the effects of
// one command go out as one MULTI/EXEC block when there are several, and
// bare when there is one.
func TestReplWrapsSeveralEffects(t *testing.T) {
	c := stringTestClient(t)
	s := c.srv
	s.mu.Lock()
	s.createBacklog()
	s.mu.Unlock()
	expireNow := func(key string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		e := c.db.Peek([]byte(key))
		if e == nil {
			t.Fatalf("key %s missing", key)
		}
		c.db.SetExpire(e, time.Now().UnixMilli()-1000)
	}
	replRun(c, "SET k v")
	expireNow("k")
	off := s.repl.offset
	// A write on a logically expired key: its DEL and the SET, atomically.
	replRun(c, "SET k v2")
	want := "*1\r\n$5\r\nMULTI\r\n" +
		"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv2\r\n" +
		"*1\r\n$4\r\nEXEC\r\n"
	if got := backlogTail(s, off); got != want {
		t.Fatalf("SET on an expired key propagated\n%q\nwant\n%q", got, want)
	}
	// A read that reclaims an expired key: one effect, no block.
	expireNow("k")
	off = s.repl.offset
	replRun(c, "GET k")
	if got, want := backlogTail(s, off), "*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"; got != want {
		t.Fatalf("GET on an expired key propagated %q, want %q", got, want)
	}
	// A transaction with a single effect is not wrapped either.
	off = s.repl.offset
	replRun(c, "MULTI")
	replRun(c, "SET t 1")
	replRun(c, "GET t")
	replRun(c, "EXEC")
	if got, want := backlogTail(s, off), "*3\r\n$3\r\nSET\r\n$1\r\nt\r\n$1\r\n1\r\n"; got != want {
		t.Fatalf("EXEC with one write propagated %q, want %q", got, want)
	}
	off = s.repl.offset
	replRun(c, "MULTI")
	replRun(c, "SET t 2")
	replRun(c, "INCR n")
	replRun(c, "EXEC")
	want = "*1\r\n$5\r\nMULTI\r\n" +
		"*3\r\n$3\r\nSET\r\n$1\r\nt\r\n$1\r\n2\r\n" +
		"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n" +
		"*1\r\n$4\r\nEXEC\r\n"
	if got := backlogTail(s, off); got != want {
		t.Fatalf("EXEC with two writes propagated\n%q\nwant\n%q", got, want)
	}
	if len(s.repl.pending) != 0 {
		t.Fatalf("%d effects left queued", len(s.repl.pending))
	}
}

// TestReplWaitUsesClientOffset checks that WAIT waits for the calling
// client's last write, not for writes of other clients after it.
func TestReplWaitUsesClientOffset(t *testing.T) {
	a := stringTestClient(t)
	s := a.srv
	p1, p2 := net.Pipe()
	t.Cleanup(func() { p1.Close(); p2.Close() })
	b := s.newClient(p1)
	s.mu.Lock()
	s.createBacklog()
	s.mu.Unlock()
	replRun(a, "SET a 1")
	aOff := s.repl.offset
	replRun(b, "SET b 1")
	if s.repl.offset <= aOff {
		t.Fatalf("offset did not grow: %d", s.repl.offset)
	}
	// One online replica that has acknowledged a's write only.
	s.mu.Lock()
	s.repl.replicas = append(s.repl.replicas, &replicaConn{c: b, state: replicaOnline, ackOff: aOff, ackTime: time.Now()})
	s.mu.Unlock()
	t.Cleanup(func() { s.mu.Lock(); s.repl.replicas = nil; s.mu.Unlock() })
	if got := replRun(a, "WAIT 1 0"); got != ":1\r\n" {
		t.Fatalf("WAIT after a's write, acknowledged: %q", got)
	}
	// b's write is not acknowledged: b would block; inside MULTI it
	// answers the count at once.
	replRun(b, "MULTI")
	replRun(b, "WAIT 1 0")
	if got := replRun(b, "EXEC"); got != "*1\r\n:0\r\n" {
		t.Fatalf("WAIT after b's unacknowledged write: %q", got)
	}
}

// TestReplAuxRoundTrip checks that a saved RDB carries the history
// (repl-id, repl-offset, repl-stream-db) and that loading it restores a
// replica's cached master and a master's replid2.
func TestReplAuxRoundTrip(t *testing.T) {
	c := stringTestClient(t)
	s := c.srv
	aux := map[string]string{}
	s.mu.Lock()
	s.addReplAux(aux)
	s.mu.Unlock()
	if len(aux) != 0 {
		t.Fatalf("a master without a backlog saved history %v", aux)
	}
	s.mu.Lock()
	s.createBacklog()
	s.mu.Unlock()
	replRun(c, "SELECT 3")
	replRun(c, "SET k v")
	s.mu.Lock()
	s.addReplAux(aux)
	id, off := s.repl.replid, s.repl.offset
	s.mu.Unlock()
	if aux["repl-id"] != id || aux["repl-offset"] != strconv.FormatInt(off, 10) || aux["repl-stream-db"] != "3" || off == 0 {
		t.Fatalf("aux %v, want id %s offset %d db 3", aux, id, off)
	}

	// A replica restarting with that file continues the history.
	r := stringTestClient(t).srv
	r.mu.Lock()
	r.repl.masterHost, r.repl.masterPort = "127.0.0.1", 1
	ok := r.restoreReplFromAux(aux)
	r.mu.Unlock()
	if !ok || !r.repl.hasHistory || r.repl.replid != id || r.repl.offset != off || r.repl.masterDB != 3 {
		t.Fatalf("replica restored ok=%v history=%v replid %s offset %d db %d", ok, r.repl.hasHistory, r.repl.replid, r.repl.offset, r.repl.masterDB)
	}

	// A master keeps it as its previous history, continuable from off+1.
	m := stringTestClient(t).srv
	m.mu.Lock()
	ok = m.restoreReplFromAux(aux)
	m.mu.Unlock()
	if !ok || m.repl.replid2 != id || m.repl.secondOffset != off+1 || m.repl.offset != off || m.repl.replid == id {
		t.Fatalf("master restored ok=%v replid %s replid2 %s second %d offset %d", ok, m.repl.replid, m.repl.replid2, m.repl.secondOffset, m.repl.offset)
	}
	if m.repl.backlog == nil || !m.repl.backlog.Covers(off+1) {
		t.Fatal("restored master cannot continue from the saved offset")
	}

	for _, bad := range []map[string]string{
		{},
		{"repl-id": id, "repl-offset": "-1", "repl-stream-db": "0"},
		{"repl-id": "short", "repl-offset": "10", "repl-stream-db": "0"},
		{"repl-id": id, "repl-offset": "10", "repl-stream-db": "-1"},
	} {
		x := stringTestClient(t).srv
		x.mu.Lock()
		ok := x.restoreReplFromAux(bad)
		x.mu.Unlock()
		if ok || x.repl.hasHistory || x.repl.backlog != nil {
			t.Fatalf("invalid aux %v accepted", bad)
		}
	}
}

// TestReplResetStat checks that CONFIG RESETSTAT clears the sync counters.
func TestReplResetStat(t *testing.T) {
	c := stringTestClient(t)
	s := c.srv
	s.mu.Lock()
	s.repl.syncFull, s.repl.syncPartialOK, s.repl.syncPartialErr = 3, 2, 1
	s.mu.Unlock()
	if got := replRun(c, "INFO stats"); !strings.Contains(got, "sync_full:3\r\n") {
		t.Fatalf("INFO stats before RESETSTAT lacks sync_full:3")
	}
	replRun(c, "CONFIG RESETSTAT")
	got := replRun(c, "INFO stats")
	for _, f := range []string{"sync_full:0\r\n", "sync_partial_ok:0\r\n", "sync_partial_err:0\r\n"} {
		if !strings.Contains(got, f) {
			t.Errorf("after RESETSTAT, INFO stats lacks %q", strings.TrimSpace(f))
		}
	}
}
