package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Function libraries in the RDB format. Redis 7.0 writes each library
// after the AUX fields and before the first database as the FUNCTION2
// opcode and the library's code (shebang included) as an RDB string.
// Release candidates of 7.0 wrote the FUNCTION opcode with the name,
// engine, an optional description and the code apart; a reader turns
// those into the code FUNCTION2 would hold, as Redis does.

// Function writes one function library's code. Call it after Header and
// before the first SelectDB, where Redis writes its libraries.
func (w *Writer) Function(code []byte) error {
	if w.err != nil {
		return w.err
	}
	b := append(w.buf[:0], opFunction2)
	b = appendBytes(b, code, w.compress)
	w.buf = b
	return w.write(b)
}

// funcError is an error reading a library: its text is Redis's, the
// cause says where and why.
type funcError struct {
	msg   string
	cause error
}

func (e *funcError) Error() string { return e.msg }
func (e *funcError) Unwrap() error { return e.cause }

// readFunction reads the body of a FUNCTION or FUNCTION2 opcode and
// returns the library's code. The errors are Redis's words.
func (s *src) readFunction(op byte) ([]byte, error) {
	if op == opFunction2 {
		code, err := s.str("function library")
		if err != nil {
			return nil, &funcError{"Failed loading library payload", err}
		}
		return code, nil
	}
	name, err := s.str("library name")
	if err != nil {
		return nil, &funcError{"Failed loading library name", err}
	}
	engine, err := s.str("engine name")
	if err != nil {
		return nil, &funcError{"Failed loading engine name", err}
	}
	hasDesc, err := s.count("library description indicator")
	if err != nil {
		return nil, &funcError{"Failed loading library description indicator", err}
	}
	if hasDesc != 0 {
		if _, err := s.str("library description"); err != nil {
			return nil, &funcError{"Failed loading library description", err}
		}
	}
	blob, err := s.str("library code")
	if err != nil {
		return nil, &funcError{"Failed loading library blob", err}
	}
	code := fmt.Appendf(nil, "#!%s name=%s\n", engine, name)
	return append(code, blob...), nil
}

// EncodeFunctions is FUNCTION DUMP's payload for the given library
// codes: each as in an RDB file, then the RDB version (2 bytes,
// little-endian) and the CRC64 of all that, as a key's DUMP.
func EncodeFunctions(codes [][]byte) []byte {
	var b []byte
	for _, code := range codes {
		b = append(b, opFunction2)
		b = appendBytes(b, code, true)
	}
	b = binary.LittleEndian.AppendUint16(b, Version)
	return binary.LittleEndian.AppendUint64(b, CRC64(b))
}

// ErrNotFunction is FUNCTION RESTORE's error for a payload holding
// something else than libraries.
var ErrNotFunction = errors.New("given type is not a function")

// DecodeFunctions reads a FUNCTION DUMP payload into its libraries'
// codes. A bad footer is ErrChecksum (skipChecksum accepts any CRC, as
// Redis's skip-checksum-validation); other errors carry Redis's text.
func DecodeFunctions(payload []byte, skipChecksum bool) ([][]byte, error) {
	if err := VerifyPayload(payload, skipChecksum); err != nil {
		return nil, err
	}
	body := payload[:len(payload)-10]
	s := &src{r: bufio.NewReader(bytes.NewReader(body)), lim: DefaultLimits}
	var codes [][]byte
	for s.off < int64(len(body)) {
		op, err := s.byte("data type")
		if err != nil {
			return nil, errors.New("can not read data type")
		}
		if op != opFunction && op != opFunction2 {
			return nil, ErrNotFunction
		}
		code, err := s.readFunction(op)
		if err != nil {
			return nil, err
		}
		codes = append(codes, code)
	}
	return codes, nil
}
