package replication

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LinkConfig is what a replica needs to attach to its master.
type LinkConfig struct {
	Addr          string // host:port of the master
	User          string // masteruser
	Password      string // masterauth
	ListeningPort int    // our port, announced with REPLCONF listening-port
	AnnounceIP    string // replica-announce-ip
	RunID         string // sent as REPLCONF skiff-runid when set (consistency strong)
	Timeout       time.Duration
	// SourceAddr, when set, is the local IP the connection comes from
	// (bind-source-addr).
	SourceAddr string
	// TLS, when set, wraps the connection (tls-replication): the
	// handshake must complete within Timeout.
	TLS *tls.Config
}

// Link is a replica's connection to its master.
type Link struct {
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration
	wmu     sync.Mutex // ACKs come from a timer while the stream is applied
}

// ErrTransient marks a master reply that asks us to retry later
// (-LOADING, -NOMASTERLINK, -MASTERDOWN ...).
var ErrTransient = errors.New("master is not ready")

// deadlineConn refreshes the read deadline before every read, so a link
// fails after timeout of silence, not after timeout in total.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	return d.Conn.Read(p)
}

// Dial connects to the master.
func Dial(cfg LinkConfig) (*Link, error) {
	t := cfg.Timeout
	if t <= 0 {
		t = 60 * time.Second
	}
	d := net.Dialer{Timeout: t}
	if cfg.SourceAddr != "" {
		ip := net.ParseIP(cfg.SourceAddr)
		if ip == nil {
			return nil, fmt.Errorf("connect to master %s: bind-source-addr %q is not an IP address", cfg.Addr, cfg.SourceAddr)
		}
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	nc, err := d.Dial("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("connect to master %s: %w", cfg.Addr, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetKeepAlive(true)
	}
	if cfg.TLS != nil {
		tc := tls.Client(nc, cfg.TLS)
		tc.SetDeadline(time.Now().Add(t))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, fmt.Errorf("TLS handshake with master %s: %w", cfg.Addr, err)
		}
		tc.SetDeadline(time.Time{})
		nc = tc
	}
	return &Link{nc: nc, br: bufio.NewReaderSize(&deadlineConn{nc, t}, 64<<10), timeout: t}, nil
}

// Close closes the connection; a blocked reader returns.
func (l *Link) Close() error { return l.nc.Close() }

// NetConn is the underlying connection.
func (l *Link) NetConn() net.Conn { return l.nc }

// Send writes one command. It is safe to call from several goroutines.
func (l *Link) Send(args ...string) error {
	b := make([][]byte, len(args))
	for i, a := range args {
		b[i] = []byte(a)
	}
	out := AppendCommand(nil, b)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	l.nc.SetWriteDeadline(time.Now().Add(l.timeout))
	_, err := l.nc.Write(out)
	return err
}

// SendAck reports the replica's processed offset (REPLCONF ACK).
func (l *Link) SendAck(off int64) error {
	return l.Send("REPLCONF", "ACK", strconv.FormatInt(off, 10))
}

// readLine reads one reply line without its CRLF, skipping the bare
// newlines a master sends as keepalives while it prepares the payload.
func (l *Link) readLine() (string, error) {
	for {
		s, err := l.br.ReadString('\n')
		if err != nil {
			return "", unexpected(err)
		}
		s = strings.TrimRight(s, "\r\n")
		if s != "" {
			return s, nil
		}
	}
}

func (l *Link) command(args ...string) (string, error) {
	if err := l.Send(args...); err != nil {
		return "", fmt.Errorf("send %s: %w", args[0], err)
	}
	r, err := l.readLine()
	if err != nil {
		return "", fmt.Errorf("read reply to %s: %w", args[0], err)
	}
	return r, nil
}

// Handshake runs the steps before PSYNC: PING, AUTH, REPLCONF
// listening-port / ip-address / capa, as a Redis 7.0 replica does.
func (l *Link) Handshake(cfg LinkConfig) error {
	r, err := l.command("PING")
	if err != nil {
		return err
	}
	// A master requiring auth answers the PING with an auth error; the
	// AUTH below settles it.
	if r[0] == '-' && !strings.HasPrefix(r, "-NOAUTH") && !strings.HasPrefix(r, "-NOPERM") &&
		!strings.HasPrefix(r, "-ERR operation not permitted") {
		return fmt.Errorf("error reply to PING from master: %q", r)
	}
	if cfg.Password != "" {
		args := []string{"AUTH", cfg.Password}
		if cfg.User != "" {
			args = []string{"AUTH", cfg.User, cfg.Password}
		}
		if r, err = l.command(args...); err != nil {
			return err
		}
		if r[0] == '-' {
			return fmt.Errorf("Unable to AUTH to MASTER: %s", r) // Redis's log text
		}
	}
	// Errors of the REPLCONFs are not fatal: old masters do not know them.
	if _, err = l.command("REPLCONF", "listening-port", strconv.Itoa(cfg.ListeningPort)); err != nil {
		return err
	}
	if cfg.AnnounceIP != "" {
		if _, err = l.command("REPLCONF", "ip-address", cfg.AnnounceIP); err != nil {
			return err
		}
	}
	if _, err = l.command("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		return err
	}
	if cfg.RunID != "" {
		// A Skiff master in consistency strong tracks in-sync replicas by
		// process; other masters answer an error, which is harmless.
		if _, err = l.command("REPLCONF", "skiff-runid", cfg.RunID); err != nil {
			return err
		}
	}
	return nil
}

