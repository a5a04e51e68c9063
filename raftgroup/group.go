// Package raftgroup runs Skiff's metadata Raft group: hashicorp/raft with
// raft-boltdb/v2 log and stable stores and a file snapshot store under
// <dir>/raft, a TCP transport, bootstrap/join/rejoin, and a proposal and
// read API over the fsm package.
//
// Membership policy: up to Options.Voters members are voters; later
// members join as non-voters and the leader promotes a healthy non-voter
// when the voter count drops below the target.
package raftgroup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftauth"
	"go.etcd.io/bbolt"
)

// Defaults for a LAN (see docs/raft.md for the measurements behind them).
const (
	DefaultHeartbeatTimeout   = 200 * time.Millisecond
	DefaultElectionTimeout    = 200 * time.Millisecond
	DefaultLeaderLeaseTimeout = 100 * time.Millisecond
	DefaultCommitTimeout      = 5 * time.Millisecond
	DefaultSnapshotThreshold  = 8192
	DefaultSnapshotInterval   = 60 * time.Second
	DefaultTrailingLogs       = 10240
	DefaultVoters             = 3
)

// ForwardFunc sends encoded command bytes to the leader and returns the
// applied result. The admin package provides one over HTTP.
type ForwardFunc func(ctx context.Context, leader *NotLeaderError, data []byte) (fsm.Result, error)

// Options configure a Group.
type Options struct {
	Dir           string // data dir; raft files live in Dir/raft
	NodeID        string // 40 hex chars; see LoadOrCreateNodeID
	BindAddr      string // raft listen host:port
	AdvertiseAddr string // raft host:port other members dial; defaults to BindAddr
	RESPAddr      string // this node's advertised RESP host:port (recorded in the metadata)
	AdminAddr     string // this node's advertised admin HTTP host:port

	// Bootstrap starts a new single-voter group when there is no raft
	// state. Never set it on a node that will join another group.
	Bootstrap bool
	Voters    int // 3 or 5 (default 3)

	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64
	NoSync             bool // skip fsync of the log (tests only)

	Logger     hclog.Logger // required; raft logs under it, never below Info unless RaftDebug
	RaftDebug  bool         // let raft log at DEBUG (only when skiff's loglevel is debug)
	Forward    ForwardFunc  // optional; may also be set later with SetForwarder
	ApplyLimit time.Duration

	// Secret is the cluster-secret every member must prove on each raft
	// connection (package raftauth). Empty: members talk raft to
	// loopback peers only.
	Secret []byte
	// Listen and Dial open the raw raft connections under the handshake;
	// nil means plain TCP. A TLS layer sets both, and PeersAuthenticated
	// when its certificates authenticate both ends (mutual TLS).
	Listen             func(network, addr string) (net.Listener, error)
	Dial               raftauth.DialFunc
	PeersAuthenticated bool

	// Test hooks: when set they replace the TCP transport and the bolt and
	// file stores.
	Transport     raft.Transport
	LogStore      raft.LogStore
	StableStore   raft.StableStore
	SnapshotStore raft.SnapshotStore
}

// Group is one member of the metadata Raft group.
type Group struct {
	opts   Options
	log    hclog.Logger
	fsm    *fsm.FSM
	raft   *raft.Raft
	trans  raft.Transport
	bolt   *raftboltdb.BoltStore
	hadSt  bool
	obsCh  chan raft.Observation
	obs    *raft.Observer
	stopCh chan struct{}
	wg     sync.WaitGroup

	mu        sync.Mutex
	forward   ForwardFunc
	unhealthy map[string]time.Time // peer id -> last contact, as seen by this leader
	readyTerm uint64               // term in which this leader committed a barrier
	closed    bool
	memberMu  sync.Mutex // one membership change at a time on this member
	nudging   atomic.Bool
}

