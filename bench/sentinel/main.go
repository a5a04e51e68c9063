// Command sentinel measures automatic failover, skiff against Redis in the
// same run on the same machine: three `skiff sentinel`s with a skiff
// master and two skiff replicas, and three redis-sentinels with
// redis-server, with the same settings, alternating run by run. Each run
// kills -9 the master while a go-redis FailoverClient (default options)
// writes a new key every 10 ms, and measures kill -> first acknowledged
// write, acknowledged writes lost, and kill -> +switch-master; then the
// idle CPU of a sentinel. See bench/README.md.
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
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/bench/internal/server"
	"github.com/skiffdb/skiff/sentinel"
)

// quiet drops go-redis's log lines (failed dials while the master is
// down), which would interleave with the table.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...interface{}) {}

func main() {
	redis.SetLogger(quiet{})
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sentinel:", err)
		os.Exit(1)
	}
}

type options struct {
	skiff, redis, redisSentinel string
	runs                        int
	downAfter, failoverTimeout  int
	idle                        time.Duration
	stacks                      []string
	logs                        string
}

const masterName = "mymaster"

func run() error {
	var o options
	stacks := ""
	flag.StringVar(&o.skiff, "skiff", "bin/skiff", "skiff binary")
	flag.StringVar(&o.redis, "redis", "redis-server", "redis-server binary")
	flag.StringVar(&o.redisSentinel, "redis-sentinel", "redis-sentinel", "redis-sentinel binary")
	flag.IntVar(&o.runs, "runs", 10, "failovers per stack")
	flag.IntVar(&o.downAfter, "down-after", 1000, "sentinel down-after-milliseconds")
	flag.IntVar(&o.failoverTimeout, "failover-timeout", 10000, "sentinel failover-timeout (ms)")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "how long the idle CPU of the sentinels is sampled")
	flag.StringVar(&stacks, "stacks", "skiff,redis", "which stacks to measure (skiff, skiff-strong: data nodes in consistency strong, redis)")
	flag.StringVar(&o.logs, "logs", "", "keep each sentinel's log in this directory (<stack>-<n>-s<i>.log)")
	flag.Parse()
	o.stacks = strings.Split(stacks, ",")
	for _, p := range []*string{&o.skiff, &o.redis, &o.redisSentinel} {
		path, err := exec.LookPath(*p)
		if err != nil {
			return fmt.Errorf("%s not found (make builds bin/skiff; apt-get install redis-server redis-sentinel): %w", *p, err)
		}
		if path, err = filepath.Abs(path); err != nil {
			return err
		}
		*p = path
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		reg.stopAll()
		os.Exit(130)
	}()
	defer reg.stopAll()

	fmt.Printf("skiff %s vs redis-server + redis-sentinel; 3 sentinels (quorum 2), master + 2 replicas\n", o.skiff)
	fmt.Printf("down-after-milliseconds %d, failover-timeout %d; go-redis FailoverClient (default options) SET every 10 ms; kill -9 of the master; %d runs per stack, alternating\n",
		o.downAfter, o.failoverTimeout, o.runs)
	results := map[string][]runResult{}
	for i := 0; i < o.runs; i++ {
		for _, k := range o.stacks {
			r, err := failoverRun(o, k, i+1)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", k, i+1, err)
			}
			results[k] = append(results[k], r)
			fmt.Printf("  run %2d %-5s kill->ack %5d ms  kill->+switch-master %5d ms  acked %4d  lost %d%s\n", i+1, k,
				r.firstAck.Milliseconds(), r.switchMaster.Milliseconds(), r.acked, r.lost, r.note)
		}
	}
	idle := map[string][]float64{}
	for _, k := range o.stacks {
		cpu, err := idleCPU(o, k)
		if err != nil {
			return fmt.Errorf("%s idle CPU: %w", k, err)
		}
		idle[k] = cpu
	}
	printTable(o, results, idle)
	return nil
}

// ---------------------------------------------------------------------
// Processes

// registry stops every process on exit or interrupt.
type registry struct {
	mu    sync.Mutex
	stops map[*func()]bool
}

var reg registry

