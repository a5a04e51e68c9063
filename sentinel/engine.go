// Package sentinel is Skiff's failure detector and failover engine: it
// monitors masters, their replicas and the other sentinels over RESP as
// Redis Sentinel does (PING, INFO, hello messages), decides SDOWN and
// ODOWN, and, when this member is the Raft leader of the sentinels' group,
// runs the failover, recording each decision as a Raft entry so that a
// failover is decided once. It also answers the SENTINEL command.
package sentinel

import (
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/internal/resp"
)

// Options wire an Engine to its process.
type Options struct {
	// Port is this sentinel's RESP port (announced in hello messages
	// unless announce-port is set).
	Port int
	// Meta is the Raft group of the sentinels.
	Meta Meta
	// Publish delivers an event to this sentinel's own subscribers. It
	// must not block.
	Publish func(channel, message string)
	// SaveConfig rewrites sentinel.conf from the given config (atomically,
	// fsynced). It may be called with the engine lock held, so it must
	// not call back into the engine.
	SaveConfig func(c *Config) error
	// ExtraCommand, when set, gets SENTINEL subcommands whose name starts
	// with "skiff-" (Skiff's own, used between sentinels); it returns false
	// if it did not handle the subcommand.
	ExtraCommand func(w *resp.Writer, args [][]byte) bool
	// Shutdown is called by SentinelShutdown after the config is flushed.
	Shutdown func()
	Logger   hclog.Logger
	// TLS, when set, gives the TLS configuration of the links to masters,
	// replicas and other sentinels: nil means plain TCP (it returns nil
	// unless tls-replication is on, Redis's rule).
	TLS func() (*tls.Config, error)
}

// Simulated failures (SENTINEL SIMULATE-FAILURE).
const (
	simCrashAfterElection = 1 << iota
	simCrashAfterPromotion
)

// Engine is one sentinel's monitoring and failover state.
type Engine struct {
	opts Options
	log  hclog.Logger

	mu         sync.Mutex
	cfg        *Config
	masters    map[string]*instance
	timing     timing
	tilt       bool
	tiltStart  time.Time
	lastTick   time.Time
	simFailure int
	events     []pendingEvent
	dirty      bool // config changed since the last save
	scripts    *scriptQueue
	lease      *leaseState // consistency strong (lease.go); made on first use

	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

type pendingEvent struct{ channel, msg string }

// New returns an engine for a loaded configuration. Start begins
// monitoring.
func New(opts Options, cfg *Config) *Engine {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Publish == nil {
		opts.Publish = func(string, string) {}
	}
	e := &Engine{opts: opts, log: opts.Logger, cfg: cfg.Clone(), masters: map[string]*instance{},
		timing: defaultTiming(), stop: make(chan struct{}), stopped: make(chan struct{})}
	e.scripts = newScriptQueue(e)
	for _, mc := range e.cfg.Masters {
		e.addMasterLocked(mc)
	}
	return e
}

// Config returns a copy of the current configuration (for CONFIG
// REWRITE and SENTINEL FLUSHCONFIG).
func (e *Engine) Config() *Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.syncConfigLocked()
	return e.cfg.Clone()
}

// Peer is another sentinel this one learnt about from hello messages.
type Peer struct {
	RunID string
	Host  string
	Port  int
}

// KnownSentinels returns every other sentinel heard of, across all
// monitored masters, deduplicated by run id. Group formation uses it.
func (e *Engine) KnownSentinels() []Peer {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[string]Peer{}
	for _, m := range e.masters {
		for _, s := range m.sentinels {
			if s.runID != "" && s.port > 0 {
				seen[s.runID] = Peer{RunID: s.runID, Host: s.host, Port: s.port}
			}
		}
	}
	out := make([]Peer, 0, len(seen))
	for _, p := range seen {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].RunID < out[j].RunID })
	return out
}

