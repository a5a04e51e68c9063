package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/config"
)

// TestConfigDocListsEveryOption checks docs/config.md against the whole
// option table of a skiff binary (package config's options plus those
// node/ and cmd/skiff/ register in init): every option and alias is
// named, a directive marked refused is not registered, one marked
// otherwise in the Redis section is, and every "not acting yet" row is
// also in the gap list. config/docs_test.go checks config's own options
// without building this package.
func TestConfigDocListsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatalf("read the option reference: %v", err)
	}
	doc := string(b)
	rowRE := regexp.MustCompile("^\\| `([^`]+)` \\| ([^|]*) \\|")
	named := map[string]bool{}
	notActing := map[string]bool{}
	gap := map[string]bool{}
	section := ""
	rows := 0
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimPrefix(line, "## ")
		}
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows++
		name, second := m[1], strings.TrimSpace(m[2])
		named[name] = true
		switch {
		case strings.HasPrefix(section, "Redis 7.0.15"):
			switch second {
			case "refused":
				if config.Lookup(name) != nil {
					t.Errorf("docs/config.md says %s is refused, but skiff registers it", name)
				}
			case "works", "no effect possible", "not acting yet":
				// include, user and sentinel are the config loader's,
				// not options.
				if config.Lookup(name) == nil && name != "include" && name != "user" && name != "sentinel" {
					t.Errorf("docs/config.md says %s is %s, but skiff does not register it", name, second)
				}
				if second == "not acting yet" {
					notActing[name] = true
				}
			default:
				t.Errorf("docs/config.md: %s has status %q", name, second)
			}
		case strings.HasPrefix(section, "Accepted, not acting yet"):
			gap[name] = true
		}
	}
	if rows < 150 {
		t.Fatalf("docs/config.md: only %d directive rows found; has the table format changed?", rows)
	}
	for name := range notActing {
		if !gap[name] {
			t.Errorf("docs/config.md: %s is \"not acting yet\" but missing from the gap list", name)
		}
	}
	for name := range gap {
		if !notActing[name] {
			t.Errorf("docs/config.md: %s is in the gap list but not marked \"not acting yet\"", name)
		}
	}
	for _, o := range config.All() {
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
