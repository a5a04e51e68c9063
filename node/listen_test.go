package node

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func dialAddr(t *testing.T, network, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{nc: nc, br: bufio.NewReader(nc)}
}

// TestUnixSocket: RESP on the Unix socket, with the file's mode, Redis's
// address and flag for its clients, protected mode treating it as local,
// and the file removed at shutdown.
func TestUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "skiff.sock")
	if err := os.WriteFile(path, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newTestServer(t, "--unixsocket", path, "--unixsocketperm", "700", "--bind", "")
	if err := s.Listen(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	go s.Serve()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o700 {
		t.Errorf("socket file mode %v, want a socket with 0700", fi.Mode())
	}
	if s.HasTCPListener() {
		t.Errorf("bind \"\" but a TCP listener is open")
	}
	c := dialAddr(t, "unix", path)
	if r := c.do(t, "PING"); r != "+PONG\r\n" {
		t.Fatalf("PING over the Unix socket: %q", r)
	}
	list := c.do(t, "CLIENT", "LIST")
	if !strings.Contains(list, "addr=/unixsocket:0 laddr=/unixsocket:0 ") || !strings.Contains(list, " flags=U ") {
		t.Errorf("CLIENT LIST of a Unix socket client: %q", list)
	}
	if r := c.do(t, "CONFIG", "SET", "unixsocket", "/tmp/other"); !strings.Contains(r, "can't set immutable config") {
		t.Errorf("CONFIG SET unixsocket: %q", r)
	}
	// Started without a TCP address, then given one: it listens on the
	// port of the config (a free one here, as the config says 0).
	if r := c.do(t, "CONFIG", "SET", "bind", "127.0.0.1"); r != "+OK\r\n" {
		t.Fatalf("CONFIG SET bind 127.0.0.1 over the Unix socket: %q", r)
	}
	if !s.HasTCPListener() || s.Port() == 0 {
		t.Fatalf("no TCP listener after CONFIG SET bind (port %d)", s.Port())
	}
	if r := dialAddr(t, "tcp", "127.0.0.1:"+strconv.Itoa(s.Port())).do(t, "PING"); r != "+PONG\r\n" {
		t.Errorf("PING on TCP after CONFIG SET bind: %q", r)
	}
	s.Shutdown()
	<-s.Stopped()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after shutdown (stat: %v)", err)
	}
}

// TestNotListeningAnywhere: no TCP address and no Unix socket is Redis's
// start-up error.
func TestNotListeningAnywhere(t *testing.T) {
	s := newTestServer(t, "--bind", "")
	err := s.Listen()
	if err == nil || !strings.Contains(err.Error(), "Configured to not listen anywhere") {
		t.Fatalf("Listen with bind \"\" and no unixsocket: %v", err)
	}
}

// TestConfigSetPortAndBind: CONFIG SET port and bind rebind at run time;
// a port or an address that can't be bound is refused with Redis's text
// and the server keeps listening where it did.
func TestConfigSetPortAndBind(t *testing.T) {
	s := startTestServer(t)
	old := s.Port()
	c := dialRaw(t, s)

	// A port in use: refused, the old one still serves.
	busy, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	if r := c.do(t, "CONFIG", "SET", "port", busyPort); r != "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n" {
		t.Errorf("CONFIG SET port <busy>: %q", r)
	}
	if r := c.do(t, "CONFIG", "GET", "port"); r != "*2\r\n$4\r\nport\r\n$1\r\n0\r\n" {
		t.Errorf("CONFIG GET port after the failure: %q, want the value set at start (0)", r)
	}
	if r := dialAddr(t, "tcp", "127.0.0.1:"+strconv.Itoa(old)).do(t, "PING"); r != "+PONG\r\n" {
		t.Errorf("the old port after a failed change: %q", r)
	}

	// A free port: the new one serves, the old one is closed, and the
	// connection that asked stays open.
	np := freePort(t)
	if r := c.do(t, "CONFIG", "SET", "port", strconv.Itoa(np)); r != "+OK\r\n" {
		t.Fatalf("CONFIG SET port %d: %q", np, r)
	}
	if r := dialAddr(t, "tcp", "127.0.0.1:"+strconv.Itoa(np)).do(t, "PING"); r != "+PONG\r\n" {
		t.Errorf("PING on the new port: %q", r)
	}
	if nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(old), time.Second); err == nil {
		nc.Close()
		t.Errorf("the old port %d still accepts connections", old)
	}
	if r := c.do(t, "INFO", "server"); !strings.Contains(r, "tcp_port:"+strconv.Itoa(np)+"\r\n") {
		t.Errorf("INFO tcp_port after the change: want %d", np)
	}

	// An address that can't be bound: refused, the old bind kept.
	if r := c.do(t, "CONFIG", "SET", "bind", "999.999.999.999"); r != "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n" {
		t.Errorf("CONFIG SET bind 999.999.999.999: %q", r)
	}
	if r := c.do(t, "CONFIG", "GET", "bind"); !strings.Contains(r, "127.0.0.1") {
		t.Errorf("CONFIG GET bind after the failure: %q", r)
	}
	if r := dialAddr(t, "tcp", "127.0.0.1:"+strconv.Itoa(np)).do(t, "PING"); r != "+PONG\r\n" {
		t.Errorf("PING after a failed bind change: %q", r)
	}

	// bind "": no TCP listener; the existing connection still works and
	// can bind again.
	if r := c.do(t, "CONFIG", "SET", "bind", ""); r != "+OK\r\n" {
		t.Fatalf("CONFIG SET bind \"\": %q", r)
	}
	if nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(np), time.Second); err == nil {
		nc.Close()
		t.Errorf("bind \"\" but port %d still accepts connections", np)
	}
	if r := c.do(t, "CONFIG", "SET", "bind", "127.0.0.1"); r != "+OK\r\n" {
		t.Fatalf("CONFIG SET bind 127.0.0.1: %q", r)
	}
	if r := dialAddr(t, "tcp", "127.0.0.1:"+strconv.Itoa(np)).do(t, "PING"); r != "+PONG\r\n" {
		t.Errorf("PING after binding again: %q", r)
	}
}

// TestConfigSetPortRefusedInClusterMode: a cluster node's address is in
// the group's metadata, so it does not move.
func TestConfigSetPortRefusedInClusterMode(t *testing.T) {
	s := startTestServer(t, "--cluster-enabled", "yes")
	c := dialRaw(t, s)
	r := c.do(t, "CONFIG", "SET", "port", strconv.Itoa(freePort(t)))
	if !strings.HasPrefix(r, "-ERR CONFIG SET failed (possibly related to argument 'port')") {
		t.Errorf("CONFIG SET port on a cluster node: %q", r)
	}
	// (the node has no group here, so it answers -LOADING: any answer
	// shows the listener is still there)
	if r := dialAddr(t, "tcp", "127.0.0.1:"+strconv.Itoa(s.Port())).do(t, "PING"); r == "" {
		t.Errorf("no answer on the original port")
	}
}
