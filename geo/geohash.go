// Package geo is the arithmetic behind the GEO commands: the 52-bit
// interleaved geohash that a geo set keeps as each member's sorted-set
// score, the neighbour cells a search scans, great-circle distances and
// the text forms Redis replies with.
//
// Every result must be bit-for-bit what Redis 7.0 computes, because the
// scores are shared with Redis through DUMP/RESTORE, RDB files and
// replication, and replies are compared byte for byte. So the formulas
// keep Redis's order of operations, and products that are then added are
// wrapped in float64() conversions, which in Go forbid fusing them into
// one FMA instruction (Redis's build does not fuse either).
package geo

// The coordinate limits of a geo set: the Web Mercator square, which
// leaves out the polar caps.
const (
	LonMin = -180.0
	LonMax = 180.0
	LatMin = -85.05112878
	LatMax = 85.05112878
)

// StepMax is the precision of stored positions: 26 bits per axis, 52 in
// all, so that a score is an exactly representable float64 integer.
const StepMax = 26

// Hash is a geohash cell: Bits holds 2*Step interleaved bits, latitude in
// the even positions and longitude in the odd ones. A zero Hash (no bits,
// no step) means "no cell".
type Hash struct {
	Bits uint64
	Step uint8
}

// IsZero reports whether h is the "no cell" value.
func (h Hash) IsZero() bool { return h.Bits == 0 && h.Step == 0 }

// Range is an interval of one coordinate.
type Range struct{ Min, Max float64 }

// Area is a cell with the coordinates it covers.
type Area struct {
	Hash     Hash
	Lon, Lat Range
}

var (
	wgs84Lon = Range{LonMin, LonMax}
	wgs84Lat = Range{LatMin, LatMax}
	// The textual geohash standard divides the full latitude range.
	stdLat = Range{-90, 90}
)

// spread moves the low 32 bits of v to the even bit positions of the
// result.
func spread(v uint64) uint64 {
	v = (v | v<<16) & 0x0000FFFF0000FFFF
	v = (v | v<<8) & 0x00FF00FF00FF00FF
	v = (v | v<<4) & 0x0F0F0F0F0F0F0F0F
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}

// gather is the inverse of spread: the even bits of v, packed into the
// low 32 bits.
func gather(v uint64) uint64 {
	v &= 0x5555555555555555
	v = (v | v>>1) & 0x3333333333333333
	v = (v | v>>2) & 0x0F0F0F0F0F0F0F0F
	v = (v | v>>4) & 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	v = (v | v>>16) & 0x00000000FFFFFFFF
	return v
}

// interleave puts even's bits at the even positions and odd's at the odd
// ones.
func interleave(even, odd uint32) uint64 {
	return spread(uint64(even)) | spread(uint64(odd))<<1
}

// split undoes interleave.
func split(v uint64) (even, odd uint32) {
	return uint32(gather(v)), uint32(gather(v >> 1))
}

// encode places lon,lat in a cell of step bits per axis over the given
// ranges. ok is false when the point is outside the ranges or outside the
// geo limits (which are checked whatever the ranges). A point on the
// upper edge of a range gets the offset 2^step, one past the last cell, as
// in Redis: its bits then reach past 2*step.
func encode(lonR, latR Range, lon, lat float64, step uint8) (Hash, bool) {
	if step == 0 || step > 32 {
		return Hash{}, false
	}
	if lon > LonMax || lon < LonMin || lat > LatMax || lat < LatMin {
		return Hash{}, false
	}
	if lat < latR.Min || lat > latR.Max || lon < lonR.Min || lon > lonR.Max {
		return Hash{Step: step}, false
	}
	latOff := (lat - latR.Min) / (latR.Max - latR.Min)
	lonOff := (lon - lonR.Min) / (lonR.Max - lonR.Min)
	scale := float64(uint64(1) << step)
	latOff *= scale
	lonOff *= scale
	// Truncation toward zero, as C converts a double to an unsigned int.
	return Hash{Bits: interleave(uint32(latOff), uint32(lonOff)), Step: step}, true
}

// Encode returns the 26-step cell of a point in the geo limits.
func Encode(lon, lat float64) (Hash, bool) {
	return encode(wgs84Lon, wgs84Lat, lon, lat, StepMax)
}

// Score is the sorted-set score of a point (its 26-step cell aligned to
// 52 bits). ok is false outside the geo limits.
func Score(lon, lat float64) (uint64, bool) {
	h, ok := Encode(lon, lat)
	if !ok {
		return 0, false
	}
	return Align52(h), true
}

// Align52 shifts a cell's bits to the 52-bit score scale.
func Align52(h Hash) uint64 { return h.Bits << (52 - 2*uint(h.Step)) }

// ScoreRange is the interval [min, max) of scores of the points inside
// cell h.
func ScoreRange(h Hash) (min, max uint64) {
	min = Align52(h)
	h.Bits++
	return min, Align52(h)
}

