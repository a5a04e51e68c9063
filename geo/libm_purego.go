//go:build !cgo

package geo

import "math"

// Without cgo the trigonometry is Go's: results can differ from Redis's
// (the C library's) in the last bit, which shows only in STOREDIST scores
// and, very rarely, in a fourth decimal.

// LibmExact reports whether the trigonometry is the C library's (builds
// with cgo) rather than Go's approximation of it.
const LibmExact = false

func cos(x float64) float64  { return math.Cos(x) }
func asin(x float64) float64 { return math.Asin(x) }

// haversineTerms returns sin(dlon), sin(dlat), cos(lat1), cos(lat2).
func haversineTerms(dlon, dlat, lat1, lat2 float64) (v, u, c1, c2 float64) {
	return math.Sin(dlon), math.Sin(dlat), math.Cos(lat1), math.Cos(lat2)
}
