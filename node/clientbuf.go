package node

// Query and reply buffer sizing, as Redis 7.0's clientsCron does it, and
// what CLIENT LIST reports of it (qbuf, qbuf-free, rbs, rbp).
//
// Query buffer: the parser's real buffer (internal/resp). The connection's
// goroutine owns it; it publishes its size, the unparsed bytes and their
// peak in atomics for CLIENT LIST and the cron. The cron (under the data
// lock) decides as Redis does: a buffer wasting more than 4 KiB is
// released after 2 s idle, or shrunk to the recent peak when it is over
// 32 KiB and twice that peak. It asks the goroutine, which applies the
// resize itself (waking it from its read if it is idle). A released
// buffer holds no memory: the goroutine waits for input without one.
//
// Reply buffer: Redis writes replies into a per-client buffer of 1-16 KiB
// first (rbs), and tracks how much of it a batch of replies filled
// (rbp, the peak). Skiff's reply buffer is one growable slice, so rbs and
// rbp follow Redis's rules as a model: the goroutine notes each batch's
// reply size against rbs when it writes it, and the cron halves rbs when
// the peak stays under half of it, doubles it (up to 16 KiB) when the
// peak fills it, and resets the peak every reply-buffer-peak-reset-time
// (DEBUG REPLYBUFFER). An idle client's slice is dropped when its query
// buffer is released.

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	qbufWasteMin       = 4 * 1024  // below this much free space nothing is resized
	qbufResizeMin      = 32 * 1024 // PROTO_RESIZE_THRESHOLD
	qbufIdleRelease    = 2         // seconds idle before the buffer is released
	replyBufMin        = 1024      // PROTO_REPLY_MIN_BYTES
	replyBufMax        = 16 * 1024 // PROTO_REPLY_CHUNK_BYTES
	replyPeakResetDflt = 5000      // ms, REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME
	cronMinIterations  = 5         // CLIENTS_CRON_MIN_ITERATIONS
	peakMemSlots       = 8         // CLIENTS_PEAK_MEM_USAGE_SLOTS
)

// clientBufs is a client's buffer accounting. The atomics are written by
// the connection's goroutine (outside the lock) and read under the lock.
type clientBufs struct {
	// qLen is CLIENT LIST's qbuf (resp.Parser.Unread), qFree the
	// buffer's free space (qbuf-free).
	qCap, qLen, qFree, qPeak atomic.Int64
	// qResize is the cron's request, -1 when none: the capacity the
	// goroutine should give its query buffer (0: release it).
	qResize atomic.Int64
	// canRelease: the connection can wait for input without a buffer
	// (plain TCP or Unix socket; TLS keeps its own buffering).
	canRelease bool

	rbSize, rbPeak atomic.Int64
	rbPeakReset    time.Time // under the lock

	// memCounted is this client's share of mem_clients_normal as last
	// counted (outbuf.go). Under the lock.
	memCounted int64
}

// initBufs sets a new client's accounting and, where the connection
// allows it, the parser's way to wait for input without a buffer.
func (c *Client) initBufs(conn net.Conn) {
	b := &c.bufs
	b.qCap.Store(int64(c.p.QueryBufSize()))
	b.qFree.Store(b.qCap.Load())
	b.qResize.Store(-1)
	b.rbSize.Store(replyBufMax)
	b.rbPeakReset = time.Now()
	sc, ok := conn.(interface {
		SyscallConn() (syscall.RawConn, error)
	})
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	if wait := readableWaiter(rc); wait != nil { // waitread_*.go
		b.canRelease = true
		c.p.WaitReadable = wait
	}
}

// publishQuery makes the parser's state visible to CLIENT LIST and the
// cron. The connection's goroutine calls it after reading and after
// executing.
func (c *Client) publishQuery() {
	b := &c.bufs
	b.qCap.Store(int64(c.p.QueryBufSize()))
	b.qLen.Store(int64(c.p.Unread()))
	b.qFree.Store(int64(c.p.QueryBufSize() - c.p.Buffered()))
	if p := int64(c.p.Peak); p > b.qPeak.Load() {
		b.qPeak.Store(p)
	}
	c.p.Peak = 0
}

// applyQueryResize carries out the cron's request, if any. An idle
// client's reply slice goes with a released query buffer.
func (c *Client) applyQueryResize() {
	if c.bufs.qResize.Load() < 0 {
		return // the usual case: a plain load, no locked instruction
	}
	n := c.bufs.qResize.Swap(-1)
	if n < 0 {
		return
	}
	c.p.Resize(int(n))
	if n == 0 && len(c.w.B) == 0 && int64(cap(c.w.B)) > c.bufs.rbSize.Load() {
		c.w.B = nil
	}
	c.publishQuery()
}

// fillQuery reads more input into the parser, after a resize the cron
// asked for.
func (c *Client) fillQuery() error {
	c.applyQueryResize()
	err := c.p.Fill()
	c.publishQuery()
	return err
}

// wokenForResize tells a read timeout before the read's deadline (zero:
// none): the cron interrupting an idle read so that the goroutine resizes
// its buffer (see resizeQueryBuffer); the read is to be resumed.
func wokenForResize(err error, deadline time.Time) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) && (deadline.IsZero() || time.Now().Before(deadline))
}

// noteReplyBatch records the size of a batch of replies about to be
// written (Redis's buf_peak: how much of its fixed buffer they filled).
func (c *Client) noteReplyBatch(n int) {
	b := &c.bufs
	pos := min(int64(n), b.rbSize.Load())
	if pos > b.rbPeak.Load() {
		b.rbPeak.Store(pos)
	}
}

