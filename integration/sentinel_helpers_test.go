package integration

// Harness of the sentinel tests (sentinel_test.go): three sentinels of a
// chosen implementation ("skiff": `$SKIFF_BIN sentinel`, "redis": Debian's
// redis-sentinel 7.0) monitoring a master and two replicas of a chosen
// implementation (skiff server or redis-server), every link through the
// proxies of tcpproxy_test.go; a poller that records what each sentinel
// reports as master, a subscriber that records every event of every
// sentinel, and two clients (go-redis FailoverClient, redis-py Sentinel)
// that write unique keys and log what was acknowledged.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/raftgroup"
	"github.com/skiffdb/skiff/sentinel"
)

// Settings of every sentinel test: short enough that one failover takes a
// few seconds.
const (
	sentMaster            = "mymaster"
	sentQuorum            = 2
	sentDownAfterMs       = 1000
	sentFailoverTimeoutMs = 3000
)

// sentinelStack names the implementations of one run: who the sentinels
// are and who the data nodes are.
type sentinelStack struct{ sentinel, data string }

func (k sentinelStack) String() string { return k.sentinel + "-sentinels_" + k.data + "-data" }

var (
	stackSkiff       = sentinelStack{"skiff", "skiff"}
	stackSkiffRedis  = sentinelStack{"skiff", "redis"}
	stackRedisSkiff  = sentinelStack{"redis", "skiff"}
	stackRedisRedis  = sentinelStack{"redis", "redis"}
	redisSentinelBin = sync.OnceValues(func() (string, error) { return exec.LookPath("redis-sentinel") })
)

// pythonBin is Debian's interpreter, which has python3-redis (4.3.4).
const pythonBin = "/usr/bin/python3"

var pythonRedisErr = sync.OnceValue(func() error {
	out, err := exec.Command(pythonBin, "-c", "import redis.sentinel").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import redis.sentinel (apt-get install python3-redis): %v %s", pythonBin, err, out)
	}
	return nil
})

// ---------------------------------------------------------------------
// Ports

// sentinelPorts are a skiff sentinel's RESP port and, derived from it by
// skiff's default rule (sentinel.DefaultMemberPorts), its raft and admin
// ports.
func sentinelPorts(p int) []int {
	r, a := sentinel.DefaultMemberPorts(p)
	return []int{p, r, a}
}

// reserveSentinelPorts returns a port P such that P and the raft and admin
// ports a skiff sentinel derives from it are free. P is drawn from
// 12000-29999, so with the default rule all three stay below the
// kernel's ephemeral range (32768-) and no outgoing connection can hold
// one of them.
func reserveSentinelPorts() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for tries := 0; tries < 300; tries++ {
		p := 12000 + rand.Intn(18000)
		ok := true
		for _, q := range sentinelPorts(p) {
			if portsGiven[q] || !canBind(q) {
				ok = false
				break
			}
		}
		if ok {
			for _, q := range sentinelPorts(p) {
				portsGiven[q] = true
			}
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free sentinel port triple")
}

func canBind(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// dialConn opens a raw RESP connection.
func dialConn(addr string, timeout time.Duration) (*Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &Conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), Timeout: timeout}, nil
}

// doOnce sends one command on a new connection.
func doOnce(addr string, timeout time.Duration, argv ...string) (Reply, error) {
	c, err := dialConn(addr, timeout)
	if err != nil {
		return Reply{}, err
	}
	defer c.Close()
	return c.Do(argv...)
}

// kvReply turns a flat key/value array (SENTINEL MASTER) into a map.
func kvReply(r Reply) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(r.Elems); i += 2 {
		m[r.Elems[i].Str] = r.Elems[i+1].Str
	}
	return m
}

// infoMap parses an INFO reply.
func infoMap(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// pollUntil calls cond every interval until it returns true or the
// deadline passes; it fails the test with what and cond's last info.
func pollUntil(t testing.TB, what string, timeout, interval time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, info := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last: %s)", timeout, what, info)
		}
		time.Sleep(interval)
	}
}

// ---------------------------------------------------------------------
// Sentinel processes

// sentinelProc is one sentinel with fixed ports, conf and dir, so that it
// can be killed and restarted as the same sentinel.
type sentinelProc struct {
	t       testing.TB
	kind    string // "skiff" or "redis"
	name    string // s0, s1, s2: its name in the netLab too
	port    int    // RESP port (skiff: raft and admin ports from sentinelPorts)
	pub     int    // the port others are told: announce-port (a proxy), or port
	dir     string
	conf    string
	logPath string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	paused  bool
	starts  int
}

func (s *sentinelProc) addr() string    { return "127.0.0.1:" + strconv.Itoa(s.port) }
func (s *sentinelProc) pubAddr() string { return "127.0.0.1:" + strconv.Itoa(s.pub) }
func (s *sentinelProc) adminAddr() string {
	return "127.0.0.1:" + strconv.Itoa(sentinelPorts(s.port)[2])
}

