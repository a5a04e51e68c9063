package node

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testLib = "#!lua name=test\nredis.register_function('test', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n" +
	"redis.register_function{function_name='ro', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}, description='reads'}"

func TestFunctionCommands(t *testing.T) {
	s := startTestServer(t, "--enable-debug-command", "yes")
	c := dialRaw(t, s)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"FUNCTION", "LOAD", testLib}, "$4\r\ntest\r\n"},
		{[]string{"FUNCTION", "LOAD", testLib}, "-ERR Library 'test' already exists\r\n"},
		{[]string{"FUNCTION", "LOAD", "foo", "bar", testLib}, "-ERR Unknown option given: foo\r\n"},
		{[]string{"FUNCTION", "LOAD", "replace"}, "-ERR Missing library metadata\r\n"},
		{[]string{"FCALL", "TEST", "1", "k", "v"}, "+OK\r\n"},
		{[]string{"FCALL_RO", "ro", "1", "k"}, "$1\r\nv\r\n"},
		{[]string{"FCALL_RO", "test", "1", "k", "v"}, "-ERR Can not execute a script with write flag using *_ro command.\r\n"},
		{[]string{"FCALL", "nosuch", "0"}, "-ERR Function not found\r\n"},
		{[]string{"FCALL", "test", "x"}, "-ERR Bad number of keys provided\r\n"},
		{[]string{"FCALL", "test", "10", "k"}, "-ERR Number of keys can't be greater than number of args\r\n"},
		{[]string{"FCALL", "test", "-1", "k"}, "-ERR Number of keys can't be negative\r\n"},
		{[]string{"FUNCTION", "LIST"}, "*1\r\n*6\r\n$12\r\nlibrary_name\r\n$4\r\ntest\r\n$6\r\nengine\r\n$3\r\nLUA\r\n$9\r\nfunctions\r\n*2\r\n" +
			"*6\r\n$4\r\nname\r\n$4\r\ntest\r\n$11\r\ndescription\r\n$-1\r\n$5\r\nflags\r\n*0\r\n" +
			"*6\r\n$4\r\nname\r\n$2\r\nro\r\n$11\r\ndescription\r\n$5\r\nreads\r\n$5\r\nflags\r\n*1\r\n+no-writes\r\n"},
		{[]string{"FUNCTION", "LIST", "LIBRARYNAME", "x*"}, "*0\r\n"},
		{[]string{"FUNCTION", "LIST", "libraryname"}, "-ERR library name argument was not given\r\n"},
		{[]string{"FUNCTION", "LIST", "withcode", "withcode"}, "-ERR Unknown argument withcode\r\n"},
		{[]string{"FUNCTION", "STATS"}, "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*2\r\n$3\r\nLUA\r\n*4\r\n$15\r\nlibraries_count\r\n:1\r\n$15\r\nfunctions_count\r\n:2\r\n"},
		{[]string{"FUNCTION", "KILL"}, "-NOTBUSY No scripts in execution right now.\r\n"},
		{[]string{"FUNCTION", "RESTORE", "bad"}, "-ERR DUMP payload version or checksum are wrong\r\n"},
		{[]string{"FUNCTION", "RESTORE", "bad", "foo"}, "-ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.\r\n"},
		{[]string{"FUNCTION", "RESTORE", "a", "b", "c"}, "-ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.\r\n"},
		{[]string{"FUNCTION", "FLUSH", "bad_arg"}, "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n"},
		{[]string{"FUNCTION", "FLUSH", "sync", "extra"}, "-ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.\r\n"},
		{[]string{"FUNCTION", "DELETE", "nosuch"}, "-ERR Library not found\r\n"},
		{[]string{"COMMAND", "GETKEYS", "fcall", "test", "1", "x", "foo"}, "*1\r\n$1\r\nx\r\n"},
		{[]string{"FUNCTION", "bad_subcommand"}, "-ERR unknown subcommand 'bad_subcommand'. Try FUNCTION HELP.\r\n"},
	} {
		if got := c.do(t, tc.args...); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.args, got, tc.want)
		}
	}
	// DUMP, DELETE, RESTORE.
	dump := c.do(t, "FUNCTION", "DUMP")
	payload := bulkBody(t, dump)
	for _, step := range [][]string{{"FUNCTION", "DELETE", "test"}, {"FUNCTION", "RESTORE", payload}} {
		if got := c.do(t, step...); got != "+OK\r\n" {
			t.Fatalf("%s: %q", step[1], got)
		}
	}
	if got := c.do(t, "FUNCTION", "RESTORE", payload); got != "-ERR Library test already exists\r\n" {
		t.Errorf("restore again: %q", got)
	}
	if got := c.do(t, "FUNCTION", "RESTORE", payload, "REPLACE"); got != "+OK\r\n" {
		t.Errorf("restore replace: %q", got)
	}
	// FLUSHALL keeps functions; DEBUG RELOAD keeps them through the RDB.
	c.do(t, "FLUSHALL")
	if got := c.do(t, "DEBUG", "RELOAD"); got != "+OK\r\n" {
		t.Fatalf("debug reload: %q", got)
	}
	if got := c.do(t, "FCALL", "test", "1", "k", "v2"); got != "+OK\r\n" {
		t.Errorf("fcall after reload: %q", got)
	}
	if got := c.do(t, "DEBUG", "RELOAD", "NOFLUSH"); !strings.HasPrefix(got, "-ERR Error trying to load the RDB") {
		t.Errorf("reload noflush: %q", got)
	}
	if got := c.do(t, "DEBUG", "RELOAD", "NOFLUSH", "MERGE"); got != "+OK\r\n" {
		t.Errorf("reload noflush merge: %q", got)
	}
	if got := c.do(t, "FUNCTION", "FLUSH", "ASYNC"); got != "+OK\r\n" {
		t.Errorf("flush: %q", got)
	}
	if got := c.do(t, "FUNCTION", "LIST"); got != "*0\r\n" {
		t.Errorf("list after flush: %q", got)
	}
}

