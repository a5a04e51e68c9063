package node

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLatencyMonitor(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	// Off by default: nothing is sampled.
	expect(t, c, "+OK\r\n", "DEBUG", "SLEEP", "0.03")
	expect(t, c, "*0\r\n", "LATENCY", "LATEST")
	if got := do(t, c, "LATENCY", "DOCTOR"); !strings.Contains(got, "Latency monitoring is disabled") {
		t.Fatalf("doctor with the monitor off: %q", got)
	}
	// On a loaded machine other commands may pass 20 ms too: only the
	// DEBUG SLEEP's sample is checked.
	expect(t, c, "+OK\r\n", "CONFIG", "SET", "latency-monitor-threshold", "20")
	expect(t, c, "+OK\r\n", "DEBUG", "SLEEP", "0.03")
	latest := do(t, c, "LATENCY", "LATEST")
	m := regexp.MustCompile(`\*4\r\n\$7\r\ncommand\r\n:\d+\r\n:(\d+)\r\n:(\d+)\r\n`).FindStringSubmatch(latest)
	if m == nil {
		t.Fatalf("LATEST %q", latest)
	}
	if ms, _ := strconv.Atoi(m[1]); ms < 30 {
		t.Fatalf("LATEST: command at %d ms after a 30 ms sleep", ms)
	}
	if got := do(t, c, "LATENCY", "HISTORY", "command"); !strings.HasPrefix(got, "*1\r\n*2\r\n:") && !strings.HasPrefix(got, "*2\r\n*2\r\n:") {
		t.Fatalf("HISTORY %q", got)
	}
	expect(t, c, "*0\r\n", "LATENCY", "HISTORY", "nope")
	if got := do(t, c, "LATENCY", "GRAPH", "command"); !strings.HasPrefix(got, "$") || !strings.Contains(got, "command - high ") || !strings.Contains(got, strings.Repeat("-", 80)) {
		t.Fatalf("GRAPH %q", got)
	}
	expect(t, c, "-ERR No samples available for event 'nope'\r\n", "LATENCY", "GRAPH", "nope")
	if got := do(t, c, "LATENCY", "DOCTOR"); !regexp.MustCompile(`\d\. command: \d+ latency spikes`).MatchString(got) {
		t.Fatalf("DOCTOR %q", got)
	}
	expect(t, c, ":0\r\n", "LATENCY", "RESET", "nope")
	if got := do(t, c, "LATENCY", "RESET"); got == ":0\r\n" || !strings.HasPrefix(got, ":") {
		t.Fatalf("RESET %q", got)
	}
	expect(t, c, "+OK\r\n", "CONFIG", "SET", "latency-monitor-threshold", "0")
	expect(t, c, "*0\r\n", "LATENCY", "LATEST")
}

func TestLatencyHistogram(t *testing.T) {
	s := extTestServer(t)
	c := dialRaw(t, s)
	expect(t, c, "+OK\r\n", "CONFIG", "RESETSTAT")
	expect(t, c, "+OK\r\n", "SET", "a", "b")
	expect(t, c, "+OK\r\n", "SET", "a", "b")
	do(t, c, "CLIENT", "ID")
	// RESP2: a flat array; the parent command stands for its subcommands;
	// unknown names are skipped.
	got := do(t, c, "LATENCY", "HISTOGRAM", "set", "nope", "CLIENT")
	re := regexp.MustCompile(`^\*4\r\n\$3\r\nset\r\n\*4\r\n\$5\r\ncalls\r\n:2\r\n\$14\r\nhistogram_usec\r\n\*(\d+)\r\n(?::\d+\r\n)+\$9\r\nclient\|id\r\n\*4\r\n\$5\r\ncalls\r\n:1\r\n`)
	if !re.MatchString(got) {
		t.Fatalf("RESP2 HISTOGRAM %q", got)
	}
	do(t, c, "HELLO", "3")
	got = do(t, c, "LATENCY", "HISTOGRAM", "client|id")
	re = regexp.MustCompile(`^%1\r\n\$9\r\nclient\|id\r\n%2\r\n\$5\r\ncalls\r\n:1\r\n\$14\r\nhistogram_usec\r\n%1\r\n:\d+\r\n:1\r\n$`)
	if !re.MatchString(got) {
		t.Fatalf("RESP3 HISTOGRAM %q", got)
	}
	expect(t, c, "%0\r\n", "LATENCY", "HISTOGRAM", "nope")
}

// The bucket bounds are those of Redis's logarithmic HDR iteration: the
// highest value of the bucket of each power of two from 1024 ns, in µs.
func TestLatencyCDFBounds(t *testing.T) {
	st := &CmdStat{}
	for _, ns := range []int64{500, 1500, 40_000, 40_000, 17_000_000} {
		st.recordLatency(time.Duration(ns))
	}
	c := &Client{}
	writeLatencyCDF(c, st.Latency)
	want := "*4\r\n$5\r\ncalls\r\n:5\r\n$14\r\nhistogram_usec\r\n*8\r\n:1\r\n:1\r\n:2\r\n:2\r\n:66\r\n:4\r\n:33816\r\n:5\r\n"
	if got := string(c.w.B); got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// A blocked command enters the latency histogram when it is served, one
// still blocked is not there yet; as in Redis, its time is what it took to
// run before it blocked plus to serve it, not the time it waited.
func TestLatencyHistogramBlockedCommand(t *testing.T) {
	s := extTestServer(t)
	c, b := dialRaw(t, s), dialRaw(t, s)
	b.send(t, "BLPOP", "l", "0")
	waitUntil(t, "BLPOP to block", 5*time.Second, func() bool {
		return strings.Contains(do(t, c, "INFO", "clients"), "blocked_clients:1")
	})
	expect(t, c, "*0\r\n", "LATENCY", "HISTOGRAM", "blpop")
	time.Sleep(20 * time.Millisecond) // waiting time, which must not count
	expect(t, c, ":1\r\n", "LPUSH", "l", "x")
	b.readReply(t, 5*time.Second)
	got := do(t, c, "LATENCY", "HISTOGRAM", "blpop")
	m := regexp.MustCompile(`calls\r\n:1\r\n\$14\r\nhistogram_usec\r\n\*2\r\n:(\d+)\r\n:1\r\n$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("HISTOGRAM blpop %q", got)
	}
	if us, _ := strconv.Atoi(m[1]); us >= 16000 {
		t.Fatalf("BLPOP recorded as %d µs: its wait was counted", us)
	}
}
