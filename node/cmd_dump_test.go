package node

import (
	"encoding/binary"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/rdb"
)

// dumpTestServer is a server that is not listening, with dir as its
// persistence directory; commands run through the dispatcher directly.
func dumpTestServer(t *testing.T, dir string) (*Server, *Client) {
	t.Helper()
	s := newTestServer(t, "--dir", dir, "--enable-debug-command", "yes")
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return s, s.newClient(a)
}

// dumpRun executes one command; it returns the raw reply and what would
// be propagated to replicas ("" when nothing changed).
func dumpRun(c *Client, args ...string) (reply, prop string) {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	dirty := c.srv.dirty
	c.w.B = c.w.B[:0]
	c.batchWall, c.batchMono = time.Now(), monoNow()
	c.srv.call(c, argv)
	reply = string(c.w.B)
	if c.srv.dirty == dirty {
		return reply, ""
	}
	pa := c.propagateArgv
	if pa == nil {
		pa = argv
	}
	parts := make([]string, len(pa))
	for i, a := range pa {
		parts[i] = string(a)
	}
	return reply, strings.Join(parts, " ")
}

func bulkOf(t *testing.T, reply string) string {
	t.Helper()
	if !strings.HasPrefix(reply, "$") {
		t.Fatalf("not a bulk reply: %q", reply)
	}
	i := strings.Index(reply, "\r\n")
	n, _ := strconv.Atoi(reply[1:i])
	return reply[i+2 : i+2+n]
}

func TestRestoreErrorsInRedisOrder(t *testing.T) {
	_, c := dumpTestServer(t, t.TempDir())
	dumpRun(c, "SET", "s", "hello")
	good := bulkOf(t, mustReply(dumpRun(c, "DUMP", "s")))
	badCRC := []byte(good)
	badCRC[len(badCRC)-1] ^= 1
	// A payload with a valid footer around a body that is not a value.
	body := []byte{42, 1, 2}
	body = binary.LittleEndian.AppendUint16(body, rdb.Version)
	body = binary.LittleEndian.AppendUint64(body, rdb.CRC64(body))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"RESTORE", "s", "0", good}, "-BUSYKEY Target key name already exists.\r\n"},
		{[]string{"RESTORE", "n", "-1", good}, "-ERR Invalid TTL value, must be >= 0\r\n"},
		{[]string{"RESTORE", "n", "x", good}, "-ERR value is not an integer or out of range\r\n"},
		{[]string{"RESTORE", "n", "0", string(badCRC)}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "n", "0", "short"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"RESTORE", "n", "0", string(body)}, "-ERR Bad data format\r\n"},
		{[]string{"RESTORE", "n", "0", good, "BOGUS"}, "-ERR syntax error\r\n"},
		{[]string{"RESTORE", "n", "0", good, "IDLETIME", "-1"}, "-ERR Invalid IDLETIME value, must be >= 0\r\n"},
		{[]string{"RESTORE", "n", "0", good, "FREQ", "256"}, "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"},
		{[]string{"RESTORE", "n", "0", good, "IDLETIME", "1", "FREQ", "1"}, "-ERR syntax error\r\n"},
		// Options are checked before the key exists check.
		{[]string{"RESTORE", "s", "0", good, "BOGUS"}, "-ERR syntax error\r\n"},
	} {
		if got, _ := dumpRun(c, tc.args...); got != tc.want {
			t.Errorf("%s: got %q, want %q", strings.Join(tc.args[:3], " "), got, tc.want)
		}
	}
	if got, _ := dumpRun(c, "EXISTS", "n"); got != ":0\r\n" {
		t.Errorf("a failed RESTORE created the key: %q", got)
	}
	if got, _ := dumpRun(c, "DUMP", "missing"); got != "$-1\r\n" {
		t.Errorf("DUMP of a missing key: %q", got)
	}
}

func mustReply(reply, _ string) string { return reply }

func TestRestorePropagatesEffects(t *testing.T) {
	_, c := dumpTestServer(t, t.TempDir())
	dumpRun(c, "RPUSH", "l", "a", "b")
	payload := bulkOf(t, mustReply(dumpRun(c, "DUMP", "l")))

	// A relative TTL goes to replicas as an absolute one with ABSTTL.
	before := time.Now().UnixMilli()
	reply, prop := dumpRun(c, "RESTORE", "copy", "50000", payload)
	if reply != "+OK\r\n" {
		t.Fatalf("RESTORE: %q", reply)
	}
	f := strings.SplitN(prop, " ", 4)
	if len(f) != 4 || f[0] != "RESTORE" || f[1] != "copy" || f[3] != payload+" ABSTTL" {
		t.Fatalf("propagated %q", prop)
	}
	if at, _ := strconv.ParseInt(f[2], 10, 64); at < before+50000 || at > time.Now().UnixMilli()+50000 {
		t.Errorf("propagated expiry %d not 50 s from now", at)
	}
	if got, _ := dumpRun(c, "LRANGE", "copy", "0", "-1"); got != "*2\r\n$1\r\na\r\n$1\r\nb\r\n" {
		t.Errorf("restored list: %q", got)
	}
	// An expiry in the past with REPLACE deletes the old key: a DEL.
	reply, prop = dumpRun(c, "RESTORE", "copy", "1000", payload, "REPLACE", "ABSTTL")
	if reply != "+OK\r\n" || prop != "DEL copy" {
		t.Errorf("past ABSTTL with REPLACE: reply %q, propagated %q", reply, prop)
	}
	if got, _ := dumpRun(c, "EXISTS", "copy"); got != ":0\r\n" {
		t.Errorf("key restored with a past expiry exists: %q", got)
	}
	// Without an old key there is nothing to propagate.
	if reply, prop = dumpRun(c, "RESTORE", "copy", "1000", payload, "ABSTTL"); reply != "+OK\r\n" || prop != "" {
		t.Errorf("past ABSTTL: reply %q, propagated %q", reply, prop)
	}
	// IDLETIME sets the access clock back.
	dumpRun(c, "RESTORE", "idle", "0", payload, "IDLETIME", "1000")
	if got, _ := dumpRun(c, "OBJECT", "IDLETIME", "idle"); got != ":1000\r\n" && got != ":1001\r\n" {
		t.Errorf("OBJECT IDLETIME after RESTORE IDLETIME 1000: %q", got)
	}
}

