package integration

// Replication interop: skiff and redis-server as master and replica of
// each other, partial resync, PSYNC2 after a promotion, backlog overflow
// and a misbehaving master. Run with
//	go test ./integration/ -run 'TestRepl'

import (
	"bufio"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// replOpts make a master start streaming at once (Redis waits 5 s for
// more replicas before a diskless transfer by default).
var replOpts = []string{"--repl-diskless-sync-delay", "0"}

// infoField returns one field of INFO section.
func infoField(t testing.TB, c *Conn, section, field string) string {
	t.Helper()
	r := c.MustDo(t, "INFO", section)
	for _, line := range strings.Split(r.Str, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			return v
		}
	}
	return ""
}

func infoInt(t testing.TB, c *Conn, section, field string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(infoField(t, c, section, field), 10, 64)
	if err != nil {
		t.Fatalf("INFO %s %s: %v", section, field, err)
	}
	return n
}

// waitFor polls cond every 50 ms until it holds or the deadline passes.
func replWaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitInSync waits until the replica's link is up and its offset equals
// the master's.
func waitInSync(t testing.TB, master, replica *Conn) {
	t.Helper()
	replWaitFor(t, "replica in sync", 20*time.Second, func() bool {
		if infoField(t, replica, "replication", "master_link_status") != "up" {
			return false
		}
		mo := infoInt(t, master, "replication", "master_repl_offset")
		ro := infoInt(t, replica, "replication", "master_repl_offset")
		// A fresh master's offset may still be 0: "up" already means the
		// sync is complete.
		return mo == ro
	})
}

// fillAllTypes writes keys of every type, some with TTLs, in two dbs.
func fillAllTypes(t testing.TB, c *Conn, tag string) {
	t.Helper()
	for db := 0; db < 2; db++ {
		c.MustDo(t, "SELECT", strconv.Itoa(db))
		for i := 0; i < 50; i++ {
			n := strconv.Itoa(i)
			c.MustDo(t, "SET", tag+"str"+n, strings.Repeat("v", i)+n)
			c.MustDo(t, "RPUSH", tag+"list"+strconv.Itoa(i%5), n, "x"+n)
			c.MustDo(t, "HSET", tag+"hash"+strconv.Itoa(i%5), "f"+n, n)
			c.MustDo(t, "SADD", tag+"set"+strconv.Itoa(i%5), n)
			c.MustDo(t, "SADD", tag+"sset"+strconv.Itoa(i%5), "m"+n)
			c.MustDo(t, "ZADD", tag+"zset"+strconv.Itoa(i%5), strconv.Itoa(i*3), "m"+n)
		}
		c.MustDo(t, "SET", tag+"int", "12345")
		c.MustDo(t, "INCRBYFLOAT", tag+"float", "1.5")
		c.MustDo(t, "SET", tag+"ttl", "v", "EX", "1000")
		c.MustDo(t, "PEXPIRE", tag+"hash1", "500000")
		c.MustDo(t, "PFADD", tag+"hll", "a", "b", "c")
	}
	c.MustDo(t, "SELECT", "0")
}

// snapshot describes a dataset key by key: type, contents, and TTL
// rounded to 10 s (TTLs are compared within that tolerance).
func snapshot(t testing.TB, c *Conn) map[string]string {
	t.Helper()
	out := map[string]string{}
	for db := 0; db < 4; db++ {
		c.MustDo(t, "SELECT", strconv.Itoa(db))
		keys := c.MustDo(t, "KEYS", "*")
		for _, k := range keys.Elems {
			key := k.Str
			typ := c.MustDo(t, "TYPE", key).Str
			var val string
			switch typ {
			case "string":
				val = c.MustDo(t, "GET", key).Str
			case "list":
				val = c.MustDo(t, "LRANGE", key, "0", "-1").String()
			case "hash":
				val = sortedElems(c.MustDo(t, "HGETALL", key))
			case "set":
				val = sortedElems(c.MustDo(t, "SMEMBERS", key))
			case "zset":
				val = c.MustDo(t, "ZRANGE", key, "0", "-1", "WITHSCORES").String()
			}
			ttl := c.MustDo(t, "PTTL", key).Int
			if ttl > 0 {
				ttl = (ttl + 5000) / 10000
			}
			out[fmt.Sprintf("%d/%s", db, key)] = fmt.Sprintf("%s %s ttl~%d", typ, val, ttl)
		}
	}
	c.MustDo(t, "SELECT", "0")
	return out
}

