package node

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReplicaIgnoresMaxmemory: with replica-ignore-maxmemory's default
// (yes) a replica over its maxmemory keeps every key its master sends and
// refuses nothing, so its dataset stays an exact copy; with no it evicts
// by its own policy.
func TestReplicaIgnoresMaxmemory(t *testing.T) {
	// The replica's memory figure starts at the process's start-up heap
	// (evict.go), so the limit leaves room for a fraction of the data.
	limit := int64(startupMemory()) + 256<<10
	master := startTestServer(t)
	replica := startTestServer(t, "--maxmemory", strconv.FormatInt(limit, 10),
		"--maxmemory-policy", "allkeys-random", "--replica-read-only", "no")
	mc, rc := dialRaw(t, master), dialRaw(t, replica)
	if got := rc.do(t, "CONFIG", "GET", "slave-ignore-maxmemory"); got != "*2\r\n$22\r\nslave-ignore-maxmemory\r\n$3\r\nyes\r\n" {
		t.Fatalf("CONFIG GET slave-ignore-maxmemory = %q, want yes (Redis's default)", got)
	}
	replicateFrom(t, rc, master)

	// About 2 MB through the replication stream, several times the room
	// the replica's limit leaves.
	const n = 2000
	val := strings.Repeat("v", 1000)
	for i := 0; i < n; i++ {
		mc.send(t, "SET", "k"+strconv.Itoa(i), val)
	}
	for i := 0; i < n; i++ {
		if got := mc.readReply(t, 10*time.Second); got != "+OK\r\n" {
			t.Fatalf("SET %d on the master: %q", i, got)
		}
	}
	masterOff := infoFields(mc.do(t, "INFO", "replication"))["master_repl_offset"]
	waitUntil(t, "the replica applies the whole stream", 20*time.Second, func() bool {
		return infoFields(rc.do(t, "INFO", "replication"))["slave_repl_offset"] == masterOff
	})
	// A client's own write on the (writable) replica goes through the
	// maxmemory check too; it must be neither refused nor evict.
	if got := rc.do(t, "SET", "own", "1"); got != "+OK\r\n" {
		t.Fatalf("SET on the replica over maxmemory: %q, want +OK (replicas ignore maxmemory)", got)
	}
	mem := infoFields(rc.do(t, "INFO", "memory"))
	used, _ := strconv.ParseInt(mem["used_memory"], 10, 64)
	if used <= limit {
		t.Fatalf("replica used_memory %d is not over its maxmemory %d: the test proves nothing", used, limit)
	}
	if got := rc.do(t, "DBSIZE"); got != ":"+strconv.Itoa(n+1)+"\r\n" {
		t.Fatalf("replica DBSIZE = %q, want %d: it evicted although replica-ignore-maxmemory is yes", got, n+1)
	}
	// The cron evicts too; several of its ticks (hz 10) must pass with
	// no eviction. evicted_keys is checked at each poll.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if ev := infoFields(rc.do(t, "INFO", "stats"))["evicted_keys"]; ev != "0" {
			t.Fatalf("replica evicted_keys = %s with replica-ignore-maxmemory yes", ev)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// With no, the replica evicts by its policy (here from its cron, as
	// no command runs).
	if got := rc.do(t, "CONFIG", "SET", "replica-ignore-maxmemory", "no"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET replica-ignore-maxmemory no: %q", got)
	}
	waitUntil(t, "the replica evicts with replica-ignore-maxmemory no", 10*time.Second, func() bool {
		return infoFields(rc.do(t, "INFO", "stats"))["evicted_keys"] != "0"
	})
	d := strings.TrimSpace(strings.TrimPrefix(rc.do(t, "DBSIZE"), ":"))
	if k, _ := strconv.Atoi(d); k >= n {
		t.Fatalf("replica DBSIZE %d after evicting, want fewer than %d", k, n)
	}
}