// Open starts the member. It does not join anything: a node without state
// and without Bootstrap waits to be added by the leader (see Join on the
// leader, and admin.Client.Join from the new node).
func Open(o Options) (*Group, error) {
	if o.Logger == nil {
		o.Logger = hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn})
	}
	if !fsm.ValidNodeID(o.NodeID) {
		return nil, fmt.Errorf("raftgroup: invalid node id %q (want 40 lowercase hex characters)", o.NodeID)
	}
	if o.AdvertiseAddr == "" {
		o.AdvertiseAddr = o.BindAddr
	}
	if o.Voters == 0 {
		o.Voters = DefaultVoters
	}
	if o.Voters != 3 && o.Voters != 5 && o.Voters != 1 {
		return nil, fmt.Errorf("raftgroup: raft-voters must be 3 or 5, got %d", o.Voters)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HeartbeatTimeout, DefaultHeartbeatTimeout)
	def(&o.ElectionTimeout, DefaultElectionTimeout)
	def(&o.LeaderLeaseTimeout, DefaultLeaderLeaseTimeout)
	def(&o.CommitTimeout, DefaultCommitTimeout)
	def(&o.SnapshotInterval, DefaultSnapshotInterval)
	def(&o.ApplyLimit, 10*time.Second)
	if o.SnapshotThreshold == 0 {
		o.SnapshotThreshold = DefaultSnapshotThreshold
	}
	if o.TrailingLogs == 0 {
		o.TrailingLogs = DefaultTrailingLogs
	}

	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(o.NodeID)
	conf.HeartbeatTimeout = o.HeartbeatTimeout
	conf.ElectionTimeout = o.ElectionTimeout
	conf.LeaderLeaseTimeout = o.LeaderLeaseTimeout
	conf.CommitTimeout = o.CommitTimeout
	conf.SnapshotThreshold = o.SnapshotThreshold
	conf.SnapshotInterval = o.SnapshotInterval
	conf.TrailingLogs = o.TrailingLogs
	conf.ShutdownOnRemove = true
	rlog := o.Logger
	if !o.RaftDebug {
		rlog = withFloor(rlog, hclog.Info)
	}
	conf.Logger = rlog
	if err := raft.ValidateConfig(conf); err != nil {
		return nil, fmt.Errorf("raftgroup: invalid timeouts: %w", err)
	}

	g := &Group{opts: o, log: o.Logger, fsm: fsm.New(), forward: o.Forward,
		unhealthy: map[string]time.Time{}, stopCh: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			g.closeStores()
		}
	}()

	raftDir := filepath.Join(o.Dir, "raft")
	logs, stable, snaps := o.LogStore, o.StableStore, o.SnapshotStore
	if logs == nil || stable == nil || snaps == nil {
		if err := os.MkdirAll(raftDir, 0o755); err != nil {
			return nil, fmt.Errorf("raftgroup: create %s: %w", raftDir, err)
		}
	}
	if logs == nil || stable == nil {
		path := filepath.Join(raftDir, "raft.db")
		b, err := raftboltdb.New(raftboltdb.Options{Path: path, NoSync: o.NoSync,
			BoltOptions: &bbolt.Options{Timeout: time.Second}})
		if err != nil {
			if errors.Is(err, bbolt.ErrTimeout) {
				return nil, fmt.Errorf("raftgroup: %s is locked; is another skiff running with dir %s?", path, o.Dir)
			}
			return nil, fmt.Errorf("raftgroup: open %s: %w", path, err)
		}
		g.bolt = b
		if logs == nil {
			logs = b
		}
		if stable == nil {
			stable = b
		}
	}
	if snaps == nil {
		s, err := raft.NewFileSnapshotStoreWithLogger(raftDir, 2, rlog.Named("snapshot"))
		if err != nil {
			return nil, fmt.Errorf("raftgroup: snapshot store in %s: %w", raftDir, err)
		}
		snaps = s
	}
	trans := o.Transport
	if trans == nil {
		var adv net.Addr
		if _, port, _ := net.SplitHostPort(o.AdvertiseAddr); port != "0" {
			a, err := net.ResolveTCPAddr("tcp", o.AdvertiseAddr)
			if err != nil {
				return nil, fmt.Errorf("raftgroup: advertise address %q: %w", o.AdvertiseAddr, err)
			}
			adv = a
		}
		t, err := openTransport(o, adv, rlog)
		if err != nil {
			return nil, err
		}
		trans = t
	}
	g.trans = trans

	has, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return nil, fmt.Errorf("raftgroup: read raft state: %w", err)
	}
	g.hadSt = has

	r, err := raft.NewRaft(conf, g.fsm, logs, stable, snaps, trans)
	if err != nil {
		return nil, fmt.Errorf("raftgroup: start raft: %w", err)
	}
	g.raft = r

	if has {
		// A node restarted with the same id at another address would split
		// its identity; refuse instead of guessing.
		if cf := r.GetConfiguration(); cf.Error() == nil {
			for _, s := range cf.Configuration().Servers {
				if string(s.ID) == o.NodeID && s.Address != trans.LocalAddr() {
					_ = r.Shutdown().Error()
					return nil, fmt.Errorf("raftgroup: this node (%s) is a member at raft address %s but now advertises %s; "+
						"restart it with its old address, or remove it from the group and start it with an empty dir", o.NodeID, s.Address, trans.LocalAddr())
				}
			}
		}
	} else if o.Bootstrap {
		cfg := raft.Configuration{Servers: []raft.Server{{ID: conf.LocalID, Address: trans.LocalAddr(), Suffrage: raft.Voter}}}
		if err := r.BootstrapCluster(cfg).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			_ = r.Shutdown().Error()
			return nil, fmt.Errorf("raftgroup: bootstrap: %w", err)
		}
	}

	g.obsCh = make(chan raft.Observation, 256)
	g.obs = raft.NewObserver(g.obsCh, false, nil)
	r.RegisterObserver(g.obs)
	g.wg.Add(2)
	go g.observe()
	go g.leaderLoop()
	ok = true
	return g, nil
}

