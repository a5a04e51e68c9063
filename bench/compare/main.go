// Command compare runs redis-benchmark against skiff and redis-server in
// the same run, on the same machine, and prints the throughput of each and
// the ratio skiff/redis (strings and the collection types); then it loads
// the same data into both (a million keys, a million-field hash, a
// million-member sorted set) and compares their memory. See bench/README.md.
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
	"syscall"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

type options struct {
	skiff, redis, bench string
	quick               bool
	runs                int
	keys                int
	elements            int
	scripts             int
	valueSize           int
	seconds             float64
	clients             int
	tests               string
	memory              string
}

func run() error {
	var o options
	flag.StringVar(&o.skiff, "skiff", "bin/skiff", "skiff binary")
	flag.StringVar(&o.redis, "redis", "redis-server", "redis-server binary")
	flag.StringVar(&o.bench, "benchmark", "redis-benchmark", "redis-benchmark binary")
	flag.BoolVar(&o.quick, "quick", false, "one short run per figure and 100k keys (a smoke test, not a measurement)")
	flag.IntVar(&o.runs, "runs", 3, "runs per figure (the median is reported)")
	flag.IntVar(&o.keys, "keys", 1000000, "keys loaded for the memory comparison")
	flag.IntVar(&o.elements, "elements", 1000000, "fields of the big hash and members of the big sorted set in the memory comparison")
	flag.IntVar(&o.scripts, "scripts", 10000, "distinct scripts cached in the scripts memory comparison")
	flag.IntVar(&o.valueSize, "value-size", 100, "bytes per value in the memory comparison")
	flag.Float64Var(&o.seconds, "seconds", 2.5, "target duration of one benchmark run")
	flag.IntVar(&o.clients, "c", 50, "redis-benchmark clients (-c)")
	flag.StringVar(&o.tests, "tests", "", "comma-separated throughput tests to run (default all: "+testNames()+"; \"none\" for none)")
	flag.StringVar(&o.memory, "memory", "strings,hash,zset", "comma-separated memory comparisons to run (strings, hash, zset, scripts; \"none\" for none)")
	flag.Parse()
	if o.quick {
		o.runs, o.keys, o.elements, o.seconds = 1, 100000, 100000, 0.5
	}
	for _, p := range []*string{&o.skiff, &o.redis, &o.bench} {
		path, err := exec.LookPath(*p)
		if err != nil {
			return fmt.Errorf("%s not found (make bench builds skiff and installs redis-server/redis-tools): %w", *p, err)
		}
		*p = path
	}

	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.Stop()
		}
	}()
	// Stop the servers on Ctrl-C too.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		for _, p := range procs {
			p.Stop()
		}
		os.Exit(130)
	}()

	start := func(kind string) (*proc, error) {
		p, err := startProc(o, kind)
		if err == nil {
			procs = append(procs, p)
		}
		return p, err
	}
	sk, err := start("skiff")
	if err != nil {
		return err
	}
	rd, err := start("redis")
	if err != nil {
		return err
	}
	fmt.Printf("skiff %s (pid %d, port %d) vs redis-server %s (pid %d, port %d); -c %d, %d run(s) each, median\n",
		o.skiff, sk.Pid(), sk.Port, o.redis, rd.Pid(), rd.Port, o.clients, o.runs)
	fmt.Printf("%-6s %4s %14s %14s %7s\n", "test", "-P", "skiff req/s", "redis req/s", "ratio")
	// The string tests (issue 2's targets) and the data-type tests are
	// summarised apart: they answer different questions.
	var ratios [3][2][]float64 // [strings|types|scripts][-P 1|-P 16]
	for pi, pipe := range []int{1, 16} {
		for _, t := range benchTests {
			if !selected(o.tests, t.name) {
				continue
			}
			if t.setup != nil {
				for _, p := range []*proc{sk, rd} {
					if _, err := p.Do(t.setup...); err != nil {
						return fmt.Errorf("%s setup on %s: %w", t.name, p.Kind, err)
					}
				}
			}
			// Size -n so that one run lasts about o.seconds on redis.
			probe, err := benchOnce(o, rd, t, pipe, 20000*pipe/4+5000)
			if err != nil {
				return err
			}
			n := int(probe * o.seconds)
			if n < 10000 {
				n = 10000
			}
			var skr, rdr []float64
			for i := 0; i < o.runs; i++ {
				// Alternate so that machine noise hits both alike.
				a, err := benchOnce(o, sk, t, pipe, n)
				if err != nil {
					return err
				}
				b, err := benchOnce(o, rd, t, pipe, n)
				if err != nil {
					return err
				}
				skr, rdr = append(skr, a), append(rdr, b)
			}
			s, r := median(skr), median(rdr)
			ratio := s / r
			group := 0
			if t.dataType {
				group = 1
			}
			if t.script {
				group = 2
			}
			ratios[group][pi] = append(ratios[group][pi], ratio)
			fmt.Printf("%-6s %4d %14.0f %14.0f %7.2f   (n=%d; skiff runs %s; redis runs %s)\n",
				t.name, pipe, s, r, ratio, n, fmtRuns(skr), fmtRuns(rdr))
		}
	}
	for g, label := range []string{"strings:   ", "data types:", "scripts:   "} {
		if len(ratios[g][0]) > 0 {
			fmt.Printf("median ratio, %s %.2f at -P 1, %.2f at -P 16\n", label, median(ratios[g][0]), median(ratios[g][1]))
		}
	}

	// Memory: fresh servers per data set, identical data through a
	// pipelined loader.
	for _, ds := range memoryDataSets(o) {
		if !selected(o.memory, ds.name) {
			continue
		}
		sk.Stop()
		rd.Stop()
		if sk, err = start("skiff"); err != nil {
			return err
		}
		if rd, err = start("redis"); err != nil {
			return err
		}
		fmt.Printf("\nmemory after loading %s:\n", ds.title)
		fmt.Printf("%-6s %14s %14s\n", "", "RSS KiB", "used_memory")
		var rss [2]int64
		var used [2]int64
		for i, p := range []*proc{sk, rd} {
			t0 := time.Now()
			if err := load(p, ds); err != nil {
				return fmt.Errorf("loading %s into %s: %w", ds.title, p.Kind, err)
			}
			loadTime := time.Since(t0)
			time.Sleep(time.Second) // let a collector or allocator settle, as a real server would
			if rss[i], err = p.rss(); err != nil {
				return err
			}
			used[i], _ = p.usedMemory()
			um := "n/a"
			if used[i] > 0 {
				um = strconv.FormatInt(used[i], 10)
			}
			fmt.Printf("%-6s %14d %14s   (loaded in %v)\n", p.Kind, rss[i], um, loadTime.Round(time.Millisecond))
		}
		fmt.Printf("ratio  %14.2f", float64(rss[0])/float64(rss[1]))
		if used[0] > 0 && used[1] > 0 {
			fmt.Printf(" %14.2f", float64(used[0])/float64(used[1]))
		}
		fmt.Println()
	}
	return nil
}

