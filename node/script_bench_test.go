package node

import (
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds cpu-ns/op: the process's CPU time (GC included) per
// operation since start. On a shared machine it varies much less than
// the wall-clock ns/op, which counts the time other processes had the
// cores.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// benchScript is bench/compare's EVALSHA script.
const benchScript = "redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], ARGV[1])"

// BenchmarkEvalshaGetSet is one EVALSHA of a GET plus a SET through the
// dispatcher (no network), the workload of bench/compare's EVALSHA test.
func BenchmarkEvalshaGetSet(b *testing.B) {
	s := newBenchServer(b)
	a, p := net.Pipe()
	b.Cleanup(func() { a.Close(); p.Close() })
	c := s.newClient(a)
	run := func(args ...string) string {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		c.w.B = c.w.B[:0]
		c.batchWall, c.batchMono = time.Now(), monoNow()
		s.mu.Lock()
		s.call(c, argv)
		s.mu.Unlock()
		return string(c.w.B)
	}
	sha := run("SCRIPT", "LOAD", benchScript)
	sha = sha[5:45]
	argv := [][]byte{[]byte("EVALSHA"), []byte(sha), []byte("1"), []byte("key:1"), []byte("xxx")}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		c.w.B = c.w.B[:0]
		c.batchWall, c.batchMono = time.Now(), monoNow()
		s.mu.Lock()
		s.call(c, argv)
		s.mu.Unlock()
	}
	reportCPU(b, cpu0)
	if string(c.w.B) != "+OK\r\n" {
		b.Fatalf("EVALSHA: %q", c.w.B)
	}
}

// BenchmarkPipelined16 is redis-benchmark -P 16 -c 8 without the
// network: 8 clients, each taking the data lock as a connection does
// (lockForBatch) for a batch of 16 commands on random keys. It shows the
// cost of the lock hand-offs between clients, which the one-client
// benchmark above does not have. Compare evalsha with set.
func BenchmarkPipelined16(b *testing.B) {
	for _, name := range []string{"set", "evalsha"} {
		b.Run(name, func(b *testing.B) { benchPipelined(b, name, 8, 16) })
	}
}

func benchPipelined(b *testing.B, test string, clients, depth int) {
	s := newBenchServer(b)
	var sha string
	{
		a, p := net.Pipe()
		b.Cleanup(func() { a.Close(); p.Close() })
		c := s.newClient(a)
		s.mu.Lock()
		s.call(c, [][]byte{[]byte("SCRIPT"), []byte("LOAD"), []byte(benchScript)})
		s.mu.Unlock()
		sha = string(c.w.B[5:45])
	}
	per := b.N/clients + 1
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for w := 0; w < clients; w++ {
		a, p := net.Pipe()
		b.Cleanup(func() { a.Close(); p.Close() })
		c := s.newClient(a)
		batch := make([][][]byte, depth)
		for i := range batch {
			key := []byte("key:" + strconv.Itoa(w*1000+i))
			if test == "set" {
				batch[i] = [][]byte{[]byte("SET"), key, []byte("xxx")}
			} else {
				batch[i] = [][]byte{[]byte("EVALSHA"), []byte(sha), []byte("1"), key, []byte("xxx")}
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < per; n += depth {
				if !s.lockForBatch(c) {
					panic("busy")
				}
				c.w.B = c.w.B[:0]
				c.batchWall, c.batchMono = time.Now(), monoNow()
				for _, argv := range batch {
					s.call(c, argv)
				}
				s.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	reportCPU(b, cpu0)
}
