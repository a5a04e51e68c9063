package node

import (
	"strings"
	"testing"
	"time"
)

// TestReplicaClientReplies: a replica link carries the stream only. A
// command of a replica client that would be answered (PING after SYNC)
// gets its connection closed and the event logged; a keyspace command
// (GET after PSYNC) is refused first, as Redis does; a PSYNC with an
// offset that is not a number is refused without making the client a
// replica.
func TestReplicaClientReplies(t *testing.T) {
	s, logs := startLoggedServer(t, "--repl-diskless-sync", "no")

	rc := dialRaw(t, s)
	rc.send(t, "SYNC")
	rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := rc.br.ReadString('\n'); err != nil || !strings.HasPrefix(got, "$") {
		t.Fatalf("SYNC payload header %q %v", got, err)
	}
	rc.send(t, "PING")
	waitClosed(t, rc)
	waitUntil(t, "reply logged", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "Replica generated a reply to command 'ping', disconnecting it: id=")
	})

	rc = dialRaw(t, s)
	rc.send(t, "PSYNC", "replicationid", "-1")
	if got, err := rc.br.ReadString('\n'); err != nil || !strings.HasPrefix(got, "+FULLRESYNC ") {
		t.Fatalf("PSYNC: %q %v", got, err)
	}
	rc.send(t, "GET", "foo")
	waitClosed(t, rc)
	waitUntil(t, "refusal logged", 5*time.Second, func() bool {
		l := logs.String()
		return strings.Contains(l, "Replica generated a reply to command 'get', disconnecting it: ") &&
			strings.Contains(l, "== CRITICAL == This master is sending an error to its replica: 'ERR Replica can't interact with the keyspace'")
	})

	rc = dialRaw(t, s)
	if got := rc.do(t, "PSYNC", "replicationid", "offset_str"); got != "-ERR value is not an integer or out of range\r\n" {
		t.Fatalf("PSYNC with a bad offset: %q", got)
	}
	if got := rc.do(t, "PING"); got != "+PONG\r\n" {
		t.Fatalf("PING after the refused PSYNC: %q", got)
	}
	if !strings.Contains(logs.String(), "asks for synchronization but with a wrong offset") {
		t.Fatalf("no wrong-offset line in the log:\n%s", logs.String())
	}
}

// waitClosed reads until the server closes the connection (what it sent
// before does not matter).
func waitClosed(t *testing.T, rc *rawConn) {
	t.Helper()
	rc.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64<<10)
	for {
		if _, err := rc.br.Read(buf); err != nil {
			if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
				t.Fatalf("connection still open")
			}
			return
		}
	}
}
