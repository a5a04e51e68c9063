package integration

// Redis Cluster end to end (docs/cluster.md): six `skiff server
// --cluster-enabled yes` nodes, each a cluster of one, are formed by
// `redis-cli --cluster create ... --cluster-replicas 1` exactly as Redis
// nodes are; `redis-cli --cluster check` must be clean; a go-redis
// ClusterClient writes and reads 1000 keys, and each key is on the
// master CLUSTER SLOTS names; then the shapes of CLUSTER NODES, SLOTS,
// SHARDS and INFO are compared with a redis-server cluster built the same
// way.

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterNodes starts count skiff cluster nodes (each a cluster of one).
func startSkiffClusterNodes(t *testing.T, count int) []*raftNode {
	t.Helper()
	nodes := make([]*raftNode, count)
	for i := range nodes {
		nodes[i] = newRaftNode(t, fmt.Sprintf("c%d", i+1), "--raft-nosync", "yes", "--repl-diskless-sync-delay", "1")
		nodes[i].start()
	}
	for _, n := range nodes {
		if err := n.waitUp(20 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// startRedisClusterNodes starts count redis-server cluster nodes.
func startRedisClusterNodes(t *testing.T, count int) []*Server {
	t.Helper()
	out := make([]*Server, count)
	for i := range out {
		bus, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = StartRedis(t, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000", "--repl-diskless-sync-delay", "1")
	}
	return out
}

func redisCli(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, redisCliBin, args...).CombinedOutput()
	return string(out), err
}

// clusterCreate runs redis-cli --cluster create with one replica per
// master and requires success.
func clusterCreate(t *testing.T, addrs []string) string {
	t.Helper()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	out, err := redisCli(t, 60*time.Second, args...)
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	if !strings.Contains(out, "[OK] All 16384 slots covered.") || strings.Contains(out, "[ERR]") {
		t.Fatalf("redis-cli --cluster create:\n%s", out)
	}
	return out
}

func clusterCheck(t *testing.T, addr string) {
	t.Helper()
	out, err := redisCli(t, 30*time.Second, "--cluster", "check", addr)
	if err != nil || strings.Contains(out, "[ERR]") || strings.Contains(out, "[WARNING]") {
		t.Fatalf("redis-cli --cluster check %s: %v\n%s", addr, err, out)
	}
}

func TestClusterCreateAndClients(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	t.Parallel()
	nodes := startSkiffClusterNodes(t, 6)
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.respAddr()
	}
	start := time.Now()
	clusterCreate(t, addrs)
	t.Logf("redis-cli --cluster create took %v", time.Since(start).Round(time.Millisecond))
	clusterCheck(t, addrs[0])
	clusterCheck(t, addrs[4])

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	for i := 0; i < 1000; i++ {
		k := fmt.Sprintf("key:%d", i)
		if err := cc.Set(ctx, k, "v"+strconv.Itoa(i), 0).Err(); err != nil {
			t.Fatalf("ClusterClient SET %s: %v", k, err)
		}
	}
	for i := 0; i < 1000; i++ {
		k := fmt.Sprintf("key:%d", i)
		if v, err := cc.Get(ctx, k).Result(); err != nil || v != "v"+strconv.Itoa(i) {
			t.Fatalf("ClusterClient GET %s = %q, %v", k, v, err)
		}
	}

	// Every key is on the master CLUSTER SLOTS names, and only there.
	one := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer one.Close()
	// Replicas show in CLUSTER SLOTS once they have synced.
	var slotsReply []redis.ClusterSlot
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r, err := one.ClusterSlots(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, x := range r {
			n += len(x.Nodes) - 1
		}
		slotsReply = r
		if n == 3 && len(r) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CLUSTER SLOTS = %v, want 3 ranges with one replica each", r)
		}
	}
	owner := make([]string, 16384)
	replicasOf := map[string][]string{}
	for _, r := range slotsReply {
		for s := r.Start; s <= r.End; s++ {
			owner[s] = r.Nodes[0].Addr
		}
		for _, rep := range r.Nodes[1:] {
			replicasOf[r.Nodes[0].Addr] = append(replicasOf[r.Nodes[0].Addr], rep.Addr)
		}
	}
	direct := map[string]*redis.Client{}
	for _, a := range addrs {
		direct[a] = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		defer direct[a].Close()
	}
	counts := map[string]int{}
	for i := 0; i < 1000; i++ {
		k := fmt.Sprintf("key:%d", i)
		slot, err := one.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		m := owner[slot]
		if m == "" {
			t.Fatalf("slot %d of %s has no owner in CLUSTER SLOTS", slot, k)
		}
		counts[m]++
		if v, err := direct[m].Get(ctx, k).Result(); err != nil || v != "v"+strconv.Itoa(i) {
			t.Fatalf("GET %s on its master %s = %q, %v", k, m, v, err)
		}
		for _, a := range addrs {
			if a == m || i%10 != 0 {
				continue
			}
			err := direct[a].Get(ctx, k).Err()
			if err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("MOVED %d %s", slot, m)) {
				t.Fatalf("GET %s on %s (not its master %s): %v, want MOVED", k, a, m, err)
			}
		}
	}
	if len(counts) != 3 {
		t.Fatalf("keys on %d masters, want 3: %v", len(counts), counts)
	}
	// Replicas got the data over PSYNC and serve it after READONLY.
	for m, reps := range replicasOf {
		if len(reps) != 1 {
			t.Fatalf("master %s has replicas %v in CLUSTER SLOTS, want one", m, reps)
		}
	}
	for i := 0; i < 1000; i += 97 {
		k := fmt.Sprintf("key:%d", i)
		slot, _ := one.ClusterKeySlot(ctx, k).Result()
		rep := replicasOf[owner[slot]][0]
		rc := redis.NewClient(&redis.Options{Addr: rep, OnConnect: func(ctx context.Context, cn *redis.Conn) error {
			return cn.ReadOnly(ctx).Err()
		}})
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, err := rc.Get(ctx, k).Result()
			if err == nil && v == "v"+strconv.Itoa(i) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("READONLY GET %s on replica %s = %q, %v", k, rep, v, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := rc.Set(ctx, k, "x", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED ") {
			t.Fatalf("SET on a READONLY replica: %v, want MOVED", err)
		}
		rc.Close()
	}
	// redis-py's RedisCluster (Debian's python3-redis 4.3.4), if there.
	if err := exec.Command(pythonBin, "-c", "import redis.cluster").Run(); err == nil {
		script := `
import sys
from redis.cluster import RedisCluster
rc = RedisCluster(host="127.0.0.1", port=int(sys.argv[1]))
for i in range(300):
    rc.set("py:%d" % i, i)
assert sum(int(rc.get("py:%d" % i)) for i in range(300)) == 44850
assert rc.get("key:3") == b"v3"
print("ok", len(rc.get_nodes()))
`
		out, err := exec.Command(pythonBin, "-c", script, strconv.Itoa(nodes[2].port)).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "ok 6") {
			t.Errorf("redis-py RedisCluster: %v\n%s", err, out)
		}
	}
	// redis-cli -c follows MOVED.
	out, err := redisCli(t, 10*time.Second, "-c", "-h", "127.0.0.1", "-p", strconv.Itoa(nodes[1].port), "GET", "key:7")
	if err != nil || strings.TrimSpace(out) != "v7" {
		t.Fatalf("redis-cli -c GET key:7 = %q, %v", out, err)
	}
	// Errors and cluster-mode rules, as Redis answers them.
	c := direct[addrs[0]]
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"MSET", "a", "1", "b", "2"}, "CROSSSLOT Keys in request don't hash to the same slot"},
		{[]any{"SELECT", "1"}, "ERR SELECT is not allowed in cluster mode"},
		{[]any{"CLUSTER", "ADDSLOTS", "0"}, "ERR Slot 0 is already busy"},
		{[]any{"CLUSTER", "ADDSLOTS", "16384"}, "ERR Invalid or out of range slot"},
		{[]any{"CLUSTER", "SETSLOT", "0", "MIGRATING", "nosuchnode"}, "ERR I don't know about node nosuchnode"},
		{[]any{"CLUSTER", "REPLICATE", "nosuchnode"}, "ERR Unknown node nosuchnode"},
		{[]any{"CLUSTER", "SET-CONFIG-EPOCH", "9"}, "ERR The user can assign a config epoch only when the node does not know any other node."},
		{[]any{"CLUSTER", "FORGET", nodes[0].id(t)}, "ERR I tried hard but I can't forget myself..."},
	} {
		err := c.Do(ctx, tc.args...).Err()
		if err == nil || err.Error() != tc.want {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
	if v, err := c.Do(ctx, "CLUSTER", "KEYSLOT", "foo").Int(); err != nil || v != 12182 {
		t.Errorf("CLUSTER KEYSLOT foo = %d, %v", v, err)
	}
	if n, err := direct[owner[0]].Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", "0").Int(); err != nil || n != 0 {
		t.Errorf("COUNTKEYSINSLOT 0 = %d, %v", n, err)
	}
	redirectionsInDetail(t, owner, addrs)
	manualFailover(t, cc, owner[3300], replicasOf[owner[3300]][0])
}

