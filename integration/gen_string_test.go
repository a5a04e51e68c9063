package integration

// Generators for the string and bitmap commands beyond the core ones:
// SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, MSETNX, INCRBYFLOAT,
// APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE, SETBIT, GETBIT, BITCOUNT,
// BITPOS, BITOP, BITFIELD, BITFIELD_RO, LCS, plus SET with every option.
// TTLs are either long (hours) or already in the past, so that no key
// expires between the moment each server sees a command.

import (
	"math/rand"
	"strconv"
)

func init() {
	registerGen("strings", "setnx", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"SETNX", k.Key(r), strValue(r)}
	})
	registerGen("strings", "setex", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{strPick(r, "SETEX", "setex"), k.Key(r), strTTL(r), strValue(r)}
	})
	registerGen("strings", "psetex", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"PSETEX", k.Key(r), strTTLms(r), strValue(r)}
	})
	registerGen("strings", "set-opts", 6, strGenSet)
	registerGen("strings", "get", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"GET", k.Key(r)}
	})
	registerGen("strings", "getset", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"GETSET", k.Key(r), strValue(r)}
	})
	registerGen("strings", "getdel", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"GETDEL", k.Key(r)}
	})
	registerGen("strings", "getex", 5, strGenGetex)
	registerGen("strings", "msetnx", 3, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"MSETNX"}
		for n := 1 + r.Intn(3); n > 0; n-- {
			argv = append(argv, k.Key(r), strValue(r))
		}
		if r.Intn(10) == 0 {
			argv = argv[:len(argv)-1] // odd argument count
		}
		return argv
	})
	registerGen("strings", "incrbyfloat", 6, func(r *rand.Rand, k *Keys) []string {
		return []string{"INCRBYFLOAT", k.Key(r), strFloat(r)}
	})
	registerGen("strings", "set-float", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"SET", k.Key(r), strFloat(r)}
	})
	registerGen("strings", "append", 5, func(r *rand.Rand, k *Keys) []string {
		return []string{"APPEND", k.Key(r), strValue(r)}
	})
	registerGen("strings", "strlen", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"STRLEN", k.Key(r)}
	})
	registerGen("strings", "getrange", 5, func(r *rand.Rand, k *Keys) []string {
		return []string{strPick(r, "GETRANGE", "SUBSTR"), k.Key(r), strIndex(r), strIndex(r)}
	})
	registerGen("strings", "setrange", 4, func(r *rand.Rand, k *Keys) []string {
		offs := []string{"0", "1", "3", "10", "33", "100", "-1", "abc", "536870912", "536870911x", "9223372036854775807"}
		return []string{"SETRANGE", k.Key(r), offs[r.Intn(len(offs))], strValue(r)}
	})
	registerGen("strings", "setbit", 6, func(r *rand.Rand, k *Keys) []string {
		vals := []string{"0", "1", "1", "0", "2", "-1", "x"}
		return []string{"SETBIT", k.Key(r), strBitOffset(r), vals[r.Intn(len(vals))]}
	})
	registerGen("strings", "getbit", 4, func(r *rand.Rand, k *Keys) []string {
		return []string{"GETBIT", k.Key(r), strBitOffset(r)}
	})
	registerGen("strings", "bitcount", 5, strGenBitcount)
	registerGen("strings", "bitpos", 6, strGenBitpos)
	registerGen("strings", "bitop", 4, func(r *rand.Rand, k *Keys) []string {
		ops := []string{"AND", "OR", "XOR", "NOT", "and", "not", "NAND"}
		argv := []string{"BITOP", ops[r.Intn(len(ops))], k.Key(r)}
		return append(argv, k.Keys(r, 1+r.Intn(3))...)
	})
	registerGen("strings", "bitfield", 6, func(r *rand.Rand, k *Keys) []string {
		return strGenBitfield(r, k, "BITFIELD")
	})
	registerGen("strings", "bitfield_ro", 2, func(r *rand.Rand, k *Keys) []string {
		return strGenBitfield(r, k, "BITFIELD_RO")
	})
	registerGen("strings", "lcs", 4, strGenLcs)
	// The string encodings (int, embstr, raw) that each command leaves.
	registerGen("strings", "encoding", 3, func(r *rand.Rand, k *Keys) []string {
		return []string{"OBJECT", "ENCODING", k.Key(r)}
	})
	registerGen("strings", "del", 2, func(r *rand.Rand, k *Keys) []string {
		return []string{"DEL", k.Key(r)}
	})
	registerGen("strings", "arity", 1, func(r *rand.Rand, k *Keys) []string {
		cmds := []string{"SETNX", "SETEX", "PSETEX", "GETSET", "GETDEL", "GETEX", "MSETNX", "INCRBYFLOAT",
			"APPEND", "STRLEN", "GETRANGE", "SUBSTR", "SETRANGE", "SETBIT", "GETBIT", "BITCOUNT",
			"BITPOS", "BITOP", "BITFIELD", "BITFIELD_RO", "LCS"}
		return []string{cmds[r.Intn(len(cmds))]}
	})
}

