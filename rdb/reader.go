package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/skiffdb/skiff/store"
)

// chunk is the most the reader allocates ahead of bytes that have actually
// arrived: a string announced as 4 GiB is read (and its buffer grown) a
// chunk at a time, so a lying length costs at most this much before the
// input runs out.
const chunk = 1 << 20

// src reads the input, counting the offset and extending the CRC64 of
// everything consumed.
type src struct {
	r   *bufio.Reader
	off int64
	crc uint64
	lim Limits
	tmp [8]byte
	// scratch is strString's reused buffer.
	scratch []byte
	// shallow: Redis's checks without deep sanitization (sanitize.go).
	shallow bool
}

func (s *src) errorf(format string, args ...any) error {
	return &Error{Offset: s.off, Msg: fmt.Sprintf(format, args...)}
}

func (s *src) readErr(err error, what string) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return &Error{Offset: s.off, Msg: "unexpected end of input reading " + what, Reason: reasonUnexpectedEOF}
	}
	return s.errorf("reading %s: %v", what, err)
}

// full fills p from the input.
func (s *src) full(p []byte, what string) error {
	n, err := io.ReadFull(s.r, p)
	s.crc = crcUpdate(s.crc, p[:n])
	s.off += int64(n)
	if err != nil {
		return s.readErr(err, what)
	}
	return nil
}

func (s *src) byte(what string) (byte, error) {
	b, err := s.r.ReadByte()
	if err != nil {
		return 0, s.readErr(err, what)
	}
	s.tmp[0] = b
	s.crc = crcUpdate(s.crc, s.tmp[:1])
	s.off++
	return b, nil
}

// bytes reads n bytes, growing the buffer only as data arrives.
func (s *src) bytes(n uint64, what string) ([]byte, error) {
	if n <= chunk {
		p := make([]byte, n)
		return p, s.full(p, what)
	}
	if n > math.MaxInt/2 {
		return nil, s.errorf("%s length %d is too large", what, n)
	}
	p := make([]byte, 0, chunk)
	for uint64(len(p)) < n {
		k := min(n-uint64(len(p)), chunk)
		if uint64(cap(p)-len(p)) < k {
			p = append(p[:cap(p)], make([]byte, cap(p))...)[:len(p)]
		}
		start := len(p)
		p = p[:start+int(k)]
		if err := s.full(p[start:], what); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// length reads an RDB length; encoded reports the special-string form
// (the value is then the encoding number).
func (s *src) length(what string) (n uint64, encoded bool, err error) {
	b, err := s.byte(what)
	if err != nil {
		return 0, false, err
	}
	switch b >> 6 {
	case len6:
		return uint64(b & 0x3F), false, nil
	case len14:
		b2, err := s.byte(what)
		if err != nil {
			return 0, false, err
		}
		return uint64(b&0x3F)<<8 | uint64(b2), false, nil
	case lenEncVal:
		return uint64(b & 0x3F), true, nil
	}
	switch b {
	case len32:
		if err := s.full(s.tmp[:4], what); err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(s.tmp[:4])), false, nil
	case len64:
		if err := s.full(s.tmp[:8], what); err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(s.tmp[:8]), false, nil
	}
	return 0, false, s.errorf("unknown length encoding 0x%02x in %s", b, what)
}

// count reads a plain length (a string encoding is an error there).
func (s *src) count(what string) (uint64, error) {
	n, enc, err := s.length(what)
	if err == nil && enc {
		return 0, s.errorf("string encoding where the length of %s was expected", what)
	}
	return n, err
}

// str reads a string in any of its encodings.
func (s *src) str(what string) ([]byte, error) {
	n, enc, err := s.length(what)
	if err != nil {
		return nil, err
	}
	if !enc {
		return s.bytes(n, what)
	}
	switch n {
	case encInt8:
		b, err := s.byte(what)
		if err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int8(b)), 10), nil
	case encInt16:
		if err := s.full(s.tmp[:2], what); err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int16(binary.LittleEndian.Uint16(s.tmp[:2]))), 10), nil
	case encInt32:
		if err := s.full(s.tmp[:4], what); err != nil {
			return nil, err
		}
		return strconv.AppendInt(nil, int64(int32(binary.LittleEndian.Uint32(s.tmp[:4]))), 10), nil
	case encLZF:
		clen, err := s.count(what + " (compressed length)")
		if err != nil {
			return nil, err
		}
		ulen, err := s.count(what + " (uncompressed length)")
		if err != nil {
			return nil, err
		}
		start := s.off
		c, err := s.bytes(clen, what)
		if err != nil {
			return nil, err
		}
		// One LZF back reference of 3 bytes yields at most 264 bytes, so
		// a larger claim is a lie; checking it bounds the allocation by
		// the bytes really read.
		if ulen > uint64(len(c))*90+32 {
			return nil, &Error{Offset: start, Msg: fmt.Sprintf("LZF %s claims %d bytes from %d", what, ulen, clen), Reason: reasonLZF}
		}
		out, err := lzfDecompress(c, int(ulen))
		if err != nil {
			return nil, &Error{Offset: start, Msg: fmt.Sprintf("%s: %v", what, err), Reason: reasonLZF}
		}
		return out, nil
	}
	return nil, s.errorf("unknown string encoding %d in %s", n, what)
}

