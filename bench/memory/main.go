// Command memory loads the same data sets into fresh skiff and
// redis-server processes, alternating between them, and prints the
// memory each holds afterwards: RSS (anonymous and file-backed, from
// /proc/PID/status) and INFO memory's used_memory. See bench/README.md
// and docs/memory.md ("Where RSS goes").
package main

import (
	"bufio"
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

	"github.com/skiffdb/skiff/bench/internal/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memory:", err)
		os.Exit(1)
	}
}

type options struct {
	skiff, redis, bench string
	runs                int
	settle              time.Duration
	sets                string
	scale               float64
	skiffArgs           string
}

// sample is what one server holds after one load.
type sample struct {
	rss, anon, file, used int64 // bytes
	load                  time.Duration
}

func run() error {
	var o options
	flag.StringVar(&o.skiff, "skiff", "bin/skiff", "skiff binary")
	flag.StringVar(&o.redis, "redis", "redis-server", "redis-server binary")
	flag.StringVar(&o.bench, "benchmark", "redis-benchmark", "redis-benchmark binary (loads the stream)")
	flag.IntVar(&o.runs, "runs", 1, "loads per server and data set (the median is reported)")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "quiet time after a load before memory is read")
	flag.StringVar(&o.sets, "sets", "stream,strings,hash,zset", "comma-separated data sets (stream, strings, set, hash, zset)")
	flag.Float64Var(&o.scale, "scale", 1, "multiplies every data set's size (0.1 for a smoke test)")
	flag.IntVar(&server.PortBase, "port-base", 0, "take ports from here upwards (0: any free port)")
	flag.StringVar(&o.skiffArgs, "skiff-args", "", "extra options for skiff, space-separated (e.g. \"--maxmemory 200mb\")")
	flag.Parse()

	// Servers die with this process (Pdeathsig); an interrupt must still
	// remove their directories.
	var live []*server.Proc
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		for _, p := range live {
			p.Stop()
		}
		os.Exit(1)
	}()

	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("load average at start: %s", load)
	type row struct {
		title string
		s     [2][]sample
	}
	var rows []row
	for _, ds := range dataSets(o) {
		if !selected(o.sets, ds.name) {
			continue
		}
		r := row{title: ds.title}
		for i := 0; i < o.runs; i++ {
			// Alternate which server goes first, so a burst of load on the
			// machine does not always hit the same one.
			order := []int{0, 1}
			if i%2 == 1 {
				order = []int{1, 0}
			}
			for _, k := range order {
				kind, bin := "skiff", o.skiff
				extra := []string{"--enable-debug-command", "yes"}
				if k == 1 {
					kind, bin = "redis", o.redis
				} else if o.skiffArgs != "" {
					extra = append(extra, strings.Fields(o.skiffArgs)...)
				}
				p, err := server.Start(bin, kind, extra...)
				if err != nil {
					return err
				}
				live = append(live, p)
				s, err := measure(o, p, ds)
				p.Stop()
				if err != nil {
					return fmt.Errorf("%s into %s: %w", ds.title, kind, err)
				}
				fmt.Printf("  %-40s %-5s rss %7.1f MB (anon %6.1f, file %5.1f)  used_memory %7.1f MB  loaded in %v\n",
					ds.title, kind, mb(s.rss), mb(s.anon), mb(s.file), mb(s.used), s.load.Round(time.Millisecond))
				r.s[k] = append(r.s[k], s)
			}
		}
		rows = append(rows, r)
	}
	load, _ = os.ReadFile("/proc/loadavg")
	fmt.Printf("load average at end: %s\n", load)
	fmt.Printf("medians of %d run(s), MB; ratio = skiff/redis\n", o.runs)
	fmt.Printf("%-40s %8s %8s %6s %8s %8s %6s %8s %8s %8s %8s\n", "data set", "RSS sk", "RSS rd", "ratio",
		"used sk", "used rd", "ratio", "anon sk", "anon rd", "file sk", "file rd")
	for _, r := range rows {
		sk, rd := medianSample(r.s[0]), medianSample(r.s[1])
		fmt.Printf("%-40s %8.1f %8.1f %6.2f %8.1f %8.1f %6.2f %8.1f %8.1f %8.1f %8.1f\n", r.title,
			mb(sk.rss), mb(rd.rss), float64(sk.rss)/float64(rd.rss),
			mb(sk.used), mb(rd.used), float64(sk.used)/float64(rd.used),
			mb(sk.anon), mb(rd.anon), mb(sk.file), mb(rd.file))
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// medianSample takes each figure's median on its own.
func medianSample(v []sample) sample {
	pick := func(f func(sample) int64) int64 {
		x := make([]int64, len(v))
		for i, s := range v {
			x[i] = f(s)
		}
		sort.Slice(x, func(i, j int) bool { return x[i] < x[j] })
		return x[len(x)/2]
	}
	return sample{
		rss:  pick(func(s sample) int64 { return s.rss }),
		anon: pick(func(s sample) int64 { return s.anon }),
		file: pick(func(s sample) int64 { return s.file }),
		used: pick(func(s sample) int64 { return s.used }),
	}
}

// measure loads ds into p, waits o.settle, and reads p's memory.
func measure(o options, p *server.Proc, ds dataSet) (sample, error) {
	var s sample
	t0 := time.Now()
	if err := ds.load(o, p); err != nil {
		return s, err
	}
	s.load = time.Since(t0)
	time.Sleep(o.settle) // a server that returns memory when idle may do so now, as a real one would
	var err error
	if s.rss, s.anon, s.file, err = procMemory(p.Pid()); err != nil {
		return s, err
	}
	s.used, err = usedMemory(p)
	return s, err
}

type dataSet struct {
	name, title string
	load        func(o options, p *server.Proc) error
}

func dataSets(o options) []dataSet {
	n := func(x int) int { return max(1, int(float64(x)*o.scale)) }
	entries, keys, colls := n(1000000), n(1000000), n(100000)
	return []dataSet{
		{
			name:  "stream",
			title: fmt.Sprintf("stream of %d entries (XADD)", entries),
			load: func(o options, p *server.Proc) error {
				// The command of docs/streams.md: redis-benchmark's 50
				// clients, 16 commands in flight each.
				out, err := exec.Command(o.bench, "-h", "127.0.0.1", "-p", strconv.Itoa(p.Port),
					"-n", strconv.Itoa(entries), "-c", "50", "-P", "16", "-q",
					"XADD", "mem", "*", "field1", "value1", "field2", "value2").CombinedOutput()
				if err != nil {
					return fmt.Errorf("redis-benchmark: %w\n%s", err, out)
				}
				if r, err := p.Do("XLEN", "mem"); err != nil || r != ":"+strconv.Itoa(entries) {
					return fmt.Errorf("XLEN mem: %q %v", r, err)
				}
				return nil
			},
		},
		{
			name:  "strings",
			title: fmt.Sprintf("%d strings of 100 B (DEBUG POPULATE)", keys),
			load: func(o options, p *server.Proc) error {
				r, err := p.DoTimeout(5*time.Minute, "DEBUG", "POPULATE", strconv.Itoa(keys), "key", "100")
				if err != nil || r != "+OK" {
					return fmt.Errorf("DEBUG POPULATE: %q %v", r, err)
				}
				return nil
			},
		},
		{
			// The same keys through SET, as clients write them (not in
			// the default list: DEBUG POPULATE is what the issue
			// measures).
			name:  "set",
			title: fmt.Sprintf("%d strings of 100 B (SET)", keys),
			load: func(o options, p *server.Proc) error {
				val := make([]byte, 100)
				return pipeline(p, keys, "+OK", func(dst []byte, i int, rnd *rand.Rand) []byte {
					randBytes(val, rnd)
					return server.Encode(dst, "SET", "key:"+strconv.Itoa(i), string(val))
				})
			},
		},
		{
			name:  "hash",
			title: fmt.Sprintf("%d hashes of 10 fields", colls),
			load: func(o options, p *server.Proc) error {
				args := make([]string, 0, 22)
				val := make([]byte, 10)
				return pipeline(p, colls, ":10", func(dst []byte, i int, rnd *rand.Rand) []byte {
					args = append(args[:0], "HSET", "hash:"+strconv.Itoa(i))
					for j := 0; j < 10; j++ {
						randBytes(val, rnd)
						args = append(args, "field:"+strconv.Itoa(j), string(val))
					}
					return server.Encode(dst, args...)
				})
			},
		},
		{
			name:  "zset",
			title: fmt.Sprintf("%d sorted sets of 10 members", colls),
			load: func(o options, p *server.Proc) error {
				args := make([]string, 0, 22)
				return pipeline(p, colls, ":10", func(dst []byte, i int, rnd *rand.Rand) []byte {
					args = append(args[:0], "ZADD", "zset:"+strconv.Itoa(i))
					for j := 0; j < 10; j++ {
						args = append(args, strconv.Itoa(rnd.Intn(1<<30)), "member:"+strconv.Itoa(j))
					}
					return server.Encode(dst, args...)
				})
			},
		},
	}
}

func randBytes(b []byte, rnd *rand.Rand) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for j := range b {
		b[j] = alphabet[rnd.Intn(len(alphabet))]
	}
}

