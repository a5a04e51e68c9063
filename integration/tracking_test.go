package integration

// Client-side caching, differential: the same seeded random script of
// CLIENT TRACKING modes, reads and writes runs on skiff and on
// redis-server over the same set of connections, and every connection
// must receive exactly the same bytes from both: command replies,
// invalidation pushes (RESP3), __redis__:invalidate messages (RESP2
// REDIRECT), in the same order. After each command every connection is
// synced with a PING carrying a token; the frames read before the token's
// reply are what that command delivered there.
//
// Connections: 0 is a RESP2 client subscribed to __redis__:invalidate, 1
// a RESP3 client that only receives; 2, 3 and 4 track (2 may redirect to
// 0, 3 to 1, 4 to nobody), switch protocols, read and write; 5 only
// writes. Each receiving connection serves one tracking client, so the
// order of messages never depends on client IDs or pointers.
//
// Now and then connection 1 quits and is replaced, so that clients
// redirected to it find it gone (flag R, tracking-redir-broken pushes).
// Keys also expire (PX 1 then DEBUG SLEEP, active expiry off: the first
// access expires them, a change by no client) and FLUSHDB/FLUSHALL send
// the null "all keys".
//
// Rerun: go test ./integration/ -run TestTrackingDifferential -seed=N
// More steps: SKIFF_TRACKING_STEPS=5000.

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// trkConn reads whole RESP frames as raw bytes.
type trkConn struct {
	nc net.Conn
	br *bufio.Reader
}

func dialTrk(t *testing.T, s *Server) *trkConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", s.Kind, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &trkConn{nc: nc, br: bufio.NewReader(nc)}
}

func (c *trkConn) send(argv []string) error {
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.nc.Write(EncodeCommand(nil, argv...))
	return err
}

