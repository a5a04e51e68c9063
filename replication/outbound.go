package replication

import (
	"errors"
	"net"
	"sync"
	"time"
)

// ErrOutputLimit is returned when a replica's pending stream exceeds
// client-output-buffer-limit: the replica is dropped and will resync,
// rather than the master's memory growing without bound.
var ErrOutputLimit = errors.New("replica output buffer limit reached")

// Limits is client-output-buffer-limit for the replica class.
type Limits struct {
	Hard, Soft  int64
	SoftSeconds int64
}

// Outbound is one replica's stream queue and the goroutine writing it,
// so the master never writes a socket while holding its data lock.
// Write is called under that lock and only copies.
type Outbound struct {
	nc net.Conn

	mu       sync.Mutex
	cond     *sync.Cond
	buf      []byte
	spare    []byte
	paused   bool // full sync in progress: queue, do not send yet
	waiting  bool // the writer sleeps on cond: Write must wake it
	closed   bool
	limits   Limits
	softFrom time.Time // when the queue first exceeded the soft limit
	err      error
	done     chan struct{}
	// sent counts bytes written to the socket (for INFO/CLIENT LIST).
	sent int64
}

// NewOutbound returns a paused queue for nc; call Start once whatever
// must precede the stream (the RDB) has been written, then Run.
func NewOutbound(nc net.Conn, limits Limits) *Outbound {
	o := &Outbound{nc: nc, paused: true, limits: limits, done: make(chan struct{})}
	o.cond = sync.NewCond(&o.mu)
	return o
}

// SetLimits changes the output buffer limits (CONFIG SET).
func (o *Outbound) SetLimits(l Limits) {
	o.mu.Lock()
	o.limits = l
	o.mu.Unlock()
}

// Write queues p (copied). It fails once the limit is passed; the caller
// then drops the replica.
func (o *Outbound) Write(p []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return o.errLocked()
	}
	o.buf = append(o.buf, p...)
	if err := o.checkLimitsLocked(); err != nil {
		o.closeLocked(err)
		return err
	}
	// A busy writer takes what accumulated when its write returns:
	// waking it per command would cost a scheduler round trip each.
	if o.waiting {
		o.cond.Signal()
	}
	return nil
}

func (o *Outbound) checkLimitsLocked() error {
	n := int64(len(o.buf))
	l := o.limits
	if l.Hard > 0 && n >= l.Hard {
		return ErrOutputLimit
	}
	if l.Soft > 0 && n >= l.Soft {
		if o.softFrom.IsZero() {
			o.softFrom = time.Now()
		} else if time.Since(o.softFrom) >= time.Duration(l.SoftSeconds)*time.Second {
			return ErrOutputLimit
		}
	} else {
		o.softFrom = time.Time{}
	}
	return nil
}

// Pending is the number of queued bytes not yet written.
func (o *Outbound) Pending() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.buf)
}

// Start lets the writer send the queue.
func (o *Outbound) Start() {
	o.mu.Lock()
	o.paused = false
	o.cond.Signal()
	o.mu.Unlock()
}

// Close stops the writer and closes the connection.
func (o *Outbound) Close(err error) {
	o.mu.Lock()
	o.closeLocked(err)
	o.mu.Unlock()
}

func (o *Outbound) closeLocked(err error) {
	if o.closed {
		return
	}
	o.closed = true
	o.err = err
	o.nc.Close()
	o.cond.Broadcast()
}

func (o *Outbound) errLocked() error {
	if o.err == nil {
		return net.ErrClosed
	}
	return o.err
}

// Err is why the queue was closed (nil while open).
func (o *Outbound) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		return nil
	}
	return o.errLocked()
}

// Done is closed when Run has returned.
func (o *Outbound) Done() <-chan struct{} { return o.done }

// Run writes queued bytes until Close or a write error.
func (o *Outbound) Run(writeTimeout time.Duration) {
	defer close(o.done)
	for {
		o.mu.Lock()
		for !o.closed && (o.paused || len(o.buf) == 0) {
			o.waiting = true
			o.cond.Wait()
			o.waiting = false
		}
		if o.closed {
			o.mu.Unlock()
			return
		}
		out := o.buf
		o.buf, o.spare = o.spare[:0], nil
		o.mu.Unlock()
		o.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		n, err := o.nc.Write(out)
		o.mu.Lock()
		o.sent += int64(n)
		if err != nil {
			o.closeLocked(err)
			o.mu.Unlock()
			return
		}
		if cap(out) <= 1<<20 {
			o.spare = out[:0]
		}
		o.mu.Unlock()
	}
}
