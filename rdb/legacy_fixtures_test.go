package rdb

// RDB files in the formats of older Redis versions (zipmaps, ziplists,
// quicklists of ziplists, old lists and sorted sets, a `lua` AUX field,
// empty collections, corrupt ziplists), built in memory by the small
// encoders below. Redis 7.0 no longer writes any of these, so the tests
// cannot get them from a current server. The encoders are written from
// the format descriptions (the layout comments of Redis's ziplist.c,
// zipmap.c and rdb.c) and use only the package's type constants and
// CRC64, none of its reader or writer code, so that a misreading on one
// side does not cancel out on the other.
// TestLegacyFixturesRedisCheck has redis-check-rdb confirm the files are
// what Redis itself accepts (and that the corrupt ones are refused).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// enc accumulates RDB-encoded bytes.
type enc struct{ b []byte }

func val() *enc { return &enc{} }

func (e *enc) raw(p ...byte) *enc { e.b = append(e.b, p...); return e }

// len writes an RDB length: 6 or 14 bits, or a 32/64-bit big-endian
// number after a marker byte.
func (e *enc) len(n uint64) *enc {
	switch {
	case n < 1<<6:
		e.b = append(e.b, byte(n))
	case n < 1<<14:
		e.b = append(e.b, 0x40|byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		e.b = binary.BigEndian.AppendUint32(append(e.b, 0x80), uint32(n))
	default:
		e.b = binary.BigEndian.AppendUint64(append(e.b, 0x81), n)
	}
	return e
}

// str writes s as a plain length-prefixed string.
func (e *enc) str(s string) *enc { e.len(uint64(len(s))); e.b = append(e.b, s...); return e }

// int writes v in the integer string encoding (0xC0 int8, 0xC1 int16,
// 0xC2 int32, little-endian).
func (e *enc) int(v int64) *enc {
	switch {
	case v == int64(int8(v)):
		e.b = append(e.b, 0xC0, byte(v))
	case v == int64(int16(v)):
		e.b = binary.LittleEndian.AppendUint16(append(e.b, 0xC1), uint16(v))
	case v == int64(int32(v)):
		e.b = binary.LittleEndian.AppendUint32(append(e.b, 0xC2), uint32(v))
	default:
		panic(fmt.Sprintf("%d has no integer string encoding", v))
	}
	return e
}

// lzf writes s in the LZF string encoding: 0xC3, compressed length,
// original length, compressed bytes.
func (e *enc) lzf(s string) *enc {
	c := lzfEncode([]byte(s))
	e.b = append(e.b, 0xC3)
	e.len(uint64(len(c))).len(uint64(len(s)))
	e.b = append(e.b, c...)
	return e
}

// oldScore writes a score the way RDB type 3 (and Redis before 2.6)
// stored it: a length byte and the number as text, or 253/254/255 for
// NaN/+inf/-inf.
func (e *enc) oldScore(text string) *enc {
	switch text {
	case "nan":
		e.b = append(e.b, 253)
	case "inf":
		e.b = append(e.b, 254)
	case "-inf":
		e.b = append(e.b, 255)
	default:
		e.b = append(append(e.b, byte(len(text))), text...)
	}
	return e
}

// lzfEncode is a plain greedy LZF encoder: it emits literal runs (a
// control byte below 32 = run length-1, then the bytes) and back
// references (length-2 in the top 3 bits of the control byte, 7 meaning
// an extra length byte follows, then the distance-1 in 13 bits). It picks
// the longest match in the 8 KiB window; only fit for small inputs.
func lzfEncode(in []byte) []byte {
	const maxMatch, window = 264, 8192
	var out, lit []byte
	flush := func() {
		for len(lit) > 0 {
			n := min(len(lit), 32)
			out = append(append(out, byte(n-1)), lit[:n]...)
			lit = lit[n:]
		}
	}
	for i := 0; i < len(in); {
		best, dist := 0, 0
		for d := 1; d <= min(i, window) && best < maxMatch; d++ {
			l := 0
			for i+l < len(in) && l < maxMatch && in[i+l] == in[i+l-d] {
				l++
			}
			if l > best {
				best, dist = l, d
			}
		}
		if best < 3 {
			lit = append(lit, in[i])
			i++
			continue
		}
		flush()
		l, off := best-2, dist-1
		if l < 7 {
			out = append(out, byte(l<<5|off>>8), byte(off))
		} else {
			out = append(out, byte(7<<5|off>>8), byte(l-7), byte(off))
		}
		i += best
	}
	flush()
	return out
}

// ziplist encodes elems as a ziplist: zlbytes, zltail (offset of the last
// entry), zllen, entries of <prevlen><encoding><data>, 0xFF. As Redis did,
// a canonical integer of fewer than 32 characters is stored as an integer
// in the smallest form (immediate 0..12, int8, int16, int24, int32,
// int64), anything else as a string with a 6-, 14- or 32-bit length.
func ziplist(elems ...string) []byte {
	zl := make([]byte, 10, 64)
	prev, tail := 0, 10
	for _, s := range elems {
		start := len(zl)
		tail = start
		if prev < 254 {
			zl = append(zl, byte(prev))
		} else {
			zl = binary.LittleEndian.AppendUint32(append(zl, 0xFE), uint32(prev))
		}
		zl = appendZiplistValue(zl, s)
		prev = len(zl) - start
	}
	zl = append(zl, 0xFF)
	binary.LittleEndian.PutUint32(zl[0:], uint32(len(zl)))
	binary.LittleEndian.PutUint32(zl[4:], uint32(tail))
	binary.LittleEndian.PutUint16(zl[8:], uint16(min(len(elems), 0xFFFF)))
	return zl
}

func appendZiplistValue(zl []byte, s string) []byte {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) < 32 && strconv.FormatInt(v, 10) == s {
		switch {
		case v >= 0 && v <= 12:
			return append(zl, 0xF1+byte(v))
		case v == int64(int8(v)):
			return append(zl, 0xFE, byte(v))
		case v == int64(int16(v)):
			return binary.LittleEndian.AppendUint16(append(zl, 0xC0), uint16(v))
		case v >= -1<<23 && v < 1<<23:
			return append(zl, 0xF0, byte(v), byte(v>>8), byte(v>>16))
		case v == int64(int32(v)):
			return binary.LittleEndian.AppendUint32(append(zl, 0xD0), uint32(v))
		default:
			return binary.LittleEndian.AppendUint64(append(zl, 0xE0), uint64(v))
		}
	}
	switch n := len(s); {
	case n <= 63:
		zl = append(zl, byte(n))
	case n <= 16383:
		zl = append(zl, 0x40|byte(n>>8), byte(n))
	default:
		zl = binary.BigEndian.AppendUint32(append(zl, 0x80), uint32(n))
	}
	return append(zl, s...)
}

