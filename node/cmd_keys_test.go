package node

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// keysEnv runs commands in-process: a Server that is not listening and
// clients whose replies are read back from their reply buffer. Running
// through Server.call keeps dispatch, arity checks and stats in the path.
type keysEnv struct {
	t *testing.T
	s *Server
}

func newKeysEnv(t *testing.T, opts ...string) *keysEnv {
	t.Helper()
	return &keysEnv{t: t, s: newTestServer(t, opts...)}
}

func (e *keysEnv) client() *Client {
	c := &Client{srv: e.s, db: e.s.store.DBs[0], authed: true}
	c.w.Proto = 2
	return c
}

// do runs one command for c and returns its reply rendered by keysRender.
func (e *keysEnv) do(c *Client, args ...string) string {
	e.t.Helper()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	e.s.mu.Lock()
	c.w.B = c.w.B[:0]
	// The connection loop reads the clocks once per batch of commands.
	c.batchWall, c.batchMono = time.Now(), monoNow()
	e.s.call(c, argv)
	out := append([]byte(nil), c.w.B...)
	e.s.mu.Unlock()
	r, err := keysRender(bufio.NewReader(bytes.NewReader(out)))
	if err != nil {
		e.t.Fatalf("%v: unreadable reply %q: %v", args, out, err)
	}
	return r
}

// keysRender renders one RESP reply compactly: +OK, :1, $foo, $nil,
// *[a b], -ERR ...
func keysRender(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply line")
	}
	switch line[0] {
	case '+', '-', ':':
		return line, nil
	case '_':
		return "$nil", nil
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", err
		}
		if n < 0 {
			return "$nil", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return "$" + string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return "", err
		}
		parts := make([]string, 0, n)
		for i := 0; i < n; i++ {
			p, err := keysRender(br)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return "*[" + strings.Join(parts, " ") + "]", nil
	}
	return "", fmt.Errorf("unknown reply type %q", line)
}

func (e *keysEnv) expect(c *Client, want string, args ...string) {
	e.t.Helper()
	if got := e.do(c, args...); got != want {
		e.t.Fatalf("%v = %s, want %s", args, got, want)
	}
}

func propagated(c *Client) string {
	var parts []string
	for _, a := range c.propagateArgv {
		parts = append(parts, string(a))
	}
	return strings.Join(parts, " ")
}

func TestDelExistsCountRepeatsAndExpired(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	e.expect(c, "+OK", "SET", "a", "1")
	e.expect(c, "+OK", "SET", "b", "1")
	e.expect(c, ":3", "EXISTS", "a", "a", "b", "nokey")
	e.expect(c, ":1", "DEL", "a", "a", "nokey")
	e.expect(c, ":1", "UNLINK", "b")
	e.expect(c, ":0", "EXISTS", "a", "b")

	// A key whose TTL has passed is reclaimed by DEL but not counted.
	e.expect(c, "+OK", "SET", "old", "v")
	e.s.mu.Lock()
	c.db.SetExpire(c.db.Peek([]byte("old")), time.Now().UnixMilli()-10)
	before := e.s.stats.ExpiredKeys
	e.s.mu.Unlock()
	e.expect(c, ":0", "DEL", "old")
	if got := e.s.stats.ExpiredKeys - before; got != 1 {
		t.Fatalf("expired_keys grew by %d, want 1", got)
	}
	if e.s.store.DBs[0].Len() != 0 {
		t.Fatal("expired key left in the keyspace")
	}
}

