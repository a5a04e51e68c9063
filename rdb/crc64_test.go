package rdb

import (
	"hash/crc64"
	"math/rand"
	"testing"
)

// The slicing-by-8 CRC agrees with the stdlib's byte-at-a-time one on
// every length and alignment, whole or split anywhere.
func TestCRC64SlicingMatchesStdlib(t *testing.T) {
	tab := crc64.MakeTable(0x95AC9329AC4BC9B5)
	ref := func(p []byte) uint64 { return ^crc64.Update(^uint64(0), tab, p) }
	rnd := rand.New(rand.NewSource(1))
	buf := make([]byte, 5000)
	rnd.Read(buf)
	for n := 0; n < 300; n++ {
		for off := 0; off < 8; off++ {
			p := buf[off : off+n]
			if got, want := CRC64(p), ref(p); got != want {
				t.Fatalf("len %d offset %d: %x, want %x", n, off, got, want)
			}
		}
	}
	p := buf[:4999]
	want := ref(p)
	for i := 0; i < 200; i++ {
		cut := rnd.Intn(len(p) + 1)
		if got := crcUpdate(crcUpdate(0, p[:cut]), p[cut:]); got != want {
			t.Fatalf("split at %d: %x, want %x", cut, got, want)
		}
	}
}
