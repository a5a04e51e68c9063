package acl

import (
	"strings"
	"testing"
)

// testTable is a small command table: enough categories, a container
// and key/channel arguments to exercise the rules.
func testTable() *Table {
	firstKey := func(args [][]byte) []KeyRef {
		if len(args) < 2 {
			return nil
		}
		return []KeyRef{{Pos: 1, Flags: KeyAccess}}
	}
	writeKey := func(args [][]byte) []KeyRef { return []KeyRef{{Pos: 1, Flags: KeyInsert}} }
	rwKey := func(args [][]byte) []KeyRef { return []KeyRef{{Pos: 1, Flags: KeyAccess | KeyUpdate}} }
	allKeys := func(args [][]byte) []KeyRef {
		var out []KeyRef
		for i := 1; i < len(args); i++ {
			out = append(out, KeyRef{Pos: i, Flags: KeyAccess})
		}
		return out
	}
	copyKeys := func(args [][]byte) []KeyRef {
		return []KeyRef{{Pos: 1, Flags: KeyAccess}, {Pos: 2, Flags: KeyInsert}}
	}
	pub := func(args [][]byte) []ChannelRef { return []ChannelRef{{Pos: 1, Flags: ChannelPublish}} }
	sub := func(args [][]byte) []ChannelRef {
		var out []ChannelRef
		for i := 1; i < len(args); i++ {
			out = append(out, ChannelRef{Pos: i, Flags: ChannelSubscribe})
		}
		return out
	}
	psub := func(args [][]byte) []ChannelRef {
		var out []ChannelRef
		for i := 1; i < len(args); i++ {
			out = append(out, ChannelRef{Pos: i, Flags: ChannelSubscribe | ChannelPattern})
		}
		return out
	}
	return NewTable([]*Command{
		{Name: "get", Categories: CategoryBits("read", "string", "fast"), Keys: firstKey},
		{Name: "set", Categories: CategoryBits("write", "string", "slow"), Keys: rwKey},
		{Name: "lpush", Categories: CategoryBits("write", "list", "fast"), Keys: writeKey},
		{Name: "mget", Categories: CategoryBits("read", "string", "fast"), Keys: allKeys},
		{Name: "copy", Categories: CategoryBits("keyspace", "write", "slow"), Keys: copyKeys},
		{Name: "sadd", Categories: CategoryBits("write", "set", "fast"), Keys: writeKey},
		{Name: "ping", Categories: CategoryBits("connection", "fast")},
		{Name: "keys", Categories: CategoryBits("keyspace", "read", "slow", "dangerous")},
		{Name: "auth", Categories: CategoryBits("connection", "fast"), NoAuth: true},
		{Name: "select", Categories: CategoryBits("connection", "fast")},
		{Name: "publish", Categories: CategoryBits("pubsub", "fast"), Channels: pub},
		{Name: "subscribe", Categories: CategoryBits("pubsub", "slow"), Channels: sub},
		{Name: "psubscribe", Categories: CategoryBits("pubsub", "slow"), Channels: psub},
		{Name: "config", Categories: CategoryBits("slow"), Subcommands: []*Command{
			{Name: "config|get", Categories: CategoryBits("admin", "slow", "dangerous")},
			{Name: "config|set", Categories: CategoryBits("admin", "slow", "dangerous")},
		}},
		{Name: "client", Categories: CategoryBits("slow"), Subcommands: []*Command{
			{Name: "client|id", Categories: CategoryBits("slow", "connection")},
			{Name: "client|kill", Categories: CategoryBits("admin", "slow", "dangerous", "connection")},
			{Name: "client|setname", Categories: CategoryBits("slow", "connection")},
		}},
	})
}

func argv(s string) [][]byte {
	var out [][]byte
	for _, w := range strings.Fields(s) {
		out = append(out, []byte(w))
	}
	return out
}

func mustSet(t *testing.T, r *Registry, name string, ops ...string) *User {
	t.Helper()
	if err := r.SetUser(name, ops...); err != nil {
		t.Fatalf("SETUSER %s %v: %v", name, ops, err)
	}
	return r.User(name)
}

func check(t *testing.T, r *Registry, u *User, line string) (int, string) {
	t.Helper()
	args := argv(line)
	c := r.Table().Lookup(string(args[0]))
	if c != nil && c.Subcommands != nil && len(args) > 1 {
		c = r.Table().Lookup(string(args[0]) + "|" + string(args[1]))
	}
	if c == nil {
		t.Fatalf("no command %q", args[0])
	}
	res, pos := u.Check(c, args)
	if res == DeniedKey || res == DeniedChannel {
		return res, string(args[pos])
	}
	return res, ""
}

