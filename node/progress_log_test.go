package node

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestProgressLine(t *testing.T) {
	msg, args := progressLine("loading RDB", 45<<20, 100<<20, 3*time.Second)
	if want := "loading RDB: 45% (45.00 MB of 100.00 MB), eta 4s"; msg != want {
		t.Errorf("got %q, want %q", msg, want)
	}
	if len(args) != 10 || args[0] != "bytes" || args[1] != int64(45<<20) || args[5] != "45.00" {
		t.Errorf("fields %v", args)
	}
	msg, _ = progressLine("full sync from master", 1536, -1, time.Second)
	if want := "full sync from master: 1.50 KB so far"; msg != want {
		t.Errorf("got %q, want %q", msg, want)
	}
	if got := humanBytes(3 << 30); got != "3.00 GB" {
		t.Errorf("humanBytes: %q", got)
	}
}

// TestProgressLogThrottle: at most one line per progressEvery, none before.
func TestProgressLogThrottle(t *testing.T) {
	var buf bytes.Buffer
	pl := newProgressLog(hclog.New(&hclog.LoggerOptions{Output: &buf}), "loading AOF")
	pl.total = 1000
	for i := int64(0); i < 1000; i++ {
		pl.tick(i)
	}
	if buf.Len() != 0 {
		t.Fatalf("logged before a second passed: %q", buf.String())
	}
	pl.start = pl.start.Add(-2 * progressEvery)
	pl.last = pl.start
	pl.note(500, 1000)
	pl.note(600, 1000)
	if n := strings.Count(buf.String(), "\n"); n != 1 || !strings.Contains(buf.String(), "loading AOF: 50% (500 B of 1000 B), eta 2s") {
		t.Errorf("log %q", buf.String())
	}
	var nilLog *progressLog
	nilLog.note(1, 2) // no-op
}
