package node

import (
	"net"
	"strings"
	"testing"
	"time"
)

func TestPubSubDelivery(t *testing.T) {
	s := extTestServer(t)
	sub1, sub2, pub := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	expect(t, sub1, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", "SUBSCRIBE", "ch")
	expect(t, sub2, "*3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n", "PSUBSCRIBE", "c*")
	expect(t, pub, ":2\r\n", "PUBLISH", "ch", "hello")
	if got, want := sub1.readReply(t, 5*time.Second), "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"; got != want {
		t.Fatalf("sub1 got %q, want %q", got, want)
	}
	if got, want := sub2.readReply(t, 5*time.Second), "*4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$5\r\nhello\r\n"; got != want {
		t.Fatalf("sub2 got %q, want %q", got, want)
	}
	expect(t, pub, ":1\r\n", "PUBLISH", "cx", "m")
	expect(t, pub, ":0\r\n", "PUBLISH", "other", "m")
	expect(t, pub, "*2\r\n$2\r\nch\r\n:1\r\n", "PUBSUB", "NUMSUB", "ch")
	expect(t, pub, ":1\r\n", "PUBSUB", "NUMPAT")
	expect(t, pub, "*1\r\n$2\r\nch\r\n", "PUBSUB", "CHANNELS")
	// RESP2 subscribed mode refuses other commands.
	expect(t, sub1, "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n", "GET", "x")
	expect(t, sub1, "*2\r\n$4\r\npong\r\n$0\r\n\r\n", "PING")
	expect(t, sub1, "*3\r\n$11\r\nunsubscribe\r\n$2\r\nch\r\n:0\r\n", "UNSUBSCRIBE")
	expect(t, sub1, "$-1\r\n", "GET", "x")
	// A disconnected subscriber is forgotten.
	sub2.nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for do(t, pub, "PUBSUB", "NUMPAT") != ":0\r\n" {
		if time.Now().After(deadline) {
			t.Fatal("pattern subscription outlived its client")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A RESP3 client publishing to itself gets the message before the
// PUBLISH reply, and after the replies that preceded it, as in Redis.
func TestPubSubSelfPublishOrderRESP3(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	do(t, c, "HELLO", "3")
	c.send(t, "SUBSCRIBE", "ch")
	c.send(t, "SET", "k", "v")
	c.send(t, "PUBLISH", "ch", "m")
	c.send(t, "GET", "k")
	want := []string{
		">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
		"+OK\r\n",
		">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n",
		":1\r\n",
		"$1\r\nv\r\n",
	}
	for i, w := range want {
		if got := c.readReply(t, 5*time.Second); got != w {
			t.Fatalf("frame %d: got %q, want %q", i, got, w)
		}
	}
}

func TestKeyspaceNotifications(t *testing.T) {
	s := extTestServer(t)
	sub, c := dialRaw(t, s), dialRaw(t, s)
	expect(t, c, "+OK\r\n", "CONFIG", "SET", "notify-keyspace-events", "KEA")
	expect(t, c, "*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n", "CONFIG", "GET", "notify-keyspace-events")
	do(t, sub, "PSUBSCRIBE", "__key*__:*")
	expect(t, c, "+OK\r\n", "SET", "foo", "bar")
	expect(t, c, ":1\r\n", "DEL", "foo")
	for _, w := range []string{
		"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyspace@0__:foo\r\n$3\r\nset\r\n",
		"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:set\r\n$3\r\nfoo\r\n",
		"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyspace@0__:foo\r\n$3\r\ndel\r\n",
		"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$18\r\n__keyevent@0__:del\r\n$3\r\nfoo\r\n",
	} {
		if got := sub.readReply(t, 5*time.Second); got != w {
			t.Fatalf("got %q, want %q", got, w)
		}
	}
	expect(t, c, "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.\r\n", "CONFIG", "SET", "notify-keyspace-events", "KQ")
}

// A subscriber that never reads is disconnected by the pubsub output
// limit; the publisher never blocks and the queue stays bounded.
func TestSlowSubscriberBounded(t *testing.T) {
	s := extTestServer(t, "--client-output-buffer-limit", "pubsub 1mb 256kb 60")
	sub, pub := dialRaw(t, s), dialRaw(t, s)
	if tc, ok := sub.nc.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	expect(t, sub, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", "SUBSCRIBE", "ch")
	msg := strings.Repeat("x", 64*1024)
	const hard = 1 << 20
	start := time.Now()
	gone := false
	for i := 0; i < 4000 && !gone; i++ {
		n := do(t, pub, "PUBLISH", "ch", msg)
		gone = n == ":0\r\n"
		s.Lock()
		maxPending := 0
		for _, cl := range s.clients {
			if q := cl.x.out; q != nil {
				if p := q.pending(); p > maxPending {
					maxPending = p
				}
			}
		}
		s.Unlock()
		// The socket holds some; the queue itself never exceeds the hard
		// limit by more than the message that crossed it.
		if maxPending > hard+len(msg)+64 {
			t.Fatalf("queued output %d bytes exceeds the hard limit %d", maxPending, hard)
		}
	}
	if !gone {
		t.Fatal("slow subscriber was never disconnected")
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("publishing took %v: the publisher was blocked", d)
	}
	expect(t, pub, "*2\r\n$2\r\nch\r\n:0\r\n", "PUBSUB", "NUMSUB", "ch")
}

// unsubscribeShardSlots (a slot leaving this node in cluster mode) sends
// each subscriber of the slot's shard channels a sunsubscribe with its
// remaining shard count, in slot then name order, and leaves the other
// slots' channels alone.
func TestUnsubscribeShardSlots(t *testing.T) {
	s := extTestServer(t)
	a, b, pub := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	do(t, a, "HELLO", "3")
	// KEYSLOT: {x}1 and {x}2 share slot 16287, "ch3" is 1672.
	do(t, a, "SSUBSCRIBE", "{x}2")
	do(t, a, "SSUBSCRIBE", "{x}1")
	do(t, a, "SSUBSCRIBE", "ch3")
	do(t, a, "SUBSCRIBE", "plain")
	do(t, b, "SSUBSCRIBE", "{x}1")
	s.mu.Lock()
	s.unsubscribeShardSlots([]int{16287, 7})
	s.mu.Unlock()
	for _, w := range []string{
		">3\r\n$12\r\nsunsubscribe\r\n$4\r\n{x}1\r\n:2\r\n",
		">3\r\n$12\r\nsunsubscribe\r\n$4\r\n{x}2\r\n:1\r\n",
	} {
		if got := a.readReply(t, 5*time.Second); got != w {
			t.Fatalf("a got %q, want %q", got, w)
		}
	}
	if got, w := b.readReply(t, 5*time.Second), "*3\r\n$12\r\nsunsubscribe\r\n$4\r\n{x}1\r\n:0\r\n"; got != w {
		t.Fatalf("b got %q, want %q", got, w)
	}
	expect(t, pub, "*4\r\n$4\r\n{x}1\r\n:0\r\n$3\r\nch3\r\n:1\r\n", "PUBSUB", "SHARDNUMSUB", "{x}1", "ch3")
	expect(t, pub, ":1\r\n", "SPUBLISH", "ch3", "m")
	if got, w := a.readReply(t, 5*time.Second), ">3\r\n$8\r\nsmessage\r\n$3\r\nch3\r\n$1\r\nm\r\n"; got != w {
		t.Fatalf("a got %q, want %q", got, w)
	}
	// b (RESP2) has no subscription left: out of subscribed mode.
	expect(t, b, "$-1\r\n", "GET", "k")
}
