package integration

// Output buffers of normal clients, on skiff and redis-server side by
// side: a client that pipelines GETs of a 10 KB value without reading
// its replies. The server must go on reading and running its commands
// (its replies wait in the server's memory, CLIENT LIST's omem grows,
// INFO's mem_clients_normal with it) while it keeps serving another
// client, and client-output-buffer-limit normal must close it once its
// pending replies pass the hard limit, logging Redis's line. A second
// case reads back 20 MB of pipelined replies in order, after which the
// client is served as before with nothing pending.

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clientField is field f of the CLIENT LIST line of the client named
// name, or "" when there is none.
func clientField(t *testing.T, c *Conn, name, f string) string {
	t.Helper()
	r := c.MustDo(t, "CLIENT", "LIST")
	for _, line := range strings.Split(r.Str, "\n") {
		if !strings.Contains(line, " name="+name+" ") {
			continue
		}
		m := regexp.MustCompile(` ` + regexp.QuoteMeta(f) + `=(\S*)`).FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("CLIENT LIST line has no %s: %s", f, line)
		}
		return m[1]
	}
	return ""
}

// obufRun is what one server showed in TestOutputBufferPipelinedGets.
type obufRun struct {
	sent       int     // GETs written before the server closed the client
	maxOmem    int64   // the largest omem CLIENT LIST showed
	samples    []int64 // omem after each batch, while the client was listed
	maxMemNorm int64   // the largest mem_clients_normal seen meanwhile
	maxPing    time.Duration
}

