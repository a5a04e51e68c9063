package node

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// adminTestServer starts an in-process server on a free loopback port
// with the given --name value options.
func adminTestServer(t *testing.T, opts ...string) *Server {
	t.Helper()
	return startTestServer(t, append([]string{"--enable-debug-command", "yes"}, opts...)...)
}

// adminConn is a minimal RESP client that renders replies as text so
// tests can compare them compactly: "+OK", ":1", "$foo", "$nil",
// "*[a b]", "%[k v]", "-ERR ...".
type adminConn struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func adminDial(t *testing.T, s *Server) *adminConn {
	t.Helper()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port())))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &adminConn{t: t, c: c, br: bufio.NewReader(c)}
}

func (a *adminConn) send(args ...string) {
	a.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, x := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(x), x)
	}
	if _, err := a.c.Write([]byte(b.String())); err != nil {
		a.t.Fatalf("write: %v", err)
	}
}

func (a *adminConn) read() (string, error) {
	a.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := a.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty line")
	}
	switch line[0] {
	case '+', '-', ':', ',', '#':
		return line, nil
	case '_':
		return "$nil", nil
	case '$', '=':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "$nil", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(a.br, buf); err != nil {
			return "", err
		}
		return "$" + string(buf[:n]), nil
	case '*', '%', '~':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "$nil", nil
		}
		if line[0] == '%' {
			n *= 2
		}
		parts := make([]string, 0, n)
		for i := 0; i < n; i++ {
			p, err := a.read()
			if err != nil {
				return "", err
			}
			parts = append(parts, strings.TrimPrefix(strings.TrimPrefix(p, "$"), "+"))
		}
		return string(line[0]) + "[" + strings.Join(parts, " ") + "]", nil
	}
	return "", fmt.Errorf("unexpected reply line %q", line)
}

func (a *adminConn) do(args ...string) string {
	a.t.Helper()
	a.send(args...)
	r, err := a.read()
	if err != nil {
		a.t.Fatalf("%v: read: %v", args, err)
	}
	return r
}

func (a *adminConn) expect(want string, args ...string) {
	a.t.Helper()
	if got := a.do(args...); got != want {
		a.t.Errorf("%v = %q, want %q", args, got, want)
	}
}

func TestAuthAndHello(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	c.expect("-"+errNoPassSet, "AUTH", "x")
	c.expect("+OK", "AUTH", "default", "anything")
	c.expect("-"+errWrongPass, "AUTH", "bob", "x")
	c.expect("-ERR syntax error", "AUTH", "a", "b", "c")
	c.expect("-NOPROTO unsupported protocol version", "HELLO", "4")
	c.expect("-ERR Protocol version is not an integer or out of range", "HELLO", "x")
	c.expect("-ERR Syntax error in HELLO option 'FOO'", "HELLO", "3", "FOO")
	got := c.do("HELLO", "3", "SETNAME", "me")
	if !strings.HasPrefix(got, "%[server redis version 7.0.15 proto :3 id :") || !strings.HasSuffix(got, "mode standalone role master modules *[]]") {
		t.Fatalf("HELLO 3 = %q", got)
	}
	c.expect("$me", "CLIENT", "GETNAME")
	c.expect("$nil", "GET", "nokey") // RESP3 null
	c.expect("+RESET", "RESET")
	c.expect("$nil", "CLIENT", "GETNAME")
	c.send("GET", "nokey")
	if line, _ := c.br.ReadString('\n'); line != "$-1\r\n" {
		t.Fatalf("after RESET the connection must speak RESP2, got %q", line)
	}
}

func TestRequirePass(t *testing.T) {
	s := adminTestServer(t, "--requirepass", "secret")
	c := adminDial(t, s)
	c.expect("-"+errNoAuth, "GET", "k")
	c.expect("-"+errHelloAuth, "HELLO", "3")
	c.expect("-"+errWrongPass, "AUTH", "wrong")
	c.expect("-"+errWrongPass, "HELLO", "2", "AUTH", "default", "wrong")
	c.expect("+OK", "AUTH", "secret")
	c.expect("$nil", "GET", "k")
	c.expect("+RESET", "RESET")
	c.expect("-"+errNoAuth, "GET", "k")
	got := c.do("HELLO", "2", "AUTH", "default", "secret")
	if !strings.HasPrefix(got, "*[server redis") {
		t.Fatalf("HELLO 2 AUTH = %q", got)
	}
	c.expect("+OK", "AUTH", "default", "secret")
	// A client connected before requirepass was set stays authenticated,
	// as in Redis; a new one must authenticate.
	s2 := adminTestServer(t)
	old := adminDial(t, s2)
	old.expect("+OK", "CONFIG", "SET", "requirepass", "pw")
	old.expect("$nil", "GET", "k")
	adminDial(t, s2).expect("-"+errNoAuth, "GET", "k")
}

