package integration

// consistency strong in cluster mode (docs/consistency.md): six skiff
// nodes (3 shards × master + replica) started with --consistency strong.
// A killed master and a master restarted empty must both be replaced by
// their in-sync replica with every acknowledged write; the shard takes
// writes again once the old master is back as a replica (one replica per
// shard: until then the new master has no in-sync replica).

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skiffdb/skiff/slots"
)

func strongClusterSetup(t *testing.T) (*failoverCluster, []string, string, []string) {
	t.Helper()
	if redisCliBin == "" {
		t.Fatal("redis-cli not found (make deps)")
	}
	fc := startFailoverCluster(t, "--consistency", "strong")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keys := spreadKeys(120)
	victimAddr, err := masterOfSlot(ctx, fc.addrs[0], slots.KeySlotString(keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	var victimKeys []string
	for _, k := range keys {
		m, err := masterOfSlot(ctx, fc.addrs[0], slots.KeySlotString(k))
		if err != nil {
			t.Fatal(err)
		}
		if m == victimAddr {
			victimKeys = append(victimKeys, k)
		}
	}
	return fc, keys, victimAddr, victimKeys
}

// checkNoLoss reads every key of the writer on the master that now owns
// it and fails for any value older than the last acknowledged one.
func checkNoLoss(t *testing.T, fc *failoverCluster, w *clusterWriter) {
	t.Helper()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: fc.addrs, MaxRetries: 8})
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	w.mu.Lock()
	acked := map[string]int64{}
	for k, v := range w.acked {
		acked[k] = v
	}
	w.mu.Unlock()
	lost := 0
	for k, want := range acked {
		var got int64
		var err error
		for try := 0; try < 50; try++ { // the new master may be waiting for its first lease
			got, err = cc.Get(ctx, k).Int64()
			if err == nil || err == redis.Nil || !strings.HasPrefix(err.Error(), "CLUSTERDOWN") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil && err != redis.Nil {
			t.Fatalf("GET %s: %v", k, err)
		}
		if got < want {
			lost++
			t.Errorf("%s = %d, but %d was acknowledged", k, got, want)
		}
	}
	t.Logf("%d keys checked, %d behind their last acknowledged value", len(acked), lost)
}

func waitPromoted(t *testing.T, fc *failoverCluster, slot int, old string, timeout time.Duration) string {
	t.Helper()
	var now string
	pollUntil(t, "the slot's owner to change", timeout, 50*time.Millisecond, func() (bool, string) {
		for _, a := range fc.addrs {
			if a == old {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			m, err := masterOfSlot(ctx, a, slot)
			cancel()
			if err == nil && m != old {
				now = m
				return true, ""
			}
		}
		return false, "still " + old
	})
	return now
}

func TestStrongClusterKillMasterLosesNothing(t *testing.T) {
	fc, keys, victimAddr, victimKeys := strongClusterSetup(t)
	ctx := context.Background()
	w := newClusterWriter(fc.addrs, fc.groupByMaster(ctx, keys)...)
	defer w.close()
	pollUntil(t, "500 writes", 20*time.Second, 10*time.Millisecond, func() (bool, string) {
		return w.writes.Load() >= 500, ""
	})
	victim := fc.byAdr[victimAddr]
	killedAt := time.Now()
	victim.kill()
	newMaster := waitPromoted(t, fc, slots.KeySlotString(victimKeys[0]), victimAddr, 20*time.Second)
	t.Logf("kill -9 %s -> %s owns its slots after %v", victimAddr, newMaster, time.Since(killedAt).Round(time.Millisecond))
	fc.logDecisions()
	// One replica per shard: the new master has no in-sync replica until
	// the old one is back, so its writes are refused (-NOREPLICAS) and
	// none is acknowledged meanwhile.
	victim.start()
	if err := victim.waitUp(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	took, ok := w.waitAck(victimKeys, killedAt, 40*time.Second)
	if !ok {
		t.Fatalf("no write to the shard acknowledged within 40 s of the kill")
	}
	t.Logf("kill -> first acknowledged write to the shard: %v", took.Round(time.Millisecond))
	w.close()
	checkNoLoss(t, fc, w)
}

func TestStrongClusterRestartedMasterIsReplaced(t *testing.T) {
	fc, keys, victimAddr, victimKeys := strongClusterSetup(t)
	ctx := context.Background()
	w := newClusterWriter(fc.addrs, fc.groupByMaster(ctx, keys)...)
	defer w.close()
	pollUntil(t, "500 writes", 20*time.Second, 10*time.Millisecond, func() (bool, string) {
		return w.writes.Load() >= 500, ""
	})
	victim := fc.byAdr[victimAddr]
	// kill -9 and start again at once: the process answers probes before
	// any node suspects it, with the data it had on disk only (none: the
	// test cluster does not save).
	victim.kill()
	victim.start()
	if err := victim.waitUp(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	newMaster := waitPromoted(t, fc, slots.KeySlotString(victimKeys[0]), victimAddr, 20*time.Second)
	t.Logf("restarted %s -> %s owns its slots", victimAddr, newMaster)
	fc.logDecisions()
	w.close()
	checkNoLoss(t, fc, w)
}
