package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Logs (docs/operations.md "Logs"): log-format json, and the progress
// lines and INFO fields of long operations (RDB/AOF load, full sync).

// jsonLogLines parses every line of a log written with log-format json:
// each must be a JSON object with @level, @message and an RFC 3339
// @timestamp (hclog's JSONFormat).
func jsonLogLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s line %d is not JSON (%v): %q", path, n, err, sc.Text())
		}
		lvl, _ := m["@level"].(string)
		msg, _ := m["@message"].(string)
		ts, _ := m["@timestamp"].(string)
		if lvl == "" || msg == "" || ts == "" {
			t.Fatalf("%s line %d lacks @level/@message/@timestamp: %q", path, n, sc.Text())
		}
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Fatalf("%s line %d: @timestamp %q: %v", path, n, ts, err)
		}
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("%s is empty", path)
	}
	return out
}

// hasMessage reports whether some line's @message starts with prefix.
func hasMessage(lines []map[string]any, prefix string) bool {
	for _, m := range lines {
		if msg, _ := m["@message"].(string); strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// messages returns the @message of the lines that start with prefix.
func messages(lines []map[string]any, prefix string) []string {
	var out []string
	for _, m := range lines {
		if msg, _ := m["@message"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, msg)
		}
	}
	return out
}

// terminate sends SIGTERM and waits for the process to exit.
func terminate(t *testing.T, cmd *exec.Cmd, exited <-chan struct{}) {
	t.Helper()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("pid %d still running 5 s after SIGTERM", cmd.Process.Pid)
	}
}

