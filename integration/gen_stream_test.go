package integration

// Streams against redis-server: generators for the "stream" area of
// TestDifferential, and TestStreamDifferential, which runs hand-picked
// edge cases (RESP2 and RESP3) and then that area alone.
//
// IDs are explicit ("ms-seq", "ms-*", incomplete "ms") so that both
// servers build the same streams; what depends on the clock (idle times
// in XPENDING and XINFO CONSUMERS, radix-tree-nodes, which skiff only
// approximates) is masked, and claims use a min-idle of 0 or of hours.
//
// Run: go build -o /tmp/streams/skiff ./cmd/skiff &&
//      SKIFF_BIN=/tmp/streams/skiff go test -count=1 -run TestStreamDifferential ./integration/

import (
	"fmt"
	"hash/fnv"
	"math/rand"
	"strconv"
	"testing"
	"time"
)

var (
	stKeys      = []string{"st:{s}1", "st:{s}2", "st:{s}3"}
	stGroups    = []string{"g1", "g2", "nogroup"}
	stConsumers = []string{"alice", "bob", "carol"}
)

func stKey(r *rand.Rand, k *Keys) string {
	switch r.Intn(20) {
	case 0:
		return k.Key(r) // another type: WRONGTYPE
	case 1:
		return "st:{s}missing"
	}
	return stKeys[r.Intn(len(stKeys))]
}

// stID is an ID argument: mostly valid and in a small range so that
// entries collide with ranges and deletions.
func stID(r *rand.Rand) string {
	switch r.Intn(30) {
	case 0:
		return "-"
	case 1:
		return "+"
	case 2:
		return "abc"
	case 3:
		return "18446744073709551615-18446744073709551615"
	case 4:
		return strconv.Itoa(r.Intn(60))
	case 5:
		return "(" + fmt.Sprintf("%d-%d", r.Intn(60), r.Intn(4))
	}
	return fmt.Sprintf("%d-%d", r.Intn(60), r.Intn(4))
}

func stRange(r *rand.Rand) (string, string) {
	a, b := stID(r), stID(r)
	if r.Intn(3) == 0 {
		a = "-"
	}
	if r.Intn(3) == 0 {
		b = "+"
	}
	return a, b
}

func stFields(r *rand.Rand) []string {
	n := 1 + r.Intn(3)
	var out []string
	for i := 0; i < n; i++ {
		f := []string{"f", "g", "h", "12", "-3"}[r.Intn(5)]
		if r.Intn(4) == 0 {
			f = "f" + strconv.Itoa(i)
		}
		var v string
		switch r.Intn(4) {
		case 0:
			v = strconv.Itoa(r.Intn(100000) - 500)
		case 1:
			v = ""
		default:
			v = "v" + strconv.Itoa(r.Intn(100))
		}
		out = append(out, f, v)
	}
	return out
}

func stTrim(r *rand.Rand) []string {
	var out []string
	if r.Intn(2) == 0 {
		out = append(out, "MAXLEN")
		switch r.Intn(3) {
		case 0:
			out = append(out, "~")
		case 1:
			out = append(out, "=")
		}
		out = append(out, strconv.Itoa(r.Intn(30)-1))
	} else {
		out = append(out, "MINID")
		switch r.Intn(3) {
		case 0:
			out = append(out, "~")
		case 1:
			out = append(out, "=")
		}
		out = append(out, stID(r))
	}
	if r.Intn(4) == 0 {
		out = append(out, "LIMIT", strconv.Itoa(r.Intn(20)))
	}
	return out
}

func stCount(r *rand.Rand, argv []string) []string {
	if r.Intn(2) == 0 {
		argv = append(argv, "COUNT", strconv.Itoa(r.Intn(8)-1))
	}
	return argv
}

func stMinIdle(r *rand.Rand) string {
	if r.Intn(3) == 0 {
		return "36000000"
	}
	return "0"
}

