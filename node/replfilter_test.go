package node

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readSyncPayload sends SYNC on c and returns the disk-based payload
// (skipping the keepalive newlines before its length line).
func readSyncPayload(t *testing.T, c *rawConn) []byte {
	t.Helper()
	c.send(t, "SYNC")
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the payload header: %v", err)
		}
		if line == "\n" {
			continue
		}
		if !strings.HasPrefix(line, "$") {
			t.Fatalf("payload header %q", line)
		}
		n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
		if err != nil {
			t.Fatalf("payload header %q", line)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(c.br, b); err != nil {
			t.Fatalf("reading the payload: %v", err)
		}
		return b
	}
}

// redis-cli --functions-rdb asks for the function libraries and no keys
// (integration/redis-cli "Dumping an RDB - functions only: yes").
func TestReplconfRDBFilterOnly(t *testing.T) {
	s := extTestServer(t, "--repl-diskless-sync", "no")
	c := dialRaw(t, s)
	expect(t, c, "+OK\r\n", "SET", "somekey", "somevalue")
	do(t, c, "FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('f1', function() return 1 end)")

	expect(t, c, "-ERR Unsupported rdb-filter-only option: keys\r\n", "REPLCONF", "rdb-filter-only", "keys")
	expect(t, c, "-ERR Missing rdb-filter-only values\r\n", "REPLCONF", "rdb-filter-only", "\"unbalanced")
	expect(t, c, "-ERR value is out of range, value must between 0 and 1\r\n", "REPLCONF", "rdb-only", "2")

	fn := dialRaw(t, s)
	expect(t, fn, "+OK\r\n", "REPLCONF", "rdb-only", "1")
	expect(t, fn, "+OK\r\n", "REPLCONF", "rdb-filter-only", "functions")
	p := readSyncPayload(t, fn)
	if !bytes.Contains(p, []byte("mylib")) || bytes.Contains(p, []byte("somekey")) {
		t.Fatalf("functions-only payload %q", p)
	}

	none := dialRaw(t, s)
	expect(t, none, "+OK\r\n", "REPLCONF", "rdb-filter-only", "")
	p = readSyncPayload(t, none)
	if bytes.Contains(p, []byte("mylib")) || bytes.Contains(p, []byte("somekey")) || !bytes.HasPrefix(p, []byte("REDIS")) {
		t.Fatalf("empty-filter payload %q", p)
	}

	all := dialRaw(t, s)
	p = readSyncPayload(t, all)
	if !bytes.Contains(p, []byte("mylib")) || !bytes.Contains(p, []byte("somekey")) {
		t.Fatalf("full payload %q", p)
	}
}
