package sentinel

// The sentinels' Raft group as the engine sees it (Meta), over a
// raftgroup.Group that group formation may replace while the sentinel
// runs (a lone sentinel joining the group of its peers, formation.go).

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

// DefaultSentinelVoters is the voter target of a sentinels' group: up to
// five sentinels vote, further ones follow as non-voters.
const DefaultSentinelVoters = 5

// GroupOptions configure this sentinel's member of the sentinels' group.
type GroupOptions struct {
	Dir           string // the sentinel's dir; Raft state lives in Dir/raft
	MyID          string // the sentinel's myid, used as the Raft node id
	ListenHost    string // host the Raft and admin ports are bound on
	AdvertiseHost string // host other members dial (defaults to ListenHost)
	Port          int    // the sentinel's RESP port (recorded in the metadata)
	RaftPort      int
	AdminPort     int
	// Advertised ports, when other sentinels reach this one through
	// different ones (announce-port behind a proxy or NAT); 0 = the
	// bound port.
	AdvertisePort      int
	AdvertiseRaftPort  int
	AdvertiseAdminPort int
	Voters             int      // 3 or 5 (default 5)
	Bootstrap          bool     // --bootstrap yes: a group of its own that it never leaves by itself
	Join               []string // --join: admin addresses of a group to join; no automatic formation
	Token              string   // admin API bearer token ("" = none)
	// Secret is the cluster-secret the raft port requires of every peer
	// (package raftauth); empty allows loopback peers only.
	Secret []byte

	// PeerUser and PeerPass authenticate SENTINEL SKIFF-GROUP queries to
	// other sentinels (sentinel-user / sentinel-pass).
	PeerUser, PeerPass string

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	NoSync             bool // tests only
	RaftDebug          bool
	Logger             hclog.Logger

	// DiscoveryWait is how long a lone sentinel listens for peers before
	// its first formation decision (default 4 s: two hello periods).
	DiscoveryWait time.Duration
	// CheckInterval is the period of formation decisions (default 1 s).
	CheckInterval time.Duration
	// JoinTimeout bounds one attempt to join another group (default 20 s).
	JoinTimeout time.Duration
	// Peers lists the other sentinels known from hello messages (the
	// engine's KnownSentinels); it may also be set with SetPeers.
	Peers func() []Peer
	// TLS, when set, gives the TLS configuration for asking other
	// sentinels (on their announced RESP port) for their group; nil means
	// plain TCP (see Options.TLS).
	TLS func() (*tls.Config, error)
	// RaftListen and RaftDial, when set, carry the sentinels' Raft
	// traffic over mutual TLS (raftgroup.Options.Listen/Dial).
	RaftListen func(network, addr string) (net.Listener, error)
	RaftDial   func(addr string, timeout time.Duration) (net.Conn, error)
}

// Group is this sentinel's member of the sentinels' Raft group. It
// implements Meta, answers SENTINEL SKIFF-GROUP (Command) and serves the
// admin HTTP API; group formation may replace the raft member underneath
// (Generation, Changed), so callers never keep what it returns.
type Group struct {
	pages atomic.Pointer[pages] // operator pages next to the API (pages.go)
	opts  GroupOptions
	log   hclog.Logger
	dir   string
	fwd   raftgroup.ForwardFunc
	stop  chan struct{}
	wg    sync.WaitGroup
	admin *admin.HTTPListener

	mu         sync.Mutex
	cur        *raftgroup.Group // nil while being replaced
	admH       http.Handler     // the admin API of cur
	gen        uint64
	changed    chan struct{}
	leaving    bool // a lone member on its way to another group: refuses joins
	joins      int  // join requests being served
	discovered bool // the first formation decision is made
	better     bool // a better group than this lone one is known
	lastStatus MetaStatus
	closed     bool
	started    bool

	peersMu sync.Mutex
	peers   func() []Peer

	stMu  sync.Mutex
	stFor *raftgroup.Group
	stAt  time.Time
	st    raftgroup.Status

	warned map[string]time.Time // other multi-member groups already reported (formation.go)
}

var errGroupSwapping = errors.New("the sentinels' group is being re-formed (this sentinel is joining another group)")

