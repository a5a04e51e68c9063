package integration

// Generators for the hash commands. Fields come from a small pool so that
// updates and deletes hit; a few long values push hashes past
// hash-max-listpack-value into the hashtable encoding, whose iteration
// order differs from Redis's, so whole-hash replies compare unordered.
// Strings and lists are written to the same keys for WRONGTYPE paths.

import (
	"errors"
	"fmt"
	"math/rand"
	"sort"
)

var hashFields = []string{"f1", "f2", "f3", "f4", "f5", "n", "x\x00y", ""}

func hashField(r *rand.Rand) string { return hashFields[r.Intn(len(hashFields))] }

func hashValue(r *rand.Rand) string {
	switch r.Intn(12) {
	case 0:
		return randBytes(r, 65+r.Intn(10)) // converts to hashtable
	case 1:
		return "1.5"
	case 2:
		return "9223372036854775807"
	case 3:
		return "abc"
	}
	return []string{"0", "1", "-7", "10", "v"}[r.Intn(5)]
}

func init() {
	registerGen("hash", "HSET", 12, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"HSET", k.Key(r)}
		for n := 1 + r.Intn(3); n > 0; n-- {
			argv = append(argv, hashField(r), hashValue(r))
		}
		if r.Intn(15) == 0 {
			argv = argv[:len(argv)-1] // odd arity
		}
		return argv
	})
	registerGen("hash", "HMSET", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"HMSET", k.Key(r), hashField(r), hashValue(r)}
	})
	registerGen("hash", "HSETNX", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"HSETNX", k.Key(r), hashField(r), hashValue(r)}
	})
	registerGen("hash", "HGET", 6, func(r *rand.Rand, k *Keys) []string {
		return []string{"HGET", k.Key(r), hashField(r)}
	})
	registerGen("hash", "HMGET", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"HMGET", k.Key(r), hashField(r), hashField(r)}
	})
	registerGen("hash", "HDEL", 5, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"HDEL", k.Key(r)}
		for n := 1 + r.Intn(3); n > 0; n-- {
			argv = append(argv, hashField(r))
		}
		return argv
	})
	for _, cmd := range []string{"HEXISTS", "HSTRLEN"} {
		cmd := cmd
		registerGen("hash", cmd, 3, func(r *rand.Rand, k *Keys) []string { return []string{cmd, k.Key(r), hashField(r)} })
	}
	for _, cmd := range []string{"HLEN", "HKEYS", "HVALS", "HGETALL"} {
		cmd := cmd
		registerGen("hash", cmd, 3, func(r *rand.Rand, k *Keys) []string { return []string{cmd, k.Key(r)} })
	}
	registerGen("hash", "HINCRBY", 5, func(r *rand.Rand, k *Keys) []string {
		by := []string{"1", "-3", "100", "x", "9223372036854775807", "1.5"}[r.Intn(6)]
		return []string{"HINCRBY", k.Key(r), hashField(r), by}
	})
	registerGen("hash", "HINCRBYFLOAT", 5, func(r *rand.Rand, k *Keys) []string {
		by := []string{"1", "0.1", "-2.5", "1e3", "x", "inf", "3.0e-5", "0x10", "1e308"}[r.Intn(9)]
		return []string{"HINCRBYFLOAT", k.Key(r), hashField(r), by}
	})
	registerGen("hash", "HRANDFIELD", 4, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"HRANDFIELD", k.Key(r)}
		switch r.Intn(4) {
		case 0:
			return argv
		case 1:
			return append(argv, []string{"0", "1", "3", "-3", "100", "x"}[r.Intn(6)])
		case 2:
			return append(argv, []string{"1", "2", "-5", "50"}[r.Intn(4)], "WITHVALUES")
		}
		return append(argv, "2", "BOGUS")
	})
	registerGen("hash", "HSCAN", 4, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"HSCAN", k.Key(r), []string{"0", "0", "0", "x"}[r.Intn(4)]}
		switch r.Intn(4) {
		case 0:
			argv = append(argv, "MATCH", "f*")
		case 1:
			argv = append(argv, "COUNT", []string{"100", "0", "x"}[r.Intn(3)])
		case 2:
			argv = append(argv, "TYPE", "string")
		}
		return argv
	})
	registerGen("hash", "OBJECT ENCODING", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"OBJECT", "ENCODING", k.Key(r)}
	})
	registerGen("hash", "SET", 2, func(r *rand.Rand, k *Keys) []string { return []string{"SET", k.Key(r), "v"} })
	registerGen("hash", "RPUSH", 1, func(r *rand.Rand, k *Keys) []string { return []string{"RPUSH", k.Key(r), "e"} })
	registerGen("hash", "DEL", 2, func(r *rand.Rand, k *Keys) []string { return []string{"DEL", k.Key(r)} })

	registerUnordered("hkeys")
	registerUnordered("hvals")
	registerNondeterministic("hgetall", hashSamePairs)
	registerNondeterministic("hrandfield", hashCheckRandfield)
	registerNondeterministic("hscan", hashCheckScan)
}

