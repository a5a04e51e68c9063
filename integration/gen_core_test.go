package integration

// Generators for the core commands: GET, SET and its options, MGET, MSET,
// INCR/DECR/INCRBY/DECRBY, PING, ECHO, SELECT, unknown commands and wrong
// arity. Values lean towards integers and integer edge cases so that the
// counters and their errors get exercised.

import (
	"math/rand"
	"strconv"
	"strings"
)

func init() {
	registerGen("core", "get", 12, func(r *rand.Rand, k *Keys) []string {
		return []string{coreCase(r, "GET"), k.Key(r)}
	})
	registerGen("core", "set", 12, coreGenSet)
	registerGen("core", "set-bad", 4, coreGenSetBad)
	registerGen("core", "mget", 4, func(r *rand.Rand, k *Keys) []string {
		return append([]string{coreCase(r, "MGET")}, k.Keys(r, 1+r.Intn(5))...)
	})
	registerGen("core", "mset", 4, func(r *rand.Rand, k *Keys) []string {
		argv := []string{coreCase(r, "MSET")}
		for n := 1 + r.Intn(4); n > 0; n-- {
			argv = append(argv, k.Key(r), coreValue(r))
		}
		return argv
	})
	registerGen("core", "incr", 10, func(r *rand.Rand, k *Keys) []string {
		return []string{coreCase(r, []string{"INCR", "DECR"}[r.Intn(2)]), k.Key(r)}
	})
	registerGen("core", "incrby", 10, func(r *rand.Rand, k *Keys) []string {
		return []string{coreCase(r, []string{"INCRBY", "DECRBY"}[r.Intn(2)]), k.Key(r), coreIncrement(r)}
	})
	registerGen("core", "ping", 2, func(r *rand.Rand, k *Keys) []string {
		if r.Intn(2) == 0 {
			return []string{coreCase(r, "PING")}
		}
		return []string{coreCase(r, "PING"), coreValue(r)}
	})
	registerGen("core", "echo", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{coreCase(r, "ECHO"), coreValue(r)}
	})
	registerGen("core", "select", 3, func(r *rand.Rand, k *Keys) []string {
		ids := []string{"0", "0", "0", "1", "9", "15", "16", "-1", "abc", "1.5", "", " 1", "99999999999999999999"}
		return []string{coreCase(r, "SELECT"), ids[r.Intn(len(ids))]}
	})
	registerGen("core", "unknown", 2, coreGenUnknown)
	registerGen("core", "arity", 3, coreGenArity)
	registerGen("core", "quit", 1, func(r *rand.Rand, k *Keys) []string {
		// Both servers must answer +OK and close; the framework reconnects.
		return []string{coreCase(r, "QUIT")}
	})
}

// coreCase returns name in a random mix of upper and lower case: command
// names are case-insensitive.
func coreCase(r *rand.Rand, name string) string {
	switch r.Intn(8) {
	case 0:
		return strings.ToLower(name)
	case 1:
		b := []byte(name)
		for i := range b {
			if r.Intn(2) == 0 && b[i] >= 'A' && b[i] <= 'Z' {
				b[i] += 'a' - 'A'
			}
		}
		return string(b)
	}
	return name
}

var coreIntEdge = []string{
	"0", "1", "-1", "10", "100", "9223372036854775807", "-9223372036854775808",
	"9223372036854775806", "-9223372036854775807", "9223372036854775808",
	"-9223372036854775809", "18446744073709551616",
}

var coreNotInts = []string{
	"", " 1", "1 ", "01", "+1", "-0", "1.0", "1e3", "abc", "0x10", "1\x00", "--1", "١",
}

// coreValue returns a value: usually an integer (small or at the edge),
// sometimes a string that only looks like one, sometimes binary.
func coreValue(r *rand.Rand) string {
	switch n := r.Intn(20); {
	case n < 8:
		return strconv.Itoa(r.Intn(200) - 100)
	case n < 11:
		return coreIntEdge[r.Intn(len(coreIntEdge))]
	case n < 14:
		return coreNotInts[r.Intn(len(coreNotInts))]
	case n < 16:
		return "v" + strconv.Itoa(r.Intn(1000))
	case n < 17:
		b := make([]byte, r.Intn(8))
		for i := range b {
			b[i] = byte(r.Intn(256))
		}
		return string(b)
	case n < 18:
		return strings.Repeat("x", 40+r.Intn(60)) // past the embstr limit
	default:
		return strconv.FormatInt(r.Int63()-r.Int63(), 10)
	}
}

func coreIncrement(r *rand.Rand) string {
	switch n := r.Intn(10); {
	case n < 6:
		return strconv.Itoa(r.Intn(2001) - 1000)
	case n < 8:
		return coreIntEdge[r.Intn(len(coreIntEdge))]
	default:
		return coreNotInts[r.Intn(len(coreNotInts))]
	}
}

