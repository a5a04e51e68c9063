package integration

// Differential tests of what the server reports about itself: the
// lazyfree counters, CONFIG SET's all-or-nothing behaviour, and the
// shape of MEMORY STATS, each checked against redis-server 7.0 side by
// side.

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLazyfreeCountersDiff runs deletions of values on both sides of
// Redis's lazy-free threshold (sets, hashes and sorted sets of 64 and 65
// elements, lists around 64 quicklist nodes, streams with and without
// consumer groups) under every lazyfree option, and compares
// lazyfreed_objects after each step.
func TestLazyfreeCountersDiff(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	cs, cr := sk.Dial(t), rd.Dial(t)
	fill := func(cmd string, key string, n int, member string) []string {
		// One script call builds the value, so the two servers see the
		// same single command.
		return []string{"EVAL", fmt.Sprintf("for i=1,%d do redis.call('%s', KEYS[1], %s) end", n, cmd, member), "1", key}
	}
	steps := [][]string{
		{"CONFIG", "RESETSTAT"},
		fill("SADD", "s64", 64, "i..'x'"), {"UNLINK", "s64"},
		fill("SADD", "s65", 65, "i..'x'"), {"UNLINK", "s65"},
		fill("SADD", "is", 500, "i"), {"UNLINK", "is"}, // intset: one allocation
		fill("HSET", "h64", 64, "i, i"), {"UNLINK", "h64"},
		fill("HSET", "h65", 65, "i, i"), {"UNLINK", "h65"},
		fill("HSET", "hl", 65, "i..string.rep('v', 70), i"), {"UNLINK", "hl"}, // long fields: hashtable
		fill("ZADD", "z64", 64, "i, i"), {"UNLINK", "z64"},
		fill("ZADD", "z200", 200, "i, i"), {"UNLINK", "z200"},
		fill("RPUSH", "l1", 2000, "i"), {"UNLINK", "l1"},
		fill("RPUSH", "l2", 28000, "'abcdefghijkl'..i"), {"UNLINK", "l2"},
		fill("RPUSH", "l3", 28200, "'abcdefghijkl'..i"), {"UNLINK", "l3"},
		{"CONFIG", "SET", "list-max-listpack-size", "10"},
		fill("RPUSH", "l4", 640, "i"), {"UNLINK", "l4"},
		fill("RPUSH", "l5", 641, "i"), {"UNLINK", "l5"},
		{"CONFIG", "SET", "list-max-listpack-size", "-2"},
		{"CONFIG", "SET", "stream-node-max-entries", "5"},
		fill("XADD", "st", 1000, "'*', 'f', i"), {"UNLINK", "st"},
		{"XADD", "st2", "*", "a", "b"}, {"XGROUP", "CREATE", "st2", "g", "$"}, {"UNLINK", "st2"},
		{"CONFIG", "SET", "stream-node-max-entries", "100"},
		fill("SADD", "d", 100, "i..'x'"), {"DEL", "d"},
		{"CONFIG", "SET", "lazyfree-lazy-user-del", "yes"},
		fill("SADD", "d", 100, "i..'x'"), {"DEL", "d"},
		{"CONFIG", "SET", "lazyfree-lazy-user-del", "no"},
		{"CONFIG", "SET", "lazyfree-lazy-server-del", "yes"},
		fill("SADD", "o", 100, "i..'x'"), {"SET", "o", "x"},
		// Implicit deletions of a destination.
		fill("SADD", "o", 100, "i..'x'"), fill("SADD", "o2", 100, "i..'x'"), {"RENAME", "o2", "o"},
		fill("SADD", "o2", 100, "i..'x'"), {"COPY", "o2", "o", "REPLACE"},
		{"SUNIONSTORE", "o", "nosuchkey"},
		fill("SADD", "o", 100, "i..'x'"), {"SINTERSTORE", "o", "nosuchkey", "o2"},
		fill("SADD", "o", 100, "i..'x'"), {"ZUNIONSTORE", "o", "1", "nosuchkey"},
		fill("SADD", "o", 100, "i..'x'"), {"SORT", "nosuchkey", "STORE", "o"},
		fill("SADD", "o", 100, "i..'x'"), {"BITOP", "AND", "o", "nosuchkey", "nosuchkey2"},
		fill("SADD", "o", 100, "i..'x'"), {"MOVE", "o", "1"}, // moved, not freed
		{"SELECT", "1"}, {"FLUSHDB"}, {"SELECT", "0"},
		{"CONFIG", "SET", "lazyfree-lazy-server-del", "no"},
		fill("SADD", "o", 100, "i..'x'"), {"SET", "o", "x"},
		fill("SADD", "o", 100, "i..'x'"), fill("SADD", "o2", 100, "i..'x'"), {"RENAME", "o2", "o"},
		{"CONFIG", "SET", "lazyfree-lazy-expire", "yes"},
		fill("SADD", "e", 100, "i..'x'"), {"EXPIRE", "e", "-1"},
		{"CONFIG", "SET", "lazyfree-lazy-expire", "no"},
		fill("SADD", "e", 100, "i..'x'"), {"EXPIRE", "e", "-1"},
		{"DEBUG", "POPULATE", "100"}, {"FLUSHDB", "ASYNC"},
		{"DEBUG", "POPULATE", "10"}, {"FLUSHDB"},
		{"DEBUG", "POPULATE", "10"}, {"FLUSHALL", "ASYNC"},
		{"CONFIG", "SET", "lazyfree-lazy-user-flush", "yes"},
		{"DEBUG", "POPULATE", "7"}, {"FLUSHALL"},
		{"DEBUG", "POPULATE", "7"}, {"FLUSHALL", "SYNC"},
		{"CONFIG", "SET", "lazyfree-lazy-user-flush", "no"},
		{"CONFIG", "RESETSTAT"},
	}
	for i, argv := range steps {
		rs, err1 := cs.Do(argv...)
		rr, err2 := cr.Do(argv...)
		if err1 != nil || err2 != nil {
			t.Fatalf("step %d %s: skiff %v, redis %v", i, fmtArgv(argv), err1, err2)
		}
		if rs.IsError() != rr.IsError() {
			t.Fatalf("step %d %s: skiff %s, redis %s", i, fmtArgv(argv), rs, rr)
		}
		// Redis counts a value once its background thread has freed it
		// (its pending count drops just before the freed count grows), so
		// its figure is polled until it equals Skiff's or time is up.
		fs := infoField(t, cs, "memory", "lazyfreed_objects")
		var fr string
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			fr = infoField(t, cr, "memory", "lazyfreed_objects")
			if fr == fs || time.Now().After(deadline) {
				break
			}
		}
		if fs != fr {
			t.Fatalf("after step %d %s: lazyfreed_objects skiff %s, redis %s", i, fmtArgv(argv), fs, fr)
		}
	}
	// The pending count of both must settle at 0 (Redis's background
	// thread has finished; Skiff never has anything pending).
	if v := infoField(t, cs, "memory", "lazyfree_pending_objects"); v != "0" {
		t.Errorf("skiff lazyfree_pending_objects %s", v)
	}
}

