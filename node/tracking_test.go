package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Raw frames of invalidation messages.
func pushInvalidate(keys ...string) string {
	return ">2\r\n$10\r\ninvalidate\r\n" + respArray(keys...)
}

func msgInvalidate(keys ...string) string {
	return "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n" + respArray(keys...)
}

func respArray(keys ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(keys)) + "\r\n")
	for _, k := range keys {
		b.WriteString("$" + strconv.Itoa(len(k)) + "\r\n" + k + "\r\n")
	}
	return b.String()
}

// quiet checks that nothing was pushed to c: a PING's reply comes first.
func quiet(t *testing.T, c *rawConn, pong string) {
	t.Helper()
	if got := do(t, c, "PING"); got != pong {
		t.Fatalf("expected no pending message, got %q before the PING reply", got)
	}
}

func clientID(t *testing.T, c *rawConn) string {
	t.Helper()
	r := do(t, c, "CLIENT", "ID")
	return strings.TrimSpace(r[1:])
}

func TestTrackingRESP3Self(t *testing.T) {
	s := startTestServer(t)
	c, other := dialRaw(t, s), dialRaw(t, s)
	do(t, c, "HELLO", "3")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on")
	expect(t, other, "+OK\r\n", "SET", "k", "1")
	expect(t, c, "$1\r\n1\r\n", "GET", "k")
	expect(t, other, "+OK\r\n", "SET", "k", "2")
	// Pushed while c is idle: read without sending anything.
	if got := c.readReply(t, 2*time.Second); got != pushInvalidate("k") {
		t.Fatalf("got %q", got)
	}
	// Told once: the next change says nothing until k is read again.
	expect(t, other, "+OK\r\n", "SET", "k", "3")
	quiet(t, c, "+PONG\r\n")

	// The client's own change: after its reply (Redis 7.0's order).
	do(t, c, "HSET", "h", "f", "1")
	do(t, c, "HGET", "h", "f")
	expect(t, c, ":1\r\n", "HDEL", "h", "f")
	if got := c.readReply(t, 2*time.Second); got != pushInvalidate("h") {
		t.Fatalf("after HDEL: got %q", got)
	}
	// And after a whole transaction's reply.
	do(t, c, "GET", "k")
	do(t, c, "MULTI")
	do(t, c, "INCR", "k")
	do(t, c, "GET", "nokey")
	expect(t, c, "*2\r\n:4\r\n_\r\n", "EXEC")
	if got := c.readReply(t, 2*time.Second); got != pushInvalidate("k") {
		t.Fatalf("after EXEC: got %q", got)
	}
	// FLUSHDB by c: the null "all keys" after the reply.
	do(t, c, "GET", "k")
	expect(t, c, "+OK\r\n", "FLUSHDB")
	if got := c.readReply(t, 2*time.Second); got != ">2\r\n$10\r\ninvalidate\r\n_\r\n" {
		t.Fatalf("after FLUSHDB: got %q", got)
	}
}

func TestTrackingRedirectRESP2Subscriber(t *testing.T) {
	s := startTestServer(t)
	redir, c, other := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	id := clientID(t, redir)
	do(t, redir, "SUBSCRIBE", "__redis__:invalidate")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "REDIRECT", id, "NOLOOP")
	do(t, c, "MGET", "a", "b", "c")
	expect(t, other, "+OK\r\n", "SET", "a", "1")
	expect(t, c, "+OK\r\n", "SET", "b", "1") // NOLOOP: c changed b itself
	expect(t, other, "+OK\r\n", "SET", "c", "1")
	for _, k := range []string{"a", "c"} {
		if got := redir.readReply(t, 2*time.Second); got != msgInvalidate(k) {
			t.Fatalf("want the message about %s, got %q", k, got)
		}
	}
	quiet(t, redir, "*2\r\n$4\r\npong\r\n$0\r\n\r\n")
	if got := do(t, c, "CLIENT", "GETREDIR"); got != ":"+id+"\r\n" {
		t.Fatalf("GETREDIR %q", got)
	}
	// A RESP2 tracking client: the flush null is RESP2's, whoever gets it.
	do(t, c, "GET", "a")
	expect(t, other, "+OK\r\n", "FLUSHALL")
	if got := redir.readReply(t, 2*time.Second); got != "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n" {
		t.Fatalf("flush: got %q", got)
	}
}