func (g *Group) closeStores() {
	if g.bolt != nil {
		_ = g.bolt.Close()
		g.bolt = nil
	}
	if c, ok := g.trans.(interface{ Close() error }); ok && g.opts.Transport == nil {
		_ = c.Close()
	}
}

// HadState reports whether the member found raft state on disk at Open
// (it is a restart, not a fresh node).
func (g *Group) HadState() bool { return g.hadSt }

// ID is this member's node id.
func (g *Group) ID() string { return g.opts.NodeID }

// RaftAddr is this member's advertised raft address.
func (g *Group) RaftAddr() string { return string(g.trans.LocalAddr()) }

// FSM is the applied metadata. Its accessors read this member's applied
// copy; pair them with WaitForIndex or ReadIndex for fresher reads.
func (g *Group) FSM() *fsm.FSM { return g.fsm }

// Raft exposes the underlying raft instance for diagnostics.
func (g *Group) Raft() *raft.Raft { return g.raft }

// VerifyLeader confirms with a quorum of voters that this member still
// leads, giving up when ctx ends: raft's own future has no deadline, and a
// caller that runs on a schedule (a lease round) must never wait forever.
func (g *Group) VerifyLeader(ctx context.Context) error {
	f := g.raft.VerifyLeader()
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// LeaderLeaseTimeout is the member's leader lease (fixed when it opened).
func (g *Group) LeaderLeaseTimeout() time.Duration { return g.opts.LeaderLeaseTimeout }

// SetForwarder sets how Propose on a follower reaches the leader.
func (g *Group) SetForwarder(f ForwardFunc) {
	g.mu.Lock()
	g.forward = f
	g.mu.Unlock()
}

// IsLeader reports whether this member is the leader now.
func (g *Group) IsLeader() bool { return g.raft.State() == raft.Leader }

// Leader describes the current leader as known by this member; the fields
// are empty when no leader is known.
func (g *Group) Leader() *NotLeaderError {
	addr, id := g.raft.LeaderWithID()
	nl := &NotLeaderError{LeaderID: string(id), LeaderRaftAddr: string(addr)}
	if id != "" {
		if n, ok := g.fsm.Node(string(id)); ok {
			nl.LeaderAdminAddr = n.AdminAddr
		}
	}
	return nl
}

// WaitForLeader blocks until some leader is known or ctx ends.
func (g *Group) WaitForLeader(ctx context.Context) (*NotLeaderError, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if l := g.Leader(); l.LeaderID != "" {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a leader: %w", ctx.Err())
		case <-g.stopCh:
			return nil, ErrClosed
		case <-t.C:
		}
	}
}

