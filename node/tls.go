package node

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/skiffdb/skiff/tlsconf"
)

// tlsHandshakeTimeout bounds a client's TLS handshake: a client that
// connects and says nothing holds no goroutine for longer.
const tlsHandshakeTimeout = 10 * time.Second

// tlsListener is a listener of tls-port: it hands out TCP connections;
// the handshake runs on the connection's own goroutine (serveTLS).
type tlsListener struct {
	net.Listener
	cfg *tls.Config
}

// TLS is the process's TLS configurations (tlsconf.Manager); other parts
// (replication, sentinel links, admin, Raft) take theirs from it.
func (s *Server) TLS() *tlsconf.Manager { return s.tls }

// TLSPort is the bound tls-port, 0 without one.
func (s *Server) TLSPort() int { return s.tlsPort }

// listenTLS binds every address of bind on tls-port and returns the
// listeners and the bound port.
func (s *Server) listenTLS(bind string, port int) ([]net.Listener, int, error) {
	if !s.tls.Enabled() {
		return nil, 0, fmt.Errorf("tls-port %d: %w", port, tlsconf.ErrNotConfigured)
	}
	ls, bound, err := listenAll(bind, port)
	if err != nil {
		return nil, 0, fmt.Errorf("tls-port: %w", err)
	}
	cfg := s.tls.ServerConfig()
	out := make([]net.Listener, len(ls))
	for i, ln := range ls {
		out[i] = &tlsListener{Listener: ln, cfg: cfg}
	}
	return out, bound, nil
}

// serveTLS completes the handshake of a connection accepted on tls-port,
// then serves it as any client. A failed handshake is logged with Redis's
// words and the connection closed.
func (s *Server) serveTLS(tl *tlsListener, conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		if ka := s.cfg.Int("tcp-keepalive"); ka > 0 {
			tc.SetKeepAlive(true)
			tc.SetKeepAlivePeriod(time.Duration(ka) * time.Second)
		}
	}
	tc := tls.Server(conn, tl.cfg)
	tc.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	if err := tc.Handshake(); err != nil {
		s.log.Warn(fmt.Sprintf("Error accepting a client connection: %v (conn: %s)", err, conn.RemoteAddr()))
		conn.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	s.serveConn(tc)
}

// replicationTLS is the TLS configuration of the link to our master:
// nil unless tls-replication is on.
func (s *Server) replicationTLS() (*tls.Config, error) {
	if !s.cfg.Bool("tls-replication") {
		return nil, nil
	}
	return s.tls.ClientConfig()
}

// announcedReplicaPort is the port a replica announces to its master
// (REPLCONF listening-port) when replica-announce-port is unset: the
// tls-port when replicating over TLS, else the plain one (as Redis).
func (s *Server) announcedReplicaPort() int {
	if s.cfg.Bool("tls-replication") && s.tlsPort != 0 {
		return s.tlsPort
	}
	return s.port
}

// migrateTLS wraps a MIGRATE connection in TLS when tls-cluster is on
// (Redis's rule: MIGRATE talks to other cluster nodes as the bus does).
func (s *Server) migrateTLS(conn net.Conn, addr string, timeout time.Duration) (net.Conn, error) {
	if !s.cfg.Bool("tls-cluster") {
		return conn, nil
	}
	cfg, err := s.tls.ClientConfig()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("MIGRATE to %s: %w", addr, err)
	}
	tc := tls.Client(conn, cfg)
	tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("MIGRATE to %s: TLS handshake: %w", addr, err)
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}
