package integration

// The differential framework: generators registered per area produce
// random commands; each command goes to skiff and to redis-server and the
// two replies must be identical (type and content), except where a command
// is registered as unordered or nondeterministic.
//
// Run one area:   go test ./integration/ -run 'TestDifferential/strings$' -seed=42
// More steps:     SKIFF_DIFF_STEPS=20000 go test ./integration/ -run TestDifferential

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var seedFlag = flag.Int64("seed", 0, "seed of TestDifferential (0: from the clock)")

// Reply is one parsed RESP2/RESP3 reply.
type Reply struct {
	// Type is the RESP type byte: + - : $ * _ , # ! = ( % ~ > (and 'X'
	// for "connection closed", which the framework uses in comparisons).
	Type byte
	// Str is the payload of simple strings, errors, bulk/verbatim strings,
	// doubles, big numbers and booleans ("t"/"f"), and the text of integers.
	Str string
	// Int is the value of an integer reply.
	Int int64
	// Null is set for $-1, *-1 and _.
	Null bool
	// Elems are the elements of an aggregate; a map holds key, value, key,
	// value, ...
	Elems []Reply
	// Attr is a RESP3 attribute that preceded the reply, if any.
	Attr *Reply
}

// IsError reports whether the reply is an error.
func (r Reply) IsError() bool { return r.Type == '-' || r.Type == '!' }

// String renders the reply on one line, unambiguously.
func (r Reply) String() string {
	var b strings.Builder
	r.format(&b)
	return b.String()
}

func (r Reply) format(b *strings.Builder) {
	switch r.Type {
	case 'X':
		b.WriteString("<connection closed>")
		return
	}
	if r.Null {
		b.WriteByte(r.Type)
		b.WriteString("nil")
		return
	}
	switch r.Type {
	case '+', '-', ',', '(', '#', ':':
		b.WriteByte(r.Type)
		if isPrintable(r.Str) {
			b.WriteString(r.Str)
		} else {
			b.WriteString(strconv.Quote(r.Str))
		}
	case '$', '!', '=':
		b.WriteByte(r.Type)
		b.WriteString(strconv.Quote(r.Str))
	default:
		b.WriteByte(r.Type)
		b.WriteByte('[')
		for i, e := range r.Elems {
			if i > 0 {
				b.WriteString(", ")
			}
			e.format(b)
		}
		b.WriteByte(']')
	}
}

// Equal reports whether two replies are identical.
func (r Reply) Equal(o Reply) bool {
	if r.Type != o.Type || r.Null != o.Null || r.Str != o.Str || r.Int != o.Int || len(r.Elems) != len(o.Elems) {
		return false
	}
	for i := range r.Elems {
		if !r.Elems[i].Equal(o.Elems[i]) {
			return false
		}
	}
	return true
}

// maxReplyElems bounds what ReadReply accepts, so a garbled stream cannot
// make the test allocate without limit.
const maxReplyElems = 1 << 24

// ReadReply parses one reply from br.
func ReadReply(br *bufio.Reader) (Reply, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return Reply{}, fmt.Errorf("reply header longer than %d bytes", br.Size())
		}
		return Reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return Reply{}, fmt.Errorf("malformed reply line %q", line)
	}
	typ := line[0]
	body := string(line[1 : len(line)-2])
	r := Reply{Type: typ}
	switch typ {
	case '+', '-', ',', '(':
		r.Str = body
	case '#':
		if body != "t" && body != "f" {
			return r, fmt.Errorf("malformed boolean %q", line)
		}
		r.Str = body
	case ':':
		r.Str = body
		if r.Int, err = strconv.ParseInt(body, 10, 64); err != nil {
			return r, fmt.Errorf("malformed integer %q", line)
		}
	case '_':
		r.Null = true
	case '$', '!', '=':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > 1<<30 {
			return r, fmt.Errorf("malformed bulk length %q", line)
		}
		if n == -1 {
			r.Null = true
			return r, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return r, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return r, fmt.Errorf("bulk of %d bytes not followed by CRLF", n)
		}
		r.Str = string(buf[:n])
	case '*', '%', '~', '>', '|':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 || n > maxReplyElems {
			return r, fmt.Errorf("malformed aggregate length %q", line)
		}
		if n == -1 {
			r.Null = true
			return r, nil
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		r.Elems = make([]Reply, 0, min(n, 1024))
		for i := 0; i < n; i++ {
			e, err := ReadReply(br)
			if err != nil {
				return r, err
			}
			r.Elems = append(r.Elems, e)
		}
		if typ == '|' {
			next, err := ReadReply(br)
			if err != nil {
				return r, err
			}
			attr := r
			next.Attr = &attr
			return next, nil
		}
	default:
		return r, fmt.Errorf("unknown reply type in %q", line)
	}
	return r, nil
}

