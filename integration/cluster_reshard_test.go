package integration

// Resharding under load: `redis-cli --cluster reshard` moves 1000 slots
// holding 50 000 keys between two masters of a skiff cluster while two
// go-redis ClusterClient writers keep writing into those very slots.
// Every acknowledged write must survive with its last acknowledged value,
// and the writers may see only what go-redis handles (MOVED, ASK,
// TRYAGAIN), counted here.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/skiffdb/skiff/slots"
)

// keysInSlotRange returns n keys prefix<i> spread evenly over slots
// 0..nslots-1.
func keysInSlotRange(prefix string, n, nslots int) []string {
	want := make([]int, nslots)
	for i := range want {
		want[i] = n / nslots
		if i < n%nslots {
			want[i]++
		}
	}
	out := make([]string, 0, n)
	for i := 0; len(out) < n && i < 1<<26; i++ {
		k := prefix + strconv.Itoa(i)
		if s := slots.KeySlotString(k); s < nslots && want[s] > 0 {
			want[s]--
			out = append(out, k)
		}
	}
	return out
}

// redirectCounter counts the redirections and retries go-redis handles,
// as the node clients see them.
type redirectCounter struct {
	moved, ask, tryagain, other atomic.Int64
	mu                          sync.Mutex
	others                      map[string]int // other error texts (go-redis retries network errors)
}

func (rc *redirectCounter) count(err error) {
	if err == nil || err == redis.Nil {
		return
	}
	switch msg := err.Error(); {
	case strings.HasPrefix(msg, "MOVED "):
		rc.moved.Add(1)
	case strings.HasPrefix(msg, "ASK "):
		rc.ask.Add(1)
	case strings.HasPrefix(msg, "TRYAGAIN"):
		rc.tryagain.Add(1)
	default:
		rc.other.Add(1)
		rc.mu.Lock()
		if rc.others == nil {
			rc.others = map[string]int{}
		}
		if len(rc.others) < 10 {
			rc.others[msg]++
		}
		rc.mu.Unlock()
	}
}

func (rc *redirectCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (rc *redirectCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if n := cmd.Name(); n != "client" && n != "hello" { // the connection handshake: CLIENT SETINFO is Redis 7.2's
			rc.count(err)
		}
		return err
	}
}

func (rc *redirectCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, c := range cmds {
			if n := c.Name(); n != "client" && n != "hello" {
				rc.count(c.Err())
			}
		}
		return err
	}
}

// handledByClient reports an error go-redis retries by itself (and
// returns only when its redirection budget ran out mid-move): the write
// was not applied, the writer tries it again.
func handledByClient(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ") || strings.HasPrefix(msg, "TRYAGAIN")
}

