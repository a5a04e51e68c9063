// Package netfault is a small TCP proxy layer for partition tests, used by
// the integration tests (integration/tcpproxy_test.go wraps it) and by the
// fault-injection suite (integration/faults).
//
// Every process of a test (data node, sentinel, client) has a name. Each
// listening endpoint that other processes must reach through the network
// under test gets one proxy in front of it, and the processes are told the
// proxy's port instead of the real one: the monitored master's address,
// replicaof and replica-announce-port of data nodes, announce-port of
// sentinels, the sentinel addresses given to clients. All traffic between
// the processes therefore crosses a proxy, which forwards bytes both ways.
//
// A proxy attributes each accepted connection to the process that opened
// it: the client end of a loopback connection is a row of /proc/net/tcp
// (local = the peer's address, remote = the proxy's), whose inode appears
// as "socket:[inode]" among the /proc/<pid>/fd links of exactly one of the
// registered processes. So one proxy per endpoint is enough to cut single
// links, i.e. pairs of processes ("s0" and "d1"), which is what a network
// partition is: Partition(a, b) cuts every pair across the two groups.
//
// A cut link behaves like a black hole, not like a refused connection:
// bytes on existing connections of that pair are dropped, and new
// connections of that pair are accepted but never reach the backend, so
// the peer sees timeouts, as across a real partition. Heal closes those
// connections (as TCP would after the partition's timeouts) and lets new
// ones through. A connection whose origin cannot be found (it closed at
// once) is forwarded only while no cut touches the proxy's owner.
//
// Loopback only: everything listens on 127.0.0.1.
package netfault

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lab is the set of proxies and named processes of one test.
type Lab struct {
	logf    func(format string, args ...any)
	mu      sync.Mutex
	names   map[int]string     // pid -> process name
	cut     map[[2]string]bool // sorted pair -> cut
	proxies []*Proxy
	closed  bool
}

// New returns an empty lab; logf (may be nil) receives one line per
// partition and heal. Close it when done.
func New(logf func(format string, args ...any)) *Lab {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &Lab{logf: logf, names: map[int]string{}, cut: map[[2]string]bool{}}
}

// Register names a process: connections it opens are attributed to name.
// Several processes may share a name (the test and the python client are
// both "client"); a restarted process is registered again under its name
// (the dead pid's entry finds no /proc directory).
func (l *Lab) Register(pid int, name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names[pid] = name
}

func pairOf(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}

// IsCut reports whether traffic between a and b is cut.
func (l *Lab) IsCut(a, b string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cut[pairOf(a, b)]
}

// touched reports whether any cut involves name.
func (l *Lab) touched(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range l.cut {
		if p[0] == name || p[1] == name {
			return true
		}
	}
	return false
}

// Partition cuts every link between a process of side a and one of side b.
// When it returns no byte crosses a cut link any more.
func (l *Lab) Partition(a, b []string) {
	l.mu.Lock()
	for _, x := range a {
		for _, y := range b {
			l.cut[pairOf(x, y)] = true
		}
	}
	proxies := append([]*Proxy(nil), l.proxies...)
	l.mu.Unlock()
	for _, p := range proxies {
		p.applyCuts()
	}
	l.logf("netlab: partition %v | %v", a, b)
}

// Heal removes every cut and closes the connections that were black-holed.
func (l *Lab) Heal() {
	l.mu.Lock()
	l.cut = map[[2]string]bool{}
	proxies := append([]*Proxy(nil), l.proxies...)
	l.mu.Unlock()
	for _, p := range proxies {
		p.closeFrozen()
	}
	l.logf("netlab: healed")
}

// ListenOn opens a proxy for the endpoint of process owner on a given
// loopback port (0: any free port); its backend is set later with
// SetTarget (a data node is told its proxy's port at start).
func (l *Lab) ListenOn(owner string, port int) (*Proxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return l.serve(owner, ln), nil
}

func (l *Lab) serve(owner string, ln net.Listener) *Proxy {
	p := &Proxy{lab: l, owner: owner, ln: ln, conns: map[*proxyConn]bool{}}
	l.mu.Lock()
	l.proxies = append(l.proxies, p)
	l.mu.Unlock()
	go p.acceptLoop()
	return p
}

// Close closes every proxy and every connection through them.
func (l *Lab) Close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	proxies := l.proxies
	l.mu.Unlock()
	for _, p := range proxies {
		p.Close()
	}
}