// writeConf writes the sentinel.conf every sentinel of a test shares, but
// for port and the announced port.
func (s *sentinelProc) writeConf(masterPort int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "port %d\nbind 127.0.0.1\ndir %s\n", s.port, s.dir)
	fmt.Fprintf(&b, "sentinel monitor %s 127.0.0.1 %d %d\n", sentMaster, masterPort, sentQuorum)
	fmt.Fprintf(&b, "sentinel down-after-milliseconds %s %d\n", sentMaster, sentDownAfterMs)
	fmt.Fprintf(&b, "sentinel failover-timeout %s %d\n", sentMaster, sentFailoverTimeoutMs)
	fmt.Fprintf(&b, "sentinel parallel-syncs %s 1\n", sentMaster)
	if s.pub != s.port {
		fmt.Fprintf(&b, "sentinel announce-ip 127.0.0.1\nsentinel announce-port %d\n", s.pub)
	}
	return os.WriteFile(s.conf, []byte(b.String()), 0o644)
}

func (s *sentinelProc) argv() (string, []string, error) {
	if s.kind == "skiff" {
		return skiffBin, []string{"sentinel", s.conf}, nil
	}
	bin, err := redisSentinelBin()
	if err != nil {
		return "", nil, fmt.Errorf("redis-sentinel not found (apt-get install redis-sentinel): %w", err)
	}
	return bin, []string{s.conf}, nil
}

// start runs the process (again) and waits until it answers PING.
func (s *sentinelProc) start() error {
	bin, args, err := s.argv()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s start %s %s\n", time.Now().Format("15:04:05.000"), bin, strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.name, err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.paused = cmd, exited, false
	s.starts++
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		s.exitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if !s.alive() {
			return fmt.Errorf("%s (%s) exited at start: %v\n%s", s.name, s.kind, s.exitError(), s.logTail(3000))
		}
		r, err := doOnce(s.addr(), time.Second, "PING")
		if err == nil && r.Str == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (%s) not answering PING after 15 s: %v %s", s.name, s.kind, err, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *sentinelProc) exitError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exitErr
}

func (s *sentinelProc) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// alive reports whether the process runs (paused or not).
func (s *sentinelProc) alive() bool {
	s.mu.Lock()
	ch := s.exited
	s.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// answering reports whether the process runs and is not SIGSTOPped.
func (s *sentinelProc) answering() bool {
	s.mu.Lock()
	paused := s.paused
	s.mu.Unlock()
	return !paused && s.alive()
}

// kill sends SIGKILL and waits for the exit.
func (s *sentinelProc) kill() {
	s.mu.Lock()
	cmd, ch := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
	}
}

func (s *sentinelProc) logTail(max int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	return string(b)
}

// keepLog, after a failure, makes a live skiff sentinel dump its
// goroutines (SIGQUIT: the Go runtime prints every stack and exits) and
// copies its whole log out of the directory that cleanup removes, to
// $TMPDIR/skiff-sentinel-logs/<test>/<name>.log.
func (s *sentinelProc) keepLog(t testing.TB) {
	if s.kind == "skiff" && s.alive() {
		s.mu.Lock()
		cmd, ch := s.cmd, s.exited
		s.mu.Unlock()
		cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-ch:
		case <-time.After(3 * time.Second):
		}
	}
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return
	}
	dir := filepath.Join(os.TempDir(), "skiff-sentinel-logs", strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
	if os.MkdirAll(dir, 0o755) != nil {
		return
	}
	path := filepath.Join(dir, s.name+".log")
	if os.WriteFile(path, b, 0o644) == nil {
		t.Logf("%s: whole log (with a goroutine dump if it was still running) kept in %s", s.name, path)
	}
}

// do sends one command to the sentinel (directly, never through a proxy).
func (s *sentinelProc) do(argv ...string) (Reply, error) {
	return doOnce(s.addr(), 2*time.Second, argv...)
}

// masterInfo is SENTINEL MASTER mymaster as a map.
func (s *sentinelProc) masterInfo() (map[string]string, error) {
	r, err := s.do("SENTINEL", "MASTER", sentMaster)
	if err != nil {
		return nil, err
	}
	if r.IsError() {
		return nil, fmt.Errorf("%s", r.Str)
	}
	return kvReply(r), nil
}

// masterAddr is SENTINEL GET-MASTER-ADDR-BY-NAME as "ip:port".
func (s *sentinelProc) masterAddr() (string, error) {
	r, err := s.do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentMaster)
	if err != nil {
		return "", err
	}
	if r.IsError() || len(r.Elems) != 2 {
		return "", fmt.Errorf("reply %s", r)
	}
	return r.Elems[0].Str + ":" + r.Elems[1].Str, nil
}

