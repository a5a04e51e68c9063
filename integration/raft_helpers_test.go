package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/raftgroup"
)

// raftToken is the admin token every raft test node runs with.
const raftToken = "it-token"

// raftNode is one `skiff server --cluster-enabled yes` process with fixed
// ports and dir, so that it can be killed and restarted as the same node.
type raftNode struct {
	t         testing.TB
	name      string
	dir       string
	port      int
	raftPort  int
	adminPort int
	extra     []string

	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	logPath string
	stopped bool // SIGSTOPped
}

func (n *raftNode) adminAddr() string { return "127.0.0.1:" + strconv.Itoa(n.adminPort) }
func (n *raftNode) raftAddr() string  { return "127.0.0.1:" + strconv.Itoa(n.raftPort) }
func (n *raftNode) respAddr() string  { return "127.0.0.1:" + strconv.Itoa(n.port) }

// client returns an admin client for this node with the token.
func (n *raftNode) client() *admin.Client {
	c := admin.NewClient(n.adminAddr(), raftToken)
	c.HTTP.Timeout = 3 * time.Second
	c.NoLeaderRetries = -1 // the tests poll themselves, and measure
	return c
}

// retryingClient waits out a missing leader (503 no_leader) for up to
// 3 s, as `skiff admin` does; for steps whose subject is not leadership.
func (n *raftNode) retryingClient() *admin.Client {
	c := n.client()
	c.NoLeaderRetries = 0
	return c
}

// newRaftNode allocates ports and a dir; start runs it.
func newRaftNode(t testing.TB, name string, extra ...string) *raftNode {
	t.Helper()
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	dir, err := os.MkdirTemp("", "skiff-raft-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	n := &raftNode{t: t, name: name, dir: dir, port: ports[0], raftPort: ports[1], adminPort: ports[2],
		extra: extra, logPath: filepath.Join(dir, "server.log")}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", n.name, n.logTail(6<<10))
		}
		os.RemoveAll(dir)
	})
	return n
}

func (n *raftNode) args() []string {
	a := []string{"server", "--port", strconv.Itoa(n.port), "--bind", "127.0.0.1", "--dir", n.dir,
		"--save", "", "--appendonly", "no", "--cluster-enabled", "yes",
		"--raft-port", strconv.Itoa(n.raftPort), "--admin-port", strconv.Itoa(n.adminPort),
		"--admin-token", raftToken, "--loglevel", "notice"}
	return append(a, n.extra...)
}

// start runs the process (again) and does not wait for readiness.
func (n *raftNode) start() {
	n.t.Helper()
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		n.t.Fatal(err)
	}
	fmt.Fprintf(logf, "=== start %s\n", strings.Join(n.args(), " "))
	n.cmd = exec.Command(skiffBin, n.args()...)
	n.cmd.Stdout, n.cmd.Stderr = logf, logf
	if err := n.cmd.Start(); err != nil {
		logf.Close()
		n.t.Fatalf("start %s: %v", n.name, err)
	}
	n.exited = make(chan struct{})
	n.stopped = false
	go func(cmd *exec.Cmd, ch chan struct{}) {
		n.exitErr = cmd.Wait()
		logf.Close()
		close(ch)
	}(n.cmd, n.exited)
}