// zmPair is a zipmap entry; free is the count of unused bytes after the
// value (left by an update to a shorter value).
type zmPair struct {
	field, value string
	free         int
}

// zipmap encodes a Redis 2.x hash: a count byte (254 = count it), then
// per pair <len>field<len><free>value<free bytes>, lengths one byte or
// 254 and a 4-byte little-endian length; 0xFF ends it.
func zipmap(pairs ...zmPair) []byte {
	zm := []byte{byte(min(len(pairs), 254))}
	length := func(n int) {
		if n < 254 {
			zm = append(zm, byte(n))
		} else {
			zm = binary.LittleEndian.AppendUint32(append(zm, 254), uint32(n))
		}
	}
	for _, p := range pairs {
		length(len(p.field))
		zm = append(zm, p.field...)
		length(len(p.value))
		zm = append(zm, byte(p.free))
		zm = append(zm, p.value...)
		zm = append(zm, bytes.Repeat([]byte{'#'}, p.free)...)
	}
	return append(zm, 0xFF)
}

// intset encodes sorted integers of one width (2, 4 or 8 bytes).
func intset(width int, vals ...int64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(width))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vals)))
	for _, v := range vals {
		for k := 0; k < width; k++ {
			b = append(b, byte(v>>(8*k)))
		}
	}
	return b
}