func (g *registry) add(stop func()) *func() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stops == nil {
		g.stops = map[*func()]bool{}
	}
	p := &stop
	g.stops[p] = true
	return p
}

func (g *registry) done(p *func()) {
	g.mu.Lock()
	delete(g.stops, p)
	g.mu.Unlock()
	(*p)()
}

func (g *registry) stopAll() {
	g.mu.Lock()
	stops := g.stops
	g.stops = nil
	g.mu.Unlock()
	for p := range stops {
		(*p)()
	}
}

// sentinelProc is one sentinel in its own temporary directory.
type sentinelProc struct {
	port   int
	dir    string
	keep   string // copy the log here when stopping
	start  time.Time
	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

func (s *sentinelProc) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *sentinelProc) stop() {
	s.once.Do(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
		if s.keep != "" {
			if b, err := os.ReadFile(filepath.Join(s.dir, "sentinel.log")); err == nil {
				os.WriteFile(s.keep, b, 0o644)
			}
		}
		os.RemoveAll(s.dir)
	})
}

var portsTaken = map[int]bool{}

// memberPorts are a sentinel's RESP port and the raft and admin ports a
// skiff sentinel derives from it.
func memberPorts(p int) []int {
	r, a := sentinel.DefaultMemberPorts(p)
	return []int{p, r, a}
}

// sentinelPort picks P with P and its derived raft and admin ports free,
// all below the ephemeral range.
func sentinelPort() (int, error) {
	for tries := 0; tries < 300; tries++ {
		p := 12000 + rand.Intn(18000)
		ok := true
		for _, q := range memberPorts(p) {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(q))
			if err != nil || portsTaken[q] {
				ok = false
				if err == nil {
					ln.Close()
				}
				break
			}
			ln.Close()
		}
		if ok {
			for _, q := range memberPorts(p) {
				portsTaken[q] = true
			}
			return p, nil
		}
	}
	return 0, errors.New("no free sentinel port triple")
}

func startSentinel(o options, kind string, masterPort int) (*sentinelProc, error) {
	port, err := sentinelPort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "skiff-bench-sentinel-"+kind+"-")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 2\n"+
		"sentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s %d\n",
		port, dir, masterName, masterPort, masterName, o.downAfter, masterName, o.failoverTimeout)
	if o.logs != "" {
		if err := os.MkdirAll(o.logs, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	bin, args := o.redisSentinel, []string{conf}
	if kind == "skiff" {
		bin, args = o.skiff, []string{"sentinel", conf}
	}
	logf, err := os.Create(filepath.Join(dir, "sentinel.log"))
	if err != nil {
		return nil, err
	}
	s := &sentinelProc{port: port, dir: dir, exited: make(chan struct{})}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	go func() { s.cmd.Wait(); logf.Close(); close(s.exited) }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-s.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%s sentinel exited at start:\n%s", kind, tail(log))
		default:
		}
		if r, err := do(s.addr(), "PING"); err == nil && r == "PONG" {
			return s, nil
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
			s.stop()
			return nil, fmt.Errorf("%s sentinel not answering PING:\n%s", kind, tail(log))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func tail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
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
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write(server.Encode(nil, args...)); err != nil {
		return nil, err
	}
	return readReply(bufio.NewReader(c))
}

func kv(r any) map[string]string {
	m := map[string]string{}
	a, _ := r.([]any)
	for i := 0; i+1 < len(a); i += 2 {
		k, _ := a[i].(string)
		v, _ := a[i+1].(string)
		m[k] = v
	}
	return m
}

func info(p *server.Proc) map[string]string {
	s, err := p.Do("INFO", "replication")
	m := map[string]string{}
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
		time.Sleep(10 * time.Millisecond)
	}
}

// ---------------------------------------------------------------------
// One stack

type stack struct {
	kind  string
	data  []*server.Proc
	sents []*sentinelProc
	stops []*func()
}

func (s *stack) close() {
	for _, p := range s.stops {
		reg.done(p)
	}
}

