package sentinel

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
)

const helloChannel = "__sentinel__:hello"

// maxPending bounds the commands queued on one link before periodic ones
// are skipped (Redis's SENTINEL_MAX_PENDING_COMMANDS).
const maxPending = 100

// tick runs the periodic checks: links, PING/INFO/hello, SDOWN/ODOWN, the
// group's record of each master, and the failover when this member leads.
func (e *Engine) tick() {
	e.mu.Lock()
	now := time.Now()
	e.checkTiltLocked(now)
	for _, m := range e.sortedMasters() {
		e.handleInstanceLocked(m, now)
		for _, r := range sortedInstances(m.replicas) {
			e.handleInstanceLocked(r, now)
		}
		for _, s := range sortedInstances(m.sentinels) {
			e.handleInstanceLocked(s, now)
		}
		if e.masters[m.name] != m {
			continue // switched or removed while handling
		}
		e.syncRecordLocked(m, now)
		if !e.tilt {
			e.failoverTickLocked(m, now)
			e.askOthersLocked(m, now)
		}
	}
	// Leases are kept even in TILT: their safety rests on the granter's
	// wait, not on the timing of observations.
	e.leaseTickLocked(now)
	save := e.dirty
	if save {
		_ = e.saveConfigLocked()
	}
	e.unlock()
}

// checkTiltLocked enters TILT mode when the timer was late or the clock
// jumped: the timing of every observation is then suspect, so the
// sentinel watches without acting for the tilt period.
func (e *Engine) checkTiltLocked(now time.Time) {
	if !e.lastTick.IsZero() {
		delta := now.Sub(e.lastTick)
		if delta < 0 || delta > msDur(e.timing.tiltTrigger) {
			if !e.tilt {
				e.event(hclog.Warn, "+tilt", nil, "#tilt mode entered")
			}
			e.tilt = true
			e.tiltStart = now
		}
	}
	e.lastTick = now
	if e.tilt && now.Sub(e.tiltStart) > msDur(e.timing.tiltPeriod) {
		e.tilt = false
		e.event(hclog.Warn, "-tilt", nil, "#tilt mode exited")
	}
}

func (ri *instance) downAfter() int64 {
	if ri.kind == kindMaster {
		return ri.cfg.DownAfterMs
	}
	return ri.master.cfg.DownAfterMs
}

func (e *Engine) handleInstanceLocked(ri *instance, now time.Time) {
	e.reconnectLocked(ri, now)
	e.periodicCommandsLocked(ri, now)
	if e.tilt {
		return
	}
	e.checkSdownLocked(ri, now)
	if ri.kind == kindMaster {
		e.checkOdownLocked(ri, now)
	}
}

// ---------------------------------------------------------------- links

func (e *Engine) authArgs(ri *instance) []string {
	var user, pass string
	if ri.kind == kindSentinel {
		user, pass = e.cfg.SentinelUser, e.cfg.SentinelPass
	} else {
		m := ri
		if m.kind != kindMaster {
			m = m.master
		}
		user, pass = m.cfg.AuthUser, m.cfg.AuthPass
	}
	if pass == "" {
		return nil
	}
	if user != "" {
		return []string{"AUTH", user, pass}
	}
	return []string{"AUTH", pass}
}

func (e *Engine) mapCmd(ri *instance, name string) string {
	m := ri
	if m.kind != kindMaster {
		m = m.master
	}
	if m == nil || m.cfg == nil || ri.kind == kindSentinel {
		return name
	}
	for _, rc := range m.cfg.RenameCommands {
		if strings.EqualFold(rc[0], name) {
			return rc[1]
		}
	}
	return name
}

func (e *Engine) clientName(kind string) string {
	id := e.cfg.MyID
	if len(id) > 8 {
		id = id[:8]
	}
	return "sentinel-" + id + "-" + kind
}

