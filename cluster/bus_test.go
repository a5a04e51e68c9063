package cluster

import (
	"bufio"
	"fmt"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
)

func slotRange(a, b int) []int {
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

func TestShardSlotsLost(t *testing.T) {
	before := sixNodes()
	moved := sixNodes()
	moved.Slots[100] = nid(2) // SETSLOT 100 NODE <2>
	moved.Slots[200] = ""     // DELSLOTS 200
	for _, c := range []struct {
		self int
		want []int
	}{
		{1, []int{100, 200}}, // the old owner
		{4, []int{100, 200}}, // its replica
		{2, nil},             // the new owner
		{5, nil},             // the new owner's replica
		{3, nil},             // another shard
	} {
		got := shardSlotsLost(BuildView(before, nid(c.self), SelfAddrs{}), BuildView(moved, nid(c.self), SelfAddrs{}))
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("slot move, node %d: lost %v, want %v", c.self, got, c.want)
		}
	}

	// Failover: 4 replaces 1, 1 follows 4. Redis drops the shard channels
	// of the slots on the old master and its other replicas, not on the
	// promoted one.
	fo := sixNodes()
	fo.Nodes[nid(4)].Role, fo.Nodes[nid(4)].MasterID = fsm.RoleMaster, ""
	fo.Nodes[nid(1)].Role, fo.Nodes[nid(1)].MasterID = fsm.RoleReplica, nid(4)
	for i := 0; i <= 5460; i++ {
		fo.Slots[i] = nid(4)
	}
	if got := shardSlotsLost(BuildView(before, nid(1), SelfAddrs{}), BuildView(fo, nid(1), SelfAddrs{})); !reflect.DeepEqual(got, slotRange(0, 5460)) {
		t.Errorf("failover, old master: lost %d slots, want 0-5460", len(got))
	}
	if got := shardSlotsLost(BuildView(before, nid(4), SelfAddrs{}), BuildView(fo, nid(4), SelfAddrs{})); got != nil {
		t.Errorf("failover, promoted replica: lost %d slots, want none", len(got))
	}
	if got := shardSlotsLost(BuildView(before, nid(2), SelfAddrs{}), BuildView(fo, nid(2), SelfAddrs{})); got != nil {
		t.Errorf("failover, other shard: lost %d slots, want none", len(got))
	}
}

func TestLostShardSlotsAcrossMembers(t *testing.T) {
	b := newBus(&Node{})
	v1 := BuildView(sixNodes(), nid(1), SelfAddrs{})
	if got := b.lostShardSlots(v1); got != nil {
		t.Fatalf("first view: %v", got)
	}
	// A new Raft member (CLUSTER MEET) is not compared with the old one.
	v2 := BuildView(fsm.NewState(), nid(1), SelfAddrs{})
	v2.gen = 1
	if got := b.lostShardSlots(v2); got != nil {
		t.Fatalf("new member: %v", got)
	}
	// CLUSTER RESET of a master: the slots it owned.
	b.last = v1
	b.reset.Store(true)
	if got := b.lostShardSlots(v2); !reflect.DeepEqual(got, slotRange(0, 5460)) {
		t.Fatalf("reset: lost %d slots, want 0-5460", len(got))
	}
	if b.reset.Load() {
		t.Fatal("reset flag not consumed")
	}
	// CLUSTER RESET of a replica: as Redis, it keeps them.
	b.last = BuildView(sixNodes(), nid(4), SelfAddrs{})
	b.reset.Store(true)
	if got := b.lostShardSlots(v2); got != nil {
		t.Fatalf("reset of a replica: %v", got)
	}
}

// fakePeer is a RESP server recording the commands it receives.
type fakePeer struct {
	ln   net.Listener
	mu   sync.Mutex
	cmds []string
}

func newFakePeer(t *testing.T) *fakePeer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					v, err := resp.ReadReply(br, resp.ReplyLimits{MaxBulk: 1 << 20, MaxElems: 64, MaxDepth: 2})
					if err != nil {
						return
					}
					p.mu.Lock()
					p.cmds = append(p.cmds, fmt.Sprint(v))
					p.mu.Unlock()
					c.Write([]byte(":1\r\n"))
				}
			}()
		}
	}()
	return p
}

func (p *fakePeer) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.cmds...)
}

func TestBusFanOut(t *testing.T) {
	s := sixNodes()
	peers := map[int]*fakePeer{}
	for i := 2; i <= 6; i++ {
		peers[i] = newFakePeer(t)
		s.Nodes[nid(i)].Addr = peers[i].ln.Addr().String()
	}
	// Node 3 is unreachable.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	s.Nodes[nid(3)].Addr = dead.Addr().String()
	dead.Close()

	n := &Node{log: hclog.NewNullLogger()}
	n.bus = newBus(n)
	defer n.bus.close()
	n.view.Store(BuildView(s, nid(1), SelfAddrs{}))

	n.Publish(false, []byte("ch"), []byte("hello"))
	n.Publish(true, []byte("sch"), []byte("shard"))
	plain := "[CLUSTER SKIFF-PUBLISH publish ch hello]"
	shard := "[CLUSTER SKIFF-PUBLISH spublish sch shard]"
	want := map[int][]string{2: {plain}, 4: {plain, shard}, 5: {plain}, 6: {plain}}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok := true
		for i, w := range want {
			if !reflect.DeepEqual(peers[i].got(), w) {
				ok = false
			}
		}
		if ok && n.BusStats().Dropped == 1 && n.BusStats().Sent == 5 {
			break
		}
		if time.Now().After(deadline) {
			for i := range want {
				t.Logf("node %d got %v", i, peers[i].got())
			}
			t.Fatalf("fan-out incomplete: %+v", n.BusStats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The unreachable peer is not dialled again within busRedial: its
	// messages are dropped at once.
	start := time.Now()
	for i := 0; i < 100; i++ {
		n.Publish(false, []byte("ch"), []byte("x"))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("publishing took %v", d)
	}
	if st := n.BusStats(); st.Dropped < 100 {
		t.Fatalf("dropped %d, want >= 100 (%+v)", st.Dropped, st)
	}
}

func TestBusQueueBound(t *testing.T) {
	// A peer that accepts but never reads: the queue fills and messages
	// are dropped, the publisher never waits.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	s := fsm.NewState()
	s.Nodes[nid(1)] = &fsm.Node{ID: nid(1), Addr: "127.0.0.1:1", Role: fsm.RoleMaster}
	s.Nodes[nid(2)] = &fsm.Node{ID: nid(2), Addr: ln.Addr().String(), Role: fsm.RoleMaster}
	n := &Node{log: hclog.NewNullLogger()}
	n.bus = newBus(n)
	defer n.bus.close()
	n.view.Store(BuildView(s, nid(1), SelfAddrs{}))
	msg := make([]byte, 64<<10)
	start := time.Now()
	for i := 0; i < 2*busQueueBytes/len(msg)+200; i++ {
		n.Publish(false, []byte("ch"), msg)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("publishing took %v", d)
	}
	if st := n.BusStats(); st.Dropped == 0 {
		t.Fatalf("nothing dropped: %+v", st)
	}
}
