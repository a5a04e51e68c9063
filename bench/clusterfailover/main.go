// Command clusterfailover measures automatic cluster failover, skiff
// against Redis in the same run on the same machine: six `skiff server
// --cluster-enabled yes` nodes and six `redis-server --cluster-enabled yes`
// nodes, each formed by `redis-cli --cluster create --cluster-replicas 1`
// with cluster-node-timeout given at start (and set again after
// formation), alternating run by run on
// fresh nodes. Each run kills -9 a master while a go-redis ClusterClient
// writes to keys spread over every slot, and measures kill -> first
// acknowledged write to the dead master's slots, errors on the other
// masters' slots, and acknowledged writes the promoted replica does not
// hold; then restarts the killed node and times until it is a replica in
// sync. See bench/README.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/bench/internal/server"
	"github.com/skiffdb/skiff/slots"
)

// quiet drops go-redis's log lines (failed dials while the master is
// down), which would interleave with the table.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...interface{}) {}

func main() {
	redis.SetLogger(quiet{})
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clusterfailover:", err)
		os.Exit(1)
	}
}

type options struct {
	skiff, redis, cli string
	runs              int
	timeoutMs         int
	keys              int
	stacks            []string
	logs              string
}

func run() error {
	var o options
	stacks := ""
	flag.StringVar(&o.skiff, "skiff", "bin/skiff", "skiff binary")
	flag.StringVar(&o.redis, "redis", "redis-server", "redis-server binary")
	flag.StringVar(&o.cli, "redis-cli", "redis-cli", "redis-cli binary (forms both clusters)")
	flag.IntVar(&o.runs, "runs", 10, "failovers per stack")
	flag.IntVar(&o.timeoutMs, "timeout-ms", 1000, "cluster-node-timeout, given to every node at start and set again after formation")
	flag.IntVar(&o.keys, "keys", 600, "keys written, spread over all 16384 slots")
	flag.StringVar(&stacks, "stacks", "skiff,redis", "which stacks to measure")
	flag.StringVar(&o.logs, "logs", "", "keep each node's log in this directory (<stack>-<run>-n<i>.log)")
	flag.Parse()
	o.stacks = strings.Split(stacks, ",")
	if o.keys < 30 {
		return errors.New("--keys must be at least 30")
	}
	for _, p := range []*string{&o.skiff, &o.redis, &o.cli} {
		path, err := exec.LookPath(*p)
		if err != nil {
			return fmt.Errorf("%s not found (make builds bin/skiff; apt-get install redis-server redis-tools): %w", *p, err)
		}
		if path, err = filepath.Abs(path); err != nil {
			return err
		}
		*p = path
	}
	if o.logs != "" {
		if err := os.MkdirAll(o.logs, 0o755); err != nil {
			return err
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		reg.stopAll()
		os.Exit(130)
	}()
	defer reg.stopAll()

	fmt.Printf("skiff %s vs %s; 6 nodes (3 masters, 1 replica each) formed by redis-cli --cluster create, fresh per run\n", o.skiff, o.redis)
	fmt.Printf("cluster-node-timeout %d (at start, and set again after formation); go-redis ClusterClient (DialerRetries 1, 500 ms per write, ReloadState after an error) SETs %d keys over all slots; WAIT 1 fence, kill -9 of a master (the masters in turn); %d runs per stack, alternating\n",
		o.timeoutMs, o.keys, o.runs)
	fmt.Printf("uptime before: %s\n", uptime())
	results := map[string][]runResult{}
	for i := 0; i < o.runs; i++ {
		for _, k := range o.stacks {
			r, err := failoverRun(o, k, i+1)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", k, i+1, err)
			}
			results[k] = append(results[k], r)
			fmt.Printf("  run %2d %-5s kill->ack %5d ms  healthy-shard errors %3d  dead-shard errors %4d  behind %d of %d (fenced %d)  rejoin %s  writes %6d%s\n",
				i+1, k, r.firstAck.Milliseconds(), r.healthyErrs, r.deadErrs, r.behind, r.checked, r.fencedLost,
				r.rejoinText(), r.writes, r.note)
		}
	}
	fmt.Printf("uptime after: %s\n", uptime())
	printTable(o, results)
	return nil
}

