package node

import (
	"strconv"
	"testing"
	"time"
)

// waitUntil polls cond every 10 ms and fails the test when it has not
// held within d.
func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// replicateFrom makes the server behind rc a replica of master and waits
// (10 s at most) until its link is up.
func replicateFrom(t *testing.T, rc *rawConn, master *Server) {
	t.Helper()
	if got := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port())); got != "+OK\r\n" {
		t.Fatalf("REPLICAOF: %q", got)
	}
	waitUntil(t, "replication link up", 10*time.Second, func() bool {
		return infoFields(rc.do(t, "INFO", "replication"))["master_link_status"] == "up"
	})
}
