// Command bgsave measures SET/GET latency while a BGSAVE of a large
// dataset runs, against skiff and redis-server in the same run, and the
// throughput of SET with the AOF on (appendfsync everysec and always).
//
//	go run ./bench/bgsave -skiff 127.0.0.1:29510 -redis 127.0.0.1:29511 -keys 1000000
//
// Both servers must be started by the caller with --enable-debug-command
// yes and a writable dir; the dataset is created with DEBUG POPULATE.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type conn struct {
	c  net.Conn
	br *bufio.Reader
}

func dial(addr string) (*conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return &conn{c: c, br: bufio.NewReader(c)}, nil
}

// do sends one command and returns the first line of the reply (bulk
// replies are read whole).
func (c *conn) do(args ...string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	line, err := c.br.ReadString('\n')
	if err != nil {
		return "", err
	}
	if line[0] == '$' {
		n, _ := strconv.Atoi(strings.TrimSpace(line[1:]))
		if n >= 0 {
			buf := make([]byte, n+2)
			if _, err := io.ReadFull(c.br, buf); err != nil {
				return "", err
			}
			return string(buf[:n]), nil
		}
	}
	return strings.TrimSpace(line), nil
}

func info(c *conn, field string) string {
	s, err := c.do("INFO", "persistence")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v
		}
	}
	return ""
}

type result struct {
	n             int
	p50, p99, max time.Duration
	saveTime      time.Duration
}

// measure runs clients doing SET/GET on random existing keys while fn
// runs, until fn returns.
func measure(addr string, clients int, keys int, during func(ctl *conn) error) (result, error) {
	ctl, err := dial(addr)
	if err != nil {
		return result{}, err
	}
	stop := make(chan struct{})
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		c, err := dial(addr)
		if err != nil {
			return result{}, err
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var local []time.Duration
			for j := 0; ; j++ {
				select {
				case <-stop:
					mu.Lock()
					lat = append(lat, local...)
					mu.Unlock()
					return
				default:
				}
				k := "key:" + strconv.Itoa((j*7919+i*104729)%keys)
				t0 := time.Now()
				if j%2 == 0 {
					_, err = c.do("SET", k, "value")
				} else {
					_, err = c.do("GET", k)
				}
				if err != nil {
					fmt.Fprintln(os.Stderr, "client:", err)
					return
				}
				local = append(local, time.Since(t0))
			}
		}(i)
	}
	time.Sleep(200 * time.Millisecond)
	t0 := time.Now()
	err = during(ctl)
	st := time.Since(t0)
	close(stop)
	wg.Wait()
	if err != nil {
		return result{}, err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) == 0 {
		return result{}, fmt.Errorf("no requests completed")
	}
	return result{n: len(lat), p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1], saveTime: st}, nil
}

func bgsave(ctl *conn) error {
	if r, err := ctl.do("BGSAVE"); err != nil || !strings.Contains(r, "started") {
		return fmt.Errorf("BGSAVE: %q %v", r, err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for info(ctl, "rdb_bgsave_in_progress") != "0" {
		if time.Now().After(deadline) {
			return fmt.Errorf("BGSAVE did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := info(ctl, "rdb_last_bgsave_status"); st != "ok" {
		return fmt.Errorf("BGSAVE status %s", st)
	}
	return nil
}

func idle(d time.Duration) func(*conn) error {
	return func(*conn) error { time.Sleep(d); return nil }
}

func main() {
	skiff := flag.String("skiff", "127.0.0.1:29510", "skiff address")
	redis := flag.String("redis", "127.0.0.1:29511", "redis-server address")
	keys := flag.Int("keys", 1000000, "dataset size")
	clients := flag.Int("clients", 8, "concurrent clients")
	aofSecs := flag.Duration("aof", 3*time.Second, "duration of each AOF throughput run (0: skip)")
	flag.Parse()
	for _, t := range []struct{ name, addr string }{{"redis", *redis}, {"skiff", *skiff}} {
		c, err := dial(t.addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		c.do("CONFIG", "SET", "appendonly", "no")
		c.do("FLUSHALL")
		if _, err := c.do("DEBUG", "POPULATE", strconv.Itoa(*keys)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		base, err := measure(t.addr, *clients, *keys, idle(2*time.Second))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		during, err := measure(t.addr, *clients, *keys, bgsave)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%-5s no save : %7d req  p50 %8v  p99 %8v  max %8v\n", t.name, base.n, base.p50, base.p99, base.max)
		fmt.Printf("%-5s BGSAVE  : %7d req  p50 %8v  p99 %8v  max %8v  (save of %d keys took %v)\n", t.name, during.n, during.p50, during.p99, during.max, *keys, during.saveTime.Round(time.Millisecond))
		if *aofSecs > 0 {
			c.do("FLUSHALL")
			for _, pol := range []string{"everysec", "always"} {
				c.do("CONFIG", "SET", "appendfsync", pol)
				c.do("CONFIG", "SET", "appendonly", "yes")
				time.Sleep(500 * time.Millisecond) // the initial rewrite
				r, err := measure(t.addr, *clients, 100000, idle(*aofSecs))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				fmt.Printf("%-5s AOF %-8s: %8.0f req/s  p99 %8v  max %8v\n", t.name, pol, float64(r.n)/r.saveTime.Seconds(), r.p99, r.max)
				c.do("CONFIG", "SET", "appendonly", "no")
			}
		}
	}
}
