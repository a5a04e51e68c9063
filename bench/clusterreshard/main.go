// Command clusterreshard measures `redis-cli --cluster reshard`, skiff
// against Redis in the same run on the same machine: a 3-master cluster
// (no replicas) of `skiff server --cluster-enabled yes` and one of
// `redis-server --cluster-enabled yes`, both formed by `redis-cli --cluster
// create`; --keys keys (50 000) are loaded into the first --slots slots
// (1000) of the first master, then `redis-cli --cluster reshard` moves
// those slots to the second master and is timed. Runs alternate between
// the stacks, each on fresh nodes. See bench/README.md.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
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

	"github.com/skiffdb/skiff/bench/internal/server"
	"github.com/skiffdb/skiff/slots"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "clusterreshard:", err)
		os.Exit(1)
	}
}

type options struct {
	skiff, redis, cli string
	runs              int
	keys, nslots      int
	valueSize         int
	pipeline          int
	stacks            []string
	logs              string
}

func run() error {
	var o options
	stacks := ""
	flag.StringVar(&o.skiff, "skiff", "bin/skiff", "skiff binary")
	flag.StringVar(&o.redis, "redis", "redis-server", "redis-server binary")
	flag.StringVar(&o.cli, "redis-cli", "redis-cli", "redis-cli binary")
	flag.IntVar(&o.runs, "runs", 3, "reshards per stack")
	flag.IntVar(&o.keys, "keys", 50000, "keys in the moved slots")
	flag.IntVar(&o.nslots, "slots", 1000, "slots moved (0 .. slots-1, all on the first master)")
	flag.IntVar(&o.valueSize, "value-size", 100, "bytes per value")
	flag.IntVar(&o.pipeline, "pipeline", 10, "redis-cli --cluster-pipeline (keys per GETKEYSINSLOT/MIGRATE; 10 is redis-cli's default)")
	flag.StringVar(&stacks, "stacks", "skiff,redis", "which stacks to measure")
	flag.StringVar(&o.logs, "logs", "", "keep each node's log in this directory (<stack>-<run>-n<i>.log)")
	flag.Parse()
	o.stacks = strings.Split(stacks, ",")
	if o.nslots < 1 || o.nslots > 5461 || o.keys < o.nslots {
		return errors.New("--slots must be 1..5461 (the first master's share) and --keys at least --slots")
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
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		reg.stopAll()
		os.Exit(130)
	}()
	defer reg.stopAll()

	keys := keysInSlots(o.keys, o.nslots)
	fmt.Printf("skiff %s vs %s; 3 masters, no replicas, formed by redis-cli --cluster create\n", o.skiff, o.redis)
	fmt.Printf("%d keys (%d-byte values) in slots 0-%d of the first master; redis-cli --cluster reshard --cluster-slots %d --cluster-pipeline %d to the second; %d runs per stack, alternating\n",
		o.keys, o.valueSize, o.nslots-1, o.nslots, o.pipeline, o.runs)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average before: %s", b)
	}
	results := map[string][]float64{}
	for i := 0; i < o.runs; i++ {
		for _, k := range o.stacks {
			d, err := reshardRun(o, k, i+1, keys)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", k, i+1, err)
			}
			rate := float64(o.keys) / d.Seconds()
			results[k] = append(results[k], rate)
			fmt.Printf("  run %2d %-5s %7.2f s  %7.0f keys/s  %6.1f slots/s\n", i+1, k, d.Seconds(), rate, float64(o.nslots)/d.Seconds())
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average after: %s", b)
	}
	fmt.Printf("\n| %-6s | %-14s | %-22s |\n|--------|----------------|------------------------|\n", "", "median keys/s", "range keys/s")
	for _, k := range o.stacks {
		r := results[k]
		fmt.Printf("| %-6s | %14.0f | %10.0f - %-9.0f |\n", k, median(r), minOf(r), maxOf(r))
	}
	if len(results["skiff"]) > 0 && len(results["redis"]) > 0 {
		fmt.Printf("\nskiff/redis (medians): %.2f\n", median(results["skiff"])/median(results["redis"]))
	}
	return nil
}

