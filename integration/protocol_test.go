package integration

// Protocol robustness: the same bytes go to skiff and to redis-server and
// both must answer the same replies and close (or not close) the
// connection the same way.

import (
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const endMarker = "__end-of-input__"

// rawOutcome is what a server did with one input: its replies and whether
// it closed the connection.
type rawOutcome struct {
	replies []Reply
	closed  bool
}

func (o rawOutcome) String() string {
	var b strings.Builder
	for _, r := range o.replies {
		b.WriteString(r.String())
		b.WriteString("\n")
	}
	if o.closed {
		b.WriteString("<closed>\n")
	}
	return b.String()
}

// feed writes input on a fresh connection (followed by an ECHO marker when
// mark is set) and reads replies until the marker comes back or the server
// closes the connection.
func feed(t *testing.T, s *Server, input []byte, mark bool) rawOutcome {
	t.Helper()
	c, err := s.DialErr()
	if err != nil {
		t.Fatalf("dial %s: %v", s.Kind, err)
	}
	defer c.Close()
	c.Timeout = 10 * time.Second
	if mark {
		input = EncodeCommand(append([]byte(nil), input...), "ECHO", endMarker)
	}
	// Write concurrently with reading: a deep pipeline's replies can fill
	// the socket buffers before the input is all written.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.WriteRaw(input) // a server closing early makes this fail; the replies tell
	}()
	defer wg.Wait()
	var out rawOutcome
	for i := 0; i < 1_000_000; i++ {
		r, err := c.Read()
		if err != nil {
			if isClosed(err) {
				out.closed = true
				return out
			}
			t.Fatalf("%s: reading reply %d: %v (so far:\n%s)", s.Kind, i, err, out)
		}
		if mark && r.Type == '$' && r.Str == endMarker {
			return out
		}
		out.replies = append(out.replies, r)
	}
	t.Fatalf("%s: too many replies", s.Kind)
	return out
}

// sideBySide feeds input to both servers and requires identical outcomes.
func sideBySide(t *testing.T, sk, rd *Server, name string, input []byte, mark bool) rawOutcome {
	t.Helper()
	ro := feed(t, rd, input, mark)
	so := feed(t, sk, input, mark)
	if so.String() != ro.String() {
		t.Errorf("%s: input %q\nskiff:\n%sredis:\n%s", name, clip(input, 200), so, ro)
	}
	return so
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return append(append([]byte(nil), b[:n]...), "..."...)
	}
	return b
}

func startPair(t *testing.T, extra ...string) (*Server, *Server) {
	t.Helper()
	return StartSkiff(t, extra...), StartRedis(t, extra...)
}

func TestProtocolInline(t *testing.T) {
	sk, rd := startPair(t)
	good := []string{
		"PING\r\n",
		"PING\n",
		"ping hello\r\n",
		"\r\n\r\n  \r\nPING\r\n",
		"SET k1 \"a b\"\r\nGET k1\r\n",
		"ECHO \"tab\\there\\n\\x41\\x4a\\x4Z\"\r\n",
		"ECHO 'it\\'s'\r\n",
		"ECHO 'no \\n escapes'\r\n",
		"ECHO \"\"\r\n",
		"ECHO ''\r\n",
		"  ECHO    spaced   \r\n",
		"SET k2 v\tGET\r\nGET k2\r\n",
		"echo \"\\\"quoted\\\"\"\r\n",
		"ECHO a\"b\r\n",
		"ECHO \"a\"\"b\"\r\n",
		"GET\r\n",
		"NOSUCHCOMMAND a b\r\n",
		"SET k3 1\r\nINCR k3\r\nINCRBY k3 10\r\n",
	}
	for _, in := range good {
		sideBySide(t, sk, rd, "inline", []byte(in), true)
	}
	bad := []string{
		"ECHO \"unbalanced\r\n",
		"ECHO 'unbalanced\r\n",
		"ECHO \"closed\"x\r\n",
		"ECHO 'closed'x\r\n",
		"SET k \"a\r\nGET k\r\n",
	}
	for _, in := range bad {
		o := sideBySide(t, sk, rd, "inline unbalanced", []byte(in), false)
		if !o.closed {
			t.Errorf("skiff kept the connection open after %q", in)
		}
	}
}