// frame reads one frame (with its nested elements) as raw bytes.
func (c *trkConn) frame() (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out strings.Builder
	pending := 1
	for pending > 0 {
		line, err := c.br.ReadString('\n')
		if err != nil {
			return out.String(), err
		}
		out.WriteString(line)
		pending--
		if len(line) < 3 {
			return out.String(), fmt.Errorf("short line %q", line)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		switch line[0] {
		case '*', '>', '~':
			if n > 0 {
				pending += n
			}
		case '%':
			if n > 0 {
				pending += 2 * n
			}
		case '$', '=', '!':
			if n >= 0 {
				buf := make([]byte, n+2)
				if _, err := io.ReadFull(c.br, buf); err != nil {
					return out.String(), err
				}
				out.Write(buf)
			}
		}
	}
	return out.String(), nil
}

const (
	trkRedir2 = iota // RESP2 subscriber
	trkRedir3        // RESP3 receiver
	trkA             // tracks, may redirect to trkRedir2
	trkB             // tracks, may redirect to trkRedir3
	trkC             // tracks without redirection
	trkWriter
	trkConns
)

type trkSession struct {
	t     *testing.T
	conns [2][]*trkConn // [0] skiff, [1] redis
	ids   [2][]string   // each connection's CLIENT ID on each server
	// labels names every client ID a server gave (connections replaced
	// after QUIT included) by what it is, the same on both servers.
	labels [2]map[string]string
	gen    int
	sync   int
	log    []string
	// inMulti: connections inside MULTI, where a PING would be queued;
	// they are synced after EXEC or DISCARD.
	inMulti map[int]int
	// messages and broken count the invalidation and
	// tracking-redir-broken frames compared.
	messages, broken int
}

func (p *trkSession) fail(format string, a ...any) {
	p.t.Helper()
	start := max(0, len(p.log)-30)
	p.t.Fatalf("%s\n  recent steps:\n    %s", fmt.Sprintf(format, a...), strings.Join(p.log[start:], "\n    "))
}

// norm replaces connection IDs (which differ between the servers) by
// their connection numbers in a reply of CLIENT GETREDIR or TRACKINGINFO.
func (p *trkSession) norm(s int, b string) string {
	// An integer is a whole line: at the start or after a line end
	// (":2\r\n" inside the bulk string "b:2" is not one).
	b = "\n" + b
	for id, label := range p.labels[s] {
		b = strings.ReplaceAll(b, "\n:"+id+"\r\n", "\n:<"+label+">\r\n")
	}
	return b[1:]
}

// connect opens connection i on both servers (again, after a QUIT) and
// records its IDs.
func (p *trkSession) connect(i int, sk, rd *Server) {
	p.t.Helper()
	p.gen++
	for s, srv := range []*Server{sk, rd} {
		c := dialTrk(p.t, srv)
		if i < len(p.conns[s]) {
			p.conns[s][i] = c
		} else {
			p.conns[s] = append(p.conns[s], c)
			p.ids[s] = append(p.ids[s], "")
		}
		if err := c.send([]string{"CLIENT", "ID"}); err != nil {
			p.t.Fatal(err)
		}
		f, err := c.frame()
		if err != nil || f[0] != ':' {
			p.t.Fatalf("CLIENT ID: %q %v", f, err)
		}
		id := strings.TrimSpace(f[1:])
		p.ids[s][i] = id
		if p.labels[s] == nil {
			p.labels[s] = map[string]string{}
		}
		p.labels[s][id] = "conn" + strconv.Itoa(i) + "." + strconv.Itoa(p.gen)
	}
}

// do runs argv on connection i of both servers (with {id:N} replaced by
// connection N's ID there) and compares the replies and what came before
// them, then syncs and compares every connection.
func (p *trkSession) do(i int, compareReply bool, argv ...string) {
	p.t.Helper()
	p.log = append(p.log, fmt.Sprintf("conn %d: %s", i, fmtArgv(argv)))
	var got [2]string
	for s := range p.conns {
		a := make([]string, len(argv))
		for j, x := range argv {
			if strings.HasPrefix(x, "{id:") {
				n, _ := strconv.Atoi(strings.TrimSuffix(x[4:], "}"))
				x = p.ids[s][n]
			}
			a[j] = x
		}
		c := p.conns[s][i]
		if err := c.send(a); err != nil {
			p.fail("%s conn %d: %v", []string{"skiff", "redis"}[s], i, err)
		}
		var b strings.Builder
		for n := 0; ; n++ {
			f, err := c.frame()
			if err != nil {
				p.fail("%s conn %d: %s: %v (read %q)", []string{"skiff", "redis"}[s], i, fmtArgv(argv), err, b.String()+f)
			}
			if n > 100 {
				p.fail("%s conn %d: no reply after 100 pushes", []string{"skiff", "redis"}[s], i)
			}
			if f[0] == '>' {
				b.WriteString(p.norm(s, f)) // a push before the reply
				continue
			}
			if compareReply {
				b.WriteString(f)
			} else {
				b.WriteString("<reply>")
			}
			break
		}
		got[s] = b.String()
		if len(argv) == 2 && strings.EqualFold(argv[0], "client") && (strings.EqualFold(argv[1], "getredir") || strings.EqualFold(argv[1], "trackinginfo")) {
			got[s] = p.norm(s, got[s])
		}
	}
	p.messages += strings.Count(got[1], "invalidate\r\n")
	if got[0] != got[1] {
		p.fail("conn %d %s:\n  skiff: %q\n  redis: %q", i, fmtArgv(argv), got[0], got[1])
	}
	p.syncAll()
}

func (p *trkSession) syncAll() {
	p.t.Helper()
	p.sync++
	token := "sync-" + strconv.Itoa(p.sync)
	for i := range p.conns[0] {
		if _, ok := p.inMulti[i]; ok {
			continue
		}
		var got [2]string
		for s := range p.conns {
			c := p.conns[s][i]
			if err := c.send([]string{"PING", token}); err != nil {
				p.fail("%s conn %d: PING: %v", []string{"skiff", "redis"}[s], i, err)
			}
			var b strings.Builder
			for n := 0; ; n++ {
				f, err := c.frame()
				if err != nil {
					p.fail("%s conn %d: reading frames: %v (token %s, read %q)", []string{"skiff", "redis"}[s], i, err, token, b.String()+f)
				}
				if n > 1000 {
					p.fail("%s conn %d: no PING reply after 1000 frames", []string{"skiff", "redis"}[s], i)
				}
				if strings.Contains(f, "\r\n"+token+"\r\n") && (f[0] == '$' || strings.Contains(f, "pong")) {
					break
				}
				if f[0] == '>' {
					f = p.norm(s, f) // tracking-redir-broken carries an id
				}
				b.WriteString(f)
			}
			got[s] = b.String()
		}
		p.messages += strings.Count(got[1], "invalidate\r\n")
		p.broken += strings.Count(got[1], "tracking-redir-broken\r\n")
		if got[0] != got[1] {
			p.fail("conn %d received different frames:\n  skiff: %q\n  redis: %q", i, got[0], got[1])
		}
	}
}

// trkGen makes the random commands.
type trkGen struct {
	r    *rand.Rand
	keys []string
	// multi: the connections inside MULTI (their commands are queued).
	multi map[int]int
	resp3 map[int]bool
	// next is a step that must follow the last one.
	next []string
}

func (g *trkGen) key() string { return g.keys[g.r.Intn(len(g.keys))] }

// trackingOn builds a CLIENT TRACKING ON line for connection i: options
// in random order, including invalid mixes (Redis's errors are
// compared too). Prefixes never overlap one another (see
// docs/tracking.md on Redis's double reply there).
func (g *trkGen) trackingOn(i int) []string {
	argv := []string{"CLIENT", "TRACKING", "on"}
	var opts [][]string
	switch {
	case i == trkA && g.r.Intn(3) > 0:
		opts = append(opts, []string{"REDIRECT", "{id:" + strconv.Itoa(trkRedir2) + "}"})
	case i == trkB && g.r.Intn(3) > 0:
		opts = append(opts, []string{"REDIRECT", "{id:" + strconv.Itoa(trkRedir3) + "}"})
	}
	if g.r.Intn(3) == 0 {
		opts = append(opts, []string{"BCAST"})
		for _, p := range g.r.Perm(3)[:g.r.Intn(3)] {
			opts = append(opts, []string{"PREFIX", []string{"a:", "b:", "c"}[p]})
		}
	}
	switch g.r.Intn(6) {
	case 0:
		opts = append(opts, []string{"OPTIN"})
	case 1:
		opts = append(opts, []string{"OPTOUT"})
	}
	if g.r.Intn(3) == 0 {
		opts = append(opts, []string{"NOLOOP"})
	}
	g.r.Shuffle(len(opts), func(a, b int) { opts[a], opts[b] = opts[b], opts[a] })
	for _, o := range opts {
		argv = append(argv, o...)
	}
	return argv
}

func (g *trkGen) read() []string {
	k := g.key()
	switch g.r.Intn(7) {
	case 0:
		return []string{"MGET", k, g.key(), g.key()}
	case 1:
		return []string{"EXISTS", k}
	case 2:
		return []string{"STRLEN", k}
	case 3:
		return []string{"EVAL", "return redis.call('exists', KEYS[1])", "2", k, g.key()}
	case 4:
		return []string{"EVAL_RO", "return redis.pcall('get', KEYS[1])", "1", k}
	case 5:
		return []string{"TYPE", k}
	}
	return []string{"GET", k}
}

func (g *trkGen) write() []string {
	k := g.key()
	switch g.r.Intn(9) {
	case 0:
		return []string{"MSET", k, "1", g.key(), "2"}
	case 1:
		return []string{"DEL", k, g.key()}
	case 2:
		return []string{"APPEND", k, "x"}
	case 3:
		return []string{"RENAME", k, g.key()}
	case 4:
		return []string{"EXPIRE", k, "-1"}
	case 5:
		return []string{"EVAL", "return redis.pcall('set', KEYS[1], 'lua')", "1", k}
	case 6:
		return []string{"SETNX", k, "n"}
	case 7:
		return []string{"COPY", k, g.key(), "REPLACE"}
	case 8:
		if g.r.Intn(3) == 0 {
			// Expires at once; the writer's DEBUG SLEEP next makes sure
			// it is past on both servers, and the first access expires
			// it (active expiry is off).
			g.next = []string{"DEBUG", "SLEEP", "0.002"}
			return []string{"SET", k, "e", "PX", "1"}
		}
	}
	return []string{"SET", k, strconv.Itoa(g.r.Intn(100))}
}

// step picks a connection and a command.
func (g *trkGen) step() (int, []string) {
	if g.next != nil {
		argv := g.next
		g.next = nil
		return trkWriter, argv
	}
	i := trkA + g.r.Intn(4) // a tracking client or the writer
	if n, ok := g.multi[i]; ok {
		if n >= 3 || g.r.Intn(3) == 0 {
			delete(g.multi, i)
			if g.r.Intn(5) == 0 {
				return i, []string{"DISCARD"}
			}
			return i, []string{"EXEC"}
		}
		g.multi[i] = n + 1
		if g.r.Intn(2) == 0 {
			return i, g.read()
		}
		argv := g.write()
		if g.next != nil {
			// The sleep would come before EXEC: no key with a TTL
			// inside a transaction.
			g.next = nil
			argv = []string{"SET", argv[1], "m"}
		}
		return i, argv
	}
	if i == trkWriter {
		switch g.r.Intn(60) {
		case 0:
			return i, []string{"FLUSHDB"}
		case 1:
			return i, []string{"FLUSHALL"}
		}
		return i, g.write()
	}
	switch n := g.r.Intn(100); {
	case n < 8:
		return i, g.trackingOn(i)
	case n < 11:
		return i, []string{"CLIENT", "TRACKING", "off"}
	case n < 16:
		return i, []string{"CLIENT", "CACHING", []string{"yes", "no"}[g.r.Intn(2)]}
	case n < 19:
		g.resp3[i] = !g.resp3[i]
		if g.resp3[i] {
			return i, []string{"HELLO", "3"}
		}
		return i, []string{"HELLO", "2"}
	case n < 20:
		g.resp3[i] = false
		return i, []string{"RESET"}
	case n < 22:
		return i, []string{"CLIENT", "TRACKINGINFO"}
	case n < 23:
		return i, []string{"CLIENT", "GETREDIR"}
	case n < 25:
		g.multi[i] = 0
		return i, []string{"MULTI"}
	case n < 60:
		return i, g.read()
	}
	return i, g.write()
}

func TestTrackingDifferential(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1e12
	}
	steps := 800
	if s := os.Getenv("SKIFF_TRACKING_STEPS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			steps = n
		}
	}
	t.Logf("seed %d, %d steps (rerun: go test ./integration/ -run TestTrackingDifferential -seed=%d)", seed, steps, seed)
	sk, rd := StartSkiff(t), StartRedis(t)
	p := &trkSession{t: t}
	for i := 0; i < trkConns; i++ {
		p.connect(i, sk, rd)
	}
	p.do(trkWriter, true, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	p.do(trkRedir2, true, "SUBSCRIBE", "__redis__:invalidate")
	p.do(trkRedir3, false, "HELLO", "3")
	g := &trkGen{r: rand.New(rand.NewSource(seed)), multi: map[int]int{}, resp3: map[int]bool{}}
	p.inMulti = g.multi
	g.keys = []string{"a:1", "a:2", "b:1", "b:2", "c", "cx", "d"}
	deadline := time.Now().Add(90 * time.Second)
	for n := 0; n < steps && time.Now().Before(deadline); n++ {
		if g.r.Intn(150) == 0 {
			// The RESP3 receiver goes away: clients redirected to it
			// get tracking-redir-broken (RESP3) or the flag R, until
			// they turn tracking on again towards the new one.
			p.log = append(p.log, "conn 1: QUIT, then a new connection 1")
			for s := range p.conns {
				c := p.conns[s][trkRedir3]
				if err := c.send([]string{"QUIT"}); err != nil {
					t.Fatal(err)
				}
				if f, err := c.frame(); err != nil || f != "+OK\r\n" {
					p.fail("QUIT: %q %v", f, err)
				}
				if _, err := c.frame(); err == nil {
					p.fail("connection open after QUIT")
				}
				c.nc.Close()
			}
			p.connect(trkRedir3, sk, rd)
			p.do(trkRedir3, false, "HELLO", "3")
			continue
		}
		i, argv := g.step()
		// HELLO's reply names the server: compare only what follows.
		p.do(i, !strings.EqualFold(argv[0], "hello"), argv...)
	}
	t.Logf("%d invalidation messages and %d tracking-redir-broken compared", p.messages, p.broken)
	if p.messages == 0 {
		t.Fatal("no invalidation message at all: the script tests nothing")
	}
}
