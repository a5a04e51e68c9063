package node

import (
	"math"
	"sort"
	"strconv"

	"github.com/skiffdb/skiff/geo"
	"github.com/skiffdb/skiff/store"
)

// The GEO commands. A geo set is an ordinary sorted set whose scores are
// 52-bit geohashes (package geo), so every sorted-set command works on it
// and DUMP/RESTORE, RDB and replication exchange it with Redis as is.

func init() {
	const (
		search    = "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index."
		searchBox = "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape"
	)
	g := func(name string, arity int, flags string, first, last int, since, summary, cx string, h Handler) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: 1, Group: "geo", Since: since, Summary: summary, Complexity: cx, Handler: h}
	}
	register(
		g("geoadd", -5, "write denyoom", 1, 1, "3.2.0", "Add one or more geospatial items in the geospatial index represented using a sorted set", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", cmdGeoadd),
		g("geodist", -4, "readonly", 1, 1, "3.2.0", "Returns the distance between two members of a geospatial index", "O(log(N))", cmdGeodist),
		g("geohash", -2, "readonly", 1, 1, "3.2.0", "Returns members of a geospatial index as standard geohash strings", "O(log(N)) for each member requested, where N is the number of elements in the sorted set.", cmdGeohash),
		g("geopos", -2, "readonly", 1, 1, "3.2.0", "Returns longitude and latitude of members of a geospatial index", "O(N) where N is the number of members requested.", cmdGeopos),
		g("georadius", -6, "write denyoom", 1, 1, "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a point", search, cmdGeoradius),
		g("georadius_ro", -6, "readonly", 1, 1, "3.2.10", "A read-only variant for GEORADIUS", search, cmdGeoradiusRO),
		g("georadiusbymember", -5, "write denyoom", 1, 1, "3.2.0", "Query a sorted set representing a geospatial index to fetch members matching a given maximum distance from a member", search, cmdGeoradiusbymember),
		g("georadiusbymember_ro", -5, "readonly", 1, 1, "3.2.10", "A read-only variant for GEORADIUSBYMEMBER", search, cmdGeoradiusbymemberRO),
		g("geosearch", -7, "readonly", 1, 1, "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle.", searchBox, cmdGeosearch),
		g("geosearchstore", -8, "write denyoom", 1, 2, "6.2.0", "Query a sorted set representing a geospatial index to fetch members inside an area of a box or a circle, and store the result in another key.", searchBox, cmdGeosearchstore),
	)
}

const (
	errGeoUnit   = "ERR unsupported unit provided. please use M, KM, FT, MI"
	errGeoMember = "ERR could not decode requested zset member"
)

// cFloat formats v as C's printf %f does (six decimals, "inf", "-inf"):
// Redis puts the rejected coordinates in its error that way.
func cFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	case math.IsNaN(v):
		return "nan"
	}
	return strconv.FormatFloat(v, 'f', 6, 64)
}

// geoLonLat parses a longitude and a latitude argument and checks they
// are in the range a geo set can hold, replying the error otherwise.
func geoLonLat(c *Client, lonArg, latArg []byte) (lon, lat float64, ok bool) {
	if lon, ok = parseDouble(lonArg); !ok {
		c.replyError(errNotFloat)
		return 0, 0, false
	}
	if lat, ok = parseDouble(latArg); !ok {
		c.replyError(errNotFloat)
		return 0, 0, false
	}
	if lon < geo.LonMin || lon > geo.LonMax || lat < geo.LatMin || lat > geo.LatMax {
		c.replyError("ERR invalid longitude,latitude pair " + cFloat(lon) + "," + cFloat(lat))
		return 0, 0, false
	}
	return lon, lat, true
}

// geoUnit returns the meters in one unit named by arg (m, km, ft, mi, in
// any case).
func geoUnit(c *Client, arg []byte) (float64, bool) {
	switch {
	case eqFold(arg, "m"):
		return 1, true
	case eqFold(arg, "km"):
		return 1000, true
	case eqFold(arg, "ft"):
		return 0.3048, true
	case eqFold(arg, "mi"):
		return 1609.34, true
	}
	c.replyError(errGeoUnit)
	return 0, false
}

