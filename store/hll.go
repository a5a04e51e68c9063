package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// HyperLogLog values are plain strings in Redis's own layout, so a value
// moved between Skiff and Redis (DUMP/RESTORE, replication, GET/SET)
// stays valid and counts the same:
//
//	"HYLL" | encoding (0 dense, 1 sparse) | 3 unused bytes |
//	8-byte little-endian cached cardinality (MSB of the last byte set
//	when stale) | registers
//
// Dense registers are 16384 6-bit values packed little-endian; the sparse
// form is a run-length code of ZERO (00xxxxxx), XZERO (01xxxxxx xxxxxxxx)
// and VAL (1vvvvvxx) opcodes. Elements are hashed with MurmurHash64A and
// Redis's seed, so the same inputs set the same registers as in Redis.

const (
	hllP         = 14
	hllQ         = 64 - hllP
	HLLRegisters = 1 << hllP
	hllPMask     = HLLRegisters - 1
	hllBits      = 6
	hllRegMax    = 1<<hllBits - 1
	hllHdrSize   = 16
	// HLLDenseSize is the exact length of a dense HLL string.
	HLLDenseSize = hllHdrSize + (HLLRegisters*hllBits+7)/8

	hllDense  = 0
	hllSparse = 1

	hllSparseValMaxValue = 32
	hllSparseValMaxLen   = 4
	hllSparseZeroMaxLen  = 64
	hllSparseXZeroMaxLen = 16384

	hllAlphaInf = 0.721347520444481703680 // 0.5/ln(2)
	hllSeed     = 0xadc83b19
)

// ErrHLLCorrupt is returned for a sparse HLL whose opcodes do not cover
// exactly the 16384 registers.
var ErrHLLCorrupt = errors.New("INVALIDOBJ Corrupted HLL object detected")