// emptyListpack is a listpack without elements: total bytes 7, count 0,
// the terminator.
func emptyListpack() []byte { return []byte{7, 0, 0, 0, 0, 0, 0xFF} }

// legacyFile builds an RDB file of a given version.
type legacyFile struct {
	ver    int
	e      enc
	values [][]byte // type byte + value of each key, as in a DUMP payload
}

func newLegacyFile(ver int) *legacyFile {
	f := &legacyFile{ver: ver}
	f.e.b = fmt.Appendf(nil, "REDIS%04d", ver)
	return f
}

func (f *legacyFile) aux(k string, v *enc) { f.e.raw(opAux).str(k).raw(v.b...) }
func (f *legacyFile) selectDB(db int)      { f.e.raw(opSelectDB).len(uint64(db)) }
func (f *legacyFile) resizeDB(keys, exp int) {
	f.e.raw(opResizeDB).len(uint64(keys)).len(uint64(exp))
}
func (f *legacyFile) expireMS(ms uint64) {
	f.e.b = binary.LittleEndian.AppendUint64(f.e.raw(opExpireTimeMS).b, ms)
}
func (f *legacyFile) expireSec(s uint32) {
	f.e.b = binary.LittleEndian.AppendUint32(f.e.raw(opExpireTime).b, s)
}

// put writes a key (a plain string) with a value of RDB type t.
func (f *legacyFile) put(t byte, key string, v *enc) { f.putKey(t, val().str(key), v) }

// putKey is put with the key already encoded.
func (f *legacyFile) putKey(t byte, key, v *enc) {
	f.e.raw(t).raw(key.b...).raw(v.b...)
	f.values = append(f.values, append([]byte{t}, v.b...))
}

// bytes ends the file: 0xFF and, from version 5 on, the CRC64 of
// everything before it.
func (f *legacyFile) bytes() []byte {
	b := append(bytes.Clone(f.e.b), opEOF)
	if f.ver >= 5 {
		b = binary.LittleEndian.AppendUint64(b, CRC64(b))
	}
	return b
}

// dumpPayloads wraps each value as a DUMP payload (version and CRC64).
func (f *legacyFile) dumpPayloads() [][]byte {
	var out [][]byte
	for _, v := range f.values {
		p := binary.LittleEndian.AppendUint16(bytes.Clone(v), uint16(f.ver))
		out = append(out, binary.LittleEndian.AppendUint64(p, CRC64(p)))
	}
	return out
}

// redisAux writes the AUX fields a Redis 4 to 6 server put first.
func redisAux(f *legacyFile, ver string) {
	f.aux("redis-ver", val().str(ver))
	f.aux("redis-bits", val().int(64))
	f.aux("ctime", val().int(1700000000))
	f.aux("used-mem", val().int(1048576))
	f.aux("aof-preamble", val().int(0))
}

// Long strings of the fixtures (and of the expected values).
var (
	legacyLong300   = strings.Repeat("p", 300)
	legacyHuge      = strings.Repeat("z", 16400) // needs a 32-bit ziplist length
	legacyCompress  = strings.Repeat("skiff ", 40)
	legacyNodeEntry = strings.Repeat("n", 20)
)

// legacyHashZipmap: RDB 3 (no checksum), hashes as zipmaps (type 9).
func legacyHashZipmap() *legacyFile {
	f := newLegacyFile(3)
	f.selectDB(0)
	f.put(typeHashZipmap, "hash", val().str(string(zipmap(zmPair{"f1", "v1", 0}, zmPair{"f2", "v2", 3}))))
	// 5-byte lengths; a value over hash-max-listpack-value.
	f.put(typeHashZipmap, "hash-long", val().str(string(zipmap(zmPair{"long", legacyLong300, 2}, zmPair{strings.Repeat("k", 260), "x", 0}))))
	return f
}

