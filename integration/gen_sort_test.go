package integration

// SORT and SORT_RO against redis-server 7.0, reply for reply: hand-picked
// edge cases (option parsing and error precedence, LIMIT clamping, the
// strtod rules of numeric weights, ALPHA on NUL bytes, pattern syntax,
// STORE's result, events and TTL, zsets BY nosort, scripts, MULTI,
// COMMAND metadata) and a seeded random corpus of option combinations
// over lists, sets and sorted sets with changing weights, on RESP2 and
// RESP3.
//
// Replies are compared exactly except where Redis's own order is not
// reproducible: the iteration order of a hashtable-encoded set or of a
// sorted set's dict (BY nosort on a set, or ALPHA BY whose values tie),
// which depends on Redis's randomly seeded hash function. Those compare
// as multisets.

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sortStep sends argv to both servers and fails unless the replies agree
// (as multisets when unordered).
func sortStep(t *testing.T, p *diffPair, unordered bool, argv ...string) Reply {
	t.Helper()
	sk, rd, err := p.exchange(argv)
	if err != nil {
		t.Fatalf("%s: %v", fmtArgv(argv), err)
	}
	ok := sk.Equal(rd) || (unordered && sameMultiset(sk, rd))
	if !ok {
		t.Fatalf("%s (%s):\n  skiff: %s\n  redis: %s", fmtArgv(argv), map[bool]string{true: "RESP3", false: "RESP2"}[p.resp3], sk, rd)
	}
	return rd
}

// sortStepShape is sortStep for a reply that is a window (LIMIT) on an
// order Redis takes from its hash tables: which elements fall in the
// window is not reproducible either, only the reply's length.
func sortStepShape(t *testing.T, p *diffPair, argv ...string) Reply {
	t.Helper()
	sk, rd, err := p.exchange(argv)
	if err != nil {
		t.Fatalf("%s: %v", fmtArgv(argv), err)
	}
	if !sk.Equal(rd) && (sk.Type != rd.Type || sk.IsError() || rd.IsError() || len(sk.Elems) != len(rd.Elems)) {
		t.Fatalf("%s (%s):\n  skiff: %s\n  redis: %s", fmtArgv(argv), map[bool]string{true: "RESP3", false: "RESP2"}[p.resp3], sk, rd)
	}
	return rd
}

func TestSortDifferential(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1e12
	}
	t.Logf("seed %d (rerun: go test ./integration/ -run TestSortDifferential -seed=%d)", seed, seed)
	p := &diffPair{t: t, root: t, sk: StartSkiff(t), rd: StartRedis(t)}
	defer p.close()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprintf("RESP%d", proto), func(t *testing.T) {
			p.t = t
			defer func() { p.t = t }()
			p.reset()
			if proto == 3 && !p.hello(3) {
				t.Fatal("skiff does not switch to RESP3")
			}
			sortEdgeCases(t, p)
			sortEvents(t, p)
			sortWakesBlocked(t, p)
			sortKeyspaceStats(t, p)
			sortCorpus(t, p, seed+int64(proto), 1500)
		})
	}
}

