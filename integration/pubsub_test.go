package integration

// Pub/Sub message sequences with several connections, run as the same
// script against skiff and redis-server: every reply and every pushed
// frame is compared. After each command, every connection is synced with
// a PING carrying a unique token; the frames read before the token's
// reply are the ones delivered to it by that command.

import (
	"fmt"
	"math/rand"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// psSession drives n connections to each server in lock step.
type psSession struct {
	t     *testing.T
	conns [2][]*Conn // [0] skiff, [1] redis
	sync  int
	resp3 []bool
	log   []string
}

func newPSSession(t *testing.T, sk, rd *Server, n int) *psSession {
	p := &psSession{t: t, resp3: make([]bool, n)}
	for i, s := range []*Server{sk, rd} {
		for j := 0; j < n; j++ {
			c := s.Dial(t)
			c.Timeout = 5 * time.Second
			p.conns[i] = append(p.conns[i], c)
		}
	}
	return p
}

func (p *psSession) fail(format string, a ...any) {
	p.t.Helper()
	start := 0
	if len(p.log) > 20 {
		start = len(p.log) - 20
	}
	p.t.Fatalf("%s\n  recent steps:\n    %s", fmt.Sprintf(format, a...), strings.Join(p.log[start:], "\n    "))
}

// do runs argv on connection i of both servers, compares the replies,
// then syncs every connection and compares what each received.
func (p *psSession) do(i int, argv ...string) {
	p.t.Helper()
	p.log = append(p.log, fmt.Sprintf("conn %d: %s", i, fmtArgv(argv)))
	var replies [2]Reply
	var early [2][]Reply // messages pushed to i before its own reply
	for s := range p.conns {
		r, err := p.conns[s][i].Do(argv...)
		for n := 0; err == nil && isMessageFrame(r); n++ {
			if n > 1000 {
				p.fail("%s: %s: no reply after 1000 messages", []string{"skiff", "redis"}[s], fmtArgv(argv))
			}
			early[s] = append(early[s], r)
			r, err = p.conns[s][i].Read()
		}
		if err != nil {
			p.fail("%s: %s: %v", []string{"skiff", "redis"}[s], fmtArgv(argv), err)
		}
		replies[s] = r
	}
	// A client publishing to a channel it matches through several patterns
	// gets those messages before the reply, in Redis's hash-table order.
	if !sameFrames(early[0], early[1]) {
		p.fail("conn %d %s: messages before the reply differ:\n  skiff: %s\n  redis: %s", i, fmtArgv(argv), fmtFrames(early[0]), fmtFrames(early[1]))
	}
	if len(argv) == 1 && strings.HasSuffix(strings.ToLower(argv[0]), "unsubscribe") {
		// Unsubscribing from everything: one frame per channel, in
		// Redis's hash-table order; the reply is the first of them.
		p.unsubAll(i, replies)
		return
	}
	if !sameReply(argv, replies[0], replies[1]) {
		p.fail("conn %d %s:\n  skiff: %s\n  redis: %s", i, fmtArgv(argv), replies[0], replies[1])
	}
	if len(argv) > 0 && strings.EqualFold(argv[0], "hello") && len(argv) > 1 {
		p.resp3[i] = argv[1] == "3"
	}
	p.syncAll()
}

// unsubAll compares the frames of an unsubscribe-from-all on conn i:
// the same kinds and counts in order, the same names in any order.
func (p *psSession) unsubAll(i int, first [2]Reply) {
	p.t.Helper()
	var frames [2][]Reply
	for s := range p.conns {
		frames[s] = append(frames[s], first[s])
		frames[s] = append(frames[s], p.readUntilSync(s, i)...)
	}
	a, b := frames[0], frames[1]
	ok := len(a) == len(b)
	var an, bn []string
	for j := 0; ok && j < len(a); j++ {
		x, y := a[j], b[j]
		if len(x.Elems) != 3 || len(y.Elems) != 3 {
			ok = x.Equal(y)
			continue
		}
		ok = x.Type == y.Type && x.Elems[0].Equal(y.Elems[0]) && x.Elems[2].Equal(y.Elems[2])
		an, bn = append(an, x.Elems[1].String()), append(bn, y.Elems[1].String())
	}
	sort.Strings(an)
	sort.Strings(bn)
	ok = ok && strings.Join(an, "\n") == strings.Join(bn, "\n")
	if !ok {
		p.fail("conn %d unsubscribe-all frames differ:\n  skiff: %s\n  redis: %s", i, fmtFrames(a), fmtFrames(b))
	}
	p.syncAll()
}

// readUntilSync sends a PING token on conn i of server s and returns the
// frames read before its reply.
func (p *psSession) readUntilSync(s, i int) []Reply {
	p.t.Helper()
	p.sync++
	token := "sync-" + strconv.Itoa(p.sync)
	c := p.conns[s][i]
	if err := c.Send("PING", token); err != nil {
		p.fail("%s conn %d: PING: %v", []string{"skiff", "redis"}[s], i, err)
	}
	var frames []Reply
	for n := 0; ; n++ {
		if n > 1000 {
			p.fail("%s conn %d: no PING reply after 1000 frames", []string{"skiff", "redis"}[s], i)
		}
		r, err := c.Read()
		if err != nil {
			p.fail("%s conn %d: reading frames: %v (after %d frames)", []string{"skiff", "redis"}[s], i, err, n)
		}
		if isSyncReply(r, token) {
			return frames
		}
		frames = append(frames, r)
	}
}

func sameReply(argv []string, a, b Reply) bool {
	if a.Equal(b) {
		return true
	}
	name := strings.ToLower(argv[0])
	if name == "hello" {
		// Server identity (id, version) differs; the protocol switch is
		// what matters, and the frames that follow check it.
		return a.IsError() == b.IsError() && a.Type == b.Type
	}
	if name == "pubsub" || name == "unsubscribe" || name == "punsubscribe" || name == "sunsubscribe" {
		return sameMultiset(a, b)
	}
	return false
}

// syncAll reads, on every connection, the frames pushed before a PING
// sent now, and compares them between the servers.
func (p *psSession) syncAll() {
	p.t.Helper()
	for i := range p.conns[0] {
		var frames [2][]Reply
		for s := range p.conns {
			frames[s] = p.readUntilSync(s, i)
		}
		if !sameFrames(frames[0], frames[1]) {
			p.fail("conn %d received different frames:\n  skiff: %s\n  redis: %s", i, fmtFrames(frames[0]), fmtFrames(frames[1]))
		}
	}
}

// isMessageFrame reports whether r is a pushed message (message, pmessage
// or smessage), in RESP2 (array) or RESP3 (push) form.
func isMessageFrame(r Reply) bool {
	if (r.Type != '>' && r.Type != '*') || len(r.Elems) < 3 {
		return false
	}
	switch r.Elems[0].Str {
	case "message", "pmessage", "smessage":
		return true
	}
	return false
}

func isSyncReply(r Reply, token string) bool {
	if r.Type == '$' && r.Str == token {
		return true
	}
	return (r.Type == '*' || r.Type == '>') && len(r.Elems) == 2 && r.Elems[0].Str == "pong" && r.Elems[1].Str == token
}

// sameFrames compares frame lists in order. A client whose channel or
// pattern is matched more than once, or that unsubscribes from several
// at once, gets frames in Redis's hash-table order, which is not
// specified: such windows compare as multisets.
func sameFrames(a, b []Reply) bool {
	if len(a) != len(b) {
		return false
	}
	same := true
	for i := range a {
		if !a[i].Equal(b[i]) {
			same = false
			break
		}
	}
	if same {
		return true
	}
	as, bs := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		as[i], bs[i] = a[i].String(), b[i].String()
	}
	sort.Strings(as)
	sort.Strings(bs)
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

func fmtFrames(fs []Reply) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.String())
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func TestPubSubDifferential(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1e12
	}
	t.Logf("seed %d (rerun: go test ./integration/ -run TestPubSubDifferential -seed=%d)", seed, seed)
	r := rand.New(rand.NewSource(seed))
	const nconn = 4
	p := newPSSession(t, sk, rd, nconn)

	// A fixed opening that covers the basics whatever the seed.
	p.do(0, "SUBSCRIBE", "a", "b")
	p.do(1, "PSUBSCRIBE", "a*")
	p.do(2, "PUBLISH", "a", "hello")
	p.do(2, "PUBLISH", "ab", "x")
	p.do(2, "PUBSUB", "NUMSUB", "a", "b", "c")
	p.do(2, "PUBSUB", "NUMPAT")
	p.do(2, "PUBSUB", "CHANNELS")
	p.do(0, "GET", "k")
	p.do(0, "UNSUBSCRIBE", "a")
	p.do(3, "HELLO", "3")
	p.do(3, "SUBSCRIBE", "a")
	p.do(3, "PUBLISH", "a", "self")
	p.do(3, "GET", "k")
	p.do(3, "SSUBSCRIBE", "s1")
	p.do(2, "SPUBLISH", "s1", "shard")
	p.do(2, "PUBSUB", "SHARDNUMSUB", "s1")
	p.do(3, "SUNSUBSCRIBE")
	p.do(3, "UNSUBSCRIBE")
	p.do(0, "UNSUBSCRIBE")
	p.do(1, "PUNSUBSCRIBE")
	p.do(1, "PUNSUBSCRIBE")
	p.do(0, "RESET")

	channels := []string{"a", "b", "ab", "news.1", "news.2", "x\r\ny"}
	patterns := []string{"a*", "news.*", "*", "[ab]", "news.?"}
	for step := 0; step < 400; step++ {
		i := r.Intn(nconn)
		ch := channels[r.Intn(len(channels))]
		switch r.Intn(14) {
		case 0, 1:
			p.do(i, "SUBSCRIBE", ch)
		case 2:
			p.do(i, "SUBSCRIBE", ch, channels[r.Intn(len(channels))])
		case 3:
			p.do(i, "PSUBSCRIBE", patterns[r.Intn(len(patterns))])
		case 4:
			p.do(i, "UNSUBSCRIBE", ch)
		case 5:
			p.do(i, "PUNSUBSCRIBE", patterns[r.Intn(len(patterns))])
		case 6:
			if r.Intn(3) == 0 {
				p.do(i, "UNSUBSCRIBE")
			} else {
				p.do(i, "PUNSUBSCRIBE")
			}
		case 7, 8, 9:
			p.do(i, "PUBLISH", ch, "m"+strconv.Itoa(step))
		case 10:
			p.do(i, "PUBSUB", "NUMSUB", ch, channels[r.Intn(len(channels))])
		case 11:
			p.do(i, strings.Fields([]string{"PUBSUB NUMPAT", "PUBSUB CHANNELS", "PING", "GET k"}[r.Intn(4)])...)
		case 12:
			if r.Intn(2) == 0 {
				p.do(i, "SSUBSCRIBE", ch)
			} else {
				p.do(i, "SPUBLISH", ch, "s"+strconv.Itoa(step))
			}
		case 13:
			if r.Intn(4) == 0 {
				p.do(i, "HELLO", []string{"2", "3"}[r.Intn(2)])
			} else {
				p.do(i, "SUNSUBSCRIBE")
			}
		}
	}
}

