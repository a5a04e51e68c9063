package node

import (
	"math/rand"
	"strconv"
	"testing"
)

var bfModes = map[string]int{"WRAP": bfWrap, "SAT": bfSat, "FAIL": bfFail}

// Expected values come from redis-server 7.0.15:
// BITFIELD k SET <type> 0 <value> OVERFLOW <mode> INCRBY <type> 0 <incr>.
// An empty want is the nil reply of OVERFLOW FAIL.
func TestBitfieldIncrbyOverflowMatchesRedis(t *testing.T) {
	cases := []struct {
		typ         string
		value       int64
		mode        string
		incr        int64
		want        string
		wantOverflw bool
	}{
		{"i8", 100, "WRAP", 100, "-56", true},
		{"i8", 100, "SAT", 100, "127", true},
		{"i8", 100, "FAIL", 100, "", true},
		{"i8", -100, "WRAP", -100, "56", true},
		{"i8", -100, "SAT", -100, "-128", true},
		{"i8", 1, "FAIL", 100, "101", false},
		{"u8", 200, "WRAP", 100, "44", true},
		{"u8", 200, "SAT", 100, "255", true},
		{"u8", 10, "SAT", -20, "0", true},
		{"u8", 10, "WRAP", -20, "246", true},
		{"u2", 3, "SAT", 1, "3", true},
		{"i64", 9223372036854775807, "WRAP", 1, "-9223372036854775808", true},
		{"i64", 9223372036854775807, "SAT", 1, "9223372036854775807", true},
		{"i64", -9223372036854775808, "SAT", -1, "-9223372036854775808", true},
		{"i64", -9223372036854775808, "WRAP", -1, "9223372036854775807", true},
		{"u63", 9223372036854775807, "WRAP", 1, "0", true},
		{"u63", 9223372036854775807, "SAT", 1, "9223372036854775807", true},
		{"u5", 7, "WRAP", -9223372036854775808, "7", true},
		{"u5", 7, "SAT", -9223372036854775808, "0", true},
		{"i16", 5, "SAT", -9223372036854775808, "-32768", true},
		{"i16", 5, "WRAP", 9223372036854775807, "4", true},
		{"i3", 3, "WRAP", 3, "-2", true},
	}
	for _, tc := range cases {
		got, over := bitfieldAddForTest(tc.typ, tc.value, tc.incr, bfModes[tc.mode])
		if over && tc.mode == "FAIL" {
			got = ""
		}
		if got != tc.want || over != tc.wantOverflw {
			t.Errorf("%s %d OVERFLOW %s INCRBY %d = %q (overflow %v), redis says %q (overflow %v)",
				tc.typ, tc.value, tc.mode, tc.incr, got, over, tc.want, tc.wantOverflw)
		}
	}
}

// BITFIELD k OVERFLOW <mode> SET <type> 0 <value> GET <type> 0, from redis.
func TestBitfieldSetOverflowMatchesRedis(t *testing.T) {
	cases := []struct {
		typ   string
		value int64
		mode  string
		want  string
	}{
		{"i16", -9223372036854775808, "SAT", "32767"}, // Redis's wrapped range check: an "overflow"
		{"i16", -9223372036854775808, "WRAP", "0"},
		{"i16", 40000, "SAT", "32767"},
		{"i16", -40000, "SAT", "-32768"},
		{"u8", -1, "SAT", "255"},
		{"u8", -1, "WRAP", "255"},
		{"u8", 300, "WRAP", "44"},
		{"i8", -200, "SAT", "-128"},
		{"i8", 200, "WRAP", "-56"},
	}
	for _, tc := range cases {
		got, _ := bitfieldAddForTest(tc.typ, tc.value, 0, bfModes[tc.mode])
		if got != tc.want {
			t.Errorf("OVERFLOW %s SET %s %d stores %s, redis stores %s", tc.mode, tc.typ, tc.value, got, tc.want)
		}
	}
}

func bitfieldAddForTest(typ string, value, incr int64, mode int) (string, bool) {
	var n uint
	for _, ch := range typ[1:] {
		n = n*10 + uint(ch-'0')
	}
	if typ[0] == 'i' {
		v, over := signedBitfieldAdd(value, incr, n, mode)
		return strconv.FormatInt(v, 10), over
	}
	v, over := unsignedBitfieldAdd(uint64(value), incr, n, mode)
	return strconv.FormatInt(int64(v), 10), over
}

// The bit helpers against a naive bit-by-bit model on random strings.
func TestBitHelpersAgainstNaive(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	bitAt := func(s []byte, pos int64) bool { return s[pos>>3]&(0x80>>(pos&7)) != 0 }
	for iter := 0; iter < 2000; iter++ {
		s := make([]byte, 1+r.Intn(40))
		for i := range s {
			switch r.Intn(3) {
			case 0:
				s[i] = 0
			case 1:
				s[i] = 0xff
			default:
				s[i] = byte(r.Intn(256))
			}
		}
		nbits := int64(len(s)) * 8
		first := r.Int63n(nbits)
		last := first + r.Int63n(nbits-first)
		var count int64
		pos1, pos0 := int64(-1), int64(-1)
		for p := first; p <= last; p++ {
			if bitAt(s, p) {
				count++
				if pos1 < 0 {
					pos1 = p
				}
			} else if pos0 < 0 {
				pos0 = p
			}
		}
		if got := popcountBits(s, first, last); got != count {
			t.Fatalf("popcountBits(%x, %d, %d) = %d, want %d", s, first, last, got, count)
		}
		if got := findBit(s, first, last, true); got != pos1 {
			t.Fatalf("findBit(%x, %d, %d, 1) = %d, want %d", s, first, last, got, pos1)
		}
		if got := findBit(s, first, last, false); got != pos0 {
			t.Fatalf("findBit(%x, %d, %d, 0) = %d, want %d", s, first, last, got, pos0)
		}
		// A field written at an unaligned offset reads back and leaves
		// its neighbours alone.
		w := uint(1 + r.Intn(64))
		if int64(w) > nbits {
			continue
		}
		off := uint64(r.Int63n(nbits - int64(w) + 1))
		v := r.Uint64() & mask64(w)
		before := append([]byte(nil), s...)
		setBitfield(s, off, w, v)
		if got := getBitfield(s, off, w); got != v {
			t.Fatalf("getBitfield after setBitfield(%d, %d, %x) = %x", off, w, v, got)
		}
		for p := int64(0); p < nbits; p++ {
			if (uint64(p) < off || uint64(p) >= off+uint64(w)) && bitAt(s, p) != bitAt(before, p) {
				t.Fatalf("setBitfield(%d, %d) changed bit %d outside the field", off, w, p)
			}
		}
	}
}