// replyShape is a reply with every scalar replaced by its type, keeping
// map keys and simple strings: two servers whose figures differ but
// whose replies have the same fields in the same order and of the same
// types give the same shape.
func replyShape(r Reply, keys bool) string {
	switch {
	case r.Null:
		return string(r.Type) + "nil"
	case len(r.Elems) > 0 || r.Type == '*' || r.Type == '%':
		var b []string
		for i, e := range r.Elems {
			// In a map (RESP3) or a flat array of pairs (RESP2) the even
			// elements are the field names.
			b = append(b, replyShape(e, keys && i%2 == 0))
		}
		return string(r.Type) + "[" + fmt.Sprint(b) + "]"
	case keys:
		return string(r.Type) + r.Str
	}
	return string(r.Type)
}

// TestMemoryStatsShapeDiff compares MEMORY STATS's fields, their order
// and their types (RESP2 and RESP3) with redis-server's, with keys in
// two databases, one with a TTL; and MEMORY DOCTOR's report on a small
// instance, MEMORY HELP, and MEMORY USAGE's argument errors.
func TestMemoryStatsShapeDiff(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	for _, proto := range []string{"2", "3"} {
		cs, cr := sk.Dial(t), rd.Dial(t)
		for _, c := range []*Conn{cs, cr} {
			c.MustDo(t, "HELLO", proto)
			c.MustDo(t, "FLUSHALL")
			c.MustDo(t, "DEBUG", "POPULATE", "100")
			c.MustDo(t, "SELECT", "3")
			c.MustDo(t, "SET", "a", "b", "EX", "100")
		}
		for _, argv := range [][]string{
			{"MEMORY", "STATS"},
			{"MEMORY", "HELP"},
			{"MEMORY", "DOCTOR"},
			{"MEMORY", "PURGE"},
			{"MEMORY", "USAGE", "a", "SAMPLES", "-1"},
			{"MEMORY", "USAGE", "a", "SAMPLES", "x"},
			{"MEMORY", "USAGE", "a", "FOO"},
			{"MEMORY", "USAGE", "nokey"},
			{"MEMORY", "STATS", "x"},
			{"MEMORY", "NOSUCH"},
		} {
			rs, err1 := cs.Do(argv...)
			rr, err2 := cr.Do(argv...)
			if err1 != nil || err2 != nil {
				t.Fatalf("RESP%s %s: skiff %v, redis %v", proto, fmtArgv(argv), err1, err2)
			}
			// Figures differ, texts must not: compare whole replies
			// except for STATS, whose shape is compared.
			if argv[1] == "STATS" && !rs.IsError() {
				if s, r := replyShape(rs, true), replyShape(rr, true); s != r {
					t.Errorf("RESP%s %s shape:\nskiff %s\nredis %s", proto, fmtArgv(argv), s, r)
				}
				continue
			}
			if !rs.Equal(rr) {
				t.Errorf("RESP%s %s: skiff %s, redis %s", proto, fmtArgv(argv), rs, rr)
			}
		}
	}
}

