package sentinel

import (
	"net"
	"strconv"
	"time"
)

// kind is what an instance is.
type kind int

const (
	kindMaster kind = iota
	kindReplica
	kindSentinel
)

// Failover states, in Redis's order (SENTINEL MASTER's failover-state
// field shows their names).
type foState int

const (
	foNone foState = iota
	foWaitStart
	foSelectSlave
	foSendSlaveofNoOne
	foWaitPromotion
	foReconfSlaves
	foUpdateConfig
)

var foStateNames = [...]string{"none", "wait_start", "select_slave", "send_slaveof_noone",
	"wait_promotion", "reconf_slaves", "update_config"}

func (s foState) String() string { return foStateNames[s] }

// instance is a monitored master, one of its replicas, or another
// sentinel monitoring it. All fields are guarded by Engine.mu.
type instance struct {
	kind  kind
	name  string // master: its name; replica: "ip:port"; sentinel: its run id
	host  string
	port  int
	runID string

	master *instance     // replicas and sentinels: the master they belong to
	cfg    *MasterConfig // masters: their config block (shared with Engine.cfg)

	// Links. cc carries commands, pc the hello subscription (masters and
	// replicas only).
	cc, pc            *link
	ccConnecting      bool
	pcConnecting      bool
	ccAuthFailed      bool // the last AUTH was refused (a reason for "disconnected")
	lastReconnect     time.Time
	pcLastActivity    time.Time
	linkRefcount      int
	disconnectedSince time.Time

	// Ping bookkeeping, as Redis keeps it.
	actPingTime   time.Time // when the oldest unanswered PING was sent (zero: none pending)
	lastPingTime  time.Time // when the last PING was sent
	lastAvailTime time.Time // last valid (PONG/LOADING/MASTERDOWN) reply
	lastPongTime  time.Time // last reply of any kind

	sdown      bool
	sdownSince time.Time
	odown      bool
	odownSince time.Time

	// INFO (masters and replicas).
	info             string
	infoRefresh      time.Time
	infoPending      bool
	lastHelloSent    time.Time
	roleReported     kind
	roleReportedTime time.Time

	// Replica fields, from the replica's INFO.
	masterLinkDownMs int64
	masterLinkUp     bool
	replMasterHost   string
	replMasterPort   int
	priority         int
	replOffset       int64
	announced        bool
	slaveConfChange  time.Time // last time we told it to replicate another master

	// Failover flags on replicas (Redis's SRI_PROMOTED, SRI_RECONF_*).
	promoted     bool
	reconfSent   bool
	reconfInprog bool
	reconfDone   bool
	reconfSentAt time.Time

	// Sentinel fields.
	lastHelloTime      time.Time
	masterDownReported bool // its last IS-MASTER-DOWN-BY-ADDR answer said down
	lastMasterDownAt   time.Time
	lastMasterDownAsk  time.Time
	askPending         bool
	leader             string // the leader it reported, "" = none
	leaderEpoch        uint64

	// Master fields.
	replicas        map[string]*instance // by "ip:port"
	sentinels       map[string]*instance // by run id
	failover        *failoverRun         // this sentinel is running a failover of it
	reconf          *reconfRun           // replicas being re-pointed after this master was promoted
	lastFailoverTry time.Time            // last failover attempt (throttles retries)
	strong          bool                 // its INFO says skiff_consistency:strong
	strongReboot    bool                 // strong: the lease holder restarted; fail over to the in-sync set
	forceFailover   bool
	forceSince      time.Time // when SENTINEL FAILOVER asked
	scriptKillSent  bool
	rebootTime      time.Time // when it was last seen rebooting (master-reboot-down-after-period)
	leaderID        string    // who runs its failover (the Raft leader), for SENTINEL MASTER
	configEpoch     uint64
	proposing       bool // a Raft proposal for this master is in flight
	lastRecordTry   time.Time
}

// addr is "host:port" for dialing.
func (ri *instance) addr() string { return net.JoinHostPort(ri.host, strconv.Itoa(ri.port)) }

// idAddr is "ip:port" as Redis names replicas.
func idAddr(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// linkDown reports whether the command link is unusable (Redis's
// SRI_DISCONNECTED: the link is missing, closed, or the pub/sub link of a
// data node is).
func (ri *instance) linkDown() bool {
	if ri.cc == nil || ri.cc.Closed() {
		return true
	}
	if ri.kind != kindSentinel && (ri.pc == nil || ri.pc.Closed()) {
		return true
	}
	return false
}

// desc renders Redis's "%@" instance description used in events:
// master <name> <ip> <port>, or <type> <name> <ip> <port> @ <master>
// <mip> <mport>.
func (ri *instance) desc() string {
	switch ri.kind {
	case kindMaster:
		return "master " + ri.name + " " + ri.host + " " + strconv.Itoa(ri.port)
	case kindReplica:
		return "slave " + ri.name + " " + ri.host + " " + strconv.Itoa(ri.port) + " @ " +
			ri.master.name + " " + ri.master.host + " " + strconv.Itoa(ri.master.port)
	default:
		return "sentinel " + ri.name + " " + ri.host + " " + strconv.Itoa(ri.port) + " @ " +
			ri.master.name + " " + ri.master.host + " " + strconv.Itoa(ri.master.port)
	}
}

// failoverRun is a failover this sentinel drives as the Raft leader.
type failoverRun struct {
	state       foState
	epoch       uint64
	candidate   *instance
	stateChange time.Time
	started     time.Time
	adopted     bool   // taken over from a previous leader
	runID       string // strong masters: the candidate process the group chose
}

// reconfRun is the last phase of a failover that this sentinel ran: the
// other replicas are re-pointed to the promoted master, parallel-syncs at a
// time.
type reconfRun struct {
	epoch   uint64
	started time.Time
	oldHost string
	oldPort int
}

// timing holds the periods SENTINEL DEBUG can change (milliseconds).
type timing struct {
	infoPeriod         int64
	pingPeriod         int64
	askPeriod          int64
	publishPeriod      int64
	defaultDownAfter   int64
	defaultFoTimeout   int64
	tiltTrigger        int64
	tiltPeriod         int64
	slaveReconfTimeout int64
	minLinkReconnect   int64
	electionTimeout    int64
	scriptMaxRuntime   int64
	scriptRetryDelay   int64
}

func defaultTiming() timing {
	return timing{infoPeriod: 10000, pingPeriod: 1000, askPeriod: 1000, publishPeriod: 2000,
		defaultDownAfter: 30000, defaultFoTimeout: DefaultFailoverTimeoutMs, tiltTrigger: 2000, tiltPeriod: 30000, slaveReconfTimeout: 10000,
		minLinkReconnect: 15000, electionTimeout: 10000, scriptMaxRuntime: 60000, scriptRetryDelay: 30000}
}

func msDur(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// msSince is the time since t in milliseconds (Redis reports "ms ago").
func msSince(now, t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return now.Sub(t).Milliseconds()
}
