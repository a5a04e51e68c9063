package config

import (
	"strings"
	"testing"
)

func TestLoadSentinelMode(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "s.conf", "sentinel\nsentinel monitor m 127.0.0.1 6379 2\nlogfile x.log\n  SENTINEL  myid   abc  \n")
	c, err := LoadWith(p, []string{"--sentinel", "--sentinel", "announce-ip", "1.2.3.4"}, LoadOptions{Sentinel: true})
	if err != nil {
		t.Fatal(err)
	}
	if !c.SentinelMode() || c.Int("port") != 26379 || c.Bool("protected-mode") {
		t.Errorf("sentinel defaults: port %d protected-mode %s", c.Int("port"), c.String("protected-mode"))
	}
	d := c.SentinelDirectives()
	if len(d) != 3 || d[0].Line != 2 || d[0].File != p || strings.Join(d[0].Args, " ") != "monitor m 127.0.0.1 6379 2" ||
		d[1].Text != "SENTINEL  myid   abc" || strings.Join(d[1].Args, " ") != "myid abc" ||
		d[2].File != "command line" || strings.Join(d[2].Args, " ") != "announce-ip 1.2.3.4" {
		t.Errorf("directives: %+v", d)
	}
	if !c.IsSet("logfile") || c.IsSet("port") || c.IsSet("nosuch") {
		t.Errorf("IsSet: logfile %v port %v", c.IsSet("logfile"), c.IsSet("port"))
	}
	// Server mode: the directive is refused with Redis's text; a bare
	// "sentinel" is a bad directive.
	p1 := writeFile(t, dir, "s1.conf", "port 7000\nsentinel monitor m 127.0.0.1 6379 2\n")
	if _, err := Load(p1, nil); err == nil || !strings.Contains(err.Error(), "line 2") ||
		!strings.Contains(err.Error(), "sentinel directive while not in sentinel mode") {
		t.Errorf("server mode: %v", err)
	}
	p2 := writeFile(t, dir, "s2.conf", "sentinel\n")
	if _, err := Load(p2, nil); err == nil || !strings.Contains(err.Error(), "Bad directive") {
		t.Errorf("bare sentinel in server mode: %v", err)
	}
	// Server mode keeps Redis's defaults.
	if c, err := Load("", nil); err != nil || c.Int("port") != 6379 || c.SentinelMode() {
		t.Errorf("server defaults: %v", err)
	}
}