func uptime() string {
	b, err := exec.Command("uptime").Output()
	if err != nil {
		b, _ = os.ReadFile("/proc/loadavg")
	}
	return strings.TrimSpace(string(b))
}

// ---------------------------------------------------------------------
// Processes

// registry stops every process on exit or interrupt.
type registry struct {
	mu    sync.Mutex
	nodes map[*node]bool
}

var reg registry

func (g *registry) add(n *node) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.nodes == nil {
		g.nodes = map[*node]bool{}
	}
	g.nodes[n] = true
}

func (g *registry) done(n *node) {
	g.mu.Lock()
	delete(g.nodes, n)
	g.mu.Unlock()
	n.remove()
}

func (g *registry) stopAll() {
	g.mu.Lock()
	nodes := g.nodes
	g.nodes = nil
	g.mu.Unlock()
	for n := range nodes {
		n.remove()
	}
}

// node is one cluster node with fixed ports and directory, so that it can
// be killed and started again as the same node.
type node struct {
	kind  string
	bin   string
	port  int
	bus   int // redis: cluster bus port; skiff: raft port
	admin int // skiff only
	dir   string
	keep  string // copy the log here when removing
	// timeoutMs is cluster-node-timeout, given at start: a skiff node
	// derives its Raft timeouts from it when it joins the group, as a
	// user's config file would make it.
	timeoutMs int

	cmd    *exec.Cmd
	exited chan struct{}
}

func (n *node) addr() string    { return "127.0.0.1:" + strconv.Itoa(n.port) }
func (n *node) logPath() string { return filepath.Join(n.dir, "server.log") }

func (n *node) args() []string {
	common := []string{"--port", strconv.Itoa(n.port), "--bind", "127.0.0.1", "--dir", n.dir,
		"--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "1", "--cluster-enabled", "yes",
		"--loglevel", "notice", "--cluster-node-timeout", strconv.Itoa(n.timeoutMs)}
	if n.kind == "skiff" {
		return append(append([]string{"server"}, common...),
			"--raft-port", strconv.Itoa(n.bus), "--admin-port", strconv.Itoa(n.admin))
	}
	return append(common, "--cluster-config-file", "nodes.conf", "--cluster-port", strconv.Itoa(n.bus))
}

// start runs the process (again, appending to its log) and waits until it
// answers PING (skiff: and its admin API answers).
func (n *node) start() error {
	logf, err := os.OpenFile(n.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s start %s\n", time.Now().UTC().Format("15:04:05.000"), strings.Join(n.args(), " "))
	n.cmd = exec.Command(n.bin, n.args()...)
	n.cmd.Dir = n.dir
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.bin, err)
	}
	exited := make(chan struct{})
	n.exited = exited
	go func(cmd *exec.Cmd) { cmd.Wait(); logf.Close(); close(exited) }(n.cmd)
	return waitFor(n.kind+" node "+n.addr()+" ready", 20*time.Second, func() (bool, string) {
		select {
		case <-exited:
			return false, "exited:\n" + tail(n.logPath())
		default:
		}
		if r, err := do(n.addr(), "PING"); err != nil || r != "PONG" {
			return false, fmt.Sprint(r, err)
		}
		if n.kind == "skiff" {
			if _, err := adminStatus(n); err != nil {
				return false, err.Error()
			}
		}
		return true, ""
	})
}

func (n *node) alive() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits until the process is reaped.
func (n *node) kill() {
	if n.alive() {
		n.cmd.Process.Kill()
		<-n.exited
	}
}