// manualFailover runs CLUSTER FAILOVER (no option) on a replica while a
// ClusterClient writes to its master's slots: the master's writes wait,
// the replica catches up and is promoted, the writes go on to it, and no
// acknowledged write is lost; the old master follows the new one with a
// partial resync.
func manualFailover(t *testing.T, cc *redis.ClusterClient, master, replica string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	acked := make([]int, 300)
	var movedRetries atomic.Int64
	defer func() {
		t.Logf("manual failover: %d writes retried after an unfinished MOVED chain", movedRetries.Load())
	}()
	stop, done := make(chan struct{}), make(chan error, 1)
	go func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			// Both nodes apply the promotion on their own; for a moment
			// one may redirect to the other before that one has applied
			// it, and go-redis gives up after 3 redirections. Such a write
			// is retried (bounded) and counted: it was never acknowledged,
			// so nothing is lost. Any other error fails the test.
			var err error
			for try := 0; try < 50; try++ {
				err = cc.Set(ctx, fmt.Sprintf("{b}mf%d", n%300), n, 0).Err()
				if err == nil || !strings.HasPrefix(err.Error(), "MOVED ") {
					break
				}
				movedRetries.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
			if err != nil {
				done <- err
				return
			}
			acked[n%300] = n
		}
	}()
	time.Sleep(300 * time.Millisecond)
	r := redis.NewClient(&redis.Options{Addr: replica})
	defer r.Close()
	if err := r.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatalf("CLUSTER FAILOVER: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		text, _ := r.ClusterNodes(ctx).Result()
		if strings.Contains(text, "myself,master") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica was not promoted:\n%s", text)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // writes go on to the new master
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("a write failed during the manual failover: %v", err)
	}
	for i, n := range acked {
		if n == 0 {
			continue
		}
		if v, err := r.Get(ctx, fmt.Sprintf("{b}mf%d", i)).Int(); err != nil || v != n {
			t.Fatalf("{b}mf%d = %d, %v on the new master, acknowledged %d", i, v, err, n)
		}
	}
	old := redis.NewClient(&redis.Options{Addr: master})
	defer old.Close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, _ := old.Info(ctx, "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old master does not replicate from the new one:\n%s", info)
		}
	}
	if info, _ := r.Info(ctx, "stats").Result(); !strings.Contains(info, "sync_full:0") || strings.Contains(info, "sync_partial_ok:0") {
		t.Errorf("the old master did not resync partially:\n%s", info)
	}
}