func strPick(r *rand.Rand, s ...string) string { return s[r.Intn(len(s))] }

// strValue is a short value: words, integers (so that encodings vary),
// binary bytes, the empty string and now and then a longer one.
func strValue(r *rand.Rand) string {
	switch r.Intn(10) {
	case 0:
		return ""
	case 1, 2:
		return strconv.Itoa(r.Intn(2000) - 1000)
	case 3:
		b := make([]byte, 1+r.Intn(6))
		r.Read(b)
		return string(b)
	case 4:
		return "\xff\xf0\x00\x0f"
	case 5:
		b := make([]byte, 40+r.Intn(20))
		for i := range b {
			b[i] = 'a' + byte(r.Intn(4))
		}
		return string(b)
	}
	words := []string{"a", "ab", "hello", "world", "foobar", "ohmytext", "mynewtext", "abcabc", "x y"}
	return words[r.Intn(len(words))]
}

var strFloats = []string{
	"0", "1", "-1", "0.1", "0.2", "1.5", "-1.5", "10.5", "3.0e3", "5.0e3", "1e-20", "-1e-20",
	"1.23456789012345678901", "0.00000000000000001", "1e17", "1e18", "123456789012345678",
	"1e308", "1.7976931348623157e308", "1e400", "1e4932", "1e4933", "1e-4950", "1e-5000",
	"inf", "-inf", "+inf", "infinity", "nan", " 1", "1 ", "", "abc", "0x10", "0x1p-3", "0x", "1e",
	".5", "5.", ".", "+3", "--1", "9223372036854775807", "-9223372036854775808", "3.0000000000000000001",
}

func strFloat(r *rand.Rand) string { return strFloats[r.Intn(len(strFloats))] }

// strTTL is a TTL in seconds: long, or invalid.
func strTTL(r *rand.Rand) string {
	return strPick(r, "100000", "3600", "86400", "0", "-5", "abc", "9223372036854775807", "1.5")
}

func strTTLms(r *rand.Rand) string {
	return strPick(r, "100000000", "3600000", "0", "-5", "abc", "9223372036854775807")
}

func strIndex(r *rand.Rand) string {
	return strPick(r, "0", "1", "2", "5", "-1", "-2", "-5", "-100", "100", "3", "x",
		"9223372036854775807", "-9223372036854775808")
}

func strBitOffset(r *rand.Rand) string {
	if r.Intn(4) == 0 {
		return strPick(r, "-1", "abc", "4294967296", "4294967295x", "99999999999", "1.5")
	}
	return strconv.Itoa(r.Intn(1200))
}

func strGenSet(r *rand.Rand, k *Keys) []string {
	argv := []string{"SET", k.Key(r), strValue(r)}
	opts := [][]string{{"NX"}, {"XX"}, {"GET"}, {"KEEPTTL"}, {"EX", strTTL(r)}, {"PX", strTTLms(r)},
		{"EXAT", strPick(r, "1", "4000000000", "0")}, {"PXAT", strPick(r, "1", "4000000000000")}, {"PERSIST"}, {"ex"}}
	for n := r.Intn(3); n > 0; n-- {
		argv = append(argv, opts[r.Intn(len(opts))]...)
	}
	return argv
}