// reconnectLocked (re)opens missing links, at most once a second per
// instance. Dialing happens outside the lock.
func (e *Engine) reconnectLocked(ri *instance, now time.Time) {
	needCC := ri.cc == nil && !ri.ccConnecting
	needPC := ri.kind != kindSentinel && ri.pc == nil && !ri.pcConnecting
	if !needCC && !needPC {
		return
	}
	if now.Sub(ri.lastReconnect) < time.Second {
		return
	}
	ri.lastReconnect = now
	if ri.disconnectedSince.IsZero() {
		ri.disconnectedSince = now
	}
	addr := ri.addr()
	auth := e.authArgs(ri)
	if needCC {
		ri.ccConnecting = true
		setname := []string{e.mapCmd(ri, "CLIENT"), "SETNAME", e.clientName("cmd")}
		go e.dial(ri, addr, false, auth, setname)
	}
	if needPC {
		ri.pcConnecting = true
		setname := []string{e.mapCmd(ri, "CLIENT"), "SETNAME", e.clientName("pubsub")}
		go e.dial(ri, addr, true, auth, setname)
	}
}

func (e *Engine) dial(ri *instance, addr string, pubsub bool, auth, setname []string) {
	var l *link
	var onPush func(any)
	if pubsub {
		onPush = func(v any) { e.onPubsubMessage(ri, v) }
	}
	var tcfg *tls.Config
	var err error
	if e.opts.TLS != nil {
		tcfg, err = e.opts.TLS()
	}
	if err == nil {
		l, err = dialLink(addr, time.Second, tcfg, pubsub, onPush, func(error) { e.onLinkClosed(ri, l) })
	}
	e.mu.Lock()
	defer e.unlock()
	if pubsub {
		ri.pcConnecting = false
	} else {
		ri.ccConnecting = false
	}
	if err != nil {
		e.event(hclog.Debug, map[bool]string{false: "-cmd-link-reconnection", true: "-pubsub-link-reconnection"}[pubsub], ri, " #"+err.Error())
		return
	}
	if e.isGone(ri) {
		go l.Close()
		return
	}
	if auth != nil {
		// As Redis does, the AUTH reply is not acted on: an instance that
		// needs no password refuses AUTH yet serves the link. Whether the
		// link is usable shows in the PING reply (NOAUTH closes it,
		// onPingReply).
		l.Send(nil, auth...)
	}
	if ri.kind != kindSentinel {
		l.Send(nil, setname...)
	}
	if pubsub {
		ri.pc = l
		ri.pcLastActivity = time.Now()
		l.Send(nil, e.mapCmd(ri, "SUBSCRIBE"), helloChannel)
	} else {
		ri.cc = l
		e.sendPingLocked(ri, time.Now())
		if ri.kind != kindSentinel {
			e.sendInfoLocked(ri)
		}
	}
	if !ri.linkDown() {
		ri.disconnectedSince = time.Time{}
	}
}

// isGone reports whether ri no longer belongs to the engine (its master
// was removed or reset).
func (e *Engine) isGone(ri *instance) bool {
	m := ri
	if ri.kind != kindMaster {
		m = ri.master
	}
	if e.masters[m.name] != m {
		return true
	}
	switch ri.kind {
	case kindReplica:
		return m.replicas[ri.name] != ri
	case kindSentinel:
		return m.sentinels[ri.name] != ri
	}
	return false
}

func (e *Engine) onLinkClosed(ri *instance, l *link) {
	e.mu.Lock()
	defer e.unlock()
	if ri.cc == l {
		ri.cc = nil
		// Contact is lost now: down-after counts from here, or from the
		// oldest PING still unanswered, never from the last reply (a master
		// that answered a moment before it died has not been unreachable
		// for down-after yet).
		if ri.actPingTime.IsZero() {
			ri.actPingTime = time.Now()
		}
	}
	if ri.pc == l {
		ri.pc = nil
	}
	if ri.disconnectedSince.IsZero() {
		ri.disconnectedSince = time.Now()
	}
}

