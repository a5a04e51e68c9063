// Package server starts skiff and redis-server processes for the
// benchmark programs: a free loopback port, a temporary directory, no
// persistence, readiness polled with PING.
package server

import (
	"bufio"
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
	"time"
)

// Proc is one server process in its own temporary directory.
type Proc struct {
	Kind string // "skiff" or "redis"
	Port int
	Dir  string

	cmd    *exec.Cmd
	exited chan struct{}
	once   sync.Once
}

// PortBase, when set, makes Start take ports from PortBase upwards (the
// first free one) instead of any free port, for machines where each user
// has a port range of its own.
var PortBase int

var nextPort int

func freePort() (int, error) {
	if PortBase > 0 {
		if nextPort < PortBase {
			nextPort = PortBase
		}
		for ; nextPort < PortBase+1000; nextPort++ {
			ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(nextPort)))
			if err != nil {
				continue
			}
			ln.Close()
			nextPort++
			return nextPort - 1, nil
		}
		return 0, fmt.Errorf("no free port in %d-%d", PortBase, PortBase+999)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start runs bin (skiff or redis-server, by kind) on a free port with
// persistence off and extra options appended, and waits until it answers
// PING. It retries on another port when the first one was taken.
func Start(bin, kind string, extra ...string) (*Proc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "skiff-bench-"+kind+"-")
		if err != nil {
			return nil, err
		}
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--loglevel", "warning"}, extra...)
		if kind == "skiff" {
			args = append([]string{"server"}, args...)
		}
		logf, err := os.Create(filepath.Join(dir, "server.log"))
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		p := &Proc{Kind: kind, Port: port, Dir: dir, exited: make(chan struct{})}
		p.cmd = exec.Command(bin, args...)
		p.cmd.Stdout, p.cmd.Stderr = logf, logf
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := p.cmd.Start(); err != nil {
			logf.Close()
			os.RemoveAll(dir)
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		go func() { p.cmd.Wait(); logf.Close(); close(p.exited) }()
		if err := p.waitReady(10 * time.Second); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			p.Stop()
			lastErr = fmt.Errorf("%s not ready on port %d: %w\n%s", kind, port, err, log)
			continue
		}
		return p, nil
	}
	return nil, lastErr
}

func (p *Proc) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	err := errors.New("no answer")
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errors.New("process exited")
		default:
		}
		var r string
		if r, err = p.Do("PING"); err == nil && r == "+PONG" {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Stop kills the process, waits for it and removes its directory.
func (p *Proc) Stop() {
	p.once.Do(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		os.RemoveAll(p.Dir)
	})
}

// Do sends one command on a new connection and returns the first line of
// the reply, or a bulk reply's content.
func (p *Proc) Do(args ...string) (string, error) {
	return p.DoTimeout(5*time.Second, args...)
}

// DoTimeout is Do with a deadline of its own, for slow commands (DEBUG
// POPULATE of a million keys).
func (p *Proc) DoTimeout(timeout time.Duration, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port)), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(Encode(nil, args...)); err != nil {
		return "", err
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") {
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("reply %q", line)
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return line, nil
}

// Encode appends a command in RESP multibulk form.
func Encode(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}
