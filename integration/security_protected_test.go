package integration

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/raftauth"
)

// The protected-mode tests need a client that is not on the server's
// loopback. They build one out of nothing but what they create: two network
// namespaces joined by a veth pair, addresses from a private range inside
// them, servers started in one, clients (this test binary run again as a
// helper) in the other. The host's own interfaces are never touched.

const (
	labServerIP = "10.250.77.1"
	labClientIP = "10.250.77.2"
)

type nsLab struct {
	srvNS, cliNS string
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNSLab creates the namespaces, or skips the test saying why.
func newNSLab(t *testing.T) *nsLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("protected-mode test needs root to create network namespaces (ip netns add); skipped")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("protected-mode test needs iproute2's ip to create network namespaces; skipped")
	}
	id := strconv.Itoa(os.Getpid() % 100000)
	l := &nsLab{srvNS: "skiffsec" + id + "s", cliNS: "skiffsec" + id + "c"}
	vs, vc := "sks"+id, "skc"+id // interface names: at most 15 bytes
	if err := run("ip", "netns", "add", l.srvNS); err != nil {
		t.Skipf("cannot create a network namespace here (%v); skipped", err)
	}
	t.Cleanup(func() { _ = run("ip", "netns", "del", l.srvNS) })
	if err := run("ip", "netns", "add", l.cliNS); err != nil {
		t.Skipf("cannot create a second network namespace (%v); skipped", err)
	}
	t.Cleanup(func() { _ = run("ip", "netns", "del", l.cliNS) })
	steps := [][]string{
		{"link", "add", vs, "netns", l.srvNS, "type", "veth", "peer", "name", vc, "netns", l.cliNS},
		{"-n", l.srvNS, "addr", "add", labServerIP + "/24", "dev", vs},
		{"-n", l.cliNS, "addr", "add", labClientIP + "/24", "dev", vc},
		{"-n", l.srvNS, "link", "set", vs, "up"},
		{"-n", l.cliNS, "link", "set", vc, "up"},
		{"-n", l.srvNS, "link", "set", "lo", "up"},
		{"-n", l.cliNS, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := run("ip", s...); err != nil {
			t.Skipf("cannot set up the veth pair between the test's namespaces (%v); skipped", err)
		}
	}
	return l
}

// labProc is a server process running in the server namespace.
type labProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

func (l *nsLab) start(t *testing.T, bin string, args ...string) *labProc {
	t.Helper()
	dir := t.TempDir()
	p := &labProc{exited: make(chan struct{}), log: filepath.Join(dir, "server.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", l.srvNS, bin}, args...)...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s in %s: %v", bin, l.srvNS, err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.exited) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill() // ip netns exec execs the server: this is its pid
		<-p.exited
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("%s output:\n%s", bin, b)
		}
	})
	return p
}

// probe is what the helper client saw.
type probe struct {
	Greeting string `json:"greeting"` // sent by the server before any command
	Closed   bool   `json:"closed"`   // the server closed after the greeting
	Ping     string `json:"ping"`     // first reply line to PING, when still open
	Err      string `json:"err"`
}

// helper runs this test binary as a client inside ns.
func (l *nsLab) helper(t *testing.T, ns string, env ...string) probe {
	t.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestSecurityLabHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"SKIFF_LAB_HELPER=1"}, env...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper in %s: %v: %s", ns, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if js, ok := strings.CutPrefix(line, "LAB "); ok {
			var p probe
			if err := json.Unmarshal([]byte(js), &p); err != nil {
				t.Fatalf("helper output %q: %v", js, err)
			}
			return p
		}
	}
	t.Fatalf("helper printed no result: %s", out)
	return probe{}
}

// TestSecurityLabHelper is the client the lab tests run inside a
// namespace; on its own it does nothing.
func TestSecurityLabHelper(t *testing.T) {
	if os.Getenv("SKIFF_LAB_HELPER") != "1" {
		t.Skip("helper process of the protected-mode tests")
	}
	var p probe
	switch os.Getenv("SKIFF_LAB_MODE") {
	case "resp":
		p = respProbe(os.Getenv("SKIFF_LAB_ADDR"))
	case "http":
		p = httpProbe(os.Getenv("SKIFF_LAB_ADDR"), os.Getenv("SKIFF_LAB_METHOD"), os.Getenv("SKIFF_LAB_TOKEN"))
	case "raft":
		p = raftProbe(os.Getenv("SKIFF_LAB_ADDR"), os.Getenv("SKIFF_LAB_SECRET"))
	}
	b, _ := json.Marshal(p)
	fmt.Println("LAB " + string(b))
}