// ---------------------------------------------------------------- periodic commands

func (e *Engine) sendPingLocked(ri *instance, now time.Time) {
	if ri.cc == nil {
		return
	}
	l := ri.cc
	ok := l.Send(func(v any, err error) { e.onPingReply(ri, l, v, err) }, e.mapCmd(ri, "PING"))
	if ok {
		ri.lastPingTime = now
		if ri.actPingTime.IsZero() {
			ri.actPingTime = now
		}
	}
}

func (e *Engine) onPingReply(ri *instance, l *link, v any, err error) {
	if err != nil {
		return
	}
	e.mu.Lock()
	defer e.unlock()
	now := time.Now()
	ri.lastPongTime = now
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case replyError:
		s = string(x)
	}
	if strings.HasPrefix(s, "PONG") || strings.HasPrefix(s, "LOADING") || strings.HasPrefix(s, "MASTERDOWN") {
		ri.lastAvailTime = now
		ri.actPingTime = time.Time{}
		ri.ccAuthFailed = false
		if strings.HasPrefix(s, "PONG") {
			ri.rebootTime = time.Time{}
		}
	} else if strings.HasPrefix(s, "NOAUTH") || strings.HasPrefix(s, "WRONGPASS") || strings.HasPrefix(s, "NOPERM") {
		// The instance wants credentials this sentinel does not have (a
		// password set, or its default user disabled): the link is of no
		// use, so it counts as disconnected and is retried every second.
		ri.ccAuthFailed = true
		if ri.cc == l {
			go l.Close()
		}
	} else if strings.HasPrefix(s, "BUSY") && ri.sdown && !ri.scriptKillSent && ri.cc != nil {
		// A script holds the instance: ask it once to stop.
		ri.cc.Send(nil, e.mapCmd(ri, "SCRIPT"), "KILL")
		ri.scriptKillSent = true
	}
}

func (e *Engine) sendInfoLocked(ri *instance) {
	if ri.cc == nil {
		return
	}
	l := ri.cc
	ri.infoPending = true
	l.Send(func(v any, err error) { e.onInfoReply(ri, v, err) }, e.mapCmd(ri, "INFO"))
}

func (e *Engine) periodicCommandsLocked(ri *instance, now time.Time) {
	if ri.linkDown() || ri.cc.Pending() >= maxPending {
		return
	}
	infoPeriod := e.timing.infoPeriod
	if ri.kind == kindReplica && (ri.master.odown || ri.master.sdown || ri.master.failover != nil ||
		ri.master.reconf != nil || ri.masterLinkDownMs != 0) {
		infoPeriod = 1000
	}
	pingPeriod := ri.downAfter()
	if pingPeriod > e.timing.pingPeriod {
		pingPeriod = e.timing.pingPeriod
	}
	if ri.kind != kindSentinel && !ri.infoPending && (ri.infoRefresh.IsZero() || now.Sub(ri.infoRefresh) > msDur(infoPeriod)) {
		e.sendInfoLocked(ri)
	}
	if now.Sub(ri.lastPongTime) > msDur(pingPeriod) && now.Sub(ri.lastPingTime) > msDur(pingPeriod/2) {
		e.sendPingLocked(ri, now)
	}
	if now.Sub(ri.lastHelloSent) > msDur(e.timing.publishPeriod) {
		e.sendHelloLocked(ri, now)
	}
}

// ---------------------------------------------------------------- SDOWN / ODOWN