func TestClientCommands(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	other := adminDial(t, s)
	other.expect("+OK", "CLIENT", "SETNAME", "victim")
	id := c.do("CLIENT", "ID")
	list := c.do("CLIENT", "LIST")
	re := regexp.MustCompile(`id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=\d+ name= age=\d+ idle=\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=\d+ argv-mem=10 multi-mem=0 rbs=\d+ rbp=\d+ obl=0 oll=0 omem=0 tot-mem=\d+ events=r cmd=client\|list user=default redir=-1 resp=2\n`)
	if !re.MatchString(list) || !strings.Contains(list, "name=victim") {
		t.Fatalf("CLIENT LIST = %q", list)
	}
	info := c.do("CLIENT", "INFO")
	if !strings.HasPrefix(info, "$id="+id[1:]+" ") || !strings.Contains(info, "cmd=client|info") {
		t.Fatalf("CLIENT INFO = %q (id %s)", info, id)
	}
	c.expect("-"+errClientName, "CLIENT", "SETNAME", "a b")
	c.expect("-ERR client-id should be greater than 0", "CLIENT", "KILL", "ID", "0")
	c.expect("-ERR Unknown client type 'x'", "CLIENT", "KILL", "TYPE", "x")
	c.expect("-ERR No such user 'u'", "CLIENT", "KILL", "USER", "u")
	c.expect("-ERR syntax error", "CLIENT", "KILL", "SKIPME", "maybe")
	c.expect("-ERR syntax error", "CLIENT", "KILL", "ID", "1", "extra")
	c.expect("-ERR No such client", "CLIENT", "KILL", "1.1.1.1:1")
	c.expect("-ERR unknown subcommand 'NoSuch'. Try CLIENT HELP.", "CLIENT", "NoSuch")
	c.expect(":1", "CLIENT", "KILL", "SKIPME", "yes")
	if got := c.do("CLIENT", "LIST"); strings.Contains(got, "victim") {
		t.Fatalf("killed client still listed: %q", got)
	}
	other.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := other.br.ReadByte(); err == nil {
		t.Fatal("killed connection still open")
	}

	// CLIENT REPLY OFF / SKIP / ON.
	c.send("CLIENT", "REPLY", "OFF")
	c.send("PING", "one")
	c.send("CLIENT", "REPLY", "SKIP") // ignored while OFF
	c.send("CLIENT", "REPLY", "ON")
	if r, err := c.read(); r != "+OK" || err != nil {
		t.Fatalf("first reply after REPLY OFF..ON = %q, %v; want +OK", r, err)
	}
	c.send("CLIENT", "REPLY", "SKIP")
	c.send("PING", "skipped")
	c.expect("$two", "PING", "two")
	c.expect("+OK", "CLIENT", "NO-EVICT", "on")
	if got := c.do("CLIENT", "INFO"); !strings.Contains(got, " flags=e ") {
		t.Fatalf("NO-EVICT flag missing: %q", got)
	}
	c.expect("-ERR syntax error", "CLIENT", "NO-EVICT", "maybe")
}

