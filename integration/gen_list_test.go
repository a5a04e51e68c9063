package integration

// Generators for the list commands, blocking ones included (with short
// timeouts, so a command that finds nothing times out the same way on both
// servers). Strings and hashes are written to the same keys so that the
// WRONGTYPE paths are taken.

import (
	"math/rand"
	"strconv"
)

// listElems is a small element pool, so LREM/LPOS/LINSERT find matches.
var listElems = []string{"a", "b", "c", "1", "2", "-1", "", "hello world", "x\x00y"}

func listElem(r *rand.Rand) string {
	if r.Intn(30) == 0 {
		return randBytes(r, 70) // a long element
	}
	return listElems[r.Intn(len(listElems))]
}

func randBytes(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + r.Intn(26))
	}
	return string(b)
}

// listIndex returns an index argument: small positive and negative values,
// out of range ones, and a few malformed ones.
func listIndex(r *rand.Rand) string {
	switch r.Intn(20) {
	case 0:
		return "x"
	case 1:
		return "9223372036854775807"
	case 2:
		return "-9223372036854775808"
	case 3:
		return "1.5"
	}
	return strconv.Itoa(r.Intn(16) - 8)
}

func listWhere(r *rand.Rand) string {
	return []string{"LEFT", "RIGHT", "left", "right", "up"}[r.Intn(5)]
}

func listTimeout(r *rand.Rand) string {
	return []string{"0.01", "0.01", "0.01", "0.001", "-1", "abc", "inf", "1e400"}[r.Intn(8)]
}

func listPushArgs(r *rand.Rand, cmd, key string) []string {
	argv := []string{cmd, key}
	for n := 1 + r.Intn(4); n > 0; n-- {
		argv = append(argv, listElem(r))
	}
	return argv
}

