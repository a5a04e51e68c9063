package raftauth

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// fakeRemote makes a loopback connection look as if it came from (or went
// to) another machine, so the no-secret rules can be tested without
// touching any address but 127.0.0.1.
type fakeRemote struct {
	net.Conn
	remote net.Addr
}

func (f fakeRemote) RemoteAddr() net.Addr { return f.remote }

var farAddr = &net.TCPAddr{IP: net.IPv4(10, 99, 0, 2), Port: 4242}

type farListener struct{ net.Listener }

func (l farListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return fakeRemote{c, farAddr}, nil
}

func farDial(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return fakeRemote{c, farAddr}, nil
}

// lineLog collects log lines for assertions.
type lineLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ln
}

func newLayer(t *testing.T, c Config) (*StreamLayer, *lineLog) {
	t.Helper()
	if c.Listener == nil {
		c.Listener = listen(t)
	}
	logs := &lineLog{}
	c.Logger = hclog.New(&hclog.LoggerOptions{Output: logs, Level: hclog.Info})
	s := New(c)
	t.Cleanup(func() { _ = s.Close() })
	return s, logs
}

// acceptOne runs Accept in the background; the result arrives on the
// channel, or nothing when the layer refused every connection.
func acceptOne(s *StreamLayer) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := s.Accept()
		if err == nil {
			ch <- c
		}
	}()
	return ch
}

// exchange checks that bytes flow both ways after the handshake.
func exchange(t *testing.T, a, b net.Conn) {
	t.Helper()
	_ = a.SetDeadline(time.Now().Add(5 * time.Second))
	_ = b.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.Write([]byte("ping")); err != nil {
		t.Fatalf("write: %v", err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(b, got); err != nil || string(got) != "ping" {
		t.Fatalf("read after handshake: %q %v", got, err)
	}
}

func TestSameSecretConnects(t *testing.T) {
	srv, _ := newLayer(t, Config{Secret: []byte("s3cret")})
	cli, _ := newLayer(t, Config{Secret: []byte("s3cret")})
	acc := acceptOne(srv)
	c, err := cli.Dial(addrOf(srv), time.Second)
	if err != nil {
		t.Fatalf("dial with the right secret: %v", err)
	}
	defer c.Close()
	select {
	case sc := <-acc:
		defer sc.Close()
		exchange(t, c, sc)
		exchange(t, sc, c)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not accept an authenticated connection within 5s")
	}
}

func TestWrongSecretRefusedBothWays(t *testing.T) {
	srv, srvLog := newLayer(t, Config{Secret: []byte("right")})
	cli, _ := newLayer(t, Config{Secret: []byte("wrong")})
	acc := acceptOne(srv)
	_, err := cli.Dial(addrOf(srv), time.Second)
	// The client checks the server's proof first, so it is the client
	// that notices the mismatch and hangs up.
	if !errors.Is(err, ErrBadProof) {
		t.Fatalf("dial with a wrong secret: got %v, want ErrBadProof", err)
	}
	waitLog(t, srvLog, "cluster-secret differs")
	select {
	case <-acc:
		t.Fatal("server accepted a connection with a wrong secret")
	default:
	}
}

func TestNoSecretVersusSecret(t *testing.T) {
	srv, _ := newLayer(t, Config{Secret: []byte("x")})
	cli, _ := newLayer(t, Config{})
	if _, err := cli.Dial(addrOf(srv), time.Second); !errors.Is(err, ErrBadProof) {
		t.Fatalf("secretless client against a server with a secret: got %v, want ErrBadProof", err)
	}
	srv2, _ := newLayer(t, Config{})
	cli2, _ := newLayer(t, Config{Secret: []byte("x")})
	if _, err := cli2.Dial(addrOf(srv2), time.Second); !errors.Is(err, ErrBadProof) {
		t.Fatalf("client with a secret against a secretless server: got %v, want ErrBadProof", err)
	}
}

func TestNoSecretLoopbackConnects(t *testing.T) {
	srv, _ := newLayer(t, Config{})
	cli, _ := newLayer(t, Config{})
	acc := acceptOne(srv)
	c, err := cli.Dial(addrOf(srv), time.Second)
	if err != nil {
		t.Fatalf("loopback dial without a secret: %v", err)
	}
	defer c.Close()
	select {
	case sc := <-acc:
		sc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("loopback peer without secret not accepted within 5s")
	}
}

func TestNoSecretRemoteRefused(t *testing.T) {
	srv, srvLog := newLayer(t, Config{Listener: farListener{listen(t)}})
	cli, _ := newLayer(t, Config{})
	_, err := cli.Dial(addrOf(srv), time.Second)
	if !errors.Is(err, ErrPeerLoopback) {
		t.Fatalf("remote peer against a secretless server: got %v, want ErrPeerLoopback", err)
	}
	waitLog(t, srvLog, "only from loopback")

	// And the dialling side refuses a remote peer by itself.
	other, _ := newLayer(t, Config{})
	far, _ := newLayer(t, Config{Dial: farDial})
	if _, err := far.Dial(addrOf(other), time.Second); err == nil || !strings.Contains(err.Error(), "only to loopback") {
		t.Fatalf("secretless dial to a remote peer: got %v", err)
	}
}

func TestRemoteWithSecretConnects(t *testing.T) {
	srv, _ := newLayer(t, Config{Listener: farListener{listen(t)}, Secret: []byte("k")})
	cli, _ := newLayer(t, Config{Dial: farDial, Secret: []byte("k")})
	acc := acceptOne(srv)
	c, err := cli.Dial(addrOf(srv), time.Second)
	if err != nil {
		t.Fatalf("remote peer with the secret: %v", err)
	}
	c.Close()
	select {
	case sc := <-acc:
		sc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("remote peer with the secret not accepted within 5s")
	}
}

func TestPeersAuthenticatedAllowsRemoteWithoutSecret(t *testing.T) {
	srv, _ := newLayer(t, Config{Listener: farListener{listen(t)}, PeersAuthenticated: true})
	cli, _ := newLayer(t, Config{Dial: farDial, PeersAuthenticated: true})
	c, err := cli.Dial(addrOf(srv), time.Second)
	if err != nil {
		t.Fatalf("authenticated transport without secret: %v", err)
	}
	c.Close()
}

// A raw raft client (no handshake) is refused and never reaches Accept.
func TestRawRaftBytesRefused(t *testing.T) {
	srv, srvLog := newLayer(t, Config{Secret: []byte("k")})
	acc := acceptOne(srv)
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// rpcAppendEntries (0) followed by msgpack garbage, padded to a hello.
	if _, err := c.Write(append([]byte{0, 0x85}, bytes.Repeat([]byte{0xa1}, helloLen)...)); err != nil {
		t.Fatal(err)
	}
	waitLog(t, srvLog, "not a Skiff raft handshake")
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("server answered %d bytes to raw raft bytes instead of closing", n)
	}
	select {
	case <-acc:
		t.Fatal("raw raft connection reached Accept")
	default:
	}
}

// A client that connects and stays silent is dropped after the timeout.
func TestSilentPeerDropped(t *testing.T) {
	srv, srvLog := newLayer(t, Config{Secret: []byte("k"), HandshakeTimeout: 200 * time.Millisecond})
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("silent peer got bytes")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("silent peer not dropped within 5s")
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("dropped after %v", d)
	}
	waitLog(t, srvLog, "i/o timeout")
}

