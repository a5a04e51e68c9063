package cluster

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/slots"
)

func nid(n int) string { return fmt.Sprintf("%040x", n) }

// sixNodes is the state after redis-cli --cluster create of six nodes
// with one replica each: masters 1-3 (epochs 1-3), replicas 4-6.
func sixNodes() *fsm.State {
	s := fsm.NewState()
	for i := 1; i <= 6; i++ {
		n := &fsm.Node{ID: nid(i), Addr: fmt.Sprintf("127.0.0.1:%d", 30000+i), RaftAddr: fmt.Sprintf("127.0.0.1:%d", 40000+i),
			Role: fsm.RoleMaster, ShardID: nid(i), ConfigEpoch: uint64(i)}
		if i > 3 {
			n.Role, n.MasterID = fsm.RoleReplica, nid(i-3)
		}
		s.Nodes[n.ID] = n
	}
	s.CurrentEpoch = 6
	s.Index = 42
	for i := 0; i < fsm.NumSlots; i++ {
		switch {
		case i <= 5460:
			s.Slots[i] = nid(1)
		case i <= 10922:
			s.Slots[i] = nid(2)
		default:
			s.Slots[i] = nid(3)
		}
	}
	return s
}

func TestNodesRendering(t *testing.T) {
	s := sixNodes()
	s.Migrating[100] = nid(2)
	s.Importing[6000] = nid(2)
	s.ImportingBy[6000] = nid(1)
	v := BuildView(s, nid(1), SelfAddrs{})
	live := &Live{Peer: func(id string) (PeerState, bool) { return PeerState{Offset: 10, LastPong: 1234, Reachable: true}, true }}
	text := v.NodesText(live)
	lines := strings.Split(text, "\n")
	if len(lines) != 7 || lines[6] != "" {
		t.Fatalf("want 6 lines each ending in \\n, got %q", text)
	}
	want := []string{
		nid(1) + " 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 [100->-" + nid(2) + "] [6000-<-" + nid(2) + "]",
		nid(2) + " 127.0.0.1:30002@40002 master - 0 1234 2 connected 5461-10922",
		nid(3) + " 127.0.0.1:30003@40003 master - 0 1234 3 connected 10923-16383",
		nid(4) + " 127.0.0.1:30004@40004 slave " + nid(1) + " 0 1234 1 connected",
		nid(5) + " 127.0.0.1:30005@40005 slave " + nid(2) + " 0 1234 2 connected",
		nid(6) + " 127.0.0.1:30006@40006 slave " + nid(3) + " 0 1234 3 connected",
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %s\nwant %s", i, lines[i], w)
		}
	}
	// The marks show only on the node that holds them.
	v2 := BuildView(s, nid(2), SelfAddrs{})
	if strings.Contains(v2.NodesText(live), "[") {
		t.Errorf("node 2 shows marks it does not hold:\n%s", v2.NodesText(live))
	}
	// A replica shows its master's epoch in INFO too.
	v4 := BuildView(s, nid(4), SelfAddrs{})
	info := v4.InfoText(&Live{StateOK: true})
	for _, f := range []string{"cluster_state:ok\r\n", "cluster_slots_assigned:16384\r\n", "cluster_slots_ok:16384\r\n",
		"cluster_known_nodes:6\r\n", "cluster_size:3\r\n", "cluster_current_epoch:6\r\n", "cluster_my_epoch:1\r\n",
		"cluster_stats_messages_sent:0\r\n", "total_cluster_links_buffer_limit_exceeded:0\r\n"} {
		if !strings.Contains(info, f) {
			t.Errorf("CLUSTER INFO lacks %q:\n%s", f, info)
		}
	}
	if conf := v.ConfigText(live); !strings.HasSuffix(conf, "vars currentEpoch 6 lastVoteEpoch 0\n") {
		t.Errorf("nodes.conf = %q", conf)
	}
}

func TestFreshNode(t *testing.T) {
	v := BuildView(fsm.NewState(), nid(9), SelfAddrs{Addr: "127.0.0.1:30001", RaftAddr: "127.0.0.1:40001"})
	if got, want := v.NodesText(nil), nid(9)+" :30001@40001 myself,master - 0 0 0 connected\n"; got != want {
		t.Errorf("fresh node:\n got %q\nwant %q", got, want)
	}
	info := v.InfoText(&Live{})
	if !strings.HasPrefix(info, "cluster_state:fail\r\ncluster_slots_assigned:0\r\n") || !strings.Contains(info, "cluster_known_nodes:1\r\n") {
		t.Errorf("fresh CLUSTER INFO:\n%s", info)
	}
}

