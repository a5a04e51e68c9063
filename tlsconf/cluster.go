package tlsconf

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"
)

// ClusterListener wraps the cluster bus listener (the Raft port) in TLS:
// every peer must present a certificate signed by the CA (mutual TLS,
// whatever tls-auth-clients says). The handshake runs at the first read,
// under the caller's deadline.
func (m *Manager) ClusterListener(ln net.Listener) net.Listener {
	return tls.NewListener(ln, m.MutualServerConfig())
}

// DialCluster opens a connection to a cluster bus peer over TLS,
// presenting this process's certificate and checking the peer's against
// the CA; the handshake completes within timeout.
func (m *Manager) DialCluster(addr string, timeout time.Duration) (net.Conn, error) {
	cfg, err := m.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s over TLS: %w", addr, err)
	}
	return nc, nil
}