func sortEdgeCases(t *testing.T, p *diffPair) {
	ex := func(s string) { t.Helper(); sortStep(t, p, false, words(s)...) }
	exv := func(argv ...string) { t.Helper(); sortStep(t, p, false, argv...) }
	ex("FLUSHALL")
	ex("RPUSH l 3 1 2 10 1.5 -1 3 0x10 +4")
	ex("SADD si 5 3 9 1 -2")
	ex("SADD ss banana apple cherry date 10 2")
	ex("ZADD z 1 a 5 b 2 c 10 d 3 e")
	ex("SET str 1")
	ex("HSET hash f 1")
	ex("MSET w_a 3 w_b 1 w_c 2 w_d 0.5 w_e -4 w_3 30 w_1 10")
	ex("HSET h_a f 9 g x")
	ex("HSET h_b f 7 g y")
	ex("HSET h_c f 8")
	ex("SET x:a-> 100")

	// Option parsing, in Redis's order of checks.
	for _, s := range []string{
		"SORT", "SORT l LIMIT", "SORT l LIMIT 1", "SORT l LIMIT a 1", "SORT l LIMIT 1 b",
		"SORT l LIMIT x 1 FOO", "SORT l FOO LIMIT x 1", "SORT l BY", "SORT l GET", "SORT l STORE",
		"SORT l ALPHA FOO", "SORT_RO l STORE x", "SORT_RO l", "SORT_RO nokey STORE x",
		"SORT str LIMIT a b", "SORT str", "SORT hash", "SORT str BY nosort", "SORT nokey",
		"SORT nokey BY nosort", "SORT nokey BY w_* GET #", "SORT l asc desc", "SORT l desc asc",
		"SORT l ALPHA ALPHA", "sort l alpha DESC", "SORT l LIMIT -1 -1", "SORT l LIMIT 0 -5",
		"SORT l LIMIT 2 0", "SORT l LIMIT 9 1", "SORT l LIMIT 8 1", "SORT l LIMIT 100 100",
		"SORT l LIMIT 9223372036854775807 9223372036854775807",
		"SORT l LIMIT -9223372036854775808 3", "SORT l LIMIT 0 9223372036854775807",
		"SORT l LIMIT 1 2 LIMIT 3 2", "SORT l LIMIT 01 2", "SORT l LIMIT +1 2", "SORT l LIMIT 1.0 2",
		"SORT l BY nosort", "SORT l BY nosort DESC", "SORT l BY nosort LIMIT 2 3",
		"SORT l BY nosort DESC LIMIT 2 3", "SORT l BY nosort LIMIT 7 5", "SORT l BY nosort DESC LIMIT 8 5",
		"SORT l BY nosort LIMIT 0 0", "SORT l BY nosort BY w_*", "SORT l BY w_* BY nosort",
		"SORT l BY nosort ALPHA", "SORT l ALPHA", "SORT l ALPHA DESC LIMIT 1 3",
		"SORT si", "SORT si DESC", "SORT si BY nosort", "SORT si BY nosort DESC LIMIT 1 2",
		"SORT ss ALPHA", "SORT ss", "SORT ss ALPHA DESC LIMIT 2 2",
		"SORT z", "SORT z ALPHA", "SORT z ALPHA DESC", "SORT z BY nosort", "SORT z BY nosort DESC",
		"SORT z BY nosort LIMIT 1 2", "SORT z BY nosort DESC LIMIT 1 2", "SORT z BY nosort LIMIT 0 1",
		"SORT z BY nosort DESC LIMIT 0 1", "SORT z BY nosort LIMIT 5 10", "SORT z BY nosort LIMIT -10 100",
		"SORT z BY nosort DESC LIMIT 4 10", "SORT z BY nosort GET # GET w_*", "SORT z BY w_*",
		"SORT z BY w_* DESC LIMIT 1 3", "SORT z BY h_*->f", "OBJECT ENCODING z",
		"SORT ss BY nosort ALPHA STORE dst", "LRANGE dst 0 -1", "TYPE dst",
		"SORT l BY w_*", "SORT l BY w_* GET # GET w_* GET h_*->f", "SORT l GET nostar",
		"SORT l GET #", "SORT l GET # GET #", "SORT l BY h_*->f", "SORT l BY h_*->g ALPHA",
		"SORT l BY h_*->", "SORT l BY *->f", "SORT l BY w_** GET w_**", "SORT l BY *",
		"SORT l GET *", "SORT l GET h_*->f->g", "SORT l GET ->* GET *->", "SORT l BY # ALPHA",
		"SORT l LIMIT 1 3 GET # GET w_*", "SORT l STORE a STORE b", "LRANGE b 0 -1", "EXISTS a",
		"COMMAND GETKEYS SORT abc STORE def", "COMMAND GETKEYS SORT abc STORE a STORE b",
		"COMMAND GETKEYS SORT abc LIMIT 1 2 STORE x", "COMMAND GETKEYS SORT abc BY store STORE y",
		"COMMAND GETKEYS SORT abc GET store LIMIT 1 2", "COMMAND GETKEYS SORT abc STORE",
		"COMMAND GETKEYS SORT_RO abc", "COMMAND GETKEYS SORT_RO abc STORE x",
		"COMMAND GETKEYSANDFLAGS SORT abc STORE def", "COMMAND GETKEYSANDFLAGS SORT_RO abc",
		"COMMAND INFO sort sort_ro",
	} {
		ex(s)
	}
	sortStep(t, p, true, "COMMAND", "LIST", "FILTERBY", "PATTERN", "sort*") // hash table order

	// Patterns as Redis reads them: "->" with nothing after it is part
	// of the key name; a '*' after a NUL byte does not count.
	ex("RPUSH one a")
	ex("SORT one BY num GET x:*->")
	exv("SORT", "one", "BY", "w_\x00*")
	exv("SORT", "one", "GET", "w_\x00*")
	exv("SORT", "one", "GET", "#\x00x")
	exv("SET", "k\x00a", "5")
	exv("SORT", "one", "GET", "k\x00*")

	// Numeric weights: what C's strtod accepts, all of the text. Redis
	// tests errno after strtod without clearing it first, so a sort that
	// failed with ERANGE leaves every later numeric SORT failing until
	// some command clears errno (ZADD's score parsing does): each case
	// here is followed by a ZADD, as Skiff does not copy that state.
	resetErrno := func() { t.Helper(); ex("ZADD errno:reset 1 x") }
	for i, v := range []string{"abc", " 1", "1 ", "", "inf", "-inf", "+inf", "infinity", "nan", "-nan",
		"1e400", "-1e400", "1e-400", "1e-310", "2.2250738585072014e-308", "0x1p-1074", "0x10", "0x",
		"1.5e3", "+5", ".5", "5.", "-0", "1_000", "1\x00junk", "0x1.8p1", "1e", "--1", "12345678901234567890"} {
		k := "num:" + strconv.Itoa(i)
		exv("RPUSH", k, "1", v, "2")
		exv("SORT", k)
		resetErrno()
		exv("SORT", k, "DESC")
		resetErrno()
		exv("SET", "wv_"+strconv.Itoa(i), v)
		exv("SORT", "one", "BY", "wv_"+strconv.Itoa(i)+"*")
		resetErrno()
	}
	exv("RPUSH", "one2", "")
	exv("SORT", "one2", "BY", "wv_*") // wv_ holds nothing: score 0

	// ALPHA stops at a NUL byte (strcoll) unless the result is stored
	// (binary comparison); ties keep their list order.
	exv("RPUSH", "nul", "a\x00b", "a", "a\x00a", "b", "a\x00", "\xff", "\x80x", "A", "")
	ex("SORT nul ALPHA")
	ex("SORT nul ALPHA DESC")
	ex("SORT nul ALPHA STORE nuls")
	ex("LRANGE nuls 0 -1")
	ex("SORT nul ALPHA DESC STORE nuls")
	ex("LRANGE nuls 0 -1")
	exv("MSET", "wn_a\x00b", "x\x00b", "wn_a", "x\x00a", "wn_b", "x")
	ex("SORT nul BY wn_* ALPHA")
	ex("SORT nul BY wn_* ALPHA STORE nuls")
	ex("LRANGE nuls 0 -1")
	ex("SORT nul BY wn_* ALPHA LIMIT 1 3")

	// STORE: the list replaces any value and its TTL; an empty result
	// deletes the destination.
	ex("SADD dst2 x")
	ex("EXPIRE dst2 1000")
	ex("SORT l STORE dst2")
	ex("TYPE dst2")
	ex("TTL dst2")
	ex("LRANGE dst2 0 -1")
	ex("SORT l LIMIT 50 10 STORE dst2")
	ex("EXISTS dst2")
	ex("SORT nokey STORE dst2")
	ex("SORT l BY nosort DESC LIMIT 1 4 GET # GET w_* GET nostar STORE dst3")
	ex("LRANGE dst3 0 -1")
	ex("SORT l STORE l")
	ex("LRANGE l 0 -1")
	ex("OBJECT ENCODING dst3")

	// Scripts see a set's BY nosort sorted (ALPHA), and sort sorted sets
	// in their own order.
	for _, argv := range [][]string{
		{"EVAL", "return redis.call('sort',KEYS[1],'by','nosort')", "1", "ss"},
		{"EVAL", "return redis.call('sort',KEYS[1],'by','nosort','desc','limit','1','3')", "1", "ss"},
		{"EVAL", "return redis.call('sort_ro',KEYS[1],'by','nosort')", "1", "si"},
		{"EVAL", "return redis.call('sort',KEYS[1],'by','nosort','desc')", "1", "z"},
		{"EVAL", "return redis.call('sort',KEYS[1],'store',KEYS[2])", "2", "l", "scr"},
		{"EVAL", "return redis.call('sort',KEYS[1],'limit','x','1')", "1", "l"},
		{"EVAL", "return redis.pcall('sort',KEYS[1])", "1", "ss"},
		{"EVAL", "return redis.pcall('sort_ro',KEYS[1],'store','x')", "1", "l"},
		{"EVAL_RO", "return redis.pcall('sort',KEYS[1])", "1", "l"},
		{"LRANGE", "scr", "0", "-1"},
		{"FUNCTION", "LOAD", "REPLACE", "#!lua name=sortlib\nredis.register_function('sortnosort', function(keys) return redis.call('sort', keys[1], 'by', 'nosort') end)"},
		{"FCALL", "sortnosort", "1", "ss"},
		{"FCALL", "sortnosort", "1", "z"},
		{"FUNCTION", "DELETE", "sortlib"},
	} {
		exv(argv...)
	}

	// Inside MULTI.
	ex("MULTI")
	ex("SORT z BY nosort ASC")
	ex("SORT z BY nosort DESC")
	ex("SORT l LIMIT a b")
	ex("SORT si STORE tx")
	ex("SORT_RO l STORE tx")
	ex("EXEC")
	ex("LRANGE tx 0 -1")
}