func TestTrackingBCAST(t *testing.T) {
	s := startTestServer(t)
	c, other := dialRaw(t, s), dialRaw(t, s)
	do(t, c, "HELLO", "3")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b:", "PREFIX", "a:", "NOLOOP")
	expect(t, c, "-ERR Prefix 'a' overlaps with an existing prefix 'a:'. Prefixes for a single client must not overlap.\r\n", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a")
	expect(t, c, "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n", "CLIENT", "TRACKING", "on")
	// One message per prefix, in prefix order, keys in byte order.
	expect(t, other, "+OK\r\n", "MSET", "b:1", "x", "a:2", "y", "a:1", "y", "c:1", "z")
	for _, want := range []string{pushInvalidate("a:1", "a:2"), pushInvalidate("b:1")} {
		if got := c.readReply(t, 2*time.Second); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	// NOLOOP: not told about its own change...
	expect(t, c, "+OK\r\n", "SET", "a:3", "v", "PX", "1")
	quiet(t, c, "+PONG\r\n")
	// ...but about the expiry of the key, which no client did.
	time.Sleep(5 * time.Millisecond)
	expect(t, c, "_\r\n", "GET", "a:3")
	if got := c.readReply(t, 2*time.Second); got != pushInvalidate("a:3") {
		t.Fatalf("expiry: got %q", got)
	}
	info := do(t, c, "CLIENT", "TRACKINGINFO")
	if want := "%3\r\n$5\r\nflags\r\n~3\r\n$2\r\non\r\n$5\r\nbcast\r\n$6\r\nnoloop\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$2\r\na:\r\n$2\r\nb:\r\n"; info != want {
		t.Fatalf("TRACKINGINFO %q", info)
	}
	if got := do(t, c, "CLIENT", "INFO"); !strings.Contains(got, " flags=tB ") {
		t.Fatalf("CLIENT INFO %q", got)
	}
	if got := do(t, other, "INFO", "stats"); !strings.Contains(got, "tracking_total_prefixes:2\r\n") {
		t.Fatalf("INFO: %q", got)
	}
	// RESET turns tracking off and drops the prefixes.
	do(t, c, "RESET")
	if got := do(t, other, "INFO"); !strings.Contains(got, "tracking_total_prefixes:0\r\n") || !strings.Contains(got, "tracking_clients:0\r\n") {
		t.Fatalf("after RESET: %q", got)
	}
	expect(t, other, "+OK\r\n", "SET", "a:1", "z")
	quiet(t, c, "+PONG\r\n")
}

func TestTrackingBrokenRedirect(t *testing.T) {
	s := startTestServer(t)
	redir, c, other := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	id := clientID(t, redir)
	do(t, c, "HELLO", "3")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "REDIRECT", id)
	do(t, c, "GET", "k")
	expect(t, redir, "+OK\r\n", "QUIT")
	expect(t, other, "+OK\r\n", "SET", "k", "1")
	if got := c.readReply(t, 2*time.Second); got != ">2\r\n$21\r\ntracking-redir-broken\r\n:"+id+"\r\n" {
		t.Fatalf("got %q", got)
	}
	if got := do(t, c, "CLIENT", "INFO"); !strings.Contains(got, " flags=tR ") || !strings.Contains(got, " redir="+id+" ") {
		t.Fatalf("CLIENT INFO %q", got)
	}
	if got := do(t, c, "CLIENT", "TRACKINGINFO"); !strings.Contains(got, "broken_redirect") {
		t.Fatalf("TRACKINGINFO %q", got)
	}
}

func TestTrackingOptinCachingLastsATransaction(t *testing.T) {
	s := startTestServer(t)
	c, other := dialRaw(t, s), dialRaw(t, s)
	do(t, c, "HELLO", "3")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "OPTIN")
	do(t, c, "GET", "a") // not tracked: no CACHING yes
	expect(t, c, "+OK\r\n", "CLIENT", "CACHING", "yes")
	do(t, c, "MULTI")
	do(t, c, "GET", "b")
	do(t, c, "GET", "c")
	do(t, c, "EXEC")
	do(t, c, "GET", "d") // CACHING was used up by the transaction
	expect(t, other, "+OK\r\n", "MSET", "a", "1", "b", "1", "c", "1", "d", "1")
	for _, k := range []string{"b", "c"} {
		if got := c.readReply(t, 2*time.Second); got != pushInvalidate(k) {
			t.Fatalf("want %s, got %q", k, got)
		}
	}
	quiet(t, c, "+PONG\r\n")
}