// MurmurHash64A is Austin Appleby's 64-bit hash as Redis uses it (little
// endian reads).
func MurmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ (uint64(len(key)) * m)
	n := len(key) &^ 7
	for i := 0; i < n; i += 8 {
		k := uint64(key[i]) | uint64(key[i+1])<<8 | uint64(key[i+2])<<16 | uint64(key[i+3])<<24 |
			uint64(key[i+4])<<32 | uint64(key[i+5])<<40 | uint64(key[i+6])<<48 | uint64(key[i+7])<<56
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
	}
	tail := key[n:]
	if len(tail) > 0 {
		for i := len(tail) - 1; i >= 0; i-- {
			h ^= uint64(tail[i]) << (8 * uint(i))
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// hllPatLen returns the register an element maps to and the length of
// the 0...01 run of the rest of its hash (1..Q+1).
func hllPatLen(ele []byte) (index int, count uint8) {
	hash := MurmurHash64A(ele, hllSeed)
	index = int(hash & hllPMask)
	hash >>= hllP
	hash |= 1 << hllQ
	count = 1
	for bit := uint64(1); hash&bit == 0; bit <<= 1 {
		count++
	}
	return index, count
}

func denseGet(regs []byte, i int) uint8 {
	byt := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	b0 := uint(regs[byt])
	var b1 uint
	if byt+1 < len(regs) {
		b1 = uint(regs[byt+1])
	}
	return uint8((b0>>fb | b1<<(8-fb)) & hllRegMax)
}

func denseSet(regs []byte, i int, v uint8) {
	byt := i * hllBits / 8
	fb := uint(i * hllBits & 7)
	regs[byt] &^= byte(hllRegMax << fb)
	regs[byt] |= byte(uint(v) << fb)
	if byt+1 < len(regs) {
		regs[byt+1] &^= byte(hllRegMax >> (8 - fb))
		regs[byt+1] |= byte(uint(v) >> (8 - fb))
	}
}

// NewHLL returns an empty HLL in the sparse encoding Redis creates.
func NewHLL() []byte {
	b := make([]byte, hllHdrSize, hllHdrSize+8)
	copy(b, "HYLL")
	b[4] = hllSparse
	for aux := HLLRegisters; aux > 0; {
		x := min(aux, hllSparseXZeroMaxLen)
		b = append(b, byte((x-1)>>8)|0x40, byte((x-1)&0xff))
		aux -= x
	}
	return b
}

// IsHLL reports whether b has the shape of an HLL value (Redis's
// isHLLObjectOrReply checks: length, magic, encoding, dense size).
func IsHLL(b []byte) bool {
	if len(b) < hllHdrSize || string(b[:4]) != "HYLL" || b[4] > hllSparse {
		return false
	}
	return b[4] != hllDense || len(b) == HLLDenseSize
}

// HLLIsDense reports whether a valid HLL uses the dense encoding.
func HLLIsDense(b []byte) bool { return b[4] == hllDense }

func hllInvalidate(b []byte) { b[15] |= 0x80 }

// HLLInvalidateCache marks the cached cardinality stale.
func HLLInvalidateCache(b []byte) { hllInvalidate(b) }

// HLLToDense converts a sparse HLL to the dense encoding (keeping the
// header's cached cardinality, as Redis does).
func HLLToDense(b []byte) ([]byte, error) {
	if b[4] == hllDense {
		return b, nil
	}
	d := make([]byte, HLLDenseSize)
	copy(d, b[:hllHdrSize])
	d[4] = hllDense
	regs := d[hllHdrSize:]
	idx := 0
	for p := hllHdrSize; p < len(b); {
		op := b[p]
		switch {
		case op&0xc0 == 0:
			idx += int(op&0x3f) + 1
			p++
		case op&0xc0 == 0x40:
			if p+1 >= len(b) {
				return nil, ErrHLLCorrupt
			}
			idx += (int(op&0x3f)<<8 | int(b[p+1])) + 1
			p += 2
		default:
			run := int(op&3) + 1
			val := (op>>2)&0x1f + 1
			if idx+run > HLLRegisters {
				return nil, ErrHLLCorrupt
			}
			for ; run > 0; run-- {
				denseSet(regs, idx, val)
				idx++
			}
			p++
		}
	}
	if idx != HLLRegisters {
		return nil, ErrHLLCorrupt
	}
	return d, nil
}

// HLLAdd adds one element. It returns the (possibly reallocated or
// promoted) value and whether a register changed.
func HLLAdd(b []byte, ele []byte, sparseMax int) ([]byte, bool, error) {
	idx, count := hllPatLen(ele)
	return HLLSet(b, idx, count, sparseMax)
}

// HLLSet raises register idx to count if it is lower, in either encoding.
// A sparse HLL is promoted to dense when count does not fit a VAL opcode
// or the sparse form would grow past sparseMax bytes.
func HLLSet(b []byte, idx int, count uint8, sparseMax int) ([]byte, bool, error) {
	if b[4] == hllDense {
		regs := b[hllHdrSize:]
		if count > denseGet(regs, idx) {
			denseSet(regs, idx, count)
			return b, true, nil
		}
		return b, false, nil
	}
	if count > hllSparseValMaxValue {
		return hllPromote(b, idx, count)
	}
	end := len(b)
	p := hllHdrSize
	first, span, prev := 0, 0, -1
	for p < end {
		oplen := 1
		op := b[p]
		switch {
		case op&0xc0 == 0:
			span = int(op&0x3f) + 1
		case op&0x80 != 0:
			span = int(op&3) + 1
		default:
			if p+1 >= end {
				return b, false, ErrHLLCorrupt
			}
			span = (int(op&0x3f)<<8 | int(b[p+1])) + 1
			oplen = 2
		}
		if idx <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return b, false, ErrHLLCorrupt
	}
	op := b[p]
	isZero := op&0xc0 == 0
	isXZero := op&0xc0 == 0x40
	isVal := op&0x80 != 0
	var runlen int
	switch {
	case isZero:
		runlen = int(op&0x3f) + 1
	case isXZero:
		runlen = (int(op&0x3f)<<8 | int(b[p+1])) + 1
	default:
		runlen = int(op&3) + 1
	}
	valOp := func(v uint8, l int) byte { return byte((int(v)-1)<<2|(l-1)) | 0x80 }
	updated := false
	if isVal {
		old := (op>>2)&0x1f + 1
		if old >= count {
			return b, false, nil
		}
		if runlen == 1 {
			b[p] = valOp(count, 1)
			updated = true
		}
	}
	if !updated && isZero && runlen == 1 {
		b[p] = valOp(count, 1)
		updated = true
	}
	if !updated {
		// Split the opcode covering idx into up to three: the registers
		// before it, idx itself, the registers after it.
		var seq [5]byte
		n := 0
		last := first + span - 1
		zeros := func(l int) {
			if l > hllSparseZeroMaxLen {
				seq[n] = byte((l-1)>>8) | 0x40
				seq[n+1] = byte((l - 1) & 0xff)
				n += 2
			} else {
				seq[n] = byte(l - 1)
				n++
			}
		}
		if isZero || isXZero {
			if idx != first {
				zeros(idx - first)
			}
			seq[n] = valOp(count, 1)
			n++
			if idx != last {
				zeros(last - idx)
			}
		} else {
			cur := (op>>2)&0x1f + 1
			if idx != first {
				seq[n] = valOp(cur, idx-first)
				n++
			}
			seq[n] = valOp(count, 1)
			n++
			if idx != last {
				seq[n] = valOp(cur, last-idx)
				n++
			}
		}
		oldlen := 1
		if isXZero {
			oldlen = 2
		}
		delta := n - oldlen
		if delta > 0 && len(b)+delta > sparseMax {
			return hllPromote(b, idx, count)
		}
		nb := make([]byte, 0, len(b)+delta+8)
		nb = append(nb, b[:p]...)
		nb = append(nb, seq[:n]...)
		nb = append(nb, b[p+oldlen:]...)
		b = nb
		end = len(b)
	}
	// Merge adjacent VAL opcodes of equal value around the change, looking
	// at up to five opcodes from the one before it.
	p = hllHdrSize
	if prev >= 0 {
		p = prev
	}
	for scan := 5; p < end && scan > 0; {
		scan--
		op := b[p]
		if op&0xc0 == 0x40 {
			p += 2
			continue
		}
		if op&0xc0 == 0 {
			p++
			continue
		}
		if p+1 < end && b[p+1]&0x80 != 0 {
			v1 := (op>>2)&0x1f + 1
			v2 := (b[p+1]>>2)&0x1f + 1
			if v1 == v2 {
				l := int(op&3) + 1 + int(b[p+1]&3) + 1
				if l <= hllSparseValMaxLen {
					b[p+1] = valOp(v1, l)
					copy(b[p:], b[p+1:end])
					b = b[:end-1]
					end--
					continue
				}
			}
		}
		p++
	}
	hllInvalidate(b)
	return b, true, nil
}

func hllPromote(b []byte, idx int, count uint8) ([]byte, bool, error) {
	d, err := HLLToDense(b)
	if err != nil {
		return b, false, err
	}
	denseSet(d[hllHdrSize:], idx, count)
	return d, true, nil
}

// HLLMerge raises max[i] to the registers of b (Redis's hllMerge).
func HLLMerge(max []uint8, b []byte) error {
	if b[4] == hllDense {
		regs := b[hllHdrSize:]
		for i := 0; i < HLLRegisters; i++ {
			if v := denseGet(regs, i); v > max[i] {
				max[i] = v
			}
		}
		return nil
	}
	i := 0
	for p := hllHdrSize; p < len(b); {
		op := b[p]
		switch {
		case op&0xc0 == 0:
			i += int(op&0x3f) + 1
			p++
		case op&0xc0 == 0x40:
			if p+1 >= len(b) {
				return ErrHLLCorrupt
			}
			i += (int(op&0x3f)<<8 | int(b[p+1])) + 1
			p += 2
		default:
			run := int(op&3) + 1
			val := (op>>2)&0x1f + 1
			if i+run > HLLRegisters {
				return ErrHLLCorrupt
			}
			for ; run > 0; run-- {
				if val > max[i] {
					max[i] = val
				}
				i++
			}
			p++
		}
	}
	if i != HLLRegisters {
		return ErrHLLCorrupt
	}
	return nil
}

// HLLRegistersOf returns the 16384 register values of b.
func HLLRegistersOf(b []byte) ([]uint8, error) {
	max := make([]uint8, HLLRegisters)
	return max, HLLMerge(max, b)
}

func hllSigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		zp := z
		z += x * y
		y += y
		if zp == z {
			return z
		}
	}
}