func init() {
	const a = "stream"
	registerGen(a, "xadd", 30, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XADD", stKey(r, k)}
		if r.Intn(8) == 0 {
			argv = append(argv, "NOMKSTREAM")
		}
		if r.Intn(5) == 0 {
			argv = append(argv, stTrim(r)...)
		}
		switch r.Intn(4) {
		case 0:
			argv = append(argv, fmt.Sprintf("%d-*", r.Intn(70)))
		case 1:
			argv = append(argv, strconv.Itoa(r.Intn(70)))
		default:
			argv = append(argv, fmt.Sprintf("%d-%d", r.Intn(70), r.Intn(5)))
		}
		return append(argv, stFields(r)...)
	})
	registerGen(a, "xrange", 10, func(r *rand.Rand, k *Keys) []string {
		s, e := stRange(r)
		if r.Intn(2) == 0 {
			return stCount(r, []string{"XREVRANGE", stKey(r, k), e, s})
		}
		return stCount(r, []string{"XRANGE", stKey(r, k), s, e})
	})
	registerGen(a, "xlen", 3, func(r *rand.Rand, k *Keys) []string { return []string{"XLEN", stKey(r, k)} })
	registerGen(a, "xdel", 5, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XDEL", stKey(r, k)}
		for i := 0; i < 1+r.Intn(3); i++ {
			argv = append(argv, fmt.Sprintf("%d-%d", r.Intn(60), r.Intn(4)))
		}
		return argv
	})
	registerGen(a, "xtrim", 4, func(r *rand.Rand, k *Keys) []string {
		return append([]string{"XTRIM", stKey(r, k)}, stTrim(r)...)
	})
	registerGen(a, "xread", 6, func(r *rand.Rand, k *Keys) []string {
		argv := stCount(r, []string{"XREAD"})
		n := 1 + r.Intn(2)
		argv = append(argv, "STREAMS")
		for i := 0; i < n; i++ {
			argv = append(argv, stKey(r, k))
		}
		for i := 0; i < n; i++ {
			if r.Intn(5) == 0 {
				argv = append(argv, "$")
			} else {
				argv = append(argv, stID(r))
			}
		}
		return argv
	})
	registerGen(a, "xgroup-create", 5, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XGROUP", "CREATE", stKey(r, k), stGroups[r.Intn(2)]}
		if r.Intn(3) == 0 {
			argv = append(argv, "$")
		} else {
			argv = append(argv, stID(r))
		}
		if r.Intn(3) == 0 {
			argv = append(argv, "MKSTREAM")
		}
		if r.Intn(4) == 0 {
			argv = append(argv, "ENTRIESREAD", strconv.Itoa(r.Intn(20)-2))
		}
		return argv
	})
	registerGen(a, "xgroup-other", 5, func(r *rand.Rand, k *Keys) []string {
		key, g := stKey(r, k), stGroups[r.Intn(len(stGroups))]
		switch r.Intn(5) {
		case 0:
			argv := []string{"XGROUP", "SETID", key, g, stID(r)}
			if r.Intn(2) == 0 {
				argv = append(argv, "ENTRIESREAD", strconv.Itoa(r.Intn(20)-1))
			}
			return argv
		case 1:
			return []string{"XGROUP", "DESTROY", key, g}
		case 2:
			return []string{"XGROUP", "CREATECONSUMER", key, g, stConsumers[r.Intn(3)]}
		case 3:
			return []string{"XGROUP", "DELCONSUMER", key, g, stConsumers[r.Intn(3)]}
		}
		return []string{"XGROUP", "HELP"}
	})
	registerGen(a, "xreadgroup", 12, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XREADGROUP", "GROUP", stGroups[r.Intn(len(stGroups))], stConsumers[r.Intn(3)]}
		argv = stCount(r, argv)
		if r.Intn(4) == 0 {
			argv = append(argv, "NOACK")
		}
		argv = append(argv, "STREAMS", stKey(r, k))
		if r.Intn(3) == 0 {
			return append(argv, stID(r))
		}
		return append(argv, ">")
	})
	registerGen(a, "xack", 5, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XACK", stKey(r, k), stGroups[r.Intn(len(stGroups))]}
		for i := 0; i < 1+r.Intn(3); i++ {
			argv = append(argv, fmt.Sprintf("%d-%d", r.Intn(60), r.Intn(4)))
		}
		return argv
	})
	registerGen(a, "xpending", 6, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XPENDING", stKey(r, k), stGroups[r.Intn(len(stGroups))]}
		if r.Intn(3) == 0 {
			return argv
		}
		if r.Intn(4) == 0 {
			argv = append(argv, "IDLE", stMinIdle(r))
		}
		s, e := stRange(r)
		argv = append(argv, s, e, strconv.Itoa(r.Intn(10)-1))
		if r.Intn(2) == 0 {
			argv = append(argv, stConsumers[r.Intn(3)])
		}
		return argv
	})
	registerGen(a, "xclaim", 6, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XCLAIM", stKey(r, k), stGroups[r.Intn(len(stGroups))], stConsumers[r.Intn(3)], stMinIdle(r)}
		for i := 0; i < 1+r.Intn(3); i++ {
			argv = append(argv, fmt.Sprintf("%d-%d", r.Intn(60), r.Intn(4)))
		}
		for i := 0; i < r.Intn(3); i++ {
			switch r.Intn(7) {
			case 0:
				argv = append(argv, "JUSTID")
			case 1:
				argv = append(argv, "FORCE")
			case 2:
				argv = append(argv, "RETRYCOUNT", strconv.Itoa(r.Intn(5)))
			case 3:
				argv = append(argv, "IDLE", "1000")
			case 4:
				argv = append(argv, "TIME", "1700000000000")
			case 5:
				argv = append(argv, "LASTID", stID(r))
			default:
				argv = append(argv, "BOGUS")
			}
		}
		return argv
	})
	registerGen(a, "xautoclaim", 5, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XAUTOCLAIM", stKey(r, k), stGroups[r.Intn(len(stGroups))], stConsumers[r.Intn(3)], stMinIdle(r), stID(r)}
		if r.Intn(2) == 0 {
			argv = append(argv, "COUNT", strconv.Itoa(r.Intn(5)))
		}
		if r.Intn(3) == 0 {
			argv = append(argv, "JUSTID")
		}
		return argv
	})
	registerGen(a, "xinfo", 6, func(r *rand.Rand, k *Keys) []string {
		key := stKey(r, k)
		switch r.Intn(4) {
		case 0:
			return []string{"XINFO", "GROUPS", key}
		case 1:
			return []string{"XINFO", "CONSUMERS", key, stGroups[r.Intn(len(stGroups))]}
		}
		return []string{"XINFO", "STREAM", key}
	})
	registerGen(a, "xsetid", 2, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"XSETID", stKey(r, k), fmt.Sprintf("%d-%d", 50+r.Intn(30), r.Intn(4))}
		if r.Intn(2) == 0 {
			argv = append(argv, "ENTRIESADDED", strconv.Itoa(r.Intn(100)))
		}
		if r.Intn(2) == 0 {
			argv = append(argv, "MAXDELETEDID", stID(r))
		}
		return argv
	})
	registerGen(a, "stream-keys", 2, func(r *rand.Rand, k *Keys) []string {
		key := stKeys[r.Intn(len(stKeys))]
		switch r.Intn(6) {
		case 0:
			return []string{"DEL", key}
		case 1:
			return []string{"TYPE", key}
		case 2:
			return []string{"OBJECT", "ENCODING", key}
		case 3:
			return []string{"COPY", key, stKeys[r.Intn(len(stKeys))]}
		case 4:
			return []string{"RENAME", key, stKeys[r.Intn(len(stKeys))]}
		}
		return []string{"CONFIG", "SET", "stream-node-max-entries", strconv.Itoa(1 + r.Intn(5))}
	})
	registerNondeterministic("xpending", func(sk, rd Reply) error { return sameMasked(maskXpending(sk), maskXpending(rd)) })
	registerNondeterministic("xinfo consumers", func(sk, rd Reply) error {
		return sameMasked(maskKeys(sk, "idle"), maskKeys(rd, "idle"))
	})
	registerNondeterministic("xinfo stream", func(sk, rd Reply) error {
		return sameMasked(maskKeys(sk, "radix-tree-nodes"), maskKeys(rd, "radix-tree-nodes"))
	})
}

