package geo

import (
	"math"
	"math/rand"
	"sort"
	"testing"
)

// Scores, positions and geohashes below were read from redis-server
// 7.0.15 after GEOADD of the same coordinates.
var known = []struct {
	name     string
	lon, lat float64
	score    uint64
	posLon   string
	posLat   string
	hash     string
}{
	{"Palermo", 13.361389, 38.115556, 3479099956230698, "13.36138933897018433", "38.11555639549629859", "sqc8b49rny0"},
	{"Catania", 15.087269, 37.502669, 3479447370796909, "15.08726745843887329", "37.50266842333162032", "sqdtr74hyu0"},
	// The upper corner: offsets of exactly 2^26 reach past 52 bits.
	{"ne", 180, 85.05112878, 13510798882111488, "180", "85.0511287799999991", "bp05b5048p0"},
	{"sw", -180, -85.05112878, 0, "-179.99999731779098511", "-85.05112751263942528", "00bh0hbj200"},
	{"zero", 0, 0, 3377699720527872, "0.00000268220901489", "0.00000126736058093", "s0000000000"},
	{"tiny", -0.0001, 0.0001, 1876499844738231, "-0.00009924173355103", "0.00010012148579364", "ebpbpbpbtd0"},
	{"pole", 179.9999, -85, 3002400025540839, "179.99990075826644897", "-84.99999965213439168", "pbzurypzje0"},
}

func TestKnownPoints(t *testing.T) {
	for _, k := range known {
		s, ok := Score(k.lon, k.lat)
		if !ok || s != k.score {
			t.Errorf("%s: Score = %d, %v; want %d", k.name, s, ok, k.score)
		}
		lon, lat := DecodeScore(float64(k.score))
		if got := string(AppendCoord(nil, lon)); got != k.posLon {
			t.Errorf("%s: longitude %s, want %s", k.name, got, k.posLon)
		}
		if got := string(AppendCoord(nil, lat)); got != k.posLat {
			t.Errorf("%s: latitude %s, want %s", k.name, got, k.posLat)
		}
		if got := HashString(lon, lat); got != k.hash {
			t.Errorf("%s: geohash %s, want %s", k.name, got, k.hash)
		}
	}
}

func TestOutOfRange(t *testing.T) {
	for _, p := range [][2]float64{{180.0000001, 0}, {-180.0000001, 0}, {0, 85.05112879}, {0, -85.05112879}, {math.Inf(1), 0}, {0, math.NaN()}} {
		if _, ok := Score(p[0], p[1]); ok && !math.IsNaN(p[1]) {
			t.Errorf("Score(%v, %v) accepted", p[0], p[1])
		}
	}
}

func TestDistance(t *testing.T) {
	// GEODIST Palermo Catania: 166274.1516 m; ne to sw: 18919.8446 km.
	cases := []struct {
		a, b int
		unit float64
		want string
	}{
		{0, 1, 1, "166274.1516"},
		{2, 3, 1000, "18919.8446"},
	}
	for _, c := range cases {
		lon1, lat1 := DecodeScore(float64(known[c.a].score))
		lon2, lat2 := DecodeScore(float64(known[c.b].score))
		got := string(AppendDistance(nil, Distance(lon1, lat1, lon2, lat2)/c.unit))
		if got != c.want {
			t.Errorf("distance %s-%s = %s, want %s", known[c.a].name, known[c.b].name, got, c.want)
		}
	}
}