func hllTau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		zp := z
		y *= 0.5
		z -= math.Pow(1-x, 2) * y
		if zp == z {
			return z / 3
		}
	}
}

// hllEstimate is Ertl's improved estimator over a register histogram, as
// Redis 7.0 computes it.
func hllEstimate(histo *[64]int) uint64 {
	m := float64(HLLRegisters)
	z := m * hllTau((m-float64(histo[hllQ+1]))/m)
	for j := hllQ; j >= 1; j-- {
		z += float64(histo[j])
		z *= 0.5
	}
	z += m * hllSigma(float64(histo[0])/m)
	return uint64(math.Round(hllAlphaInf * m * m / z))
}

// HLLCountRegisters estimates the cardinality of raw registers.
func HLLCountRegisters(regs []uint8) uint64 {
	var histo [64]int
	for _, v := range regs {
		histo[v&63]++
	}
	return hllEstimate(&histo)
}

// HLLCountRaw estimates the cardinality of b without using its cache.
func HLLCountRaw(b []byte) (uint64, error) {
	var histo [64]int
	if b[4] == hllDense {
		regs := b[hllHdrSize:]
		for i := 0; i < HLLRegisters; i++ {
			histo[denseGet(regs, i)]++
		}
		return hllEstimate(&histo), nil
	}
	idx := 0
	for p := hllHdrSize; p < len(b); {
		op := b[p]
		switch {
		case op&0xc0 == 0:
			n := int(op&0x3f) + 1
			idx += n
			histo[0] += n
			p++
		case op&0xc0 == 0x40:
			if p+1 >= len(b) {
				return 0, ErrHLLCorrupt
			}
			n := (int(op&0x3f)<<8 | int(b[p+1])) + 1
			idx += n
			histo[0] += n
			p += 2
		default:
			n := int(op&3) + 1
			idx += n
			histo[(op>>2)&0x1f+1] += n
			p++
		}
	}
	if idx != HLLRegisters {
		return 0, ErrHLLCorrupt
	}
	return hllEstimate(&histo), nil
}