func TestInfoSections(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	c.do("SET", "a", "1")
	c.do("GET", "nokey")
	c.do("NOSUCHCMD")
	def := c.do("INFO")
	for _, want := range []string{"# Server\r\n", "redis_version:7.0.15\r\n", "# Clients\r\nconnected_clients:1\r\n",
		"\r\n# Memory\r\nused_memory:", "# Persistence\r\nloading:0", "# Stats\r\n", "keyspace_misses:1\r\n",
		"# Replication\r\nrole:master\r\nconnected_slaves:0\r\n", "master_repl_offset:0", "# CPU\r\nused_cpu_sys:",
		"# Errorstats\r\nerrorstat_ERR:count=1\r\n", "# Cluster\r\ncluster_enabled:0\r\n",
		"# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"} {
		if !strings.Contains(def, want) {
			t.Errorf("INFO lacks %q", want)
		}
	}
	if strings.Contains(def, "cmdstat_") {
		t.Error("default INFO must not include commandstats")
	}
	all := c.do("INFO", "all")
	if !strings.Contains(all, "cmdstat_set:calls=1,usec=") || !strings.Contains(all, "rejected_calls=0,failed_calls=0") {
		t.Errorf("INFO all lacks commandstats: %q", all)
	}
	cpu := c.do("INFO", "CPU", "keyspace")
	if !strings.HasPrefix(cpu, "$# CPU\r\n") || strings.Contains(cpu, "used_memory") || !strings.Contains(cpu, "\r\n\r\n# Keyspace\r\n") {
		t.Errorf("INFO cpu keyspace = %q", cpu)
	}
	if got := c.do("INFO", "nosuchsection"); got != "$" {
		t.Errorf("INFO nosuchsection = %q, want empty", got)
	}
	c.expect("+OK", "CONFIG", "RESETSTAT")
	if got := c.do("INFO", "stats", "errorstats"); !strings.Contains(got, "keyspace_misses:0\r\n") || strings.Contains(got, "errorstat_ERR") {
		t.Errorf("after RESETSTAT: %q", got)
	}
}