func sortedElems(r Reply) string {
	var s []string
	for _, e := range r.Elems {
		s = append(s, e.Str)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func sameData(t testing.TB, master, replica *Conn) {
	t.Helper()
	a, b := snapshot(t, master), snapshot(t, replica)
	if len(a) == 0 {
		t.Fatal("master has no data: the test is not testing anything")
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("key %s: master %q, replica %q", k, v, b[k])
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			t.Errorf("key %s only on the replica", k)
		}
	}
}

type replPair struct {
	master, replica         *Server
	mc, rc                  *Conn
	masterKind, replicaKind string
}

func startReplPair(t *testing.T, masterKind, replicaKind string, masterExtra ...string) *replPair {
	start := func(kind string, extra ...string) *Server {
		if kind == "skiff" {
			return StartSkiff(t, extra...)
		}
		return StartRedis(t, extra...)
	}
	p := &replPair{masterKind: masterKind, replicaKind: replicaKind}
	p.master = start(masterKind, append(append([]string{}, replOpts...), masterExtra...)...)
	p.replica = start(replicaKind, replOpts...)
	p.mc, p.rc = p.master.Dial(t), p.replica.Dial(t)
	return p
}

func (p *replPair) attach(t *testing.T) {
	t.Helper()
	p.rc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(p.master.Port))
	waitInSync(t, p.mc, p.rc)
}

var mixedPairs = [][2]string{{"redis", "skiff"}, {"skiff", "redis"}, {"skiff", "skiff"}}

// Scenarios 1 and 2: full sync of every type, then live writes.
func TestReplFullSyncAndStream(t *testing.T) {
	for _, kinds := range mixedPairs {
		t.Run(kinds[0]+"-master_"+kinds[1]+"-replica", func(t *testing.T) {
			p := startReplPair(t, kinds[0], kinds[1])
			fillAllTypes(t, p.mc, "a:")
			p.attach(t)
			sameData(t, p.mc, p.rc)
			fillAllTypes(t, p.mc, "b:")
			p.mc.MustDo(t, "DEL", "a:str1")
			p.mc.MustDo(t, "EXPIRE", "a:str2", "300")
			waitInSync(t, p.mc, p.rc)
			sameData(t, p.mc, p.rc)
			if r := p.rc.MustDo(t, "SET", "x", "y"); r.Str != "READONLY You can't write against a read only replica." {
				t.Fatalf("write on replica: %s", r)
			}
			if role := p.rc.MustDo(t, "ROLE"); len(role.Elems) != 5 || role.Elems[3].Str != "connected" {
				t.Fatalf("ROLE on replica: %s", role)
			}
		})
	}
}

// Scenario 3: a broken link continues with a partial resync.
func TestReplPartialResync(t *testing.T) {
	for _, kinds := range mixedPairs {
		t.Run(kinds[0]+"-master_"+kinds[1]+"-replica", func(t *testing.T) {
			p := startReplPair(t, kinds[0], kinds[1])
			fillAllTypes(t, p.mc, "a:")
			p.attach(t)
			full := infoInt(t, p.mc, "stats", "sync_full")
			ok := infoInt(t, p.mc, "stats", "sync_partial_ok")
			p.rc.MustDo(t, "CLIENT", "KILL", "TYPE", "master")
			for i := 0; i < 100; i++ {
				p.mc.MustDo(t, "INCR", "ctr")
			}
			waitInSync(t, p.mc, p.rc)
			replWaitFor(t, "partial resync", 10*time.Second, func() bool {
				return infoInt(t, p.mc, "stats", "sync_partial_ok") == ok+1
			})
			if got := infoInt(t, p.mc, "stats", "sync_full"); got != full {
				t.Fatalf("sync_full went from %d to %d: full resync instead of partial", full, got)
			}
			sameData(t, p.mc, p.rc)
		})
	}
}

// Scenario 4: PSYNC2. A replica is promoted; the other replica of the
// old master is pointed at it and continues partially.
func TestReplPSYNC2(t *testing.T) {
	for _, kinds := range [][3]string{{"redis", "skiff", "redis"}, {"skiff", "skiff", "redis"}, {"redis", "redis", "skiff"}, {"skiff", "skiff", "skiff"}} {
		t.Run(strings.Join(kinds[:], "-"), func(t *testing.T) {
			start := func(kind string) *Server {
				if kind == "skiff" {
					return StartSkiff(t, replOpts...)
				}
				return StartRedis(t, replOpts...)
			}
			m, a, b := start(kinds[0]), start(kinds[1]), start(kinds[2])
			mc, ac, bc := m.Dial(t), a.Dial(t), b.Dial(t)
			fillAllTypes(t, mc, "a:")
			for _, c := range []*Conn{ac, bc} {
				c.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(m.Port))
				waitInSync(t, mc, c)
			}
			ac.MustDo(t, "REPLICAOF", "NO", "ONE")
			ac.MustDo(t, "SET", "after-promotion", "1")
			before := infoInt(t, ac, "stats", "sync_full")
			bc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(a.Port))
			waitInSync(t, ac, bc)
			if got := infoInt(t, ac, "stats", "sync_full"); got != before {
				t.Fatalf("promoted %s did a full sync (sync_full %d -> %d)", kinds[1], before, got)
			}
			if infoInt(t, ac, "stats", "sync_partial_ok") < 1 {
				t.Fatal("no partial resync counted on the promoted replica")
			}
			sameData(t, ac, bc)
		})
	}
}

