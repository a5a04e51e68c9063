package rdb

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/skiffdb/skiff/store"
)

// benchListpack encodes short strings as a listpack (6-bit lengths).
func benchListpack(elems []string) []byte {
	lp := make([]byte, 6, 1024)
	for _, s := range elems {
		start := len(lp)
		lp = append(append(lp, 0x80|byte(len(s))), s...)
		lp = append(lp, byte(len(lp)-start))
	}
	lp = append(lp, 0xFF)
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	binary.LittleEndian.PutUint16(lp[4:], uint16(len(elems)))
	return lp
}

// BenchmarkLoadPacked measures loading the compact encodings a Redis
// 7.0 master sends in a full sync: hash and sorted set listpacks,
// quicklists of listpacks and intsets.
func BenchmarkLoadPacked(b *testing.B) {
	var file bytes.Buffer
	file.WriteString("REDIS0010\xfe\x00")
	put := func(t byte, key string, v *enc) {
		file.WriteByte(t)
		file.Write(val().str(key).b)
		file.Write(v.b)
	}
	pairs := make([]string, 0, 128)
	for i := 0; i < 64; i++ {
		pairs = append(pairs, "field:"+strconv.Itoa(i), strconv.Itoa(i*31)+".5")
	}
	ints := make([]int64, 200)
	for i := range ints {
		ints[i] = int64(i * 3)
	}
	for i := 0; i < 2000; i++ {
		k := strconv.Itoa(i)
		put(typeHashListpack, "h:"+k, val().str(string(benchListpack(pairs))))
		put(typeZSetListpack, "z:"+k, val().str(string(benchListpack(pairs))))
		put(typeListQuicklist2, "l:"+k, val().len(2).len(containerPacked).str(string(benchListpack(pairs))).len(containerPacked).str(string(benchListpack(pairs))))
		put(typeSetIntset, "s:"+k, val().str(string(intset(2, ints...))))
	}
	file.WriteByte(0xFF)
	file.Write(make([]byte, 8))
	data := file.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if _, err := Load(bytes.NewReader(data), func(int, string, *store.Object) error { n++; return nil }); err != nil || n != 8000 {
			b.Fatal(err, n)
		}
	}
}
