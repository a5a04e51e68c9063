package config

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// docRow is one row of a table in docs/config.md whose first cell is a
// directive name in backquotes.
type docRow struct {
	section string // the "## " heading above the row ("###" ones do not count)
	name    string
	second  string // status (Redis tables) or default (Skiff-only table)
}

var docRowRE = regexp.MustCompile("^\\| `([^`]+)` \\| ([^|]*) \\|")

func readConfigDoc(t *testing.T, path string) (string, []docRow) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read the option reference: %v", err)
	}
	var rows []docRow
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimPrefix(line, "## ")
		}
		if m := docRowRE.FindStringSubmatch(line); m != nil {
			rows = append(rows, docRow{section: section, name: m[1], second: strings.TrimSpace(m[2])})
		}
	}
	return string(b), rows
}

// TestConfigDocListsEveryOption keeps docs/config.md true for the options
// package config registers itself (node/ and cmd/skiff/ register more; the
// test in cmd/skiff checks the whole table a binary has): each one has a
// row, each alias is named, and a directive the page calls refused is not
// registered.
func TestConfigDocListsEveryOption(t *testing.T) {
	doc, rows := readConfigDoc(t, "../docs/config.md")
	named := map[string]bool{}
	for _, r := range rows {
		named[r.name] = true
		// The Redis section (with its "###" subsection) has a status column.
		if strings.HasPrefix(r.section, "Redis 7.0.15") {
			switch r.second {
			case "works", "refused", "no effect possible", "not acting yet":
			default:
				t.Errorf("docs/config.md: %s has status %q, want works, refused, no effect possible or not acting yet", r.name, r.second)
			}
			if r.second == "refused" && Lookup(r.name) != nil {
				t.Errorf("docs/config.md says %s is refused, but package config registers it", r.name)
			}
		}
	}
	if len(rows) < 150 {
		t.Fatalf("docs/config.md: only %d directive rows found; has the table format changed?", len(rows))
	}
	for _, o := range All() {
		if !named[o.Name] {
			t.Errorf("option %s is registered but has no row in docs/config.md", o.Name)
		}
		for _, a := range o.Aliases {
			if !strings.Contains(doc, "`"+a+"`") {
				t.Errorf("alias %s of %s is not named in docs/config.md", a, o.Name)
			}
		}
	}
}
