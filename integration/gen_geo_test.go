package integration

// The GEO commands against redis-server: generators for the "geo" area of
// TestDifferential, and TestGeoDifferential, which runs hand-picked edge
// cases (in RESP2 and RESP3) and then that area alone.
//
// Points cluster around a few centers (the equator, the antimeridian, the
// poles' limits, Sicily) so that searches find something; some members
// share exact positions so that ties in distance show the order Redis
// leaves them in, and stored sets are read back with ZRANGE WITHSCORES so
// STORE and STOREDIST scores compare at full precision.
//
// Run: go build -o /tmp/geodev/skiff ./cmd/skiff &&
//      SKIFF_BIN=/tmp/geodev/skiff go test -count=1 -run TestGeoDifferential ./integration/

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	geoKeys    = []string{"geo:{a}", "geo:{a}2", "geo:{a}big", "geo:{a}dup"}
	geoDsts    = []string{"geo:{a}dst", "geo:{a}dst2"}
	geoCenters = [][2]float64{
		{0, 0}, {13.361389, 38.115556}, {179.99, 0.5}, {-179.99, -0.5}, {180, 85.05112878},
		{-180, -85.05112878}, {45, 84.9}, {-120, -84.9}, {100, 66.5}, {-100, -80.5},
	}
	geoUnits = []string{"m", "km", "ft", "mi", "KM", "Mi", "km", "km", "km"}
)

func geoKey(r *rand.Rand, k *Keys) string {
	switch r.Intn(16) {
	case 0:
		return k.Key(r) // maybe another type: WRONGTYPE
	case 1:
		return geoDsts[r.Intn(len(geoDsts))]
	case 2:
		return "geo:{a}missing"
	}
	return geoKeys[r.Intn(len(geoKeys))]
}

// geoMemberOf picks a member likely to be in key (the big set has its own
// names).
func geoMemberOf(r *rand.Rand, key string) string {
	if strings.HasSuffix(key, "big") && r.Intn(5) > 0 {
		return "b" + strconv.Itoa(r.Intn(400))
	}
	return geoMember(r)
}

func geoMember(r *rand.Rand) string {
	if r.Intn(30) == 0 {
		return "nosuch"
	}
	if r.Intn(4) == 0 {
		return "m" + strconv.Itoa(r.Intn(40))
	}
	return "m" + strconv.Itoa(r.Intn(12)) // dense: searches around members find them
}