func TestDefaultUser(t *testing.T) {
	r := NewRegistry(testTable())
	u := r.Default
	if got := Line(u); got != "user default on nopass ~* &* +@all" {
		t.Fatalf("default: %q", got)
	}
	if !u.AllPermissions() {
		t.Fatal("default user should take the fast path")
	}
	if r.Authenticate([]byte("default"), []byte("anything")) != u {
		t.Fatal("nopass default should accept any password")
	}
	r.SetDefaultPassword("secret")
	if got := Line(u); got != "user default on #"+HashPassword([]byte("secret"))+" ~* &* +@all" {
		t.Fatalf("default with requirepass: %q", got)
	}
	if r.Authenticate([]byte("default"), []byte("x")) != nil || r.Authenticate([]byte("default"), []byte("secret")) != u {
		t.Fatal("requirepass not honoured")
	}
}

func TestNewUserDescription(t *testing.T) {
	r := NewRegistry(testTable())
	u := mustSet(t, r, "newuser")
	if got := Line(u); got != "user newuser off resetchannels -@all" {
		t.Fatalf("new user: %q", got)
	}
	r.PubsubAll = true
	u2 := mustSet(t, r, "other")
	if got := Line(u2); got != "user other off &* -@all" {
		t.Fatalf("new user with acl-pubsub-default allchannels: %q", got)
	}
	mustSet(t, r, "other", "reset")
	if got := Line(u2); got != "user other off sanitize-payload &* -@all" {
		t.Fatalf("after reset: %q", got)
	}
	mustSet(t, r, "hp", "on", "nopass", "resetchannels", "&foo", "+@all")
	if got := Line(r.User("hp")); got != "user hp on nopass resetchannels &foo +@all" {
		t.Fatalf("hp: %q", got)
	}
}

func TestRuleErrors(t *testing.T) {
	r := NewRegistry(testTable())
	cases := []struct {
		ops  []string
		want string
	}{
		{[]string{"+nosuch"}, "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"},
		{[]string{"+@nosuch"}, "Error in ACL SETUSER modifier '+@nosuch': Unknown command or category name in ACL"},
		{[]string{"+config|get|x"}, "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand is not supported"},
		{[]string{"+config|nosuch"}, "Error in ACL SETUSER modifier '+config|nosuch': Unknown command or category name in ACL"},
		{[]string{"-config|nosuch"}, "Error in ACL SETUSER modifier '-config|nosuch': Unknown command or category name in ACL"},
		{[]string{"+get|a|b"}, "Error in ACL SETUSER modifier '+get|a|b': Unknown command or category name in ACL"},
		{[]string{"+select|"}, "Error in ACL SETUSER modifier '+select|': Syntax error"},
		{[]string{"bogus"}, "Error in ACL SETUSER modifier 'bogus': Syntax error"},
		{[]string{"~*", "~foo"}, "Error in ACL SETUSER modifier '~foo': Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns"},
		{[]string{"&*", "&foo"}, "Error in ACL SETUSER modifier '&foo': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"},
		{[]string{"<nosuch"}, "Error in ACL SETUSER modifier '<nosuch': The password you are trying to remove from the user does not exist"},
		{[]string{"#abc"}, "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"},
		{[]string{"%X~foo"}, "Error in ACL SETUSER modifier '%X~foo': Syntax error"},
		{[]string{"(this-is-invalid)"}, "Error in ACL SETUSER modifier '(this-is-invalid)': Syntax error"},
		{[]string{"(&* &fail)"}, "Error in ACL SETUSER modifier '(&* &fail)': Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels"},
		{[]string{"("}, "Unmatched parenthesis in acl selector starting at '('."},
		{[]string{")"}, "Error in ACL SETUSER modifier ')': Syntax error"},
		{[]string{" () "}, "Error in ACL SETUSER modifier ' () ': Syntax error"},
	}
	for _, c := range cases {
		err := r.SetUser("u", c.ops...)
		if err == nil || err.Error() != c.want {
			t.Errorf("%v: got %v, want %q", c.ops, err, c.want)
		}
	}
	if r.User("u") != nil {
		t.Fatal("a failed SETUSER must not create the user")
	}
	// A failed SETUSER leaves an existing user as it was.
	mustSet(t, r, "u", "on", "+get")
	before := Line(r.User("u"))
	if err := r.SetUser("u", "+set", "+nosuch"); err == nil {
		t.Fatal("expected an error")
	}
	if Line(r.User("u")) != before {
		t.Fatalf("user changed by a failed SETUSER: %s", Line(r.User("u")))
	}
}