func TestClusterReshardUnderWrites(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	const (
		numKeys   = 50000
		numSlots  = 1000
		setKeys   = 2000 // writer 1 overwrites these (a subset of the loaded keys)
		counters  = 300  // writer 2 increments these
		maxClient = 50   // bounded retries of a write go-redis gave back
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	nodes := startSkiffClusterNodes(t, 3)
	addrs := []string{nodes[0].respAddr(), nodes[1].respAddr(), nodes[2].respAddr()}
	out, err := redisCli(t, 60*time.Second, "--cluster", "create", addrs[0], addrs[1], addrs[2], "--cluster-replicas", "0", "--cluster-yes")
	if err != nil || !strings.Contains(out, "[OK] All 16384 slots covered.") || strings.Contains(out, "[ERR]") {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	clusterCheck(t, addrs[0])
	src, dst := nodes[0], nodes[1]
	srcID, dstID := src.id(t), dst.id(t)

	var rc redirectCounter
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second})
	defer cc.Close()
	cc.OnNewNode(func(c *redis.Client) { c.AddHook(&rc) })

	// 50 000 keys in slots 0-999, all on the first master.
	keys := keysInSlotRange("key:", numKeys, numSlots)
	for i := 0; i < len(keys); i += 1000 {
		batch := keys[i:min(i+1000, len(keys))]
		if _, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.Set(ctx, k, "v", 0)
			}
			return nil
		}); err != nil {
			t.Fatalf("load: %v", err)
		}
	}
	one := redis.NewClient(&redis.Options{Addr: src.respAddr()})
	defer one.Close()
	if n, err := one.DBSize(ctx).Result(); err != nil || n != numKeys {
		t.Fatalf("DBSIZE of the first master after loading: %d, %v; want %d", n, err, numKeys)
	}

	// Two writers into the moving slots, recording every acknowledged write.
	setKeyList := make([]string, setKeys)
	for i := range setKeyList {
		setKeyList[i] = keys[i*(numKeys/setKeys)]
	}
	counterKeys := keysInSlotRange("ctr:", counters, numSlots)
	lastSet := make([]int, setKeys)      // writer 1: last acknowledged value per key (0: none)
	incrAcked := make([]int64, counters) // writer 2: acknowledged INCRs per counter
	var clientRetries [2]atomic.Int64
	var acked [2]atomic.Int64
	stop := make(chan struct{})
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	write := func(w int, op func(n int) error) {
		defer wg.Done()
		for n := 1; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			for try := 0; try < maxClient; try++ {
				if err = op(n); err == nil || !handledByClient(err) {
					break
				}
				clientRetries[w].Add(1)
			}
			if err != nil {
				errs <- fmt.Errorf("writer %d, write %d: %w", w+1, n, err)
				return
			}
			acked[w].Add(1)
		}
	}
	wg.Add(2)
	go write(0, func(n int) error {
		i := n % setKeys
		if err := cc.Set(ctx, setKeyList[i], "w"+strconv.Itoa(n), 0).Err(); err != nil {
			return err
		}
		lastSet[i] = n
		return nil
	})
	go write(1, func(n int) error {
		i := n % counters
		if err := cc.Incr(ctx, counterKeys[i]).Err(); err != nil {
			return err
		}
		incrAcked[i]++
		return nil
	})

	start := time.Now()
	out, err = redisCli(t, 150*time.Second, "--cluster", "reshard", src.respAddr(), "--cluster-from", srcID, "--cluster-to", dstID,
		"--cluster-slots", strconv.Itoa(numSlots), "--cluster-yes")
	took := time.Since(start)
	close(stop)
	wg.Wait()
	close(errs)
	for werr := range errs {
		t.Error(werr)
	}
	if err != nil || strings.Contains(out, "[ERR]") {
		if len(out) > 4000 {
			out = "..." + out[len(out)-4000:]
		}
		t.Fatalf("reshard: %v\n%s", err, out)
	}
	t.Logf("reshard of %d slots (%d keys) took %v (%.0f keys/s) while the writers made %d SETs and %d INCRs",
		numSlots, numKeys, took.Round(time.Millisecond), numKeys/took.Seconds(), acked[0].Load(), acked[1].Load())
	t.Logf("redirections the node clients saw: %d MOVED, %d ASK, %d TRYAGAIN, %d other errors; writes retried after go-redis gave up: %d SET, %d INCR",
		rc.moved.Load(), rc.ask.Load(), rc.tryagain.Load(), rc.other.Load(), clientRetries[0].Load(), clientRetries[1].Load())
	if len(rc.others) > 0 {
		t.Logf("other errors the node clients saw (go-redis retried them): %v", rc.others)
	}
	if t.Failed() {
		return
	}
	if acked[0].Load() == 0 || acked[1].Load() == 0 {
		t.Fatalf("a writer made no write during the reshard: %d SETs, %d INCRs", acked[0].Load(), acked[1].Load())
	}
	clusterCheck(t, addrs[0])

	// The slots moved, all of them, with every key.
	owner := map[int]string{}
	sl, err := cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sl {
		for s := r.Start; s <= r.End && s < numSlots; s++ {
			owner[int(s)] = r.Nodes[0].Addr
		}
	}
	for s := 0; s < numSlots; s++ {
		if owner[s] != dst.respAddr() {
			t.Fatalf("slot %d is on %q after the reshard, want %s", s, owner[s], dst.respAddr())
		}
	}
	if n, err := one.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("the first master still holds %d keys (%v)", n, err)
	}

	// Every acknowledged write is there with its last acknowledged value.
	isSet := map[string]int{}
	for i, k := range setKeyList {
		isSet[k] = lastSet[i]
	}
	for i := 0; i < len(keys); i += 1000 {
		batch := keys[i:min(i+1000, len(keys))]
		cmds, err := cc.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range batch {
				p.Get(ctx, k)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		for j, c := range cmds {
			k := batch[j]
			want := "v"
			if n := isSet[k]; n != 0 {
				want = "w" + strconv.Itoa(n)
			}
			if got, err := c.(*redis.StringCmd).Result(); err != nil || got != want {
				t.Fatalf("%s = %q, %v after the reshard, want %q", k, got, err, want)
			}
		}
	}
	for i, k := range counterKeys {
		got, err := cc.Get(ctx, k).Int64()
		if err == redis.Nil {
			got, err = 0, nil
		}
		if err != nil || got < incrAcked[i] {
			t.Fatalf("counter %s = %d, %v after the reshard, %d INCRs acknowledged", k, got, err, incrAcked[i])
		}
	}
}
