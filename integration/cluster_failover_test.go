package integration

// Automatic cluster failover with real processes (docs/cluster.md,
// "Failover"): six nodes made by redis-cli --cluster create with
// cluster-node-timeout 1000; a master is killed with kill -9 while a
// go-redis ClusterClient writes to every shard. Its replica must take
// over, the other shards must never refuse a write, writes acknowledged
// before a WAIT fence must all survive, and the old master must come back
// as a replica of the new one. Then the Raft leader is killed, and then a
// whole shard.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skiffdb/skiff/slots"
)

// failoverCluster is a six-node cluster built with redis-cli.
type failoverCluster struct {
	t     *testing.T
	nodes []*raftNode
	addrs []string
	byAdr map[string]*raftNode
}

func startFailoverCluster(t *testing.T, extra ...string) *failoverCluster {
	t.Helper()
	fc := &failoverCluster{t: t, byAdr: map[string]*raftNode{}}
	args := append([]string{"--raft-nosync", "yes", "--repl-diskless-sync-delay", "1"}, extra...)
	for i := 0; i < 6; i++ {
		n := newRaftNode(t, fmt.Sprintf("f%d", i+1), args...)
		n.start()
		fc.nodes = append(fc.nodes, n)
	}
	for _, n := range fc.nodes {
		if err := n.waitUp(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		fc.addrs = append(fc.addrs, n.respAddr())
		fc.byAdr[n.respAddr()] = n
	}
	clusterCreate(t, fc.addrs)
	fc.waitSynced(30 * time.Second)
	// A short node timeout only once the cluster is formed: on a loaded
	// machine a node busy with its first full sync may not answer probes
	// for a second, and a FAIL flag in the middle of redis-cli's create
	// makes redis-cli skip that node.
	for _, a := range fc.addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		err := c.ConfigSet(context.Background(), "cluster-node-timeout", strconv.Itoa(testNodeTimeoutMs)).Err()
		c.Close()
		if err != nil {
			t.Fatalf("CONFIG SET cluster-node-timeout on %s: %v", a, err)
		}
	}
	return fc
}

// testNodeTimeoutMs is the tests' cluster-node-timeout: short, with a
// margin for a machine loaded by the other tests.
const testNodeTimeoutMs = 1500

// topology returns master address -> replica addresses, as CLUSTER NODES
// on addr shows it.
func (fc *failoverCluster) topology(addr string) (map[string][]string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	text, err := c.ClusterNodes(ctx).Result()
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	type line struct{ addr, flags, master string }
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		a := f[1]
		if i := strings.IndexByte(a, '@'); i >= 0 {
			a = a[:i]
		}
		ids[f[0]] = a
		lines = append(lines, line{a, f[2], f[3]})
	}
	out := map[string][]string{}
	for _, l := range lines {
		if strings.Contains(l.flags, "master") {
			if _, ok := out[l.addr]; !ok {
				out[l.addr] = nil
			}
		} else if m := ids[l.master]; m != "" {
			out[m] = append(out[m], l.addr)
		}
	}
	return out, nil
}