// benchTest is one redis-benchmark workload: a built-in test (-t name)
// or, when cmd is set, a command line of its own.
type benchTest struct {
	name     string
	cmd      []string
	dataType bool
	// setup runs on both servers before the test (SCRIPT LOAD).
	setup []string
	// script groups the scripting tests in their own summary line.
	script bool
}

// benchScript is the script of the EVALSHA test: a GET plus a SET, the
// shape of the small atomic steps users write scripts for.
const benchScript = "redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], ARGV[1])"

// benchScriptSHA is SHA1(benchScript), which SCRIPT LOAD returns.
const benchScriptSHA = "2682b0f87ca7c430a4d67cd199555534f81a59b6"

// benchTests run in this order on the same servers, so LPOP pops what
// LPUSH pushed and ZRANGE reads the set ZADD built (redis-benchmark's
// built-in ZADD writes to the key "myzset", with -r up to 100000 members).
var benchTests = []benchTest{
	{name: "SET"}, {name: "GET"}, {name: "INCR"}, {name: "MSET"},
	{name: "LPUSH", dataType: true},
	{name: "LPOP", dataType: true},
	{name: "SADD", dataType: true},
	{name: "HSET", dataType: true},
	{name: "ZADD", dataType: true},
	{name: "ZRANGE", cmd: []string{"zrange", "myzset", "0", "9"}, dataType: true},
	{name: "XADD", cmd: []string{"xadd", "mystream", "*", "field", "value"}, dataType: true},
	{name: "EVALSHA", cmd: []string{"evalsha", benchScriptSHA, "1", "key:__rand_int__", "xxx"}, setup: []string{"script", "load", benchScript}, script: true},
}

func testNames() string {
	names := make([]string, len(benchTests))
	for i, t := range benchTests {
		names[i] = strings.ToLower(t.name)
	}
	return strings.Join(names, ",")
}

// selected reports whether name is in the comma-separated list (an empty
// list selects everything).
func selected(list, name string) bool {
	if list == "" {
		return true
	}
	for _, f := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(f), name) {
			return true
		}
	}
	return false
}

// memDataSet is one memory comparison: n commands built by cmd (i is the
// command's index), each answered with a reply of one line.
type memDataSet struct {
	name  string
	title string
	n     int
	cmd   func(dst []byte, i int, rnd *rand.Rand) []byte
}

// memBatch is how many fields or members one loader command writes for
// the big hash and sorted set (the count the reply must carry).
const memBatch = 100

