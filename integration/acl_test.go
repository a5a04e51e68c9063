package integration

// ACL users side by side with redis-server 7.0: each step runs on a named
// connection to both servers and the replies must be the same. Rule
// descriptions (ACL LIST, GETUSER commands) are compared as multisets of
// words, since Redis lists single commands in its hash table's order.

import (
	"context"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type aclStep struct {
	conn string // connection name: a new name opens a connection to both
	argv []string
	// cmp: "" exact; "words": strings compared as multisets of words;
	// "log": ACL LOG entries without age and client info; "type": same
	// reply type only.
	cmp string
}

type aclPair struct{ sk, rd *Conn }

func aclSteps(t *testing.T, sk, rd *Server, steps []aclStep) {
	t.Helper()
	conns := map[string]*aclPair{}
	for i, st := range steps {
		p := conns[st.conn]
		if p == nil {
			p = &aclPair{sk.Dial(t), rd.Dial(t)}
			conns[st.conn] = p
		}
		sr, serr := p.sk.Do(st.argv...)
		rr, rerr := p.rd.Do(st.argv...)
		if serr != nil {
			sr = Reply{Type: 'X'}
		}
		if rerr != nil {
			rr = Reply{Type: 'X'}
		}
		if sr.Type == 'X' || rr.Type == 'X' {
			// A closed connection: reconnect both for the next steps.
			delete(conns, st.conn)
		}
		if !aclSame(st.cmp, sr, rr) {
			t.Errorf("step %d [%s] %s:\n  skiff %s\n  redis %s", i, st.conn, fmtArgv(st.argv), sr, rr)
		}
	}
}

func aclSame(cmp string, a, b Reply) bool {
	switch cmp {
	case "type":
		return a.Type == b.Type
	case "words":
		return normWords(a).Equal(normWords(b))
	case "log":
		return normLog(a).Equal(normLog(b))
	}
	return a.Equal(b)
}

// normWords sorts the words of every string of a reply.
func normWords(r Reply) Reply {
	if r.Elems != nil {
		out := r
		out.Elems = make([]Reply, len(r.Elems))
		for i, e := range r.Elems {
			out.Elems[i] = normWords(e)
		}
		return out
	}
	w := strings.Fields(r.Str)
	sort.Strings(w)
	r.Str = strings.Join(w, " ")
	return r
}

// normLog blanks the age and client info of ACL LOG entries.
func normLog(r Reply) Reply {
	out := r
	out.Elems = make([]Reply, len(r.Elems))
	for i, e := range r.Elems {
		ne := e
		ne.Elems = append([]Reply(nil), e.Elems...)
		for j := 0; j+1 < len(ne.Elems); j += 2 {
			switch ne.Elems[j].Str {
			case "age-seconds", "client-info":
				ne.Elems[j+1] = Reply{Type: '$', Str: "-"}
			}
		}
		out.Elems[i] = ne
	}
	return out
}

func words(s string) []string { return strings.Fields(s) }

func TestACLDifferential(t *testing.T) {
	sk := StartSkiff(t)
	rd := StartRedis(t)
	h := "34344e4d60c2b6d639b7bd22e18f2b0b91bc34bf0ac5f9952744435093cfb4e6"
	steps := []aclStep{
		{"a", words("ACL WHOAMI"), ""},
		{"a", words("ACL SETUSER newuser"), ""},
		{"a", []string{"ACL", "SETUSER", "a a"}, ""},
		{"a", []string{"ACL", "SETUSER", "a\x00a"}, ""},
		{"a", words("ACL LIST"), ""},
		{"a", words("ACL USERS"), ""},
		{"a", words("ACL GETUSER newuser"), ""},
		{"a", words("ACL GETUSER nosuch"), ""},
		{"a", words("ACL SETUSER newuser >passwd1"), ""},
		{"a", words("AUTH newuser passwd1"), ""},
		{"a", words("ACL SETUSER newuser on +acl"), ""},
		{"a", words("AUTH newuser passwd1"), ""},
		{"a", words("ACL WHOAMI"), ""},
		{"a", words("ACL SETUSER newuser >passwd2"), ""},
		{"a", words("AUTH newuser passwd2"), ""},
		{"a", words("AUTH newuser passwd3"), ""},
		{"a", words("ACL SETUSER newuser <passwd1"), ""},
		{"a", words("AUTH newuser passwd1"), ""},
		{"a", words("ACL SETUSER newuser #" + h), ""},
		{"a", words("AUTH newuser passwd4"), ""},
		{"a", words("ACL SETUSER newuser #" + h[:63]), ""},
		{"a", words("ACL SETUSER newuser #" + h[:63] + "q"), ""},
		{"a", words("ACL SETUSER newuser #" + strings.ToUpper(h)), ""},
		{"a", words("ACL SETUSER newuser !" + h), ""},
		{"a", words("ACL SETUSER newuser !" + h), ""},
		{"a", words("ACL SETUSER newuser <nosuch"), ""},
		{"a", words("ACL GETUSER newuser"), ""},
		{"a", words("SET foo bar"), ""},
		{"a", words("ACL SETUSER newuser +set"), ""},
		{"a", words("SET foo bar"), ""},
		{"a", words("ACL SETUSER newuser allcommands ~foo:* ~bar:*"), ""},
		{"a", words("SET foo:1 a"), ""},
		{"a", words("SET zap:3 c"), ""},
		{"a", words("MSET foo:1 a zap:3 b"), ""},
		{"a", words("ACL SETUSER newuser allkeys"), ""},
		{"a", words("ACL SETUSER newuser ~foo"), ""},
		{"a", words("ACL SETUSER newuser &foo"), ""},
		{"a", words("AUTH default pwd"), ""},
		{"a", words("ACL SETUSER psuser on >pspass +acl +client +@pubsub"), ""},
		{"a", words("AUTH psuser pspass"), ""},
		{"a", words("PUBLISH foo bar"), ""},
		{"a", words("SPUBLISH foo bar"), ""},
		{"a", words("SUBSCRIBE foo"), ""},
		{"a", words("PSUBSCRIBE bar*"), ""},
		{"a", words("ACL SETUSER psuser resetchannels &foo:1 &bar:*"), ""},
		{"a", words("PUBLISH foo:1 m"), ""},
		{"a", words("PUBLISH bar:2 m"), ""},
		{"a", words("PUBLISH zap:3 m"), ""},
		{"a", words("ACL SETUSER psuser +multi +discard"), ""},
		{"a", words("MULTI"), ""},
		{"a", words("PUBLISH notexits helloworld"), ""},
		{"a", words("DISCARD"), ""},
		{"a", words("ACL SETUSER hpuser on nopass resetchannels &foo +@all"), ""},
		{"a", words("ACL LIST"), "words"},
		{"a", words("ACL DELUSER hpuser"), ""},
		{"a", words("ACL SETUSER newuser nopass"), ""},
		{"a", words("AUTH newuser zipzapblabla"), ""},
		{"a", words("ACL SETUSER newuser -ping"), ""},
		{"a", words("INCR mycounter"), ""},
		{"a", words("PING"), ""},
		{"a", words("ACL SETUSER newuser -@all +@set +acl"), ""},
		{"a", words("SADD myset a b c"), ""},
		{"a", words("ACL SETUSER newuser +@all -@string"), ""},
		{"a", words("SET foo bar"), ""},
		{"a", words("ACL GETUSER newuser"), "words"},
		{"a", words("ACL SETUSER newuser allcommands"), ""},
		{"a", words("ACL SETUSER newuser +@all -client"), ""},
		{"a", words("ACL SETUSER newuser +client|id +client|setname"), ""},
		{"a", words("ACL GETUSER newuser"), "words"},
		{"a", words("CLIENT ID"), "type"},
		{"a", words("CLIENT KILL type master"), ""},
		{"a", words("ACL SETUSER newuser +@all -client|kill"), ""},
		{"a", words("ACL GETUSER newuser"), ""},
		{"a", words("ACL SETUSER newuser -@all +acl +config -config|set"), ""},
		{"a", words("ACL GETUSER newuser"), "words"},
		{"a", words("CONFIG GET loglevel"), ""},
		{"a", words("CONFIG SET loglevel debug"), ""},
		{"a", words("ACL SETUSER newuser +@all -config|get"), ""},
		{"a", words("ACL SETUSER newuser +config|get|appendonly"), ""},
		{"a", words("ACL SETUSER newuser +@all +config|asdf"), ""},
		{"a", words("ACL SETUSER newuser +@all -config|asdf"), ""},
		{"a", words("ACL SETUSER newuser +@all +get|key1|key2"), ""},
		{"a", words("ACL SETUSER newuser -@all +acl +select|0"), ""},
		{"a", words("ACL GETUSER newuser"), "words"},
		{"a", words("SELECT 0"), ""},
		{"a", words("SELECT 1"), ""},
		{"a", words("ACL SETUSER newuser -@all +acl +incr +debug|object"), ""},
		{"a", words("ACL GETUSER newuser"), "words"},
		{"a", words("INCR key"), ""},
		{"a", words("DEBUG SEGFAULT"), ""},
		{"a", words("ACL SETUSER newuser +select|"), ""},
		{"a", words("ACL SETUSER bob +memory|doctor"), ""},
		{"a", words("ACL GETUSER bob"), ""},
		{"a", words("ACL SETUSER bob +memory"), ""},
		{"a", words("ACL GETUSER bob"), ""},
		{"a", words("ACL SETUSER bob +@all +client|id"), ""},
		{"a", words("ACL GETUSER bob"), ""},
		{"a", words("ACL SETUSER alice +@all -memory|doctor"), ""},
		{"a", words("ACL GETUSER alice"), ""},
		{"a", words("ACL SETUSER alice +@all -memory"), ""},
		{"a", words("ACL GETUSER alice"), ""},
		{"a", words("ACL SETUSER newuser reset +@all ~* -@string +incr -debug +debug|digest"), ""},
		{"a", words("ACL GETUSER newuser"), "words"},
		{"a", words("ACL SETUSER newuser reset +@string -incr +acl +debug|digest +debug|segfault"), ""},
		{"a", words("ACL GETUSER newuser"), "words"},
		{"a", words("ACL CAT"), ""},
		{"a", words("ACL CAT NON_EXISTS"), ""},
		{"a", words("ACL CAT NON_EXISTS NON_EXISTS2"), ""},
		{"a", words("ACL HELP"), ""},
		{"a", words("ACL HELP xxx"), ""},
		{"a", words("ACL GENPASS -236"), ""},
		{"a", words("ACL GENPASS 5000"), ""},
		{"a", words("ACL GENPASS abc"), ""},
		{"a", words("ACL DELUSER default"), ""},
		{"a", words("ACL DELUSER nosuch1 nosuch2"), ""},
		{"a", words("ACL LOAD"), ""},
		{"a", words("ACL SAVE"), ""},
		{"a", words("ACL NOSUCH"), ""},
		{"a", words("ACL LOG NOTANUMBER"), ""},
		// Selectors.
		{"a", words("AUTH default x"), ""},
		{"a", words("ACL SETUSER selector-1 on -@all resetkeys nopass"), ""},
		{"a", words("ACL SETUSER selector-1 (+@write ~write::*) (+@read ~read::*)"), ""},
		{"b", words("AUTH selector-1 password"), ""},
		{"b", words("PING"), ""},
		{"b", words("SET write::foo bar"), ""},
		{"b", words("GET read::foo"), ""},
		{"b", words("GET write::foo"), ""},
		{"b", words("SET read::foo bar"), ""},
		{"a", words("ACL SETUSER selector-default reset ()"), ""},
		{"a", words("ACL GETUSER selector-default"), ""},
		{"a", []string{"ACL", "SETUSER", "selector-del", "on", "(~added-selector)"}, ""},
		{"a", words("ACL GETUSER selector-del"), "words"},
		{"a", words("ACL SETUSER selector-del clearselectors"), ""},
		{"a", words("ACL GETUSER selector-del"), ""},
		{"a", words("ACL SETUSER selector-syntax on (this-is-invalid)"), ""},
		{"a", words("ACL SETUSER selector-syntax on (&* &fail)"), ""},
		{"a", words("ACL GETUSER selector-syntax"), ""},
		{"a", []string{"ACL", "SETUSER", "selector-2", "(~key1 +get )", "( ~key2 +get )", "( ~key3 +get)", "(~key4 +get)"}, ""},
		{"a", words("ACL SETUSER selector-2 (~key5 +get ) ( ~key6 +get ) ( ~key7 +get) (~key8 +get)"), ""},
		{"a", words("ACL GETUSER selector-2"), ""},
		{"a", []string{"ACL", "SETUSER", "invalid-selector", " () "}, ""},
		{"a", words("ACL SETUSER invalid-selector ("), ""},
		{"a", words("ACL SETUSER invalid-selector )"), ""},
		{"a", words("ACL SETUSER key-permission-RW on nopass %R~read* %W~write* +@all"), ""},
		{"a", words("SET read bar"), ""},
		{"b", words("AUTH key-permission-RW password"), ""},
		{"b", words("COPY read write"), ""},
		{"b", words("COPY write read"), ""},
		{"b", words("LPUSH writelist 10"), ""},
		{"b", words("GET writestr"), ""},
		{"a", words("ACL SETUSER set-key-permission-W on nopass %W~write* +@all"), ""},
		{"b", words("AUTH set-key-permission-W password"), ""},
		{"b", words("SET writestr bar"), ""},
		{"b", words("SET writestr get"), ""},
		{"b", words("SET get writestr"), ""},
		{"b", words("SET writestr bar get"), ""},
		{"b", words("SET writestr bar ex get"), ""},
		{"b", words("BITFIELD writestr get u4 0"), ""},
		{"b", words("BITFIELD writestr set u4 0 1"), ""},
		{"a", words("ACL SETUSER bitfield-R on nopass %R~read* +@all"), ""},
		{"b", words("AUTH bitfield-R password"), ""},
		{"b", words("BITFIELD readstr get u4 0"), ""},
		{"b", words("BITFIELD readstr set u4 0 1"), ""},
		{"b", words("BITFIELD readstr get u4 0 set u4 0 1"), ""},
		{"a", words("ACL SETUSER selector-info -@all +get resetchannels &channel1 %R~foo1 %W~bar1 ~baz1"), ""},
		{"a", words("ACL SETUSER selector-info (-@all +set resetchannels &channel2 %R~foo2 %W~bar2 ~baz2)"), ""},
		{"a", words("ACL GETUSER selector-info"), ""},
		{"a", words("ACL SETUSER user-idempotency off -@all +get resetchannels &channel1 %R~foo1 %W~bar1 ~baz1 (-@all +set resetchannels &channel2 %R~foo2 %W~bar2 ~baz2)"), ""},
		{"a", words("ACL SETUSER selector-rw-info %R~foo %W~foo %RW~bar"), ""},
		{"a", words("ACL LIST"), "words"},
		{"a", words("ACL SETUSER command-test +@all %R~read* %W~write* %RW~rw*"), ""},
		{"a", words("ACL DRYRUN command-test GET read"), ""},
		{"a", words("ACL DRYRUN not-a-user GET read"), ""},
		{"a", words("ACL DRYRUN command-test not-a-command read"), ""},
		{"a", words("ACL DRYRUN command-test SET v"), ""},
		{"a", words("ACL DRYRUN command-test SET"), ""},
		{"a", words("ACL DRYRUN command-test CONFIG nosuch"), ""},
		{"a", words("ACL DRYRUN command-test HEXISTS read foo"), ""},
		{"a", words("ACL DRYRUN command-test HEXISTS nothing foo"), ""},
		{"a", words("ACL DRYRUN command-test SISMEMBER write foo"), ""},
		{"a", words("ACL DRYRUN command-test SINTERCARD 2 read read"), ""},
		{"a", words("ACL DRYRUN command-test SINTERCARD 2 write read"), ""},
		{"a", words("ACL DRYRUN command-test ZCOUNT write 0 1"), ""},
		{"a", words("ACL DRYRUN command-test PFCOUNT write read"), ""},
		{"a", words("ACL DRYRUN command-test ZINTERCARD 2 nothing read"), ""},
		{"a", words("ACL DRYRUN command-test touch write"), ""},
		{"a", words("ACL DRYRUN command-test exists nothing"), ""},
		{"a", words("ACL DRYRUN command-test MEMORY USAGE write"), ""},
		{"a", words("ACL DRYRUN command-test TYPE nothing"), ""},
		{"a", words("ACL DRYRUN command-test STRLEN write"), ""},
		{"a", words("ACL DRYRUN command-test LLEN nothing"), ""},
		{"a", words("ACL DRYRUN command-test ZUNIONSTORE write 2 read rw"), ""},
		{"a", words("ACL DRYRUN command-test ZUNIONSTORE read 2 read rw"), ""},
		{"a", words("ACL DRYRUN command-test ZUNIONSTORE read x read rw"), ""},
		{"a", words("ACL DRYRUN command-test LMPOP 2 rw1 rw2 LEFT"), ""},
		{"a", words("ACL DRYRUN command-test RENAME rw read"), ""},
		{"a", words("ACL DRYRUN command-test SMOVE rw write m"), ""},
		{"a", words("ACL SETUSER test-channels +@all resetchannels &channel"), ""},
		{"a", words("ACL DRYRUN test-channels spublish channel foo"), ""},
		{"a", words("ACL DRYRUN test-channels ssubscribe channel"), ""},
		{"a", words("ACL DRYRUN test-channels sunsubscribe otherchannel"), ""},
		{"a", words("ACL DRYRUN test-channels spublish otherchannel foo"), ""},
		{"a", words("ACL DRYRUN test-channels ssubscribe otherchannel foo"), ""},
		{"a", words("ACL DRYRUN test-channels psubscribe chan*"), ""},
		// The log.
		{"a", words("ACL LOG RESET"), ""},
		{"a", words("ACL SETUSER antirez >foo on +set ~object:1234"), ""},
		{"a", words("ACL SETUSER antirez +eval +multi +exec"), ""},
		{"a", words("ACL SETUSER antirez resetchannels +publish"), ""},
		{"c", words("AUTH antirez foo"), ""},
		{"c", words("GET foo"), ""},
		{"c", words("GET foo"), ""},
		{"c", words("SET somekeynotallowed 1234"), ""},
		{"c", words("PUBLISH somechannelnotallowed nullmsg"), ""},
		{"c", words("MULTI"), ""},
		{"c", words("INCR foo"), ""},
		{"c", words("EXEC"), ""},
		{"c", words("AUTH antirez wrong-password"), ""},
		{"c", words("AUTH nosuchuser x"), ""},
		{"a", words("ACL LOG"), "log"},
		{"a", words("ACL LOG 2"), "log"},
		{"a", words("ACL LOG -1"), "log"},
		{"a", words("ACL SETUSER antirez +incr"), ""},
		{"c", words("MULTI"), ""},
		{"c", words("INCR object:1234"), ""},
		{"a", words("ACL SETUSER antirez -incr"), ""},
		{"c", words("EXEC"), ""},
		{"a", words("ACL LOG 1"), "log"},
		{"a", words("CONFIG SET acllog-max-len 2"), ""},
		{"c", words("GET a"), ""},
		{"c", words("GET b"), ""},
		{"c", words("SET c d"), ""},
		{"a", words("ACL LOG"), "log"},
		{"a", words("ACL LOG RESET"), ""},
		{"a", words("ACL LOG"), ""},
		// HELLO AUTH, disabled users, DELUSER.
		{"a", words("ACL SETUSER secure-user >supass on +@all"), ""},
		{"a", words("ACL SETUSER default -@all"), ""},
		{"a", words("PING"), ""},
		{"a", words("HELLO 2 AUTH secure-user supass"), "type"},
		{"a", words("HELLO 2 AUTH secure-user wrong"), ""},
		{"a", words("ACL SETUSER default nopass +@all"), ""},
		{"a", words("AUTH default x"), ""},
		{"a", words("ACL SETUSER not_used on >passwd"), ""},
		{"a", words("ACL DELUSER not_used"), ""},
		{"a", words("PING"), ""},
		{"a", words("ACL SETUSER using on +acl >passwd"), ""},
		{"a", words("AUTH using passwd"), ""},
		{"a", words("ACL DELUSER using"), ""},
		{"a", words("PING"), ""},
		{"d", words("ACL SETUSER default off"), ""},
		{"d", words("PING"), ""},
		{"e", words("PING"), ""},
		{"e", words("HELLO 2"), ""},
		{"e", words("AUTH secure-user supass"), ""},
		{"e", words("ACL WHOAMI"), ""},
		{"e", words("ACL SETUSER default on"), ""},
		{"e", words("CLIENT KILL USER nosuch"), ""},
		{"e", words("CLIENT KILL USER default"), "type"},
		{"e", words("AUTH default"), ""},
		{"e", words("ACL SETUSER default resetpass >secret"), ""},
		{"e", words("AUTH secret"), ""},
		{"e", words("AUTH default nope"), ""},
		{"e", words("ACL SETUSER default nopass"), ""},
		{"e", words("AUTH x"), ""},
		{"e", words("ACL SETUSER default reset"), ""},
		{"e", words("ACL GETUSER default"), ""},
		{"f", words("PING"), ""},
		{"e", words("ACL SETUSER default on nopass ~* &* +@all"), ""},
		{"e", words("ACL LIST"), "words"},
		// requirepass and the default user.
		{"e", words("CONFIG SET requirepass pw"), ""},
		{"e", words("ACL LIST"), ""},
		{"g", words("PING"), ""},
		{"g", words("AUTH pw"), ""},
		{"g", words("CONFIG SET requirepass"), ""},
		{"g", []string{"CONFIG", "SET", "requirepass", ""}, ""},
		{"g", words("ACL LIST"), "words"},
		{"g", words("CONFIG SET acl-pubsub-default allchannels"), ""},
		{"g", words("ACL SETUSER allch"), ""},
		{"g", words("ACL SETUSER allch &foo"), ""},
		{"g", words("ACL SETUSER allch reset"), ""},
		{"g", words("ACL GETUSER allch"), ""},
		{"g", words("CONFIG GET acl-pubsub-default"), ""},
		{"g", words("CONFIG SET acl-pubsub-default resetchannels"), ""},
		{"g", words("ACL GETUSER allch"), ""},
	}
	aclSteps(t, sk, rd, steps)
}

// TestACLPubsubRevocation: subscribers lose their connection when their
// user's channel rights shrink, and keep it when they grow.
func TestACLPubsubRevocation(t *testing.T) {
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind, func(t *testing.T) {
			var s *Server
			if kind == "skiff" {
				s = StartSkiff(t)
			} else {
				s = StartRedis(t)
			}
			admin := s.Dial(t)
			admin.MustDo(t, "ACL", "SETUSER", "psuser", "on", ">pspass", "+@all", "resetchannels", "&foo:1", "&bar:*", "&orders")
			sub := s.Dial(t)
			for _, cmd := range [][]string{{"AUTH", "psuser", "pspass"}, {"CLIENT", "SETNAME", "pardoned"}, {"SUBSCRIBE", "foo:1"}, {"SSUBSCRIBE", "orders"}, {"PSUBSCRIBE", "bar:*"}} {
				sub.MustDo(t, cmd...)
			}
			admin.MustDo(t, "ACL", "SETUSER", "psuser", "resetchannels", "&foo:1", "&bar:*", "&orders", "&baz:qaz", "&zoo:*")
			if r := admin.MustDo(t, "CLIENT", "LIST"); !strings.Contains(r.Str, "name=pardoned") {
				t.Fatalf("a superset killed the subscriber")
			}
			admin.MustDo(t, "ACL", "SETUSER", "psuser", "allchannels")
			if r := admin.MustDo(t, "CLIENT", "LIST"); !strings.Contains(r.Str, "name=pardoned") {
				t.Fatalf("allchannels killed the subscriber")
			}
			admin.MustDo(t, "ACL", "SETUSER", "psuser", "resetchannels", "&foo:1")
			if r := admin.MustDo(t, "CLIENT", "LIST"); strings.Contains(r.Str, "name=pardoned") {
				t.Fatalf("the subscriber survived the revocation")
			}
			if r := admin.MustDo(t, "CLIENT", "LIST"); !strings.Contains(r.Str, "user=default") {
				t.Fatalf("CLIENT LIST user field: %s", r.Str)
			}
		})
	}
}