func TestProtocolMalformed(t *testing.T) {
	sk, rd := startPair(t)
	cases := []struct {
		name  string
		input string
	}{
		{"mbulk count not a number", "*abc\r\n"},
		{"mbulk count over INT_MAX", "*2147483648\r\n"},
		{"mbulk count plus sign", "*+1\r\n$4\r\nPING\r\n"},
		{"mbulk count leading zero", "*01\r\n$4\r\nPING\r\n"},
		{"mbulk count minus zero", "*-0\r\n"},
		{"mbulk count ended by LF only", "*1\n$4\r\nPING\r\n"},
		{"bulk length leading zero", "*1\r\n$04\r\nPING\r\n"},
		{"bulk length plus sign", "*1\r\n$+4\r\nPING\r\n"},
		{"bulk length minus zero", "*1\r\n$-0\r\n"},
		{"empty header line", "*1\r\n\r\n"},
		{"mbulk count huge", "*99999999999999999999999\r\n"},
		{"mbulk count sign only", "*-\r\n"},
		{"mbulk count empty", "*\r\n"},
		{"bulk length not a number", "*1\r\n$abc\r\n"},
		{"bulk length negative", "*1\r\n$-1\r\n"},
		{"bulk length empty", "*1\r\n$\r\n"},
		{"bulk length over proto-max-bulk-len", "*1\r\n$536870913\r\n"},
		{"bulk length huge", "*1\r\n$99999999999999999999\r\n"},
		{"expected dollar", "*1\r\nfoo\r\n"},
		{"expected dollar after a good arg", "*2\r\n$4\r\nECHO\r\n:3\r\n"},
		{"good command then garbage", "*1\r\n$4\r\nPING\r\n*x\r\n"},
		{"mbulk count too long", "*" + strings.Repeat("1", 70000)},
		{"bulk count too long", "*1\r\n$" + strings.Repeat("1", 70000)},
		{"inline too long", strings.Repeat("a", 70000)},
	}
	for _, tc := range cases {
		o := sideBySide(t, sk, rd, tc.name, []byte(tc.input), false)
		if !o.closed {
			t.Errorf("%s: skiff kept the connection open", tc.name)
		}
	}
	// Redis skips whatever byte follows the CR of a header.
	sideBySide(t, sk, rd, "CR then any byte", []byte("*1\rX$4\r\nPING\r\n*1\r\n$4\rXPINGab"), true)
	sideBySide(t, sk, rd, "bulk not followed by CRLF", []byte("*2\r\n$4\r\nECHO\r\n$0\r\nXY"), true)
	sideBySide(t, sk, rd, "empty bulk as command", []byte("*1\r\n$0\r\n\r\n"), true)
	sideBySide(t, sk, rd, "leading newline", []byte("\n\r\n*1\r\n$4\r\nPING\r\n"), true)
	// Null and empty multibulks are skipped, not errors.
	sideBySide(t, sk, rd, "empty multibulk", []byte("*0\r\n*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n"), true)
	keepServing(t, sk)
}

// keepServing checks that the server still answers new clients.
func keepServing(t *testing.T, s *Server) {
	t.Helper()
	if err := pingOnce(s.Addr()); err != nil {
		t.Fatalf("%s no longer serves: %v", s.Kind, err)
	}
}

func TestProtocolDeepPipeline(t *testing.T) {
	sk, rd := startPair(t)
	var in []byte
	for i := 0; i < 10000; i++ {
		k := "pk" + strconv.Itoa(i%97)
		switch i % 5 {
		case 0:
			in = EncodeCommand(in, "SET", k, strconv.Itoa(i))
		case 1:
			in = EncodeCommand(in, "INCR", k)
		case 2:
			in = EncodeCommand(in, "GET", k)
		case 3:
			in = EncodeCommand(in, "MGET", k, "pk1", "nokey")
		default:
			in = append(in, "INCRBY "+k+" 3\r\n"...) // inline mixed into multibulk
		}
	}
	o := sideBySide(t, sk, rd, "10k pipeline", in, true)
	if len(o.replies) != 10000 {
		t.Errorf("skiff answered %d of 10000 pipelined commands", len(o.replies))
	}
	keepServing(t, sk)
}

func TestProtocolBinarySafe(t *testing.T) {
	sk, rd := startPair(t)
	key := "k\r\n\x00\xff$1\r\n*2"
	val := "\r\n\x00\x01*3\r\n$-1\r\n\r\n" + strings.Repeat("\x00", 100)
	var in []byte
	in = EncodeCommand(in, "SET", key, val)
	in = EncodeCommand(in, "GET", key)
	in = EncodeCommand(in, "MGET", key, "nokey", key)
	in = EncodeCommand(in, "ECHO", val)
	in = EncodeCommand(in, "SET", "", "")
	in = EncodeCommand(in, "GET", "")
	o := sideBySide(t, sk, rd, "binary", in, true)
	if len(o.replies) < 2 || o.replies[1].Str != val {
		t.Errorf("skiff GET of a binary key: %v", o.replies)
	}
}