// geoNum formats a number in one of the ways clients send them.
func geoNum(r *rand.Rand, v float64) string {
	switch r.Intn(4) {
	case 0:
		return strconv.FormatFloat(v, 'f', r.Intn(8), 64)
	case 1:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// geoPoint returns a longitude and a latitude argument: mostly near a
// center, clamped into the valid range; sometimes anywhere, sometimes
// invalid.
func geoPoint(r *rand.Rand) (string, string) {
	switch r.Intn(40) {
	case 0:
		return []string{"180.0000001", "-181", "nan", "inf", "x", " 1", "0x10", "1e-400"}[r.Intn(8)], "0"
	case 1:
		return "0", []string{"85.05112879", "-85.0511288", "90", "-inf", ""}[r.Intn(5)]
	case 2:
		return geoNum(r, -180+360*r.Float64()), geoNum(r, -85+170*r.Float64())
	}
	return geoValidPoint(r)
}

// geoValidPoint returns a point near one of the centers, inside the
// limits.
func geoValidPoint(r *rand.Rand) (string, string) {
	c := geoCenters[r.Intn(len(geoCenters))]
	spread := []float64{0, 0.0001, 0.01, 0.5, 3}[r.Intn(5)]
	lon := c[0] + (r.Float64()*2-1)*spread
	lat := c[1] + (r.Float64()*2-1)*spread
	lon = min(max(lon, -180), 180)
	lat = min(max(lat, -85.05112878), 85.05112878)
	if lon == 180 || lon == -180 || lat == 85.05112878 || lat == -85.05112878 {
		return strconv.FormatFloat(lon, 'f', -1, 64), strconv.FormatFloat(lat, 'f', -1, 64)
	}
	return geoNum(r, lon), geoNum(r, lat)
}

// geoUnit is a distance unit, rarely an unknown one.
func geoUnit(r *rand.Rand) string {
	if r.Intn(30) == 0 {
		return "parsec"
	}
	return geoUnits[r.Intn(len(geoUnits))]
}

// geoSize is a radius, width or height, rarely a bad one.
func geoSize(r *rand.Rand) string {
	if r.Intn(30) == 0 {
		return []string{"-1", "x", ""}[r.Intn(3)]
	}
	return []string{"0", "1", "10", "100", "200", "500", "1000", "5000", "20000", "40000", "1e9", "0.5", "inf"}[r.Intn(13)]
}

func geoRadiusArgs(r *rand.Rand) []string { return []string{geoSize(r), geoUnit(r)} }

func geoBoxArgs(r *rand.Rand) []string { return []string{geoSize(r), geoSize(r), geoUnit(r)} }

// geoOptions adds a random selection of the reply and order options.
func geoOptions(r *rand.Rand, argv []string, withs bool) []string {
	opts := []string{"ASC", "DESC", "asc"}
	if withs {
		opts = append(opts, "WITHDIST", "WITHHASH", "WITHCOORD", "withdist")
	}
	for n := r.Intn(4); n > 0; n-- {
		argv = append(argv, opts[r.Intn(len(opts))])
	}
	switch r.Intn(5) {
	case 0:
		argv = append(argv, "COUNT", []string{"1", "2", "3", "5", "100", "1", "2", "3", "5", "0", "-1", "x"}[r.Intn(12)])
	case 1:
		argv = append(argv, "COUNT", []string{"1", "2", "4"}[r.Intn(3)], "ANY")
	case 2:
		if r.Intn(4) == 0 {
			argv = append(argv, "ANY")
		}
	}
	if r.Intn(25) == 0 {
		argv = append(argv, "bogus")
	}
	return argv
}

func init() {
	a := "geo"
	registerGen(a, "geoadd", 20, func(r *rand.Rand, k *Keys) []string {
		argv := []string{"GEOADD", geoKey(r, k)}
		for _, o := range []string{"NX", "XX", "CH", "GT"} {
			if r.Intn(10) == 0 && (o != "GT" || r.Intn(4) == 0) {
				argv = append(argv, o)
			}
		}
		for n := 1 + r.Intn(4); n > 0; n-- {
			lon, lat := geoPoint(r)
			argv = append(argv, lon, lat, geoMember(r))
		}
		if r.Intn(30) == 0 {
			argv = append(argv, "dangling")
		}
		return argv
	})
	registerGen(a, "geoadd-same-place", 4, func(r *rand.Rand, k *Keys) []string {
		// Several members at one position: equal distances.
		lon, lat := geoPoint(r)
		argv := []string{"GEOADD", "geo:{a}dup"}
		for n := 2 + r.Intn(8); n > 0; n-- {
			argv = append(argv, lon, lat, geoMember(r))
		}
		return argv
	})
	registerGen(a, "geoadd-big", 1, func(r *rand.Rand, k *Keys) []string {
		// Past zset-max-listpack-entries: a skiplist.
		argv := []string{"GEOADD", "geo:{a}big"}
		for i := 0; i < 150; i++ {
			lon, lat := geoValidPoint(r)
			argv = append(argv, lon, lat, "b"+strconv.Itoa(r.Intn(400)))
		}
		return argv
	})
	registerGen(a, "zadd-odd-score", 2, func(r *rand.Rand, k *Keys) []string {
		// Scores no GEOADD writes: what GEOPOS and searches decode.
		s := []string{"-1", "-5.5", "1e20", "inf", "-inf", "4503599627370496", "13510798882111488", "9.3e18", "0.5", "-9.3e18"}[r.Intn(10)]
		return []string{"ZADD", geoKeys[r.Intn(2)], s, geoMember(r)}
	})
	registerGen(a, "geopos", 6, func(r *rand.Rand, k *Keys) []string {
		key := geoKey(r, k)
		argv := []string{"GEOPOS", key}
		for n := r.Intn(4); n > 0; n-- {
			argv = append(argv, geoMemberOf(r, key))
		}
		return argv
	})
	registerGen(a, "geohash", 5, func(r *rand.Rand, k *Keys) []string {
		key := geoKey(r, k)
		argv := []string{"GEOHASH", key}
		for n := r.Intn(4); n > 0; n-- {
			argv = append(argv, geoMemberOf(r, key))
		}
		return argv
	})
	registerGen(a, "geodist", 6, func(r *rand.Rand, k *Keys) []string {
		key := geoKey(r, k)
		argv := []string{"GEODIST", key, geoMemberOf(r, key), geoMemberOf(r, key)}
		if r.Intn(2) == 0 {
			argv = append(argv, geoUnits[r.Intn(len(geoUnits))])
		}
		if r.Intn(20) == 0 {
			argv = append(argv, "extra")
		}
		return argv
	})
	registerGen(a, "georadius", 10, func(r *rand.Rand, k *Keys) []string {
		name := []string{"GEORADIUS", "GEORADIUS_RO"}[r.Intn(2)]
		lon, lat := geoPoint(r)
		argv := append([]string{name, geoKey(r, k), lon, lat}, geoRadiusArgs(r)...)
		store := name == "GEORADIUS" && r.Intn(3) == 0
		argv = geoOptions(r, argv, !store || r.Intn(10) == 0)
		if store {
			argv = append(argv, []string{"STORE", "STOREDIST"}[r.Intn(2)], geoDsts[r.Intn(len(geoDsts))])
		}
		return argv
	})
	registerGen(a, "georadiusbymember", 10, func(r *rand.Rand, k *Keys) []string {
		name := []string{"GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"}[r.Intn(2)]
		key := geoKey(r, k)
		argv := append([]string{name, key, geoMemberOf(r, key)}, geoRadiusArgs(r)...)
		store := r.Intn(3) == 0 // on the _RO forms: a syntax error
		argv = geoOptions(r, argv, !store || r.Intn(10) == 0)
		if store {
			argv = append(argv, []string{"STORE", "STOREDIST"}[r.Intn(2)], geoDsts[r.Intn(len(geoDsts))])
		}
		return argv
	})
	genSearch := func(r *rand.Rand, k *Keys, store bool) []string {
		argv := []string{"GEOSEARCH"}
		if store {
			argv = []string{"GEOSEARCHSTORE", geoDsts[r.Intn(len(geoDsts))]}
		}
		key := geoKey(r, k)
		argv = append(argv, key)
		from := func() {
			if r.Intn(2) == 0 {
				argv = append(argv, "FROMMEMBER", geoMemberOf(r, key))
			} else {
				lon, lat := geoPoint(r)
				argv = append(argv, "FROMLONLAT", lon, lat)
			}
		}
		by := func() {
			if r.Intn(2) == 0 {
				argv = append(append(argv, "BYRADIUS"), geoRadiusArgs(r)...)
			} else {
				argv = append(append(argv, "BYBOX"), geoBoxArgs(r)...)
			}
		}
		if r.Intn(2) == 0 {
			from()
			by()
		} else {
			by()
			from()
		}
		if r.Intn(25) == 0 {
			from() // a second FROM...: allowed only if it is the same kind
		}
		if r.Intn(25) == 0 {
			by()
		}
		argv = geoOptions(r, argv, !store || r.Intn(10) == 0)
		if store && r.Intn(2) == 0 {
			argv = append(argv, "STOREDIST")
		}
		if !store && r.Intn(30) == 0 {
			argv = append(argv, "STORE", "x")
		}
		return argv
	}
	registerGen(a, "geosearch", 12, func(r *rand.Rand, k *Keys) []string { return genSearch(r, k, false) })
	registerGen(a, "geosearchstore", 6, func(r *rand.Rand, k *Keys) []string { return genSearch(r, k, true) })
	registerGen(a, "read-back", 8, func(r *rand.Rand, k *Keys) []string {
		all := append(append([]string(nil), geoKeys...), geoDsts...)
		key := all[r.Intn(len(all))]
		switch r.Intn(6) {
		case 0:
			return []string{"ZCARD", key}
		case 1:
			return []string{"OBJECT", "ENCODING", key} // STORE picks listpack or skiplist as Redis
		}
		return []string{"ZRANGE", key, "0", "-1", "WITHSCORES"}
	})
	registerGen(a, "geo-del", 1, func(r *rand.Rand, k *Keys) []string {
		return []string{"DEL", geoKeys[r.Intn(len(geoKeys))]}
	})
}

// geoEdgeCases are compared one by one before the random commands.
var geoEdgeCases = [][]string{
	{"GEOADD", "e", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
	{"GEOADD", "e", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "0", "0", "zero", "-0", "-0", "negzero"},
	{"GEOADD", "e", "179.9999999", "0", "east", "-179.9999999", "0", "west", "0x10", "0", "hex"},
	{"GEOADD", "e", "180.0000001", "0", "bad"},
	{"GEOADD", "e", "0", "85.05112879", "bad"},
	{"GEOADD", "e", "-inf", "0", "bad"},
	{"GEOADD", "e", "1e-400", "0", "bad"},
	{"GEOADD", "e", "1e300", "0", "bad"},
	{"GEOADD", "e", "x", "0", "bad"},
	{"GEOADD", "e", "NX", "XX", "1", "1", "bad"},
	{"GEOADD", "e", "GT", "1", "1", "bad"},
	{"GEOADD", "e", "GT", "1", "1"},
	{"GEOADD", "e", "CH", "CH", "CH"},
	{"GEOADD", "e", "1", "1"},
	{"GEOADD", "e", "CH", "13.361389", "38.115556", "Palermo", "1", "1", "new"},
	{"GEOADD", "e", "XX", "CH", "2", "2", "new", "3", "3", "never"},
	{"GEOADD", "e", "NX", "5", "5", "new", "6", "6", "fresh"},
	{"ZRANGE", "e", "0", "-1", "WITHSCORES"},
	{"GEOPOS", "e", "Palermo", "ne", "sw", "zero", "negzero", "east", "west", "hex", "nosuch"},
	{"GEOHASH", "e", "Palermo", "ne", "sw", "zero", "negzero", "east", "west", "nosuch"},
	{"GEOPOS", "nokey", "a"},
	{"GEOHASH", "nokey", "a"},
	{"GEOPOS", "e"},
	{"GEODIST", "e", "Palermo", "Catania"},
	{"GEODIST", "e", "Palermo", "Catania", "km"},
	{"GEODIST", "e", "Palermo", "Catania", "MI"},
	{"GEODIST", "e", "Palermo", "Catania", "ft"},
	{"GEODIST", "e", "Palermo", "Catania", "yd"},
	{"GEODIST", "e", "Palermo", "Catania", "km", "x"},
	{"GEODIST", "e", "ne", "sw"},
	{"GEODIST", "e", "east", "west"},
	{"GEODIST", "e", "Palermo", "nosuch"},
	{"GEODIST", "nokey", "a", "b", "bad"},
	{"GEODIST", "nokey", "a", "b"},
	{"SET", "str", "x"},
	{"GEOADD", "str", "1", "1", "a"},
	{"GEOPOS", "str", "a"},
	{"GEODIST", "str", "a", "b"},
	{"GEORADIUS", "str", "1", "x", "1", "km"},
	{"GEOSEARCH", "str", "x"},
	{"GEORADIUS", "e", "15", "37", "200", "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"},
	{"GEORADIUS", "e", "15", "37", "200", "km", "withdist", "withcoord", "withhash", "desc"},
	{"GEORADIUS", "e", "15", "37", "200", "km"},
	{"GEORADIUS", "e", "15", "37", "0", "km"},
	{"GEORADIUS", "e", "0", "0", "0", "m", "WITHDIST"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "WITHDIST"},
	{"GEORADIUS", "e", "15", "37", "1e9", "km", "WITHDIST", "COUNT", "3"},
	{"GEORADIUS", "e", "15", "37", "inf", "km", "WITHDIST"},
	{"GEORADIUS", "e", "180", "0", "100", "km", "WITHDIST"},
	{"GEORADIUS", "e", "-180", "0", "100", "km", "WITHDIST"},
	{"GEORADIUS", "e", "0", "85", "1000", "km", "WITHDIST", "WITHCOORD"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "COUNT", "2", "ANY"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "COUNT", "2", "ANY", "DESC"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "ANY"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "COUNT", "0"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "COUNT", "-3"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "COUNT", "x"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "COUNT"},
	{"GEORADIUS", "e", "15", "37", "-1", "km"},
	{"GEORADIUS", "e", "15", "37", "x", "km"},
	{"GEORADIUS", "e", "15", "37", "1", "yd"},
	{"GEORADIUS", "e", "15", "97", "1", "km"},
	{"GEORADIUS", "e", "15", "37", "200", "km", "STORE", "d"},
	{"ZRANGE", "d", "0", "-1", "WITHSCORES"},
	{"GEORADIUS", "e", "15", "37", "200", "km", "STOREDIST", "d"},
	{"ZRANGE", "d", "0", "-1", "WITHSCORES"},
	{"GEORADIUS", "e", "15", "37", "20000", "km", "STOREDIST", "d", "COUNT", "3", "DESC"},
	{"ZRANGE", "d", "0", "-1", "WITHSCORES"},
	{"GEORADIUS", "e", "15", "37", "200", "km", "STORE", "d", "WITHDIST"},
	{"GEORADIUS", "e", "15", "37", "200", "km", "STORE"},
	{"GEORADIUS_RO", "e", "15", "37", "200", "km", "STORE", "d"},
	{"GEORADIUS", "e", "-15", "-37", "1", "km", "STORE", "d"},
	{"EXISTS", "d"},
	{"GEORADIUS", "e", "15", "37", "200", "km", "STORE", "d"},
	{"GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "d"},
	{"EXISTS", "d"},
	{"GEORADIUS", "nokey", "15", "37", "200", "km"},
	{"GEORADIUS", "nokey", "15", "97", "200", "km"},
	{"GEORADIUSBYMEMBER", "e", "Palermo", "200", "km", "WITHDIST", "WITHCOORD"},
	{"GEORADIUSBYMEMBER", "e", "nosuch", "200", "km"},
	{"GEORADIUSBYMEMBER", "e", "nosuch", "x", "km"},
	{"GEORADIUSBYMEMBER", "e", "Palermo", "x", "km"},
	{"GEORADIUSBYMEMBER", "nokey", "x", "-1", "m"},
	{"GEORADIUSBYMEMBER", "nokey", "x", "1", "m", "bogus"},
	{"GEORADIUSBYMEMBER", "nokey", "x", "1", "m", "STORE", "d"},
	{"GEORADIUSBYMEMBER_RO", "e", "Catania", "500", "km", "WITHDIST", "COUNT", "1"},
	{"GEORADIUSBYMEMBER_RO", "e", "Catania", "500", "km", "STOREDIST", "d"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km", "WITHDIST", "WITHCOORD", "WITHHASH"},
	{"GEOSEARCH", "e", "FROMLONLAT", "15", "37", "BYBOX", "0", "0", "km"},
	{"GEOSEARCH", "e", "FROMLONLAT", "0", "0", "BYBOX", "1", "1", "m", "WITHDIST"},
	{"GEOSEARCH", "e", "FROMLONLAT", "0", "0", "BYBOX", "40000", "20000", "km", "WITHDIST"},
	{"GEOSEARCH", "e", "FROMLONLAT", "0", "0", "BYBOX", "1e9", "1e9", "km", "WITHDIST"},
	{"GEOSEARCH", "e", "FROMLONLAT", "179", "0", "BYBOX", "500", "50", "km", "WITHDIST"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"},
	{"GEOSEARCH", "e", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "FROMMEMBER", "Catania", "BYRADIUS", "1", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "ASC"},
	{"geosearch", "e", "BYRADIUS", "1", "km", "ASC"},
	{"GeoSearch", "e", "FROMMEMBER", "Palermo", "count", "1"},
	{"GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "nosuch", "BYRADIUS", "1", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYBOX", "1", "-1", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYBOX", "x", "1", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYBOX", "1", "x", "km"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYBOX", "1", "1"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STORE", "d"},
	{"GEOSEARCH", "e", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km", "STOREDIST"},
	{"GEOSEARCHSTORE", "d", "e", "FROMMEMBER", "Palermo", "BYRADIUS", "500", "km", "STOREDIST"},
	{"ZRANGE", "d", "0", "-1", "WITHSCORES"},
	{"GEOSEARCHSTORE", "d", "e", "FROMMEMBER", "Palermo", "BYRADIUS", "500", "km", "WITHDIST"},
	{"GEOSEARCHSTORE", "d", "e", "FROMLONLAT", "0", "0", "BYBOX", "1", "1", "km", "ANY"},
	{"GEOSEARCHSTORE", "d", "e", "FROMLONLAT", "-100", "40", "BYBOX", "1", "1", "km"},
	{"EXISTS", "d"},
	{"GEOSEARCHSTORE", "d", "e", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km", "COUNT", "3", "DESC"},
	{"ZRANGE", "d", "0", "-1", "WITHSCORES"},
	{"GEOSEARCHSTORE", "d", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"},
	{"EXISTS", "d"},
	// Equal distances: several members at one point, cut by COUNT.
	{"GEOADD", "t", "10", "10", "a", "10", "10", "b", "10", "10", "c", "10", "10", "d", "10", "10", "e", "10", "10", "f", "10", "10", "g", "10", "10", "h", "11", "11", "far", "9.5", "9.5", "mid"},
	{"GEORADIUS", "t", "10", "10", "500", "km", "COUNT", "3"},
	{"GEORADIUS", "t", "10", "10", "500", "km", "COUNT", "5", "DESC"},
	{"GEORADIUS", "t", "10", "10", "500", "km", "COUNT", "9", "WITHDIST"},
	{"GEORADIUS", "t", "10", "10", "500", "km", "ASC"},
	{"GEORADIUS", "t", "10", "10", "500", "km", "DESC"},
	{"GEORADIUS", "t", "10", "10", "500", "km"},
	{"GEORADIUS", "t", "10", "10", "500", "km", "COUNT", "4", "ANY", "ASC"},
	// Scores no GEOADD writes.
	{"ZADD", "o", "-1", "neg", "1e20", "huge", "inf", "pinf", "-inf", "ninf", "4503599627370496", "two52", "13510798882111488", "top", "0.5", "half", "-9.3e18", "vneg"},
	{"GEOPOS", "o", "neg", "huge", "pinf", "ninf", "two52", "top", "half", "vneg"},
	{"GEOHASH", "o", "neg", "huge", "pinf", "ninf", "two52", "top", "half", "vneg"},
	{"GEODIST", "o", "neg", "huge"},
	{"GEORADIUS", "o", "0", "0", "20000", "km", "WITHDIST", "WITHHASH"},
	{"GEORADIUSBYMEMBER", "o", "neg", "100", "km"},
}

func TestGeoDifferential(t *testing.T) {
	var gens []generator
	for _, g := range generators {
		if g.area == "geo" {
			gens = append(gens, g)
		}
	}
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1e12
	}
	steps := diffSteps()
	t.Logf("seed %d, %d steps (rerun: -run TestGeoDifferential -seed=%d)", seed, steps, seed)

	p := &diffPair{t: t, root: t, sk: StartSkiff(t), rd: StartRedis(t)}
	defer p.close()
	for _, proto := range []int{2, 3} {
		t.Run("edges-resp"+strconv.Itoa(proto), func(t *testing.T) {
			p.t = t
			p.reset()
			if proto == 3 && !p.hello(3) {
				t.Fatal("skiff refused HELLO 3")
			}
			for i, argv := range geoEdgeCases {
				sk, rd, err := p.exchange(argv)
				if err != nil {
					t.Fatalf("edge case %d %s: %v", i, fmtArgv(argv), err)
				}
				if !sk.Equal(rd) {
					t.Errorf("edge case %d %s (RESP%d):\n  skiff: %s\n  redis: %s", i, fmtArgv(argv), proto, sk, rd)
				}
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		p.t = t
		h := fnv.New64a()
		h.Write([]byte("geo"))
		runArea(t, p, "geo", gens, seed^int64(h.Sum64()&(1<<62-1)), seed, steps)
	})
}

// TestGeoKeyspaceEvents compares the keyspace notifications of the GEO
// commands (GEOADD reports zadd; the STORE forms georadiusstore,
// geosearchstore or del) with redis-server's.
func TestGeoKeyspaceEvents(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	script := [][]string{
		{"GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
		{"GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo"},
		{"GEOADD", "g", "CH", "1", "1", "Palermo"},
		{"GEOADD", "g", "1", "1", "bad", "200", "0", "x"},
		{"GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d1"},
		{"GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d1"},
		{"GEORADIUSBYMEMBER", "g", "Catania", "1", "m", "STORE", "d1"},
		{"GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "d1"},
		{"GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km"},
		{"GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "-15", "-37", "BYRADIUS", "5", "km"},
		{"GEOSEARCHSTORE", "d2", "g", "FROMLONLAT", "-15", "-37", "BYRADIUS", "5", "km"},
		{"GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km"},
		{"SET", "end", "1"},
	}
	events := func(s *Server) []string {
		t.Helper()
		c := s.Dial(t)
		defer c.Close()
		c.MustDo(t, "CONFIG", "SET", "notify-keyspace-events", "KEA")
		sub, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		br := bufio.NewReader(sub)
		if _, err := sub.Write(EncodeCommand(nil, "PSUBSCRIBE", "__keyevent@0__:*")); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadReply(br); err != nil {
			t.Fatal(err)
		}
		for _, argv := range script {
			if _, err := c.Do(argv...); err != nil {
				t.Fatalf("%s: %v", fmtArgv(argv), err)
			}
		}
		var out []string
		sub.SetReadDeadline(time.Now().Add(10 * time.Second))
		for len(out) < 1000 {
			m, err := ReadReply(br)
			if err != nil {
				t.Fatalf("reading events (%d so far: %v): %v", len(out), out, err)
			}
			if len(m.Elems) != 4 {
				t.Fatalf("unexpected message %s", m)
			}
			ev := fmt.Sprintf("%s %s", strings.TrimPrefix(m.Elems[2].Str, "__keyevent@0__:"), m.Elems[3].Str)
			if ev == "set end" {
				return out
			}
			out = append(out, ev)
		}
		t.Fatalf("no end marker among %d events", len(out))
		return nil
	}
	got, want := events(sk), events(rd)
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("keyspace events differ:\n  skiff: %v\n  redis: %v", got, want)
	}
	if len(want) == 0 {
		t.Fatal("redis sent no events: the test saw nothing")
	}
}

// TestGeoDumpInterchange moves geo sets between the servers with DUMP and
// RESTORE, both ways, in both encodings (listpack and skiplist), and
// checks that the positions read back are the same: the scores are the
// same 52-bit geohashes.
func TestGeoDumpInterchange(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	skc, rdc := sk.Dial(t), rd.Dial(t)
	defer skc.Close()
	defer rdc.Close()
	r := rand.New(rand.NewSource(7))
	for _, n := range []int{5, 200} {
		argv := []string{"GEOADD", "src"}
		for i := 0; i < n; i++ {
			lon, lat := geoValidPoint(r)
			argv = append(argv, lon, lat, "m"+strconv.Itoa(i))
		}
		for _, dir := range []struct {
			name     string
			from, to *Conn
		}{{"redis to skiff", rdc, skc}, {"skiff to redis", skc, rdc}} {
			for _, c := range []*Conn{skc, rdc} {
				c.MustDo(t, "FLUSHALL")
			}
			dir.from.MustDo(t, argv...)
			dump := dir.from.MustDo(t, "DUMP", "src")
			if dump.Type != '$' || dump.Null {
				t.Fatalf("%s: DUMP answered %s", dir.name, dump)
			}
			if res := dir.to.MustDo(t, "RESTORE", "src", "0", dump.Str); res.Str != "OK" {
				t.Fatalf("%s, %d members: RESTORE answered %s", dir.name, n, res)
			}
			pos := []string{"GEOPOS", "src"}
			for i := 0; i < n; i++ {
				pos = append(pos, "m"+strconv.Itoa(i))
			}
			for _, q := range [][]string{{"ZRANGE", "src", "0", "-1", "WITHSCORES"}, pos, {"GEORADIUS", "src", "0", "0", "20000", "km", "WITHDIST", "WITHHASH"}} {
				want, got := dir.from.MustDo(t, q...), dir.to.MustDo(t, q...)
				if !want.Equal(got) {
					t.Fatalf("%s, %d members: %s differs after RESTORE:\n  source: %s\n  restored: %s", dir.name, n, q[0], want, got)
				}
			}
		}
	}
}