// TestConfigSetRollbackDiff sends the same CONFIG SET commands to both
// servers (several parameters at once, one of them failing to parse, to
// apply, or being unknown, immutable, duplicated, given by its alias...)
// and compares the replies and, after each, the values of every
// parameter involved: Redis 7.0 applies all or nothing.
func TestConfigSetRollbackDiff(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	cs, cr := sk.Dial(t), rd.Dial(t)
	// A port another process holds: setting it must fail to apply.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	heldPort := strconv.Itoa(held.Addr().(*net.TCPAddr).Port)
	watched := []string{"maxmemory", "hz", "maxmemory-policy", "hash-max-listpack-entries", "save",
		"slowlog-max-len", "notify-keyspace-events", "port", "bind", "list-max-listpack-size", "busy-reply-threshold"}
	cases := [][]string{
		{"maxmemory", "10mb", "hz", "20"},
		{"maxmemory", "20mb", "hz", "abc"},
		{"maxmemory", "20mb", "maxmemory", "30mb"},
		{"MAXMEMORY", "20mb", "maxmemory", "30mb"},
		{"maxmemory", "20mb", "save", "x y"},
		{"maxmemory", "20mb", "nosuchoption", "1"},
		{"maxmemory", "abc", "nosuchoption", "1"},
		{"nosuchoption", "1", "daemonize", "yes"},
		{"daemonize", "yes", "nosuchoption", "1"},
		{"maxmemory-policy", "bad", "maxmemory", "1"},
		{"maxmemory-policy", "allkeys-lru", "maxmemory", "1mb", "slowlog-max-len", "-1"},
		{"hash-max-ziplist-entries", "5", "hash-max-listpack-entries", "6"},
		{"hash-max-listpack-entries", "7", "hash-max-ziplist-entries", "8", "hz", "x"},
		{"list-max-ziplist-size", "5", "list-max-listpack-size", "6"},
		{"lua-time-limit", "100", "busy-reply-threshold", "200"},
		{"hz", "0"}, {"hz", "100000"}, {"hz", "-1"}, {"hz", "10"},
		{"maxmemory", "5mb", "port", heldPort, "hz", "33"},
		{"maxmemory", "6mb", "bind", "127.0.0.1 192.0.2.1", "hz", "34"},
		{"notify-keyspace-events", "KEA", "slowlog-max-len", "10", "save", "100 10 bad"},
		{"notify-keyspace-events", "Z"},
		{"save", "100 10 200 20", "slowlog-max-len", "11"},
		{"maxmemory", "0", "maxmemory-policy", "noeviction", "hz", "10", "save", ""},
	}
	// The values by name, in name order (CONFIG GET's order is a hash
	// table's in Redis).
	get := func(c *Conn) string {
		r := c.MustDo(t, append([]string{"CONFIG", "GET"}, watched...)...)
		var kv []string
		for i := 0; i+1 < len(r.Elems); i += 2 {
			kv = append(kv, r.Elems[i].Str+"="+r.Elems[i+1].Str)
		}
		sort.Strings(kv)
		return strings.Join(kv, " ")
	}
	for _, kv := range cases {
		argv := append([]string{"CONFIG", "SET"}, kv...)
		rs, err1 := cs.Do(argv...)
		rr, err2 := cr.Do(argv...)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: skiff %v, redis %v", fmtArgv(argv), err1, err2)
		}
		if !rs.Equal(rr) {
			t.Errorf("%s: skiff %s, redis %s", fmtArgv(argv), rs, rr)
		}
		// Each server keeps its own port.
		gs := strings.ReplaceAll(get(cs), strconv.Itoa(sk.Port), "PORT")
		gr := strings.ReplaceAll(get(cr), strconv.Itoa(rd.Port), "PORT")
		if gs != gr {
			t.Errorf("after %s:\nskiff %s\nredis %s", fmtArgv(argv), gs, gr)
		}
	}
	// Both still serve on their port after the failed rebinds.
	for _, s := range []*Server{sk, rd} {
		if err := pingOnce(s.Addr()); err != nil {
			t.Errorf("%s no longer answers on its port: %v", s.Kind, err)
		}
	}
}

