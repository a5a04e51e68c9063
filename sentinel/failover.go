package sentinel

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/fsm"
)

// How a failover is decided once: the Raft leader of the sentinels' group
// is the only sentinel that acts on data nodes. It records the start of a
// failover (target, chosen replica, new epoch) as one entry, promotes the
// replica, and records the end (promoted or aborted) as another; the end
// entry moves the group's record of the master to the new address, which
// every sentinel applies (+switch-master). A leader that dies mid-way
// leaves the start entry in the log; the next leader adopts it and
// finishes or aborts it within failover-timeout. Re-pointing the other
// replicas is idempotent and is done by whichever sentinel leads.

func proposeContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 5*time.Second)
}

// proposeLocked commits cmd in the background; done (may be nil) runs with
// e.mu held once it is decided. Only one proposal per master is in flight.
func (e *Engine) proposeLocked(m *instance, cmd fsm.Command, done func(fsm.Result, error)) {
	meta := e.opts.Meta
	if meta == nil {
		return
	}
	m.proposing = true
	go func() {
		ctx, cancel := proposeContext()
		res, err := meta.Propose(ctx, cmd)
		cancel()
		e.mu.Lock()
		m.proposing = false
		if err != nil {
			e.log.Debug("proposal failed", "master", m.name, "command", cmd.Type(), "error", err)
		}
		if done != nil {
			done(res, err)
		}
		e.unlock()
	}()
}

// syncRecordLocked keeps this sentinel's view of a master and the group's
// record of it in agreement: it creates the record when the group has
// none, and follows it when a failover has moved the master.
func (e *Engine) syncRecordLocked(m *instance, now time.Time) {
	meta := e.opts.Meta
	if meta == nil {
		return
	}
	rec, ok := meta.Monitor(m.name)
	if !ok {
		if !m.proposing && now.Sub(m.lastRecordTry) > time.Second {
			m.lastRecordTry = now
			e.proposeLocked(m, &fsm.MonitorMaster{Monitor: fsm.Monitor{Name: m.name, Addr: m.addr(),
				Quorum: m.cfg.Quorum, DownAfterMs: m.cfg.DownAfterMs, FailoverTimeoutMs: m.cfg.FailoverTimeoutMs,
				ParallelSyncs: m.cfg.ParallelSyncs}}, nil)
		}
		return
	}
	if rec.Strong && rec.Addr == m.addr() {
		e.learnISRLocked(m, rec)
	}
	if rec.ConfigEpoch > m.configEpoch {
		if rec.Addr != m.addr() {
			if h, p, ok := splitHostPort(rec.Addr); ok {
				e.switchMasterLocked(m, h, p, rec.ConfigEpoch, now)
				return
			}
		}
		m.configEpoch = rec.ConfigEpoch
		e.dirty = true
	}
}

