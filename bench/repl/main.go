// Command repl measures replication, skiff against redis-server in the
// same run on the same machine: the time of a full sync of a large
// dataset, master throughput with one and two replicas attached, and the
// replicas' lag under that load. See bench/README.md.
package main

import (
	"github.com/skiffdb/skiff/bench/internal/server"

	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "repl:", err)
		os.Exit(1)
	}
}

type options struct {
	skiff, redis, bench string
	runs                int
	keys                int
	valueSize           int
	requests            int
	clients             int
	parts               string
}

var kinds = []string{"skiff", "redis"}

func run() error {
	var o options
	quick := false
	flag.StringVar(&o.skiff, "skiff", "bin/skiff", "skiff binary")
	flag.StringVar(&o.redis, "redis", "redis-server", "redis-server binary")
	flag.StringVar(&o.bench, "benchmark", "redis-benchmark", "redis-benchmark binary")
	flag.IntVar(&o.runs, "runs", 3, "runs per figure (the median is reported)")
	flag.IntVar(&o.keys, "keys", 1000000, "keys in the full-sync dataset")
	flag.IntVar(&o.valueSize, "value-size", 100, "bytes per value in the full-sync dataset")
	flag.IntVar(&o.requests, "n", 2000000, "redis-benchmark requests (-n) per throughput run")
	flag.IntVar(&o.clients, "c", 50, "redis-benchmark clients (-c)")
	flag.StringVar(&o.parts, "parts", "sync,load", "what to measure: sync (full sync time), load (throughput and lag)")
	flag.BoolVar(&quick, "quick", false, "one run, 100k keys, 200k requests (a smoke test, not a measurement)")
	flag.Parse()
	if quick {
		o.runs, o.keys, o.requests = 1, 100000, 200000
	}
	for _, p := range []*string{&o.skiff, &o.redis, &o.bench} {
		path, err := exec.LookPath(*p)
		if err != nil {
			return fmt.Errorf("%s not found (make builds bin/skiff; redis-server and redis-benchmark come with redis): %w", *p, err)
		}
		*p = path
	}
	var reg registry
	defer reg.stopAll()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		reg.stopAll()
		os.Exit(130)
	}()
	fmt.Printf("skiff %s vs redis-server %s; %d run(s) per figure, median reported\n", o.skiff, o.redis, o.runs)
	if selected(o.parts, "sync") {
		if err := fullSync(o, &reg); err != nil {
			return err
		}
	}
	if selected(o.parts, "load") {
		if err := underLoad(o, &reg); err != nil {
			return err
		}
	}
	return nil
}

// fullSync loads the same dataset into a skiff master and a redis
// master, then attaches fresh replicas of the same kind, runs
// alternating, timing REPLICAOF to master_link_status:up.
func fullSync(o options, reg *registry) error {
	fmt.Printf("\nfull sync of %d keys (%d-byte values), REPLICAOF -> master_link_status:up\n", o.keys, o.valueSize)
	masters := map[string]*proc{}
	for _, k := range kinds {
		m, err := reg.start(o, k)
		if err != nil {
			return err
		}
		masters[k] = m
		t0 := time.Now()
		if err := loadStrings(m, o.keys, o.valueSize); err != nil {
			return fmt.Errorf("loading %s: %w", k, err)
		}
		n, err := m.int("DBSIZE")
		if err != nil || n != int64(o.keys) {
			return fmt.Errorf("%s holds %d keys after loading %d (%v)", k, n, o.keys, err)
		}
		fmt.Printf("  %s master loaded in %v\n", k, time.Since(t0).Round(time.Millisecond))
	}
	times := map[string][]float64{}
	for i := 0; i < o.runs; i++ {
		for _, k := range kinds {
			d, err := timeFullSync(o, reg, masters[k], k)
			if err != nil {
				return err
			}
			times[k] = append(times[k], d.Seconds())
		}
	}
	s, r := median(times["skiff"]), median(times["redis"])
	fmt.Printf("  %-6s %8.2f s   (runs %s)\n", "skiff", s, fmtRuns(times["skiff"], 2))
	fmt.Printf("  %-6s %8.2f s   (runs %s)\n", "redis", r, fmtRuns(times["redis"], 2))
	fmt.Printf("  ratio skiff/redis %.2f (target <= 1.0)\n", s/r)
	for _, m := range masters {
		reg.stop(m)
	}
	return nil
}

