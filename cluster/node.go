package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

// Local is what the cluster needs from the data node. Methods marked
// "locked" are called with the node's data lock held (from a CLUSTER
// command); Follow is called without it and takes it itself.
type Local interface {
	// CountKeysInSlot returns the keys of db 0 in a slot (locked).
	CountKeysInSlot(slot int) int
	// KeysInSlot lists up to count keys of db 0 in a slot (locked).
	KeysInSlot(slot, count int) []string
	// RunID is the data node's run id (this process).
	RunID() string
	// DBSize returns the number of keys in db 0 (locked).
	DBSize() int
	// ReplOffset is this node's replication offset: master_repl_offset
	// on a master, the processed offset on a replica (locked).
	ReplOffset() int64
	// Offset is ReplOffset without the lock held (it takes it).
	Offset() int64
	// Freeze makes keyed writes wait until the time given, or until this
	// node is no longer a master in the view (then they are redirected):
	// the master's side of a manual failover (locked). A past time ends
	// it.
	Freeze(until time.Time)
	// Follow makes the node a replica of host:port, or a master when
	// host is "" (REPLICAOF NO ONE keeping the old history as replid2).
	// It is idempotent. still is asked once the data lock is held: false
	// means the decision is stale (a CLUSTER RESET ran meanwhile) and
	// nothing is done.
	Follow(host string, port int, still func() bool)
	// DropSlotKeys deletes (and propagates as DEL) the keys of slots
	// this master lost to another node while it still had keys there,
	// as Redis does for its "dirty slots". Called without the lock.
	DropSlotKeys(slots []int)
	// ResetData is CLUSTER RESET's effect on the data (locked): a
	// replica becomes a master and its keys are dropped.
	ResetData()
	// DataAge is how old this replica's data may be (locked): since the
	// last contact with its master while the link is up, since the link
	// went down otherwise; synced is false when it never synced.
	DataAge() (age time.Duration, synced bool)
	// Locked runs f with the data lock held.
	Locked(f func())
	// Reconfigured is called (without the lock) after the metadata
	// changed and once a second: clients blocked on keys of slots this
	// node no longer serves are redirected.
	Reconfigured()
}

// Options configure a cluster node.
type Options struct {
	// Raft is the template of this node's Raft member (Dir, NodeID,
	// addresses, timeouts, Logger). Bootstrap is decided here.
	Raft raftgroup.Options
	// Join lists admin addresses of a group to join at start (--join).
	Join []string
	// Bootstrap is --bootstrap yes.
	Bootstrap bool
	// AdminListen is the host:port the admin HTTP API binds.
	AdminListen string
	// Token is the admin API bearer token.
	Token string
	// PeerPassword authenticates the RESP connections to other nodes
	// (masterauth, else requirepass).
	PeerPassword string
	// ConfigFile is nodes.conf (absolute; "" = none).
	ConfigFile string
	// NodeTimeout is cluster-node-timeout.
	NodeTimeout func() time.Duration
	// NoFailover is cluster-replica-no-failover, ValidityFactor
	// cluster-replica-validity-factor, ReplPingPeriod
	// repl-ping-replica-period: a replica's eligibility for promotion.
	NoFailover     func() bool
	ValidityFactor func() int
	// Hostname is cluster-announce-hostname ("" = none; nil: never
	// recorded): the node records it in the metadata (failover.go
	// syncHostname).
	Hostname       func() string
	ReplPingPeriod func() time.Duration
	Logger         hclog.Logger

	// Migration returns the replica-migration settings (migration.go;
	// nil: never migrate).
	Migration func() MigrationSettings
	// RaftTimeoutsAuto: the Raft timeouts follow NodeTimeout (none of
	// raft-heartbeat-timeout, raft-election-timeout,
	// raft-leader-lease-timeout given; timeouts.go).
	RaftTimeoutsAuto bool
	// Strong is consistency strong: the leader grants masters their
	// leases (lease.go), of LeaseDuration (consistency-lease-ms).
	Strong        bool
	LeaseDuration time.Duration
}

