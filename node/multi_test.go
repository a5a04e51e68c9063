package node

import (
	"testing"
	"time"
)

// extTestServer starts a server on a free loopback port with extra
// options.
func extTestServer(t *testing.T, extra ...string) *Server {
	t.Helper()
	return startTestServer(t, append([]string{"--enable-debug-command", "yes"}, extra...)...)
}

// do sends a command and returns its reply.
func do(t *testing.T, c *rawConn, argv ...string) string {
	t.Helper()
	c.send(t, argv...)
	return c.readReply(t, 5*time.Second)
}

func expect(t *testing.T, c *rawConn, want string, argv ...string) {
	t.Helper()
	if got := do(t, c, argv...); got != want {
		t.Fatalf("%v: got %q, want %q", argv, got, want)
	}
}

func TestMultiExecQueuesAndRuns(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "+QUEUED\r\n", "SET", "a", "1")
	expect(t, c, "+QUEUED\r\n", "INCR", "a")
	expect(t, c, "+QUEUED\r\n", "LPUSH", "a", "x")
	// Runtime errors do not roll back the others.
	expect(t, c, "*3\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "EXEC")
	expect(t, c, "$1\r\n2\r\n", "GET", "a")
}

func TestMultiQueueErrorAborts(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "+QUEUED\r\n", "SET", "a", "1")
	expect(t, c, "-ERR wrong number of arguments for 'get' command\r\n", "GET")
	// Errors of the transaction commands themselves do not abort it.
	expect(t, c, "-ERR MULTI calls can not be nested\r\n", "MULTI")
	expect(t, c, "-ERR WATCH inside MULTI is not allowed\r\n", "WATCH", "a")
	expect(t, c, "-EXECABORT Transaction discarded because of previous errors.\r\n", "EXEC")
	expect(t, c, ":0\r\n", "EXISTS", "a")
	expect(t, c, "-ERR EXEC without MULTI\r\n", "EXEC")
	expect(t, c, "-ERR DISCARD without MULTI\r\n", "DISCARD")
}

func TestWatchInvalidation(t *testing.T) {
	s := extTestServer(t)
	c, other := dialRaw(t, s), dialRaw(t, s)
	cases := []struct {
		name   string
		setup  []string
		change []string
		dirty  bool
	}{
		{"set by other", []string{"SET", "k", "1"}, []string{"SET", "k", "2"}, true},
		{"untouched", []string{"SET", "k", "1"}, []string{"SET", "other", "2"}, false},
		{"flushall existing", []string{"SET", "k", "1"}, []string{"FLUSHALL"}, true},
		{"flushall absent", []string{"DEL", "k"}, []string{"FLUSHALL"}, false},
		{"flushdb", []string{"SET", "k", "1"}, []string{"FLUSHDB"}, true},
		{"swapdb", []string{"DEL", "k"}, []string{"SWAPDB", "0", "1"}, false},
		{"rename onto", []string{"SET", "src", "1"}, []string{"RENAME", "src", "k"}, true},
		{"del absent", []string{"DEL", "k"}, []string{"DEL", "k"}, false},
	}
	for _, tc := range cases {
		expect(t, other, "+OK\r\n", "FLUSHALL")
		do(t, other, tc.setup...)
		expect(t, c, "+OK\r\n", "WATCH", "k")
		do(t, other, tc.change...)
		expect(t, c, "+OK\r\n", "MULTI")
		expect(t, c, "+QUEUED\r\n", "PING")
		want := "*1\r\n+PONG\r\n"
		if tc.dirty {
			want = "*-1\r\n"
		}
		if got := do(t, c, "EXEC"); got != want {
			t.Errorf("%s: EXEC = %q, want %q", tc.name, got, want)
		}
	}
	// SWAPDB with the key present in the other database invalidates.
	expect(t, other, "+OK\r\n", "FLUSHALL")
	expect(t, other, "+OK\r\n", "SELECT", "1")
	expect(t, other, "+OK\r\n", "SET", "k", "v")
	expect(t, c, "+OK\r\n", "WATCH", "k")
	expect(t, other, "+OK\r\n", "SWAPDB", "0", "1")
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "*-1\r\n", "EXEC")
}

func TestWatchExpiry(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	expect(t, c, "+OK\r\n", "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	// A key that expires after WATCH fails the EXEC.
	expect(t, c, "+OK\r\n", "SET", "k", "v", "PX", "20")
	expect(t, c, "+OK\r\n", "WATCH", "k")
	deadline := time.Now().Add(5 * time.Second)
	for do(t, c, "PTTL", "k") != ":-2\r\n" {
		if time.Now().After(deadline) {
			t.Fatal("key never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "*-1\r\n", "EXEC")

	// A key already stale when watched, then reclaimed, is no change.
	expect(t, c, "+OK\r\n", "SET", "s", "v", "PX", "1")
	for {
		expect(t, c, "+OK\r\n", "DEBUG", "SLEEP", "0.01")
		s.Lock()
		stale := keyExpiredAt(s.store.DBs[0], []byte("s"), time.Now().UnixMilli())
		s.Unlock()
		if stale {
			break
		}
	}
	expect(t, c, "+OK\r\n", "WATCH", "s")
	expect(t, c, ":0\r\n", "EXISTS", "s")
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "+QUEUED\r\n", "PING")
	expect(t, c, "*1\r\n+PONG\r\n", "EXEC")
}

func TestUnwatchAndDiscardClear(t *testing.T) {
	s := extTestServer(t)
	c, other := dialRaw(t, s), dialRaw(t, s)
	expect(t, c, "+OK\r\n", "WATCH", "k")
	expect(t, other, "+OK\r\n", "SET", "k", "1")
	expect(t, c, "+OK\r\n", "UNWATCH")
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "*0\r\n", "EXEC")
	expect(t, c, "+OK\r\n", "WATCH", "k")
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "+OK\r\n", "DISCARD")
	expect(t, other, "+OK\r\n", "SET", "k", "2")
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "*0\r\n", "EXEC")
	s.Lock()
	n := s.x.nwatched
	s.Unlock()
	if n != 0 {
		t.Fatalf("watches left: %d", n)
	}
}

func TestMultiBlockingDoesNotBlock(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	expect(t, c, "+OK\r\n", "MULTI")
	expect(t, c, "+QUEUED\r\n", "BLPOP", "nolist", "0")
	expect(t, c, "*1\r\n*-1\r\n", "EXEC")
}
