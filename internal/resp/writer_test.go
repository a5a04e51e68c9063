package resp

import (
	"math"
	"testing"
)

func TestWriterBothProtocols(t *testing.T) {
	cases := []struct {
		name        string
		write       func(w *Writer)
		resp2, rsp3 string
	}{
		{"simple", func(w *Writer) { w.AppendSimple("PONG") }, "+PONG\r\n", "+PONG\r\n"},
		{"ok", func(w *Writer) { w.AppendOK() }, "+OK\r\n", "+OK\r\n"},
		{"error", func(w *Writer) { w.AppendError("ERR a\r\nb") }, "-ERR a  b\r\n", "-ERR a  b\r\n"},
		{"int", func(w *Writer) { w.AppendInt(-9223372036854775808) }, ":-9223372036854775808\r\n", ":-9223372036854775808\r\n"},
		{"bulk", func(w *Writer) { w.AppendBulk([]byte("a\r\n\x00")) }, "$4\r\na\r\n\x00\r\n", "$4\r\na\r\n\x00\r\n"},
		{"empty bulk", func(w *Writer) { w.AppendBulk(nil) }, "$0\r\n\r\n", "$0\r\n\r\n"},
		{"bulk string", func(w *Writer) { w.AppendBulkString("hé") }, "$3\r\nhé\r\n", "$3\r\nhé\r\n"},
		{"bulk int", func(w *Writer) { w.AppendBulkInt(-12) }, "$3\r\n-12\r\n", "$3\r\n-12\r\n"},
		{"null", func(w *Writer) { w.AppendNull() }, "$-1\r\n", "_\r\n"},
		{"null array", func(w *Writer) { w.AppendNullArray() }, "*-1\r\n", "_\r\n"},
		{"array", func(w *Writer) { w.AppendArray(2); w.AppendInt(1); w.AppendNull() }, "*2\r\n:1\r\n$-1\r\n", "*2\r\n:1\r\n_\r\n"},
		{"map", func(w *Writer) { w.AppendMap(1); w.AppendBulkString("k"); w.AppendInt(7) }, "*2\r\n$1\r\nk\r\n:7\r\n", "%1\r\n$1\r\nk\r\n:7\r\n"},
		{"set", func(w *Writer) { w.AppendSet(0) }, "*0\r\n", "~0\r\n"},
		{"push", func(w *Writer) { w.AppendPush(3) }, "*3\r\n", ">3\r\n"},
		{"true", func(w *Writer) { w.AppendBool(true) }, ":1\r\n", "#t\r\n"},
		{"false", func(w *Writer) { w.AppendBool(false) }, ":0\r\n", "#f\r\n"},
		{"double", func(w *Writer) { w.AppendDouble(1.5) }, "$3\r\n1.5\r\n", ",1.5\r\n"},
		{"double inf", func(w *Writer) { w.AppendDouble(math.Inf(-1)) }, "$4\r\n-inf\r\n", ",-inf\r\n"},
		{"verbatim", func(w *Writer) { w.AppendVerbatim("a\r\nb") }, "$4\r\na\r\nb\r\n", "=8\r\ntxt:a\r\nb\r\n"},
		{"raw", func(w *Writer) { w.AppendRaw([]byte(":5\r\n")) }, ":5\r\n", ":5\r\n"},
	}
	for _, tc := range cases {
		for _, proto := range []int{2, 3} {
			w := &Writer{Proto: proto}
			tc.write(w)
			want := tc.resp2
			if proto == 3 {
				want = tc.rsp3
			}
			if string(w.B) != want {
				t.Errorf("%s RESP%d: got %q, want %q", tc.name, proto, w.B, want)
			}
			// Whatever the writer emits must parse back as one reply.
			if n := replyLen(t, w.B); n != len(w.B) && tc.name != "array" && tc.name != "map" && tc.name != "push" && tc.name != "set" {
				t.Errorf("%s RESP%d: %d of %d bytes form one reply", tc.name, proto, n, len(w.B))
			}
		}
	}
}

// replyLen returns the length of the first scalar reply in b (aggregates:
// their header only), checking its framing.
func replyLen(t *testing.T, b []byte) int {
	t.Helper()
	end := -1
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			end = i
			break
		}
	}
	if end < 0 {
		t.Fatalf("no CRLF in %q", b)
	}
	switch b[0] {
	case '$', '=':
		n, ok := refAtoi(b[1:end])
		if !ok {
			t.Fatalf("bad length in %q", b)
		}
		if n < 0 {
			return end + 2
		}
		if end+2+int(n)+2 > len(b) || string(b[end+2+int(n):end+4+int(n)]) != "\r\n" {
			t.Fatalf("bulk framing broken in %q", b)
		}
		return end + 4 + int(n)
	}
	return end + 2
}

// TestFormatDouble checks Redis 7.0's %.17g rendering (values from C's printf).
func TestFormatDouble(t *testing.T) {
	cases := []struct {
		f    float64
		want string
	}{
		{1.5, "1.5"},
		{0.1, "0.10000000000000001"},
		{3, "3"},
		{100, "100"},
		{1e20, "1e+20"},
		{1e-5, "1.0000000000000001e-05"},
		{123456789012345678, "1.2345678901234568e+17"},
		{math.Copysign(0, -1), "-0"},
		{2.5e-300, "2.5e-300"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{5e-324, "4.9406564584124654e-324"},
		{1.0 / 3, "0.33333333333333331"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	}
	for _, tc := range cases {
		if got := string(FormatDouble(nil, tc.f)); got != tc.want {
			t.Errorf("FormatDouble(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestWriterNoAllocsSteadyState(t *testing.T) {
	w := &Writer{Proto: 2, B: make([]byte, 0, 4096)}
	val := []byte("some value")
	a := testing.AllocsPerRun(100, func() {
		w.B = w.B[:0]
		w.AppendArray(3)
		w.AppendBulk(val)
		w.AppendInt(42)
		w.AppendDouble(2.5)
		w.AppendNull()
		w.AppendError("ERR x")
	})
	if a > 0 {
		t.Errorf("%.1f allocations per reply set; want 0", a)
	}
}
