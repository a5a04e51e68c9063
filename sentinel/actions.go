package sentinel

import (
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/fsm"
)

// The actions below are what SENTINEL subcommands ask of the engine. All
// are called with e.mu held.

// monitorLocked starts monitoring a master (SENTINEL MONITOR). The group's
// record of it is created by the next tick if missing. err is Redis's
// error text when the name is taken.
func (e *Engine) monitorLocked(name, host string, port, quorum int) (*instance, error) {
	if _, ok := e.masters[name]; ok {
		return nil, replyError("ERR Duplicate master name.")
	}
	mc := NewMasterConfig(name, host, port, quorum)
	mc.DownAfterMs = e.timing.defaultDownAfter
	e.cfg.Masters = append(e.cfg.Masters, mc)
	m := e.addMasterLocked(mc)
	e.dirty = true
	return m, nil
}

// removeLocked stops monitoring a master (SENTINEL REMOVE). The group's
// record goes too, so that a later MONITOR of the name starts afresh
// rather than inheriting an old address; sentinels that still monitor the
// name recreate the record.
func (e *Engine) removeLocked(name string) {
	m, ok := e.masters[name]
	if !ok {
		return
	}
	delete(e.masters, name)
	for i, mc := range e.cfg.Masters {
		if mc == m.cfg {
			e.cfg.Masters = append(e.cfg.Masters[:i], e.cfg.Masters[i+1:]...)
			break
		}
	}
	for _, l := range m.allLinks() {
		go l.Close()
	}
	e.dirty = true
	if meta := e.opts.Meta; meta != nil {
		if _, ok := meta.Monitor(name); ok {
			go func() {
				ctx, cancel := proposeContext()
				defer cancel()
				if _, err := meta.Propose(ctx, &fsm.Unmonitor{Name: name}); err != nil {
					e.log.Warn("removing the group's record of a master failed", "master", name, "error", err)
				}
			}()
		}
	}
}

// resetMasterLocked forgets a master's replicas, sentinels and failover
// state and reconnects (SENTINEL RESET); event says whether to publish
// +reset-master.
func (e *Engine) resetMasterLocked(m *instance, event bool) {
	for _, l := range m.allLinks() {
		go l.Close()
	}
	m.cc, m.pc = nil, nil
	m.replicas = map[string]*instance{}
	m.sentinels = map[string]*instance{}
	e.clearFailoverLocked(m)
	m.reconf = nil
	m.sdown, m.odown, m.forceFailover, m.scriptKillSent = false, false, false, false
	m.actPingTime, m.lastAvailTime, m.lastPongTime, m.lastPingTime = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	m.info, m.infoRefresh, m.infoPending = "", time.Time{}, false
	m.roleReported, m.roleReportedTime = kindMaster, time.Now()
	m.disconnectedSince = time.Time{}
	m.lastReconnect = time.Time{}
	m.lastFailoverTry = time.Time{}
	e.dirty = true
	if event {
		e.event(hclog.Warn, "+reset-master", m, "")
	}
}

// forceFailoverLocked starts a failover without waiting for ODOWN
// (SENTINEL FAILOVER). It returns Redis's INPROG / NOGOODSLAVE errors. The
// failover itself is run by the group's leader: when this sentinel is not
// the leader it records the decision and the leader takes it over.
func (e *Engine) forceFailoverLocked(m *instance) error {
	if e.failoverInProgressLocked(m) {
		return replyError("INPROG Failover already in progress")
	}
	cand := e.selectReplicaLocked(m)
	if cand == nil {
		return replyError("NOGOODSLAVE No suitable replica to promote")
	}
	e.log.Warn("Executing user requested FAILOVER of '" + m.name + "'")
	// The next tick starts it when this sentinel leads the group, or
	// records it for the leader otherwise (failoverTickLocked).
	m.forceFailover = true
	m.forceSince = time.Now()
	return nil
}