// pairsOf renders a flat (RESP2) or map (RESP3) reply as sorted pairs.
func pairsOf(r Reply) []string {
	var out []string
	for i := 0; i+1 < len(r.Elems); i += 2 {
		out = append(out, r.Elems[i].String()+" => "+r.Elems[i+1].String())
	}
	sort.Strings(out)
	return out
}

// hashSamePairs compares field/value replies as sets of pairs.
func hashSamePairs(sk, rd Reply) error {
	if sk.Equal(rd) {
		return nil // identical (also +QUEUED inside MULTI)
	}
	if sk.Type != rd.Type || sk.Null != rd.Null || len(sk.Elems) != len(rd.Elems) {
		return errors.New("replies differ in type or length")
	}
	if sk.Elems == nil {
		if sk.Equal(rd) {
			return nil
		}
		return errors.New("replies differ")
	}
	a, b := pairsOf(sk), pairsOf(rd)
	for i := range a {
		if a[i] != b[i] {
			return fmt.Errorf("pair %q differs from %q", a[i], b[i])
		}
	}
	return nil
}

// hashCheckRandfield accepts any reply of the same shape: errors must be
// equal, arrays of the same length, a single field present or null alike.
// Which fields come back is random on both servers.
func hashCheckRandfield(sk, rd Reply) error {
	if sk.Equal(rd) {
		return nil // identical (also +QUEUED inside MULTI)
	}
	if sk.IsError() || rd.IsError() || sk.Null || rd.Null {
		if sk.Equal(rd) {
			return nil
		}
		return errors.New("replies differ")
	}
	if sk.Type != rd.Type || len(sk.Elems) != len(rd.Elems) {
		return errors.New("replies differ in type or length")
	}
	for i := range sk.Elems {
		if sk.Elems[i].Type != rd.Elems[i].Type || len(sk.Elems[i].Elems) != len(rd.Elems[i].Elems) {
			return fmt.Errorf("element %d differs in shape", i)
		}
	}
	return nil
}

// hashCheckScan (the generator always starts at cursor 0): a small
// (listpack) hash, or a whole hashtable, comes back with cursor 0 on
// both servers and must match as pairs; a large one is walked
// with different cursors, so only the shape is compared.
func hashCheckScan(sk, rd Reply) error {
	if sk.Equal(rd) {
		return nil // identical (also +QUEUED inside MULTI)
	}
	if sk.IsError() || rd.IsError() {
		if sk.Equal(rd) {
			return nil
		}
		return errors.New("replies differ")
	}
	if sk.Type != '*' || len(sk.Elems) != 2 || rd.Type != '*' || len(rd.Elems) != 2 {
		return errors.New("HSCAN reply is not [cursor, elements]")
	}
	if sk.Elems[0].Str == "0" && rd.Elems[0].Str == "0" {
		return hashSamePairs(sk.Elems[1], rd.Elems[1])
	}
	if len(sk.Elems[1].Elems)%2 != 0 {
		return errors.New("odd number of HSCAN elements")
	}
	return nil
}
