package integration

// Streams across redis-server and skiff: DUMP/RESTORE both ways (the
// listpack nodes travel as they are, so XINFO STREAM FULL must read back
// identically, times included), replication both ways (a master's
// XREADGROUP, NOACK reads, XCLAIM, XAUTOCLAIM and approximate trimming
// reach the replica as the same effects), and the exact commands skiff
// propagates compared with redis-server's for one script.
//
// Run: go build -o /tmp/streams/skiff ./cmd/skiff &&
//      SKIFF_BIN=/tmp/streams/skiff go test -count=1 -run 'TestStream' ./integration/

import (
	"bufio"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// populateStreams writes streams with groups, consumers, pending
// entries, deleted entries and several nodes, with explicit IDs so that
// two servers given the same script hold the same streams.
func populateStreams(t *testing.T, c *Conn) {
	t.Helper()
	c.MustDo(t, "CONFIG", "SET", "stream-node-max-entries", "7")
	for i := 1; i <= 60; i++ {
		argv := []string{"XADD", "st:a", fmt.Sprintf("%d-%d", 1000+i/3, i%3), "f", strconv.Itoa(i)}
		if i%5 == 0 {
			argv = append(argv, "other", strings.Repeat("x", i))
		}
		if r := c.MustDo(t, argv...); r.IsError() {
			t.Fatalf("%v: %s", argv, r)
		}
	}
	script := [][]string{
		{"XDEL", "st:a", "1001-0", "1005-1", "1010-2"},
		{"XGROUP", "CREATE", "st:a", "g1", "0"},
		{"XGROUP", "CREATE", "st:a", "g2", "1010-0", "ENTRIESREAD", "30"},
		{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "10", "STREAMS", "st:a", ">"},
		{"XREADGROUP", "GROUP", "g1", "bob", "COUNT", "5", "STREAMS", "st:a", ">"},
		{"XREADGROUP", "GROUP", "g2", "carol", "NOACK", "COUNT", "3", "STREAMS", "st:a", ">"},
		{"XCLAIM", "st:a", "g1", "dave", "0", "1002-0", "1002-1", "TIME", "1700000000000", "RETRYCOUNT", "7"},
		{"XACK", "st:a", "g1", "1003-0"},
		{"XGROUP", "CREATECONSUMER", "st:a", "g1", "idle"},
		{"XADD", "st:b", "1-1", "a", "1"},
		{"XDEL", "st:b", "1-1"},
		{"XGROUP", "CREATE", "st:empty", "g", "$", "MKSTREAM"},
		{"XSETID", "st:empty", "5-5", "ENTRIESADDED", "9", "MAXDELETEDID", "3-3"},
		{"XADD", "st:int", "7-0", "123", "456", "-7", "18446744073709551615"},
	}
	for _, argv := range script {
		if r := c.MustDo(t, argv...); r.IsError() {
			t.Fatalf("%v: %s", argv, r)
		}
	}
	c.MustDo(t, "CONFIG", "SET", "stream-node-max-entries", "100")
}

var streamKeys = []string{"st:a", "st:b", "st:empty", "st:int"}

// streamState reads back every stream key: XINFO STREAM FULL (all
// pending entries and entries), XINFO GROUPS, XRANGE and XREVRANGE.
// radix-tree-nodes (the count of Redis's tree nodes, approximated by
// skiff) is masked.
func streamState(t *testing.T, c *Conn, maskSeen bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, k := range streamKeys {
		full := c.MustDo(t, "XINFO", "STREAM", k, "FULL", "COUNT", "0")
		out[k+" full"] = maskStreamInfo(full, maskSeen).String()
		out[k+" groups"] = c.MustDo(t, "XINFO", "GROUPS", k).String()
		out[k+" range"] = c.MustDo(t, "XRANGE", k, "-", "+").String()
		out[k+" revrange"] = c.MustDo(t, "XREVRANGE", k, "+", "-").String()
		out[k+" type"] = c.MustDo(t, "TYPE", k).String()
		out[k+" encoding"] = c.MustDo(t, "OBJECT", "ENCODING", k).String()
	}
	return out
}

// maskStreamInfo blanks the values after the given map keys, at any
// depth (flat key/value arrays in RESP2).
func maskStreamInfo(r Reply, maskSeen bool) Reply {
	if len(r.Elems) == 0 {
		return r
	}
	out := r
	out.Elems = make([]Reply, len(r.Elems))
	for i, e := range r.Elems {
		out.Elems[i] = maskStreamInfo(e, maskSeen)
		if i > 0 && i%2 == 1 && (r.Type == '*' || r.Type == '%') {
			k := r.Elems[i-1].Str
			if k == "radix-tree-nodes" || maskSeen && k == "seen-time" {
				out.Elems[i] = Reply{Type: '+', Str: "masked"}
			}
		}
	}
	return out
}

func compareStreamStates(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s: %s differs\n  got:  %s\n  want: %s", what, k, g, w)
		}
	}
}

