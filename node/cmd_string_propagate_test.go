package node

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stringTestClient returns a client of a server that is not listening:
// commands run through the dispatcher directly.
func stringTestClient(t *testing.T) *Client {
	t.Helper()
	s := newTestServer(t)
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return s.newClient(a)
}

// runPropagated executes one command and returns what would go to
// replicas: "" when the command changed nothing, else the argv joined by
// spaces.
func runPropagated(c *Client, line string) string {
	var args [][]byte
	for _, f := range strings.Fields(line) {
		args = append(args, []byte(f))
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	dirty := c.srv.dirty
	c.w.B = c.w.B[:0]
	c.batchWall, c.batchMono = time.Now(), monoNow()
	c.srv.call(c, args)
	if c.srv.dirty == dirty {
		return ""
	}
	pa := c.propagateArgv
	if pa == nil {
		pa = args
	}
	parts := make([]string, len(pa))
	for i, a := range pa {
		parts[i] = string(a)
	}
	return strings.Join(parts, " ")
}

// The effects Redis 7.0 propagates instead of these commands (see the
// replication-stream assertions of Redis's string.tcl and expire.tcl).
func TestStringCommandsPropagateEffects(t *testing.T) {
	c := stringTestClient(t)
	ts := func(s string) bool {
		n, err := strconv.ParseInt(s, 10, 64)
		return err == nil && n > 1_000_000_000_000
	}
	cases := []struct {
		cmd  string
		want string // "*" in the last position matches a unix ms time
	}{
		{"SET k v EX 100", "SET k v PXAT *"},
		{"SET k v pxat 4000000000000", "SET k v PXAT 4000000000000"},
		{"SET k v GET", "SET k v"},
		{"SET k v xx get keepttl", "SET k v xx keepttl"},
		{"SETEX k 100 v", "SET k v PXAT *"},
		{"PSETEX k 100000 v", "SET k v PXAT *"},
		{"GETEX k", ""},
		{"GETEX k EX 100", "PEXPIREAT k *"},
		{"GETEX k PERSIST", "PERSIST k"},
		{"GETEX k PERSIST", ""},
		{"GETEX k EXAT 1", "DEL k"},
		{"GETSET k v2", "SET k v2"},
		{"GETDEL k", "DEL k"},
		{"GETDEL k", ""},
		{"INCRBYFLOAT f 1.5", "SET f 1.5 KEEPTTL"},
		{"INCRBYFLOAT f 0.1", "SET f 1.6 KEEPTTL"},
		{"SETNX n 1", "SETNX n 1"},
		{"SETNX n 1", ""},
		{"SETBIT b 7 0", "SETBIT b 7 0"},
		{"SETBIT b 7 0", ""},
		{"BITFIELD b GET u8 0", ""},
		{"BITFIELD b OVERFLOW FAIL INCRBY u2 0 9", ""},
		{"SETRANGE b 0 x", "SETRANGE b 0 x"},
	}
	for _, tc := range cases {
		got := runPropagated(c, tc.cmd)
		want := tc.want
		if strings.HasSuffix(want, "*") {
			i := strings.LastIndexByte(got, ' ')
			if i < 0 || !ts(got[i+1:]) {
				t.Errorf("%s propagated %q, want %q", tc.cmd, got, want)
				continue
			}
			got = got[:i+1] + "*"
		}
		if got != want {
			t.Errorf("%s propagated %q, want %q", tc.cmd, got, want)
		}
	}
}
