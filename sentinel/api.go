package sentinel

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/internal/glob"
	"github.com/skiffdb/skiff/internal/resp"
)

// This file is the SENTINEL command as Redis 7.0.15 answers it: the same
// subcommands, arities, reply shapes, field order and error texts. args is
// the whole command line, args[0] being "SENTINEL".

// sentinelArity is each subcommand's arity in Redis 7.0's command table
// (negative: at least that many arguments, the command name included).
var sentinelArity = map[string]int{
	"ckquorum":                3,
	"config":                  -3,
	"debug":                   -2,
	"failover":                3,
	"flushconfig":             2,
	"get-master-addr-by-name": 3,
	"help":                    2,
	"info-cache":              -3,
	"is-master-down-by-addr":  6,
	"master":                  3,
	"masters":                 2,
	"monitor":                 6,
	"myid":                    2,
	"pending-scripts":         2,
	"remove":                  3,
	"replicas":                3,
	"reset":                   3,
	"sentinels":               3,
	"set":                     -5,
	"simulate-failure":        -3,
	"slaves":                  3,
}

// sentinelHelp is SENTINEL HELP's body (the header and the trailing HELP
// entry are added as for every container command).
var sentinelHelp = []string{
	"CKQUORUM <master-name>",
	"    Check if the current Sentinel configuration is able to reach the quorum",
	"    needed to failover a master and the majority needed to authorize the",
	"    failover.",
	"CONFIG SET <param> <value>",
	"    Set a global Sentinel configuration parameter.",
	"CONFIG GET <param>",
	"    Get global Sentinel configuration parameter.",
	"DEBUG [<param> <value> ...]",
	"    Show a list of configurable time parameters and their values (milliseconds).",
	"    Or update current configurable parameters values (one or more).",
	"GET-MASTER-ADDR-BY-NAME <master-name>",
	"    Return the ip and port number of the master with that name.",
	"FAILOVER <master-name>",
	"    Manually failover a master node without asking for agreement from other",
	"    Sentinels",
	"FLUSHCONFIG",
	"    Force Sentinel to rewrite its configuration on disk, including the current",
	"    Sentinel state.",
	"INFO-CACHE <master-name>",
	"    Return last cached INFO output from masters and all its replicas.",
	"IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
	"    Check if the master specified by ip:port is down from current Sentinel's",
	"    point of view.",
	"MASTER <master-name>",
	"    Show the state and info of the specified master.",
	"MASTERS",
	"    Show a list of monitored masters and their state.",
	"MONITOR <name> <ip> <port> <quorum>",
	"    Start monitoring a new master with the specified name, ip, port and quorum.",
	"MYID",
	"    Return the ID of the Sentinel instance.",
	"PENDING-SCRIPTS",
	"    Get pending scripts information.",
	"REMOVE <master-name>",
	"    Remove master from Sentinel's monitor list.",
	"REPLICAS <master-name>",
	"    Show a list of replicas for this master and their state.",
	"RESET <pattern>",
	"    Reset masters for specific master name matching this pattern.",
	"SENTINELS <master-name>",
	"    Show a list of Sentinel instances for this master and their state.",
	"SET <master-name> <option> <value> [<option> <value> ...]",
	"    Set configuration parameters for certain masters.",
	"SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
	"    Simulate a Sentinel crash.",
}

// Error replies of the SENTINEL command, word for word as Redis's.
const (
	errNoSuchMaster    = "ERR No such master with that name"
	errSaveConfig      = "ERR Failed to save config file. Check server logs."
	errNotInteger      = "ERR value is not an integer or out of range"
	errConfigUsage     = "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported."
	errScriptsDenied   = "ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration"
	errNotifScript     = "ERR Notification script seems non existing or non executable"
	errReconfScript    = "ERR Client reconfiguration script seems non existing or non executable"
	errUnknownSimulate = "ERR Unknown failure simulation specified"
)