func TestStreamDumpRestore(t *testing.T) {
	rs := StartRedis(t)
	rc := rs.Dial(t)
	populateStreams(t, rc)
	want := streamState(t, rc, false)

	sk := StartSkiff(t)
	transferByDump(t, rs, sk)
	sc := sk.Dial(t)
	compareStreamStates(t, "redis DUMP -> skiff RESTORE", streamState(t, sc, false), want)

	// The same after skiff saved and loaded its own RDB file.
	if r := sc.MustDo(t, "DEBUG", "RELOAD"); r.Str != "OK" {
		t.Fatalf("DEBUG RELOAD: %s", r)
	}
	compareStreamStates(t, "skiff DEBUG RELOAD", streamState(t, sc, false), want)

	// And back into a fresh redis-server.
	rs2 := StartRedis(t)
	transferByDump(t, sk, rs2)
	compareStreamStates(t, "skiff DUMP -> redis RESTORE", streamState(t, rs2.Dial(t), false), want)

	// Skiff's own writes DUMPed into redis-server.
	sk2 := StartSkiff(t)
	populateStreams(t, sk2.Dial(t))
	rs3 := StartRedis(t)
	transferByDump(t, sk2, rs3)
	got := streamState(t, rs3.Dial(t), true)
	wantSk := streamState(t, sk2.Dial(t), true)
	compareStreamStates(t, "skiff-built streams -> redis RESTORE", got, wantSk)
}

// streamWorkload is run on a master; its effects must reach a replica.
func streamWorkload(t *testing.T, c *Conn) {
	t.Helper()
	c.MustDo(t, "CONFIG", "SET", "stream-node-max-entries", "5")
	for i := 0; i < 80; i++ {
		c.MustDo(t, "XADD", "rs", "*", "n", strconv.Itoa(i))
	}
	script := [][]string{
		{"XADD", "rs", "MAXLEN", "~", "50", "*", "n", "trim"},
		{"XTRIM", "rs", "MAXLEN", "~", "30"},
		{"XGROUP", "CREATE", "rs", "g", "0"},
		{"XREADGROUP", "GROUP", "g", "a", "COUNT", "6", "STREAMS", "rs", ">"},
		{"XREADGROUP", "GROUP", "g", "b", "NOACK", "COUNT", "4", "STREAMS", "rs", ">"},
		{"XREADGROUP", "GROUP", "g", "c", "COUNT", "3", "STREAMS", "rs", ">"},
		{"XREADGROUP", "GROUP", "g", "a", "STREAMS", "rs", "0"},
		{"XAUTOCLAIM", "rs", "g", "d", "0", "0", "COUNT", "2"},
		{"XGROUP", "DELCONSUMER", "rs", "g", "c"},
		{"XGROUP", "SETID", "rs", "g", "$"},
		{"XADD", "rs", "MINID", "~", "0", "*", "n", "x"},
		{"XSETID", "rs", "99999999999999-5"},
		{"XADD", "rs", "99999999999999-*", "n", "last"},
	}
	for _, argv := range script {
		if r := c.MustDo(t, argv...); r.IsError() {
			t.Fatalf("%v: %s", argv, r)
		}
	}
	// Claims of entries deleted meanwhile, and of live ones.
	pend := c.MustDo(t, "XPENDING", "rs", "g", "-", "+", "100")
	var ids []string
	for _, e := range pend.Elems {
		ids = append(ids, e.Elems[0].Str)
	}
	if len(ids) < 4 {
		t.Fatalf("XPENDING: %s", pend)
	}
	c.MustDo(t, "XDEL", "rs", ids[0], ids[2])
	c.MustDo(t, append([]string{"XCLAIM", "rs", "g", "e", "0"}, ids...)...)
	c.MustDo(t, "XCLAIM", "rs", "g", "f", "0", ids[1], "JUSTID", "LASTID", "99999999999999-9")
	c.MustDo(t, "XADD", "rs", "NOMKSTREAM", "*", "a", "b")
	c.MustDo(t, "CONFIG", "SET", "stream-node-max-entries", "100")
}