func (g *Group) timeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		if t := time.Until(d); t > 0 {
			return t
		}
		return time.Millisecond
	}
	return g.opts.ApplyLimit
}

// Propose commits a command and returns its applied result. On a follower
// it forwards to the leader when a forwarder is set, and otherwise returns
// a *NotLeaderError naming the leader. A command refused by the state
// machine returns a *fsm.CommandError (the entry is in the log, the state
// is unchanged).
func (g *Group) Propose(ctx context.Context, cmd fsm.Command) (fsm.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Result{}, err
	}
	return g.ProposeEncoded(ctx, data)
}

// ProposeEncoded is Propose for bytes from fsm.Encode (used by the admin
// API's forwarding endpoint). Undecodable bytes are refused before they
// reach the log.
func (g *Group) ProposeEncoded(ctx context.Context, data []byte) (fsm.Result, error) {
	if _, err := fsm.Decode(data); err != nil {
		return fsm.Result{}, err
	}
	res, err := g.applyLocal(ctx, data)
	if !IsNotLeader(err) {
		return res, err
	}
	g.mu.Lock()
	fwd := g.forward
	g.mu.Unlock()
	nl := err.(*NotLeaderError)
	if fwd == nil || nl.LeaderAdminAddr == "" {
		return fsm.Result{}, err
	}
	res, ferr := fwd(ctx, nl, data)
	if ferr != nil {
		return fsm.Result{}, fmt.Errorf("forward to leader %s: %w", nl.LeaderAdminAddr, ferr)
	}
	return res, nil
}

// ProposeLocal is Propose without forwarding.
func (g *Group) ProposeLocal(ctx context.Context, cmd fsm.Command) (fsm.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Result{}, err
	}
	return g.applyLocal(ctx, data)
}

// ProposeLocalEncoded is ProposeEncoded without forwarding.
func (g *Group) ProposeLocalEncoded(ctx context.Context, data []byte) (fsm.Result, error) {
	if _, err := fsm.Decode(data); err != nil {
		return fsm.Result{}, err
	}
	return g.applyLocal(ctx, data)
}

func (g *Group) applyLocal(ctx context.Context, data []byte) (fsm.Result, error) {
	if g.isClosed() {
		return fsm.Result{}, ErrClosed
	}
	if g.raft.State() != raft.Leader {
		return fsm.Result{}, g.Leader()
	}
	f := g.raft.Apply(data, g.timeout(ctx))
	if err := f.Error(); err != nil {
		return fsm.Result{}, g.mapErr(err)
	}
	ar, ok := f.Response().(fsm.ApplyResult)
	if !ok {
		return fsm.Result{}, fmt.Errorf("raftgroup: unexpected apply response %T", f.Response())
	}
	g.nudgeFollowers()
	return ar.Result, ar.Err
}

// nudgeFollowers makes followers learn the new commit index now rather
// than at the leader's next idle replication round (CommitTimeout..2x
// later): a barrier entry is appended, which replicates at once and
// carries the commit index. A follower that proposed through the leader
// (and waits to apply its own entry before answering its client) saves
// about CommitTimeout per proposal. One barrier at a time.
func (g *Group) nudgeFollowers() {
	if !g.nudging.CompareAndSwap(false, true) {
		return
	}
	f := g.raft.Barrier(g.opts.ApplyLimit)
	go func() {
		_ = f.Error()
		g.nudging.Store(false)
	}()
}