// startStack starts a master, two replicas in sync and three sentinels,
// and waits until every sentinel knows both replicas and both others
// (and, for skiff, until the Raft group has a leader).
func startStack(o options, stackName, tag string) (*stack, error) {
	// skiff-strong: skiff sentinels and data nodes in consistency strong
	// (docs/consistency.md), whose replicas sync once a sentinel granted
	// the master its lease: the sentinels start before the sync is awaited.
	strong := stackName == "skiff-strong"
	kind := stackName
	if strong {
		kind = "skiff"
	}
	st := &stack{kind: kind}
	bin := o.redis
	if kind == "skiff" {
		bin = o.skiff
	}
	extra := []string{"--repl-diskless-sync-delay", "0"}
	if strong {
		extra = append(extra, "--consistency", "strong")
	}
	for i := 0; i < 3; i++ {
		p, err := server.Start(bin, kind, extra...)
		if err != nil {
			st.close()
			return nil, err
		}
		st.data = append(st.data, p)
		st.stops = append(st.stops, reg.add(p.Stop))
	}
	master := st.data[0]
	for _, r := range st.data[1:] {
		if _, err := r.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(master.Port)); err != nil {
			st.close()
			return nil, err
		}
	}
	inSync := func() error {
		return waitFor("replicas in sync", 30*time.Second, func() (bool, string) {
			for _, r := range st.data[1:] {
				if m := info(r); m["master_link_status"] != "up" {
					return false, "link " + m["master_link_status"]
				}
			}
			return true, ""
		})
	}
	if !strong {
		if err := inSync(); err != nil {
			st.close()
			return nil, err
		}
	}
	for i := 0; i < 3; i++ {
		s, err := startSentinel(o, kind, master.Port)
		if err != nil {
			st.close()
			return nil, err
		}
		if o.logs != "" {
			s.keep = filepath.Join(o.logs, fmt.Sprintf("%s-%s-s%d.log", kind, tag, i))
		}
		st.sents = append(st.sents, s)
		st.stops = append(st.stops, reg.add(s.stop))
	}
	if strong {
		if err := inSync(); err != nil {
			st.close()
			return nil, err
		}
	}
	err := waitFor("sentinels ready", 30*time.Second, func() (bool, string) {
		for _, s := range st.sents {
			r, err := do(s.addr(), "SENTINEL", "MASTER", masterName)
			if err != nil {
				return false, err.Error()
			}
			m := kv(r)
			if m["port"] != strconv.Itoa(master.Port) || m["num-slaves"] != "2" || m["num-other-sentinels"] != "2" || m["flags"] != "master" {
				return false, fmt.Sprintf("port %s flags %s slaves %s sentinels %s", m["port"], m["flags"], m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return true, ""
	})
	if err == nil {
		// Every sentinel can authorize a failover (the same condition for
		// both stacks; a just-formed skiff group may need a moment).
		err = waitFor("CKQUORUM +OK", 30*time.Second, func() (bool, string) {
			for _, s := range st.sents {
				r, err := do(s.addr(), "SENTINEL", "CKQUORUM", masterName)
				if err != nil {
					return false, err.Error()
				}
				if str, _ := r.(string); !strings.HasPrefix(str, "OK ") {
					return false, fmt.Sprint(r)
				}
			}
			return true, ""
		})
	}
	if err == nil && kind == "skiff" {
		// One Raft group: every sentinel names the same leader and three
		// voters (a sentinel alone is the leader of its own group of one).
		err = waitFor("one raft group of three", 30*time.Second, func() (bool, string) {
			leader := ""
			for _, s := range st.sents {
				var status struct {
					LeaderID string `json:"leader_id"`
					Voters   int    `json:"voters"`
				}
				b, err := httpGet("127.0.0.1:" + strconv.Itoa(memberPorts(s.port)[2]))
				if err == nil {
					_, body, _ := strings.Cut(b, "\r\n\r\n")
					err = json.Unmarshal([]byte(body), &status)
				}
				if err != nil {
					return false, err.Error()
				}
				if status.LeaderID == "" || status.Voters != 3 || (leader != "" && status.LeaderID != leader) {
					return false, fmt.Sprintf("leader %q, %d voters", status.LeaderID, status.Voters)
				}
				leader = status.LeaderID
			}
			return true, ""
		})
	}
	if err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// httpGet fetches /status of an admin API with a bare HTTP/1.0 request
// and returns the whole response.
func httpGet(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET /status HTTP/1.0\r\nHost: "+addr+"\r\n\r\n"); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// ---------------------------------------------------------------------
// One failover

type runResult struct {
	firstAck, switchMaster time.Duration
	acked, lost            int
	note                   string
}

type ack struct {
	seq int
	at  time.Time
}

func failoverRun(o options, kind string, n int) (runResult, error) {
	var res runResult
	st, err := startStack(o, kind, strconv.Itoa(n))
	if err != nil {
		return res, err
	}
	defer st.close()

	// Subscribers: the first +switch-master any sentinel publishes.
	switched := make(chan time.Time, len(st.sents))
	var subs []net.Conn
	defer func() {
		for _, c := range subs {
			c.Close()
		}
	}()
	for _, s := range st.sents {
		c, err := net.DialTimeout("tcp", s.addr(), time.Second)
		if err != nil {
			return res, err
		}
		subs = append(subs, c)
		if _, err := c.Write(server.Encode(nil, "SUBSCRIBE", "+switch-master")); err != nil {
			return res, err
		}
		go func(c net.Conn) {
			br := bufio.NewReader(c)
			for {
				r, err := readReply(br)
				if err != nil {
					return
				}
				if a, ok := r.([]any); ok && len(a) == 3 && a[0] == "message" {
					switched <- time.Now()
					return
				}
			}
		}(c)
	}

	var sentAddrs []string
	for _, s := range st.sents {
		sentAddrs = append(sentAddrs, s.addr())
	}
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: masterName, SentinelAddrs: sentAddrs})
	defer client.Close()
	var mu sync.Mutex
	var acks []ack
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
			if client.Set(context.Background(), "bench:"+strconv.Itoa(seq), seq, 0).Err() == nil {
				mu.Lock()
				acks = append(acks, ack{seq, time.Now()})
				mu.Unlock()
			}
		}
	}()
	stopWriter := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}
	defer stopWriter()
	acksAfter := func(t time.Time) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, a := range acks {
			if a.at.After(t) {
				n++
			}
		}
		return n
	}
	if err := waitFor("writes before the kill", 10*time.Second, func() (bool, string) {
		return acksAfter(time.Time{}) >= 100, ""
	}); err != nil {
		return res, err
	}

	master := st.data[0]
	master.Stop() // SIGKILL
	killAt := time.Now()
	if o.logs != "" {
		res.note = "  (master killed at " + killAt.UTC().Format("15:04:05.000") + ")"
	}

	if err := waitFor("an acknowledged write after the kill", 60*time.Second, func() (bool, string) {
		return acksAfter(killAt) > 0, ""
	}); err != nil {
		return res, err
	}
	select {
	case at := <-switched:
		res.switchMaster = at.Sub(killAt)
	case <-time.After(30 * time.Second):
		return res, errors.New("no +switch-master within 30 s")
	}
	// Go on writing for a second on the new master, then stop.
	if err := waitFor("writes after the failover", 10*time.Second, func() (bool, string) {
		return acksAfter(killAt) >= 100, ""
	}); err != nil {
		return res, err
	}
	stopWriter()
	mu.Lock()
	all := append([]ack(nil), acks...)
	mu.Unlock()
	for _, a := range all {
		if a.at.After(killAt) {
			res.firstAck = a.at.Sub(killAt)
			break
		}
	}

	// Which node is master now? Ask a sentinel.
	r, err := do(st.sents[0].addr(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName)
	if err != nil {
		return res, err
	}
	a, _ := r.([]any)
	var nm *server.Proc
	for _, p := range st.data[1:] {
		if len(a) == 2 && a[1] == strconv.Itoa(p.Port) {
			nm = p
		}
	}
	if nm == nil {
		return res, fmt.Errorf("sentinel reports master %v, not a replica", r)
	}
	res.acked = len(all)
	for i := 0; i < len(all); i += 500 {
		batch := all[i:min(i+500, len(all))]
		args := []string{"MGET"}
		for _, x := range batch {
			args = append(args, "bench:"+strconv.Itoa(x.seq))
		}
		r, err := do("127.0.0.1:"+strconv.Itoa(nm.Port), args...)
		if err != nil {
			return res, err
		}
		vals, _ := r.([]any)
		if len(vals) != len(batch) {
			return res, fmt.Errorf("MGET returned %d values for %d keys", len(vals), len(batch))
		}
		for j, v := range vals {
			if s, _ := v.(string); s != strconv.Itoa(batch[j].seq) {
				res.lost++
			}
		}
	}
	return res, nil
}

