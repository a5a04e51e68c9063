package store

import (
	"fmt"
	"math"
	"strconv"
	"testing"
)

func TestHashEncodingAndOps(t *testing.T) {
	h := NewHash()
	for i := 0; i < 128; i++ {
		f := []byte("f" + strconv.Itoa(i))
		if !h.Set(f, []byte(strconv.Itoa(i)), 128, 64) {
			t.Fatalf("field %s reported as existing", f)
		}
	}
	if h.Encoding() != "listpack" || h.Len() != 128 {
		t.Fatalf("128 fields: encoding %s len %d", h.Encoding(), h.Len())
	}
	var order []string
	h.Each(func(f, v string) bool { order = append(order, f); return true })
	for i, f := range order {
		if f != "f"+strconv.Itoa(i) {
			t.Fatalf("compact hash lost insertion order at %d: %s", i, f)
		}
	}
	if h.Set([]byte("f0"), []byte("x"), 128, 64) {
		t.Fatal("overwrite reported as new field")
	}
	if v, ok := h.Get([]byte("f0")); !ok || v != "x" {
		t.Fatalf("Get f0 = %q %v", v, ok)
	}
	h.Set([]byte("f128"), []byte("v"), 128, 64)
	if h.Encoding() != "hashtable" || h.Len() != 129 {
		t.Fatalf("129 fields: encoding %s len %d", h.Encoding(), h.Len())
	}
	if v, ok := h.Get([]byte("f0")); !ok || v != "x" {
		t.Fatalf("after conversion Get f0 = %q %v", v, ok)
	}
	if !h.Delete([]byte("f5")) || h.Delete([]byte("f5")) || h.Len() != 128 {
		t.Fatal("Delete misbehaves")
	}
	c := h.Clone().(*Hash)
	h.Set([]byte("new"), []byte("1"), 128, 64)
	if _, ok := c.Get([]byte("new")); ok || c.Len() != 128 {
		t.Fatal("clone shares state with original")
	}

	small := NewHash()
	small.Set([]byte("a"), []byte("1"), 128, 64)
	small.ConvertIfLonger(64, []byte("short"), make([]byte, 64))
	if small.Encoding() != "listpack" {
		t.Fatal("64-byte value converted")
	}
	small.ConvertIfLonger(64, make([]byte, 65))
	if small.Encoding() != "hashtable" {
		t.Fatal("65-byte value did not convert")
	}
}

// TestHashScanComplete checks that a full HSCAN returns every field even
// while the hash grows between steps.
func TestHashScanComplete(t *testing.T) {
	h := NewHash()
	for i := 0; i < 1000; i++ {
		h.Set([]byte(strconv.Itoa(i)), []byte("v"), 128, 64)
	}
	seen := map[string]bool{}
	var cursor uint64
	for steps := 0; ; steps++ {
		if steps > 100000 {
			t.Fatal("scan did not terminate")
		}
		cursor = h.Scan(cursor, func(f, v string) { seen[f] = true })
		h.Set([]byte("extra"+strconv.Itoa(steps)), []byte("v"), 128, 64)
		if cursor == 0 {
			break
		}
	}
	for i := 0; i < 1000; i++ {
		if !seen[strconv.Itoa(i)] {
			t.Fatalf("field %d never returned", i)
		}
	}
}

// TestHashRandomDistribution checks that Random picks fields uniformly
// (chi-square against a generous bound) in both encodings.
func TestHashRandomDistribution(t *testing.T) {
	for _, n := range []int{10, 300} {
		h := NewHash()
		for i := 0; i < n; i++ {
			h.Set([]byte(strconv.Itoa(i)), []byte("v"), 128, 64)
		}
		const perField = 200
		counts := map[string]int{}
		for i := 0; i < n*perField; i++ {
			f, _ := h.Random()
			counts[f]++
		}
		var chi float64
		for i := 0; i < n; i++ {
			d := float64(counts[strconv.Itoa(i)] - perField)
			chi += d * d / perField
		}
		// Mean n-1, sd sqrt(2(n-1)); allow 6 sd.
		limit := float64(n-1) + 6*math.Sqrt(2*float64(n-1))
		if chi > limit {
			t.Errorf("%s: chi-square %.1f over %.1f", h.Encoding(), chi, limit)
		}
	}
}

func BenchmarkHashSetSmall(b *testing.B) {
	fields := make([][]byte, 64)
	for i := range fields {
		fields[i] = []byte("field" + strconv.Itoa(i))
	}
	h := NewHash()
	for i := 0; i < b.N; i++ {
		h.Set(fields[i%64], fields[i%64], 128, 64)
	}
}

func BenchmarkHashSetLarge(b *testing.B) {
	h := NewHash()
	f := make([]byte, 0, 20)
	for i := 0; i < b.N; i++ {
		f = strconv.AppendInt(f[:0], int64(i%100000), 10)
		h.Set(f, f, 128, 64)
	}
}

func benchmarkHashGet(b *testing.B, n int) {
	h := NewHash()
	fields := make([][]byte, n)
	for i := range fields {
		fields[i] = []byte("field:" + strconv.Itoa(i))
		h.Set(fields[i], fields[i], 128, 64)
	}
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; i++ {
		if _, ok := h.Get(fields[i%n]); ok {
			hits++
		}
	}
	if hits != b.N {
		b.Fatalf("%d hits of %d", hits, b.N)
	}
}

