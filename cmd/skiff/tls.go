package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/tlsconf"
)

// setupTLS loads the process's TLS files (tlsconf.For, shared with the
// RESP server) and, when TLS is configured, serves and calls the admin API
// over HTTPS with the same certificates (docs/tls.md).
func setupTLS(cfg *config.Config, logger hclog.Logger) (*tlsconf.Manager, error) {
	m, err := tlsconf.For(cfg, logger)
	if err != nil {
		return nil, fmt.Errorf("Failed to configure TLS: %w", err)
	}
	if m.Enabled() {
		admin.SetTLS(m.ServerConfig(), m.ClientConfig)
	}
	return m, nil
}

// linkTLS gives the TLS configuration of links to Redis instances
// (replication, sentinel links): nil unless tls-replication is on.
func linkTLS(cfg *config.Config, m *tlsconf.Manager) func() (*tls.Config, error) {
	return func() (*tls.Config, error) {
		if !cfg.Bool("tls-replication") {
			return nil, nil
		}
		return m.ClientConfig()
	}
}

// sentinelAnnouncedPort is the RESP port a sentinel announces in its
// hello messages: the tls-port when tls-replication is on and a tls-port
// is set, else port (Redis's rule). Its Raft and admin ports derive from
// it, so that other sentinels find them from the hello.
func sentinelAnnouncedPort(cfg *config.Config) int {
	if p := int(cfg.Int("tls-port")); p != 0 && cfg.Bool("tls-replication") {
		return p
	}
	return int(cfg.Int("port"))
}

// adminTLSConfig is `skiff admin --tls`'s client configuration, from
// redis-cli's flag names: --cacert (else the system's roots), --cert and
// --key (a client certificate, for tls-auth-clients yes).
func adminTLSConfig(cacert, cert, key string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cacert != "" {
		pem, err := os.ReadFile(cacert)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", cacert)
		}
		cfg.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return nil, fmt.Errorf("--cert and --key go together")
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("--cert/--key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// raftTLS sets o's raft transport hooks to mutual TLS with the process's
// certificates (tls-cluster for cluster nodes, tls-replication or
// tls-cluster for sentinels): the listener asks every peer for a
// certificate of the CA, the dialer presents ours and checks theirs, so
// the handshake authenticates both ends (PeersAuthenticated).
func raftTLS(tm *tlsconf.Manager) (listen func(network, addr string) (net.Listener, error), dial func(addr string, timeout time.Duration) (net.Conn, error)) {
	listen = func(network, addr string) (net.Listener, error) {
		ln, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		return tm.ClusterListener(ln), nil
	}
	return listen, tm.DialCluster
}