func (g *Group) mapErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader):
		return g.Leader()
	case errors.Is(err, raft.ErrLeadershipLost), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		if errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return g.Leader()
		}
		return fmt.Errorf("%w: %v", ErrOutcomeUnknown, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrClosed
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("raftgroup: timed out before the entry was appended: %w", err)
	}
	return fmt.Errorf("raftgroup: %w", err)
}

// WaitForIndex blocks until this member's FSM has applied the entry at
// index. index must be one the FSM sees: a Result.Index from Propose or a
// value from ReadIndex (raft's own no-op, barrier and configuration
// entries never reach the FSM, so waiting on raft's commit index could
// block until ctx ends).
func (g *Group) WaitForIndex(ctx context.Context, index uint64) error {
	return g.fsm.WaitForIndex(ctx, index)
}

// ReadIndex makes a linearizable read point on the leader: it commits a
// barrier (which proves leadership with a quorum at that moment and waits
// until the FSM has applied every earlier entry) and returns the FSM's
// applied index. Reads of this member's FSM after it returns see every
// entry committed before the call; a follower can WaitForIndex on the
// returned index to read as fresh. It costs one log write (~2 ms); plain
// accessors are enough where a slightly stale view is fine. On a follower
// it returns a *NotLeaderError.
func (g *Group) ReadIndex(ctx context.Context) (uint64, error) {
	if g.raft.State() != raft.Leader {
		return 0, g.Leader()
	}
	if err := g.raft.Barrier(g.timeout(ctx)).Error(); err != nil {
		return 0, g.mapErr(err)
	}
	return g.fsm.AppliedIndex(), nil
}

// ensureBarrier commits a barrier once per leadership term so that the
// leader's commit index covers entries of earlier terms.
func (g *Group) ensureBarrier(ctx context.Context) error {
	term := g.raft.CurrentTerm()
	g.mu.Lock()
	ready := g.readyTerm == term
	g.mu.Unlock()
	if ready {
		return nil
	}
	if err := g.raft.Barrier(g.timeout(ctx)).Error(); err != nil {
		return g.mapErr(err)
	}
	g.mu.Lock()
	g.readyTerm = term
	g.mu.Unlock()
	return nil
}

func (g *Group) isClosed() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.closed
}

// Close leaves the group running without this member: a leader first
// hands leadership to another voter (bounded), then raft shuts down and
// the stores are closed. It does not remove the member from the group.
func (g *Group) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	if g.raft.State() == raft.Leader && g.voterCount() > 1 {
		f := g.raft.LeadershipTransfer()
		done := make(chan error, 1)
		go func() { done <- f.Error() }()
		select {
		case err := <-done:
			if err != nil {
				g.log.Warn("leadership transfer before shutdown failed", "error", err)
			}
		case <-time.After(2 * time.Second):
			g.log.Warn("leadership transfer before shutdown timed out")
		}
	}
	close(g.stopCh)
	err := g.raft.Shutdown().Error()
	g.raft.DeregisterObserver(g.obs)
	g.wg.Wait()
	if c, ok := g.trans.(interface{ Close() error }); ok {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if g.bolt != nil {
		if cerr := g.bolt.Close(); cerr != nil && err == nil {
			err = cerr
		}
		g.bolt = nil
	}
	if err != nil {
		return fmt.Errorf("raftgroup: shutdown: %w", err)
	}
	return nil
}

func (g *Group) voterCount() int {
	cf := g.raft.GetConfiguration()
	if cf.Error() != nil {
		return 0
	}
	n := 0
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

// observe tracks follower health as seen by the leader.
func (g *Group) observe() {
	defer g.wg.Done()
	for {
		select {
		case <-g.stopCh:
			return
		case o := <-g.obsCh:
			g.mu.Lock()
			switch d := o.Data.(type) {
			case raft.FailedHeartbeatObservation:
				g.unhealthy[string(d.PeerID)] = d.LastContact
			case raft.ResumedHeartbeatObservation:
				delete(g.unhealthy, string(d.PeerID))
			case raft.LeaderObservation:
				g.unhealthy = map[string]time.Time{}
			case raft.PeerObservation:
				if d.Removed {
					delete(g.unhealthy, string(d.Peer.ID))
				}
			}
			g.mu.Unlock()
		}
	}
}

// leaderLoop performs the leader's housekeeping: a barrier per term, this
// leader's own node entry, and promotion of non-voters up to the voter
// target. It polls (cheaply) rather than relying on LeaderCh, which drops
// transitions.
func (g *Group) leaderLoop() {
	defer g.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-g.stopCh:
			return
		case <-t.C:
		}
		if g.raft.State() != raft.Leader {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		g.leaderDuties(ctx)
		cancel()
	}
}