// Scenario 5: a replica away longer than the backlog covers resyncs
// fully, and ends with the same data.
func TestReplBacklogOverflow(t *testing.T) {
	for _, kinds := range mixedPairs {
		t.Run(kinds[0]+"-master_"+kinds[1]+"-replica", func(t *testing.T) {
			p := startReplPair(t, kinds[0], kinds[1], "--repl-backlog-size", "16384")
			fillAllTypes(t, p.mc, "a:")
			p.attach(t)
			full := infoInt(t, p.mc, "stats", "sync_full")
			// Freeze the replica, cut it off on the master's side, and
			// write more than the backlog holds before it can return.
			pid := p.replica.Pid()
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(pid, syscall.SIGCONT)
			p.mc.MustDo(t, "CLIENT", "KILL", "TYPE", "replica")
			for i := 0; i < 20; i++ {
				p.mc.MustDo(t, "SET", "big"+strconv.Itoa(i), strings.Repeat("z", 4096))
			}
			syscall.Kill(pid, syscall.SIGCONT)
			waitInSync(t, p.mc, p.rc)
			if got := infoInt(t, p.mc, "stats", "sync_full"); got != full+1 {
				t.Fatalf("sync_full %d -> %d, want one full resync", full, got)
			}
			sameData(t, p.mc, p.rc)
		})
	}
}

