package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// aofDataset writes the same commands to a server with AOF on.
func aofDataset(t *testing.T, c *Conn) {
	t.Helper()
	for i := 0; i < 200; i++ {
		k := strconv.Itoa(i)
		c.MustDo(t, "SET", "s:"+k, "v"+k)
		c.MustDo(t, "RPUSH", "l:"+strconv.Itoa(i%10), k)
		c.MustDo(t, "HSET", "h:"+strconv.Itoa(i%10), "f"+k, k)
		c.MustDo(t, "SADD", "set:"+strconv.Itoa(i%10), k)
		c.MustDo(t, "ZADD", "z:"+strconv.Itoa(i%10), k, "m"+k)
		c.MustDo(t, "INCR", "counter")
	}
	c.MustDo(t, "PEXPIREAT", "s:1", "9999999999999")
	c.MustDo(t, "SELECT", "3")
	c.MustDo(t, "SET", "in3", "x")
	c.MustDo(t, "SELECT", "0")
	c.MustDo(t, "DEL", "s:2")
}

// digestOf loads an AOF directory into a fresh redis-server and returns
// its DEBUG DIGEST.
func digestOf(t *testing.T, kind, dir string) string {
	t.Helper()
	s := startIn(t, kind, dir, "--appendonly", "yes")
	d := s.Dial(t).MustDo(t, "DEBUG", "DIGEST").Str
	s.Stop()
	return d
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-r", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -r %s %s: %v\n%s", src, dst, err, out)
	}
}

// TestAOFInterop: an AOF directory written by skiff (with a rewrite in
// the middle) loads in redis-server with the dataset Redis itself builds
// from the same commands, and redis-server's AOF directory loads in
// skiff with the same content as skiff's own.
func TestAOFInterop(t *testing.T) {
	dirs := map[string]string{}
	for _, kind := range []string{"redis", "skiff"} {
		data := t.TempDir()
		s := startIn(t, kind, data, "--appendonly", "yes", "--appendfsync", "always")
		c := s.Dial(t)
		waitField(t, c, "persistence", "aof_rewrite_in_progress", "0", 10*time.Second)
		aofDataset(t, c)
		c.MustDo(t, "BGREWRITEAOF")
		waitField(t, c, "persistence", "aof_rewrite_in_progress", "0", 10*time.Second)
		c.MustDo(t, "SET", "after-rewrite", "1")
		c.MustDo(t, "LPOP", "l:3")
		c.MustDo(t, "INCR", "counter") // not idempotent: a doubled feed shows
		s.Stop()                       // kill: nothing but what is on disk counts
		dirs[kind] = data
		if out, err := exec.Command("redis-check-aof", filepath.Join(data, "appendonlydir", "appendonly.aof.manifest")).CombinedOutput(); err != nil {
			t.Fatalf("redis-check-aof on %s's AOF: %v\n%s", kind, err, out)
		}
	}
	// Each directory loads into each server; same server, same digest.
	for _, loader := range []string{"redis", "skiff"} {
		own := digestOf(t, loader, dirs[loader])
		other := "skiff"
		if loader == "skiff" {
			other = "redis"
		}
		cp := t.TempDir()
		copyDir(t, filepath.Join(dirs[other], "appendonlydir"), cp)
		if got := digestOf(t, loader, cp); got != own {
			t.Errorf("%s loading %s's AOF: digest %s, want %s", loader, other, got, own)
		}
	}
}

// TestAOFAlwaysKill9: with appendfsync always, every write acknowledged
// before a kill -9 is there after the restart.
func TestAOFAlwaysKill9(t *testing.T) {
	data := t.TempDir()
	s := startIn(t, "skiff", data, "--appendonly", "yes", "--appendfsync", "always")
	c := s.Dial(t)
	waitField(t, c, "persistence", "aof_rewrite_in_progress", "0", 10*time.Second)
	acked := make(chan int, 1)
	go func() {
		n := 0
		for i := 0; i < 1000000; i++ {
			r, err := c.Do("RPUSH", "acked", strconv.Itoa(i))
			if err != nil || r.Type == '-' {
				break
			}
			n = i + 1
			select {
			case <-acked:
			default:
			}
			acked <- n
		}
	}()
	time.Sleep(300 * time.Millisecond)
	s.cmd.Process.Kill()
	<-s.exited
	n := <-acked
	if n < 10 {
		t.Fatalf("only %d writes acknowledged before the kill", n)
	}
	s2 := startIn(t, "skiff", data, "--appendonly", "yes")
	c2 := s2.Dial(t)
	got := c2.MustDo(t, "LLEN", "acked").Int
	if got < int64(n) {
		t.Fatalf("%d elements after restart, %d were acknowledged", got, n)
	}
	if r := c2.MustDo(t, "LINDEX", "acked", strconv.Itoa(n-1)); r.Str != strconv.Itoa(n-1) {
		t.Fatalf("last acknowledged element: %+v", r)
	}
	t.Logf("%d writes acknowledged, %d found", n, got)
}

// TestAOFTruncatedTail: a command cut in half at the end of the last
// incremental file (a crash mid-write) is dropped at load with
// aof-load-truncated yes, and refused with no.
func TestAOFTruncatedTail(t *testing.T) {
	data := t.TempDir()
	s := startIn(t, "skiff", data, "--appendonly", "yes", "--appendfsync", "always")
	c := s.Dial(t)
	waitField(t, c, "persistence", "aof_rewrite_in_progress", "0", 10*time.Second)
	c.MustDo(t, "SET", "a", "1")
	c.MustDo(t, "SET", "b", "2")
	s.Stop()
	incr := filepath.Join(data, "appendonlydir", "appendonly.aof.1.incr.aof")
	f, err := os.OpenFile(incr, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$2\r\n3")
	f.Close()

	if _, err := startServerErr(t, "skiff", []string{"--dir", data, "--appendonly", "yes", "--aof-load-truncated", "no"}); err == nil {
		t.Fatal("started on a truncated AOF with aof-load-truncated no")
	}
	s2 := startIn(t, "skiff", data, "--appendonly", "yes")
	c2 := s2.Dial(t)
	if r := c2.MustDo(t, "MGET", "a", "b", "c"); len(r.Elems) != 3 || r.Elems[0].Str != "1" || r.Elems[1].Str != "2" || !r.Elems[2].Null {
		t.Fatalf("after truncated load: %+v", r)
	}
	c2.MustDo(t, "SET", "d", "4")
	s2.Stop()
	s3 := startIn(t, "skiff", data, "--appendonly", "yes")
	if r := s3.Dial(t).MustDo(t, "GET", "d"); r.Str != "4" {
		t.Fatalf("write after a truncated load lost: %+v", r)
	}
}
