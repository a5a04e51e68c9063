package integration

// Pub/Sub in cluster mode (docs/cluster.md "Pub/Sub"): the same scenario
// runs on six skiff nodes and on six redis-server nodes, both formed by
// `redis-cli --cluster create --cluster-replicas 1`, and the transcripts
// (replies and messages, node addresses replaced by their roles) must be
// equal:
//
//   - PUBLISH on a master and on a replica reaches the subscribers of
//     every node; the reply counts the local receivers only;
//   - SSUBSCRIBE on the channel's master and its replica (no READONLY
//     needed), MOVED elsewhere, CROSSSLOT across slots; SPUBLISH on the
//     master or the replica reaches both, MOVED on another shard;
//   - moving the slot (SETSLOT MIGRATING/IMPORTING/NODE) sends the old
//     shard's subscribers a sunsubscribe;
//   - a manual failover sends the demoted master's subscribers a
//     sunsubscribe; the promoted replica's subscribers stay.
//
// Every wait is a read with a deadline or a poll with one.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestClusterPubSub(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	sk := startSkiffClusterNodes(t, 6)
	rd := startRedisClusterNodes(t, 6)
	var skAddrs, rdAddrs []string
	for i := range sk {
		skAddrs = append(skAddrs, sk[i].respAddr())
		rdAddrs = append(rdAddrs, rd[i].Addr())
	}
	clusterCreate(t, skAddrs)
	clusterCreate(t, rdAddrs)
	skLog := pubsubScenario(t, "skiff", skAddrs)
	rdLog := pubsubScenario(t, "redis", rdAddrs)
	for i := 0; i < len(skLog) || i < len(rdLog); i++ {
		var a, b string
		if i < len(skLog) {
			a = skLog[i]
		}
		if i < len(rdLog) {
			b = rdLog[i]
		}
		if strings.HasSuffix(b, lostMark) && strings.HasPrefix(a, strings.TrimSuffix(b, lostMark)) {
			// Redis's bus is at most once too; on this loaded machine it
			// sometimes loses a message (a link reconnected).
			t.Logf("step %d: redis lost the message skiff delivered: %s", i, a)
			continue
		}
		if a != b {
			t.Errorf("step %d differs:\nskiff: %s\nredis: %s", i, a, b)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("skiff transcript:\n%s", strings.Join(skLog, "\n"))
		t.Logf("redis transcript:\n%s", strings.Join(rdLog, "\n"))
	}
}

// lostMark stands in a redis transcript for a message that did not come.
const lostMark = "<lost>"

// clusterTopology is what one node's CLUSTER NODES says.
type clusterTopology struct {
	id       map[string]string   // addr -> id
	master   map[string]string   // replica addr -> master addr
	replicas map[string][]string // master addr -> replica addrs
	masters  []string
	owner    map[int]string // slot -> master addr (only the slots asked for)
}

func readTopology(t *testing.T, c *Conn, slotsWanted ...int) (*clusterTopology, error) {
	r := c.MustDo(t, "CLUSTER", "NODES")
	top := &clusterTopology{id: map[string]string{}, master: map[string]string{}, replicas: map[string][]string{}, owner: map[int]string{}}
	byID := map[string]string{}
	type line struct{ f []string }
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(strings.TrimPrefix(r.Str, "txt:")), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			return nil, fmt.Errorf("CLUSTER NODES line %q", l)
		}
		addr, _, _ := strings.Cut(f[1], "@")
		top.id[addr] = f[0]
		byID[f[0]] = addr
		lines = append(lines, line{f})
	}
	for _, l := range lines {
		addr, _, _ := strings.Cut(l.f[1], "@")
		switch {
		case strings.Contains(l.f[2], "master"):
			top.masters = append(top.masters, addr)
			for _, rg := range l.f[8:] {
				a, b, ok := strings.Cut(rg, "-")
				if strings.HasPrefix(rg, "[") {
					continue
				}
				lo, _ := strconv.Atoi(a)
				hi := lo
				if ok {
					hi, _ = strconv.Atoi(b)
				}
				for _, s := range slotsWanted {
					if s >= lo && s <= hi {
						top.owner[s] = addr
					}
				}
			}
		case strings.Contains(l.f[2], "slave"):
			m := byID[l.f[3]]
			if m == "" {
				return nil, fmt.Errorf("replica %s of unknown master %s", addr, l.f[3])
			}
			top.master[addr] = m
			top.replicas[m] = append(top.replicas[m], addr)
		}
	}
	if len(top.masters) != 3 || len(top.master) != 3 {
		return nil, fmt.Errorf("want 3 masters and 3 replicas:\n%s", r.Str)
	}
	for _, s := range slotsWanted {
		if top.owner[s] == "" {
			return nil, fmt.Errorf("slot %d has no owner:\n%s", s, r.Str)
		}
	}
	return top, nil
}