// waitSynced waits until every replica reports its master link up.
func (fc *failoverCluster) waitSynced(timeout time.Duration) {
	fc.t.Helper()
	deadline := time.Now().Add(timeout)
	for _, a := range fc.addrs {
		n := fc.byAdr[a]
		if !n.alive() {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		for {
			info, _ := c.Info(context.Background(), "replication").Result()
			if strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				fc.t.Fatalf("%s: replica not synced after %v:\n%s", a, timeout, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
}

// groupByMaster splits keys by the master that owns them.
func (fc *failoverCluster) groupByMaster(ctx context.Context, keys []string) [][]string {
	fc.t.Helper()
	by := map[string][]string{}
	var order []string
	for _, k := range keys {
		m, err := masterOfSlot(ctx, fc.addrs[0], slots.KeySlotString(k))
		if err != nil {
			fc.t.Fatal(err)
		}
		if by[m] == nil {
			order = append(order, m)
		}
		by[m] = append(by[m], k)
	}
	var out [][]string
	for _, m := range order {
		out = append(out, by[m])
	}
	return out
}

// logDecisions logs the failure detector's decisions from the nodes' logs.
func (fc *failoverCluster) logDecisions() {
	for _, n := range fc.nodes {
		b, _ := os.ReadFile(n.logPath)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "failure detector") || strings.Contains(l, "following the metadata") {
				fc.t.Logf("%s: %s", n.name, l)
			}
		}
	}
}

// masterOf returns the address of the master that owns slot, as addr sees it.
func masterOfSlot(ctx context.Context, addr string, slot int) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	r, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		return "", err
	}
	for _, s := range r {
		if slot >= s.Start && slot <= s.End && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("slot %d not served", slot)
}

// clusterWriter writes to keys spread over every slot range with a
// go-redis ClusterClient and records, per key, the last acknowledged value.
// On an error it reloads the client's view of the cluster (go-redis does
// not after a connection error) and goes on.
type clusterWriter struct {
	cc        *redis.ClusterClient
	keys      []string
	mu        sync.Mutex
	acked     map[string]int64
	ackedAt   map[string]time.Time
	ackedSent map[string]time.Time // when the acknowledged write was sent
	errs      map[string]int       // per key
	firstErr  map[string]error
	stop      chan struct{}
	done      chan struct{}
	writes    atomic.Int64
	seq       atomic.Int64 // the last value handed out
}

// newClusterWriter starts one writer goroutine per group of keys (one
// group per shard, so that a dead shard's retries do not starve the
// others); every value written is unique and increasing.
func newClusterWriter(addrs []string, groups ...[]string) *clusterWriter {
	w := &clusterWriter{
		// One dial attempt per try (go-redis's default is 5, 100 ms apart):
		// a client that wants to notice a dead master quickly.
		cc:        redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialerRetries: 1}),
		acked:     map[string]int64{},
		ackedAt:   map[string]time.Time{},
		ackedSent: map[string]time.Time{},
		errs:      map[string]int{},
		firstErr:  map[string]error{},
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	var wg sync.WaitGroup
	for _, g := range groups {
		if len(g) == 0 {
			continue
		}
		w.keys = append(w.keys, g...)
		wg.Add(1)
		go func(keys []string) {
			defer wg.Done()
			w.run(keys)
		}(g)
	}
	go func() {
		wg.Wait()
		close(w.done)
	}()
	return w
}

func (w *clusterWriter) run(keys []string) {
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return
		default:
		}
		k := keys[i%len(keys)]
		val := w.seq.Add(1)
		sent := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		err := w.cc.Set(cctx, k, val, 0).Err()
		cancel()
		w.mu.Lock()
		if err == nil {
			w.acked[k] = val
			w.ackedAt[k] = time.Now()
			// A write acknowledged just after the kill may have been
			// served by the dead master before it: waitAck looks at
			// writes sent after the kill.
			w.ackedSent[k] = sent
		} else {
			w.errs[k]++
			if w.firstErr[k] == nil {
				w.firstErr[k] = err
			}
		}
		w.mu.Unlock()
		w.writes.Add(1)
		if err != nil {
			// go-redis keeps its slot map after connection errors.
			rctx, rcancel := context.WithTimeout(ctx, time.Second)
			w.cc.ReloadState(rctx)
			rcancel()
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (w *clusterWriter) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.cc.Close()
}

// keysPerSlotRange returns n keys whose slots spread over the whole range.
func spreadKeys(n int) []string {
	var out []string
	for i := 0; len(out) < n && i < 1000000; i++ {
		k := fmt.Sprintf("fo:%d", i)
		if slots.KeySlotString(k)*n/16384 == len(out) {
			out = append(out, k)
		}
	}
	return out
}