// switchMasterLocked moves a master to a new address (the promoted
// replica): the old master and the other replicas become its replicas.
func (e *Engine) switchMasterLocked(m *instance, host string, port int, epoch uint64, now time.Time) {
	oldHost, oldPort := m.host, m.port
	newName := idAddr(host, port)
	var keep []*instance
	for _, r := range sortedInstances(m.replicas) {
		if r.name != newName {
			keep = append(keep, r)
		}
	}
	ranIt := m.failover != nil && m.failover.epoch == epoch
	for _, l := range m.allLinks() {
		go l.Close()
	}
	e.event(hclog.Warn, "+switch-master", nil, fmt.Sprintf("%s %s %d %s %d", m.name, oldHost, oldPort, host, port))
	m.host, m.port = host, port
	m.cfg.Host, m.cfg.Port = host, port
	m.configEpoch = epoch
	m.cc, m.pc = nil, nil
	m.ccConnecting, m.pcConnecting = false, false
	m.sdown, m.odown, m.forceFailover, m.scriptKillSent = false, false, false, false
	m.strongReboot = false
	m.actPingTime, m.lastAvailTime, m.lastPongTime, m.lastPingTime = time.Time{}, now, time.Time{}, time.Time{}
	m.info, m.infoRefresh, m.infoPending, m.runID = "", time.Time{}, false, ""
	m.roleReported, m.roleReportedTime = kindMaster, now
	m.disconnectedSince, m.lastReconnect, m.lastFailoverTry = time.Time{}, time.Time{}, time.Time{}
	m.failover = nil
	m.reconf = nil
	m.replicas = map[string]*instance{}
	for _, s := range m.sentinels {
		s.masterDownReported, s.leader = false, ""
	}
	for _, r := range keep {
		nr := e.addReplicaLocked(m, r.host, r.port)
		e.event(hclog.Info, "+slave", nr, "")
	}
	if oldName := idAddr(oldHost, oldPort); oldName != newName {
		nr := e.addReplicaLocked(m, oldHost, oldPort)
		e.event(hclog.Info, "+slave", nr, "")
	}
	role := "observer"
	if ranIt {
		role = "leader"
		m.reconf = &reconfRun{epoch: epoch, started: now, oldHost: oldHost, oldPort: oldPort}
	}
	if m.cfg.ClientReconfigScript != "" {
		e.scripts.schedule(m.cfg.ClientReconfigScript, m.name, role, "end",
			oldHost, strconv.Itoa(oldPort), host, strconv.Itoa(port))
	}
	e.dirty = true
}

func (e *Engine) clearFailoverLocked(m *instance) {
	if f := m.failover; f != nil && f.candidate != nil {
		f.candidate.promoted = false
	}
	m.failover = nil
}

// failoverTickLocked starts, adopts and drives failovers; only the group's
// leader does.
func (e *Engine) failoverTickLocked(m *instance, now time.Time) {
	meta := e.opts.Meta
	if meta == nil {
		return
	}
	rec, recorded := meta.Failover(m.name)
	leader := meta.IsLeader()
	if st := meta.Status(); st.LeaderID != "" {
		m.leaderID = st.LeaderID
	}
	if f := m.failover; f != nil && (!leader || !recorded || rec.Epoch != f.epoch) {
		if !m.proposing {
			// Leadership moved, or the failover ended elsewhere: the
			// record decides.
			e.clearFailoverLocked(m)
		}
	}
	authorized := e.groupAuthorizedLocked(m)
	if m.forceFailover && !m.proposing && authorized && !recorded && !leader {
		// SENTINEL FAILOVER sent to a follower: record the decision; the
		// leader takes it over.
		e.proposeForcedLocked(m, now)
	}
	if !leader || !authorized {
		// Only the leader of a group holding a majority of the known
		// sentinels touches data nodes: a lone sentinel (restarted before
		// it joined its peers, say) must not act on a stale view.
		m.reconf = nil
		e.expireForcedLocked(m, now)
		return
	}
	if m.reconf != nil {
		e.reconfTickLocked(m, now)
	}
	if m.proposing {
		return
	}
	if recorded && m.failover == nil {
		e.adoptLocked(m, rec, now)
	}
	if m.failover != nil {
		e.driveLocked(m, now)
		return
	}
	if !m.odown && !m.forceFailover && !m.strongReboot {
		e.fixReplicasLocked(m, now)
		return
	}
	if !m.forceFailover && !m.lastFailoverTry.IsZero() && now.Sub(m.lastFailoverTry) < msDur(2*m.cfg.FailoverTimeoutMs) {
		return
	}
	if _, ok := meta.Monitor(m.name); !ok {
		return // the record is being created
	}
	m.lastFailoverTry = now
	forced := m.forceFailover
	cand := e.selectReplicaLocked(m)
	if cand == nil {
		m.forceFailover = false
		e.event(hclog.Warn, "-failover-abort-no-good-slave", m, "")
		return
	}
	e.proposeLocked(m, &fsm.StartFailover{Kind: fsm.FailoverSentinel, Target: m.name,
		Candidate: cand.addr(), DecidedBy: e.cfg.MyID, CandidateRunID: e.candidateRunIDLocked(m, cand)}, func(res fsm.Result, err error) {
		m.forceFailover = false
		if err != nil {
			if !fsm.IsCommandError(err) {
				// Not decided (no quorum, leadership lost): try again soon.
				m.lastFailoverTry = time.Time{}
			}
			return
		}
		if e.isGone(m) || e.isGone(cand) {
			return
		}
		now := time.Now()
		m.failover = &failoverRun{state: foSendSlaveofNoOne, epoch: res.Epoch, candidate: cand,
			started: now, stateChange: now, runID: e.candidateRunIDLocked(m, cand)}
		m.strongReboot = false
		cand.promoted = true
		if res.Epoch > e.cfg.CurrentEpoch {
			e.cfg.CurrentEpoch = res.Epoch
		}
		e.event(hclog.Warn, "+new-epoch", nil, fmt.Sprintf("%d", res.Epoch))
		e.event(hclog.Warn, "+try-failover", m, "")
		e.event(hclog.Warn, "+vote-for-leader", nil, fmt.Sprintf("%s %d", e.cfg.MyID, res.Epoch))
		e.event(hclog.Warn, "+elected-leader", m, "")
		e.event(hclog.Warn, "+failover-state-select-slave", m, "")
		e.event(hclog.Warn, "+selected-slave", cand, "")
		e.event(hclog.Info, "+failover-state-send-slaveof-noone", cand, "")
		if forced {
			e.log.Info("failover forced by SENTINEL FAILOVER", "master", m.name)
		}
		if m.cfg.ClientReconfigScript != "" {
			e.scripts.schedule(m.cfg.ClientReconfigScript, m.name, "leader", "start",
				m.host, strconv.Itoa(m.port), cand.host, strconv.Itoa(cand.port))
		}
		if e.simFailure&simCrashAfterElection != 0 {
			e.log.Warn("Sentinel is simulating a failure: crash after election")
			os.Exit(99)
		}
		e.driveLocked(m, now)
	})
}

