package node

// Output buffers of normal clients, as Redis keeps them: a client that
// does not read its replies does not stop the server from reading and
// running its commands; what the socket cannot take waits in memory,
// counts in CLIENT LIST's omem and tot-mem, in used_memory
// (mem_clients_normal), in client eviction and against
// client-output-buffer-limit.
//
// The common case costs what a plain write costs: at the end of a batch
// the connection's goroutine writes the replies with write(2) on the
// non-blocking socket, once (syscall.RawConn.Write with a function that
// never asks to wait). Whatever the kernel did not take (EAGAIN, or a
// short write) goes, under the data lock, into the client's outbound
// queue, the one pub/sub and MONITOR use (pubsub.go), and its writer
// goroutine drains it, blocking on the socket instead of the
// connection's goroutine. From then on the client's replies go through
// that queue at the end of each batch, ordered with anything pushed to
// it, until the queue is empty again at the end of a batch and the
// client needs it for nothing else (no subscriptions, MONITOR or
// tracking): then the queue is dropped and replies go straight to the
// socket again.
//
// TLS connections cannot write without blocking (a tls.Conn has no raw
// write), so their replies always go through the queue.
//
// Limits: client-output-buffer-limit's hard limit is checked after every
// command (obuflimit.go) and whenever bytes are queued; the soft limit
// whenever bytes are queued and by the clients cron, once a second per
// client, so a client that stays over it without traffic is closed too.
//
// Memory: mem_clients_normal is the sum of tot-mem of every client that
// is not a replica (as Redis, the master link counts), kept as a running
// total: a client's share is refreshed at the end of its batches (when
// maxmemory is set: eviction reads it before every command), when it
// queues, by the clients cron and by INFO (which recounts every client).
// used_memory adds it, as Redis's allocator figure includes client
// buffers; replicas' output is not in it (Redis leaves their buffers out
// of the figure eviction works on).

import (
	"syscall"

	"github.com/skiffdb/skiff/internal/resp"
)

// outChunk is the most the queue's writer hands the socket at once, so
// that omem falls as the peer reads (Redis's NET_MAX_WRITES_PER_EVENT).
const outChunk = 64 * 1024

// rawWriter writes to a socket without ever waiting for it: one
// syscall.RawConn.Write whose function writes until EAGAIN and never asks
// the poller to wait. Its fields are the function's, so that it is made
// once per connection (no closure per write); one user at a time.
type rawWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool
	buf []byte
	n   int
	err error
}

func newRawWriter(rc syscall.RawConn) *rawWriter {
	w := &rawWriter{rc: rc}
	w.fn = func(fd uintptr) bool {
		for w.n < len(w.buf) {
			n, err := syscall.Write(int(fd), w.buf[w.n:])
			if n > 0 {
				w.n += n
			}
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				if err != syscall.EAGAIN {
					w.err = err
				}
				break
			}
			if n <= 0 {
				break
			}
		}
		return true // never wait for the socket: the rest is queued
	}
	return w
}

// write writes as much of b as the socket takes now and reports how
// much that was.
func (w *rawWriter) write(b []byte) (int, error) {
	w.buf, w.n, w.err = b, 0, nil
	err := w.rc.Write(w.fn)
	n, werr := w.n, w.err
	w.buf = nil
	if err != nil {
		return n, err
	}
	return n, werr
}

// tryWrite writes as much of b as c's socket takes now, without
// waiting. It reports the bytes written; a connection without a raw
// write (TLS) takes none. By c's goroutine.
func (c *Client) tryWrite(b []byte) (int, error) {
	if c.rw == nil || len(b) == 0 {
		return 0, nil
	}
	n, err := c.rw.write(b)
	c.srv.stats.NetOutputBytes.Add(int64(n))
	return n, err
}

// spill queues b, the part of c's replies the socket did not take, and
// checks the limits. Under the lock, by c's goroutine (only it creates
// its queue, so nothing was pushed to c before this).
func (c *Client) spill(b []byte) {
	s := c.srv
	s.ensureQueue(c)
	pending := c.x.out.appendWith(c.w.Proto, func(w *resp.Writer) { w.B = append(w.B, b...) })
	if pending >= 0 {
		s.checkOutputLimit(c, pending)
	}
	s.checkClientMem(c)
}