func TestStreamReplication(t *testing.T) {
	for _, kinds := range mixedPairs {
		t.Run(kinds[0]+"-master_"+kinds[1]+"-replica", func(t *testing.T) {
			p := startReplPair(t, kinds[0], kinds[1])
			populateStreams(t, p.mc)
			p.attach(t) // full sync carries the streams
			compareStreamStates(t, "after full sync", streamState(t, p.rc, false), streamState(t, p.mc, false))
			streamWorkload(t, p.mc)
			waitInSync(t, p.mc, p.rc)
			// Consumers created on the replica by XCLAIM see their own
			// creation time; everything else must match.
			keys := streamKeys
			streamKeys = []string{"rs", "st:a"}
			defer func() { streamKeys = keys }()
			got, want := streamState(t, p.rc, true), streamState(t, p.mc, true)
			for k := range want {
				if strings.HasSuffix(k, " full") {
					// radix-tree-keys follows each server's own
					// stream-node-max-entries, which the script changed
					// on the master only.
					re := regexp.MustCompile(`"radix-tree-keys", :\d+`)
					want[k] = re.ReplaceAllString(want[k], "")
					got[k] = re.ReplaceAllString(got[k], "")
				}
			}
			compareStreamStates(t, "replica after the stream workload", got, want)
		})
	}
}

// captureStream opens a SYNC connection to addr and returns a function
// that stops it and returns the commands received after the RDB payload
// (PING, SELECT and REPLCONF left out), one per line.
func captureStream(t *testing.T, addr string) func() []string {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte("SYNC\r\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	// Newlines keep the link alive while the payload is prepared.
	for {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		if b == '$' {
			break
		}
	}
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("SYNC payload header %q", line)
	}
	if _, err := br.Discard(n); err != nil {
		t.Fatal(err)
	}
	got := make(chan []string, 1)
	go func() {
		var cmds []string
		for {
			r, err := ReadReply(br)
			if err != nil {
				got <- cmds
				return
			}
			var parts []string
			for _, e := range r.Elems {
				parts = append(parts, e.Str)
			}
			if len(parts) == 0 {
				continue
			}
			switch strings.ToUpper(parts[0]) {
			case "PING", "SELECT", "REPLCONF":
				continue
			}
			cmds = append(cmds, strings.Join(parts, " "))
		}
	}()
	return func() []string {
		time.Sleep(300 * time.Millisecond) // let the last effects arrive
		nc.Close()
		select {
		case c := <-got:
			return c
		case <-time.After(10 * time.Second):
			t.Fatal("replication stream reader did not stop")
			return nil
		}
	}
}