// HLLCount returns the cardinality, from the cache when it is valid;
// otherwise it computes it and writes it into b's cache. recomputed
// tells the caller the value changed (Redis counts that as a write).
func HLLCount(b []byte) (card uint64, recomputed bool, err error) {
	if b[15]&0x80 == 0 {
		for i := 7; i >= 0; i-- {
			card = card<<8 | uint64(b[8+i])
		}
		return card, false, nil
	}
	card, err = HLLCountRaw(b)
	if err != nil {
		return 0, false, err
	}
	for i := 0; i < 8; i++ {
		b[8+i] = byte(card >> (8 * i))
	}
	return card, true, nil
}

// HLLDecodeSparse renders a sparse HLL's opcodes as PFDEBUG DECODE does:
// "z:<len>", "Z:<len>" and "v:<value>,<len>" separated by spaces.
func HLLDecodeSparse(b []byte) string {
	var sb []byte
	for p := hllHdrSize; p < len(b); {
		op := b[p]
		switch {
		case op&0xc0 == 0:
			sb = fmt.Appendf(sb, "z:%d ", int(op&0x3f)+1)
			p++
		case op&0xc0 == 0x40:
			n := int(op&0x3f) << 8
			if p+1 < len(b) {
				n |= int(b[p+1])
			}
			sb = fmt.Appendf(sb, "Z:%d ", n+1)
			p += 2
		default:
			sb = fmt.Appendf(sb, "v:%d,%d ", (op>>2)&0x1f+1, int(op&3)+1)
			p++
		}
	}
	return strings.TrimRight(string(sb), " ")
}

// HLLSelfTest adds seeded random elements to a sparse and a dense HLL and
// checks that both encodings hold the same registers and that estimates
// stay within five standard errors of the true count.
func HLLSelfTest(seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	sparse := NewHLL()
	dense, err := HLLToDense(NewHLL())
	if err != nil {
		return err
	}
	stdErr := 1.04 / math.Sqrt(HLLRegisters)
	var buf [8]byte
	for n := 1; n <= 20000; n++ {
		binary.LittleEndian.PutUint64(buf[:], r.Uint64())
		if sparse, _, err = HLLAdd(sparse, buf[:], math.MaxInt); err != nil {
			return err
		}
		if dense, _, err = HLLAdd(dense, buf[:], math.MaxInt); err != nil {
			return err
		}
		if n%1000 != 0 {
			continue
		}
		sc, err := HLLCountRaw(sparse)
		if err != nil {
			return err
		}
		dc, _ := HLLCountRaw(dense)
		if sc != dc {
			return fmt.Errorf("TESTFAILED sparse and dense estimates differ: %d vs %d", sc, dc)
		}
		if rel := math.Abs(float64(dc)-float64(n)) / float64(n); rel > 5*stdErr {
			return fmt.Errorf("TESTFAILED Too big error. card:%d abserr:%g", n, rel)
		}
	}
	sr, _ := HLLRegistersOf(sparse)
	dr, _ := HLLRegistersOf(dense)
	for i := range sr {
		if sr[i] != dr[i] {
			return fmt.Errorf("TESTFAILED register %d differs: %d vs %d", i, sr[i], dr[i])
		}
	}
	return nil
}