// redirectionsInDetail checks MULTI/EXEC and a slot migration's ASK,
// ASKING and TRYAGAIN on raw connections, against Redis's texts.
func redirectionsInDetail(t *testing.T, owner []string, addrs []string) {
	raw := func(addr string) *Conn {
		_, p, _ := strings.Cut(addr, ":")
		port, _ := strconv.Atoi(p)
		return (&Server{Kind: "skiff", Port: port}).Dial(t)
	}
	expect := func(c *Conn, want string, args ...string) {
		t.Helper()
		r := c.MustDo(t, args...)
		if got := r.String(); got != want {
			t.Errorf("%v: %s, want %s", args, got, want)
		}
	}
	m0addr, m1addr := owner[0], owner[16383]
	m0, m1 := raw(m0addr), raw(m1addr)
	slotOf := func(k string) int { n, _ := strconv.Atoi(m0.MustDo(t, "CLUSTER", "KEYSLOT", k).Str); return n }
	// Two keys of two slots of m0, and a key of m1.
	var k1, k2 string
	for i := 0; k2 == ""; i++ {
		k := fmt.Sprintf("x%d", i)
		if owner[slotOf(k)] != m0addr {
			continue
		}
		if k1 == "" {
			k1 = k
		} else if slotOf(k) != slotOf(k1) {
			k2 = k
		}
	}
	other := "foo" // slot 12182
	if owner[12182] == m0addr {
		t.Fatalf("unexpected layout")
	}
	moved := fmt.Sprintf("-MOVED 12182 %s", owner[12182])
	// A redirected command inside MULTI fails the transaction.
	expect(m0, "+OK", "MULTI")
	expect(m0, "+QUEUED", "SET", k1, "1")
	expect(m0, moved, "SET", other, "1")
	expect(m0, "-EXECABORT Transaction discarded because of previous errors.", "EXEC")
	// Queued commands of two slots: EXEC answers CROSSSLOT and discards.
	expect(m0, "+OK", "MULTI")
	expect(m0, "+QUEUED", "SET", k1, "1")
	expect(m0, "+QUEUED", "SET", k2, "1")
	expect(m0, "-CROSSSLOT Keys in request don't hash to the same slot", "EXEC")
	expect(m0, "-ERR EXEC without MULTI", "EXEC")

	// Migrate k1's slot from m0 to m1 by hand.
	s := strconv.Itoa(slotOf(k1))
	id0 := m0.MustDo(t, "CLUSTER", "MYID").Str
	id1 := m1.MustDo(t, "CLUSTER", "MYID").Str
	tag := "{" + k1 + "}"
	expect(m0, "+OK", "SET", tag+"a", "1")
	expect(m1, "+OK", "CLUSTER", "SETSLOT", s, "IMPORTING", id0)
	expect(m0, "+OK", "CLUSTER", "SETSLOT", s, "MIGRATING", id1)
	if nodes := m0.MustDo(t, "CLUSTER", "NODES").Str; !strings.Contains(nodes, "["+s+"->-"+id1+"]") {
		t.Errorf("migrating mark missing on the source:\n%s", nodes)
	}
	if nodes := m1.MustDo(t, "CLUSTER", "NODES").Str; !strings.Contains(nodes, "["+s+"-<-"+id0+"]") {
		t.Errorf("importing mark missing on the target:\n%s", nodes)
	}
	ask := fmt.Sprintf("-ASK %s %s", s, m1addr)
	expect(m0, "$\"1\"", "GET", tag+"a") // present: served by the source
	expect(m0, ask, "GET", tag+"b")      // missing: ASK
	expect(m0, "-TRYAGAIN Multiple keys request during rehashing of slot", "MGET", tag+"a", tag+"b")
	expect(m1, fmt.Sprintf("-MOVED %s %s", s, m0addr), "GET", tag+"b") // no ASKING
	expect(m1, "+OK", "ASKING")
	expect(m1, "+OK", "SET", tag+"b", "2")
	expect(m1, fmt.Sprintf("-MOVED %s %s", s, m0addr), "GET", tag+"b") // ASKING was for one command
	expect(m0, "+OK", "MIGRATE", strings.Split(m1addr, ":")[0], strings.Split(m1addr, ":")[1], tag+"a", "0", "5000")
	expect(m0, ":0", "CLUSTER", "COUNTKEYSINSLOT", s)
	expect(m1, "+OK", "CLUSTER", "SETSLOT", s, "NODE", id1)
	expect(m0, "+OK", "CLUSTER", "SETSLOT", s, "NODE", id1)
	deadline := time.Now().Add(5 * time.Second)
	for m0.MustDo(t, "GET", tag+"a").String() != fmt.Sprintf("-MOVED %s %s", s, m1addr) {
		if time.Now().After(deadline) {
			t.Fatalf("the source does not redirect slot %s to its new owner", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	expect(m1, "*[$\"1\", $\"2\"]", "MGET", tag+"a", tag+"b")
	if nodes := m1.MustDo(t, "CLUSTER", "NODES").Str; strings.Contains(nodes, "[") {
		t.Errorf("marks left after SETSLOT NODE:\n%s", nodes)
	}
}

// id reads a node's CLUSTER MYID.
func (n *raftNode) id(t *testing.T) string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: n.respAddr()})
	defer c.Close()
	id, err := c.Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var hexID = regexp.MustCompile(`^[0-9a-f]{40}$`)

// shape normalizes a reply for comparison with another server's: node
// ids, ports, offsets and timestamps become placeholders.
func shape(r Reply) string {
	var b strings.Builder
	var walk func(r Reply)
	walk = func(r Reply) {
		switch {
		case r.Type == '$' && hexID.MatchString(r.Str):
			b.WriteString("$<id>")
		case r.Type == ':':
			b.WriteString(":<n>")
		case len(r.Elems) > 0 || r.Type == '*' || r.Type == '%':
			b.WriteByte(r.Type)
			b.WriteByte('[')
			for i, e := range r.Elems {
				if i > 0 {
					b.WriteByte(' ')
				}
				walk(e)
			}
			b.WriteByte(']')
		default:
			b.WriteString(r.String())
		}
	}
	walk(r)
	return b.String()
}

// sortedShapes is shape with the top-level elements sorted (CLUSTER
// SHARDS and the node order inside are in no particular order).
func sortedShapes(r Reply) string {
	var parts []string
	for _, e := range r.Elems {
		parts = append(parts, shape(e))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n")
}

var (
	nodeAddrRe = regexp.MustCompile(`:\d+@\d+`)
	numRe      = regexp.MustCompile(`^\d+$`)
	movedRe    = regexp.MustCompile(`:\d+$`)
)

// nodesShape normalizes CLUSTER NODES: ids, ports and timestamps; the
// lines sorted.
func nodesShape(text string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		f := strings.Fields(l)
		for i := range f {
			switch {
			case hexID.MatchString(f[i]):
				f[i] = "<id>"
			case i == 1:
				f[i] = nodeAddrRe.ReplaceAllString(f[i], ":<port>@<bus>")
			case i == 4 || i == 5:
				if numRe.MatchString(f[i]) {
					f[i] = "<ms>"
				}
			}
		}
		lines = append(lines, strings.Join(f, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// infoFields lists CLUSTER INFO's field names (message stats apart).
func infoFields(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\r\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || strings.HasPrefix(k, "cluster_stats_messages_") && k != "cluster_stats_messages_sent" && k != "cluster_stats_messages_received" {
			continue
		}
		if k == "cluster_stats_messages_sent" || k == "cluster_stats_messages_received" {
			v = "<n>"
		}
		out = append(out, k+":"+v)
	}
	return strings.Join(out, "\n")
}

func TestClusterRepliesLikeRedis(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	t.Parallel()
	sk := startSkiffClusterNodes(t, 6)
	rd := startRedisClusterNodes(t, 6)
	var skAddrs, rdAddrs []string
	for i := range sk {
		skAddrs = append(skAddrs, sk[i].respAddr())
		rdAddrs = append(rdAddrs, rd[i].Addr())
	}
	// A fresh node first.
	fresh := func(addr string) string {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		s, _ := c.Do(context.Background(), "CLUSTER", "NODES").Text()
		return nodesShape(s)
	}
	if a, b := fresh(skAddrs[0]), fresh(rdAddrs[0]); a != b {
		t.Errorf("fresh CLUSTER NODES:\nskiff: %s\nredis: %s", a, b)
	}
	clusterCreate(t, skAddrs)
	clusterCreate(t, rdAddrs)
	clusterCheck(t, skAddrs[0])
	clusterCheck(t, rdAddrs[0])

	dial := func(addr string, proto int) *Conn {
		t.Helper()
		s := &Server{Port: func() int { _, p, _ := strings.Cut(addr, ":"); n, _ := strconv.Atoi(p); return n }()}
		c := s.Dial(t)
		if proto == 3 {
			c.MustDo(t, "HELLO", "3")
		}
		return c
	}
	type probe struct {
		name  string
		args  []string
		shape func(Reply) string
	}
	probes := []probe{
		{"CLUSTER NODES", []string{"CLUSTER", "NODES"}, func(r Reply) string { return nodesShape(strings.TrimPrefix(r.Str, "txt:")) }},
		{"CLUSTER SLOTS", []string{"CLUSTER", "SLOTS"}, shape},
		{"CLUSTER SHARDS", []string{"CLUSTER", "SHARDS"}, sortedShapes},
		{"CLUSTER INFO", []string{"CLUSTER", "INFO"}, func(r Reply) string { return infoFields(strings.TrimPrefix(r.Str, "txt:")) }},
		{"CLUSTER MYID", []string{"CLUSTER", "MYID"}, shape},
		{"CLUSTER REPLICAS of myself", nil, func(r Reply) string { return r.String() }},
		{"CLUSTER COUNT-FAILURE-REPORTS", nil, shape},
		{"CLUSTER KEYSLOT", []string{"CLUSTER", "KEYSLOT", "{user1000}.following"}, shape},
		{"CLUSTER GETKEYSINSLOT", []string{"CLUSTER", "GETKEYSINSLOT", "0", "10"}, shape},
		{"GET of another slot", []string{"GET", "foo"}, func(r Reply) string { return movedRe.ReplaceAllString(r.String(), ":<port>") }},
		{"MSET across slots", []string{"MSET", "a", "1", "b", "2"}, shape},
		{"SELECT 1", []string{"SELECT", "1"}, shape},
		{"READONLY", []string{"READONLY"}, shape},
		{"ASKING", []string{"ASKING"}, shape},
		{"CLUSTER nosuch", []string{"CLUSTER", "NOSUCH"}, shape},
		{"CLUSTER MEET bad port", []string{"CLUSTER", "MEET", "127.0.0.1", "x"}, shape},
		{"CLUSTER MEET bad addr", []string{"CLUSTER", "MEET", "nosuchhost", "7000"}, shape},
		{"CLUSTER SETSLOT bad action", []string{"CLUSTER", "SETSLOT", "0", "SIDEWAYS"}, shape},
		{"CLUSTER ADDSLOTSRANGE bad order", []string{"CLUSTER", "ADDSLOTSRANGE", "5", "1"}, shape},
		{"CLUSTER DELSLOTSRANGE odd", []string{"CLUSTER", "DELSLOTSRANGE", "1", "2", "3"}, shape},
		{"CLUSTER SET-CONFIG-EPOCH", []string{"CLUSTER", "SET-CONFIG-EPOCH", "1"}, shape},
		{"CLUSTER BUMPEPOCH", []string{"CLUSTER", "BUMPEPOCH"}, func(r Reply) string { return strings.Fields(r.Str)[0] }},
		{"CLUSTER FAILOVER on a master", []string{"CLUSTER", "FAILOVER"}, shape},
		{"CLUSTER RESET with keys", nil, shape},
		{"SETSLOT IMPORTING own slot", []string{"CLUSTER", "SETSLOT", "0", "IMPORTING", "$OTHER"}, shape},
		{"SETSLOT MIGRATING other's slot", []string{"CLUSTER", "SETSLOT", "16000", "MIGRATING", "$OTHER"}, shape},
		{"SETSLOT MIGRATING to a replica", []string{"CLUSTER", "SETSLOT", "0", "MIGRATING", "$REPLICA"}, shape},
		{"SETSLOT NODE unknown", []string{"CLUSTER", "SETSLOT", "0", "NODE", "nosuch"}, shape},
		{"SETSLOT NODE with keys", []string{"CLUSTER", "SETSLOT", "$KEYSLOT", "NODE", "$OTHER"}, shape},
		{"SETSLOT bad slot", []string{"CLUSTER", "SETSLOT", "x", "STABLE"}, shape},
		{"SETSLOT arity", []string{"CLUSTER", "SETSLOT", "0"}, shape},
		{"SETSLOT STABLE extra", []string{"CLUSTER", "SETSLOT", "0", "STABLE", "x"}, shape},
		{"COUNTKEYSINSLOT not int", []string{"CLUSTER", "COUNTKEYSINSLOT", "x"}, shape},
		{"COUNTKEYSINSLOT out of range", []string{"CLUSTER", "COUNTKEYSINSLOT", "99999"}, shape},
		{"GETKEYSINSLOT negative", []string{"CLUSTER", "GETKEYSINSLOT", "0", "-1"}, shape},
		{"DELSLOTS out of range", []string{"CLUSTER", "DELSLOTS", "99999"}, shape},
		{"ADDSLOTS twice", []string{"CLUSTER", "DELSLOTS", "5", "5"}, shape},
		{"FORGET unknown", []string{"CLUSTER", "FORGET", "nosuch"}, shape},
		{"REPLICAS unknown", []string{"CLUSTER", "REPLICAS", "nosuch"}, shape},
		{"REPLICAS of a replica", []string{"CLUSTER", "REPLICAS", "$REPLICA"}, shape},
		{"COUNT-FAILURE-REPORTS unknown", []string{"CLUSTER", "COUNT-FAILURE-REPORTS", "nosuch"}, shape},
		{"RESET bad mode", []string{"CLUSTER", "RESET", "FOO"}, shape},
		{"FAILOVER bad option", []string{"CLUSTER", "FAILOVER", "FOO"}, shape},
		{"MEET bad bus port", []string{"CLUSTER", "MEET", "127.0.0.1", "1", "x"}, shape},
		{"MEET port range", []string{"CLUSTER", "MEET", "127.0.0.1", "70000"}, shape},
		{"REPLICATE myself", []string{"CLUSTER", "REPLICATE", "$ME"}, shape},
		{"REPLICATE a replica", []string{"CLUSTER", "REPLICATE", "$REPLICA"}, shape},
		{"REPLICATE with slots", []string{"CLUSTER", "REPLICATE", "$OTHER"}, shape},
		{"KEYSLOT arity", []string{"CLUSTER", "KEYSLOT"}, shape},
		{"ASKING arity", []string{"ASKING", "x"}, shape},
		{"CLUSTER HELP", []string{"CLUSTER", "HELP"}, shape},
	}
	// node 1 is a master in both clusters (redis-cli's first node).
	myID := func(addr string) string {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		id, _ := c.Do(context.Background(), "CLUSTER", "MYID").Text()
		return id
	}
	// $ME, $OTHER (another master), $REPLICA (a replica of another
	// master), $KEYSLOT (a slot of node 1 holding keys).
	ids := func(addr string) map[string]string {
		c := redis.NewClient(&redis.Options{Addr: addr})
		defer c.Close()
		ctx := context.Background()
		m := map[string]string{}
		text, _ := c.ClusterNodes(ctx).Result()
		me := myID(addr)
		m["$ME"] = me
		for _, l := range strings.Split(text, "\n") {
			f := strings.Fields(l)
			if len(f) < 8 || f[0] == me {
				continue
			}
			if strings.Contains(f[2], "master") && m["$OTHER"] == "" {
				m["$OTHER"] = f[0]
			}
			if strings.Contains(f[2], "slave") && f[3] != me && m["$REPLICA"] == "" {
				m["$REPLICA"] = f[0]
			}
		}
		m["$KEYSLOT"] = "3300" // {b}, node 1's
		return m
	}
	// Redis's node 1 learns the replicas' roles by gossip, after create.
	for _, a := range []string{skAddrs[0], rdAddrs[0]} {
		c := redis.NewClient(&redis.Options{Addr: a})
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			text, _ := c.ClusterNodes(context.Background()).Result()
			if strings.Count(text, " slave ") == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never saw three replicas:\n%s", a, text)
			}
		}
		c.Close()
	}
	skIDs, rdIDs := ids(skAddrs[0]), ids(rdAddrs[0])
	t.Logf("skiff ids %v, redis ids %v", skIDs, rdIDs)
	argsFor := func(p probe, addr string) []string {
		subst := skIDs
		if addr == rdAddrs[0] {
			subst = rdIDs
		}
		var out []string
		for _, a := range p.args {
			if v, ok := subst[a]; ok {
				a = v
			}
			out = append(out, a)
		}
		switch p.name {
		case "CLUSTER REPLICAS of myself":
			return []string{"CLUSTER", "REPLICAS", myID(addr)}
		case "CLUSTER COUNT-FAILURE-REPORTS":
			return []string{"CLUSTER", "COUNT-FAILURE-REPORTS", myID(addr)}
		case "CLUSTER RESET with keys":
			return []string{"CLUSTER", "RESET"}
		}
		return out
	}
	// Keys on node 1 so that RESET refuses in both.
	for _, a := range []string{skAddrs[0], rdAddrs[0]} {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{a}})
		for i := 0; i < 50; i++ {
			_ = c.Set(context.Background(), fmt.Sprintf("{b}k%d", i), "v", 0).Err()
		}
		c.Close()
	}
	for _, proto := range []int{2, 3} {
		var diffs []string
		deadline := time.Now().Add(20 * time.Second)
		for {
			diffs = diffs[:0]
			ks, kr := dial(skAddrs[0], proto), dial(rdAddrs[0], proto)
			for _, p := range probes {
				if p.name == "CLUSTER REPLICAS of myself" && proto == 3 {
					continue // the lines hold timestamps; RESP2 compares the count
				}
				a, err1 := ks.Do(argsFor(p, skAddrs[0])...)
				b, err2 := kr.Do(argsFor(p, rdAddrs[0])...)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: %v / %v", p.name, err1, err2)
				}
				sa, sb := p.shape(a), p.shape(b)
				if p.name == "CLUSTER REPLICAS of myself" {
					sa, sb = fmt.Sprint(len(a.Elems)), fmt.Sprint(len(b.Elems))
				}
				if sa != sb {
					diffs = append(diffs, fmt.Sprintf("RESP%d %s:\nskiff: %s\nredis: %s", proto, p.name, sa, sb))
				}
			}
			ks.Close()
			kr.Close()
			if len(diffs) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond) // replicas still syncing, peers not polled yet
		}
		for _, d := range diffs {
			t.Error(d)
		}
	}
}

