package sentinel

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
)

// In-process sentinels' groups on loopback: each test sentinel is a Group
// plus a tiny RESP listener answering AUTH and SENTINEL SKIFF-GROUP (what
// the real process's SENTINEL command hands to Group.Command); peers are
// "known" as the hello messages would make them known.

// freePort picks a free port below the ephemeral range (so that no
// outgoing connection takes it before the test binds it), never the same
// twice in one run.
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for i := 0; i < 1000; i++ {
		p := 20000 + rand.IntN(12000)
		if portsUsed[p] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		ln.Close()
		portsUsed[p] = true
		return p
	}
	t.Fatal("no free port")
	return 0
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

type tnode struct {
	id                  string
	dir                 string
	respPort            int
	raftPort, adminPort int
	ln                  net.Listener
	logs                *syncBuffer

	mu sync.Mutex
	g  *Group
}

func (n *tnode) group() *Group {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.g
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type tcluster struct {
	t     *testing.T
	nodes []*tnode
	opts  func(i int, o *GroupOptions)

	mu    sync.Mutex
	knows func(i, j int) bool // nil: every running sentinel knows every other

	noSkiffGroup bool // SENTINEL SKIFF-GROUP unknown: formation asks the admin API

	violation chan string
	checkOnce sync.Once
	stopCheck chan struct{}
	checkDone chan struct{}
}

// newCluster makes n sentinels (not started), sorted by id: node 0 has the
// smallest id.
func newCluster(t *testing.T, n int) *tcluster {
	c := &tcluster{t: t, violation: make(chan string, 1), stopCheck: make(chan struct{}), checkDone: make(chan struct{})}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = NewMyID()
	}
	sort.Strings(ids)
	for i := 0; i < n; i++ {
		nd := &tnode{id: ids[i], dir: t.TempDir(), raftPort: freePort(t), adminPort: freePort(t), logs: &syncBuffer{}}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		nd.ln = ln
		nd.respPort = ln.Addr().(*net.TCPAddr).Port
		go c.serveRESP(nd)
		c.nodes = append(c.nodes, nd)
	}
	go c.checkOneGroup()
	t.Cleanup(func() {
		c.disableCheck()
		var wg sync.WaitGroup
		for _, nd := range c.nodes {
			nd.ln.Close()
			if g := nd.group(); g != nil {
				wg.Add(1)
				go func() { defer wg.Done(); g.Close() }()
			}
		}
		wg.Wait()
		select {
		case v := <-c.violation:
			t.Error(v)
		default:
		}
	})
	return c
}

func (c *tcluster) disableCheck() {
	c.checkOnce.Do(func() {
		close(c.stopCheck)
		<-c.checkDone
	})
}

func (c *tcluster) serveRESP(nd *tnode) {
	for {
		conn, err := nd.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			p := resp.NewParser(conn)
			for {
				args, err := p.Next()
				if err != nil {
					return
				}
				if args == nil {
					if p.Fill() != nil {
						return
					}
					continue
				}
				w := &resp.Writer{Proto: 2}
				switch strings.ToUpper(string(args[0])) {
				case "AUTH":
					w.AppendOK()
				case "SENTINEL":
					g := nd.group()
					if g == nil || c.noSkiffGroup || !g.Command(w, args) {
						w.AppendError("ERR unknown subcommand")
					}
				default:
					w.AppendError("ERR unknown command")
				}
				if _, err := conn.Write(w.B); err != nil {
					return
				}
			}
		}()
	}
}

func (c *tcluster) peersOf(i int) func() []Peer {
	return func() []Peer {
		c.mu.Lock()
		knows := c.knows
		c.mu.Unlock()
		var out []Peer
		for j, nd := range c.nodes {
			if j == i || nd.group() == nil || (knows != nil && !knows(i, j)) {
				continue
			}
			out = append(out, Peer{RunID: nd.id, Host: "127.0.0.1", Port: nd.respPort})
		}
		return out
	}
}