// TestProtocolDisconnectMidCommand: a command cut short by a disconnect is
// never executed; the complete commands before it are.
func TestProtocolDisconnectMidCommand(t *testing.T) {
	sk, rd := startPair(t)
	for _, s := range []*Server{sk, rd} {
		var in []byte
		in = EncodeCommand(in, "SET", "done", "1")
		partial := EncodeCommand(nil, "SET", "half", "0123456789")
		cuts := []int{1, 4, 10, len(partial) - 5, len(partial) - 2, len(partial) - 1}
		for _, cut := range cuts {
			c, err := s.DialErr()
			if err != nil {
				t.Fatalf("dial %s: %v", s.Kind, err)
			}
			if err := c.WriteRaw(append(append([]byte(nil), in...), partial[:cut]...)); err != nil {
				t.Fatalf("%s write: %v", s.Kind, err)
			}
			r, err := c.Read()
			if err != nil || r.Str != "OK" {
				t.Fatalf("%s: SET done: %v %v", s.Kind, r, err)
			}
			c.Close()
			// The server notices the close asynchronously; poll until it
			// has dropped the client, then check nothing was applied.
			chk := s.Dial(t)
			for deadline := time.Now().Add(5 * time.Second); ; {
				got := chk.MustDo(t, "EXISTS", "half")
				if got.Type == '-' {
					got = chk.MustDo(t, "GET", "half") // skiff may lack EXISTS
					if !got.Null {
						t.Fatalf("%s: half-sent SET (cut at %d) was applied: %v", s.Kind, cut, got)
					}
				} else if got.Int != 0 {
					t.Fatalf("%s: half-sent SET (cut at %d) was applied", s.Kind, cut)
				}
				if time.Now().After(deadline) || clientGone(chk) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			chk.Close()
		}
	}
	keepServing(t, sk)
}

// clientGone reports whether at most one client (the caller) is connected,
// when the server supports CLIENT LIST; otherwise true.
func clientGone(c *Conn) bool {
	r, err := c.Do("CLIENT", "LIST")
	if err != nil || r.Type != '$' && r.Type != '=' {
		return true
	}
	return strings.Count(strings.TrimSpace(r.Str), "\n") == 0
}

// TestProtocolBigBulkRefused: a bulk header over proto-max-bulk-len is
// refused before anything is allocated for it, and a header at the limit
// does not make the server allocate (touch) the whole bulk up front.
func TestProtocolBigBulkRefused(t *testing.T) {
	sk, rd := startPair(t, "--proto-max-bulk-len", "1mb")
	for _, n := range []int{1<<20 + 1, 1 << 30, 1<<62 + 7} {
		in := fmt.Sprintf("*2\r\n$4\r\nECHO\r\n$%d\r\n", n)
		o := sideBySide(t, sk, rd, "over limit", []byte(in), false)
		if !o.closed {
			t.Errorf("bulk of %d over a 1mb limit: skiff kept the connection", n)
		}
	}
	// Exactly at the limit is fine on both.
	val := strings.Repeat("v", 1<<20)
	for _, s := range []*Server{sk, rd} {
		c := s.Dial(t)
		r := c.MustDo(t, "ECHO", val)
		if r.Str != val {
			t.Errorf("%s: ECHO of a 1mb bulk came back with %d bytes", s.Kind, len(r.Str))
		}
	}

	// Default limit (512mb): many clients announcing huge bulks must not
	// make skiff's RSS grow by what they announced.
	big := StartSkiff(t)
	before, err := big.RSSKiB()
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", big.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte("*2\r\n$4\r\nECHO\r\n$536870912\r\nabc")); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", big.Addr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if _, err := c.Write([]byte("*2\r\n$4\r\nECHO\r\n$536870913\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	// Clients that announce a big bulk, send a little and leave, one after
	// the other: memory freed by one must not be touched (zeroed) for the
	// next one's announcement.
	for i := 0; i < 20; i++ {
		c, err := net.Dial("tcp", big.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("*2\r\n$4\r\nECHO\r\n$400000000\r\n" + strings.Repeat("x", 100000))); err != nil {
			t.Fatal(err)
		}
		// A PING on a second connection orders our check after the
		// server has read the first one's bytes.
		keepServing(t, big)
		c.Close()
	}
	keepServing(t, big)
	after, err := big.RSSKiB()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("skiff RSS %d KiB before, %d KiB after 20 clients announced 512MB bulks", before, after)
	if after-before > 64<<10 {
		t.Errorf("skiff RSS grew by %d KiB for bulks that never arrived", after-before)
	}
}

// TestProtocolMultibulkCountLimit: a count over INT_MAX is refused, as in
// Redis 7.0; a count at INT_MAX is accepted (and then waits for its
// arguments) without the server allocating room for them.
func TestProtocolMultibulkCountLimit(t *testing.T) {
	sk, rd := startPair(t)
	for _, s := range []*Server{sk, rd} {
		o := feed(t, s, []byte("*2147483648\r\n"), false)
		if !o.closed || len(o.replies) != 1 || o.replies[0].Str != "ERR Protocol error: invalid multibulk length" {
			t.Errorf("%s on a multibulk count over INT_MAX:\n%s", s.Kind, o)
		}
	}
	before, err := sk.RSSKiB()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Server{sk, rd} {
		c := s.Dial(t)
		c.Timeout = 300 * time.Millisecond
		if err := c.WriteRaw([]byte("*2147483647\r\n$4\r\nPING\r\n")); err != nil {
			t.Fatal(err)
		}
		if r, err := c.Read(); err == nil || isClosed(err) {
			t.Errorf("%s: a multibulk at the count limit was answered or closed: %v %v", s.Kind, r, err)
		}
	}
	after, err := sk.RSSKiB()
	if err != nil {
		t.Fatal(err)
	}
	if after-before > 64<<10 {
		t.Errorf("skiff RSS grew by %d KiB for a multibulk count alone", after-before)
	}
	keepServing(t, sk)
}

// TestProtocolChunked sends a pipeline one byte at a time.
func TestProtocolChunked(t *testing.T) {
	sk, rd := startPair(t)
	var in []byte
	in = EncodeCommand(in, "SET", "ck", "12")
	in = append(in, "INCR ck\r\n"...)
	in = EncodeCommand(in, "GET", "ck")
	in = EncodeCommand(in, "ECHO", strings.Repeat("z", 300))
	in = append(in, "*0\r\n"...)
	in = EncodeCommand(in, "ECHO", endMarker)
	for _, s := range []*Server{sk, rd} {
		c := s.Dial(t)
		for i := range in {
			if err := c.WriteRaw(in[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		for i := 0; i < 10; i++ {
			r, err := c.Read()
			if err != nil {
				t.Fatalf("%s: %v", s.Kind, err)
			}
			if r.Str == endMarker {
				break
			}
			got = append(got, r.String())
		}
		want := []string{"+OK", ":13", `$"13"`, "$" + strconv.Quote(strings.Repeat("z", 300))}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("%s: byte-by-byte pipeline answered %v", s.Kind, got)
		}
	}
}

// TestProtocolQueryAfterError checks that replies queued before a protocol
// error in the same read are all delivered, before the error.
func TestProtocolQueryAfterError(t *testing.T) {
	sk, rd := startPair(t)
	in := bytes.Repeat(EncodeCommand(nil, "PING"), 50)
	in = append(in, "*1\r\n$x\r\n"...)
	o := sideBySide(t, sk, rd, "replies before error", in, false)
	if len(o.replies) != 51 || !o.closed {
		t.Errorf("skiff: %d replies, closed=%v", len(o.replies), o.closed)
	}
}

// TestProtocolUnauthenticatedLimits: before AUTH, requests are limited to
// 10 arguments of 16 KiB.
func TestProtocolUnauthenticatedLimits(t *testing.T) {
	sk, rd := startPair(t, "--requirepass", "pw")
	cases := []struct {
		name, input string
		mark        bool
	}{
		{"11 arguments", "*11\r\n", false},
		{"bulk over 16k", "*2\r\n$4\r\nECHO\r\n$16385\r\n", false},
		{"bulk of 16k", string(EncodeCommand(nil, "ECHO", strings.Repeat("a", 16384))), true},
		{"10 arguments", string(EncodeCommand(nil, "ECHO", "1", "2", "3", "4", "5", "6", "7", "8", "9")), true},
		{"after AUTH", string(EncodeCommand(EncodeCommand(nil, "AUTH", "pw"), "ECHO", strings.Repeat("b", 20000), "2", "3", "4", "5", "6", "7", "8", "9", "10", "11")), true},
	}
	for _, tc := range cases {
		in := []byte(tc.input)
		if tc.mark {
			// Authenticate before the end marker, or it would be refused.
			in = EncodeCommand(in, "AUTH", "pw")
		}
		sideBySide(t, sk, rd, tc.name, in, tc.mark)
	}
}

// TestProtocolNULInHeader: Redis finds line ends with strchr, so a NUL
// before the line end makes the line never complete.
func TestProtocolNULInHeader(t *testing.T) {
	sk, rd := startPair(t)
	for _, in := range []string{"PING\x00\r\n", "*1\x00\r\n", "*1\r\n$4\x00\r\nPING\r\n", "ECHO a\x00b\r\n"} {
		for _, s := range []*Server{sk, rd} {
			c := s.Dial(t)
			c.Timeout = 200 * time.Millisecond
			if err := c.WriteRaw([]byte(in)); err != nil {
				t.Fatal(err)
			}
			if r, err := c.Read(); err == nil || isClosed(err) {
				t.Errorf("%s answered %q with %v %v; want no reply yet", s.Kind, in, r, err)
			}
		}
	}
}

// TestProtocolLargeValue round-trips a value far larger than the read
// buffer, written in one go and read back whole.
func TestProtocolLargeValue(t *testing.T) {
	sk, rd := startPair(t)
	b := make([]byte, 8<<20)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	val := string(b)
	for _, s := range []*Server{sk, rd} {
		c := s.Dial(t)
		if r := c.MustDo(t, "SET", "big", val); r.Str != "OK" {
			t.Fatalf("%s: SET of 8MB: %v", s.Kind, r)
		}
		if r := c.MustDo(t, "GET", "big"); r.Str != val {
			t.Errorf("%s: GET of 8MB returned %d bytes, not the value set", s.Kind, len(r.Str))
		}
	}
}

// feedAndHalfClose writes input, closes the write side and reads every
// reply until the server closes: what a server does with a request
// stream that simply ends.
func feedAndHalfClose(t *testing.T, s *Server, input []byte) rawOutcome {
	t.Helper()
	c, err := s.DialErr()
	if err != nil {
		t.Fatalf("dial %s: %v", s.Kind, err)
	}
	defer c.Close()
	if err := c.WriteRaw(input); err != nil {
		t.Fatalf("%s: write: %v", s.Kind, err)
	}
	c.nc.(*net.TCPConn).CloseWrite()
	var out rawOutcome
	for i := 0; i < 10000; i++ {
		r, err := c.Read()
		if err != nil {
			if isClosed(err) {
				out.closed = true
				return out
			}
			t.Fatalf("%s: input %q: reading reply %d: %v", s.Kind, input, i, err)
		}
		out.replies = append(out.replies, r)
	}
	t.Fatalf("%s: too many replies", s.Kind)
	return out
}

// TestProtocolRandomSideBySide sends random token soups (valid, truncated
// and malformed requests) to both servers: the replies and the closing of
// the connection must be the same. The server survives all of it.
func TestProtocolRandomSideBySide(t *testing.T) {
	sk, rd := startPair(t)
	seed := time.Now().UnixNano()
	if *seedFlag != 0 {
		seed = *seedFlag
	}
	t.Logf("seed %d (rerun with -seed=%d)", seed, seed)
	r := rand.New(rand.NewSource(seed))
	tokens := []string{"*", "*", "$", "$", "\r\n", "\r\n", "\r\n", "\r", "\n", "0", "1", "1", "2", "3", "4", "-", "+",
		"PING", "ECHO", "SET", "GET", "INCR", "k", " ", " ", "\"", "'", "\\x41", "\\", "\x00", "a"}
	deadline := time.Now().Add(20 * time.Second)
	for iter := 0; iter < 400 && time.Now().Before(deadline); iter++ {
		var b strings.Builder
		for n := 1 + r.Intn(16); n > 0; n-- {
			b.WriteString(tokens[r.Intn(len(tokens))])
		}
		in := []byte(b.String())
		ro := feedAndHalfClose(t, rd, in)
		so := feedAndHalfClose(t, sk, in)
		if so.String() != ro.String() {
			t.Errorf("input %q\nskiff:\n%sredis:\n%s", in, so, ro)
		}
	}
	keepServing(t, sk)
}