// respProbe connects, reads whatever the server says unasked (protected
// mode speaks and closes at accept), then sends PING.
func respProbe(addr string) probe {
	var p probe
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		p.Err = err.Error()
		return p
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	b, err := io.ReadAll(c)
	p.Greeting = string(b)
	var ne net.Error
	if err == nil {
		p.Closed = true
		return p
	}
	if !errors.As(err, &ne) || !ne.Timeout() {
		p.Closed, p.Err = true, err.Error()
		return p
	}
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		p.Err = err.Error()
		return p
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	p.Ping = line
	if err != nil {
		p.Err = err.Error()
	}
	return p
}

// httpProbe sends one admin request; Ping holds "status body".
func httpProbe(url, method, token string) probe {
	var p probe
	req, err := http.NewRequest(method, url, strings.NewReader("{}"))
	if err != nil {
		p.Err = err.Error()
		return p
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		p.Err = err.Error()
		return p
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	p.Ping = strconv.Itoa(resp.StatusCode) + " " + string(b)
	return p
}

// raftProbe runs the client side of the raft handshake.
func raftProbe(addr, secret string) probe {
	var p probe
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.Err = err.Error()
		return p
	}
	s := raftauth.NewStreamLayer(ln, nil, []byte(secret))
	defer s.Close()
	c, err := s.Dial(raft.ServerAddress(addr), 3*time.Second)
	if err != nil {
		p.Err = err.Error()
		return p
	}
	c.Close()
	p.Ping = "connected"
	return p
}

func (l *nsLab) waitResp(t *testing.T, port int) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		p := l.helper(t, l.srvNS, "SKIFF_LAB_MODE=resp", "SKIFF_LAB_ADDR="+addr)
		if p.Ping == "+PONG\r\n" || strings.HasPrefix(p.Ping, "-NOAUTH") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server on %s (in %s) not answering after 15s: %+v", addr, l.srvNS, p)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSecurityProtectedModeNetns: side by side with redis-server, a client
// on another host (the client namespace) gets Redis's -DENIED text and a
// closed connection when protected mode applies, a loopback client gets
// PONG, and a password or protected-mode no lets the remote client in.
func TestSecurityProtectedModeNetns(t *testing.T) {
	l := newNSLab(t)
	cases := []struct {
		name   string
		extra  []string
		denied bool   // remote client refused
		ping   string // else its PING reply
	}{
		{"defaults", nil, true, ""},
		{"requirepass", []string{"--requirepass", "pw"}, false, "-NOAUTH Authentication required.\r\n"},
		// Redis 7.0 dropped the bind condition of older versions: an
		// explicit bind does not turn protected mode off.
		{"explicit bind", []string{"--bind", labServerIP + " 127.0.0.1"}, true, ""},
		{"protected-mode no", []string{"--protected-mode", "no"}, false, "+PONG\r\n"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			results := map[string][2]probe{}
			for j, kind := range []string{"redis", "skiff"} {
				port := 6400 + 2*i + j
				args := []string{"--port", strconv.Itoa(port), "--save", "", "--appendonly", "no"}
				args = append(args, tc.extra...)
				bin := redisBin
				if kind == "skiff" {
					bin, args = skiffBin, append([]string{"server"}, args...)
				}
				l.start(t, bin, args...)
				l.waitResp(t, port)
				remote := l.helper(t, l.cliNS, "SKIFF_LAB_MODE=resp", "SKIFF_LAB_ADDR="+labServerIP+":"+strconv.Itoa(port))
				local := l.helper(t, l.srvNS, "SKIFF_LAB_MODE=resp", "SKIFF_LAB_ADDR=127.0.0.1:"+strconv.Itoa(port))
				results[kind] = [2]probe{remote, local}
			}
			r, s := results["redis"], results["skiff"]
			if r[0] != s[0] {
				t.Errorf("remote client: redis-server %+v, skiff %+v", r[0], s[0])
			}
			if r[1] != s[1] {
				t.Errorf("loopback client: redis-server %+v, skiff %+v", r[1], s[1])
			}
			remote := s[0]
			if tc.denied {
				if !strings.HasPrefix(remote.Greeting, "-DENIED Redis is running in protected mode") || !remote.Closed {
					t.Errorf("remote client not refused: %+v", remote)
				}
				if s[1].Ping != "+PONG\r\n" || s[1].Greeting != "" {
					t.Errorf("loopback client refused: %+v", s[1])
				}
			} else if remote.Greeting != "" || remote.Ping != tc.ping {
				t.Errorf("remote client: %+v, want no greeting and PING -> %q", remote, tc.ping)
			}
		})
	}
}