func TestTypeExistsTTLDoNotTouchButCountStats(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	e.expect(c, "+OK", "SET", "k", "v")
	e.s.mu.Lock()
	ent := c.db.Peek([]byte("k"))
	ent.Val.LRU = 5 // long ago
	hits, misses := e.s.stats.KeyspaceHits, e.s.stats.KeyspaceMisses
	e.s.mu.Unlock()
	e.expect(c, "+string", "TYPE", "k")
	e.expect(c, ":1", "EXISTS", "k")
	e.expect(c, ":-1", "TTL", "k")
	e.expect(c, "$embstr", "OBJECT", "ENCODING", "k")
	e.expect(c, "+none", "TYPE", "missing")
	if ent.Val.LRU != 5 {
		t.Fatal("TYPE/EXISTS/TTL/OBJECT changed the access time")
	}
	if h, m := e.s.stats.KeyspaceHits-hits, e.s.stats.KeyspaceMisses-misses; h != 4 || m != 1 {
		t.Fatalf("hits +%d misses +%d, want +4 +1", h, m)
	}
	e.expect(c, ":1", "TOUCH", "k", "missing")
	if ent.Val.LRU == 5 {
		t.Fatal("TOUCH did not update the access time")
	}
	if idle := e.do(c, "OBJECT", "IDLETIME", "k"); idle != ":0" {
		t.Fatalf("idle time after TOUCH: %s", idle)
	}
}

func TestNewKeyTakesTheCurrentAccessClock(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	if e.s.store.NewLRU == nil {
		t.Fatal("the server does not give new keys an access time")
	}
	// A fixed clock makes the check independent of how long the test
	// process has run (LRU 0 would read as idle since process start).
	e.s.store.NewLRU = func() uint32 { return 12345 }
	e.expect(c, "+OK", "SET", "k", "v")
	if lru := e.s.store.DBs[0].Peek([]byte("k")).Val.LRU; lru != 12345 {
		t.Fatalf("new key has LRU %d, want the clock's 12345", lru)
	}
}

func TestExpirePropagation(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	e.expect(c, "+OK", "SET", "k", "v")
	before := time.Now().UnixMilli()
	e.expect(c, ":1", "EXPIRE", "k", "100", "NX")
	p := strings.Fields(propagated(c))
	if len(p) != 4 || p[0] != "PEXPIREAT" || p[1] != "k" || p[3] != "NX" {
		t.Fatalf("EXPIRE propagated as %q", propagated(c))
	}
	at, _ := strconv.ParseInt(p[2], 10, 64)
	if at < before+100000 || at > time.Now().UnixMilli()+100000 {
		t.Fatalf("propagated time %d is not now+100s", at)
	}
	e.expect(c, ":"+p[2], "PEXPIRETIME", "k")

	e.expect(c, ":1", "PEXPIREAT", "k", "99999999999999")
	if propagated(c) != "PEXPIREAT k 99999999999999" {
		t.Fatalf("PEXPIREAT propagated as %q", propagated(c))
	}
	// Past times delete and propagate DEL (UNLINK under lazyfree-lazy-expire).
	e.expect(c, ":1", "EXPIRE", "k", "-1")
	if propagated(c) != "DEL k" {
		t.Fatalf("expire in the past propagated as %q", propagated(c))
	}
	e.expect(c, ":0", "EXISTS", "k")
	if err := e.s.cfg.SetPairs([]string{"lazyfree-lazy-expire", "yes"}); err != nil {
		t.Fatal(err)
	}
	e.expect(c, "+OK", "SET", "k", "v")
	e.expect(c, ":1", "PEXPIREAT", "k", "1")
	if propagated(c) != "UNLINK k" {
		t.Fatalf("expire in the past with lazyfree propagated as %q", propagated(c))
	}
}

func TestExpireConditions(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	e.expect(c, "+OK", "SET", "k", "v")
	e.expect(c, ":0", "EXPIRE", "k", "100", "XX")
	e.expect(c, ":0", "EXPIRE", "k", "100", "GT") // no TTL counts as infinite
	e.expect(c, ":1", "EXPIRE", "k", "100", "LT")
	e.expect(c, ":0", "EXPIRE", "k", "100", "NX")
	e.expect(c, ":1", "EXPIRE", "k", "200", "GT")
	e.expect(c, ":0", "EXPIRE", "k", "300", "LT")
	e.expect(c, ":200", "TTL", "k")
	e.expect(c, "-ERR NX and XX, GT or LT options at the same time are not compatible", "EXPIRE", "k", "1", "NX", "LT")
	e.expect(c, "-ERR GT and LT options at the same time are not compatible", "EXPIRE", "k", "1", "GT", "LT")
	e.expect(c, "-ERR Unsupported option bad", "EXPIRE", "k", "x", "bad")
	e.expect(c, "-ERR invalid expire time in 'expire' command", "EXPIRE", "k", "9223372036854775807")
	e.expect(c, "-ERR invalid expire time in 'pexpire' command", "PEXPIRE", "k", "9223372036854775807")
	e.expect(c, ":1", "PERSIST", "k")
	e.expect(c, ":0", "PERSIST", "k")
	e.expect(c, ":-1", "TTL", "k")
	e.expect(c, ":-2", "TTL", "nokey")
	e.expect(c, ":-2", "PEXPIRETIME", "nokey")
	if e.s.store.DBs[0].Expires() != 0 {
		t.Fatal("PERSIST left the key in the volatile index")
	}
}