func (e *Engine) checkSdownLocked(ri *instance, now time.Time) {
	var elapsed time.Duration
	if !ri.actPingTime.IsZero() {
		elapsed = now.Sub(ri.actPingTime)
	} else if ri.linkDown() {
		if ri.lastAvailTime.IsZero() {
			elapsed = now.Sub(ri.disconnectedSince)
		} else {
			elapsed = now.Sub(ri.lastAvailTime)
		}
	}
	downAfter := msDur(ri.downAfter())
	// Recycle a command link whose PING has been pending for long: the
	// peer may be stuck on a dead TCP connection.
	if ri.cc != nil && now.Sub(ri.cc.created) > msDur(e.timing.minLinkReconnect) &&
		!ri.actPingTime.IsZero() && now.Sub(ri.actPingTime) > downAfter/2 &&
		now.Sub(ri.lastPongTime) > downAfter/2 {
		go ri.cc.Close()
	}
	// Recycle a pub/sub link that has been silent for three hello periods.
	if ri.pc != nil && now.Sub(ri.pc.created) > msDur(e.timing.minLinkReconnect) &&
		now.Sub(ri.pcLastActivity) > msDur(e.timing.publishPeriod*3) {
		go ri.pc.Close()
	}
	down := elapsed > downAfter
	if ri.kind == kindMaster && ri.roleReported == kindReplica &&
		now.Sub(ri.roleReportedTime) > downAfter+msDur(e.timing.infoPeriod*2) {
		down = true
	}
	// A master that rebooted and has not answered PONG since (it is
	// loading its dataset) for master-reboot-down-after-period is down.
	if ri.kind == kindMaster && ri.cfg.MasterRebootDownAfterMs > 0 && !ri.rebootTime.IsZero() &&
		now.Sub(ri.rebootTime) > msDur(ri.cfg.MasterRebootDownAfterMs) {
		down = true
	}
	if down {
		if !ri.sdown {
			ri.sdown = true
			ri.sdownSince = now
			e.event(hclog.Warn, "+sdown", ri, "")
		}
	} else if ri.sdown {
		ri.sdown = false
		ri.scriptKillSent = false
		e.event(hclog.Warn, "-sdown", ri, "")
	}
}

func (e *Engine) checkOdownLocked(m *instance, now time.Time) {
	votes := 0
	if m.sdown {
		votes = 1
		for _, s := range m.sentinels {
			if s.masterDownReported && now.Sub(s.lastMasterDownAt) < msDur(e.timing.askPeriod*5) {
				votes++
			}
		}
	}
	odown := m.sdown && votes >= m.cfg.Quorum
	if odown && !m.odown {
		m.odown = true
		m.odownSince = now
		e.event(hclog.Warn, "+odown", m, fmt.Sprintf(" #quorum %d/%d", votes, m.cfg.Quorum))
	} else if !odown && m.odown {
		m.odown = false
		e.event(hclog.Warn, "-odown", m, "")
	}
}

// askOthersLocked asks every other sentinel whether it sees the master
// down, once per ask period while this sentinel sees it SDOWN.
func (e *Engine) askOthersLocked(m *instance, now time.Time) {
	for _, s := range m.sentinels {
		if now.Sub(s.lastMasterDownAt) > msDur(e.timing.askPeriod*5) {
			s.masterDownReported = false
			s.leader = ""
		}
		if !m.sdown || s.linkDown() {
			continue
		}
		// Until ODOWN is reached, ask ten times a second rather than once
		// (Redis's ask period): a peer that has not seen the master down
		// yet will soon, and each round trip is cheap.
		period := msDur(e.timing.askPeriod)
		if !m.odown && period > 100*time.Millisecond {
			period = 100 * time.Millisecond
		}
		if now.Sub(s.lastMasterDownAsk) < period || s.askPending {
			continue
		}
		s.lastMasterDownAsk = now
		host, port := e.currentMasterAddrLocked(m)
		epoch := strconv.FormatUint(e.currentEpoch(), 10)
		runID := "*"
		if m.failover != nil {
			runID = e.cfg.MyID
		}
		sc := s
		s.askPending = true
		s.cc.Send(func(v any, err error) { e.onMasterDownReply(sc, v, err) },
			"SENTINEL", "is-master-down-by-addr", host, strconv.Itoa(port), epoch, runID)
	}
}