// coreExpireOpt returns one expiry option of SET. Absolute times are either
// long past or far in the future, and relative ones long, so the outcome
// never depends on when each server ran the command.
func coreExpireOpt(r *rand.Rand) []string {
	switch r.Intn(4) {
	case 0:
		return []string{"EX", strconv.Itoa(100 + r.Intn(100000))}
	case 1:
		return []string{"PX", strconv.Itoa(100000 + r.Intn(100000000))}
	case 2:
		if r.Intn(3) == 0 {
			return []string{"EXAT", strconv.Itoa(1 + r.Intn(1000000))} // in the past: the key goes
		}
		return []string{"EXAT", strconv.Itoa(4000000000 + r.Intn(1000000))}
	default:
		if r.Intn(3) == 0 {
			return []string{"PXAT", strconv.Itoa(1 + r.Intn(1000000))}
		}
		return []string{"PXAT", strconv.FormatInt(4000000000000+r.Int63n(1000000000), 10)}
	}
}

// coreGenSet builds a valid SET (options in random order and case).
func coreGenSet(r *rand.Rand, k *Keys) []string {
	argv := []string{coreCase(r, "SET"), k.Key(r), coreValue(r)}
	var opts [][]string
	switch r.Intn(4) {
	case 0:
		opts = append(opts, coreExpireOpt(r))
	case 1:
		opts = append(opts, []string{"KEEPTTL"})
	}
	switch r.Intn(5) {
	case 0:
		opts = append(opts, []string{"NX"})
	case 1:
		opts = append(opts, []string{"XX"})
	}
	if r.Intn(4) == 0 {
		opts = append(opts, []string{"GET"})
	}
	r.Shuffle(len(opts), func(i, j int) { opts[i], opts[j] = opts[j], opts[i] })
	for _, o := range opts {
		o[0] = coreCase(r, o[0])
		argv = append(argv, o...)
	}
	return argv
}

// coreGenSetBad builds SETs with conflicting, repeated, malformed or
// out-of-range options.
func coreGenSetBad(r *rand.Rand, k *Keys) []string {
	argv := []string{"SET", k.Key(r), coreValue(r)}
	pool := [][]string{
		{"NX"}, {"XX"}, {"GET"}, {"KEEPTTL"}, {"EX"}, {"PX"}, {"FOO"},
		{"EX", "0"}, {"PX", "0"}, {"EX", "-5"}, {"PX", "-1"}, {"EXAT", "0"}, {"PXAT", "-1"},
		{"EX", "abc"}, {"PX", "1.5"}, {"EX", "9223372036854775807"}, {"PX", "9223372036854775807"},
		{"EX", "9223372036854776"}, {"EXAT", "9223372036854775807"}, {"PXAT", "9223372036854775807"},
		{"EX", "100"}, {"PX", "100000"}, {"EXAT", "4000000000"}, {"PXAT", "4000000000000"},
	}
	for n := 1 + r.Intn(3); n > 0; n-- {
		o := append([]string(nil), pool[r.Intn(len(pool))]...)
		o[0] = coreCase(r, o[0])
		argv = append(argv, o...)
	}
	return argv
}

// coreGenUnknown sends commands that do not exist, with arguments long
// enough to test the 128-character truncation of the error.
func coreGenUnknown(r *rand.Rand, k *Keys) []string {
	names := []string{"FOOBAR", "gett", "SETT", "x", "config-get", "GET\x00", "\xff\xfe", strings.Repeat("Z", 150)}
	argv := []string{names[r.Intn(len(names))]}
	for n := r.Intn(5); n > 0; n-- {
		switch r.Intn(4) {
		case 0:
			argv = append(argv, strings.Repeat("a", r.Intn(200)))
		case 1:
			argv = append(argv, "with\r\nnewline")
		default:
			argv = append(argv, coreValue(r))
		}
	}
	return argv
}

// coreGenArity sends the core commands with a wrong number of arguments.
func coreGenArity(r *rand.Rand, k *Keys) []string {
	cases := [][]string{
		{"GET"}, {"GET", "a", "b"}, {"SET"}, {"SET", "a"}, {"MGET"}, {"MSET"},
		{"MSET", "a"}, {"MSET", "a", "1", "b"}, {"INCR"}, {"INCR", "a", "b"},
		{"DECR"}, {"INCRBY", "a"}, {"DECRBY", "a", "1", "2"}, {"ECHO"},
		{"ECHO", "a", "b"}, {"PING", "a", "b"}, {"SELECT"}, {"SELECT", "1", "2"},
	}
	c := append([]string(nil), cases[r.Intn(len(cases))]...)
	c[0] = coreCase(r, c[0])
	return c
}