// groupAuthorizedLocked applies Redis's majority rule to the group: the
// sentinels of this group (Raft members) must be a majority of all the
// sentinels known to monitor the master. Two sentinels that have not yet
// merged their groups (each a group of one) can therefore never both
// decide a failover, and a group cut off from most sentinels cannot either.
func (e *Engine) groupAuthorizedLocked(m *instance) bool {
	st := e.opts.Meta.Status()
	members := map[string]bool{}
	for _, id := range st.MemberIDs {
		members[id] = true
	}
	inGroup := 1 // this sentinel
	for id := range m.sentinels {
		if members[id] {
			inGroup++
		}
	}
	return Majority(inGroup, len(m.sentinels)+1)
}

// proposeForcedLocked records a failover requested by SENTINEL FAILOVER
// on this sentinel while another one leads the group.
func (e *Engine) proposeForcedLocked(m *instance, now time.Time) {
	cand := e.selectReplicaLocked(m)
	if cand == nil {
		m.forceFailover = false
		e.event(hclog.Warn, "-failover-abort-no-good-slave", m, "")
		return
	}
	e.proposeLocked(m, &fsm.StartFailover{Kind: fsm.FailoverSentinel, Target: m.name,
		Candidate: cand.addr(), DecidedBy: e.cfg.MyID, CandidateRunID: e.candidateRunIDLocked(m, cand)}, func(res fsm.Result, err error) {
		if err == nil || fsm.IsCommandError(err) {
			m.forceFailover = false
		}
	})
}

// expireForcedLocked drops a SENTINEL FAILOVER request that could not be
// acted on within failover-timeout (no group majority reachable).
func (e *Engine) expireForcedLocked(m *instance, now time.Time) {
	if !m.forceFailover {
		return
	}
	if m.forceSince.IsZero() {
		m.forceSince = now
		return
	}
	if now.Sub(m.forceSince) > msDur(m.cfg.FailoverTimeoutMs) {
		m.forceFailover = false
		m.forceSince = time.Time{}
		e.event(hclog.Warn, "-failover-abort-not-elected", m, "")
	}
}

