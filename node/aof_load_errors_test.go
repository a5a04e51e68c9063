package node

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestAOFLoadErrorsInRedisWords: an AOF that can't be loaded fails the
// start with Redis's message as the last log line (its suite and
// operators look for it); a truncated tail is cut off when
// aof-load-truncated allows it, and incremental files without a base are
// appended to as they are.
func TestAOFLoadErrorsInRedisWords(t *testing.T) {
	cases := []struct {
		name, content, truncated string
		fatal, lastLine          string
	}{
		{"unknown command", "*2\r\n$3\r\nbla\r\n$3\r\nfoo\r\n", "yes", "yes", "Unknown command 'bla' reading the append only file appendonly.aof.1.incr.aof"},
		{"bad format", "*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$1\r\n1\r\n!!!!", "yes", "yes", "Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup of your AOF file"},
		{"inline command", "set foo 1\r\n", "yes", "yes", "Bad file format reading the append only file"},
		{"short read, not allowed", "*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$1\r\n1\r\n*2\r\n$3\r\nset", "no", "yes", "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup"},
		{"short read, allowed", "*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$1\r\n1\r\n*2\r\n$3\r\nset", "yes", "no", "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ad := filepath.Join(dir, "appendonlydir")
			if err := os.MkdirAll(ad, 0o755); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(ad, "appendonly.aof.manifest"), []byte("file appendonly.aof.1.incr.aof seq 1 type i\n"), 0o644)
			incr := filepath.Join(ad, "appendonly.aof.1.incr.aof")
			os.WriteFile(incr, []byte(tc.content), 0o644)
			cfg, err := config.Load("", []string{"--port", "0", "--bind", "127.0.0.1", "--dir", dir, "--save", "",
				"--appendonly", "yes", "--aof-load-truncated", tc.truncated})
			if err != nil {
				t.Fatal(err)
			}
			var logs syncBuffer
			s, err := New(cfg, hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info}))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Shutdown()
			err = s.Load()
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			last := lines[len(lines)-1]
			var logged *LoadErrorLogged
			if tc.fatal == "yes" {
				if !errors.As(err, &logged) {
					t.Fatalf("Load: %v, want a logged load error", err)
				}
				if !strings.Contains(last, tc.lastLine) {
					t.Errorf("last log line %q, want %q", last, tc.lastLine)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !strings.Contains(logs.String(), tc.lastLine) {
				t.Errorf("log %q lacks %q", logs.String(), tc.lastLine)
			}
			if st, err := os.Stat(incr); err != nil || st.Size() != int64(len("*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$1\r\n1\r\n")) {
				t.Errorf("the truncated file was not cut after the last complete command (stat %v, %v)", st, err)
			}
			if _, err := os.Stat(filepath.Join(ad, "appendonly.aof.1.base.rdb")); err == nil {
				t.Errorf("a base file was written at start although incremental files existed")
			}
		})
	}
}

// TestAOFLoadExpireInThePast: while the AOF loads nothing expires, as in
// Redis: PEXPIREAT in the past sets the TTL and a later RPUSH extends the
// same key, which is then expired once the load is over (LLEN 0). Deleting
// at the PEXPIREAT would leave a list of one element without a TTL.
func TestAOFLoadExpireInThePast(t *testing.T) {
	dir := t.TempDir()
	ad := filepath.Join(dir, "appendonlydir")
	if err := os.MkdirAll(ad, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ad, "appendonly.aof.manifest"), []byte("file appendonly.aof.1.incr.aof seq 1 type i\n"), 0o644)
	aof := "*3\r\n$5\r\nrpush\r\n$4\r\nlist\r\n$3\r\nfoo\r\n" +
		"*3\r\n$9\r\npexpireat\r\n$4\r\nlist\r\n$4\r\n1000\r\n" +
		"*3\r\n$5\r\nrpush\r\n$4\r\nlist\r\n$3\r\nbar\r\n"
	os.WriteFile(filepath.Join(ad, "appendonly.aof.1.incr.aof"), []byte(aof), 0o644)
	s := newTestServer(t, "--dir", dir, "--appendonly", "yes")
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if err := s.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	go s.Serve()
	t.Cleanup(s.Shutdown)
	c := dialRaw(t, s)
	if got := c.do(t, "LLEN", "list"); got != ":0\r\n" {
		t.Errorf("LLEN after loading rpush, pexpireat in the past, rpush: %q, want :0", got)
	}
}