// PSyncResult is the master's answer to PSYNC.
type PSyncResult struct {
	Full   bool   // +FULLRESYNC: an RDB payload follows
	ReplID string // the master's replication id (new one on +CONTINUE, if sent)
	Offset int64  // with Full: the offset the payload corresponds to
}

// PSync asks to continue from offset off (our last byte + 1) of history
// replid; "?" and -1 ask for a full sync.
func (l *Link) PSync(replid string, off int64) (PSyncResult, error) {
	return l.psync(replid, off)
}

// PSyncFailover is PSync with the FAILOVER argument (Redis's FAILOVER
// command): the master we are becoming a replica of is our replica until
// now and takes over if replid is its history.
func (l *Link) PSyncFailover(replid string, off int64) (PSyncResult, error) {
	return l.psync(replid, off, "FAILOVER")
}

func (l *Link) psync(replid string, off int64, extra ...string) (PSyncResult, error) {
	r, err := l.command(append([]string{"PSYNC", replid, strconv.FormatInt(off, 10)}, extra...)...)
	if err != nil {
		return PSyncResult{}, err
	}
	switch {
	case strings.HasPrefix(r, "+FULLRESYNC"):
		f := strings.Fields(r)
		if len(f) != 3 || len(f[1]) != 40 {
			return PSyncResult{}, fmt.Errorf("master replied to PSYNC with malformed %q", r)
		}
		o, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil {
			return PSyncResult{}, fmt.Errorf("master replied to PSYNC with malformed %q", r)
		}
		return PSyncResult{Full: true, ReplID: f[1], Offset: o}, nil
	case strings.HasPrefix(r, "+CONTINUE"):
		f := strings.Fields(r)
		res := PSyncResult{ReplID: replid}
		if len(f) >= 2 && len(f[1]) == 40 {
			res.ReplID = f[1]
		}
		return res, nil
	case strings.HasPrefix(r, "-NOMASTERLINK"), strings.HasPrefix(r, "-LOADING"), strings.HasPrefix(r, "-MASTERDOWN"):
		return PSyncResult{}, fmt.Errorf("%w: %s", ErrTransient, r)
	}
	return PSyncResult{}, fmt.Errorf("unexpected reply to PSYNC from master: %q", r)
}

// ReadRDB copies the RDB payload that follows +FULLRESYNC into w, in
// either form: "$<len>\r\n" and len bytes, or (diskless) "$EOF:<mark>\r\n",
// the bytes, and the 40-byte mark again. progress, when set, is told the
// bytes read so far and the total (-1 when unknown). It reports whether
// the EOF form was used: the master then waits for our first ACK.
func (l *Link) ReadRDB(w io.Writer, progress func(read, total int64)) (eofForm bool, err error) {
	hdr, err := l.readLine()
	if err != nil {
		return false, fmt.Errorf("read payload header: %w", err)
	}
	if hdr[0] == '-' {
		return false, fmt.Errorf("master aborted replication with an error: %s", hdr)
	}
	if hdr[0] != '$' {
		return false, fmt.Errorf("bad protocol from master, expected the payload length: %q", hdr)
	}
	if strings.HasPrefix(hdr, "$EOF:") {
		mark := []byte(hdr[5:])
		if len(mark) != 40 {
			return true, fmt.Errorf("bad EOF mark from master: %q", hdr)
		}
		return true, l.copyUntilMark(w, mark, progress)
	}
	size, err := strconv.ParseInt(hdr[1:], 10, 64)
	if err != nil || size < 0 {
		return false, fmt.Errorf("bad payload length from master: %q", hdr)
	}
	buf := make([]byte, 64<<10)
	var read int64
	for read < size {
		n := int64(len(buf))
		if size-read < n {
			n = size - read
		}
		m, err := io.ReadFull(l.br, buf[:n])
		read += int64(m)
		if m > 0 {
			if _, werr := w.Write(buf[:m]); werr != nil {
				return false, fmt.Errorf("write payload: %w", werr)
			}
		}
		if err != nil {
			return false, fmt.Errorf("payload truncated after %d of %d bytes: %w", read, size, unexpected(err))
		}
		if progress != nil {
			progress(read, size)
		}
	}
	return false, nil
}

// copyUntilMark copies bytes to w until mark, holding back the last
// len(mark) bytes seen, which may be the start of the mark.
func (l *Link) copyUntilMark(w io.Writer, mark []byte, progress func(read, total int64)) error {
	buf := make([]byte, 0, 64<<10+len(mark))
	chunk := make([]byte, 64<<10)
	var read int64
	for {
		n, err := l.br.Read(chunk)
		read += int64(n)
		buf = append(buf, chunk[:n]...)
		if len(buf) >= len(mark) && bytes.Equal(buf[len(buf)-len(mark):], mark) {
			if _, werr := w.Write(buf[:len(buf)-len(mark)]); werr != nil {
				return fmt.Errorf("write payload: %w", werr)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("payload truncated after %d bytes: %w", read, unexpected(err))
		}
		if len(buf) > len(mark) {
			out := len(buf) - len(mark)
			if _, werr := w.Write(buf[:out]); werr != nil {
				return fmt.Errorf("write payload: %w", werr)
			}
			buf = append(buf[:0], buf[out:]...)
		}
		if progress != nil {
			progress(read, -1)
		}
	}
}

// Stream returns the reader of the command stream that follows the sync.
func (l *Link) Stream() *StreamReader { return NewStreamReader(l.br) }
