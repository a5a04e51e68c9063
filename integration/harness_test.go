// Package integration holds end-to-end tests: they start real skiff and
// redis-server processes on loopback ports and talk RESP to them.
package integration

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binaries located by TestMain.
var (
	skiffBin    string
	redisBin    string
	redisCliBin string // empty when redis-cli is missing
	benchBin    string // empty when redis-benchmark is missing
)

const missingRedisHelp = "integration: redis-server not found in PATH.\n" +
	"The integration tests compare skiff with Redis 7.0 side by side; `make test` installs\n" +
	"Debian's redis-server and redis-tools (scripts/install-deps.sh), or run\n" +
	"`sudo apt-get install redis-server redis-tools` yourself."

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	redisBin, err = exec.LookPath("redis-server")
	if err != nil {
		fmt.Fprintln(os.Stderr, missingRedisHelp)
		return 1
	}
	redisCliBin, _ = exec.LookPath("redis-cli")
	benchBin, _ = exec.LookPath("redis-benchmark")

	if p := os.Getenv("SKIFF_BIN"); p != "" {
		if skiffBin, err = filepath.Abs(p); err != nil {
			fmt.Fprintf(os.Stderr, "integration: SKIFF_BIN %q: %v\n", p, err)
			return 1
		}
		if _, err := os.Stat(skiffBin); err != nil {
			fmt.Fprintf(os.Stderr, "integration: SKIFF_BIN: %v\n", err)
			return 1
		}
	} else {
		dir, err := os.MkdirTemp("", "skiff-integration-bin-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "integration: temp dir: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		skiffBin = filepath.Join(dir, "skiff")
		build := exec.Command("go", "build", "-o", skiffBin, "./cmd/skiff")
		build.Dir = ".." // the module root, from the package directory go test runs in
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: building skiff: %v\n", err)
			return 1
		}
	}
	return m.Run()
}

// Server is one skiff or redis-server process started by a test.
type Server struct {
	Kind string // "skiff" or "redis"
	Port int
	Dir  string
	Args []string // extra options it was started with

	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
	exitErr error
	stopped bool
	mu      sync.Mutex
}

// Addr is the server's loopback address.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Alive reports whether the process is still running.
func (s *Server) Alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// LogTail returns the last max bytes of the server's output.
func (s *Server) LogTail(max int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log %s: %v)", s.logPath, err)
	}
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	return string(b)
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the server binds it; start retries on a new port then.
func freePort() (int, error) {
	// The kernel may hand a just-released port out again before the
	// process it was picked for binds it (a test picks a node's three
	// ports, then the next node's): never return a port twice in one run.
	portsMu.Lock()
	defer portsMu.Unlock()
	for tries := 0; tries < 100; tries++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pick free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("pick free port: no unused port after 100 tries")
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// StartSkiff starts a skiff server configured like the redis-server of
// StartRedis; extra are further "--name value" options.
func StartSkiff(t testing.TB, extra ...string) *Server {
	t.Helper()
	return startServer(t, "skiff", extra)
}

// StartRedis starts redis-server with no persistence and DEBUG enabled.
func StartRedis(t testing.TB, extra ...string) *Server {
	t.Helper()
	return startServer(t, "redis", extra)
}

func startServer(t testing.TB, kind string, extra []string) *Server {
	t.Helper()
	s, err := startServerErr(t, kind, extra)
	if err != nil {
		t.Fatalf("start %s: %v", kind, err)
	}
	return s
}

// startServerErr starts a server whose lifetime is t's, reporting failure
// as an error (usable from a subtest on its parent's t).
func startServerErr(t testing.TB, kind string, extra []string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := tryStart(kind, extra)
		if err == nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("%s (port %d) output:\n%s", s.Kind, s.Port, s.LogTail(8<<10))
				}
				s.Stop()
			})
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func tryStart(kind string, extra []string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "skiff-it-"+kind+"-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	s := &Server{Kind: kind, Port: port, Dir: dir, Args: extra, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	common := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--enable-debug-command", "yes"}
	var args []string
	bin := redisBin
	if kind == "skiff" {
		bin = skiffBin
		args = append([]string{"server"}, common...)
	} else {
		args = common
	}
	args = append(args, extra...)
	logf, err := os.Create(s.logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("log file: %w", err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	// If the test binary dies, take the server with it.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("exec %s: %w", bin, err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	if err := s.waitReady(10 * time.Second); err != nil {
		out := s.LogTail(4 << 10)
		s.Stop()
		return nil, fmt.Errorf("%s on port %d not ready: %w\n%s", kind, port, err, out)
	}
	return s, nil
}

