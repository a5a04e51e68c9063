package geo

import (
	"math"
	"strconv"

	"github.com/skiffdb/skiff/internal/pqsort"
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
// they hold, in order, what a full sort would put there, with Redis's
// order for ties (internal/pqsort).
func SortPrefix(n, prefix int, cmp func(i, j int) int, swap func(i, j int)) {
	if n <= 1 || prefix <= 0 {
		return
	}
	pqsort.Range(n, 0, prefix-1, cmp, swap)
}
