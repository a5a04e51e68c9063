package replication

import (
	"bufio"
	"bytes"
	"io"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestBacklogRing checks the ring against a plain byte slice model over
// random writes and sizes, including writes larger than the buffer.
func TestBacklogRing(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, size := range []int{1, 7, 64, 1000} {
		b := NewBacklog(size, 100)
		var all []byte
		for i := 0; i < 300; i++ {
			p := make([]byte, r.Intn(2*size+3))
			r.Read(p)
			b.Write(p)
			all = append(all, p...)
			if b.End() != 100+int64(len(all)) {
				t.Fatalf("size %d: end %d, want %d", size, b.End(), 100+len(all))
			}
			want := len(all)
			if want > size {
				want = size
			}
			if b.HistLen() != int64(want) {
				t.Fatalf("size %d: histlen %d, want %d", size, b.HistLen(), want)
			}
			off := b.FirstByteOffset() + int64(r.Intn(want+1))
			got := b.From(off)
			exp := all[off-101:]
			if !bytes.Equal(got, exp) {
				t.Fatalf("size %d: From(%d) = %x, want %x", size, off, got, exp)
			}
		}
		if b.Covers(b.FirstByteOffset()-1) || b.Covers(b.End()+2) || !b.Covers(b.End()+1) {
			t.Fatalf("size %d: Covers wrong at the edges", size)
		}
	}
}

func TestBacklogResize(t *testing.T) {
	b := NewBacklog(10, 0)
	b.Write([]byte("0123456789abc"))
	b.Resize(4)
	if got := string(b.From(b.FirstByteOffset())); got != "9abc" || b.End() != 13 {
		t.Fatalf("after shrink: %q end %d", got, b.End())
	}
	b.Resize(8)
	b.Write([]byte("XY"))
	if got := string(b.From(b.FirstByteOffset())); got != "9abcXY" || b.FirstByteOffset() != 10 {
		t.Fatalf("after grow: %q first %d", got, b.FirstByteOffset())
	}
}

func TestAppendCommandMatchesRedis(t *testing.T) {
	// The bytes Redis sends for "SELECT 0" and "SET k v" (23 and 27 bytes
	// on the wire: the replication offset depends on them).
	if got := string(AppendSelect(nil, 0)); got != "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" {
		t.Fatalf("select: %q", got)
	}
	got := AppendCommand(nil, [][]byte{[]byte("SET"), []byte("k"), []byte("v")})
	if len(got) != 27 {
		t.Fatalf("SET k v is %d bytes: %q", len(got), got)
	}
}

func TestStreamReader(t *testing.T) {
	in := "\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"
	r := NewStreamReader(bufio.NewReader(strings.NewReader(in)))
	var total int
	var cmds []string
	for {
		c, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		total += len(c.Raw)
		var parts []string
		for _, a := range c.Args {
			parts = append(parts, string(a))
		}
		cmds = append(cmds, strings.Join(parts, " "))
	}
	if total != len(in) {
		t.Fatalf("raw bytes %d, want %d", total, len(in))
	}
	if strings.Join(cmds, "|") != "|SELECT 0|SET k " {
		t.Fatalf("commands %q", cmds)
	}
	for _, bad := range []string{"+OK\r\n", "*1\r\n:1\r\n", "*1\r\n$-5\r\n", "*1\r\n$3\r\nabcde", "*2\r\n$1\r\na\r\n"} {
		r := NewStreamReader(bufio.NewReader(strings.NewReader(bad)))
		if _, err := r.Next(); err == nil || err == io.EOF {
			t.Fatalf("%q: err %v, want a protocol error", bad, err)
		}
	}
}

// TestReadRDBForms feeds both payload forms through a pipe.
func TestReadRDBForms(t *testing.T) {
	payload := bytes.Repeat([]byte("REDIS0009-payload-"), 10000)
	mark := strings.Repeat("m", 40)
	cases := map[string]string{
		"len": "\n\n$" + itoa(len(payload)) + "\r\n" + string(payload),
		"eof": "$EOF:" + mark + "\r\n" + string(payload) + mark,
	}
	for name, wire := range cases {
		a, b := net.Pipe()
		go func() { a.Write([]byte(wire)); a.Close() }()
		l := &Link{nc: b, br: bufio.NewReader(b), timeout: time.Second}
		var out bytes.Buffer
		eof, err := l.ReadRDB(&out, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if eof != (name == "eof") || !bytes.Equal(out.Bytes(), payload) {
			t.Fatalf("%s: eof=%v, %d bytes", name, eof, out.Len())
		}
		b.Close()
	}
	// Truncated payloads are errors, not short successes.
	for _, wire := range []string{"$100\r\nabc", "$EOF:" + mark + "\r\nabc"} {
		a, b := net.Pipe()
		go func() { a.Write([]byte(wire)); a.Close() }()
		l := &Link{nc: b, br: bufio.NewReader(b), timeout: time.Second}
		if _, err := l.ReadRDB(io.Discard, nil); err == nil {
			t.Fatalf("%q: no error", wire)
		}
	}
}

func itoa(n int) string { return fmtInt(n) }

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestOutboundLimit(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	o := NewOutbound(a, Limits{Hard: 100})
	go o.Run(time.Second)
	if err := o.Write(make([]byte, 50)); err != nil {
		t.Fatal(err)
	}
	// Paused (full sync in progress): the queue grows until the limit.
	if err := o.Write(make([]byte, 60)); err != ErrOutputLimit {
		t.Fatalf("err %v, want ErrOutputLimit", err)
	}
	select {
	case <-o.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("writer did not stop")
	}
}

func TestOutboundOrder(t *testing.T) {
	a, b := net.Pipe()
	o := NewOutbound(a, Limits{})
	go o.Run(5 * time.Second)
	var want []byte
	for i := 0; i < 100; i++ {
		p := []byte(fmtInt(i) + ",")
		want = append(want, p...)
		o.Write(p)
	}
	o.Start()
	got := make([]byte, len(want))
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(b, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %q err %v", got, err)
	}
	o.Close(nil)
}

// TestStreamReaderArena checks that commands of one batch stay intact
// while the arena they are carved from grows, and that Reset reuses it.
func TestStreamReaderArena(t *testing.T) {
	var wire []byte
	var want [][]string
	for i := 0; i < 300; i++ {
		args := []string{"SET", "key" + strconv.Itoa(i), strings.Repeat("v", i*37%5000)}
		b := make([][]byte, len(args))
		for j, a := range args {
			b[j] = []byte(a)
		}
		wire = AppendCommand(wire, b)
		want = append(want, args)
	}
	rd := NewStreamReader(bufio.NewReaderSize(bytes.NewReader(wire), 1024))
	check := func(from, to int) {
		var got []Command
		for i := from; i < to; i++ {
			c, err := rd.Next()
			if err != nil {
				t.Fatalf("command %d: %v", i, err)
			}
			got = append(got, c)
		}
		// Only now compare: later reads must not have overwritten them.
		total := 0
		for k, c := range got {
			w := want[from+k]
			if len(c.Args) != len(w) {
				t.Fatalf("command %d: %d args", from+k, len(c.Args))
			}
			for j := range w {
				if string(c.Args[j]) != w[j] {
					t.Fatalf("command %d arg %d corrupted", from+k, j)
				}
			}
			total += len(c.Raw)
		}
		exp := 0
		for _, w := range want[from:to] {
			exp += len(AppendCommand(nil, toBytes(w)))
		}
		if total != exp {
			t.Fatalf("raw bytes %d, want %d", total, exp)
		}
	}
	check(0, 150)
	rd.Reset()
	check(150, 300)
}

func toBytes(args []string) [][]byte {
	out := make([][]byte, len(args))
	for i, a := range args {
		out[i] = []byte(a)
	}
	return out
}