func TestSaveThenLoadAtStartup(t *testing.T) {
	dir := t.TempDir()
	_, c := dumpTestServer(t, dir)
	dumpRun(c, "SET", "s", "v")
	dumpRun(c, "SET", "ttl", "v", "PX", "100000")
	dumpRun(c, "HSET", "h", "f", "1")
	dumpRun(c, "SELECT", "7")
	dumpRun(c, "SADD", "set", "1", "2", "x")
	if got, _ := dumpRun(c, "SAVE"); got != "+OK\r\n" {
		t.Fatalf("SAVE: %q", got)
	}
	if got, _ := dumpRun(c, "LASTSAVE"); got != ":"+strconv.FormatInt(time.Now().Unix(), 10)+"\r\n" {
		t.Logf("LASTSAVE %q (may straddle a second)", got)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "dump.rdb" {
		t.Fatalf("dir holds %v (err %v), want only dump.rdb", entries, err)
	}

	s2, c2 := dumpTestServer(t, dir)
	if err := s2.LoadRDB(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range [][2]string{
		{"GET s", "$1\r\nv\r\n"}, {"HGET h f", "$1\r\n1\r\n"}, {"SELECT 7", "+OK\r\n"},
		{"SCARD set", ":3\r\n"}, {"OBJECT ENCODING set", "$9\r\nhashtable\r\n"},
		{"SELECT 0", "+OK\r\n"}, {"DBSIZE", ":3\r\n"},
	} {
		if got, _ := dumpRun(c2, strings.Fields(tc[0])...); got != tc[1] {
			t.Errorf("%s: %q, want %q", tc[0], got, tc[1])
		}
	}
	if got, _ := dumpRun(c2, "PTTL", "ttl"); !strings.HasPrefix(got, ":9") {
		t.Errorf("PTTL after load: %q", got)
	}
}

func TestLoadRDBRefusesCorruptFile(t *testing.T) {
	dir := t.TempDir()
	_, c := dumpTestServer(t, dir)
	dumpRun(c, "SET", "s", strings.Repeat("v", 100))
	dumpRun(c, "SAVE")
	path := filepath.Join(dir, "dump.rdb")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)-12], 0o644); err != nil {
		t.Fatal(err)
	}
	s2, _ := dumpTestServer(t, dir)
	err = s2.LoadRDB()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "offset") {
		t.Fatalf("LoadRDB of a truncated file: %v", err)
	}
	// A missing file is an empty dataset.
	os.Remove(path)
	if err := s2.LoadRDB(); err != nil {
		t.Fatalf("LoadRDB without a file: %v", err)
	}
}

func TestDebugReloadReplies(t *testing.T) {
	dir := t.TempDir()
	_, c := dumpTestServer(t, dir)
	dumpRun(c, "SET", "k", "v")
	for _, tc := range [][2]string{
		{"DEBUG RELOAD BOGUS", "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"},
		{"DEBUG RELOAD", "+OK\r\n"},
		{"GET k", "$1\r\nv\r\n"},
		{"DEBUG RELOAD NOSAVE NOFLUSH", "-ERR Error trying to load the RDB dump\r\n"}, // k is in both
		{"DEBUG RELOAD NOSAVE NOFLUSH MERGE", "+OK\r\n"},
		{"DBSIZE", ":1\r\n"},
	} {
		if got, _ := dumpRun(c, strings.Fields(tc[0])...); got != tc[1] {
			t.Errorf("%s: %q, want %q", tc[0], got, tc[1])
		}
	}
	os.Remove(filepath.Join(dir, "dump.rdb"))
	if got, _ := dumpRun(c, "DEBUG", "RELOAD", "NOSAVE"); got != "-ERR Error trying to load the RDB dump\r\n" {
		t.Errorf("DEBUG RELOAD NOSAVE without a file: %q", got)
	}
	if got, _ := dumpRun(c, "GET", "k"); got != "$1\r\nv\r\n" {
		t.Errorf("a failed reload lost the dataset: %q", got)
	}
}
