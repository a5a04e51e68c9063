package resp

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"testing"
)

// FuzzParser feeds arbitrary bytes in arbitrary chunkings. The parser must
// never panic, never hold a buffer out of proportion to its input, give
// the same result however the input is split, and agree with refParse, a
// deliberately simple reader of the same grammar.
//
//	go test -run '^$' -fuzz FuzzParser -fuzztime 60s ./internal/resp/
func FuzzParser(f *testing.F) {
	seeds := []string{
		"*1\r\n$4\r\nPING\r\n",
		"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
		"*0\r\n*-1\r\nPING\r\n",
		"SET a \"b\\x41 c\" 'd\\'e'\r\nGET a\n",
		"*1\r\n$-1\r\n",
		"*2\r\n$4\r\nECHO\r\n$20\r\nabc",
		"*1\rX$1\rYa\r\n",
		"ECHO \"unbalanced\r\n",
		"*+1\r\n",
		"\x00\r\n*1\x00",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint64(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunkSeed uint64) {
		const maxBulk = 1 << 16
		whole := NewParser(&chunkReader{data: data})
		whole.MaxBulk = maxBulk
		wantCmds, wantErr := parseAll(whole)

		r := rand.New(rand.NewSource(int64(chunkSeed)))
		chunks := make([]int, 1+r.Intn(8))
		for i := range chunks {
			chunks[i] = 1 + r.Intn(1+r.Intn(64))
		}
		split := NewParser(&chunkReader{data: data, chunks: chunks})
		split.MaxBulk = maxBulk
		gotCmds, gotErr := parseAll(split)

		for _, p := range []*Parser{whole, split} {
			if limit := 4*len(data) + 64*1024; p.QueryBufSize() > limit {
				t.Fatalf("buffer of %d bytes for %d bytes of input", p.QueryBufSize(), len(data))
			}
		}
		if len(data) > InlineMax {
			return // the "too big" errors depend on how the input arrives
		}
		if fmt.Sprintf("%q", gotCmds) != fmt.Sprintf("%q", wantCmds) || errText(gotErr) != errText(wantErr) {
			t.Fatalf("chunks %v change the result:\nwhole %q %v\nsplit %q %v", chunks, wantCmds, wantErr, gotCmds, gotErr)
		}
		refCmds, refErr, ok := refParse(data, maxBulk)
		if !ok {
			return // the reference does not know quoted inline words
		}
		if fmt.Sprintf("%q", refCmds) != fmt.Sprintf("%q", wantCmds) || errText(refErr) != errText(wantErr) {
			t.Fatalf("parser and reference disagree:\nparser    %q %v\nreference %q %v", wantCmds, wantErr, refCmds, refErr)
		}
	})
}

// refParse reads a whole input (under InlineMax bytes) the way Redis's
// networking.c does, written for clarity rather than speed. ok is false
// when the input has inline quotes, which it does not interpret.
func refParse(in []byte, maxBulk int64) (cmds [][]string, err error, ok bool) {
	// line finds the end of a line starting at pos the way strchr would:
	// the first c, unless a NUL comes first.
	line := func(pos int, c byte) int {
		for i := pos; i < len(in); i++ {
			if in[i] == 0 {
				return -1
			}
			if in[i] == c {
				return i
			}
		}
		return -1
	}
	perr := func(msg string) error { return &ProtocolError{msg} }
	pos := 0
	for pos < len(in) {
		if in[pos] != '*' {
			nl := line(pos, '\n')
			if nl < 0 {
				return cmds, io.EOF, true
			}
			l := in[pos:nl]
			l = bytes.TrimSuffix(l, []byte("\r"))
			if bytes.ContainsAny(l, "\"'") {
				return nil, nil, false
			}
			var words []string
			for _, w := range bytes.FieldsFunc(l, func(r rune) bool { return r < 0x80 && isBlank(byte(r)) }) {
				words = append(words, string(w))
			}
			// FieldsFunc decodes UTF-8; invalid bytes are never blanks, so
			// the split is the byte-wise one.
			if len(words) > 0 {
				cmds = append(cmds, words)
			}
			pos = nl + 1
			continue
		}
		cr := line(pos, '\r')
		if cr < 0 || cr+2 > len(in) {
			return cmds, io.EOF, true
		}
		n, valid := refAtoi(in[pos+1 : cr])
		if !valid || n > MaxMultibulk {
			return cmds, perr("invalid multibulk length"), true
		}
		pos = cr + 2
		if n <= 0 {
			continue
		}
		var args []string
		for i := int64(0); i < n; i++ {
			cr := line(pos, '\r')
			if cr < 0 || cr+2 > len(in) {
				return cmds, io.EOF, true
			}
			if in[pos] != '$' {
				return cmds, perr("expected '$', got '" + string(in[pos]) + "'"), true
			}
			l, valid := refAtoi(in[pos+1 : cr])
			if !valid || l < 0 || l > maxBulk {
				return cmds, perr("invalid bulk length"), true
			}
			pos = cr + 2
			if int64(len(in)-pos) < l+2 {
				return cmds, io.EOF, true
			}
			args = append(args, string(in[pos:pos+int(l)]))
			pos += int(l) + 2
		}
		cmds = append(cmds, args)
	}
	return cmds, nil, true
}

// refAtoi is string2ll: digits with an optional '-', no leading zeros.
func refAtoi(b []byte) (int64, bool) {
	s := string(b)
	if s == "0" {
		return 0, true
	}
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg, s = true, s[1:]
	}
	if s == "" || s[0] == '0' || len(s) > 19 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + uint64(s[i]-'0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}
