package integration

// consistency strong in sentinel mode (docs/consistency.md), with skiff
// sentinels and skiff data nodes started with --consistency strong. Each
// test injects one fault and checks the three promises: nothing the
// clients were told is lost, a master without a lease serves nothing, and
// only an in-sync replica is promoted. The randomised long runs are
// integration/faults; these are the deterministic cases.

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// strongWriter writes unique keys through one connection to a fixed
// address and records which writes were acknowledged.
type strongWriter struct {
	addr   string
	prefix string
	mu     sync.Mutex
	acked  []string
	errs   map[string]int
	stop   chan struct{}
	done   chan struct{}
}

func startStrongWriter(addr, prefix string) *strongWriter {
	w := &strongWriter{addr: addr, prefix: prefix, errs: map[string]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go w.loop()
	return w
}

func (w *strongWriter) loop() {
	defer close(w.done)
	var c *Conn
	for i := 0; i < 1_000_000; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		if c == nil {
			var err error
			if c, err = dialConn(w.addr, 500*time.Millisecond); err != nil {
				w.note("dial")
				time.Sleep(20 * time.Millisecond) // pacing a retry, not synchronisation
				continue
			}
		}
		key := w.prefix + strconv.Itoa(i)
		c.Timeout = 2 * time.Second
		r, err := c.Do("SET", key, "v")
		switch {
		case err != nil:
			w.note("io")
			c.Close()
			c = nil
		case r.IsError():
			w.note(strings.SplitN(r.Str, " ", 2)[0])
			time.Sleep(5 * time.Millisecond) // pacing while refused
		default:
			w.mu.Lock()
			w.acked = append(w.acked, key)
			w.mu.Unlock()
		}
	}
}

func (w *strongWriter) note(kind string) {
	w.mu.Lock()
	w.errs[kind]++
	w.mu.Unlock()
}

func (w *strongWriter) finish() (acked []string, errs map[string]int) {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.acked...), w.errs
}

func (w *strongWriter) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// missing returns the keys of acked that node does not hold.
func missingKeys(t *testing.T, d *dataNode, acked []string) []string {
	t.Helper()
	c := d.srv.Dial(t)
	defer c.Close()
	var miss []string
	for _, k := range acked {
		r := c.MustDo(t, "EXISTS", k)
		if r.Type != ':' {
			t.Fatalf("EXISTS %s on %s: %v", k, d.name, r)
		}
		if r.Int != 1 {
			miss = append(miss, k)
		}
	}
	return miss
}

// waitStrongServing waits until d answers a write (it holds a lease and
// has an in-sync replica).
func waitStrongServing(t *testing.T, d *dataNode, timeout time.Duration) {
	t.Helper()
	pollUntil(t, d.name+" serving writes", timeout, 50*time.Millisecond, func() (bool, string) {
		r, err := doOnce(d.srv.Addr(), time.Second, "SET", "probe", "1")
		if err != nil {
			return false, err.Error()
		}
		return !r.IsError(), r.Str
	})
}

// The master is cut from the sentinels and its replicas but not from a
// client that keeps writing to it. Nothing it acknowledged may be lost
// after the failover, and it must stop acknowledging within its lease.
func TestStrongSentinelIsolatedMasterLosesNothing(t *testing.T) {
	e := newSentinelEnv(t, stackSkiff, sentinelEnvOpts{strong: true})
	old := e.data[0]
	waitStrongServing(t, old, 10*time.Second)
	pinned := startStrongWriter(old.pubAddr(), "old:")
	pollUntil(t, "some writes acknowledged", 10*time.Second, 10*time.Millisecond, func() (bool, string) {
		return pinned.ackedCount() > 50, ""
	})
	others := []string{"d1", "d2", "s0", "s1", "s2"}
	e.lab.Partition([]string{"d0"}, others)
	cutAt := time.Now()
	t.Logf("partitioned d0 from %v", others)
	newMaster := e.waitNewMaster(old, e.sents, 20*time.Second)
	t.Logf("new master %s after %v", newMaster.name, time.Since(cutAt).Round(time.Millisecond))
	waitStrongServing(t, newMaster, 10*time.Second)
	follower := startStrongWriter(newMaster.pubAddr(), "new:")
	pollUntil(t, "writes on the new master", 10*time.Second, 10*time.Millisecond, func() (bool, string) {
		return follower.ackedCount() > 50, ""
	})
	ackedOld, errsOld := pinned.finish()
	ackedNew, _ := follower.finish()
	t.Logf("old master: %d acknowledged, errors %v", len(ackedOld), errsOld)
	e.lab.Heal()
	e.waitReplicaOf(old, newMaster, 30*time.Second)
	all := append(ackedOld, ackedNew...)
	if miss := missingKeys(t, newMaster, all); len(miss) > 0 {
		t.Fatalf("%d of %d acknowledged writes lost after the failover (first: %v)", len(miss), len(all), miss[:min(5, len(miss))])
	}
	if errsOld["MASTERDOWN"] == 0 && errsOld["io"] == 0 {
		t.Fatalf("the isolated master never refused a write (errors %v)", errsOld)
	}
}