// TestMemoryStatsMatchesInfo checks that MEMORY STATS and INFO memory,
// run in one transaction (nothing changes between them), give the same
// breakdown: total, startup, overhead without the clients' share (the
// reply to INFO itself grows the caller's buffer), and the peak.
func TestMemoryStatsMatchesInfo(t *testing.T) {
	sk := StartSkiff(t)
	c := sk.Dial(t)
	c.MustDo(t, "DEBUG", "POPULATE", "5000")
	c.MustDo(t, "SELECT", "2")
	c.MustDo(t, "SET", "k", "v", "EX", "100")
	c.MustDo(t, "MULTI")
	c.MustDo(t, "MEMORY", "STATS")
	c.MustDo(t, "INFO", "memory")
	r := c.MustDo(t, "EXEC")
	if len(r.Elems) != 2 {
		t.Fatalf("EXEC: %s", r)
	}
	stats := map[string]int64{}
	var dbs int64
	for i := 0; i+1 < len(r.Elems[0].Elems); i += 2 {
		k, v := r.Elems[0].Elems[i].Str, r.Elems[0].Elems[i+1]
		if strings.HasPrefix(k, "db.") {
			for j := 0; j+1 < len(v.Elems); j += 2 {
				dbs += v.Elems[j+1].Int
			}
			continue
		}
		stats[k] = v.Int
	}
	info := map[string]int64{}
	for _, line := range strings.Split(r.Elems[1].Str, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				info[k] = n
			}
		}
	}
	check := func(what string, a, b int64) {
		if a != b {
			t.Errorf("%s: MEMORY STATS %d, INFO %d", what, a, b)
		}
	}
	check("startup", stats["startup.allocated"], info["used_memory_startup"])
	check("peak", stats["peak.allocated"], info["used_memory_peak"])
	check("total", stats["total.allocated"]-stats["clients.normal"], info["used_memory"]-info["mem_clients_normal"])
	check("overhead", stats["overhead.total"]-stats["clients.normal"], info["used_memory_overhead"]-info["mem_clients_normal"])
	check("dataset", stats["dataset.bytes"], info["used_memory_dataset"])
	if stats["keys.count"] != 5001 {
		t.Errorf("keys.count %d, want 5001", stats["keys.count"])
	}
	// The parts add up to the total, as in Redis.
	sum := stats["startup.allocated"] + stats["replication.backlog"] + stats["clients.slaves"] + stats["clients.normal"] +
		stats["cluster.links"] + stats["aof.buffer"] + stats["lua.caches"] + stats["functions.caches"] + dbs
	check("overhead.total as the sum of its parts", stats["overhead.total"], sum)
	if stats["dataset.bytes"] <= 0 || stats["dataset.bytes"]+stats["overhead.total"] != stats["total.allocated"] {
		t.Errorf("dataset %d + overhead %d != total %d", stats["dataset.bytes"], stats["overhead.total"], stats["total.allocated"])
	}
}