// Start begins monitoring: a timer runs the checks about ten times a
// second, as Redis's sentinel timer does.
func (e *Engine) Start() {
	go e.loop()
}

// Stop ends monitoring and closes every link.
func (e *Engine) Stop() {
	e.once.Do(func() { close(e.stop) })
	<-e.stopped
	e.mu.Lock()
	var links []*link
	for _, m := range e.masters {
		links = append(links, m.allLinks()...)
	}
	e.mu.Unlock()
	for _, l := range links {
		l.Close()
	}
}

func (ri *instance) allLinks() []*link {
	var out []*link
	add := func(x *instance) {
		if x.cc != nil {
			out = append(out, x.cc)
		}
		if x.pc != nil {
			out = append(out, x.pc)
		}
	}
	add(ri)
	for _, r := range ri.replicas {
		add(r)
	}
	for _, s := range ri.sentinels {
		add(s)
	}
	return out
}

func (e *Engine) loop() {
	defer close(e.stopped)
	var applied <-chan struct{}
	for {
		if e.opts.Meta != nil && applied == nil {
			applied = e.opts.Meta.Applied()
		}
		// Redis runs its sentinel timer at a randomised hz so that
		// sentinels do not act in lockstep.
		d := 100*time.Millisecond + time.Duration(rand.IntN(20))*time.Millisecond
		timer := time.NewTimer(d)
		select {
		case <-e.stop:
			timer.Stop()
			return
		case <-applied:
			timer.Stop()
			applied = nil
			e.followGroup()
			continue
		case <-timer.C:
		}
		e.tick()
	}
}

// followGroup applies what the group recorded (a master moved by a
// failover) at once.
func (e *Engine) followGroup() {
	e.mu.Lock()
	now := time.Now()
	for _, m := range e.sortedMasters() {
		e.syncRecordLocked(m, now)
	}
	if e.dirty {
		_ = e.saveConfigLocked()
	}
	e.unlock()
}

// event queues an event for this sentinel's subscribers (published once
// the engine lock is released) and logs it. The message is the instance's
// description (Redis's "%@") followed by detail, or detail alone when ri is
// nil.
func (e *Engine) event(level hclog.Level, typ string, ri *instance, detail string) {
	msg := detail
	if ri != nil {
		msg = ri.desc() + detail
	}
	e.log.Log(level, typ+" "+msg)
	if level != hclog.Debug {
		e.events = append(e.events, pendingEvent{typ, msg})
	}
	if level == hclog.Warn && ri != nil {
		m := ri
		if m.kind != kindMaster {
			m = m.master
		}
		if m != nil && m.cfg != nil && m.cfg.NotificationScript != "" {
			e.scripts.schedule(m.cfg.NotificationScript, typ, msg)
		}
	}
}

// unlock releases the engine lock and publishes the queued events in
// order.
func (e *Engine) unlock() {
	ev := e.events
	e.events = nil
	e.mu.Unlock()
	for _, x := range ev {
		e.opts.Publish(x.channel, x.msg)
	}
}

// Master lookups -------------------------------------------------------