// legacyHashZiplist: RDB 9, hashes as ziplists (type 13).
func legacyHashZiplist() *legacyFile {
	f := newLegacyFile(9)
	redisAux(f, "5.0.0")
	f.selectDB(0)
	f.resizeDB(2, 0)
	f.put(typeHashZiplist, "hash", val().str(string(ziplist("f1", "v1", "f2", "v2"))))
	// Integer fields and values; a long value (next prevlen takes 5 bytes).
	f.put(typeHashZiplist, "hash-mixed", val().str(string(ziplist("1", "one", "count", "300", "long", legacyLong300, "last", "-7"))))
	return f
}

// legacyZSetZiplist: RDB 10, sorted sets as ziplists (type 12).
func legacyZSetZiplist() *legacyFile {
	f := newLegacyFile(10)
	redisAux(f, "6.2.0")
	f.selectDB(0)
	f.resizeDB(2, 0)
	f.put(typeZSetZiplist, "zset", val().str(string(ziplist("one", "1", "two", "2"))))
	f.put(typeZSetZiplist, "zset-scores", val().str(string(ziplist("half", "0.5", "neg", "-3", "big", "6000000000", "pinf", "inf", "ninf", "-inf"))))
	return f
}

// legacyListQuicklist: RDB 8, lists as quicklists of ziplists (type 14),
// one node LZF-compressed (list-compress-depth) and one empty.
func legacyListQuicklist() *legacyFile {
	f := newLegacyFile(8)
	redisAux(f, "4.0.0")
	f.selectDB(0)
	f.resizeDB(3, 0)
	f.put(typeListQuicklist, "list", val().len(1).str(string(ziplist("7"))))
	f.put(typeString, "x", val().int(7))
	nodes := val().len(4).
		str(string(ziplist("a", "b", "-1"))).
		str(string(ziplist())).
		lzf(string(ziplist(repeated(legacyNodeEntry, 10)...))).
		str(string(ziplist("1000000", "end")))
	f.put(typeListQuicklist, "list-nodes", nodes)
	return f
}