// keysInSlots returns n keys "key:<i>" spread evenly over slots
// 0..nslots-1 (n/nslots per slot, the remainder in the first slots).
func keysInSlots(n, nslots int) []string {
	want := make([]int, nslots)
	for i := range want {
		want[i] = n / nslots
		if i < n%nslots {
			want[i]++
		}
	}
	out := make([]string, 0, n)
	for i := 0; len(out) < n; i++ {
		k := "key:" + strconv.Itoa(i)
		if s := slots.KeySlotString(k); s < nslots && want[s] > 0 {
			want[s]--
			out = append(out, k)
		}
	}
	return out
}

// ---------------------------------------------------------------------
// Processes

// registry stops every process on exit or interrupt.
type registry struct {
	mu    sync.Mutex
	procs map[*server.Proc]bool
}

var reg registry

func (g *registry) add(p *server.Proc) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.procs == nil {
		g.procs = map[*server.Proc]bool{}
	}
	g.procs[p] = true
}

func (g *registry) stopAll() {
	g.mu.Lock()
	procs := g.procs
	g.procs = nil
	g.mu.Unlock()
	for p := range procs {
		p.Stop()
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startNode starts one cluster node of the kind, with its bus (Redis) or
// raft and admin (skiff) ports on free loopback ports. On a busy machine
// another process may take a port between the pick and the listen: the
// node is retried unless it is the one answering on its port.
func startNode(o options, kind string) (*server.Proc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := startNodeOnce(o, kind)
		if err != nil {
			lastErr = err
			continue
		}
		if id, err := p.Do("INFO", "server"); err == nil && strings.Contains(id, "process_id:"+strconv.Itoa(p.Pid())+"\r\n") {
			reg.add(p)
			// skiff answers PING before its cluster member is up.
			if err := waitFor("CLUSTER MYID", 20*time.Second, func() (bool, string) {
				id, err := p.Do("CLUSTER", "MYID")
				return err == nil && len(id) == 40, id
			}); err != nil {
				return nil, err
			}
			return p, nil
		}
		p.Stop()
		lastErr = fmt.Errorf("%s on port %d: another process answers there", kind, p.Port)
	}
	return nil, lastErr
}

func startNodeOnce(o options, kind string) (*server.Proc, error) {
	bus, err := freePort()
	if err != nil {
		return nil, err
	}
	if kind == "skiff" {
		admin, err := freePort()
		if err != nil {
			return nil, err
		}
		return server.Start(o.skiff, kind, "--cluster-enabled", "yes", "--raft-port", strconv.Itoa(bus),
			"--admin-port", strconv.Itoa(admin), "--loglevel", "notice")
	}
	return server.Start(o.redis, kind, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
		"--cluster-config-file", "nodes.conf", "--loglevel", "notice")
}

func addr(p *server.Proc) string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

func cli(o options, timeout time.Duration, args ...string) (string, error) {
	cmd := exec.Command(o.cli, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return out.String(), fmt.Errorf("redis-cli %s: no end after %v", args[1], timeout)
	}
}

// reshardRun builds a fresh cluster of the kind, loads the keys and
// returns how long the reshard took.
func reshardRun(o options, kind string, n int, keys []string) (time.Duration, error) {
	var nodes []*server.Proc
	defer func() {
		for i, p := range nodes {
			if o.logs != "" {
				if b, err := os.ReadFile(filepath.Join(p.Dir, "server.log")); err == nil {
					os.WriteFile(filepath.Join(o.logs, fmt.Sprintf("%s-%d-n%d.log", kind, n, i+1)), b, 0o644)
				}
			}
			p.Stop()
		}
	}()
	for i := 0; i < 3; i++ {
		p, err := startNode(o, kind)
		if err != nil {
			return 0, err
		}
		nodes = append(nodes, p)
	}
	addrs := []string{addr(nodes[0]), addr(nodes[1]), addr(nodes[2])}
	out, err := cli(o, 60*time.Second, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...)
	if err != nil || !strings.Contains(out, "[OK] All 16384 slots covered.") || strings.Contains(out, "[ERR]") {
		return 0, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := waitFor("a clean --cluster check", 30*time.Second, func() (bool, string) {
		out, err := cli(o, 30*time.Second, "--cluster", "check", addrs[0])
		return err == nil && !strings.Contains(out, "[ERR]") && !strings.Contains(out, "[WARNING]"), out
	}); err != nil {
		return 0, err
	}
	for _, p := range nodes {
		if err := waitFor("cluster_state:ok", 30*time.Second, func() (bool, string) {
			info, err := p.Do("CLUSTER", "INFO")
			return err == nil && strings.Contains(info, "cluster_state:ok"), info
		}); err != nil {
			return 0, err
		}
	}
	from, err := nodes[0].Do("CLUSTER", "MYID")
	if err != nil {
		return 0, err
	}
	to, err := nodes[1].Do("CLUSTER", "MYID")
	if err != nil {
		return 0, err
	}
	if err := load(addrs[0], keys, o.valueSize); err != nil {
		return 0, fmt.Errorf("load: %w", err)
	}
	if got, _ := nodes[0].Do("DBSIZE"); got != ":"+strconv.Itoa(len(keys)) {
		return 0, fmt.Errorf("DBSIZE of the first master after loading: %s, want %d", got, len(keys))
	}
	start := time.Now()
	out, err = cli(o, 30*time.Minute, "--cluster", "reshard", addrs[0], "--cluster-from", from, "--cluster-to", to,
		"--cluster-slots", strconv.Itoa(o.nslots), "--cluster-yes", "--cluster-pipeline", strconv.Itoa(o.pipeline))
	d := time.Since(start)
	if err != nil || strings.Contains(out, "[ERR]") {
		return 0, fmt.Errorf("redis-cli --cluster reshard: %v\n%s", err, tail(out))
	}
	if got, _ := nodes[1].Do("DBSIZE"); got != ":"+strconv.Itoa(len(keys)) {
		return 0, fmt.Errorf("DBSIZE of the second master after the reshard: %s, want %d", got, len(keys))
	}
	if got, _ := nodes[0].Do("DBSIZE"); got != ":0" {
		return 0, fmt.Errorf("DBSIZE of the first master after the reshard: %s, want 0", got)
	}
	if err := waitFor("a clean --cluster check after the reshard", 30*time.Second, func() (bool, string) {
		out, err := cli(o, 30*time.Second, "--cluster", "check", addrs[0])
		return err == nil && !strings.Contains(out, "[ERR]") && !strings.Contains(out, "[WARNING]"), out
	}); err != nil {
		return 0, err
	}
	return d, nil
}

func tail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}

// load SETs the keys on one node, pipelined 1000 at a time.
func load(a string, keys []string, size int) error {
	c, err := net.DialTimeout("tcp", a, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	val := strings.Repeat("v", size)
	var buf []byte
	for i := 0; i < len(keys); i += 1000 {
		end := min(i+1000, len(keys))
		buf = buf[:0]
		for _, k := range keys[i:end] {
			buf = server.Encode(buf, "SET", k, val)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write(buf); err != nil {
			return err
		}
		for j := i; j < end; j++ {
			line, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if line != "+OK\r\n" {
				return fmt.Errorf("SET %s: %q", keys[j], strings.TrimSpace(line))
			}
		}
	}
	return nil
}

func waitFor(what string, timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, last := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s after %v; last:\n%s", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

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

func minOf(d []float64) float64 {
	if len(d) == 0 {
		return 0
	}
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func maxOf(d []float64) float64 {
	m := 0.0
	for _, x := range d {
		m = max(m, x)
	}
	return m
}
