package integration

// Generators for the set commands. Members come from a small pool mixing
// integers (so intsets appear and convert) and words (hashtables), on the
// shared keys, so sets collide with each other and with other types.
// SPOP is only generated where its outcome is deterministic (whole-set
// pops, a dedicated single-member key); SRANDMEMBER and SSCAN get custom
// checks.

import (
	"errors"
	"fmt"
	"math/rand"
	"strconv"
)

func init() {
	a := "sets"
	registerGen(a, "sadd", 20, func(r *rand.Rand, k *Keys) []string {
		return append([]string{"SADD", k.Key(r)}, setMembers(r, 1+r.Intn(5))...)
	})
	registerGen(a, "sadd-many-ints", 1, func(r *rand.Rand, k *Keys) []string {
		// Enough integers to pass set-max-intset-entries (512) sometimes.
		argv := []string{"SADD", k.Key(r)}
		for n := 200 + r.Intn(400); n > 0; n-- {
			argv = append(argv, strconv.Itoa(r.Intn(2000)))
		}
		return argv
	})
	registerGen(a, "srem", 8, func(r *rand.Rand, k *Keys) []string {
		return append([]string{"SREM", k.Key(r)}, setMembers(r, 1+r.Intn(4))...)
	})
	registerGen(a, "sismember", 6, func(r *rand.Rand, k *Keys) []string {
		return []string{"SISMEMBER", k.Key(r), setMember(r)}
	})
	registerGen(a, "smismember", 4, func(r *rand.Rand, k *Keys) []string {
		return append([]string{"SMISMEMBER", k.Key(r)}, setMembers(r, 1+r.Intn(4))...)
	})
	registerGen(a, "smembers", 5, func(r *rand.Rand, k *Keys) []string { return []string{"SMEMBERS", k.Key(r)} })
	registerGen(a, "scard", 5, func(r *rand.Rand, k *Keys) []string { return []string{"SCARD", k.Key(r)} })
	registerGen(a, "spop-all", 2, func(r *rand.Rand, k *Keys) []string {
		counts := []string{"100000", "0", "-1", "abc", "100000"}
		return []string{"SPOP", k.Key(r), counts[r.Intn(len(counts))]}
	})
	registerGen(a, "spop-one", 2, func(r *rand.Rand, k *Keys) []string {
		if r.Intn(2) == 0 {
			return []string{"SADD", "set:one", "only"}
		}
		return []string{"SPOP", "set:one"}
	})
	registerGen(a, "spop-syntax", 1, func(r *rand.Rand, k *Keys) []string {
		return []string{"SPOP", k.Key(r), "1", "2"}
	})
	registerGen(a, "srandmember", 4, func(r *rand.Rand, k *Keys) []string {
		counts := []string{"", "0", "1", "3", "-3", "-20", "100000", "abc", "-9223372036854775808"}
		c := counts[r.Intn(len(counts))]
		if c == "" {
			return []string{"SRANDMEMBER", k.Key(r)}
		}
		return []string{"SRANDMEMBER", k.Key(r), c}
	})
	registerGen(a, "smove", 5, func(r *rand.Rand, k *Keys) []string {
		return []string{"SMOVE", k.Key(r), k.Key(r), setMember(r)}
	})
	for _, c := range []string{"SINTER", "SUNION", "SDIFF"} {
		c := c
		registerGen(a, c, 4, func(r *rand.Rand, k *Keys) []string {
			return append([]string{c}, k.Keys(r, 1+r.Intn(3))...)
		})
		registerGen(a, c+"STORE", 3, func(r *rand.Rand, k *Keys) []string {
			return append([]string{c + "STORE", k.Key(r)}, k.Keys(r, 1+r.Intn(3))...)
		})
	}
	registerGen(a, "sintercard", 4, func(r *rand.Rand, k *Keys) []string {
		n := 1 + r.Intn(3)
		numkeys := strconv.Itoa(n)
		switch r.Intn(10) {
		case 0:
			numkeys = "0"
		case 1:
			numkeys = strconv.Itoa(n + 1)
		case 2:
			numkeys = "x"
		}
		argv := append([]string{"SINTERCARD", numkeys}, k.Keys(r, n)...)
		switch r.Intn(4) {
		case 0:
			argv = append(argv, "LIMIT", strconv.Itoa(r.Intn(4)))
		case 1:
			argv = append(argv, "LIMIT", "-1")
		case 2:
			argv = append(argv, "LIMIT")
		}
		return argv
	})
	registerGen(a, "sscan", 3, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"SSCAN", k.Key(r), []string{"0", "0", "x"}[r.Intn(3)], "COUNT", "100000"}
		if r.Intn(3) == 0 {
			argv = append(argv, "MATCH", []string{"*1*", "m*", "[a-c]*"}[r.Intn(3)])
		}
		if r.Intn(10) == 0 {
			argv = append(argv, "COUNT", "0")
		}
		return argv
	})
	registerGen(a, "encoding", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"OBJECT", "ENCODING", k.Key(r)}
	})
	registerGen(a, "other-type", 3, func(r *rand.Rand, k *Keys) []string {
		if r.Intn(2) == 0 {
			return []string{"SET", k.Key(r), "str"}
		}
		return []string{"DEL", k.Key(r)}
	})

	for _, c := range []string{"smembers", "sinter", "sunion", "sdiff"} {
		registerUnordered(c)
	}
	// A whole-set SPOP returns the set in iteration order.
	registerUnordered("spop")
	registerNondeterministic("srandmember", sameShape)
	registerNondeterministic("sscan", scanSameContent)
}

