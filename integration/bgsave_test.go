package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startIn starts a server whose data directory is dataDir (kept across
// restarts, unlike the server's own temporary directory).
func startIn(t *testing.T, kind, dataDir string, extra ...string) *Server {
	t.Helper()
	s, err := startServerErr(t, kind, append(extra, "--dir", dataDir))
	if err != nil {
		t.Fatalf("start %s in %s: %v", kind, dataDir, err)
	}
	return s
}

// persistInfo reads one INFO field.
func persistInfo(t *testing.T, c *Conn, section, field string) string {
	t.Helper()
	r := c.MustDo(t, "INFO", section)
	for _, line := range strings.Split(r.Str, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s:\n%s", section, field, r.Str)
	return ""
}

// waitField polls an INFO field until it has the wanted value.
func waitField(t *testing.T, c *Conn, section, field, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := persistInfo(t, c, section, field)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO %s: %s is %q after %v, want %q", section, field, got, timeout, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seedDataset writes the same deterministic dataset to a server.
func seedDataset(t *testing.T, c *Conn, n int) {
	t.Helper()
	c.MustDo(t, "DEBUG", "POPULATE", strconv.Itoa(n), "key", "32")
	for i := 0; i < 50; i++ {
		k := fmt.Sprint(i)
		c.MustDo(t, "RPUSH", "list:"+k, "a", "b", k)
		c.MustDo(t, "HSET", "hash:"+k, "f", k, "g", "v")
		c.MustDo(t, "SADD", "set:"+k, "1", "2", k)
		c.MustDo(t, "ZADD", "zset:"+k, "1.5", "m", k, "n")
		c.MustDo(t, "PEXPIREAT", "key:"+k, "9999999999999")
		c.MustDo(t, "SELECT", "2")
		c.MustDo(t, "SET", "db2:"+k, k)
		c.MustDo(t, "SELECT", "0")
	}
}

// TestBgsavePointInTime: the file BGSAVE writes is the dataset at the
// moment BGSAVE started, however much is written while it runs. The file
// is loaded by real redis-server and its digest compared with a
// redis-server that received the same dataset.
func TestBgsavePointInTime(t *testing.T) {
	const n = 300000
	data := t.TempDir()
	sk := startIn(t, "skiff", data)
	c := sk.Dial(t)
	seedDataset(t, c, n)

	ref := StartRedis(t)
	rc := ref.Dial(t)
	seedDataset(t, rc, n)
	want := rc.MustDo(t, "DEBUG", "DIGEST").Str

	if r := c.MustDo(t, "BGSAVE"); r.Str != "Background saving started" {
		t.Fatalf("BGSAVE: %+v", r)
	}
	if r := c.MustDo(t, "BGSAVE"); r.Type != '-' || r.Str != "ERR Background save already in progress" {
		t.Fatalf("second BGSAVE: %+v", r)
	}
	// Write while the save runs: overwrite, delete, mutate in place,
	// expire, create, flush a database, and swap two.
	during := 0
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		k := fmt.Sprint(i % n)
		c.MustDo(t, "SET", "key:"+k, "changed")
		c.MustDo(t, "DEL", "key:"+fmt.Sprint((i*7919)%n))
		c.MustDo(t, "APPEND", "key:"+fmt.Sprint((i*104729)%n), "x")
		c.MustDo(t, "RPUSH", "list:"+fmt.Sprint(i%50), "new")
		c.MustDo(t, "HSET", "hash:"+fmt.Sprint(i%50), "f", "changed")
		c.MustDo(t, "ZINCRBY", "zset:"+fmt.Sprint(i%50), "1", "m")
		c.MustDo(t, "SREM", "set:"+fmt.Sprint(i%50), "1")
		c.MustDo(t, "EXPIRE", "key:"+fmt.Sprint((i*31)%n), "1000")
		c.MustDo(t, "SET", "new:"+k, "v")
		if i == 3 {
			c.MustDo(t, "SWAPDB", "0", "5")
			c.MustDo(t, "SWAPDB", "0", "5")
			c.MustDo(t, "SELECT", "2")
			c.MustDo(t, "FLUSHDB")
			c.MustDo(t, "SELECT", "0")
		}
		if i%5 == 0 {
			if persistInfo(t, c, "persistence", "rdb_bgsave_in_progress") == "0" {
				break
			}
			during = i
		}
		if time.Now().After(deadline) {
			t.Fatal("BGSAVE still running after 60s")
		}
	}
	// On a loaded machine the save may end after a few rounds; five
	// rounds (45 writes of every kind, the SWAPDB and FLUSHDB included)
	// are enough for the comparison to mean something.
	if during < 5 {
		t.Fatalf("only %d write rounds ran during BGSAVE; the test proves nothing", during)
	}
	if st := persistInfo(t, c, "persistence", "rdb_last_bgsave_status"); st != "ok" {
		t.Fatalf("rdb_last_bgsave_status %s", st)
	}
	t.Logf("%d write rounds during BGSAVE", during)

	path := filepath.Join(data, "dump.rdb")
	if out, err := exec.Command("redis-check-rdb", path).CombinedOutput(); err != nil {
		t.Fatalf("redis-check-rdb: %v\n%s", err, out)
	}
	loadDir := t.TempDir()
	if err := os.Rename(path, filepath.Join(loadDir, "dump.rdb")); err != nil {
		t.Fatal(err)
	}
	lr := startIn(t, "redis", loadDir, "--dbfilename", "dump.rdb")
	got := lr.Dial(t).MustDo(t, "DEBUG", "DIGEST").Str
	if got != want {
		t.Fatalf("digest of the saved dataset %s, want %s (the dataset before BGSAVE)", got, want)
	}
}

// TestBgsaveErrorsLikeRedis: a failing background save makes write
// commands fail with MISCONF while save points are configured, as Redis
// does, and SHUTDOWN refuses to exit without saving.
func TestBgsaveErrorsLikeRedis(t *testing.T) {
	for _, kind := range []string{"redis", "skiff"} {
		t.Run(kind, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(data, 0o755); err != nil {
				t.Fatal(err)
			}
			s := startIn(t, kind, data, "--save", "3600 1000000")
			c := s.Dial(t)
			c.MustDo(t, "SET", "a", "1")
			if err := os.RemoveAll(data); err != nil {
				t.Fatal(err)
			}
			c.MustDo(t, "BGSAVE")
			waitField(t, c, "persistence", "rdb_last_bgsave_status", "err", 10*time.Second)
			r := c.MustDo(t, "SET", "a", "2")
			if r.Type != '-' || !strings.HasPrefix(r.Str, "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.") {
				t.Fatalf("SET after failed BGSAVE: %+v", r)
			}
			if r := c.MustDo(t, "GET", "a"); r.Str != "1" {
				t.Fatalf("GET: %+v", r)
			}
			if r := c.MustDo(t, "PING"); r.Type != '-' || !strings.HasPrefix(r.Str, "MISCONF") {
				t.Fatalf("PING: %+v", r)
			}
			c.MustDo(t, "CONFIG", "SET", "stop-writes-on-bgsave-error", "no")
			if r := c.MustDo(t, "SET", "a", "3"); r.Str != "OK" {
				t.Fatalf("SET with stop-writes-on-bgsave-error no: %+v", r)
			}
			if r := c.MustDo(t, "SHUTDOWN"); r.Type != '-' || r.Str != "ERR Errors trying to SHUTDOWN. Check logs." {
				t.Fatalf("SHUTDOWN with an unwritable dir: %+v", r)
			}
		})
	}
}

// TestSavePointsAndShutdown: a save point triggers a background save;
// SHUTDOWN saves when save points are configured and not with NOSAVE.
func TestSavePointsAndShutdown(t *testing.T) {
	data := t.TempDir()
	s := startIn(t, "skiff", data, "--save", "1 2")
	c := s.Dial(t)
	before := c.MustDo(t, "LASTSAVE").Int
	c.MustDo(t, "SET", "a", "1")
	c.MustDo(t, "SET", "b", "2")
	if got := persistInfo(t, c, "persistence", "rdb_changes_since_last_save"); got != "2" {
		t.Fatalf("rdb_changes_since_last_save %s, want 2", got)
	}
	waitField(t, c, "persistence", "rdb_changes_since_last_save", "0", 10*time.Second)
	if after := c.MustDo(t, "LASTSAVE").Int; after <= before {
		t.Fatalf("LASTSAVE %d not after %d", after, before)
	}
	if _, err := os.Stat(filepath.Join(data, "dump.rdb")); err != nil {
		t.Fatalf("save point wrote no file: %v", err)
	}
	os.Remove(filepath.Join(data, "dump.rdb"))
	c.MustDo(t, "SET", "c", "3")
	c.Send("SHUTDOWN")
	if _, err := c.Read(); err == nil {
		t.Fatal("SHUTDOWN replied instead of closing the connection")
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not exit after SHUTDOWN")
	}
	path := filepath.Join(data, "dump.rdb")
	if out, err := exec.Command("redis-check-rdb", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "3 keys read") {
		t.Fatalf("SHUTDOWN save: %v\n%s", err, out)
	}
}

// TestKillDuringBgsave: kill -9 while BGSAVE writes leaves the previous
// dump.rdb intact (the new one is written aside and renamed at the end)
// and the server starts again.
func TestKillDuringBgsave(t *testing.T) {
	data := t.TempDir()
	s := startIn(t, "skiff", data)
	c := s.Dial(t)
	c.MustDo(t, "SET", "old", "1")
	c.MustDo(t, "BGSAVE")
	waitField(t, c, "persistence", "rdb_bgsave_in_progress", "0", 10*time.Second)
	path := filepath.Join(data, "dump.rdb")
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Half a million keys take seconds on a loaded 2-core machine; the
	// client's default read timeout is for ordinary commands.
	c.Timeout = 2 * time.Minute
	c.MustDo(t, "DEBUG", "POPULATE", "500000", "key", "100")
	c.MustDo(t, "BGSAVE")
	time.Sleep(30 * time.Millisecond) // let it write part of the file
	s.cmd.Process.Kill()
	<-s.exited
	now, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(now) != string(orig) && !strings.HasPrefix(string(now), "REDIS") {
		t.Fatal("dump.rdb was replaced by a partial file")
	}
	if out, err := exec.Command("redis-check-rdb", path).CombinedOutput(); err != nil {
		t.Fatalf("dump.rdb after kill -9: %v\n%s", err, out)
	}
	s2 := startIn(t, "skiff", data)
	if r := s2.Dial(t).MustDo(t, "PING"); r.Str != "PONG" {
		t.Fatalf("restart: %+v", r)
	}
}

// TestSigtermSavesBeforeExit: with save points configured, SIGTERM writes
// the final snapshot before the process exits (both servers), and a
// restart loads it.
func TestSigtermSavesBeforeExit(t *testing.T) {
	for _, kind := range []string{"redis", "skiff"} {
		data := t.TempDir()
		s := startIn(t, kind, data, "--save", "900 1")
		c := s.Dial(t)
		for i := 0; i < 2000; i++ {
			c.MustDo(t, "SET", "k"+strconv.Itoa(i), strings.Repeat("v", 100))
		}
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not exit after SIGTERM", kind)
		}
		if _, err := os.Stat(filepath.Join(data, "dump.rdb")); err != nil {
			t.Fatalf("%s: no dump.rdb after SIGTERM: %v", kind, err)
		}
		s2 := startIn(t, kind, data)
		if n := s2.Dial(t).MustDo(t, "DBSIZE").Int; n != 2000 {
			t.Errorf("%s: %d keys after restart, want 2000", kind, n)
		}
		s2.Stop()
	}
}