// Keys hands generators key names from a small shared pool, so that
// commands of every area collide on the same keys (and on keys of other
// types).
type Keys struct {
	pool []string
}

func newKeys() *Keys {
	k := &Keys{}
	for i := 0; i < 8; i++ {
		k.pool = append(k.pool, "key:"+strconv.Itoa(i))
	}
	// Hash-tagged names and a binary one keep name handling honest.
	k.pool = append(k.pool, "{tag}a", "{tag}b", "bin\x00\r\nkey")
	return k
}

// Key picks one key of the pool.
func (k *Keys) Key(r *rand.Rand) string { return k.pool[r.Intn(len(k.pool))] }

// Keys picks n keys of the pool (repeats possible, as real clients do).
func (k *Keys) Keys(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = k.Key(r)
	}
	return out
}

// All returns the whole pool.
func (k *Keys) All() []string { return append([]string(nil), k.pool...) }

type generator struct {
	area, name string
	weight     int
	gen        func(r *rand.Rand, k *Keys) []string
}

var (
	generators []generator
	unordered  = map[string]bool{}
	nondet     = map[string]func(skiff, redis Reply) error{}
)

// registerGen adds a generator of commands to an area. Call it from init().
func registerGen(area string, name string, weight int, g func(r *rand.Rand, k *Keys) []string) {
	if weight <= 0 || g == nil || area == "" {
		panic(fmt.Sprintf("registerGen(%q, %q): weight must be > 0 and the generator non-nil", area, name))
	}
	generators = append(generators, generator{area, name, weight, g})
}

// registerUnordered makes replies of a command compare as multisets of
// their top-level elements (KEYS, SMEMBERS, HGETALL ...). name is the
// command ("keys") or command and subcommand ("config get" or "config|get").
func registerUnordered(name string) { unordered[normCmdName(name)] = true }

// registerNondeterministic gives a command a custom check instead of
// exact comparison (RANDOMKEY, SCAN, CLIENT ID, TTL ...).
func registerNondeterministic(name string, f func(skiff, redis Reply) error) {
	nondet[normCmdName(name)] = f
}

func normCmdName(name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(name), "|", " "))
}

// cmdKeys returns the lookup names of argv: "cmd sub" first, then "cmd".
func cmdKeys(argv []string) []string {
	if len(argv) == 0 {
		return nil
	}
	c := strings.ToLower(argv[0])
	if len(argv) > 1 {
		return []string{c + " " + strings.ToLower(argv[1]), c}
	}
	return []string{c}
}

// compareReplies returns nil when skiff's reply is acceptable for argv.
func compareReplies(argv []string, sk, rd Reply) error {
	// Identical replies always agree, whatever a custom check expects
	// (inside MULTI every command is answered +QUEUED).
	if sk.Type != 'X' && sk.Equal(rd) {
		return nil
	}
	for _, name := range cmdKeys(argv) {
		if f := nondet[name]; f != nil {
			if sk.Type == 'X' || rd.Type == 'X' {
				break // a closed connection is never acceptable by a custom check
			}
			return f(sk, rd)
		}
		if unordered[name] {
			if sameMultiset(sk, rd) {
				return nil
			}
			return errors.New("replies differ (compared as unordered)")
		}
	}
	if sk.Equal(rd) {
		return nil
	}
	return errors.New("replies differ")
}