func TestRenameMoveCopyKeepTTLAndDatabases(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	e.expect(c, "+OK", "SET", "a", "v")
	e.expect(c, ":1", "PEXPIREAT", "a", "99999999999999")
	e.expect(c, "+OK", "SET", "b", "old")
	e.expect(c, ":1", "EXPIRE", "b", "1000")
	e.expect(c, "+OK", "RENAME", "a", "b")
	e.expect(c, ":99999999999999", "PEXPIRETIME", "b")
	e.expect(c, "-ERR no such key", "RENAME", "a", "b")
	e.expect(c, "-ERR no such key", "RENAMENX", "a", "a")
	e.expect(c, ":0", "RENAMENX", "b", "b")
	e.expect(c, "+OK", "RENAME", "b", "b")

	e.expect(c, ":1", "COPY", "b", "c", "DB", "3")
	e.expect(c, ":0", "COPY", "b", "c", "DB", "3")
	e.expect(c, "-ERR source and destination objects are the same", "COPY", "b", "b")
	e.expect(c, "-ERR DB index is out of range", "COPY", "b", "c", "DB", "16")
	e.expect(c, ":1", "MOVE", "b", "3")
	e.expect(c, ":0", "EXISTS", "b")
	e.expect(c, "-ERR source and destination objects are the same", "MOVE", "b", "0")
	e.expect(c, "-ERR value is out of range, value must between -2147483648 and 2147483647", "MOVE", "b", "2147483648")

	c3 := e.client()
	e.expect(c3, "+OK", "SELECT", "3")
	e.expect(c3, "$v", "GET", "b")
	e.expect(c3, ":99999999999999", "PEXPIRETIME", "b")
	e.expect(c3, ":99999999999999", "PEXPIRETIME", "c")
	if e.s.store.DBs[3].Expires() != 2 || e.s.store.DBs[0].Expires() != 0 {
		t.Fatalf("volatile counts db3 %d db0 %d, want 2 and 0", e.s.store.DBs[3].Expires(), e.s.store.DBs[0].Expires())
	}
	// The copy is independent of its source.
	e.expect(c3, "+OK", "SET", "c", "changed")
	e.expect(c3, "$v", "GET", "b")

	// SWAPDB moves the data under clients that stay in their database.
	e.expect(c, "+OK", "SWAPDB", "0", "3")
	e.expect(c, "$v", "GET", "b")
	e.expect(c3, ":0", "DBSIZE")
	e.expect(c, "-ERR invalid first DB index", "SWAPDB", "x", "0")
	e.expect(c, "-ERR invalid second DB index", "SWAPDB", "0", "99999999999")
	e.expect(c, "-ERR DB index is out of range", "SWAPDB", "0", "16")
}

func TestFlushAndDirty(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	c1 := e.client()
	e.expect(c1, "+OK", "SELECT", "1")
	e.expect(c, "+OK", "SET", "a", "1")
	e.expect(c1, "+OK", "SET", "b", "1")
	e.expect(c1, "+OK", "SET", "c", "1")
	d := e.s.dirty
	e.expect(c, "-ERR syntax error", "FLUSHDB", "now")
	e.expect(c, "+OK", "FLUSHDB", "ASYNC")
	e.expect(c1, ":2", "DBSIZE")
	if e.s.dirty-d != 1 {
		t.Fatalf("FLUSHDB of 1 key added %d to dirty", e.s.dirty-d)
	}
	e.expect(c, "+OK", "FLUSHALL", "SYNC")
	e.expect(c1, ":0", "DBSIZE")
	if e.s.dirty-d != 3 {
		t.Fatalf("flushing 3 keys added %d to dirty", e.s.dirty-d)
	}
}

