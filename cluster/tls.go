package cluster

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"
)

// With tls-cluster yes, a node announces its tls-port and the RESP links
// between nodes (probes, PUBLISH fan-out) use TLS, as Redis's cluster bus
// does. SetPeerTLS is called once at start-up; one process has one TLS
// identity.
var peerTLS struct {
	sync.RWMutex
	fn func() (*tls.Config, error)
}

// SetPeerTLS makes node-to-node RESP links use TLS with the configuration
// fn gives for each connection (nil: plain TCP).
func SetPeerTLS(fn func() (*tls.Config, error)) {
	peerTLS.Lock()
	peerTLS.fn = fn
	peerTLS.Unlock()
}

// dialPeer opens a RESP connection to another node, completing the TLS
// handshake within timeout when SetPeerTLS is on.
func dialPeer(addr string, timeout time.Duration) (net.Conn, error) {
	peerTLS.RLock()
	fn := peerTLS.fn
	peerTLS.RUnlock()
	if fn == nil {
		return net.DialTimeout("tcp", addr, timeout)
	}
	cfg, err := fn()
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s over TLS: %w", addr, err)
	}
	return c, nil
}