// TestACLFile: aclfile, ACL LOAD/SAVE, and config-file users with CONFIG
// REWRITE, on skiff and redis alike.
func TestACLFile(t *testing.T) {
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "users.acl")
			os.WriteFile(file, []byte("user alice on allcommands allkeys &* >alice\nuser bob on -@all +@set +acl ~set* &* >bob\nuser default on nopass ~* &* +@all\n"), 0o644)
			start := StartSkiff
			if kind == "redis" {
				start = StartRedis
			}
			s := start(t, "--aclfile", file)
			c := s.Dial(t)
			if r := c.MustDo(t, "AUTH", "bob", "bob"); r.Str != "OK" {
				t.Fatalf("AUTH bob: %s", r)
			}
			if r := c.MustDo(t, "SET", "k", "v"); !r.IsError() || !strings.HasPrefix(r.Str, "NOPERM") {
				t.Fatalf("bob SET: %s", r)
			}
			c.MustDo(t, "ACL", "SETUSER", "eve", "+get", "allkeys", ">eve", "on")
			if r := c.MustDo(t, "ACL", "SAVE"); r.Str != "OK" {
				t.Fatalf("ACL SAVE: %s", r)
			}
			data, _ := os.ReadFile(file)
			if !strings.Contains(string(data), "user eve on #") {
				t.Fatalf("saved file:\n%s", data)
			}
			if r := c.MustDo(t, "ACL", "LOAD"); r.Str != "OK" {
				t.Fatalf("ACL LOAD: %s", r)
			}
			if _, err := c.Do("PING"); err == nil {
				t.Fatal("ACL LOAD must close the connections of the replaced users")
			}
			c = s.Dial(t)
			c.MustDo(t, "AUTH", "eve", "eve")
			os.WriteFile(file, append(data, []byte("user alice on nopass ~* -@all\n")...), 0o644)
			a := s.Dial(t)
			a.MustDo(t, "AUTH", "alice", "alice")
			r := a.MustDo(t, "ACL", "LOAD")
			if !r.IsError() || !strings.Contains(r.Str, "Duplicate user 'alice' found") {
				t.Fatalf("duplicate: %s", r)
			}
			if r := a.MustDo(t, "ACL", "WHOAMI"); r.Str != "alice" {
				t.Fatalf("a failed ACL LOAD changed nothing: %s", r)
			}
		})
	}
}

