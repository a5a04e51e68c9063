package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReplicaSyncLogLines: a full sync logs Redis's lines for its phases
// (what Redis's tests and operators' scripts wait for); a diskless load
// cut short by the master logs Redis's RDB error, keeps the old data,
// and the replica retries at once rather than after a backoff.
func TestReplicaSyncLogLines(t *testing.T) {
	master := startTestServer(t, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
		"--rdbcompression", "no", "--rdb-key-save-delay", "2000")
	replica, logs := startLoggedServer(t, "--repl-diskless-load", "swapdb")
	mc := dialRaw(t, master)
	for i := 0; i < 2000; i++ {
		mc.do(t, "SET", "k"+strconv.Itoa(i), strings.Repeat("v", 1000))
	}
	rc := dialRaw(t, replica)
	rc.do(t, "SET", "mine", "old")
	if got := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port())); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF: %q", got)
	}
	waitUntil(t, "loading logged", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "MASTER <-> REPLICA sync: Loading DB in memory")
	})
	mark := strings.Count(logs.String(), "Loading DB in memory")
	if got := mc.do(t, "CLIENT", "KILL", "TYPE", "replica"); got != ":1\r\n" {
		t.Fatalf("CLIENT KILL TYPE replica: %q", got)
	}
	killed := time.Now()
	waitUntil(t, "RDB error logged", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "Internal error in RDB reading offset")
	})
	if got := rc.do(t, "GET", "mine"); got != "$3\r\nold\r\n" {
		t.Fatalf("old data after the failed load: %q", got)
	}
	waitUntil(t, "second attempt", 10*time.Second, func() bool {
		return strings.Count(logs.String(), "Loading DB in memory") > mark
	})
	if d := time.Since(killed); d > 1500*time.Millisecond {
		t.Fatalf("the replica retried %v after the transfer broke", d)
	}
	mc.do(t, "CONFIG", "SET", "rdb-key-save-delay", "0")
	waitUntil(t, "sync finished", 20*time.Second, func() bool {
		return strings.Contains(logs.String(), "MASTER <-> REPLICA sync: Finished with success")
	})
	if got := rc.do(t, "DBSIZE"); got != ":2000\r\n" {
		t.Fatalf("DBSIZE after the sync: %q", got)
	}
}