// remove kills the node, keeps its log if asked to, and removes its dir.
func (n *node) remove() {
	n.kill()
	if n.keep != "" {
		if b, err := os.ReadFile(n.logPath()); err == nil {
			os.WriteFile(n.keep, b, 0o644)
		}
	}
	os.RemoveAll(n.dir)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

var portsTaken = map[int]bool{}

func portFree(p int) bool {
	if portsTaken[p] {
		return false
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// pickPorts returns n free ports between 12000 and 32000, below the
// ephemeral range, and never hands one out twice: a killed node gets its
// own ports back when it restarts, whatever the other nodes bound since.
func pickPorts(n int) ([]int, error) {
	var out []int
	for tries := 0; len(out) < n && tries < 1000; tries++ {
		p := 12000 + rand.Intn(20000)
		if portFree(p) {
			portsTaken[p] = true
			out = append(out, p)
		}
	}
	if len(out) < n {
		return nil, errors.New("no free ports")
	}
	return out, nil
}

// adminStatus reads a skiff node's Raft status from its admin API.
func adminStatus(n *node) (raftStatus, error) {
	var st raftStatus
	addr := "127.0.0.1:" + strconv.Itoa(n.admin)
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return st, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET /status HTTP/1.0\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		return st, err
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return st, err
	}
	head, body, _ := strings.Cut(string(b), "\r\n\r\n")
	if !strings.Contains(strings.SplitN(head, "\r\n", 2)[0], " 200") {
		return st, fmt.Errorf("admin /status: %s", strings.SplitN(head, "\r\n", 2)[0])
	}
	err = json.Unmarshal([]byte(body), &st)
	return st, err
}

type raftStatus struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	LeaderID string `json:"leader_id"`
}

// ---------------------------------------------------------------------
// A tiny RESP client

func readReply(br *bufio.Reader) (any, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty reply line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return nil, errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = readReply(br); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown reply %q", line)
}

// do sends one command on a new connection.
func do(addr string, args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(6 * time.Second))
	if _, err := c.Write(server.Encode(nil, args...)); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(c))
}

// infoMap returns INFO <section> of addr as a map.
func infoMap(addr, section string) map[string]string {
	m := map[string]string{}
	r, err := do(addr, "INFO", section)
	s, _ := r.(string)
	if err != nil {
		return m
	}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

func waitFor(what string, timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s (last: %s)", timeout, what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------
// Topology

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, flags, master string
	connected               bool
	slots                   int
}

func clusterNodes(addr string) ([]clusterNode, error) {
	r, err := do(addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	text, _ := r.(string)
	var out []clusterNode
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		a, _, _ := strings.Cut(f[1], "@")
		cn := clusterNode{id: f[0], addr: a, flags: f[2], master: f[3], connected: f[7] == "connected"}
		for _, rng := range f[8:] {
			if strings.HasPrefix(rng, "[") {
				continue // a slot being migrated or imported
			}
			lo, hi, ok := strings.Cut(rng, "-")
			if !ok {
				hi = lo
			}
			a, err1 := strconv.Atoi(lo)
			b, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil {
				cn.slots += b - a + 1
			}
		}
		out = append(out, cn)
	}
	return out, nil
}

func (c clusterNode) isMaster() bool { return strings.Contains(c.flags, "master") }

// slotOwners returns slot -> master address from CLUSTER SLOTS on addr.
func slotOwners(addr string) ([]string, error) {
	r, err := do(addr, "CLUSTER", "SLOTS")
	if err != nil {
		return nil, err
	}
	owners := make([]string, slots.Count)
	rows, _ := r.([]any)
	for _, row := range rows {
		f, _ := row.([]any)
		if len(f) < 3 {
			continue
		}
		lo, _ := strconv.Atoi(fmt.Sprint(f[0]))
		hi, _ := strconv.Atoi(fmt.Sprint(f[1]))
		m, _ := f[2].([]any)
		if len(m) < 2 || lo < 0 || hi >= slots.Count {
			continue
		}
		a := net.JoinHostPort(fmt.Sprint(m[0]), fmt.Sprint(m[1]))
		for s := lo; s <= hi; s++ {
			owners[s] = a
		}
	}
	for s, a := range owners {
		if a == "" {
			return nil, fmt.Errorf("slot %d not served (as %s sees it)", s, addr)
		}
	}
	return owners, nil
}

// ---------------------------------------------------------------------
// One cluster

type cluster struct {
	kind   string
	nodes  []*node
	byAddr map[string]*node
}

func (c *cluster) close() {
	for _, n := range c.nodes {
		reg.done(n)
	}
}

func (c *cluster) addrs() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.addr())
	}
	return out
}

