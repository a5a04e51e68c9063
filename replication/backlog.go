// Package replication holds the network-free and network-facing pieces of
// Redis-compatible master/replica replication: the backlog ring buffer,
// the encoding of the propagated stream, the replica side's link to its
// master (handshake, RDB transfer, stream reading) and the master side's
// per-replica outbound queues. It knows nothing about the keyspace; the
// node package glues it to command execution.
package replication

// Backlog is the replication backlog: a ring buffer holding the most
// recent bytes of the replication stream, so that a replica that lost its
// link can continue from its offset (PSYNC) instead of a full resync.
//
// Offsets are those of the replication stream: the byte at offset o is
// the o-th byte ever propagated under the current history (Redis counts
// from 1; master_repl_offset is the offset of the last byte).
type Backlog struct {
	buf     []byte
	idx     int   // where the next byte goes
	histlen int64 // valid bytes held, ≤ len(buf)
	end     int64 // stream offset of the last byte written
}

// NewBacklog returns an empty backlog of size bytes whose next byte will
// have stream offset end+1.
func NewBacklog(size int, end int64) *Backlog {
	if size < 1 {
		size = 1
	}
	return &Backlog{buf: make([]byte, size), end: end}
}

// Size is the capacity in bytes.
func (b *Backlog) Size() int { return len(b.buf) }

// HistLen is the number of bytes held.
func (b *Backlog) HistLen() int64 { return b.histlen }

// FirstByteOffset is the stream offset of the oldest byte held (end+1
// when empty, as Redis reports repl_backlog_first_byte_offset).
func (b *Backlog) FirstByteOffset() int64 { return b.end - b.histlen + 1 }

// End is the stream offset of the last byte written.
func (b *Backlog) End() int64 { return b.end }

// Write appends p, dropping the oldest bytes once the buffer is full.
func (b *Backlog) Write(p []byte) {
	b.end += int64(len(p))
	if len(p) >= len(b.buf) {
		// Only the tail fits.
		copy(b.buf, p[len(p)-len(b.buf):])
		b.idx = 0
		b.histlen = int64(len(b.buf))
		return
	}
	n := copy(b.buf[b.idx:], p)
	if n < len(p) {
		copy(b.buf, p[n:])
	}
	b.idx = (b.idx + len(p)) % len(b.buf)
	b.histlen += int64(len(p))
	if b.histlen > int64(len(b.buf)) {
		b.histlen = int64(len(b.buf))
	}
}

// Covers reports whether a replica asking to continue from offset off
// (the first byte it lacks, PSYNC's offset) can be served from here.
func (b *Backlog) Covers(off int64) bool {
	return off >= b.FirstByteOffset() && off <= b.end+1
}

// From returns a copy of the bytes from stream offset off to the end.
// off must satisfy Covers.
func (b *Backlog) From(off int64) []byte {
	if !b.Covers(off) {
		return nil
	}
	n := int(b.end + 1 - off)
	out := make([]byte, n)
	// The byte at off sits n bytes before idx in the ring.
	start := (b.idx - n + len(b.buf)) % len(b.buf)
	m := copy(out, b.buf[start:])
	if m < n {
		copy(out[m:], b.buf[:n-m])
	}
	return out
}

// Resize changes the capacity, keeping the newest bytes that still fit.
func (b *Backlog) Resize(size int) {
	if size < 1 {
		size = 1
	}
	if size == len(b.buf) {
		return
	}
	keep := b.From(b.FirstByteOffset())
	if len(keep) > size {
		keep = keep[len(keep)-size:]
	}
	nb := &Backlog{buf: make([]byte, size), end: b.end - int64(len(keep))}
	nb.Write(keep)
	*b = *nb
}