// SentinelCommand answers SENTINEL <subcommand> ... into w.
func (e *Engine) SentinelCommand(w *resp.Writer, args [][]byte) {
	if len(args) < 2 {
		w.AppendError("ERR wrong number of arguments for 'sentinel' command")
		return
	}
	sub := strings.ToLower(string(args[1]))
	if strings.HasPrefix(sub, "skiff-") && e.opts.ExtraCommand != nil && e.opts.ExtraCommand(w, args) {
		return
	}
	arity, ok := sentinelArity[sub]
	if !ok {
		name := string(args[1])
		if len(name) > 128 {
			name = name[:128]
		}
		w.AppendError(fmt.Sprintf("ERR unknown subcommand '%s'. Try %s HELP.", name, strings.ToUpper(string(args[0]))))
		return
	}
	if (arity > 0 && len(args) != arity) || (arity < 0 && len(args) < -arity) {
		w.AppendError("ERR wrong number of arguments for 'sentinel|" + sub + "' command")
		return
	}

	switch sub {
	case "help":
		appendHelp(w, strings.ToUpper(string(args[0])), sentinelHelp)
		return
	case "monitor":
		e.cmdMonitor(w, args)
		return
	}

	e.mu.Lock()
	defer e.unlock()
	now := time.Now()
	switch sub {
	case "masters":
		e.appendInstances(w, e.sortedMasters(), now)
	case "master":
		if m := e.masterOrReply(w, args[2]); m != nil {
			e.appendInstance(w, m, now)
		}
	case "replicas", "slaves":
		if m := e.masterOrReply(w, args[2]); m != nil {
			var list []*instance
			for _, r := range sortedInstances(m.replicas) {
				if r.announced { // unannounced replicas are not shown
					list = append(list, r)
				}
			}
			e.appendInstances(w, list, now)
		}
	case "sentinels":
		if m := e.masterOrReply(w, args[2]); m != nil {
			e.appendInstances(w, sortedInstances(m.sentinels), now)
		}
	case "myid":
		w.AppendBulkString(e.cfg.MyID)
	case "is-master-down-by-addr":
		port, ok1 := parseLL(string(args[3]))
		epoch, ok2 := parseLL(string(args[4]))
		if !ok1 || !ok2 {
			w.AppendError(errNotInteger)
			return
		}
		var down bool
		var leader string
		var leaderEpoch uint64
		if port >= 0 && port <= 65535 {
			down, leader, leaderEpoch = e.isMasterDownByAddrLocked(string(args[2]), int(port), uint64(epoch), string(args[5]))
		}
		if leader == "" {
			leader = "*"
		}
		w.AppendArray(3)
		if down {
			w.AppendInt(1)
		} else {
			w.AppendInt(0)
		}
		w.AppendBulkString(leader)
		w.AppendInt(int64(leaderEpoch))
	case "reset":
		pattern := string(args[2])
		n := 0
		for _, m := range e.sortedMasters() {
			if glob.Match(pattern, m.name, false) {
				e.resetMasterLocked(m, true)
				n++
			}
		}
		w.AppendInt(int64(n))
	case "get-master-addr-by-name":
		m := e.masters[string(args[2])]
		if m == nil {
			w.AppendNullArray()
			return
		}
		host, port := e.currentMasterAddrLocked(m)
		ri := m
		if host != m.host || port != m.port {
			ri = m.replicas[idAddr(host, port)]
		}
		w.AppendArray(2)
		w.AppendBulkString(e.shownHostLocked(host, ri))
		w.AppendBulkInt(int64(port))
	case "failover":
		m := e.masterOrReply(w, args[2])
		if m == nil {
			return
		}
		if err := e.forceFailoverLocked(m); err != nil {
			w.AppendError(errorReply(err.Error()))
			return
		}
		w.AppendOK()
	case "pending-scripts":
		e.scripts.appendPending(w, now)
	case "flushconfig":
		e.saveAndReplyLocked(w)
	case "remove":
		m := e.masterOrReply(w, args[2])
		if m == nil {
			return
		}
		e.event(hclog.Warn, "-monitor", m, "")
		e.removeLocked(m.name)
		e.saveAndReplyLocked(w)
	case "ckquorum":
		m := e.masterOrReply(w, args[2])
		if m == nil {
			return
		}
		usable, noQuorum, noAuth := e.ckQuorumLocked(m)
		if !noQuorum && !noAuth {
			w.AppendSimple(fmt.Sprintf("OK %d usable Sentinels. Quorum and failover authorization can be reached", usable))
			return
		}
		msg := fmt.Sprintf("NOQUORUM %d usable Sentinels. ", usable)
		if noQuorum {
			msg += "Not enough available Sentinels to reach the specified quorum for this master"
		}
		if noAuth {
			if noQuorum {
				msg += ". "
			}
			msg += "Not enough available Sentinels to reach the majority and authorize a failover"
		}
		w.AppendError(msg)
	case "set":
		e.cmdSetLocked(w, args)
	case "config":
		switch {
		case strings.EqualFold(string(args[2]), "set") && len(args) == 5:
			e.cmdConfigSetLocked(w, args)
		case strings.EqualFold(string(args[2]), "get") && len(args) == 4:
			e.cmdConfigGetLocked(w, string(args[3]))
		default:
			w.AppendError(errConfigUsage)
		}
	case "info-cache":
		e.cmdInfoCacheLocked(w, args[2:], now)
	case "simulate-failure":
		e.simFailure = 0
		for _, a := range args[2:] {
			switch strings.ToLower(string(a)) {
			case "crash-after-election":
				e.simFailure |= simCrashAfterElection
				e.log.Warn("Failure simulation: this Sentinel will crash after being successfully elected as failover leader")
			case "crash-after-promotion":
				e.simFailure |= simCrashAfterPromotion
				e.log.Warn("Failure simulation: this Sentinel will crash after promoting the selected replica to master")
			case "help":
				w.AppendArray(2)
				w.AppendBulkString("crash-after-election")
				w.AppendBulkString("crash-after-promotion")
				return
			default:
				w.AppendError(errUnknownSimulate)
				return
			}
		}
		w.AppendOK()
	case "debug":
		if len(args) == 2 {
			e.appendDebugLocked(w)
		} else {
			e.cmdDebugSetLocked(w, args)
		}
	}
}

