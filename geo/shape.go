package geo

import "math"

// EarthRadius is the radius, in meters, that Redis's distances use (the
// quadratic mean radius of WGS-84).
const EarthRadius = 6372797.560856

// mercatorMax is half the circumference of the Web Mercator square, the
// largest radius a one-bit cell needs to cover.
const mercatorMax = 20037726.37

// Degrees to radians as Redis's build computes it: pi rounded to a double
// first, then divided. Computed at run time so that the constant is not
// folded with exact arithmetic into a value one ulp away.
var (
	piDouble         = math.Pi
	degToRad float64 = piDouble / 180.0
)

func rad(deg float64) float64 { return deg * degToRad }
func deg(r float64) float64   { return r / degToRad }

// LatDistance is the distance in meters between two latitudes on one
// meridian.
func LatDistance(lat1, lat2 float64) float64 {
	return EarthRadius * math.Abs(rad(lat2)-rad(lat1))
}

// Distance is the haversine great-circle distance in meters between two
// points given in degrees. On one meridian it falls back to the exact
// latitude difference, as Redis does.
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	lon1r := rad(lon1)
	lon2r := rad(lon2)
	lat1r := rad(lat1)
	lat2r := rad(lat2)
	v, u, c1, c2 := haversineTerms((lon2r-lon1r)/2, (lat2r-lat1r)/2, lat1r, lat2r)
	if v == 0 {
		return LatDistance(lat1, lat2)
	}
	a := float64(u*u) + float64(c1*c2*v*v)
	return 2.0 * EarthRadius * asin(math.Sqrt(a))
}

// EstimateSteps picks the cell precision whose cells are about as large
// as a search of radius meters around latitude lat needs: each bit halves
// a cell, and cells get narrower towards the poles.
func EstimateSteps(meters, lat float64) uint8 {
	if meters == 0 {
		return StepMax
	}
	step := 1
	// Bounded: doubling reaches mercatorMax within ~1100 rounds for any
	// positive double, and NaN or Inf fail the test at once.
	for meters < mercatorMax {
		meters *= 2
		step++
	}
	step -= 2 // leave margin so the radius fits in most cases
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	if step < 1 {
		step = 1
	}
	if step > StepMax {
		step = StepMax
	}
	return uint8(step)
}

// Shape is a search area: a circle of Radius or a Width x Height box
// around Lon,Lat, with the sizes in a unit of Conversion meters.
type Shape struct {
	Box           bool
	Lon, Lat      float64
	Conversion    float64
	Radius        float64
	Width, Height float64
}

// Bounds is a box of longitudes and latitudes.
type Bounds struct {
	MinLon, MinLat, MaxLon, MaxLat float64
}

// BoundingBox returns the longitudes and latitudes that enclose the
// shape. Its east and west edges are taken on the parallel nearer to the
// pole, where a distance spans more degrees of longitude.
func (s *Shape) BoundingBox() Bounds {
	var height, width float64
	if s.Box {
		height = s.Conversion * (s.Height / 2)
		width = s.Conversion * (s.Width / 2)
	} else {
		height = s.Conversion * s.Radius
		width = s.Conversion * s.Radius
	}
	latDelta := deg(height / EarthRadius)
	lonDeltaTop := deg(width / EarthRadius / cos(rad(s.Lat+latDelta)))
	lonDeltaBottom := deg(width / EarthRadius / cos(rad(s.Lat-latDelta)))
	b := Bounds{MinLat: s.Lat - latDelta, MaxLat: s.Lat + latDelta}
	if s.Lat < 0 {
		b.MinLon, b.MaxLon = s.Lon-lonDeltaBottom, s.Lon+lonDeltaBottom
	} else {
		b.MinLon, b.MaxLon = s.Lon-lonDeltaTop, s.Lon+lonDeltaTop
	}
	return b
}

// Cells returns the cells a search of the shape scans, in scan order: the
// cell of the center, then north, south, east, west, north-east,
// north-west, south-east and south-west. Cells that cannot hold a match
// are zero Hashes.
func (s *Shape) Cells() [9]Hash {
	b := s.BoundingBox()
	meters := s.Radius
	if s.Box {
		meters = math.Sqrt(float64((s.Width/2)*(s.Width/2)) + float64((s.Height/2)*(s.Height/2)))
	}
	meters *= s.Conversion
	steps := EstimateSteps(meters, s.Lat)

	h, _ := encode(wgs84Lon, wgs84Lat, s.Lon, s.Lat, steps)
	nb := NeighboursOf(h)
	area, _ := decode(wgs84Lon, wgs84Lat, h)

	// Near a cell edge the estimated cells can be too small for the box
	// to fit within the center and its neighbours: go one level coarser.
	north, _ := decode(wgs84Lon, wgs84Lat, nb.North)
	south, _ := decode(wgs84Lon, wgs84Lat, nb.South)
	east, _ := decode(wgs84Lon, wgs84Lat, nb.East)
	west, _ := decode(wgs84Lon, wgs84Lat, nb.West)
	tooSmall := north.Lat.Max < b.MaxLat || south.Lat.Min > b.MinLat ||
		east.Lon.Max < b.MaxLon || west.Lon.Min > b.MinLon
	if steps > 1 && tooSmall {
		steps--
		h, _ = encode(wgs84Lon, wgs84Lat, s.Lon, s.Lat, steps)
		nb = NeighboursOf(h)
		area, _ = decode(wgs84Lon, wgs84Lat, h)
	}

	// Drop the neighbours on the sides the box does not reach.
	if steps >= 2 {
		if area.Lat.Min < b.MinLat {
			nb.South, nb.SouthWest, nb.SouthEast = Hash{}, Hash{}, Hash{}
		}
		if area.Lat.Max > b.MaxLat {
			nb.North, nb.NorthEast, nb.NorthWest = Hash{}, Hash{}, Hash{}
		}
		if area.Lon.Min < b.MinLon {
			nb.West, nb.SouthWest, nb.NorthWest = Hash{}, Hash{}, Hash{}
		}
		if area.Lon.Max > b.MaxLon {
			nb.East, nb.SouthEast, nb.NorthEast = Hash{}, Hash{}, Hash{}
		}
	}
	return [9]Hash{h, nb.North, nb.South, nb.East, nb.West, nb.NorthEast, nb.NorthWest, nb.SouthEast, nb.SouthWest}
}

// Contains reports whether the point lon,lat is inside the shape, and its
// distance in meters from the shape's center. A point whose distance is
// NaN counts as inside, as in Redis (only "greater than" excludes).
func (s *Shape) Contains(lon, lat float64) (dist float64, ok bool) {
	if !s.Box {
		dist = Distance(s.Lon, s.Lat, lon, lat)
		return dist, !(dist > s.Radius*s.Conversion)
	}
	width := s.Width * s.Conversion
	height := s.Height * s.Conversion
	// The cheaper latitude test first.
	if LatDistance(lat, s.Lat) > height/2 {
		return 0, false
	}
	if Distance(lon, lat, s.Lon, lat) > width/2 {
		return 0, false
	}
	return Distance(s.Lon, s.Lat, lon, lat), true
}
