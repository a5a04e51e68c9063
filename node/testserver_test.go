package node

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

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

// rawConn is a test client that speaks RESP by hand, so tests see the
// exact bytes the server sends.
type rawConn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, s *Server) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port()), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) send(t *testing.T, argv ...string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(argv))
	for _, a := range argv {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.nc.Write([]byte(b.String())); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readReply reads one reply of any RESP2/RESP3 type and returns its raw
// bytes.
func (c *rawConn) readReply(t *testing.T, timeout time.Duration) string {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(timeout))
	var out strings.Builder
	pending := 1
	for pending > 0 {
		line, err := c.br.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (so far %q)", err, out.String())
		}
		out.WriteString(line)
		pending--
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		switch line[0] {
		case '*', '>', '~':
			if n > 0 {
				pending += n
			}
		case '%':
			if n > 0 {
				pending += 2 * n
			}
		case '$', '=':
			if n >= 0 {
				buf := make([]byte, n+2)
				if _, err := io.ReadFull(c.br, buf); err != nil {
					t.Fatalf("read bulk: %v", err)
				}
				out.Write(buf)
			}
		}
	}
	return out.String()
}