// firstAckAfter returns the first time after t0 that a key in slots owned
// by owner (per the map) was acknowledged, polling until the deadline.
func (w *clusterWriter) waitAck(keys []string, after time.Time, timeout time.Duration) (time.Duration, bool) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		w.mu.Lock()
		var first time.Time
		for _, k := range keys {
			if at := w.ackedAt[k]; w.ackedSent[k].After(after) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
		w.mu.Unlock()
		if !first.IsZero() {
			return first.Sub(after), true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, false
}

func TestClusterFailoverKillMaster(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	fc := startFailoverCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	keys := spreadKeys(300)
	victimAddr, err := masterOfSlot(ctx, fc.addrs[0], slots.KeySlotString(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	topo, err := fc.topology(fc.addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	replicas := topo[victimAddr]
	if len(replicas) != 1 {
		t.Fatalf("master %s has replicas %v, want 1 (topology %v)", victimAddr, replicas, topo)
	}
	var victimKeys, otherKeys []string
	for _, k := range keys {
		m, err := masterOfSlot(ctx, fc.addrs[0], slots.KeySlotString(k))
		if err != nil {
			t.Fatal(err)
		}
		if m == victimAddr {
			victimKeys = append(victimKeys, k)
		} else {
			otherKeys = append(otherKeys, k)
		}
	}

	w := newClusterWriter(fc.addrs, fc.groupByMaster(ctx, keys)...)
	defer w.close()
	// Writes go on for a moment, then a fence: WAIT on the victim makes
	// sure everything acknowledged so far is on its replica.
	for deadline := time.Now().Add(10 * time.Second); w.writes.Load() < 500; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the writer made %d writes in 10 s", w.writes.Load())
		}
	}
	vc := redis.NewClient(&redis.Options{Addr: victimAddr, MaxRetries: -1})
	w.mu.Lock()
	fenced := map[string]int64{}
	for k, v := range w.acked {
		fenced[k] = v
	}
	w.mu.Unlock()
	if n, err := vc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 on the master: %d, %v", n, err)
	}
	vc.Close()

	victim := fc.byAdr[victimAddr]
	killedAt := time.Now()
	victim.kill()
	took, ok := w.waitAck(victimKeys, killedAt, 20*time.Second)
	if !ok {
		topo, _ := fc.topology(replicas[0])
		t.Fatalf("no write to the killed master's slots acknowledged within 20 s (topology %v)", topo)
	}
	t.Logf("kill -9 at %s -> first acknowledged write to the dead master's slots: %v", killedAt.Format("15:04:05.000"), took.Round(time.Millisecond))
	fc.logDecisions()
	// Other shards keep taking writes.
	time.Sleep(300 * time.Millisecond) // a few more writes after the failover, on every shard
	w.close()

	w.mu.Lock()
	for _, k := range otherKeys {
		if w.errs[k] > 0 {
			t.Errorf("key %s of a healthy master saw %d errors (first: %v)", k, w.errs[k], w.firstErr[k])
		}
	}
	victimErrs := 0
	for _, k := range victimKeys {
		victimErrs += w.errs[k]
	}
	w.mu.Unlock()
	t.Logf("writes: %d; errors on the dead master's keys while it was down: %d", w.writes.Load(), victimErrs)

	// Everything acknowledged before the fence survived; count the rest.
	newMaster := replicas[0]
	nc := redis.NewClient(&redis.Options{Addr: newMaster})
	defer nc.Close()
	lostFenced, lostAfter := 0, 0
	for _, k := range victimKeys {
		got, err := nc.Get(ctx, k).Int64()
		if err != nil && err != redis.Nil {
			t.Fatalf("GET %s on the new master: %v", k, err)
		}
		if want := fenced[k]; want > 0 && got < want {
			lostFenced++
			t.Errorf("%s = %d on the new master, %d was acknowledged before the WAIT fence", k, got, want)
		}
		if got < w.acked[k] {
			lostAfter++
		}
	}
	t.Logf("acknowledged writes lost: %d before the fence, %d keys behind their last acknowledged value", lostFenced, lostAfter)

	// The killed master comes back as a replica of the promoted one.
	victim.start()
	if err := victim.waitUp(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	oc := redis.NewClient(&redis.Options{Addr: victimAddr, MaxRetries: -1})
	defer oc.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, _ := oc.Info(ctx, "replication").Result()
		if strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") &&
			strings.Contains(info, "master_port:"+strings.Split(newMaster, ":")[1]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the returning master is not a replica of %s:\n%s", newMaster, info)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		text, _ := oc.ClusterNodes(ctx).Result()
		if !strings.Contains(text, "fail") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FAIL not cleared after the node returned:\n%s", text)
		}
	}
	clusterCheck(t, fc.addrs[0])
}

// raftLeader returns the node that leads the Raft group, as the first
// live node's admin API reports it.
func (fc *failoverCluster) raftLeader() *raftNode {
	fc.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, n := range fc.nodes {
			if !n.alive() {
				continue
			}
			st, err := n.status()
			if err != nil || st.LeaderID == "" {
				continue
			}
			for _, m := range fc.nodes {
				if m.alive() && m.id(fc.t) == st.LeaderID {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			fc.t.Fatal("no raft leader known after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// writeAll sets one key per shard through a fresh ClusterClient and
// reports the first error.
func writeEverySlotRange(ctx context.Context, addrs []string, keys []string) error {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialerRetries: 1})
	defer cc.Close()
	for _, k := range keys {
		if err := cc.Set(ctx, k, "x", 0).Err(); err != nil {
			return fmt.Errorf("SET %s: %w", k, err)
		}
	}
	return nil
}

// TestClusterFailoverKillRaftLeader: the node leading the Raft group is
// killed. A new leader is elected, it finishes the job (a failover when
// the dead leader was a master), and every slot takes writes again.
func TestClusterFailoverKillRaftLeader(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	fc := startFailoverCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	leader := fc.raftLeader()
	topo, err := fc.topology(fc.addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	_, wasMaster := topo[leader.respAddr()]
	t.Logf("raft leader %s (%s), master: %v", leader.name, leader.respAddr(), wasMaster)
	keys := spreadKeys(64)
	groups := fc.groupByMaster(ctx, keys)
	w := newClusterWriter(fc.addrs, groups...)
	defer w.close()
	for deadline := time.Now().Add(10 * time.Second); w.writes.Load() < 200; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the writer made %d writes in 10 s", w.writes.Load())
		}
	}
	killedAt := time.Now()
	leader.kill()
	var survivors []string
	for _, a := range fc.addrs {
		if a != leader.respAddr() {
			survivors = append(survivors, a)
		}
	}
	// Every key takes a write again.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok := true
		w.mu.Lock()
		for _, k := range keys {
			if !w.ackedAt[k].After(killedAt.Add(time.Duration(testNodeTimeoutMs) * time.Millisecond)) {
				ok = false
				break
			}
		}
		w.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			topo, _ := fc.topology(survivors[0])
			t.Fatalf("not every key took a write within 30 s of killing the raft leader (topology %v)", topo)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("every key written again %v after the kill", time.Since(killedAt).Round(time.Millisecond))
	fc.logDecisions()
	w.close()
	// The shards the dead node did not lead never refused a write, even
	// while the group elected a new leader.
	w.mu.Lock()
	for _, g := range groups {
		m, _ := masterOfSlot(ctx, survivors[0], slots.KeySlotString(g[0]))
		if wasMaster && m == topo[leader.respAddr()][0] {
			continue // the dead leader's shard, now led by its replica
		}
		for _, k := range g {
			if w.errs[k] > 0 {
				t.Errorf("key %s of a healthy shard saw %d errors (first: %v)", k, w.errs[k], w.firstErr[k])
			}
		}
	}
	w.mu.Unlock()
	if newLeader := fc.raftLeader(); newLeader == leader {
		t.Fatal("the dead node still leads")
	}
	if wasMaster {
		topo, err := fc.topology(survivors[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, still := topo[leader.respAddr()]; still {
			t.Fatalf("the dead leader is still a master: %v", topo)
		}
	}
	leader.start()
	if err := leader.waitUp(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err := redisCli(t, 10*time.Second, "--cluster", "check", fc.addrs[0])
		if err == nil && !strings.Contains(out, "[ERR]") && !strings.Contains(out, "[WARNING]") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster check not clean 20 s after the old leader returned:\n%s", out)
		}
	}
	if err := writeEverySlotRange(ctx, fc.addrs, keys); err != nil {
		t.Fatal(err)
	}
}

// TestClusterTwoDown: a master and its only replica are killed together.
// As in Redis (cluster-require-full-coverage yes), the cluster then
// refuses keyed commands with CLUSTERDOWN, since some slots have no
// owner left; it is never split. When the two return, with their AOF, the
// cluster is whole again and no acknowledged write of that shard is lost.
// When both were Raft voters the group also loses its quorum for that
// time: the surviving nodes then answer CLUSTERDOWN as well, for the same
// outcome.
func TestClusterTwoDown(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	fc := startFailoverCluster(t, "--appendonly", "yes", "--appendfsync", "always")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	keys := spreadKeys(64)
	if err := writeEverySlotRange(ctx, fc.addrs, keys); err != nil {
		t.Fatal(err)
	}
	victim, err := masterOfSlot(ctx, fc.addrs[0], slots.KeySlotString(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	topo, err := fc.topology(fc.addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(topo[victim]) != 1 {
		t.Fatalf("topology %v", topo)
	}
	replica := topo[victim][0]
	vc := redis.NewClient(&redis.Options{Addr: victim})
	for i, k := range keys {
		if err := vc.Set(ctx, "{"+k+"}two", i, 0).Err(); err != nil && !strings.HasPrefix(err.Error(), "MOVED") {
			t.Fatal(err)
		}
	}
	if n, err := vc.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT: %d %v", n, err)
	}
	vc.Close()
	fc.byAdr[victim].kill()
	fc.byAdr[replica].kill()
	var survivor string
	for _, a := range fc.addrs {
		if a != victim && a != replica {
			survivor = a
			break
		}
	}
	sc := redis.NewClient(&redis.Options{Addr: survivor, MaxRetries: -1})
	defer sc.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, _ := sc.ClusterInfo(ctx).Result()
		if strings.Contains(info, "cluster_state:fail") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster_state not fail 30 s after a whole shard died:\n%s", info)
		}
	}
	if err := sc.Get(ctx, keys[0]).Err(); err == nil || !strings.HasPrefix(err.Error(), "CLUSTERDOWN") {
		t.Fatalf("GET while a shard is down: %v, want CLUSTERDOWN", err)
	}
	fc.byAdr[victim].start()
	fc.byAdr[replica].start()
	for _, a := range []string{victim, replica} {
		if err := fc.byAdr[a].waitUp(20 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, _ := sc.ClusterInfo(ctx).Result()
		if strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster_state not ok 30 s after the shard returned:\n%s", info)
		}
	}
	fc.logDecisions()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: fc.addrs})
	defer cc.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := writeEverySlotRange(ctx, fc.addrs, keys)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes after the shard returned: %v", err)
		}
	}
	for i, k := range keys {
		got, err := cc.Get(ctx, "{"+k+"}two").Int()
		if slots.KeySlotString(k) != slots.KeySlotString(keys[0]) && err == redis.Nil {
			continue // written to another master through MOVED? only the victim's keys were set
		}
		if err != nil && err != redis.Nil {
			t.Fatalf("GET {%s}two: %v", k, err)
		}
		if err == nil && got != i {
			t.Fatalf("{%s}two = %d, want %d", k, got, i)
		}
	}
}

