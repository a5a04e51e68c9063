package node

import (
	"io"
	"testing"
	"time"
)

// TestReplicaofUnblocksBlockedClients: a client blocked in BLPOP when its
// server becomes a replica gets -UNBLOCKED and is disconnected (Redis
// issue #2473). Left blocked, it would pop the element the master's
// stream pushes, on the replica alone, and the two would differ.
func TestReplicaofUnblocksBlockedClients(t *testing.T) {
	master := startTestServer(t)
	s := startTestServer(t)
	blocked := dialRaw(t, s)
	blocked.send(t, "BLPOP", "foo", "0")
	admin := dialRaw(t, s)
	waitUntil(t, "client blocked", 5*time.Second, func() bool {
		return infoFields(admin.do(t, "INFO", "clients"))["blocked_clients"] == "1"
	})
	replicateFrom(t, admin, master)
	want := "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n"
	if got := blocked.readReply(t, 5*time.Second); got != want {
		t.Fatalf("blocked client got %q, want %q", got, want)
	}
	blocked.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := blocked.br.ReadByte(); err != io.EOF {
		t.Fatalf("connection still open after the -UNBLOCKED reply (read: %v)", err)
	}
	if got := infoFields(admin.do(t, "INFO", "clients"))["blocked_clients"]; got != "0" {
		t.Fatalf("blocked_clients %s after the role change", got)
	}
	// The master's push reaches the replica's list untouched.
	mc := dialRaw(t, master)
	mc.do(t, "RPUSH", "foo", "a", "b", "c")
	waitUntil(t, "push replicated", 5*time.Second, func() bool {
		return admin.do(t, "LLEN", "foo") == ":3\r\n"
	})
}
