package integration

// Generators for the sorted-set commands. Scores lean on ties, integers,
// infinities and bad floats; members on a small pool so ranges, ranks and
// set operations see the same elements on both servers. Lex commands run
// on keys whose members all share one score (the only case Redis
// defines), kept apart in their own keys.

import (
	"math/rand"
	"strconv"
)

func init() {
	a := "zsets"
	registerGen(a, "zadd", 20, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"ZADD", zkey(r, k)}
		for _, o := range []string{"NX", "XX", "GT", "LT", "CH", "INCR"} {
			if r.Intn(8) == 0 {
				argv = append(argv, o)
			}
		}
		n := 1 + r.Intn(4)
		if r.Intn(20) == 0 {
			n = 0 // syntax error
		}
		for i := 0; i < n; i++ {
			argv = append(argv, zscore(r), zmember(r))
		}
		if r.Intn(30) == 0 {
			argv = append(argv, "dangling")
		}
		return argv
	})
	registerGen(a, "zadd-big", 1, func(r *rand.Rand, k *Keys) []string {
		// Past zset-max-listpack-entries (128) or -value (64): skiplists.
		argv := []string{"ZADD", k.Key(r)}
		if r.Intn(2) == 0 {
			for i := 0; i < 150; i++ {
				argv = append(argv, strconv.Itoa(r.Intn(100)), "big"+strconv.Itoa(r.Intn(300)))
			}
		} else {
			argv = append(argv, "1", "a-member-longer-than-sixty-four-bytes-makes-a-skiplist-at-once-xxxxxxxx")
		}
		return argv
	})
	registerGen(a, "zadd-lex", 6, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"ZADD", lexKey(r)}
		for n := 1 + r.Intn(4); n > 0; n-- {
			argv = append(argv, "0", zmember(r))
		}
		return argv
	})
	registerGen(a, "zincrby", 6, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZINCRBY", zkey(r, k), zscore(r), zmember(r)}
	})
	registerGen(a, "zrem", 6, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"ZREM", zkeyOrLex(r, k)}
		for n := 1 + r.Intn(3); n > 0; n-- {
			argv = append(argv, zmember(r))
		}
		return argv
	})
	for _, c := range []string{"ZCARD"} {
		c := c
		registerGen(a, c, 3, func(r *rand.Rand, k *Keys) []string { return []string{c, zkeyOrLex(r, k)} })
	}
	registerGen(a, "zscore", 5, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZSCORE", zkeyOrLex(r, k), zmember(r)}
	})
	registerGen(a, "zmscore", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZMSCORE", zkey(r, k), zmember(r), zmember(r)}
	})
	registerGen(a, "zrank", 5, func(r *rand.Rand, k *Keys) []string {
		return []string{[]string{"ZRANK", "ZREVRANK"}[r.Intn(2)], zkey(r, k), zmember(r)}
	})
	registerGen(a, "zcount", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZCOUNT", zkey(r, k), zbound(r), zbound(r)}
	})
	registerGen(a, "zlexcount", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZLEXCOUNT", lexKey(r), lexBound(r), lexBound(r)}
	})
	registerGen(a, "zrange", 10, genZrange)
	registerGen(a, "zrange-legacy", 8, genZrangeLegacy)
	registerGen(a, "zrangestore", 3, func(r *rand.Rand, k *Keys) []string {
		argv := genZrange(r, k)
		argv[0] = "ZRANGESTORE"
		out := []string{"ZRANGESTORE", zkey(r, k)}
		for _, x := range argv[1:] {
			if x != "WITHSCORES" {
				out = append(out, x)
			}
		}
		return out
	})
	registerGen(a, "zremrangebyrank", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZREMRANGEBYRANK", zkey(r, k), zindex(r), zindex(r)}
	})
	registerGen(a, "zremrangebyscore", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZREMRANGEBYSCORE", zkey(r, k), zbound(r), zbound(r)}
	})
	registerGen(a, "zremrangebylex", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"ZREMRANGEBYLEX", lexKey(r), lexBound(r), lexBound(r)}
	})
	registerGen(a, "zpop", 5, func(r *rand.Rand, k *Keys) []string {
		argv := []string{[]string{"ZPOPMIN", "ZPOPMAX"}[r.Intn(2)], zkeyOrLex(r, k)}
		if r.Intn(2) == 0 {
			argv = append(argv, []string{"0", "1", "2", "5", "-1", "x", "1000"}[r.Intn(7)])
		}
		if r.Intn(20) == 0 {
			argv = append(argv, "1")
		}
		return argv
	})
	registerGen(a, "zmpop", 4, func(r *rand.Rand, k *Keys) []string {
		n := 1 + r.Intn(3)
		numkeys := strconv.Itoa(n)
		if r.Intn(10) == 0 {
			numkeys = []string{"0", "-1", "x", "9"}[r.Intn(4)]
		}
		argv := append([]string{"ZMPOP", numkeys}, zkeys(r, k, n)...)
		argv = append(argv, []string{"MIN", "MAX", "min", "middle"}[r.Intn(4)])
		switch r.Intn(4) {
		case 0:
			argv = append(argv, "COUNT", []string{"1", "3", "0", "-2", "x", "100"}[r.Intn(6)])
		case 1:
			argv = append(argv, "COUNT")
		}
		return argv
	})
	for _, c := range []string{"ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD"} {
		c := c
		registerGen(a, c, 3, func(r *rand.Rand, k *Keys) []string { return genZsetOp(r, k, c) })
	}
	registerGen(a, "zrandmember", 3, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"ZRANDMEMBER", zkey(r, k)}
		if r.Intn(4) > 0 {
			argv = append(argv, []string{"0", "1", "3", "-3", "-10", "1000", "x"}[r.Intn(7)])
			if r.Intn(2) == 0 {
				argv = append(argv, []string{"WITHSCORES", "withscores", "bad"}[r.Intn(3)])
			}
		}
		return argv
	})
	registerGen(a, "zscan", 3, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"ZSCAN", zkey(r, k), []string{"0", "0", "x"}[r.Intn(3)], "COUNT", "100000"}
		if r.Intn(3) == 0 {
			argv = append(argv, "MATCH", []string{"*1*", "m*", "big*"}[r.Intn(3)])
		}
		return argv
	})
	registerGen(a, "encoding", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"OBJECT", "ENCODING", zkeyOrLex(r, k)}
	})
	registerGen(a, "other-type", 3, func(r *rand.Rand, k *Keys) []string {
		switch r.Intn(3) {
		case 0:
			return []string{"SET", k.Key(r), "str"}
		case 1:
			return []string{"SADD", k.Key(r), zmember(r), "m1"}
		}
		return []string{"DEL", k.Key(r)}
	})
	registerNondeterministic("zrandmember", sameShape)
	registerNondeterministic("zscan", scanSameContent)
}