func BenchmarkHashGetSmall(b *testing.B) { benchmarkHashGet(b, 64) }
func BenchmarkHashGetLarge(b *testing.B) { benchmarkHashGet(b, 100000) }

// MemoryUsage measures a sample of a big hash and scales it: for fields
// and values of one size the estimate is exact.
func TestHashMemoryUsageExtrapolates(t *testing.T) {
	h := NewHash()
	const n = 10000
	for i := 0; i < n; i++ {
		f := []byte(fmt.Sprintf("f%07d", i))
		h.Set(f, []byte("value-of-ten"[:10]), 128, 64)
	}
	want := 48 + int64(8*h.dict.Buckets()) + n*(48+allocSize(8)+allocSize(10))
	if got := h.MemoryUsage(); got != want {
		t.Fatalf("MemoryUsage = %d, want %d", got, want)
	}
}

// Strings handed out by a compact hash point into its packed bytes: no
// later change of the hash may alter them.
func TestHashCompactStringsStayIntact(t *testing.T) {
	h := NewHash()
	for i := 0; i < 8; i++ {
		h.Set([]byte("f"+strconv.Itoa(i)), []byte("value"+strconv.Itoa(i)), 128, 64)
	}
	last, _ := h.Get([]byte("f7"))
	first, _ := h.Get([]byte("f0"))
	var fields []string
	h.Each(func(f, v string) bool { fields = append(fields, f, v); return true })
	c := h.Clone().(*Hash)
	h.Delete([]byte("f7"))                         // the last pair: the next append must not reuse its bytes
	h.Set([]byte("zz"), []byte("XXXXXX"), 128, 64) // appended where f7 was, if it reused them
	h.Set([]byte("f0"), []byte("other!"), 128, 64) // same length as value0
	c.Set([]byte("c"), []byte("YYYYYY"), 128, 64)
	if last != "value7" || first != "value0" {
		t.Fatalf("handed-out values changed: %q %q", last, first)
	}
	for i := 0; i < 8; i++ {
		if fields[2*i] != "f"+strconv.Itoa(i) || fields[2*i+1] != "value"+strconv.Itoa(i) {
			t.Fatalf("handed-out pair %d changed: %q %q", i, fields[2*i], fields[2*i+1])
		}
	}
	if v, ok := c.Get([]byte("f7")); !ok || v != "value7" || c.Len() != 9 {
		t.Fatalf("clone changed by the original: f7=%q %v len %d", v, ok, c.Len())
	}
	if _, ok := c.Get([]byte("zz")); ok {
		t.Fatal("clone sees the original's new field")
	}
	if _, ok := h.Get([]byte("c")); ok {
		t.Fatal("original sees the clone's new field")
	}
	if v, _ := h.Get([]byte("f0")); v != "other!" || h.Len() != 8 {
		t.Fatalf("f0 = %q, len %d", v, h.Len())
	}
	// Empty fields and values, and a value at the 64-byte limit (a
	// two-byte length).
	e := NewHash()
	e.Set(nil, nil, 128, 64)
	e.Set([]byte("long"), make([]byte, 64), 128, 64)
	e.Set([]byte("x"), []byte(""), 128, 64)
	if v, ok := e.Get(nil); !ok || v != "" {
		t.Fatalf("empty field: %q %v", v, ok)
	}
	if v, ok := e.Get([]byte("long")); !ok || len(v) != 64 {
		t.Fatalf("long: %d %v", len(v), ok)
	}
	if !e.Delete(nil) || e.Len() != 2 || !e.Delete([]byte("long")) || !e.Delete([]byte("x")) || e.Len() != 0 {
		t.Fatal("deletes of an empty field, a long value, an empty value")
	}
	seen := map[string]int{}
	r := NewHash()
	for i := 0; i < 5; i++ {
		r.Set([]byte{byte('a' + i)}, []byte{byte('0' + i)}, 128, 64)
	}
	for i := 0; i < 5000; i++ {
		f, v := r.Random()
		if v[0]-'0' != f[0]-'a' {
			t.Fatalf("Random pair %q %q", f, v)
		}
		seen[f]++
	}
	for f, n := range seen {
		if n < 700 {
			t.Fatalf("Random picked %s %d times of 5000 (of 5 fields)", f, n)
		}
	}
	if len(seen) != 5 {
		t.Fatalf("Random saw %d of 5 fields", len(seen))
	}
}

// The packed bytes grow by an eighth, not by doubling: a hash written
// once keeps little spare room.
func TestHashCompactCapacityStaysTight(t *testing.T) {
	for _, n := range []int{5, 10, 50, 128} {
		h := NewHash()
		for i := 0; i < n; i++ {
			h.Set([]byte("field:"+strconv.Itoa(i)), []byte("0123456789"), 128, 64)
		}
		if c, l := cap(h.lp), len(h.lp); c > l+l/4+32 {
			t.Fatalf("%d fields: %d packed bytes in a %d-byte array", n, l, c)
		}
		z := NewZSet(0, 0, DefaultZLimits)
		for i := 0; i < n; i++ {
			z.Insert("member:"+strconv.Itoa(i), float64(i), DefaultZLimits)
		}
		if c, l := cap(z.lp), len(z.lp); c > l+l/4+32 {
			t.Fatalf("%d members: %d packed bytes in a %d-byte array", n, l, c)
		}
	}
}