// OpenGroup opens (or, without Raft state, creates) this sentinel's
// member and starts its admin API. Without state it is a group of one,
// unless Join is set: then it joins that group now. Start begins the
// automatic formation.
func OpenGroup(o GroupOptions) (*Group, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if !fsm.ValidNodeID(o.MyID) {
		return nil, fmt.Errorf("sentinel myid %q cannot be a Raft node id (it must be 40 lowercase hex characters)", o.MyID)
	}
	if o.Voters == 0 {
		o.Voters = DefaultSentinelVoters
	}
	if o.AdvertiseHost == "" {
		o.AdvertiseHost = o.ListenHost
	}
	if o.AdvertisePort == 0 {
		o.AdvertisePort = o.Port
	}
	if o.AdvertiseRaftPort == 0 {
		o.AdvertiseRaftPort = o.RaftPort
	}
	if o.AdvertiseAdminPort == 0 {
		o.AdvertiseAdminPort = o.AdminPort
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.DiscoveryWait, 4*time.Second)
	def(&o.CheckInterval, time.Second)
	def(&o.JoinTimeout, 20*time.Second)
	if o.Bootstrap && len(o.Join) > 0 {
		return nil, errors.New("give either bootstrap yes (a new group) or join (an existing group), not both")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("dir: %w", err)
	}
	g := &Group{opts: o, log: o.Logger, dir: dir, fwd: admin.Forwarder(o.Token), stop: make(chan struct{}),
		changed: make(chan struct{}), peers: o.Peers, warned: map[string]time.Time{}}
	r, err := g.openMember(len(o.Join) == 0)
	if err != nil {
		return nil, err
	}
	g.install(r)
	if err := g.listenAdmin(); err != nil {
		_ = r.Close()
		return nil, err
	}
	g.log.Info("sentinel raft member started", "id", o.MyID, "raft", r.RaftAddr(), "admin", g.AdminAddr(),
		"restart", r.HadState(), "join", strings.Join(o.Join, ","))
	if len(o.Join) > 0 {
		if err := g.joinAtStart(r); err != nil {
			g.Close()
			return nil, err
		}
	}
	return g, nil
}

// openMember opens the raft member in Dir/raft (bootstrapping a group of
// one when there is no state and bootstrap is set).
func (g *Group) openMember(bootstrap bool) (*raftgroup.Group, error) {
	if _, err := raftgroup.LoadOrCreateNodeID(g.dir, g.opts.MyID); err != nil {
		return nil, fmt.Errorf("the raft state in %s belongs to another sentinel: %w", filepath.Join(g.dir, "raft"), err)
	}
	o := g.opts
	return raftgroup.Open(raftgroup.Options{
		Dir: g.dir, NodeID: o.MyID,
		BindAddr:           net.JoinHostPort(o.ListenHost, strconv.Itoa(o.RaftPort)),
		AdvertiseAddr:      net.JoinHostPort(o.AdvertiseHost, strconv.Itoa(o.AdvertiseRaftPort)),
		RESPAddr:           g.respAddr(),
		AdminAddr:          g.AdminAddr(),
		Bootstrap:          bootstrap,
		Voters:             o.Voters,
		HeartbeatTimeout:   o.HeartbeatTimeout,
		ElectionTimeout:    o.ElectionTimeout,
		LeaderLeaseTimeout: o.LeaderLeaseTimeout,
		CommitTimeout:      o.CommitTimeout,
		SnapshotThreshold:  o.SnapshotThreshold,
		SnapshotInterval:   o.SnapshotInterval,
		NoSync:             o.NoSync,
		Logger:             g.log,
		RaftDebug:          o.RaftDebug,
		Forward:            g.fwd,
		Secret:             o.Secret,
		Listen:             o.RaftListen,
		Dial:               o.RaftDial,
		PeersAuthenticated: o.RaftListen != nil,
	})
}

func (g *Group) respAddr() string {
	return net.JoinHostPort(g.opts.AdvertiseHost, strconv.Itoa(g.opts.AdvertisePort))
}

// AdminAddr is this member's advertised admin API address.
func (g *Group) AdminAddr() string {
	return net.JoinHostPort(g.opts.AdvertiseHost, strconv.Itoa(g.opts.AdvertiseAdminPort))
}

