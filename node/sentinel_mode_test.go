package node

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
)

// fakeSentinel is a SentinelHooks that records what it is given. block,
// when set, makes SENTINEL MASTERS wait until it is closed.
type fakeSentinel struct {
	mu        sync.Mutex
	hellos    []string
	commands  [][]string
	shutdowns int
	names     []string
	info      string

	block   chan struct{}
	entered chan struct{} // receives when SENTINEL MASTERS starts waiting
	srv     *Server
}

func (f *fakeSentinel) SentinelCommand(w *resp.Writer, args [][]byte) {
	argv := make([]string, len(args))
	for i, a := range args {
		argv[i] = string(a)
	}
	f.mu.Lock()
	f.commands = append(f.commands, argv)
	block := f.block
	f.mu.Unlock()
	switch strings.ToLower(argv[1]) {
	case "myid":
		w.AppendBulkString(strings.Repeat("a", 40))
	case "masters":
		if block != nil {
			// Publish from inside the hook, then wait: the server must
			// go on serving other connections meanwhile.
			f.srv.Publish("+inside", "masters")
			f.entered <- struct{}{}
			<-block
		}
		w.AppendArray(0)
	default:
		w.AppendError("ERR No such master with that name")
	}
}

func (f *fakeSentinel) SentinelHello(payload string) {
	f.mu.Lock()
	f.hellos = append(f.hellos, payload)
	f.mu.Unlock()
}

func (f *fakeSentinel) SentinelInfo() string { return f.info }

func (f *fakeSentinel) SentinelMasterNames() []string { return f.names }

func (f *fakeSentinel) SentinelShutdown() {
	f.mu.Lock()
	f.shutdowns++
	f.mu.Unlock()
}

func startSentinelTestServer(t *testing.T, f *fakeSentinel, opts ...string) *Server {
	t.Helper()
	s := newTestServer(t, opts...)
	f.srv = s
	s.SetSentinelMode(f)
	if err := s.Listen(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	go s.Serve()
	t.Cleanup(s.Shutdown)
	return s
}

// parseBulkArray reads the bulk strings of a flat RESP array reply.
func parseBulkArray(t *testing.T, reply string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(reply, "\r\n"), "\r\n")
	if len(lines) == 0 || lines[0][0] != '*' {
		t.Fatalf("not an array: %q", reply)
	}
	var out []string
	for i := 1; i+1 < len(lines); i += 2 {
		out = append(out, lines[i+1])
	}
	if n, _ := strconv.Atoi(lines[0][1:]); n != len(out) {
		t.Fatalf("array of %d, parsed %d: %q", n, len(out), reply)
	}
	return out
}

// redisSentinelCommands is COMMAND LIST of redis-sentinel 7.0.15.
var redisSentinelCommands = []string{
	"acl", "acl|cat", "acl|deluser", "acl|dryrun", "acl|genpass", "acl|getuser", "acl|help", "acl|list",
	"acl|load", "acl|log", "acl|save", "acl|setuser", "acl|users", "acl|whoami",
	"auth",
	"client", "client|caching", "client|getname", "client|getredir", "client|help", "client|id",
	"client|info", "client|kill", "client|list", "client|no-evict", "client|pause", "client|reply",
	"client|setname", "client|tracking", "client|trackinginfo", "client|unblock", "client|unpause",
	"command", "command|count", "command|docs", "command|getkeys", "command|getkeysandflags",
	"command|help", "command|info", "command|list",
	"hello", "info", "ping", "psubscribe", "publish", "punsubscribe", "role",
	"sentinel", "sentinel|ckquorum", "sentinel|config", "sentinel|debug", "sentinel|failover",
	"sentinel|flushconfig", "sentinel|get-master-addr-by-name", "sentinel|help", "sentinel|info-cache",
	"sentinel|is-master-down-by-addr", "sentinel|master", "sentinel|masters", "sentinel|monitor",
	"sentinel|myid", "sentinel|pending-scripts", "sentinel|remove", "sentinel|replicas", "sentinel|reset",
	"sentinel|sentinels", "sentinel|set", "sentinel|simulate-failure", "sentinel|slaves",
	"shutdown", "subscribe", "unsubscribe",
}

