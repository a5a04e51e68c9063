package sentinel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
)

// fakeMeta is a group of one: proposals apply to a local fsm at once.
type fakeMeta struct {
	mu     sync.Mutex
	f      *fsm.FSM
	idx    uint64
	leader bool
	id     string
}

func newFakeMeta(id string) *fakeMeta { return &fakeMeta{f: fsm.New(), leader: true, id: id} }

func (m *fakeMeta) Propose(ctx context.Context, c fsm.Command) (fsm.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.leader {
		return fsm.Result{}, fmt.Errorf("not leader")
	}
	data, err := fsm.Encode(c)
	if err != nil {
		return fsm.Result{}, err
	}
	m.idx++
	r := m.f.ApplyEntry(m.idx, data)
	return r.Result, r.Err
}
func (m *fakeMeta) VerifyLeader(context.Context) error {
	if !m.IsLeader() {
		return errors.New("not the leader")
	}
	return nil
}

func (m *fakeMeta) IsLeader() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leader
}
func (m *fakeMeta) Monitor(name string) (fsm.Monitor, bool) { return m.f.Monitor(name) }
func (m *fakeMeta) Failover(name string) (fsm.Failover, bool) {
	for _, f := range m.f.Failovers() {
		if f.Kind == fsm.FailoverSentinel && f.Target == name {
			return f, true
		}
	}
	return fsm.Failover{}, false
}
func (m *fakeMeta) CurrentEpoch() uint64     { return m.f.CurrentEpoch() }
func (m *fakeMeta) Applied() <-chan struct{} { return m.f.Changed() }
func (m *fakeMeta) Status() MetaStatus {
	return MetaStatus{MyID: m.id, LeaderID: m.id, Members: 1, Voters: 1, Reachable: 1, HasQuorum: true,
		MemberIDs: []string{m.id}, VoterIDs: []string{m.id}, GroupState: "Leader"}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// dataNode is a redis-server process (the engine talks to it over RESP
// only, so Redis's own server is a fair peer for a unit test of the
// engine; integration/ runs skiff servers).
type dataNode struct {
	port int
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, args ...string) *dataNode {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed (make deps installs it): %v", err)
	}
	port := freeTCPPort(t)
	a := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--repl-diskless-sync-delay", "0"}, args...)
	cmd := exec.Command(bin, a...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &dataNode{port: port, cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := n.do("PING"); err == nil {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("redis-server on %d did not start", port)
	return nil
}

func (n *dataNode) do(args ...string) (any, error) {
	c, err := net.DialTimeout("tcp", idAddr("127.0.0.1", n.port), time.Second)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write(resp.AppendCommand(nil, args...)); err != nil {
		return nil, err
	}
	v, err := readReply(bufio.NewReader(c))
	if e, ok := v.(replyError); ok {
		return nil, e
	}
	return v, err
}

func (n *dataNode) info(field string) string {
	v, err := n.do("INFO", "replication")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(v.(string), "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok && k == field {
			return val
		}
	}
	return ""
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

type eventLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *eventLog) add(ch, msg string) {
	l.mu.Lock()
	l.evs = append(l.evs, ch+" "+msg)
	l.mu.Unlock()
}

func (l *eventLog) find(prefix string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.evs {
		if strings.HasPrefix(e, prefix) {
			return e
		}
	}
	return ""
}

// TestEngineFailsOverKilledMaster runs one engine (a group of one) against
// a master and two replicas, kills the master with SIGKILL and checks the
// whole failover: the group records it once, a replica is promoted, the
// other follows it, and the events clients rely on are published.
func TestEngineFailsOverKilledMaster(t *testing.T) {
	master := startRedis(t)
	r1 := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	r2 := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(master.port))
	waitFor(t, 10*time.Second, "replicas in sync", func() bool {
		return r1.info("master_link_status") == "up" && r2.info("master_link_status") == "up"
	})
	myID := strings.Repeat("ab", 20)
	meta := newFakeMeta(myID)
	events := &eventLog{}
	mc := NewMasterConfig("mymaster", "127.0.0.1", master.port, 1)
	mc.DownAfterMs = 1000
	mc.FailoverTimeoutMs = 10000
	e := New(Options{Port: freeTCPPort(t), Meta: meta, Publish: events.add}, &Config{MyID: myID, Masters: []*MasterConfig{mc}})
	e.Start()
	defer e.Stop()

	waitFor(t, 15*time.Second, "both replicas discovered", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		m := e.masters["mymaster"]
		n := 0
		for _, r := range m.replicas {
			if r.infoRefresh.After(time.Time{}) && r.roleReported == kindReplica {
				n++
			}
		}
		return n == 2
	})
	if _, ok := meta.Monitor("mymaster"); !ok {
		t.Fatal("the group has no record of the monitored master")
	}
	_ = master.cmd.Process.Kill()
	killed := time.Now()
	waitFor(t, 15*time.Second, "+switch-master", func() bool { return events.find("+switch-master") != "" })
	t.Logf("kill -> +switch-master: %v", time.Since(killed))
	f := strings.Fields(events.find("+switch-master"))
	if len(f) != 6 || f[1] != "mymaster" || f[3] != strconv.Itoa(master.port) {
		t.Fatalf("bad +switch-master event %q", events.find("+switch-master"))
	}
	newPort, _ := strconv.Atoi(f[5])
	var promoted, other *dataNode
	switch newPort {
	case r1.port:
		promoted, other = r1, r2
	case r2.port:
		promoted, other = r2, r1
	default:
		t.Fatalf("promoted %d is not a replica", newPort)
	}
	if role := promoted.info("role"); role != "master" {
		t.Fatalf("promoted replica reports role %q", role)
	}
	waitFor(t, 15*time.Second, "the other replica follows the new master", func() bool {
		return other.info("master_port") == strconv.Itoa(newPort) && other.info("master_link_status") == "up"
	})
	waitFor(t, 15*time.Second, "+failover-end", func() bool { return events.find("+failover-end") != "" })
	rec, _ := meta.Monitor("mymaster")
	if rec.Addr != idAddr("127.0.0.1", newPort) || rec.ConfigEpoch == 0 {
		t.Fatalf("group record after failover: %+v", rec)
	}
	if fo := meta.f.Failovers(); len(fo) != 0 {
		t.Fatalf("failover still recorded as in progress: %+v", fo)
	}
	for _, want := range []string{"+sdown master mymaster", "+odown master mymaster", "+try-failover", "+selected-slave",
		"+failover-state-wait-promotion", "+promoted-slave", "+failover-state-reconf-slaves", "+slave-reconf-sent"} {
		if events.find(want) == "" {
			t.Errorf("no %q event", want)
		}
	}
	_ = os.Stderr
}
