package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ReplyError is an error reply (-ERR ...) as read by ReadReply.
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// ReplyLimits bound what ReadReply accepts from a peer, so that a broken
// or hostile one cannot make the reader allocate without limit.
type ReplyLimits struct {
	MaxBulk  int // longest bulk string
	MaxElems int // most elements of one aggregate (a map counts its pairs twice)
	MaxDepth int // deepest nesting of aggregates
}

// ReadReply reads one reply the way a client sees it (sentinels and
// cluster nodes talking to other processes): a string for status, bulk,
// verbatim and double replies, int64 for integers, bool for booleans, nil
// for nulls, []any for arrays, sets, pushes and maps (flattened), and a
// ReplyError value for an error reply. err is only for I/O and protocol
// errors.
func ReadReply(r *bufio.Reader, lim ReplyLimits) (any, error) {
	return readReply(r, lim, 0)
}

func readReply(r *bufio.Reader, lim ReplyLimits, depth int) (any, error) {
	if depth > lim.MaxDepth {
		return nil, errors.New("protocol error: reply nested too deep")
	}
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, errors.New("protocol error: reply line too long")
		}
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("protocol error: bad reply line %q", line)
	}
	body := string(line[1 : len(line)-2])
	switch line[0] {
	case '+', ',':
		return body, nil
	case '-', '!':
		if line[0] == '!' { // RESP3 blob error: the text follows
			s, err := readBulk(r, body, lim)
			if err != nil || s == nil {
				return nil, err
			}
			return ReplyError(*s), nil
		}
		return ReplyError(body), nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("protocol error: bad integer %q", body)
		}
		return n, nil
	case '_':
		return nil, nil
	case '#':
		return body == "t", nil
	case '$', '=':
		s, err := readBulk(r, body, lim)
		if err != nil || s == nil {
			return nil, err
		}
		return *s, nil
	case '*', '~', '>', '%':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("protocol error: bad aggregate length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		if line[0] == '%' {
			n *= 2
		}
		if n > lim.MaxElems {
			return nil, fmt.Errorf("protocol error: aggregate of %d elements is over the limit of %d", n, lim.MaxElems)
		}
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			v, err := readReply(r, lim, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("protocol error: unexpected reply type %q", line[0])
}

// readBulk reads the payload of a bulk reply whose length header is n; nil
// for a null bulk.
func readBulk(r *bufio.Reader, n string, lim ReplyLimits) (*string, error) {
	size, err := strconv.Atoi(n)
	if err != nil {
		return nil, fmt.Errorf("protocol error: bad bulk length %q", n)
	}
	if size < 0 {
		return nil, nil
	}
	if size > lim.MaxBulk {
		return nil, fmt.Errorf("protocol error: bulk of %d bytes is over the limit of %d", size, lim.MaxBulk)
	}
	buf := make([]byte, size+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	s := string(buf[:size])
	return &s, nil
}

// AppendCommand appends a request (an array of bulk strings) to b, as a
// client sends it: sentinel links, cluster peer probes, MIGRATE.
func AppendCommand[T string | []byte](b []byte, args ...T) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}