// appendHelp writes a container command's HELP reply: a header, the lines
// and the common HELP entry, all status replies.
func appendHelp(w *resp.Writer, cmd string, lines []string) {
	w.AppendArray(len(lines) + 3)
	w.AppendSimple(cmd + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		w.AppendSimple(l)
	}
	w.AppendSimple("HELP")
	w.AppendSimple("    Prints this help.")
}

// errorReply turns an engine error into an error reply: a leading "-" is
// dropped, and a message without an upper-case error code gets "ERR ".
func errorReply(msg string) string {
	msg = strings.TrimPrefix(msg, "-")
	code, _, _ := strings.Cut(msg, " ")
	if code == "" || strings.ToUpper(code) != code || strings.ToLower(code) == code {
		return "ERR " + msg
	}
	return msg
}

func (e *Engine) masterOrReply(w *resp.Writer, name []byte) *instance {
	m := e.masters[string(name)]
	if m == nil {
		w.AppendError(errNoSuchMaster)
	}
	return m
}

// saveAndReplyLocked saves sentinel.conf and replies +OK, or Redis's
// error when the save failed.
func (e *Engine) saveAndReplyLocked(w *resp.Writer) {
	if err := e.saveConfigLocked(); err != nil {
		w.AppendError(errSaveConfig)
		return
	}
	w.AppendOK()
}

// cmdMonitor is SENTINEL MONITOR <name> <ip> <port> <quorum>. The host is
// checked without the engine lock because resolve-hostnames may need DNS.
func (e *Engine) cmdMonitor(w *resp.Writer, args [][]byte) {
	name, host := string(args[2]), string(args[3])
	quorum, ok := parseLL(string(args[5]))
	if !ok {
		w.AppendError("ERR Invalid quorum")
		return
	}
	port, ok := parseLL(string(args[4]))
	if !ok {
		w.AppendError("ERR Invalid port")
		return
	}
	if quorum <= 0 {
		w.AppendError("ERR Quorum must be 1 or greater.")
		return
	}
	e.mu.Lock()
	resolve := e.cfg.ResolveHostnames
	e.mu.Unlock()
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.String()
	} else if !resolve || !resolvable(host) {
		w.AppendError("ERR Invalid IP address or hostname specified")
		return
	}
	if port < 0 || port > 65535 {
		w.AppendError("ERR Invalid port number.")
		return
	}

	e.mu.Lock()
	defer e.unlock()
	if _, dup := e.masters[name]; dup {
		w.AppendError("ERR Duplicate master name.")
		return
	}
	m, err := e.monitorLocked(name, host, int(port), int(quorum))
	if err != nil {
		w.AppendError(errorReply(err.Error()))
		return
	}
	if m.cfg != nil {
		m.cfg.FailoverTimeoutMs = e.timing.defaultFoTimeout
	}
	e.saveAndReplyLocked(w)
	e.event(hclog.Warn, "+monitor", m, fmt.Sprintf(" quorum %d", quorum))
}

// resolvable reports whether host resolves to an address (SENTINEL
// MONITOR with resolve-hostnames yes).
func resolvable(host string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	return err == nil && len(addrs) > 0
}

// Addresses --------------------------------------------------------------

