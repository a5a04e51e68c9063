package integration

// Generators for HyperLogLog. GET of an HLL key is compared byte for byte,
// so skiff's sparse and dense representations, cached cardinality
// included, must match Redis's exactly.

import (
	"math/rand"
	"strconv"
)

func init() {
	a := "hll"
	registerGen(a, "pfadd", 20, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"PFADD", k.Key(r)}
		for n := r.Intn(6); n > 0; n-- {
			argv = append(argv, hllElem(r))
		}
		return argv
	})
	registerGen(a, "pfadd-many", 2, func(r *rand.Rand, k *Keys) []string {
		// Enough distinct elements to grow past hll-sparse-max-bytes.
		argv := []string{"PFADD", k.Key(r)}
		base := r.Intn(1 << 20)
		for n := 200 + r.Intn(1500); n > 0; n-- {
			argv = append(argv, "e"+strconv.Itoa(base+n))
		}
		return argv
	})
	registerGen(a, "pfcount", 10, func(r *rand.Rand, k *Keys) []string {
		return append([]string{"PFCOUNT"}, k.Keys(r, 1+r.Intn(3))...)
	})
	registerGen(a, "pfmerge", 5, func(r *rand.Rand, k *Keys) []string {
		return append([]string{"PFMERGE"}, k.Keys(r, 1+r.Intn(3))...)
	})
	registerGen(a, "get", 8, func(r *rand.Rand, k *Keys) []string { return []string{"GET", k.Key(r)} })
	registerGen(a, "pfdebug", 2, func(r *rand.Rand, k *Keys) []string {
		sub := []string{"ENCODING", "DECODE", "TODENSE", "GETREG", "nope"}[r.Intn(5)]
		return []string{"PFDEBUG", sub, k.Key(r)}
	})
	registerGen(a, "corrupt", 1, func(r *rand.Rand, k *Keys) []string {
		switch r.Intn(3) {
		case 0:
			return []string{"SET", k.Key(r), "HYLL"}
		case 1:
			return []string{"SET", k.Key(r), "not an hll at all"}
		}
		return []string{"SADD", k.Key(r), "x"}
	})
	registerGen(a, "del", 2, func(r *rand.Rand, k *Keys) []string { return []string{"DEL", k.Key(r)} })
}

func hllElem(r *rand.Rand) string {
	if r.Intn(4) == 0 {
		return []string{"", "a", "b", "hello world", "\x00\xff"}[r.Intn(5)]
	}
	return strconv.Itoa(r.Intn(5000))
}