func (n *raftNode) alive() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// waitUp polls /status until the admin API answers or the process exits.
func (n *raftNode) waitUp(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if !n.alive() {
			return fmt.Errorf("%s exited: %v", n.name, n.exitErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := n.client().Status(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not up after %v: %v", n.name, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitExit waits for the process to exit by itself.
func (n *raftNode) waitExit(timeout time.Duration) error {
	select {
	case <-n.exited:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s still running after %v", n.name, timeout)
	}
}

// kill9 sends SIGKILL and waits for the exit.
func (n *raftNode) kill() {
	if !n.alive() {
		return
	}
	if n.stopped {
		_ = n.cmd.Process.Signal(syscall.SIGCONT)
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// signal sends sig. For SIGSTOP it also waits until every thread of the
// process is stopped: kill(2) returns before the group stop has reached
// all threads, and on a loaded machine a thread already on a CPU can go on
// (and, say, acknowledge a raft append) for milliseconds.
func (n *raftNode) signal(sig syscall.Signal) {
	n.t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		n.t.Fatalf("signal %v to %s: %v", sig, n.name, err)
	}
	n.stopped = sig == syscall.SIGSTOP
	if !n.stopped {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for !allThreadsStopped(n.cmd.Process.Pid) {
		if time.Now().After(deadline) {
			n.t.Fatalf("%s not stopped 5 s after SIGSTOP", n.name)
		}
		time.Sleep(time.Millisecond)
	}
}

// allThreadsStopped reports whether every task of pid is in state T.
func allThreadsStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// "pid (comm) S ...": the state follows the last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}

func (n *raftNode) logTail(max int) string {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

func (n *raftNode) status() (raftgroup.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return n.client().Status(ctx)
}

// raftLeader polls the nodes until one of them reports itself leader and
// every other answering node agrees; it returns that node.
func raftLeader(nodes []*raftNode, timeout time.Duration) (*raftNode, error) {
	deadline := time.Now().Add(timeout)
	for {
		var leader *raftNode
		agree := true
		for _, n := range nodes {
			if !n.alive() || n.stopped {
				continue
			}
			st, err := n.status()
			if err != nil {
				continue
			}
			if st.State == "Leader" {
				leader = n
			}
		}
		if leader != nil {
			st, _ := leader.status()
			for _, n := range nodes {
				if n == leader || !n.alive() || n.stopped {
					continue
				}
				if ns, err := n.status(); err == nil && ns.LeaderID != st.ID {
					agree = false
				}
			}
			if agree {
				return leader, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("no agreed leader within " + timeout.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitRaft polls cond with a deadline.
func waitRaft(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, info := cond()
		if ok {
			return
		}
		last = info
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s (last: %s)", timeout, what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startRaftCluster starts n1 with --bootstrap yes and the others with
// --join n1, and waits until every node sees all members and one leader.
func startRaftCluster(t testing.TB, count int, extra ...string) []*raftNode {
	t.Helper()
	nodes := make([]*raftNode, count)
	for i := range nodes {
		nodes[i] = newRaftNode(t, fmt.Sprintf("n%d", i+1), extra...)
	}
	nodes[0].extra = append(nodes[0].extra, "--bootstrap", "yes")
	nodes[0].start()
	if err := nodes[0].waitUp(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes[1:] {
		n.extra = append(n.extra, "--join", nodes[0].adminAddr())
		n.start()
	}
	for _, n := range nodes[1:] {
		if err := n.waitUp(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	waitMembers(t, nodes, count)
	return nodes
}

// waitMembers waits until every live node lists want members, knows the
// same leader, and has applied the leader's commit index.
func waitMembers(t testing.TB, nodes []*raftNode, want int) {
	t.Helper()
	waitRaft(t, fmt.Sprintf("%d members everywhere", want), 15*time.Second, func() (bool, string) {
		leader, err := raftLeader(nodes, 100*time.Millisecond)
		if err != nil {
			return false, err.Error()
		}
		lst, err := leader.status()
		if err != nil {
			return false, err.Error()
		}
		for _, n := range nodes {
			if !n.alive() || n.stopped {
				continue
			}
			st, err := n.status()
			if err != nil {
				return false, n.name + ": " + err.Error()
			}
			if len(st.Members) != want || st.LeaderID != lst.ID || st.LeaderAdmin == "" || st.RaftApplied < lst.CommitIndex {
				return false, fmt.Sprintf("%s: %d members, leader %q, applied %d (leader commit %d)", n.name, len(st.Members), st.LeaderID, st.RaftApplied, lst.CommitIndex)
			}
		}
		return true, ""
	})
}