func TestSentinelCommandTable(t *testing.T) {
	s := startSentinelTestServer(t, &fakeSentinel{})
	c := dialRaw(t, s)
	// Redis's own sentinel test asserts these two numbers.
	expect(t, c, ":15\r\n", "COMMAND", "COUNT")
	got := parseBulkArray(t, do(t, c, "COMMAND", "LIST"))
	if len(got) != 72 {
		t.Fatalf("COMMAND LIST has %d names, want 72", len(got))
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(redisSentinelCommands, " ") {
		t.Fatalf("COMMAND LIST\n got %v\nwant %v", got, redisSentinelCommands)
	}
	expect(t, c, "-ERR unknown command 'GET', with args beginning with: 'x' \r\n", "GET", "x")
	expect(t, c, "-ERR unknown command 'MULTI', with args beginning with: \r\n", "MULTI")
	expect(t, c, "-ERR unknown command 'CONFIG', with args beginning with: 'GET' 'port' \r\n", "CONFIG", "GET", "port")
	expect(t, c, "-ERR unknown subcommand 'no-touch'. Try CLIENT HELP.\r\n", "CLIENT", "no-touch", "on")
	// Subcommand dispatch and arity are the server's, with Redis's errors.
	expect(t, c, "-ERR wrong number of arguments for 'sentinel' command\r\n", "SENTINEL")
	expect(t, c, "-ERR unknown subcommand 'foo'. Try SENTINEL HELP.\r\n", "SENTINEL", "foo")
	expect(t, c, "-ERR wrong number of arguments for 'sentinel|master' command\r\n", "SENTINEL", "MASTER")
	expect(t, c, "*1\r\n*10\r\n$13\r\nsentinel|myid\r\n:2\r\n*1\r\n+admin\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n",
		"COMMAND", "INFO", "sentinel|myid")
	expect(t, c, "-ERR Invalid command specified\r\n", "COMMAND", "GETKEYS", "get", "x")
	expect(t, c, "-ERR The command has no key arguments\r\n", "COMMAND", "GETKEYS", "sentinel", "masters")

	// The server table is untouched: no SENTINEL there, as in redis-server.
	srv := startTestServer(t)
	sc := dialRaw(t, srv)
	expect(t, sc, "-ERR unknown command 'SENTINEL', with args beginning with: 'masters' \r\n", "SENTINEL", "masters")
	if n := do(t, sc, "COMMAND", "COUNT"); n == ":15\r\n" {
		t.Fatalf("server COMMAND COUNT is the sentinel's")
	}
	expect(t, sc, "$7\r\nskiffok\r\n", "ECHO", "skiffok")
}

func TestSentinelCommandGoesToEngine(t *testing.T) {
	f := &fakeSentinel{}
	s := startSentinelTestServer(t, f)
	c := dialRaw(t, s)
	expect(t, c, "$40\r\n"+strings.Repeat("a", 40)+"\r\n", "SENTINEL", "MYID")
	expect(t, c, "-ERR No such master with that name\r\n", "sentinel", "master", "nosuch")
	f.mu.Lock()
	got := fmt.Sprint(f.commands)
	f.mu.Unlock()
	if want := "[[SENTINEL MYID] [sentinel master nosuch]]"; got != want {
		t.Fatalf("engine got %s, want %s", got, want)
	}
	// The engine's error reply is counted like any other.
	info := do(t, c, "INFO", "stats")
	if !strings.Contains(info, "total_error_replies:1\r\n") {
		t.Fatalf("error not counted: %q", info)
	}
}

func TestSentinelPublishAcceptsOnlyHello(t *testing.T) {
	f := &fakeSentinel{}
	s := startSentinelTestServer(t, f)
	c, sub := dialRaw(t, s), dialRaw(t, s)
	expect(t, sub, "*3\r\n$9\r\nsubscribe\r\n$18\r\n__sentinel__:hello\r\n:1\r\n", "SUBSCRIBE", "__sentinel__:hello")
	expect(t, c, "-ERR Only HELLO messages are accepted by Sentinel instances.\r\n", "PUBLISH", "foo", "bar")
	expect(t, c, "-ERR Only HELLO messages are accepted by Sentinel instances.\r\n", "PUBLISH", "__SENTINEL__:hello", "x")
	expect(t, c, ":1\r\n", "PUBLISH", "__sentinel__:hello", "127.0.0.1,26379,abc,0,m,127.0.0.1,6379,0")
	f.mu.Lock()
	got := fmt.Sprint(f.hellos)
	f.mu.Unlock()
	if got != "[127.0.0.1,26379,abc,0,m,127.0.0.1,6379,0]" {
		t.Fatalf("hellos %s", got)
	}
	// A hello goes to the engine, not to the sentinel's own subscribers:
	// the next thing the subscriber sees is what Publish delivers.
	s.Publish("__sentinel__:hello", "from-engine")
	if got, want := sub.readReply(t, 5*time.Second), "*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n$11\r\nfrom-engine\r\n"; got != want {
		t.Fatalf("subscriber got %q, want %q", got, want)
	}
}

func infoHeaders(reply string) []string {
	var h []string
	for _, l := range strings.Split(reply, "\r\n") {
		if strings.HasPrefix(l, "# ") {
			h = append(h, l[2:])
		}
	}
	return h
}

func TestSentinelInfoSections(t *testing.T) {
	body := "sentinel_masters:1\r\nsentinel_tilt:0\r\nmaster0:name=m,status=ok,address=127.0.0.1:6379,slaves=0,sentinels=1\r\n"
	s := startSentinelTestServer(t, &fakeSentinel{info: body})
	c := dialRaw(t, s)
	for _, args := range [][]string{{"INFO"}, {"INFO", "default"}, {"INFO", "all"}, {"INFO", "everything"}, {"INFO", "ALL", "keyspace"}} {
		got := do(t, c, args...)
		if h := strings.Join(infoHeaders(got), ","); h != "Server,Clients,Stats,CPU,Sentinel" {
			t.Fatalf("%v: sections %s", args, h)
		}
		if !strings.HasPrefix(got, "$") || !strings.Contains(got, "redis_mode:sentinel\r\n") ||
			!strings.HasSuffix(got, "\r\n\r\n# Sentinel\r\n"+body+"\r\n") {
			t.Fatalf("%v: %q", args, got)
		}
	}
	want := "# Sentinel\r\n" + body
	expect(t, c, fmt.Sprintf("$%d\r\n%s\r\n", len(want), want), "INFO", "sentinel")
	if h := strings.Join(infoHeaders(do(t, c, "INFO", "cpu", "server", "memory")), ","); h != "Server,CPU" {
		t.Fatalf("INFO cpu server memory: %s", h)
	}
	expect(t, c, "$0\r\n\r\n", "INFO", "keyspace")
	expect(t, c, "$0\r\n\r\n", "INFO", "replication", "commandstats")
	// Always a bulk string, also in RESP3 (a server answers verbatim).
	do(t, c, "HELLO", "3")
	expect(t, c, fmt.Sprintf("$%d\r\n%s\r\n", len(want), want), "INFO", "sentinel")
}

func TestSentinelRoleAndHello(t *testing.T) {
	s := startSentinelTestServer(t, &fakeSentinel{names: []string{"m1", "other"}})
	c := dialRaw(t, s)
	role := "*2\r\n$8\r\nsentinel\r\n*2\r\n$2\r\nm1\r\n$5\r\nother\r\n"
	expect(t, c, role, "ROLE")
	id := strings.TrimSpace(strings.TrimPrefix(do(t, c, "CLIENT", "ID"), ":"))
	hello := func(proto string) string {
		kind := "*12"
		if proto == "3" {
			kind = "%6"
		}
		return kind + "\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:" + proto +
			"\r\n$2\r\nid\r\n:" + id + "\r\n$4\r\nmode\r\n$8\r\nsentinel\r\n$7\r\nmodules\r\n*0\r\n"
	}
	expect(t, c, hello("2"), "HELLO")
	expect(t, c, hello("3"), "HELLO", "3")
	expect(t, c, role, "ROLE")
}

func TestSentinelAuth(t *testing.T) {
	s := startSentinelTestServer(t, &fakeSentinel{}, "--requirepass", "s3cret")
	c := dialRaw(t, s)
	expect(t, c, "-NOAUTH Authentication required.\r\n", "PING")
	expect(t, c, "-NOAUTH Authentication required.\r\n", "SENTINEL", "MYID")
	expect(t, c, "-"+errHelloAuth+"\r\n", "HELLO", "3")
	expect(t, c, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "AUTH", "nope")
	if got := do(t, c, "HELLO", "3", "AUTH", "default", "s3cret"); !strings.HasPrefix(got, "%6\r\n") {
		t.Fatalf("HELLO AUTH: %q", got)
	}
	expect(t, c, "$7\r\ndefault\r\n", "ACL", "WHOAMI")
	sum := sha256.Sum256([]byte("s3cret"))
	h := hex.EncodeToString(sum[:])
	rule := "user default on #" + h + " ~* &* +@all"
	expect(t, c, fmt.Sprintf("*1\r\n$%d\r\n%s\r\n", len(rule), rule), "ACL", "LIST")
	d := dialRaw(t, s)
	expect(t, d, "+OK\r\n", "AUTH", "default", "s3cret")
	expect(t, d, "+PONG\r\n", "PING")
}

func TestSentinelACL(t *testing.T) {
	s := startSentinelTestServer(t, &fakeSentinel{})
	c := dialRaw(t, s)
	expect(t, c, "*1\r\n$7\r\ndefault\r\n", "ACL", "USERS")
	expect(t, c, "*1\r\n$34\r\nuser default on nopass ~* &* +@all\r\n", "ACL", "LIST")
	expect(t, c, "*12\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$6\r\nnopass\r\n$9\r\npasswords\r\n*0\r\n$8\r\ncommands\r\n$5\r\n+@all\r\n$4\r\nkeys\r\n$2\r\n~*\r\n$8\r\nchannels\r\n$2\r\n&*\r\n$9\r\nselectors\r\n*0\r\n",
		"ACL", "GETUSER", "default")
	expect(t, c, "$-1\r\n", "ACL", "GETUSER", "nosuch")
	expect(t, c, "*5\r\n$10\r\npsubscribe\r\n$7\r\npublish\r\n$12\r\npunsubscribe\r\n$9\r\nsubscribe\r\n$11\r\nunsubscribe\r\n", "ACL", "CAT", "pubsub")
	expect(t, c, "*5\r\n$4\r\nauth\r\n$5\r\nhello\r\n$4\r\nping\r\n$7\r\npublish\r\n$4\r\nrole\r\n", "ACL", "CAT", "FAST")
	expect(t, c, "-ERR Unknown category 'nosuch'\r\n", "ACL", "CAT", "nosuch")
	expect(t, c, "+OK\r\n", "ACL", "DRYRUN", "default", "sentinel", "masters")
	expect(t, c, "-ERR Command 'get' not found\r\n", "ACL", "DRYRUN", "default", "get", "x")
	expect(t, c, "-ERR User 'bob' not found\r\n", "ACL", "DRYRUN", "bob", "ping")
	expect(t, c, "-ERR wrong number of arguments for 'sentinel|master' command\r\n", "ACL", "DRYRUN", "default", "sentinel", "master")
	expect(t, c, "-ERR The 'default' user cannot be removed\r\n", "ACL", "DELUSER", "x", "default")
	expect(t, c, ":0\r\n", "ACL", "DELUSER", "x")
	if got := do(t, c, "ACL", "GENPASS"); !strings.HasPrefix(got, "$64\r\n") {
		t.Fatalf("GENPASS: %q", got)
	}
	if got := do(t, c, "ACL", "GENPASS", "5"); !strings.HasPrefix(got, "$2\r\n") {
		t.Fatalf("GENPASS 5: %q", got)
	}
	expect(t, c, "-ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096\r\n", "ACL", "GENPASS", "0")
	expect(t, c, "*0\r\n", "ACL", "LOG")
	expect(t, c, "+OK\r\n", "ACL", "LOG", "RESET")
	expect(t, c, "-"+errACLFile+"\r\n", "ACL", "SAVE")
	expect(t, c, "-ERR unknown subcommand or wrong number of arguments for 'cat'. Try ACL HELP.\r\n", "ACL", "cat", "a", "b")
}

func TestSentinelClientTracking(t *testing.T) {
	s := startSentinelTestServer(t, &fakeSentinel{})
	c := dialRaw(t, s)
	expect(t, c, "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n", "CLIENT", "TRACKINGINFO")
	expect(t, c, ":-1\r\n", "CLIENT", "GETREDIR")
	expect(t, c, "-ERR PREFIX option requires BCAST mode to be enabled\r\n", "CLIENT", "TRACKING", "on", "prefix", "a")
	expect(t, c, "-ERR Prefix 'a' overlaps with another provided prefix 'ab'. Prefixes for a single client must not overlap.\r\n",
		"CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "ab")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "bcast", "prefix", "b", "prefix", "a")
	expect(t, c, "*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\nbcast\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n", "CLIENT", "TRACKINGINFO")
	expect(t, c, "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n", "CLIENT", "TRACKING", "on")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "off")
	expect(t, c, "+OK\r\n", "CLIENT", "TRACKING", "on", "optin")
	expect(t, c, "+OK\r\n", "CLIENT", "CACHING", "yes")
	expect(t, c, "*6\r\n$5\r\nflags\r\n*3\r\n$2\r\non\r\n$5\r\noptin\r\n$11\r\ncaching-yes\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n", "CLIENT", "TRACKINGINFO")
	// CACHING applies to the next command only (CLIENT commands aside).
	expect(t, c, "+PONG\r\n", "PING")
	expect(t, c, "*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$5\r\noptin\r\n$8\r\nredirect\r\n:0\r\n$8\r\nprefixes\r\n*0\r\n", "CLIENT", "TRACKINGINFO")
	if info := do(t, c, "CLIENT", "INFO"); !strings.Contains(info, " flags=t ") || !strings.Contains(info, " redir=0 ") {
		t.Fatalf("CLIENT INFO: %q", info)
	}
}

// A SENTINEL command that blocks in the engine does not stop the server:
// other connections are served, and Publish from inside the hook reaches
// subscribers. The blocked client's pipelined replies stay in order.
func TestSentinelCommandRunsOutsideLock(t *testing.T) {
	f := &fakeSentinel{block: make(chan struct{}), entered: make(chan struct{}, 1)}
	s := startSentinelTestServer(t, f)
	var release sync.Once
	unblock := func() { release.Do(func() { close(f.block) }) }
	t.Cleanup(unblock) // runs before the server's Shutdown, even on failure
	a, b, sub := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	expect(t, sub, "*3\r\n$10\r\npsubscribe\r\n$1\r\n*\r\n:1\r\n", "PSUBSCRIBE", "*")
	a.send(t, "PING")
	a.send(t, "SENTINEL", "MASTERS")
	a.send(t, "ECHO", "after")
	select {
	case <-f.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("SENTINEL MASTERS never reached the engine")
	}
	// The engine is inside SentinelCommand: the server still answers.
	expect(t, b, "+PONG\r\n", "PING")
	expect(t, b, "-ERR unknown command 'ECHO', with args beginning with: 'x' \r\n", "ECHO", "x")
	if got, want := sub.readReply(t, 5*time.Second), "*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$7\r\n+inside\r\n$7\r\nmasters\r\n"; got != want {
		t.Fatalf("subscriber got %q, want %q", got, want)
	}
	unblock()
	for _, want := range []string{"+PONG\r\n", "*0\r\n", "-ERR unknown command 'ECHO', with args beginning with: 'after' \r\n"} {
		if got := a.readReply(t, 5*time.Second); got != want {
			t.Fatalf("pipelined reply %q, want %q", got, want)
		}
	}
}

// Publish may be called from any goroutine; messages arrive in order, as
// RESP2 messages or RESP3 pushes.
func TestSentinelPublishOrder(t *testing.T) {
	s := startSentinelTestServer(t, &fakeSentinel{})
	r2, r3 := dialRaw(t, s), dialRaw(t, s)
	expect(t, r2, "*3\r\n$9\r\nsubscribe\r\n$2\r\nev\r\n:1\r\n", "SUBSCRIBE", "ev")
	do(t, r3, "HELLO", "3")
	expect(t, r3, ">3\r\n$10\r\npsubscribe\r\n$2\r\ne*\r\n:1\r\n", "PSUBSCRIBE", "e*")
	const n = 200
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < n; i++ {
			s.Publish("ev", strconv.Itoa(i))
		}
	}()
	<-done
	for i := 0; i < n; i++ {
		msg := strconv.Itoa(i)
		want2 := fmt.Sprintf("*3\r\n$7\r\nmessage\r\n$2\r\nev\r\n$%d\r\n%s\r\n", len(msg), msg)
		if got := r2.readReply(t, 5*time.Second); got != want2 {
			t.Fatalf("RESP2 message %d: %q, want %q", i, got, want2)
		}
		want3 := fmt.Sprintf(">4\r\n$8\r\npmessage\r\n$2\r\ne*\r\n$2\r\nev\r\n$%d\r\n%s\r\n", len(msg), msg)
		if got := r3.readReply(t, 5*time.Second); got != want3 {
			t.Fatalf("RESP3 message %d: %q, want %q", i, got, want3)
		}
	}
}

// SHUTDOWN calls SentinelShutdown once and saves nothing, even with save
// points configured; Serve returns.
func TestSentinelShutdown(t *testing.T) {
	f := &fakeSentinel{}
	dir := t.TempDir()
	s := newTestServer(t, "--dir", dir, "--save", "3600 1 300 100")
	f.srv = s
	s.SetSentinelMode(f)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { s.Serve(); close(served) }()
	c := dialRaw(t, s)
	expect(t, c, "-ERR syntax error\r\n", "SHUTDOWN", "foo")
	expect(t, c, "-ERR No shutdown in progress.\r\n", "SHUTDOWN", "ABORT")
	c.send(t, "SHUTDOWN")
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after SHUTDOWN")
	}
	s.Shutdown() // a second stop (signal handler) calls nothing again
	f.mu.Lock()
	n := f.shutdowns
	f.mu.Unlock()
	if n != 1 {
		t.Fatalf("SentinelShutdown called %d times", n)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		t.Errorf("sentinel left %s in its dir", filepath.Join(dir, e.Name()))
	}
	if err := s.LoadRDB(); err != nil {
		t.Fatalf("LoadRDB in sentinel mode: %v", err)
	}
}