// raftStatus is GET /status of a skiff sentinel's admin API.
func (s *sentinelProc) raftStatus() (raftgroup.Status, error) {
	var st raftgroup.Status
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.adminAddr()+"/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /status: %s", resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// ---------------------------------------------------------------------
// Data nodes

// dataNode is a master or replica: a Server behind its proxy. Sentinels,
// replicas and clients know it by the proxy's address.
type dataNode struct {
	name string
	srv  *Server
	px   *tcpProxy
}

func (d *dataNode) pubAddr() string { return d.px.Addr() }

// info is INFO of one section, asked directly (not through the proxy).
func (d *dataNode) info(section string) (map[string]string, error) {
	r, err := doOnce(d.srv.Addr(), 2*time.Second, "INFO", section)
	if err != nil {
		return nil, err
	}
	if r.IsError() {
		return nil, fmt.Errorf("%s", r.Str)
	}
	return infoMap(r.Str), nil
}

// ---------------------------------------------------------------------
// The environment of one test

type sentinelEnvOpts struct {
	// proxySentinels puts a proxy in front of each sentinel (announce-ip
	// and announce-port name it), and, for skiff, in front of its raft and
	// admin ports at the same offsets, so that links between sentinels
	// can be cut too.
	proxySentinels bool
	// strong starts the data nodes with --consistency strong. Their
	// replicas can sync only once a sentinel granted the master a lease,
	// so the sentinels start first and the sync is awaited after.
	strong bool
}

type sentinelEnv struct {
	t      *testing.T
	stack  sentinelStack
	lab    *netLab
	data   []*dataNode
	sents  []*sentinelProc
	watch  *masterWatch
	events *eventLog
	t0     time.Time
}

// newSentinelEnv starts a master and two replicas in sync, then three
// sentinels with the same sentinel.conf, and waits until every sentinel
// knows the master, both replicas and both other sentinels (and, for
// skiff, until the three form one Raft group with a leader).
func newSentinelEnv(t *testing.T, stack sentinelStack, opts sentinelEnvOpts) *sentinelEnv {
	t.Helper()
	if stack.sentinel == "redis" {
		if _, err := redisSentinelBin(); err != nil {
			t.Fatalf("redis-sentinel not found (apt-get install redis-sentinel): %v", err)
		}
	}
	e := &sentinelEnv{t: t, stack: stack, lab: newNetLab(t), t0: time.Now()}
	e.lab.register(os.Getpid(), "client")
	for i := 0; i < 3; i++ {
		name := "d" + strconv.Itoa(i)
		px := e.lab.listen(name)
		extra := append(append([]string{}, replOpts...), "--replica-announce-ip", "127.0.0.1",
			"--replica-announce-port", strconv.Itoa(px.Port()))
		if opts.strong {
			extra = append(extra, "--consistency", "strong")
		}
		srv, err := startServerErr(t, stack.data, extra)
		if err != nil {
			t.Fatalf("start %s data node: %v", stack.data, err)
		}
		px.setTarget(srv.Addr())
		e.lab.register(srv.Pid(), name)
		e.data = append(e.data, &dataNode{name: name, srv: srv, px: px})
	}
	master := e.data[0]
	mc := master.srv.Dial(t)
	for _, d := range e.data[1:] {
		c := d.srv.Dial(t)
		if r := c.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(master.px.Port())); r.IsError() {
			t.Fatalf("REPLICAOF on %s: %s", d.name, r)
		}
		if !opts.strong {
			waitInSync(t, mc, c)
		}
	}
	for i := 0; i < 3; i++ {
		port, err := reserveSentinelPorts()
		if err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "skiff-it-sentinel-")
		if err != nil {
			t.Fatal(err)
		}
		s := &sentinelProc{t: t, kind: stack.sentinel, name: "s" + strconv.Itoa(i), port: port, pub: port,
			dir: dir, conf: filepath.Join(dir, "sentinel.conf"), logPath: filepath.Join(dir, "sentinel.log")}
		if opts.proxySentinels {
			e.proxySentinel(s)
		}
		if err := s.writeConf(master.px.Port()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				s.keepLog(t)
			}
			s.kill()
			if t.Failed() {
				t.Logf("%s (%s sentinel, port %d, pub %d) log:\n%s", s.name, s.kind, s.port, s.pub, s.logTail(6000))
				if b, err := os.ReadFile(s.conf); err == nil {
					t.Logf("%s sentinel.conf now:\n%s", s.name, b)
				}
			}
			os.RemoveAll(s.dir)
		})
		e.sents = append(e.sents, s)
	}
	// All three at once, as an operator starting them would.
	errs := make(chan error, len(e.sents))
	for _, s := range e.sents {
		go func(s *sentinelProc) { errs <- s.start() }(s)
	}
	for range e.sents {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range e.sents {
		e.lab.register(s.pid(), s.name)
	}
	e.events = startEventLog(t, e)
	if opts.strong {
		for _, d := range e.data[1:] {
			waitInSync(t, mc, d.srv.Dial(t))
		}
	}
	e.waitSentinelsReady(master, 30*time.Second)
	e.watch = startMasterWatch(t, e)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sentinel events:\n%s", e.events.dump(e.t0))
			t.Logf("masters reported:\n%s", e.watch.dump(e.t0))
		}
	})
	t.Logf("%s: master %s (%s), replicas %s, %s; sentinels %s %s %s; ready after %v", stack,
		master.pubAddr(), master.srv.Addr(), e.data[1].pubAddr(), e.data[2].pubAddr(),
		e.sents[0].pubAddr(), e.sents[1].pubAddr(), e.sents[2].pubAddr(), time.Since(e.t0).Round(time.Millisecond))
	return e
}

