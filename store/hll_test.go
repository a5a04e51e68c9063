package store

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestMurmurHash64AKnownValues(t *testing.T) {
	// Checked against an independent transcription for several lengths
	// mod 8 (byte order, tail handling). Agreement with Redis itself is
	// checked by the differential test, which GETs PFADDed keys from both.
	for _, tc := range []struct {
		in   string
		want uint64
	}{
		{"", murmurRef("")},
		{"a", murmurRef("a")},
		{"hello", murmurRef("hello")},
		{"12345678", murmurRef("12345678")},
		{"123456789abcdef", murmurRef("123456789abcdef")},
	} {
		if got := MurmurHash64A([]byte(tc.in), hllSeed); got != tc.want {
			t.Errorf("MurmurHash64A(%q) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}

// murmurRef is an independent, straightforward transcription of the
// published MurmurHash64A algorithm, reading 8-byte blocks with
// encoding/binary and the tail with a switch.
func murmurRef(s string) uint64 {
	const m, r = 0xc6a4a7935bd1e995, 47
	b := []byte(s)
	h := uint64(hllSeed) ^ uint64(len(b))*m
	for len(b) >= 8 {
		k := binary.LittleEndian.Uint64(b)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte
		copy(tail[:], b)
		h ^= binary.LittleEndian.Uint64(tail[:])
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

func TestHLLEmpty(t *testing.T) {
	h := NewHLL()
	if !IsHLL(h) || HLLIsDense(h) || len(h) != hllHdrSize+2 {
		t.Fatalf("new HLL: valid=%v dense=%v len=%d", IsHLL(h), HLLIsDense(h), len(h))
	}
	if c, _, err := HLLCount(h); err != nil || c != 0 {
		t.Fatalf("count of empty = %d, %v", c, err)
	}
	if HLLDecodeSparse(h) != "Z:16384" {
		t.Fatalf("decode: %q", HLLDecodeSparse(h))
	}
}

// TestHLLErrorBounds adds seeded random elements and checks the estimate
// stays within 4 standard errors (1.04/sqrt(16384) = 0.81%) at several
// cardinalities, in both encodings.
func TestHLLErrorBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	h := NewHLL()
	stdErr := 1.04 / math.Sqrt(HLLRegisters)
	var buf [16]byte
	next := 100
	for n := 1; n <= 200000; n++ {
		binary.LittleEndian.PutUint64(buf[:], r.Uint64())
		binary.LittleEndian.PutUint64(buf[8:], uint64(n))
		var err error
		if h, _, err = HLLAdd(h, buf[:], 3000); err != nil {
			t.Fatal(err)
		}
		if n != next {
			continue
		}
		next *= 10
		c, err := HLLCountRaw(h)
		if err != nil {
			t.Fatal(err)
		}
		rel := math.Abs(float64(c)-float64(n)) / float64(n)
		if rel > 4*stdErr {
			t.Fatalf("n=%d estimate %d: relative error %.4f > %.4f", n, c, rel, 4*stdErr)
		}
	}
	if !HLLIsDense(h) {
		t.Fatal("200000 elements should have promoted the HLL to dense")
	}
}

func TestHLLSparseDenseAgree(t *testing.T) {
	sparse := NewHLL()
	dense, _ := HLLToDense(NewHLL())
	for i := 0; i < 5000; i++ {
		e := []byte(fmt.Sprint("ele", i))
		var c1, c2 bool
		var err error
		if sparse, c1, err = HLLAdd(sparse, e, math.MaxInt); err != nil {
			t.Fatal(err)
		}
		if dense, c2, _ = HLLAdd(dense, e, math.MaxInt); c1 != c2 {
			t.Fatalf("element %d changed sparse=%v dense=%v", i, c1, c2)
		}
	}
	if HLLIsDense(sparse) {
		t.Fatal("unbounded sparse HLL was promoted")
	}
	sr, err := HLLRegistersOf(sparse)
	if err != nil {
		t.Fatal(err)
	}
	dr, _ := HLLRegistersOf(dense)
	for i := range sr {
		if sr[i] != dr[i] {
			t.Fatalf("register %d: sparse %d dense %d", i, sr[i], dr[i])
		}
	}
	conv, err := HLLToDense(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if string(conv[hllHdrSize:]) != string(dense[hllHdrSize:]) {
		t.Fatal("converted sparse registers differ from dense")
	}
}

func TestHLLPromotionAtSparseMax(t *testing.T) {
	h := NewHLL()
	var err error
	for i := 0; !HLLIsDense(h); i++ {
		if i > 100000 {
			t.Fatal("never promoted")
		}
		if len(h) > 300 {
			t.Fatalf("sparse HLL of %d bytes exceeds the 300-byte limit", len(h))
		}
		h, _, err = HLLAdd(h, []byte(fmt.Sprint(i)), 300)
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(h) != HLLDenseSize {
		t.Fatalf("dense size %d", len(h))
	}
}

func TestHLLCorrupt(t *testing.T) {
	h := NewHLL()
	h[hllHdrSize+1] = 0 // XZERO now covers 16128 registers, not 16384
	if _, err := HLLCountRaw(h); err == nil {
		t.Fatal("count of a short sparse HLL succeeded")
	}
	if _, _, err := HLLAdd(h, []byte("x"), 3000); err == nil {
		// The element may land in the covered part; then the damage is
		// found by the count.
		if _, err := HLLCountRaw(h); err == nil {
			t.Fatal("corruption undetected")
		}
	}
	if IsHLL([]byte("HYLL\x00")) || IsHLL([]byte("HYLX"+string(make([]byte, 20)))) {
		t.Fatal("IsHLL accepted a malformed header")
	}
}

func TestHLLCache(t *testing.T) {
	h := NewHLL()
	h, _, _ = HLLAdd(h, []byte("a"), 3000)
	HLLInvalidateCache(h)
	c, recomputed, err := HLLCount(h)
	if err != nil || !recomputed || c != 1 {
		t.Fatalf("first count %d %v %v", c, recomputed, err)
	}
	if c2, again, _ := HLLCount(h); again || c2 != 1 {
		t.Fatalf("cached count %d recomputed=%v", c2, again)
	}
}

func TestHLLSelfTest(t *testing.T) {
	if err := HLLSelfTest(42); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkHLLAddDense(b *testing.B) {
	h, _ := HLLToDense(NewHLL())
	var buf [8]byte
	for i := 0; i < b.N; i++ {
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		h, _, _ = HLLAdd(h, buf[:], 3000)
	}
}

func BenchmarkHLLAddSparse(b *testing.B) {
	var buf [8]byte
	h := NewHLL()
	for i := 0; i < b.N; i++ {
		if i%500 == 0 {
			h = NewHLL()
		}
		binary.LittleEndian.PutUint64(buf[:], uint64(i))
		h, _, _ = HLLAdd(h, buf[:], 3000)
	}
}

func BenchmarkHLLCount(b *testing.B) {
	h, _ := HLLToDense(NewHLL())
	for i := 0; i < 100000; i++ {
		h, _, _ = HLLAdd(h, []byte(fmt.Sprint(i)), 3000)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		HLLCountRaw(h)
	}
}
