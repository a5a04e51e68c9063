package sentinel

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
)

// replyError is an error reply (-ERR ...) from an instance.
type replyError = resp.ReplyError

// errLinkClosed fails the callbacks of commands still pending when a link
// closes.
var errLinkClosed = errors.New("link closed")

// maxReplyLen bounds a bulk or array length read from an instance, so a
// broken peer cannot make the sentinel allocate without limit.
const maxReplyLen = 512 << 20

// readReply reads one reply from an instance (resp.ReadReply): an error
// reply is a replyError value.
func readReply(r *bufio.Reader) (any, error) {
	return resp.ReadReply(r, resp.ReplyLimits{MaxBulk: maxReplyLen, MaxElems: maxReplyLen, MaxDepth: 8})
}

// link is one connection to an instance: commands are pipelined, and each
// reply is handed, in order, to the callback of the command it answers.
// Messages that answer no command (pub/sub) go to onPush.
type link struct {
	nc      net.Conn
	mu      sync.Mutex
	pending []func(any, error)
	closed  bool
	done    chan struct{}
	onPush  func(any)
	onClose func(error)
	created time.Time
	pubsub  bool
}

// dialLink connects to addr within timeout, over TLS when tcfg is set
// (tls-replication, as Redis's sentinel). The link reads until it fails or
// is closed; then onClose runs once.
func dialLink(addr string, timeout time.Duration, tcfg *tls.Config, pubsub bool, onPush func(any), onClose func(error)) (*link, error) {
	nc, err := dialInstance(addr, timeout, tcfg)
	if err != nil {
		return nil, err
	}
	l := &link{nc: nc, done: make(chan struct{}), onPush: onPush, onClose: onClose, created: time.Now(), pubsub: pubsub}
	go l.readLoop()
	return l, nil
}

// dialInstance opens a TCP connection to an instance, and completes a TLS
// handshake on it when tcfg is set, all within timeout.
func dialInstance(addr string, timeout time.Duration, tcfg *tls.Config) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetKeepAlive(true)
		_ = tc.SetNoDelay(true)
	}
	if tcfg == nil {
		return nc, nil
	}
	tc := tls.Client(nc, tcfg)
	_ = tc.SetDeadline(time.Now().Add(timeout))
	if err := tc.Handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}

// dialTLSAware opens a connection to an instance as the links do: over
// TLS when Options.TLS gives a configuration.
func (e *Engine) dialTLSAware(addr string, timeout time.Duration) (net.Conn, error) {
	var tcfg *tls.Config
	if e.opts.TLS != nil {
		var err error
		if tcfg, err = e.opts.TLS(); err != nil {
			return nil, err
		}
	}
	return dialInstance(addr, timeout, tcfg)
}

func (l *link) readLoop() {
	r := bufio.NewReaderSize(l.nc, 16<<10)
	var err error
	for {
		var v any
		v, err = readReply(r)
		if err != nil {
			break
		}
		l.mu.Lock()
		var cb func(any, error)
		if l.pubsub {
			// On a pub/sub link every reply is a push; subscribe
			// confirmations included.
		} else if len(l.pending) > 0 {
			cb = l.pending[0]
			l.pending[0] = nil
			l.pending = l.pending[1:]
		}
		l.mu.Unlock()
		if cb != nil {
			cb(v, nil)
		} else if l.onPush != nil {
			l.onPush(v)
		}
	}
	l.shutdown(err)
}

func (l *link) shutdown(err error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	pending := l.pending
	l.pending = nil
	l.mu.Unlock()
	_ = l.nc.Close()
	close(l.done)
	// The callbacks take the engine lock, and shutdown may run under it (a
	// failed write in Send): run them on their own goroutine.
	go func() {
		for _, cb := range pending {
			if cb != nil {
				cb(nil, errLinkClosed)
			}
		}
		if l.onClose != nil {
			l.onClose(err)
		}
	}()
}

// Close closes the link; pending callbacks get errLinkClosed.
func (l *link) Close() { l.shutdown(errLinkClosed) }

// Pending is the number of commands sent and not yet answered.
func (l *link) Pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pending)
}

// Send writes one command; cb (may be nil) gets its reply. A write error
// closes the link.
func (l *link) Send(cb func(any, error), args ...string) bool {
	return l.SendMany([][]string{args}, []func(any, error){cb})
}

// SendMany writes several commands in one write (a MULTI ... EXEC block).
func (l *link) SendMany(cmds [][]string, cbs []func(any, error)) bool {
	var buf []byte
	for _, c := range cmds {
		buf = resp.AppendCommand(buf, c...)
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		go func() {
			for _, cb := range cbs {
				if cb != nil {
					cb(nil, errLinkClosed)
				}
			}
		}()
		return false
	}
	if !l.pubsub {
		for i := range cmds {
			var cb func(any, error)
			if i < len(cbs) {
				cb = cbs[i]
			}
			if cb == nil {
				cb = func(any, error) {}
			}
			l.pending = append(l.pending, cb)
		}
	}
	_ = l.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := l.nc.Write(buf)
	l.mu.Unlock()
	if err != nil {
		l.shutdown(err)
		return false
	}
	return true
}

// Closed reports whether the link is down.
func (l *link) Closed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// LocalIP is the local address of the connection (what a hello message
// announces when no announce-ip is set).
func (l *link) LocalIP() string {
	if a, ok := l.nc.LocalAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return ""
}
