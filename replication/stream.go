package replication

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// Limits on what a master may send, so that a corrupt stream cannot make
// the replica allocate without bound before the bytes arrive.
const (
	maxStreamArgs = 1 << 20
	maxStreamBulk = 512 << 20
	readChunk     = 1 << 20
)

// StreamReader reads the command stream a master sends after the sync
// and returns each command with its exact wire bytes, whose lengths are
// what the replication offset counts.
type StreamReader struct {
	br *bufio.Reader
	// raw and args are arenas the commands of one batch are carved
	// from, reused after Reset, so that applying a stream does not
	// allocate per command.
	raw  []byte
	args [][]byte
	offs []int
}

// Reset lets the next commands reuse the memory of those returned so
// far: call it only once they are no longer used.
func (r *StreamReader) Reset() {
	const keep = 4 << 20 // a huge command does not pin its memory forever
	if cap(r.raw) > keep {
		r.raw = nil
	}
	if cap(r.args) > keep/16 {
		r.args = nil
	}
	r.raw, r.args = r.raw[:0], r.args[:0]
}

// NewStreamReader reads commands from br.
func NewStreamReader(br *bufio.Reader) *StreamReader { return &StreamReader{br: br} }

// Buffered reports whether bytes are waiting, so a caller can batch the
// commands that arrived together without blocking on the next.
func (r *StreamReader) Buffered() int { return r.br.Buffered() }

// Command is one command of the stream. Args alias Raw.
type Command struct {
	Args [][]byte
	// Raw is the wire form; len(Raw) is what the command adds to the
	// replication offset. A bare newline keepalive has Raw "\n" and no
	// Args.
	Raw []byte
}

// Next reads one command. It returns io.ErrUnexpectedEOF when the stream
// ends inside a command and a descriptive error for malformed input.
func (r *StreamReader) Next() (Command, error) {
	base := len(r.raw)
	buf, err := r.line(r.raw)
	if err != nil {
		return Command{}, err
	}
	r.raw = buf
	line := buf[base:]
	if len(line) == 1 || (len(line) == 2 && line[0] == '\r') {
		return Command{Raw: line}, nil // keepalive newline
	}
	if line[0] != '*' {
		return Command{}, fmt.Errorf("replication stream: expected '*', got %q", trim(line))
	}
	n, ok := atoi(line[1 : len(line)-2])
	if !ok || n < 0 || n > maxStreamArgs {
		return Command{}, fmt.Errorf("replication stream: invalid multibulk length %q", trim(line))
	}
	raw := buf
	offs := r.offs[:0]
	for i := int64(0); i < n; i++ {
		hstart := len(raw)
		raw, err = r.line(raw)
		if err != nil {
			return Command{}, unexpected(err)
		}
		h := raw[hstart:]
		if h[0] != '$' {
			return Command{}, fmt.Errorf("replication stream: expected '$', got %q", trim(h))
		}
		blen, ok := atoi(h[1 : len(h)-2])
		if !ok || blen < 0 || blen > maxStreamBulk {
			return Command{}, fmt.Errorf("replication stream: invalid bulk length %q", trim(h))
		}
		start := len(raw)
		raw, err = readN(r.br, raw, int(blen)+2)
		if err != nil {
			return Command{}, unexpected(err)
		}
		if raw[len(raw)-2] != '\r' || raw[len(raw)-1] != '\n' {
			return Command{}, fmt.Errorf("replication stream: bulk not terminated by CRLF")
		}
		offs = append(offs, start, start+int(blen))
	}
	r.offs = offs
	r.raw = raw
	// raw may have moved while growing: the offsets are relative to it.
	ab := len(r.args)
	for i := 0; i < int(n); i++ {
		r.args = append(r.args, raw[offs[2*i]:offs[2*i+1]:offs[2*i+1]])
	}
	args := r.args[ab:len(r.args):len(r.args)]
	return Command{Args: args, Raw: raw[base:]}, nil
}

// line appends one line (through '\n') to dst and returns dst. A line
// must end with CRLF, except a bare "\n" keepalive.
func (r *StreamReader) line(dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		frag, err := r.br.ReadSlice('\n')
		dst = append(dst, frag...)
		if err == nil {
			break
		}
		if err != bufio.ErrBufferFull {
			if len(dst) > start && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
		if len(dst)-start > 64*1024 {
			return dst, fmt.Errorf("replication stream: line too long")
		}
	}
	l := dst[start:]
	if len(l) == 1 {
		return dst, nil
	}
	if l[len(l)-2] != '\r' {
		return dst, fmt.Errorf("replication stream: line not terminated by CRLF: %q", trim(l))
	}
	return dst, nil
}

// readN appends exactly n bytes from br to dst, growing dst as the bytes
// arrive rather than trusting n up front.
func readN(br *bufio.Reader, dst []byte, n int) ([]byte, error) {
	for n > 0 {
		step := n
		if step > readChunk {
			step = readChunk
		}
		l := len(dst)
		dst = append(dst, make([]byte, step)...)
		if _, err := io.ReadFull(br, dst[l:]); err != nil {
			return dst[:l], err
		}
		n -= step
	}
	return dst, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func atoi(b []byte) (int64, bool) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

func trim(b []byte) []byte {
	if len(b) > 64 {
		b = b[:64]
	}
	return b
}