// clientsCron is the server's share of Redis's clientsCron: its buffer
// resizing and the recent-peak tracking of INFO clients.
type clientsCron struct {
	ring    []*Client
	next    int
	started bool
	// peakReset is reply-buffer-peak-reset-time in ms (<0: never);
	// noResize is DEBUG REPLYBUFFER RESIZING 0.
	peakReset int64
	noResize  bool
	shrinks   int64
	expands   int64
	peakIn    [peakMemSlots]int64
	peakOut   [peakMemSlots]int64
	// memNormal is mem_clients_normal (outbuf.go).
	memNormal int64
}

// clientsCronRun visits a share of the clients, so that each is visited
// about once a second (at least 5 per run), as Redis does. Under the lock.
func (s *Server) clientsCronRun(hz int64) {
	cc := &s.cc
	if !cc.started {
		cc.started, cc.peakReset = true, replyPeakResetDflt
	}
	now := time.Now()
	slot := now.Unix() % peakMemSlots
	cc.peakIn[(slot+1)%peakMemSlots] = 0
	cc.peakOut[(slot+1)%peakMemSlots] = 0
	n := len(s.clients)
	iterations := n / int(max(hz, 1))
	if iterations < cronMinIterations {
		iterations = min(n, cronMinIterations)
	}
	for ; iterations > 0; iterations-- {
		if cc.next >= len(cc.ring) {
			// A new round: every client at the time, each once.
			cc.ring = cc.ring[:0]
			for _, c := range s.clients {
				cc.ring = append(cc.ring, c)
			}
			cc.next = 0
			if len(cc.ring) == 0 {
				return
			}
		}
		c := cc.ring[cc.next]
		cc.ring[cc.next] = nil
		cc.next++
		if s.clients[c.id] != c {
			continue // gone since the round started
		}
		s.resizeQueryBuffer(c, now)
		s.resizeReplyBuffer(c, now)
		s.noteClientMem(c)   // outbuf.go
		s.cronOutputLimit(c) // the soft limit without traffic (outbuf.go)
		cc.peakIn[slot] = max(cc.peakIn[slot], c.bufs.qCap.Load())
		cc.peakOut[slot] = max(cc.peakOut[slot], int64(c.queuedBytes()))
	}
}

// resizeQueryBuffer is Redis's clientsCronResizeQueryBuffer.
func (s *Server) resizeQueryBuffer(c *Client, now time.Time) {
	b := &c.bufs
	// Not the replication links, nor a client waiting in a blocking
	// command or a pause (its read is the wait's).
	if c.flags&(clientMaster|clientReplica|clientBlocked|clientPostponed) == 0 && !c.unregistered {
		size, used, peak := b.qCap.Load(), b.qLen.Load(), b.qPeak.Load()
		target := int64(-1)
		if size-used > qbufWasteMin {
			if now.Unix()-c.lastUsed.Unix() > qbufIdleRelease {
				if b.canRelease || used > 0 {
					target = used
				}
			} else if size > qbufResizeMin && size/2 > peak {
				target = max(used, peak)
			}
		}
		if target >= 0 {
			b.qResize.Store(target)
			c.conn.SetReadDeadline(pastDeadline) // wake it if it is reading
		}
	}
	b.qPeak.Store(b.qLen.Load()) // a new period
}

// resizeReplyBuffer is Redis's clientsCronResizeOutputBuffer, on the
// model of the reply buffer (see the file comment).
func (s *Server) resizeReplyBuffer(c *Client, now time.Time) {
	cc, b := &s.cc, &c.bufs
	if cc.noResize {
		return
	}
	size, peak := b.rbSize.Load(), b.rbPeak.Load()
	switch {
	case size/2 >= replyBufMin && peak < size/2:
		b.rbSize.Store(max(replyBufMin, peak+1))
		cc.shrinks++
	case size*2 < replyBufMax*2 && peak == size:
		b.rbSize.Store(min(replyBufMax, size*2))
		cc.expands++
	}
	if cc.peakReset >= 0 && now.Sub(b.rbPeakReset).Milliseconds() >= cc.peakReset {
		b.rbPeak.Store(0) // the buffer is empty between batches
		b.rbPeakReset = now
	}
}

// recentMaxBuffers is INFO's client_recent_max_input_buffer and
// client_recent_max_output_buffer: the largest seen in the last seconds.
func (s *Server) recentMaxBuffers() (in, out int64) {
	for i := range s.cc.peakIn {
		in = max(in, s.cc.peakIn[i])
		out = max(out, s.cc.peakOut[i])
	}
	return in, out
}

// debugReplyBuffer is DEBUG REPLYBUFFER PEAK-RESET-TIME <ms|never|reset>
// and DEBUG REPLYBUFFER RESIZING <0|1>.
func debugReplyBuffer(c *Client, args [][]byte) {
	cc := &c.srv.cc
	switch {
	case eqFold(args[2], "peak-reset-time"):
		switch {
		case eqFold(args[3], "never"):
			cc.peakReset = -1
		case eqFold(args[3], "reset"):
			cc.peakReset = replyPeakResetDflt
		default:
			n, ok := parseInt(args[3])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			cc.peakReset = n
		}
	case eqFold(args[2], "resizing"):
		cc.noResize = atoiPrefix(args[3]) == 0
	default:
		c.replyErrorf("ERR unknown subcommand '%.128s'. Try DEBUG HELP.", args[2])
		return
	}
	c.replyOK()
}