func TestKeysSkipsExpiredWithoutReclaiming(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	for _, k := range []string{"one", "two", "three"} {
		e.expect(c, "+OK", "SET", k, "v")
	}
	e.s.mu.Lock()
	c.db.SetExpire(c.db.Peek([]byte("two")), 1)
	e.s.mu.Unlock()
	got := e.do(c, "KEYS", "*")
	if got != "*[$one $three]" && got != "*[$three $one]" {
		t.Fatalf("KEYS * = %s", got)
	}
	e.expect(c, "*[$three]", "KEYS", "t*")
	if c.db.Len() != 3 {
		t.Fatal("KEYS reclaimed an expired key")
	}
}

// scanAll runs a full SCAN iteration, calling between after each call.
func scanAll(t *testing.T, e *keysEnv, c *Client, extra []string, between func(step int)) map[string]int {
	t.Helper()
	seen := map[string]int{}
	cursor := "0"
	for step := 0; ; step++ {
		if step > 100000 {
			t.Fatal("SCAN did not finish")
		}
		r := e.do(c, append([]string{"SCAN", cursor}, extra...)...)
		if !strings.HasPrefix(r, "*[$") {
			t.Fatalf("SCAN reply %s", r)
		}
		body := strings.TrimSuffix(strings.TrimPrefix(r, "*[$"), "]")
		i := strings.Index(body, " *[")
		cursor = body[:i]
		keys := strings.TrimSuffix(body[i+3:], "]")
		for _, k := range strings.Fields(keys) {
			seen[strings.TrimPrefix(k, "$")]++
		}
		if cursor == "0" {
			return seen
		}
		if between != nil {
			between(step)
		}
	}
}

func TestScanReturnsKeysPresentThroughoutWhileChanging(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	for i := 0; i < 500; i++ {
		e.expect(c, "+OK", "SET", "keep"+strconv.Itoa(i), "v")
	}
	for i := 0; i < 2000; i++ {
		e.expect(c, "+OK", "SET", "tmp"+strconv.Itoa(i), "v")
	}
	seen := scanAll(t, e, c, []string{"COUNT", "20"}, func(step int) {
		// Delete the temporaries (shrinking the table) and add new keys
		// (growing it) while the iteration goes on.
		for i := 0; i < 100; i++ {
			e.do(c, "DEL", "tmp"+strconv.Itoa(step*100+i))
		}
		if step < 30 {
			for i := 0; i < 40; i++ {
				e.do(c, "SET", "new"+strconv.Itoa(step*40+i), "v")
			}
		}
	})
	for i := 0; i < 500; i++ {
		if seen["keep"+strconv.Itoa(i)] == 0 {
			t.Fatalf("keep%d, present throughout, was not returned", i)
		}
	}
}