// proxySentinel puts proxies in front of s: its announced port Q forwards
// to its port P, and for skiff the raft and admin ports derived from Q
// forward to those of P (in case a sentinel derives its peers' raft and
// admin ports from their announced port; bypasses() tells if not).
func (e *sentinelEnv) proxySentinel(s *sentinelProc) {
	e.t.Helper()
	for tries := 0; ; tries++ {
		q, err := reserveSentinelPorts()
		if err != nil {
			e.t.Fatal(err)
		}
		var pxs []*tcpProxy
		ok := true
		from, to := sentinelPorts(q), sentinelPorts(s.port)
		for i := range from {
			if i > 0 && s.kind != "skiff" {
				break
			}
			px, err := e.lab.listenOn(s.name, from[i])
			if err != nil {
				ok = false
				break
			}
			px.setTarget("127.0.0.1:" + strconv.Itoa(to[i]))
			pxs = append(pxs, px)
		}
		if ok {
			s.pub = q
			return
		}
		for _, px := range pxs {
			px.close()
		}
		if tries > 5 {
			e.t.Fatal("cannot listen on a sentinel proxy port triple")
		}
	}
}

// waitSentinelsReady waits until every live sentinel reports master at
// its address with two replicas and two other sentinels.
func (e *sentinelEnv) waitSentinelsReady(master *dataNode, timeout time.Duration) {
	e.t.Helper()
	want := master.pubAddr()
	pollUntil(e.t, "sentinels to know the master, 2 replicas and 2 other sentinels", timeout, 50*time.Millisecond, func() (bool, string) {
		for _, s := range e.sents {
			if !s.answering() {
				continue
			}
			m, err := s.masterInfo()
			if err != nil {
				return false, s.name + ": " + err.Error()
			}
			if m["ip"]+":"+m["port"] != want || m["num-slaves"] != "2" || m["num-other-sentinels"] != "2" || m["flags"] != "master" {
				return false, fmt.Sprintf("%s: %s:%s flags %s num-slaves %s num-other-sentinels %s", s.name,
					m["ip"], m["port"], m["flags"], m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return true, ""
	})
	if e.stack.sentinel == "skiff" {
		pollUntil(e.t, "one raft group of 3 sentinels with an agreed leader", timeout, 50*time.Millisecond, func() (bool, string) {
			_, info := e.raftLeader()
			return info == "", info
		})
	}
}

// raftLeader returns the skiff sentinel that every answering sentinel
// names as the Raft leader (the one whose id is the leader_id), or why
// there is none.
func (e *sentinelEnv) raftLeader() (*sentinelProc, string) {
	var leader *sentinelProc
	leaderID := ""
	for _, s := range e.sents {
		if !s.answering() {
			continue
		}
		st, err := s.raftStatus()
		if err != nil {
			return nil, s.name + ": " + err.Error()
		}
		if st.LeaderID == "" {
			return nil, s.name + ": no leader"
		}
		if leaderID != "" && st.LeaderID != leaderID {
			return nil, fmt.Sprintf("%s: leader %s, others %s", s.name, st.LeaderID, leaderID)
		}
		leaderID = st.LeaderID
		if len(st.Members) != len(e.sents) {
			return nil, fmt.Sprintf("%s: %d members", s.name, len(st.Members))
		}
		if st.ID == st.LeaderID {
			leader = s
		}
	}
	if leader == nil {
		return nil, "leader " + leaderID + " is not an answering sentinel"
	}
	return leader, ""
}

// nodeByPub finds the data node known by address addr.
func (e *sentinelEnv) nodeByPub(addr string) *dataNode {
	for _, d := range e.data {
		if d.pubAddr() == addr {
			return d
		}
	}
	return nil
}

// sentinelPubAddrs are the sentinel addresses clients are given.
func (e *sentinelEnv) sentinelPubAddrs() []string {
	var out []string
	for _, s := range e.sents {
		out = append(out, s.pubAddr())
	}
	return out
}

// killData sends SIGKILL to a data node and waits for its exit.
func (e *sentinelEnv) killData(d *dataNode) time.Time {
	e.t.Helper()
	d.srv.cmd.Process.Kill()
	at := time.Now()
	select {
	case <-d.srv.exited:
	case <-time.After(10 * time.Second):
		e.t.Fatalf("%s did not exit after SIGKILL", d.name)
	}
	e.t.Logf("kill -9 %s (%s)", d.name, d.pubAddr())
	return at
}

// pauseData sends SIGSTOP and waits until every thread is stopped.
func (e *sentinelEnv) pauseData(d *dataNode) time.Time {
	e.t.Helper()
	pid := d.srv.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		e.t.Fatal(err)
	}
	at := time.Now()
	pollUntil(e.t, d.name+" stopped", 5*time.Second, time.Millisecond, func() (bool, string) {
		return allThreadsStopped(pid), ""
	})
	e.t.Logf("SIGSTOP %s (%s)", d.name, d.pubAddr())
	return at
}

func (e *sentinelEnv) resumeData(d *dataNode) time.Time {
	e.t.Helper()
	if err := syscall.Kill(d.srv.Pid(), syscall.SIGCONT); err != nil {
		e.t.Fatal(err)
	}
	e.t.Logf("SIGCONT %s", d.name)
	return time.Now()
}

// waitNewMaster waits until every answering sentinel among sents reports
// the same master, other than old, and returns it.
func (e *sentinelEnv) waitNewMaster(old *dataNode, sents []*sentinelProc, timeout time.Duration) *dataNode {
	e.t.Helper()
	var nm *dataNode
	pollUntil(e.t, "sentinels "+procNames(sents)+" to agree on a new master", timeout, 20*time.Millisecond, func() (bool, string) {
		agreed := ""
		for _, s := range sents {
			if !s.answering() {
				continue
			}
			a, err := s.masterAddr()
			if err != nil {
				return false, s.name + ": " + err.Error()
			}
			if a == old.pubAddr() {
				return false, s.name + " still reports " + a
			}
			if agreed != "" && a != agreed {
				return false, fmt.Sprintf("%s reports %s, another %s", s.name, a, agreed)
			}
			agreed = a
		}
		nm = e.nodeByPub(agreed)
		if nm == nil {
			return false, "reported master " + agreed + " is no data node"
		}
		return true, ""
	})
	return nm
}

// waitAllReport waits until every answering sentinel reports m.
func (e *sentinelEnv) waitAllReport(m *dataNode, timeout time.Duration) {
	e.t.Helper()
	pollUntil(e.t, "every sentinel to report "+m.name, timeout, 20*time.Millisecond, func() (bool, string) {
		for _, s := range e.sents {
			if !s.answering() {
				continue
			}
			a, err := s.masterAddr()
			if err != nil || a != m.pubAddr() {
				return false, fmt.Sprintf("%s reports %s %v", s.name, a, err)
			}
		}
		return true, ""
	})
}

// waitRole waits until d reports role:master.
func (e *sentinelEnv) waitMasterRole(d *dataNode, timeout time.Duration) {
	e.t.Helper()
	pollUntil(e.t, d.name+" to report role:master", timeout, 20*time.Millisecond, func() (bool, string) {
		m, err := d.info("replication")
		if err != nil {
			return false, err.Error()
		}
		return m["role"] == "master", "role:" + m["role"]
	})
}

// waitReplicaOf waits until d is a replica of m (through m's proxy) with
// its link up.
func (e *sentinelEnv) waitReplicaOf(d, m *dataNode, timeout time.Duration) {
	e.t.Helper()
	pollUntil(e.t, d.name+" to replicate "+m.name, timeout, 50*time.Millisecond, func() (bool, string) {
		r, err := d.info("replication")
		if err != nil {
			return false, err.Error()
		}
		ok := r["role"] == "slave" && r["master_port"] == strconv.Itoa(m.px.Port()) && r["master_link_status"] == "up"
		return ok, fmt.Sprintf("role:%s master_port:%s link:%s", r["role"], r["master_port"], r["master_link_status"])
	})
}

// waitCaughtUp waits until every replica's offset reaches the master's.
func (e *sentinelEnv) waitCaughtUp(m *dataNode, replicas []*dataNode, timeout time.Duration) {
	e.t.Helper()
	mi, err := m.info("replication")
	if err != nil {
		e.t.Fatal(err)
	}
	mo, _ := strconv.ParseInt(mi["master_repl_offset"], 10, 64)
	pollUntil(e.t, "replicas to reach the master's offset", timeout, 10*time.Millisecond, func() (bool, string) {
		for _, d := range replicas {
			ri, err := d.info("replication")
			if err != nil {
				return false, err.Error()
			}
			ro, _ := strconv.ParseInt(ri["master_repl_offset"], 10, 64)
			if ro < mo {
				return false, fmt.Sprintf("%s at %d, master at %d", d.name, ro, mo)
			}
		}
		return true, ""
	})
}

// syncPoint reads the master's offset at the returned time and waits
// until both replicas have it: every write acknowledged before that time
// is on every replica.
func (e *sentinelEnv) syncPoint(m *dataNode, replicas []*dataNode) time.Time {
	e.t.Helper()
	at := time.Now()
	e.waitCaughtUp(m, replicas, 10*time.Second)
	return at
}

// checkOneMaster checks that m is the only live data node that reports
// role:master.
func (e *sentinelEnv) checkOneMaster(m *dataNode) {
	e.t.Helper()
	for _, d := range e.data {
		if !d.srv.Alive() {
			continue
		}
		r, err := d.info("replication")
		if err != nil {
			e.t.Errorf("INFO on %s: %v", d.name, err)
			continue
		}
		if d == m && r["role"] != "master" {
			e.t.Errorf("%s, the master the sentinels report, has role:%s", d.name, r["role"])
		}
		if d != m && r["role"] != "slave" {
			e.t.Errorf("%s reports role:%s besides the master %s", d.name, r["role"], m.name)
		}
	}
}

func procNames(ss []*sentinelProc) string {
	var n []string
	for _, s := range ss {
		n = append(n, s.name)
	}
	return strings.Join(n, ",")
}

// ---------------------------------------------------------------------
// What the sentinels report

// masterWatch polls GET-MASTER-ADDR-BY-NAME on every answering sentinel
// every 50 ms and keeps, per sentinel, the sequence of addresses it
// reported (consecutive repeats folded).
type masterWatch struct {
	e    *sentinelEnv
	mu   sync.Mutex
	hist map[string][]reported
	stop chan struct{}
	done chan struct{}
}

type reported struct {
	at   time.Time
	addr string
}

func startMasterWatch(t *testing.T, e *sentinelEnv) *masterWatch {
	w := &masterWatch{e: e, hist: map[string][]reported{}, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	t.Cleanup(w.close)
	return w
}

func (w *masterWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *masterWatch) loop() {
	defer close(w.done)
	conns := map[string]*Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		for _, s := range w.e.sents {
			if !s.answering() {
				if c := conns[s.name]; c != nil {
					c.Close()
					delete(conns, s.name)
				}
				continue
			}
			c := conns[s.name]
			if c == nil {
				var err error
				if c, err = dialConn(s.addr(), 500*time.Millisecond); err != nil {
					continue
				}
				conns[s.name] = c
			}
			r, err := c.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentMaster)
			if err != nil {
				c.Close()
				delete(conns, s.name)
				continue
			}
			addr := "<" + r.String() + ">"
			if !r.IsError() && len(r.Elems) == 2 {
				addr = r.Elems[0].Str + ":" + r.Elems[1].Str
			}
			w.mu.Lock()
			h := w.hist[s.name]
			if len(h) == 0 || h[len(h)-1].addr != addr {
				w.hist[s.name] = append(h, reported{time.Now(), addr})
			}
			w.mu.Unlock()
		}
	}
}

// check fails the test if a sentinel reported an address outside order
// or went back to an earlier one: each sentinel's reports must follow
// order (a prefix of it, skipping allowed). So a failover is reported
// once, and a returning old master is never reported again.
func (w *masterWatch) check(t testing.TB, order ...string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, h := range w.hist {
		pos := 0
		for _, r := range h {
			i := indexOf(order, r.addr)
			if i < 0 {
				t.Errorf("sentinel %s reported master %s at %s, expected only %v", name, r.addr, r.at.Format("15:04:05.000"), order)
				continue
			}
			if i < pos {
				t.Errorf("sentinel %s went back to reporting %s at %s (two masters)", name, r.addr, r.at.Format("15:04:05.000"))
			}
			pos = max(pos, i)
		}
	}
}

// firstReport returns when sentinel name first reported addr.
func (w *masterWatch) firstReport(name, addr string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.hist[name] {
		if r.addr == addr {
			return r.at, true
		}
	}
	return time.Time{}, false
}

func (w *masterWatch) dump(t0 time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	var names []string
	for n := range w.hist {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, r := range w.hist[n] {
			fmt.Fprintf(&b, "  %8.3fs %s %s\n", r.at.Sub(t0).Seconds(), n, r.addr)
		}
	}
	return b.String()
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// ---------------------------------------------------------------------
// Events

// sentinelEvent is one message a sentinel published on an event channel.
type sentinelEvent struct {
	at       time.Time
	sentinel string
	channel  string
	msg      string
}

// eventLog subscribes (PSUBSCRIBE *) to every sentinel, directly, and
// resubscribes to a restarted one.
type eventLog struct {
	mu    sync.Mutex
	evs   []sentinelEvent
	hooks []func(sentinelEvent)
	stop  chan struct{}
	wg    sync.WaitGroup
	conns map[*Conn]bool
}

func startEventLog(t *testing.T, e *sentinelEnv) *eventLog {
	l := &eventLog{stop: make(chan struct{}), conns: map[*Conn]bool{}}
	for _, s := range e.sents {
		l.wg.Add(1)
		go l.follow(s)
	}
	t.Cleanup(func() {
		close(l.stop)
		l.mu.Lock()
		for c := range l.conns {
			c.Close()
		}
		l.mu.Unlock()
		l.wg.Wait()
	})
	return l
}

func (l *eventLog) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

func (l *eventLog) follow(s *sentinelProc) {
	defer l.wg.Done()
	for !l.stopped() {
		if !s.answering() {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		c, err := dialConn(s.addr(), time.Second)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		l.mu.Lock()
		if l.stopped() {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.conns[c] = true
		l.mu.Unlock()
		if err := c.Send("PSUBSCRIBE", "*"); err == nil {
			for {
				// Sentinels publish rarely: no read deadline, the
				// connection closes when the sentinel dies or at cleanup.
				c.nc.SetReadDeadline(time.Time{})
				r, err := ReadReply(c.br)
				if err != nil {
					break
				}
				if len(r.Elems) == 4 && r.Elems[0].Str == "pmessage" {
					ev := sentinelEvent{time.Now(), s.name, r.Elems[2].Str, r.Elems[3].Str}
					l.mu.Lock()
					l.evs = append(l.evs, ev)
					hooks := append([]func(sentinelEvent){}, l.hooks...)
					l.mu.Unlock()
					for _, h := range hooks {
						h(ev)
					}
				}
			}
		}
		c.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// onEvent adds a hook run (on the subscriber's goroutine) for each event.
func (l *eventLog) onEvent(h func(sentinelEvent)) {
	l.mu.Lock()
	l.hooks = append(l.hooks, h)
	l.mu.Unlock()
}

// find returns the events matching pred.
func (l *eventLog) find(pred func(sentinelEvent) bool) []sentinelEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []sentinelEvent
	for _, ev := range l.evs {
		if pred(ev) {
			out = append(out, ev)
		}
	}
	return out
}

// first returns the first event on channel after t.
func (l *eventLog) first(channel string, after time.Time) (sentinelEvent, bool) {
	evs := l.find(func(ev sentinelEvent) bool { return ev.channel == channel && !ev.at.Before(after) })
	if len(evs) == 0 {
		return sentinelEvent{}, false
	}
	return evs[0], true
}

func (l *eventLog) dump(t0 time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.evs {
		if ev.channel == "__sentinel__:hello" {
			continue
		}
		fmt.Fprintf(&b, "  %8.3fs %s %s %s\n", ev.at.Sub(t0).Seconds(), ev.sentinel, ev.channel, ev.msg)
	}
	return b.String()
}

// ---------------------------------------------------------------------
// Clients

// writeLog records what one client wrote: key "<prefix>:<n>" for n = 1,
// 2, ..., and which of those writes were acknowledged, when.
type writeLog struct {
	name   string
	prefix string
	mu     sync.Mutex
	acks   []writeAck
	errs   int
	last   string // last error
	stopFn func()
}

// writeAck is one acknowledged write: when the client sent it (its first
// attempt) and when the reply arrived.
type writeAck struct {
	seq  int
	sent time.Time
	at   time.Time
}

func (w *writeLog) ack(seq int, sent, at time.Time) {
	w.mu.Lock()
	w.acks = append(w.acks, writeAck{seq, sent, at})
	w.mu.Unlock()
}

func (w *writeLog) fail(err string) {
	w.mu.Lock()
	w.errs++
	w.last = err
	w.mu.Unlock()
}

func (w *writeLog) snapshot() ([]writeAck, int, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]writeAck(nil), w.acks...), w.errs, w.last
}

// firstAckAfter returns the first acknowledgement later than t.
func (w *writeLog) firstAckAfter(t time.Time) (time.Time, bool) {
	acks, _, _ := w.snapshot()
	for _, a := range acks {
		if a.at.After(t) {
			return a.at, true
		}
	}
	return time.Time{}, false
}

// waitAcks waits until n writes were acknowledged after t.
func (w *writeLog) waitAcksAfter(tb testing.TB, t time.Time, n int, timeout time.Duration) {
	tb.Helper()
	pollUntil(tb, fmt.Sprintf("%s to have %d writes acknowledged", w.name, n), timeout, 10*time.Millisecond, func() (bool, string) {
		acks, errs, last := w.snapshot()
		c := 0
		for _, a := range acks {
			if a.at.After(t) {
				c++
			}
		}
		return c >= n, fmt.Sprintf("%d acknowledged, %d errors, last error %q", c, errs, last)
	})
}

func (w *writeLog) stop() { w.stopFn() }

// startGoWriter runs a go-redis FailoverClient with default options that
// SETs a new key every 10 ms. It is given the sentinels sents (all of
// them when nil).
func startGoWriter(t *testing.T, e *sentinelEnv, prefix string, sents []*sentinelProc) *writeLog {
	w := &writeLog{name: "go-redis FailoverClient", prefix: prefix}
	addrs := e.sentinelPubAddrs()
	if sents != nil {
		addrs = nil
		for _, s := range sents {
			addrs = append(addrs, s.pubAddr())
		}
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentMaster, SentinelAddrs: addrs})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for seq := 1; ; seq++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			sent := time.Now()
			err := c.Set(context.Background(), prefix+":"+strconv.Itoa(seq), seq, 0).Err()
			if err != nil {
				w.fail(err.Error())
			} else {
				w.ack(seq, sent, time.Now())
			}
		}
	}()
	var once sync.Once
	w.stopFn = func() {
		once.Do(func() {
			close(stop)
			select {
			case <-done:
				c.Close()
				return
			case <-time.After(3 * time.Second):
			}
			// A write is still in flight, e.g. retrying against a sentinel
			// that accepts connections and never answers (go-redis's
			// defaults: 3 s read timeout, 3 retries, per sentinel query):
			// closing the client fails it.
			t.Logf("go-redis writer still blocked 3 s after stop; closing the client")
			c.Close()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("go-redis writer still blocked 10 s after its client was closed")
			}
		})
	}
	t.Cleanup(w.stopFn)
	return w
}

