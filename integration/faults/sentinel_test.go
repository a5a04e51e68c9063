package faults

// The sentinel topology: three sentinels monitoring a master and two
// replicas, every link between them through a netfault proxy, so that any
// pair of processes can be cut. Data nodes d0 (first master), d1, d2;
// sentinels s0, s1, s2. The test process is "client": it is never cut
// (it stands for clients that can still reach an isolated old master).

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/internal/netfault"
)

// Sentinel settings of every mode.
const (
	sentMaster            = "mymaster"
	sentQuorum            = 2
	sentDownAfterMs       = 1000
	sentFailoverTimeoutMs = 3000
)

// sentinelPorts are a skiff sentinel's RESP port and the raft and admin
// ports it derives from it: the rule of sentinel.DefaultMemberPorts
// (docs/sentinel.md), repeated here so that this package builds without
// the sentinel package.
func sentinelPorts(p int) []int {
	if p >= 3024 {
		return []int{p, p - 1000, p - 2000}
	}
	return []int{p, p + 10000, p + 20000}
}

// raftStatusReply is the part of GET /status (raftgroup.Status) used here.
type raftStatusReply struct {
	ID       string `json:"id"`
	LeaderID string `json:"leader_id"`
	Members  []any  `json:"members"`
}

func reserveSentinelPorts() (int, error) { return reservePorts(14000, 30000, sentinelPorts) }

type sentinelTopo struct {
	mode  mode
	lab   *netfault.Lab
	root  string // data and logs of the run
	data  []*proc
	dpx   []*netfault.Proxy // proxy of each data node
	sents []*proc
	spub  []int // announced (proxy) port of each sentinel
	pxs   []*netfault.Proxy
	logf  func(string, ...any)
}

