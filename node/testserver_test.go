package node

import (
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
)

// newTestServer builds a server on a free loopback port, its files in a
// temporary directory and without save points (so nothing is written into
// the source tree on shutdown). opts are --name value pairs that override
// those defaults. The server is not listening yet.
func newTestServer(t *testing.T, opts ...string) *Server {
	t.Helper()
	args := append([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", t.TempDir(), "--save", ""}, opts...)
	cfg, err := config.Load("", args)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	s, err := New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	return s
}

// startTestServer is newTestServer, listening and serving until the test
// ends.
func startTestServer(t *testing.T, opts ...string) *Server {
	t.Helper()
	s := newTestServer(t, opts...)
	if err := s.Listen(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	go s.Serve()
	t.Cleanup(s.Shutdown)
	return s
}
