package rdb

import (
	"errors"
	"math/bits"
	"sync"
)

var errLZF = errors.New("invalid LZF data")

// lzfDecompress expands in into exactly n bytes. A literal run is a
// control byte below 32 followed by ctrl+1 bytes; otherwise the top three
// bits are a length (7 meaning "read one more byte") and the rest with the
// next byte an offset back into the output. Back references may overlap
// the bytes they produce, so they are copied one byte at a time.
func lzfDecompress(in []byte, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	i := 0
	for i < len(in) {
		ctrl := int(in[i])
		i++
		if ctrl < 32 {
			run := ctrl + 1
			if i+run > len(in) || len(out)+run > n {
				return nil, errLZF
			}
			out = append(out, in[i:i+run]...)
			i += run
			continue
		}
		length := ctrl >> 5
		if length == 7 {
			if i >= len(in) {
				return nil, errLZF
			}
			length += int(in[i])
			i++
		}
		length += 2
		if i >= len(in) {
			return nil, errLZF
		}
		back := (ctrl&0x1f)<<8 | int(in[i])
		i++
		ref := len(out) - back - 1
		if ref < 0 || len(out)+length > n {
			return nil, errLZF
		}
		for k := 0; k < length; k++ {
			out = append(out, out[ref+k])
		}
	}
	if len(out) != n {
		return nil, errLZF
	}
	return out, nil
}

// lzfTables recycles hash tables between calls. A table is never
// cleared: a stale entry is only a candidate that the byte comparison
// (and the ref < i check) rejects, so it can cost a match but never
// produce a wrong one.
var lzfTables = sync.Pool{New: func() any { return new([1 << 14]int32) }}

// lzfCompress compresses in, or returns nil when that would not save at
// least four bytes (Redis's rule for storing a string compressed).
func lzfCompress(in []byte) []byte {
	out, ok := lzfAppend(nil, in)
	if !ok {
		return nil
	}
	return out
}

// lzfAppend appends the LZF compression of in to dst. It reports false
// (dst then holds garbage past its old length) when that would not save
// at least four bytes. It is a simple greedy LZF encoder with a hash
// table of 3-byte prefixes.
//
// It appends rather than allocating, and uses as much of the hash table
// as the input needs (2^(bits of the length + 2) slots, at most 2^14): a
// 100-byte value touches 2 KiB of table instead of 64 KiB, which stays in
// the L1 cache. A full sync compresses every value this way
// (docs/performance.md, "Full sync").
func lzfAppend[T string | []byte](dst []byte, in T) ([]byte, bool) {
	if len(in) <= 4 {
		return dst, false
	}
	const (
		maxHbits = 14
		maxOff   = 1 << 13
		maxRef   = 264 // 2 + 7 + 255
		maxLit   = 32
	)
	hbits := min(bits.Len(uint(len(in)))+2, maxHbits)
	base := len(dst)
	limit := len(in) - 4
	out := dst
	tp := lzfTables.Get().(*[1 << maxHbits]int32)
	defer lzfTables.Put(tp)
	table := tp[:1<<hbits]
	lit := 0 // bytes of the pending literal run, which starts at i-lit
	i := 0
	for i < len(in) {
		if i+2 < len(in) {
			h := (uint32(in[i])<<16 | uint32(in[i+1])<<8 | uint32(in[i+2])) * 2654435761 >> (32 - hbits)
			ref := int(table[h])
			table[h] = int32(i)
			if ref >= 0 && ref < i && i-ref-1 < maxOff && in[ref] == in[i] && in[ref+1] == in[i+1] && in[ref+2] == in[i+2] {
				l := 3
				for l < maxRef && i+l < len(in) && in[ref+l] == in[i+l] {
					l++
				}
				out = lzfLiterals(out, in, i, lit, maxLit)
				lit = 0
				off := i - ref - 1
				enc := l - 2
				if enc < 7 {
					out = append(out, byte(enc<<5|off>>8))
				} else {
					out = append(out, byte(7<<5|off>>8), byte(enc-7))
				}
				out = append(out, byte(off))
				i += l
				if len(out)-base > limit {
					return out, false
				}
				continue
			}
		}
		lit++
		i++
		if len(out)-base+lit > limit {
			return out, false
		}
	}
	out = lzfLiterals(out, in, i, lit, maxLit)
	if len(out)-base > limit {
		return out, false
	}
	return out, true
}

// lzfLiterals appends the literal run of lit bytes ending before in[i],
// in runs of at most maxLit.
func lzfLiterals[T string | []byte](out []byte, in T, i, lit, maxLit int) []byte {
	for lit > 0 {
		k := min(lit, maxLit)
		start := i - lit
		out = append(out, byte(k-1))
		out = append(out, in[start:start+k]...)
		lit -= k
	}
	return out
}
