package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFailoverCommand: FAILOVER's refusals as Redis words them, then a
// coordinated switch to a named replica: the old master ends up a
// replica of the new one with every write, by a partial resync.
func TestFailoverCommand(t *testing.T) {
	m := startTestServer(t)
	r := startTestServer(t, "--replica-announce-ip", "127.0.0.1")
	mc, rc := dialRaw(t, m), dialRaw(t, r)
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"FAILOVER", "ABORT"}, "-ERR No failover in progress.\r\n"},
		{[]string{"FAILOVER"}, "-ERR FAILOVER requires connected replicas.\r\n"},
		{[]string{"FAILOVER", "TIMEOUT", "0"}, "-ERR FAILOVER timeout must be greater than 0\r\n"},
		{[]string{"FAILOVER", "BOGUS"}, "-ERR syntax error\r\n"},
	} {
		if got := mc.do(t, tc.argv...); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.argv, got, tc.want)
		}
	}
	replicateFrom(t, rc, m)
	// The replica's link is up once it loaded the snapshot; the master
	// counts it online only at its first acknowledgement after that, and
	// FAILOVER TO needs it online (as Redis's does).
	waitUntil(t, "the master sees the replica online", 10*time.Second, func() bool {
		return strings.Contains(infoFields(mc.do(t, "INFO", "replication"))["slave0"], "state=online")
	})
	for i := 0; i < 100; i++ {
		mc.do(t, "SET", "k"+strconv.Itoa(i), strconv.Itoa(i))
	}
	rport := strconv.Itoa(r.Port())
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"FAILOVER", "TO", "127.0.0.1", rport, "FORCE"}, "-ERR FAILOVER with force option requires both a timeout and target HOST and IP.\r\n"},
		{[]string{"FAILOVER", "TO", "127.0.0.1", "1"}, "-ERR FAILOVER target HOST and PORT is not a replica.\r\n"},
	} {
		if got := mc.do(t, tc.argv...); got != tc.want {
			t.Errorf("%v: %q, want %q", tc.argv, got, tc.want)
		}
	}
	if got := rc.do(t, "FAILOVER"); got != "-ERR FAILOVER is not valid when server is a replica.\r\n" {
		t.Errorf("FAILOVER on the replica: %q", got)
	}
	before := infoFields(rc.do(t, "INFO", "stats"))["sync_partial_ok"]
	w := dialRaw(t, m)
	if got := mc.do(t, "FAILOVER", "TO", "127.0.0.1", rport); got != "+OK\r\n" {
		t.Fatalf("FAILOVER TO the replica: %q", got)
	}
	// A write sent now waits for the failover, then finds a replica.
	w.send(t, "SET", "during", "1")
	waitUntil(t, "the failover ends", 10*time.Second, func() bool {
		mi := infoFields(mc.do(t, "INFO", "replication"))
		ri := infoFields(rc.do(t, "INFO", "replication"))
		return mi["role"] == "slave" && mi["master_failover_state"] == "no-failover" &&
			mi["master_link_status"] == "up" && ri["role"] == "master"
	})
	if got := w.readReply(t, 10*time.Second); got != "-READONLY You can't write against a read only replica.\r\n" {
		t.Errorf("a SET held by the failover's pause: %q", got)
	}
	if got := rc.do(t, "SET", "after", "1"); got != "+OK\r\n" {
		t.Errorf("SET on the new master: %q", got)
	}
	if got := rc.do(t, "DBSIZE"); got != ":101\r\n" {
		t.Errorf("DBSIZE on the new master: %q", got)
	}
	if after := infoFields(rc.do(t, "INFO", "stats"))["sync_partial_ok"]; after == before {
		t.Errorf("the old master did not continue by a partial resync (sync_partial_ok %s -> %s)", before, after)
	}
	waitUntil(t, "the old master has the new write", 10*time.Second, func() bool {
		return mc.do(t, "GET", "after") == "$1\r\n1\r\n"
	})
	if got := mc.do(t, "SET", "x", "1"); got != "-READONLY You can't write against a read only replica.\r\n" {
		t.Errorf("SET on the old master: %q", got)
	}
}
