package node

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
)

func (c *rawConn) do(t *testing.T, argv ...string) string {
	t.Helper()
	c.send(t, argv...)
	return c.readReply(t, 5*time.Second)
}

const loadingReply = "-LOADING Redis is loading the dataset in memory\r\n"

// infoFields parses an INFO bulk reply into its fields.
func infoFields(reply string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(reply, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
			m[k] = v
		}
	}
	return m
}

// writeDataset saves n keys (DEBUG POPULATE) as dir/dump.rdb.
func writeDataset(t *testing.T, dir string, n int) int64 {
	t.Helper()
	_, c := dumpTestServer(t, dir)
	dumpRun(c, "DEBUG", "POPULATE", strconv.Itoa(n))
	if got, _ := dumpRun(c, "SAVE"); got != "+OK\r\n" {
		t.Fatalf("SAVE: %q", got)
	}
	st, err := os.Stat(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// startLoadingServer listens and runs Load in the background, as
// cmd/skiff does; the returned channel gets Load's result.
func startLoadingServer(t *testing.T, opts ...string) (*Server, chan error) {
	t.Helper()
	s := newTestServer(t, opts...)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	done := make(chan error, 1)
	go func() { done <- s.Load() }()
	return s, done
}

func waitLoaded(t *testing.T, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the load did not finish")
	}
}

// TestLoadingRepliesLikeRedis starts a server on an RDB of 4000 keys with
// key-load-delay 2000 µs: while it loads, commands without the loading
// flag (PING, GET, DBSIZE, SET, and EXEC of a transaction that queued
// one) get -LOADING, INFO, CONFIG, SELECT, ECHO run, and INFO persistence
// reports the load as redis-server 7.0.15 does; afterwards the data is
// served.
func TestLoadingRepliesLikeRedis(t *testing.T) {
	dir := t.TempDir()
	size := writeDataset(t, dir, 4000)
	before := time.Now().Unix()
	s, done := startLoadingServer(t, "--dir", dir, "--key-load-delay", "2000",
		"--loading-process-events-interval-bytes", "1024")
	c := dialRaw(t, s)
	// The connection is accepted at once; the first reply waits for nothing.
	for _, tc := range [][]string{{"PING"}, {"GET", "key:1"}, {"DBSIZE"}, {"SET", "a", "b"}, {"BLPOP", "l", "1"}} {
		if got := c.do(t, tc...); got != loadingReply {
			t.Errorf("%v while loading: %q", tc, got)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ECHO", "x"}, "$1\r\nx\r\n"},
		{[]string{"SELECT", "1"}, "+OK\r\n"},
		{[]string{"SELECT", "0"}, "+OK\r\n"},
		{[]string{"CONFIG", "GET", "key-load-delay"}, "*2\r\n$14\r\nkey-load-delay\r\n$4\r\n2000\r\n"},
		{[]string{"CONFIG", "SET", "loglevel", "notice"}, "+OK\r\n"},
		{[]string{"CONFIG", "SET", "dir", dir}, loadingReply},
		{[]string{"CONFIG", "SET", "appendonly", "yes"}, loadingReply},
		{[]string{"CONFIG", "SET", "maxclients", "x", "dir", dir}, loadingReply},
		{[]string{"CONFIG", "SET", "nosuch", "1", "dir", dir}, "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"},
		{[]string{"MULTI"}, "+OK\r\n"},
		{[]string{"GET", "key:1"}, loadingReply},
		{[]string{"EXEC"}, "-EXECABORT Transaction discarded because of previous errors.\r\n"},
	} {
		if got := c.do(t, tc.args...); got != tc.want {
			t.Errorf("%v while loading: %q, want %q", tc.args, got, tc.want)
		}
	}
	// Progress is published at every 1024 bytes (about 50 keys here).
	var info map[string]string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info = infoFields(c.do(t, "INFO", "persistence"))
		if info["loading_loaded_bytes"] != "0" || time.Now().After(deadline) {
			break
		}
	}
	want := map[string]string{
		"loading": "1", "async_loading": "0", "loading_total_bytes": strconv.FormatInt(size, 10),
	}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("INFO %s:%s, want %s", k, info[k], v)
		}
	}
	startTime, _ := strconv.ParseInt(info["loading_start_time"], 10, 64)
	if startTime < before || startTime > time.Now().Unix() {
		t.Errorf("loading_start_time:%s, started at %d", info["loading_start_time"], before)
	}
	if mem, _ := strconv.ParseInt(info["loading_rdb_used_mem"], 10, 64); mem <= 0 {
		t.Errorf("loading_rdb_used_mem:%s (the file's used-mem AUX field)", info["loading_rdb_used_mem"])
	}
	loaded, _ := strconv.ParseInt(info["loading_loaded_bytes"], 10, 64)
	if loaded <= 0 || loaded > size {
		t.Errorf("loading_loaded_bytes:%d of %d", loaded, size)
	}
	if want := fmt.Sprintf("%.2f", float64(loaded)/float64(size)*100); info["loading_loaded_perc"] != want {
		t.Errorf("loading_loaded_perc:%s, want %s", info["loading_loaded_perc"], want)
	}
	if !regexp.MustCompile(`^\d+$`).MatchString(info["loading_eta_seconds"]) {
		t.Errorf("loading_eta_seconds:%q", info["loading_eta_seconds"])
	}
	if keys, _ := strconv.Atoi(info["rdb_last_load_keys_loaded"]); keys <= 0 || keys >= 4000 {
		t.Errorf("rdb_last_load_keys_loaded:%s while loading", info["rdb_last_load_keys_loaded"])
	}
	// INFO keyspace shows the keyspace being filled, as Redis's, counted
	// at the same moment as rdb_last_load_keys_loaded.
	all := infoFields(c.do(t, "INFO"))
	if want := "keys=" + all["rdb_last_load_keys_loaded"] + ",expires=0,avg_ttl=0"; all["db0"] != want {
		t.Errorf("INFO keyspace while loading: db0:%s, want %s", all["db0"], want)
	}
	// Progress moves on (published every 1024 bytes).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		later, _ := strconv.ParseInt(infoFields(c.do(t, "INFO", "persistence"))["loading_loaded_bytes"], 10, 64)
		if later > loaded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("loading_loaded_bytes did not advance from %d", loaded)
		}
	}
	if !s.Loading() {
		t.Fatal("Loading() false while loading")
	}
	// key-load-delay is read live, as in Redis: finish fast.
	if got := c.do(t, "CONFIG", "SET", "key-load-delay", "0"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET key-load-delay 0: %q", got)
	}
	waitLoaded(t, done)
	go s.Serve()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "+PONG\r\n"},
		{[]string{"GET", "key:1"}, "$7\r\nvalue:1\r\n"},
		{[]string{"DBSIZE"}, ":4000\r\n"},
	} {
		if got := c.do(t, tc.args...); got != tc.want {
			t.Errorf("%v after loading: %q, want %q", tc.args, got, tc.want)
		}
	}
	after := c.do(t, "INFO", "persistence")
	info = infoFields(after)
	if info["loading"] != "0" || info["rdb_last_load_keys_loaded"] != "4000" || info["rdb_last_load_keys_expired"] != "0" {
		t.Errorf("INFO after loading: loading:%s keys_loaded:%s keys_expired:%s", info["loading"],
			info["rdb_last_load_keys_loaded"], info["rdb_last_load_keys_expired"])
	}
	if strings.Contains(after, "loading_start_time") {
		t.Errorf("loading_* fields after the load:\n%s", after)
	}
}

