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
	replicateFrom(t, rc, master)
	const n = 200
	for i := 0; i < n; i++ {
		if got := mc.do(t, "SET", "k"+strconv.Itoa(i), "v", "PX", "300"); got != "+OK\r\n" {
			t.Fatalf("SET: %q", got)
		}
	}
	keys := func(c *rawConn) string { return infoFields(c.do(t, "INFO", "keyspace"))["db0"] }
	waitUntil(t, "the replica has the keys", 10*time.Second, func() bool { return strings.HasPrefix(keys(rc), "keys="+strconv.Itoa(n)+",") })
	// The master expires them (active cycle) and sends a DEL for each.
	waitUntil(t, "the master expires the keys", 10*time.Second, func() bool { return keys(mc) == "" })
	waitUntil(t, "the replica applies the master's DELs", 10*time.Second, func() bool { return keys(rc) == "" })
}

// TestWritableReplicaExpiresItsOwnKeys: keys a writable replica's clients
// gave a TTL are unknown to the master, so the replica expires them itself
// (Redis's slaveKeysWithExpire), while the master's keys still wait for
// the master's DEL.
func TestWritableReplicaExpiresItsOwnKeys(t *testing.T) {
	master := startTestServer(t, "--enable-debug-command", "yes")
	replica := startTestServer(t, "--replica-read-only", "no")
	mc, rc := dialRaw(t, master), dialRaw(t, replica)
	replicateFrom(t, rc, master)
	// The master's key, which it will not expire (active expiry off).
	mc.do(t, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	if got := mc.do(t, "SET", "mkey", "1", "PX", "50"); got != "+OK\r\n" {
		t.Fatalf("SET on master: %q", got)
	}
	for _, k := range []string{"r1", "r2", "r3"} {
		if got := rc.do(t, "SET", k, "1", "PX", "100"); got != "+OK\r\n" {
			t.Fatalf("SET on the writable replica: %q", got)
		}
	}
	waitUntil(t, "DBSIZE :1 on the replica (only the master's key left)", 10*time.Second, func() bool {
		return rc.do(t, "DBSIZE") == ":1\r\n"
	})
	if got := rc.do(t, "EXISTS", "mkey"); got != ":0\r\n" {
		t.Errorf("the master's expired key is visible on the replica: %q", got)
	}
}