// geoRadius parses "<radius> <unit>".
func geoRadius(c *Client, num, unit []byte) (radius, conv float64, ok bool) {
	if radius, ok = parseDouble(num); !ok {
		c.replyError("ERR need numeric radius")
		return 0, 0, false
	}
	if radius < 0 {
		c.replyError("ERR radius cannot be negative")
		return 0, 0, false
	}
	conv, ok = geoUnit(c, unit)
	return radius, conv, ok
}

// geoBox parses "<width> <height> <unit>".
func geoBox(c *Client, wArg, hArg, unit []byte) (w, h, conv float64, ok bool) {
	if w, ok = parseDouble(wArg); !ok {
		c.replyError("ERR need numeric width")
		return 0, 0, 0, false
	}
	if h, ok = parseDouble(hArg); !ok {
		c.replyError("ERR need numeric height")
		return 0, 0, 0, false
	}
	if h < 0 || w < 0 {
		c.replyError("ERR height or width cannot be negative")
		return 0, 0, 0, false
	}
	conv, ok = geoUnit(c, unit)
	return w, h, conv, ok
}

// replyCoord writes a coordinate: a bulk string in RESP2, a double in
// RESP3, with Redis's 17-decimal text in both.
func replyCoord(c *Client, v float64) {
	var tmp [48]byte
	b := geo.AppendCoord(tmp[:0], v)
	if c.w.Proto == 3 {
		c.w.AppendRaw([]byte{','})
		c.w.AppendRaw(b)
		c.w.AppendRaw([]byte("\r\n"))
		return
	}
	c.replyBulk(b)
}

// replyDistance writes a distance with four decimals, always as a bulk
// string.
func replyDistance(c *Client, d float64) {
	var tmp [32]byte
	c.replyBulk(geo.AppendDistance(tmp[:0], d))
}

// cmdGeoadd turns GEOADD into the ZADD it stands for (scores computed
// from the coordinates) and runs that, as Redis does: the keyspace event
// is zadd, and replicas and the AOF receive the ZADD.
func cmdGeoadd(c *Client, args [][]byte) {
	i := 2
	nx, xx := false, false
options:
	for ; i < len(args); i++ {
		switch {
		case eqFold(args[i], "nx"):
			nx = true
		case eqFold(args[i], "xx"):
			xx = true
		case eqFold(args[i], "ch"):
			// ZADD handles it.
		default:
			break options
		}
	}
	if (len(args)-i)%3 != 0 || (nx && xx) {
		c.replySyntax()
		return
	}
	elements := (len(args) - i) / 3
	zargs := make([][]byte, 0, i+2*elements)
	zargs = append(zargs, []byte("zadd"))
	for _, a := range args[1:i] {
		zargs = append(zargs, copyBytes(a))
	}
	for j := 0; j < elements; j++ {
		at := i + 3*j
		lon, lat, ok := geoLonLat(c, args[at], args[at+1])
		if !ok {
			return
		}
		score, _ := geo.Score(lon, lat)
		zargs = append(zargs, strconv.AppendUint(nil, score, 10), copyBytes(args[at+2]))
	}
	c.propagateArgv = zargs
	zaddGeneric(c, zargs, 0)
}

func cmdGeodist(c *Client, args [][]byte) {
	toMeters := 1.0
	if len(args) == 5 {
		var ok bool
		if toMeters, ok = geoUnit(c, args[4]); !ok {
			return
		}
	} else if len(args) > 5 {
		c.replySyntax()
		return
	}
	e := c.lookupRead(args[1])
	if e == nil {
		c.replyNull()
		return
	}
	z, ok := asZSet(c, e)
	if !ok {
		return
	}
	s1, ok1 := z.Score(string(args[2]))
	if !ok1 {
		c.replyNull()
		return
	}
	s2, ok2 := z.Score(string(args[3]))
	if !ok2 {
		c.replyNull()
		return
	}
	lon1, lat1 := geo.DecodeScore(s1)
	lon2, lat2 := geo.DecodeScore(s2)
	replyDistance(c, geo.Distance(lon1, lat1, lon2, lat2)/toMeters)
}

