package node

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/acl"
	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/internal/resp"
)

func newBenchServer(tb testing.TB) *Server {
	tb.Helper()
	cfg, err := config.Load("", []string{"--port", "0", "--bind", "127.0.0.1", "--dir", tb.TempDir(), "--save", ""})
	if err != nil {
		tb.Fatal(err)
	}
	s, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestACLTable: the ACL table has every command of the server table and
// every other Redis 7.0 command, with the same categories Redis gives.
func TestACLTable(t *testing.T) {
	s := newBenchServer(t)
	tab := s.acl.reg.Table()
	for name, info := range redis70Commands {
		ac := tab.Lookup(name)
		if ac == nil {
			t.Errorf("%s missing from the ACL table", name)
			continue
		}
		if want := acl.CategoryBits(info.categories...); ac.Categories != want {
			t.Errorf("%s: categories %b, Redis %b", name, ac.Categories, want)
		}
		if ac.NoAuth != info.noAuth {
			t.Errorf("%s: no_auth %v", name, ac.NoAuth)
		}
	}
	for _, cmd := range sortedCommands(s.cmds) {
		if s.acl.byCmd[cmd] == nil {
			t.Errorf("%s has no ACL entry", cmd.Name)
		}
	}
	if s.cmds["acl"] == nil {
		t.Fatal("ACL is not in the server table")
	}
}

func TestACLSentinelTable(t *testing.T) {
	s := newBenchServer(t)
	s.SetSentinelMode(nopHooks{})
	tab := s.acl.reg.Table()
	if tab.Lookup("get") != nil || tab.Lookup("sentinel|masters") == nil || tab.Lookup("acl|setuser") == nil {
		t.Fatal("the sentinel's users must refer to the sentinel's commands")
	}
	if err := s.acl.reg.SetUser("testuser", ">secret", "+@all", "on"); err != nil {
		t.Fatal(err)
	}
}

type nopHooks struct{}

func (nopHooks) SentinelCommand(w *resp.Writer, args [][]byte) {}
func (nopHooks) SentinelHello(string)                          {}
func (nopHooks) SentinelInfo() string                          { return "" }
func (nopHooks) SentinelMasterNames() []string                 { return nil }
func (nopHooks) SentinelShutdown()                             {}

func TestRedactedArgs(t *testing.T) {
	s := newBenchServer(t)
	cases := map[string]string{
		"AUTH pw":                           "AUTH (redacted)",
		"AUTH u pw":                         "AUTH (redacted) (redacted)",
		"AUTH a b c":                        "AUTH a b c",
		"HELLO 3 AUTH u pw SETNAME x":       "HELLO 3 AUTH (redacted) (redacted) SETNAME x",
		"HELLO 4 AUTH u pw":                 "HELLO 4 AUTH u pw",
		"ACL SETUSER bob >pw on":            "ACL SETUSER (redacted) (redacted) (redacted)",
		"CONFIG SET masterauth x hz 10":     "CONFIG SET masterauth (redacted) hz 10",
		"CONFIG SET requirepass x nosuch y": "CONFIG SET requirepass (redacted) nosuch y",
		"GET k":                             "GET k",
		// MIGRATE: as its option parser goes, not past KEYS or an error.
		"MIGRATE h 1 k 0 5000 AUTH pw":                   "MIGRATE h 1 k 0 5000 AUTH (redacted)",
		"MIGRATE h 1 k 0 5000 COPY auth2 u pw REPLACE":   "MIGRATE h 1 k 0 5000 COPY auth2 (redacted) (redacted) REPLACE",
		"MIGRATE h 1 '' 0 5000 KEYS AUTH pw":             "MIGRATE h 1 '' 0 5000 KEYS AUTH pw",
		"MIGRATE h 1 k 0 5000 BAD AUTH pw":               "MIGRATE h 1 k 0 5000 BAD AUTH pw",
		"MIGRATE h 1 k 0 5000 AUTH2 u":                   "MIGRATE h 1 k 0 5000 AUTH2 u",
		"MIGRATE h 1 k 0 5000 AUTH x AUTH2 u p KEYS a b": "MIGRATE h 1 k 0 5000 AUTH (redacted) AUTH2 (redacted) (redacted) KEYS a b",
	}
	for in, want := range cases {
		args := argvOf(in)
		cmd := s.cmds[strings.ToLower(string(args[0]))]
		if cmd.Subcommands != nil {
			cmd = cmd.Subcommands[strings.ToLower(string(args[1]))]
		}
		var out []string
		for _, a := range redactedArgs(cmd, args) {
			out = append(out, string(a))
		}
		if got := strings.Join(out, " "); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func argvOf(s string) [][]byte {
	var out [][]byte
	for _, w := range strings.Fields(s) {
		out = append(out, []byte(w))
	}
	return out
}

// benchCall runs GET through call() for a client of a given user.
func benchCall(b *testing.B, setup func(s *Server) *acl.User) {
	s := newBenchServer(b)
	c := &Client{srv: s, db: s.store.DBs[0], authed: true, user: setup(s)}
	c.batchWall = time.Now()
	args := argvOf("GET key:1")
	s.mu.Lock()
	defer s.mu.Unlock()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.call(c, args)
		c.w.B = c.w.B[:0]
	}
}

// BenchmarkCallGetNoUser is call() without any ACL check (a superuser
// connection): the cost of everything but ACL.
func BenchmarkCallGetNoUser(b *testing.B) {
	benchCall(b, func(s *Server) *acl.User { return nil })
}

// BenchmarkCallGetDefaultUser is call() for the default user: the check
// is one flag.
func BenchmarkCallGetDefaultUser(b *testing.B) {
	benchCall(b, func(s *Server) *acl.User { return s.acl.reg.Default })
}

// BenchmarkCallGetRestrictedUser is call() for a user limited to key
// patterns: the full check (command bit, key extraction, glob).
func BenchmarkCallGetRestrictedUser(b *testing.B) {
	benchCall(b, func(s *Server) *acl.User {
		if err := s.acl.reg.SetUser("r", "on", "nopass", "+@all", "~key:*", "~other:*"); err != nil {
			b.Fatal(err)
		}
		return s.acl.reg.User("r")
	})
}

// closedAfter reports whether the server closed the connection.
func closedAfter(c *rawConn) bool {
	c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.br.ReadByte()
	return err != nil
}

// TestSentinelACLUsers is the flow of Redis's sentinel test 09-acl-support
// against a sentinel-mode server.
func TestSentinelACLUsers(t *testing.T) {
	s := startSentinelTestServer(t, &fakeSentinel{})
	c := dialRaw(t, s)
	other := dialRaw(t, s)
	expect(t, other, "+PONG\r\n", "PING")
	expect(t, c, "+OK\r\n", "ACL", "SETUSER", "testuser", ">secret", "+@all", "on")
	expect(t, c, "+OK\r\n", "ACL", "SETUSER", "default", "off")
	expect(t, c, "+PONG\r\n", "PING") // connections already authenticated stay so
	expect(t, c, ":2\r\n", "CLIENT", "KILL", "USER", "default", "SKIPME", "no")
	if !closedAfter(c) || !closedAfter(other) {
		t.Fatal("CLIENT KILL USER default SKIPME no must close both connections")
	}
	c = dialRaw(t, s)
	expect(t, c, "-NOAUTH Authentication required.\r\n", "PING")
	expect(t, c, "-WRONGPASS invalid username-password pair or user is disabled.\r\n", "AUTH", "default", "")
	expect(t, c, "+OK\r\n", "AUTH", "testuser", "secret")
	expect(t, c, "$8\r\ntestuser\r\n", "ACL", "WHOAMI")
	if got := do(t, c, "CLIENT", "INFO"); !strings.Contains(got, " user=testuser ") {
		t.Fatalf("CLIENT INFO: %q", got)
	}
	expect(t, c, "+OK\r\n", "ACL", "SETUSER", "default", "on")
	expect(t, c, ":1\r\n", "ACL", "DELUSER", "testuser")
	if !closedAfter(c) {
		t.Fatal("ACL DELUSER of the caller's own user must close its connection")
	}
	c = dialRaw(t, s)
	expect(t, c, "+PONG\r\n", "PING")
	expect(t, c, "*1\r\n$7\r\ndefault\r\n", "ACL", "USERS")
	expect(t, c, "+OK\r\n", "ACL", "SETUSER", "limited", "on", "nopass", "-@all", "+ping")
	expect(t, c, "+OK\r\n", "AUTH", "limited", "x")
	expect(t, c, "-NOPERM this user has no permissions to run the 'sentinel|masters' command\r\n", "SENTINEL", "MASTERS")
}

var gateSink int

// BenchmarkACLGateDefaultUser is the test call() makes for every command
// of a user with every permission, alone.
func BenchmarkACLGateDefaultUser(b *testing.B) {
	s := newBenchServer(b)
	c := &Client{srv: s, user: s.acl.reg.Default}
	n := 0
	for i := 0; i < b.N; i++ {
		if u := c.user; u != nil && !u.AllPermissions() && c.flags&clientMaster == 0 {
			n++
		}
	}
	gateSink = n
}