func init() {
	for _, cmd := range []string{"LPUSH", "RPUSH"} {
		cmd := cmd
		registerGen("list", cmd, 12, func(r *rand.Rand, k *Keys) []string { return listPushArgs(r, cmd, k.Key(r)) })
	}
	for _, cmd := range []string{"LPUSHX", "RPUSHX"} {
		cmd := cmd
		registerGen("list", cmd, 4, func(r *rand.Rand, k *Keys) []string { return listPushArgs(r, cmd, k.Key(r)) })
	}
	for _, cmd := range []string{"LPOP", "RPOP"} {
		cmd := cmd
		registerGen("list", cmd, 8, func(r *rand.Rand, k *Keys) []string {
			switch r.Intn(6) {
			case 0, 1, 2:
				return []string{cmd, k.Key(r)}
			case 3:
				return []string{cmd, k.Key(r), []string{"0", "-1", "x", "1", "2"}[r.Intn(5)], "extra"}
			}
			return []string{cmd, k.Key(r), []string{"0", "1", "2", "5", "-1", "x", "100"}[r.Intn(7)]}
		})
	}
	registerGen("list", "LLEN", 4, func(r *rand.Rand, k *Keys) []string { return []string{"LLEN", k.Key(r)} })
	registerGen("list", "LRANGE", 6, func(r *rand.Rand, k *Keys) []string {
		return []string{"LRANGE", k.Key(r), listIndex(r), listIndex(r)}
	})
	registerGen("list", "LINDEX", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"LINDEX", k.Key(r), listIndex(r)}
	})
	registerGen("list", "LSET", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"LSET", k.Key(r), listIndex(r), listElem(r)}
	})
	registerGen("list", "LINSERT", 4, func(r *rand.Rand, k *Keys) []string {
		where := []string{"BEFORE", "AFTER", "before", "after", "middle"}[r.Intn(5)]
		return []string{"LINSERT", k.Key(r), where, listElem(r), listElem(r)}
	})
	registerGen("list", "LREM", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"LREM", k.Key(r), []string{"0", "1", "-1", "2", "-2", "x"}[r.Intn(6)], listElem(r)}
	})
	registerGen("list", "LTRIM", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"LTRIM", k.Key(r), listIndex(r), listIndex(r)}
	})
	registerGen("list", "LPOS", 5, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"LPOS", k.Key(r), listElem(r)}
		for n := r.Intn(4); n > 0; n-- {
			switch r.Intn(5) {
			case 0:
				argv = append(argv, "RANK", []string{"1", "2", "-1", "-2", "0", "x", "-9223372036854775808"}[r.Intn(7)])
			case 1:
				argv = append(argv, "COUNT", []string{"0", "1", "2", "-1", "x"}[r.Intn(5)])
			case 2:
				argv = append(argv, "MAXLEN", []string{"0", "1", "3", "-1"}[r.Intn(4)])
			case 3:
				argv = append(argv, "RANK")
			default:
				argv = append(argv, "BOGUS", "1")
			}
		}
		return argv
	})
	registerGen("list", "LMOVE", 5, func(r *rand.Rand, k *Keys) []string {
		return []string{"LMOVE", k.Key(r), k.Key(r), listWhere(r), listWhere(r)}
	})
	registerGen("list", "RPOPLPUSH", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"RPOPLPUSH", k.Key(r), k.Key(r)}
	})
	registerGen("list", "LMPOP", 5, func(r *rand.Rand, k *Keys) []string {
		return listMpopArgs(r, k, "LMPOP")
	})
	for _, cmd := range []string{"BLPOP", "BRPOP"} {
		cmd := cmd
		registerGen("list", cmd, 3, func(r *rand.Rand, k *Keys) []string {
			argv := append([]string{cmd}, k.Keys(r, 1+r.Intn(3))...)
			return append(argv, listTimeout(r))
		})
	}
	registerGen("list", "BLMOVE", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"BLMOVE", k.Key(r), k.Key(r), listWhere(r), listWhere(r), listTimeout(r)}
	})
	registerGen("list", "BRPOPLPUSH", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"BRPOPLPUSH", k.Key(r), k.Key(r), listTimeout(r)}
	})
	registerGen("list", "BLMPOP", 2, func(r *rand.Rand, k *Keys) []string {
		return listMpopArgs(r, k, "BLMPOP")
	})
	registerGen("list", "TYPE", 1, func(r *rand.Rand, k *Keys) []string { return []string{"TYPE", k.Key(r)} })
	registerGen("list", "OBJECT ENCODING", 1, func(r *rand.Rand, k *Keys) []string {
		return []string{"OBJECT", "ENCODING", k.Key(r)}
	})
	// Other types on the same keys: WRONGTYPE paths.
	registerGen("list", "SET", 2, func(r *rand.Rand, k *Keys) []string { return []string{"SET", k.Key(r), "v"} })
	registerGen("list", "HSET", 1, func(r *rand.Rand, k *Keys) []string { return []string{"HSET", k.Key(r), "f", "v"} })
	registerGen("list", "DEL", 2, func(r *rand.Rand, k *Keys) []string { return []string{"DEL", k.Key(r)} })
}

// listMpopArgs builds [B]LMPOP [timeout] numkeys key... LEFT|RIGHT [COUNT n],
// sometimes malformed.
func listMpopArgs(r *rand.Rand, k *Keys, cmd string) []string {
	argv := []string{cmd}
	if cmd == "BLMPOP" {
		argv = append(argv, listTimeout(r))
	}
	n := 1 + r.Intn(3)
	switch r.Intn(10) {
	case 0:
		argv = append(argv, []string{"0", "-1", "x", "10"}[r.Intn(4)])
	default:
		argv = append(argv, strconv.Itoa(n))
	}
	argv = append(argv, k.Keys(r, n)...)
	argv = append(argv, listWhere(r))
	switch r.Intn(5) {
	case 0, 1:
		argv = append(argv, "COUNT", []string{"1", "2", "10", "0", "-1", "x"}[r.Intn(6)])
	case 2:
		argv = append(argv, "COUNT")
	case 3:
		argv = append(argv, "COUNT", "1", "COUNT", "2")
	}
	return argv
}
