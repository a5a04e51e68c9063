package tlsconf

import (
	"crypto/tls"
	"errors"
	"sync/atomic"
)

// ErrNotConfigured is returned for a TLS connection asked of a process
// whose TLS is off (no tls-port, tls-replication or tls-cluster).
var ErrNotConfigured = errors.New("TLS is not configured (set tls-cert-file, tls-key-file and tls-ca-cert-file)")

// Manager holds the current Material; a reload swaps it, so connections
// made after the swap use the new files and those already up keep theirs,
// as with Redis.
type Manager struct {
	mat  atomic.Pointer[Material]
	auth atomic.Int32 // AuthMode
}

// Set installs a loaded Material (nil turns TLS off).
func (m *Manager) Set(mat *Material) { m.mat.Store(mat) }

// Reload loads the files o names and installs them; on error the current
// Material stays.
func (m *Manager) Reload(o Options) error {
	mat, err := Load(o)
	if err != nil {
		return err
	}
	m.Set(mat)
	return nil
}

// SetAuthClients sets tls-auth-clients for the next handshakes.
func (m *Manager) SetAuthClients(a AuthMode) { m.auth.Store(int32(a)) }

// Enabled reports whether a Material is loaded.
func (m *Manager) Enabled() bool { return m != nil && m.mat.Load() != nil }

// ServerConfig is the configuration of a TLS listener for clients (the
// RESP and admin ports): each handshake uses the Material current at that
// moment and tls-auth-clients.
func (m *Manager) ServerConfig() *tls.Config {
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		mat := m.mat.Load()
		if mat == nil {
			return nil, ErrNotConfigured
		}
		return mat.byAuth[AuthMode(m.auth.Load())], nil
	}}
}

// MutualServerConfig is the configuration of the cluster bus listener: a
// peer must present a certificate signed by the CA, whatever
// tls-auth-clients says (as Redis's cluster bus).
func (m *Manager) MutualServerConfig() *tls.Config {
	return &tls.Config{GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
		mat := m.mat.Load()
		if mat == nil {
			return nil, ErrNotConfigured
		}
		return mat.cluster, nil
	}}
}

// ClientConfig is the configuration for one outgoing connection, from the
// current Material, or ErrNotConfigured.
func (m *Manager) ClientConfig() (*tls.Config, error) {
	if m == nil {
		return nil, ErrNotConfigured
	}
	mat := m.mat.Load()
	if mat == nil {
		return nil, ErrNotConfigured
	}
	return mat.clientConfig(), nil
}
