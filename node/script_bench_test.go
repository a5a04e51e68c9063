package node

import (
	"net"
	"testing"
	"time"
)

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
	sha := run("SCRIPT", "LOAD", "redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], ARGV[1])")
	sha = sha[5:45]
	argv := [][]byte{[]byte("EVALSHA"), []byte(sha), []byte("1"), []byte("key:1"), []byte("xxx")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.w.B = c.w.B[:0]
		c.batchWall, c.batchMono = time.Now(), monoNow()
		s.mu.Lock()
		s.call(c, argv)
		s.mu.Unlock()
	}
	if string(c.w.B) != "+OK\r\n" {
		b.Fatalf("EVALSHA: %q", c.w.B)
	}
}