func sameMultiset(a, b Reply) bool {
	if a.Type != b.Type || a.Null != b.Null || len(a.Elems) != len(b.Elems) {
		return false
	}
	if a.Elems == nil {
		return a.Equal(b)
	}
	var as, bs []string
	if a.Type == '%' {
		// Maps compare as sets of pairs.
		for i := 0; i+1 < len(a.Elems); i += 2 {
			as = append(as, a.Elems[i].String()+" => "+a.Elems[i+1].String())
			bs = append(bs, b.Elems[i].String()+" => "+b.Elems[i+1].String())
		}
	} else {
		for i := range a.Elems {
			as = append(as, a.Elems[i].String())
			bs = append(bs, b.Elems[i].String())
		}
	}
	sort.Strings(as)
	sort.Strings(bs)
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

// diffPair is a connection to each server, used in lock step.
type diffPair struct {
	t      *testing.T // the running subtest
	root   *testing.T // owns the servers' lifetime
	sk, rd *Server
	skc    *Conn
	rdc    *Conn
	resp3  bool
}

func (p *diffPair) connect() {
	p.t.Helper()
	p.close()
	var err error
	if p.skc, err = p.sk.DialErr(); err != nil {
		p.t.Fatalf("dial skiff: %v", err)
	}
	if p.rdc, err = p.rd.DialErr(); err != nil {
		p.t.Fatalf("dial redis: %v", err)
	}
	if p.resp3 {
		p.hello(3)
	}
}

func (p *diffPair) close() {
	if p.skc != nil {
		p.skc.Close()
		p.skc = nil
	}
	if p.rdc != nil {
		p.rdc.Close()
		p.rdc = nil
	}
}

// hello switches both connections to protocol v; it reports false (and
// leaves both on RESP2) when skiff does not support it.
func (p *diffPair) hello(v int) bool {
	p.t.Helper()
	rr, err := p.rdc.Do("HELLO", strconv.Itoa(v))
	if err != nil || rr.IsError() {
		p.t.Fatalf("redis HELLO %d: %v %v", v, rr, err)
	}
	sr, err := p.skc.Do("HELLO", strconv.Itoa(v))
	if err != nil {
		p.t.Fatalf("skiff HELLO %d: %v", v, err)
	}
	if sr.IsError() || sr.Type != rr.Type {
		p.t.Logf("skiff does not answer HELLO %d like redis (%s); staying on RESP2", v, sr)
		if _, err := p.rdc.Do("HELLO", "2"); err != nil {
			p.t.Fatalf("redis HELLO 2: %v", err)
		}
		p.resp3 = false
		return false
	}
	p.resp3 = v == 3
	return true
}

// exchange sends argv to both servers and reads both replies. A closed
// connection reads as a reply of type 'X'.
func (p *diffPair) exchange(argv []string) (sk, rd Reply, err error) {
	b := EncodeCommand(nil, argv...)
	skErr := p.skc.WriteRaw(b)
	rdErr := p.rdc.WriteRaw(b)
	sk, skErr = readOrClosed(p.skc, skErr)
	rd, rdErr = readOrClosed(p.rdc, rdErr)
	if skErr != nil {
		return sk, rd, fmt.Errorf("skiff: %w", skErr)
	}
	if rdErr != nil {
		return sk, rd, fmt.Errorf("redis: %w", rdErr)
	}
	return sk, rd, nil
}

func readOrClosed(c *Conn, writeErr error) (Reply, error) {
	if writeErr != nil {
		if isClosed(writeErr) {
			return Reply{Type: 'X'}, nil
		}
		return Reply{}, writeErr
	}
	r, err := c.Read()
	if err != nil && isClosed(err) {
		return Reply{Type: 'X'}, nil
	}
	return r, err
}

// reset empties both servers before an area, restarting skiff if it died
// or cannot FLUSHALL.
func (p *diffPair) reset() {
	p.t.Helper()
	if !p.sk.Alive() {
		p.t.Logf("skiff is not running (exit: %v); starting a new one", p.sk.exitErr)
		p.restartSkiff()
	}
	p.resp3 = false
	p.connect()
	if r, err := p.rdc.Do("FLUSHALL"); err != nil || r.Str != "OK" {
		p.t.Fatalf("redis FLUSHALL: %v %v", r, err)
	}
	r, err := p.skc.Do("FLUSHALL")
	if err != nil || r.Str != "OK" {
		p.t.Logf("skiff FLUSHALL answered %v %v; restarting skiff for a clean keyspace", r, err)
		p.restartSkiff()
		p.connect()
	}
}

func (p *diffPair) restartSkiff() {
	p.t.Helper()
	old := p.sk
	sk, err := startServerErr(p.root, "skiff", nil)
	if err != nil {
		p.t.Fatalf("restart skiff: %v", err)
	}
	p.sk = sk
	old.Stop()
}

func diffSteps() int {
	if s := os.Getenv("SKIFF_DIFF_STEPS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 5000
}

// areaTimeBudget bounds one area however many steps were asked for.
const areaTimeBudget = 45 * time.Second

func TestDifferential(t *testing.T) {
	if len(generators) == 0 {
		t.Skip("no generators registered")
	}
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano() % 1e12
	}
	steps := diffSteps()
	t.Logf("seed %d, %d steps per area (rerun: go test ./integration/ -run 'TestDifferential/<area>$' -seed=%d; SKIFF_DIFF_STEPS=%d)", seed, steps, seed, steps)

	byArea := map[string][]generator{}
	for _, g := range generators {
		byArea[g.area] = append(byArea[g.area], g)
	}
	areas := make([]string, 0, len(byArea))
	for a := range byArea {
		areas = append(areas, a)
	}
	sort.Strings(areas)

	p := &diffPair{t: t, root: t, sk: StartSkiff(t), rd: StartRedis(t)}
	defer p.close()
	run := func(name string, gens []generator) {
		t.Run(name, func(t *testing.T) {
			p.t = t
			defer func() { p.t = t }()
			h := fnv.New64a()
			h.Write([]byte(name))
			runArea(t, p, name, gens, seed^int64(h.Sum64()&(1<<62-1)), seed, steps)
		})
	}
	for _, a := range areas {
		run(a, byArea[a])
	}
	// Every generator together: keys of every type collide.
	if len(areas) > 1 {
		run("mixed", generators)
	}
}

type histEntry struct {
	step int
	gen  string
	argv []string
}

func runArea(t *testing.T, p *diffPair, area string, gens []generator, areaSeed, baseSeed int64, steps int) {
	p.reset()
	r := rand.New(rand.NewSource(areaSeed))
	keys := newKeys()
	total := 0
	for _, g := range gens {
		total += g.weight
	}
	var hist []histEntry
	var tx txTracker
	const histLen = 25
	deadline := time.Now().Add(areaTimeBudget)
	resp3From := steps / 2
	done := 0
	for i := 0; i < steps; i++ {
		if time.Now().After(deadline) {
			t.Logf("time budget of %v reached after %d of %d steps", areaTimeBudget, i, steps)
			break
		}
		if i == resp3From {
			// The second half runs on RESP3 where skiff supports it. A
			// transaction in progress is discarded first, or HELLO would
			// be queued rather than switch the protocol.
			if tx.inMulti {
				if _, _, err := p.exchange([]string{"DISCARD"}); err != nil {
					t.Fatalf("DISCARD before HELLO 3: %v", err)
				}
				tx = txTracker{}
			}
			p.hello(3)
		}
		pick := r.Intn(total)
		var g generator
		for _, g = range gens {
			if pick < g.weight {
				break
			}
			pick -= g.weight
		}
		argv := g.gen(r, keys)
		if len(argv) == 0 {
			continue
		}
		hist = append(hist, histEntry{i, g.name, argv})
		if len(hist) > histLen {
			hist = hist[1:]
		}
		sk, rd, err := p.exchange(argv)
		if err == nil {
			if tx.inMulti && strings.EqualFold(argv[0], "exec") {
				err = compareExec(tx.queued, sk, rd)
			} else {
				err = compareReplies(argv, sk, rd)
			}
			tx.track(argv, sk)
		}
		if err != nil {
			var b strings.Builder
			fmt.Fprintf(&b, "area %s, seed %d, step %d (generator %s, %s):\n", area, baseSeed, i, g.name, map[bool]string{true: "RESP3", false: "RESP2"}[p.resp3])
			fmt.Fprintf(&b, "  command: %s\n  %v\n  skiff:   %s\n  redis:   %s\n", fmtArgv(argv), err, sk, rd)
			b.WriteString("  recent commands:\n")
			for _, h := range hist {
				fmt.Fprintf(&b, "    #%d [%s] %s\n", h.step, h.gen, fmtArgv(h.argv))
			}
			if !p.sk.Alive() {
				fmt.Fprintf(&b, "  skiff exited: %v\n", p.sk.exitErr)
			}
			fmt.Fprintf(&b, "  rerun: go test ./integration/ -run 'TestDifferential/%s$' -seed=%d (SKIFF_DIFF_STEPS=%d)", area, baseSeed, steps)
			t.Fatal(b.String())
		}
		done++
		if sk.Type == 'X' {
			// Both closed (QUIT ...): carry on with fresh connections.
			p.connect()
			tx = txTracker{}
		}
	}
	t.Logf("%d commands compared", done)
}

// txTracker follows MULTI on the compared connection so that EXEC's
// reply can be compared element by element with each queued command's
// own rule (unordered, nondeterministic...).
type txTracker struct {
	inMulti bool
	queued  [][]string
}

func (tx *txTracker) track(argv []string, reply Reply) {
	switch name := strings.ToLower(argv[0]); {
	case name == "multi" && reply.Type == '+' && reply.Str == "OK":
		tx.inMulti, tx.queued = true, nil
	case !tx.inMulti:
	case name == "exec" || name == "discard" || name == "reset":
		tx.inMulti, tx.queued = false, nil
	case reply.Type == '+' && reply.Str == "QUEUED":
		tx.queued = append(tx.queued, argv)
	}
}

// compareExec compares EXEC replies: element i with the rule of the i-th
// queued command; anything else (an error, a null reply after a WATCH)
// must be identical.
func compareExec(queued [][]string, sk, rd Reply) error {
	if sk.Equal(rd) {
		return nil
	}
	if sk.Type != rd.Type || sk.Null || rd.Null || len(sk.Elems) != len(rd.Elems) || len(sk.Elems) != len(queued) {
		return errors.New("EXEC replies differ")
	}
	for i := range sk.Elems {
		if err := compareReplies(queued[i], sk.Elems[i], rd.Elems[i]); err != nil {
			return fmt.Errorf("EXEC element %d (%s): %v", i, fmtArgv(queued[i]), err)
		}
	}
	return nil
}
