// Command slotmigrate measures atomic slot migration (CLUSTER
// MIGRATESLOTS, docs/slot-migration.md): a 3-master skiff cluster (no
// replicas) formed by redis-cli --cluster create; --keys keys of mixed
// types (strings, hashes, lists, sets, sorted sets; a tenth with a TTL)
// are loaded into the first --slots slots of the first master; clients
// (go-redis ClusterClient) write and read keys of those slots for a while
// before and all through the move; then MIGRATESLOTS moves the slots to
// the second master. It reports keys/s, the write pause at the flip (the
// source's own measure, and the longest write the clients saw while the
// job ran), and the clients' latency percentiles before and during the
// move. See bench/README.md.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "slotmigrate:", err)
		os.Exit(1)
	}
}

type options struct {
	skiff, cli string
	keys       int
	nslots     int
	valueSize  int
	clients    int
	warmup     time.Duration
	profile    string
}

func run() error {
	var o options
	flag.StringVar(&o.skiff, "skiff", "bin/skiff", "skiff binary")
	flag.StringVar(&o.cli, "redis-cli", "redis-cli", "redis-cli binary")
	flag.IntVar(&o.keys, "keys", 1000000, "keys in the moved slots")
	flag.IntVar(&o.nslots, "slots", 1000, "slots moved (0 .. slots-1, all on the first master)")
	flag.IntVar(&o.valueSize, "value-size", 64, "bytes per string value and per element")
	flag.IntVar(&o.clients, "clients", 4, "client goroutines writing and reading during the run")
	flag.DurationVar(&o.warmup, "before", 5*time.Second, "how long the clients run before the move (the 'before' latencies)")
	flag.StringVar(&o.profile, "profile", "", "directory for each node's CPU profile (nodeN.pprof) and log with GODEBUG=gctrace=1 (nodeN.log); node0 is the source, node1 the target")
	flag.Parse()
	if o.nslots < 1 || o.nslots > 5461 || o.keys < o.nslots {
		return errors.New("--slots must be 1..5461 (the first master's share) and --keys at least --slots")
	}
	for _, p := range []*string{&o.skiff, &o.cli} {
		path, err := exec.LookPath(*p)
		if err != nil {
			return fmt.Errorf("%s not found: %w", *p, err)
		}
		if *p, err = filepath.Abs(path); err != nil {
			return err
		}
	}
	var nodes []*server.Proc
	defer func() {
		for _, p := range nodes {
			p.Stop()
		}
	}()
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
		defer func() { saveProfiles(o.profile, nodes) }()
	}
	for i := 0; i < 3; i++ {
		p, err := startNode(o, i)
		if err != nil {
			return err
		}
		nodes = append(nodes, p)
	}
	addrs := []string{addr(nodes[0]), addr(nodes[1]), addr(nodes[2])}
	out, err := exec.Command(o.cli, "--cluster", "create", addrs[0], addrs[1], addrs[2], "--cluster-replicas", "0", "--cluster-yes").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "[OK] All 16384 slots covered.") {
		return fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	target, err := nodes[1].Do("CLUSTER", "MYID")
	if err != nil {
		return err
	}

	fmt.Printf("skiff %s; 3 masters, no replicas\n", o.skiff)
	keys := keysInSlots(o.keys, o.nslots)
	t0 := time.Now()
	if err := load(addrs[0], keys, o.valueSize); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	fmt.Printf("loaded %d keys of mixed types into slots 0-%d of the first master in %v\n", len(keys), o.nslots-1, time.Since(t0).Round(time.Millisecond))

	// Clients: SET and GET of keys in the moving slots, latencies per phase.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second,
		MaxRedirects: 16})
	defer cc.Close()
	probe := keysInSlotsPrefix("probe:", 10000, o.nslots)
	var phase atomic.Int32 // 0 before, 1 during, 2 after
	var rec [3]latencies
	var errCount atomic.Int64
	var maxWriteDuring atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	ctx := context.Background()
	for w := 0; w < o.clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				k := probe[(n*o.clients+w)%len(probe)]
				start := time.Now()
				var err error
				write := n%2 == 0
				if write {
					err = cc.Set(ctx, k, strconv.Itoa(n), 0).Err()
				} else if err = cc.Get(ctx, k).Err(); err == redis.Nil {
					err = nil
				}
				d := time.Since(start)
				if err != nil {
					errCount.Add(1)
					continue
				}
				ph := phase.Load()
				rec[ph].add(d)
				if write && ph == 1 {
					for {
						old := maxWriteDuring.Load()
						if int64(d) <= old || maxWriteDuring.CompareAndSwap(old, int64(d)) {
							break
						}
					}
				}
			}
		}(w)
	}
	time.Sleep(o.warmup) // the 'before' sample: a fixed window of client load, not a synchronisation
	load1 := loadavg()
	phase.Store(1)
	start := time.Now()
	if _, err := nodes[0].Do("CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", strconv.Itoa(o.nslots-1), "NODE", target); err != nil {
		return fmt.Errorf("MIGRATESLOTS: %w", err)
	}
	src := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer src.Close()
	var took time.Duration
	deadline := time.Now().Add(30 * time.Minute)
	for {
		st, msg := jobState(src)
		if st == "success" {
			took = time.Since(start)
			break
		}
		if st == "failed" || st == "cancelled" {
			return fmt.Errorf("migration %s: %s", st, msg)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migration still %q after 30 min", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	phase.Store(2)
	load2 := loadavg()
	time.Sleep(time.Second) // a short 'after' sample
	close(stop)
	wg.Wait()

	pause := "?"
	if b, err := os.ReadFile(filepath.Join(nodes[0].Dir, "server.log")); err == nil {
		if m := regexp.MustCompile(`slot migration done: .* write_pause=(\S+)(?: pause_confirmed=(\S+) pause_committed=(\S+))?`).FindSubmatch(b); m != nil {
			pause = string(m[1])
			if len(m[2]) > 0 {
				// The parts: the target's last answers, the Raft commit,
				// the target's view.
				pause += fmt.Sprintf(" (target confirmed at %s, flip committed at %s)", m[2], m[3])
			}
		}
	}
	left, _ := nodes[0].Do("DBSIZE")
	moved, _ := nodes[1].Do("DBSIZE")
	fmt.Printf("moved %d slots, %d keys in %v: %.0f keys/s, %.0f slots/s\n", o.nslots, len(keys), took.Round(time.Millisecond),
		float64(len(keys))/took.Seconds(), float64(o.nslots)/took.Seconds())
	fmt.Printf("write pause at the flip (source): %s; longest client write during the move: %v\n", pause,
		time.Duration(maxWriteDuring.Load()).Round(10*time.Microsecond))
	fmt.Printf("client errors (after go-redis's own MOVED handling): %d; DBSIZE after: source %s, target %s\n", errCount.Load(), left, moved)
	fmt.Printf("load average at the start of the move: %s; at its end: %s\n", load1, load2)
	fmt.Printf("\n| client ops (%d clients, SET/GET in the moving slots) | ops | p50 | p99 | max |\n|---|---|---|---|---|\n", o.clients)
	for i, name := range []string{"before the move", "during the move", "after (1 s)"} {
		p50, p99, max, n := rec[i].stats()
		fmt.Printf("| %s | %d | %v | %v | %v |\n", name, n, p50, p99, max)
	}
	return nil
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) stats() (p50, p99, max time.Duration, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0, 0, 0
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return r(l.d[len(l.d)/2]), r(l.d[len(l.d)*99/100]), r(l.d[len(l.d)-1]), len(l.d)
}

func jobState(c *redis.Client) (state, msg string) {
	res, err := c.Do(context.Background(), "CLUSTER", "GETSLOTMIGRATIONS").Slice()
	if err != nil || len(res) == 0 {
		return "", fmt.Sprint(err)
	}
	var kv []any
	switch x := res[len(res)-1].(type) {
	case []any:
		kv = x
	case map[any]any: // RESP3
		for k, v := range x {
			kv = append(kv, k, v)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		switch fmt.Sprint(kv[i]) {
		case "state":
			state = fmt.Sprint(kv[i+1])
		case "message":
			msg = fmt.Sprint(kv[i+1])
		}
	}
	return state, msg
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func addr(p *server.Proc) string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// saveProfiles shuts the nodes down cleanly, so that they write their
// CPU profiles, and keeps their logs (the gctrace lines).
func saveProfiles(dir string, nodes []*server.Proc) {
	for i, p := range nodes {
		p.Do("SHUTDOWN", "NOSAVE")
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if syscall.Kill(p.Pid(), 0) != nil {
				break
			}
		}
		if b, err := os.ReadFile(filepath.Join(p.Dir, "server.log")); err == nil {
			os.WriteFile(filepath.Join(dir, fmt.Sprintf("node%d.log", i)), b, 0o644)
		}
	}
}

func startNode(o options, i int) (*server.Proc, error) {
	if o.profile != "" {
		// The nodes inherit the environment: set it per node.
		os.Setenv("SKIFF_CPUPROFILE", filepath.Join(o.profile, fmt.Sprintf("node%d.pprof", i)))
		os.Setenv("GODEBUG", "gctrace=1")
		defer os.Unsetenv("SKIFF_CPUPROFILE")
		defer os.Unsetenv("GODEBUG")
	}
	bus, err := freePort()
	if err != nil {
		return nil, err
	}
	adm, err := freePort()
	if err != nil {
		return nil, err
	}
	p, err := server.Start(o.skiff, "skiff", "--cluster-enabled", "yes", "--raft-port", strconv.Itoa(bus),
		"--admin-port", strconv.Itoa(adm), "--loglevel", "notice")
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if id, err := p.Do("CLUSTER", "MYID"); err == nil && len(id) == 40 {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, errors.New("skiff: no CLUSTER MYID after 20 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func keysInSlots(n, nslots int) []string { return keysInSlotsPrefix("key:", n, nslots) }

// keysInSlotsPrefix returns n keys prefix<i> spread evenly over slots
// 0..nslots-1.
func keysInSlotsPrefix(prefix string, n, nslots int) []string {
	want := make([]int, nslots)
	for i := range want {
		want[i] = n / nslots
		if i < n%nslots {
			want[i]++
		}
	}
	out := make([]string, 0, n)
	for i := 0; len(out) < n && i < 1<<28; i++ {
		k := prefix + strconv.Itoa(i)
		if s := slots.KeySlotString(k); s < nslots && want[s] > 0 {
			want[s]--
			out = append(out, k)
		}
	}
	return out
}

// load writes the keys on one node, pipelined: 70% strings, 10% hashes
// of 4 fields, 10% lists of 4 elements, 5% sets, 5% sorted sets; every
// tenth key gets a TTL of an hour.
func load(a string, keys []string, size int) error {
	c, err := net.DialTimeout("tcp", a, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReaderSize(c, 1<<16)
	val := strings.Repeat("v", size)
	var buf []byte
	for i := 0; i < len(keys); i += 1000 {
		end := min(i+1000, len(keys))
		buf = buf[:0]
		cmds := 0
		for j, k := range keys[i:end] {
			switch n := (i + j) % 20; {
			case n < 14:
				buf = server.Encode(buf, "SET", k, val)
			case n < 16:
				buf = server.Encode(buf, "HSET", k, "f1", val, "f2", val, "f3", val, "f4", val)
			case n < 18:
				buf = server.Encode(buf, "RPUSH", k, val, val, val, val)
			case n < 19:
				buf = server.Encode(buf, "SADD", k, "m1"+val, "m2"+val, "m3"+val, "m4"+val)
			default:
				buf = server.Encode(buf, "ZADD", k, "1", "m1"+val, "2", "m2"+val, "3", "m3"+val, "4", "m4"+val)
			}
			cmds++
			if (i+j)%10 == 0 {
				buf = server.Encode(buf, "EXPIRE", k, "3600")
				cmds++
			}
		}
		c.SetDeadline(time.Now().Add(60 * time.Second))
		if _, err := c.Write(buf); err != nil {
			return err
		}
		for ; cmds > 0; cmds-- {
			line, err := br.ReadString('\n')
			if err != nil {
				return err
			}
			if line[0] == '-' {
				return fmt.Errorf("load: %q", strings.TrimSpace(line))
			}
		}
	}
	return nil
}