func (e *Engine) onMasterDownReply(s *instance, v any, err error) {
	e.mu.Lock()
	s.askPending = false
	e.mu.Unlock()
	arr, ok := v.([]any)
	if err != nil || !ok || len(arr) != 3 {
		return
	}
	down, ok1 := arr[0].(int64)
	leader, ok2 := arr[1].(string)
	epoch, ok3 := arr[2].(int64)
	if !ok1 || !ok2 || !ok3 {
		return
	}
	e.mu.Lock()
	defer e.unlock()
	s.lastMasterDownAt = time.Now()
	s.masterDownReported = down == 1
	if leader != "*" {
		s.leader, s.leaderEpoch = leader, uint64(epoch)
	}
}

// ---------------------------------------------------------------- INFO

func (e *Engine) onInfoReply(ri *instance, v any, err error) {
	e.mu.Lock()
	defer e.unlock()
	ri.infoPending = false
	s, ok := v.(string)
	if err != nil || !ok || e.isGone(ri) {
		return
	}
	e.refreshInfoLocked(ri, s, time.Now())
}

// refreshInfoLocked reads the fields of an INFO reply that Sentinel uses
// and reacts to what changed.
func (e *Engine) refreshInfoLocked(ri *instance, info string, now time.Time) {
	ri.info = info
	ri.infoRefresh = now
	role := ri.roleReported
	ri.masterLinkDownMs = 0
	var seenReplicas []string
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimRight(line, "\r")
		k, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case k == "run_id" && len(val) == 40:
			if ri.runID != "" && ri.runID != val {
				e.event(hclog.Info, "+reboot", ri, "")
				if ri.kind == kindMaster && ri.cfg.MasterRebootDownAfterMs > 0 {
					ri.rebootTime = now
				}
			}
			ri.runID = val
		case k == "role":
			if val == "master" {
				role = kindMaster
			} else if val == "slave" {
				role = kindReplica
			}
		case ri.kind == kindMaster && strings.HasPrefix(k, "slave") && isDigits(k[5:]):
			if h, p, ok := parseSlaveLine(val); ok {
				seenReplicas = append(seenReplicas, idAddr(h, p))
				if _, known := ri.replicas[idAddr(h, p)]; !known {
					r := e.addReplicaLocked(ri, h, p)
					e.event(hclog.Info, "+slave", r, "")
					e.dirty = true
				}
			}
		case k == "master_link_down_since_seconds":
			n, _ := strconv.ParseInt(val, 10, 64)
			if n < 0 {
				n = 0
			}
			ri.masterLinkDownMs = n * 1000
		case k == "master_host":
			ri.replMasterHost = val
		case k == "master_port":
			ri.replMasterPort, _ = strconv.Atoi(val)
		case k == "master_link_status":
			ri.masterLinkUp = val == "up"
		case k == "slave_priority":
			ri.priority, _ = strconv.Atoi(val)
		case k == "slave_repl_offset":
			ri.replOffset, _ = strconv.ParseInt(val, 10, 64)
		case k == "replica_announced":
			ri.announced = val == "1"
		case k == "skiff_consistency" && ri.kind == kindMaster:
			ri.strong = val == "strong"
		}
	}
	_ = seenReplicas
	if role != ri.roleReported {
		ri.roleReported = role
		ri.roleReportedTime = now
		// "+" when the instance now reports the role we list it with,
		// "-" when it reports the other one.
		sign := "-"
		if (role == kindMaster) == (ri.kind == kindMaster) {
			sign = "+"
		}
		e.event(hclog.Info, sign+"role-change", ri, fmt.Sprintf(" new reported role is %s", roleName(role)))
	}
	if e.tilt {
		return
	}
	e.afterInfoLocked(ri, now)
}

