package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFileQuotesCommentsInclude(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "inc.conf", "maxclients 77\n")
	main := writeFile(t, dir, "main.conf", `# a comment
port 7001

requirepass "pa ss\x41"
logfile 'it\'s.log'
include inc.conf
save 100 1
save 200 2
`)
	c, err := Load(main, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"port": "7001", "requirepass": "pa ssA", "logfile": "it's.log", "maxclients": "77", "save": "100 1 200 2"} {
		if got := c.String(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func TestLoadErrorsNameFileLineDirective(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ text, directive string }{
		{"port 1\nnosuchoption 5\n", "nosuchoption 5"},
		{"port 1\n\nport notanumber\n", "port notanumber"},
		{"# c\nrequirepass \"unterminated\n", "requirepass \"unterminated"},
	} {
		p := writeFile(t, dir, "bad.conf", tc.text)
		_, err := Load(p, nil)
		var le *LineError
		if !errors.As(err, &le) {
			t.Fatalf("%q: error %v is not a LineError", tc.text, err)
		}
		wantLine := strings.Count(tc.text[:strings.Index(tc.text, tc.directive)], "\n") + 1
		if le.File != p || le.Line != wantLine || !strings.Contains(err.Error(), tc.directive) {
			t.Errorf("%q: got %v (line %d), want file %s line %d directive %q", tc.text, err, le.Line, p, wantLine, tc.directive)
		}
	}
}

func TestFlagsOverrideFile(t *testing.T) {
	p := writeFile(t, t.TempDir(), "f.conf", "port 7001\nmaxclients 10\nsave 100 1\n")
	c, err := Load(p, []string{"--port", "7002", "--save", "", "--loglevel", "warning"})
	if err != nil {
		t.Fatal(err)
	}
	if c.String("port") != "7002" || c.String("maxclients") != "10" || c.String("save") != "" || c.String("loglevel") != "warning" {
		t.Errorf("port=%s maxclients=%s save=%q loglevel=%s", c.String("port"), c.String("maxclients"), c.String("save"), c.String("loglevel"))
	}
	if _, err := Load("", []string{"--nosuch", "1"}); err == nil {
		t.Error("unknown flag accepted")
	}
}

func TestSetPairsAllOrNothing(t *testing.T) {
	c := New()
	var hookVals []string
	if err := c.OnChange("maxmemory", func(v string) error { hookVals = append(hookVals, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPairs([]string{"maxmemory", "100", "hz", "abc"}); err == nil {
		t.Fatal("bad pair accepted")
	}
	if c.String("maxmemory") != "0" {
		t.Errorf("maxmemory = %s after failed multi-set", c.String("maxmemory"))
	}
	if err := c.SetPairs([]string{"maxmemory", "1kb", "hz", "20"}); err != nil {
		t.Fatal(err)
	}
	if c.String("maxmemory") != "1024" || c.String("hz") != "20" {
		t.Errorf("maxmemory=%s hz=%s", c.String("maxmemory"), c.String("hz"))
	}
	if got := strings.Join(hookVals, ","); got != "0,1024" {
		t.Errorf("hook saw %q", got)
	}
	// A hook refusing a value rolls every pair back.
	if err := c.OnChange("hz", func(v string) error {
		if v == "99" {
			return errors.New("refused")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	err := c.SetPairs([]string{"maxmemory", "2048", "hz", "99"})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("hook refusal: %v", err)
	}
	if c.String("maxmemory") != "1024" || c.String("hz") != "20" {
		t.Errorf("after rollback maxmemory=%s hz=%s", c.String("maxmemory"), c.String("hz"))
	}
	if err := c.SetPairs([]string{"maxmemory", "1", "maxmemory", "2"}); err == nil || !strings.Contains(err.Error(), "duplicate parameter") {
		t.Errorf("duplicate: %v", err)
	}
	if err := c.SetPairs([]string{"databases", "3"}); err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("immutable: %v", err)
	}
}

func TestRewriteKeepsComments(t *testing.T) {
	p := writeFile(t, t.TempDir(), "r.conf", "# keep me\nport 7001\n\n# and me\nmaxclients 10\nmaxclients 20\nunknown-to-us-line\n")
	c, err := Load(p, nil)
	if err == nil {
		t.Fatal("unknown directive accepted")
	}
	p = writeFile(t, filepath.Dir(p), "r.conf", "# keep me\nport 7001\n\n# and me\nmaxclients 10\nmaxclients 20\n")
	if c, err = Load(p, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPairs([]string{"maxclients", "30", "requirepass", "a b"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rewrite(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	text := string(data)
	for _, want := range []string{"# keep me\nport 7001\n\n# and me\nmaxclients 30\n", "requirepass \"a b\"\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("rewritten file lacks %q:\n%s", want, text)
		}
	}
	if strings.Count(text, "maxclients") != 1 {
		t.Errorf("duplicate maxclients lines kept:\n%s", text)
	}
	c2, err := Load(p, nil)
	if err != nil {
		t.Fatalf("reload rewritten file: %v", err)
	}
	if c2.String("requirepass") != "a b" || c2.String("maxclients") != "30" {
		t.Errorf("reloaded requirepass=%q maxclients=%s", c2.String("requirepass"), c2.String("maxclients"))
	}
	if err := New().Rewrite(); err == nil {
		t.Error("rewrite without a file succeeded")
	}
}

func TestGetPatterns(t *testing.T) {
	c := New()
	got := c.Get([]string{"maxmemory*"})
	if len(got)%2 != 0 || len(got) < 8 || got[0] != "maxmemory" {
		t.Errorf("CONFIG GET maxmemory* = %v", got)
	}
	if got := c.Get([]string{"port", "port"}); len(got) != 2 {
		t.Errorf("duplicates not folded: %v", got)
	}
}

func TestSplitArgs(t *testing.T) {
	for in, want := range map[string]string{
		`a b   c`:     "a|b|c",
		`"a b" 'c d'`: "a b|c d",
		`"\x41\n"`:    "A\n",
		`'it\'s'`:     "it's",
		``:            "",
		`"unbalanced`: "<err>",
		`"closed"x`:   "<err>",
	} {
		w, ok := SplitArgs(in)
		got := strings.Join(w, "|")
		if !ok {
			got = "<err>"
		}
		if got != want {
			t.Errorf("SplitArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBareSaveDirective(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/bare.conf"
	if err := os.WriteFile(path, []byte("save 900 1\nsave \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if got := c.String("save"); got != "" {
		t.Errorf("save after a bare `save` line = %q, want empty", got)
	}
	if err := os.WriteFile(path, []byte("port \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "Bad directive or wrong number of arguments") {
		t.Errorf("a bare `port` line: %v", err)
	}
}