// Node is this process's cluster member: its Raft member (which CLUSTER
// MEET may replace by a member of another group), the admin API, the
// current View, the peer poller and role following.
type Node struct {
	opts Options
	log  hclog.Logger
	id   atomic.Pointer[string] // changes only at CLUSTER RESET
	self SelfAddrs

	lease *leases // consistency strong (lease.go); nil otherwise

	mu       sync.Mutex
	cur      *raftgroup.Group // nil while being replaced
	admH     http.Handler
	gen      uint64
	genCh    chan struct{}
	leaving  bool
	joins    int
	closed   bool
	local    Local
	meeting  map[string]bool // MEET targets being handled
	lastConf string
	confAt   time.Time // when nodes.conf was last written

	view    atomic.Pointer[View]
	reachOK atomic.Bool // the Raft group answered within the node timeout
	viewMu  sync.Mutex  // serialises view rebuilds
	// followMu serialises follow decisions; followed is the last one
	// applied and resetGen counts CLUSTER RESETs (see follow).
	followMu sync.Mutex
	followed atomic.Pointer[string]
	resetGen atomic.Uint64
	lastOwn  *View // the view lostSlots last saw (watch goroutine only)
	marksMu  sync.Mutex
	marks    markState // marks.go

	peersMu sync.Mutex
	peers   map[string]*peer

	bus *bus // bus.go: pub/sub fan-out

	stats struct {
		pingSent, pongRecv, pingRecv atomic.Int64
		meetSent, meetRecv           atomic.Int64
	}

	stop  chan struct{}
	wg    sync.WaitGroup
	admin *admin.HTTPListener

	// pages serves the operator pages next to the API (pages.go).
	pages atomic.Pointer[pages]

	// hostKick wakes failLoop to record a new hostname (HostnameChanged).
	hostKick chan struct{}
}

// Open starts this node's Raft member (a new group of one, a join
// through Join, or a restart from its own state) and its admin API.
func Open(o Options) (*Node, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.NodeTimeout == nil {
		o.NodeTimeout = func() time.Duration { return 15 * time.Second }
	}
	n := &Node{opts: o, log: o.Logger, genCh: make(chan struct{}), stop: make(chan struct{}), hostKick: make(chan struct{}, 1),
		meeting: map[string]bool{}, peers: map[string]*peer{},
		self: SelfAddrs{Addr: o.Raft.RESPAddr, RaftAddr: o.Raft.AdvertiseAddr, AdminAddr: o.Raft.AdminAddr}}
	n.bus = newBus(n)
	id := o.Raft.NodeID
	n.id.Store(&id)
	if n.self.RaftAddr == "" {
		n.self.RaftAddr = o.Raft.BindAddr
	}
	n.reachOK.Store(true)
	if o.Bootstrap && len(o.Join) > 0 {
		return nil, errors.New("raft: give either bootstrap yes (a new group) or join (an existing group), not both")
	}
	g, err := n.openMember(len(o.Join) == 0)
	if err != nil {
		return nil, err
	}
	n.install(g)
	if err := n.listenAdmin(); err != nil {
		_ = g.Close()
		return nil, err
	}
	n.log.Info("raft member started", "id", n.myID(), "raft", g.RaftAddr(), "admin", o.Raft.AdminAddr,
		"restart", g.HadState(), "join", strings.Join(o.Join, ","))
	if len(o.Join) > 0 {
		if err := n.joinAtStart(g); err != nil {
			n.Close()
			return nil, err
		}
	}
	n.refresh()
	n.wg.Add(4)
	go n.watch()
	go n.reachLoop()
	go n.pollLoop()
	go n.failLoop()
	n.wg.Add(1)
	go n.migrationLoop() // migration.go
	if n.opts.Strong {
		d := n.opts.LeaseDuration
		if d <= 0 {
			d = time.Second
		}
		n.lease = newLeases(d)
		n.wg.Add(1)
		go n.leaseLoop() // lease.go
	}
	return n, nil
}

func (n *Node) openMember(bootstrap bool) (*raftgroup.Group, error) {
	o := n.opts.Raft
	o.NodeID = n.myID()
	o.Bootstrap = bootstrap
	if !bootstrap {
		n.memberTimeouts(&o) // timeouts.go
	}
	if o.Forward == nil {
		o.Forward = admin.Forwarder(n.opts.Token)
	}
	return raftgroup.Open(o)
}

// install makes g the current member (nil while it is being replaced).
func (n *Node) install(g *raftgroup.Group) {
	n.mu.Lock()
	n.cur = g
	n.admH = nil
	if g != nil {
		n.admH = admin.NewServer(g, n.opts.Token, n.log.Named("admin")).Handler()
	}
	n.gen++
	close(n.genCh)
	n.genCh = make(chan struct{})
	n.mu.Unlock()
}

