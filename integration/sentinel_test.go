package integration

// Sentinel failover with real processes: three sentinels, a master and two
// replicas. The implementations are parameters (sentinel_helpers_test.go):
// skiff (`$SKIFF_BIN sentinel`) or Debian's redis-sentinel 7.0 for the
// sentinels, skiff server or redis-server 7.0 for the data nodes. Every
// scenario also runs with real redis-sentinels (and skiff data nodes),
// which shows that the test can pass and that what it checks is Redis's
// behaviour; skiff sentinels run every scenario with skiff data nodes, and
// the kill and pause scenarios with redis-server data nodes too.
//
// Network: sentinels, replicas and clients reach every data node through a
// TCP proxy (tcpproxy_test.go) and know it only by the proxy's port
// (monitor address, replicaof, replica-announce-port). Each proxy finds
// which process opened a connection (/proc/net/tcp and /proc/<pid>/fd), so
// the test can cut single links between two processes; a cut link is a
// black hole (bytes dropped, new connections accepted and never
// forwarded), like a real partition. For the partition scenario the
// sentinels are proxied too (sentinel announce-ip/announce-port name the
// proxy), and the test checks that no established connection crosses the
// partition outside a proxy (a sentinel that advertises its real raft or
// admin address cannot be partitioned this way: the test says so).
// The test itself observes everything directly, never through a proxy.
//
// Settings: quorum 2, down-after-milliseconds 1000, failover-timeout 3000,
// parallel-syncs 1; data nodes without persistence. When a test fails, the
// logs of every process are printed, and a skiff sentinel still running is
// sent SIGQUIT first so that its log ends with a goroutine dump; the whole
// sentinel logs are kept under $TMPDIR/skiff-sentinel-logs/<test>/.
//
// Run with
//	go test ./integration -run Sentinel -count=1 -v

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// forStacks runs f for each stack as parallel subtests.
func forStacks(t *testing.T, stacks []sentinelStack, f func(t *testing.T, k sentinelStack)) {
	for _, k := range stacks {
		t.Run(k.String(), func(t *testing.T) {
			t.Parallel()
			f(t, k)
		})
	}
}

// others returns the data nodes other than the given ones.
func (e *sentinelEnv) others(not ...*dataNode) []*dataNode {
	var out []*dataNode
	for _, d := range e.data {
		skip := false
		for _, n := range not {
			skip = skip || d == n
		}
		if !skip {
			out = append(out, d)
		}
	}
	return out
}