// waitReady polls PING until the server answers +PONG or the deadline passes.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("process exited: %v", s.exitErr)
		default:
		}
		lastErr = pingOnce(s.Addr())
		if lastErr == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no PONG within %v: %v", timeout, lastErr)
}

func pingOnce(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	// A server behind requirepass is ready when it asks for a password.
	if line != "+PONG\r\n" && !strings.HasPrefix(line, "-NOAUTH") {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Stop kills the process, waits for it and removes its directory.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	if s.Alive() {
		s.cmd.Process.Kill()
	}
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
	}
	os.RemoveAll(s.Dir)
}

// RSSKiB reads VmRSS of the process from /proc.
func (s *Server) RSSKiB() (int64, error) {
	return procRSSKiB(s.Pid())
}

func procRSSKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			return strconv.ParseInt(f[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// Conn is a raw RESP connection to a server.
type Conn struct {
	srv *Server
	nc  net.Conn
	br  *bufio.Reader
	// Timeout bounds each Read: the time a reply may go without a byte
	// arriving (a reply still streaming in extends it, so a reply of
	// hundreds of megabytes on a loaded machine is not cut off while a
	// stalled one still is).
	Timeout time.Duration
	// reading is set while Read parses a reply, for idleDeadlineConn.
	reading bool
}

// idleDeadlineConn pushes the read deadline back at every read its Conn
// makes inside Read, so that Conn.Timeout bounds idleness, not the whole
// reply. Outside Read (callers that set their own deadlines on nc) it
// reads as nc does.
type idleDeadlineConn struct {
	net.Conn
	c *Conn
}

func (d idleDeadlineConn) Read(p []byte) (int, error) {
	if d.c.reading {
		d.Conn.SetReadDeadline(time.Now().Add(d.c.Timeout))
	}
	return d.Conn.Read(p)
}

// Dial connects to the server.
func (s *Server) Dial(t testing.TB) *Conn {
	t.Helper()
	c, err := s.DialErr()
	if err != nil {
		t.Fatalf("dial %s: %v", s.Kind, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// DialErr connects without a testing.TB (the caller closes the Conn).
func (s *Server) DialErr() (*Conn, error) {
	nc, err := net.DialTimeout("tcp", s.Addr(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &Conn{srv: s, nc: nc, Timeout: 10 * time.Second}
	c.br = bufio.NewReaderSize(idleDeadlineConn{Conn: nc, c: c}, 64<<10)
	return c, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// EncodeCommand encodes argv as a RESP multibulk.
func EncodeCommand(dst []byte, argv ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(argv)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range argv {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// Send writes one command.
func (c *Conn) Send(argv ...string) error { return c.WriteRaw(EncodeCommand(nil, argv...)) }

// WriteRaw writes bytes as they are.
func (c *Conn) WriteRaw(b []byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.Timeout))
	_, err := c.nc.Write(b)
	return err
}

// Read reads one reply.
func (c *Conn) Read() (Reply, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.Timeout))
	c.reading = true
	defer func() { c.reading = false }()
	return ReadReply(c.br)
}

// Do sends one command and reads its reply.
func (c *Conn) Do(argv ...string) (Reply, error) {
	if err := c.Send(argv...); err != nil {
		return Reply{}, err
	}
	return c.Read()
}

// MustDo is Do that fails the test on an I/O error.
func (c *Conn) MustDo(t testing.TB, argv ...string) Reply {
	t.Helper()
	r, err := c.Do(argv...)
	if err != nil {
		t.Fatalf("%s: %s: %v", c.srv.Kind, fmtArgv(argv), err)
	}
	return r
}

// ReadAllUntilClose reads until the server closes the connection (or the
// timeout passes) and returns what was read.
func (c *Conn) ReadAllUntilClose() ([]byte, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.Timeout))
	var buf bytes.Buffer
	_, err := io.Copy(&buf, c.br)
	return buf.Bytes(), err
}

// isClosed reports whether err means the peer closed the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func fmtArgv(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && !strings.ContainsAny(a, " \"'\\\r\n\t") && strconv.CanBackquote(a) && isPrintable(a) {
			b.WriteString(a)
		} else {
			b.WriteString(strconv.Quote(a))
		}
	}
	return b.String()
}

func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
