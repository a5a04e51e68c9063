package resp

import (
	"math"
	"strconv"
)

// Writer appends replies to a byte slice in the connection's protocol
// version (2 or 3). It never writes to the network itself.
type Writer struct {
	B     []byte
	Proto int
}

// AppendSimple writes +s.
func (w *Writer) AppendSimple(s string) {
	w.B = append(w.B, '+')
	w.B = append(w.B, s...)
	w.B = append(w.B, '\r', '\n')
}

// AppendOK writes +OK.
func (w *Writer) AppendOK() { w.B = append(w.B, "+OK\r\n"...) }

// AppendError writes -msg. msg must start with an error code such as ERR.
// CR and LF in msg are replaced by spaces, as Redis does, so a reply can
// never break the stream.
func (w *Writer) AppendError(msg string) {
	w.B = append(w.B, '-')
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		w.B = append(w.B, c)
	}
	w.B = append(w.B, '\r', '\n')
}

// AppendInt writes :n.
func (w *Writer) AppendInt(n int64) {
	w.B = append(w.B, ':')
	w.B = strconv.AppendInt(w.B, n, 10)
	w.B = append(w.B, '\r', '\n')
}

// AppendBulk writes $len b.
func (w *Writer) AppendBulk(b []byte) {
	w.B = append(w.B, '$')
	w.B = strconv.AppendInt(w.B, int64(len(b)), 10)
	w.B = append(w.B, '\r', '\n')
	w.B = append(w.B, b...)
	w.B = append(w.B, '\r', '\n')
}

// AppendBulkString writes $len s.
func (w *Writer) AppendBulkString(s string) {
	w.B = append(w.B, '$')
	w.B = strconv.AppendInt(w.B, int64(len(s)), 10)
	w.B = append(w.B, '\r', '\n')
	w.B = append(w.B, s...)
	w.B = append(w.B, '\r', '\n')
}

// AppendBulkInt writes an integer as a bulk string.
func (w *Writer) AppendBulkInt(n int64) {
	var tmp [24]byte
	w.AppendBulk(strconv.AppendInt(tmp[:0], n, 10))
}

// AppendNull writes a null bulk ($-1, or _ in RESP3).
func (w *Writer) AppendNull() {
	if w.Proto == 3 {
		w.B = append(w.B, "_\r\n"...)
		return
	}
	w.B = append(w.B, "$-1\r\n"...)
}

// AppendNullArray writes a null array (*-1, or _ in RESP3).
func (w *Writer) AppendNullArray() {
	if w.Proto == 3 {
		w.B = append(w.B, "_\r\n"...)
		return
	}
	w.B = append(w.B, "*-1\r\n"...)
}

func (w *Writer) appendLen(c byte, n int) {
	w.B = append(w.B, c)
	w.B = strconv.AppendInt(w.B, int64(n), 10)
	w.B = append(w.B, '\r', '\n')
}

// AppendArray writes the header of an array of n elements.
func (w *Writer) AppendArray(n int) { w.appendLen('*', n) }

// AppendMap writes the header of a map of n pairs (a flat array of 2n in RESP2).
func (w *Writer) AppendMap(n int) {
	if w.Proto == 3 {
		w.appendLen('%', n)
		return
	}
	w.appendLen('*', 2*n)
}

// AppendSet writes the header of a set of n elements (an array in RESP2).
func (w *Writer) AppendSet(n int) {
	if w.Proto == 3 {
		w.appendLen('~', n)
		return
	}
	w.appendLen('*', n)
}

// AppendPush writes the header of a push message (an array in RESP2).
func (w *Writer) AppendPush(n int) {
	if w.Proto == 3 {
		w.appendLen('>', n)
		return
	}
	w.appendLen('*', n)
}

// AppendBool writes a boolean (:1/:0 in RESP2).
func (w *Writer) AppendBool(v bool) {
	if w.Proto == 3 {
		if v {
			w.B = append(w.B, "#t\r\n"...)
		} else {
			w.B = append(w.B, "#f\r\n"...)
		}
		return
	}
	if v {
		w.B = append(w.B, ":1\r\n"...)
	} else {
		w.B = append(w.B, ":0\r\n"...)
	}
}

// AppendDouble writes a double: a bulk string in RESP2 and ",d" in RESP3,
// formatted like Redis 7.0 (%.17g; inf, -inf, nan).
func (w *Writer) AppendDouble(f float64) {
	var tmp [40]byte
	s := FormatDouble(tmp[:0], f)
	if w.Proto == 3 {
		w.B = append(w.B, ',')
		w.B = append(w.B, s...)
		w.B = append(w.B, '\r', '\n')
		return
	}
	w.AppendBulk(s)
}

// AppendVerbatim writes a verbatim string (a bulk in RESP2), e.g. INFO.
func (w *Writer) AppendVerbatim(s string) {
	if w.Proto == 3 {
		w.B = append(w.B, '=')
		w.B = strconv.AppendInt(w.B, int64(len(s)+4), 10)
		w.B = append(w.B, "\r\ntxt:"...)
		w.B = append(w.B, s...)
		w.B = append(w.B, '\r', '\n')
		return
	}
	w.AppendBulkString(s)
}

// AppendRaw appends already-encoded protocol bytes.
func (w *Writer) AppendRaw(b []byte) { w.B = append(w.B, b...) }

// FormatDouble formats f the way Redis 7.0 replies with doubles: %.17g,
// with "inf", "-inf" and "nan".
func FormatDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	case math.IsNaN(f):
		return append(dst, "nan"...)
	}
	return AppendG17(dst, f)
}

// AppendG17 formats like C's printf("%.17g"); Go's 'g' with 17 digits
// gives the same text (checked in the tests).
func AppendG17(dst []byte, f float64) []byte {
	return strconv.AppendFloat(dst, f, 'g', 17, 64)
}