// startCluster starts six nodes, forms a cluster of three masters with a
// replica each with redis-cli, waits until every node agrees on it and
// every replica is in sync, and then sets cluster-node-timeout.
func startCluster(o options, kind, tag string) (*cluster, error) {
	c := &cluster{kind: kind, byAddr: map[string]*node{}}
	bin := o.redis
	if kind == "skiff" {
		bin = o.skiff
	}
	for i := 0; i < 6; i++ {
		ports, err := pickPorts(3)
		if err != nil {
			c.close()
			return nil, err
		}
		dir, err := os.MkdirTemp("", "skiff-bench-clusterfailover-"+kind+"-")
		if err != nil {
			c.close()
			return nil, err
		}
		n := &node{kind: kind, bin: bin, port: ports[0], bus: ports[1], admin: ports[2], dir: dir, timeoutMs: o.timeoutMs}
		if o.logs != "" {
			n.keep = filepath.Join(o.logs, fmt.Sprintf("%s-%s-n%d.log", kind, tag, i+1))
		}
		reg.add(n)
		c.nodes = append(c.nodes, n)
		c.byAddr[n.addr()] = n
		if err := n.start(); err != nil {
			c.close()
			return nil, err
		}
	}
	args := append([]string{"--cluster", "create"}, c.addrs()...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	out, err := exec.CommandContext(ctx, o.cli, args...).CombinedOutput()
	cancel()
	if err != nil || !strings.Contains(string(out), "[OK] All 16384 slots covered.") || strings.Contains(string(out), "[ERR]") {
		c.close()
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	err = waitFor("every node sees 3 masters with a replica each, cluster_state ok, replicas in sync", 60*time.Second, func() (bool, string) {
		for _, n := range c.nodes {
			if m := infoMap(n.addr(), "cluster"); m["cluster_enabled"] != "1" {
				return false, n.addr() + ": INFO cluster " + fmt.Sprint(m)
			}
			r, err := do(n.addr(), "CLUSTER", "INFO")
			if s, _ := r.(string); err != nil || !strings.Contains(s, "cluster_state:ok") {
				return false, fmt.Sprintf("%s: CLUSTER INFO %v %v", n.addr(), err, r)
			}
			cns, err := clusterNodes(n.addr())
			if err != nil {
				return false, n.addr() + ": " + err.Error()
			}
			masters, replicas := 0, map[string]int{}
			for _, cn := range cns {
				if strings.Contains(cn.flags, "fail") || !cn.connected && !strings.Contains(cn.flags, "myself") {
					return false, fmt.Sprintf("%s sees %s %s", n.addr(), cn.addr, cn.flags)
				}
				if cn.isMaster() && cn.slots > 0 {
					masters++
				} else if !cn.isMaster() {
					replicas[cn.master]++
				}
			}
			if masters != 3 || len(replicas) != 3 {
				return false, fmt.Sprintf("%s sees %d masters with slots, replicas %v", n.addr(), masters, replicas)
			}
			if m := infoMap(n.addr(), "replication"); m["role"] != "master" && m["master_link_status"] != "up" {
				return false, n.addr() + ": role " + m["role"] + " link " + m["master_link_status"]
			}
		}
		return true, ""
	})
	if err != nil {
		c.close()
		return nil, err
	}
	// The short node timeout only once the cluster is formed (for both
	// servers): a node busy with its first full sync on a loaded machine
	// may miss probes for a second, and a FAIL flag in the middle of
	// redis-cli's create makes it skip that node.
	for _, n := range c.nodes {
		if r, err := do(n.addr(), "CONFIG", "SET", "cluster-node-timeout", strconv.Itoa(o.timeoutMs)); err != nil || r != "OK" {
			c.close()
			return nil, fmt.Errorf("CONFIG SET cluster-node-timeout on %s: %v %v", n.addr(), r, err)
		}
	}
	// Let the failure detectors settle on the new timeout: until then a
	// peer's last answer can be as old as the probe interval of the old
	// timeout (skiff probes every tenth of it, at most every second), and
	// a kill right away is suspected sooner than the timeout after it.
	time.Sleep(max(2*time.Second, 2*time.Duration(o.timeoutMs)*time.Millisecond))
	return c, nil
}

// ---------------------------------------------------------------------
// The writer

// writer SETs keys round robin through a go-redis ClusterClient and
// records, per key, the last acknowledged value, and errors per shard (the
// master that owned the key when the run began).
type writer struct {
	cc    *redis.ClusterClient
	keys  []string
	shard []string // key index -> owner before the kill
	skip  []bool   // key index -> not written after the kill

	killed   atomic.Int64 // UnixNano when the victim was reaped; 0 before
	victim   string
	mu       sync.Mutex
	acked    []int64
	ackedAt  []time.Time
	errs     map[string]int
	firstErr map[string]string
	// firstVictimAck is the first acknowledged write to the victim's keys
	// that was sent after the victim was reaped.
	firstVictimAck time.Time
	postAcked      map[int]bool // victim key index -> acknowledged after the kill
	writes         atomic.Int64
	seq            atomic.Int64
	stop, done     chan struct{}
	trace          []event // with --logs: every write
	tracing        bool
}

// event is one write, for the --logs trace.
type event struct {
	sent, at time.Time
	key      int
	err      error
}

func newWriter(addrs, keys, shard []string, victim string, skip []bool, tracing bool) *writer {
	w := &writer{
		tracing: tracing,
		// One dial attempt per try (go-redis's default is 5, 100 ms apart).
		cc:        redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialerRetries: 1}),
		keys:      keys,
		shard:     shard,
		skip:      skip,
		victim:    victim,
		acked:     make([]int64, len(keys)),
		ackedAt:   make([]time.Time, len(keys)),
		errs:      map[string]int{},
		firstErr:  map[string]string{},
		postAcked: map[int]bool{},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	go w.run()
	return w
}

// run writes with one goroutine per shard (the keys of one master before
// the kill), all through the one ClusterClient, each at most one SET per
// millisecond: a write stuck on the dead master (go-redis's retries make
// each failed attempt take about 100 ms) does not hold up the other
// shards' writes, which must go on all through the failover.
func (w *writer) run() {
	defer close(w.done)
	byShard := map[string][]int{}
	var order []string
	for i, s := range w.shard {
		if byShard[s] == nil {
			order = append(order, s)
		}
		byShard[s] = append(byShard[s], i)
	}
	var wg sync.WaitGroup
	for _, s := range order {
		wg.Add(1)
		go func(idx []int) {
			defer wg.Done()
			w.writeLoop(idx)
		}(byShard[s])
	}
	wg.Wait()
}

func (w *writer) writeLoop(idx []int) {
	ctx := context.Background()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		i := idx[n%len(idx)]
		killed := w.killed.Load()
		if killed != 0 && w.skip[i] {
			continue
		}
		seq := w.seq.Add(1) // one goroutine per key: a key's values only grow
		sent := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := w.cc.Set(cctx, w.keys[i], seq, 0).Err()
		cancel()
		now := time.Now()
		w.mu.Lock()
		if w.tracing {
			w.trace = append(w.trace, event{sent, now, i, err})
		}
		if err == nil {
			w.acked[i] = seq
			w.ackedAt[i] = now
			if killed != 0 && sent.UnixNano() > killed && w.shard[i] == w.victim {
				w.postAcked[i] = true
				if w.firstVictimAck.IsZero() {
					w.firstVictimAck = now
				}
			}
		} else {
			w.errs[w.shard[i]]++
			if w.firstErr[w.shard[i]] == "" {
				w.firstErr[w.shard[i]] = now.UTC().Format("15:04:05.000") + " " + err.Error()
			}
		}
		w.mu.Unlock()
		w.writes.Add(1)
		if err != nil {
			// go-redis does not reload its slot map after a connection
			// error, only after MOVED: without this it would keep sending
			// the dead master's slots to the dead master.
			w.cc.ReloadState(ctx)
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (w *writer) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.cc.Close()
}

// writeTrace writes the writes from a second before the kill on: sent and
// acknowledged (ms from the kill), key, its shard, and the outcome.
func writeTrace(path string, w *writer, killAt time.Time) {
	var b strings.Builder
	fmt.Fprintf(&b, "# kill at %s; ms from the kill: sent, done; key; shard (owner before the kill); outcome\n", killAt.UTC().Format("15:04:05.000"))
	for _, e := range w.trace {
		if e.at.Before(killAt.Add(-time.Second)) {
			continue
		}
		out := "ok"
		if e.err != nil {
			out = "ERR " + e.err.Error()
		}
		tag := ""
		if w.shard[e.key] == w.victim {
			tag = " (dead)"
		}
		fmt.Fprintf(&b, "%8.1f %8.1f %s %s%s %s\n", ms(e.sent.Sub(killAt)), ms(e.at.Sub(killAt)), w.keys[e.key], w.shard[e.key], tag, out)
	}
	os.WriteFile(path, []byte(b.String()), 0o644)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// spreadKeys returns n keys whose slots spread over the whole range.
func spreadKeys(n int) []string {
	var out []string
	for i := 0; len(out) < n && i < 10000000; i++ {
		k := "fo:" + strconv.Itoa(i)
		if slots.KeySlotString(k)*n/slots.Count == len(out) {
			out = append(out, k)
		}
	}
	return out
}

// ---------------------------------------------------------------------
// One failover

type runResult struct {
	firstAck    time.Duration
	healthyErrs int
	deadErrs    int
	behind      int // dead master's keys behind their last acknowledged value
	fencedLost  int // of those, keys behind a value acknowledged before the WAIT fence
	checked     int
	rejoin      time.Duration // restart -> replica of the new master, link up; <0: did not
	writes      int64
	note        string
}

func (r runResult) rejoinText() string {
	if r.rejoin < 0 {
		return "  none"
	}
	return fmt.Sprintf("%4d ms", r.rejoin.Milliseconds())
}

func failoverRun(o options, kind string, n int) (runResult, error) {
	var res runResult
	c, err := startCluster(o, kind, strconv.Itoa(n))
	if err != nil {
		return res, err
	}
	defer c.close()

	keys := spreadKeys(o.keys)
	owners, err := slotOwners(c.nodes[0].addr())
	if err != nil {
		return res, err
	}
	shard := make([]string, len(keys))
	for i, k := range keys {
		shard[i] = owners[slots.KeySlotString(k)]
	}
	// The masters in turn, by their first slot: run n kills the
	// ((n-1) mod 3)th, for both servers alike.
	var masters []string
	for s := 0; s < slots.Count; s++ {
		if s == 0 || owners[s] != owners[s-1] {
			masters = append(masters, owners[s])
		}
	}
	if len(masters) != 3 {
		return res, fmt.Errorf("slot ranges of %d masters, want 3: %v", len(masters), masters)
	}
	victimAddr := masters[(n-1)%3]
	victim := c.byAddr[victimAddr]
	cns, err := clusterNodes(victimAddr)
	if err != nil {
		return res, err
	}
	var victimID, replicaAddr string
	for _, cn := range cns {
		if cn.addr == victimAddr {
			victimID = cn.id
		}
	}
	for _, cn := range cns {
		if !cn.isMaster() && cn.master == victimID {
			replicaAddr = cn.addr
		}
	}
	if victim == nil || c.byAddr[replicaAddr] == nil {
		return res, fmt.Errorf("victim %s or its replica %q unknown", victimAddr, replicaAddr)
	}
	// Half of the dead master's keys are not written after the kill, so
	// that their last acknowledged values, from before the kill, are not
	// overwritten before they are checked on the new master; the other
	// half measure when writes go through again.
	skip := make([]bool, len(keys))
	odd := false
	for i := range keys {
		if shard[i] == victimAddr {
			skip[i] = odd
			odd = !odd
		}
	}

	w := newWriter(c.addrs(), keys, shard, victimAddr, skip, o.logs != "")
	defer w.close()
	// Writes go on until every key was acknowledged once and 1000 writes
	// were made, then a fence: WAIT on the victim makes sure everything
	// acknowledged so far is on its replica.
	err = waitFor("every key written once", 30*time.Second, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for i := range keys {
			if w.acked[i] == 0 {
				return false, fmt.Sprintf("%s not acknowledged yet; errors %v", keys[i], w.firstErr)
			}
		}
		return w.writes.Load() >= 1000, ""
	})
	if err != nil {
		return res, err
	}
	w.mu.Lock()
	fenced := append([]int64(nil), w.acked...)
	w.mu.Unlock()
	if r, err := do(victimAddr, "WAIT", "1", "5000"); err != nil || r != "1" {
		return res, fmt.Errorf("WAIT 1 5000 on the victim: %v %v", r, err)
	}

	if kind == "skiff" {
		// Asked right before the kill: leadership can move under load.
		if st, err := adminStatus(victim); err == nil && st.State == "Leader" {
			res.note += "  (killed the Raft leader)"
		}
	}
	killAt := time.Now()
	victim.kill()
	w.killed.Store(time.Now().UnixNano())
	if o.logs != "" {
		res.note += fmt.Sprintf("  (%s killed at %s)", victimAddr, killAt.UTC().Format("15:04:05.000"))
	}
	err = waitFor("an acknowledged write to the dead master's slots", 60*time.Second, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		return !w.firstVictimAck.IsZero(), fmt.Sprintf("errors %v", w.firstErr)
	})
	if err != nil {
		return res, err
	}
	// Go on until every written key of the dead master has been
	// acknowledged by the new one (at least 500 ms, so that the other
	// shards are written after the failover too), then stop.
	time.Sleep(500 * time.Millisecond)
	waitFor("every written key of the dead master acknowledged again", 10*time.Second, func() (bool, string) {
		w.mu.Lock()
		defer w.mu.Unlock()
		for i := range keys {
			if shard[i] == victimAddr && !skip[i] && !w.postAcked[i] {
				return false, ""
			}
		}
		return true, ""
	})
	w.close()
	if o.logs != "" {
		writeTrace(filepath.Join(o.logs, fmt.Sprintf("%s-%d-writer.log", kind, n)), w, killAt)
	}
	res.firstAck = w.firstVictimAck.Sub(killAt)
	res.writes = w.writes.Load()
	for s, e := range w.errs {
		if s == victimAddr {
			res.deadErrs += e
		} else {
			res.healthyErrs += e
			res.note += fmt.Sprintf("\n      %d errors on %s's keys, first: %s", e, s, w.firstErr[s])
		}
	}

	// The replica took over: it owns the dead master's slots, as it sees it.
	newOwners, err := slotOwners(replicaAddr)
	if err != nil {
		return res, err
	}
	for i, k := range keys {
		if shard[i] == victimAddr && newOwners[slots.KeySlotString(k)] != replicaAddr {
			return res, fmt.Errorf("slot of %s served by %s after the failover, not by the replica %s", k, newOwners[slots.KeySlotString(k)], replicaAddr)
		}
	}
	nc := redis.NewClient(&redis.Options{Addr: replicaAddr, MaxRetries: -1})
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pipe := nc.Pipeline()
	var idx []int
	var gets []*redis.StringCmd
	for i, k := range keys {
		if shard[i] == victimAddr {
			idx = append(idx, i)
			gets = append(gets, pipe.Get(ctx, k))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return res, fmt.Errorf("GET on the new master: %w", err)
	}
	for j, i := range idx {
		got, err := gets[j].Int64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return res, fmt.Errorf("GET %s on the new master: %w", keys[i], err)
		}
		res.checked++
		if got < w.acked[i] {
			res.behind++
			if got < fenced[i] {
				res.fencedLost++
			}
			if res.behind <= 5 {
				res.note += fmt.Sprintf("\n      behind: %s acknowledged %d at %+.1f ms from the kill, the new master has %d",
					keys[i], w.acked[i], ms(w.ackedAt[i].Sub(killAt)), got)
			}
		}
	}

	// The killed node comes back as a replica of the new master.
	restart := time.Now()
	if err := victim.start(); err != nil {
		return res, fmt.Errorf("restart of the killed node: %w", err)
	}
	_, replicaPort, _ := net.SplitHostPort(replicaAddr)
	err = waitFor("the killed node back as a replica", 30*time.Second, func() (bool, string) {
		m := infoMap(victimAddr, "replication")
		return m["role"] == "slave" && m["master_link_status"] == "up" && m["master_port"] == replicaPort,
			fmt.Sprintf("role %s master_port %s link %s", m["role"], m["master_port"], m["master_link_status"])
	})
	res.rejoin = time.Since(restart)
	if err != nil {
		res.rejoin = -1
		res.note += "\n      " + err.Error()
	}
	return res, nil
}

// ---------------------------------------------------------------------
// Report

func median(d []float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]float64(nil), d...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printTable(o options, results map[string][]runResult) {
	fmt.Printf("\n%d runs per stack; times from the kill -9 of a master; cluster-node-timeout %d ms\n\n", o.runs, o.timeoutMs)
	fmt.Printf("| %-46s |", "")
	for _, k := range o.stacks {
		fmt.Printf(" %-34s |", k)
	}
	fmt.Printf("\n|%s|", strings.Repeat("-", 48))
	for range o.stacks {
		fmt.Printf("%s|", strings.Repeat("-", 36))
	}
	fmt.Println()
	row := func(label string, f func(rs []runResult) string) {
		fmt.Printf("| %-46s |", label)
		for _, k := range o.stacks {
			fmt.Printf(" %-34s |", f(results[k]))
		}
		fmt.Println()
	}
	ms := func(rs []runResult, get func(r runResult) time.Duration) []float64 {
		var out []float64
		for _, r := range rs {
			if d := get(r); d >= 0 {
				out = append(out, float64(d.Milliseconds()))
			}
		}
		sort.Float64s(out)
		return out
	}
	span := func(d []float64) string {
		if len(d) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.0f ms (%.0f - %.0f)", median(d), d[0], d[len(d)-1])
	}
	firstAck := func(r runResult) time.Duration { return r.firstAck }
	row("kill -> first ack on its slots: median (range)", func(rs []runResult) string {
		return span(ms(rs, firstAck))
	})
	sum := func(get func(r runResult) int) func(rs []runResult) string {
		return func(rs []runResult) string {
			t := 0
			for _, r := range rs {
				t += get(r)
			}
			return strconv.Itoa(t)
		}
	}
	row("errors on the other masters' slots (total)", sum(func(r runResult) int { return r.healthyErrs }))
	row("errors on the dead master's slots (total)", sum(func(r runResult) int { return r.deadErrs }))
	row("acked writes lost: keys behind (total)", func(rs []runResult) string {
		b, f, c := 0, 0, 0
		for _, r := range rs {
			b, f, c = b+r.behind, f+r.fencedLost, c+r.checked
		}
		return fmt.Sprintf("%d of %d (before the fence: %d)", b, c, f)
	})
	row("restart -> replica in sync: median (range)", func(rs []runResult) string {
		d := ms(rs, func(r runResult) time.Duration { return r.rejoin })
		s := span(d)
		if len(d) < len(rs) {
			s += fmt.Sprintf(", %d never", len(rs)-len(d))
		}
		return s
	})
	if s, r := ms(results["skiff"], firstAck), ms(results["redis"], firstAck); len(s) > 0 && len(r) > 0 && median(r) > 0 {
		fmt.Printf("\nkill -> first ack, skiff/redis (medians): %.2f\n", median(s)/median(r))
	}
}
