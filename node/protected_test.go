package node

import (
	"bufio"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dialFrom connects from a chosen loopback source address: 127.0.0.2 is
// on this host but is not "local" to Redis, which compares the text with
// 127.0.0.1, so it stands in for a remote client without leaving lo.
func dialFrom(t *testing.T, s *Server, src string) *rawConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	nc, err := d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.Port()))
	if err != nil {
		t.Skipf("cannot dial from %s (no 127.0.0.0/8 on lo?): %v", src, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{nc: nc, br: bufio.NewReader(nc)}
}

// readAll reads until the server closes, within 5 s.
func readAll(t *testing.T, c *rawConn) string {
	t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c.br)
	if err != nil {
		t.Fatalf("read until close: %v (got %q)", err, b)
	}
	return string(b)
}

func TestProtectedModeDeniesNonLocal(t *testing.T) {
	s := startTestServer(t)
	// The refusal comes at accept, before any command (sending one
	// first could make the close a reset that swallows the text).
	far := dialFrom(t, s, "127.0.0.2")
	if got := readAll(t, far); got != errProtectedMode {
		t.Fatalf("non-local client got %q, want the DENIED text and a close", got)
	}
	near := dialRaw(t, s)
	near.send(t, "PING")
	if got := near.readReply(t, 5*time.Second); got != "+PONG\r\n" {
		t.Fatalf("local client got %q", got)
	}
	near.send(t, "INFO", "stats")
	if got := near.readReply(t, 5*time.Second); !strings.Contains(got, "rejected_connections:1\r\n") {
		t.Fatalf("INFO stats does not count the refusal: %q", got)
	}

	// CONFIG SET protected-mode no opens the door, as the text says.
	near.send(t, "CONFIG", "SET", "protected-mode", "no")
	if got := near.readReply(t, 5*time.Second); got != "+OK\r\n" {
		t.Fatalf("CONFIG SET protected-mode no: %q", got)
	}
	far2 := dialFrom(t, s, "127.0.0.2")
	far2.send(t, "PING")
	if got := far2.readReply(t, 5*time.Second); got != "+PONG\r\n" {
		t.Fatalf("non-local client with protected-mode no got %q", got)
	}
}

func TestProtectedModeOffWithPassword(t *testing.T) {
	s := startTestServer(t, "--requirepass", "pw")
	far := dialFrom(t, s, "127.0.0.2")
	far.send(t, "PING")
	if got := far.readReply(t, 5*time.Second); got != "-NOAUTH Authentication required.\r\n" {
		t.Fatalf("non-local client with a password set got %q", got)
	}
}

func TestProtectedActionsLocal(t *testing.T) {
	s := startTestServer(t, "--enable-debug-command", "local", "--enable-protected-configs", "local", "--protected-mode", "no")
	near, far := dialRaw(t, s), dialFrom(t, s, "127.0.0.2")
	debugNo := "-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n"
	far.send(t, "DEBUG", "SLEEP", "0")
	if got := far.readReply(t, 5*time.Second); got != debugNo {
		t.Fatalf("DEBUG from non-local with local: %q", got)
	}
	near.send(t, "DEBUG", "SLEEP", "0")
	if got := near.readReply(t, 5*time.Second); got != "+OK\r\n" {
		t.Fatalf("DEBUG from local with local: %q", got)
	}
	far.send(t, "CONFIG", "SET", "dbfilename", "x.rdb")
	if got := far.readReply(t, 5*time.Second); got != "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config\r\n" {
		t.Fatalf("protected config from non-local: %q", got)
	}
	near.send(t, "CONFIG", "SET", "dbfilename", "x.rdb")
	if got := near.readReply(t, 5*time.Second); got != "+OK\r\n" {
		t.Fatalf("protected config from local: %q", got)
	}
}

// Redis checks enable-debug-command before authentication.
func TestDebugRefusedBeforeAuth(t *testing.T) {
	s := startTestServer(t, "--requirepass", "pw")
	c := dialRaw(t, s)
	c.send(t, "DEBUG", "SLEEP", "0")
	if got := c.readReply(t, 5*time.Second); !strings.HasPrefix(got, "-ERR DEBUG command not allowed.") {
		t.Fatalf("unauthenticated DEBUG with enable-debug-command no: %q", got)
	}
}

func TestLocalAddr(t *testing.T) {
	cases := map[string]bool{"127.0.0.1": true, "::1": true, "127.0.0.2": false, "10.0.0.1": false, "::ffff:127.0.0.1": true}
	for ip, want := range cases {
		if got := localAddr(&net.TCPAddr{IP: net.ParseIP(ip), Port: 1}); got != want {
			t.Errorf("localAddr(%s) = %v, want %v", ip, got, want)
		}
	}
	if !localAddr(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}) {
		t.Error("unix socket not local")
	}
}

func TestModuleCommandProtected(t *testing.T) {
	no := "-ERR MODULE command not allowed. If the enable-module-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.\r\n"
	s := startTestServer(t, "--enable-module-command", "local", "--protected-mode", "no")
	near, far := dialRaw(t, s), dialFrom(t, s, "127.0.0.2")
	for _, tc := range []struct {
		c    *rawConn
		args []string
		want string
	}{
		{far, []string{"MODULE", "LOAD", "/nonexistent.so"}, no},
		{far, []string{"MODULE", "UNLOAD", "x"}, no},
		{far, []string{"MODULE", "LIST"}, "*0\r\n"}, // LIST is not protected in Redis either
		{near, []string{"MODULE", "LOAD", "/nonexistent.so"}, "-ERR Error loading the extension. Please check the server logs.\r\n"},
		{near, []string{"MODULE", "UNLOAD", "x"}, "-ERR Error unloading module: no such module with that name\r\n"},
	} {
		tc.c.send(t, tc.args...)
		if got := tc.c.readReply(t, 5*time.Second); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.args, got, tc.want)
		}
	}
}