func timeFullSync(o options, reg *registry, m *proc, kind string) (time.Duration, error) {
	r, err := reg.start(o, kind)
	if err != nil {
		return 0, err
	}
	defer reg.stop(r)
	t0 := time.Now()
	if line, err := r.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(m.Port)); err != nil || line != "+OK" {
		return 0, fmt.Errorf("REPLICAOF on %s: %q %v", kind, line, err)
	}
	deadline := t0.Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if st, err := r.info("replication", "master_link_status"); err == nil && st == "up" {
			d := time.Since(t0)
			if n, err := r.int("DBSIZE"); err != nil || n != int64(o.keys) {
				return 0, fmt.Errorf("%s replica holds %d keys after the sync, want %d (%v)", kind, n, o.keys, err)
			}
			return d, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("%s replica not in sync after 5 minutes", kind)
}

// underLoad runs redis-benchmark SET -P 16 against a master with zero,
// one and two replicas of its own kind, sampling every replica's lag
// (master offset minus replica offset) every 100 ms.
func underLoad(o options, reg *registry) error {
	fmt.Printf("\nmaster throughput, redis-benchmark -t set -P 16 -c %d -n %d -r 100000; replica lag sampled every 100 ms\n", o.clients, o.requests)
	fmt.Printf("  %-9s %13s %13s %6s   %-22s %-22s\n", "replicas", "skiff req/s", "redis req/s", "ratio", "skiff lag p50/p99 B", "redis lag p50/p99 B")
	for nrep := 0; nrep <= 2; nrep++ {
		rps := map[string][]float64{}
		lags := map[string][]float64{}
		for i := 0; i < o.runs; i++ {
			for _, k := range kinds {
				x, lag, err := loadRun(o, reg, k, nrep)
				if err != nil {
					return err
				}
				rps[k] = append(rps[k], x)
				lags[k] = append(lags[k], lag...)
			}
		}
		s, r := median(rps["skiff"]), median(rps["redis"])
		lagCol := func(k string) string {
			if nrep == 0 {
				return "-"
			}
			return fmt.Sprintf("%.0f/%.0f (%d)", percentile(lags[k], 50), percentile(lags[k], 99), len(lags[k]))
		}
		fmt.Printf("  %-9d %13.0f %13.0f %6.2f   %-22s %-22s (runs skiff %s; redis %s)\n",
			nrep, s, r, s/r, lagCol("skiff"), lagCol("redis"), fmtRuns(rps["skiff"], 0), fmtRuns(rps["redis"], 0))
	}
	fmt.Println("  target: ratio >= 0.8 with one and two replicas; lag = master_repl_offset - replica's master_repl_offset (replica read first), all samples of all runs")
	return nil
}

func loadRun(o options, reg *registry, kind string, nrep int) (float64, []float64, error) {
	m, err := reg.start(o, kind)
	if err != nil {
		return 0, nil, err
	}
	defer reg.stop(m)
	var reps []*proc
	for i := 0; i < nrep; i++ {
		r, err := reg.start(o, kind)
		if err != nil {
			return 0, nil, err
		}
		defer reg.stop(r)
		if line, err := r.Do("REPLICAOF", "127.0.0.1", strconv.Itoa(m.Port)); err != nil || line != "+OK" {
			return 0, nil, fmt.Errorf("REPLICAOF on %s: %q %v", kind, line, err)
		}
		reps = append(reps, r)
	}
	for _, r := range reps {
		if err := waitUp(r, time.Minute); err != nil {
			return 0, nil, err
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var lags []float64
	if nrep > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lags = sampleLag(m, reps, stop)
		}()
	}
	x, err := benchSet(o, m)
	close(stop)
	wg.Wait()
	return x, lags, err
}

