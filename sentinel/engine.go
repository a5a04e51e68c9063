// Package sentinel is Skiff's failure detector and failover engine: it
// monitors masters, their replicas and the other sentinels over RESP as
// Redis Sentinel does (PING, INFO, hello messages), decides SDOWN and
// ODOWN, and, when this member is the Raft leader of the sentinels' group,
// runs the failover, recording each decision as a Raft entry so that a
// failover is decided once. It also answers the SENTINEL command.
package sentinel

import (
	"sync"

	"github.com/hashicorp/go-hclog"
)

// Options wire an Engine to its process.
type Options struct {
	// Port is this sentinel's RESP port (announced in hello messages
	// unless AnnouncePort is set in the config).
	Port int
	// Meta is the Raft group of the sentinels.
	Meta Meta
	// Publish delivers an event to this sentinel's own subscribers. It
	// must not block.
	Publish func(channel, message string)
	// SaveConfig rewrites sentinel.conf from the given config (atomically,
	// fsynced). It is called with no engine lock held.
	SaveConfig func(c *Config) error
	Logger     hclog.Logger
}

// Engine is one sentinel's monitoring and failover state.
type Engine struct {
	opts Options
	log  hclog.Logger

	mu  sync.Mutex
	cfg *Config
}

// New returns an engine for a loaded configuration. Start begins
// monitoring.
func New(opts Options, cfg *Config) *Engine {
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if opts.Publish == nil {
		opts.Publish = func(string, string) {}
	}
	return &Engine{opts: opts, log: opts.Logger, cfg: cfg.Clone()}
}

// Config returns a copy of the current configuration (for CONFIG
// REWRITE and SENTINEL FLUSHCONFIG).
func (e *Engine) Config() *Config {
	e.mu.Lock()
	defer e.mu.Unlock()
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
	return nil
}
