package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/store"
)

func TestCRC64(t *testing.T) {
	if got := CRC64([]byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("crc64(123456789) = %x", got)
	}
	// Split updates must equal one update.
	p := bytes.Repeat([]byte("skiff"), 1000)
	if a, b := CRC64(p), crcUpdate(crcUpdate(0, p[:1234]), p[1234:]); a != b {
		t.Fatalf("split crc %x != %x", b, a)
	}
}

func TestLZF(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	inputs := [][]byte{
		bytes.Repeat([]byte("a"), 1000),
		[]byte(strings.Repeat("hello world, ", 300)),
	}
	for i := 0; i < 200; i++ {
		n := r.IntN(5000) + 21
		p := make([]byte, n)
		alpha := 1 << r.IntN(4) // small alphabets compress
		for k := range p {
			p[k] = byte(r.IntN(alpha))
		}
		inputs = append(inputs, p)
	}
	compressed := 0
	for _, in := range inputs {
		c := lzfCompress(in)
		if c == nil {
			continue
		}
		compressed++
		if len(c) > len(in)-4 {
			t.Fatalf("compressed %d bytes to %d", len(in), len(c))
		}
		out, err := lzfDecompress(c, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip failed (err %v) for input of %d bytes", err, len(in))
		}
		if _, err := lzfDecompress(c, len(in)+1); err == nil {
			t.Fatal("decompress to a wrong length succeeded")
		}
		if _, err := lzfDecompress(c[:len(c)-1], len(in)); err == nil {
			t.Fatal("decompress of truncated data succeeded")
		}
	}
	if compressed < 50 {
		t.Fatalf("only %d of %d inputs compressed", compressed, len(inputs))
	}
}

func strObj(s string) *store.Object {
	return &store.Object{Type: store.TypeString, Str: []byte(s), Enc: store.StringEncoding([]byte(s))}
}

// sampleObjects builds values of every type in each of their encodings.
func sampleObjects() map[string]*store.Object {
	objs := map[string]*store.Object{
		"int8": strObj("-12"), "int16": strObj("3000"), "int32": strObj("-2000000000"),
		"int64": strObj("9223372036854775807"), "notint": strObj("007"), "empty": strObj(""),
		"embstr": strObj("hello"), "raw": strObj(strings.Repeat("abc", 100)),
		"binary": strObj("\x00\xff\r\n"), "noncompressible": strObj("q8#Lk2@zX!0pW9&mV4$rT7"),
	}
	l := store.NewList()
	for _, v := range []string{"a", "", "1", "-1", strings.Repeat("x", 500)} {
		l.PushBack(v)
	}
	objs["list"] = &store.Object{Type: store.TypeList, Val: l}
	big := store.NewList()
	for i := 0; i < 5000; i++ {
		big.PushBack("e" + strconv.Itoa(i))
	}
	objs["list-big"] = &store.Object{Type: store.TypeList, Val: big}

	for name, members := range map[string][]string{
		"set-int16": {"1", "-3", "200"}, "set-int32": {"1", "70000"}, "set-int64": {"-1", "5000000000"},
		"set-str": {"a", "b", "1"},
	} {
		s := store.NewSet([]byte(members[0]))
		for _, m := range members {
			s.Add([]byte(m), 512)
		}
		objs[name] = &store.Object{Type: store.TypeSet, Val: s}
	}
	bigSet := store.NewIntSet()
	for i := 0; i < 1000; i++ {
		bigSet.Add([]byte(strconv.Itoa(i*3)), 512)
	}
	objs["set-int-big"] = &store.Object{Type: store.TypeSet, Val: bigSet}

	h := store.NewHash()
	h.Set([]byte("f"), []byte("v"), 128, 64)
	h.Set([]byte("n"), []byte("12"), 128, 64)
	objs["hash"] = &store.Object{Type: store.TypeHash, Val: h}
	hb := store.NewHash()
	// More fields than the default hash-max-listpack-entries (512).
	for i := 0; i < 600; i++ {
		hb.Set([]byte("f"+strconv.Itoa(i)), []byte(strconv.Itoa(i)), 512, 64)
	}
	objs["hash-big"] = &store.Object{Type: store.TypeHash, Val: hb}
	hl := store.NewHash()
	hl.Set([]byte("long"), bytes.Repeat([]byte("v"), 100), 128, 64)
	objs["hash-longvalue"] = &store.Object{Type: store.TypeHash, Val: hl}

	z := store.NewZSet(4, 5, store.DefaultZLimits)
	for _, m := range []store.ZMember{{Member: "a", Score: 1}, {Member: "b", Score: -2.5}, {Member: "c", Score: math.Inf(1)}, {Member: "d", Score: math.Inf(-1)}, {Member: "e", Score: 1e-300}} {
		z.Insert(m.Member, m.Score, store.DefaultZLimits)
	}
	objs["zset"] = &store.Object{Type: store.TypeZSet, Val: z}
	zb := store.NewZSet(200, 5, store.DefaultZLimits)
	for i := 0; i < 200; i++ {
		zb.Insert("m"+strconv.Itoa(i), float64(i)/3, store.DefaultZLimits)
	}
	objs["zset-big"] = &store.Object{Type: store.TypeZSet, Val: zb}
	return objs
}

