package resp

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

// chunkReader returns its data in the given chunk sizes (cycling them).
type chunkReader struct {
	data   []byte
	chunks []int
	i      int
}

func (r *chunkReader) Read(b []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := len(r.data)
	if len(r.chunks) > 0 {
		n = r.chunks[r.i%len(r.chunks)]
		r.i++
	}
	if n > len(b) {
		n = len(b)
	}
	if n > len(r.data) {
		n = len(r.data)
	}
	copy(b, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// parseAll runs the parser over a reader until EOF or an error and returns
// the commands (copied) and the error (nil at a clean EOF; io.EOF when
// input ended inside a command).
func parseAll(p *Parser) ([][]string, error) {
	var out [][]string
	for fills := 0; fills < 1<<22; fills++ {
		for {
			args, err := p.Next()
			if err != nil {
				return out, err
			}
			if args == nil {
				break
			}
			cmd := make([]string, len(args))
			for i, a := range args {
				cmd[i] = string(a)
			}
			out = append(out, cmd)
		}
		if err := p.Fill(); err != nil {
			if errors.Is(err, io.EOF) {
				if p.Buffered() > 0 {
					return out, io.EOF
				}
				return out, nil
			}
			return out, err
		}
	}
	return out, errors.New("parser made no progress")
}

func parseString(in string, chunks ...int) ([][]string, error) {
	return parseAll(NewParser(&chunkReader{data: []byte(in), chunks: chunks}))
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestParserCommands(t *testing.T) {
	cases := []struct {
		in   string
		want [][]string
		err  string
	}{
		{"*1\r\n$4\r\nPING\r\n", [][]string{{"PING"}}, "<nil>"},
		{"*2\r\n$3\r\nGET\r\n$0\r\n\r\n", [][]string{{"GET", ""}}, "<nil>"},
		{"*0\r\n*-1\r\n*-7\r\n*1\r\n$1\r\nx\r\n", [][]string{{"x"}}, "<nil>"},
		{"*1\r\n$3\r\na\r\n\r\n", [][]string{{"a\r\n"}}, "<nil>"},
		{"*1\r\n$2\r\nabXY", [][]string{{"ab"}}, "<nil>"}, // the 2 bytes after a bulk are not checked
		{"*1\rX$2\rYab\r\n", [][]string{{"ab"}}, "<nil>"}, // nor the byte after a header's CR
		{"PING\r\n", [][]string{{"PING"}}, "<nil>"},
		{"PING\n", [][]string{{"PING"}}, "<nil>"},
		{"\r\n\n  \r\nPING\r\n", [][]string{{"PING"}}, "<nil>"},
		{"SET a \"b c\"\r\n", [][]string{{"SET", "a", "b c"}}, "<nil>"},
		{"ECHO \"\\x41\\n\\t\\\"\"\r\n", [][]string{{"ECHO", "A\n\t\""}}, "<nil>"},
		{"ECHO 'a\\'b'\r\n", [][]string{{"ECHO", "a'b"}}, "<nil>"},
		{"ECHO 'a\\nb'\r\n", [][]string{{"ECHO", "a\\nb"}}, "<nil>"},
		{"ECHO \"\" ''\r\n", [][]string{{"ECHO", "", ""}}, "<nil>"},
		{"ECHO \"abc\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"ECHO \"a\"b\r\n", nil, "Protocol error: unbalanced quotes in request"},
		{"*x\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*+1\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*01\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*-0\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*1\n$1\r\na\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*2147483648\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*99999999999999999999\r\n", nil, "Protocol error: invalid multibulk length"},
		{"*1\r\n$x\r\n", nil, "Protocol error: invalid bulk length"},
		{"*1\r\n$-1\r\n", nil, "Protocol error: invalid bulk length"},
		{"*1\r\n$01\r\n", nil, "Protocol error: invalid bulk length"},
		{"*1\r\n$+1\r\n", nil, "Protocol error: invalid bulk length"},
		{"*1\r\n$536870913\r\n", nil, "Protocol error: invalid bulk length"},
		{"*1\r\n:1\r\n", nil, "Protocol error: expected '$', got ':'"},
		{"*2\r\n$1\r\na\r\n*1\r\n", nil, "Protocol error: expected '$', got '*'"},
		{"*1\r\n$1\r\na\r\n*z\r\n", [][]string{{"a"}}, "Protocol error: invalid multibulk length"},
		{"*1\r\n$4\r\nPI", nil, "EOF"},
		{"PING", nil, "EOF"},
		{"PING\x00\r\n", nil, "EOF"}, // a NUL hides the newline, as strchr does in Redis
		{"*1\x00\r\n", nil, "EOF"},
	}
	for _, tc := range cases {
		for _, chunks := range [][]int{nil, {1}, {2, 3}, {7}} {
			got, err := parseString(tc.in, chunks...)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || errText(err) != tc.err {
				t.Errorf("%q chunks %v: got %q, %v; want %q, %s", tc.in, chunks, got, err, tc.want, tc.err)
			}
		}
	}
}

func TestParserTooBigHeaders(t *testing.T) {
	long := strings.Repeat("1", InlineMax+10)
	cases := map[string]string{
		"*" + long:                 "Protocol error: too big mbulk count string",
		"*1\r\n$" + long:           "Protocol error: too big bulk count string",
		strings.Repeat("a", 70000): "Protocol error: too big inline request",
	}
	for in, want := range cases {
		_, err := parseString(in, 4096)
		if errText(err) != want {
			t.Errorf("%.20q...: got %v, want %s", in, err, want)
		}
	}
	// A long inline line is fine when its newline arrives in time.
	got, err := parseString("ECHO "+strings.Repeat("b", 60000)+"\r\n", 4096)
	if err != nil || len(got) != 1 || len(got[0][1]) != 60000 {
		t.Errorf("60k inline: %v", err)
	}
}

func TestParserMaxBulk(t *testing.T) {
	p := NewParser(&chunkReader{data: []byte("*1\r\n$11\r\nhello world\r\n*1\r\n$12\r\n")})
	p.MaxBulk = 11
	got, err := parseAll(p)
	if len(got) != 1 || errText(err) != "Protocol error: invalid bulk length" {
		t.Errorf("got %q %v", got, err)
	}
}

func TestParserUnauthenticated(t *testing.T) {
	cases := []struct {
		in, err string
	}{
		{string(encode("a", "b", "c", "d", "e", "f", "g", "h", "i", "j")), "EOF"},
		{"*11\r\n", "Protocol error: unauthenticated multibulk length"},
		{string(encode("ECHO", strings.Repeat("x", 16384))), "EOF"},
		{"*2\r\n$4\r\nECHO\r\n$16385\r\n", "Protocol error: unauthenticated bulk length"},
	}
	for _, tc := range cases {
		p := NewParser(&chunkReader{data: append([]byte(tc.in), "*1\r\n$1"...)})
		p.Unauthenticated = true
		_, err := parseAll(p)
		if errText(err) != tc.err {
			t.Errorf("%.30q: got %v, want %s", tc.in, err, tc.err)
		}
	}
}

func TestParserQueryBufferLimit(t *testing.T) {
	in := "*2\r\n$4\r\nECHO\r\n$100000\r\n" + strings.Repeat("z", 100000) + "\r\n"
	p := NewParser(&chunkReader{data: []byte(in), chunks: []int{1000}})
	p.MaxQuery = 32 * 1024
	_, err := parseAll(p)
	if !errors.Is(err, ErrQueryBufferLimit) {
		t.Errorf("got %v, want ErrQueryBufferLimit", err)
	}
	// Without the limit, the same request parses.
	got, err := parseString(in, 1000)
	if err != nil || len(got) != 1 || len(got[0][1]) != 100000 {
		t.Errorf("without limit: %v", err)
	}
}

func encode(args ...string) []byte {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}

// TestParserBigBulkGrowth: announcing a huge bulk does not allocate it;
// the buffer grows with what arrives, and its owner can shrink it back
// once it is used (the server does so from its clients cron).
func TestParserBigBulkGrowth(t *testing.T) {
	p := NewParser(&chunkReader{data: []byte("*2\r\n$4\r\nECHO\r\n$500000000\r\nabc")})
	if _, err := parseAll(p); !errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want EOF inside the command", err)
	}
	if p.QueryBufSize() > 64*1024 {
		t.Errorf("buffer grew to %d bytes for a bulk of which 3 bytes arrived", p.QueryBufSize())
	}

	val := strings.Repeat("v", 3<<20)
	in := append(encode("SET", "k", val), encode("PING")...)
	rd := &chunkReader{data: in, chunks: []int{65536}}
	p = NewParser(rd)
	got, err := parseAll(p)
	if err != nil || len(got) != 2 || got[0][2] != val {
		t.Fatalf("3MB bulk: %d commands, %v", len(got), err)
	}
	if p.Peak < 3<<20 {
		t.Errorf("peak %d below the big request", p.Peak)
	}
	p.Resize(100)
	if p.QueryBufSize() != 100 {
		t.Errorf("buffer of %d bytes after Resize(100)", p.QueryBufSize())
	}
	p.Resize(0)
	if p.QueryBufSize() != 0 {
		t.Errorf("buffer of %d bytes after Resize(0) with nothing buffered", p.QueryBufSize())
	}
}

// Resize keeps unparsed data and the room a bulk being read needs; a
// released buffer waits for input through WaitReadable, holding nothing.
func TestParserResize(t *testing.T) {
	in := encode("SET", "k", strings.Repeat("x", 1000))
	rd := &chunkReader{data: in, chunks: []int{10, 10}}
	p := NewParser(rd)
	waited := 0
	p.WaitReadable = func() error {
		waited++
		if p.QueryBufSize() != 0 {
			t.Errorf("waiting with a buffer of %d bytes", p.QueryBufSize())
		}
		return nil
	}
	p.Resize(0)
	for i := 0; i < 3; i++ { // 30 bytes: into the 1000-byte bulk
		if err := p.Fill(); err != nil {
			t.Fatal(err)
		}
		if args, err := p.Next(); err != nil || args != nil {
			t.Fatalf("early command %q %v", args, err)
		}
	}
	if waited != 1 || p.QueryBufSize() < IOBufLen {
		t.Fatalf("waited %d times, buffer %d", waited, p.QueryBufSize())
	}
	p.Resize(1) // mid-bulk: never below what the bulk needs
	if p.QueryBufSize() < 1000+2 {
		t.Fatalf("buffer %d bytes mid-bulk", p.QueryBufSize())
	}
	got, err := parseAll(p)
	if err != nil && !errors.Is(err, io.EOF) || len(got) != 1 || len(got[0][2]) != 1000 {
		t.Fatalf("after resizes: %q %v", got, err)
	}
}

// loopReader serves the same bytes forever.
type loopReader struct {
	data []byte
	off  int
}

func (r *loopReader) Read(b []byte) (int, error) {
	n := copy(b, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

func TestParserSteadyStateAllocs(t *testing.T) {
	var in []byte
	for i := 0; i < 64; i++ {
		in = append(in, encode("SET", "key:"+strconv.Itoa(i), strings.Repeat("v", i))...)
		in = append(in, encode("GET", "key:"+strconv.Itoa(i))...)
	}
	p := NewParser(&loopReader{data: in})
	step := func() {
		for {
			args, err := p.Next()
			if err != nil {
				t.Fatal(err)
			}
			if args == nil {
				break
			}
		}
		if err := p.Fill(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		step() // warm up: argv and offsets reach their size
	}
	if a := testing.AllocsPerRun(200, step); a > 0 {
		t.Errorf("%.1f allocations per read of pipelined commands; want 0", a)
	}
}

// TestParserRandomChunking: any split of a valid stream gives the same
// commands as reading it at once.
func TestParserRandomChunking(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 200; iter++ {
		var in bytes.Buffer
		var want [][]string
		for n := r.Intn(20); n >= 0; n-- {
			args := make([]string, 1+r.Intn(4))
			for i := range args {
				b := make([]byte, r.Intn(40))
				for j := range b {
					b[j] = byte(r.Intn(256))
				}
				args[i] = string(b)
			}
			in.Write(encode(args...))
			want = append(want, args)
		}
		chunks := []int{1 + r.Intn(50), 1 + r.Intn(5), 1 + r.Intn(500)}
		got, err := parseString(in.String(), chunks...)
		if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("iteration %d, chunks %v: %v\ngot  %q\nwant %q", iter, chunks, err, got, want)
		}
	}
}
