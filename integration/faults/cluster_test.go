package faults

// The cluster topology: six nodes n0..n5, made a cluster of three shards
// (master + one replica each) by `redis-cli --cluster create
// --cluster-replicas 1`, as an operator would, for skiff and for
// redis-server alike. Every node sits behind two proxies, one for its
// RESP port and one for its bus port (skiff: its Raft port), which it
// announces (cluster-announce-ip/-port/-bus-port), so that node-to-node
// links can be cut. The workload clients are go-redis ClusterClients with
// MaxRedirects -1 and MaxRetries -1: every op is exactly one attempt; a
// MOVED or ASK reply is not followed but recorded as a failed op without
// effect (the client then reloads the slot table, so the next op goes to
// the new owner).
//
// A skiff node also serves its admin HTTP API (RESP port + 20000) to the
// other nodes (the peer poller, proposals forwarded to the leader), and
// advertises it as cluster-announce-ip plus its own port: there is no
// announce option for it. So each node binds nodeHost (127.0.0.2, still
// loopback) and announces 127.0.0.1, where a proxy listens on the same
// admin port number and forwards to 127.0.0.2. redis-server nodes are set
// up the same way (their admin proxy just sees no traffic).

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/internal/netfault"
)

// clusterSupported: the cluster topology is implemented.
const clusterSupported = true

// clusterNodeTimeoutMs is cluster-node-timeout, set once the cluster is
// formed (as integration/cluster_failover_test.go does: a short timeout
// during create can flag a node busy with its first sync as failed).
const clusterNodeTimeoutMs = 1500

// nodeHost is the loopback address cluster nodes bind; their proxies are
// on 127.0.0.1.
const nodeHost = "127.0.0.2"

type clusterTopo struct {
	mode  mode
	lab   *netfault.Lab
	root  string
	nodes []*proc
	front []*netfault.Proxy // RESP proxy of each node
	bus   []*netfault.Proxy // bus / Raft proxy of each node
	logf  func(string, ...any)
}

