package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestOutputLimitNormalHard: with a hard limit for normal clients, a
// reply (or a pipeline's replies) that reaches it closes the client
// without sending any of it, and the commands after it in the pipeline
// are not run; a transaction runs whole first. HRANDFIELD with a huge
// negative count stops early instead of building gigabytes.
func TestOutputLimitNormalHard(t *testing.T) {
	s := startTestServer(t)
	admin := dialRaw(t, s)
	if got := admin.do(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 100000 0 0"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET: %q", got)
	}
	admin.do(t, "SET", "big", strings.Repeat("x", 10000))

	// A pipeline: 15 GETs of 10 KB, then a SET that must not run.
	c := dialRaw(t, s)
	var b strings.Builder
	for i := 0; i < 15; i++ {
		b.WriteString("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
	}
	b.WriteString("*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$1\r\n1\r\n")
	if _, err := c.nc.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.br.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the client over the limit was sent %d bytes", n)
	}
	if got := admin.do(t, "EXISTS", "after"); got != ":0\r\n" {
		t.Fatalf("the command after the limit ran: EXISTS %q", got)
	}

	// A transaction runs whole, then the client is closed.
	c = dialRaw(t, s)
	c.do(t, "MULTI")
	c.do(t, "SET", "k2", "v2")
	for i := 0; i < 12; i++ {
		c.do(t, "GET", "big")
	}
	c.do(t, "SET", "k3", "v3")
	c.send(t, "EXEC")
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.br.Read(make([]byte, 1)); err == nil {
		t.Fatalf("EXEC's reply over the limit was sent (%d bytes)", n)
	}
	if got := admin.do(t, "MGET", "k2", "k3"); got != "*2\r\n$2\r\nv2\r\n$2\r\nv3\r\n" {
		t.Fatalf("transaction effects: %q", got)
	}

	// HRANDFIELD with a huge count stops as soon as it is over.
	admin.do(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 1000000 0 0")
	admin.do(t, "HSET", "h", "a", "b")
	c = dialRaw(t, s)
	start := time.Now()
	c.send(t, "HRANDFIELD", "h", "-999999999")
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.br.Read(make([]byte, 1)); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("HRANDFIELD -999999999: err %v after %v", err, time.Since(start))
	}
	// Without a limit the same client class gets its (normal) replies.
	admin.do(t, "CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
	c = dialRaw(t, s)
	if got := c.do(t, "HRANDFIELD", "h", "-3"); !strings.HasPrefix(got, "*3\r\n") {
		t.Fatalf("HRANDFIELD -3: %q", got)
	}
	if got := c.do(t, "STRLEN", "big"); got != ":"+strconv.Itoa(10000)+"\r\n" {
		t.Fatalf("STRLEN: %q", got)
	}
}
