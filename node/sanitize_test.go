package node

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/rdb"
)

// sanitizeServer is dumpTestServer with its log kept in a buffer.
func sanitizeServer(t *testing.T, opts ...string) (*Server, *Client, *bytes.Buffer) {
	t.Helper()
	s, c := dumpTestServer(t, t.TempDir())
	var log bytes.Buffer
	s.log = hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Info})
	for i := 0; i+1 < len(opts); i += 2 {
		if r, _ := dumpRun(c, "CONFIG", "SET", opts[i], opts[i+1]); r != "+OK\r\n" {
			t.Fatalf("CONFIG SET %s %s: %q", opts[i], opts[i+1], r)
		}
	}
	return s, c, &log
}

// testPayload frames an RDB value (type byte first) as a DUMP payload.
func testPayload(body []byte) string {
	p := append(bytes.Clone(body), rdb.Version, 0)
	return string(binary.LittleEndian.AppendUint64(p, rdb.CRC64(p)))
}

// brokenHashListpack is RDB type 16 holding field "a" value "1", field
// "b" and a last element whose back-length is wrong: its header and
// terminator are right, so only a deep check sees it.
func brokenHashListpack() []byte {
	lp := []byte{0, 0, 0, 0, 3, 0, 0x81, 'a', 2, 0x01, 1, 0x81, 'b', 7, 0xFF}
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	return append([]byte{16, byte(len(lp))}, lp...)
}

func TestRestoreSkipChecksum(t *testing.T) {
	_, c, _ := sanitizeServer(t)
	p := []byte(testPayload([]byte{0, 1, 'v'}))
	p[len(p)-1] ^= 0xFF
	if r, _ := dumpRun(c, "RESTORE", "k", "0", string(p)); r != "-ERR DUMP payload version or checksum are wrong\r\n" {
		t.Fatalf("bad CRC: %q", r)
	}
	dumpRun(c, "DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1")
	if r, _ := dumpRun(c, "RESTORE", "k", "0", string(p)); r != "+OK\r\n" {
		t.Fatalf("bad CRC skipped: %q", r)
	}
	p[len(p)-10] = rdb.Version + 1 // the version is still checked
	if r, _ := dumpRun(c, "RESTORE", "k2", "0", string(p)); r != "-ERR DUMP payload version or checksum are wrong\r\n" {
		t.Fatalf("version %d: %q", rdb.Version+1, r)
	}
	dumpRun(c, "DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0")
	p[len(p)-10] = rdb.Version
	if r, _ := dumpRun(c, "RESTORE", "k3", "0", string(p)); !strings.Contains(r, "checksum") {
		t.Fatalf("switch off again: %q", r)
	}
}

// TestRestoreDeepSanitization: with sanitize-dump-payload yes the corrupt
// listpack is refused with Redis's log line; with no it is restored, and
// reading it is refused (Redis's assertion lines logged once) while
// commands that do not read it work.
func TestRestoreDeepSanitization(t *testing.T) {
	p := testPayload(brokenHashListpack())
	_, c, log := sanitizeServer(t, "sanitize-dump-payload", "yes", "loglevel", "verbose")
	if r, _ := dumpRun(c, "RESTORE", "h", "0", p); r != "-ERR Bad data format\r\n" {
		t.Fatalf("deep: %q", r)
	}
	if !strings.Contains(log.String(), "Internal error in RDB reading") || !strings.Contains(log.String(), "Hash listpack integrity check failed.") {
		t.Fatalf("deep: log lacks Redis's line:\n%s", log)
	}

	s, c, log := sanitizeServer(t, "sanitize-dump-payload", "no")
	for _, step := range []struct{ cmd, want string }{
		{"RESTORE h 0 " + p, "+OK\r\n"},
		{"TYPE h", "+hash\r\n"},
		{"EXISTS h", ":1\r\n"},
		{"HLEN h", "-ERR the value of key 'h' is corrupt"},
		{"HGETALL h", "-ERR the value of key 'h' is corrupt"},
		{"GET h", "-WRONGTYPE"},
		{"DUMP h", "-ERR the value of key 'h' is corrupt"},
		{"DEL h", ":1\r\n"},
		{"HSET h f v", ":1\r\n"}, // a new value: nothing corrupt about it
		{"HLEN h", ":1\r\n"},
	} {
		args := strings.SplitN(step.cmd, " ", 4)
		if args[0] != "RESTORE" {
			args = strings.Fields(step.cmd)
		}
		if r, _ := dumpRun(c, args...); !strings.HasPrefix(r, step.want) {
			t.Fatalf("%.20s: %q, want %q", step.cmd, r, step.want)
		}
	}
	if n := strings.Count(log.String(), "ASSERTION FAILED"); n != 1 {
		t.Fatalf("ASSERTION FAILED logged %d times:\n%s", n, log)
	}
	// The key deleted, commands no longer look for corrupt values.
	if len(s.x.dump.corrupt) != 0 {
		t.Fatalf("%d corrupt values still followed", len(s.x.dump.corrupt))
	}
	// A new RESTORE REPLACE over a corrupt value replaces it.
	dumpRun(c, "RESTORE", "h2", "0", p)
	if r, _ := dumpRun(c, "RESTORE", "h2", "0", testPayload([]byte{0, 1, 'v'}), "REPLACE"); r != "+OK\r\n" {
		t.Fatalf("replace: %q", r)
	}
	if r, _ := dumpRun(c, "GET", "h2"); r != "$1\r\nv\r\n" {
		t.Fatalf("after replace: %q", r)
	}
}

