package node

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

func setCmd(k, v string) string {
	return "*3\r\n$3\r\nset\r\n$" + itoa(len(k)) + "\r\n" + k + "\r\n$" + itoa(len(v)) + "\r\n" + v + "\r\n"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// aofStart loads an AOF server in dir (appendonly yes) and returns it,
// its log and Load's error; the server is shut down when the test ends.
func aofStart(t *testing.T, dir string, opts ...string) (*Server, *syncBuffer, error) {
	t.Helper()
	args := append([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes"}, opts...)
	cfg, err := config.Load("", args)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	s, err := New(cfg, hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s, logs, s.Load()
}

// aofGet reads a key of database 0 through the dispatcher ("" when
// missing).
func aofGet(t *testing.T, s *Server, key string) string {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	reply, _ := dumpRun(s.newClient(a), "get", key)
	if reply == "$-1\r\n" {
		return ""
	}
	return bulkOf(t, reply)
}

func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for path, content := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readManifestText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return string(b)
}

// TestAOFManifestParseRefusals: each malformed manifest is refused with
// Redis's message, and well-formed ones (comments, extra keys, gaps in the
// sequence) are read.
func TestAOFManifestParseRefusals(t *testing.T) {
	long := strings.Repeat("file appendonly.aof.1.base.aof seq 1 type b ", 30) + "\n"
	cases := []struct {
		name, text, msg string
		line            int
	}{
		{"empty", "", manifestErrEmpty, 0},
		{"blank line", "file a.1.incr.aof seq 1 type i\n\nfile a.3.incr.aof seq 3 type i\n", manifestErrFormat, 2},
		{"missing key", "filx a.1.base.aof seq 1 type b\nfile a.1.incr.aof seq 1 type i\n", manifestErrFormat, 1},
		{"line too short", "file a.1.base.aof seq 1 type b\nfile a.1.incr.aof type i\n", manifestErrFormat, 2},
		{"odd parameters", "file a.1.base.aof seq 1 type b\nfile a.1.incr.aof seq 1 type i newkey\n", manifestErrFormat, 2},
		{"seq zero", "file a.1.incr.aof seq 0 type i\n", manifestErrFormat, 1},
		{"unbalanced quote", "file \"a.1.incr.aof seq 1 type i\n", manifestErrFormat, 1},
		{"quote not ending the word", "file \"a\"b seq 1 type i\n", manifestErrFormat, 1},
		{"too long", long + "file a.1.incr.aof seq 1 type i\n", manifestErrTooLong, 0},
		{"no final newline", "file a.1.incr.aof seq 1 type i", manifestErrTooLong, 0},
		{"duplicate base", "file a.1.base.aof seq 1 type b\nfile a.2.base.aof seq 2 type b\n", manifestErrDupBase, 2},
		{"unknown type", "file a.1.base.aof seq 1 type x\n", manifestErrUnknownT, 1},
		{"non-monotonic", "file a.2.incr.aof seq 2 type i\nfile a.1.incr.aof seq 1 type i\n", manifestErrNonMono, 2},
		{"same seq twice", "file a.2.incr.aof seq 2 type i\nfile b.2.incr.aof seq 2 type i\n", manifestErrNonMono, 2},
		{"a path", "file ../a.1.incr.aof seq 1 type i\n", manifestErrPath, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseManifest([]byte(tc.text))
			if err == nil {
				t.Fatalf("manifest %q accepted", tc.text)
			}
			if err.msg != tc.msg || err.lineNum != tc.line && tc.line != 0 {
				t.Errorf("got %q at line %d, want %q at line %d", err.msg, err.lineNum, tc.msg, tc.line)
			}
		})
	}
	m, err := parseManifest([]byte("# comment\nfile a.1.base.rdb seq 1 type b newkey newvalue\nfile a.5.base.rdb seq 5 type h\nFILE a.1.incr.aof SEQ 1 TYPE i\nfile a.3.incr.aof seq 3 type i\n"))
	if err != nil {
		t.Fatalf("valid manifest refused: %v", err)
	}
	if m.base == nil || m.base.name != "a.1.base.rdb" || len(m.hist) != 1 || len(m.incr) != 2 || m.incr[1].seq != 3 {
		t.Errorf("parsed %+v", m)
	}
}

// TestAOFManifestQuotedNames: names with blanks, quotes, escapes and
// non-ASCII bytes are written quoted, as Redis writes them, and read back.
func TestAOFManifestQuotedNames(t *testing.T) {
	names := []string{" file seq \n\n.aof .2.base.rdb", `a"b'c`, "tab\there", "\x01\xffz", "plain.aof", "sp ace"}
	for _, n := range names {
		m := aofManifest{base: &aofFile{name: n, seq: 2, typ: 'b'}, incr: []aofFile{{name: n + ".i", seq: 7, typ: 'i'}}}
		text := m.format()
		got, err := parseManifest(text)
		if err != nil {
			t.Fatalf("%q: written as %q, refused: %v", n, text, err)
		}
		if got.base == nil || got.base.name != n || got.base.seq != 2 || len(got.incr) != 1 || got.incr[0].name != n+".i" {
			t.Errorf("%q: written as %q, read back %+v", n, text, got)
		}
	}
	m := aofManifest{base: &aofFile{name: " file seq \n\n.aof .2.base.rdb", seq: 2, typ: 'b'}}
	if want := `file " file seq \n\n.aof .2.base.rdb" seq 2 type b` + "\n"; string(m.format()) != want {
		t.Errorf("format %q, want %q", m.format(), want)
	}
	m = aofManifest{base: &aofFile{name: "\x01\xff", seq: 1, typ: 'b'}}
	if want := `file "\x01\xff" seq 1 type b` + "\n"; string(m.format()) != want {
		t.Errorf("format %q, want %q", m.format(), want)
	}
	words, ok := config.SplitArgs(`a'b c' "x\x41\ty" '\'q'`)
	if !ok || len(words) != 3 || words[0] != "ab c" || words[1] != "xA\ty" || words[2] != "'q" {
		t.Errorf("SplitArgs: %q %v", words, ok)
	}
}

// TestAOFManifestRefusedAtStart: a refused manifest stops the start with
// Redis's lines, the message logged once.
func TestAOFManifestRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	ad := filepath.Join(dir, "appendonlydir")
	writeFiles(t, map[string]string{
		filepath.Join(ad, "appendonly.aof.1.incr.aof"): setCmd("k1", "v1"),
		filepath.Join(ad, "appendonly.aof.manifest"):   "file appendonly.aof.1.incr.aof seq 1 type i\n\n",
	})
	_, logs, err := aofStart(t, dir)
	var logged *LoadErrorLogged
	if !errors.As(err, &logged) {
		t.Fatalf("Load: %v, want a logged load error", err)
	}
	out := logs.String()
	for _, want := range []string{"FATAL AOF MANIFEST FILE ERROR", "Reading the manifest file, at line 2", ">>> ''"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, manifestErrFormat); n != 1 {
		t.Errorf("%q logged %d times, want 1:\n%s", manifestErrFormat, n, out)
	}
}

// TestAOFMissingFileAtStart: a file the manifest names must exist; the
// log names it with the system's reason.
func TestAOFMissingFileAtStart(t *testing.T) {
	dir := t.TempDir()
	ad := filepath.Join(dir, "appendonlydir")
	writeFiles(t, map[string]string{
		filepath.Join(ad, "appendonly.aof.1.base.aof"): setCmd("k1", "v1"),
		filepath.Join(ad, "appendonly.aof.2.incr.aof"): setCmd("k2", "v2"),
		filepath.Join(ad, "appendonly.aof.manifest"):   "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
	})
	_, logs, err := aofStart(t, dir)
	var logged *LoadErrorLogged
	if !errors.As(err, &logged) {
		t.Fatalf("Load: %v, want a logged load error", err)
	}
	if want := "Unable to obtain the AOF file appendonly.aof.1.incr.aof length. stat: No such file or directory"; strings.Count(logs.String(), want) != 1 {
		t.Errorf("log lacks %q once:\n%s", want, logs.String())
	}
}

// rdbPreamble is an RDB holding the given string keys.
func rdbPreamble(t *testing.T, kv ...string) string {
	t.Helper()
	var b bytes.Buffer
	w := rdb.NewWriter(&b)
	if err := w.Header(rdb.DefaultAux()); err != nil {
		t.Fatal(err)
	}
	w.SelectDB(0, len(kv)/2, 0)
	for i := 0; i < len(kv); i += 2 {
		if err := w.Entry(kv[i], &store.Object{Type: store.TypeString, Str: []byte(kv[i+1])}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestAOFUpgradeFromOldRedis: the single appendonly.aof of Redis before
// 7.0 (with or without an RDB preamble) becomes the base, moved into the
// AOF directory, and the interrupted states of that move are resumed.
func TestAOFUpgradeFromOldRedis(t *testing.T) {
	plain := setCmd("k1", "v1") + setCmd("k2", "v2") + setCmd("k3", "v3")
	cases := []struct {
		name     string
		files    map[string]string // relative to the server dir
		want     map[string]string
		oldStays bool
	}{
		{"commands", map[string]string{"appendonly.aof": plain}, map[string]string{"k1": "v1", "k3": "v3"}, false},
		{"rdb preamble", map[string]string{"appendonly.aof": rdbPreamble(t, "k1", "v1", "k2", "v2") + setCmd("k3", "v3")},
			map[string]string{"k1": "v1", "k2": "v2", "k3": "v3"}, false},
		{"interrupted before the move", map[string]string{"appendonly.aof": plain,
			"appendonlydir/appendonly.aof.manifest": "file appendonly.aof seq 1 type b\n"},
			map[string]string{"k1": "v1", "k3": "v3"}, false},
		{"both directories hold one", map[string]string{"appendonly.aof": plain,
			"appendonlydir/appendonly.aof.manifest": "file appendonly.aof seq 1 type b\n",
			"appendonlydir/appendonly.aof":          setCmd("k4", "v4")},
			map[string]string{"k1": "", "k4": "v4"}, true},
		{"another server's file", map[string]string{"appendonly.aof": plain, "appendonly.aof2": setCmd("k4", "v4")},
			map[string]string{"k1": "v1", "k4": ""}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, content := range tc.files {
				writeFiles(t, map[string]string{filepath.Join(dir, rel): content})
			}
			s, logs, err := aofStart(t, dir)
			if err != nil {
				t.Fatalf("Load: %v\n%s", err, logs.String())
			}
			for k, v := range tc.want {
				if got := aofGet(t, s, k); got != v {
					t.Errorf("GET %s = %q, want %q", k, got, v)
				}
			}
			_, err = os.Stat(filepath.Join(dir, "appendonly.aof"))
			if stays := err == nil; stays != tc.oldStays {
				t.Errorf("old file in the server dir: present %v, want %v", stays, tc.oldStays)
			}
			if _, err := os.Stat(filepath.Join(dir, "appendonlydir", "appendonly.aof")); err != nil {
				t.Errorf("base not in the AOF dir: %v", err)
			}
			want := "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
			if got := readManifestText(t, filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest")); got != want {
				t.Errorf("manifest %q, want %q", got, want)
			}
		})
	}
	t.Run("named old file missing", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, map[string]string{filepath.Join(dir, "appendonlydir", "appendonly.aof.manifest"): "file appendonly.aof seq 1 type b\n"})
		_, logs, err := aofStart(t, dir)
		var logged *LoadErrorLogged
		if !errors.As(err, &logged) {
			t.Fatalf("Load: %v, want a logged load error", err)
		}
		if want := "Unable to obtain the AOF file appendonly.aof length. stat: No such file or directory"; !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	})
}

// TestAOFBaseAtStart: a start with no AOF writes the base at once, in the
// format aof-use-rdb-preamble asks for, and the first incremental file,
// with Redis's names and sequence numbers.
func TestAOFBaseAtStart(t *testing.T) {
	for _, tc := range []struct{ preamble, base string }{{"yes", "appendonly.aof.1.base.rdb"}, {"no", "appendonly.aof.1.base.aof"}} {
		t.Run("preamble "+tc.preamble, func(t *testing.T) {
			dir := t.TempDir()
			_, logs, err := aofStart(t, dir, "--aof-use-rdb-preamble", tc.preamble)
			if err != nil {
				t.Fatalf("Load: %v\n%s", err, logs.String())
			}
			ad := filepath.Join(dir, "appendonlydir")
			want := "file " + tc.base + " seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
			if got := readManifestText(t, filepath.Join(ad, "appendonly.aof.manifest")); got != want {
				t.Errorf("manifest %q, want %q", got, want)
			}
			for _, f := range []string{tc.base, "appendonly.aof.1.incr.aof"} {
				if _, err := os.Stat(filepath.Join(ad, f)); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			if !strings.Contains(logs.String(), "Creating AOF base file "+tc.base+" on server start") {
				t.Errorf("log lacks the base's creation:\n%s", logs.String())
			}
		})
	}
	// A restart opens the same incremental file and writes no new base.
	dir := t.TempDir()
	ad := filepath.Join(dir, "appendonlydir")
	writeFiles(t, map[string]string{
		filepath.Join(ad, "appendonly.aof.3.base.rdb"): rdbPreamble(t, "k1", "v1"),
		filepath.Join(ad, "appendonly.aof.manifest"):   "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.4.incr.aof seq 4 type i\n",
		filepath.Join(ad, "appendonly.aof.4.incr.aof"): setCmd("k2", "v2"),
	})
	before, err := os.Stat(filepath.Join(ad, "appendonly.aof.manifest"))
	if err != nil {
		t.Fatal(err)
	}
	s, logs, err := aofStart(t, dir)
	if err != nil {
		t.Fatalf("Load: %v\n%s", err, logs.String())
	}
	// Unchanged, so not rewritten (a rewrite renames a new file in).
	if after, err := os.Stat(filepath.Join(ad, "appendonly.aof.manifest")); err != nil || !os.SameFile(before, after) {
		t.Errorf("manifest rewritten at a plain restart (%v)", err)
	}
	if aofGet(t, s, "k1") != "v1" || aofGet(t, s, "k2") != "v2" {
		t.Errorf("dataset not loaded")
	}
	if want := "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.4.incr.aof seq 4 type i\n"; readManifestText(t, filepath.Join(ad, "appendonly.aof.manifest")) != want {
		t.Errorf("manifest changed at restart")
	}
	if !strings.Contains(logs.String(), "Opening AOF incr file appendonly.aof.4.incr.aof on server start") {
		t.Errorf("log lacks the opening:\n%s", logs.String())
	}
}