// pyWriter is the redis-py client: it SETs a new key every 10 ms through
// Sentinel.master_for and prints "A <n> <sent ms> <ms>" for each
// acknowledged write and "E <n> <ms> <error>" for each failed one; it stops when stdin
// closes. The timeouts are its only settings (redis-py's default is to
// wait forever on a silent socket).
const pyWriterScript = `
import sys, threading, time
from redis.sentinel import Sentinel

addrs = [(a.rsplit(':', 1)[0], int(a.rsplit(':', 1)[1])) for a in sys.argv[1].split(',')]
prefix = sys.argv[2]
stop = threading.Event()

def watch_stdin():
    sys.stdin.read()
    stop.set()

threading.Thread(target=watch_stdin, daemon=True).start()
sentinel = Sentinel(addrs, socket_timeout=0.5)
master = sentinel.master_for('` + sentMaster + `', socket_timeout=0.5)
seq = 0
while not stop.is_set():
    seq += 1
    sent = time.time() * 1000
    try:
        master.set('%s:%d' % (prefix, seq), seq)
        print('A %d %.3f %.3f' % (seq, sent, time.time() * 1000), flush=True)
    except Exception as e:
        print('E %d %.3f %s: %s' % (seq, time.time() * 1000, type(e).__name__, str(e).replace('\n', ' ')), flush=True)
    stop.wait(0.01)
print('X', flush=True)
`