func TestPasswords(t *testing.T) {
	r := NewRegistry(testTable())
	u := mustSet(t, r, "u", ">p1")
	if r.Authenticate([]byte("u"), []byte("p1")) != nil {
		t.Fatal("a new user is off")
	}
	mustSet(t, r, "u", "on", ">p2", ">p1")
	if len(u.Passwords()) != 2 {
		t.Fatalf("passwords: %v", u.Passwords())
	}
	for _, p := range []string{"p1", "p2"} {
		if r.Authenticate([]byte("u"), []byte(p)) != u {
			t.Fatalf("%s refused", p)
		}
	}
	mustSet(t, r, "u", "<p1")
	if r.Authenticate([]byte("u"), []byte("p1")) != nil {
		t.Fatal("removed password still accepted")
	}
	h := "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
	mustSet(t, r, "u", "#"+h)
	if r.Authenticate([]byte("u"), []byte("passwd4")) != u {
		t.Fatal("hash not accepted")
	}
	mustSet(t, r, "u", "!"+h)
	if contains(u.Passwords(), h) {
		t.Fatal("hash not removed")
	}
	mustSet(t, r, "u", "nopass")
	if r.Authenticate([]byte("u"), []byte("zip")) != u || len(u.Passwords()) != 0 {
		t.Fatal("nopass")
	}
	mustSet(t, r, "u", "resetpass")
	if r.Authenticate([]byte("u"), []byte("zip")) != nil {
		t.Fatal("resetpass keeps nopass")
	}
	mustSet(t, r, "u", "off", "nopass")
	if r.Authenticate([]byte("u"), []byte("zip")) != nil {
		t.Fatal("disabled user authenticated")
	}
}

func TestCommandRules(t *testing.T) {
	r := NewRegistry(testTable())
	cases := []struct {
		ops  []string
		want string
	}{
		{nil, "-@all"},
		{[]string{"+@all"}, "+@all"},
		{[]string{"allcommands", "-client|kill"}, "+@all -client|kill"},
		{[]string{"+@all", "-client", "+client|id", "+client|setname"}, "+@all -client +client|id +client|setname"},
		{[]string{"-@all", "+config", "-config|set"}, "-@all +config -config|set"},
		{[]string{"+client|id"}, "-@all +client|id"},
		{[]string{"+client|id", "+client"}, "-@all +client"},
		{[]string{"+@all", "+client|id"}, "+@all"},
		{[]string{"-@all", "+select|0", "+select|1"}, "-@all +select|0 +select|1"},
		{[]string{"+@pubsub"}, "-@all +@pubsub"},
		{[]string{"+@all", "-@pubsub"}, "+@all -@pubsub"},
		{[]string{"+@all", "-@string", "+get"}, "+@all -@string +get"},
	}
	for _, c := range cases {
		mustSet(t, r, "u", append([]string{"reset"}, c.ops...)...)
		if got := r.User("u").Selectors()[0].CommandsString(); got != c.want {
			t.Errorf("%v: got %q, want %q", c.ops, got, c.want)
		}
	}
	// Every category alone round-trips, both ways.
	for _, cat := range Categories {
		bit := CategoryBit(cat)
		empty := true
		for _, c := range r.Table().all {
			if c.Categories&bit != 0 {
				empty = false
			}
		}
		if empty {
			continue
		}
		mustSet(t, r, "u", "reset", "+@all", "-@"+cat)
		if got := r.User("u").Selectors()[0].CommandsString(); got != "+@all -@"+cat {
			t.Errorf("-@%s: %q", cat, got)
		}
		mustSet(t, r, "u", "reset", "-@all", "+@"+cat)
		if got := r.User("u").Selectors()[0].CommandsString(); got != "-@all +@"+cat {
			t.Errorf("+@%s: %q", cat, got)
		}
	}
}