func TestTooManyPendingClosedAtOnce(t *testing.T) {
	srv, srvLog := newLayer(t, Config{Secret: []byte("k"), MaxPending: 2})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitLog(t, srvLog, "too many handshakes")
	// The good peer still gets in once the silent ones are closed.
	for _, c := range conns {
		c.Close()
	}
	cli, _ := newLayer(t, Config{Secret: []byte("k")})
	acc := acceptOne(srv)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := cli.Dial(addrOf(srv), time.Second)
		if err == nil {
			c.Close()
			select {
			case sc := <-acc:
				sc.Close()
			case <-time.After(5 * time.Second):
				t.Fatal("dial succeeded but Accept did not return it within 5s")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("good peer refused after the flood ended: %v", err)
		}
	}
}

func TestCloseEndsPendingHandshakes(t *testing.T) {
	srv, _ := newLayer(t, Config{Secret: []byte("k"), HandshakeTimeout: time.Minute})
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() { _ = srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for a silent peer's handshake")
	}
	if _, err := srv.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}

func TestProofsBindBothNonces(t *testing.T) {
	var a, b, c [nonceLen]byte
	_, _ = rand.Read(a[:])
	_, _ = rand.Read(b[:])
	_, _ = rand.Read(c[:])
	k := []byte("k")
	if proof(k, labelServer, &a, &b) == proof(k, labelClient, &a, &b) {
		t.Fatal("server and client proofs are equal: a server's proof could be replayed as a client's")
	}
	if proof(k, labelClient, &a, &b) == proof(k, labelClient, &a, &c) {
		t.Fatal("proof does not depend on the server nonce")
	}
}

func waitLog(t *testing.T, l *lineLog, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(l.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q within 5s; log:\n%s", want, l.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func randReader() io.Reader { return rand.Reader }

func addrOf(s *StreamLayer) raft.ServerAddress { return raft.ServerAddress(s.Addr().String()) }