// TestACLConfigUsers: "user" directives of the config file, and CONFIG
// REWRITE writing the users back, on skiff and redis alike.
func TestACLConfigUsers(t *testing.T) {
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			conf := filepath.Join(dir, "acl.conf")
			os.WriteFile(conf, []byte("user default on nopass ~* +@all -flushdb\nuser worker on >w ~job:* +@list\n"), 0o644)
			s := startWithConf(t, kind, conf)
			c := s.Dial(t)
			if r := c.MustDo(t, "FLUSHDB"); !r.IsError() || r.Str != "NOPERM this user has no permissions to run the 'flushdb' command" {
				t.Fatalf("FLUSHDB: %s", r)
			}
			if r := c.MustDo(t, "PUBLISH", "x", "y"); !r.IsError() {
				t.Fatalf("default without channels published: %s", r)
			}
			if r := c.MustDo(t, "CONFIG", "REWRITE"); r.Str != "OK" {
				t.Fatalf("CONFIG REWRITE: %s", r)
			}
			data, _ := os.ReadFile(conf)
			var users []string
			for _, l := range strings.Split(string(data), "\n") {
				if strings.HasPrefix(l, "user ") {
					users = append(users, l)
				}
			}
			if len(users) != 2 || users[0] != "user default on nopass sanitize-payload ~* resetchannels +@all -flushdb" ||
				!strings.HasPrefix(users[1], "user worker on #") || !strings.HasSuffix(users[1], " ~job:* resetchannels -@all +@list") {
				t.Fatalf("rewritten users: %q", users)
			}
			s.Stop() // removes its data dir: the rewritten dir line must go
			os.WriteFile(conf, []byte(strings.Join(users, "\n")+"\n"), 0o644)
			s = startWithConf(t, kind, conf)
			c = s.Dial(t)
			if r := c.MustDo(t, "FLUSHDB"); !r.IsError() {
				t.Fatalf("FLUSHDB after the rewrite: %s", r)
			}
		})
	}
	// A user defined twice stops the start-up.
	for _, kind := range []string{"skiff", "redis"} {
		bin, args := skiffBin, []string{"server", "--port", "0", "--user", "foo", "--user", "foo"}
		if kind == "redis" {
			bin, args = redisBin, args[1:]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		cancel()
		if err == nil || !strings.Contains(string(out), "Duplicate user") {
			t.Errorf("%s --user foo --user foo: %v\n%s", kind, err, out)
		}
	}
}