func TestScanFiltersAndErrors(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	for i := 0; i < 50; i++ {
		e.expect(c, "+OK", "SET", "s"+strconv.Itoa(i), "v")
	}
	e.expect(c, "+OK", "SET", "gone", "v")
	e.s.mu.Lock()
	c.db.SetExpire(c.db.Peek([]byte("gone")), 1)
	e.s.mu.Unlock()
	seen := scanAll(t, e, c, []string{"MATCH", "s1*"}, nil)
	var keys []string
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "s1,s10,s11,s12,s13,s14,s15,s16,s17,s18,s19" {
		t.Fatalf("SCAN MATCH s1* returned %v", keys)
	}
	seen = scanAll(t, e, c, []string{"TYPE", "STRING", "COUNT", "7"}, nil)
	if len(seen) != 50 || seen["gone"] != 0 {
		t.Fatalf("SCAN TYPE string returned %d keys (gone: %d)", len(seen), seen["gone"])
	}
	if e.s.store.DBs[0].Len() != 50 {
		t.Fatal("SCAN did not reclaim the expired key it met")
	}
	e.expect(c, "-ERR invalid cursor", "SCAN", "abc")
	e.expect(c, "-ERR invalid cursor", "SCAN", " 1")
	e.expect(c, "-ERR invalid cursor", "SCAN", "18446744073709551616")
	e.expect(c, "-ERR syntax error", "SCAN", "0", "COUNT", "0")
	e.expect(c, "-ERR value is not an integer or out of range", "SCAN", "0", "COUNT", "x")
	e.expect(c, "-ERR syntax error", "SCAN", "0", "MATCH")
	if r := e.do(c, "SCAN", "18446744073709551615"); !strings.HasPrefix(r, "*[$") {
		t.Fatalf("SCAN with the largest cursor: %s", r)
	}
}

func TestObjectCommand(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	e.expect(c, "+OK", "SET", "i", "123")
	e.expect(c, "+OK", "SET", "big", "12345678")
	e.expect(c, "+OK", "SET", "raw", strings.Repeat("x", 45))
	e.expect(c, "$int", "OBJECT", "ENCODING", "i")
	e.expect(c, "$raw", "OBJECT", "ENCODING", "raw")
	e.expect(c, "$nil", "OBJECT", "ENCODING", "missing")
	e.expect(c, ":2147483647", "OBJECT", "REFCOUNT", "i")
	e.expect(c, ":1", "OBJECT", "REFCOUNT", "big")
	e.expect(c, "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.", "OBJECT", "FREQ", "i")
	if err := e.s.cfg.SetPairs([]string{"maxmemory-policy", "allkeys-lfu"}); err != nil {
		t.Fatal(err)
	}
	e.expect(c, "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.", "OBJECT", "IDLETIME", "i")
	if r := e.do(c, "OBJECT", "FREQ", "i"); !strings.HasPrefix(r, ":") {
		t.Fatalf("OBJECT FREQ under LFU: %s", r)
	}
	help := e.do(c, "object", "help")
	if !strings.HasPrefix(help, "*[+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:") || !strings.HasSuffix(help, "+HELP +    Prints this help.]") {
		t.Fatalf("OBJECT HELP = %s", help)
	}
	e.expect(c, "-ERR wrong number of arguments for 'object|encoding' command", "OBJECT", "ENCODING")
}

func TestActiveExpiryCountsExpiredKeys(t *testing.T) {
	s := startTestServer(t, "--hz", "100")
	conn, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	var cmds bytes.Buffer
	const n = 200
	for i := 0; i < n; i++ {
		fmt.Fprintf(&cmds, "SET k%d v PX 30\r\n", i)
	}
	cmds.WriteString("SET keep v\r\n")
	if _, err := conn.Write(cmds.Bytes()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= n; i++ {
		if r, err := keysRender(br); err != nil || r != "+OK" {
			t.Fatalf("SET reply %q %v", r, err)
		}
	}
	// Nothing touches the keys: only the cron can reclaim them.
	deadline := time.Now().Add(10 * time.Second)
	var left int
	var expired int64
	for time.Now().Before(deadline) {
		s.mu.Lock()
		left, expired = s.store.DBs[0].Len(), s.stats.ExpiredKeys
		s.mu.Unlock()
		if left == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if left != 1 || expired != n {
		t.Fatalf("after active expiry: %d keys left, expired_keys %d; want 1 and %d", left, expired, n)
	}
}

func TestKeysHostilePatternIsFast(t *testing.T) {
	e := newKeysEnv(t)
	c := e.client()
	e.expect(c, "+OK", "SET", strings.Repeat("a", 60), "1")
	start := time.Now()
	e.expect(c, "*[]", "KEYS", strings.Repeat("a*", 30)+"b")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("KEYS with a nested-star pattern took %v", d)
	}
	e.expect(c, "*[$"+strings.Repeat("a", 60)+"]", "KEYS", strings.Repeat("a*", 30))
}
