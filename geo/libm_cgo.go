//go:build cgo

package geo

// Distances are computed with the C library's sin, cos and asin, the
// functions redis-server calls: Go's math package rounds differently in
// the last bit for a good share of inputs, and STOREDIST keeps distances
// at full precision, where one bit shows. With the same libm as Redis the
// stored distances are identical. The four sines and cosines of one
// distance are taken in one call, as a cgo call costs more than they do.

/*
#cgo LDFLAGS: -lm
#include <math.h>

typedef struct { double v, u, c1, c2; } skiff_geo_terms;

static skiff_geo_terms skiff_geo_trig(double dlon, double dlat, double lat1, double lat2) {
	skiff_geo_terms t;
	t.v = sin(dlon);
	t.u = sin(dlat);
	t.c1 = cos(lat1);
	t.c2 = cos(lat2);
	return t;
}
*/
import "C"

// LibmExact reports whether the trigonometry is the C library's (builds
// with cgo) rather than Go's approximation of it.
const LibmExact = true

func cos(x float64) float64  { return float64(C.cos(C.double(x))) }
func asin(x float64) float64 { return float64(C.asin(C.double(x))) }

// haversineTerms returns sin(dlon), sin(dlat), cos(lat1), cos(lat2).
func haversineTerms(dlon, dlat, lat1, lat2 float64) (v, u, c1, c2 float64) {
	t := C.skiff_geo_trig(C.double(dlon), C.double(dlat), C.double(lat1), C.double(lat2))
	return float64(t.v), float64(t.u), float64(t.c1), float64(t.c2)
}
