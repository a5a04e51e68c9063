package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClientEviction: with maxmemory-clients, a client whose query
// buffer grows past the limit is closed; lowering the limit closes the
// largest clients first until the total fits, sparing CLIENT NO-EVICT
// ones; INFO counts the evictions.
func TestClientEviction(t *testing.T) {
	s := startTestServer(t)
	admin := dialRaw(t, s)
	admin.do(t, "CLIENT", "NO-EVICT", "on")
	if got := admin.do(t, "CONFIG", "SET", "maxmemory-clients", "1mb"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET: %q", got)
	}
	// An unfinished 2 MB argument.
	big := dialRaw(t, s)
	big.do(t, "CLIENT", "SETNAME", "big")
	if _, err := big.nc.Write([]byte("*1\r\n$2000000\r\n" + strings.Repeat("v", 1500000))); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, big)
	if strings.Contains(admin.do(t, "CLIENT", "LIST"), "name=big") {
		t.Fatalf("the client over maxmemory-clients is still listed")
	}
	// A whole command over the limit is refused before it runs.
	big = dialRaw(t, s)
	big.send(t, "SET", "huge", strings.Repeat("v", 1500000))
	waitClosed(t, big)
	if got := admin.do(t, "EXISTS", "huge"); got != ":0\r\n" {
		t.Fatalf("the command of the evicted client ran: EXISTS %q", got)
	}

	// Three clients holding about 100 KB, 400 KB and 1.6 MB of query
	// buffer, and a no-evict one holding 1.6 MB.
	admin.do(t, "CONFIG", "SET", "maxmemory-clients", "0")
	sizes := map[string]int{"c300": 100000, "c600": 400000, "c900": 1600000, "keep": 1600000}
	conns := map[string]*rawConn{}
	for name, n := range sizes {
		c := dialRaw(t, s)
		c.do(t, "CLIENT", "SETNAME", name)
		if name == "keep" {
			c.do(t, "CLIENT", "NO-EVICT", "on")
		}
		if _, err := c.nc.Write([]byte("*2\r\n$" + strconv.Itoa(n+100) + "\r\n" + strings.Repeat("v", n))); err != nil {
			t.Fatal(err)
		}
		conns[name] = c
	}
	field := func(name, key string) int64 {
		for _, l := range strings.Split(admin.do(t, "CLIENT", "LIST"), "\n") {
			if strings.Contains(l, "name="+name+" ") {
				for _, f := range strings.Fields(l) {
					if v, ok := strings.CutPrefix(f, key+"="); ok {
						n, _ := strconv.ParseInt(v, 10, 64)
						return n
					}
				}
			}
		}
		return 0
	}
	mem := func(name string) int64 { return field(name, "tot-mem") }
	waitUntil(t, "buffers filled", 5*time.Second, func() bool {
		for name, n := range sizes {
			if field(name, "qbuf") < int64(n) {
				return false
			}
		}
		return true
	})
	// Room for everything but the 900 KB evictable client.
	var total int64
	for _, l := range strings.Split(strings.TrimSpace(admin.do(t, "CLIENT", "LIST")), "\n") {
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "tot-mem="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				total += n
			}
		}
	}
	// (slack for the admin connection, whose own figures move a little)
	limit := total - mem("c900") + 16<<10
	admin.do(t, "CONFIG", "SET", "maxmemory-clients", strconv.FormatInt(limit, 10))
	list := admin.do(t, "CLIENT", "LIST")
	for name, want := range map[string]bool{"c300": true, "c600": true, "c900": false, "keep": true} {
		if got := strings.Contains(list, "name="+name+" "); got != want {
			t.Fatalf("after lowering the limit, %s listed: %v, want %v\n%s", name, got, want, list)
		}
	}
	if got := infoFields(admin.do(t, "INFO", "stats"))["evicted_clients"]; got != "3" {
		t.Fatalf("evicted_clients %s, want 3", got)
	}
}

// TestClientEvictionState: a client's MULTI queue and watched keys count
// in its memory, as in Redis.
func TestClientEvictionState(t *testing.T) {
	s := startTestServer(t)
	admin := dialRaw(t, s)
	admin.do(t, "CLIENT", "NO-EVICT", "on")
	admin.do(t, "CONFIG", "SET", "maxmemory-clients", "2mb")
	c := dialRaw(t, s)
	c.do(t, "MULTI")
	val := strings.Repeat("v", 500000)
	for i := 0; i < 6; i++ {
		c.send(t, "SET", "k", val)
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.br.ReadString('\n'); err != nil {
			break // evicted
		}
	}
	waitClosed(t, c)

	admin.do(t, "CONFIG", "SET", "maxmemory-clients", "200kb")
	c = dialRaw(t, s)
	for i := 0; ; i++ {
		if i == 20000 {
			t.Fatalf("20000 watched keys and still connected")
		}
		c.send(t, "WATCH", "key:"+strconv.Itoa(i))
		c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.br.ReadString('\n'); err != nil {
			break
		}
	}
}