// startPyWriter runs the redis-py writer.
func startPyWriter(t *testing.T, e *sentinelEnv, prefix string) *writeLog {
	t.Helper()
	if err := pythonRedisErr(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "writer.py")
	if err := os.WriteFile(script, []byte(pyWriterScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pythonBin, script, strings.Join(e.sentinelPubAddrs(), ","), prefix)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.lab.register(cmd.Process.Pid, "client")
	w := &writeLog{name: "redis-py Sentinel", prefix: prefix}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.SplitN(sc.Text(), " ", 4)
			if len(f) < 3 {
				continue
			}
			seq, _ := strconv.Atoi(f[1])
			ms, _ := strconv.ParseFloat(f[2], 64)
			at := time.UnixMicro(int64(ms * 1000))
			switch f[0] {
			case "A":
				sent := at
				if len(f) == 4 {
					ams, _ := strconv.ParseFloat(f[3], 64)
					at = time.UnixMicro(int64(ams * 1000))
				}
				w.ack(seq, sent, at)
			case "E":
				msg := ""
				if len(f) == 4 {
					msg = f[3]
				}
				w.fail(msg)
			}
		}
		cmd.Wait()
	}()
	var once sync.Once
	w.stopFn = func() {
		once.Do(func() {
			stdin.Close()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Errorf("redis-py writer did not stop 10 s after stdin closed; stderr:\n%s", stderr.String())
			}
			if s := stderr.String(); s != "" {
				t.Logf("redis-py writer stderr:\n%s", s)
			}
		})
	}
	t.Cleanup(w.stopFn)
	return w
}

