package node

import (
	"strconv"
	"testing"
)

// TestHashListpackEntriesDefault: Redis 7.0.15's hash-max-listpack-entries
// (alias hash-max-ziplist-entries) is 512, so a hash of 200 fields is still
// a listpack there (OBJECT ENCODING), and one of 600 fields is not.
func TestHashListpackEntriesDefault(t *testing.T) {
	s := startTestServer(t)
	c := dialRaw(t, s)
	for _, name := range []string{"hash-max-listpack-entries", "hash-max-ziplist-entries"} {
		want := "*2\r\n$" + strconv.Itoa(len(name)) + "\r\n" + name + "\r\n$3\r\n512\r\n"
		if got := c.do(t, "CONFIG", "GET", name); got != want {
			t.Errorf("CONFIG GET %s = %q, want 512", name, got)
		}
	}
	fill := func(key string, n int) {
		for i := 0; i < n; i++ {
			if got := c.do(t, "HSET", key, "f"+strconv.Itoa(i), "v"); got != ":1\r\n" {
				t.Fatalf("HSET %s: %q", key, got)
			}
		}
	}
	fill("h200", 200)
	if got := c.do(t, "OBJECT", "ENCODING", "h200"); got != "$8\r\nlistpack\r\n" {
		t.Errorf("OBJECT ENCODING of a 200-field hash = %q, want listpack (as Redis 7.0.15)", got)
	}
	fill("h600", 600)
	if got := c.do(t, "OBJECT", "ENCODING", "h600"); got != "$9\r\nhashtable\r\n" {
		t.Errorf("OBJECT ENCODING of a 600-field hash = %q, want hashtable", got)
	}
}