func (s *src) strString(what string) (string, error) {
	// A plain string (every key but integer-like or compressible ones)
	// is read into a reused buffer: one allocation, the string's.
	if b, err := s.r.Peek(1); err == nil && b[0]>>6 != lenEncVal {
		n, _, err := s.length(what)
		if err != nil {
			return "", err
		}
		if n <= chunk {
			if uint64(cap(s.scratch)) < n {
				s.scratch = make([]byte, n)
			}
			p := s.scratch[:n]
			err := s.full(p, what)
			return string(p), err
		}
		b, err := s.bytes(n, what)
		return string(b), err
	}
	b, err := s.str(what)
	return string(b), err
}

// Load reads an RDB file and calls fn for every key in file order. It
// checks the CRC64 trailer (a zero trailer, written with rdbchecksum no,
// is accepted) and returns the AUX fields. Expired keys are passed on:
// whether to drop them is the caller's choice, as it is Redis's (a
// replica keeps them). Collections get encodings by DefaultLimits.
func Load(r io.Reader, fn func(db int, key string, obj *store.Object) error) (aux map[string]string, err error) {
	return LoadLimits(r, DefaultLimits, fn)
}

// LoadLimits is Load with the encoding thresholds of the server's
// configuration.
func LoadLimits(r io.Reader, lim Limits, fn func(db int, key string, obj *store.Object) error) (map[string]string, error) {
	return LoadHooks(r, lim, Hooks{}, fn)
}

// Hooks let a caller follow a load as it goes (a server reports its
// loading progress in INFO and throttles itself with key-load-delay).
// Either may be nil.
type Hooks struct {
	// Aux is called with every AUX field as it is read.
	Aux func(key, value string)
	// Entry is called after every key entry of the file, whether fn
	// was called for it or it was skipped as an empty collection, with
	// the number of input bytes consumed so far. An error stops the load
	// and is returned as it is.
	Entry func(offset int64) error
	// Function is called with the code of every function library (the
	// FUNCTION2 opcode, or the release candidates' FUNCTION turned into
	// the same code). An error stops the load and is returned as it is.
	// When nil, a file holding a library is refused.
	Function func(code []byte) error
	// EmptyKey is called with the name of every key skipped because its
	// collection has no elements (Redis logs them).
	EmptyKey func(db int, key string)
	// ResizeDB is called with the key and TTL counts of a RESIZEDB
	// opcode (the sizes the writer announced for the database being
	// read; a hint, not checked).
	ResizeDB func(db int, size, expires uint64)
	// SkipChecksum does not compare the CRC64 trailer (Redis's DEBUG
	// SET-SKIP-CHECKSUM-VALIDATION applies to loads too).
	SkipChecksum bool
}