func (g *Group) leaderDuties(ctx context.Context) {
	if err := g.ensureBarrier(ctx); err != nil {
		return
	}
	if err := g.recordSelf(ctx); err != nil {
		g.log.Warn("recording this leader's node entry failed", "error", err)
	}
	if err := g.promote(ctx); err != nil {
		g.log.Warn("promoting a non-voter failed", "error", err)
	}
}

// recordSelf commits this leader's own node entry (addresses) if the
// metadata lacks it or has other addresses, so that followers can direct
// requests to the leader's admin API.
func (g *Group) recordSelf(ctx context.Context) error {
	self := fsm.Node{ID: g.opts.NodeID, Addr: g.opts.RESPAddr, RaftAddr: g.RaftAddr(), AdminAddr: g.opts.AdminAddr}
	n, ok := g.fsm.Node(self.ID)
	if ok && n.Addr == self.Addr && n.RaftAddr == self.RaftAddr && n.AdminAddr == self.AdminAddr || g.fsm.IsRemoved(self.ID) {
		return nil
	}
	_, err := g.ProposeLocal(ctx, &fsm.UpsertNode{Node: self})
	return err
}

// promote turns healthy non-voters into voters while there are fewer
// voters than the target.
func (g *Group) promote(ctx context.Context) error {
	g.memberMu.Lock()
	defer g.memberMu.Unlock()
	cf := g.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return err
	}
	voters := 0
	var cands []raft.Server
	g.mu.Lock()
	for _, s := range cf.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
		} else if _, bad := g.unhealthy[string(s.ID)]; !bad && s.Suffrage == raft.Nonvoter {
			cands = append(cands, s)
		}
	}
	g.mu.Unlock()
	sort.Slice(cands, func(i, j int) bool { return cands[i].ID < cands[j].ID })
	for _, s := range cands {
		if voters >= g.opts.Voters {
			break
		}
		if g.fsm.IsRemoved(string(s.ID)) {
			continue
		}
		g.log.Info("promoting non-voter", "id", s.ID, "voters", voters, "target", g.opts.Voters)
		if err := g.raft.AddVoter(s.ID, s.Address, 0, g.timeout(ctx)).Error(); err != nil {
			return g.mapErr(err)
		}
		voters++
	}
	return nil
}

// LoadOrCreateNodeID returns this node's persistent id, stored in
// <dir>/raft/node-id. override (the cluster-node-id option) is used for a
// new node and must match an existing one.
func LoadOrCreateNodeID(dir, override string) (string, error) {
	override = strings.ToLower(strings.TrimSpace(override))
	if override != "" && !fsm.ValidNodeID(override) {
		return "", fmt.Errorf("cluster-node-id %q is not 40 hex characters", override)
	}
	path := filepath.Join(dir, "raft", "node-id")
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(data))
		if !fsm.ValidNodeID(id) {
			return "", fmt.Errorf("%s holds %q, not a node id; fix or delete the file", path, id)
		}
		if override != "" && override != id {
			return "", fmt.Errorf("%s holds node id %s but cluster-node-id is %s", path, id, override)
		}
		return id, nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("read node id: %w", err)
	}
	id := override
	if id == "" {
		var b [20]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("generate node id: %w", err)
		}
		id = hex.EncodeToString(b[:])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write node id: %w", err)
	}
	return id, nil
}
