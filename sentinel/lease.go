package sentinel

// Leases for masters in consistency strong (docs/consistency.md). The
// group's leader keeps every strong master's lease alive: each round it
//
//  1. asks the master to prepare (CLIENT SKIFF-LEASE PREPARE), getting the
//     master's clock token, its run id and the in-sync set it wants;
//  2. records that set in the group when it changed (set-isr, a
//     compare-and-set on the version the master knows);
//  3. checks with a quorum that it still leads (raft VerifyLeader);
//  4. notes the grant, then sends it (CLIENT SKIFF-LEASE GRANT).
//
// The master's lease runs from its token, which predates step 3, so the
// leader's own wait (consistency.Granter.SafeAt) covers it. A failover of
// a strong master promotes only after SafeAt, and no grant is sent while a
// failover of the master is recorded.

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/consistency"
	"github.com/skiffdb/skiff/fsm"
)

// leaseState is the engine's lease bookkeeping, guarded by Engine.mu.
type leaseState struct {
	granter *consistency.Granter
	busy    map[string]bool      // a round for this master is running
	last    map[string]time.Time // when the last round for it started
	conns   map[string]*consistency.LeaseConn
	fails   *consistency.RoundLog // when failing rounds are logged as warnings
}

func (e *Engine) leases() *leaseState {
	if e.lease == nil {
		d := 1000 * time.Millisecond
		if e.cfg.Server != nil {
			if ms := e.cfg.Server.Int("consistency-lease-ms"); ms > 0 {
				d = time.Duration(ms) * time.Millisecond
			}
		}
		e.lease = &leaseState{granter: consistency.NewGranter(d), busy: map[string]bool{},
			last: map[string]time.Time{}, conns: map[string]*consistency.LeaseConn{},
			fails: &consistency.RoundLog{After: 3 * d, Every: 10 * time.Second}}
	}
	return e.lease
}

// strongLocked reports whether m is run in consistency strong: its
// record says so, or its INFO does.
func (e *Engine) strongLocked(m *instance) bool {
	if m.strong {
		return true
	}
	if e.opts.Meta == nil {
		return false
	}
	rec, ok := e.opts.Meta.Monitor(m.name)
	return ok && rec.Strong
}

// leaseTickLocked starts lease rounds for the strong masters, on the
// leader only, every quarter of the lease.
func (e *Engine) leaseTickLocked(now time.Time) {
	meta := e.opts.Meta
	if meta == nil {
		return
	}
	ls := e.leases()
	leader := meta.IsLeader()
	ls.granter.SetLeader(leader, now)
	if !leader {
		return
	}
	period := ls.granter.Duration / 4
	for _, m := range e.sortedMasters() {
		if !e.strongLocked(m) || ls.busy[m.name] || now.Sub(ls.last[m.name]) < period {
			continue
		}
		if _, failing := meta.Failover(m.name); failing {
			continue
		}
		rec, ok := meta.Monitor(m.name)
		if !ok {
			continue
		}
		ls.busy[m.name] = true
		ls.last[m.name] = now
		go e.leaseRound(m.name, rec.Addr, m.cfg.AuthUser, m.cfg.AuthPass)
	}
}

// leaseSafeLocked reports whether a strong master's lease has surely
// expired, so that its replica may be promoted.
func (e *Engine) leaseSafeLocked(m *instance, now time.Time) bool {
	if !e.strongLocked(m) {
		return true
	}
	return !now.Before(e.leases().granter.SafeAt(m.name))
}

// leaseRound runs one prepare/record/verify/grant round for a master.
func (e *Engine) leaseRound(name, addr, user, pass string) {
	defer func() {
		e.mu.Lock()
		e.leases().busy[name] = false
		e.mu.Unlock()
	}()
	e.mu.Lock()
	fails := e.leases().fails
	e.mu.Unlock()
	err := e.leaseRoundErr(name, addr, user, pass)
	if err == nil {
		if fails.OK(name) {
			e.log.Info("consistency strong: the master holds a lease again", "master", name)
		}
		return
	}
	if warn, failing := fails.Failed(name, time.Now()); warn {
		e.log.Warn("consistency strong: no lease granted to the master (it refuses commands meanwhile)",
			"master", name, "addr", addr, "for", failing.Round(time.Millisecond), "error", err)
	} else {
		e.log.Debug("lease round failed", "master", name, "addr", addr, "error", err)
	}
}