// LoadHooks is LoadLimits with progress hooks.
func LoadHooks(r io.Reader, lim Limits, h Hooks, fn func(db int, key string, obj *store.Object) error) (map[string]string, error) {
	s := &src{r: bufio.NewReaderSize(r, 64<<10), lim: lim}
	var magic [9]byte
	if err := s.full(magic[:], "header"); err != nil {
		return nil, err
	}
	if !bytes.Equal(magic[:5], []byte("REDIS")) {
		return nil, &Error{Offset: 0, Msg: "wrong signature, not an RDB file"}
	}
	ver, err := strconv.Atoi(string(magic[5:]))
	if err != nil || ver < 1 || ver > Version {
		return nil, &Error{Offset: 5, Msg: fmt.Sprintf("can't handle RDB format version %q", magic[5:])}
	}
	aux := map[string]string{}
	db := 0
	var expire int64
	for {
		opOff := s.off
		op, err := s.byte("opcode")
		if err != nil {
			return aux, err
		}
		switch op {
		case opEOF:
			if ver < 5 {
				return aux, nil
			}
			sum := s.crc
			if err := s.full(s.tmp[:8], "checksum"); err != nil {
				return aux, err
			}
			if got := binary.LittleEndian.Uint64(s.tmp[:8]); got != 0 && got != sum && !h.SkipChecksum {
				return aux, &Error{Offset: s.off - 8, Msg: fmt.Sprintf("RDB CRC error: wrong RDB checksum %016x, computed %016x", got, sum), Reason: reasonCRC}
			}
			return aux, nil
		case opAux:
			k, err := s.strString("AUX field name")
			if err != nil {
				return aux, err
			}
			v, err := s.strString("AUX field value")
			if err != nil {
				return aux, err
			}
			aux[k] = v
			if h.Aux != nil {
				h.Aux(k, v)
			}
		case opSelectDB:
			n, err := s.count("database number")
			if err != nil {
				return aux, err
			}
			if n > math.MaxInt32 {
				return aux, &Error{Offset: opOff, Msg: fmt.Sprintf("database number %d out of range", n)}
			}
			db = int(n)
		case opResizeDB:
			size, err := s.count("db size")
			if err != nil {
				return aux, err
			}
			expires, err := s.count("expires size")
			if err != nil {
				return aux, err
			}
			if h.ResizeDB != nil {
				h.ResizeDB(db, size, expires)
			}
		case opExpireTime:
			if err := s.full(s.tmp[:4], "expire time"); err != nil {
				return aux, err
			}
			expire = int64(int32(binary.LittleEndian.Uint32(s.tmp[:4]))) * 1000
		case opExpireTimeMS:
			if err := s.full(s.tmp[:8], "expire time"); err != nil {
				return aux, err
			}
			expire = int64(binary.LittleEndian.Uint64(s.tmp[:8]))
		case opFreq:
			if _, err := s.byte("LFU frequency"); err != nil {
				return aux, err
			}
		case opIdle:
			if _, err := s.count("LRU idle time"); err != nil {
				return aux, err
			}
		case opModuleAux:
			return aux, &Error{Offset: opOff, Msg: "the file holds module data, which Skiff cannot load"}
		case opFunction, opFunction2:
			if h.Function == nil {
				return aux, &Error{Offset: opOff, Msg: "the file holds a function library, which this reader does not take"}
			}
			code, err := s.readFunction(op)
			if err != nil {
				var fe *funcError
				if errors.As(err, &fe) {
					return aux, &Error{Offset: opOff, Msg: fmt.Sprintf("%s (%v)", fe.msg, fe.cause)}
				}
				return aux, err
			}
			if err := h.Function(code); err != nil {
				return aux, err
			}
		default:
			key, err := s.strString("key")
			if err != nil {
				return aux, err
			}
			obj, err := s.value(op, key)
			if err == ErrEmptyKey {
				expire = 0 // Redis skips empty collections too
				if h.EmptyKey != nil {
					h.EmptyKey(db, key)
				}
			} else if err != nil {
				return aux, err // (files are always checked deeply)
			} else {
				obj.Expire = expire
				expire = 0
				if err := fn(db, key, obj); err != nil {
					return aux, &Error{Offset: opOff, Msg: fmt.Sprintf("key %q: %v", key, err)}
				}
			}
			if h.Entry != nil {
				if err := h.Entry(s.off); err != nil {
					return aux, err
				}
			}
		}
	}
}