// decode returns the area a cell covers over the given ranges.
func decode(lonR, latR Range, h Hash) (Area, bool) {
	if h.IsZero() {
		return Area{}, false
	}
	latBits, lonBits := split(h.Bits)
	latScale := latR.Max - latR.Min
	lonScale := lonR.Max - lonR.Min
	cells := float64(uint64(1) << h.Step)
	// The +1 wraps in 32 bits, as the unsigned arithmetic Redis uses.
	a := Area{Hash: h}
	a.Lat.Min = latR.Min + float64(float64(latBits)/cells*latScale)
	a.Lat.Max = latR.Min + float64(float64(latBits+1)/cells*latScale)
	a.Lon.Min = lonR.Min + float64(float64(lonBits)/cells*lonScale)
	a.Lon.Max = lonR.Min + float64(float64(lonBits+1)/cells*lonScale)
	return a, true
}

// Decode returns the area of a cell in the geo limits.
func Decode(h Hash) (Area, bool) { return decode(wgs84Lon, wgs84Lat, h) }

// Center is the middle of an area, clamped to the geo limits.
func (a Area) Center() (lon, lat float64) {
	lon = (a.Lon.Min + a.Lon.Max) / 2
	lon = clamp(lon, LonMin, LonMax)
	lat = (a.Lat.Min + a.Lat.Max) / 2
	lat = clamp(lat, LatMin, LatMax)
	return lon, lat
}

func clamp(v, lo, hi float64) float64 {
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return v
}

// ScoreBits converts a score to the 64-bit integer Redis decodes, the way
// an x86-64 build converts a double to uint64_t: values from 2^63 go
// through a subtraction, and anything the hardware cannot represent (NaN,
// -Inf, below -2^63) becomes 1<<63, while +Inf and values from 2^64 come
// out as 0. Only scores written by ZADD rather than GEOADD get there.
func ScoreBits(score float64) uint64 {
	const two63 = 9223372036854775808.0
	if !(score >= two63) { // NaN lands here, as in the compiled comparison
		if score > -two63 && score < two63 {
			return uint64(int64(score))
		}
		return 1 << 63
	}
	d := score - two63
	if d < two63 {
		return uint64(int64(d)) ^ 1<<63
	}
	return 0
}

// DecodeScore returns the position a score stands for: the center of its
// 26-step cell.
func DecodeScore(score float64) (lon, lat float64) {
	a, _ := Decode(Hash{Bits: ScoreBits(score), Step: StepMax})
	return a.Center()
}

// Neighbours are the eight cells around one, in the order a search scans
// them after the cell itself.
type Neighbours struct {
	North, South, East, West                   Hash
	NorthEast, NorthWest, SouthEast, SouthWest Hash
}

const (
	evenMask = 0x5555555555555555 // latitude bits
	oddMask  = 0xAAAAAAAAAAAAAAAA // longitude bits
)

// moveLon steps a cell one column east (d > 0) or west (d < 0), wrapping
// around the antimeridian. The longitude bits are incremented or
// decremented as one number by filling the gaps between them with ones
// (so a carry crosses them) or keeping them clear.
func moveLon(h Hash, d int) Hash {
	if d == 0 {
		return h
	}
	lon := h.Bits & oddMask
	lat := h.Bits & evenMask
	gaps := uint64(evenMask) >> (64 - 2*uint(h.Step))
	if d > 0 {
		lon += gaps + 1
	} else {
		lon = (lon | gaps) - (gaps + 1)
	}
	lon &= uint64(oddMask) >> (64 - 2*uint(h.Step))
	h.Bits = lon | lat
	return h
}

// moveLat steps a cell one row north (d > 0) or south (d < 0), with the
// same wrapping arithmetic as moveLon.
func moveLat(h Hash, d int) Hash {
	if d == 0 {
		return h
	}
	lon := h.Bits & oddMask
	lat := h.Bits & evenMask
	gaps := uint64(oddMask) >> (64 - 2*uint(h.Step))
	if d > 0 {
		lat += gaps + 1
	} else {
		lat = (lat | gaps) - (gaps + 1)
	}
	lat &= uint64(evenMask) >> (64 - 2*uint(h.Step))
	h.Bits = lon | lat
	return h
}

// NeighboursOf returns the eight cells around h.
func NeighboursOf(h Hash) Neighbours {
	return Neighbours{
		North:     moveLat(h, 1),
		South:     moveLat(h, -1),
		East:      moveLon(h, 1),
		West:      moveLon(h, -1),
		NorthEast: moveLat(moveLon(h, 1), 1),
		NorthWest: moveLat(moveLon(h, -1), 1),
		SouthEast: moveLat(moveLon(h, 1), -1),
		SouthWest: moveLat(moveLon(h, -1), -1),
	}
}

const base32 = "0123456789bcdefghjkmnpqrstuvwxyz"

// HashString is the 11-character standard geohash of a point: the point
// re-encoded over the full latitude range -90..90 (Redis stores cells of
// -85..85), 52 bits in ten characters and a final '0'.
func HashString(lon, lat float64) string {
	h, _ := encode(wgs84Lon, stdLat, lon, lat, StepMax)
	var buf [11]byte
	for i := 0; i < 10; i++ {
		buf[i] = base32[(h.Bits>>(52-uint(i+1)*5))&0x1f]
	}
	buf[10] = base32[0]
	return string(buf[:])
}