// shownHostLocked is how replies show an instance's host, as Redis's
// announceSentinelAddr: the name it was given when announce-hostnames is
// yes, else its IP. For a name, the IP is the one the instance's command
// link is connected to (ri may be nil), or a fresh resolution.
func (e *Engine) shownHostLocked(host string, ri *instance) string {
	if e.cfg.AnnounceHostnames || host == "" {
		return host
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	if ri != nil && ri.cc != nil && ri.cc.nc != nil {
		if a, ok := ri.cc.nc.RemoteAddr().(*net.TCPAddr); ok && a.IP != nil {
			return a.IP.String()
		}
	}
	return resolveCached(host)
}

// resolved caches host name resolutions for shownHostLocked (a reply must
// not wait for DNS each time).
var resolved = struct {
	sync.Mutex
	m map[string]resolution
}{m: map[string]resolution{}}

type resolution struct {
	ip string
	at time.Time
}

const resolveTTL = 30 * time.Second

// resolveCached is host's first address, or host itself when it does not
// resolve within a second.
func resolveCached(host string) string {
	resolved.Lock()
	r, ok := resolved.m[host]
	resolved.Unlock()
	if ok && time.Since(r.at) < resolveTTL {
		return r.ip
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ip := host
	if addrs, err := net.DefaultResolver.LookupHost(ctx, host); err == nil && len(addrs) > 0 {
		ip = addrs[0]
	}
	resolved.Lock()
	if len(resolved.m) > 1024 {
		clear(resolved.m)
	}
	resolved.m[host] = resolution{ip: ip, at: time.Now()}
	resolved.Unlock()
	return ip
}

// Instance replies ----------------------------------------------------

// fields is a reply of name/value pairs, all bulk strings: a map in RESP3
// and a flat array in RESP2.
type fields []string

func (f *fields) str(k, v string)       { *f = append(*f, k, v) }
func (f *fields) num(k string, v int64) { *f = append(*f, k, strconv.FormatInt(v, 10)) }

func (f fields) write(w *resp.Writer) {
	w.AppendMap(len(f) / 2)
	for _, s := range f {
		w.AppendBulkString(s)
	}
}

func (e *Engine) appendInstances(w *resp.Writer, list []*instance, now time.Time) {
	w.AppendArray(len(list))
	for _, ri := range list {
		e.appendInstance(w, ri, now)
	}
}

// failoverStateLocked reports whether a failover of master m is in
// progress (the engine's failoverInProgressLocked) and its state. A
// failover this sentinel does not drive (being proposed, or in the group's
// log and run by the Raft leader) shows as wait_start: from here it is
// waiting for the leader.
func (e *Engine) failoverStateLocked(m *instance) (foState, bool) {
	if !e.failoverInProgressLocked(m) {
		return foNone, false
	}
	if m.failover != nil {
		return m.failover.state, true
	}
	return foWaitStart, true
}

// instanceFlags renders Redis's flags field.
func (e *Engine) instanceFlags(ri *instance, failover bool) string {
	var fl []string
	add := func(cond bool, s string) {
		if cond {
			fl = append(fl, s)
		}
	}
	add(ri.sdown, "s_down")
	add(ri.odown, "o_down")
	add(ri.kind == kindMaster, "master")
	add(ri.kind == kindReplica, "slave")
	add(ri.kind == kindSentinel, "sentinel")
	add(ri.linkDown(), "disconnected")
	add(ri.kind == kindSentinel && ri.masterDownReported, "master_down")
	add(failover, "failover_in_progress")
	add(ri.promoted, "promoted")
	add(ri.reconfSent, "reconf_sent")
	add(ri.reconfInprog, "reconf_inprog")
	add(ri.reconfDone, "reconf_done")
	add(ri.kind == kindMaster && ri.forceFailover, "force_failover")
	add(ri.scriptKillSent, "script_kill_sent")
	return strings.Join(fl, ",")
}

// downAfterMs is the instance's down-after-milliseconds: its master's.
func downAfterMs(ri *instance) int64 {
	m := ri
	if m.kind != kindMaster {
		m = m.master
	}
	if m == nil || m.cfg == nil {
		return DefaultDownAfterMs
	}
	return m.cfg.DownAfterMs
}

// appendInstance writes one instance as SENTINEL MASTER/REPLICAS/SENTINELS
// show it.
func (e *Engine) appendInstance(w *resp.Writer, ri *instance, now time.Time) {
	var f fields
	var foSt foState
	var failover bool
	if ri.kind == kindMaster {
		foSt, failover = e.failoverStateLocked(ri)
	}
	f.str("name", ri.name)
	f.str("ip", e.shownHostLocked(ri.host, ri))
	f.num("port", int64(ri.port))
	f.str("runid", ri.runID)
	f.str("flags", e.instanceFlags(ri, failover))
	pending := 0
	if ri.cc != nil {
		pending = ri.cc.Pending()
	}
	f.num("link-pending-commands", int64(pending))
	f.num("link-refcount", int64(max(ri.linkRefcount, 1)))
	if failover {
		f.str("failover-state", foSt.String())
	}
	f.num("last-ping-sent", msSince(now, ri.actPingTime))
	f.num("last-ok-ping-reply", msSince(now, ri.lastAvailTime))
	f.num("last-ping-reply", msSince(now, ri.lastPongTime))
	if ri.sdown {
		f.num("s-down-time", msSince(now, ri.sdownSince))
	}
	if ri.odown {
		f.num("o-down-time", msSince(now, ri.odownSince))
	}
	f.num("down-after-milliseconds", downAfterMs(ri))

	if ri.kind == kindMaster || ri.kind == kindReplica {
		f.num("info-refresh", msSince(now, ri.infoRefresh))
		if ri.roleReported == kindMaster {
			f.str("role-reported", "master")
		} else {
			f.str("role-reported", "slave")
		}
		f.num("role-reported-time", msSince(now, ri.roleReportedTime))
	}

	switch ri.kind {
	case kindMaster:
		mc := ri.cfg
		if mc == nil {
			mc = NewMasterConfig(ri.name, ri.host, ri.port, 0)
		}
		f.num("config-epoch", int64(ri.configEpoch))
		f.num("num-slaves", int64(len(ri.replicas)))
		f.num("num-other-sentinels", int64(len(ri.sentinels)))
		f.num("quorum", int64(mc.Quorum))
		f.num("failover-timeout", mc.FailoverTimeoutMs)
		f.num("parallel-syncs", int64(mc.ParallelSyncs))
		if mc.NotificationScript != "" {
			f.str("notification-script", mc.NotificationScript)
		}
		if mc.ClientReconfigScript != "" {
			f.str("client-reconfig-script", mc.ClientReconfigScript)
		}
	case kindReplica:
		f.num("master-link-down-time", ri.masterLinkDownMs)
		if ri.masterLinkUp {
			f.str("master-link-status", "ok")
		} else {
			f.str("master-link-status", "err")
		}
		if ri.replMasterHost != "" {
			f.str("master-host", ri.replMasterHost)
		} else {
			f.str("master-host", "?")
		}
		f.num("master-port", int64(ri.replMasterPort))
		f.num("slave-priority", int64(ri.priority))
		f.num("slave-repl-offset", ri.replOffset)
		if ri.announced {
			f.num("replica-announced", 1)
		} else {
			f.num("replica-announced", 0)
		}
	case kindSentinel:
		f.num("last-hello-message", msSince(now, ri.lastHelloTime))
		if ri.leader != "" {
			f.str("voted-leader", ri.leader)
		} else {
			f.str("voted-leader", "?")
		}
		f.num("voted-leader-epoch", int64(ri.leaderEpoch))
	}
	f.write(w)
}

// ckQuorumLocked is SENTINEL CKQUORUM's check: usable counts this sentinel
// and every other one of the master that is not down; noQuorum says usable
// is below the master's quorum, noAuth that it is not a majority of the
// known sentinels (or that the Raft group, which authorises failovers here,
// has no majority).
func (e *Engine) ckQuorumLocked(m *instance) (usable int, noQuorum, noAuth bool) {
	usable = 1
	for _, s := range m.sentinels {
		if !s.sdown && !s.odown {
			usable++
		}
	}
	voters := len(m.sentinels) + 1
	quorum := 0
	if m.cfg != nil {
		quorum = m.cfg.Quorum
	}
	noQuorum = usable < quorum
	noAuth = usable < voters/2+1
	// Failover authorization also needs the group to reach a Raft
	// quorum. (A sentinel still forming its group with the peers it has
	// discovered answers from the configuration, as Redis does; that
	// state lasts seconds and INFO's skiff_raft_* fields show it.)
	if e.opts.Meta != nil && !e.opts.Meta.Status().HasQuorum {
		noAuth = true
	}
	return usable, noQuorum, noAuth
}

// SENTINEL SET ----------------------------------------------------------

// cmdSetLocked is SENTINEL SET <master> <option> <value> [...]. As in
// Redis, options before a bad one stay applied (and are saved).
func (e *Engine) cmdSetLocked(w *resp.Writer, args [][]byte) {
	m := e.masterOrReply(w, args[2])
	if m == nil {
		return
	}
	mc := m.cfg
	changes := 0
	fail := func(msg string) {
		w.AppendError(msg)
		if changes > 0 {
			_ = e.saveConfigLocked()
		}
	}
	for j := 3; j < len(args); j++ {
		more := len(args) - 1 - j
		option := string(args[j])
		first := j
		redacted := false
		// positive reads the next argument as an integer > 0 (>= 0 with
		// zeroOK); a bad one ends the command with Redis's error.
		number := func(zeroOK bool) (int64, bool) {
			j++
			v, ok := parseLL(string(args[j]))
			if !ok || v < 0 || (v == 0 && !zeroOK) {
				fail(fmt.Sprintf("ERR Invalid argument '%s' for SENTINEL SET '%s'", args[j], option))
				return 0, false
			}
			return v, true
		}
		switch opt := strings.ToLower(option); {
		case opt == "down-after-milliseconds" && more > 0:
			v, ok := number(false)
			if !ok {
				return
			}
			mc.DownAfterMs = v
		case opt == "failover-timeout" && more > 0:
			v, ok := number(false)
			if !ok {
				return
			}
			mc.FailoverTimeoutMs = v
		case opt == "parallel-syncs" && more > 0:
			v, ok := number(false)
			if !ok {
				return
			}
			mc.ParallelSyncs = int(v)
		case opt == "quorum" && more > 0:
			v, ok := number(false)
			if !ok {
				return
			}
			mc.Quorum = int(v)
		case opt == "master-reboot-down-after-period" && more > 0:
			v, ok := number(true)
			if !ok {
				return
			}
			mc.MasterRebootDownAfterMs = v
		case (opt == "notification-script" || opt == "client-reconfig-script") && more > 0:
			j++
			path := string(args[j])
			if e.cfg.DenyScriptsReconfig {
				fail(errScriptsDenied)
				return
			}
			if path != "" && syscall.Access(path, 1 /* X_OK */) != nil {
				if opt == "notification-script" {
					fail(errNotifScript)
				} else {
					fail(errReconfScript)
				}
				return
			}
			if opt == "notification-script" {
				mc.NotificationScript = path
			} else {
				mc.ClientReconfigScript = path
			}
		case opt == "auth-pass" && more > 0:
			j++
			mc.AuthPass = string(args[j])
			e.dropDataLinksLocked(m)
			redacted = true
		case opt == "auth-user" && more > 0:
			j++
			mc.AuthUser = string(args[j])
			e.dropDataLinksLocked(m)
		case opt == "rename-command" && more > 1:
			from, to := string(args[j+1]), string(args[j+2])
			j += 2
			if from == "" || to == "" {
				bad := j
				if to != "" {
					bad = j - 1
				}
				fail(fmt.Sprintf("ERR Invalid argument '%s' for SENTINEL SET '%s'", args[bad], option))
				return
			}
			kept := mc.RenameCommands[:0]
			for _, rc := range mc.RenameCommands {
				if !strings.EqualFold(rc[0], from) {
					kept = append(kept, rc)
				}
			}
			mc.RenameCommands = kept
			if !strings.EqualFold(from, to) {
				mc.RenameCommands = append(mc.RenameCommands, [2]string{from, to})
			}
		default:
			fail(fmt.Sprintf("ERR Unknown option or number of arguments for SENTINEL SET '%s'", option))
			return
		}
		changes++
		switch j - first + 1 {
		case 2:
			val := string(args[first+1])
			if redacted {
				val = "******"
			}
			e.event(hclog.Warn, "+set", m, " "+option+" "+val)
		case 3:
			e.event(hclog.Warn, "+set", m, " "+option+" "+string(args[first+1])+" "+string(args[first+2]))
		default:
			e.event(hclog.Warn, "+set", m, " "+option)
		}
	}
	if changes > 0 {
		e.saveAndReplyLocked(w)
	}
}

// dropDataLinksLocked closes the links to a master and its replicas so that
// they reconnect with new credentials. Links are closed off the lock: their
// close callbacks take it.
func (e *Engine) dropDataLinksLocked(m *instance) {
	var links []*link
	for _, ri := range append([]*instance{m}, sortedInstances(m.replicas)...) {
		if ri.cc != nil {
			links = append(links, ri.cc)
		}
		if ri.pc != nil {
			links = append(links, ri.pc)
		}
	}
	closeLinksAsync(links)
}

// dropSentinelLinksLocked closes the links to every other sentinel (new
// sentinel-user/sentinel-pass).
func (e *Engine) dropSentinelLinksLocked() {
	var links []*link
	for _, m := range e.masters {
		for _, s := range m.sentinels {
			if s.cc != nil {
				links = append(links, s.cc)
			}
		}
	}
	closeLinksAsync(links)
}

func closeLinksAsync(links []*link) {
	if len(links) == 0 {
		return
	}
	go func() {
		for _, l := range links {
			l.Close()
		}
	}()
}

// SENTINEL CONFIG -------------------------------------------------------

func (e *Engine) cmdConfigSetLocked(w *resp.Writer, args [][]byte) {
	opt, val := string(args[3]), string(args[4])
	bad := func() {
		w.AppendError(fmt.Sprintf("ERR Invalid value '%s' to SENTINEL CONFIG SET '%s'", val, opt))
	}
	drop := false
	switch strings.ToLower(opt) {
	case "resolve-hostnames":
		v, ok := yesNo(val)
		if !ok {
			bad()
			return
		}
		e.cfg.ResolveHostnames = v
	case "announce-hostnames":
		v, ok := yesNo(val)
		if !ok {
			bad()
			return
		}
		e.cfg.AnnounceHostnames = v
	case "announce-ip":
		e.cfg.AnnounceIP = val
	case "announce-port":
		v, ok := parseLL(val)
		if !ok || v < 0 || v > 65535 {
			bad()
			return
		}
		e.cfg.AnnouncePort = int(v)
	case "sentinel-user":
		e.cfg.SentinelUser = val
		drop = true
	case "sentinel-pass":
		e.cfg.SentinelPass = val
		drop = true
	default:
		w.AppendError(fmt.Sprintf("ERR Invalid argument '%s' to SENTINEL CONFIG SET", opt))
		return
	}
	e.saveAndReplyLocked(w)
	if drop {
		e.dropSentinelLinksLocked()
	}
}

func (e *Engine) cmdConfigGetLocked(w *resp.Writer, pattern string) {
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	all := [][2]string{
		{"resolve-hostnames", yn(e.cfg.ResolveHostnames)},
		{"announce-hostnames", yn(e.cfg.AnnounceHostnames)},
		{"announce-ip", e.cfg.AnnounceIP},
		{"announce-port", strconv.Itoa(e.cfg.AnnouncePort)},
		{"sentinel-user", e.cfg.SentinelUser},
		{"sentinel-pass", e.cfg.SentinelPass},
	}
	var f fields
	for _, p := range all {
		if glob.Match(pattern, p[0], true) {
			f.str(p[0], p[1])
		}
	}
	f.write(w)
}

// SENTINEL INFO-CACHE, DEBUG -------------------------------------------------

func (e *Engine) cmdInfoCacheLocked(w *resp.Writer, names [][]byte, now time.Time) {
	var list []*instance
	seen := map[string]bool{}
	for _, n := range names {
		if m := e.masters[string(n)]; m != nil && !seen[m.name] {
			seen[m.name] = true
			list = append(list, m)
		}
	}
	w.AppendArray(2 * len(list))
	for _, m := range list {
		w.AppendBulkString(m.name)
		reps := sortedInstances(m.replicas)
		w.AppendArray(1 + len(reps))
		for _, ri := range append([]*instance{m}, reps...) {
			w.AppendArray(2)
			w.AppendInt(msSince(now, ri.infoRefresh))
			if ri.info == "" {
				w.AppendNull()
			} else {
				w.AppendBulkString(ri.info)
			}
		}
	}
}

// debugParams are SENTINEL DEBUG's parameters in Redis's order.
func (e *Engine) debugParams() []struct {
	name string
	v    *int64
} {
	t := &e.timing
	return []struct {
		name string
		v    *int64
	}{
		{"info-period", &t.infoPeriod},
		{"ping-period", &t.pingPeriod},
		{"ask-period", &t.askPeriod},
		{"publish-period", &t.publishPeriod},
		{"default-down-after", &t.defaultDownAfter},
		{"default-failover-timeout", &t.defaultFoTimeout},
		{"tilt-trigger", &t.tiltTrigger},
		{"tilt-period", &t.tiltPeriod},
		{"slave-reconf-timeout", &t.slaveReconfTimeout},
		{"min-link-reconnect-period", &t.minLinkReconnect},
		{"election-timeout", &t.electionTimeout},
		{"script-max-runtime", &t.scriptMaxRuntime},
		{"script-retry-delay", &t.scriptRetryDelay},
	}
}

func (e *Engine) appendDebugLocked(w *resp.Writer) {
	var f fields
	for _, p := range e.debugParams() {
		f.num(strings.ToUpper(p.name), *p.v)
	}
	f.write(w)
}

// cmdDebugSetLocked is SENTINEL DEBUG <param> <ms> [...]; like Redis it
// applies the pairs before a bad one.
func (e *Engine) cmdDebugSetLocked(w *resp.Writer, args [][]byte) {
	params := e.debugParams()
	for j := 2; j < len(args); j++ {
		option := string(args[j])
		var target *int64
		if j+1 < len(args) {
			for _, p := range params {
				if strings.EqualFold(p.name, option) {
					target = p.v
				}
			}
		}
		if target == nil {
			w.AppendError(fmt.Sprintf("ERR Unknown option or number of arguments for SENTINEL DEBUG '%s'", option))
			return
		}
		j++
		v, ok := parseLL(string(args[j]))
		if !ok || v <= 0 {
			w.AppendError(fmt.Sprintf("ERR Invalid argument '%s' for SENTINEL DEBUG '%s'", args[j], option))
			return
		}
		*target = v
	}
	w.AppendOK()
}

// INFO, ROLE, SHUTDOWN hooks ----------------------------------------------

// SentinelInfo is the body of INFO's "# Sentinel" section (no header),
// Redis's fields then Skiff's own description of the Raft group.
func (e *Engine) SentinelInfo() string {
	var st *MetaStatus
	if e.opts.Meta != nil {
		s := e.opts.Meta.Status()
		st = &s
	}
	e.mu.Lock()
	now := time.Now()
	running, queued := e.scripts.counts()
	var b strings.Builder
	tiltSince := int64(-1)
	if e.tilt {
		tiltSince = now.Sub(e.tiltStart).Milliseconds() / 1000
	}
	tilt := 0
	if e.tilt {
		tilt = 1
	}
	fmt.Fprintf(&b, "sentinel_masters:%d\r\nsentinel_tilt:%d\r\nsentinel_tilt_since_seconds:%d\r\n"+
		"sentinel_running_scripts:%d\r\nsentinel_scripts_queue_length:%d\r\nsentinel_simulate_failure_flags:%d\r\n",
		len(e.masters), tilt, tiltSince, running, queued, e.simFailure)
	for i, m := range e.sortedMasters() {
		status := "ok"
		if m.odown {
			status = "odown"
		} else if m.sdown {
			status = "sdown"
		}
		fmt.Fprintf(&b, "master%d:name=%s,status=%s,address=%s:%d,slaves=%d,sentinels=%d\r\n",
			i, m.name, status, e.shownHostLocked(m.host, m), m.port, len(m.replicas), len(m.sentinels)+1)
	}
	e.unlock()
	if st != nil {
		state := st.GroupState
		if state == "" {
			state = "unknown"
		}
		hasQuorum := 0
		if st.HasQuorum {
			hasQuorum = 1
		}
		fmt.Fprintf(&b, "skiff_raft_state:%s\r\nskiff_raft_leader:%s\r\nskiff_raft_members:%d\r\n"+
			"skiff_raft_voters:%d\r\nskiff_raft_reachable_voters:%d\r\nskiff_raft_has_quorum:%d\r\n",
			state, st.LeaderID, st.Members, st.Voters, st.Reachable, hasQuorum)
	}
	return b.String()
}

// SentinelMasterNames are the monitored masters' names (ROLE), sorted.
func (e *Engine) SentinelMasterNames() []string {
	e.mu.Lock()
	defer e.unlock()
	names := make([]string, 0, len(e.masters))
	for n := range e.masters {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SentinelShutdown flushes sentinel.conf and then shuts the process down
// (SHUTDOWN in sentinel mode).
func (e *Engine) SentinelShutdown() {
	e.mu.Lock()
	if err := e.saveConfigLocked(); err != nil {
		e.log.Warn("SHUTDOWN: could not save sentinel config", "error", err)
	}
	e.unlock()
	if e.opts.Shutdown != nil {
		e.opts.Shutdown()
	}
}

// Parsing ---------------------------------------------------------------

// parseLL parses a signed 64-bit decimal exactly as Redis's string2ll: an
// optional '-', no '+', no spaces, no leading zeros.
func parseLL(s string) (int64, bool) {
	if s == "" || len(s) > 20 {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	neg := false
	d := s
	if d[0] == '-' {
		neg = true
		d = d[1:]
	}
	if d == "" || d[0] < '1' || d[0] > '9' {
		return 0, false
	}
	var u uint64
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (1<<64-1)/10 {
			return 0, false
		}
		u *= 10
		if u > 1<<64-1-uint64(c-'0') {
			return 0, false
		}
		u += uint64(c - '0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > 1<<63-1 {
		return 0, false
	}
	return int64(u), true
}

// yesNo parses a yes/no option value (case-insensitive).
func yesNo(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}