func sameMasked(sk, rd Reply) error {
	if !sk.Equal(rd) {
		return fmt.Errorf("differ after masking clock-dependent fields")
	}
	return nil
}

// maskKeys blanks the values that follow the given keys in maps (or
// their RESP2 flat arrays), at any depth.
func maskKeys(r Reply, keys ...string) Reply {
	if len(r.Elems) == 0 {
		return r
	}
	out := r
	out.Elems = make([]Reply, len(r.Elems))
	for i, e := range r.Elems {
		out.Elems[i] = maskKeys(e, keys...)
		if i%2 == 1 && r.Elems[i-1].Type == '$' {
			for _, k := range keys {
				if r.Elems[i-1].Str == k {
					out.Elems[i] = Reply{Type: '+', Str: "masked"}
				}
			}
		}
	}
	return out
}

// maskXpending blanks the idle time of each entry of the extended form.
func maskXpending(r Reply) Reply {
	out := r
	out.Elems = append([]Reply(nil), r.Elems...)
	for i, e := range out.Elems {
		if e.Type == '*' && len(e.Elems) == 4 && e.Elems[2].Type == ':' {
			m := e
			m.Elems = append([]Reply(nil), e.Elems...)
			m.Elems[2] = Reply{Type: '+', Str: "masked"}
			out.Elems[i] = m
		}
	}
	return out
}

