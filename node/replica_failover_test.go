package node

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
)

// failoverTx is the transaction a sentinel sends to a data node to
// promote it (SLAVEOF NO ONE) or re-point it; it ignores the replies.
func failoverTx(t *testing.T, c *rawConn, slaveof ...string) string {
	t.Helper()
	for _, cmd := range [][]string{{"MULTI"}, append([]string{"SLAVEOF"}, slaveof...), {"CONFIG", "REWRITE"},
		{"CLIENT", "KILL", "TYPE", "normal"}, {"CLIENT", "KILL", "TYPE", "pubsub"}} {
		c.send(t, cmd...)
	}
	for i := 0; i < 5; i++ {
		c.readReply(t, 5*time.Second) // +OK, +QUEUED...
	}
	return do(t, c, "EXEC")
}

// The sentinel's failover transaction on a replica started from a config
// file: the role changes, CONFIG REWRITE persists it (the replicaof line
// goes and comes back, as redis-server writes it), the other clients are
// killed and the caller is not.
func TestReplicaFailoverTransactionRewritesConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "redis.conf")
	conf := "port 0\nbind 127.0.0.1\nsave \"\"\ndir " + dir + "\nreplicaof 127.0.0.1 1\nslave-priority 7\n"
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(s.Shutdown)

	c, other, sub := dialRaw(t, s), dialRaw(t, s), dialRaw(t, s)
	expect(t, other, "+PONG\r\n", "PING")
	expect(t, sub, "*3\r\n$9\r\nsubscribe\r\n$18\r\n__sentinel__:hello\r\n:1\r\n", "SUBSCRIBE", "__sentinel__:hello")
	expect(t, c, "*2\r\n$9\r\nreplicaof\r\n$11\r\n127.0.0.1 1\r\n", "CONFIG", "GET", "replicaof")
	expect(t, c, "-ERR CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config\r\n", "CONFIG", "SET", "replicaof", "127.0.0.1 2")
	if got := do(t, c, "INFO", "replication"); !strings.Contains(got, "role:slave\r\n") || !strings.Contains(got, "slave_priority:7\r\n") {
		t.Fatalf("INFO replication of the replica: %q", got)
	}

	// Promotion.
	if got, want := failoverTx(t, c, "NO", "ONE"), "*4\r\n+OK\r\n+OK\r\n:1\r\n:1\r\n"; got != want {
		t.Fatalf("promotion EXEC: %q, want %q", got, want)
	}
	expect(t, c, "+PONG\r\n", "PING") // the caller survives its CLIENT KILLs
	for _, k := range []*rawConn{other, sub} {
		k.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		if b, err := k.br.ReadByte(); err == nil || isTimeout(err) {
			t.Fatalf("killed client still connected (read %q, %v)", b, err)
		}
	}
	data, _ := os.ReadFile(file)
	if strings.Contains(string(data), "replicaof") || !strings.Contains(string(data), "\nreplica-priority 7\n") {
		t.Fatalf("rewritten config after promotion:\n%s", data)
	}
	expect(t, c, "*2\r\n$9\r\nreplicaof\r\n$0\r\n\r\n", "CONFIG", "GET", "replicaof")
	if got := do(t, c, "HELLO"); !strings.Contains(got, "$4\r\nrole\r\n$6\r\nmaster\r\n") {
		t.Fatalf("HELLO after promotion: %q", got)
	}
	if got := do(t, c, "INFO", "replication"); !strings.Contains(got, "role:master\r\n") {
		t.Fatalf("INFO after promotion: %q", got)
	}

	// Re-pointing (SLAVEOF inside MULTI) is persisted the same way.
	if got, want := failoverTx(t, c, "127.0.0.1", "1"), "*4\r\n+OK\r\n+OK\r\n:0\r\n:0\r\n"; got != want {
		t.Fatalf("re-point EXEC: %q, want %q", got, want)
	}
	data, _ = os.ReadFile(file)
	if !strings.Contains(string(data), "\nreplicaof 127.0.0.1 1\n") {
		t.Fatalf("rewritten config after SLAVEOF:\n%s", data)
	}
	again, err := config.Load(file, nil)
	if err != nil || again.String("replicaof") != "127.0.0.1 1" || again.Int("replica-priority") != 7 {
		t.Fatalf("reloading the rewritten config: %v, replicaof %q", err, again.String("replicaof"))
	}
}

// Without a config file CONFIG REWRITE fails inside the transaction, and
// the rest of it still runs (EXEC is not aborted).
func TestFailoverTransactionWithoutConfigFile(t *testing.T) {
	s := startTestServer(t)
	c := dialRaw(t, s)
	want := "*4\r\n+OK\r\n-ERR The server is running without a config file\r\n:0\r\n:0\r\n"
	if got := failoverTx(t, c, "NO", "ONE"); got != want {
		t.Fatalf("EXEC: %q, want %q", got, want)
	}
	if got := failoverTx(t, c, "127.0.0.1", "1"); got != want {
		t.Fatalf("EXEC: %q, want %q", got, want)
	}
	if got := do(t, c, "INFO", "replication"); !strings.Contains(got, "role:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:1\r\n") {
		t.Fatalf("SLAVEOF inside MULTI did not apply: %q", got)
	}
	expect(t, c, "+OK\r\n", "SLAVEOF", "NO", "ONE")
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