// TestClusterReshardAddDel: redis-cli --cluster reshard of 100 slots (with
// their keys, through SETSLOT and MIGRATE) while a ClusterClient writes,
// then add-node (as a master and with --cluster-slave) and del-node; each
// step leaves --cluster check clean and no write is lost.
func TestClusterReshardAddDel(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	t.Parallel()
	nodes := startSkiffClusterNodes(t, 8)
	addrs := make([]string, 6)
	for i := range addrs {
		addrs[i] = nodes[i].respAddr()
	}
	clusterCreate(t, addrs)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	for i := 0; i < 2000; i++ {
		if err := cc.Set(ctx, fmt.Sprintf("k:%d", i), "0", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A writer bumps counters during the reshard.
	stop := make(chan struct{})
	done := make(chan error, 1)
	written := make([]int, 2000)
	go func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			i := n % 2000
			if err := cc.Set(ctx, fmt.Sprintf("k:%d", i), strconv.Itoa(n), 0).Err(); err != nil {
				done <- fmt.Errorf("SET k:%d during the reshard: %w", i, err)
				return
			}
			written[i] = n
		}
	}()
	from, to := nodes[0].id(t), nodes[1].id(t)
	start := time.Now()
	out, err := redisCli(t, 90*time.Second, "--cluster", "reshard", addrs[0], "--cluster-from", from, "--cluster-to", to,
		"--cluster-slots", "100", "--cluster-yes")
	close(stop)
	if werr := <-done; werr != nil {
		t.Error(werr)
	}
	if err != nil || strings.Contains(out, "[ERR]") {
		t.Fatalf("reshard: %v\n%s", err, out)
	}
	t.Logf("reshard of 100 slots took %v", time.Since(start).Round(time.Millisecond))
	clusterCheck(t, addrs[0])
	for i := 0; i < 2000; i++ {
		want := strconv.Itoa(written[i])
		if v, err := cc.Get(ctx, fmt.Sprintf("k:%d", i)).Result(); err != nil || v != want {
			t.Fatalf("k:%d = %q, %v after the reshard, want %q", i, v, err, want)
		}
	}
	one := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer one.Close()
	if n, _ := one.Do(ctx, "CLUSTER", "COUNTKEYSINSLOT", "0").Int(); n != 0 {
		t.Errorf("slot 0 still holds %d keys on its old master", n)
	}

	// add-node as a master, then as a replica.
	if out, err := redisCli(t, 60*time.Second, "--cluster", "add-node", nodes[6].respAddr(), addrs[0]); err != nil || !strings.Contains(out, "[OK] New node added correctly.") {
		t.Fatalf("add-node: %v\n%s", err, out)
	}
	if out, err := redisCli(t, 60*time.Second, "--cluster", "add-node", nodes[7].respAddr(), addrs[0], "--cluster-slave"); err != nil || !strings.Contains(out, "[OK] New node added correctly.") {
		t.Fatalf("add-node --cluster-slave: %v\n%s", err, out)
	}
	clusterCheck(t, addrs[0])
	if text, _ := one.ClusterNodes(ctx).Result(); strings.Count(text, "\n") != 8 {
		t.Fatalf("CLUSTER NODES after add-node:\n%s", text)
	}
	// del-node of both.
	for _, n := range []*raftNode{nodes[7], nodes[6]} {
		if out, err := redisCli(t, 60*time.Second, "--cluster", "del-node", addrs[0], n.id(t)); err != nil || strings.Contains(out, "[ERR]") {
			t.Fatalf("del-node %s: %v\n%s", n.name, err, out)
		}
	}
	clusterCheck(t, addrs[0])
	if text, _ := one.ClusterNodes(ctx).Result(); strings.Count(text, "\n") != 6 {
		t.Fatalf("CLUSTER NODES after del-node:\n%s", text)
	}
	// The removed node is a fresh cluster of one again.
	c7 := redis.NewClient(&redis.Options{Addr: nodes[6].respAddr()})
	defer c7.Close()
	if info, _ := c7.ClusterInfo(ctx).Result(); !strings.Contains(info, "cluster_known_nodes:1\r\n") {
		t.Errorf("deleted node's CLUSTER INFO:\n%s", info)
	}
}
