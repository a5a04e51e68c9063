package sentinel

import "github.com/skiffdb/skiff/config"

// Config is one sentinel's own configuration, as its sentinel.conf holds
// it. As in Redis, every sentinel has its own: SENTINEL SET and MONITOR
// change only the sentinel they are sent to. What the Raft group shares is
// the outcome of failovers: each monitored master's current address and
// config epoch, and the failover in progress (see docs/sentinel.md).
type Config struct {
	MyID                string // 40 hex characters, made at first start
	CurrentEpoch        uint64
	AnnounceIP          string
	AnnouncePort        int
	ResolveHostnames    bool
	AnnounceHostnames   bool
	DenyScriptsReconfig bool // default true, as in Redis
	SentinelUser        string
	SentinelPass        string
	Masters             []*MasterConfig

	// Server is the process's other options (port, dir, logfile, ...).
	// RewriteFile rewrites their lines too when it is set; Clone shares
	// it (it is safe for concurrent use). See conf.go.
	Server *config.Config
}

// MasterConfig is one `sentinel monitor` block.
type MasterConfig struct {
	Name                    string
	Host                    string
	Port                    int
	Quorum                  int
	DownAfterMs             int64 // default 30000
	FailoverTimeoutMs       int64 // default 180000
	ParallelSyncs           int   // default 1
	AuthPass                string
	AuthUser                string
	NotificationScript      string
	ClientReconfigScript    string
	MasterRebootDownAfterMs int64 // 0 = off
	ConfigEpoch             uint64
	LeaderEpoch             uint64
	KnownReplicas           []string // host:port
	KnownSentinels          []KnownSentinel
	RenameCommands          [][2]string // original, renamed
}

// KnownSentinel is a `sentinel known-sentinel` line.
type KnownSentinel struct {
	Host  string
	Port  int
	RunID string
}

// Defaults of the per-master options (Redis's).
const (
	DefaultDownAfterMs       = 30000
	DefaultFailoverTimeoutMs = 180000
	DefaultParallelSyncs     = 1
	DefaultPort              = 26379
)

// NewMasterConfig returns a master block with Redis's defaults.
func NewMasterConfig(name, host string, port, quorum int) *MasterConfig {
	return &MasterConfig{Name: name, Host: host, Port: port, Quorum: quorum,
		DownAfterMs: DefaultDownAfterMs, FailoverTimeoutMs: DefaultFailoverTimeoutMs,
		ParallelSyncs: DefaultParallelSyncs}
}

// Clone returns a deep copy.
func (c *Config) Clone() *Config {
	n := *c
	n.Masters = make([]*MasterConfig, len(c.Masters))
	for i, m := range c.Masters {
		mm := *m
		mm.KnownReplicas = append([]string(nil), m.KnownReplicas...)
		mm.KnownSentinels = append([]KnownSentinel(nil), m.KnownSentinels...)
		mm.RenameCommands = append([][2]string(nil), m.RenameCommands...)
		n.Masters[i] = &mm
	}
	return &n
}

// DefaultMemberPorts derives a sentinel's Raft and admin ports from its
// RESP port: 1000 and 2000 below it (25379 and 24379 for 26379). A data
// node uses +10000/+20000, but for a sentinel's 26379 those land in Linux's
// ephemeral port range (32768-60999), where an outgoing connection may
// already hold them; below the RESP port they also stay clear of the
// ports Redis's test harnesses give servers. Ports too low for that use
// +10000/+20000.
func DefaultMemberPorts(port int) (raftPort, adminPort int) {
	if port >= 3024 {
		return port - 1000, port - 2000
	}
	return port + 10000, port + 20000
}