func waitUp(r *proc, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if st, err := r.info("replication", "master_link_status"); err == nil && st == "up" {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s replica on port %d not up after %v", r.Kind, r.Port, timeout)
}

// sampleLag reads each replica's offset, then the master's, every 100 ms
// until stop is closed. Reading the replica first errs towards a larger
// lag (writes during the round trip count), never a smaller one.
func sampleLag(m *proc, reps []*proc, stop chan struct{}) []float64 {
	var out []float64
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return out
		case <-tick.C:
		}
		for _, r := range reps {
			ro, err1 := r.infoInt("replication", "master_repl_offset")
			mo, err2 := m.infoInt("replication", "master_repl_offset")
			if err1 != nil || err2 != nil {
				continue
			}
			out = append(out, float64(max(mo-ro, 0)))
		}
	}
}

func benchSet(o options, p *proc) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(p.Port), "-c", strconv.Itoa(o.clients),
		"-n", strconv.Itoa(o.requests), "-P", "16", "-r", "100000", "-t", "set", "--csv"}
	out, err := exec.CommandContext(ctx, o.bench, args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark %s against %s: %w\n%s", strings.Join(args, " "), p.Kind, err, out)
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark output %q: %w", out, err)
	}
	for _, row := range rows {
		if len(row) >= 2 && strings.EqualFold(row[0], "SET") {
			return strconv.ParseFloat(row[1], 64)
		}
	}
	return 0, fmt.Errorf("no SET figure in redis-benchmark output %q", out)
}

// loadStrings writes n keys of random values (the same on every server:
// fixed seed) through one pipelined connection, checking every reply.
func loadStrings(p *proc, n, size int) error {
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)))
	if err != nil {
		return err
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < n; i++ {
			line, err := br.ReadSlice('\n')
			if err != nil {
				errc <- fmt.Errorf("reply %d: %w", i, err)
				return
			}
			if string(line) != "+OK\r\n" {
				errc <- fmt.Errorf("reply %d: %q", i, line)
				return
			}
		}
		errc <- nil
	}()
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	rnd := rand.New(rand.NewSource(42))
	val := make([]byte, size)
	bw := bufio.NewWriterSize(c, 256<<10)
	var buf []byte
	for i := 0; i < n; i++ {
		for j := range val {
			val[j] = alphabet[rnd.Intn(len(alphabet))]
		}
		buf = server.Encode(buf[:0], "SET", "key:"+strconv.Itoa(i), string(val))
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Minute):
		return errors.New("timed out waiting for replies")
	}
}

func selected(list, name string) bool {
	for _, f := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(f), name) {
			return true
		}
	}
	return false
}

func median(v []float64) float64 { return percentile(v, 50) }

// percentile is the nearest-rank percentile (the median of an even count
// is the mean of the middle two).
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if p == 50 && len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	i := int(p/100*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func fmtRuns(v []float64, prec int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', prec, 64)
	}
	return strings.Join(s, "/")
}

// registry tracks the processes started, so that every exit path stops
// them.
type registry struct {
	mu    sync.Mutex
	procs map[*proc]bool
}

func (g *registry) start(o options, kind string) (*proc, error) {
	p, err := startProc(o, kind)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.procs == nil {
		g.procs = map[*proc]bool{}
	}
	g.procs[p] = true
	return p, nil
}

func (g *registry) stop(p *proc) {
	g.mu.Lock()
	delete(g.procs, p)
	g.mu.Unlock()
	p.Stop()
}

func (g *registry) stopAll() {
	g.mu.Lock()
	ps := g.procs
	g.procs = nil
	g.mu.Unlock()
	for p := range ps {
		p.Stop()
	}
}

func (p *proc) int(args ...string) (int64, error) {
	line, err := p.Do(args...)
	if err != nil {
		return 0, err
	}
	if !strings.HasPrefix(line, ":") {
		return 0, fmt.Errorf("%s: reply %q", args[0], line)
	}
	return strconv.ParseInt(line[1:], 10, 64)
}

func (p *proc) info(section, field string) (string, error) {
	out, err := p.Do("INFO", section)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in INFO %s of %s", field, section, p.Kind)
}

func (p *proc) infoInt(section, field string) (int64, error) {
	v, err := p.info(section, field)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// proc is one benchmarked server process.
type proc struct{ *server.Proc }

func startProc(o options, kind string) (*proc, error) {
	bin := o.redis
	if kind == "skiff" {
		bin = o.skiff
	}
	sp, err := server.Start(bin, kind, "--repl-diskless-sync-delay", "0")
	if err != nil {
		return nil, err
	}
	return &proc{sp}, nil
}