// ---------------------------------------------------------------------
// Idle CPU

// idleCPU starts a stack, lets it settle, and samples utime+stime of each
// sentinel over o.idle; it returns the CPU share of each (1.0 = a core).
func idleCPU(o options, kind string) ([]float64, error) {
	st, err := startStack(o, kind, "idle")
	if err != nil {
		return nil, err
	}
	defer st.close()
	time.Sleep(2 * time.Second) // settle: discovery, first INFO, config rewrites
	before := make([]int64, len(st.sents))
	for i, s := range st.sents {
		if before[i], err = cpuTicks(s.cmd.Process.Pid); err != nil {
			return nil, err
		}
	}
	t0 := time.Now()
	time.Sleep(o.idle)
	elapsed := time.Since(t0).Seconds()
	var out []float64
	for i, s := range st.sents {
		after, err := cpuTicks(s.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		out = append(out, float64(after-before[i])/clockTicks/elapsed)
	}
	return out, nil
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100.0

// cpuTicks reads utime+stime (clock ticks) from /proc/<pid>/stat.
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the command: state(0) ppid pgrp session tty tpgid flags minflt
	// cminflt majflt cmajflt utime(11) stime(12).
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	sy, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return u + sy, nil
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

func maxOf(d []float64) float64 {
	m := 0.0
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

func printTable(o options, results map[string][]runResult, idle map[string][]float64) {
	fmt.Printf("\n%d runs per stack; times from the kill -9 of the master\n\n", o.runs)
	fmt.Printf("| %-40s |", "")
	for _, k := range o.stacks {
		name := "skiff sentinel + skiff server"
		switch k {
		case "redis":
			name = "redis-sentinel + redis-server"
		case "skiff-strong":
			name = "skiff, consistency strong"
		}
		fmt.Printf(" %-30s |", name)
	}
	fmt.Printf("\n|%s|", strings.Repeat("-", 42))
	for range o.stacks {
		fmt.Printf("%s|", strings.Repeat("-", 32))
	}
	fmt.Println()
	row := func(label string, f func(k string) string) {
		fmt.Printf("| %-40s |", label)
		for _, k := range o.stacks {
			fmt.Printf(" %-30s |", f(k))
		}
		fmt.Println()
	}
	ms := func(k string, get func(r runResult) time.Duration) []float64 {
		var out []float64
		for _, r := range results[k] {
			out = append(out, float64(get(r).Milliseconds()))
		}
		return out
	}
	row("kill -> first acknowledged write", func(k string) string {
		d := ms(k, func(r runResult) time.Duration { return r.firstAck })
		return fmt.Sprintf("median %.0f ms, max %.0f ms", median(d), maxOf(d))
	})
	row("kill -> +switch-master (first sentinel)", func(k string) string {
		d := ms(k, func(r runResult) time.Duration { return r.switchMaster })
		return fmt.Sprintf("median %.0f ms, max %.0f ms", median(d), maxOf(d))
	})
	row("acknowledged writes lost", func(k string) string {
		lost, acked := 0, 0
		for _, r := range results[k] {
			lost += r.lost
			acked += r.acked
		}
		return fmt.Sprintf("%d of %d", lost, acked)
	})
	row(fmt.Sprintf("idle CPU per sentinel (%v)", o.idle), func(k string) string {
		c := idle[k]
		return fmt.Sprintf("%.2f%% (max %.2f%%) of a core", 100*median(c), 100*maxOf(c))
	})
}