func (c *tcluster) start(i int, mod func(o *GroupOptions)) {
	c.t.Helper()
	nd := c.nodes[i]
	o := GroupOptions{Dir: nd.dir, MyID: nd.id, ListenHost: "127.0.0.1", Port: nd.respPort,
		RaftPort: nd.raftPort, AdminPort: nd.adminPort, NoSync: true,
		DiscoveryWait: 400 * time.Millisecond, CheckInterval: 150 * time.Millisecond, JoinTimeout: 5 * time.Second,
		Logger: hclog.New(&hclog.LoggerOptions{Name: fmt.Sprintf("s%d", i), Level: hclog.Debug, Output: nd.logs}),
		Peers:  c.peersOf(i)}
	if c.opts != nil {
		c.opts(i, &o)
	}
	if mod != nil {
		mod(&o)
	}
	g, err := OpenGroup(o)
	if err != nil {
		c.t.Fatalf("open sentinel %d: %v", i, err)
	}
	nd.mu.Lock()
	nd.g = g
	nd.mu.Unlock()
	g.Start()
}

func (c *tcluster) stop(i int) {
	nd := c.nodes[i]
	nd.mu.Lock()
	g := nd.g
	nd.g = nil
	nd.mu.Unlock()
	if g != nil {
		g.Close()
	}
}

// configs returns each running member's raft configuration (ids).
func (c *tcluster) configs() map[int][]string {
	out := map[int][]string{}
	for i, nd := range c.nodes {
		g := nd.group()
		if g == nil {
			continue
		}
		r := g.Raft()
		if r == nil {
			continue
		}
		f := r.Raft().GetConfiguration()
		if f.Error() != nil {
			continue
		}
		var ids []string
		for _, s := range f.Configuration().Servers {
			ids = append(ids, string(s.ID))
		}
		sort.Strings(ids)
		out[i] = ids
	}
	return out
}

func subset(a, b []string) bool {
	m := map[string]bool{}
	for _, x := range b {
		m[x] = true
	}
	for _, x := range a {
		if !m[x] {
			return false
		}
	}
	return true
}

// checkOneGroup samples the members' configurations: any two of two or
// more members must be one inside the other (a member lagging behind a
// change), never two different groups.
func (c *tcluster) checkOneGroup() {
	defer close(c.checkDone)
	for {
		select {
		case <-c.stopCheck:
			return
		case <-time.After(20 * time.Millisecond):
		}
		cf := c.configs()
		var multi [][]string
		for _, ids := range cf {
			if len(ids) >= 2 {
				multi = append(multi, ids)
			}
		}
		for a := range multi {
			for b := range multi {
				if !subset(multi[a], multi[b]) && !subset(multi[b], multi[a]) {
					select {
					case c.violation <- fmt.Sprintf("two groups at once: %v and %v", multi[a], multi[b]):
					default:
					}
					return
				}
			}
		}
	}
}

// waitOneGroup waits until every running sentinel is in one group of
// want members that agrees on its leader.
func (c *tcluster) waitOneGroup(want int, within time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	var last string
	for time.Since(start) < within {
		select {
		case v := <-c.violation:
			c.t.Fatal(v)
		default:
		}
		ok, leader, n := true, "", 0
		var b strings.Builder
		for i, nd := range c.nodes {
			g := nd.group()
			if g == nil {
				continue
			}
			n++
			st := g.Status()
			fmt.Fprintf(&b, "s%d: %s members=%d leader=%.8s; ", i, st.GroupState, st.Members, st.LeaderID)
			if st.Members != want || st.LeaderID == "" || (leader != "" && st.LeaderID != leader) || st.GroupState == "joining" {
				ok = false
			}
			leader = st.LeaderID
		}
		last = b.String()
		if ok && n == want {
			return time.Since(start)
		}
		time.Sleep(25 * time.Millisecond)
	}
	c.dumpLogs()
	c.t.Fatalf("no single group of %d within %v: %s", want, within, last)
	return 0
}

func (c *tcluster) dumpLogs() {
	for i, nd := range c.nodes {
		c.t.Logf("---- sentinel %d (%s) log:\n%s", i, nd.id[:8], nd.logs.String())
	}
}