var setPool = []string{"1", "2", "3", "10", "-7", "100", "a", "b", "c", "member", "x y", "", "12345678901234567890"}

func setMember(r *rand.Rand) string { return setPool[r.Intn(len(setPool))] }

func setMembers(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = setMember(r)
	}
	return out
}

// sameShape accepts replies of random commands (SRANDMEMBER,
// ZRANDMEMBER) when they have the same type, nullness and length, or are
// the same error.
func sameShape(sk, rd Reply) error {
	if sk.IsError() || rd.IsError() {
		if sk.Equal(rd) {
			return nil
		}
		return errors.New("errors differ")
	}
	if sk.Type != rd.Type || sk.Null != rd.Null || len(sk.Elems) != len(rd.Elems) {
		return fmt.Errorf("shapes differ")
	}
	for i := range sk.Elems {
		if sk.Elems[i].Type != rd.Elems[i].Type || len(sk.Elems[i].Elems) != len(rd.Elems[i].Elems) {
			return fmt.Errorf("element %d shapes differ", i)
		}
	}
	return nil
}

// scanSameContent accepts SSCAN/ZSCAN replies that, once complete (cursor
// 0 on both), hold the same elements (member/score pairs kept together);
// partial scans only need the same shape.
func scanSameContent(sk, rd Reply) error {
	if sk.IsError() || rd.IsError() {
		if sk.Equal(rd) {
			return nil
		}
		return errors.New("errors differ")
	}
	if len(sk.Elems) != 2 || len(rd.Elems) != 2 {
		return errors.New("not a two-element scan reply")
	}
	if sk.Elems[0].Str != "0" || rd.Elems[0].Str != "0" {
		return nil
	}
	return samePairsOrElems(sk.Elems[1], rd.Elems[1])
}

func samePairsOrElems(a, b Reply) error {
	if len(a.Elems) != len(b.Elems) {
		return fmt.Errorf("%d elements vs %d", len(a.Elems), len(b.Elems))
	}
	count := map[string]int{}
	for _, e := range a.Elems {
		count[e.String()]++
	}
	for _, e := range b.Elems {
		count[e.String()]--
	}
	for k, v := range count {
		if v != 0 {
			return fmt.Errorf("element %s differs", k)
		}
	}
	return nil
}
