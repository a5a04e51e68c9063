package faults

// Processes of a run: start, kill -9, restart with the same dir and
// config, SIGSTOP/SIGCONT; free loopback ports.

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ---------------------------------------------------------------------
// Ports

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

func canBind(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// reservePorts returns a port P in [lo, hi) such that every port of
// derive(P) is free now and was never handed out in this process. The
// ranges used stay below the kernel's ephemeral range (32768-), so no
// outgoing connection can hold one of them later.
func reservePorts(lo, hi int, derive func(int) []int) (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for tries := 0; tries < 500; tries++ {
		p := lo + rand.Intn(hi-lo)
		ok := true
		for _, q := range derive(p) {
			if q <= 0 || q >= 65536 || portsGiven[q] || !canBind(q) {
				ok = false
				break
			}
		}
		if ok {
			for _, q := range derive(p) {
				portsGiven[q] = true
			}
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free port set in %d-%d", lo, hi)
}

// dataPorts: a data node's RESP port and the raft (+10000) and admin
// (+20000) ports a skiff server may derive from it.
func dataPorts(p int) []int { return []int{p, p + 10000, p + 20000} }

func reserveDataPort() (int, error) { return reservePorts(3000, 12700, dataPorts) }

// ---------------------------------------------------------------------
// Processes

// proc is one server or sentinel with a fixed port, dir and config file,
// so that it can be killed and restarted as the same process.
type proc struct {
	name    string // d0.., s0..: its name in the netfault lab too
	kind    string // "skiff" or "redis"
	role    string // "server" or "sentinel"
	bin     string
	args    []string
	dir     string
	host    string // the address it binds ("" = 127.0.0.1)
	port    int    // real RESP port
	logPath string
	// onStart, if set, is called with the pid right after each start,
	// before the process is ready: the netfault lab must know a process
	// before it opens its first connection through a proxy.
	onStart func(pid int)

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	paused  bool
	starts  int
}

func (p *proc) addr() string {
	h := p.host
	if h == "" {
		h = "127.0.0.1"
	}
	return h + ":" + strconv.Itoa(p.port)
}

// start runs the process (again) and waits until it answers PING.
func (p *proc) start(timeout time.Duration) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== %s start %s %s\n", time.Now().Format("15:04:05.000"), p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// If the test binary dies, take the process with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.paused, p.exitErr = cmd, exited, false, nil
	p.starts++
	p.mu.Unlock()
	if p.onStart != nil {
		p.onStart(cmd.Process.Pid)
	}
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(timeout)
	for {
		if !p.alive() {
			return fmt.Errorf("%s (%s %s) exited at start: %v\n%s", p.name, p.kind, p.role, p.exitError(), p.logTail(2000))
		}
		err := ping(p.addr())
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s (%s %s) not answering PING after %v: %v\n%s", p.name, p.kind, p.role, timeout, err, p.logTail(2000))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) exitError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitErr
}

func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// alive reports whether the process runs (paused or not).
func (p *proc) alive() bool {
	p.mu.Lock()
	ch := p.exited
	p.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// answering reports whether the process runs and is not SIGSTOPped.
func (p *proc) answering() bool {
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	return !paused && p.alive()
}

// kill sends SIGKILL and waits (at most 10 s) for the exit.
func (p *proc) kill() error {
	p.mu.Lock()
	cmd, ch := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || ch == nil {
		return nil
	}
	cmd.Process.Kill()
	select {
	case <-ch:
		p.mu.Lock()
		p.paused = false
		p.mu.Unlock()
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s did not exit 10 s after SIGKILL", p.name)
	}
}

// pause sends SIGSTOP and waits (at most 5 s) until every thread stopped.
func (p *proc) pause() error {
	pid := p.pid()
	if pid == 0 || !p.alive() {
		return fmt.Errorf("%s is not running", p.name)
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return err
	}
	p.mu.Lock()
	p.paused = true
	p.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for !allThreadsStopped(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: threads not stopped 5 s after SIGSTOP", p.name)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func (p *proc) resume() error {
	pid := p.pid()
	if pid == 0 {
		return nil
	}
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
	return syscall.Kill(pid, syscall.SIGCONT)
}

// stopForGood ends the process at the end of a run (a paused process is
// killed as well: SIGKILL needs no SIGCONT).
func (p *proc) stopForGood() {
	if p.alive() {
		p.kill()
	}
}

// allThreadsStopped reports whether every thread of pid is in state T.
func allThreadsStopped(pid int) bool {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return false
	}
	for _, e := range ents {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, e.Name()))
		if err != nil {
			return false
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			return false
		}
		if st := s[i+2]; st != 'T' && st != 't' {
			return false
		}
	}
	return true
}

func (p *proc) logTail(max int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	return string(b)
}

// ---------------------------------------------------------------------
// Talking to processes directly (never through a proxy): observation.

// ping sends PING on a fresh connection and wants a reply.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
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
	// Any reply means the server is up and serving the protocol: a skiff
	// master in strong mode without a lease answers -MASTERDOWN, a
	// loading server -LOADING.
	if l := strings.TrimSpace(line); l != "+PONG" && !strings.HasPrefix(l, "-") {
		return fmt.Errorf("PING: %q", l)
	}
	return nil
}

// do sends one command on a fresh connection to addr.
func do(addr string, timeout time.Duration, args ...any) (any, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: timeout,
		ReadTimeout: timeout, WriteTimeout: timeout, PoolSize: 1, DisableIdentity: true, Protocol: 2})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Do(ctx, args...).Result()
}

// infoMap is INFO <section> of addr as a map.
func infoMap(addr, section string) (map[string]string, error) {
	r, err := do(addr, time.Second, "INFO", section)
	if err != nil {
		return nil, err
	}
	s, ok := r.(string)
	if !ok {
		return nil, fmt.Errorf("INFO reply %T", r)
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// pollFor calls cond every interval until it returns true or timeout
// passes; the error names what and cond's last info.
func pollFor(what string, timeout, interval time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, info := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s (last: %s)", timeout, what, info)
		}
		time.Sleep(interval)
	}
}