// TestLogFormatJSON: skiff server, skiff sentinel and a cluster-mode node
// started with --log-format json --logfile f write only JSON lines to f;
// CONFIG GET shows the option, CONFIG SET refuses it (immutable); the
// default stays hclog's text format.
func TestLogFormatJSON(t *testing.T) {
	logDir := t.TempDir()

	// skiff server
	srvLog := filepath.Join(logDir, "server.json.log")
	sk := StartSkiff(t, "--log-format", "json", "--logfile", srvLog)
	c := sk.Dial(t)
	if r := c.MustDo(t, "CONFIG", "GET", "log-format"); len(r.Elems) != 2 || r.Elems[1].Str != "json" {
		t.Errorf("CONFIG GET log-format: %s", r)
	}
	if r := c.MustDo(t, "CONFIG", "SET", "log-format", "text"); !strings.Contains(r.Str, "can't set immutable config") {
		t.Errorf("CONFIG SET log-format text: %s, want an immutable-config error", r)
	}
	if r := c.MustDo(t, "CONFIG", "SET", "loglevel", "debug"); r.Str != "OK" {
		t.Errorf("CONFIG SET loglevel debug: %s", r)
	}
	c.MustDo(t, "SAVE") // logs a line or two
	c.Close()
	terminate(t, sk.cmd, sk.exited)
	lines := jsonLogLines(t, srvLog)
	for _, want := range []string{"Skiff ", "Ready to accept connections", "Received SIGTERM scheduling shutdown", "server stopped"} {
		if !hasMessage(lines, want) {
			t.Errorf("server log has no line %q...", want)
		}
	}
	t.Logf("server: %d JSON lines", len(lines))

	// The default: text, as before.
	tx := StartSkiff(t)
	tc := tx.Dial(t)
	if r := tc.MustDo(t, "CONFIG", "GET", "log-format"); len(r.Elems) != 2 || r.Elems[1].Str != "text" {
		t.Errorf("default CONFIG GET log-format: %s", r)
	}
	tc.Close()
	if out := tx.LogTail(4 << 10); !strings.Contains(out, "[INFO]  skiff: Ready to accept connections") || strings.Contains(out, `"@message"`) {
		t.Errorf("default log format is not hclog's text:\n%s", out)
	}

	// skiff sentinel, made to monitor a real master.
	master := StartSkiff(t)
	port, err := reserveSentinelPorts()
	if err != nil {
		t.Fatal(err)
	}
	sdir := t.TempDir()
	conf := filepath.Join(sdir, "sentinel.conf")
	if err := os.WriteFile(conf, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sentLog := filepath.Join(logDir, "sentinel.json.log")
	cmd := exec.Command(skiffBin, "sentinel", conf, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--log-format", "json", "--logfile", sentLog)
	cmd.Dir = sdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(5 * time.Second); pingOnce(addr) != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sentinel does not answer PING")
		}
	}
	sc := dialAddr(t, addr)
	// The sentinel's Raft group may still be electing its leader.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r := sc.MustDo(t, "SENTINEL", "MONITOR", "m", "127.0.0.1", strconv.Itoa(master.Port), "1")
		if r.Str == "OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("SENTINEL MONITOR: %s", r)
		}
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(sentLog)
		if strings.Contains(string(b), "+monitor") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no +monitor in the sentinel's log:\n%s", b)
		}
	}
	terminate(t, cmd, exited)
	lines = jsonLogLines(t, sentLog)
	if !hasMessage(lines, "Skiff ") {
		t.Errorf("sentinel log has no start-up line")
	}
	t.Logf("sentinel: %d JSON lines", len(lines))

	// A cluster-mode node (its Raft member logs through the same logger).
	n := newRaftNode(t, "json", "--raft-nosync", "yes", "--log-format", "json", "--logfile", "skiff.json.log")
	n.start()
	if err := n.waitUp(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	n.signal(syscall.SIGTERM)
	if err := n.waitExit(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	lines = jsonLogLines(t, filepath.Join(n.dir, "skiff.json.log"))
	modules := map[string]bool{}
	for _, m := range lines {
		mod, _ := m["@module"].(string)
		modules[mod] = true
	}
	if !modules["skiff"] || !modules["skiff.raft"] {
		t.Errorf("cluster node's log: modules %v, want skiff and skiff.raft", modules)
	}
	t.Logf("cluster node: %d JSON lines, modules %v", len(lines), modules)
}

// progressKeys is the size of the datasets of the progress tests: about
// 5 MB of RDB (DEBUG POPULATE values are short).
const progressKeys = 200000

// populatedSkiffDump has skiff write an RDB of n keys and returns the
// directory holding a copy of it.
func populatedSkiffDump(t *testing.T, n int) string {
	t.Helper()
	sk := StartSkiff(t)
	c := sk.Dial(t)
	c.MustDo(t, "DEBUG", "POPULATE", strconv.Itoa(n))
	c.Close()
	return copyToDir(t, mustSave(t, sk))
}

// watchLoading polls INFO persistence until the server shows loading:1
// with loading_loaded_perc strictly between 0 and 100, then until
// loading:0; it returns what it saw mid-load. Bounded by deadlines.
func watchLoading(t *testing.T, c *Conn) map[string]string {
	t.Helper()
	var mid map[string]string
	deadline := time.Now().Add(8 * time.Second)
	for mid == nil {
		f := loadInfoFields(c.MustDo(t, "INFO", "persistence").Str)
		if f["loading"] == "1" {
			if p, err := strconv.ParseFloat(f["loading_loaded_perc"], 64); err == nil && p > 0 && p < 100 {
				mid = f
				break
			}
		} else if f["loading"] == "0" {
			t.Fatalf("loaded before INFO showed a loading_loaded_perc between 0 and 100 (machine too fast for the key-load-delay?)")
		}
		if time.Now().After(deadline) {
			t.Fatalf("no loading progress in INFO within 8 s:\n%s", c.MustDo(t, "INFO", "persistence").Str)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		f := loadInfoFields(c.MustDo(t, "INFO", "persistence").Str)
		if f["loading"] == "0" {
			if _, ok := f["loading_loaded_perc"]; ok {
				t.Errorf("loading:0 but loading_* fields still shown")
			}
			return mid
		}
		if time.Now().After(deadline) {
			t.Fatalf("still loading after 8 s:\n%s", c.MustDo(t, "INFO", "persistence").Str)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkMidLoad checks the loading_* fields seen during a load.
func checkMidLoad(t *testing.T, f map[string]string, total int64) {
	t.Helper()
	for _, k := range []string{"async_loading", "loading_start_time", "loading_total_bytes", "loading_rdb_used_mem",
		"loading_loaded_bytes", "loading_loaded_perc", "loading_eta_seconds"} {
		if _, ok := f[k]; !ok {
			t.Errorf("INFO persistence while loading lacks %s", k)
		}
	}
	if got, _ := strconv.ParseInt(f["loading_total_bytes"], 10, 64); got != total {
		t.Errorf("loading_total_bytes %d, want the file's %d", got, total)
	}
	loaded, _ := strconv.ParseInt(f["loading_loaded_bytes"], 10, 64)
	if loaded <= 0 || loaded >= total {
		t.Errorf("loading_loaded_bytes %d of %d", loaded, total)
	}
	t.Logf("mid-load: loaded %s of %s bytes (%s%%), eta %s s", f["loading_loaded_bytes"], f["loading_total_bytes"],
		f["loading_loaded_perc"], f["loading_eta_seconds"])
}

// checkProgressLines checks the progress lines of a JSON log: at least
// one "<what>: N% (...)", with its fields, and at most about one a second.
func checkProgressLines(t *testing.T, lines []map[string]any, what string, took time.Duration) {
	t.Helper()
	var got []map[string]any
	for _, m := range lines {
		if msg, _ := m["@message"].(string); strings.HasPrefix(msg, what+": ") {
			got = append(got, m)
		}
	}
	if len(got) == 0 {
		t.Fatalf("no %q progress line in the log (load took %v)", what, took)
	}
	if max := int(took/time.Second) + 1; len(got) > max {
		t.Errorf("%d progress lines for a %v operation", len(got), took)
	}
	for _, m := range got {
		for _, k := range []string{"bytes", "total_bytes", "perc", "eta_seconds"} {
			if _, ok := m[k]; !ok {
				t.Errorf("progress line lacks field %s: %v", k, m)
			}
		}
	}
	t.Logf("%v", messages(lines, what+": "))
}

// TestLoadingProgressRDB: a server loading a 200k-key RDB (slowed down by
// key-load-delay) shows loading:1 with the loading_* fields, then
// loading:0, and logs "loading RDB: N% (...)" lines.
func TestLoadingProgressRDB(t *testing.T) {
	dir := populatedSkiffDump(t, progressKeys)
	st, err := os.Stat(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	sk := startLoadingServer(t, "skiff", dir, "--key-load-delay", "-10", "--log-format", "json")
	c := sk.Dial(t)
	mid := watchLoading(t, c)
	took := time.Since(start)
	checkMidLoad(t, mid, st.Size())
	if r := c.MustDo(t, "DBSIZE"); r.Int != progressKeys {
		t.Errorf("DBSIZE %s after the load", r)
	}
	checkProgressLines(t, jsonLogLines(t, sk.logPath), "loading RDB", took)
}

// TestLoadingProgressAOF: the same for an AOF (an RDB-preamble base of
// 200k keys and an incremental file): INFO's loading_* fields, then
// "loading AOF: N% (...)" lines.
func TestLoadingProgressAOF(t *testing.T) {
	dir := t.TempDir()
	sk := StartSkiff(t, "--dir", dir, "--appendonly", "yes")
	c := sk.Dial(t)
	c.MustDo(t, "DEBUG", "POPULATE", strconv.Itoa(progressKeys))
	before := loadInfoFields(c.MustDo(t, "INFO", "persistence").Str)["aof_rewrites"]
	if r := c.MustDo(t, "BGREWRITEAOF"); r.Type == '-' {
		t.Fatalf("BGREWRITEAOF: %s", r)
	}
	// Done when a rewrite ended since, and none is running or scheduled
	// (the one asked for may wait for one started at start-up).
	for deadline := time.Now().Add(8 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		f := loadInfoFields(c.MustDo(t, "INFO", "persistence").Str)
		if f["aof_rewrites"] != before && f["aof_rewrite_in_progress"] == "0" && f["aof_rewrite_scheduled"] == "0" {
			if f["aof_last_bgrewrite_status"] != "ok" {
				t.Fatalf("BGREWRITEAOF failed:\n%s", c.MustDo(t, "INFO", "persistence").Str)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("BGREWRITEAOF not done after 8 s")
		}
	}
	c.MustDo(t, "SET", "after", "rewrite") // into the incremental file
	c.Close()
	sk.Stop()
	var total int64
	files, _ := filepath.Glob(filepath.Join(dir, "appendonlydir", "*"))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && !strings.HasSuffix(f, ".manifest") {
			total += st.Size()
		}
	}
	if total < 1<<20 {
		t.Fatalf("the AOF holds only %d bytes: the rewrite did not write the 200k keys (%v)", total, files)
	}
	start := time.Now()
	// The AOF loader holds the data lock and lets clients in only every
	// loading-process-events-interval-bytes of its RDB base (node/loading.go):
	// at the default 2 MB, INFO could get in only at the end.
	sk = startLoadingServer(t, "skiff", dir, "--appendonly", "yes", "--key-load-delay", "-10", "--log-format", "json",
		"--loading-process-events-interval-bytes", "16384")
	c = sk.Dial(t)
	mid := watchLoading(t, c)
	took := time.Since(start)
	checkMidLoad(t, mid, total)
	if r := c.MustDo(t, "DBSIZE"); r.Int != progressKeys+1 {
		t.Errorf("DBSIZE %s after the load", r)
	}
	checkProgressLines(t, jsonLogLines(t, sk.logPath), "loading AOF", took)
}

// TestFullSyncProgress: two replicas of a master of 200k keys, slowed
// down by key-load-delay. One loads from the socket (repl-diskless-load
// on-empty-db): INFO replication shows master_sync_* while the transfer
// runs, and it logs "full sync from master: N% (...)" lines. The other
// (repl-diskless-load disabled) receives the file at full speed and then
// loads it: INFO persistence shows loading:1 with the loading_* fields,
// and it logs "loading RDB from master: N% (...)" lines.
func TestFullSyncProgress(t *testing.T) {
	const keys = 200000
	master := StartSkiff(t, "--repl-diskless-sync", "no")
	mc := master.Dial(t)
	mc.MustDo(t, "DEBUG", "POPULATE", strconv.Itoa(keys))
	mc.Close()
	slow := []string{"--key-load-delay", "-10", "--log-format", "json"}
	sock := StartSkiff(t, append([]string{"--repl-diskless-load", "on-empty-db"}, slow...)...)
	disk := StartSkiff(t, append([]string{"--repl-diskless-load", "disabled"}, slow...)...)
	sc, dc := sock.Dial(t), disk.Dial(t)
	start := time.Now()
	sc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port))
	dc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port))
	var midSync, midLoad map[string]string
	var sockTook, diskTook time.Duration
	// A bound, not a speed check: on a loaded 2-core machine the slowed
	// loads take several times their quiet-machine 3 s.
	deadline := time.Now().Add(40 * time.Second)
	for sockTook == 0 || diskTook == 0 {
		if sockTook == 0 {
			f := loadInfoFields(sc.MustDo(t, "INFO", "replication").Str)
			if f["master_link_status"] == "up" {
				sockTook = time.Since(start)
			} else if p, err := strconv.ParseFloat(f["master_sync_perc"], 64); midSync == nil && err == nil && p > 0 && p < 100 {
				midSync = f
			}
		}
		if diskTook == 0 {
			f := loadInfoFields(dc.MustDo(t, "INFO", "all").Str)
			if f["master_link_status"] == "up" {
				diskTook = time.Since(start)
			} else if p, err := strconv.ParseFloat(f["loading_loaded_perc"], 64); midLoad == nil && f["loading"] == "1" && err == nil && p > 0 && p < 100 {
				midLoad = f
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not in sync after 40 s:\n%s\n%s", sc.MustDo(t, "INFO", "replication").Str, dc.MustDo(t, "INFO", "all").Str)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("in sync after %v (socket load), %v (disk load)", sockTook, diskTook)

	if midSync == nil {
		t.Errorf("INFO replication never showed master_sync_perc between 0 and 100")
	} else {
		total, _ := strconv.ParseInt(midSync["master_sync_total_bytes"], 10, 64)
		read, _ := strconv.ParseInt(midSync["master_sync_read_bytes"], 10, 64)
		left, _ := strconv.ParseInt(midSync["master_sync_left_bytes"], 10, 64)
		if total <= 0 || read <= 0 || read+left != total {
			t.Errorf("master_sync_total_bytes %d, read %d, left %d", total, read, left)
		}
		if _, ok := midSync["master_sync_last_io_seconds_ago"]; !ok {
			t.Errorf("INFO replication during the transfer lacks master_sync_last_io_seconds_ago")
		}
		t.Logf("mid-sync: read %d of %d bytes (%s%%)", read, total, midSync["master_sync_perc"])
	}
	if midLoad == nil {
		t.Errorf("the disk-load replica never showed loading:1 with loading_loaded_perc between 0 and 100")
	} else {
		total, _ := strconv.ParseInt(midLoad["loading_total_bytes"], 10, 64)
		checkMidLoad(t, midLoad, total)
	}
	for _, c := range []*Conn{sc, dc} {
		if r := c.MustDo(t, "DBSIZE"); r.Int != keys {
			t.Errorf("replica DBSIZE %s", r)
		}
	}
	checkProgressLines(t, jsonLogLines(t, sock.logPath), "full sync from master", sockTook)
	checkProgressLines(t, jsonLogLines(t, disk.logPath), "loading RDB from master", diskTook)
}