// Group returns the current Raft member (nil while it is being replaced
// after a CLUSTER MEET). Callers must not keep it.
func (n *Node) Group() *raftgroup.Group {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cur
}

// ID is this node's id.
func (n *Node) ID() string { return n.myID() }

func (n *Node) myID() string { return *n.id.Load() }

// View returns the current view (never nil after Open).
func (n *Node) View() *View { return n.view.Load() }

// Attach connects the data node. It must be called once, before the
// node serves clients.
func (n *Node) Attach(l Local) {
	n.mu.Lock()
	n.local = l
	n.mu.Unlock()
	n.follow(n.View())
}

func (n *Node) getLocal() Local {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.local
}

// StateOK is the cluster state (CLUSTER INFO cluster_state, and
// -CLUSTERDOWN for keyed commands when false): every slot assigned to a
// master that is not failed (when requireFull), and the Raft group
// reachable within the node timeout.
func (n *Node) StateOK(requireFull bool) bool {
	v := n.View()
	if !n.reachOK.Load() {
		return false
	}
	if v.Assigned == 0 {
		return false
	}
	if requireFull {
		if v.Assigned != NumSlots {
			return false
		}
		for _, m := range v.Nodes {
			if m.Master && m.NumSlots > 0 && m.Fail {
				return false
			}
		}
	}
	return true
}

// refresh rebuilds the view from the current member's applied state if
// it changed.
func (n *Node) refresh() *View {
	n.viewMu.Lock()
	defer n.viewMu.Unlock()
	g := n.Group()
	old := n.view.Load()
	if g == nil {
		if old == nil {
			n.view.Store(BuildView(fsm.NewState(), n.myID(), n.self))
		}
		return n.view.Load()
	}
	var v *View
	mv := n.marksVersion()
	host, ownHost := n.ownHostname()
	g.FSM().View(func(s *fsm.State) {
		if old != nil && old.Index == s.Index && old.gen == n.generation() && old.marks == mv &&
			(!ownHost || old.Self.Hostname == host) {
			return
		}
		v = BuildView(s, n.myID(), n.self)
	})
	if v == nil {
		return old
	}
	if ownHost {
		v.Self.Hostname = host
	}
	v.gen = n.generation()
	v.marks = n.overlayMarks(v)
	n.view.Store(v)
	return v
}

// HostnameChanged is called when cluster-announce-hostname was set (CONFIG
// SET): this node shows the new hostname at once, as Redis does, and
// records it in the metadata without waiting for the next poll.
func (n *Node) HostnameChanged() {
	n.refresh()
	select {
	case n.hostKick <- struct{}{}:
	default:
	}
}

// ownHostname is this node's cluster-announce-hostname (ok false: not
// configured through Options.Hostname).
func (n *Node) ownHostname() (string, bool) {
	if n.opts.Hostname == nil {
		return "", false
	}
	return n.opts.Hostname(), true
}

func (n *Node) generation() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.gen
}

// watch rebuilds the view after every applied entry and reacts: role
// following, nodes.conf.
func (n *Node) watch() {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		g, genCh := n.cur, n.genCh
		n.mu.Unlock()
		var changed <-chan struct{}
		if g != nil {
			changed = g.FSM().Changed()
		}
		v := n.refresh()
		n.follow(v)
		n.saveConfig(v)
		if l := n.getLocal(); l != nil {
			if lost := n.lostSlots(v); len(lost) > 0 {
				l.DropSlotKeys(lost)
			}
			n.bus.viewChanged(v, l)
			l.Reconfigured()
		}
		select {
		case <-n.stop:
			return
		case <-genCh:
		case <-changed:
		case <-time.After(time.Second):
		}
	}
}

// lostSlots returns the slots this master owned in the previous view it
// examined and another node owns now (not slots that became unassigned:
// Redis keeps serving nothing there but keeps the keys).
func (n *Node) lostSlots(v *View) []int {
	if v == nil {
		return nil
	}
	prev := n.lastOwn
	n.lastOwn = v
	if prev == nil || prev.SelfID != v.SelfID || !v.Self.Master || prev.gen != v.gen {
		return nil
	}
	var out []int
	for _, r := range prev.Self.Slots {
		for sl := r.Start; sl <= r.End; sl++ {
			if o := v.Owner[sl]; o != nil && o != v.Self {
				out = append(out, sl)
			}
		}
	}
	return out
}