// TestClusterReplicaNoFailover: a replica with cluster-replica-no-failover
// yes is never promoted (its flag shows in every node's CLUSTER NODES);
// the cluster is down while its master is. Turning the option off lets the
// failure detector promote it.
func TestClusterReplicaNoFailover(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	fc := startFailoverCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topo, err := fc.topology(fc.addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	var victim, replica, other string
	for m, rs := range topo {
		if victim == "" && len(rs) == 1 {
			victim, replica = m, rs[0]
		} else {
			other = m
		}
	}
	rc := redis.NewClient(&redis.Options{Addr: replica, MaxRetries: -1})
	defer rc.Close()
	if err := rc.ConfigSet(ctx, "cluster-replica-no-failover", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	oc := redis.NewClient(&redis.Options{Addr: other, MaxRetries: -1})
	defer oc.Close()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		text, _ := oc.ClusterNodes(ctx).Result()
		if strings.Contains(text, replica) && strings.Contains(lineOf(text, replica), "slave,nofailover") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nofailover not shown for %s:\n%s", replica, text)
		}
	}
	fc.byAdr[victim].kill()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		text, _ := oc.ClusterNodes(ctx).Result()
		if strings.Contains(lineOf(text, victim), "master,fail") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead master is not marked failed:\n%s", text)
		}
	}
	// Three node timeouts more: still not promoted, and the cluster is down.
	end := time.Now().Add(3 * time.Duration(testNodeTimeoutMs) * time.Millisecond)
	for time.Now().Before(end) {
		if text, _ := oc.ClusterNodes(ctx).Result(); !strings.Contains(lineOf(text, replica), "slave") {
			t.Fatalf("a nofailover replica was promoted:\n%s", text)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if info, _ := oc.ClusterInfo(ctx).Result(); !strings.Contains(info, "cluster_state:fail") {
		t.Fatalf("cluster_state with an unowned shard:\n%s", info)
	}
	if err := rc.ConfigSet(ctx, "cluster-replica-no-failover", "no").Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		text, _ := oc.ClusterNodes(ctx).Result()
		if strings.Contains(lineOf(text, replica), "master") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica was not promoted once allowed:\n%s", text)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if info, _ := oc.ClusterInfo(ctx).Result(); strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("cluster_state not ok after the promotion")
		}
	}
}

// lineOf returns the CLUSTER NODES line of the node at addr.
func lineOf(text, addr string) string {
	for _, l := range strings.Split(text, "\n") {
		if f := strings.Fields(l); len(f) > 2 && strings.HasPrefix(f[1], addr+"@") {
			return l
		}
	}
	return ""
}