func cmdGeohash(c *Client, args [][]byte) {
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	c.w.AppendArray(len(args) - 2)
	for _, m := range args[2:] {
		var score float64
		found := false
		if z != nil {
			score, found = z.Score(string(m))
		}
		if !found {
			c.replyNull()
			continue
		}
		c.replyBulkString(geo.HashString(geo.DecodeScore(score)))
	}
}

func cmdGeopos(c *Client, args [][]byte) {
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	c.w.AppendArray(len(args) - 2)
	for _, m := range args[2:] {
		var score float64
		found := false
		if z != nil {
			score, found = z.Score(string(m))
		}
		if !found {
			c.w.AppendNullArray()
			continue
		}
		lon, lat := geo.DecodeScore(score)
		c.w.AppendArray(2)
		replyCoord(c, lon)
		replyCoord(c, lat)
	}
}

// Variants of the search commands.
const (
	geoFromCoords  = 1 << iota // GEORADIUS: center given as lon lat
	geoFromMember              // GEORADIUSBYMEMBER: center is a member
	geoNoStore                 // the _RO forms: no STORE/STOREDIST
	geoSearch                  // GEOSEARCH syntax
	geoSearchStore             // GEOSEARCHSTORE: destination first
)

func cmdGeoradius(c *Client, args [][]byte)   { geoSearchGeneric(c, args, 1, geoFromCoords) }
func cmdGeoradiusRO(c *Client, args [][]byte) { geoSearchGeneric(c, args, 1, geoFromCoords|geoNoStore) }
func cmdGeoradiusbymember(c *Client, args [][]byte) {
	geoSearchGeneric(c, args, 1, geoFromMember)
}
func cmdGeoradiusbymemberRO(c *Client, args [][]byte) {
	geoSearchGeneric(c, args, 1, geoFromMember|geoNoStore)
}
func cmdGeosearch(c *Client, args [][]byte) { geoSearchGeneric(c, args, 1, geoSearch) }
func cmdGeosearchstore(c *Client, args [][]byte) {
	geoSearchGeneric(c, args, 2, geoSearch|geoSearchStore)
}

// geoPoint is one match of a search.
type geoPoint struct {
	lon, lat, dist, score float64
	member                string
}

const (
	geoSortNone = iota
	geoSortAsc
	geoSortDesc
)