// streamEdgeCases are compared one by one before the random commands.
var streamEdgeCases = [][]string{
	{"XADD", "e", "0-0", "f", "v"},
	{"XADD", "e", "0-*", "f", "v"},
	{"XADD", "e", "0-*", "f", "v"},
	{"XADD", "e", "5", "f", "v", "g"},
	{"XADD", "e", "5"},
	{"XADD", "e", "-5", "f", "v"},
	{"XADD", "e", "+", "f", "v"},
	{"XADD", "e", "1-18446744073709551615", "f", "v"},
	{"XADD", "e", "1-*", "f", "v"},
	{"XADD", "e", "18446744073709551616-0", "f", "v"},
	{"XADD", "e", "MAXLEN", "-1", "*", "f", "v"},
	{"XADD", "e", "MAXLEN", "1", "MINID", "0", "*", "f", "v"},
	{"XADD", "e", "LIMIT", "10", "2-0", "f", "v"},
	{"XADD", "e", "MAXLEN", "5", "LIMIT", "10", "2-0", "f", "v"},
	{"XADD", "e", "MAXLEN", "~", "5", "LIMIT", "-1", "2-0", "f", "v"},
	{"XADD", "e", "NOMKSTREAM", "MAXLEN", "~", "0", "LIMIT", "1", "2-0", "f", "v"},
	{"XADD", "nokey", "NOMKSTREAM", "*", "f", "v"},
	{"XADD", "e", "3-0", "123", "-45", "18446744073709551616", "x", "", ""},
	{"XRANGE", "e", "-", "+"},
	{"XRANGE", "e", "(-", "+"},
	{"XRANGE", "e", "(18446744073709551615-18446744073709551615", "+"},
	{"XRANGE", "e", "-", "(0-0"},
	{"XRANGE", "e", "(0", "(3"},
	{"XRANGE", "e", "-", "+", "COUNT", "0"},
	{"XRANGE", "e", "-", "+", "COUNT", "x"},
	{"XRANGE", "e", "-", "+", "LIMIT", "1"},
	{"XREVRANGE", "e", "+", "-", "COUNT", "1"},
	{"XRANGE", "nokey", "-", "+"},
	{"XREAD", "STREAMS", "e", "nokey", "0", "$"},
	{"XREAD", "STREAMS", "e", "+"},
	{"XREAD", "STREAMS", "e", ">"},
	{"XREAD", "STREAMS", "e"},
	{"XREAD", "COUNT", "1", "STREAMS", "e", "e", "0", "1"},
	{"XREAD", "GROUP", "g", "c", "STREAMS", "e", "0"},
	{"XREAD", "NOACK", "STREAMS", "e", "0"},
	{"XREAD", "BLOCK", "-1", "STREAMS", "e", "0"},
	{"XREAD", "BLOCK", "x", "STREAMS", "e", "0"},
	{"XREAD", "FOO", "STREAMS", "e", "0"},
	{"XREADGROUP", "STREAMS", "e", "0"},
	{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "e", ">"},
	{"XGROUP", "CREATE", "e", "g", "$"},
	{"XGROUP", "CREATE", "e", "g", "$"},
	{"XGROUP", "CREATE", "nokey", "g", "$"},
	{"XGROUP", "CREATE", "e", "g2", "0", "ENTRIESREAD", "-2"},
	{"XGROUP", "CREATE", "e", "g2", "0", "FOO"},
	{"XGROUP", "FOO", "e", "g2"},
	{"XGROUP", "SETID", "e", "nogroup", "0"},
	{"XGROUP", "SETID", "e", "g", "0", "ENTRIESREAD", "1"},
	{"XGROUP", "SETID", "e", "g", "0", "MKSTREAM"},
	{"XGROUP", "HELP", "x"},
	{"XGROUP", "HELP"},
	{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "e", "$"},
	{"XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "e", ">"},
	{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "e", "0"},
	{"XREADGROUP", "GROUP", "g", "d", "NOACK", "STREAMS", "e", ">"},
	{"XPENDING", "e", "g"},
	{"XPENDING", "e", "g", "-", "+"},
	{"XPENDING", "e", "g", "IDLE", "5", "-", "+"},
	{"XPENDING", "e", "g", "-", "+", "x"},
	{"XPENDING", "e", "nogroup"},
	{"XINFO", "GROUPS", "e"},
	{"XINFO", "STREAM", "e"},
	{"XINFO", "STREAM", "e", "FULL", "X"},
	{"XINFO", "STREAM", "nokey"},
	{"XINFO", "HELP"},
	{"XINFO", "FOO", "e"},
	{"XCLAIM", "e", "g", "d", "x", "1-0"},
	{"XCLAIM", "e", "g", "d", "0", "1-0", "IDLE", "x"},
	{"XCLAIM", "e", "g", "d", "0", "1-0", "FOO"},
	{"XCLAIM", "e", "g", "d", "0", "1-1", "0-1", "JUSTID"},
	{"XCLAIM", "e", "nogroup", "d", "0", "1-1"},
	{"XAUTOCLAIM", "e", "g", "d", "0", "0", "COUNT", "0"},
	{"XAUTOCLAIM", "e", "g", "d", "0", "(18446744073709551615-18446744073709551615"},
	{"XAUTOCLAIM", "e", "g", "d", "0", "0", "JUSTID"},
	{"XDEL", "e", "1-1", "x"},
	{"XDEL", "e", "3-0"},
	{"XAUTOCLAIM", "e", "g", "d", "0", "0"},
	{"XINFO", "STREAM", "e"},
	{"XSETID", "e", "1-0"},
	{"XSETID", "e", "9-0", "MAXDELETEDID", "10-0"},
	{"XSETID", "e", "9-0", "ENTRIESADDED", "-1"},
	{"XSETID", "e", "9-0", "ENTRIESADDED", "0"},
	{"XSETID", "e", "9-0", "ENTRIESADDED", "20", "MAXDELETEDID", "3-0"},
	{"XSETID", "nokey", "9-0"},
	{"XINFO", "STREAM", "e"},
	{"XTRIM", "e"},
	{"XTRIM", "e", "MAXLEN", "~", "0", "LIMIT", "1"},
	{"XTRIM", "e", "MINID", "0", "LIMIT", "1"},
	{"XTRIM", "e", "MAXLEN", "0"},
	{"XINFO", "STREAM", "e"},
	{"XLEN", "e"},
	{"TYPE", "e"},
	{"OBJECT", "ENCODING", "e"},
	{"SET", "str", "x"},
	{"XADD", "str", "*", "f", "v"},
	{"XLEN", "str"},
	{"XINFO", "STREAM", "str"},
	{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"},
}

func TestStreamDifferential(t *testing.T) {
	var gens []generator
	for _, g := range generators {
		if g.area == "stream" {
			gens = append(gens, g)
		}
	}
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1e12
	}
	steps := diffSteps()
	t.Logf("seed %d, %d steps (rerun: -run TestStreamDifferential -seed=%d)", seed, steps, seed)

	p := &diffPair{t: t, root: t, sk: StartSkiff(t), rd: StartRedis(t)}
	defer p.close()
	for _, proto := range []int{2, 3} {
		t.Run("edges-resp"+strconv.Itoa(proto), func(t *testing.T) {
			p.t = t
			p.reset()
			if proto == 3 && !p.hello(3) {
				t.Fatal("skiff refused HELLO 3")
			}
			for i, argv := range streamEdgeCases {
				sk, rd, err := p.exchange(argv)
				if err != nil {
					t.Fatalf("edge case %d %s: %v", i, fmtArgv(argv), err)
				}
				if err := compareReplies(argv, sk, rd); err != nil {
					t.Errorf("edge case %d %s (RESP%d):\n  skiff: %s\n  redis: %s", i, fmtArgv(argv), proto, sk, rd)
				}
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		p.t = t
		h := fnv.New64a()
		h.Write([]byte("stream"))
		runArea(t, p, "stream", gens, seed^int64(h.Sum64()&(1<<62-1)), seed, steps)
	})
}