func newClusterTopo(m mode, root string, logf func(string, ...any)) (_ *clusterTopo, err error) {
	if redisCliBin == "" {
		return nil, fmt.Errorf("redis-cli not found")
	}
	t := &clusterTopo{mode: m, lab: netfault.New(logf), root: root, logf: logf}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	t.lab.Register(os.Getpid(), "client")
	for i := 0; i < 6; i++ {
		name := "n" + strconv.Itoa(i)
		port, err := reserveDataPort()
		if err != nil {
			return nil, err
		}
		fpx, err := t.lab.ListenOn(name, 0)
		if err != nil {
			return nil, err
		}
		bpx, err := t.lab.ListenOn(name, 0)
		if err != nil {
			fpx.Close()
			return nil, err
		}
		apx, err := t.lab.ListenOn(name, port+20000)
		if err != nil {
			fpx.Close()
			bpx.Close()
			return nil, err
		}
		fpx.SetTarget(nodeHost + ":" + strconv.Itoa(port))
		bpx.SetTarget(nodeHost + ":" + strconv.Itoa(port+10000))
		apx.SetTarget(nodeHost + ":" + strconv.Itoa(port+20000))
		t.front = append(t.front, fpx)
		t.bus = append(t.bus, bpx)
		extra := []string{
			"cluster-enabled yes",
			"cluster-config-file nodes.conf",
			"cluster-announce-ip 127.0.0.1",
			fmt.Sprintf("cluster-announce-port %d", fpx.Port()),
			fmt.Sprintf("cluster-announce-bus-port %d", bpx.Port()),
		}
		if m.dataKind == "redis" {
			extra = append(extra, fmt.Sprintf("cluster-port %d", port+10000))
		}
		p, err := newDataProc(m, name, root, nodeHost, port, fpx.Port(), 0, extra)
		if err != nil {
			return nil, err
		}
		p.onStart = func(pid int) { t.lab.Register(pid, name) }
		t.nodes = append(t.nodes, p)
	}
	for _, p := range t.nodes {
		if err := p.start(20 * time.Second); err != nil {
			return nil, err
		}
	}
	args := []string{"--cluster", "create"}
	for _, px := range t.front {
		args = append(args, px.Addr())
	}
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	out, err := exec.CommandContext(ctx, redisCliBin, args...).CombinedOutput()
	cancel()
	logf("redis-cli %s:\n%s", strings.Join(args, " "), out)
	if err != nil || !strings.Contains(string(out), "[OK] All 16384 slots covered.") || strings.Contains(string(out), "[ERR]") {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if err := pollFor("the cluster to be formed and in sync", 60*time.Second, 100*time.Millisecond, t.healthy); err != nil {
		return nil, err
	}
	for _, p := range t.nodes {
		if _, err := do(p.addr(), 5*time.Second, "CONFIG", "SET", "cluster-node-timeout", strconv.Itoa(clusterNodeTimeoutMs)); err != nil {
			return nil, fmt.Errorf("%s: CONFIG SET cluster-node-timeout: %v", p.name, err)
		}
		if _, err := do(p.addr(), 5*time.Second, "CONFIG", "REWRITE"); err != nil {
			return nil, fmt.Errorf("%s: CONFIG REWRITE: %v", p.name, err)
		}
	}
	return t, nil
}

func (t *clusterTopo) names() []string {
	var out []string
	for _, p := range t.nodes {
		out = append(out, p.name)
	}
	return out
}

func (t *clusterTopo) proc(name string) *proc {
	for _, p := range t.nodes {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (t *clusterTopo) procs() []*proc { return append([]*proc(nil), t.nodes...) }

func (t *clusterTopo) netlab() *netfault.Lab { return t.lab }

func (t *clusterTopo) addrs() []string {
	var out []string
	for _, px := range t.front {
		out = append(out, px.Addr())
	}
	return out
}

func (t *clusterTopo) newClient() redis.UniversalClient {
	return redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:                 t.addrs(),
		MaxRedirects:          -1,
		MaxRetries:            -1,
		DialTimeout:           opTimeout,
		ReadTimeout:           opTimeout,
		WriteTimeout:          opTimeout,
		ContextTimeoutEnabled: true,
		PoolSize:              2,
		DisableIdentity:       true,
		Protocol:              2,
	})
}

func (t *clusterTopo) finalClient() (redis.UniversalClient, error) {
	return redis.NewClusterClient(&redis.ClusterOptions{Addrs: t.addrs(), MaxRedirects: 5, MaxRetries: 3,
		DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		DisableIdentity: true, Protocol: 2}), nil
}

// clusterNode is one line of CLUSTER NODES.
type clusterNode struct {
	id, addr, master string
	flags            map[string]bool
	slots            bool
	name             string // our name for it ("" if unknown)
}

func (t *clusterTopo) nameByAnnounced(addr string) string {
	for i, px := range t.front {
		if px.Addr() == addr {
			return t.nodes[i].name
		}
	}
	return ""
}

// view is CLUSTER NODES as node p sees it.
func (t *clusterTopo) view(p *proc) ([]clusterNode, error) {
	r, err := do(p.addr(), time.Second, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	s, ok := r.(string)
	if !ok {
		return nil, fmt.Errorf("CLUSTER NODES reply %T", r)
	}
	var out []clusterNode
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr := f[1]
		if i := strings.IndexAny(addr, "@,"); i >= 0 {
			addr = addr[:i]
		}
		n := clusterNode{id: f[0], addr: addr, master: f[3], flags: map[string]bool{}, slots: len(f) > 8}
		for _, fl := range strings.Split(f[2], ",") {
			n.flags[fl] = true
		}
		n.name = t.nameByAnnounced(addr)
		out = append(out, n)
	}
	return out, nil
}

// anyView is the view of the first answering node.
func (t *clusterTopo) anyView() ([]clusterNode, error) {
	var lastErr error = fmt.Errorf("no node answers")
	for _, p := range t.nodes {
		if !p.answering() {
			continue
		}
		v, err := t.view(p)
		if err == nil {
			return v, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// masters: the masters with slots in some answering node's view.
func (t *clusterTopo) masters() []string {
	v, err := t.anyView()
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range v {
		if n.flags["master"] && n.slots && !n.flags["fail"] && n.name != "" {
			out = append(out, n.name)
		}
	}
	return out
}

// raftLeader: for skiff, the node every answering node names as the
// Raft leader (GET /status on its admin port, RESP + 20000).
func (t *clusterTopo) raftLeader() string {
	if t.mode.dataKind != "skiff" {
		return ""
	}
	leader, leaderID := "", ""
	for _, p := range t.nodes {
		if !p.answering() {
			continue
		}
		st, err := raftStatusAt(p.host, p.port+20000)
		if err != nil || st.LeaderID == "" {
			return ""
		}
		if leaderID != "" && st.LeaderID != leaderID {
			return ""
		}
		leaderID = st.LeaderID
		if st.ID == st.LeaderID {
			leader = p.name
		}
	}
	return leader
}

// minority: one node, and half the time a second one of another shard.
func (t *clusterTopo) minority(rng *rand.Rand) []string {
	first := t.nodes[rng.Intn(len(t.nodes))].name
	side := []string{first}
	if rng.Intn(2) == 1 {
		return side
	}
	v, err := t.anyView()
	if err != nil {
		return side
	}
	shard := map[string]string{} // name -> master id of its shard
	for _, n := range v {
		if n.name == "" {
			continue
		}
		if n.flags["master"] {
			shard[n.name] = n.id
		} else {
			shard[n.name] = n.master
		}
	}
	var cands []string
	for _, p := range t.nodes {
		if p.name != first && shard[p.name] != "" && shard[p.name] != shard[first] {
			cands = append(cands, p.name)
		}
	}
	if len(cands) > 0 {
		side = append(side, cands[rng.Intn(len(cands))])
	}
	return side
}

// healthy: every node runs and says cluster_state:ok; a view shows three
// masters with slots, none failed, each answering role:master, and every
// other node a replica with its link up.
func (t *clusterTopo) healthy() (bool, string) {
	for _, p := range t.nodes {
		if !p.answering() {
			return false, p.name + " not running"
		}
		r, err := do(p.addr(), time.Second, "CLUSTER", "INFO")
		if err != nil {
			return false, p.name + ": " + err.Error()
		}
		if s, _ := r.(string); !strings.Contains(s, "cluster_state:ok") {
			return false, p.name + ": cluster_state not ok"
		}
	}
	v, err := t.anyView()
	if err != nil {
		return false, err.Error()
	}
	masters := 0
	for _, n := range v {
		if n.flags["fail"] || n.flags["fail?"] {
			return false, n.addr + " flagged " + fmt.Sprint(n.flags)
		}
		if n.name == "" {
			return false, "unknown node " + n.addr
		}
		p := t.proc(n.name)
		ri, err := infoMap(p.addr(), "replication")
		if err != nil {
			return false, p.name + ": " + err.Error()
		}
		if n.flags["master"] {
			if n.slots {
				masters++
			}
			if ri["role"] != "master" {
				return false, p.name + " is a master in the view but says role:" + ri["role"]
			}
		} else if ri["role"] != "slave" || ri["master_link_status"] != "up" {
			return false, fmt.Sprintf("%s: role:%s link:%s", p.name, ri["role"], ri["master_link_status"])
		}
	}
	if masters != 3 || len(v) != 6 {
		return false, fmt.Sprintf("%d masters with slots, %d nodes", masters, len(v))
	}
	return true, ""
}

func (t *clusterTopo) restart(name string) error {
	return t.proc(name).start(30 * time.Second) // onStart registers the new pid
}

func (t *clusterTopo) close() {
	var wg sync.WaitGroup
	for _, p := range t.nodes {
		wg.Add(1)
		go func(p *proc) { defer wg.Done(); p.stopForGood() }(p)
	}
	wg.Wait()
	t.lab.Close()
}
