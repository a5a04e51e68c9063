//go:build cgo

package geo

// Distances are computed with the C library's sin, cos and asin, the
// functions redis-server calls: Go's math package rounds differently in
// the last bit for a good share of inputs, and STOREDIST keeps distances
// at full precision, where one bit shows. With the same libm as Redis the
// stored distances are identical.

/*
#cgo LDFLAGS: -lm
#include <math.h>
*/
import "C"

// LibmExact reports whether the trigonometry is the C library's (builds
// with cgo) rather than Go's approximation of it.
const LibmExact = true

func sin(x float64) float64  { return float64(C.sin(C.double(x))) }
func cos(x float64) float64  { return float64(C.cos(C.double(x))) }
func asin(x float64) float64 { return float64(C.asin(C.double(x))) }