// follow makes the data node follow the role the metadata gives it.
func (n *Node) follow(v *View) {
	l := n.getLocal()
	if l == nil || v == nil {
		return
	}
	want := ""
	var host string
	var port int
	if !v.Self.Master {
		m := v.Node(v.Self.MasterID)
		if m == nil || m.Port == 0 {
			return // unknown master: keep what we do
		}
		host, port = m.IP, m.Port
		if host == "" {
			host, _ = splitHostPort(m.Addr)
		}
		want = net.JoinHostPort(host, fmt.Sprint(port))
	}
	key := want
	if key == "" {
		key = "-" // master
	}
	n.followMu.Lock()
	defer n.followMu.Unlock()
	followed := n.followedNow()
	if followed == key {
		return
	}
	if want != "" {
		n.log.Info("following the metadata: replica", "master", v.Self.MasterID, "addr", want)
	} else if followed != "" {
		n.log.Info("following the metadata: master")
	}
	// l.Follow waits for the data lock, which CLUSTER RESET holds while
	// it runs: a decision taken from the view before a reset must not be
	// applied after it (still), and RESET must never wait for followMu.
	gen := n.resetGen.Load()
	still := func() bool { return n.resetGen.Load() == gen }
	l.Follow(host, port, still) // idempotent: the first decision as a master changes nothing
	if still() {
		n.followed.Store(&key)
	}
}

// followedNow is the replication decision last applied ("-": master).
func (n *Node) followedNow() string {
	if p := n.followed.Load(); p != nil {
		return *p
	}
	return ""
}

// configWriteGap is the least time between two writes of nodes.conf.
const configWriteGap = 100 * time.Millisecond

// saveConfig writes nodes.conf when the metadata changed.
func (n *Node) saveConfig(v *View) {
	if n.opts.ConfigFile == "" || v == nil {
		return
	}
	// Timestamps change every write; compare without them. During a
	// burst of changes (a resharding applies several entries per slot)
	// it is written at most every configWriteGap: the watch loop comes
	// back at the next entry or within a second.
	key := fmt.Sprint(v.Index, "/", v.gen)
	n.mu.Lock()
	skip := n.lastConf == key || time.Since(n.confAt) < configWriteGap
	n.mu.Unlock()
	if skip {
		return
	}
	text := v.ConfigText(n.live(0, true))
	if err := writeFileAtomic(n.opts.ConfigFile, []byte(text)); err != nil {
		n.log.Warn("cannot write the cluster config file", "file", n.opts.ConfigFile, "error", err)
		return
	}
	n.mu.Lock()
	n.lastConf, n.confAt = key, time.Now()
	n.mu.Unlock()
}

// SaveConfig writes nodes.conf now (CLUSTER SAVECONFIG).
func (n *Node) SaveConfig() error {
	if n.opts.ConfigFile == "" {
		return nil
	}
	return writeFileAtomic(n.opts.ConfigFile, []byte(n.View().ConfigText(n.live(0, true))))
}

func writeFileAtomic(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// reachLoop keeps reachOK: false when this member has heard from no
// leader for longer than the node timeout (a minority partition).
func (n *Node) reachLoop() {
	defer n.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		g := n.Group()
		if g == nil {
			continue
		}
		r := g.Raft()
		ok := true
		if r.State() != raft.Leader {
			lc := r.LastContact()
			if lc.IsZero() {
				_, id := r.LeaderWithID()
				ok = id != ""
			} else {
				ok = time.Since(lc) <= n.opts.NodeTimeout()
			}
			// While the group elects a new leader (its old one died; a
			// split vote can take longer than the node timeout) this
			// node is not cut off as long as it reaches most voters:
			// only a node in a minority partition goes down, as in Redis.
			ok = ok || n.reachesVoterMajority(g)
		}
		n.reachOK.Store(ok)
	}
}

// Live returns the live part of the replies; offset is this node's
// replication offset, stateOK the cluster state.
func (n *Node) Live(offset int64, stateOK bool) *Live { return n.live(offset, stateOK) }

func (n *Node) live(offset int64, stateOK bool) *Live {
	return &Live{NowMs: time.Now().UnixMilli(), SelfOffset: offset, Peer: n.peerState, StateOK: stateOK,
		Stats: MsgStats{PingSent: n.stats.pingSent.Load(), PongSent: n.stats.pingRecv.Load(),
			MeetSent: n.stats.meetSent.Load(), PingReceived: n.stats.pingRecv.Load(),
			PongReceived: n.stats.pongRecv.Load(), MeetReceived: n.stats.meetRecv.Load()}}
}

