package integration

// Atomic slot migration (docs/slot-migration.md): CLUSTER MIGRATESLOTS
// moves slots with their keys while go-redis ClusterClients write and
// read them; a cancel, a kill -9 of the target and a kill -9 of the
// source mid-way leave the ownership unchanged, the target without a
// copy and `redis-cli --cluster check` clean.

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/slots"
)

// asmCluster starts three skiff masters formed by redis-cli.
func asmCluster(t *testing.T) ([]*raftNode, []string) {
	t.Helper()
	nodes := startSkiffClusterNodes(t, 3)
	addrs := []string{nodes[0].respAddr(), nodes[1].respAddr(), nodes[2].respAddr()}
	out, err := redisCli(t, 60*time.Second, "--cluster", "create", addrs[0], addrs[1], addrs[2], "--cluster-replicas", "0", "--cluster-yes")
	if err != nil || !strings.Contains(out, "[OK] All 16384 slots covered.") {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	clusterCheck(t, addrs[0])
	return nodes, addrs
}

// slotJobState returns the state and message of the newest job in a
// node's CLUSTER GETSLOTMIGRATIONS ("" when it has none).
func slotJobState(ctx context.Context, c *redis.Client) (state, msg string, err error) {
	res, err := c.Do(ctx, "CLUSTER", "GETSLOTMIGRATIONS").Slice()
	if err != nil || len(res) == 0 {
		return "", "", err
	}
	last := res[len(res)-1]
	var kv []any
	switch x := last.(type) {
	case []any:
		kv = x
	case map[any]any:
		for k, v := range x {
			kv = append(kv, k, v)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		switch fmt.Sprint(kv[i]) {
		case "state":
			state = fmt.Sprint(kv[i+1])
		case "message":
			msg = fmt.Sprint(kv[i+1])
		}
	}
	return state, msg, nil
}

// waitJob polls the newest job of c until its state is one of want.
func waitJob(t *testing.T, c *redis.Client, timeout time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, msg, err := slotJobState(context.Background(), c)
		for _, w := range want {
			if st == w {
				return msg
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot migration state %q (%s, %v) after %v, want one of %v", st, msg, err, timeout, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slotKeys counts a node's own keys in slots 0..n-1.
func slotKeys(ctx context.Context, c *redis.Client, n int) (int64, error) {
	var total int64
	for sl := 0; sl < n; sl++ {
		k, err := c.ClusterCountKeysInSlot(ctx, sl).Result()
		if err != nil {
			return 0, err
		}
		total += k
	}
	return total, nil
}

// waitSlotKeys polls until a node holds want keys in slots 0..n-1.
func waitSlotKeys(t *testing.T, c *redis.Client, n int, want int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := slotKeys(context.Background(), c, n)
		if err == nil && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %d keys (%v) in slots 0-%d after %v, want %d", c.Options().Addr, got, err, n-1, timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ownersOf returns the owner address of slots 0..n-1 as c sees them.
func ownersOf(ctx context.Context, c *redis.Client, n int) (map[string]int, error) {
	sl, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, r := range sl {
		for s := r.Start; s <= r.End && s < n; s++ {
			out[r.Nodes[0].Addr]++
		}
	}
	return out, nil
}

// asmLoad writes keys of every type into slots 0..nslots-1 of the
// cluster, a seventh of them with a TTL; it returns the keys.
func asmLoad(t *testing.T, ctx context.Context, cc *redis.ClusterClient, n, nslots int) []string {
	t.Helper()
	keys := keysInSlotRange("asm:", n, nslots)
	for i := 0; i < len(keys); i += 500 {
		batch := keys[i:min(i+500, len(keys))]
		if _, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for j, k := range batch {
				switch (i + j) % 5 {
				case 0:
					p.Set(ctx, k, "v-"+k, 0)
				case 1:
					p.HSet(ctx, k, "a", k, "b", "2")
				case 2:
					p.RPush(ctx, k, "x", k, "z")
				case 3:
					p.SAdd(ctx, k, "m1", k)
				case 4:
					p.ZAdd(ctx, k, redis.Z{Score: 1.5, Member: k}, redis.Z{Score: 2, Member: "b"})
				}
				if (i+j)%7 == 0 {
					p.PExpire(ctx, k, time.Hour)
				}
			}
			return nil
		}); err != nil {
			t.Fatalf("load: %v", err)
		}
	}
	return keys
}

// asmKeyState is a key's type, value (members sorted where the type has
// no order) and absolute expire time.
func asmKeyState(ctx context.Context, c redis.Cmdable, k string) (string, error) {
	typ, err := c.Type(ctx, k).Result()
	if err != nil {
		return "", err
	}
	var val any
	switch typ {
	case "string":
		val, err = c.Get(ctx, k).Result()
	case "hash":
		var m map[string]string
		m, err = c.HGetAll(ctx, k).Result()
		val = fmt.Sprint(m) // fmt sorts map keys
	case "list":
		val, err = c.LRange(ctx, k, 0, -1).Result()
	case "set":
		var m []string
		m, err = c.SMembers(ctx, k).Result()
		sort.Strings(m)
		val = m
	case "zset":
		val, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
	default:
		return "", fmt.Errorf("%s: type %q", k, typ)
	}
	if err != nil {
		return "", err
	}
	exp, err := c.PExpireTime(ctx, k).Result()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s/%v/%d", typ, val, exp.Milliseconds()), nil
}

func TestClusterAtomicSlotMigration(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	const (
		numKeys  = 20000
		numSlots = 200
		setKeys  = 500
		counters = 100
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes, addrs := asmCluster(t)
	src, dst := nodes[0], nodes[1]
	srcC := redis.NewClient(&redis.Options{Addr: src.respAddr()})
	defer srcC.Close()
	dstC := redis.NewClient(&redis.Options{Addr: dst.respAddr()})
	defer dstC.Close()

	var rc redirectCounter
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	defer cc.Close()
	cc.OnNewNode(func(c *redis.Client) { c.AddHook(&rc) })
	keys := asmLoad(t, ctx, cc, numKeys, numSlots)
	// Big keys (more than 1024 elements) travel in chunks.
	big := keysInSlotRange("asmbig:", 4, numSlots)
	for i, k := range big {
		var args []any
		switch i {
		case 0:
			args = []any{"HSET", k}
		case 1:
			args = []any{"RPUSH", k}
		case 2:
			args = []any{"SADD", k}
		case 3:
			args = []any{"ZADD", k}
		}
		for e := 0; e < 3000; e++ {
			if i == 3 {
				args = append(args, float64(e)/7)
			}
			args = append(args, "e"+strconv.Itoa(e))
			if i == 0 {
				args = append(args, strconv.Itoa(e*e))
			}
		}
		if err := cc.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("big key %s: %v", k, err)
		}
	}
	if err := cc.PExpire(ctx, big[3], time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	loaded := keys
	keys = append(keys[:len(keys):len(keys)], big...)
	before := map[string]string{}
	for _, k := range keys {
		st, err := asmKeyState(ctx, srcC, k)
		if err != nil {
			t.Fatalf("state of %s on the source: %v", k, err)
		}
		before[k] = st
	}

	// Writers (SETs of unique values, INCRs) and a reader, all in the
	// moving slots. Any error that reaches them fails the test.
	setKeyList := keysInSlotRange("asmset:", setKeys, numSlots)
	counterKeys := keysInSlotRange("asmctr:", counters, numSlots)
	lastSet := make([]int, setKeys)
	incrAcked := make([]int64, counters)
	var acked [3]atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	run := func(w int, op func(n int) error) {
		defer wg.Done()
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := op(n); err != nil {
				errs <- fmt.Errorf("client %d, op %d: %w", w, n, err)
				return
			}
			acked[w].Add(1)
		}
	}
	wg.Add(3)
	go run(0, func(n int) error {
		i := n % setKeys
		if err := cc.Set(ctx, setKeyList[i], "w"+strconv.Itoa(n), 0).Err(); err != nil {
			return err
		}
		lastSet[i] = n
		return nil
	})
	go run(1, func(n int) error {
		i := n % counters
		if err := cc.Incr(ctx, counterKeys[i]).Err(); err != nil {
			return err
		}
		incrAcked[i]++
		return nil
	})
	go run(2, func(n int) error {
		k := loaded[(n*5*7919)%len(loaded)] // a string key (every fifth)
		got, err := cc.Get(ctx, k).Result()
		if err != nil {
			return err
		}
		if got != "v-"+k {
			return fmt.Errorf("GET %s = %q", k, got)
		}
		return nil
	})
	waitAcked := func(w int, more int64) {
		t.Helper()
		want := acked[w].Load() + more
		deadline := time.Now().Add(30 * time.Second)
		for acked[w].Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("client %d made %d ops, want %d", w, acked[w].Load(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitAcked(0, 200)
	waitAcked(1, 200)

	start := time.Now()
	if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", strconv.Itoa(numSlots-1), "NODE", dst.id(t)).Err(); err != nil {
		t.Fatalf("MIGRATESLOTS: %v", err)
	}
	waitJob(t, srcC, 60*time.Second, "success")
	took := time.Since(start)
	waitAcked(0, 200) // writes after the move, through MOVED
	waitAcked(1, 200)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("moved %d slots (%d keys) in %v while the clients made %d SETs, %d INCRs, %d reads",
		numSlots, numKeys, took.Round(time.Millisecond), acked[0].Load(), acked[1].Load(), acked[2].Load())
	t.Logf("the node clients saw %d MOVED, %d ASK, %d TRYAGAIN, %d other errors %v",
		rc.moved.Load(), rc.ask.Load(), rc.tryagain.Load(), rc.other.Load(), rc.others)
	if rc.ask.Load() != 0 || rc.tryagain.Load() != 0 || rc.other.Load() != 0 {
		t.Errorf("clients saw errors other than MOVED")
	}
	if t.Failed() {
		return
	}
	if st, _, _ := slotJobState(ctx, dstC); st != "success" {
		t.Errorf("the target's import job is %q", st)
	}

	// Ownership: every node sends slots 0..numSlots-1 to the target.
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		own, err := ownersOf(ctx, c, numSlots)
		c.Close()
		if err != nil || own[dst.respAddr()] != numSlots {
			t.Fatalf("%s: owners of slots 0-%d: %v, %v", a, numSlots-1, own, err)
		}
	}
	// The source deletes its copy in the background.
	waitSlotKeys(t, srcC, numSlots, 0, 30*time.Second)
	if n, err := srcC.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("the source still holds %d keys (%v)", n, err)
	}
	// Every key on the target itself, with its value and expire time.
	for _, k := range keys {
		got, err := asmKeyState(ctx, dstC, k)
		if err != nil || got != before[k] {
			t.Fatalf("%s on the target: %q, %v; want %q", k, got, err, before[k])
		}
	}
	for i, k := range setKeyList {
		want := "w" + strconv.Itoa(lastSet[i])
		if lastSet[i] == 0 {
			continue
		}
		if got, err := dstC.Get(ctx, k).Result(); err != nil || got != want {
			t.Fatalf("%s = %q, %v on the target, want %q (last acknowledged)", k, got, err, want)
		}
	}
	for i, k := range counterKeys {
		got, err := dstC.Get(ctx, k).Int64()
		if err == redis.Nil {
			got, err = 0, nil
		}
		if err != nil || got != incrAcked[i] {
			t.Fatalf("counter %s = %d, %v on the target, %d INCRs acknowledged", k, got, err, incrAcked[i])
		}
	}
	clusterCheck(t, addrs[0])
}

// TestClusterAtomicSlotMigrationAborts: a cancel, a kill -9 of the target
// and a kill -9 of the source, each in the middle of a job (the copy is
// slowed down to one slot per 20 ms), leave the slots with the source,
// no copy on the target and the cluster check clean.
func TestClusterAtomicSlotMigrationAborts(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	const (
		numKeys  = 4000
		numSlots = 200
	)
	for _, tc := range []string{"cancel", "kill-target", "kill-source"} {
		t.Run(tc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			nodes, addrs := asmCluster(t)
			src, dst, third := nodes[0], nodes[1], nodes[2]
			srcID := src.id(t)
			srcC := redis.NewClient(&redis.Options{Addr: src.respAddr()})
			defer srcC.Close()
			dstC := redis.NewClient(&redis.Options{Addr: dst.respAddr()})
			defer dstC.Close()
			thirdC := redis.NewClient(&redis.Options{Addr: third.respAddr()})
			defer thirdC.Close()
			cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
			defer cc.Close()
			asmLoad(t, ctx, cc, numKeys, numSlots)

			if err := srcC.Do(ctx, "CLUSTER", "SKIFF-ASM-DELAY", "20").Err(); err != nil {
				t.Fatal(err)
			}
			if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", strconv.Itoa(numSlots-1), "NODE", dst.id(t)).Err(); err != nil {
				t.Fatalf("MIGRATESLOTS: %v", err)
			}
			// Mid-way: the target holds part of the copy.
			deadline := time.Now().Add(30 * time.Second)
			for {
				n, err := slotKeys(ctx, dstC, 20)
				if err == nil && n > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the target received nothing: %d, %v", n, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if n, _ := slotKeys(ctx, dstC, numSlots); n >= numKeys {
				t.Fatalf("the copy was complete (%d keys) before the interruption", n)
			}
			// GET of a copied key on the target still redirects to the source.
			if err := dstC.Get(ctx, keysInSlotRange("asm:", numKeys, numSlots)[0]).Err(); err == nil || !strings.HasPrefix(err.Error(), "MOVED ") || !strings.HasSuffix(err.Error(), " "+src.respAddr()) {
				t.Fatalf("GET on the target during the import: %v, want MOVED to the source", err)
			}

			switch tc {
			case "cancel":
				if err := srcC.Do(ctx, "CLUSTER", "CANCELSLOTMIGRATIONS").Err(); err != nil {
					t.Fatal(err)
				}
				waitJob(t, srcC, 30*time.Second, "cancelled")
				waitSlotKeys(t, dstC, numSlots, 0, 30*time.Second)
				waitJob(t, dstC, 30*time.Second, "failed")
			case "kill-target":
				dst.kill()
				waitJob(t, srcC, 30*time.Second, "failed")
				dst.start()
				if err := dst.waitUp(30 * time.Second); err != nil {
					t.Fatal(err)
				}
				waitSlotKeys(t, dstC, numSlots, 0, 30*time.Second)
			case "kill-source":
				src.kill()
				waitSlotKeys(t, dstC, numSlots, 0, 30*time.Second)
				waitJob(t, dstC, 30*time.Second, "failed")
			}
			// The slots are still the source's, on every node that is up
			// (a restarted node shows it once it has caught up with the log).
			for _, c := range []*redis.Client{dstC, thirdC} {
				deadline := time.Now().Add(30 * time.Second)
				for {
					own, err := ownersOf(ctx, c, numSlots)
					if err == nil && own[src.respAddr()] == numSlots {
						break
					}
					if err == nil && len(own) > 0 || time.Now().After(deadline) {
						t.Fatalf("%s: owners of slots 0-%d: %v, %v", c.Options().Addr, numSlots-1, own, err)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			if tc != "kill-source" {
				if n, err := slotKeys(ctx, srcC, numSlots); err != nil || n != numKeys {
					t.Fatalf("the source holds %d keys (%v), want %d", n, err, numKeys)
				}
			} else {
				src.start()
				if err := src.waitUp(30 * time.Second); err != nil {
					t.Fatal(err)
				}
				if id := src.id(t); id != srcID {
					t.Fatalf("the source came back as %s", id)
				}
			}
			// Consistent for redis-cli once every node is up again.
			deadline = time.Now().Add(30 * time.Second)
			for {
				out, err := redisCli(t, 30*time.Second, "--cluster", "check", addrs[2])
				if err == nil && !strings.Contains(out, "[ERR]") && !strings.Contains(out, "[WARNING]") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("redis-cli --cluster check: %v\n%s", err, out)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}

// TestClusterMigrationImportAndRebalance: Redis 8.4's CLUSTER MIGRATION
// IMPORT on the target moves slots (STATUS shows the task with Redis's
// fields on both ends), then `skiff admin rebalance --yes` evens the
// masters out again through atomic migrations; every key survives and
// the cluster check is clean.
func TestClusterMigrationImportAndRebalance(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes, addrs := asmCluster(t)
	src, dst := nodes[0], nodes[1]
	srcC := redis.NewClient(&redis.Options{Addr: src.respAddr()})
	defer srcC.Close()
	dstC := redis.NewClient(&redis.Options{Addr: dst.respAddr()})
	defer dstC.Close()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	keys := keysInSlotRange("imp:", 3000, 16384)
	for i := 0; i < len(keys); i += 500 {
		if _, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys[i:min(i+500, len(keys))] {
				p.Set(ctx, k, "v-"+k, 0)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	id, err := dstC.Do(ctx, "CLUSTER", "MIGRATION", "IMPORT", "0", "999", "2000", "2999").Text()
	if err != nil || !hexID.MatchString(id) {
		t.Fatalf("CLUSTER MIGRATION IMPORT: %q, %v", id, err)
	}
	status := func(c *redis.Client) map[string]string {
		res, err := c.Do(ctx, "CLUSTER", "MIGRATION", "STATUS", "ID", id).Slice()
		if err != nil || len(res) != 1 {
			return map[string]string{"error": fmt.Sprint(res, err)}
		}
		m := map[string]string{}
		switch x := res[0].(type) {
		case map[any]any:
			for k, v := range x {
				m[fmt.Sprint(k)] = fmt.Sprint(v)
			}
		case []any:
			for i := 0; i+1 < len(x); i += 2 {
				m[fmt.Sprint(x[i])] = fmt.Sprint(x[i+1])
			}
		}
		return m
	}
	deadline := time.Now().Add(60 * time.Second)
	for status(dstC)["state"] != "success" {
		if time.Now().After(deadline) {
			t.Fatalf("import task: %v", status(dstC))
		}
		time.Sleep(20 * time.Millisecond)
	}
	d, sr := status(dstC), status(srcC)
	for _, f := range []string{"id", "slots", "source", "dest", "operation", "state", "last_error", "retries", "create_time", "start_time", "end_time", "write_pause_ms"} {
		if _, ok := d[f]; !ok {
			t.Errorf("STATUS on the target lacks %q: %v", f, d)
		}
	}
	if d["operation"] != "import" || sr["operation"] != "migrate" || sr["state"] != "success" || d["slots"] != "0-999 2000-2999" ||
		d["source"] != src.id(t) || d["dest"] != dst.id(t) {
		t.Fatalf("STATUS: target %v, source %v", d, sr)
	}
	own, err := ownersOf(ctx, srcC, 3000)
	if err != nil || own[dst.respAddr()] != 2000 {
		t.Fatalf("owners of slots 0-2999 after the import: %v, %v", own, err)
	}

	// The masters own 3461, 7462 and 5461 slots: rebalance.
	cmd := exec.Command(skiffBin, "admin", "rebalance", "--node", addrs[2], "--yes")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "moved ") {
		t.Fatalf("skiff admin rebalance: %v\n%s", err, out)
	}
	var counts []int
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		own, err := ownersOf(ctx, c, 16384)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		counts = []int{own[addrs[0]], own[addrs[1]], own[addrs[2]]}
		for _, n := range counts {
			if n < 5460 || n > 5463 {
				t.Fatalf("%s: slots per master after the rebalance: %v\n%s", a, counts, out)
			}
		}
	}
	t.Logf("after the rebalance: %v slots; %s", counts, strings.TrimSpace(string(out)))
	for _, k := range keys {
		if got, err := cc.Get(ctx, k).Result(); err != nil || got != "v-"+k {
			t.Fatalf("%s = %q, %v after the moves", k, got, err)
		}
	}
	for _, c := range []*redis.Client{srcC, dstC} {
		// Each master holds only keys of its own slots (the moved ones
		// are dropped in the background).
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, err := c.DBSize(ctx).Result()
			owner, oerr := slotOwners(ctx, c)
			mine := 0
			for _, k := range keys {
				if owner[slots.KeySlotString(k)] == c.Options().Addr {
					mine++
				}
			}
			if err == nil && oerr == nil && int(n) == mine {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s holds %d keys (%v), owns %d of them", c.Options().Addr, n, err, mine)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	clusterCheck(t, addrs[0])
}

// slotOwners is the master address of every slot, as c sees it.
func slotOwners(ctx context.Context, c *redis.Client) ([]string, error) {
	res, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		return nil, err
	}
	out := make([]string, 16384)
	for _, r := range res {
		for s := r.Start; s <= r.End; s++ {
			out[s] = r.Nodes[0].Addr
		}
	}
	return out, nil
}