// nameOf finds which registered process holds the client end of the
// accepted loopback connection c.
func (l *Lab) nameOf(c net.Conn) string {
	ra, ok1 := c.RemoteAddr().(*net.TCPAddr)
	la, ok2 := c.LocalAddr().(*net.TCPAddr)
	if !ok1 || !ok2 {
		return "?"
	}
	inode := socketInode(ra.Port, la.Port)
	if inode == "" {
		return "?"
	}
	want := "socket:[" + inode + "]"
	l.mu.Lock()
	pids := make(map[int]string, len(l.names))
	for p, n := range l.names {
		pids[p] = n
	}
	l.mu.Unlock()
	for pid, name := range pids {
		dir := fmt.Sprintf("/proc/%d/fd", pid)
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if target, err := os.Readlink(dir + "/" + e.Name()); err == nil && target == want {
				return name
			}
		}
	}
	return "?"
}

// socketInode returns the inode of the IPv4 socket whose local port is
// lport and remote port rport (both on 127.0.0.1), or "".
func socketInode(lport, rport int) string {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return ""
	}
	defer f.Close()
	local := fmt.Sprintf("0100007F:%04X", lport)
	remote := fmt.Sprintf("0100007F:%04X", rport)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 9 && fs[1] == local && fs[2] == remote && fs[9] != "0" {
			return fs[9]
		}
	}
	return ""
}

// Proxy forwards one endpoint.
type Proxy struct {
	lab   *Lab
	owner string
	ln    net.Listener

	mu     sync.Mutex
	target string
	conns  map[*proxyConn]bool
}

// Port is the port the proxy listens on.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Addr is the proxy's address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Owner is the name of the process whose endpoint the proxy fronts.
func (p *Proxy) Owner() string { return p.owner }

// SetTarget sets the backend address.
func (p *Proxy) SetTarget(addr string) {
	p.mu.Lock()
	p.target = addr
	p.mu.Unlock()
}

type proxyConn struct {
	from     string // origin; written under the proxy's mu once accepted
	front    net.Conn
	back     net.Conn // nil while black-holed from the start
	mu       sync.Mutex
	frozen   bool
	closing  bool
	inflight int // writes that passed the frozen check and have not returned
}

func (pc *proxyConn) isFrozen() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.frozen
}

// beginWrite reports whether bytes may cross now; if so the caller must
// call endWrite after its write. freeze waits for such writes, so that
// once a partition is applied no byte crosses it, not even one read just
// before: a test that notes the time after Partition returned may treat
// whatever a client sends later as unable to reach the other side.
func (pc *proxyConn) beginWrite() bool {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.frozen {
		return false
	}
	pc.inflight++
	return true
}

func (pc *proxyConn) endWrite() {
	pc.mu.Lock()
	pc.inflight--
	pc.mu.Unlock()
}

// freeze black-holes the connection and waits, at most a bounded time
// (a write into a stopped process's full socket buffer never returns),
// for writes already past the check.
func (pc *proxyConn) freeze() {
	pc.mu.Lock()
	pc.frozen = true
	pc.mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; i < 4000 && time.Now().Before(deadline); i++ {
		pc.mu.Lock()
		n := pc.inflight
		pc.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(500 * time.Microsecond)
	}
}

func (pc *proxyConn) close() {
	pc.mu.Lock()
	pc.closing = true
	pc.mu.Unlock()
	pc.front.Close()
	if pc.back != nil {
		pc.back.Close()
	}
}

func (p *Proxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

// blocked decides whether a connection from origin may reach the owner.
func (p *Proxy) blocked(from string) bool {
	if from == "?" {
		return p.lab.touched(p.owner)
	}
	return p.lab.IsCut(from, p.owner)
}

func (p *Proxy) handle(c net.Conn) {
	from := p.lab.nameOf(c)
	pc := &proxyConn{from: from, front: c}
	p.mu.Lock()
	target := p.target
	p.conns[pc] = true
	p.mu.Unlock()
	defer func() {
		pc.close()
		p.mu.Lock()
		delete(p.conns, pc)
		p.mu.Unlock()
	}()
	if p.blocked(from) || target == "" {
		// Black hole: swallow whatever arrives until healed or closed.
		pc.mu.Lock()
		pc.frozen = true
		pc.mu.Unlock()
		io.Copy(io.Discard, c)
		return
	}
	back, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		return // the backend is down: the peer sees the connection close
	}
	pc.mu.Lock()
	pc.back = back
	closing := pc.closing
	pc.mu.Unlock()
	if closing {
		return
	}
	done := make(chan struct{}, 2)
	go func() { pump(pc, back, c); done <- struct{}{} }()
	go func() { pump(pc, c, back); done <- struct{}{} }()
	<-done
	// One side closed: close both, as a transparent proxy would.
}