func TestFormationThreeAtOnce(t *testing.T) {
	c := newCluster(t, 3)
	for i := range c.nodes {
		c.start(i, nil)
	}
	took := c.waitOneGroup(3, 15*time.Second)
	t.Logf("one group of 3 after %v", took)
	// The group is the smallest id's: it never left its raft state.
	if c.nodes[0].group().Generation() != 1 || c.nodes[1].group().Generation() < 3 {
		t.Errorf("generations: %d %d", c.nodes[0].group().Generation(), c.nodes[1].group().Generation())
	}
	if m, _ := filepath.Glob(filepath.Join(c.nodes[1].dir, "raft.old-*")); len(m) != 1 {
		t.Errorf("the joiner's old raft dir was not kept aside: %v", m)
	}
}

// TestFormationEveryStartOrder starts three sentinels in every order of
// their ids, the first two close together and the third late, after the
// first two formed their group; then it restarts them all.
func TestFormationEveryStartOrder(t *testing.T) {
	perms := [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	for _, p := range perms {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			c := newCluster(t, 3)
			c.start(p[0], nil)
			time.Sleep(200 * time.Millisecond)
			c.start(p[1], nil)
			// Only the two running sentinels count until the third starts.
			c.waitOneGroup(2, 15*time.Second)
			c.start(p[2], nil)
			c.waitOneGroup(3, 15*time.Second)
		})
	}
}

// TestFormationStaggered starts the three sentinels around the end of one
// another's discovery period, where decisions overlap.
func TestFormationStaggered(t *testing.T) {
	for _, gap := range []time.Duration{100 * time.Millisecond, 350 * time.Millisecond, 500 * time.Millisecond} {
		t.Run(gap.String(), func(t *testing.T) {
			c := newCluster(t, 3)
			for _, i := range []int{2, 1, 0} {
				c.start(i, nil)
				time.Sleep(gap)
			}
			c.waitOneGroup(3, 15*time.Second)
		})
	}
}

func TestFormationFive(t *testing.T) {
	c := newCluster(t, 5)
	for _, i := range []int{3, 1, 4, 0, 2} {
		c.start(i, nil)
		time.Sleep(50 * time.Millisecond)
	}
	c.waitOneGroup(5, 20*time.Second)
	st := c.nodes[0].group().Status()
	if st.Voters != 5 || len(st.VoterIDs) != 5 || len(st.MemberIDs) != 5 {
		t.Errorf("status: %+v", st)
	}
}

// TestFormationOverAdminAPI: peers whose SENTINEL command does not know
// SKIFF-GROUP are asked GET /sentinel-group on their admin port.
func TestFormationOverAdminAPI(t *testing.T) {
	c := newCluster(t, 3)
	c.noSkiffGroup = true
	byResp := map[int]int{}
	for _, nd := range c.nodes {
		byResp[nd.respPort] = nd.adminPort
	}
	old := peerAdminPort
	peerAdminPort = func(p Peer) int { return byResp[p.Port] }
	defer func() { peerAdminPort = old }()
	for i := range c.nodes {
		c.start(i, nil)
	}
	c.waitOneGroup(3, 15*time.Second)
}

// TestFormationPartialKnowledge: the largest id hears only of the middle
// one at first (hellos arrive unevenly); still one group.
func TestFormationPartialKnowledge(t *testing.T) {
	c := newCluster(t, 3)
	c.knows = func(i, j int) bool { return !(i == 2 && j == 0) && !(i == 0 && j == 2) }
	for i := range c.nodes {
		c.start(i, nil)
	}
	c.waitOneGroup(3, 15*time.Second)
}

// TestFormationRestartKeepsMembership: a member of a formed group comes
// back as the member it was, without leaving or joining anything.
func TestFormationRestartKeepsMembership(t *testing.T) {
	c := newCluster(t, 3)
	for i := range c.nodes {
		c.start(i, nil)
	}
	c.waitOneGroup(3, 15*time.Second)
	for _, i := range []int{1, 0} {
		before, _ := filepath.Glob(filepath.Join(c.nodes[i].dir, "raft.*"))
		c.stop(i)
		c.start(i, nil)
		c.waitOneGroup(3, 15*time.Second)
		after, _ := filepath.Glob(filepath.Join(c.nodes[i].dir, "raft.*"))
		if g := c.nodes[i].group(); g.Generation() != 1 || len(after) != len(before) {
			t.Errorf("sentinel %d re-formed after restart: generation %d, dirs %v -> %v", i, g.Generation(), before, after)
		}
	}
}