// startWithConf starts a server of kind with conf as its config file.
func startWithConf(t *testing.T, kind, conf string) *Server {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp(filepath.Dir(conf), "data-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Kind: kind, Port: port, Dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	common := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"}
	bin, args := skiffBin, append([]string{"server", conf}, common...)
	if kind == "redis" {
		bin, args = redisBin, append([]string{conf}, common...)
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	t.Cleanup(s.Stop)
	if err := s.waitReady(10 * time.Second); err != nil {
		t.Fatalf("%s: %v\n%s", kind, err, s.LogTail(4<<10))
	}
	return s
}

// TestACLMasterUser: a replica authenticates to its master as masteruser
// with masterauth; the master's user needs only PSYNC, REPLCONF and
// PING. Skiff on either side, redis-server on the other.
func TestACLMasterUser(t *testing.T) {
	for _, pair := range [][2]string{{"skiff", "skiff"}, {"redis", "skiff"}, {"skiff", "redis"}} {
		t.Run(pair[0]+"-master-"+pair[1]+"-replica", func(t *testing.T) {
			master := startServer(t, pair[0], replOpts)
			replica := startServer(t, pair[1], replOpts)
			mc := master.Dial(t)
			mc.MustDo(t, "ACL", "SETUSER", "repl", "on", ">rpw", "+psync", "+replconf", "+ping")
			mc.MustDo(t, "ACL", "SETUSER", "default", "resetpass", ">adminpw")
			rc := replica.Dial(t)
			// A wrong password first: the link stays down.
			rc.MustDo(t, "CONFIG", "SET", "masteruser", "repl")
			rc.MustDo(t, "CONFIG", "SET", "masterauth", "nope")
			rc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port))
			time.Sleep(1500 * time.Millisecond)
			if st := infoField(t, rc, "replication", "master_link_status"); st != "down" {
				t.Fatalf("link with a wrong password: %s", st)
			}
			rc.MustDo(t, "CONFIG", "SET", "masterauth", "rpw")
			rc.MustDo(t, "REPLICAOF", "NO", "ONE")
			rc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port))
			mc.MustDo(t, "AUTH", "adminpw")
			mc.MustDo(t, "SET", "k", "v")
			waitInSync(t, mc, rc)
			if r := rc.MustDo(t, "GET", "k"); r.Str != "v" {
				t.Fatalf("replica GET k: %s", r)
			}
			if r := mc.MustDo(t, "CLIENT", "LIST", "TYPE", "replica"); !strings.Contains(r.Str, "user=repl") {
				t.Fatalf("master's CLIENT LIST of the replica: %s", r.Str)
			}
		})
	}
}