var (
	zmembers = []string{"m1", "m2", "m3", "a", "b", "c", "aa", "ab", "1", "10", "", "x y"}
	zscores  = []string{"0", "1", "1", "2", "-1", "1.5", "3.25", "1e3", "-0", "inf", "-inf", "+inf", "10", "nan", "abc", "", " 1", "1e400", "0x10"}
	zbounds  = []string{"-inf", "+inf", "inf", "0", "1", "(1", "2", "(2", "1.5", "(-inf", "10", "x", "(x", "(", "nan", "", " 3"}
	lexes    = []string{"-", "+", "[a", "(a", "[aa", "(ab", "[c", "[m1", "(m3", "[", "(", "a", "++", "[z"}
)

func zmember(r *rand.Rand) string { return zmembers[r.Intn(len(zmembers))] }
func zscore(r *rand.Rand) string  { return zscores[r.Intn(len(zscores))] }
func zbound(r *rand.Rand) string  { return zbounds[r.Intn(len(zbounds))] }
func lexBound(r *rand.Rand) string {
	return lexes[r.Intn(len(lexes))]
}
func zindex(r *rand.Rand) string {
	return []string{"0", "1", "2", "-1", "-2", "-100", "100", "x", "5"}[r.Intn(9)]
}

// zkey picks a shared key. The same-score lex keys are left out: a
// command that changes scores there would make lex ranges undefined.
func zkey(r *rand.Rand, k *Keys) string { return k.Key(r) }

