package config

import (
	"strings"
	"testing"
)

// loadOne loads a single --name value directive and returns the stored
// value, or the error text.
func loadOne(t *testing.T, name, value string) (string, string) {
	t.Helper()
	c, err := Load("", []string{"--" + name, value})
	if err != nil {
		le, ok := err.(*LineError)
		if !ok {
			t.Fatalf("%s %q: error %v is not a LineError", name, value, err)
		}
		return "", le.Msg
	}
	return c.String(name), ""
}

// TestUnixsocketpermOctal: Redis reads unixsocketperm in base 8 and shows
// it as octal digits (CONFIG GET unixsocketperm: "700"), with its own
// error texts for a non-octal or out-of-range value (redis-server 7.0.15).
func TestUnixsocketpermOctal(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"700", "700", ""},
		{"0700", "700", ""},
		{"+7", "7", ""},
		{" 755", "755", ""},
		{"", "0", ""},
		{"777", "777", ""},
		{"800", "", "argument couldn't be parsed as an octal number"},
		{"abc", "", "argument couldn't be parsed as an octal number"},
		{"7 ", "", "argument couldn't be parsed as an octal number"},
		{"1000", "", "argument must be between 0 and 777 inclusive"},
		{"-1", "", "argument must be between 0 and 777 inclusive"},
	} {
		got, err := loadOne(t, "unixsocketperm", tc.in)
		if got != tc.want || err != tc.err {
			t.Errorf("unixsocketperm %q: value %q error %q, want value %q error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
	c, err := Load("", []string{"--unixsocketperm", "700"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Octal("unixsocketperm"); got != 0700 {
		t.Errorf("Octal(unixsocketperm) = %#o, want 0700", got)
	}
	if got := c.Get([]string{"unixsocketperm"}); strings.Join(got, " ") != "unixsocketperm 700" {
		t.Errorf("CONFIG GET unixsocketperm = %q", got)
	}
	// Immutable as in Redis: the socket is created at start-up.
	if err := c.SetPairs([]string{"unixsocketperm", "755"}); err == nil || !strings.Contains(err.Error(), "can't set immutable config") {
		t.Errorf("CONFIG SET unixsocketperm: %v, want the immutable error", err)
	}
}

// TestRedisEnumValues: supervised, sanitize-dump-payload and
// shutdown-on-sigint/-sigterm take Redis 7.0.15's values, and refuse
// others with its texts (checked side by side with redis-server).
func TestRedisEnumValues(t *testing.T) {
	for _, tc := range []struct{ name, in, want, err string }{
		{"supervised", "systemd", "systemd", ""},
		{"supervised", "upstart", "upstart", ""},
		{"supervised", "AUTO", "auto", ""},
		{"supervised", "yes", "", "argument(s) must be one of the following: upstart, systemd, auto, no"},
		{"sanitize-dump-payload", "clients", "clients", ""},
		{"sanitize-dump-payload", "yes", "yes", ""},
		{"sanitize-dump-payload", "maybe", "", "argument(s) must be one of the following: no, yes, clients"},
		{"shutdown-on-sigterm", "now force nosave", "nosave now force", ""},
		{"shutdown-on-sigterm", "default now", "now", ""},
		{"shutdown-on-sigterm", "default", "default", ""},
		{"shutdown-on-sigint", "SAVE", "save", ""},
		{"shutdown-on-sigint", "bogus", "", "argument(s) must be one of the following: default, save, nosave, now, force"},
		{"shutdown-on-sigint", "", "", "argument(s) must be one of the following: default, save, nosave, now, force"},
		{"shutdown-on-sigterm", "nosave save", "", "shutdown options SAVE and NOSAVE can't be used simultaneously"},
	} {
		got, err := loadOne(t, tc.name, tc.in)
		if got != tc.want || err != tc.err {
			t.Errorf("%s %q: value %q error %q, want value %q error %q", tc.name, tc.in, got, err, tc.want, tc.err)
		}
	}
	c := New()
	err := c.SetPairs([]string{"shutdown-on-sigterm", "bogus"})
	if want := "ERR CONFIG SET failed (possibly related to argument 'shutdown-on-sigterm') - argument(s) must be one of the following: default, save, nosave, now, force"; err == nil || err.Error() != want {
		t.Errorf("CONFIG SET shutdown-on-sigterm bogus: %v\nwant %s", err, want)
	}
	if f := ParseShutdownFlags("nosave now force"); f != (ShutdownFlags{NoSave: true, Now: true, Force: true}) {
		t.Errorf("ParseShutdownFlags: %+v", f)
	}
}

// TestOOMScoreAdjValues: three integers within -2000..2000, with Redis
// 7.0.15's error texts (checked side by side with redis-server).
func TestOOMScoreAdjValues(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"0 200 800", "0 200 800", ""},
		{"+1 -2 0003", "1 -2 3", ""},
		{"-2000 0 2000", "-2000 0 2000", ""},
		{"1 2", "", "wrong number of arguments"},
		{"1 2 3 4", "", "wrong number of arguments"},
		{"1 2 3000", "", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."},
		{"1 2 x", "", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."},
		{"-2001 0 0", "", "Invalid oom-score-adj-values, elements must be between -2000 and 2000."},
	} {
		got, err := loadOne(t, "oom-score-adj-values", tc.in)
		if got != tc.want || err != tc.err {
			t.Errorf("oom-score-adj-values %q: value %q error %q, want value %q error %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