// TestACLRedaction: credentials never reach MONITOR or the slow log.
func TestACLRedaction(t *testing.T) {
	cmds := [][]string{
		{"AUTH", "default", "x"},
		{"AUTH", "x"},
		{"AUTH", "a", "b", "c"},
		{"HELLO", "2", "AUTH", "default", "x", "SETNAME", "foo"},
		{"HELLO", "9", "AUTH", "default", "x"},
		{"ACL", "SETUSER", "u", ">pw", "on"},
		{"CONFIG", "SET", "masterauth", "secret", "maxmemory-samples", "5"},
	}
	got := map[string][]string{}
	for _, kind := range []string{"skiff", "redis"} {
		s := startServer(t, kind, nil)
		c := s.Dial(t)
		c.MustDo(t, "CONFIG", "SET", "slowlog-log-slower-than", "0")
		c.MustDo(t, "SLOWLOG", "RESET")
		mon := s.Dial(t)
		mon.MustDo(t, "MONITOR")
		for _, cmd := range cmds {
			c.MustDo(t, cmd...)
		}
		c.MustDo(t, "PING")
		var lines []string
		for {
			r, err := mon.Read()
			if err != nil {
				t.Fatalf("%s monitor: %v", kind, err)
			}
			line := r.Str[strings.Index(r.Str, "] ")+2:]
			if line == `"PING"` {
				break
			}
			lines = append(lines, "monitor "+line)
		}
		r := c.MustDo(t, "SLOWLOG", "GET", "20")
		for i := len(r.Elems) - 1; i >= 0; i-- {
			var args []string
			for _, a := range r.Elems[i].Elems[3].Elems {
				args = append(args, a.Str)
			}
			lines = append(lines, "slowlog "+strings.Join(args, " "))
		}
		got[kind] = lines
	}
	if strings.Join(got["skiff"], "\n") != strings.Join(got["redis"], "\n") {
		t.Fatalf("skiff:\n%s\nredis:\n%s", strings.Join(got["skiff"], "\n"), strings.Join(got["redis"], "\n"))
	}
}