func (e *Engine) sortedMasters() []*instance {
	out := make([]*instance, 0, len(e.masters))
	for _, m := range e.masters {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func sortedInstances(m map[string]*instance) []*instance {
	out := make([]*instance, 0, len(m))
	for _, x := range m {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// addMasterLocked creates the master instance of a config block, with its
// known replicas and sentinels.
func (e *Engine) addMasterLocked(mc *MasterConfig) *instance {
	m := &instance{kind: kindMaster, name: mc.Name, host: mc.Host, port: mc.Port, cfg: mc,
		replicas: map[string]*instance{}, sentinels: map[string]*instance{},
		configEpoch: mc.ConfigEpoch, roleReported: kindMaster, roleReportedTime: time.Now()}
	m.initPingTimes()
	for _, r := range mc.KnownReplicas {
		if h, p, ok := splitHostPort(r); ok {
			e.addReplicaLocked(m, h, p)
		}
	}
	for _, s := range mc.KnownSentinels {
		if s.RunID != "" {
			e.addSentinelLocked(m, s.Host, s.Port, s.RunID)
		}
	}
	e.masters[mc.Name] = m
	return m
}

func (e *Engine) addReplicaLocked(m *instance, host string, port int) *instance {
	name := idAddr(host, port)
	if r, ok := m.replicas[name]; ok {
		return r
	}
	r := &instance{kind: kindReplica, name: name, host: host, port: port, master: m,
		priority: 100, announced: true, roleReported: kindReplica, roleReportedTime: time.Now()}
	r.initPingTimes()
	m.replicas[name] = r
	return r
}

func (e *Engine) addSentinelLocked(m *instance, host string, port int, runID string) *instance {
	s := &instance{kind: kindSentinel, name: runID, host: host, port: port, runID: runID, master: m}
	s.initPingTimes()
	m.sentinels[runID] = s
	return s
}

// initPingTimes starts a new instance's clocks as if a PING had just been
// sent and answered: it is SDOWN only after down-after without a reply,
// and SENTINEL MASTER shows its age rather than zero.
func (ri *instance) initPingTimes() {
	now := time.Now()
	ri.actPingTime, ri.lastAvailTime, ri.lastPongTime = now, now, now
}

// syncConfigLocked copies the live state (known replicas and sentinels,
// epochs, current address) into the config blocks before a save.
func (e *Engine) syncConfigLocked() {
	ms := make([]*MasterConfig, 0, len(e.masters))
	for _, m := range e.sortedMasters() {
		mc := m.cfg
		mc.Name, mc.Host, mc.Port = m.name, m.host, m.port
		mc.ConfigEpoch = m.configEpoch
		mc.KnownReplicas = mc.KnownReplicas[:0]
		for _, r := range sortedInstances(m.replicas) {
			mc.KnownReplicas = append(mc.KnownReplicas, r.name)
		}
		mc.KnownSentinels = mc.KnownSentinels[:0]
		for _, s := range sortedInstances(m.sentinels) {
			mc.KnownSentinels = append(mc.KnownSentinels, KnownSentinel{Host: s.host, Port: s.port, RunID: s.runID})
		}
		ms = append(ms, mc)
	}
	e.cfg.Masters = ms
	if e.opts.Meta != nil {
		if ep := e.opts.Meta.CurrentEpoch(); ep > e.cfg.CurrentEpoch {
			e.cfg.CurrentEpoch = ep
		}
	}
}

// saveConfigLocked rewrites sentinel.conf now.
func (e *Engine) saveConfigLocked() error {
	e.syncConfigLocked()
	e.dirty = false
	if e.opts.SaveConfig == nil {
		return nil
	}
	if err := e.opts.SaveConfig(e.cfg.Clone()); err != nil {
		e.log.Warn("could not save sentinel config", "error", err)
		return err
	}
	return nil
}

// currentEpoch is the group's current epoch (or the configured one while
// the group knows none).
func (e *Engine) currentEpoch() uint64 {
	ep := e.cfg.CurrentEpoch
	if e.opts.Meta != nil {
		if g := e.opts.Meta.CurrentEpoch(); g > ep {
			ep = g
		}
	}
	return ep
}

func splitHostPort(a string) (string, int, bool) {
	i := strings.LastIndexByte(a, ':')
	if i <= 0 {
		return "", 0, false
	}
	host := strings.TrimSuffix(strings.TrimPrefix(a[:i], "["), "]")
	var port int
	if _, err := fmt.Sscanf(a[i+1:], "%d", &port); err != nil || port <= 0 || port > 65535 {
		return "", 0, false
	}
	return host, port, true
}

// SyncWithGroup applies the group's records now (a restarted sentinel,
// before it answers its first client).
func (e *Engine) SyncWithGroup() { e.followGroup() }
