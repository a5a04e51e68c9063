package integration

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The target's replicas get the imported keys through their master's
// stream (each key as RESTORE ... ABSTTL, big keys as their chunk
// commands): after MIGRATESLOTS, the target's replica holds every moved
// key with its type, value and expire time.
func TestClusterAtomicSlotMigrationReplica(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	const (
		numKeys  = 3000
		numSlots = 50
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes := startSkiffClusterNodes(t, 6)
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.respAddr()
	}
	clusterCreate(t, addrs)
	clusterCheck(t, addrs[0])

	// Who owns slot 0, another master, and that master's replica.
	c0 := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer c0.Close()
	var srcAddr, dstID, dstAddr, replicaAddr string
	deadline := time.Now().Add(30 * time.Second)
	for {
		srcAddr, dstID, dstAddr, replicaAddr = "", "", "", ""
		text, err := c0.ClusterNodes(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		type node struct{ id, addr, master string }
		var masters, replicas []node
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			n := node{id: f[0], addr: strings.Split(f[1], "@")[0], master: f[3]}
			if strings.Contains(f[2], "master") {
				masters = append(masters, n)
				for _, r := range f[8:] {
					if r == "0" || strings.HasPrefix(r, "0-") {
						srcAddr = n.addr
					}
				}
			} else {
				replicas = append(replicas, n)
			}
		}
		for _, m := range masters {
			if m.addr == srcAddr || dstID != "" {
				continue
			}
			for _, r := range replicas {
				if r.master == m.id {
					dstID, dstAddr, replicaAddr = m.id, m.addr, r.addr
				}
			}
		}
		if srcAddr != "" && replicaAddr != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no owner of slot 0 or no other master with a replica in:\n%s", text)
		}
		time.Sleep(100 * time.Millisecond)
	}
	srcC := redis.NewClient(&redis.Options{Addr: srcAddr})
	defer srcC.Close()
	dstC := redis.NewClient(&redis.Options{Addr: dstAddr})
	defer dstC.Close()
	repC := redis.NewClient(&redis.Options{Addr: replicaAddr, OnConnect: func(ctx context.Context, cn *redis.Conn) error {
		return cn.ReadOnly(ctx).Err()
	}})
	defer repC.Close()

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer cc.Close()
	keys := asmLoad(t, ctx, cc, numKeys, numSlots)
	bigHash := keysInSlotRange("asmrbig:", 1, numSlots)[0]
	args := []any{"HSET", bigHash}
	for e := 0; e < 2500; e++ {
		args = append(args, "f"+strconv.Itoa(e), strconv.Itoa(e))
	}
	if err := cc.Do(ctx, args...).Err(); err != nil {
		t.Fatal(err)
	}
	if err := cc.PExpire(ctx, bigHash, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	keys = append(keys, bigHash)
	want := map[string]string{}
	for _, k := range keys {
		st, err := asmKeyState(ctx, srcC, k)
		if err != nil {
			t.Fatalf("state of %s on the source: %v", k, err)
		}
		want[k] = st
	}

	// The replica is in sync before the move, and gets the moved keys
	// through the stream: no full sync of it after the move.
	fullSyncs := func() string {
		info, err := dstC.Info(ctx, "stats").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\n") {
			if strings.HasPrefix(line, "sync_full:") {
				return strings.TrimSpace(line)
			}
		}
		t.Fatalf("no sync_full in INFO stats:\n%s", info)
		return ""
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := repC.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") && !strings.Contains(info, "master_sync_in_progress:1") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not in sync: %v\n%s", replicaAddr, err, info)
		}
	}
	syncsBefore := fullSyncs()

	if err := srcC.Do(ctx, "CLUSTER", "MIGRATESLOTS", "SLOTSRANGE", "0", strconv.Itoa(numSlots-1), "NODE", dstID).Err(); err != nil {
		t.Fatalf("MIGRATESLOTS: %v", err)
	}
	waitJob(t, srcC, 60*time.Second, "success")
	waitSlotKeys(t, dstC, numSlots, int64(len(keys)), 30*time.Second)
	waitSlotKeys(t, repC, numSlots, int64(len(keys)), 30*time.Second)
	if got := fullSyncs(); got != syncsBefore {
		t.Fatalf("the target served a full sync during the move (%s, before %s)", got, syncsBefore)
	}
	for _, who := range []*redis.Client{dstC, repC} {
		for _, k := range keys {
			got, err := asmKeyState(ctx, who, k)
			if err != nil || got != want[k] {
				t.Fatalf("%s on %s: %q (%v), want %q", k, who.Options().Addr, got, err, want[k])
			}
		}
	}
}