func memoryDataSets(o options) []memDataSet {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	randBytes := func(b []byte, rnd *rand.Rand) {
		for j := range b {
			b[j] = alphabet[rnd.Intn(len(alphabet))]
		}
	}
	val := make([]byte, o.valueSize)
	small := make([]byte, 10)
	args := make([]string, 0, 2+2*memBatch)
	return []memDataSet{
		{
			name:  "strings",
			title: fmt.Sprintf("%d keys of %d-byte values", o.keys, o.valueSize),
			n:     o.keys,
			cmd: func(dst []byte, i int, rnd *rand.Rand) []byte {
				randBytes(val, rnd)
				return server.Encode(dst, "SET", "key:"+strconv.Itoa(i), string(val))
			},
		},
		{
			name:  "scripts",
			title: fmt.Sprintf("%d cached scripts (EVAL of distinct ~100-byte bodies)", o.scripts),
			n:     o.scripts,
			cmd: func(dst []byte, i int, rnd *rand.Rand) []byte {
				randBytes(val[:min(60, len(val))], rnd)
				body := "local v = redis.call('get', KEYS[1]) return 1 -- " + strconv.Itoa(i) + " " + string(val[:min(60, len(val))])
				return server.Encode(dst, "EVAL", body, "1", "k")
			},
		},
		{
			name:  "hash",
			title: fmt.Sprintf("one hash of %d fields (field:N -> 10-byte value)", o.elements/memBatch*memBatch),
			n:     o.elements / memBatch,
			cmd: func(dst []byte, i int, rnd *rand.Rand) []byte {
				args = append(args[:0], "HSET", "bighash")
				for j := 0; j < memBatch; j++ {
					randBytes(small, rnd)
					args = append(args, "field:"+strconv.Itoa(i*memBatch+j), string(small))
				}
				return server.Encode(dst, args...)
			},
		},
		{
			name:  "zset",
			title: fmt.Sprintf("one sorted set of %d members (member:N, random integer score)", o.elements/memBatch*memBatch),
			n:     o.elements / memBatch,
			cmd: func(dst []byte, i int, rnd *rand.Rand) []byte {
				args = append(args[:0], "ZADD", "bigzset")
				for j := 0; j < memBatch; j++ {
					args = append(args, strconv.Itoa(rnd.Intn(1<<30)), "member:"+strconv.Itoa(i*memBatch+j))
				}
				return server.Encode(dst, args...)
			},
		},
	}
}

func fmtRuns(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strings.Join(s, "/")
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (p *proc) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

func (p *proc) usedMemory() (int64, error) {
	info, err := p.Do("INFO", "memory")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("no used_memory in INFO memory")
}

// benchOnce runs redis-benchmark once and returns requests per second.
func benchOnce(o options, p *proc, t benchTest, pipe, n int) (float64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(p.Port),
		"-c", strconv.Itoa(o.clients), "-n", strconv.Itoa(n), "-P", strconv.Itoa(pipe),
		"-r", "100000", "--csv"}
	if t.cmd == nil {
		args = append(args, "-t", strings.ToLower(t.name))
	} else {
		args = append(args, t.cmd...)
	}
	out, err := exec.CommandContext(ctx, o.bench, args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark %s against %s: %w\n%s", strings.Join(args, " "), p.Kind, err, out)
	}
	rows, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark output %q: %w", out, err)
	}
	// A built-in test's row is titled with its name (MSET's as "MSET (10
	// keys)"); a custom command's with the command line.
	want := strings.ToUpper(t.name)
	if t.cmd != nil {
		want = strings.ToUpper(strings.Join(t.cmd, " "))
	}
	for _, row := range rows {
		if len(row) >= 2 && strings.HasPrefix(strings.ToUpper(row[0]), want) {
			return strconv.ParseFloat(row[1], 64)
		}
	}
	return 0, fmt.Errorf("no %s figure in redis-benchmark output %q", t.name, out)
}

// load sends the data set's commands to the server through a pipeline,
// reading the replies as it goes; every reply must be OK or a positive
// integer (the count of new elements), which a failure would not be.
func load(p *proc, ds memDataSet) error {
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)))
	if err != nil {
		return err
	}
	defer c.Close()
	rnd := rand.New(rand.NewSource(42))
	errc := make(chan error, 1)
	go func() {
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < ds.n; i++ {
			line, err := br.ReadSlice('\n')
			if err != nil {
				errc <- fmt.Errorf("reply %d: %w", i, err)
				return
			}
			if string(line) != "+OK\r\n" && (len(line) < 4 || line[0] != ':' || line[1] == '0' || line[1] == '-') {
				errc <- fmt.Errorf("reply %d: %q", i, line)
				return
			}
		}
		errc <- nil
	}()
	bw := bufio.NewWriterSize(c, 256<<10)
	var buf []byte
	for i := 0; i < ds.n; i++ {
		buf = ds.cmd(buf[:0], i, rnd)
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

// proc is one benchmarked server process.
type proc struct{ *server.Proc }

func startProc(o options, kind string) (*proc, error) {
	bin := o.redis
	if kind == "skiff" {
		bin = o.skiff
	}
	sp, err := server.Start(bin, kind)
	if err != nil {
		return nil, err
	}
	return &proc{sp}, nil
}