// TestStreamPropagation compares, command for command, what skiff and
// redis-server put in their replication streams for the same script
// (times in XCLAIM's TIME and IDs from "*" masked; XADD * in MULTI and in a
// script included).
func TestStreamPropagation(t *testing.T) {
	script := [][]string{
		{"CONFIG", "SET", "stream-node-max-entries", "3"},
		{"XADD", "s", "1-1", "f", "1"}, {"XADD", "s", "2-1", "f", "2"}, {"XADD", "s", "3-1", "f", "3"},
		{"XADD", "s", "4-1", "f", "4"}, {"XADD", "s", "5-1", "f", "5"}, {"XADD", "s", "6-1", "f", "6"},
		{"XADD", "s", "7-1", "f", "7"}, {"XADD", "s", "8-1", "f", "8"},
		{"XADD", "s", "MAXLEN", "~", "4", "9-*", "f", "9"},
		{"XADD", "s", "10-*", "f", "10"},
		{"XTRIM", "s", "MAXLEN", "~", "2"},
		{"XTRIM", "s", "MINID", "~", "8"},
		{"XTRIM", "s", "MAXLEN", "4", "LIMIT", "1"},
		{"XADD", "s", "MINID", "=", "8-1", "LIMIT", "0", "11-1", "f", "11"},
		{"XGROUP", "CREATE", "s", "g", "0"},
		{"XREADGROUP", "GROUP", "g", "a", "COUNT", "2", "STREAMS", "s", ">"},
		{"XREADGROUP", "GROUP", "g", "b", "NOACK", "COUNT", "1", "STREAMS", "s", ">"},
		{"XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", "0"},
		{"XDEL", "s", "9-0"},
		{"XCLAIM", "s", "g", "c", "0", "8-1", "9-0", "RETRYCOUNT", "5"},
		{"XCLAIM", "s", "g", "c", "0", "1-1", "LASTID", "20-0"},
		{"XAUTOCLAIM", "s", "g", "d", "0", "0"},
		{"XACK", "s", "g", "8-1"},
		{"XGROUP", "SETID", "s", "g", "$", "ENTRIESREAD", "4"},
		{"XGROUP", "CREATECONSUMER", "s", "g", "e"},
		{"XGROUP", "DELCONSUMER", "s", "g", "e"},
		{"XGROUP", "DESTROY", "s", "g"},
		{"XSETID", "s", "30-0"},
		{"XADD", "s", "NOMKSTREAM", "*", "f", "x"},
		{"XADD", "nokey", "NOMKSTREAM", "*", "f", "x"},
		{"MULTI"},
		{"XADD", "s", "*", "in", "multi"},
		{"XADD", "s", "MAXLEN", "~", "1", "*", "in", "multi"},
		{"EXEC"},
		{"EVAL", "redis.call('xadd', KEYS[1], '*', 'in', 'script'); return redis.call('xadd', KEYS[1], 'MAXLEN', '~', '1', '*', 'x', 'y')", "1", "s"},
		{"XADD", "s", "*", "after", "script"},
		{"CONFIG", "SET", "stream-node-max-entries", "100"},
	}
	run := func(srv *Server) []string {
		stop := captureStream(t, srv.Addr())
		c := srv.Dial(t)
		for _, argv := range script {
			c.MustDo(t, argv...)
		}
		return stop()
	}
	// Times, and IDs made of the time (their sequence depends on
	// whether the clock moved between two commands).
	ms := regexp.MustCompile(`\b1[0-9]{12}(-[0-9]+)?\b`)
	norm := func(cmds []string) string {
		return ms.ReplaceAllString(strings.Join(cmds, "\n"), "T")
	}
	want := norm(run(StartRedis(t)))
	got := norm(run(StartSkiff(t)))
	if got != want {
		t.Fatalf("replication stream differs\nskiff:\n%s\nredis:\n%s", got, want)
	}
	if !strings.Contains(want, "XCLAIM") {
		t.Fatalf("the script propagated no XCLAIM: %s", want)
	}
}

// TestStreamRDBFiles: skiff starts on redis-server's RDB file holding
// streams, and redis-server on skiff's.
func TestStreamRDBFiles(t *testing.T) {
	rs := StartRedis(t)
	c := rs.Dial(t)
	populateStreams(t, c)
	want := streamState(t, c, false)
	c.Close()
	sk := StartSkiff(t, "--dir", copyToDir(t, mustSave(t, rs)))
	compareStreamStates(t, "redis RDB file loaded by skiff", streamState(t, sk.Dial(t), false), want)

	// skiff runs in the directory it was given, not the harness's.
	skc := sk.Dial(t)
	if r := skc.MustDo(t, "SAVE"); r.Str != "OK" {
		t.Fatalf("skiff SAVE: %s", r)
	}
	dir := skc.MustDo(t, "CONFIG", "GET", "dir").Elems[1].Str
	rs2 := StartRedis(t, "--dir", copyToDir(t, dir+"/dump.rdb"))
	compareStreamStates(t, "skiff RDB file loaded by redis-server", streamState(t, rs2.Dial(t), false), want)
}