// adoptLocked takes over a failover recorded by a previous leader (or
// requested by SENTINEL FAILOVER on another sentinel).
func (e *Engine) adoptLocked(m *instance, rec fsm.Failover, now time.Time) {
	h, p, ok := splitHostPort(rec.Candidate)
	if !ok {
		return
	}
	cand := m.replicas[idAddr(h, p)]
	if cand == nil {
		cand = e.addReplicaLocked(m, h, p)
	}
	m.failover = &failoverRun{state: foSendSlaveofNoOne, epoch: rec.Epoch, candidate: cand,
		started: now, stateChange: now, adopted: true, runID: rec.CandidateRunID}
	cand.promoted = true
	e.log.Warn("taking over a failover recorded in the group", "master", m.name, "epoch", rec.Epoch,
		"candidate", rec.Candidate, "decided_by", rec.DecidedBy)
	e.event(hclog.Warn, "+elected-leader", m, "")
	e.event(hclog.Warn, "+selected-slave", cand, "")
	e.event(hclog.Info, "+failover-state-send-slaveof-noone", cand, "")
}

// driveLocked advances the failover this sentinel runs.
func (e *Engine) driveLocked(m *instance, now time.Time) {
	f := m.failover
	c := f.candidate
	timeout := msDur(m.cfg.FailoverTimeoutMs)
	switch f.state {
	case foSendSlaveofNoOne:
		if c.linkDown() {
			if now.Sub(f.stateChange) > timeout {
				e.abortLocked(m, "-failover-abort-slave-timeout")
			}
			return
		}
		if e.strongLocked(m) {
			// consistency strong: not before the old master's lease has
			// surely expired, and only the chosen process (lease.go).
			if !e.leaseSafeLocked(m, now) {
				return
			}
			if !e.sendPromoteIfLocked(c, f.runID) {
				return
			}
		} else {
			e.sendSlaveOfLocked(c, "", 0)
		}
		f.state, f.stateChange = foWaitPromotion, now
		e.event(hclog.Warn, "+failover-state-wait-promotion", c, "")
	case foWaitPromotion:
		if c.roleReported == kindMaster && c.infoRefresh.After(f.stateChange) {
			if f.runID != "" && c.runID != f.runID {
				e.abortLocked(m, "-failover-abort-slave-timeout")
				return
			}
			e.promotedLocked(m, now)
			return
		}
		if now.Sub(f.stateChange) > timeout {
			e.abortLocked(m, "-failover-abort-slave-timeout")
			return
		}
		if !c.infoPending && !c.linkDown() {
			e.sendInfoLocked(c)
		}
	case foReconfSlaves:
		// Promoted; the end entry is being (or must be) recorded.
		e.proposeFinishLocked(m, true)
	}
}

func (e *Engine) promotedLocked(m *instance, now time.Time) {
	f := m.failover
	f.state, f.stateChange = foReconfSlaves, now
	e.event(hclog.Warn, "+promoted-slave", f.candidate, "")
	e.event(hclog.Warn, "+failover-state-reconf-slaves", m, "")
	if e.simFailure&simCrashAfterPromotion != 0 {
		e.log.Warn("Sentinel is simulating a failure: crash after promotion")
		os.Exit(99)
	}
	e.proposeFinishLocked(m, true)
}

func (e *Engine) proposeFinishLocked(m *instance, promoted bool) {
	if m.proposing || m.failover == nil {
		return
	}
	f := m.failover
	e.proposeLocked(m, &fsm.FinishFailover{Kind: fsm.FailoverSentinel, Target: m.name, Epoch: f.epoch,
		Promoted: promoted}, func(res fsm.Result, err error) {
		if err == nil && promoted && !e.isGone(m) {
			// Apply the new address here at once rather than at the
			// next tick.
			e.syncRecordLocked(m, time.Now())
		}
	})
}