// bulkBody returns the content of a bulk reply.
func bulkBody(t *testing.T, reply string) string {
	t.Helper()
	i := strings.Index(reply, "\r\n")
	if i < 0 || reply[0] != '$' {
		t.Fatalf("not a bulk: %q", reply)
	}
	n, _ := strconv.Atoi(reply[1:i])
	return reply[i+2 : i+2+n]
}

// TestFunctionKillBusy: FUNCTION KILL while a function is busy.
func TestFunctionKillBusy(t *testing.T) {
	s := startTestServer(t, "--busy-reply-threshold", "10")
	c := dialRaw(t, s)
	c.do(t, "FUNCTION", "LOAD", "#!lua name=test\nredis.register_function('test', function() local a = 1 while true do a = a + 1 end end)")
	rd := dialRaw(t, s)
	rd.send(t, "FCALL", "test", "0")
	time.Sleep(200 * time.Millisecond)
	if got := c.do(t, "PING"); !strings.HasPrefix(got, "-BUSY") {
		t.Fatalf("ping while busy: %q", got)
	}
	if got := c.do(t, "SCRIPT", "KILL"); !strings.HasPrefix(got, "-BUSY") {
		t.Errorf("script kill on a function: %q", got)
	}
	// FUNCTION STATS while busy needs busy.go to answer it without the
	// lock (busyFunctionStats); not asked here until it does.
	if got := c.do(t, "FUNCTION", "KILL"); got != "+OK\r\n" {
		t.Errorf("function kill: %q", got)
	}
	if got := rd.readReply(t, 5*time.Second); !strings.HasPrefix(got, "-ERR Script killed by user with SCRIPT KILL...") {
		t.Errorf("killed fcall: %q", got)
	}
	if got := c.do(t, "PING"); got != "+PONG\r\n" {
		t.Errorf("ping after kill: %q", got)
	}
}

