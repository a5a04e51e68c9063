package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startLoadingServer starts a server on dir (holding dump.rdb) and
// returns as soon as it answers PING, -LOADING or +PONG: unlike
// StartSkiff/StartRedis it does not wait for the dataset to be loaded.
func startLoadingServer(t *testing.T, kind, dir string, extra ...string) *Server {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Kind: kind, Port: port, Dir: dir, Args: extra, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--enable-debug-command", "yes", "--enable-protected-configs", "yes"}, extra...)
	bin := redisBin
	if kind == "skiff" {
		bin, args = skiffBin, append([]string{"server"}, args...)
	}
	logf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s (port %d) output:\n%s", s.Kind, s.Port, s.LogTail(8<<10))
		}
		s.Stop()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := s.DialErr(); err == nil {
			r, err := c.Do("PING")
			c.Close()
			if err == nil && (r.Str == "PONG" || strings.HasPrefix(r.Str, "LOADING")) {
				return s
			}
		}
		if !s.Alive() || time.Now().After(deadline) {
			t.Fatalf("%s does not answer:\n%s", kind, s.LogTail(4<<10))
		}
	}
}

// waitLoaded polls PING until the server has loaded its dataset.
func waitLoaded(t *testing.T, s *Server, c *Conn, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		if r := c.MustDo(t, "PING"); r.Str == "PONG" {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s still loading after %v", s.Kind, timeout)
	return 0
}

// loadInfoFields parses an INFO reply.
func loadInfoFields(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// compareLoadingInfo compares INFO persistence of two loading servers:
// the same fields, equal values except those that depend on how far each
// has got.
func compareLoadingInfo(t *testing.T, what string, rs, sk Reply, moving ...string) {
	t.Helper()
	rm, sm := loadInfoFields(rs.Str), loadInfoFields(sk.Str)
	skip := map[string]bool{"loading_loaded_bytes": true, "loading_loaded_perc": true, "loading_eta_seconds": true,
		"rdb_last_load_keys_loaded": true, "rdb_last_save_time": true, "loading_start_time": true}
	for _, k := range moving {
		skip[k] = true
	}
	for k, v := range rm {
		sv, ok := sm[k]
		switch {
		case !ok:
			t.Errorf("%s: skiff's INFO persistence lacks %s (redis: %s)", what, k, v)
		case !skip[k] && sv != v:
			t.Errorf("%s: INFO %s: skiff %s, redis %s", what, k, sv, v)
		}
	}
	for k := range sm {
		if _, ok := rm[k]; !ok {
			t.Errorf("%s: skiff's INFO persistence has %s, redis's has not", what, k)
		}
	}
	for _, m := range []map[string]string{rm, sm} {
		if m["loading"] == "1" {
			loaded, _ := strconv.ParseInt(m["loading_loaded_bytes"], 10, 64)
			total, _ := strconv.ParseInt(m["loading_total_bytes"], 10, 64)
			if total > 0 && m["loading_loaded_perc"] != fmt.Sprintf("%.2f", float64(loaded)/float64(total)*100) {
				t.Errorf("%s: loading_loaded_perc %s for %d of %d bytes", what, m["loading_loaded_perc"], loaded, total)
			}
		}
	}
}

// populatedDump makes redis-server write an RDB of n keys (DEBUG
// POPULATE) and returns its path.
func populatedDump(t *testing.T, n int) string {
	t.Helper()
	rs := StartRedis(t)
	c := rs.Dial(t)
	c.MustDo(t, "DEBUG", "POPULATE", strconv.Itoa(n))
	c.Close()
	return filepath.Join(copyToDir(t, mustSave(t, rs)), "dump.rdb")
}

// TestLoadingLikeRedis starts redis-server and skiff side by side on the
// same dump.rdb of 10000 keys with key-load-delay 500: during the load
// both must answer every command the same (-LOADING for commands without
// the loading flag; INFO, CONFIG, MULTI/EXEC, SELECT, SUBSCRIBE... run)
// with the same INFO persistence fields, then serve the same data.
func TestLoadingLikeRedis(t *testing.T) {
	dump := populatedDump(t, 10000)
	opts := []string{"--key-load-delay", "500", "--loading-process-events-interval-bytes", "1024"}
	rs := startLoadingServer(t, "redis", copyToDir(t, dump), opts...)
	sk := startLoadingServer(t, "skiff", copyToDir(t, dump), opts...)
	rc, sc := rs.Dial(t), sk.Dial(t)
	defer rc.Close()
	defer sc.Close()
	cmds := [][]string{
		{"PING"}, {"GET", "key:1"}, {"DBSIZE"}, {"SET", "a", "b"}, {"BLPOP", "l", "1"}, {"KEYS", "*"},
		{"CONFIG", "GET", "key-load-delay"}, {"CONFIG", "GET", "loading-process-events-interval-bytes"},
		{"CONFIG", "SET", "loglevel", "notice"}, {"CONFIG", "SET", "dir", "/tmp"},
		{"CONFIG", "SET", "maxclients", "bad", "dir", "/tmp"},
		{"MULTI"}, {"GET", "key:1"}, {"PING"}, {"EXEC"},
		{"ECHO", "x"}, {"SELECT", "1"}, {"SELECT", "0"}, {"CLIENT", "SETNAME", "n"}, {"CLIENT", "GETNAME"},
		{"TIME", "x"}, {"LASTSAVE", "x"}, {"ROLE", "x"}, {"SAVE"}, {"BGSAVE"}, {"FLUSHALL"}, {"REPLICAOF", "NO", "ONE"},
		{"SUBSCRIBE", "ch"}, {"UNSUBSCRIBE"}, {"PUBLISH", "ch", "m"}, {"NOSUCH"}, {"GET"},
	}
	for _, cmd := range cmds {
		r, s := rc.MustDo(t, cmd...), sc.MustDo(t, cmd...)
		if !r.Equal(s) {
			t.Errorf("%s while loading: skiff %s, redis %s", fmtArgv(cmd), s, r)
		}
	}
	ri, si := rc.MustDo(t, "INFO", "persistence"), sc.MustDo(t, "INFO", "persistence")
	if loadInfoFields(ri.Str)["loading"] != "1" {
		t.Fatalf("redis no longer loading: the comparison is void (slow machine?)\n%s", ri.Str)
	}
	if loadInfoFields(si.Str)["loading"] != "1" {
		t.Fatalf("skiff no longer loading\n%s", si.Str)
	}
	compareLoadingInfo(t, "while loading", ri, si)
	// INFO keyspace: the keyspace being filled.
	for _, c := range []*Conn{rc, sc} {
		ks := c.MustDo(t, "INFO", "keyspace").Str
		if !regexp.MustCompile(`\r\ndb0:keys=[1-9][0-9]*,expires=0,avg_ttl=0\r\n$`).MatchString(ks) {
			t.Errorf("%s INFO keyspace while loading: %q", c.srv.Kind, ks)
		}
	}
	rt, st := waitLoaded(t, rs, rc, 60*time.Second), waitLoaded(t, sk, sc, 60*time.Second)
	t.Logf("after the comparison redis loaded in %v, skiff %v later", rt, st)
	for _, cmd := range [][]string{{"PING"}, {"GET", "key:1"}, {"DBSIZE"}, {"CONFIG", "SET", "key-load-delay", "0"}} {
		r, s := rc.MustDo(t, cmd...), sc.MustDo(t, cmd...)
		if !r.Equal(s) {
			t.Errorf("%s after loading: skiff %s, redis %s", fmtArgv(cmd), s, r)
		}
	}
	compareLoadingInfo(t, "after loading", rc.MustDo(t, "INFO", "persistence"), sc.MustDo(t, "INFO", "persistence"))
}

// TestReplicaLoadingLikeRedis: a redis-server and a skiff replica of the
// same master, with key-load-delay, answer the same while they load the
// master's RDB (repl-diskless-load disabled: -LOADING once the transfer
// is over) and agree once in sync.
func TestReplicaLoadingLikeRedis(t *testing.T) {
	dump := populatedDump(t, 10000)
	master := StartRedis(t, "--dir", filepath.Dir(dump), "--repl-diskless-sync-delay", "0")
	opts := []string{"--key-load-delay", "500", "--loading-process-events-interval-bytes", "1024", "--enable-protected-configs", "yes"}
	rs, sk := StartRedis(t, opts...), StartSkiff(t, opts...)
	rc, sc := rs.Dial(t), sk.Dial(t)
	defer rc.Close()
	defer sc.Close()
	for _, c := range []*Conn{rc, sc} {
		c.MustDo(t, "SET", "old", "1")
		if r := c.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port)); r.Str != "OK" {
			t.Fatalf("REPLICAOF: %s", r)
		}
	}
	for _, c := range []*Conn{rc, sc} {
		for deadline := time.Now().Add(20 * time.Second); loadInfoFields(c.MustDo(t, "INFO", "persistence").Str)["loading"] != "1"; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s replica never loading", c.srv.Kind)
			}
		}
	}
	for _, cmd := range [][]string{{"PING"}, {"GET", "old"}, {"DBSIZE"}, {"REPLICAOF", "NO", "ONE"}, {"CONFIG", "SET", "dir", "/tmp"}, {"ECHO", "x"}} {
		r, s := rc.MustDo(t, cmd...), sc.MustDo(t, cmd...)
		if !r.Equal(s) {
			t.Errorf("%s while the replica loads: skiff %s, redis %s", fmtArgv(cmd), s, r)
		}
	}
	ri, si := rc.MustDo(t, "INFO", "persistence"), sc.MustDo(t, "INFO", "persistence")
	// used-mem is the master's at the time of each sync.
	compareLoadingInfo(t, "replica loading", ri, si, "loading_rdb_used_mem")
	for _, c := range []*Conn{rc, sc} {
		for deadline := time.Now().Add(60 * time.Second); !strings.Contains(c.MustDo(t, "INFO", "replication").Str, "master_link_status:up"); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s replica never in sync", c.srv.Kind)
			}
		}
	}
	for _, cmd := range [][]string{{"PING"}, {"GET", "old"}, {"GET", "key:1"}, {"DBSIZE"}} {
		r, s := rc.MustDo(t, cmd...), sc.MustDo(t, cmd...)
		if !r.Equal(s) {
			t.Errorf("%s once in sync: skiff %s, redis %s", fmtArgv(cmd), s, r)
		}
	}
}