// sortEvents compares the keyspace events of SORT ... STORE.
func sortEvents(t *testing.T, p *diffPair) {
	sortStep(t, p, false, "CONFIG", "SET", "notify-keyspace-events", "KEA")
	defer sortStep(t, p, false, "CONFIG", "SET", "notify-keyspace-events", "")
	subs := make([]*Conn, 2)
	for i, s := range []*Server{p.sk, p.rd} {
		c, err := s.DialErr()
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		if _, err := c.Do("PSUBSCRIBE", "__key*__:*"); err != nil {
			t.Fatalf("psubscribe: %v", err)
		}
		if _, err := c.Do("SUBSCRIBE", "done"); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		subs[i] = c
	}
	ex := func(s string) { t.Helper(); sortStep(t, p, false, words(s)...) }
	ex("DEL ev evd")
	ex("RPUSH ev 2 1")
	ex("SORT ev STORE evd")
	ex("SORT ev LIMIT 5 5 STORE evd")
	ex("SORT ev LIMIT 5 5 STORE evd")
	ex("SORT_RO ev")
	ex("SORT ev BY nosort STORE evd")
	ex("PUBLISH done x")
	// Both subscribers read until the PUBLISH marker; the sequences of
	// events must be identical.
	var got [2][]string
	for i, c := range subs {
		for n := 0; n < 100; n++ {
			r, err := c.Read()
			if err != nil {
				t.Fatalf("read event: %v", err)
			}
			if len(r.Elems) == 3 && r.Elems[1].Str == "done" {
				break
			}
			got[i] = append(got[i], r.String())
		}
	}
	if strings.Join(got[0], "\n") != strings.Join(got[1], "\n") {
		t.Fatalf("keyspace events differ:\nskiff:\n  %s\nredis:\n  %s", strings.Join(got[0], "\n  "), strings.Join(got[1], "\n  "))
	}
	if len(got[1]) == 0 {
		t.Fatal("no keyspace events seen")
	}
}