func strGenGetex(r *rand.Rand, k *Keys) []string {
	argv := []string{"GETEX", k.Key(r)}
	opts := [][]string{{"PERSIST"}, {"EX", strTTL(r)}, {"PX", strTTLms(r)},
		{"EXAT", strPick(r, "1", "4000000000", "0", "-1")}, {"PXAT", strPick(r, "1", "4000000000000", "x")},
		{"KEEPTTL"}, {"NX"}, {"ex"}}
	for n := r.Intn(3); n > 0; n-- {
		argv = append(argv, opts[r.Intn(len(opts))]...)
	}
	return argv
}

func strGenBitcount(r *rand.Rand, k *Keys) []string {
	argv := []string{"BITCOUNT", k.Key(r)}
	switch r.Intn(6) {
	case 0:
	case 1:
		argv = append(argv, strIndex(r)) // syntax error
	case 2, 3:
		argv = append(argv, strIndex(r), strIndex(r))
	default:
		argv = append(argv, strIndex(r), strIndex(r), strPick(r, "BIT", "BYTE", "bit", "bits"))
	}
	return argv
}

func strGenBitpos(r *rand.Rand, k *Keys) []string {
	argv := []string{"BITPOS", k.Key(r), strPick(r, "0", "1", "0", "1", "2", "x")}
	switch r.Intn(5) {
	case 0:
	case 1:
		argv = append(argv, strIndex(r))
	case 2:
		argv = append(argv, strIndex(r), strIndex(r))
	case 3:
		argv = append(argv, strIndex(r), strIndex(r), strPick(r, "BIT", "BYTE", "bit", "foo"))
	default:
		argv = append(argv, strIndex(r), strIndex(r), "BIT", "extra")
	}
	return argv
}

func strGenBitfield(r *rand.Rand, k *Keys, name string) []string {
	argv := []string{name, k.Key(r)}
	types := []string{"i1", "u1", "i5", "u5", "i8", "u8", "i16", "u16", "i32", "u32", "i63", "u63", "i64",
		"u64", "i65", "i0", "x8"}
	offs := func() string {
		if r.Intn(6) == 0 {
			return strPick(r, "-1", "#-1", "abc", "4294967296", "#536870912")
		}
		if r.Intn(3) == 0 {
			return "#" + strconv.Itoa(r.Intn(20))
		}
		return strconv.Itoa(r.Intn(300))
	}
	nums := func() string {
		return strPick(r, "0", "1", "-1", "100", "-100", "127", "128", "255", "256", "-129",
			"9223372036854775807", "-9223372036854775808", strconv.Itoa(r.Intn(100000)-50000), "x")
	}
	for n := 1 + r.Intn(4); n > 0; n-- {
		switch r.Intn(10) {
		case 0, 1, 2:
			argv = append(argv, "GET", types[r.Intn(len(types))], offs())
		case 3, 4:
			argv = append(argv, "SET", types[r.Intn(len(types))], offs(), nums())
		case 5, 6:
			argv = append(argv, "INCRBY", types[r.Intn(len(types))], offs(), nums())
		case 7, 8:
			argv = append(argv, "OVERFLOW", strPick(r, "WRAP", "SAT", "FAIL", "sat", "bad"))
		default:
			argv = append(argv, strPick(r, "GET", "FOO", "SET"))
		}
	}
	return argv
}

func strGenLcs(r *rand.Rand, k *Keys) []string {
	argv := []string{"LCS", k.Key(r), k.Key(r)}
	opts := [][]string{{"LEN"}, {"IDX"}, {"IDX"}, {"WITHMATCHLEN"}, {"MINMATCHLEN", strPick(r, "0", "1", "2", "4", "-1", "x")},
		{"MINMATCHLEN"}, {"FOO"}}
	for n := r.Intn(4); n > 0; n-- {
		argv = append(argv, opts[r.Intn(len(opts))]...)
	}
	return argv
}
