package node

import "testing"

// GEOADD replicates as the ZADD it runs (scores are the geohashes, the
// options kept); the STORE forms replicate as sent; reads and no-op
// writes replicate nothing. The scores are redis-server 7.0.15's for the
// same coordinates.
func TestGeoPropagation(t *testing.T) {
	c := stringTestClient(t)
	cases := []struct{ cmd, want string }{
		{"GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", "zadd g 3479099956230698 Palermo 3479447370796909 Catania"},
		{"GEOADD g NX CH 13.361389 38.115556 Palermo 180 85.05112878 ne", "zadd g NX CH 3479099956230698 Palermo 13510798882111488 ne"},
		{"GEOADD g NX 13.361389 38.115556 Palermo", ""},
		{"GEOADD g 200 0 bad", ""},
		{"GEOPOS g Palermo", ""},
		{"GEORADIUS g 15 37 200 km", ""},
		{"GEORADIUS g 15 37 200 km STORE d", "GEORADIUS g 15 37 200 km STORE d"},
		{"GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST", "GEOSEARCHSTORE d g FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST"},
		{"GEOSEARCHSTORE d g FROMLONLAT -15 -37 BYRADIUS 1 km", "GEOSEARCHSTORE d g FROMLONLAT -15 -37 BYRADIUS 1 km"},
		{"GEOSEARCHSTORE d g FROMLONLAT -15 -37 BYRADIUS 1 km", ""},
	}
	for _, tc := range cases {
		if got := runPropagated(c, tc.cmd); got != tc.want {
			t.Errorf("%s: propagated %q, want %q", tc.cmd, got, tc.want)
		}
	}
}

// The dirty counter moves by one per stored member, as Redis counts the
// changes of a STORE (INFO rdb_changes_since_last_save).
func TestGeoStoreDirty(t *testing.T) {
	c := stringTestClient(t)
	runPropagated(c, "GEOADD g 1 1 a 1.001 1 b 1.002 1 c")
	before := c.srv.dirty
	runPropagated(c, "GEORADIUS g 1 1 100 km STORE d")
	if got := c.srv.dirty - before; got != 3 {
		t.Errorf("GEORADIUS STORE of 3 members added %d to dirty, want 3", got)
	}
}