func TestCheck(t *testing.T) {
	r := NewRegistry(testTable())
	u := mustSet(t, r, "u", "on", "nopass")
	if res, _ := check(t, r, u, "get foo"); res != DeniedCommand {
		t.Fatalf("new user: %d", res)
	}
	if res, _ := check(t, r, u, "auth u x"); res != OK {
		t.Fatal("AUTH must be allowed to everybody")
	}
	mustSet(t, r, "u", "+get")
	if res, obj := check(t, r, u, "get foo"); res != DeniedKey || obj != "foo" {
		t.Fatalf("no keys: %d %s", res, obj)
	}
	mustSet(t, r, "u", "allcommands", "~foo:*", "~bar:*")
	for _, k := range []string{"foo:1", "bar:2"} {
		if res, _ := check(t, r, u, "set "+k+" v"); res != OK {
			t.Fatalf("set %s refused", k)
		}
	}
	if res, obj := check(t, r, u, "mget foo:1 zap:3 bar:1 zip"); res != DeniedKey || obj != "zap:3" {
		t.Fatalf("mget: %d %s", res, obj)
	}
	// %R and %W.
	mustSet(t, r, "u", "resetkeys", "%R~read*", "%W~write*", "%RW~rw*")
	for line, want := range map[string]int{
		"get read": OK, "get write": DeniedKey, "get rw": OK,
		"lpush write": OK, "lpush read": DeniedKey,
		"set rw": OK, "set read": DeniedKey, "set write": DeniedKey,
		"copy read write": OK, "copy write read": DeniedKey,
	} {
		if res, _ := check(t, r, u, line); res != want {
			t.Errorf("%s: %d, want %d", line, res, want)
		}
	}
	if got := u.Selectors()[0].KeysString(); got != "%R~read* %W~write* ~rw*" {
		t.Errorf("keys: %q", got)
	}
	mustSet(t, r, "u2", "%R~foo", "%W~foo", "%RW~bar")
	if got := r.User("u2").Selectors()[0].KeysString(); got != "~foo ~bar" {
		t.Errorf("R+W merge: %q", got)
	}
	// First arguments.
	mustSet(t, r, "u", "reset", "on", "allkeys", "+select|0")
	if res, _ := check(t, r, u, "select 0"); res != OK {
		t.Fatal("select 0")
	}
	if res, _ := check(t, r, u, "select 1"); res != DeniedCommand {
		t.Fatal("select 1")
	}
	// Subcommands.
	mustSet(t, r, "u", "+@all", "-client", "+client|id")
	if res, _ := check(t, r, u, "client id"); res != OK {
		t.Fatal("client id")
	}
	if res, _ := check(t, r, u, "client kill x"); res != DeniedCommand {
		t.Fatal("client kill")
	}
}

func TestChannels(t *testing.T) {
	r := NewRegistry(testTable())
	u := mustSet(t, r, "ps", "on", "+@pubsub")
	if res, obj := check(t, r, u, "publish foo x"); res != DeniedChannel || obj != "foo" {
		t.Fatalf("default resetchannels: %d %s", res, obj)
	}
	mustSet(t, r, "ps", "resetchannels", "&foo:1", "&bar:*")
	for line, want := range map[string]int{
		"publish foo:1 m": OK, "publish bar:2 m": OK, "publish zap:3 m": DeniedChannel,
		"subscribe foo:1 bar:2": OK, "subscribe foo:1 zap": DeniedChannel,
		"psubscribe bar:*": OK, "psubscribe bar:baz": DeniedChannel, "psubscribe foo:1": OK,
	} {
		if res, _ := check(t, r, u, line); res != want {
			t.Errorf("%s: %d, want %d", line, res, want)
		}
	}
	staged, _ := r.Stage(u, "ps", []string{"resetchannels", "&foo:1", "&bar:*", "&baz"})
	if ChannelsRevoked(u, staged) != nil {
		t.Fatal("a superset revokes nothing")
	}
	staged, _ = r.Stage(u, "ps", []string{"resetchannels"})
	kill := ChannelsRevoked(u, staged)
	if kill == nil || !kill([]byte("foo:1"), false) {
		t.Fatal("revocation not detected")
	}
	staged, _ = r.Stage(u, "ps", []string{"allchannels"})
	if ChannelsRevoked(u, staged) != nil {
		t.Fatal("allchannels revokes nothing")
	}
}

func TestSelectors(t *testing.T) {
	r := NewRegistry(testTable())
	u := mustSet(t, r, "s", "on", "nopass", "-@all", "resetkeys")
	mustSet(t, r, "s", "(+@write ~write::*)", "(", "+@read", "~read::*", ")")
	if len(u.Selectors()) != 3 {
		t.Fatalf("selectors: %d", len(u.Selectors()))
	}
	for line, want := range map[string]int{
		"set write::foo bar": OK, "get read::foo": OK,
		"get write::foo": DeniedKey, "set read::foo bar": DeniedKey, "ping": DeniedCommand,
	} {
		if res, _ := check(t, r, u, line); res != want {
			t.Errorf("%s: %d, want %d", line, res, want)
		}
	}
	want := "user s on nopass resetchannels -@all (~write::* resetchannels -@all +@write) (~read::* resetchannels -@all +@read)"
	if got := Line(u); got != want {
		t.Errorf("list: %q\nwant  %q", got, want)
	}
	// The denial reported is the last key any selector refused.
	mustSet(t, r, "l", "on", "nopass", "+mget", "~key", "(+mget ~key ~otherkey)")
	if res, obj := check(t, r, r.User("l"), "get key"); res != DeniedCommand || obj != "" {
		t.Errorf("get: %d %s", res, obj)
	}
	if res, obj := check(t, r, r.User("l"), "mget otherkey someotherkey"); res != DeniedKey || obj != "someotherkey" {
		t.Errorf("mget: %d %s", res, obj)
	}
	mustSet(t, r, "s", "clearselectors")
	if len(u.Selectors()) != 1 {
		t.Fatal("clearselectors")
	}
	mustSet(t, r, "d", "reset", "()")
	if s := r.User("d").Selectors()[1]; s.KeysString() != "" || s.ChannelsString() != "" || s.CommandsString() != "-@all" {
		t.Fatal("an empty selector has no permissions")
	}
}