// TestShortLoadIsNeverSeen: as Redis serves no client before its loader
// has read loading-process-events-interval-bytes (2 MB by default), the
// commands of a client connected during a smaller load are answered once
// the load is over, with the data, never -LOADING.
func TestShortLoadIsNeverSeen(t *testing.T) {
	dir := t.TempDir()
	writeDataset(t, dir, 200)
	s, done := startLoadingServer(t, "--dir", dir, "--key-load-delay", "1000") // about 0.2 s
	c := dialRaw(t, s)
	if !s.Loading() {
		t.Skip("the load ended before the test could connect")
	}
	c.send(t, "PING")
	c.send(t, "GET", "key:1")
	got := c.readReply(t, 10*time.Second) + c.readReply(t, 10*time.Second)
	if got != "+PONG\r\n$7\r\nvalue:1\r\n" {
		t.Fatalf("commands sent during a short load: %q", got)
	}
	waitLoaded(t, done)
}

// TestShutdownWhileLoadingSavesNothing: with save points, a SHUTDOWN
// (even SHUTDOWN SAVE) during the load must not write the partial
// dataset over the file, as Redis forces NOSAVE while loading.
func TestShutdownWhileLoadingSavesNothing(t *testing.T) {
	dir := t.TempDir()
	writeDataset(t, dir, 2000)
	path := filepath.Join(dir, "dump.rdb")
	orig, _ := os.ReadFile(path)
	s, done := startLoadingServer(t, "--dir", dir, "--save", "1 1", "--key-load-delay", "5000",
		"--loading-process-events-interval-bytes", "1024")
	c := dialRaw(t, s)
	if got := c.do(t, "PING"); got != loadingReply {
		t.Fatalf("PING: %q", got)
	}
	c.send(t, "SHUTDOWN", "SAVE")
	select {
	case err := <-done:
		if !errors.Is(err, ErrLoadAborted) {
			t.Fatalf("Load after SHUTDOWN: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the load did not stop")
	}
	<-s.Stopped()
	if now, _ := os.ReadFile(path); string(now) != string(orig) {
		t.Fatal("the file was rewritten by a shutdown during the load")
	}
}

// TestLoadingAOFLetsClientsIn replays an AOF of 10000 commands with
// key-load-delay: the replay holds the data lock, and must let clients
// in (every 1024 commands, as Redis) to be answered -LOADING.
func TestLoadingAOFLetsClientsIn(t *testing.T) {
	dir := t.TempDir()
	aofDir := filepath.Join(dir, "appendonlydir")
	if err := os.MkdirAll(aofDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := 0; i < 10000; i++ {
		k, v := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		fmt.Fprintf(&b, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(k), k, len(v), v)
	}
	if err := os.WriteFile(filepath.Join(aofDir, "appendonly.aof.1.incr.aof"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(aofDir, "appendonly.aof.manifest"), []byte("file appendonly.aof.1.incr.aof seq 1 type i\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, done := startLoadingServer(t, "--dir", dir, "--appendonly", "yes", "--key-load-delay", "100")
	c := dialRaw(t, s)
	if got := c.do(t, "GET", "k1"); got != loadingReply {
		t.Errorf("GET while replaying the AOF: %q", got)
	}
	info := infoFields(c.do(t, "INFO", "persistence"))
	if info["loading"] != "1" || info["loading_total_bytes"] != strconv.Itoa(b.Len()) || info["aof_enabled"] != "0" ||
		info["aof_current_size"] != "0" {
		t.Errorf("INFO while replaying: loading:%s loading_total_bytes:%s (want %d) aof_enabled:%s aof_current_size:%s",
			info["loading"], info["loading_total_bytes"], b.Len(), info["aof_enabled"], info["aof_current_size"])
	}
	if got := c.do(t, "CONFIG", "SET", "key-load-delay", "0"); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET key-load-delay 0: %q", got)
	}
	waitLoaded(t, done)
	go s.Serve()
	if got := c.do(t, "GET", "k9999"); got != "$5\r\nv9999\r\n" {
		t.Errorf("GET after the replay: %q", got)
	}
	info = infoFields(c.do(t, "INFO", "persistence"))
	if info["aof_enabled"] != "1" || info["aof_current_size"] != strconv.Itoa(b.Len()) {
		t.Errorf("after the replay: aof_enabled:%s aof_current_size:%s", info["aof_enabled"], info["aof_current_size"])
	}
}

// TestAsyncLoadingRefusesOnlyNoAsyncLoading: a replica loading with
// repl-diskless-load swapdb on the same history serves its old data; only
// the commands flagged no_async_loading get -LOADING, and INFO shows
// async_loading:1 with the loading_* fields.
func TestAsyncLoadingRefusesOnlyNoAsyncLoading(t *testing.T) {
	c := stringTestClient(t)
	s := c.srv
	replRun(c, "SET k v")
	s.mu.Lock()
	s.startLoadingLocked(1000, true)
	s.mu.Unlock()
	for _, tc := range [][2]string{
		{"GET k", "$1\r\nv\r\n"},
		{"PING", "+PONG\r\n"},
		{"BGSAVE", loadingReply},
		{"SAVE", loadingReply},
		{"REPLICAOF NO ONE", loadingReply},
		{"MULTI", "+OK\r\n"},
		{"GET k", "+QUEUED\r\n"},
		{"EXEC", "*1\r\n$1\r\nv\r\n"},
	} {
		if got := replRun(c, tc[0]); got != tc[1] {
			t.Errorf("%s while loading asynchronously: %q, want %q", tc[0], got, tc[1])
		}
	}
	info := infoFields(replRun(c, "INFO persistence"))
	if info["loading"] != "0" || info["async_loading"] != "1" || info["loading_total_bytes"] != "1000" {
		t.Errorf("INFO: loading:%s async_loading:%s loading_total_bytes:%s", info["loading"], info["async_loading"], info["loading_total_bytes"])
	}
	s.mu.Lock()
	s.startLoadingLocked(1000, false)
	s.mu.Unlock()
	// A transaction queued before a (synchronous) load started.
	s.mu.Lock()
	s.stopLoadingLocked()
	s.mu.Unlock()
	replRun(c, "MULTI")
	replRun(c, "GET k")
	s.mu.Lock()
	s.startLoadingLocked(1000, false)
	s.mu.Unlock()
	if got := replRun(c, "EXEC"); got != "-EXECABORT Transaction discarded because of: "+loadingReply[1:] {
		t.Errorf("EXEC of a queued GET while loading: %q", got)
	}
	s.mu.Lock()
	s.stopLoadingLocked()
	s.mu.Unlock()
	if got := replRun(c, "GET k"); got != "$1\r\nv\r\n" {
		t.Errorf("GET after loading: %q", got)
	}
}

// TestLoadingOptions: both options are hidden from patterns, range
// checked with Redis's texts, applied live and written by CONFIG REWRITE
// as Redis writes them.
func TestLoadingOptions(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "s.conf")
	if err := os.WriteFile(conf, []byte("port 0\nbind 127.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(conf, []string{"--dir", dir, "--save", ""})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	c := s.newClient(a)
	if got := replRun(c, "CONFIG GET *"); strings.Contains(got, "key-load-delay") || strings.Contains(got, "loading-process-events") {
		t.Error("CONFIG GET * lists hidden options")
	}
	for _, tc := range [][2]string{
		{"CONFIG GET loading-process-events-interval-bytes", "*2\r\n$37\r\nloading-process-events-interval-bytes\r\n$7\r\n2097152\r\n"},
		{"CONFIG GET key-load-delay", "*2\r\n$14\r\nkey-load-delay\r\n$1\r\n0\r\n"},
		{"CONFIG SET loading-process-events-interval-bytes 1000", "-ERR CONFIG SET failed (possibly related to argument 'loading-process-events-interval-bytes') - argument must be between 1024 and 2147483647 inclusive\r\n"},
		{"CONFIG SET loading-process-events-interval-bytes 1mb", "-ERR CONFIG SET failed (possibly related to argument 'loading-process-events-interval-bytes') - argument couldn't be parsed into an integer\r\n"},
		{"CONFIG SET key-load-delay 3000000000", "-ERR CONFIG SET failed (possibly related to argument 'key-load-delay') - argument must be between -2147483648 and 2147483647 inclusive\r\n"},
		{"CONFIG SET key-load-delay -7", "+OK\r\n"},
		{"CONFIG SET loading-process-events-interval-bytes 4096", "+OK\r\n"},
		{"CONFIG REWRITE", "+OK\r\n"},
	} {
		if got := replRun(c, tc[0]); got != tc[1] {
			t.Errorf("%s: %q, want %q", tc[0], got, tc[1])
		}
	}
	if s.ld.keyDelay.Load() != -7 || s.ld.interval.Load() != 4096 {
		t.Errorf("options not applied: key-load-delay %d, interval %d", s.ld.keyDelay.Load(), s.ld.interval.Load())
	}
	data, _ := os.ReadFile(conf)
	for _, line := range []string{"\nkey-load-delay -7\n", "\nloading-process-events-interval-bytes 4096\n"} {
		if !strings.Contains(string(data), line) {
			t.Errorf("CONFIG REWRITE wrote no %q:\n%s", strings.TrimSpace(line), data)
		}
	}
}

// TestLoadDelay checks Redis's debugDelay semantics: n > 0 sleeps n µs,
// -n sleeps 1 µs once in n calls on average.
func TestLoadDelay(t *testing.T) {
	start := time.Now()
	for i := 0; i < 20; i++ {
		loadDelay(500)
	}
	if d := time.Since(start); d < 10*time.Millisecond {
		t.Errorf("20 x key-load-delay 500 took %v", d)
	}
	start = time.Now()
	for i := 0; i < 100000; i++ {
		loadDelay(-1000000) // sleeps about once in a million calls
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("100000 x key-load-delay -1000000 took %v", d)
	}
}
