package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReplicaAppliesMasterDelOfExpiredKey: a replica never expires keys
// itself; the master's DEL must reach a key the replica already treats as
// expired, or the replica keeps it for good (its INFO keyspace and memory
// then diverge from the master's).
func TestReplicaAppliesMasterDelOfExpiredKey(t *testing.T) {
	master := startTestServer(t)
	replica := startTestServer(t)
	mc, rc := dialRaw(t, master), dialRaw(t, replica)
	if got := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port())); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF: %q", got)
	}
	waitFor := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v", what, d)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("link up", 10*time.Second, func() bool {
		return infoFields(rc.do(t, "INFO", "replication"))["master_link_status"] == "up"
	})
	const n = 200
	for i := 0; i < n; i++ {
		if got := mc.do(t, "SET", "k"+strconv.Itoa(i), "v", "PX", "300"); got != "+OK\r\n" {
			t.Fatalf("SET: %q", got)
		}
	}
	keys := func(c *rawConn) string { return infoFields(c.do(t, "INFO", "keyspace"))["db0"] }
	waitFor("the replica has the keys", 10*time.Second, func() bool { return strings.HasPrefix(keys(rc), "keys="+strconv.Itoa(n)+",") })
	// The master expires them (active cycle) and sends a DEL for each.
	waitFor("the master expires the keys", 10*time.Second, func() bool { return keys(mc) == "" })
	waitFor("the replica applies the master's DELs", 10*time.Second, func() bool { return keys(rc) == "" })
}