// geoSearchGeneric runs GEORADIUS, GEORADIUSBYMEMBER, their _RO forms,
// GEOSEARCH and GEOSEARCHSTORE. Arguments are checked in Redis's order,
// so that a command with several faults gets Redis's error.
func geoSearchGeneric(c *Client, args [][]byte, srcIdx int, flags int) {
	z, ok := c.lookupZSetRead(args[srcIdx])
	if !ok {
		return
	}
	var shape geo.Shape
	var storeKey []byte
	storeDist := false
	base := 0
	switch {
	case flags&geoFromCoords != 0:
		base = 6
		lon, lat, ok := geoLonLat(c, args[2], args[3])
		if !ok {
			return
		}
		shape.Lon, shape.Lat = lon, lat
		if shape.Radius, shape.Conversion, ok = geoRadius(c, args[4], args[5]); !ok {
			return
		}
	case flags&geoFromMember != 0:
		base = 5
		if z == nil {
			// Nothing to search, but the options are still parsed so the
			// reply matches the STORE form.
			break
		}
		s, found := z.Score(string(args[2]))
		if !found {
			c.replyError(errGeoMember)
			return
		}
		shape.Lon, shape.Lat = geo.DecodeScore(s)
		var ok bool
		if shape.Radius, shape.Conversion, ok = geoRadius(c, args[3], args[4]); !ok {
			return
		}
	default:
		base = 2
		if flags&geoSearchStore != 0 {
			base = 3
			storeKey = args[1]
		}
	}

	withDist, withHash, withCoord := false, false, false
	fromMember, fromLoc, byRadius, byBox := false, false, false, false
	sortBy := geoSortNone
	anyMatch := false
	var count int64
	search := flags&geoSearch != 0
	rest := args[base:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		left := len(rest) - i - 1
		switch {
		case eqFold(a, "withdist"):
			withDist = true
		case eqFold(a, "withhash"):
			withHash = true
		case eqFold(a, "withcoord"):
			withCoord = true
		case eqFold(a, "any"):
			anyMatch = true
		case eqFold(a, "asc"):
			sortBy = geoSortAsc
		case eqFold(a, "desc"):
			sortBy = geoSortDesc
		case eqFold(a, "count") && left >= 1:
			n, ok := parseInt(rest[i+1])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			if n <= 0 {
				c.replyError("ERR COUNT must be > 0")
				return
			}
			count = n
			i++
		case (eqFold(a, "store") || eqFold(a, "storedist")) && left >= 1 && flags&(geoNoStore|geoSearch) == 0:
			storeKey = rest[i+1]
			storeDist = eqFold(a, "storedist")
			i++
		case eqFold(a, "storedist") && flags&geoSearchStore != 0:
			storeDist = true
		case eqFold(a, "frommember") && left >= 1 && search && !fromLoc:
			fromMember = true
			if z != nil {
				s, found := z.Score(string(rest[i+1]))
				if !found {
					c.replyError(errGeoMember)
					return
				}
				shape.Lon, shape.Lat = geo.DecodeScore(s)
			}
			i++
		case eqFold(a, "fromlonlat") && left >= 2 && search && !fromMember:
			lon, lat, ok := geoLonLat(c, rest[i+1], rest[i+2])
			if !ok {
				return
			}
			shape.Lon, shape.Lat = lon, lat
			fromLoc = true
			i += 2
		case eqFold(a, "byradius") && left >= 2 && search && !byBox:
			r, conv, ok := geoRadius(c, rest[i+1], rest[i+2])
			if !ok {
				return
			}
			shape.Box, shape.Radius, shape.Conversion = false, r, conv
			byRadius = true
			i += 2
		case eqFold(a, "bybox") && left >= 3 && search && !byRadius:
			w, h, conv, ok := geoBox(c, rest[i+1], rest[i+2], rest[i+3])
			if !ok {
				return
			}
			shape.Box, shape.Width, shape.Height, shape.Conversion = true, w, h, conv
			byBox = true
			i += 3
		default:
			c.replySyntax()
			return
		}
	}

	if storeKey != nil && (withDist || withHash || withCoord) {
		what := "STORE option in GEORADIUS"
		if flags&geoSearchStore != 0 {
			what = "GEOSEARCHSTORE"
		}
		c.replyError("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	}
	if search && !(fromMember || fromLoc) {
		c.replyError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + string(args[0]))
		return
	}
	if search && !(byRadius || byBox) {
		c.replyError("ERR exactly one of BYRADIUS and BYBOX can be specified for " + string(args[0]))
		return
	}
	if anyMatch && count == 0 {
		c.replyError("ERR the ANY argument requires COUNT argument")
		return
	}

	event := "georadiusstore"
	if search {
		event = "geosearchstore"
	}
	if z == nil {
		if storeKey != nil {
			zstoreResult(c, storeKey, nil, event)
		} else {
			c.w.AppendArray(0)
		}
		return
	}
	// COUNT without an order means the closest ones (not with ANY, which
	// takes the first found).
	if count != 0 && sortBy == geoSortNone && !anyMatch {
		sortBy = geoSortAsc
	}
	limit := 0
	if anyMatch {
		limit = int(min(count, math.MaxInt32))
	}
	pts := geoCollect(z, &shape, limit)
	if len(pts) == 0 && storeKey == nil {
		c.w.AppendArray(0)
		return
	}
	returned := len(pts)
	if count != 0 && int64(returned) > count {
		returned = int(count)
	}
	if sortBy != geoSortNone {
		geoSortPoints(pts, returned, sortBy == geoSortDesc)
	}

	if storeKey == nil {
		opts := 0
		for _, on := range []bool{withDist, withCoord, withHash} {
			if on {
				opts++
			}
		}
		c.w.AppendArray(returned)
		for _, p := range pts[:returned] {
			if opts > 0 {
				c.w.AppendArray(opts + 1)
			}
			c.replyBulkString(p.member)
			if withDist {
				replyDistance(c, p.dist/shape.Conversion)
			}
			if withHash {
				c.replyInt(int64(p.score))
			}
			if withCoord {
				c.w.AppendArray(2)
				replyCoord(c, p.lon)
				replyCoord(c, p.lat)
			}
		}
		return
	}

	if returned == 0 {
		zstoreResult(c, storeKey, nil, event)
		return
	}
	lim := c.zlimits()
	longest := 0
	for _, p := range pts[:returned] {
		longest = max(longest, len(p.member))
	}
	nz := store.NewZSet(returned, longest, lim)
	for _, p := range pts[:returned] {
		score := p.score
		if storeDist {
			score = p.dist / shape.Conversion
		}
		nz.Insert(p.member, score, lim)
	}
	zstoreResult(c, storeKey, nz, event)
	// Redis counts one change per stored member; zstoreResult counted one.
	c.srv.dirty += int64(returned - 1)
}

// geoCollect gathers the members inside the shape from the cells a search
// scans, cell by cell in scan order and in score order within a cell,
// stopping at limit matches when limit > 0 (COUNT ... ANY).
func geoCollect(z *store.ZSet, shape *geo.Shape, limit int) []geoPoint {
	cells := shape.Cells()
	var pts []geoPoint
	last := 0
	for i, h := range cells {
		if h.IsZero() {
			continue
		}
		// With huge radii neighbouring cells can coincide: scanning one
		// twice would report its members twice.
		if last != 0 && h == cells[last] {
			continue
		}
		if limit > 0 && len(pts) >= limit {
			break
		}
		lo, hi := geo.ScoreRange(h)
		minScore, maxScore := float64(lo), float64(hi)
		start := z.CountBefore(func(s float64, _ string) bool { return s < minScore })
		z.Ascend(start, func(m store.ZMember) bool {
			if !(m.Score < maxScore) {
				return false
			}
			lon, lat := geo.DecodeScore(m.Score)
			if d, in := shape.Contains(lon, lat); in {
				pts = append(pts, geoPoint{lon: lon, lat: lat, dist: d, score: m.Score, member: m.Member})
			}
			return !(limit > 0 && len(pts) >= limit)
		})
		last = i
	}
	return pts
}

// geoSortPoints orders the matches by distance. When all of them are
// returned the sort is stable, as the C library's qsort Redis calls is a
// merge sort; when COUNT keeps fewer, Redis sorts only the kept prefix
// with its partial quicksort, and ties come out in that algorithm's order.
func geoSortPoints(pts []geoPoint, returned int, desc bool) {
	cmp := func(a, b float64) int {
		r := 0
		switch {
		case a > b:
			r = 1
		case a == b:
			r = 0
		default:
			r = -1
		}
		if desc {
			r = -r
		}
		return r
	}
	if returned == len(pts) {
		sort.SliceStable(pts, func(i, j int) bool { return cmp(pts[i].dist, pts[j].dist) < 0 })
		return
	}
	geo.SortPrefix(len(pts), returned,
		func(i, j int) int { return cmp(pts[i].dist, pts[j].dist) },
		func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
}