// TestSlowSubscriberMemoryBounded: a subscriber that never reads while
// up to 200 MB are published to it is disconnected by the pubsub output limit,
// the publisher is never blocked, and the server's RSS stays bounded.
func TestSlowSubscriberMemoryBounded(t *testing.T) {
	sk := StartSkiff(t, "--client-output-buffer-limit", "pubsub 8mb 2mb 5")
	pub := sk.Dial(t)
	sub := sk.Dial(t)
	if r := sub.MustDo(t, "SUBSCRIBE", "flood"); r.IsError() {
		t.Fatalf("SUBSCRIBE: %s", r)
	}
	before, err := sk.RSSKiB()
	if err != nil {
		t.Fatalf("rss: %v", err)
	}
	msg := strings.Repeat("m", 256<<10)
	start := time.Now()
	var peak int64
	receivers := int64(-1)
	for i := 0; i < 800; i++ {
		r := pub.MustDo(t, "PUBLISH", "flood", msg)
		receivers = r.Int
		if i%20 == 0 {
			if rss, err := sk.RSSKiB(); err == nil && rss > peak {
				peak = rss
			}
		}
		if receivers == 0 {
			break
		}
	}
	elapsed := time.Since(start)
	t.Logf("RSS before %d KiB, peak %d KiB; last PUBLISH reached %d subscribers after %v", before, peak, receivers, elapsed)
	if receivers != 0 {
		t.Fatal("the slow subscriber was never disconnected")
	}
	if peak-before > 64<<10 {
		t.Fatalf("RSS grew by %d KiB while flooding a slow subscriber (limit 8 MB)", peak-before)
	}
	if elapsed > 30*time.Second {
		t.Fatalf("publishing took %v: the publisher was held up", elapsed)
	}
}
