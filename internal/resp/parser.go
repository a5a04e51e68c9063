// Package resp reads Redis commands from a byte stream (multibulk and
// inline forms) and appends replies in RESP2 or RESP3. It allocates
// nothing per command in the steady state: arguments are slices of the
// connection's buffer, valid until the next call to Next or Fill.
package resp

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// Limits Redis 7.0 applies to requests (networking.c). InlineMax bounds
// an inline request and the header lines of a multibulk one. A multibulk
// count is accepted up to INT_MAX, as Redis 7.0 does (older Redis stopped
// at 1024*1024); nothing is allocated for the announced count, argument
// slots grow only as arguments actually arrive.
const (
	InlineMax    = 64 * 1024
	MaxMultibulk = 1<<31 - 1
)

// ProtocolError is a malformed request; Redis answers "-ERR Protocol
// error: <msg>" and closes the connection after the reply.
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

// ErrQueryBufferLimit means the client sent more unparsed bytes than
// client-query-buffer-limit allows; Redis closes such a client silently.
var ErrQueryBufferLimit = errors.New("client reached max query buffer length")

// Parser accumulates bytes from a reader and splits them into commands.
type Parser struct {
	rd  io.Reader
	buf []byte
	// start is where the command being parsed begins; pos is how far its
	// parse has got; end is the end of valid data.
	start, pos, end int

	// Multibulk state, kept across reads so a large command is not
	// re-parsed from its beginning on every read.
	remaining int   // arguments still to read; 0 when between commands
	bulkLen   int   // length of the bulk being read, -1 when expecting a header
	offs      []int // start,end pairs of arguments, relative to start
	argv      [][]byte
	inline    bool

	// NoInline refuses inline commands (a command not starting with '*'),
	// except '#' annotation lines: the AOF's format.
	NoInline bool

	MaxBulk  int64 // proto-max-bulk-len
	MaxQuery int64 // client-query-buffer-limit; 0 means unlimited
	// Unauthenticated applies Redis's tighter limits to a client that has
	// not authenticated yet (10 arguments, 16 KiB per argument), so that a
	// stranger cannot make the server buffer large requests.
	Unauthenticated bool

	// WaitReadable, when set, blocks until the reader has data (or fails
	// as a read would). With it, a parser whose buffer was released
	// (Resize(0)) waits for input holding no buffer at all; without it
	// Fill allocates one before reading.
	WaitReadable func() error
	// Peak is the most unparsed data the buffer has held since the owner
	// last reset it (Redis's querybuf_peak).
	Peak int
}

// IOBufLen is the least room Fill reads into (Redis's PROTO_IOBUF_LEN).
const IOBufLen = 16 * 1024

// Limits for unauthenticated clients (networking.c).
const (
	unauthMaxMultibulk = 10
	unauthMaxBulk      = 16384
)

// NewParser returns a parser reading from rd.
func NewParser(rd io.Reader) *Parser {
	return &Parser{rd: rd, buf: make([]byte, IOBufLen), bulkLen: -1, MaxBulk: 512 << 20}
}

// Buffered reports how many bytes are read but not yet parsed.
func (p *Parser) Buffered() int { return p.end - p.start }

// Unread is what Redis's CLIENT LIST shows as qbuf: the unparsed bytes
// after the last whole element, so that during a bulk only the bytes of
// that bulk read so far (Redis moves the parsed elements of a command
// out of its query buffer as it goes).
func (p *Parser) Unread() int {
	if p.remaining > 0 && p.bulkLen >= 0 {
		return p.end - p.pos
	}
	return p.end - p.start
}

// QueryBufSize is the size of the parser's buffer (for CLIENT LIST qbuf).
func (p *Parser) QueryBufSize() int { return len(p.buf) }

// Resize reallocates the buffer to n bytes, but never below the unparsed
// data nor below what the bulk being read needs. Resize(0) with nothing
// buffered releases the buffer. The owner shrinks an oversized buffer
// with it (Redis's clientsCronResizeQueryBuffer decides when).
func (p *Parser) Resize(n int) {
	used := p.end - p.start
	if p.remaining > 0 && p.bulkLen >= 0 {
		used = max(used, p.pos-p.start+p.bulkLen+2)
	}
	n = max(n, used)
	if n == len(p.buf) {
		return
	}
	var nb []byte
	if n > 0 {
		nb = make([]byte, n)
		copy(nb, p.buf[p.start:p.end])
	}
	p.pos -= p.start
	p.end -= p.start
	p.start = 0
	p.buf = nb
}