func TestSlotsAndShards(t *testing.T) {
	s := sixNodes()
	s.Slots[5000] = nid(3) // a hole in node 1's range
	v := BuildView(s, nid(1), SelfAddrs{})
	live := &Live{SelfOffset: 5, Peer: func(id string) (PeerState, bool) {
		if id == nid(6) {
			return PeerState{Offset: 0, Reachable: true}, true // still loading: hidden from SLOTS
		}
		return PeerState{Offset: 7, Reachable: true}, true
	}}
	var w resp.Writer
	w.Proto = 2
	v.WriteSlots(&w, live)
	got := string(w.B)
	node := func(i int) string {
		return fmt.Sprintf("*4\r\n$9\r\n127.0.0.1\r\n:%d\r\n$40\r\n%s\r\n*0\r\n", 30000+i, nid(i))
	}
	want := "*5\r\n" +
		"*4\r\n:0\r\n:4999\r\n" + node(1) + node(4) +
		"*3\r\n:5000\r\n:5000\r\n" + node(3) +
		"*4\r\n:5001\r\n:5460\r\n" + node(1) + node(4) +
		"*4\r\n:5461\r\n:10922\r\n" + node(2) + node(5) +
		"*3\r\n:10923\r\n:16383\r\n" + node(3)
	if got != want {
		t.Errorf("CLUSTER SLOTS:\n got %q\nwant %q", got, want)
	}
	w = resp.Writer{Proto: 3}
	v.WriteShards(&w, live)
	out := string(w.B)
	if !strings.HasPrefix(out, "*3\r\n%2\r\n$5\r\nslots\r\n*6\r\n:0\r\n:4999\r\n:5001\r\n:5460\r\n:10923\r\n:16383\r\n") &&
		!strings.HasPrefix(out, "*3\r\n%2\r\n$5\r\nslots\r\n*4\r\n:0\r\n:4999\r\n:5001\r\n:5460\r\n") {
		t.Errorf("CLUSTER SHARDS starts %q", out[:120])
	}
	for _, f := range []string{"$4\r\nrole\r\n$7\r\nreplica\r\n", "$6\r\nhealth\r\n$7\r\nloading\r\n", "$18\r\nreplication-offset\r\n:5\r\n", "%7\r\n"} {
		if !strings.Contains(out, f) {
			t.Errorf("CLUSTER SHARDS lacks %q", f)
		}
	}
}

func keyIn(slot int) []byte {
	for i := 0; ; i++ {
		k := []byte(fmt.Sprintf("k%d", i))
		if slots.KeySlot(k) == slot {
			return k
		}
	}
}

func TestRedirect(t *testing.T) {
	s := sixNodes()
	s.Slots[7] = ""
	s.Migrating[100] = nid(2)
	s.Importing[6000] = nid(2)
	s.ImportingBy[6000] = nid(1)
	v := BuildView(s, nid(1), SelfAddrs{})
	present := map[string]bool{}
	exists := func(k []byte) bool { return present[string(k)] }
	mine, theirs := keyIn(0), keyIn(12000)
	a100, b100 := keyIn(100), []byte("{"+string(keyIn(100))+"}x")
	a6000, b6000 := keyIn(6000), []byte("{"+string(keyIn(6000))+"}x")
	cases := []struct {
		name string
		q    Query
		want string
	}{
		{"no keys", Query{}, ""},
		{"mine", Query{Keys: [][]byte{mine}}, ""},
		{"moved", Query{Keys: [][]byte{theirs}}, "MOVED 12000 127.0.0.1:30003"},
		{"cross slot", Query{Keys: [][]byte{mine, theirs}}, ErrCrossSlot},
		{"same key twice", Query{Keys: [][]byte{theirs, theirs}}, "MOVED 12000 127.0.0.1:30003"},
		{"unbound", Query{Keys: [][]byte{keyIn(7)}}, ErrUnbound},
		{"down", Query{Keys: [][]byte{mine}, Down: true}, ErrDown},
		{"down, reads allowed, read", Query{Keys: [][]byte{mine}, Down: true, AllowReadsWhenDown: true}, ""},
		{"down, reads allowed, write", Query{Keys: [][]byte{mine}, Down: true, AllowReadsWhenDown: true, Write: true}, ErrDownReadOnly},
		{"migrating, missing", Query{Keys: [][]byte{a100}}, "ASK 100 127.0.0.1:30002"},
		{"migrating, MIGRATE", Query{Keys: [][]byte{a100}, Migrate: true}, ""},
		{"importing, no ASKING", Query{Keys: [][]byte{a6000}}, "MOVED 6000 127.0.0.1:30002"},
		{"importing, ASKING", Query{Keys: [][]byte{a6000}, Asking: true}, ""},
		{"importing, ASKING, several missing", Query{Keys: [][]byte{a6000, b6000}, Asking: true}, ErrTryAgain},
	}
	for _, c := range cases {
		q := c.q
		q.Exists = exists
		if got := v.Redirect(&q); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
	present[string(a100)] = true
	if got := v.Redirect(&Query{Keys: [][]byte{a100}, Exists: exists}); got != "" {
		t.Errorf("migrating, present: %q", got)
	}
	if got := v.Redirect(&Query{Keys: [][]byte{a100, b100}, Exists: exists}); got != ErrTryAgain {
		t.Errorf("migrating, some present: %q", got)
	}
	present[string(a6000)], present[string(b6000)] = true, true
	if got := v.Redirect(&Query{Keys: [][]byte{a6000, b6000}, Asking: true, Exists: exists}); got != "" {
		t.Errorf("importing, all present, ASKING: %q", got)
	}
	// A replica: reads of its master's slots with READONLY, MOVED otherwise.
	r := BuildView(s, nid(4), SelfAddrs{})
	if got := r.Redirect(&Query{Keys: [][]byte{mine}}); got != "MOVED 0 127.0.0.1:30001" {
		t.Errorf("replica without READONLY: %q", got)
	}
	if got := r.Redirect(&Query{Keys: [][]byte{mine}, ReadOnly: true}); got != "" {
		t.Errorf("replica READONLY read: %q", got)
	}
	if got := r.Redirect(&Query{Keys: [][]byte{mine}, ReadOnly: true, Write: true}); got != "MOVED 0 127.0.0.1:30001" {
		t.Errorf("replica READONLY write: %q", got)
	}
	if got := r.Redirect(&Query{Keys: [][]byte{theirs}, ReadOnly: true}); got != "MOVED 12000 127.0.0.1:30003" {
		t.Errorf("replica READONLY other shard: %q", got)
	}
	if got := r.Redirect(&Query{Keys: [][]byte{mine}, PubSubShard: true}); got != "" {
		t.Errorf("replica SPUBLISH: %q", got)
	}
}