// TestACLDescribeRandom: random command rules, described by both
// servers. The categories part is compared as is, the single commands
// (which Redis lists in hash table order) as a set.
func TestACLDescribeRandom(t *testing.T) {
	sk := StartSkiff(t)
	rd := StartRedis(t)
	skc, rdc := sk.Dial(t), rd.Dial(t)
	var names []string
	for _, e := range rdc.MustDo(t, "COMMAND", "LIST").Elems {
		names = append(names, e.Str)
	}
	sort.Strings(names)
	cats := rdc.MustDo(t, "ACL", "CAT").Elems
	r := newRand(t)
	for i := 0; i < 300; i++ {
		rules := []string{"reset"}
		for n := r.Intn(6) + 1; n > 0; n-- {
			sign := "+"
			if r.Intn(2) == 0 {
				sign = "-"
			}
			switch r.Intn(5) {
			case 0, 1:
				rules = append(rules, sign+"@"+cats[r.Intn(len(cats))].Str)
			case 2:
				rules = append(rules, sign+names[r.Intn(len(names))])
			case 3:
				rules = append(rules, []string{"allcommands", "nocommands", "+@all", "-@all"}[r.Intn(4)])
			case 4:
				rules = append(rules, "+"+[]string{"select", "debug", "get"}[r.Intn(3)]+"|"+[]string{"0", "1", "object"}[r.Intn(3)])
			}
		}
		argv := append([]string{"ACL", "SETUSER", "u"}, rules...)
		sr, rr := skc.MustDo(t, argv...), rdc.MustDo(t, argv...)
		if !sr.Equal(rr) {
			t.Fatalf("%v: skiff %s, redis %s", rules, sr, rr)
		}
		sg := skc.MustDo(t, "ACL", "GETUSER", "u")
		rg := rdc.MustDo(t, "ACL", "GETUSER", "u")
		if a, b := ruleParts(sg.Elems[5].Str), ruleParts(rg.Elems[5].Str); a != b {
			t.Fatalf("%v:\n  skiff %s\n  redis %s", rules, sg.Elems[5].Str, rg.Elems[5].Str)
		}
	}
}