func TestDumpRoundTrip(t *testing.T) {
	for name, o := range sampleObjects() {
		p, err := EncodeValue(o)
		if err != nil {
			t.Fatalf("%s: encode: %v", name, err)
		}
		got, err := DecodeValue(p)
		if err != nil {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if describe(got) != describe(o) {
			t.Errorf("%s: got %s\nwant %s", name, describe(got), describe(o))
		}
		if encodingOf(got) != encodingOf(o) {
			t.Errorf("%s: encoding %s, want %s", name, encodingOf(got), encodingOf(o))
		}
		// Any single corrupted byte must be caught by the CRC.
		bad := bytes.Clone(p)
		bad[len(bad)/2] ^= 0x20
		if _, err := DecodeValue(bad); !errors.Is(err, ErrChecksum) {
			t.Errorf("%s: corrupted payload: err %v, want ErrChecksum", name, err)
		}
	}
}

type kv struct {
	db  int
	key string
	obj *store.Object
}

func loadAll(t *testing.T, r io.Reader) ([]kv, map[string]string, error) {
	t.Helper()
	var out []kv
	aux, err := Load(r, func(db int, key string, o *store.Object) error {
		out = append(out, kv{db, key, o})
		return nil
	})
	return out, aux, err
}

func writeFile(t *testing.T, entries []kv, compress bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.SetCompression(compress)
	aux := DefaultAux()
	aux["ctime"] = "1700000000"
	if err := w.Header(aux); err != nil {
		t.Fatal(err)
	}
	cur := -1
	for _, e := range entries {
		if e.db != cur {
			if err := w.SelectDB(e.db, 1, 1); err != nil {
				t.Fatal(err)
			}
			cur = e.db
		}
		if err := w.Entry(e.key, e.obj); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleEntries() []kv {
	var entries []kv
	i := 0
	for name, o := range sampleObjects() {
		if i%3 == 0 {
			o.Expire = 4102444800000 + int64(i)
		}
		entries = append(entries, kv{i % 3 * 5, name, o})
		i++
	}
	// Writers group keys by database.
	var sorted []kv
	for db := 0; db <= 10; db += 5 {
		for _, e := range entries {
			if e.db == db {
				sorted = append(sorted, e)
			}
		}
	}
	return sorted
}

func TestFileRoundTrip(t *testing.T) {
	for _, compress := range []bool{true, false} {
		entries := sampleEntries()
		data := writeFile(t, entries, compress)
		got, aux, err := loadAll(t, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if aux["redis-ver"] != "7.0.15" || aux["ctime"] != "1700000000" {
			t.Errorf("aux = %v", aux)
		}
		if len(got) != len(entries) {
			t.Fatalf("loaded %d keys, wrote %d", len(got), len(entries))
		}
		for i, e := range entries {
			g := got[i]
			if g.db != e.db || g.key != e.key || describe(g.obj) != describe(e.obj) {
				t.Errorf("entry %d: got db%d %s %s, want db%d %s %s", i, g.db, g.key, describe(g.obj), e.db, e.key, describe(e.obj))
			}
		}
	}
}

// TestRedisCheckRDB has Redis's own checker validate a file Skiff wrote.
func TestRedisCheckRDB(t *testing.T) {
	bin, err := exec.LookPath("redis-check-rdb")
	if err != nil {
		t.Skip("redis-check-rdb not installed")
	}
	path := filepath.Join(t.TempDir(), "skiff.rdb")
	if err := os.WriteFile(path, writeFile(t, sampleEntries(), true), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, path).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("RDB looks OK")) {
		t.Fatalf("redis-check-rdb: %v\n%s", err, out)
	}
	want := fmt.Sprintf("%d keys read", len(sampleEntries()))
	if !bytes.Contains(out, []byte(want)) {
		t.Fatalf("redis-check-rdb output lacks %q:\n%s", want, out)
	}
}

func readRedisFile(t *testing.T) map[string]*store.Object {
	t.Helper()
	f, err := os.Open("testdata/redis7-all-types.rdb")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, aux, err := loadAll(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if aux["redis-ver"] != "7.0.15" {
		t.Fatalf("aux %v", aux)
	}
	m := map[string]*store.Object{}
	for _, e := range got {
		m[strconv.Itoa(e.db)+"/"+e.key] = e.obj
	}
	return m
}

// TestRedisWrittenFile loads a dump.rdb that redis-server 7.0.15 saved
// (see testdata/README.md for how it was made).
func TestRedisWrittenFile(t *testing.T) {
	m := readRedisFile(t)
	if len(m) != 25 {
		t.Fatalf("loaded %d keys, redis-check-rdb counts 25", len(m))
	}
	checks := map[string]string{
		"0/s:int":   `string "12345"`,
		"0/s:neg":   `string "-7"`,
		"0/s:big":   `string "99999999999"`,
		"0/s:raw":   `string "` + strings.Repeat("x", 100) + `"`,
		"0/s:bin":   `string "a\tb c\x01"`,
		"0/l:small": `list "a" "1" "-2" "300" "70000" "5000000000" ""`,
		"0/l:plain": `list "small" "` + strings.Repeat("p", 300) + `" "small2"`,
		"0/set:int": `set "-5" "1" "2" "3" "70000"`,
		"0/z:small": `zset "ninf":-inf "c":-3 "zero":0 "a":1 "b":2.5 "pinf":inf`,
		"3/db3key":  `string "x"`,
		"15/db15":   `string "last"`,
	}
	for k, want := range checks {
		o := m[k]
		if o == nil {
			t.Errorf("%s missing", k)
			continue
		}
		d := describe(o)
		if i := strings.Index(d, " expire="); i >= 0 {
			d = d[:i]
		}
		if d != want {
			t.Errorf("%s = %s, want %s", k, d, want)
		}
	}
	if l := m["0/l:big"].Val.(*store.List); l.Len() != 3000 || l.At(2999) != "elem-3000-"+strconv.Itoa(3000*7919) {
		t.Errorf("l:big has %d elements", l.Len())
	}
	for k, enc := range map[string]string{
		"0/set:int": "intset", "0/set:int64": "intset", "0/set:str": "hashtable", "0/set:bigint": "hashtable",
		"0/set:bigstr": "hashtable", "0/h:small": "listpack", "0/h:big": "listpack", // 500 fields: redis-server 7.0.15 loads it as a listpack too (hash-max-listpack-entries 512)
		"0/h:longval": "hashtable",
		"0/z:small":   "listpack", "0/z:big": "skiplist", "0/z:longmem": "skiplist", "0/s:int": "int",
		"0/s:emb": "embstr", "0/s:raw": "raw",
	} {
		if got := encodingOf(m[k]); got != enc {
			t.Errorf("%s: encoding %s, want %s", k, got, enc)
		}
	}
	if m["0/s:exp"].Expire == 0 || m["0/h:small"].Expire == 0 || m["3/db3list"].Expire == 0 || m["0/s:int"].Expire != 0 {
		t.Error("expiry times not loaded")
	}
}

// TestRedisDumpPayloads decodes DUMP payloads redis-server produced for
// the keys of the fixture file and checks they match the file's values.
func TestRedisDumpPayloads(t *testing.T) {
	m := readRedisFile(t)
	for _, line := range readDumpLines(t) {
		key := line.db + "/" + line.key
		o, err := DecodeValue(line.payload)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		want := m[key]
		o.Expire = want.Expire
		if describe(o) != describe(want) {
			t.Errorf("%s: DUMP gives %s, file gives %s", key, describe(o), describe(want))
		}
		// And our own encoding of it decodes to the same.
		p, err := EncodeValue(o)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeValue(p)
		if err != nil {
			t.Fatalf("%s: re-decode: %v", key, err)
		}
		back.Expire = want.Expire
		if describe(back) != describe(want) {
			t.Errorf("%s: re-encoded gives %s", key, describe(back))
		}
	}
}

type dumpLine struct {
	db, key string
	payload []byte
}

func readDumpLines(t testing.TB) []dumpLine {
	f, err := os.Open("testdata/redis7-dumps.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dumpLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), "\t")
		if len(parts) != 3 {
			t.Fatalf("bad line %q", sc.Text())
		}
		k, err1 := hex.DecodeString(parts[1])
		p, err2 := hex.DecodeString(parts[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("bad hex in %q", sc.Text())
		}
		out = append(out, dumpLine{parts[0], string(k), p})
	}
	if len(out) == 0 {
		t.Fatal("no dump payloads")
	}
	return out
}

// legacyFixture returns the generated file of that name
// (legacy_fixtures_test.go).
func legacyFixture(t *testing.T, name string) *legacyFile {
	t.Helper()
	for _, fx := range legacyFixtures() {
		if fx.name == name {
			return fx.file
		}
	}
	t.Fatalf("no generated fixture %q", name)
	return nil
}

// clip shortens a long description for an error message.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// describeAll renders loaded keys as "db/key description".
func describeAll(got []kv) []string {
	var out []string
	for _, e := range got {
		out = append(out, strconv.Itoa(e.db)+"/"+e.key+" "+describe(e.obj))
	}
	return out
}

// TestOlderEncodings loads files in the formats of older Redis versions
// (zipmaps, ziplists, quicklists of ziplists, old list and zset types;
// generated by legacy_fixtures_test.go).
func TestOlderEncodings(t *testing.T) {
	want := map[string][]string{
		"hash-zipmap": {
			`0/hash hash "f1"="v1" "f2"="v2"`,
			`0/hash-long hash "` + strings.Repeat("k", 260) + `"="x" "long"="` + legacyLong300 + `"`,
		},
		"hash-ziplist": {
			`0/hash hash "f1"="v1" "f2"="v2"`,
			`0/hash-mixed hash "1"="one" "count"="300" "last"="-7" "long"="` + legacyLong300 + `"`,
		},
		"zset-ziplist": {
			`0/zset zset "one":1 "two":2`,
			`0/zset-scores zset "ninf":-inf "neg":-3 "half":0.5 "big":6000000000 "pinf":inf`,
		},
		"list-quicklist": {
			`0/list list "7"`,
			`0/x string "7"`,
			`0/list-nodes list "a" "b" "-1"` + strings.Repeat(` "`+legacyNodeEntry+`"`, 10) + ` "1000000" "end"`,
		},
		"encodings": {
			`0/string string "Hello, Skiff"`,
			`0/12345 string "int-key"`,
			`0/int8 string "-12"`,
			`0/int16 string "3000"`,
			`0/int32 string "-2000000000"`,
			`0/lzf string "` + legacyCompress + `"`,
			`0/expires-ms string "soon" expire=4102444800123`,
			`0/expires-s string "later" expire=2000000000000`,
			`0/list list "a" "1" "` + legacyCompress + `" ""`,
			`0/set set "7" "x" "y"`,
			`0/set-ints set "-1" "200" "3"`,
			`0/zset zset "d":-inf "b":-2 "e":1e-300 "a":1.5 "c":inf`,
			`0/hash hash "f"="v" "n"="12"`,
			`0/list-ziplist list "0" "12" "13" "-1" "127" "-128" "1000" "-32768" "100000" "-8388608" ` +
				`"10000000" "-2147483648" "6000000000" "-9223372036854775808" "9223372036854775807" ` +
				`"-0" "007" "str" "` + strings.Repeat("m", 100) + `" "` + legacyLong300 + `" "after-long"`,
			`0/intset16 set "-3" "1" "200"`,
			`0/intset32 set "-70000" "1" "70000"`,
			`0/intset64 set "-5000000000" "0" "5000000000"`,
			`2/huge list "head" "` + legacyHuge + `" "tail"`,
		},
	}
	encodings := map[string]string{
		"hash-zipmap/hash": "listpack", "hash-zipmap/hash-long": "hashtable",
		"hash-ziplist/hash-mixed": "listpack", "zset-ziplist/zset": "listpack",
		"list-quicklist/x": "int", "encodings/set": "hashtable", "encodings/set-ints": "intset",
		"encodings/intset64": "intset", "encodings/12345": "embstr",
	}
	for file, descs := range want {
		f := legacyFixture(t, file)
		data := f.bytes()
		got, _, err := loadAll(t, bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		d := describeAll(got)
		if len(d) != len(descs) {
			t.Errorf("%s: loaded %d keys, want %d", file, len(d), len(descs))
		}
		for i := range min(len(d), len(descs)) {
			if d[i] != descs[i] {
				t.Errorf("%s: key %d is\n%s\nwant\n%s", file, i, clip(d[i]), clip(descs[i]))
			}
		}
		for _, e := range got {
			if enc, ok := encodings[file+"/"+e.key]; ok && encodingOf(e.obj) != enc {
				t.Errorf("%s key %s: encoding %s, want %s", file, e.key, encodingOf(e.obj), enc)
			}
		}
		// The checksum is real and checked (files before version 5 have none).
		if f.ver >= 5 {
			if binary.LittleEndian.Uint64(data[len(data)-8:]) == 0 {
				t.Errorf("%s: CRC64 trailer is zero (unchecked)", file)
			}
			bad := bytes.Clone(data)
			bad[len(bad)-1] ^= 1
			if _, _, err := loadAll(t, bytes.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "checksum") {
				t.Errorf("%s: wrong checksum: err %v", file, err)
			}
		}
	}
}

func TestCorruptInputs(t *testing.T) {
	// A corrupt ziplist is refused, naming it, whichever type holds it;
	// the same file with the ziplist intact loads.
	if got, _, err := loadAll(t, bytes.NewReader(legacyCorruptZiplist(typeHashZiplist, nil).bytes())); err != nil || len(got) != 5 {
		t.Fatalf("intact ziplist: %d keys, err %v", len(got), err)
	}
	for _, c := range corruptZiplists {
		got, _, err := loadAll(t, bytes.NewReader(legacyCorruptZiplist(c.t, c.mutate).bytes()))
		var re *Error
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "ziplist") {
			t.Errorf("corrupt ziplist (%s): err %v, want one mentioning ziplist", c.name, err)
		}
		if len(got) != 3 {
			t.Errorf("corrupt ziplist (%s): %d keys delivered before the error, want 3", c.name, len(got))
		}
	}
	// A `lua` AUX field (scripts replicated whole, before Redis 7) loads.
	got, aux, err := loadAll(t, bytes.NewReader(legacyFixture(t, "script-aux").bytes()))
	if err != nil || aux["lua"] != legacyScript || strings.Join(describeAll(got), ",") != `0/counter string "42"` {
		t.Errorf("script-aux: keys %v, aux %v, err %v", describeAll(got), aux, err)
	}
	// Empty collections are skipped, as Redis does, TTL and all.
	got, _, err = loadAll(t, bytes.NewReader(legacyFixture(t, "empty-keys").bytes()))
	if err != nil || strings.Join(describeAll(got), ",") != `0/survivor string "still here"` {
		t.Errorf("empty-keys: loaded %v, err %v", describeAll(got), err)
	}

	data, err := os.ReadFile("testdata/redis7-all-types.rdb")
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation is an error naming an offset within the input.
	for n := 0; n < len(data); n += 1 + n/50 {
		_, _, err := loadAll(t, bytes.NewReader(data[:n]))
		var re *Error
		if !errors.As(err, &re) || re.Offset > int64(n) {
			t.Fatalf("truncated at %d: err %v", n, err)
		}
	}
	// A flipped bit anywhere is caught (by structure or checksum).
	for n := 9; n < len(data)-8; n += 97 {
		bad := bytes.Clone(data)
		bad[n] ^= 0x04
		if _, _, err := loadAll(t, bytes.NewReader(bad)); err == nil {
			t.Fatalf("bit flip at %d went unnoticed", n)
		}
	}
	// A zero checksum (rdbchecksum no) is accepted.
	zero := bytes.Clone(data)
	copy(zero[len(zero)-8:], make([]byte, 8))
	if _, _, err := loadAll(t, bytes.NewReader(zero)); err != nil {
		t.Fatalf("zero checksum: %v", err)
	}
	if _, _, err := loadAll(t, strings.NewReader("REDIS0011")); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("version 11: %v", err)
	}
}

// TestHugeLengthsDoNotAllocate feeds lengths announcing gigabytes and
// checks that the reader fails without reserving that memory.
func TestHugeLengthsDoNotAllocate(t *testing.T) {
	huge := []byte{len64, 0, 0, 0, 0x10, 0, 0, 0, 0} // 64 GiB
	cases := map[string][]byte{
		"string":    append([]byte{typeString}, huge...),
		"list":      append([]byte{typeList}, huge...),
		"set":       append([]byte{typeSet}, huge...),
		"zset":      append([]byte{typeZSet2}, huge...),
		"hash":      append([]byte{typeHash}, huge...),
		"quicklist": append([]byte{typeListQuicklist2}, huge...),
		"lzf":       {typeString, 0xC3, 0x05, len32, 0x7F, 0xFF, 0xFF, 0xFF, 0, 1, 2, 3, 4},
	}
	for name, body := range cases {
		p := append(body, 10, 0)
		p = append(p, make([]byte, 8)...)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeValueLimits(p, DefaultLimits, true)
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if d := after.TotalAlloc - before.TotalAlloc; d > 8<<20 {
			t.Errorf("%s: allocated %d bytes", name, d)
		}
		var re *Error
		if !errors.As(err, &re) {
			t.Errorf("%s: error %v names no offset", name, err)
		}
	}
}

// (Streams are loaded since rdb/stream.go; modules stay refused.)
func TestRefusedTypes(t *testing.T) {
	for _, tc := range []struct {
		body []byte
		want string
	}{
		{[]byte{typeModule2, 0}, "module"},
		{[]byte{42}, "unknown value type"},
	} {
		var buf bytes.Buffer
		buf.WriteString("REDIS0010")
		buf.WriteByte(tc.body[0])
		buf.Write([]byte{3, 'k', 'e', 'y'})
		buf.Write(tc.body[1:])
		_, _, err := loadAll(t, &buf)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("type %d: err %v, want %q", tc.body[0], err, tc.want)
		}
		if tc.want != "unknown value type" && !strings.Contains(err.Error(), `"key"`) {
			t.Errorf("type %d: error %v does not name the key", tc.body[0], err)
		}
	}
	for _, op := range []byte{opFunction2, opModuleAux} {
		_, _, err := loadAll(t, bytes.NewReader([]byte{'R', 'E', 'D', 'I', 'S', '0', '0', '1', '0', op, 1, 'x'}))
		if err == nil {
			t.Errorf("opcode %x accepted", op)
		}
	}
}