// TestFunctionRDBInterop: a file redis-server 7.0.15 saved with
// libraries loads at start, and a file Skiff saves loads into
// redis-server (when installed).
func TestFunctionRDBInterop(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("../rdb/testdata/redis7-functions.rdb")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "dump.rdb"), src, 0o644)
	s := newTestServer(t, "--dir", dir)
	if err := s.Load(); err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(s.Shutdown)
	c := dialRaw(t, s)
	if got := c.do(t, "FCALL", "myfunc", "0", "hello"); got != "$5\r\nhello\r\n" {
		t.Errorf("fcall of a library from redis's file: %q", got)
	}
	if got := c.do(t, "FCALL_RO", "f2", "0"); got != ":2\r\n" {
		t.Errorf("fcall_ro f2: %q", got)
	}
	c.do(t, "FUNCTION", "LOAD", testLib)
	if got := c.do(t, "SAVE"); got != "+OK\r\n" {
		t.Fatalf("save: %q", got)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server to load Skiff's file")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var rc *rawConn
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		if nc, err := dialPort(port); err == nil {
			rc = nc
			t.Cleanup(func() { nc.nc.Close() })
			break
		}
	}
	if rc == nil {
		t.Fatal("redis-server did not start")
	}
	if got := rc.do(t, "FCALL", "test", "1", "k", "fromskiff"); got != "+OK\r\n" {
		t.Errorf("redis-server fcall of Skiff's library: %q", got)
	}
	if got := rc.do(t, "FCALL", "myfunc", "0", "x"); got != "$1\r\nx\r\n" {
		t.Errorf("redis-server fcall myfunc: %q", got)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func dialPort(port int) (*rawConn, error) {
	nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{nc: nc, br: bufio.NewReader(nc)}, nil
}

// TestFunctionReplication: a replica gets the master's libraries with the
// full sync (disk and diskless), then FUNCTION LOAD, RESTORE, DELETE and
// FLUSH as the master propagates them, and function effects.
func TestFunctionReplication(t *testing.T) {
	for _, diskless := range []string{"no", "yes"} {
		t.Run("diskless="+diskless, func(t *testing.T) {
			m := startTestServer(t, "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0")
			r := startTestServer(t)
			mc, rc := dialRaw(t, m), dialRaw(t, r)
			mc.do(t, "FUNCTION", "LOAD", testLib)
			if got := rc.do(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(m.Port())); got != "+OK\r\n" {
				t.Fatalf("replicaof: %q", got)
			}
			waitReply := func(want string, args ...string) {
				t.Helper()
				var got string
				for i := 0; i < 100; i++ {
					if got = rc.do(t, args...); got == want {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
				t.Fatalf("replica %q: %q, want %q", args, got, want)
			}
			waitReply("$-1\r\n", "FCALL_RO", "ro", "1", "nokey")
			if got := rc.do(t, "FUNCTION", "LOAD", testLib); !strings.HasPrefix(got, "-READONLY") {
				t.Errorf("load on the replica: %q", got)
			}
			mc.do(t, "FCALL", "test", "1", "k", "v")
			waitReply("$1\r\nv\r\n", "GET", "k")
			payload := bulkBody(t, mc.do(t, "FUNCTION", "DUMP"))
			mc.do(t, "FUNCTION", "DELETE", "test")
			waitReply("*0\r\n", "FUNCTION", "LIST")
			mc.do(t, "FUNCTION", "RESTORE", payload)
			waitReply("$1\r\nv\r\n", "FCALL_RO", "ro", "1", "k")
			mc.do(t, "FUNCTION", "FLUSH")
			waitReply("*0\r\n", "FUNCTION", "LIST")
			mc.do(t, "FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function('f2', function() return 2 end)")
			// A function without no-writes may not run on a read-only
			// replica, as in Redis.
			waitReply("-READONLY You can't write against a read only replica.\r\n", "FCALL", "f2", "0")
		})
	}
}