func TestOutputBufferPipelinedGets(t *testing.T) {
	const (
		total     = 100000
		batch     = 500
		valueSize = 10 * 1024
		hardLimit = 48 << 20
	)
	value := strings.Repeat("v", valueSize)
	runs := map[string]obufRun{}
	for _, kind := range []string{"redis", "skiff"} {
		t.Run(kind, func(t *testing.T) {
			srv := startServer(t, kind, nil)
			ctl := srv.Dial(t)
			ctl.MustDo(t, "SET", "k", value)
			ctl.MustDo(t, "CONFIG", "SET", "client-output-buffer-limit", fmt.Sprintf("normal %d 0 0", hardLimit))

			pipe := srv.Dial(t)
			// A small receive buffer: the kernel's autotuning (up to
			// tcp_rmem's maximum, 32 MB here) would otherwise take a
			// varying share of the replies before any waits on the
			// server.
			if tc, ok := pipe.nc.(*net.TCPConn); ok {
				tc.SetReadBuffer(64 << 10)
			}
			if r := pipe.MustDo(t, "CLIENT", "SETNAME", "piper"); r.Str != "OK" {
				t.Fatalf("CLIENT SETNAME: %+v", r)
			}
			var gets []byte
			for i := 0; i < batch; i++ {
				gets = EncodeCommand(gets, "GET", "k")
			}
			var run obufRun
			deadline := time.Now().Add(120 * time.Second)
			closed := false
			for run.sent < total && time.Now().Before(deadline) {
				if err := pipe.WriteRaw(gets); err != nil {
					closed = true // the server closed it: the write fails
					break
				}
				run.sent += batch
				// Another client is served meanwhile.
				start := time.Now()
				if r := ctl.MustDo(t, "PING"); r.Str != "PONG" {
					t.Fatalf("PING: %+v", r)
				}
				run.maxPing = max(run.maxPing, time.Since(start))
				// The server reads the batch and queues its replies;
				// wait until it has run every GET sent so far (INFO
				// commandstats: only this client sends GET) or the
				// client is gone. An empty qbuf is no such sign: it is
				// also empty before the server has read the batch, and
				// a server that then reads several batches at once
				// passes the limit between two samples.
				var omem string
				for time.Now().Before(deadline) {
					if omem = clientField(t, ctl, "piper", "omem"); omem == "" || getCalls(t, ctl) >= int64(run.sent) {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				if omem == "" {
					closed = true
					break
				}
				n, _ := strconv.ParseInt(omem, 10, 64)
				run.samples = append(run.samples, n)
				run.maxOmem = max(run.maxOmem, n)
				run.maxMemNorm = max(run.maxMemNorm, infoInt(t, ctl, "memory", "mem_clients_normal"))
			}
			if !closed {
				// The last batch may be the one that passed the limit:
				// poll for the close.
				for time.Now().Before(deadline) && clientField(t, ctl, "piper", "name") != "" {
					time.Sleep(10 * time.Millisecond)
				}
				closed = clientField(t, ctl, "piper", "name") == ""
			}
			runs[kind] = run
			t.Logf("%s: %d GETs sent before the close, omem up to %d (%d samples), mem_clients_normal up to %d, slowest PING meanwhile %v",
				kind, run.sent, run.maxOmem, len(run.samples), run.maxMemNorm, run.maxPing)
			if !closed {
				t.Fatalf("piper not closed after %d GETs (%d MB of replies; limit %d MB); omem samples %v",
					run.sent, run.sent*valueSize>>20, hardLimit>>20, run.samples)
			}
			if run.sent >= total {
				t.Fatalf("all %d GETs were taken before the close", total)
			}
			// omem grew while the client did not read, past a few MB
			// (the kernel's socket buffers take the first replies).
			grew := false
			for i := 1; i < len(run.samples); i++ {
				if run.samples[i] > run.samples[i-1] && run.samples[i] >= 4<<20 {
					grew = true
				}
			}
			if !grew {
				t.Fatalf("omem never grew past 4 MB: %v", run.samples)
			}
			if run.maxOmem >= hardLimit {
				t.Fatalf("omem %d seen at or over the hard limit %d", run.maxOmem, hardLimit)
			}
			// Redis updates mem_clients_normal in its cron, client by
			// client, so it lags; skiff's INFO recounts every client.
			if kind == "skiff" && run.maxMemNorm < run.maxOmem {
				t.Fatalf("mem_clients_normal up to %d, below omem %d", run.maxMemNorm, run.maxOmem)
			}
			if run.maxPing > 5*time.Second {
				t.Fatalf("PING took %v while the client's replies were pending", run.maxPing)
			}
			// Redis's log line, on both.
			want := "scheduled to be closed ASAP for overcoming of output buffer limits."
			waitLogLine(t, srv, "name=piper", want)
			// The pending replies went with the client.
			pollUntil(t, "mem_clients_normal back under 1 MB", 20*time.Second, 50*time.Millisecond, func() (bool, string) {
				n := infoInt(t, ctl, "memory", "mem_clients_normal")
				return n < 1<<20, fmt.Sprintf("mem_clients_normal %d", n)
			})
		})
	}
	if r, s := runs["redis"], runs["skiff"]; r.sent > 0 && s.sent > 0 {
		t.Logf("GETs taken before the close: redis %d, skiff %d; largest omem seen: redis %d, skiff %d",
			r.sent, s.sent, r.maxOmem, s.maxOmem)
	}
}

// waitLogLine waits until a line of srv's log holds both parts.
func waitLogLine(t *testing.T, srv *Server, part1, part2 string) {
	t.Helper()
	pollUntil(t, "log line "+part2, 10*time.Second, 20*time.Millisecond, func() (bool, string) {
		for _, line := range strings.Split(srv.LogTail(1<<20), "\n") {
			if strings.Contains(line, part1) && strings.Contains(line, part2) {
				return true, ""
			}
		}
		return false, "not in the log yet"
	})
}

// TestOutputBufferDrainsInOrder pipelines 2000 GETs of distinct 10 KB
// values before reading any reply: all come back in order, and the
// client is then served with nothing left pending.
func TestOutputBufferDrainsInOrder(t *testing.T) {
	const n = 2000
	for _, kind := range []string{"redis", "skiff"} {
		t.Run(kind, func(t *testing.T) {
			srv := startServer(t, kind, nil)
			ctl := srv.Dial(t)
			var set []byte
			for i := 0; i < 100; i++ {
				set = EncodeCommand(set, "SET", "k"+strconv.Itoa(i), strings.Repeat(strconv.Itoa(i%10), 10*1024))
			}
			if err := ctl.WriteRaw(set); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 100; i++ {
				if r, err := ctl.Read(); err != nil || r.Str != "OK" {
					t.Fatalf("SET %d: %+v %v", i, r, err)
				}
			}
			c := srv.Dial(t)
			c.MustDo(t, "CLIENT", "SETNAME", "drainer")
			var gets []byte
			for i := 0; i < n; i++ {
				gets = EncodeCommand(gets, "GET", "k"+strconv.Itoa(i%100))
			}
			if err := c.WriteRaw(gets); err != nil {
				t.Fatal(err)
			}
			// The server takes all of them without our reading: its
			// replies wait on its side.
			var omem int64
			pollUntil(t, "the pipeline read and its replies pending", 30*time.Second, 10*time.Millisecond, func() (bool, string) {
				q := clientField(t, ctl, "drainer", "qbuf")
				omem, _ = strconv.ParseInt(clientField(t, ctl, "drainer", "omem"), 10, 64)
				return q == "0" && omem >= 1<<20, fmt.Sprintf("qbuf=%s omem=%d", q, omem)
			})
			t.Logf("%s: omem %d with %d replies of 10 KB unread", kind, omem, n)
			for i := 0; i < n; i++ {
				r, err := c.Read()
				if err != nil {
					t.Fatalf("reply %d: %v", i, err)
				}
				want := strconv.Itoa(i % 100 % 10)
				if len(r.Str) != 10*1024 || !bytes.Equal([]byte(r.Str[:1]), []byte(want)) {
					t.Fatalf("reply %d: %d bytes starting %q, want 10240 of %q", i, len(r.Str), r.Str[:min(len(r.Str), 1)], want)
				}
			}
			if r := c.MustDo(t, "PING"); r.Str != "PONG" {
				t.Fatalf("PING after the drain: %+v", r)
			}
			if o := clientField(t, ctl, "drainer", "omem"); o != "0" {
				t.Fatalf("omem %s after the drain", o)
			}
		})
	}
}

// getCalls is INFO commandstats' count of GET calls.
func getCalls(t testing.TB, c *Conn) int64 {
	t.Helper()
	v := infoField(t, c, "commandstats", "cmdstat_get")
	calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
	n, _ := strconv.ParseInt(calls, 10, 64)
	return n
}