// fakeMaster accepts replicas, answers the handshake, and then runs
// serve on the connection (after +FULLRESYNC).
func fakeMaster(t *testing.T, serve func(nc net.Conn)) (port int, conns chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = make(chan struct{}, 100)
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				br := bufio.NewReader(nc)
				nc.SetDeadline(time.Now().Add(10 * time.Second))
				for {
					// Read one multibulk command, answer it.
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
					var args []string
					for i := 0; i < n; i++ {
						br.ReadString('\n')
						a, _ := br.ReadString('\n')
						args = append(args, strings.TrimSpace(a))
					}
					if len(args) > 0 && strings.EqualFold(args[0], "PSYNC") {
						select {
						case conns <- struct{}{}:
						default:
						}
						nc.Write([]byte("+FULLRESYNC " + strings.Repeat("ab", 20) + " 100\r\n"))
						serve(nc)
						return
					}
					if len(args) > 0 && strings.EqualFold(args[0], "PING") {
						nc.Write([]byte("+PONG\r\n"))
					} else {
						nc.Write([]byte("+OK\r\n"))
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, conns
}

// Scenario 7: truncated payloads and garbage leave the replica with its
// old data, reporting the link down, and retrying.
func TestReplBadMaster(t *testing.T) {
	cases := map[string]func(nc net.Conn){
		"truncated": func(nc net.Conn) { nc.Write([]byte("$100000\r\nREDIS0009")) },
		"garbage":   func(nc net.Conn) { nc.Write([]byte("$20\r\nthis is not an rdb!!")) },
		"protocol":  func(nc net.Conn) { nc.Write([]byte("%%%%\r\n")) },
		"eof-cut":   func(nc net.Conn) { nc.Write([]byte("$EOF:" + strings.Repeat("x", 40) + "\r\nREDIS00")) },
	}
	for name, serve := range cases {
		t.Run(name, func(t *testing.T) {
			s := StartSkiff(t)
			c := s.Dial(t)
			c.MustDo(t, "SET", "old", "data")
			port, conns := fakeMaster(t, serve)
			c.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(port))
			for i := 0; i < 2; i++ {
				select {
				case <-conns:
				case <-time.After(10 * time.Second):
					t.Fatalf("replica did not (re)connect, attempt %d", i+1)
				}
			}
			if got := c.MustDo(t, "GET", "old"); got.Str != "data" {
				t.Fatalf("old data lost: %s", got)
			}
			if st := infoField(t, c, "replication", "master_link_status"); st != "down" {
				t.Fatalf("master_link_status %q", st)
			}
			if n := c.MustDo(t, "DBSIZE").Int; n != 1 {
				t.Fatalf("dbsize %d: mixed dataset", n)
			}
		})
	}
}

// WAIT counts replicas that acknowledged the offset.
func TestReplWait(t *testing.T) {
	p := startReplPair(t, "skiff", "redis")
	p.attach(t)
	p.mc.MustDo(t, "SET", "k", "v")
	if r := p.mc.MustDo(t, "WAIT", "1", "5000"); r.Int != 1 {
		t.Fatalf("WAIT 1: %s", r)
	}
	start := time.Now()
	if r := p.mc.MustDo(t, "WAIT", "2", "300"); r.Int != 1 {
		t.Fatalf("WAIT 2: %s", r)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Fatalf("WAIT 2 returned after %v, before its timeout", d)
	}
}

// Scenario 6: a replica restarted with its RDB on disk continues with a
// partial resync, as Redis 7 does from the repl-id / repl-offset aux
// fields, and applies what follows in the database the stream was in.
func TestReplRestartPartial(t *testing.T) {
	for _, kinds := range mixedPairs {
		t.Run(kinds[0]+"-master_"+kinds[1]+"-replica", func(t *testing.T) {
			start := func(kind string, extra ...string) *Server {
				if kind == "skiff" {
					return StartSkiff(t, extra...)
				}
				return StartRedis(t, extra...)
			}
			m := start(kinds[0], replOpts...)
			mc := m.Dial(t)
			mport := strconv.Itoa(m.Port)
			fillAllTypes(t, mc, "a:")
			// The replica's files outlive its process.
			dir := t.TempDir()
			rArgs := append([]string{"--dir", dir}, replOpts...)
			r := start(kinds[1], rArgs...)
			rc := r.Dial(t)
			rc.MustDo(t, "REPLICAOF", "127.0.0.1", mport)
			waitInSync(t, mc, rc)
			// Leave the stream in database 1 when the replica saves.
			mc.MustDo(t, "SELECT", "1")
			mc.MustDo(t, "SET", "before-restart", "1")
			waitInSync(t, mc, rc)

			rc.Do("SHUTDOWN", "SAVE") // the connection closes: no reply
			replWaitFor(t, "the replica to exit", 10*time.Second, func() bool { return !r.Alive() })
			r.Stop()
			// Writes while the replica is away, the first ones in database
			// 1 without a new SELECT.
			mc.MustDo(t, "SET", "while-down", "1")
			mc.MustDo(t, "SELECT", "0")
			for i := 0; i < 50; i++ {
				mc.MustDo(t, "INCR", "ctr")
			}
			full := infoInt(t, mc, "stats", "sync_full")
			ok := infoInt(t, mc, "stats", "sync_partial_ok")

			r2 := start(kinds[1], append(rArgs, "--replicaof", "127.0.0.1", mport)...)
			r2c := r2.Dial(t)
			waitInSync(t, mc, r2c)
			if got := infoInt(t, mc, "stats", "sync_full"); got != full {
				t.Fatalf("sync_full %d -> %d: the restarted replica resynced fully", full, got)
			}
			if got := infoInt(t, mc, "stats", "sync_partial_ok"); got != ok+1 {
				t.Fatalf("sync_partial_ok %d -> %d, want one partial resync", ok, got)
			}
			sameData(t, mc, r2c)
			if got := r2c.MustDo(t, "SELECT", "1"); got.Str != "OK" {
				t.Fatalf("SELECT 1: %s", got)
			}
			if got := r2c.MustDo(t, "GET", "while-down"); got.Str != "1" {
				t.Fatalf("write made in db 1 while the replica was down: %s", got)
			}
		})
	}
}

// A full sync of a dataset many times the master's streaming chunk, in
// both transfer forms: the diskless payload is sent while it is encoded
// and loaded by a skiff replica while it arrives.
func TestReplLargeFullSync(t *testing.T) {
	for _, kinds := range mixedPairs {
		for _, diskless := range []string{"yes", "no"} {
			t.Run(kinds[0]+"-master_"+kinds[1]+"-replica_diskless-"+diskless, func(t *testing.T) {
				p := startReplPair(t, kinds[0], kinds[1], "--repl-diskless-sync", diskless)
				p.mc.MustDo(t, "DEBUG", "POPULATE", "30000", "key", "100")
				p.mc.MustDo(t, "SET", "last", "1")
				p.attach(t)
				if m, r := p.mc.MustDo(t, "DBSIZE").Int, p.rc.MustDo(t, "DBSIZE").Int; m != 30001 || r != m {
					t.Fatalf("DBSIZE master %d, replica %d", m, r)
				}
				// Values compared in MGET batches (DEBUG DIGEST is not
				// comparable between skiff and redis).
				for i := 0; i < 30000; i += 1000 {
					args := []string{"MGET"}
					for j := i; j < i+1000; j++ {
						args = append(args, "key:"+strconv.Itoa(j))
					}
					m, r := p.mc.MustDo(t, args...), p.rc.MustDo(t, args...)
					if len(m.Elems) != 1000 || m.String() != r.String() {
						t.Fatalf("keys %d..%d differ between master and replica", i, i+999)
					}
				}
			})
		}
	}
}