func TestTrackingTableLimit(t *testing.T) {
	s := startTestServer(t)
	redir, c := dialRaw(t, s), dialRaw(t, s)
	do(t, redir, "HELLO", "3")
	id := clientID(t, redir)
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "REDIRECT", id)
	const n = 250
	for i := 0; i < n; i++ {
		do(t, c, "GET", "key"+strconv.Itoa(i))
	}
	expect(t, c, "+OK\r\n", "CONFIG", "SET", "tracking-table-max-keys", "1")
	// The cron evicts with growing effort: exactly n-1 messages come.
	seen := map[string]bool{}
	for i := 0; i < n-1; i++ {
		got := redir.readReply(t, 5*time.Second)
		if !strings.HasPrefix(got, ">2\r\n$10\r\ninvalidate\r\n*1\r\n") || seen[got] {
			t.Fatalf("message %d: %q", i, got)
		}
		seen[got] = true
	}
	quiet(t, redir, "+PONG\r\n")
	if got := do(t, c, "INFO", "stats"); !strings.Contains(got, "tracking_total_keys:1\r\n") || !strings.Contains(got, "tracking_total_items:1\r\n") {
		t.Fatalf("INFO %q", got)
	}
}

func TestTrackingClientsCountedAndDisconnect(t *testing.T) {
	s := startTestServer(t)
	c, other := dialRaw(t, s), dialRaw(t, s)
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on")
	if got := do(t, other, "INFO", "clients"); !strings.Contains(got, "tracking_clients:1\r\n") {
		t.Fatalf("INFO %q", got)
	}
	c.nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(do(t, other, "INFO", "clients"), "tracking_clients:0\r\n") {
		if time.Now().After(deadline) {
			t.Fatal("tracking_clients still counts a closed connection")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTrackingRedirectToRESP3ClientWithoutQueue(t *testing.T) {
	s := startTestServer(t)
	redir, c, other := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	do(t, redir, "HELLO", "3")
	id := clientID(t, redir)
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "REDIRECT", id)
	for i := 0; i < 50; i++ {
		k := "k" + strconv.Itoa(i)
		do(t, c, "GET", k)
		expect(t, other, "+OK\r\n", "SET", k, "v")
		if got := redir.readReply(t, 2*time.Second); got != pushInvalidate(k) {
			t.Fatalf("round %d: got %q", i, got)
		}
	}
	quiet(t, redir, "+PONG\r\n")
}

// On a replica, the keys the master's stream changes are invalidated,
// BCAST included (sent by the broadcaster: no client batch runs), and the
// full resynchronisation tells every tracking client "all keys".
func TestTrackingOnReplica(t *testing.T) {
	master, replica := startTestServer(t), startTestServer(t)
	mc, rc := dialRaw(t, master), dialRaw(t, replica)
	c, b := dialRaw(t, replica), dialRaw(t, replica)
	do(t, c, "HELLO", "3")
	do(t, b, "HELLO", "3")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on")
	expect(t, b, "+OK\r\n", "CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "b:")
	do(t, c, "GET", "k")
	replicateFrom(t, rc, master)
	// The load of the master's dataset is a flush.
	for _, cc := range []*rawConn{c, b} {
		if got := cc.readReply(t, 5*time.Second); got != ">2\r\n$10\r\ninvalidate\r\n_\r\n" {
			t.Fatalf("full sync: got %q", got)
		}
	}
	expect(t, c, "_\r\n", "GET", "k")
	expect(t, mc, "+OK\r\n", "SET", "k", "1")
	if got := c.readReply(t, 5*time.Second); got != pushInvalidate("k") {
		t.Fatalf("stream SET: got %q", got)
	}
	expect(t, mc, "+OK\r\n", "SET", "b:1", "1")
	if got := b.readReply(t, 5*time.Second); got != pushInvalidate("b:1") {
		t.Fatalf("stream SET under the prefix: got %q", got)
	}
	quiet(t, c, "+PONG\r\n")
	quiet(t, b, "+PONG\r\n")
}
