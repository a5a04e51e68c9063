package geo

import (
	"math"
	"strconv"
)

// AppendDistance appends d with exactly four decimals, the form of every
// distance in a reply: d is scaled by 10^4 and rounded half to even to an
// integer (a value that does not fit, or NaN, turns into the most negative
// 64-bit integer, as the conversion instruction Redis relies on returns).
func AppendDistance(dst []byte, d float64) []byte {
	if d == 0 {
		return append(dst, "0.0000"...)
	}
	scaled := math.RoundToEven(d * 10000)
	var v uint64
	neg := false
	if math.IsNaN(scaled) || scaled >= 9223372036854775808.0 || scaled < -9223372036854775808.0 {
		v, neg = 1<<63, true
	} else if n := int64(scaled); n < 0 {
		v, neg = uint64(-n), true
	} else {
		v = uint64(n)
	}
	if neg {
		dst = append(dst, '-')
	}
	dst = strconv.AppendUint(dst, v/10000, 10)
	frac := v % 10000
	dst = append(dst, '.', byte('0'+frac/1000), byte('0'+frac/100%10), byte('0'+frac/10%10), byte('0'+frac%10))
	return dst
}

// AppendCoord appends a coordinate as Redis prints positions: the exact
// value with 17 decimals, trailing zeros and a trailing point removed, and
// "-0" written as "0".
func AppendCoord(dst []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(dst, "inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-inf"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'f', 17, 64)
	end := len(dst)
	for end > start && dst[end-1] == '0' {
		end--
	}
	if end > start && dst[end-1] == '.' {
		end--
	}
	dst = dst[:end]
	if string(dst[start:]) == "-0" {
		dst = append(dst[:start], '0')
	}
	return dst
}

// SortPrefix sorts the first `prefix` positions of n elements so that
// they hold, in order, what a full sort would put there, comparing with
// cmp (negative, zero, positive) and moving elements only with swap.
//
// Elements that compare equal are left in a particular order, not the
// input order: that of Redis's partial quicksort (Bentley and McIlroy's
// three-way partitioning, recursing only into the parts that overlap the
// wanted prefix), so that ties come out as they do in Redis.
func SortPrefix(n, prefix int, cmp func(i, j int) int, swap func(i, j int)) {
	if n <= 1 || prefix <= 0 {
		return
	}
	partialQuicksort(0, n, 0, prefix-1, cmp, swap)
}

// partialQuicksort sorts what of [lo, lo+n) overlaps the wanted index
// range [want0, want1].
func partialQuicksort(lo, n, want0, want1 int, cmp func(i, j int) int, swap func(i, j int)) {
	for {
		if n < 7 {
			// Small parts: insertion sort by adjacent swaps.
			for m := lo + 1; m < lo+n; m++ {
				for l := m; l > lo && cmp(l-1, l) > 0; l-- {
					swap(l, l-1)
				}
			}
			return
		}
		mid := lo + n/2
		if n > 7 {
			first, last := lo, lo+n-1
			if n > 40 {
				d := n / 8
				first = median3(first, first+d, first+2*d, cmp)
				mid = median3(mid-d, mid, mid+d, cmp)
				last = median3(last-2*d, last-d, last, cmp)
			}
			mid = median3(first, mid, last, cmp)
		}
		// The pivot goes to lo. Elements equal to it collect at both ends
		// ([lo+1, a) and (d, end)), smaller ones after the left group,
		// larger ones before the right group.
		swap(lo, mid)
		a, b := lo+1, lo+1
		c, d := lo+n-1, lo+n-1
		for {
			for b <= c {
				r := cmp(b, lo)
				if r > 0 {
					break
				}
				if r == 0 {
					swap(a, b)
					a++
				}
				b++
			}
			for b <= c {
				r := cmp(c, lo)
				if r < 0 {
					break
				}
				if r == 0 {
					swap(c, d)
					d--
				}
				c--
			}
			if b > c {
				break
			}
			swap(b, c)
			b++
			c--
		}
		// Bring the equal groups to the middle.
		end := lo + n
		k := min(a-lo, b-a)
		swapBlocks(lo, b-k, k, swap)
		k = min(d-c, end-d-1)
		swapBlocks(b, end-k, k, swap)

		if k := b - a; k > 1 {
			if overlaps(lo, lo+k-1, want0, want1) {
				partialQuicksort(lo, k, want0, want1, cmp, swap)
			}
		}
		k = d - c
		if k <= 1 {
			return
		}
		lo, n = end-k, k
		if !overlaps(lo, lo+k-1, want0, want1) {
			return
		}
	}
}

func overlaps(a0, a1, b0, b1 int) bool { return !(b1 < a0 || b0 > a1) }

func median3(a, b, c int, cmp func(i, j int) int) int {
	if cmp(a, b) < 0 {
		if cmp(b, c) < 0 {
			return b
		}
		if cmp(a, c) < 0 {
			return c
		}
		return a
	}
	if cmp(b, c) > 0 {
		return b
	}
	if cmp(a, c) < 0 {
		return a
	}
	return c
}

// swapBlocks exchanges the k elements from i with the k from j, pairwise
// in order.
func swapBlocks(i, j, k int, swap func(i, j int)) {
	for x := 0; x < k; x++ {
		swap(i+x, j+x)
	}
}
