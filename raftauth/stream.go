package raftauth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/internal/loopback"
)

// DialFunc opens the raw connection under the handshake. A TLS layer
// passes one that returns a *tls.Conn; the default is plain TCP.
type DialFunc func(addr string, timeout time.Duration) (net.Conn, error)

// Defaults for Config.
const (
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultMaxPending       = 64
)

// Config configures a StreamLayer.
type Config struct {
	// Listener accepts raw connections (TCP, or TLS over TCP). The stream
	// layer owns it and closes it on Close.
	Listener net.Listener
	// Dial opens raw outgoing connections; nil means TCP.
	Dial DialFunc
	// Advertise is the address other members dial; nil means the
	// listener's address.
	Advertise net.Addr
	// Secret is the cluster-secret. Empty means no secret: only loopback
	// peers are accepted and dialled.
	Secret []byte
	// Logger receives one line per refused peer; nil discards.
	Logger hclog.Logger
	// HandshakeTimeout bounds the whole handshake of one connection, so a
	// peer that connects and says nothing (or dribbles bytes) is dropped.
	HandshakeTimeout time.Duration
	// MaxPending bounds the handshakes in progress at once; a connection
	// beyond it is closed at once, so idle connections cannot pile up
	// goroutines and file descriptors faster than the timeout drops them.
	MaxPending int
	// PeersAuthenticated says the raw connections are already mutually
	// authenticated below this layer (mutual TLS with the group's CA).
	// Then, with no Secret, non-loopback peers are accepted and dialled
	// too; with a Secret, both checks apply.
	PeersAuthenticated bool
}

// StreamLayer is a raft.StreamLayer whose connections, both ways, have
// proved knowledge of the cluster-secret before raft sees them.
type StreamLayer struct {
	cfg     Config
	ready   chan net.Conn
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	pending chan struct{} // semaphore of handshakes in progress
	lastLog atomic.Int64  // unix nanos of the last "too many" line

	mu       sync.Mutex
	inflight map[net.Conn]struct{} // handshaking; Close closes them
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// NewStreamLayer returns a stream layer over ln that dials with dial (nil
// for TCP) and authenticates every connection with secret.
func NewStreamLayer(ln net.Listener, dial DialFunc, secret []byte) *StreamLayer {
	return New(Config{Listener: ln, Dial: dial, Secret: secret})
}

// New starts accepting on c.Listener; handshakes run in their own
// goroutines so that one slow peer never delays another.
func New(c Config) *StreamLayer {
	if c.Dial == nil {
		c.Dial = func(addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("tcp", addr, timeout)
		}
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	c.Secret = append([]byte(nil), c.Secret...)
	s := &StreamLayer{
		cfg:      c,
		ready:    make(chan net.Conn),
		done:     make(chan struct{}),
		pending:  make(chan struct{}, c.MaxPending),
		inflight: make(map[net.Conn]struct{}),
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// HasSecret reports whether a cluster-secret is configured.
func (s *StreamLayer) HasSecret() bool { return len(s.cfg.Secret) > 0 }

func (s *StreamLayer) acceptLoop() {
	defer s.wg.Done()
	var delay time.Duration
	for {
		conn, err := s.cfg.Listener.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off rather
			// than spin, as net/http does.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			s.cfg.Logger.Error("raft accept failed", "error", err)
			select {
			case <-s.done:
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		select {
		case s.pending <- struct{}{}:
		default:
			s.logTooMany(conn.RemoteAddr())
			_ = conn.Close()
			continue
		}
		s.mu.Lock()
		closed := s.inflight == nil
		if !closed {
			s.inflight[conn] = struct{}{}
			s.wg.Add(1)
		}
		s.mu.Unlock()
		if closed {
			_ = conn.Close()
			return
		}
		go s.serve(conn)
	}
}

// logTooMany logs at most once a second: a flood must not also flood the
// log.
func (s *StreamLayer) logTooMany(from net.Addr) {
	now := time.Now().UnixNano()
	last := s.lastLog.Load()
	if now-last < int64(time.Second) || !s.lastLog.CompareAndSwap(last, now) {
		return
	}
	s.cfg.Logger.Warn("raft connection refused: too many handshakes in progress", "remote", from.String(), "max", s.cfg.MaxPending)
}

func (s *StreamLayer) serve(conn net.Conn) {
	defer s.wg.Done()
	err := s.handshakeIn(conn)
	<-s.pending
	s.mu.Lock()
	if s.inflight == nil {
		err = net.ErrClosed // Close closed it under us
	} else {
		delete(s.inflight, conn)
	}
	s.mu.Unlock()
	if err != nil {
		s.cfg.Logger.Warn("raft connection refused", "remote", conn.RemoteAddr().String(), "error", err)
		_ = conn.Close()
		return
	}
	select {
	case s.ready <- conn:
	case <-s.done:
		_ = conn.Close()
	}
}

func (s *StreamLayer) handshakeIn(conn net.Conn) error {
	if err := conn.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout)); err != nil {
		return fmt.Errorf("set handshake deadline: %w", err)
	}
	trusted := s.cfg.PeersAuthenticated || loopback.Addr(conn.RemoteAddr())
	if err := serverHandshake(conn, s.cfg.Secret, trusted, rand.Reader); err != nil {
		return err
	}
	// Raft sets its own deadlines per RPC where it wants them.
	return conn.SetDeadline(time.Time{})
}

// Accept returns the next connection that completed the handshake.
func (s *StreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.ready:
		return c, nil
	case <-s.done:
		return nil, fmt.Errorf("raft stream layer: %w", net.ErrClosed)
	}
}

// Close stops accepting, closes the listener and the connections still
// handshaking, and waits for their goroutines.
func (s *StreamLayer) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.cfg.Listener.Close()
		s.mu.Lock()
		for c := range s.inflight {
			_ = c.Close()
		}
		s.inflight = nil
		s.mu.Unlock()
	})
	s.wg.Wait()
	return err
}

// Addr is the advertised address, the one raft records for this member.
func (s *StreamLayer) Addr() net.Addr {
	if s.cfg.Advertise != nil {
		return s.cfg.Advertise
	}
	return s.cfg.Listener.Addr()
}

// Dial connects to a member and runs the client side of the handshake
// within timeout. Without a secret it refuses to talk to a non-loopback
// member: the empty-key proof would authenticate nobody, and raft would
// send that peer log entries.
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 || timeout > s.cfg.HandshakeTimeout {
		timeout = s.cfg.HandshakeTimeout
	}
	deadline := time.Now().Add(timeout)
	conn, err := s.cfg.Dial(string(address), timeout)
	if err != nil {
		return nil, err
	}
	if len(s.cfg.Secret) == 0 && !s.cfg.PeersAuthenticated && !loopback.Addr(conn.RemoteAddr()) {
		_ = conn.Close()
		return nil, fmt.Errorf("raft dial %s: %w", address, errDialNoSecret)
	}
	if err := conn.SetDeadline(deadline); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("raft dial %s: set handshake deadline: %w", address, err)
	}
	if err := clientHandshake(conn, s.cfg.Secret, rand.Reader); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("raft handshake with %s: %w", address, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("raft dial %s: clear deadline: %w", address, err)
	}
	return conn, nil
}

var errDialNoSecret = errors.New("no cluster-secret configured: this node talks raft only to loopback peers")