func roleName(k kind) string {
	if k == kindMaster {
		return "master"
	}
	return "slave"
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseSlaveLine reads "ip=..,port=..,..." (and the pre-2.8 "ip,port,state").
func parseSlaveLine(v string) (string, int, bool) {
	var host string
	var port int
	if !strings.Contains(v, "=") {
		f := strings.Split(v, ",")
		if len(f) < 2 {
			return "", 0, false
		}
		p, err := strconv.Atoi(f[1])
		return f[0], p, err == nil && p > 0
	}
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		switch k {
		case "ip":
			host = val
		case "port":
			port, _ = strconv.Atoi(val)
		}
	}
	return host, port, host != "" && port > 0
}

// ---------------------------------------------------------------- hello

func (e *Engine) sendHelloLocked(ri *instance, now time.Time) {
	m := ri
	if ri.kind != kindMaster {
		m = ri.master
	}
	if ri.cc == nil {
		return
	}
	ip := e.cfg.AnnounceIP
	if ip == "" {
		ip = ri.cc.LocalIP()
	}
	port := e.cfg.AnnouncePort
	if port == 0 {
		port = e.opts.Port
	}
	mh, mp := e.currentMasterAddrLocked(m)
	payload := strings.Join([]string{ip, strconv.Itoa(port), e.cfg.MyID,
		strconv.FormatUint(e.currentEpoch(), 10), m.name, mh, strconv.Itoa(mp),
		strconv.FormatUint(m.configEpoch, 10)}, ",")
	ri.lastHelloSent = now
	ri.cc.Send(nil, e.mapCmd(ri, "PUBLISH"), helloChannel, payload)
}

func (e *Engine) onPubsubMessage(ri *instance, v any) {
	arr, ok := v.([]any)
	e.mu.Lock()
	ri.pcLastActivity = time.Now()
	e.mu.Unlock()
	if !ok || len(arr) != 3 {
		return
	}
	if k, _ := arr[0].(string); k != "message" {
		return
	}
	if ch, _ := arr[1].(string); ch != helloChannel {
		return
	}
	if payload, ok := arr[2].(string); ok {
		e.SentinelHello(payload)
	}
}

// SentinelHello processes a hello message, received on a data node's
// hello channel or PUBLISHed to this sentinel directly.
func (e *Engine) SentinelHello(payload string) {
	tok := strings.Split(payload, ",")
	if len(tok) != 8 {
		return
	}
	sPort, err1 := strconv.Atoi(tok[1])
	if err1 != nil || sPort <= 0 || sPort > 65535 {
		return
	}
	sHost, runID, name := tok[0], tok[2], tok[4]
	e.mu.Lock()
	defer e.unlock()
	if runID == e.cfg.MyID || len(runID) != 40 {
		return
	}
	m, ok := e.masters[name]
	if !ok {
		return
	}
	now := time.Now()
	s := m.sentinels[runID]
	if s == nil || s.host != sHost || s.port != sPort {
		if s != nil {
			// Same run id at a new address.
			e.event(hclog.Info, "+sentinel-address-switch", m, fmt.Sprintf(" ip %s port %d for %s", sHost, sPort, runID))
			for _, l := range []*link{s.cc} {
				if l != nil {
					go l.Close()
				}
			}
			delete(m.sentinels, runID)
		}
		// Another run id at this address is stale: that sentinel was
		// replaced.
		for _, mm := range e.masters {
			for id, o := range mm.sentinels {
				if id != runID && o.host == sHost && o.port == sPort {
					e.event(hclog.Info, "+sentinel-invalid-addr", o, "")
					if o.cc != nil {
						go o.cc.Close()
					}
					delete(mm.sentinels, id)
				}
			}
		}
		s = e.addSentinelLocked(m, sHost, sPort, runID)
		e.event(hclog.Info, "+sentinel", s, "")
		e.dirty = true
	}
	s.lastHelloTime = now
	if ep, err := strconv.ParseUint(tok[3], 10, 64); err == nil && ep > e.cfg.CurrentEpoch {
		e.cfg.CurrentEpoch = ep
		e.dirty = true
	}
}