func (e *Engine) abortLocked(m *instance, why string) {
	e.event(hclog.Warn, why, m, "")
	f := m.failover
	e.proposeLocked(m, &fsm.FinishFailover{Kind: fsm.FailoverSentinel, Target: m.name, Epoch: f.epoch}, nil)
	e.clearFailoverLocked(m)
	m.lastFailoverTry = time.Now()
	m.forceFailover = false
}

// sendSlaveOfLocked reconfigures a data node the way Redis Sentinel does:
// one transaction that switches replication, rewrites its config and
// disconnects its clients so that they reconnect to the right master. The
// replies are ignored; the effect shows in INFO.
func (e *Engine) sendSlaveOfLocked(ri *instance, host string, port int) bool {
	slaveof := []string{e.mapCmd(ri, "SLAVEOF"), "NO", "ONE"}
	if host != "" {
		slaveof = []string{e.mapCmd(ri, "SLAVEOF"), host, strconv.Itoa(port)}
	}
	return e.sendReconfLocked(ri, slaveof)
}

// sendReconfLocked sends Redis Sentinel's reconfiguration transaction
// around change (SLAVEOF, or consistency strong's CLIENT
// SKIFF-PROMOTE-IF), with an INFO behind it.
func (e *Engine) sendReconfLocked(ri *instance, change []string) bool {
	if ri.cc == nil {
		return false
	}
	client := e.mapCmd(ri, "CLIENT")
	cmds := [][]string{
		{e.mapCmd(ri, "MULTI")},
		change,
		{e.mapCmd(ri, "CONFIG"), "REWRITE"},
		{client, "KILL", "TYPE", "normal"},
		{client, "KILL", "TYPE", "pubsub"},
		{e.mapCmd(ri, "EXEC")},
	}
	ri.slaveConfChange = time.Now()
	if !ri.cc.SendMany(cmds, nil) {
		return false
	}
	// An INFO right behind the transaction shows its effect at once.
	e.sendInfoLocked(ri)
	return true
}

// reconfTickLocked re-points the replicas of a freshly promoted master,
// parallel-syncs at a time, and ends the failover when all reachable ones
// replicate from it (or failover-timeout passed).
func (e *Engine) reconfTickLocked(m *instance, now time.Time) {
	r := m.reconf
	if now.Sub(r.started) > msDur(m.cfg.FailoverTimeoutMs) {
		e.event(hclog.Warn, "+failover-end-for-timeout", m, "")
		for _, x := range sortedInstances(m.replicas) {
			if !x.reconfDone && !x.linkDown() && !e.pointsAt(x, m) {
				e.sendSlaveOfLocked(x, m.host, m.port)
				e.event(hclog.Info, "+slave-reconf-sent-be", x, "")
			}
		}
		e.endReconfLocked(m)
		return
	}
	inflight := 0
	for _, x := range m.replicas {
		if (x.reconfSent || x.reconfInprog) && !x.reconfDone {
			inflight++
		}
	}
	done := true
	for _, x := range sortedInstances(m.replicas) {
		if x.reconfDone {
			continue
		}
		fresh := x.infoRefresh.After(r.started)
		if fresh && e.pointsAt(x, m) {
			if x.masterLinkUp {
				x.reconfDone = true
				if x.reconfSent || x.reconfInprog {
					e.event(hclog.Info, "+slave-reconf-done", x, "")
					inflight--
				}
				continue
			}
			if x.reconfSent && !x.reconfInprog {
				x.reconfInprog = true
				e.event(hclog.Info, "+slave-reconf-inprog", x, "")
			}
		}
		if x.sdown || (x.linkDown() && x.name == idAddr(r.oldHost, r.oldPort)) {
			// Down, or the old master still unreachable: not waited for
			// (it is converted when it comes back). Other replicas whose
			// links are being re-established after the switch are.
			continue
		}
		done = false
		if x.reconfSent && now.Sub(x.reconfSentAt) > msDur(e.timing.slaveReconfTimeout) {
			e.event(hclog.Info, "-slave-reconf-sent-timeout", x, "")
			x.reconfSent, x.reconfInprog = false, false
			inflight--
		}
		if !x.reconfSent && !x.reconfInprog && fresh && !x.linkDown() && !e.pointsAt(x, m) && inflight < m.cfg.ParallelSyncs {
			if e.sendSlaveOfLocked(x, m.host, m.port) {
				x.reconfSent, x.reconfSentAt = true, now
				inflight++
				e.event(hclog.Info, "+slave-reconf-sent", x, "")
			}
		}
	}
	if done && m.cc != nil {
		e.event(hclog.Warn, "+failover-end", m, "")
		e.endReconfLocked(m)
	}
}