// TestFormationNeverMergesTwoGroups: two groups of two (made with
// bootstrap/join) that hear of each other stay apart, with a warning.
func TestFormationNeverMergesTwoGroups(t *testing.T) {
	c := newCluster(t, 4)
	c.disableCheck() // two groups on purpose
	addr := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", c.nodes[i].adminPort) }
	c.start(0, func(o *GroupOptions) { o.Bootstrap = true })
	c.start(2, func(o *GroupOptions) { o.Bootstrap = true })
	c.start(1, func(o *GroupOptions) { o.Join = []string{addr(0)} })
	c.start(3, func(o *GroupOptions) { o.Join = []string{addr(2)} })
	time.Sleep(2 * time.Second)
	cf := c.configs()
	if len(cf[0]) != 2 || len(cf[2]) != 2 || subset(cf[0], cf[2]) {
		t.Fatalf("configurations: %v", cf)
	}
	warned := false
	for _, nd := range c.nodes {
		if strings.Contains(nd.logs.String(), "two sentinel raft groups") {
			warned = true
		}
	}
	if !warned {
		c.dumpLogs()
		t.Error("no warning about the other group")
	}
}

// TestGroupRefusesJoins: a lone sentinel still discovering, or leaving,
// answers a join with 503 "forming".
func TestGroupRefusesJoins(t *testing.T) {
	c := newCluster(t, 2)
	c.start(0, func(o *GroupOptions) { o.DiscoveryWait = time.Hour })
	g := c.nodes[0].group()
	post := func() (int, string) {
		body := fmt.Sprintf(`{"id":%q,"raft_addr":"127.0.0.1:%d"}`, c.nodes[1].id, c.nodes[1].raftPort)
		res, err := http.Post("http://"+g.AdminAddr()+"/join", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		return res.StatusCode, b.String()
	}
	if code, body := post(); code != 503 || !strings.Contains(body, `"forming"`) || !strings.Contains(body, "discovering") {
		t.Errorf("while discovering: %d %s", code, body)
	}
	if info := g.Info(); info.Accepting || info.Members != 1 || info.GroupID != c.nodes[0].id {
		t.Errorf("info: %+v", info)
	}
	g.mu.Lock()
	g.discovered, g.leaving = true, true
	g.mu.Unlock()
	if code, body := post(); code != 503 || !strings.Contains(body, "leaving") {
		t.Errorf("while leaving: %d %s", code, body)
	}
	g.mu.Lock()
	g.leaving, g.better = false, true
	g.mu.Unlock()
	if code, body := post(); code != 503 || !strings.Contains(body, "larger group") {
		t.Errorf("knowing a better group: %d %s", code, body)
	}
	// Over RESP, as peers ask.
	info, err := QueryGroup(context.Background(), fmt.Sprintf("127.0.0.1:%d", c.nodes[0].respPort), "", "")
	if err != nil || info.Accepting || info.Members != 1 || info.GroupID != c.nodes[0].id || info.Admin != g.AdminAddr() {
		t.Errorf("query: %+v %v", info, err)
	}
}

// TestFormationJoinFailureRestores: the chosen group cannot be reached;
// the sentinel goes back to its own group of one with its state.
func TestFormationJoinFailureRestores(t *testing.T) {
	c := newCluster(t, 1)
	// A fake peer claiming a bigger group.
	fake, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	// Its admin API answers /status but fails every join.
	adm := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/status" {
			w.Write([]byte("{}"))
			return
		}
		http.Error(w, `{"error":"broken","code":"internal"}`, http.StatusInternalServerError)
	})}
	admLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go adm.Serve(admLn)
	defer adm.Close()
	dead := admLn.Addr().(*net.TCPAddr).Port
	go func() {
		for {
			conn, err := fake.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				p := resp.NewParser(conn)
				for {
					args, err := p.Next()
					if err != nil {
						return
					}
					if args == nil {
						if p.Fill() != nil {
							return
						}
						continue
					}
					w := &resp.Writer{Proto: 2}
					w.AppendArray(5)
					w.AppendBulkString(strings.Repeat("0", 40))
					w.AppendInt(3)
					w.AppendBulkString(fmt.Sprintf("127.0.0.1:%d", dead))
					w.AppendInt(1)
					w.AppendBulkString(fmt.Sprintf("127.0.0.1:%d", dead))
					conn.Write(w.B)
				}
			}()
		}
	}()
	var peerOn sync.Mutex
	on := false
	c.start(0, func(o *GroupOptions) {
		o.JoinTimeout = time.Second
		o.Peers = func() []Peer {
			peerOn.Lock()
			defer peerOn.Unlock()
			if !on {
				return nil
			}
			return []Peer{{RunID: strings.Repeat("0", 40), Host: "127.0.0.1", Port: fake.Addr().(*net.TCPAddr).Port}}
		}
	})
	g := c.nodes[0].group()
	c.waitOneGroup(1, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for !g.IsLeader() {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := g.Propose(ctx, &fsm.MonitorMaster{Monitor: fsm.Monitor{Name: "m", Addr: "127.0.0.1:6379", Quorum: 2}}); err != nil {
		t.Fatal(err)
	}
	peerOn.Lock()
	on = true
	peerOn.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		failed, _ := filepath.Glob(filepath.Join(c.nodes[0].dir, "raft.failed-*"))
		_, restored := g.Monitor("m")
		if len(failed) > 0 && g.Raft() != nil && g.IsLeader() && restored &&
			strings.Contains(c.nodes[0].logs.String(), "back in its group of one") {
			break
		}
		if time.Now().After(deadline) {
			c.dumpLogs()
			t.Fatal("no failed join and restore")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if old, _ := filepath.Glob(filepath.Join(c.nodes[0].dir, "raft.old-*")); len(old) != 0 {
		t.Errorf("old dir not moved back: %v", old)
	}
	if _, err := os.Stat(filepath.Join(c.nodes[0].dir, "raft", "raft.db")); err != nil {
		t.Error(err)
	}
}

// TestGroupMetaStatus: what the engine reads on a formed group, and a
// leader cut off from its followers stops being the leader.
func TestGroupMetaStatus(t *testing.T) {
	c := newCluster(t, 3)
	for i := range c.nodes {
		c.start(i, nil)
	}
	c.waitOneGroup(3, 15*time.Second)
	var leader int = -1
	for i, nd := range c.nodes {
		if nd.group().IsLeader() {
			leader = i
		}
	}
	if leader < 0 {
		t.Fatal("no leader")
	}
	lg := c.nodes[leader].group()
	st := lg.Status()
	if st.MyID != c.nodes[leader].id || st.LeaderID != st.MyID || st.Members != 3 || st.Voters != 3 ||
		st.Reachable != 3 || !st.HasQuorum || st.GroupState != "Leader" || len(st.MemberIDs) != 3 {
		t.Errorf("leader status: %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Proposals from a follower are forwarded.
	f := c.nodes[(leader+1)%3].group()
	if fs := f.Status(); fs.GroupState != "Follower" || fs.Reachable != 3 || !fs.HasQuorum {
		t.Errorf("follower status: %+v", fs)
	}
	if _, err := f.Propose(ctx, &fsm.MonitorMaster{Monitor: fsm.Monitor{Name: "m", Addr: "127.0.0.1:6379", Quorum: 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.Propose(ctx, &fsm.StartFailover{Kind: fsm.FailoverSentinel, Target: "m", Candidate: "127.0.0.1:6380"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	for i, nd := range c.nodes {
		g := nd.group()
		m, ok := g.Monitor("m")
		fo, fok := g.Failover("m")
		if !ok || m.Quorum != 2 || !fok || fo.Candidate != "127.0.0.1:6380" || g.CurrentEpoch() != fo.Epoch || fo.Epoch == 0 {
			t.Errorf("sentinel %d: monitor %+v %v failover %+v %v epoch %d", i, m, ok, fo, fok, g.CurrentEpoch())
		}
	}
	// Cut the leader off: stop both followers.
	for i := range c.nodes {
		if i != leader {
			c.stop(i)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for lg.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("still leader without a majority")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := lg.Status(); st.HasQuorum || st.Reachable > 1 {
		t.Errorf("isolated status: %+v", st)
	}
}
