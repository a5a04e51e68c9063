package admin

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// The admin API of a process uses HTTPS when its TLS is configured: the
// listener presents the process's certificate (and asks for client
// certificates per tls-auth-clients), and every admin client of the
// process (joins, redirects, sentinel formation) speaks https with the
// process's client certificate. SetTLS is called once at start-up, before
// any listener or client exists; one process has one TLS identity.
var tlsState struct {
	sync.RWMutex
	server *tls.Config
	client func() (*tls.Config, error)
}

// SetTLS turns HTTPS on for this process's admin listeners and clients.
// server is the listener's configuration; client gives the configuration
// of each outgoing connection (so that a reload applies to new ones).
func SetTLS(server *tls.Config, client func() (*tls.Config, error)) {
	tlsState.Lock()
	tlsState.server, tlsState.client = server, client
	tlsState.Unlock()
}

func tlsServer() *tls.Config {
	tlsState.RLock()
	defer tlsState.RUnlock()
	return tlsState.server
}

func tlsClient() func() (*tls.Config, error) {
	tlsState.RLock()
	defer tlsState.RUnlock()
	return tlsState.client
}

// Scheme is "https" when SetTLS was called, else "http".
func Scheme() string {
	if tlsClient() != nil {
		return "https"
	}
	return "http"
}

// URL is the admin API's URL of path at addr (host:port).
func URL(addr, path string) string { return Scheme() + "://" + addr + path }

// Transport is the round tripper of admin clients: plain HTTP, or TLS
// with the process's client configuration when SetTLS was called.
func Transport() http.RoundTripper {
	cf := tlsClient()
	if cf == nil {
		return http.DefaultTransport
	}
	return &http.Transport{
		Proxy:               nil,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConns:        16,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			cfg, err := cf()
			if err != nil {
				return nil, err
			}
			d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: cfg}
			return d.DialContext(ctx, network, addr)
		},
	}
}