// lossReport classifies a client's acknowledged writes by whether they
// are on master now: acknowledged before syncAt (on every replica before
// the fault: must be there), sent after faultAt (the moment the fault was
// complete: the old master can't have taken them, so they must be there),
// and the rest (may be lost in async replication: counted). A write's
// reply may arrive after the fault although the old master took it
// before, so the last group goes by the time the write was sent.
type lossReport struct {
	acked, errs                       int
	before, window, after             int
	lostBefore, lostWindow, lostAfter []int
}

func checkWrites(t testing.TB, w *writeLog, m *dataNode, syncAt, faultAt time.Time) lossReport {
	t.Helper()
	acks, errs, _ := w.snapshot()
	var rep lossReport
	rep.acked, rep.errs = len(acks), errs
	c, err := dialConn(m.srv.Addr(), 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", m.name, err)
	}
	defer c.Close()
	for i := 0; i < len(acks); i += 200 {
		batch := acks[i:min(i+200, len(acks))]
		argv := []string{"MGET"}
		for _, a := range batch {
			argv = append(argv, w.prefix+":"+strconv.Itoa(a.seq))
		}
		r, err := c.Do(argv...)
		if err != nil || len(r.Elems) != len(batch) {
			t.Fatalf("MGET on %s: %v %s", m.name, err, r)
		}
		for j, a := range batch {
			lost := r.Elems[j].Null || r.Elems[j].Str != strconv.Itoa(a.seq)
			switch {
			case a.at.Before(syncAt):
				rep.before++
				if lost {
					rep.lostBefore = append(rep.lostBefore, a.seq)
				}
			case !a.sent.After(faultAt):
				rep.window++
				if lost {
					rep.lostWindow = append(rep.lostWindow, a.seq)
				}
			default:
				rep.after++
				if lost {
					rep.lostAfter = append(rep.lostAfter, a.seq)
				}
			}
		}
	}
	return rep
}

func (r lossReport) String() string {
	return fmt.Sprintf("%d writes acknowledged (%d errors): %d before the sync point, lost %d; %d between sync point and fault, lost %d; %d after the fault, lost %d",
		r.acked, r.errs, r.before, len(r.lostBefore), r.window, len(r.lostWindow), r.after, len(r.lostAfter))
}

func firstN(s []int, n int) []int {
	if len(s) > n {
		return s[:n]
	}
	return s
}