// Fill reads once from the underlying reader, first making room.
func (p *Parser) Fill() error {
	if len(p.buf) == 0 && p.WaitReadable != nil {
		// Released while idle: no memory is held until input comes.
		if err := p.WaitReadable(); err != nil {
			return err
		}
	}
	if len(p.buf) < IOBufLen && len(p.buf)-(p.end-p.start) < IOBufLen {
		// A new, released or shrunk buffer: room for one full read, as
		// Redis makes for a query buffer smaller than PROTO_IOBUF_LEN.
		p.Resize(p.end - p.start + IOBufLen)
	}
	if p.start > 0 && (p.start == p.end || p.end == len(p.buf)) {
		// Compact: move the unparsed tail to the front. Offsets in offs
		// are relative to start, so they stay valid.
		n := copy(p.buf, p.buf[p.start:p.end])
		p.pos -= p.start
		p.end = n
		p.start = 0
	}
	if p.end == len(p.buf) {
		if p.MaxQuery > 0 && int64(p.end-p.start) >= p.MaxQuery {
			return ErrQueryBufferLimit
		}
		size := 2 * len(p.buf)
		if p.remaining > 0 && p.bulkLen >= 0 {
			// A bulk being read: no bigger than it needs (Redis sizes a
			// big argument's buffer exactly), which CLIENT LIST's
			// qbuf-free and client eviction see.
			if need := p.pos - p.start + p.bulkLen + 2; need > len(p.buf) && need < size {
				size = need
			}
		}
		nb := make([]byte, size)
		copy(nb, p.buf[:p.end])
		p.buf = nb
	}
	n, err := p.rd.Read(p.buf[p.end:])
	p.end += n
	if n > 0 {
		p.Peak = max(p.Peak, p.end-p.start)
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// ensure makes room for a bulk of n bytes (plus CRLF) starting at pos:
// it compacts the buffer so the bulk starts near its beginning and grows
// it towards the bulk's size; n is already checked against MaxBulk.
func (p *Parser) ensure(n int) {
	need := p.pos - p.start + n + 2
	if need <= len(p.buf)-p.start {
		return
	}
	if need <= len(p.buf) {
		// Fits once compacted.
		m := copy(p.buf, p.buf[p.start:p.end])
		p.pos -= p.start
		p.end = m
		p.start = 0
		return
	}
	// Grow by one doubling at most: the bytes must arrive before the
	// memory is committed to them (Fill doubles again as they do), or a
	// client announcing a huge bulk and leaving makes the runtime zero
	// that much reused memory for nothing.
	size := need
	if size > 2*len(p.buf) {
		size = 2 * len(p.buf)
	}
	nb := make([]byte, size)
	m := copy(nb, p.buf[p.start:p.end])
	p.pos -= p.start
	p.end = m
	p.start = 0
	p.buf = nb
}

// Next parses the next complete command. It returns (nil, nil) when more
// input is needed, an empty non-nil slice never (empty commands are
// skipped), and a *ProtocolError for malformed input.
func (p *Parser) Next() ([][]byte, error) {
	for {
		if p.start == p.end {
			return nil, nil
		}
		if p.remaining == 0 && !p.inline {
			if p.buf[p.start] == '*' {
				cr := headerEnd(p.buf[p.start:p.end])
				if cr < 0 {
					if p.end-p.start > InlineMax {
						return nil, &ProtocolError{"too big mbulk count string"}
					}
					return nil, nil
				}
				n, ok := parseInt(p.buf[p.start+1 : p.start+cr])
				if !ok || n > MaxMultibulk {
					return nil, &ProtocolError{"invalid multibulk length"}
				}
				if n > unauthMaxMultibulk && p.Unauthenticated {
					return nil, &ProtocolError{"unauthenticated multibulk length"}
				}
				p.pos = p.start + cr + 2
				if n <= 0 {
					// Redis ignores empty and null multibulks.
					p.start = p.pos
					continue
				}
				p.remaining = int(n)
				p.bulkLen = -1
				p.offs = p.offs[:0]
			} else if p.NoInline && p.buf[p.start] != '#' {
				return nil, &ProtocolError{"expected '*'"}
			} else {
				p.inline = true
			}
		}
		if p.inline {
			args, err := p.parseInline()
			if args == nil && err == nil && p.inline {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			if args == nil {
				continue // empty line
			}
			return args, nil
		}
		done, err := p.parseBulks()
		if err != nil || !done {
			return nil, err
		}
		p.argv = p.argv[:0]
		base := p.start
		for i := 0; i < len(p.offs); i += 2 {
			p.argv = append(p.argv, p.buf[base+p.offs[i]:base+p.offs[i+1]:base+p.offs[i+1]])
		}
		p.start = p.pos
		return p.argv, nil
	}
}

// parseBulks reads the remaining "$len\r\n<bytes>\r\n" arguments.
func (p *Parser) parseBulks() (bool, error) {
	for p.remaining > 0 {
		if p.bulkLen < 0 {
			// Fast path: "$<digits>\r\n" with the whole header buffered.
			if n, next, ok := fastBulkHeader(p.buf[:p.end], p.pos); ok && int64(n) <= p.MaxBulk && (n <= unauthMaxBulk || !p.Unauthenticated) {
				p.pos = next
				p.bulkLen = n
				if p.pos-p.start+n+2 > len(p.buf)-p.start {
					p.ensure(n)
				}
				goto body
			}
			cr := headerEnd(p.buf[p.pos:p.end])
			if cr < 0 {
				if p.end-p.pos > InlineMax {
					return false, &ProtocolError{"too big bulk count string"}
				}
				return false, nil
			}
			if p.buf[p.pos] != '$' {
				return false, &ProtocolError{"expected '$', got '" + string(p.buf[p.pos]) + "'"}
			}
			n, ok := parseInt(p.buf[p.pos+1 : p.pos+cr])
			if !ok || n < 0 || n > p.MaxBulk {
				return false, &ProtocolError{"invalid bulk length"}
			}
			if n > unauthMaxBulk && p.Unauthenticated {
				return false, &ProtocolError{"unauthenticated bulk length"}
			}
			p.pos += cr + 2
			p.bulkLen = int(n)
			p.ensure(p.bulkLen)
		}
	body:
		if p.end-p.pos < p.bulkLen+2 {
			return false, nil
		}
		p.offs = append(p.offs, p.pos-p.start, p.pos-p.start+p.bulkLen)
		p.pos += p.bulkLen + 2
		p.bulkLen = -1
		p.remaining--
	}
	return true, nil
}

// parseInline reads one inline command line. It returns nil args and nil
// error both when the line is incomplete (p.inline stays true) and when it
// was empty (p.inline becomes false).
func (p *Parser) parseInline() ([][]byte, error) {
	nl := bytes.IndexByte(p.buf[p.start:p.end], '\n')
	if nl >= 0 && bytes.IndexByte(p.buf[p.start:p.start+nl], 0) >= 0 {
		// Redis looks for the newline with strchr, which stops at a NUL:
		// such a line is never complete.
		nl = -1
	}
	if nl < 0 {
		if p.end-p.start > InlineMax {
			return nil, &ProtocolError{"too big inline request"}
		}
		return nil, nil
	}
	line := p.buf[p.start : p.start+nl]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	p.inline = false
	next := p.start + nl + 1
	words, ok := splitInline(line, p.argv[:0])
	if !ok {
		return nil, &ProtocolError{"unbalanced quotes in request"}
	}
	p.start = next
	p.pos = next
	if len(words) == 0 {
		return nil, nil
	}
	p.argv = words
	return words, nil
}

// fastBulkHeader parses "$<1-9 digits>\r\n" at pos. ok is false when the
// header is anything else (incomplete, signed, huge, malformed), which the
// general path then handles with its exact error messages.
func fastBulkHeader(b []byte, pos int) (n, next int, ok bool) {
	if pos >= len(b) || b[pos] != '$' {
		return 0, 0, false
	}
	i := pos + 1
	for ; i < len(b) && i-pos <= 10; i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			n = n*10 + int(c-'0')
			continue
		}
		break
	}
	if i == pos+1 || i+1 >= len(b) || b[i] != '\r' || b[i+1] != '\n' || i-pos > 10 || (b[pos+1] == '0' && i > pos+2) {
		return 0, 0, false
	}
	return n, i + 2, true
}

// headerEnd finds the '\r' that ends a multibulk or bulk header the way
// Redis does: the first '\r' (strchr, so a NUL before it hides it), with
// at least one byte after it, which is skipped whatever it is. It returns
// -1 while the header is incomplete.
func headerEnd(b []byte) int {
	cr := bytes.IndexByte(b, '\r')
	if cr < 0 || cr+2 > len(b) || bytes.IndexByte(b[:cr], 0) >= 0 {
		return -1
	}
	return cr
}

// parseInt parses a decimal integer as Redis's string2ll does: optional
// '-', no '+', no leading zeros, no spaces, no overflow; "-0" is refused.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) == 1 && b[0] == '0' {
		return 0, true
	}
	neg := b[0] == '-'
	d := b
	if neg {
		d = b[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}