// With every sentinel stopped nobody renews the lease: the master must
// refuse reads and writes once it lapses, and serve again when the
// sentinels come back.
func TestStrongSentinelLeaseLapsesWithoutQuorum(t *testing.T) {
	e := newSentinelEnv(t, stackSkiff, sentinelEnvOpts{strong: true})
	m := e.data[0]
	waitStrongServing(t, m, 10*time.Second)
	for _, s := range e.sents {
		if err := syscall.Kill(s.pid(), syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
	}
	stoppedAt := time.Now()
	t.Cleanup(func() {
		for _, s := range e.sents {
			syscall.Kill(s.pid(), syscall.SIGCONT)
		}
	})
	var refused time.Duration
	pollUntil(t, "the master refusing reads without a lease", 5*time.Second, 20*time.Millisecond, func() (bool, string) {
		r, err := doOnce(m.srv.Addr(), time.Second, "GET", "probe")
		if err != nil {
			return false, err.Error()
		}
		if r.IsError() && strings.HasPrefix(r.Str, "MASTERDOWN") {
			refused = time.Since(stoppedAt)
			return true, ""
		}
		return false, fmt.Sprintf("%v", r)
	})
	// consistency-lease-ms is 1000 and the master keeps 0.9 of it.
	if refused > 2*time.Second {
		t.Fatalf("the master served %v after its last possible renewal", refused)
	}
	t.Logf("master refused after %v", refused.Round(time.Millisecond))
	for _, s := range e.sents {
		syscall.Kill(s.pid(), syscall.SIGCONT)
	}
	waitStrongServing(t, m, 20*time.Second)
}

// The master restarts (kill -9, a new process at the same address, with
// no data) faster than a sentinel notices it down. The group must not let
// the empty process serve or feed its replicas: it fails over to an
// in-sync replica, which has every acknowledged write.
func TestStrongSentinelRestartedMasterIsReplaced(t *testing.T) {
	e := newSentinelEnv(t, stackSkiff, sentinelEnvOpts{strong: true})
	old := e.data[0]
	waitStrongServing(t, old, 10*time.Second)
	w := startStrongWriter(old.pubAddr(), "k:")
	pollUntil(t, "some writes acknowledged", 10*time.Second, 10*time.Millisecond, func() (bool, string) {
		return w.ackedCount() > 100, ""
	})
	e.killData(old)
	fresh, err := startServerErr(t, "skiff", append(append([]string{}, replOpts...), "--consistency", "strong",
		"--replica-announce-ip", "127.0.0.1", "--replica-announce-port", strconv.Itoa(old.px.Port())))
	if err != nil {
		t.Fatal(err)
	}
	old.px.setTarget(fresh.Addr())
	e.lab.register(fresh.Pid(), old.name)
	old.srv = fresh
	acked, errs := w.finish()
	t.Logf("%d acknowledged before the restart, errors %v", len(acked), errs)
	newMaster := e.waitNewMaster(old, e.sents, 20*time.Second)
	waitStrongServing(t, newMaster, 10*time.Second)
	if miss := missingKeys(t, newMaster, acked); len(miss) > 0 {
		for _, d := range e.data {
			ks, _ := d.info("keyspace")
			rp, _ := d.info("replication")
			t.Logf("%s %s: keyspace %v role %s offset %s", d.name, d.srv.Addr(), ks, rp["role"], rp["master_repl_offset"])
		}
		t.Fatalf("%d of %d acknowledged writes lost (first: %v)", len(miss), len(acked), miss[:min(5, len(miss))])
	}
	e.waitReplicaOf(old, newMaster, 30*time.Second)
}

// Both replicas die: the master drops them from the in-sync set after
// consistency-isr-timeout-ms, then refuses writes (-NOREPLICAS) and still
// serves reads; a replica that comes back and syncs restores writes.
func TestStrongSentinelNoReplicasRefusesWrites(t *testing.T) {
	e := newSentinelEnv(t, stackSkiff, sentinelEnvOpts{strong: true})
	m := e.data[0]
	waitStrongServing(t, m, 10*time.Second)
	e.lab.Partition([]string{"d1", "d2"}, []string{"d0", "s0", "s1", "s2"})
	pollUntil(t, "-NOREPLICAS from the master", 10*time.Second, 50*time.Millisecond, func() (bool, string) {
		r, err := doOnce(m.srv.Addr(), 3*time.Second, "SET", "k", "v")
		if err != nil {
			return false, err.Error()
		}
		return r.IsError() && strings.HasPrefix(r.Str, "NOREPLICAS"), fmt.Sprintf("%v", r)
	})
	r, err := doOnce(m.srv.Addr(), 3*time.Second, "GET", "probe")
	if err != nil || r.IsError() || r.Str != "1" {
		t.Fatalf("reads must go on without replicas: %v %v", r, err)
	}
	e.lab.Heal()
	waitStrongServing(t, m, 20*time.Second)
}