func repeated(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// legacyEncodings: RDB 6 with strings in every encoding, the old list
// (1), set (2), sorted set (3) and hash (4) types, a ziplist list (10)
// with every entry encoding, intsets (11), both expire opcodes and a
// second database.
func legacyEncodings() *legacyFile {
	f := newLegacyFile(6)
	f.selectDB(0)
	f.put(typeString, "string", val().str("Hello, Skiff"))
	f.putKey(typeString, val().int(12345), val().str("int-key"))
	f.put(typeString, "int8", val().int(-12))
	f.put(typeString, "int16", val().int(3000))
	f.put(typeString, "int32", val().int(-2000000000))
	f.put(typeString, "lzf", val().lzf(legacyCompress))
	f.expireMS(4102444800123)
	f.put(typeString, "expires-ms", val().str("soon"))
	f.expireSec(2000000000) // a signed 32-bit number of seconds
	f.put(typeString, "expires-s", val().str("later"))
	f.put(typeList, "list", val().len(4).str("a").int(1).lzf(legacyCompress).str(""))
	f.put(typeSet, "set", val().len(3).str("x").int(7).str("y"))
	f.put(typeSet, "set-ints", val().len(3).int(3).int(-1).int(200))
	f.put(typeZSet, "zset", val().len(5).
		str("a").oldScore("1.5").str("b").oldScore("-2").str("c").oldScore("inf").
		str("d").oldScore("-inf").str("e").oldScore("1e-300"))
	f.put(typeHash, "hash", val().len(2).str("f").str("v").str("n").int(12))
	f.put(typeListZiplist, "list-ziplist", val().str(string(ziplist(
		"0", "12", "13", "-1", "127", "-128", "1000", "-32768", "100000", "-8388608",
		"10000000", "-2147483648", "6000000000", "-9223372036854775808", "9223372036854775807",
		"-0", "007", "str", strings.Repeat("m", 100), legacyLong300, "after-long"))))
	f.put(typeSetIntset, "intset16", val().str(string(intset(2, -3, 1, 200))))
	f.put(typeSetIntset, "intset32", val().str(string(intset(4, -70000, 1, 70000))))
	f.put(typeSetIntset, "intset64", val().str(string(intset(8, -5000000000, 0, 5000000000))))
	f.selectDB(2)
	// A ziplist string of 32-bit length; the blob LZF-compressed, as
	// Redis saved blobs with rdbcompression yes.
	f.put(typeListZiplist, "huge", val().lzf(string(ziplist("head", legacyHuge, "tail"))))
	return f
}

// legacyCorruptZiplist holds good keys around one whose ziplist (stored
// as RDB type t) is passed through mutate first; mutate nil leaves it
// intact.
func legacyCorruptZiplist(t byte, mutate func([]byte) []byte) *legacyFile {
	f := newLegacyFile(7)
	redisAux(f, "3.2.0")
	f.selectDB(0)
	f.put(typeString, "key:1", val().str("xxxxx"))
	f.put(typeListQuicklist, "mylist", val().len(1).str(string(ziplist(repeated("xxxxx", 5)...))))
	f.put(typeString, "counter", val().int(1))
	zl := ziplist("a", "1", "b", "2")
	if mutate != nil {
		zl = mutate(bytes.Clone(zl))
	}
	v := val().str(string(zl))
	if t == typeListQuicklist {
		v = val().len(1).str(string(zl))
	}
	f.put(t, "broken", v)
	f.put(typeString, "key:2", val().str("after"))
	return f
}

// corruptZiplists are the corruptions tried: each keeps the RDB string
// framing intact, so only the ziplist walker can notice.
var corruptZiplists = []struct {
	name   string
	t      byte
	mutate func([]byte) []byte
}{
	// The entries: "a" at offset 10 (prevlen, 0x01, 'a'), "1" at 13
	// (prevlen, 0xF2), "b" at 15, "2" at 18; 0xFF at 20.
	{"entry count", typeHashZiplist, func(zl []byte) []byte { zl[8]++; return zl }},
	{"prevlen", typeZSetZiplist, func(zl []byte) []byte { zl[13]++; return zl }},
	{"total bytes", typeListZiplist, func(zl []byte) []byte { zl[0]--; return zl }},
	{"string overrun", typeListQuicklist, func(zl []byte) []byte { zl[11] = 0x3F; return zl }},
	{"too short", typeHashZiplist, func([]byte) []byte { return []byte{5, 0, 0, 0, 0xFF} }},
	{"early terminator", typeListZiplist, func(zl []byte) []byte { zl[15] = 0xFF; return zl }},
}

// legacyEmptyKeys holds empty collections of every type Redis skips when
// loading (RDB_LOAD_ERR_EMPTY_KEY), one of them with a TTL, then one
// real key.
func legacyEmptyKeys() *legacyFile {
	f := newLegacyFile(10)
	redisAux(f, "7.0.0")
	f.selectDB(0)
	f.resizeDB(15, 1)
	f.put(typeList, "list", val().len(0))
	f.put(typeSet, "set", val().len(0))
	f.put(typeZSet, "zset-old", val().len(0))
	f.put(typeHash, "hash", val().len(0))
	f.put(typeZSet2, "zset", val().len(0))
	f.put(typeListZiplist, "list-ziplist", val().str(string(ziplist())))
	f.put(typeZSetZiplist, "zset-ziplist", val().str(string(ziplist())))
	f.put(typeHashZiplist, "hash-ziplist", val().str(string(ziplist())))
	f.put(typeListQuicklist, "quicklist", val().len(0))
	f.put(typeListQuicklist, "quicklist-empty-node", val().len(1).str(string(ziplist())))
	f.put(typeHashListpack, "hash-listpack", val().str(string(emptyListpack())))
	f.put(typeZSetListpack, "zset-listpack", val().str(string(emptyListpack())))
	f.put(typeListQuicklist2, "quicklist2", val().len(0))
	f.expireMS(4102444800000)
	f.put(typeSet, "set-with-ttl", val().len(0))
	f.put(typeString, "survivor", val().str("still here"))
	return f
}

const legacyScript = "return redis.call('incrby', KEYS[1], ARGV[1])"

// legacyScriptAux: what a Redis 6 master sent a replica while scripts
// were replicated whole: replication AUX fields and the script as a
// `lua` AUX field.
func legacyScriptAux() *legacyFile {
	f := newLegacyFile(9)
	redisAux(f, "6.0.0")
	f.aux("repl-stream-db", val().int(0))
	f.aux("repl-id", val().str(strings.Repeat("5k1ff", 8)))
	f.aux("repl-offset", val().int(0))
	f.aux("lua", val().str(legacyScript))
	f.selectDB(0)
	f.resizeDB(1, 0)
	f.put(typeString, "counter", val().int(42))
	return f
}

// legacyFixtures are all the generated files, for tests and fuzz seeds.
func legacyFixtures() []struct {
	name string
	file *legacyFile
} {
	out := []struct {
		name string
		file *legacyFile
	}{
		{"hash-zipmap", legacyHashZipmap()},
		{"hash-ziplist", legacyHashZiplist()},
		{"zset-ziplist", legacyZSetZiplist()},
		{"list-quicklist", legacyListQuicklist()},
		{"encodings", legacyEncodings()},
		{"empty-keys", legacyEmptyKeys()},
		{"script-aux", legacyScriptAux()},
	}
	for _, c := range corruptZiplists {
		out = append(out, struct {
			name string
			file *legacyFile
		}{"corrupt-ziplist " + c.name, legacyCorruptZiplist(c.t, c.mutate)})
	}
	return out
}

// TestLegacyFixturesRedisCheck has Redis's checker confirm the generated
// files: the good ones load with the expected key count, the corrupt
// ziplists fail Redis's ziplist integrity check (while the same file with
// the ziplist intact passes). Empty keys are left out: redis-check-rdb counts them as
// errors.
func TestLegacyFixturesRedisCheck(t *testing.T) {
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Skip("redis-check-rdb not installed")
	}
	dir := t.TempDir()
	check := func(name string, data []byte) (string, bool) {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".rdb")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, path).CombinedOutput()
		return string(out), err == nil && strings.Contains(string(out), "RDB looks OK")
	}
	good := map[string]int{
		"hash-zipmap": 2, "hash-ziplist": 2, "zset-ziplist": 2, "list-quicklist": 3,
		"encodings": 18, "script-aux": 1,
	}
	for _, fx := range legacyFixtures() {
		if strings.HasPrefix(fx.name, "corrupt-ziplist") {
			if out, ok := check(fx.name, fx.file.bytes()); ok || !strings.Contains(strings.ToLower(out), "ziplist integrity check failed") {
				t.Errorf("%s: redis-check-rdb, want a ziplist integrity error:\n%s", fx.name, out)
			}
			continue
		}
		keys, ok := good[fx.name]
		if !ok {
			continue
		}
		out, ok := check(fx.name, fx.file.bytes())
		if !ok || !strings.Contains(out, fmt.Sprintf("%d keys read", keys)) {
			t.Errorf("%s: redis-check-rdb, want OK with %d keys:\n%s", fx.name, keys, out)
		}
	}
	if out, ok := check("intact-ziplist", legacyCorruptZiplist(typeHashZiplist, nil).bytes()); !ok {
		t.Errorf("intact twin of the corrupt files refused:\n%s", out)
	}
}