// sortPool: elements that sort differently as numbers and as text, with
// duplicates in lists and a few that are not numbers at all.
var sortPool = []string{"1", "2", "3", "10", "-7", "0", "1.5", "2.50", "-0.25", "1e2", "100", "07", "a", "b", "B", "abc", "ab", "z"}

func sortCorpus(t *testing.T, p *diffPair, seed int64, steps int) {
	r := rand.New(rand.NewSource(seed))
	ex := func(argv ...string) { t.Helper(); sortStep(t, p, false, argv...) }
	ex("FLUSHALL")
	numeric := func() string {
		switch r.Intn(4) {
		case 0:
			return strconv.Itoa(r.Intn(200) - 50)
		case 1:
			return strconv.FormatFloat(r.Float64()*100-20, 'g', -1, 64)
		case 2:
			return strconv.Itoa(r.Intn(5)) // many ties
		}
		return strconv.FormatFloat(float64(r.Intn(1000))/8, 'f', 3, 64)
	}
	word := func() string {
		return []string{"x", "y", "xx", "Y", "", "b", "a", "aa", "10", "9"}[r.Intn(10)]
	}
	elem := func() string {
		if r.Intn(3) == 0 {
			return strconv.Itoa(r.Intn(300))
		}
		return sortPool[r.Intn(len(sortPool))]
	}
	// The data set: weights and hashes for every element, then lists,
	// sets (intset and hashtable) and sorted sets (both encodings).
	all := append([]string(nil), sortPool...)
	for i := 0; i < 300; i++ {
		all = append(all, strconv.Itoa(i))
	}
	for _, e := range all {
		if r.Intn(10) > 0 {
			ex("SET", "w_"+e, numeric())
		}
		if r.Intn(10) > 0 {
			ex("HSET", "h_"+e, "f", numeric(), "g", word())
		}
		if r.Intn(3) == 0 {
			ex("SET", "t_"+e, word())
		}
	}
	fill := func(cmd, key string, n int, numOnly bool) {
		argv := []string{cmd, key}
		for i := 0; i < n; i++ {
			if cmd == "ZADD" {
				argv = append(argv, numeric())
			}
			if numOnly {
				argv = append(argv, strconv.Itoa(r.Intn(300)))
			} else {
				argv = append(argv, elem())
			}
		}
		ex(argv...)
	}
	fill("RPUSH", "l:small", 12, false)
	fill("RPUSH", "l:num", 40, true)
	fill("RPUSH", "l:big", 250, false)
	fill("SADD", "s:int", 20, true)
	fill("SADD", "s:str", 20, false)
	fill("SADD", "s:big", 200, false)
	fill("ZADD", "z:small", 10, false)
	fill("ZADD", "z:big", 200, false)
	ex("SET", "k:str", "1")
	sources := []string{"l:small", "l:num", "l:big", "s:int", "s:str", "s:big", "z:small", "z:big", "k:str", "k:none"}
	byPats := []string{"w_*", "h_*->f", "h_*->g", "t_*", "nosort", "w_*_missing", "h_*->nofield", "*", "h_*->"}
	getPats := []string{"#", "w_*", "h_*->f", "h_*->g", "t_*", "nostar", "h_*"}

	// What the corpus exercised, so a run that only compared errors or
	// empty replies shows it.
	var exact, loose, errs, nonEmpty int
	defer func() {
		t.Logf("corpus: %d sorts compared exactly (%d non-empty), %d as multisets or by length, %d errors", exact, nonEmpty, loose, errs)
		if nonEmpty < steps/4 {
			t.Errorf("only %d of %d sorts returned elements", nonEmpty, steps)
		}
	}()
	for i := 0; i < steps; i++ {
		if r.Intn(8) == 0 {
			// Change the weights or the sources between sorts.
			e := all[r.Intn(len(all))]
			switch r.Intn(6) {
			case 0:
				ex("SET", "w_"+e, numeric())
			case 1:
				ex("DEL", "w_"+e)
			case 2:
				ex("HSET", "h_"+e, []string{"f", "g"}[r.Intn(2)], []string{numeric(), word()}[r.Intn(2)])
			case 3:
				ex("RPUSH", []string{"l:small", "l:big"}[r.Intn(2)], elem())
			case 4:
				ex("ZADD", []string{"z:small", "z:big"}[r.Intn(2)], numeric(), elem())
			case 5:
				ex("SADD", []string{"s:str", "s:big"}[r.Intn(2)], elem())
			}
			continue
		}
		src := sources[r.Intn(len(sources))]
		cmd := "SORT"
		if r.Intn(4) == 0 {
			cmd = "SORT_RO"
		}
		var opts [][]string
		var by string
		alpha, dontSort, storing := false, false, false
		if r.Intn(2) == 0 {
			by = byPats[r.Intn(len(byPats))]
			opts = append(opts, []string{"BY", by})
			dontSort = !strings.Contains(by, "*")
		}
		if r.Intn(2) == 0 {
			alpha = true
			opts = append(opts, []string{"ALPHA"})
		}
		if r.Intn(3) == 0 {
			opts = append(opts, []string{[]string{"ASC", "DESC", "desc"}[r.Intn(3)]})
		}
		if r.Intn(2) == 0 {
			opts = append(opts, []string{"LIMIT", strconv.Itoa(r.Intn(30) - 3), strconv.Itoa(r.Intn(30) - 3)})
		}
		for n := r.Intn(3); n > 0; n-- {
			opts = append(opts, []string{"GET", getPats[r.Intn(len(getPats))]})
		}
		if cmd == "SORT" && r.Intn(4) == 0 {
			storing = true
			opts = append(opts, []string{"STORE", "out"})
		}
		r.Shuffle(len(opts), func(a, b int) { opts[a], opts[b] = opts[b], opts[a] })
		argv := []string{cmd, src}
		for _, o := range opts {
			argv = append(argv, o...)
		}
		// Where Redis's order comes from its randomly seeded hash
		// tables, only the multiset of the reply can be compared.
		typ := sortStep(t, p, false, "TYPE", src).Str
		enc := sortStep(t, p, false, "OBJECT", "ENCODING", src).Str
		hashOrder := (typ == "set" && enc == "hashtable") || typ == "zset"
		unordered, limited := false, false
		for _, o := range opts {
			limited = limited || o[0] == "LIMIT"
		}
		switch {
		case typ == "set" && enc == "hashtable" && dontSort && !storing:
			unordered = true
		case hashOrder && !dontSort && alpha && by != "":
			unordered = true // tied ALPHA values keep the load order
		}
		var rep Reply
		if unordered && limited {
			rep = sortStepShape(t, p, argv...)
		} else {
			rep = sortStep(t, p, unordered, argv...)
		}
		switch {
		case rep.IsError():
			errs++
		case unordered:
			loose++
		default:
			exact++
			if len(rep.Elems) > 0 || rep.Int > 0 {
				nonEmpty++
			}
		}
		if storing && !rep.IsError() {
			if unordered && limited {
				sortStepShape(t, p, "LRANGE", "out", "0", "-1")
			} else {
				sortStep(t, p, unordered, "LRANGE", "out", "0", "-1")
			}
			sortStep(t, p, false, "TYPE", "out")
		}
	}
}