// ruleParts splits a rule description into its ordered head (+@all or
// -@all and categories) and its sorted single-command rules.
func ruleParts(s string) string {
	w := strings.Fields(s)
	i := 0
	for i < len(w) && strings.HasPrefix(w[i][1:], "@") {
		i++
	}
	var rest []string
	for _, x := range w[i:] {
		if !laterCommandRule(x) {
			rest = append(rest, x)
		}
	}
	sort.Strings(rest)
	return strings.Join(w[:i], " ") + " | " + strings.Join(rest, " ")
}

// laterCommandRule tells a rule about a command Skiff has from a later
// version (7.2's CLIENT NO-TOUCH, the atomic slot migration subcommands of
// Valkey 9.0 and Redis 8.4) that redis-server 7.0 never lists.
func laterCommandRule(rule string) bool {
	for _, c := range []string{"client|no-touch", "cluster|migrateslots", "cluster|getslotmigrations", "cluster|cancelslotmigrations", "cluster|migration"} {
		if strings.HasSuffix(rule, c) {
			return true
		}
	}
	return false
}

// TestACLDryRunKeys: which keys of random command lines a user with %R,
// %W and RW patterns may touch, decided by both servers.
func TestACLDryRunKeys(t *testing.T) {
	sk := StartSkiff(t)
	rd := StartRedis(t)
	skc, rdc := sk.Dial(t), rd.Dial(t)
	setup := []string{"ACL", "SETUSER", "k", "on", "+@all", "%R~r*", "%W~w*", "~rw*", "resetchannels", "&ch*"}
	skc.MustDo(t, setup...)
	rdc.MustDo(t, setup...)
	// Commands both servers have: Skiff also has later versions' commands
	// (CLIENT NO-TOUCH, CLUSTER MIGRATESLOTS ...) that 7.0 does not know.
	inRedis := map[string]bool{}
	for _, e := range rdc.MustDo(t, "COMMAND", "LIST").Elems {
		inRedis[e.Str] = true
	}
	var cmds []string
	for _, e := range skc.MustDo(t, "COMMAND", "LIST").Elems {
		if e.Str != "acl|dryrun" && inRedis[e.Str] {
			cmds = append(cmds, e.Str)
		}
	}
	sort.Strings(cmds)
	tokens := []string{"r1", "w1", "rw1", "x1", "r2", "w2", "ch1", "zz", "0", "1", "2", "3", "-1", "GET", "STORE", "KEYS", "STREAMS", "LIMIT", "BY", "WEIGHTS", "LEFT", "get", "set", "u4", "ex", "10"}
	r := newRand(t)
	for i := 0; i < 3000; i++ {
		name := cmds[r.Intn(len(cmds))]
		argv := strings.Split(name, "|")
		for n := r.Intn(7); n > 0; n-- {
			argv = append(argv, tokens[r.Intn(len(tokens))])
		}
		full := append([]string{"ACL", "DRYRUN", "k"}, argv...)
		sr, rr := skc.MustDo(t, full...), rdc.MustDo(t, full...)
		if !sr.Equal(rr) {
			t.Errorf("%s:\n  skiff %s\n  redis %s", fmtArgv(argv), sr, rr)
		}
	}
}

func newRand(t *testing.T) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1e12
	}
	t.Logf("seed %d (rerun: -run %s -seed=%d)", seed, t.Name(), seed)
	return rand.New(rand.NewSource(seed))
}