// pump copies src to dst, dropping bytes while the link is cut.
func pump(pc *proxyConn, dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && pc.beginWrite() {
			_, werr := dst.Write(buf[:n])
			pc.endWrite()
			if werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// applyCuts freezes live connections of links that are now cut. A
// connection whose origin was unknown when it was accepted (its process
// was registered a moment later) is attributed again first, so that a cut
// elsewhere does not freeze it.
func (p *Proxy) applyCuts() {
	p.mu.Lock()
	var cut []*proxyConn
	for pc := range p.conns {
		if pc.from == "?" {
			pc.from = p.lab.nameOf(pc.front)
		}
		if p.blocked(pc.from) {
			cut = append(cut, pc)
		}
	}
	p.mu.Unlock()
	for _, pc := range cut {
		pc.freeze()
	}
}

// closeFrozen closes the black-holed connections.
func (p *Proxy) closeFrozen() {
	p.mu.Lock()
	var frozen []*proxyConn
	for pc := range p.conns {
		if pc.isFrozen() {
			frozen = append(frozen, pc)
		}
	}
	p.mu.Unlock()
	for _, pc := range frozen {
		pc.close()
	}
}

// DropAll closes every connection through the proxy (not a cut).
func (p *Proxy) DropAll() {
	p.mu.Lock()
	var all []*proxyConn
	for pc := range p.conns {
		all = append(all, pc)
	}
	p.mu.Unlock()
	for _, pc := range all {
		pc.close()
	}
}

// Close stops listening and closes every connection through the proxy.
func (p *Proxy) Close() {
	p.ln.Close()
	p.DropAll()
}

// Origins lists, for the log, which processes have connections open
// through the proxy.
func (p *Proxy) Origins() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for pc := range p.conns {
		out[pc.from]++
	}
	return out
}

// tcpRow is one row of /proc/net/tcp.
type tcpRow struct {
	local, remote string // hex "IP:PORT" as the kernel writes them
	lport, rport  int
	state         string // "01" established, "0A" listen
}

// tcpTable reads /proc/net/tcp by inode.
func tcpTable() map[string]tcpRow {
	out := map[string]tcpRow{}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return out
	}
	port := func(hexAddr string) int {
		_, p, ok := strings.Cut(hexAddr, ":")
		if !ok {
			return 0
		}
		n, _ := strconv.ParseInt(p, 16, 32)
		return int(n)
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		fs := strings.Fields(line)
		if len(fs) > 9 && fs[9] != "0" {
			out[fs[9]] = tcpRow{local: fs[1], remote: fs[2], lport: port(fs[1]), rport: port(fs[2]), state: fs[3]}
		}
	}
	return out
}

// socketInodes lists the socket inodes among pid's open files.
func socketInodes(pid int) []string {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if t, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(t, "socket:[") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(t, "socket:["), "]"))
		}
	}
	return out
}

// Bypasses lists established connections from a process of side a to a
// listening port of a process of side b, or the other way, that do not
// go through a proxy: links a partition of a and b cannot cut. Links of
// the process named "client" are not listed (the test process also talks
// to everything directly, to observe).
func (l *Lab) Bypasses(a, b []string) []string {
	l.mu.Lock()
	pids := map[string][]int{}
	for pid, n := range l.names {
		pids[n] = append(pids[n], pid)
	}
	l.mu.Unlock()
	table := tcpTable()
	// Listening sockets by address, and by port for those bound to the
	// wildcard address (a process may bind another loopback address than
	// the proxies' 127.0.0.1, with the same port numbers).
	listens := func(name string) (addrs map[string]bool, anyPorts map[int]bool) {
		addrs, anyPorts = map[string]bool{}, map[int]bool{}
		for _, pid := range pids[name] {
			for _, ino := range socketInodes(pid) {
				if r, ok := table[ino]; ok && r.state == "0A" {
					addrs[r.local] = true
					if strings.HasPrefix(r.local, "00000000:") {
						anyPorts[r.lport] = true
					}
				}
			}
		}
		return addrs, anyPorts
	}
	var out []string
	check := func(from, to string) {
		la, lp := listens(to)
		for _, pid := range pids[from] {
			for _, ino := range socketInodes(pid) {
				if r, ok := table[ino]; ok && r.state == "01" && (la[r.remote] || lp[r.rport]) {
					out = append(out, fmt.Sprintf("%s -> %s port %d", from, to, r.rport))
				}
			}
		}
	}
	for _, x := range a {
		for _, y := range b {
			if x == "client" || y == "client" {
				continue // the test process also talks to everything directly, to observe
			}
			check(x, y)
			check(y, x)
		}
	}
	return out
}
