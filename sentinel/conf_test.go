package sentinel

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/config"
)

// loadConf loads path as `skiff sentinel path` does (without the chdir).
func loadConf(t *testing.T, path string, args ...string) (*Config, error) {
	t.Helper()
	sc, err := config.LoadWith(path, args, config.LoadOptions{Sentinel: true})
	if err != nil {
		return nil, err
	}
	return ParseConfig(sc.SentinelDirectives(), sc)
}

func writeConf(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const idA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const idB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestConfParseAllDirectives(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Per-master options before their monitor line load, as in Redis.
	p := writeConf(t, dir, `port 26400
sentinel down-after-milliseconds m1 5000
sentinel monitor m1 127.0.0.1 6380 2
sentinel failover-timeout m1 60000
sentinel parallel-syncs m1 3
sentinel auth-pass m1 "se cret"
sentinel auth-user m1 bob
sentinel notification-script m1 `+script+`
sentinel client-reconfig-script m1 `+script+`
sentinel master-reboot-down-after-period m1 1000
sentinel config-epoch m1 9
sentinel leader-epoch m1 8
sentinel known-replica m1 127.0.0.1 6381
SENTINEL known-slave m1 ::1 6382
sentinel known-sentinel m1 127.0.0.1 26401 `+idB+`
sentinel known-sentinel m1 127.0.0.1 26402
sentinel rename-command m1 CONFIG GUESSME
sentinel monitor m2 10.0.0.2 7000 1
sentinel current-epoch 4
sentinel myid `+idA+`
sentinel announce-ip 1.2.3.4
sentinel announce-port 1234
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel deny-scripts-reconfig no
sentinel sentinel-user su
sentinel sentinel-pass sp
sentinel
`)
	c, err := loadConf(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Server == nil || c.Server.Int("port") != 26400 {
		t.Fatalf("server options not kept: %v", c.Server)
	}
	m1 := &MasterConfig{Name: "m1", Host: "127.0.0.1", Port: 6380, Quorum: 2, DownAfterMs: 5000,
		FailoverTimeoutMs: 60000, ParallelSyncs: 3, AuthPass: "se cret", AuthUser: "bob",
		NotificationScript: script, ClientReconfigScript: script, MasterRebootDownAfterMs: 1000,
		ConfigEpoch: 9, LeaderEpoch: 8, KnownReplicas: []string{"127.0.0.1:6381", "[::1]:6382"},
		KnownSentinels: []KnownSentinel{{Host: "127.0.0.1", Port: 26401, RunID: idB}},
		RenameCommands: [][2]string{{"CONFIG", "GUESSME"}}}
	m2 := NewMasterConfig("m2", "10.0.0.2", 7000, 1)
	want := &Config{MyID: idA, CurrentEpoch: 9, AnnounceIP: "1.2.3.4", AnnouncePort: 1234,
		ResolveHostnames: true, AnnounceHostnames: true, DenyScriptsReconfig: false,
		SentinelUser: "su", SentinelPass: "sp", Masters: []*MasterConfig{m1, m2}, Server: c.Server}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", c, want)
		for i := range c.Masters {
			t.Errorf("master %d: %+v", i, c.Masters[i])
		}
	}
}

func TestConfDefaultsAndSentinelModeOptions(t *testing.T) {
	p := writeConf(t, t.TempDir(), "sentinel monitor m 127.0.0.1 6379 2\n")
	c, err := loadConf(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if !c.DenyScriptsReconfig || c.MyID != "" || c.CurrentEpoch != 0 {
		t.Errorf("defaults: %+v", c)
	}
	m := c.Masters[0]
	if m.DownAfterMs != 30000 || m.FailoverTimeoutMs != 180000 || m.ParallelSyncs != 1 {
		t.Errorf("master defaults: %+v", m)
	}
	if c.Server.Int("port") != 26379 || c.Server.Bool("protected-mode") {
		t.Errorf("sentinel mode: port %d protected-mode %v", c.Server.Int("port"), c.Server.Bool("protected-mode"))
	}
	// The command line overrides, and may carry sentinel directives.
	c, err = loadConf(t, p, "--port", "26500", "--sentinel", "monitor", "x", "127.0.0.1", "7000", "1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Int("port") != 26500 || len(c.Masters) != 2 || c.Masters[1].Name != "x" {
		t.Errorf("command line: port %d masters %d", c.Server.Int("port"), len(c.Masters))
	}
	// In server mode a sentinel directive is refused.
	if _, err := config.Load(p, nil); err == nil || !strings.Contains(err.Error(), "sentinel directive while not in sentinel mode") {
		t.Errorf("server mode: %v", err)
	}
}

func TestConfLoadErrors(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec.sh")
	os.WriteFile(noexec, []byte("x"), 0o644)
	mon := "sentinel monitor m 127.0.0.1 6379 2\n"
	for _, tc := range []struct{ text, bad, msg string }{
		{"sentinel monitor m 127.0.0.1 6379 0\n", "sentinel monitor m 127.0.0.1 6379 0", "Quorum must be 1 or greater."},
		{"sentinel monitor m 127.0.0.1 6379 x\n", "sentinel monitor m 127.0.0.1 6379 x", "Quorum must be 1 or greater."},
		{"sentinel monitor m localhost 6379 2\n", "sentinel monitor m localhost 6379 2", "Can't resolve instance hostname."},
		{"sentinel monitor m 127.0.0.1 70000 2\n", "sentinel monitor m 127.0.0.1 70000 2", "Invalid port number."},
		{mon + "sentinel monitor m 127.0.0.2 6379 2\n", "sentinel monitor m 127.0.0.2 6379 2", "Duplicate master name."},
		{mon + "sentinel monitor m 127.0.0.1 6379\n", "sentinel monitor m 127.0.0.1 6379", "Unrecognized sentinel configuration statement."},
		{mon + "sentinel nosuch m 1\n", "sentinel nosuch m 1", "Unrecognized sentinel configuration statement."},
		{mon + "sentinel down-after-milliseconds other 1000\n", "sentinel down-after-milliseconds other 1000", "No such master with specified name."},
		// Per-master options load after the monitors, wherever they are.
		{"sentinel down-after-milliseconds m 0\n" + mon, "sentinel down-after-milliseconds m 0", "negative or zero time parameter."},
		{mon + "sentinel failover-timeout m -1\n", "sentinel failover-timeout m -1", "negative or zero time parameter."},
		{mon + "sentinel master-reboot-down-after-period m -1\n", "sentinel master-reboot-down-after-period m -1", "negative time parameter."},
		{mon + "sentinel notification-script m " + noexec + "\n", "sentinel notification-script m " + noexec, "Notification script seems non existing or non executable."},
		{mon + "sentinel client-reconfig-script m /nonexistent\n", "sentinel client-reconfig-script m /nonexistent", "Client reconfiguration script seems non existing or non executable."},
		{"sentinel myid abc\n", "sentinel myid abc", "Malformed Sentinel id in myid option."},
		{"sentinel deny-scripts-reconfig maybe\n", "sentinel deny-scripts-reconfig maybe", "Please specify yes or no for the deny-scripts-reconfig options."},
		{"sentinel resolve-hostnames 1\n", "sentinel resolve-hostnames 1", "Please specify yes or no for the resolve-hostnames option."},
		{"sentinel announce-hostnames 1\n", "sentinel announce-hostnames 1", "Please specify yes or no for the announce-hostnames option."},
		{mon + "sentinel known-replica m 127.0.0.1 6380\nsentinel known-slave m 127.0.0.1 6380\n", "sentinel known-slave m 127.0.0.1 6380", "Duplicate hostname and port for replica."},
		{mon + "sentinel known-sentinel m 127.0.0.1 1 " + idA + "\nsentinel known-sentinel m 127.0.0.1 2 " + idA + "\n", "sentinel known-sentinel m 127.0.0.1 2 " + idA, "Duplicate runid for sentinel."},
		{mon + "sentinel rename-command m config a\nsentinel rename-command m CONFIG b\n", "sentinel rename-command m CONFIG b", "Same command renamed multiple times with rename-command."},
	} {
		p := writeConf(t, dir, tc.text)
		_, err := loadConf(t, p)
		var le *config.LineError
		if !errors.As(err, &le) {
			t.Errorf("%q: error %v, want a line error", tc.text, err)
			continue
		}
		wantLine := strings.Count(tc.text[:strings.LastIndex(tc.text, tc.bad+"\n")], "\n") + 1
		if le.Msg != tc.msg || le.Text != tc.bad || le.Line != wantLine || le.File != p {
			t.Errorf("%q: got %q at line %d (%q), want %q at line %d", tc.text, le.Msg, le.Line, le.Text, tc.msg, wantLine)
		}
	}
	// With resolve-hostnames, a name is accepted (even before its line).
	p := writeConf(t, dir, "sentinel monitor m localhost 6379 2\nsentinel resolve-hostnames yes\n")
	if c, err := loadConf(t, p); err != nil || c.Masters[0].Host != "localhost" {
		t.Errorf("resolve-hostnames: %v", err)
	}
}

func TestConfAtoiLikeC(t *testing.T) {
	for in, want := range map[string]int{"12": 12, " 12x": 12, "-3": -3, "+4": 4, "x": 0, "": 0,
		"99999999999999999999": -1, "4294967297": 1} {
		if got := confAtoi(in); got != want {
			t.Errorf("confAtoi(%q) = %d, want %d", in, got, want)
		}
	}
	if confStrtoull("-1") != 1<<64-1 || confStrtoull("99999999999999999999999") != 1<<64-1 || confStrtoull("7z") != 7 {
		t.Error("strtoull")
	}
}

func rewriteAndRead(t *testing.T, p string, c *Config) string {
	t.Helper()
	if err := RewriteFile(p, c); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConfRewriteLikeRedis: what redis-sentinel 7.0.15 wrote for the same
// file after SENTINEL FLUSHCONFIG (checked by running it), except where
// Skiff differs on purpose: "pa ss" is quoted, the known-slave line is
// replaced rather than kept next to a duplicate known-replica line, and the
// options appended at the end are in name order (Redis: hash order), without
// Redis's ACL `user` line and latency-tracking-info-percentiles line.
func TestConfRewriteLikeRedis(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	p := writeConf(t, dir, `   # indented comment
port 26991
bind 127.0.0.1
save 900 1
save 300 10
sentinel monitor beta 127.0.0.1 7301 2
sentinel known-slave beta 127.0.0.1 7302
sentinel monitor alpha 127.0.0.1 7311 1
maxclients 500
maxclients 600
sentinel known-replica alpha 127.0.0.1 7313
sentinel known-replica alpha 127.0.0.1 7312
sentinel known-sentinel alpha 127.0.0.1 26992 `+idA+`
sentinel auth-pass alpha "pa ss"
sentinel rename-command alpha CONFIG MYCONFIG
sentinel parallel-syncs alpha 1
sentinel down-after-milliseconds alpha 30000
sentinel current-epoch 7
sentinel config-epoch alpha 5
sentinel announce-ip "1.2.3.4"
sentinel resolve-hostnames no
sentinel myid `+idB+`


dir .
maxmemory 1048576
# trailing comment
`)
	c, err := loadConf(t, p)
	if err != nil {
		t.Fatal(err)
	}
	got := rewriteAndRead(t, p, c)
	want := `# indented comment
port 26991
bind 127.0.0.1

sentinel monitor beta 127.0.0.1 7301 2
sentinel known-replica beta 127.0.0.1 7302
sentinel monitor alpha 127.0.0.1 7311 1
maxclients 600

sentinel known-replica alpha 127.0.0.1 7313
sentinel known-replica alpha 127.0.0.1 7312
sentinel known-sentinel alpha 127.0.0.1 26992 ` + idA + `
sentinel auth-pass alpha "pa ss"
sentinel rename-command alpha CONFIG MYCONFIG

sentinel current-epoch 7
sentinel config-epoch beta 0
sentinel announce-ip "1.2.3.4"
sentinel resolve-hostnames no
sentinel myid ` + idB + `

dir "` + dir + `"
maxmemory 1mb
# trailing comment

# Generated by CONFIG REWRITE
protected-mode no
sentinel leader-epoch beta 0
sentinel config-epoch alpha 5
sentinel leader-epoch alpha 0
`
	if got != want {
		t.Errorf("rewrite:\n%s\nwant:\n%s", got, want)
	}
	// A second rewrite changes nothing but the trailing blank line that
	// Redis keeps (the old file's final newline).
	again := rewriteAndRead(t, p, c)
	if again != want+"\n" {
		t.Errorf("second rewrite:\n%q\nwant\n%q", again, want+"\n")
	}
	if third := rewriteAndRead(t, p, c); third != again {
		t.Errorf("third rewrite differs:\n%q", third)
	}
	// The rewritten file loads to the same configuration.
	c2, err := loadConf(t, p)
	if err != nil {
		t.Fatal(err)
	}
	c2.Server, c.Server = nil, nil
	if !reflect.DeepEqual(c, c2) {
		t.Errorf("reloaded config differs:\n%+v\n%+v", c, c2)
	}
}

func TestConfRewriteNewFileAndRemovedMaster(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	// No final newline: no blank line before the signature (as Redis).
	p := writeConf(t, dir, "bind 127.0.0.1\nsentinel monitor m 127.0.0.1 7301 2\nsentinel down-after-milliseconds m 1000\nsentinel monitor gone 127.0.0.1 7303 2\nsentinel known-replica gone 127.0.0.1 7304")
	c, err := loadConf(t, p, "--port", "26993")
	if err != nil {
		t.Fatal(err)
	}
	c.MyID = idA
	c.Masters = c.Masters[:1] // SENTINEL REMOVE gone
	c.Masters[0].DownAfterMs = DefaultDownAfterMs
	c.Masters[0].KnownSentinels = []KnownSentinel{{Host: "127.0.0.1", Port: 26994, RunID: idB}, {Host: "127.0.0.1", Port: 26995}}
	got := rewriteAndRead(t, p, c)
	// The old lines of the removed master and of the default value become
	// one blank line (checked against redis-sentinel).
	want := `bind 127.0.0.1
sentinel monitor m 127.0.0.1 7301 2

# Generated by CONFIG REWRITE
dir "` + dir + `"
port 26993
protected-mode no
sentinel myid ` + idA + `
sentinel config-epoch m 0
sentinel leader-epoch m 0
sentinel known-sentinel m 127.0.0.1 26994 ` + idB + `
sentinel current-epoch 0
`
	if got != want {
		t.Errorf("rewrite:\n%s\nwant:\n%s", got, want)
	}
	// Lines this rewrite does not understand become comments; include
	// lines stay.
	os.WriteFile(p, []byte("include /dev/null\nnot-an-option 1\n\"unbalanced\n"), 0o644)
	got = rewriteAndRead(t, p, &Config{MyID: idA, DenyScriptsReconfig: true})
	want = "include /dev/null\n# ??? not-an-option 1\n# ??? \"unbalanced\n\n" +
		"# Generated by CONFIG REWRITE\nsentinel myid " + idA + "\nsentinel current-epoch 0\n"
	if got != want {
		t.Errorf("rewrite:\n%q\nwant:\n%q", got, want)
	}
	// A file that does not exist is created.
	os.Remove(p)
	got = rewriteAndRead(t, p, &Config{MyID: idA, DenyScriptsReconfig: true})
	if got != "# Generated by CONFIG REWRITE\nsentinel myid "+idA+"\nsentinel current-epoch 0\n" {
		t.Errorf("new file: %q", got)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	if m, _ := filepath.Glob(p + ".*"); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestConfCheckConfigFile(t *testing.T) {
	if err := CheckConfigFile(""); err == nil || err.Error() != "Sentinel needs config file on disk to save state. Exiting..." {
		t.Errorf("no file: %v", err)
	}
	p := filepath.Join(t.TempDir(), "missing", "s.conf")
	if err := CheckConfigFile(p); err == nil || err.Error() != "Sentinel config file "+p+" is not writable: No such file or directory. Exiting..." {
		t.Errorf("missing: %v", err)
	}
}

// suiteSentinelConf returns Redis's tests/sentinel/tests/includes/sentinel.conf
// (from the extracted suite, or from the redis git mirror), or skips.
func suiteSentinelConf(t *testing.T) []byte {
	for _, p := range []string{os.Getenv("SKIFF_REDIS_SUITE"), "/tmp/redis-suite"} {
		if p == "" {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(p, "tests/sentinel/tests/includes/sentinel.conf")); err == nil {
			return b
		}
	}
	if b, err := exec.Command("git", "--git-dir=/work/.mirror/redis+redis/repo", "show",
		"7.0.15:tests/sentinel/tests/includes/sentinel.conf").Output(); err == nil && len(b) > 0 {
		return b
	}
	t.Skip("Redis's sentinel test suite is not available")
	return nil
}

// TestConfStartInitLineOrder is Redis's "(start-init) Flush config and
// compare rewrite config file lines": the harness copies the suite's
// sentinel.conf, appends its own lines, starts the sentinel (which writes
// its new myid) and sends SENTINEL FLUSHCONFIG; the lines of the original
// up to its first empty line must be unchanged, comments included.
func TestConfStartInitLineOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		base []byte
	}{
		{"redis-suite", nil},
		{"own", []byte("# down after 20 s\nsentinel down-after-milliseconds setmaster 20000\n# one replica at a time\n" +
			"sentinel parallel-syncs setmaster 2\n# 4 minutes\nsentinel failover-timeout setmaster 240000\n" +
			"# the master\nsentinel monitor setmaster 10.0.0.1 30000 2\n\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == nil {
				base = suiteSentinelConf(t)
			}
			root := t.TempDir()
			t.Chdir(root)
			os.Mkdir("sentinel_0", 0o755)
			conf := string(base) + "port 26700\nrepl-diskless-sync-delay 0\ndir ./sentinel_0\nlogfile log.txt\n" +
				"sentinel deny-scripts-reconfig no\nenable-protected-configs yes\nenable-debug-command yes\n"
			p := filepath.Join(root, "sentinel_0", "sentinel.conf")
			os.WriteFile(p, []byte(conf), 0o644)
			c, err := loadConf(t, p)
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(filepath.Join(root, "sentinel_0")) // as `skiff sentinel` does after loading
			c.MyID = NewMyID()
			rewriteAndRead(t, p, c) // at start, for the new myid
			got := strings.Split(rewriteAndRead(t, p, c), "\n")
			for i, l := range strings.Split(string(base), "\n") {
				if l == "" {
					break
				}
				if i >= len(got) || got[i] != l {
					t.Fatalf("line %d: %q, want %q\nfile:\n%s", i+1, got[i], l, strings.Join(got, "\n"))
				}
			}
			// And what follows is what the harness appended, then the
			// generated block.
			if c2, err := loadConf(t, p); err != nil || c2.MyID != c.MyID || c2.DenyScriptsReconfig ||
				c2.Server.String("dir") != filepath.Join(root, "sentinel_0") {
				t.Errorf("reload: %v %+v", err, c2)
			}
		})
	}
}