func dialAddr(t *testing.T, addr string) *Conn {
	t.Helper()
	_, p, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(p)
	return (&Server{Kind: addr, Port: port}).Dial(t)
}

// pubsubScenario runs the scenario on a formed cluster and returns its
// transcript.
func pubsubScenario(t *testing.T, kind string, addrs []string) []string {
	t.Helper()
	var out []string
	admin := dialAddr(t, addrs[0])
	const ch, other = "news{7}", "other{x}"
	slot := int(admin.MustDo(t, "CLUSTER", "KEYSLOT", ch).Int)
	var top *clusterTopology
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if top, err = readTopology(t, admin, slot); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	// Roles: M owns the slot, R is its replica, X another master, XR
	// its replica, Y the third master, YR its replica.
	role := map[string]string{}
	M := top.owner[slot]
	R := top.replicas[M][0]
	var X, Y string
	for _, m := range top.masters {
		if m != M && X == "" {
			X = m
		} else if m != M {
			Y = m
		}
	}
	XR := top.replicas[X][0]
	role[M], role[R], role[X], role[XR], role[Y], role[top.replicas[Y][0]] = "M", "R", "X", "XR", "Y", "YR"
	order := []string{M, R, X, XR, Y, top.replicas[Y][0]}
	norm := func(s string) string {
		for a, r := range role {
			s = strings.ReplaceAll(s, a, "<"+r+">")
		}
		return s
	}
	conns := map[string]*Conn{}
	conn := func(addr string) *Conn {
		if conns[addr] == nil {
			conns[addr] = dialAddr(t, addr)
		}
		return conns[addr]
	}
	step := func(name string, c *Conn, args ...string) Reply {
		r, err := c.Do(args...)
		if err != nil {
			t.Errorf("%s: %s: %v", kind, name, err)
			out = append(out, name+": <"+err.Error()+">")
			return r
		}
		out = append(out, name+": "+norm(r.String()))
		return r
	}
	read := func(name string, c *Conn) {
		r, err := c.Read()
		if err != nil && kind == "redis" && !isClosed(err) {
			out = append(out, name+": "+lostMark)
			return
		}
		if err != nil {
			t.Errorf("%s: %s: %v", kind, name, err)
			out = append(out, name+": <"+err.Error()+">")
			return
		}
		out = append(out, name+": "+norm(r.String()))
	}

	// PUBLISH reaches every node, from a master and from a replica.
	subs := map[string]*Conn{}
	for _, a := range order {
		subs[a] = dialAddr(t, a)
		step("SUBSCRIBE on "+role[a], subs[a], "SUBSCRIBE", "bcast")
	}
	for i, from := range []string{M, XR} {
		msg := fmt.Sprintf("hello-%d", i)
		step("PUBLISH on "+role[from], conn(from), "PUBLISH", "bcast", msg)
		for _, a := range order {
			read("  received on "+role[a], subs[a])
		}
	}
	for _, a := range order {
		step("UNSUBSCRIBE on "+role[a], subs[a], "UNSUBSCRIBE")
	}

	// Sharded: the channel's shard only.
	ssM, ssR := dialAddr(t, M), dialAddr(t, R)
	step("SSUBSCRIBE on M", ssM, "SSUBSCRIBE", ch)
	step("SSUBSCRIBE on R", ssR, "SSUBSCRIBE", ch)
	step("SSUBSCRIBE on X", dialAddr(t, X), "SSUBSCRIBE", ch)
	step("SSUBSCRIBE on XR", dialAddr(t, XR), "SSUBSCRIBE", ch)
	step("SSUBSCRIBE across slots", dialAddr(t, M), "SSUBSCRIBE", ch, other)
	step("SPUBLISH on X (another shard)", conn(X), "SPUBLISH", ch, "nope")
	step("SPUBLISH on M", conn(M), "SPUBLISH", ch, "s1")
	read("  received on M", ssM)
	read("  received on R", ssR)
	step("SPUBLISH on R", conn(R), "SPUBLISH", ch, "s2")
	read("  received on M", ssM)
	read("  received on R", ssR)
	step("PUBSUB SHARDNUMSUB on R", conn(R), "PUBSUB", "SHARDNUMSUB", ch)

	// The slot moves from M to X: M's and R's subscribers are dropped.
	step("SETSLOT MIGRATING on M", conn(M), "CLUSTER", "SETSLOT", strconv.Itoa(slot), "MIGRATING", top.id[X])
	step("SETSLOT IMPORTING on X", conn(X), "CLUSTER", "SETSLOT", strconv.Itoa(slot), "IMPORTING", top.id[M])
	step("SPUBLISH on M while migrating", conn(M), "SPUBLISH", ch, "s3")
	read("  received on M", ssM)
	read("  received on R", ssR)
	for _, m := range []string{M, X, Y} {
		step("SETSLOT NODE X on "+role[m], conn(m), "CLUSTER", "SETSLOT", strconv.Itoa(slot), "NODE", top.id[X])
	}
	read("  received on M", ssM)
	read("  received on R", ssR)
	step("  PING on M's subscriber", ssM, "PING")
	step("  PING on R's subscriber", ssR, "PING")
	step("SSUBSCRIBE on M after the move", dialAddr(t, M), "SSUBSCRIBE", ch)
	// Wait for R to know (Redis learns it from X's gossip).
	waitShardOwner(t, kind, conn(R), ch, X)
	step("SSUBSCRIBE on R after the move", dialAddr(t, R), "SSUBSCRIBE", ch)

	// A manual failover of X: X's subscribers are dropped, XR's stay.
	ssX, ssXR := dialAddr(t, X), dialAddr(t, XR)
	step("SSUBSCRIBE on X", ssX, "SSUBSCRIBE", ch)
	step("SSUBSCRIBE on XR", ssXR, "SSUBSCRIBE", ch)
	step("SPUBLISH on X", conn(X), "SPUBLISH", ch, "s4")
	read("  received on X", ssX)
	read("  received on XR", ssXR)
	step("CLUSTER FAILOVER on XR", conn(XR), "CLUSTER", "FAILOVER")
	read("  received on X", ssX)
	waitShardOwner(t, kind, conn(XR), ch, XR)
	step("SPUBLISH on XR", conn(XR), "SPUBLISH", ch, "s5")
	read("  received on XR", ssXR)
	step("  PING on X's subscriber", ssX, "PING")
	return out
}

// waitShardOwner polls c (CLUSTER NODES) until the master owning ch's
// slot is owner.
func waitShardOwner(t *testing.T, kind string, c *Conn, ch, owner string) {
	t.Helper()
	slot := int(c.MustDo(t, "CLUSTER", "KEYSLOT", ch).Int)
	var last error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		top, err := readTopology(t, c, slot)
		if err == nil && top.owner[slot] == owner {
			return
		}
		last = err
	}
	t.Fatalf("%s: %s never saw slot %d owned by %s (%v)", kind, c.srv.Kind, slot, owner, last)
}
