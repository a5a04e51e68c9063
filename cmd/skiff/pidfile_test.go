package main

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestPidFileWrittenAndRemoved: with pidfile set, as redis-server, the
// process id is written at start (a relative path inside dir) and the
// file is removed by a clean shutdown.
func TestPidFileWrittenAndRemoved(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	done := make(chan int, 1)
	go func() {
		done <- runServer([]string{"--port", port, "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--pidfile", "skiff.pid", "--logfile", "skiff.log"})
	}()
	pidPath := filepath.Join(dir, "skiff.pid")
	want := strconv.Itoa(os.Getpid()) + "\n"
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(pidPath)
		if string(b) == want {
			break
		}
		select {
		case rc := <-done:
			t.Fatalf("server exited with %d before writing the pid file", rc)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid file %s holds %q, want %q", pidPath, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// SHUTDOWN NOSAVE, once the server accepts commands.
	var conn net.Conn
	for {
		conn, err = net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = bufio.NewReader(conn).ReadString('\n') // the connection closes
	select {
	case rc := <-done:
		if rc != 0 {
			t.Fatalf("server exit code %d", rc)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not stop within 20s of SHUTDOWN")
	}
	if _, err := os.Stat(pidPath); !os.IsNotExist(err) {
		t.Errorf("pid file still there after a clean shutdown (stat: %v)", err)
	}
}