func (e *Engine) endReconfLocked(m *instance) {
	m.reconf = nil
	for _, x := range m.replicas {
		x.reconfSent, x.reconfInprog, x.reconfDone = false, false, false
	}
}

// pointsAt reports whether a replica's last INFO shows it replicating m.
func (e *Engine) pointsAt(x, m *instance) bool {
	return x.roleReported == kindReplica && x.replMasterPort == m.port && sameHost(x.replMasterHost, m.host)
}

func sameHost(a, b string) bool {
	if a == b {
		return true
	}
	norm := func(h string) string {
		if h == "localhost" || h == "::1" {
			return "127.0.0.1"
		}
		return h
	}
	return norm(a) == norm(b)
}

// afterInfoLocked reacts to a fresh INFO of a master or replica: the
// promotion of the failover's candidate, and (group leader only, outside
// failovers) replicas that point elsewhere or claim to be masters.
func (e *Engine) afterInfoLocked(ri *instance, now time.Time) {
	if ri.kind != kindReplica {
		return
	}
	m := ri.master
	if f := m.failover; f != nil && f.candidate == ri && f.state == foWaitPromotion && ri.roleReported == kindMaster {
		if f.runID != "" && ri.runID != f.runID {
			e.abortLocked(m, "-failover-abort-slave-timeout")
			return
		}
		e.promotedLocked(m, now)
		return
	}
	if m.reconf != nil {
		e.reconfTickLocked(m, now)
	}
}

// fixReplicasLocked (leader only, no failover running) turns an instance
// listed as a replica that claims to be a master into a replica again
// (+convert-to-slave: a returning old master), and re-points replicas that
// follow another master (+fix-slave-config).
func (e *Engine) fixReplicasLocked(m *instance, now time.Time) {
	if m.sdown || m.reconf != nil || m.linkDown() || m.roleReported != kindMaster {
		return
	}
	// The group's record says who the master is, so a stale master needs
	// no long observation before being converted; a second of steady
	// reports guards against acting on one racing INFO.
	const convertWait = time.Second
	for _, x := range sortedInstances(m.replicas) {
		if x.linkDown() || x.sdown || x.promoted || x.infoRefresh.IsZero() {
			continue
		}
		if now.Sub(x.slaveConfChange) < convertWait || !x.infoRefresh.After(x.slaveConfChange) {
			continue // wait for the effect of the last reconfiguration to show
		}
		switch {
		case x.roleReported == kindMaster && now.Sub(x.roleReportedTime) > convertWait:
			if e.sendSlaveOfLocked(x, m.host, m.port) {
				e.event(hclog.Info, "+convert-to-slave", x, "")
			}
		case x.roleReported == kindReplica && !e.pointsAt(x, m) &&
			now.Sub(x.slaveConfChange) > msDur(m.cfg.FailoverTimeoutMs):
			if e.sendSlaveOfLocked(x, m.host, m.port) {
				e.event(hclog.Info, "+fix-slave-config", x, "")
			}
		}
	}
}