// TestSortClusterAndACLDifferential: BY with a '*' and any GET are
// refused in cluster mode, and for users who may not read every key,
// with Redis's texts and at Redis's point of the parsing; STORE to
// another slot is CROSSSLOT.
func TestSortClusterAndACLDifferential(t *testing.T) {
	t.Run("ACL", func(t *testing.T) {
		p := &diffPair{t: t, root: t, sk: StartSkiff(t), rd: StartRedis(t)}
		defer p.close()
		p.reset()
		ex := func(s string) { t.Helper(); sortStep(t, p, false, words(s)...) }
		ex("RPUSH k1 2 1")
		ex("MSET w_1 5 w_2 4")
		for _, user := range []string{
			"ACL SETUSER u1 on nopass +@all ~k*",
			"ACL SETUSER u2 on nopass +@all %R~*",
			"ACL SETUSER u3 on nopass +@all %W~* ~k*",
			"ACL SETUSER u4 on nopass +@all ~k* (+@all ~*)",
			"ACL SETUSER u5 on nopass +@all allkeys",
			"ACL SETUSER u6 on nopass +@all -sort ~k* (+sort %R~*)",
			"ACL SETUSER u7 on nopass +@all ~k* (+sort_ro %R~* ~*)",
		} {
			ex(user)
		}
		for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7"} {
			ex("AUTH " + u + " x")
			for _, s := range []string{
				"SORT k1", "SORT k1 BY nosort", "SORT k1 BY w_*", "SORT k1 GET #", "SORT k1 GET w_*",
				"SORT k1 BY w_* STORE k2", "SORT k1 LIMIT a b BY w_*", "SORT k1 BY w_* LIMIT a b",
				"SORT_RO k1 BY w_*", "SORT_RO k1 GET # GET w_*", "SORT k1 STORE other",
			} {
				ex(s)
			}
		}
		ex("AUTH default x")
	})
	t.Run("cluster", func(t *testing.T) {
		raft, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		admin, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		bus, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		sk := StartSkiff(t, "--cluster-enabled", "yes", "--bootstrap", "yes",
			"--raft-port", strconv.Itoa(raft), "--admin-port", strconv.Itoa(admin))
		rd := StartRedis(t, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf")
		p := &diffPair{t: t, root: t, sk: sk, rd: rd}
		defer p.close()
		p.connect()
		// Each is a cluster of one that takes every slot.
		for _, c := range []*Conn{p.skc, p.rdc} {
			if r, err := c.Do("CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil || r.IsError() {
				t.Fatalf("CLUSTER ADDSLOTSRANGE: %v %v", r, err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				r, err := c.Do("CLUSTER", "INFO")
				if err != nil {
					t.Fatalf("CLUSTER INFO: %v", err)
				}
				if strings.Contains(r.Str, "cluster_state:ok") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("cluster state not ok within 20 s: %s", r.Str)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		ex := func(s string) { t.Helper(); sortStep(t, p, false, words(s)...) }
		for _, s := range []string{
			"SORT {a}l", "RPUSH {a}l 2 1 3", "SORT {a}l", "SORT {a}l BY w_*", "SORT {a}l BY {a}w_*",
			"SORT {a}l BY nosort", "SORT {a}l BY nosort DESC LIMIT 1 1", "SORT {a}l GET #", "SORT {a}l GET {a}x",
			"SORT {a}l BY nosort STORE {a}d", "LRANGE {a}d 0 -1", "SORT {a}l STORE {b}d",
			"SORT {a}l STORE {a}d STORE {b}d", "SORT {a}l STORE {b}d STORE {a}d", "SORT_RO {a}l GET #",
			"SORT_RO {a}l BY {a}*", "SORT {a}l LIMIT x 1 BY w_*", "SORT {a}l BY w_* LIMIT x 1",
			"SORT {a}l BY w_* foo", "SORT {a}l foo BY w_*", "SORT nokey BY w_*", "SORT {a}l ALPHA DESC",
		} {
			ex(s)
		}
	})
}

// sortWakesBlocked: a list stored by SORT serves a client blocked on the
// destination, as any new list does.
func sortWakesBlocked(t *testing.T, p *diffPair) {
	sortStep(t, p, false, "DEL", "bdst")
	sortStep(t, p, false, "RPUSH", "bsrc", "2", "1")
	var blocked [2]*Conn
	for i, s := range []*Server{p.sk, p.rd} {
		c, err := s.DialErr()
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer c.Close()
		if err := c.Send("BLPOP", "bdst", "10"); err != nil {
			t.Fatalf("BLPOP: %v", err)
		}
		blocked[i] = c
	}
	// Wait until both clients are blocked before storing.
	deadline := time.Now().Add(10 * time.Second)
	for {
		sk, rd, err := p.exchange([]string{"INFO", "clients"})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(sk.Str, "blocked_clients:1") && strings.Contains(rd.Str, "blocked_clients:1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("BLPOP clients not blocked within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sortStep(t, p, false, "SORT", "bsrc", "STORE", "bdst")
	var got [2]Reply
	for i, c := range blocked {
		r, err := c.Read()
		if err != nil {
			t.Fatalf("BLPOP reply: %v", err)
		}
		got[i] = r
	}
	if !got[0].Equal(got[1]) {
		t.Fatalf("BLPOP woken by SORT STORE:\n  skiff: %s\n  redis: %s", got[0], got[1])
	}
	sortStep(t, p, false, "LRANGE", "bdst", "0", "-1")
}

// sortKeyspaceStats: every key SORT reads (the sorted key, each BY and
// GET lookup) counts as a keyspace hit or miss, as in Redis.
func sortKeyspaceStats(t *testing.T, p *diffPair) {
	ex := func(s string) { t.Helper(); sortStep(t, p, false, words(s)...) }
	ex("FLUSHALL")
	ex("RPUSH l 1 2 3")
	ex("MSET w_1 3 w_2 1")
	ex("HSET h_1 f 1")
	ex("CONFIG RESETSTAT")
	ex("SORT l BY w_* GET # GET h_*->f GET nostar")
	ex("SORT nokey")
	ex("SORT l BY w_* STORE d")
	ex("SORT l BY nosort GET w_* LIMIT 1 1")
	ex("SORT_RO l BY h_*->f ALPHA")
	stats := func(r Reply) string {
		var out []string
		for _, line := range strings.Split(r.Str, "\r\n") {
			if strings.HasPrefix(line, "keyspace_hits:") || strings.HasPrefix(line, "keyspace_misses:") {
				out = append(out, line)
			}
		}
		return strings.Join(out, " ")
	}
	sk, rd, err := p.exchange([]string{"INFO", "stats"})
	if err != nil {
		t.Fatal(err)
	}
	if stats(sk) != stats(rd) || stats(rd) == "" {
		t.Fatalf("keyspace stats after SORTs: skiff %q, redis %q", stats(sk), stats(rd))
	}
}