// pipeline sends n commands built by cmd over one connection (fixed
// seed, so both servers get the same data), reading the replies as it
// goes; every reply must be want.
func pipeline(p *server.Proc, n int, want string, cmd func(dst []byte, i int, rnd *rand.Rand) []byte) error {
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	errc := make(chan error, 1)
	go func() {
		br := bufio.NewReaderSize(c, 64<<10)
		for i := 0; i < n; i++ {
			line, err := br.ReadSlice('\n')
			if err != nil {
				errc <- fmt.Errorf("reply %d: %w", i, err)
				return
			}
			if strings.TrimRight(string(line), "\r\n") != want {
				errc <- fmt.Errorf("reply %d: %q, want %q", i, line, want)
				return
			}
		}
		errc <- nil
	}()
	rnd := rand.New(rand.NewSource(42))
	bw := bufio.NewWriterSize(c, 256<<10)
	var buf []byte
	for i := 0; i < n; i++ {
		buf = cmd(buf[:0], i, rnd)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return <-errc
}

// procMemory reads VmRSS, RssAnon and RssFile of pid, in bytes.
func procMemory(pid int) (rss, anon, file int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0, err
	}
	found := 0
	for _, l := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		var dst *int64
		switch name {
		case "VmRSS":
			dst = &rss
		case "RssAnon":
			dst = &anon
		case "RssFile":
			dst = &file
		default:
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		*dst = kb * 1024
		found++
	}
	if found != 3 {
		return 0, 0, 0, errors.New("VmRSS, RssAnon or RssFile missing from /proc/PID/status")
	}
	return rss, anon, file, nil
}

func usedMemory(p *server.Proc) (int64, error) {
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

// selected reports whether name is in the comma-separated list.
func selected(list, name string) bool {
	for _, f := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(f), name) {
			return true
		}
	}
	return false
}