func newSentinelTopo(m mode, root string, logf func(string, ...any)) (_ *sentinelTopo, err error) {
	t := &sentinelTopo{mode: m, lab: netfault.New(logf), root: root, logf: logf}
	defer func() {
		if err != nil {
			t.close()
		}
	}()
	t.lab.Register(os.Getpid(), "client")
	// Data nodes.
	for i := 0; i < 3; i++ {
		name := "d" + strconv.Itoa(i)
		px, err := t.lab.ListenOn(name, 0)
		if err != nil {
			return nil, err
		}
		t.pxs = append(t.pxs, px)
		port, err := reserveDataPort()
		if err != nil {
			return nil, err
		}
		px.SetTarget("127.0.0.1:" + strconv.Itoa(port))
		var replicaOf int
		if i > 0 {
			replicaOf = t.dpx[0].Port()
		}
		p, err := newDataProc(m, name, root, "127.0.0.1", port, px.Port(), replicaOf, nil)
		if err != nil {
			return nil, err
		}
		p.onStart = t.registrar(name)
		t.data = append(t.data, p)
		t.dpx = append(t.dpx, px)
	}
	for _, p := range t.data {
		if err := p.start(20 * time.Second); err != nil {
			return nil, err
		}
	}
	// Sentinels, each behind proxies at its announced port (and, for
	// skiff, at the raft and admin ports derived from it).
	for i := 0; i < 3; i++ {
		name := "s" + strconv.Itoa(i)
		port, err := reserveSentinelPorts()
		if err != nil {
			return nil, err
		}
		q, err := t.proxySentinel(name, port)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(root, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, "sentinel.conf")
		var b strings.Builder
		fmt.Fprintf(&b, "port %d\nbind 127.0.0.1\ndir %s\n", port, dir)
		fmt.Fprintf(&b, "sentinel monitor %s 127.0.0.1 %d %d\n", sentMaster, t.dpx[0].Port(), sentQuorum)
		fmt.Fprintf(&b, "sentinel down-after-milliseconds %s %d\n", sentMaster, sentDownAfterMs)
		fmt.Fprintf(&b, "sentinel failover-timeout %s %d\n", sentMaster, sentFailoverTimeoutMs)
		fmt.Fprintf(&b, "sentinel parallel-syncs %s 1\n", sentMaster)
		fmt.Fprintf(&b, "sentinel announce-ip 127.0.0.1\nsentinel announce-port %d\n", q)
		for _, l := range m.sentinelConf {
			b.WriteString(l + "\n")
		}
		if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
		p := &proc{name: name, kind: m.sentinelKind, role: "sentinel", dir: dir, port: port,
			logPath: filepath.Join(root, name+".log")}
		if m.sentinelKind == "skiff" {
			p.bin, p.args = skiffBin, []string{"sentinel", conf}
		} else {
			p.bin, p.args = redisSentinelBin, []string{conf}
		}
		p.onStart = t.registrar(name)
		t.sents = append(t.sents, p)
		t.spub = append(t.spub, q)
	}
	errs := make(chan error, 3)
	for _, s := range t.sents {
		go func(s *proc) { errs <- s.start(20 * time.Second) }(s)
	}
	var firstErr error
	for range t.sents {
		if err := <-errs; err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := pollFor("sentinels to know the master, 2 replicas and 2 other sentinels", 40*time.Second, 50*time.Millisecond, func() (bool, string) {
		want := t.dpx[0].Addr()
		for _, s := range t.sents {
			m, err := sentinelMaster(s.addr())
			if err != nil {
				return false, s.name + ": " + err.Error()
			}
			if m["ip"]+":"+m["port"] != want || m["num-slaves"] != "2" || m["num-other-sentinels"] != "2" || m["flags"] != "master" {
				return false, fmt.Sprintf("%s: %s:%s flags %s num-slaves %s num-other-sentinels %s", s.name,
					m["ip"], m["port"], m["flags"], m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return true, ""
	}); err != nil {
		return nil, err
	}
	// In strong mode a master without a lease (none before the
	// sentinels grant one) refuses full syncs: wait for the replicas here.
	if err := pollFor("replicas in sync", 30*time.Second, 50*time.Millisecond, func() (bool, string) {
		for _, d := range t.data[1:] {
			m, err := infoMap(d.addr(), "replication")
			if err != nil {
				return false, d.name + ": " + err.Error()
			}
			if m["master_link_status"] != "up" {
				return false, d.name + " master_link_status:" + m["master_link_status"]
			}
		}
		return true, ""
	}); err != nil {
		return nil, err
	}
	if m.sentinelKind == "skiff" {
		if err := pollFor("one raft group of 3 sentinels with a leader", 40*time.Second, 50*time.Millisecond, func() (bool, string) {
			name, info := t.raftLeaderInfo(true)
			return name != "", info
		}); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// proxySentinel opens the proxies of sentinel name (real port) and
// returns the announced port.
func (t *sentinelTopo) proxySentinel(name string, port int) (int, error) {
	for tries := 0; tries < 10; tries++ {
		q, err := reserveSentinelPorts()
		if err != nil {
			return 0, err
		}
		from, to := sentinelPorts(q), sentinelPorts(port)
		var opened []*netfault.Proxy
		ok := true
		for i := range from {
			if i > 0 && t.mode.sentinelKind != "skiff" {
				break
			}
			px, err := t.lab.ListenOn(name, from[i])
			if err != nil {
				ok = false
				break
			}
			px.SetTarget("127.0.0.1:" + strconv.Itoa(to[i]))
			opened = append(opened, px)
		}
		if ok {
			t.pxs = append(t.pxs, opened...)
			return q, nil
		}
		for _, px := range opened {
			px.Close()
		}
	}
	return 0, fmt.Errorf("cannot listen on a sentinel proxy port triple")
}

func (t *sentinelTopo) names() []string {
	return []string{"d0", "d1", "d2", "s0", "s1", "s2"}
}

func (t *sentinelTopo) proc(name string) *proc {
	for _, p := range append(append([]*proc{}, t.data...), t.sents...) {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (t *sentinelTopo) sentinelAddrs() []string {
	var out []string
	for _, q := range t.spub {
		out = append(out, "127.0.0.1:"+strconv.Itoa(q))
	}
	return out
}

// newClient is a workload client: a go-redis FailoverClient given the
// sentinels' announced (proxied) addresses, no retries (MaxRetries -1), so
// that every operation of the history is exactly one attempt.
func (t *sentinelTopo) newClient() redis.UniversalClient {
	return redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:            sentMaster,
		SentinelAddrs:         t.sentinelAddrs(),
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

// nodeByPub finds the data node known by address addr.
func (t *sentinelTopo) nodeByPub(addr string) *proc {
	for i, px := range t.dpx {
		if px.Addr() == addr {
			return t.data[i]
		}
	}
	return nil
}

// reportedMaster is the master every answering sentinel reports, or "".
func (t *sentinelTopo) reportedMaster() (*proc, string) {
	agreed := ""
	n := 0
	for _, s := range t.sents {
		if !s.answering() {
			continue
		}
		a, err := sentinelMasterAddr(s.addr())
		if err != nil {
			return nil, s.name + ": " + err.Error()
		}
		if agreed != "" && a != agreed {
			return nil, fmt.Sprintf("%s reports %s, another %s", s.name, a, agreed)
		}
		agreed = a
		n++
	}
	if n == 0 {
		return nil, "no sentinel answers"
	}
	d := t.nodeByPub(agreed)
	if d == nil {
		return nil, "reported master " + agreed + " is no data node"
	}
	return d, ""
}

// masters: the data node the sentinels report, or else the first live
// one whose INFO says role:master.
func (t *sentinelTopo) masters() []string {
	if d, _ := t.reportedMaster(); d != nil {
		return []string{d.name}
	}
	for _, d := range t.data {
		if !d.answering() {
			continue
		}
		if m, err := infoMap(d.addr(), "replication"); err == nil && m["role"] == "master" {
			return []string{d.name}
		}
	}
	return nil
}

// raftLeader is the skiff sentinel that leads the sentinels' Raft group
// (GET /status of the admin API); for redis-sentinel, which has no
// standing leader, "".
func (t *sentinelTopo) raftLeader() string {
	if t.mode.sentinelKind != "skiff" {
		return ""
	}
	name, _ := t.raftLeaderInfo(false)
	return name
}

// raftLeaderInfo returns the sentinel every answering sentinel names as
// the leader (with all three as members when full), or why there is none.
func (t *sentinelTopo) raftLeaderInfo(full bool) (string, string) {
	leader, leaderID := "", ""
	for _, s := range t.sents {
		if !s.answering() {
			continue
		}
		st, err := raftStatus(s)
		if err != nil {
			return "", s.name + ": " + err.Error()
		}
		if st.LeaderID == "" {
			return "", s.name + ": no leader"
		}
		if leaderID != "" && st.LeaderID != leaderID {
			return "", fmt.Sprintf("%s: leader %s, others %s", s.name, st.LeaderID, leaderID)
		}
		leaderID = st.LeaderID
		if full && len(st.Members) != len(t.sents) {
			return "", fmt.Sprintf("%s: %d members", s.name, len(st.Members))
		}
		if st.ID == st.LeaderID {
			leader = s.name
		}
	}
	if leader == "" {
		return "", "leader " + leaderID + " is not an answering sentinel"
	}
	return leader, ""
}

func raftStatus(s *proc) (raftStatusReply, error) {
	return raftStatusAt("127.0.0.1", sentinelPorts(s.port)[2])
}

// raftStatusAt is GET /status of the admin API at host:admin.
func raftStatusAt(host string, admin int) (raftStatusReply, error) {
	var st raftStatusReply
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+host+":"+strconv.Itoa(admin)+"/status", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET /status: %s", resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	return st, err
}

// healthy: every process runs, the sentinels agree on a master that says
// role:master, and both other data nodes are its replicas with the link up.
func (t *sentinelTopo) healthy() (bool, string) {
	for _, p := range append(append([]*proc{}, t.data...), t.sents...) {
		if !p.answering() {
			return false, p.name + " not running"
		}
	}
	m, info := t.reportedMaster()
	if m == nil {
		return false, info
	}
	mi, err := infoMap(m.addr(), "replication")
	if err != nil {
		return false, m.name + ": " + err.Error()
	}
	if mi["role"] != "master" {
		return false, m.name + " is reported but says role:" + mi["role"]
	}
	mpx := t.dpx[indexOf(t.data, m)]
	for _, d := range t.data {
		if d == m {
			continue
		}
		ri, err := infoMap(d.addr(), "replication")
		if err != nil {
			return false, d.name + ": " + err.Error()
		}
		if ri["role"] != "slave" || ri["master_port"] != strconv.Itoa(mpx.Port()) || ri["master_link_status"] != "up" {
			return false, fmt.Sprintf("%s: role:%s master_port:%s link:%s (master %s)", d.name, ri["role"], ri["master_port"], ri["master_link_status"], m.name)
		}
	}
	return true, ""
}

// finalAddrs: where the final reads go (the reported master, through its
// proxy, which no longer cuts anything).
func (t *sentinelTopo) finalClient() (redis.UniversalClient, error) {
	m, info := t.reportedMaster()
	if m == nil {
		return nil, fmt.Errorf("no master reported: %s", info)
	}
	return redis.NewClient(&redis.Options{Addr: t.dpx[indexOf(t.data, m)].Addr(), MaxRetries: 3,
		DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second,
		DisableIdentity: true, Protocol: 2}), nil
}

// restart starts a killed process again with the same dir and config (its
// onStart registers the new pid in the lab).
func (t *sentinelTopo) restart(name string) error {
	return t.proc(name).start(30 * time.Second)
}

// registrar names a process in the lab as soon as it is started.
func (t *sentinelTopo) registrar(name string) func(int) {
	return func(pid int) { t.lab.Register(pid, name) }
}

func (t *sentinelTopo) netlab() *netfault.Lab { return t.lab }

func (t *sentinelTopo) procs() []*proc { return append(append([]*proc{}, t.data...), t.sents...) }

func (t *sentinelTopo) close() {
	var wg sync.WaitGroup
	for _, p := range t.procs() {
		wg.Add(1)
		go func(p *proc) { defer wg.Done(); p.stopForGood() }(p)
	}
	wg.Wait()
	t.lab.Close()
}

func indexOf(ps []*proc, p *proc) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

// sentinelMaster is SENTINEL MASTER mymaster as a map.
func sentinelMaster(addr string) (map[string]string, error) {
	r, err := do(addr, time.Second, "SENTINEL", "MASTER", sentMaster)
	if err != nil {
		return nil, err
	}
	arr, ok := r.([]any)
	if !ok {
		return nil, fmt.Errorf("SENTINEL MASTER reply %T", r)
	}
	m := map[string]string{}
	for i := 0; i+1 < len(arr); i += 2 {
		m[fmt.Sprint(arr[i])] = fmt.Sprint(arr[i+1])
	}
	return m, nil
}

// sentinelMasterAddr is SENTINEL GET-MASTER-ADDR-BY-NAME as "ip:port".
func sentinelMasterAddr(addr string) (string, error) {
	r, err := do(addr, time.Second, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", sentMaster)
	if err != nil {
		return "", err
	}
	arr, ok := r.([]any)
	if !ok || len(arr) != 2 {
		return "", fmt.Errorf("reply %v", r)
	}
	return fmt.Sprint(arr[0]) + ":" + fmt.Sprint(arr[1]), nil
}

// newDataProc prepares (does not start) a data node: a config file in its
// own dir, so that a restart is the same node and CONFIG REWRITE (which
// sentinels send after SLAVEOF) persists its role. announce is its proxy's
// port; replicaOf (a proxy port) makes it a replica; extra are more
// config lines.
func newDataProc(m mode, name, root, host string, port, announce, replicaOf int, extra []string) (*proc, error) {
	dir := filepath.Join(root, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "port %d\nbind %s\ndir %s\n", port, host, dir)
	b.WriteString("save \"\"\nappendonly yes\nappendfsync everysec\nrepl-diskless-sync-delay 0\n")
	fmt.Fprintf(&b, "replica-announce-ip 127.0.0.1\nreplica-announce-port %d\n", announce)
	if replicaOf != 0 {
		fmt.Fprintf(&b, "replicaof 127.0.0.1 %d\n", replicaOf)
	}
	for _, l := range m.serverConf {
		b.WriteString(l + "\n")
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	conf := filepath.Join(dir, "node.conf")
	if err := os.WriteFile(conf, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	p := &proc{name: name, kind: m.dataKind, role: "server", dir: dir, host: host, port: port, logPath: filepath.Join(root, name+".log")}
	if m.dataKind == "skiff" {
		p.bin, p.args = skiffBin, []string{"server", conf}
	} else {
		p.bin, p.args = redisServerBin, []string{conf}
	}
	return p, nil
}

// minority: one sentinel and, half the time, one data node.
func (t *sentinelTopo) minority(rng *rand.Rand) []string {
	side := []string{"s" + strconv.Itoa(rng.Intn(3))}
	if rng.Intn(2) == 0 {
		side = append(side, "d"+strconv.Itoa(rng.Intn(3)))
	}
	return side
}