// TestSecurityAdminAndRaftFromRemote: a cluster node without admin-token
// refuses admin changes from another host (403 forbidden) while serving
// reads and loopback changes; with a token, a remote change needs it. Its
// raft port, without a cluster-secret, refuses a peer on another host.
func TestSecurityAdminAndRaftFromRemote(t *testing.T) {
	l := newNSLab(t)
	const port, raftPort, adminPort = 6500, 16500, 26500
	l.start(t, skiffBin, "server", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
		"--cluster-enabled", "yes", "--bootstrap", "yes", "--protected-mode", "no",
		"--raft-port", strconv.Itoa(raftPort), "--admin-port", strconv.Itoa(adminPort))
	l.waitResp(t, port)
	remoteURL := "http://" + labServerIP + ":" + strconv.Itoa(adminPort)
	localURL := "http://127.0.0.1:" + strconv.Itoa(adminPort)
	call := func(ns, method, url, token string) string {
		var p probe
		deadline := time.Now().Add(15 * time.Second)
		for {
			p = l.helper(t, ns, "SKIFF_LAB_MODE=http", "SKIFF_LAB_ADDR="+url, "SKIFF_LAB_METHOD="+method, "SKIFF_LAB_TOKEN="+token)
			if p.Err == "" || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond) // the admin port opens after the RESP port
		}
		if p.Err != "" {
			t.Fatalf("%s %s from %s: %s", method, url, ns, p.Err)
		}
		return p.Ping
	}
	if got := call(l.cliNS, http.MethodPost, remoteURL+"/join", ""); !strings.HasPrefix(got, "403 ") || !strings.Contains(got, `"forbidden"`) {
		t.Errorf("remote POST /join without a token configured: %s", got)
	}
	if got := call(l.cliNS, http.MethodGet, remoteURL+"/status", ""); !strings.HasPrefix(got, "200 ") {
		t.Errorf("remote GET /status: %s", got)
	}
	if got := call(l.srvNS, http.MethodPost, localURL+"/join", ""); strings.HasPrefix(got, "403 ") || strings.HasPrefix(got, "401 ") {
		t.Errorf("loopback POST /join without a token configured was refused: %s", got)
	}

	// Raft: no cluster-secret, a peer on another host is refused even
	// when it runs the handshake (with some secret: a peer without one
	// would not even dial a remote address).
	p := l.helper(t, l.cliNS, "SKIFF_LAB_MODE=raft", "SKIFF_LAB_ADDR="+labServerIP+":"+strconv.Itoa(raftPort),
		"SKIFF_LAB_SECRET=some-secret-0123456789")
	if p.Ping == "connected" || !strings.Contains(p.Err, "only from loopback") {
		t.Errorf("remote raft peer against a node without cluster-secret: %+v", p)
	}
	p = l.helper(t, l.srvNS, "SKIFF_LAB_MODE=raft", "SKIFF_LAB_ADDR=127.0.0.1:"+strconv.Itoa(raftPort))
	if p.Ping != "connected" {
		t.Errorf("loopback raft peer against a node without cluster-secret: %+v", p)
	}
}

// TestSecurityAdminTokenFromRemote: with admin-token, a remote change
// without it is 401, with it passes the gate (and fails later on the
// empty body, 400).
func TestSecurityAdminTokenFromRemote(t *testing.T) {
	l := newNSLab(t)
	const port, adminPort = 6510, 26510
	l.start(t, skiffBin, "server", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
		"--cluster-enabled", "yes", "--bootstrap", "yes", "--protected-mode", "no",
		"--admin-port", strconv.Itoa(adminPort), "--admin-token", "tok-it")
	l.waitResp(t, port)
	url := "http://" + labServerIP + ":" + strconv.Itoa(adminPort) + "/join"
	var got string
	deadline := time.Now().Add(15 * time.Second)
	for {
		p := l.helper(t, l.cliNS, "SKIFF_LAB_MODE=http", "SKIFF_LAB_ADDR="+url, "SKIFF_LAB_METHOD=POST")
		got = p.Ping
		if p.Err == "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.HasPrefix(got, "401 ") {
		t.Errorf("remote POST /join without the token: %s", got)
	}
	p := l.helper(t, l.cliNS, "SKIFF_LAB_MODE=http", "SKIFF_LAB_ADDR="+url, "SKIFF_LAB_METHOD=POST", "SKIFF_LAB_TOKEN=tok-it")
	if !strings.HasPrefix(p.Ping, "400 ") {
		t.Errorf("remote POST /join with the token: %+v (want 400 for the empty body: past the gate)", p)
	}
}