// checkClientMem refreshes c's share of mem_clients_normal and, under
// maxmemory-clients, closes c if it alone passes the limit, then the
// largest clients while all of them together pass it: Redis checks this
// around every command and whenever it adds output, not only in its
// cron. Under the lock.
func (s *Server) checkClientMem(c *Client) {
	s.noteClientMem(c)
	ce := &s.x.evict.clients
	if ce.limit <= 0 {
		return
	}
	if c.evictable() && c.clientMemory() > ce.limit {
		s.evictClient(c)
	}
	if s.cc.memNormal > ce.limit {
		s.evictClients() // counts exactly, without replicas and the master
	}
}

// sendReplies writes out, replies of c produced under the lock, after
// the lock was released: straight to the socket, the rest queued. c has
// no queue (its replies would have been queued under the lock).
func (c *Client) sendReplies(out []byte) error {
	n, err := c.tryWrite(out)
	if err != nil {
		return err
	}
	if n < len(out) {
		c.srv.mu.Lock()
		c.spill(out[n:])
		c.srv.mu.Unlock()
	}
	return nil
}

// flushBusy writes the replies of a batch answered without the lock
// while a busy script holds it (busy.go): it cannot queue under the
// lock, so a client with a queue appends to it directly (the limits are
// checked at its next batch) and one without writes the rest with a
// blocking write, as before output buffers.
func (c *Client) flushBusy() error {
	defer c.resetReplyBuf()
	if q := c.x.out; q != nil {
		b := c.w.B
		q.appendWith(c.w.Proto, func(w *resp.Writer) { w.B = append(w.B, b...) })
		return nil
	}
	n, err := c.tryWrite(c.w.B)
	if err != nil || n == len(c.w.B) {
		return err
	}
	m, err := c.conn.Write(c.w.B[n:])
	c.srv.stats.NetOutputBytes.Add(int64(m))
	return err
}

// dropIdleQueue gives up c's queue when it is empty and c does not need
// it for pushed messages, so that its replies go straight to the socket
// again. Under the lock, by c's goroutine, at the end of a batch.
func (c *Client) dropIdleQueue() {
	q := c.x.out
	if c.x.monitor || c.trk != nil || len(c.trkInbox) > 0 || c.totalSubs() > 0 || c.flags&(clientPubSub|clientReplica|clientMaster) != 0 {
		return
	}
	q.mu.Lock()
	idle := len(q.buf) == 0 && q.inflight == 0 && !q.closed
	if idle {
		q.closed = true // the writer exits
	}
	q.mu.Unlock()
	if !idle {
		return
	}
	q.signal()
	c.x.out = nil
}

// noteClientMem refreshes c's share of mem_clients_normal. Under the
// lock.
func (s *Server) noteClientMem(c *Client) {
	var m int64
	if c.flags&clientReplica == 0 && s.clients[c.id] == c {
		m = c.clientMemory()
	}
	s.cc.memNormal += m - c.bufs.memCounted
	c.bufs.memCounted = m
}

// forgetClientMem takes a departing client out of mem_clients_normal.
// Under the lock.
func (s *Server) forgetClientMem(c *Client) {
	s.cc.memNormal -= c.bufs.memCounted
	c.bufs.memCounted = 0
}

// recountClientMem recounts mem_clients_normal over every client (INFO).
// Under the lock.
func (s *Server) recountClientMem() int64 {
	var total int64
	for _, c := range s.clients {
		s.noteClientMem(c)
		total += c.bufs.memCounted
	}
	s.cc.memNormal = total // also drops the share of clients gone without forgetClientMem
	return total
}

// cronOutputLimit is the clients cron's check of a client's queued
// output against its class's limits (the soft limit needs it: a client
// over it without traffic is never checked otherwise). Under the lock.
func (s *Server) cronOutputLimit(c *Client) {
	q := c.x.out
	if q == nil || c.flags&(clientMaster|clientReplica|clientCloseASAP) != 0 {
		return
	}
	if p := q.pending(); p > 0 && s.outputLimitReached(c, p) {
		s.closeForOutputLimit(c, p, false)
	}
}
