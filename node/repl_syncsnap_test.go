package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFullSyncSnapshotInfo: while a full sync's payload is produced the
// master reports it as Redis reports its replication BGSAVE
// (rdb_bgsave_in_progress:1, the replica in wait_bgsave), and stops
// producing it when the replica goes away.
func TestFullSyncSnapshotInfo(t *testing.T) {
	master := startTestServer(t, "--repl-diskless-sync", "no", "--rdb-key-save-delay", "100000")
	mc := dialRaw(t, master)
	for i := 0; i < 50; i++ {
		mc.do(t, "SET", "k"+strconv.Itoa(i), "v")
	}
	replica := startTestServer(t)
	rc := dialRaw(t, replica)
	if got := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port())); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF: %q", got)
	}
	waitUntil(t, "payload in production", 5*time.Second, func() bool {
		f := infoFields(mc.do(t, "INFO"))
		return f["rdb_bgsave_in_progress"] == "1" && strings.Contains(f["slave0"], "state=wait_bgsave")
	})
	if got := rc.do(t, "REPLICAOF", "NO", "ONE"); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF NO ONE: %q", got)
	}
	waitUntil(t, "payload abandoned", 2*time.Second, func() bool {
		return infoFields(mc.do(t, "INFO", "persistence"))["rdb_bgsave_in_progress"] == "0"
	})
}