func TestLog(t *testing.T) {
	var l Log
	l.MaxLen = 5
	e := LogEntry{Reason: DeniedCommand, Object: "get", Username: "a", CTime: 1000}
	l.Add(e)
	l.Add(e)
	e.Object = "set"
	l.Add(e)
	if l.Len() != 2 || l.Entries(10)[0].Object != "set" || l.Entries(10)[1].Count != 2 {
		t.Fatalf("grouping: %+v", l.Entries(10))
	}
	e.Object = "get"
	e.CTime = 2000
	l.Add(e)
	if l.Len() != 2 || l.Entries(1)[0].Object != "get" || l.Entries(1)[0].Count != 3 {
		t.Fatal("a grouped entry moves first")
	}
	e.CTime = 1000 + groupingWindow + 2000
	l.Add(e)
	if l.Len() != 3 {
		t.Fatal("events a minute apart are not grouped")
	}
	for i := 0; i < 10; i++ {
		e.Object = string(rune('a' + i))
		l.Add(e)
	}
	if l.Len() != 5 {
		t.Fatalf("max len: %d", l.Len())
	}
}

func TestFile(t *testing.T) {
	r := NewRegistry(testTable())
	text := "user alice on allcommands allkeys &* >alice\nuser bob on -@all +@set ~set* &* >bob\n\nuser default on nopass ~* &* +@all\n"
	users, err := r.ParseFile("user.acl", text)
	if err != nil {
		t.Fatal(err)
	}
	old := r.Default
	gone := r.Replace(users)
	if len(gone) != 0 || r.Default != old || len(r.Users()) != 3 {
		t.Fatalf("replace: %d gone, %d users", len(gone), len(r.Users()))
	}
	if r.Authenticate([]byte("alice"), []byte("alice")) == nil {
		t.Fatal("alice")
	}
	_, err = r.ParseFile("user.acl", text+"user alice on nopass ~* -@all\n")
	if err == nil || !strings.Contains(err.Error(), "Duplicate user 'alice' found on line 5") {
		t.Fatalf("duplicate: %v", err)
	}
	_, err = r.ParseFile("user.acl", "# comment\n")
	if err == nil || !strings.HasPrefix(err.Error(), "user.acl:1 should start with user keyword") {
		t.Fatalf("comment: %v", err)
	}
	_, err = r.ParseFile("user.acl", "user x +nosuch bogus\n")
	want := "user.acl:1: Error in applying operation '+nosuch': Unknown command or category name in ACL. user.acl:1: Syntax error. WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
	if err == nil || err.Error() != want {
		t.Fatalf("errors: %v", err)
	}
	if got := r.FileText(); !strings.HasPrefix(got, "user alice on #") {
		t.Fatalf("save: %q", got)
	}
}

func TestConfigUsers(t *testing.T) {
	r := NewRegistry(testTable())
	if err := r.CheckConfigUser([]string{"foo", "on", "+nosuch"}); err != nil {
		t.Fatalf("unknown commands are checked later: %v", err)
	}
	if err := r.CheckConfigUser([]string{"foo", "on", "bogus"}); err == nil || err.Error() != "Error in user declaration 'foo': Syntax error" {
		t.Fatalf("bad rule: %v", err)
	}
	err := r.LoadConfigUsers([]ConfigUser{{Name: "default", Rules: []string{"on", "nopass", "~*", "+@all"}}, {Name: "x", Rules: []string{"on", "nopass"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := Line(r.Default); got != "user default on nopass sanitize-payload ~* resetchannels +@all" {
		t.Fatalf("default from config: %q", got)
	}
	if err := r.LoadConfigUsers([]ConfigUser{{Name: "y", Rules: []string{"+nosuch"}}}); err == nil {
		t.Fatal("unknown command at load")
	}
}