// TestSentinelKillMaster: kill -9 of the master while a go-redis
// FailoverClient and a redis-py Sentinel client write a new key every
// 10 ms. The sentinels must agree on one of the replicas, the other
// replica must follow it, both clients must go on writing without any
// change of their configuration, and no write acknowledged before the
// replicas were seen in sync may be lost (writes in the short window
// between that point and the kill may be, with asynchronous replication:
// they are counted in the log).
func TestSentinelKillMaster(t *testing.T) {
	forStacks(t, []sentinelStack{stackSkiff, stackSkiffRedis, stackRedisSkiff, stackRedisRedis}, func(t *testing.T, k sentinelStack) {
		e := newSentinelEnv(t, k, sentinelEnvOpts{})
		old := e.data[0]
		gw := startGoWriter(t, e, "go", nil)
		pw := startPyWriter(t, e, "py")
		gw.waitAcksAfter(t, e.t0, 20, 15*time.Second)
		pw.waitAcksAfter(t, e.t0, 20, 15*time.Second)

		syncAt := e.syncPoint(old, e.data[1:])
		killAt := e.killData(old)
		deadAt := time.Now() // killData returns once the process has exited
		nm := e.waitNewMaster(old, e.sents, 20*time.Second)
		agreedAt := time.Now()
		e.waitMasterRole(nm, 5*time.Second)
		other := e.others(old, nm)[0]
		e.waitReplicaOf(other, nm, 20*time.Second)
		gw.waitAcksAfter(t, killAt, 10, 20*time.Second)
		pw.waitAcksAfter(t, killAt, 10, 20*time.Second)
		gw.stop()
		pw.stop()

		// Redis counts down-after-milliseconds from the oldest unanswered
		// PING, which after a crash is the first PING after it: no sentinel
		// may flag the master s_down sooner after the kill.
		for _, ev := range e.events.find(func(ev sentinelEvent) bool {
			return ev.channel == "+sdown" && strings.HasPrefix(ev.msg, "master ") && ev.at.After(killAt)
		}) {
			d := ev.at.Sub(killAt)
			if d < (sentDownAfterMs-50)*time.Millisecond {
				t.Errorf("%s flagged the master s_down %v after the kill, before down-after-milliseconds (%d)", ev.sentinel, d.Round(time.Millisecond), sentDownAfterMs)
			} else {
				t.Logf("%s: kill -> +sdown %v", ev.sentinel, d.Round(time.Millisecond))
			}
		}
		if ev, ok := e.events.first("+switch-master", killAt); ok {
			t.Logf("kill -> first +switch-master (%s): %v", ev.sentinel, ev.at.Sub(killAt).Round(time.Millisecond))
		} else {
			t.Errorf("no +switch-master event after the kill")
		}
		t.Logf("kill -> every sentinel reports %s (%s): <= %v", nm.name, nm.pubAddr(), agreedAt.Sub(killAt).Round(time.Millisecond))
		e.waitCaughtUp(nm, []*dataNode{other}, 10*time.Second)
		for _, w := range []*writeLog{gw, pw} {
			first, _ := w.firstAckAfter(killAt)
			rep := checkWrites(t, w, nm, syncAt, deadAt)
			t.Logf("%s: kill -> first acknowledged write %v; %s", w.name, first.Sub(killAt).Round(time.Millisecond), rep)
			if len(rep.lostBefore) > 0 {
				t.Errorf("%s: %d writes acknowledged before the sync point are lost on the new master, e.g. %v", w.name, len(rep.lostBefore), firstN(rep.lostBefore, 10))
			}
			if len(rep.lostAfter) > 0 {
				t.Errorf("%s: %d writes acknowledged after the kill are lost, e.g. %v", w.name, len(rep.lostAfter), firstN(rep.lostAfter, 10))
			}
		}
		e.watch.check(t, old.pubAddr(), nm.pubAddr())
		e.checkOneMaster(nm)
	})
}

// TestSentinelPausedMaster: SIGSTOP of the master for longer than
// down-after (until the sentinels agree on a new master), then SIGCONT.
// The old master must become a replica of the new one, and no sentinel
// may ever report it as master again (never two masters).
func TestSentinelPausedMaster(t *testing.T) {
	forStacks(t, []sentinelStack{stackSkiff, stackSkiffRedis, stackRedisSkiff}, func(t *testing.T, k sentinelStack) {
		e := newSentinelEnv(t, k, sentinelEnvOpts{})
		old := e.data[0]
		gw := startGoWriter(t, e, "go", nil)
		gw.waitAcksAfter(t, e.t0, 20, 15*time.Second)
		syncAt := e.syncPoint(old, e.data[1:])
		stopAt := e.pauseData(old)
		stoppedAt := time.Now() // pauseData returns once every thread is stopped
		nm := e.waitNewMaster(old, e.sents, 20*time.Second)
		t.Logf("SIGSTOP -> every sentinel reports %s: <= %v", nm.name, time.Since(stopAt).Round(time.Millisecond))
		e.waitMasterRole(nm, 5*time.Second)
		other := e.others(old, nm)[0]
		e.waitReplicaOf(other, nm, 20*time.Second)

		contAt := e.resumeData(old)
		e.waitReplicaOf(old, nm, 40*time.Second)
		t.Logf("SIGCONT -> %s is a replica of %s: %v", old.name, nm.name, time.Since(contAt).Round(time.Millisecond))
		// Redis converts it (+convert-to-slave) some seconds after it
		// reports role:master again; skiff re-points it with the other
		// replicas when it comes back while the failover is still
		// re-pointing (+slave-reconf-sent, docs/sentinel.md).
		if evs := e.events.find(func(ev sentinelEvent) bool {
			return (ev.channel == "+convert-to-slave" || ev.channel == "+slave-reconf-sent") &&
				strings.HasPrefix(ev.msg, "slave "+old.pubAddr()+" ")
		}); len(evs) == 0 {
			t.Errorf("neither +convert-to-slave nor +slave-reconf-sent for the old master %s", old.pubAddr())
		} else {
			t.Logf("%s turned the old master into a replica: %s %s", evs[0].sentinel, evs[0].channel, evs[0].msg)
		}
		gw.waitAcksAfter(t, contAt, 10, 20*time.Second)
		gw.stop()
		e.waitCaughtUp(nm, []*dataNode{other, old}, 10*time.Second)
		rep := checkWrites(t, gw, nm, syncAt, stoppedAt)
		first, _ := gw.firstAckAfter(stopAt)
		t.Logf("%s: SIGSTOP -> first acknowledged write %v; %s", gw.name, first.Sub(stopAt).Round(time.Millisecond), rep)
		if len(rep.lostBefore) > 0 {
			t.Errorf("%d writes acknowledged before the sync point are lost, e.g. %v", len(rep.lostBefore), firstN(rep.lostBefore, 10))
		}
		if len(rep.lostAfter) > 0 {
			// Writes the resumed old master acknowledged before it was
			// turned into a replica: Redis's split-brain window.
			t.Logf("%d writes acknowledged after SIGSTOP are lost (acknowledged by the resumed old master?), e.g. %v", len(rep.lostAfter), firstN(rep.lostAfter, 10))
		}
		e.watch.check(t, old.pubAddr(), nm.pubAddr())
		e.checkOneMaster(nm)
	})
}

