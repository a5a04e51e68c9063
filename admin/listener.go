package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
)

// HTTPListener serves an admin handler on one address with the admin API's
// timeouts. The admin Server, a cluster node and a sentinel's group each
// serve their own handler through one.
type HTTPListener struct {
	ln   net.Listener
	srv  *http.Server
	done chan struct{}
}

// ListenHTTP binds addr and serves h until Close.
func ListenHTTP(addr string, h http.Handler, log hclog.Logger) (*HTTPListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", addr, err)
	}
	if cfg := tlsServer(); cfg != nil {
		ln = tls.NewListener(ln, cfg) // HTTPS (tls.go)
	}
	l := &HTTPListener{ln: ln, done: make(chan struct{}), srv: &http.Server{Handler: h,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second,
		ErrorLog: log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true})}}
	go func() {
		defer close(l.done)
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin server stopped", "error", err)
		}
	}()
	return l, nil
}

// Addr is the bound address.
func (l *HTTPListener) Addr() string { return l.ln.Addr().String() }

// Close stops serving, waiting (3 s at most) for requests in flight.
func (l *HTTPListener) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := l.srv.Shutdown(ctx)
	if err != nil {
		_ = l.srv.Close()
	}
	<-l.done
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	return nil
}