// failoverInProgressLocked: this sentinel runs one, a proposal is in
// flight, or the group records one.
func (e *Engine) failoverInProgressLocked(m *instance) bool {
	if m.failover != nil || m.proposing || m.forceFailover {
		return true
	}
	if meta := e.opts.Meta; meta != nil {
		if _, ok := meta.Failover(m.name); ok {
			return true
		}
	}
	return false
}

// selectReplicaLocked picks the replica to promote by Redis's rules, or
// nil: replicas that are down, disconnected, silent for 5 s, of priority 0,
// with stale INFO or disconnected from the master for too long are
// excluded; then lowest priority, largest replication offset, smallest
// run id.
func (e *Engine) selectReplicaLocked(m *instance) *instance {
	now := time.Now()
	maxDown := time.Duration(0)
	if m.sdown {
		maxDown = now.Sub(m.sdownSince)
	}
	maxDown += msDur(m.cfg.DownAfterMs * 10)
	infoValidity := msDur(e.timing.infoPeriod * 3)
	if m.sdown {
		infoValidity = msDur(e.timing.pingPeriod * 5)
	}
	var isr map[string]bool
	if e.strongLocked(m) {
		// consistency strong: only an in-sync replica has everything the
		// master acknowledged.
		isr = map[string]bool{}
		if rec, ok := e.opts.Meta.Monitor(m.name); ok {
			for _, id := range rec.ISR {
				isr[id] = true
			}
		}
	}
	var best *instance
	for _, r := range sortedInstances(m.replicas) {
		if isr != nil && !isr[r.runID] {
			continue
		}
		switch {
		case r.sdown || r.odown, r.linkDown(),
			now.Sub(r.lastAvailTime) > msDur(e.timing.pingPeriod*5),
			r.priority == 0,
			r.infoRefresh.IsZero() || now.Sub(r.infoRefresh) > infoValidity,
			msDur(r.masterLinkDownMs) > maxDown,
			r.roleReported != kindReplica:
			continue
		}
		if best == nil || betterReplica(r, best) {
			best = r
		}
	}
	return best
}

func betterReplica(a, b *instance) bool {
	if a.priority != b.priority {
		return a.priority < b.priority
	}
	if a.replOffset != b.replOffset {
		return a.replOffset > b.replOffset
	}
	switch {
	case a.runID == "" && b.runID == "":
		return a.name < b.name
	case a.runID == "":
		return false
	case b.runID == "":
		return true
	}
	return strings.ToLower(a.runID) < strings.ToLower(b.runID)
}

// currentMasterAddrLocked is the address GET-MASTER-ADDR-BY-NAME reports:
// the promoted replica's once a failover has promoted it.
func (e *Engine) currentMasterAddrLocked(m *instance) (string, int) {
	if f := m.failover; f != nil && f.state >= foReconfSlaves && f.candidate != nil {
		return f.candidate.host, f.candidate.port
	}
	return m.host, m.port
}

// isMasterDownByAddrLocked answers SENTINEL IS-MASTER-DOWN-BY-ADDR: whether
// this sentinel sees the master at host:port subjectively down and, when
// runID is not "*", the failover leader: the Raft leader of the group
// (there are no per-epoch votes to cast) and the current epoch.
func (e *Engine) isMasterDownByAddrLocked(host string, port int, reqEpoch uint64, runID string) (down bool, leader string, leaderEpoch uint64) {
	var m *instance
	for _, x := range e.masters {
		if x.host == host && x.port == port {
			m = x
			break
		}
	}
	if m == nil {
		return false, "*", 0
	}
	down = !e.tilt && m.sdown
	if runID == "*" {
		return down, "*", 0
	}
	leader = "*"
	if meta := e.opts.Meta; meta != nil {
		if id := meta.Status().LeaderID; id != "" {
			leader = id
		}
	}
	return down, leader, e.currentEpoch()
}