// zkeyOrLex also reaches the lex keys, for commands that keep their
// scores equal (reads, removals).
func zkeyOrLex(r *rand.Rand, k *Keys) string {
	if r.Intn(6) == 0 {
		return lexKey(r)
	}
	return k.Key(r)
}

func zkeys(r *rand.Rand, k *Keys, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = zkey(r, k)
	}
	return out
}

func lexKey(r *rand.Rand) string { return []string{"zlex:{a}", "zlex:{b}"}[r.Intn(2)] }

func genZrange(r *rand.Rand, k *Keys) []string {
	argv := []string{"ZRANGE", zkey(r, k)}
	switch r.Intn(3) {
	case 0:
		argv = append(argv, zindex(r), zindex(r))
	case 1:
		argv = append(argv, zbound(r), zbound(r), "BYSCORE")
	default:
		argv[1] = lexKey(r)
		argv = append(argv, lexBound(r), lexBound(r), "BYLEX")
	}
	if r.Intn(3) == 0 {
		argv = append(argv, "REV")
	}
	if r.Intn(3) == 0 {
		argv = append(argv, "LIMIT", []string{"0", "1", "-1", "5", "x"}[r.Intn(5)], []string{"1", "2", "-1", "0", "10"}[r.Intn(5)])
	}
	if r.Intn(3) == 0 {
		argv = append(argv, "WITHSCORES")
	}
	if r.Intn(4) == 0 {
		// Shuffle the options: Redis accepts them in any order.
		opts := argv[4:]
		r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	}
	return argv
}

func genZrangeLegacy(r *rand.Rand, k *Keys) []string {
	var argv []string
	switch r.Intn(5) {
	case 0:
		argv = []string{[]string{"ZRANGEBYSCORE", "ZREVRANGEBYSCORE"}[r.Intn(2)], zkey(r, k), zbound(r), zbound(r)}
		if r.Intn(2) == 0 {
			argv = append(argv, "WITHSCORES")
		}
	case 1:
		argv = []string{[]string{"ZRANGEBYLEX", "ZREVRANGEBYLEX"}[r.Intn(2)], lexKey(r), lexBound(r), lexBound(r)}
	case 2:
		argv = []string{"ZREVRANGE", zkey(r, k), zindex(r), zindex(r)}
		if r.Intn(2) == 0 {
			argv = append(argv, "WITHSCORES")
		}
	default:
		argv = []string{"ZRANGEBYSCORE", zkey(r, k), zbound(r), zbound(r)}
	}
	if r.Intn(3) == 0 {
		argv = append(argv, "LIMIT", []string{"0", "1", "-1", "2"}[r.Intn(4)], []string{"1", "3", "-1", "0"}[r.Intn(4)])
	}
	if r.Intn(15) == 0 {
		argv = append(argv, "REV")
	}
	return argv
}

func genZsetOp(r *rand.Rand, k *Keys, c string) []string {
	argv := []string{c}
	if c == "ZUNIONSTORE" || c == "ZINTERSTORE" || c == "ZDIFFSTORE" {
		argv = append(argv, zkey(r, k))
	}
	n := 1 + r.Intn(3)
	numkeys := strconv.Itoa(n)
	if r.Intn(12) == 0 {
		numkeys = []string{"0", "x", "9", "-1"}[r.Intn(4)]
	}
	argv = append(argv, numkeys)
	argv = append(argv, zkeys(r, k, n)...)
	if r.Intn(3) == 0 {
		argv = append(argv, "WEIGHTS")
		for i := 0; i < n; i++ {
			argv = append(argv, []string{"1", "2", "-1", "0.5", "inf", "x"}[r.Intn(6)])
		}
	}
	if r.Intn(3) == 0 {
		argv = append(argv, "AGGREGATE", []string{"SUM", "MIN", "MAX", "avg"}[r.Intn(4)])
	}
	if r.Intn(3) == 0 {
		argv = append(argv, "WITHSCORES")
	}
	if c == "ZINTERCARD" && r.Intn(2) == 0 {
		argv = append(argv, "LIMIT", []string{"0", "1", "2", "-1"}[r.Intn(4)])
	}
	return argv
}