// Close stops the loops, the admin API and the Raft member.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.mu.Unlock()
	close(n.stop)
	n.wg.Wait()
	n.closePeers()
	n.bus.close()
	n.mu.Lock()
	adm := n.admin
	n.mu.Unlock()
	if adm != nil {
		_ = adm.Close()
	}
	if g := n.Group(); g != nil {
		return g.Close()
	}
	return nil
}

// ---------------------------------------------------------------- admin API

func (n *Node) listenAdmin() error {
	l, err := admin.ListenHTTP(n.opts.AdminListen, n, n.log)
	if err == nil {
		n.mu.Lock()
		n.admin = l
		n.mu.Unlock()
		return nil
	}
	if !errors.Is(err, syscall.EADDRINUSE) || portListening(n.opts.AdminListen) {
		return err
	}
	// The port is taken by no listener: the local end of some outgoing
	// connection (derived ports such as RESP+20000 are in Linux's
	// ephemeral range). It frees when that connection ends; meanwhile
	// the node runs, and its admin API comes up as soon as it can.
	n.log.Warn("admin port held by an outgoing connection; retrying in the background", "addr", n.opts.AdminListen)
	n.wg.Add(1)
	go n.retryAdmin()
	return nil
}

// retryAdmin binds the admin API once its port is free, until Close.
func (n *Node) retryAdmin() {
	defer n.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		l, err := admin.ListenHTTP(n.opts.AdminListen, n, n.log)
		if err != nil {
			continue
		}
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			_ = l.Close()
			return
		}
		n.admin = l
		n.mu.Unlock()
		n.log.Info("admin API listening", "addr", n.opts.AdminListen)
		return
	}
}

// portListening reports whether something accepts connections at addr.
func portListening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

type errBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// ServeHTTP is the admin API of the current member. A node that is
// leaving its group of one (CLUSTER MEET) answers 503 and takes no join;
// while it serves a join it does not leave.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if pg := n.pages.Load(); pg != nil && pg.owns(r.URL.Path) {
		pg.h.ServeHTTP(w, r)
		return
	}
	n.mu.Lock()
	h := n.admH
	refuse := n.leaving || n.closed
	isJoin := r.URL.Path == "/join" && r.Method == http.MethodPost
	if isJoin && !refuse && h != nil {
		n.joins++
	}
	n.mu.Unlock()
	if h == nil || (isJoin && refuse) {
		w.Header().Set("Retry-After", "1")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(errBody{Error: "this node is joining another cluster (CLUSTER MEET); retry", Code: admin.CodeNoLeader})
		return
	}
	if isJoin {
		defer func() {
			n.mu.Lock()
			n.joins--
			n.mu.Unlock()
		}()
	}
	h.ServeHTTP(w, r)
}

// joinAtStart is --join: with no state, join now (retrying for 30 s);
// after a restart, re-send the join in the background (idempotent).
func (n *Node) joinAtStart(g *raftgroup.Group) error {
	req := n.joinRequest(g)
	if !g.HadState() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := admin.JoinAny(ctx, n.opts.Join, n.opts.Token, req, 500*time.Millisecond)
		if err != nil {
			return fmt.Errorf("raft: %w", err)
		}
		n.log.Info("joined the raft group", "suffrage", res.Suffrage, "index", res.Index)
		return nil
	}
	if st := g.Status(); len(st.Members) == 1 && st.Members[0].ID == n.myID() {
		// It ran as a cluster of one (started without --join): joining
		// another group would pit its own log against that group's.
		return fmt.Errorf("raft: this node already runs its own single-node group (its dir %s has raft state); "+
			"to join another group, start it with an empty dir", n.opts.Raft.Dir)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		admin.Rejoin(n.stop, n.opts.Join, n.opts.Token, req, n.log)
	}()
	return nil
}

func (n *Node) joinRequest(g *raftgroup.Group) raftgroup.JoinRequest {
	return raftgroup.JoinRequest{ID: n.myID(), RaftAddr: g.RaftAddr(), Addr: n.self.Addr, AdminAddr: n.self.AdminAddr}
}

// moveAside moves this node's raft state aside (raftgroup.MoveStateAside).
func (n *Node) moveAside(what string) (string, error) {
	return raftgroup.MoveStateAside(n.opts.Raft.Dir, what, what != "failed")
}