func TestBytesToHuman(t *testing.T) {
	for n, want := range map[uint64]string{0: "0B", 1023: "1023B", 1024: "1.00K", 1536: "1.50K", 5 << 20: "5.00M", 3 << 30: "3.00G"} {
		if got := bytesToHuman(n); got != want {
			t.Errorf("bytesToHuman(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestConfigCommands(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	c.expect("*[maxmemory 0]", "CONFIG", "GET", "maxmemory")
	c.expect("*[MAXMEMORY 0]", "CONFIG", "GET", "MAXMEMORY")
	c.expect("*[]", "CONFIG", "GET", "nosuch")
	c.expect("+OK", "CONFIG", "SET", "maxmemory", "1mb", "hz", "20")
	c.expect("*[maxmemory 1048576]", "CONFIG", "GET", "maxmemory")
	c.expect("-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer", "CONFIG", "SET", "maxmemory", "5", "hz", "x")
	c.expect("*[maxmemory 1048576]", "CONFIG", "GET", "maxmemory") // all or nothing
	c.expect("-ERR syntax error", "CONFIG", "SET", "a", "b", "c")
	c.expect("-ERR wrong number of arguments for 'config|set' command", "CONFIG", "SET", "a")
	c.expect("-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100", "CONFIG", "SET", "maxmemory-clients", "200%")
	c.expect("+OK", "CONFIG", "SET", "maxmemory-clients", "10%")
	c.expect("+OK", "CONFIG", "SET", "databases", "16") // immutable, same value: no-op
	c.expect("-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config", "CONFIG", "SET", "databases", "17")
	c.expect("-ERR The server is running without a config file", "CONFIG", "REWRITE")
	got := c.do("CONFIG", "GET", "*of")
	if !strings.Contains(got, "replicaof") || !strings.Contains(got, "slaveof") {
		t.Errorf("CONFIG GET *of = %q", got)
	}
	if got := c.do("CONFIG", "HELP"); !strings.HasPrefix(got, "*[CONFIG <subcommand>") {
		t.Errorf("CONFIG HELP = %q", got)
	}
}

func TestCommandIntrospection(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	n := c.do("COMMAND", "COUNT")
	if want := ":" + strconv.Itoa(len(commands)); n != want {
		t.Errorf("COMMAND COUNT = %s, want %s", n, want)
	}
	c.expect("*[*[get :2 *[readonly fast] :1 :1 :1 *[@read @string @fast] *[] *[*[flags *[RO access] begin_search *[type index spec *[index :1]] find_keys *[type range spec *[lastkey :0 keystep :1 limit :0]]]] *[]] nil]",
		"COMMAND", "INFO", "get", "nosuch")
	c.expect("*[nil]", "COMMAND", "INFO", "get|key")
	c.expect("*[key]", "COMMAND", "GETKEYS", "GET", "key")
	c.expect("*[a b]", "COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2")
	c.expect("*[*[k1 *[OW update]]]", "COMMAND", "GETKEYSANDFLAGS", "SET", "k1", "v1")
	c.expect("*[*[k1 *[RW access update]]]", "COMMAND", "GETKEYSANDFLAGS", "SET", "k1", "v1", "GET")
	c.expect("*[key]", "COMMAND", "GETKEYS", "MEMORY", "USAGE", "key")
	c.expect("-ERR Invalid command specified", "COMMAND", "GETKEYS", "NOSUCH", "x")
	c.expect("-ERR The command has no key arguments", "COMMAND", "GETKEYS", "PING", "x")
	c.expect("-ERR Invalid number of arguments specified for command", "COMMAND", "GETKEYS", "GET", "a", "b")
	c.expect("*[set]", "COMMAND", "LIST", "FILTERBY", "PATTERN", "set")
	c.expect("*[]", "COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuchcat")
	c.expect("*[]", "COMMAND", "LIST", "FILTERBY", "MODULE", "m")
	c.expect("-ERR syntax error", "COMMAND", "LIST", "FILTERBY", "bad", "x")
	c.expect("-ERR syntax error", "COMMAND", "LIST", "bad")
	cfg := c.do("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*re*")
	if !strings.Contains(cfg, "config|resetstat") || !strings.Contains(cfg, "config|rewrite") || strings.Contains(cfg, "config|get") {
		t.Errorf("COMMAND LIST FILTERBY PATTERN config|*re* = %q", cfg)
	}
	docs := c.do("COMMAND", "DOCS", "config")
	if !strings.HasPrefix(docs, "*[config *[summary") || !strings.Contains(docs, "subcommands") {
		t.Errorf("COMMAND DOCS config = %q", docs)
	}
}

func TestACLCategories(t *testing.T) {
	cases := map[string]string{
		"get":         "read string fast",
		"set":         "write string slow",
		"config|set":  "admin slow dangerous",
		"client|list": "admin slow dangerous connection",
		"ping":        "fast connection",
	}
	for name, want := range cases {
		cmd := lookupCommandPath(name)
		if cmd == nil {
			t.Fatalf("no command %s", name)
		}
		if got := strings.Join(aclCategories(cmd), " "); got != want {
			t.Errorf("%s categories = %q, want %q", name, got, want)
		}
	}
}

func TestDebugCommands(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	zero := "+" + strings.Repeat("0", 40)
	c.expect(zero, "DEBUG", "DIGEST")
	c.expect("+OK", "DEBUG", "POPULATE", "10")
	c.expect("$value:3", "GET", "key:3")
	d1 := c.do("DEBUG", "DIGEST")
	if len(d1) != 41 || d1 == zero {
		t.Fatalf("DIGEST after POPULATE = %q", d1)
	}
	c.expect("+OK", "DEBUG", "POPULATE", "2", "p", "8")
	c.expect("$value:0\x00", "GET", "p:0")
	// The same dataset built in another order digests the same.
	s2 := adminTestServer(t)
	c2 := adminDial(t, s2)
	c2.expect("+OK", "DEBUG", "POPULATE", "2", "p", "8")
	for i := 9; i >= 0; i-- {
		c2.expect("+OK", "SET", fmt.Sprintf("key:%d", i), fmt.Sprintf("value:%d", i))
	}
	if a, b := c.do("DEBUG", "DIGEST"), c2.do("DEBUG", "DIGEST"); a != b {
		t.Fatalf("equal datasets digest differently: %s vs %s", a, b)
	}
	c2.expect("+OK", "SET", "key:0", "other")
	if a, b := c.do("DEBUG", "DIGEST"), c2.do("DEBUG", "DIGEST"); a == b {
		t.Fatal("different datasets digest the same")
	}
	dv := c.do("DEBUG", "DIGEST-VALUE", "key:1", "nokey")
	if !strings.HasSuffix(dv, " "+strings.Repeat("0", 40)+"]") || len(dv) != 2+40+1+40+1 {
		t.Errorf("DIGEST-VALUE = %q", dv)
	}
	if got := c.do("DEBUG", "OBJECT", "key:1"); !strings.Contains(got, "encoding:embstr serializedlength:") || !strings.Contains(got, "lru_seconds_idle:") {
		t.Errorf("DEBUG OBJECT = %q", got)
	}
	c.expect("-ERR no such key", "DEBUG", "OBJECT", "nokey")
	c.expect("+OK", "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	if s.activeExpire.Load() {
		t.Error("SET-ACTIVE-EXPIRE 0 left active expiry on")
	}
	c.expect("+OK", "DEBUG", "SLEEP", "0")
	c.expect("-ERR unknown subcommand or wrong number of arguments for 'NoSuch'. Try DEBUG HELP.", "DEBUG", "NoSuch")

	off := adminTestServer(t, "--enable-debug-command", "no")
	if got := adminDial(t, off).do("DEBUG", "DIGEST"); !strings.HasPrefix(got, "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\"") {
		t.Errorf("DEBUG when disabled = %q", got)
	}
	local := adminTestServer(t, "--enable-debug-command", "local")
	adminDial(t, local).expect(zero, "DEBUG", "DIGEST")
}

func TestServerCommands(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	tm := c.do("TIME")
	f := strings.Fields(strings.Trim(tm, "*[]"))
	if len(f) != 2 {
		t.Fatalf("TIME = %q", tm)
	}
	if sec, _ := strconv.ParseInt(f[0], 10, 64); sec < time.Now().Unix()-5 || sec > time.Now().Unix()+5 {
		t.Errorf("TIME seconds %s far from now", f[0])
	}
	c.expect("*[master :0 *[]]", "ROLE")
	c.expect("+OK", "FUNCTION", "FLUSH")
	c.expect("+OK", "FUNCTION", "FLUSH", "SYNC")
	c.expect("*[]", "FUNCTION", "LIST")
	c.expect("-ERR No shutdown in progress.", "SHUTDOWN", "ABORT")
	c.expect("-ERR syntax error", "SHUTDOWN", "SAVE", "NOSAVE")
	c.expect("$nil", "MEMORY", "USAGE", "nokey")
	c.do("SET", "k", strings.Repeat("x", 100))
	if got := c.do("MEMORY", "USAGE", "k"); !strings.HasPrefix(got, ":") || got < ":100" {
		t.Errorf("MEMORY USAGE k = %q", got)
	}

	// SLOWLOG: log everything, then nothing.
	c.expect("+OK", "CONFIG", "SET", "slowlog-log-slower-than", "0")
	c.expect("+OK", "SLOWLOG", "RESET")
	c.do("SET", "k", strings.Repeat("y", 200))
	got := c.do("SLOWLOG", "GET", "1")
	if !strings.Contains(got, "SET k "+strings.Repeat("y", 128)+"... (72 more bytes)") {
		t.Errorf("SLOWLOG GET = %q", got)
	}
	c.expect("+OK", "CONFIG", "SET", "slowlog-log-slower-than", "-1")
	c.expect("+OK", "SLOWLOG", "RESET")
	c.do("PING")
	c.expect(":0", "SLOWLOG", "LEN")
	c.expect("-ERR count should be greater than or equal to -1", "SLOWLOG", "GET", "-2")

	// SHUTDOWN closes the connection without a reply and stops the server.
	c.send("SHUTDOWN", "NOSAVE")
	if r, err := c.read(); err == nil {
		t.Fatalf("SHUTDOWN replied %q", r)
	}
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("server did not shut down")
	}
}

// TestGoRedisClient checks that go-redis v9 connects with RESP3 (HELLO 3)
// and with RESP2.
func TestGoRedisClient(t *testing.T) {
	s := adminTestServer(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, proto := range []int{3, 2} {
		rc := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, ClientName: "gr" + strconv.Itoa(proto)})
		if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatalf("proto %d: SET: %v", proto, err)
		}
		if v, err := rc.Get(ctx, "k").Result(); err != nil || v != "v" {
			t.Fatalf("proto %d: GET = %q, %v", proto, v, err)
		}
		info, err := rc.ClientInfo(ctx).Result()
		if err != nil {
			t.Fatalf("proto %d: CLIENT INFO: %v", proto, err)
		}
		if info.Name != "gr"+strconv.Itoa(proto) || info.Resp != proto {
			t.Errorf("proto %d: client info name=%q resp=%d", proto, info.Name, info.Resp)
		}
		if _, err := rc.Info(ctx, "server").Result(); err != nil {
			t.Errorf("proto %d: INFO: %v", proto, err)
		}
		rc.Close()
	}
}