// install makes r the current member and tells the engine (a new
// generation). r may be nil (being replaced).
func (g *Group) install(r *raftgroup.Group) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur = r
	g.admH = nil
	if r != nil {
		g.admH = admin.NewServer(r, g.opts.Token, g.log.Named("admin")).Handler()
	}
	g.gen++
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *Group) current() *raftgroup.Group {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur
}

// Raft returns the current raft member (nil while it is being replaced).
func (g *Group) Raft() *raftgroup.Group { return g.current() }

// Generation counts the raft members this sentinel has had: it grows when
// formation replaces the member (the engine then re-proposes the
// monitors the new group lacks).
func (g *Group) Generation() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gen
}

// Changed returns a channel closed at the next change of Generation.
func (g *Group) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// SetPeers sets where formation learns about the other sentinels (the
// engine's KnownSentinels).
func (g *Group) SetPeers(f func() []Peer) {
	g.peersMu.Lock()
	g.peers = f
	g.peersMu.Unlock()
}

func (g *Group) knownPeers() []Peer {
	g.peersMu.Lock()
	f := g.peers
	g.peersMu.Unlock()
	if f == nil {
		return nil
	}
	return f()
}

// ---------------------------------------------------------------- Meta

// Propose commits a command through the group's leader (forwarded when
// this member is a follower). While the member is being replaced it waits
// for the new one, up to ctx.
func (g *Group) Propose(ctx context.Context, cmd fsm.Command) (fsm.Result, error) {
	for {
		if r := g.current(); r != nil {
			return r.Propose(ctx, cmd)
		}
		select {
		case <-ctx.Done():
			return fsm.Result{}, fmt.Errorf("%w: %v", errGroupSwapping, ctx.Err())
		case <-g.stop:
			return fsm.Result{}, raftgroup.ErrClosed
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// IsLeader reports whether this member is the Raft leader and a majority
// of the voters (itself included) answer its heartbeats. hashicorp/raft's
// leader lease already makes a leader cut off from a majority step down
// after raft-leader-lease-timeout; the health check covers the time
// before that.
func (g *Group) IsLeader() bool {
	r := g.current()
	if r == nil || r.Raft().State() != raft.Leader {
		return false
	}
	st := g.raftStatus(r)
	ok := 0
	for _, m := range st.Members {
		if m.Suffrage == "voter" && m.Health == "ok" {
			ok++
		}
	}
	return st.Voters > 0 && ok*2 > st.Voters
}

// VerifyLeader confirms leadership with a quorum of voters.
func (g *Group) VerifyLeader(ctx context.Context) error {
	r := g.current()
	if r == nil {
		return errGroupSwapping
	}
	return r.VerifyLeader(ctx)
}

// Monitor returns the group's record of a monitored master.
func (g *Group) Monitor(name string) (fsm.Monitor, bool) {
	r := g.current()
	if r == nil {
		return fsm.Monitor{}, false
	}
	return r.FSM().Monitor(name)
}

// Failover returns the sentinel failover in progress for a master.
func (g *Group) Failover(name string) (fsm.Failover, bool) {
	r := g.current()
	if r == nil {
		return fsm.Failover{}, false
	}
	for _, f := range r.FSM().Failovers() {
		if f.Kind == fsm.FailoverSentinel && f.Target == name {
			return f, true
		}
	}
	return fsm.Failover{}, false
}

// CurrentEpoch is the group's current epoch (0 while the member is being
// replaced).
func (g *Group) CurrentEpoch() uint64 {
	r := g.current()
	if r == nil {
		return 0
	}
	return r.FSM().CurrentEpoch()
}

// FSM returns the current member's applied metadata (nil while it is
// being replaced); its Changed channel signals applied entries.
func (g *Group) FSM() *fsm.FSM {
	if r := g.current(); r != nil {
		return r.FSM()
	}
	return nil
}

// Applied implements Meta: closed at the next applied entry of the
// current member, or when the member is replaced.
func (g *Group) Applied() <-chan struct{} {
	swap := g.Changed()
	f := g.FSM()
	if f == nil {
		return swap
	}
	applied := f.Changed()
	out := make(chan struct{})
	go func() {
		select {
		case <-applied:
		case <-swap:
		}
		close(out)
	}()
	return out
}

// raftStatus is r.Status(), cached for 50 ms (IsLeader is called often).
func (g *Group) raftStatus(r *raftgroup.Group) raftgroup.Status {
	g.stMu.Lock()
	if g.stFor == r && time.Since(g.stAt) < 50*time.Millisecond {
		st := g.st
		g.stMu.Unlock()
		return st
	}
	g.stMu.Unlock()
	st := r.Status()
	g.stMu.Lock()
	g.stFor, g.stAt, g.st = r, time.Now(), st
	g.stMu.Unlock()
	return st
}

// Status summarises the group for INFO, SENTINEL SENTINELS and CKQUORUM:
// members and voters from the Raft configuration; reachable voters as the
// leader sees them (a follower that hears from a leader counts every
// voter, since that leader holds a majority; one that does not counts
// itself).
func (g *Group) Status() MetaStatus {
	r := g.current()
	g.mu.Lock()
	leaving, last := g.leaving, g.lastStatus
	g.mu.Unlock()
	if r == nil {
		last.MyID = g.opts.MyID
		last.GroupState = "joining"
		last.HasQuorum = false
		last.LeaderID = ""
		return last
	}
	st := g.raftStatus(r)
	ms := MetaStatus{MyID: g.opts.MyID, LeaderID: st.LeaderID, Members: len(st.Members), Voters: st.Voters,
		GroupState: st.State, MemberIDs: []string{}, VoterIDs: []string{}}
	selfVoter := false
	okVoters := 0
	for _, m := range st.Members {
		ms.MemberIDs = append(ms.MemberIDs, m.ID)
		if m.Suffrage == "voter" {
			ms.VoterIDs = append(ms.VoterIDs, m.ID)
			if m.ID == g.opts.MyID {
				selfVoter = true
			}
			if m.Health == "ok" {
				okVoters++
			}
		}
	}
	hb := g.opts.HeartbeatTimeout
	if hb <= 0 {
		hb = raftgroup.DefaultHeartbeatTimeout
	}
	switch {
	case st.State == "Leader":
		ms.Reachable = okVoters
	case st.LeaderID != "" && st.LastContactMs >= 0 && st.LastContactMs <= 10*hb.Milliseconds():
		ms.Reachable = ms.Voters
	case selfVoter:
		ms.Reachable = 1
	}
	ms.HasQuorum = ms.Voters > 0 && ms.Reachable*2 > ms.Voters
	if leaving {
		ms.GroupState = "joining"
	}
	g.mu.Lock()
	g.lastStatus = ms
	g.mu.Unlock()
	return ms
}

var _ Meta = (*Group)(nil)

// ---------------------------------------------------------------- admin API

type groupErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// CodeForming is the admin API's answer (503) to a join sent to a lone
// sentinel that is not ready to take members: it is still discovering its
// peers, knows a better group to join, or is leaving for one. The joining
// side retries.
const CodeForming = "forming"

func (g *Group) listenAdmin() error {
	addr := net.JoinHostPort(g.opts.ListenHost, strconv.Itoa(g.opts.AdminPort))
	l, err := admin.ListenHTTP(addr, g, g.log)
	if err != nil {
		return err
	}
	g.admin = l
	return nil
}

// ServeHTTP is the admin API of the current member, with the join
// serialisation of formation: a lone sentinel takes a join only when it is
// ready (see CodeForming), and never while it leaves its group.
func (g *Group) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if pg := g.pages.Load(); pg != nil && pg.owns(r.URL.Path) {
		pg.h.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/join" && r.Method == http.MethodPost {
		cur := g.current()
		lone := cur != nil && len(g.raftStatus(cur).Members) <= 1
		g.mu.Lock()
		reason := g.refuseJoinLocked(lone)
		h := g.admH
		if reason == "" && h != nil {
			g.joins++
		}
		g.mu.Unlock()
		if reason != "" || h == nil {
			if reason == "" {
				reason = errGroupSwapping.Error()
			}
			w.Header().Set("Retry-After", "1")
			groupWriteJSON(w, http.StatusServiceUnavailable, groupErrorBody{Error: reason, Code: CodeForming})
			return
		}
		defer func() {
			g.mu.Lock()
			g.joins--
			g.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
		return
	}
	if r.URL.Path == "/sentinel-group" {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			groupWriteJSON(w, http.StatusMethodNotAllowed, groupErrorBody{Error: "/sentinel-group needs GET", Code: admin.CodeMethod})
			return
		}
		info := g.Info()
		groupWriteJSON(w, http.StatusOK, groupInfoJSON{ID: g.opts.MyID, GroupID: info.GroupID, Members: info.Members,
			LeaderAdmin: info.LeaderAdmin, Accepting: info.Accepting, Admin: info.Admin})
		return
	}
	g.mu.Lock()
	h := g.admH
	g.mu.Unlock()
	if h == nil {
		w.Header().Set("Retry-After", "1")
		groupWriteJSON(w, http.StatusServiceUnavailable, groupErrorBody{Error: errGroupSwapping.Error(), Code: admin.CodeNoLeader})
		return
	}
	h.ServeHTTP(w, r)
}

func (g *Group) refuseJoinLocked(lone bool) string {
	switch {
	case g.closed:
		return "this sentinel is shutting down"
	case g.leaving || g.cur == nil:
		return "this sentinel is leaving its group of one to join another group; retry"
	case !lone || len(g.opts.Join) > 0 || g.opts.Bootstrap:
		return ""
	case !g.started:
		return ""
	case !g.discovered:
		return "this sentinel is still discovering its peers; retry"
	case g.better:
		return "this sentinel is about to join a larger group (or one with a smaller id); retry"
	}
	return ""
}

func groupWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// joinAtStart is --join: with no state, join now (retrying for 30 s);
// after a restart, re-send the join in the background (idempotent).
func (g *Group) joinAtStart(r *raftgroup.Group) error {
	req := raftgroup.JoinRequest{ID: g.opts.MyID, RaftAddr: r.RaftAddr(), Addr: g.respAddr(), AdminAddr: g.AdminAddr()}
	if !r.HadState() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := admin.JoinAny(ctx, g.opts.Join, g.opts.Token, req, 500*time.Millisecond)
		if err != nil {
			return fmt.Errorf("raft: %w", err)
		}
		g.log.Info("joined the sentinels' raft group", "suffrage", res.Suffrage, "index", res.Index)
		return nil
	}
	if st := r.Status(); len(st.Members) == 1 && st.Members[0].ID == g.opts.MyID {
		return fmt.Errorf("raft: this sentinel already runs its own group of one (its dir %s has raft state); "+
			"to join another group with join, start it with an empty dir", g.dir)
	}
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		admin.Rejoin(g.stop, g.opts.Join, g.opts.Token, req, g.log)
	}()
	return nil
}