func TestAppendDistance(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0.0000"}, {math.Copysign(0, -1), "0.0000"}, {0.0001, "0.0001"},
		{6.0642951598391699e-05, "0.0001"}, {0.00005, "0.0000"}, {0.00015, "0.0001"}, {0.00025, "0.0002"},
		{1.5, "1.5000"}, {12345.67891, "12345.6789"}, {-2.5, "-2.5000"},
		{math.NaN(), "-922337203685477.5808"}, {1e300, "-922337203685477.5808"},
	} {
		if got := string(AppendDistance(nil, c.v)); got != c.want {
			t.Errorf("AppendDistance(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestAppendCoord(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {math.Copysign(0, -1), "0"}, {-1e-20, "0"}, {1.5, "1.5"}, {-180, "-180"},
		{0.1, "0.10000000000000001"}, {math.Inf(-1), "-inf"},
	} {
		if got := string(AppendCoord(nil, c.v)); got != c.want {
			t.Errorf("AppendCoord(%v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestScoreBits(t *testing.T) {
	for _, c := range []struct {
		s    float64
		want uint64
	}{
		{5, 5}, {-1, math.MaxUint64}, {-5.5, math.MaxUint64 - 4}, {math.Inf(1), 0},
		{math.Inf(-1), 1 << 63}, {1e19, 10000000000000000000}, {1e20, 0}, {-1e19, 1 << 63},
	} {
		if got := ScoreBits(c.s); got != c.want {
			t.Errorf("ScoreBits(%v) = %d, want %d", c.s, got, c.want)
		}
	}
}

func TestInterleaveRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 1000; i++ {
		a, b := r.Uint32(), r.Uint32()
		x, y := split(interleave(a, b))
		if x != a || y != b {
			t.Fatalf("split(interleave(%x, %x)) = %x, %x", a, b, x, y)
		}
	}
}

func TestNeighboursWrap(t *testing.T) {
	h, _ := encode(wgs84Lon, wgs84Lat, 179.99, 0, 4)
	e := NeighboursOf(h).East
	a, _ := Decode(e)
	if a.Lon.Min != -180 {
		t.Errorf("east of the antimeridian cell starts at %v, want -180", a.Lon.Min)
	}
	// Moving east then west returns to the cell.
	for _, step := range []uint8{1, 5, 26} {
		h, _ := encode(wgs84Lon, wgs84Lat, 10, 20, step)
		if back := NeighboursOf(NeighboursOf(h).East).West; back != h {
			t.Errorf("step %d: east then west = %+v, want %+v", step, back, h)
		}
		if back := NeighboursOf(NeighboursOf(h).North).South; back != h {
			t.Errorf("step %d: north then south = %+v, want %+v", step, back, h)
		}
	}
}

func TestEstimateSteps(t *testing.T) {
	for _, c := range []struct {
		m, lat float64
		want   uint8
	}{
		{0, 0, 26}, {1, 0, 24}, {1000, 0, 14}, {1000, 70, 13}, {1000, -85, 12},
		{5e6, 0, 2}, {2e7, 0, 1}, {math.Inf(1), 0, 1},
	} {
		if got := EstimateSteps(c.m, c.lat); got != c.want {
			t.Errorf("EstimateSteps(%v, %v) = %d, want %d", c.m, c.lat, got, c.want)
		}
	}
}

// TestCellsCoverRadius checks, on random searches, that every point of a
// set inside the shape lies in one of the cells scanned.
func TestCellsCoverRadius(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for i := 0; i < 300; i++ {
		s := Shape{Lon: -180 + 360*r.Float64(), Lat: -70 + 140*r.Float64(), Conversion: 1000, Radius: 1 + r.Float64()*500}
		if i%2 == 1 {
			s.Box, s.Width, s.Height = true, 1+r.Float64()*500, 1+r.Float64()*500
		}
		cells := s.Cells()
		for j := 0; j < 200; j++ {
			lon, lat := s.Lon+(r.Float64()-0.5)*10, s.Lat+(r.Float64()-0.5)*10
			sc, ok := Score(lon, lat)
			if !ok {
				continue
			}
			plon, plat := DecodeScore(float64(sc))
			if _, in := s.Contains(plon, plat); !in {
				continue
			}
			found := false
			for _, c := range cells {
				if c.IsZero() {
					continue
				}
				min, max := ScoreRange(c)
				if sc >= min && sc < max {
					found = true
				}
			}
			if !found {
				t.Fatalf("shape %+v: point %v,%v inside but in no scanned cell", s, plon, plat)
			}
		}
	}
}

func TestSortPrefix(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 500; i++ {
		n := r.Intn(120)
		v := make([]int, n)
		for j := range v {
			v[j] = r.Intn(20)
		}
		want := append([]int(nil), v...)
		sort.Ints(want)
		prefix := r.Intn(n + 1)
		SortPrefix(n, prefix, func(a, b int) int { return v[a] - v[b] }, func(a, b int) { v[a], v[b] = v[b], v[a] })
		for j := 0; j < prefix; j++ {
			if v[j] != want[j] {
				t.Fatalf("n=%d prefix=%d: position %d holds %d, want %d", n, prefix, j, v[j], want[j])
			}
		}
	}
}

// TestDistanceFullPrecision checks distances to the last bit, as
// GEORADIUS ... STOREDIST stores them (redis-server 7.0.15 on glibc:
// ZRANGE WITHSCORES of the stored set). Only a build using the C
// library's trigonometry can match.
func TestDistanceFullPrecision(t *testing.T) {
	if !LibmExact {
		t.Skip("built without cgo: Go's trigonometry may differ in the last bit")
	}
	for _, c := range []struct {
		k    int
		want float64
	}{{0, 190.44242984775784}, {1, 56.441257870158204}} {
		lon, lat := DecodeScore(float64(known[c.k].score))
		if got := Distance(15, 37, lon, lat) / 1000; got != c.want {
			t.Errorf("distance from 15,37 to %s = %.17g km, want %.17g", known[c.k].name, got, c.want)
		}
	}
}

func BenchmarkDistance(b *testing.B) {
	lon, lat := 13.361389, 38.115556
	var sink float64
	for i := 0; i < b.N; i++ {
		sink += Distance(15, 37, lon+float64(i&7)*0.01, lat)
	}
	_ = sink
}