// DecodeValue decodes a DUMP payload after checking its RDB version and
// CRC64 (ErrChecksum otherwise). Collections get encodings by
// DefaultLimits.
func DecodeValue(payload []byte) (*store.Object, error) {
	return DecodeValueLimits(payload, DefaultLimits, false)
}

// DecodeValueLimits is DecodeValue with the server's encoding thresholds;
// skipChecksum accepts a payload whatever its CRC (Redis's
// skip-checksum-validation). Payloads are checked deeply.
func DecodeValueLimits(payload []byte, lim Limits, skipChecksum bool) (*store.Object, error) {
	return DecodeValueOpts(payload, lim, DecodeOptions{SkipChecksum: skipChecksum})
}

// DecodeValueOpts is DecodeValueLimits with the depth of the checks
// chosen (see sanitize.go): with opts.Shallow, a payload that only
// Redis's deep checks refuse comes back as a *DeferredError holding the
// value decoded so far. Errors are *Error (with Redis's Reason where it
// has one), ErrChecksum or ErrEmptyKey.
func DecodeValueOpts(payload []byte, lim Limits, opts DecodeOptions) (*store.Object, error) {
	if err := VerifyPayload(payload, opts.SkipChecksum); err != nil {
		return nil, err
	}
	body := payload[:len(payload)-10]
	return decodeBody(body, bufio.NewReaderSize(bytes.NewReader(body), 4096), lim, opts)
}

// PayloadDecoder decodes DUMP payloads one after another with one read
// buffer, where DecodeValueOpts allocates one per payload (a slot
// migration's target decodes millions). The zero value is ready; not
// safe for concurrent use.
type PayloadDecoder struct {
	rd bytes.Reader
	br *bufio.Reader
}

// Decode is DecodeValueOpts. The value shares no bytes with payload.
func (d *PayloadDecoder) Decode(payload []byte, lim Limits, opts DecodeOptions) (*store.Object, error) {
	if err := VerifyPayload(payload, opts.SkipChecksum); err != nil {
		return nil, err
	}
	body := payload[:len(payload)-10]
	d.rd.Reset(body)
	if d.br == nil {
		d.br = bufio.NewReaderSize(&d.rd, 4096)
	} else {
		d.br.Reset(&d.rd)
	}
	return decodeBody(body, d.br, lim, opts)
}

// decodeBody decodes a payload's body (without its footer) read from r.
func decodeBody(body []byte, r *bufio.Reader, lim Limits, opts DecodeOptions) (*store.Object, error) {
	s := &src{r: r, lim: lim, shallow: opts.Shallow}
	t, err := s.byte("value type")
	if err != nil {
		return nil, err
	}
	// Like Redis, bytes after the value are ignored.
	obj, err := s.value(t, "")
	if err != nil && (t == typeStreamLP || t == typeStreamLP2) {
		err = streamVerdict(body, opts.Shallow, err) // stream_validate.go
	}
	return obj, err
}

// VerifyPayload checks a DUMP payload's footer: an RDB version this
// reader handles and a matching CRC64.
func VerifyPayload(payload []byte, skipChecksum bool) error {
	if len(payload) < 10 {
		return ErrChecksum
	}
	footer := payload[len(payload)-10:]
	if ver := binary.LittleEndian.Uint16(footer); ver > Version {
		return ErrChecksum
	}
	if skipChecksum {
		return nil
	}
	if CRC64(payload[:len(payload)-8]) != binary.LittleEndian.Uint64(footer[2:]) {
		return ErrChecksum
	}
	return nil
}