func (e *Engine) leaseRoundErr(name, addr, user, pass string) error {
	meta := e.opts.Meta
	e.mu.Lock()
	ls := e.leases()
	lc := ls.conns[name]
	if lc != nil && lc.Addr != addr {
		lc.Close()
		lc = nil
	}
	if lc == nil {
		lc = &consistency.LeaseConn{Addr: addr, User: user, Pass: pass, Dial: e.dialTLSAware}
		ls.conns[name] = lc
	}
	d := ls.granter.Duration
	e.mu.Unlock()

	prep, err := lc.Prepare()
	if err != nil {
		return err
	}
	rec, ok := meta.Monitor(name)
	if !ok || rec.Addr != addr {
		return fmt.Errorf("master moved")
	}
	if rec.RunID != "" && rec.RunID != prep.RunID {
		// Another process answers at the master's address: the one that
		// held the leases restarted and lost what it held in memory. It
		// must not serve; a replica from the in-sync set takes over.
		e.mu.Lock()
		if m := e.masters[name]; m != nil && !m.strongReboot {
			m.strongReboot = true
			e.event(hclog.Warn, "+strong-reboot", m, fmt.Sprintf(" lease holder %s replaced by %s", rec.RunID, prep.RunID))
		}
		e.mu.Unlock()
		return fmt.Errorf("run id %s is not the lease holder %s", prep.RunID, rec.RunID)
	}
	version, list := rec.ISRVersion, rec.ISR
	if consistency.MustRecord(prep, rec.RunID, rec.ISRVersion, rec.ISR, rec.ISRAddrs) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		res, err := meta.Propose(ctx, &fsm.SetISR{Name: name, RunID: prep.RunID, PrevVersion: rec.ISRVersion, ISR: prep.Desired, Addrs: prep.Addrs})
		cancel()
		if err != nil {
			return fmt.Errorf("record in-sync set: %w", err)
		}
		version, list = res.Index, prep.Desired
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = meta.VerifyLeader(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("verify leadership: %w", err)
	}
	e.mu.Lock()
	if _, failing := meta.Failover(name); failing || !ls.granter.Leader() {
		e.mu.Unlock()
		return fmt.Errorf("failover started or leadership lost")
	}
	ls.granter.Sending(name, time.Now())
	e.mu.Unlock()
	return lc.Grant(prep, d, version, list)
}

// candidateRunIDLocked is the run id a strong master's failover names (the
// group refuses a candidate outside the in-sync set); "" otherwise.
func (e *Engine) candidateRunIDLocked(m *instance, cand *instance) string {
	if !e.strongLocked(m) {
		return ""
	}
	return cand.runID
}

// sendPromoteIfLocked promotes a strong master's candidate with Redis
// Sentinel's transaction, except that SLAVEOF NO ONE becomes CLIENT
// SKIFF-PROMOTE-IF <run id>: a process that restarted at the candidate's
// address since it was chosen (and lost its data) refuses it.
func (e *Engine) sendPromoteIfLocked(ri *instance, runID string) bool {
	if runID == "" {
		return false
	}
	return e.sendReconfLocked(ri, []string{e.mapCmd(ri, "CLIENT"), "SKIFF-PROMOTE-IF", runID})
}

// learnISRLocked adds the in-sync replicas the group recorded that this
// sentinel does not list yet (say the master died before its INFO named
// them): a failover can only promote a replica the sentinel knows.
func (e *Engine) learnISRLocked(m *instance, rec fsm.Monitor) {
	for _, id := range rec.ISR {
		h, p, ok := splitHostPort(rec.ISRAddrs[id])
		if !ok || idAddr(h, p) == m.addr() {
			continue
		}
		if _, known := m.replicas[idAddr(h, p)]; !known {
			r := e.addReplicaLocked(m, h, p)
			e.event(hclog.Info, "+slave", r, "")
			e.dirty = true
		}
	}
}