// TestRestoreSanitizeClients: with clients, a client's RESTORE is checked
// deeply unless its user has skip-sanitize-payload.
func TestRestoreSanitizeClients(t *testing.T) {
	p := testPayload(brokenHashListpack())
	_, c, _ := sanitizeServer(t, "sanitize-dump-payload", "clients")
	if r, _ := dumpRun(c, "RESTORE", "h", "0", p); r != "-ERR Bad data format\r\n" {
		t.Fatalf("client: %q", r)
	}
	for _, cmd := range [][]string{
		{"ACL", "SETUSER", "loader", "on", "nopass", "+@all", "~*", "skip-sanitize-payload"},
		{"AUTH", "loader", "x"},
	} {
		if r, _ := dumpRun(c, cmd...); r != "+OK\r\n" {
			t.Fatalf("%v: %q", cmd, r)
		}
	}
	if r, _ := dumpRun(c, "RESTORE", "h", "0", p); r != "+OK\r\n" {
		t.Fatalf("skip-sanitize-payload user: %q", r)
	}
}

// TestRestoreDupListpackConversion: a hash listpack too long for the
// configured encoding is converted during the RESTORE, so a duplicate
// field in it is found then: Redis logs the listpack (and panics); it is
// logged the same way and refused.
func TestRestoreDupListpackConversion(t *testing.T) {
	lp := []byte{0, 0, 0, 0, 4, 0, 0x81, 'a', 2, 0x01, 1, 0x81, 'a', 2, 0x02, 1, 0xFF}
	binary.LittleEndian.PutUint32(lp, uint32(len(lp)))
	p := testPayload(append([]byte{16, byte(len(lp))}, lp...))
	_, c, log := sanitizeServer(t, "sanitize-dump-payload", "no", "hash-max-listpack-entries", "1")
	if r, _ := dumpRun(c, "RESTORE", "h", "0", p); r != "-ERR Bad data format\r\n" {
		t.Fatalf("restore: %q", r)
	}
	if n := strings.Count(log.String(), "listpack with dup elements"); n != 1 {
		t.Fatalf("dump title logged %d times:\n%s", n, log)
	}
}

// TestLoadCorruptRDBLogsRedisLines: a file whose ziplist is corrupt ends
// the load with Redis's lines, and empty keys are skipped by name.
func TestLoadCorruptRDBLogsRedisLines(t *testing.T) {
	dir := t.TempDir()
	s, _ := dumpTestServer(t, dir)
	var log bytes.Buffer
	s.log = hclog.New(&hclog.LoggerOptions{Output: &log, Level: hclog.Info})
	file := func(values ...[]byte) []byte {
		b := []byte("REDIS0010\xfe\x00")
		for _, v := range values {
			b = append(b, v...)
		}
		b = append(b, 0xFF)
		return binary.LittleEndian.AppendUint64(b, rdb.CRC64(b))
	}
	// An empty list (type 1) and a list ziplist (type 10) whose count
	// says 2 entries for 1.
	zl := []byte{0, 0, 0, 0, 10, 0, 0, 0, 2, 0, 0, 0x01, 'x', 0xFF}
	binary.LittleEndian.PutUint32(zl, uint32(len(zl)))
	empty := []byte{1, 1, 'e', 0}
	bad := append([]byte{10, 1, 'z', byte(len(zl))}, zl...)

	path := filepath.Join(dir, "dump.rdb")
	if err := os.WriteFile(path, file(empty), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadRDB(); err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, want := range []string{"rdbLoadObject skipping empty key: e", "Done loading RDB, keys loaded: 0, keys expired: 0, empty keys skipped: 1."} {
		if !strings.Contains(log.String(), want) {
			t.Fatalf("log lacks %q:\n%s", want, log.String())
		}
	}
	if err := os.WriteFile(path, file(empty, bad), 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	err := s.LoadRDB()
	var logged *LoadErrorLogged
	if !errors.As(err, &logged) {
		t.Fatalf("load: %v, want a logged load error", err)
	}
	if n := strings.Count(log.String(), "integrity check failed"); n < 2 {
		t.Fatalf("integrity lines %d:\n%s", n, log.String())
	}
	if !strings.HasSuffix(strings.TrimSpace(log.String()), "Terminating server after rdb file reading failure.") {
		t.Fatalf("last line:\n%s", log.String())
	}
}