// TestSentinelKillLeaderMidFailover: kill -9 of the sentinel that runs
// the failover, as soon as it has selected the replica (+selected-slave),
// before the failover ends. For skiff that sentinel must be the Raft
// leader (its admin API's GET /status, asked just before the kill, says
// state Leader), and the failover is decided once: the next leader
// finishes it with the same replica, and no sentinel ever reports another
// master. Redis gives no such guarantee (the others start a new failover
// 2 x failover-timeout later and may choose the other replica, leaving
// the first one a master until it is converted), so for redis-sentinel
// only the end state is checked: the two live sentinels and then the
// restarted one agree on a master, and every other live data node
// replicates it.
func TestSentinelKillLeaderMidFailover(t *testing.T) {
	forStacks(t, []sentinelStack{stackSkiff, stackRedisSkiff}, func(t *testing.T, k sentinelStack) {
		e := newSentinelEnv(t, k, sentinelEnvOpts{})
		old := e.data[0]
		if k.sentinel == "skiff" {
			if l, why := e.raftLeader(); l == nil {
				t.Fatalf("no raft leader: %s", why)
			} else {
				t.Logf("raft leader before the kill: %s", l.name)
			}
		}
		var (
			mu         sync.Mutex
			victim     *sentinelProc
			victimRaft string // its raft state just before the kill (skiff)
			killed     = make(chan struct{})
			trigger    sentinelEvent
		)
		e.events.onEvent(func(ev sentinelEvent) {
			if ev.channel != "+selected-slave" {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if victim != nil {
				return
			}
			for _, s := range e.sents {
				if s.name == ev.sentinel {
					victim, trigger = s, ev
				}
			}
			if victim == nil {
				return
			}
			if k.sentinel == "skiff" {
				if st, err := victim.raftStatus(); err == nil {
					victimRaft = st.State
				} else {
					victimRaft = err.Error()
				}
			}
			victim.kill()
			close(killed)
		})
		killAt := e.killData(old)
		select {
		case <-killed:
		case <-time.After(20 * time.Second):
			t.Fatal("no +selected-slave within 20 s of the kill")
		}
		mu.Lock()
		v, tr, vr := victim, trigger, victimRaft
		mu.Unlock()
		t.Logf("killed sentinel %s on its %s %s, %v after the master's kill", v.name, tr.channel, tr.msg, time.Since(killAt).Round(time.Millisecond))
		if k.sentinel == "skiff" && vr != "Leader" {
			t.Errorf("%s ran the failover but its raft state was %q", v.name, vr)
		}
		selected := ""
		if f := strings.Fields(tr.msg); len(f) > 1 {
			selected = f[1]
		}
		var rest []*sentinelProc
		for _, s := range e.sents {
			if s != v {
				rest = append(rest, s)
			}
		}
		// Redis retries 2 x failover-timeout (6 s) after the last attempt,
		// and a retry may again split the votes; skiff's next leader must
		// finish the recorded failover within failover-timeout.
		wait := 20 * time.Second
		if k.sentinel == "redis" {
			wait = 40 * time.Second
		}
		nm := e.waitNewMaster(old, rest, wait)
		t.Logf("kill -> %s agree on %s: %v", procNames(rest), nm.name, time.Since(killAt).Round(time.Millisecond))
		if k.sentinel == "skiff" && nm.pubAddr() != selected {
			t.Errorf("the failover decided for %s ended with %s as master", selected, nm.pubAddr())
		}
		e.waitMasterRole(nm, 5*time.Second)
		// Redis may leave the first promoted replica a master until a
		// sentinel converts it (+convert-to-slave, 8 s and more).
		for _, d := range e.others(old, nm) {
			e.waitReplicaOf(d, nm, 30*time.Second)
		}
		if k.sentinel == "skiff" {
			pollUntil(t, "a new raft leader among the two live sentinels", 10*time.Second, 50*time.Millisecond, func() (bool, string) {
				for _, s := range rest {
					st, err := s.raftStatus()
					if err != nil {
						return false, err.Error()
					}
					if st.ID == st.LeaderID {
						return true, ""
					}
				}
				return false, "no leader"
			})
		}
		// The killed sentinel comes back and must agree.
		if err := v.start(); err != nil {
			t.Fatal(err)
		}
		e.lab.register(v.pid(), v.name)
		e.waitAllReport(nm, 15*time.Second)
		if k.sentinel == "skiff" {
			e.watch.check(t, old.pubAddr(), nm.pubAddr())
		} else {
			t.Logf("masters reported:\n%s", e.watch.dump(e.t0))
		}
		e.checkOneMaster(nm)
	})
}

// TestSentinelPartition: a partition {master, s0} | {both replicas, s1,
// s2, clients}, every link across it cut (sentinel to data node, sentinel
// to sentinel, replica to master, client to either). Only the majority
// side fails over; s0 starts no failover. After the heal every sentinel
// reports the new master and the old master becomes its replica.
func TestSentinelPartition(t *testing.T) {
	forStacks(t, []sentinelStack{stackSkiff, stackRedisSkiff}, func(t *testing.T, k sentinelStack) {
		e := newSentinelEnv(t, k, sentinelEnvOpts{proxySentinels: true})
		old := e.data[0]
		// The client is on the majority side and is given its sentinels
		// only. go-redis keeps using the first sentinel that answered; if
		// that one is black-holed, each dial's deadline expires while it
		// waits for it (it tries the other sentinels only after a quick
		// error), so with s0 in its list it may never recover: a property
		// of the client, not of the servers.
		gw := startGoWriter(t, e, "go", e.sents[1:])
		gw.waitAcksAfter(t, e.t0, 20, 15*time.Second)
		minority := []string{"d0", "s0"}
		majority := []string{"d1", "d2", "s1", "s2", "client"}
		syncAt := e.syncPoint(old, e.data[1:])
		e.lab.Partition(minority, majority)
		cutAt := time.Now() // no byte crosses the partition any more
		if bp := e.lab.bypasses(minority, majority); len(bp) > 0 {
			t.Errorf("links across the partition bypass the proxies (the sentinels advertise an address that is not the proxy's), so they are not cut: %v", bp)
		}
		nm := e.waitNewMaster(old, e.sents[1:], 20*time.Second)
		t.Logf("partition -> s1, s2 agree on %s: %v", nm.name, time.Since(cutAt).Round(time.Millisecond))
		e.waitMasterRole(nm, 5*time.Second)
		other := e.others(old, nm)[0]
		e.waitReplicaOf(other, nm, 20*time.Second)
		gw.waitAcksAfter(t, cutAt, 10, 20*time.Second)
		if a, err := e.sents[0].masterAddr(); err == nil {
			t.Logf("s0, on the minority side, reports %s during the partition", a)
		}
		if m, err := old.info("replication"); err == nil {
			t.Logf("the old master reports role:%s during the partition", m["role"])
		}
		if bp := e.lab.bypasses(minority, majority); len(bp) > 0 {
			t.Errorf("links across the partition bypass the proxies: %v", bp)
		}
		healAt := time.Now()
		e.lab.Heal()
		e.waitAllReport(nm, 20*time.Second)
		e.waitReplicaOf(old, nm, 40*time.Second)
		t.Logf("heal -> %s is a replica of %s: %v", old.name, nm.name, time.Since(healAt).Round(time.Millisecond))
		gw.stop()

		acting := map[string]bool{"+try-failover": true, "+elected-leader": true, "+selected-slave": true,
			"+failover-state-select-slave": true, "+promoted-slave": true, "+failover-state-send-slaveof-noone": true}
		for _, ev := range e.events.find(func(ev sentinelEvent) bool {
			return ev.sentinel == "s0" && acting[ev.channel] && ev.at.After(cutAt) && ev.at.Before(healAt)
		}) {
			t.Errorf("s0, on the minority side, acted during the partition: %s %s", ev.channel, ev.msg)
		}
		e.waitCaughtUp(nm, []*dataNode{other, old}, 10*time.Second)
		rep := checkWrites(t, gw, nm, syncAt, cutAt)
		t.Logf("%s: %s", gw.name, rep)
		if len(rep.lostBefore) > 0 {
			t.Errorf("%d writes acknowledged before the sync point are lost, e.g. %v", len(rep.lostBefore), firstN(rep.lostBefore, 10))
		}
		if len(rep.lostAfter) > 0 {
			t.Errorf("%d writes acknowledged after the partition are lost, e.g. %v", len(rep.lostAfter), firstN(rep.lostAfter, 10))
		}
		e.watch.check(t, old.pubAddr(), nm.pubAddr())
		e.checkOneMaster(nm)
	})
}

// TestSentinelRestartKeepsState: after a failover, kill -9 and restart
// one sentinel: from its first answer it must report the new master,
// with the same myid, config epoch, replicas and sentinels; then it must
// take part in a second failover.
func TestSentinelRestartKeepsState(t *testing.T) {
	forStacks(t, []sentinelStack{stackSkiff, stackRedisSkiff}, func(t *testing.T, k sentinelStack) {
		e := newSentinelEnv(t, k, sentinelEnvOpts{})
		old := e.data[0]
		killAt := e.killData(old)
		nm := e.waitNewMaster(old, e.sents, 20*time.Second)
		other := e.others(old, nm)[0]
		e.waitReplicaOf(other, nm, 20*time.Second)
		t.Logf("first failover to %s: %v", nm.name, time.Since(killAt).Round(time.Millisecond))

		v := e.sents[1]
		type state struct {
			myid, addr, flags, epoch, slaves, sentinels, replicas, raftID string
		}
		read := func() (state, error) {
			var st state
			r, err := v.do("SENTINEL", "MYID")
			if err != nil {
				return st, err
			}
			st.myid = r.Str
			if st.addr, err = v.masterAddr(); err != nil {
				return st, err
			}
			m, err := v.masterInfo()
			if err != nil {
				return st, err
			}
			st.flags, st.epoch, st.slaves, st.sentinels = m["flags"], m["config-epoch"], m["num-slaves"], m["num-other-sentinels"]
			rr, err := v.do("SENTINEL", "REPLICAS", sentMaster)
			if err != nil {
				return st, err
			}
			var names []string
			for _, x := range rr.Elems {
				names = append(names, kvReply(x)["name"])
			}
			st.replicas = strings.Join(sortedCopy(names), " ")
			if k.sentinel == "skiff" {
				rs, err := v.raftStatus()
				if err != nil {
					return st, err
				}
				st.raftID = rs.ID
			}
			return st, nil
		}
		// Wait until its failover state has settled: the new master, the
		// other replica and the old master as replicas (while the failover
		// is still in progress, Redis reports the promoted replica's address
		// but still lists it among the replicas).
		wantReplicas := strings.Join(sortedCopy([]string{old.pubAddr(), other.pubAddr()}), " ")
		pollUntil(t, v.name+" to list the other replica and the old master as replicas", 15*time.Second, 50*time.Millisecond, func() (bool, string) {
			st, err := read()
			if err != nil {
				return false, err.Error()
			}
			return st.addr == nm.pubAddr() && st.flags == "master" && st.replicas == wantReplicas && st.sentinels == "2", fmt.Sprintf("%+v", st)
		})
		before, err := read()
		if err != nil {
			t.Fatal(err)
		}
		v.kill()
		if err := v.start(); err != nil {
			t.Fatal(err)
		}
		e.lab.register(v.pid(), v.name)
		after, err := read()
		if err != nil {
			t.Fatal(err)
		}
		// The flags may show the links still being made.
		after.flags = before.flags
		if after != before {
			t.Errorf("restarted sentinel's first answers differ:\n before %+v\n after  %+v", before, after)
		} else {
			t.Logf("restarted %s kept %+v", v.name, after)
		}
		if after.addr != nm.pubAddr() {
			t.Errorf("restarted sentinel reports %s, want %s", after.addr, nm.pubAddr())
		}
		// It is a working member again: a second failover with it.
		e.waitSentinelsSeeEachOther(15 * time.Second)
		kill2 := e.killData(nm)
		nm2 := e.waitNewMaster(nm, e.sents, 20*time.Second)
		if nm2 != other {
			t.Fatalf("second failover chose %s, the only live replica is %s", nm2.name, other.name)
		}
		t.Logf("second failover to %s: %v", nm2.name, time.Since(kill2).Round(time.Millisecond))
		e.waitMasterRole(nm2, 5*time.Second)
		e.watch.check(t, old.pubAddr(), nm.pubAddr(), nm2.pubAddr())
		e.checkOneMaster(nm2)
	})
}

// waitSentinelsSeeEachOther waits until no sentinel flags another one
// as down.
func (e *sentinelEnv) waitSentinelsSeeEachOther(timeout time.Duration) {
	e.t.Helper()
	pollUntil(e.t, "every sentinel to see the two others up", timeout, 50*time.Millisecond, func() (bool, string) {
		for _, s := range e.sents {
			r, err := s.do("SENTINEL", "SENTINELS", sentMaster)
			if err != nil {
				return false, err.Error()
			}
			if len(r.Elems) != 2 {
				return false, fmt.Sprintf("%s lists %d sentinels", s.name, len(r.Elems))
			}
			for _, x := range r.Elems {
				m := kvReply(x)
				if m["flags"] != "sentinel" {
					return false, fmt.Sprintf("%s sees %s:%s as %s", s.name, m["ip"], m["port"], m["flags"])
				}
			}
		}
		return true, ""
	})
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// TestSentinelNoQuorum: with two of three sentinels dead, SENTINEL
// CKQUORUM says why no failover can be authorized, and a dead master is
// seen subjectively down but not failed over. Once the two come back,
// the failover happens (so the test can see one).
func TestSentinelNoQuorum(t *testing.T) {
	forStacks(t, []sentinelStack{stackSkiff, stackRedisSkiff}, func(t *testing.T, k sentinelStack) {
		e := newSentinelEnv(t, k, sentinelEnvOpts{})
		s0 := e.sents[0]
		const okReply = "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
		okFrom := time.Now()
		pollUntil(t, "CKQUORUM with three sentinels to answer +"+okReply, 5*time.Second, 50*time.Millisecond, func() (bool, string) {
			r, err := s0.do("SENTINEL", "CKQUORUM", sentMaster)
			if err != nil {
				return false, err.Error()
			}
			return r.Type == '+' && r.Str == okReply, r.String()
		})
		if d := time.Since(okFrom); d > 100*time.Millisecond {
			t.Logf("CKQUORUM answered +OK only %v after the sentinels were ready", d.Round(time.Millisecond))
		}
		e.sents[1].kill()
		e.sents[2].kill()
		const noQuorum = "NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. " +
			"Not enough available Sentinels to reach the majority and authorize a failover"
		pollUntil(t, "CKQUORUM to report NOQUORUM", 10*time.Second, 50*time.Millisecond, func() (bool, string) {
			r, err := s0.do("SENTINEL", "CKQUORUM", sentMaster)
			if err != nil {
				return false, err.Error()
			}
			return r.IsError() && r.Str == noQuorum, r.String()
		})
		old := e.data[0]
		killAt := e.killData(old)
		pollUntil(t, "s0 to flag the master s_down", 10*time.Second, 20*time.Millisecond, func() (bool, string) {
			m, err := s0.masterInfo()
			if err != nil {
				return false, err.Error()
			}
			return strings.Contains(m["flags"], "s_down"), m["flags"]
		})
		t.Logf("kill -> s_down on the lone sentinel: %v", time.Since(killAt).Round(time.Millisecond))
		// Watch for three down-after periods: no odown, no failover.
		watchUntil := time.Now().Add(3 * sentDownAfterMs * time.Millisecond)
		for time.Now().Before(watchUntil) {
			m, err := s0.masterInfo()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(m["flags"], "o_down") || strings.Contains(m["flags"], "failover_in_progress") || m["ip"]+":"+m["port"] != old.pubAddr() {
				t.Fatalf("lone sentinel: flags %s, master %s:%s", m["flags"], m["ip"], m["port"])
			}
			time.Sleep(100 * time.Millisecond)
		}
		for _, d := range e.data[1:] {
			if m, err := d.info("replication"); err != nil || m["role"] != "slave" {
				t.Errorf("%s: role:%s %v, want slave (no failover)", d.name, m["role"], err)
			}
		}
		if evs := e.events.find(func(ev sentinelEvent) bool {
			return ev.channel == "+try-failover" || ev.channel == "+switch-master" || ev.channel == "+odown"
		}); len(evs) > 0 {
			t.Errorf("failover activity without quorum: %s %s", evs[0].channel, evs[0].msg)
		}
		// The two come back: now the failover must happen.
		back := time.Now()
		for _, s := range e.sents[1:] {
			if err := s.start(); err != nil {
				t.Fatal(err)
			}
			e.lab.register(s.pid(), s.name)
		}
		nm := e.waitNewMaster(old, e.sents, 30*time.Second)
		t.Logf("sentinels back -> failover to %s: %v", nm.name, time.Since(back).Round(time.Millisecond))
		e.waitMasterRole(nm, 5*time.Second)
		e.watch.check(t, old.pubAddr(), nm.pubAddr())
		e.checkOneMaster(nm)
	})
}

// TestSentinelShortPause: SIGSTOP of the master for 70% of
// down-after-milliseconds, five times, 1.3 s apart so that the pauses fall
// on different points of the sentinels' PING cycle. The master never
// stays unanswered for down-after-milliseconds, so no sentinel may flag
// it s_down (Redis counts from the oldest unanswered PING, not from the
// last reply), and no failover may start.
func TestSentinelShortPause(t *testing.T) {
	forStacks(t, []sentinelStack{stackSkiff, stackRedisSkiff}, func(t *testing.T, k sentinelStack) {
		e := newSentinelEnv(t, k, sentinelEnvOpts{})
		m := e.data[0]
		pause := sentDownAfterMs * 7 / 10 * time.Millisecond
		start := time.Now()
		for i := 0; i < 5; i++ {
			if i > 0 {
				// Let every sentinel see the master answer again.
				pollUntil(t, "the master to answer", 5*time.Second, 10*time.Millisecond, func() (bool, string) {
					_, err := m.info("server")
					return err == nil, fmt.Sprint(err)
				})
				next := start.Add(time.Duration(i) * 1300 * time.Millisecond)
				for time.Now().Before(next) {
					time.Sleep(10 * time.Millisecond)
				}
			}
			pid := m.srv.Pid()
			syscall.Kill(pid, syscall.SIGSTOP)
			stopped := time.Now()
			for time.Since(stopped) < pause {
				time.Sleep(5 * time.Millisecond)
			}
			syscall.Kill(pid, syscall.SIGCONT)
		}
		// Two more PING periods for late verdicts.
		until := time.Now().Add(2 * time.Second)
		for time.Now().Before(until) {
			time.Sleep(50 * time.Millisecond)
		}
		if evs := e.events.find(func(ev sentinelEvent) bool {
			return (ev.channel == "+sdown" || ev.channel == "+odown") && strings.HasPrefix(ev.msg, "master ")
		}); len(evs) > 0 {
			for _, ev := range evs {
				t.Errorf("%s: %s %s after pauses of %v (down-after %d ms)", ev.sentinel, ev.channel, ev.msg, pause, sentDownAfterMs)
			}
		}
		e.watch.check(t, m.pubAddr())
		e.checkOneMaster(m)
	})
}