// Close stops formation, the admin API and the raft member (a leader
// hands leadership over first).
func (g *Group) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	close(g.stop)
	g.wg.Wait()
	var err error
	if g.admin != nil {
		_ = g.admin.Close()
	}
	if r := g.current(); r != nil {
		err = r.Close()
	}
	return err
}

// moveAside moves this sentinel's raft state aside
// (raftgroup.MoveStateAside).
func (g *Group) moveAside(what string) (string, error) {
	return raftgroup.MoveStateAside(g.dir, what, false)
}

// WaitCaughtUp waits, for at most timeout, until a restarted member (one
// with Raft state on disk) has heard from a leader and applied everything
// that leader had committed: until then its state machine may be older
// than its peers', and the sentinel would report a master a failover
// already replaced (its sentinel.conf is older still if it was killed
// mid-failover). A member without state, or alone in its group, returns at
// once. It reports whether it caught up.
func (g *Group) WaitCaughtUp(timeout time.Duration) bool {
	r := g.current()
	if r == nil || !r.HadState() {
		return true
	}
	if st := r.Status(); len(st.Members) <= 1 {
		return true
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		rf := r.Raft()
		if _, id := rf.LeaderWithID(); id != "" && rf.CommitIndex() > 0 && rf.AppliedIndex() >= rf.CommitIndex() {
			return true
		}
		time.Sleep(20 * time.Millisecond) // polling raft's indexes; bounded by the deadline
	}
	return false
}
