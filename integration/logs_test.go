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
	for _, want := range []string{"Skiff ", "Ready to accept connections", "received signal, shutting down", "server stopped"} {
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
