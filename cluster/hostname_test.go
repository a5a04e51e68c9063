package cluster

import (
	"fmt"
	"strings"
	"testing"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
)

// hostnameView is sixNodes seen by node 1, with hostnames on nodes 1
// ("me.com") and 3 ("them.com") and none on node 2, as Redis's cluster
// suite 27-endpoints sets them.
func hostnameView() *View {
	s := sixNodes()
	s.Nodes[nid(1)].Hostname = "me.com"
	s.Nodes[nid(3)].Hostname = "them.com"
	return BuildView(s, nid(1), SelfAddrs{})
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func TestNodesLineWithHostname(t *testing.T) {
	v := hostnameView()
	live := &Live{Peer: func(id string) (PeerState, bool) { return PeerState{LastPong: 1234, Reachable: true}, true }}
	lines := strings.Split(v.NodesText(live), "\n")
	if want := nid(1) + " 127.0.0.1:30001@40001,me.com myself,master - 0 0 1 connected 0-5460"; lines[0] != want {
		t.Errorf("node 1:\n got %q\nwant %q", lines[0], want)
	}
	if want := nid(2) + " 127.0.0.1:30002@40002 master - 0 1234 2 connected 5461-10922"; lines[1] != want {
		t.Errorf("node 2 (no hostname):\n got %q\nwant %q", lines[1], want)
	}
	if want := nid(3) + " 127.0.0.1:30003@40003,them.com master - 0 1234 3 connected 10923-16383"; lines[2] != want {
		t.Errorf("node 3:\n got %q\nwant %q", lines[2], want)
	}
	if !strings.HasPrefix(v.ConfigText(live), lines[0]+"\n") {
		t.Errorf("nodes.conf lacks the hostname: %q", v.ConfigText(live)[:120])
	}
}

// TestSlotsEndpoints: CLUSTER SLOTS under each
// cluster-preferred-endpoint-type, as Redis 7.0's addNodeToNodeReply.
func TestSlotsEndpoints(t *testing.T) {
	v := hostnameView()
	live := &Live{Peer: func(id string) (PeerState, bool) { return PeerState{Offset: 7, Reachable: true}, true }}
	ip := bulk("127.0.0.1")
	entry := func(i int, first, meta string, pairs int) string {
		return "*4\r\n" + first + fmt.Sprintf(":%d\r\n", 30000+i) + bulk(nid(i)) + fmt.Sprintf("*%d\r\n", 2*pairs) + meta
	}
	for _, c := range []struct {
		name string
		ep   Endpoint
		node func(i int) string
	}{
		{"ip", EndpointIP, func(i int) string {
			switch i {
			case 1:
				return entry(1, ip, bulk("hostname")+bulk("me.com"), 1)
			case 3:
				return entry(3, ip, bulk("hostname")+bulk("them.com"), 1)
			}
			return entry(i, ip, "", 0)
		}},
		{"hostname", EndpointHostname, func(i int) string {
			first := bulk("?")
			switch i {
			case 1:
				first = bulk("me.com")
			case 3:
				first = bulk("them.com")
			}
			return entry(i, first, bulk("ip")+ip, 1)
		}},
		{"unknown-endpoint", EndpointUnknown, func(i int) string {
			switch i {
			case 1:
				return entry(1, "$-1\r\n", bulk("ip")+ip+bulk("hostname")+bulk("me.com"), 2)
			case 3:
				return entry(3, "$-1\r\n", bulk("ip")+ip+bulk("hostname")+bulk("them.com"), 2)
			}
			return entry(i, "$-1\r\n", bulk("ip")+ip, 1)
		}},
	} {
		live.Endpoint = c.ep
		w := resp.Writer{Proto: 2}
		v.WriteSlots(&w, live)
		want := "*3\r\n" +
			"*4\r\n:0\r\n:5460\r\n" + c.node(1) + c.node(4) +
			"*4\r\n:5461\r\n:10922\r\n" + c.node(2) + c.node(5) +
			"*4\r\n:10923\r\n:16383\r\n" + c.node(3) + c.node(6)
		if got := string(w.B); got != want {
			t.Errorf("%s: CLUSTER SLOTS:\n got %q\nwant %q", c.name, got, want)
		}
	}
	// RESP3: the metadata is a map.
	live.Endpoint = EndpointIP
	w := resp.Writer{Proto: 3}
	v.WriteSlots(&w, live)
	if m := "*4\r\n" + ip + ":30001\r\n" + bulk(nid(1)) + "%1\r\n" + bulk("hostname") + bulk("me.com"); !strings.Contains(string(w.B), m) {
		t.Errorf("RESP3 CLUSTER SLOTS lacks %q: %q", m, w.B)
	}
}

// TestShardsHostname: "endpoint" is the preferred endpoint, "hostname"
// follows it only for a node that has one (Redis 7.0.15).
func TestShardsHostname(t *testing.T) {
	v := hostnameView()
	live := &Live{Peer: func(id string) (PeerState, bool) { return PeerState{Offset: 7, Reachable: true}, true }}
	for _, c := range []struct {
		ep         Endpoint
		e1, e2, e3 string
	}{
		{EndpointIP, "127.0.0.1", "127.0.0.1", "127.0.0.1"},
		{EndpointHostname, "me.com", "?", "them.com"},
		{EndpointUnknown, "", "", ""},
	} {
		live.Endpoint = c.ep
		w := resp.Writer{Proto: 3}
		v.WriteShards(&w, live)
		out := string(w.B)
		for i, want := range []string{
			"%8\r\n" + bulk("id") + bulk(nid(1)) + bulk("port") + ":30001\r\n" + bulk("ip") + bulk("127.0.0.1") + bulk("endpoint") + bulk(c.e1) + bulk("hostname") + bulk("me.com") + bulk("role"),
			"%7\r\n" + bulk("id") + bulk(nid(2)) + bulk("port") + ":30002\r\n" + bulk("ip") + bulk("127.0.0.1") + bulk("endpoint") + bulk(c.e2) + bulk("role"),
			"%8\r\n" + bulk("id") + bulk(nid(3)) + bulk("port") + ":30003\r\n" + bulk("ip") + bulk("127.0.0.1") + bulk("endpoint") + bulk(c.e3) + bulk("hostname") + bulk("them.com") + bulk("role"),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("endpoint type %d, node %d: CLUSTER SHARDS lacks %q in %q", c.ep, i+1, want, out)
			}
		}
	}
}

// TestRedirectEndpoints: MOVED and ASK name the preferred endpoint, as
// Redis's clusterRedirectClient ("?" for a node without a hostname, an
// empty host for unknown-endpoint).
func TestRedirectEndpoints(t *testing.T) {
	s := sixNodes()
	s.Nodes[nid(1)].Hostname = "me.com"
	s.Nodes[nid(3)].Hostname = "them.com"
	s.Migrating[100] = nid(3)
	v := BuildView(s, nid(1), SelfAddrs{})
	toThem, toNoName, ask := keyIn(12000), keyIn(6000), keyIn(100)
	for _, c := range []struct {
		ep                   Endpoint
		them, noName, askTxt string
	}{
		{EndpointIP, "MOVED 12000 127.0.0.1:30003", "MOVED 6000 127.0.0.1:30002", "ASK 100 127.0.0.1:30003"},
		{EndpointHostname, "MOVED 12000 them.com:30003", "MOVED 6000 ?:30002", "ASK 100 them.com:30003"},
		{EndpointUnknown, "MOVED 12000 :30003", "MOVED 6000 :30002", "ASK 100 :30003"},
	} {
		if got := v.Redirect(&Query{Keys: [][]byte{toThem}, Endpoint: c.ep}); got != c.them {
			t.Errorf("endpoint %d: %q, want %q", c.ep, got, c.them)
		}
		if got := v.Redirect(&Query{Keys: [][]byte{toNoName}, Endpoint: c.ep}); got != c.noName {
			t.Errorf("endpoint %d: %q, want %q", c.ep, got, c.noName)
		}
		if got := v.Redirect(&Query{Keys: [][]byte{ask}, Endpoint: c.ep, Exists: func([]byte) bool { return false }}); got != c.askTxt {
			t.Errorf("endpoint %d: %q, want %q", c.ep, got, c.askTxt)
		}
	}
	if got := Moved(5, v.Node(nid(1)), EndpointHostname); got != "MOVED 5 me.com:30001" {
		t.Errorf("Moved: %q", got)
	}
}

func TestParseEndpoint(t *testing.T) {
	for s, want := range map[string]Endpoint{"ip": EndpointIP, "hostname": EndpointHostname, "unknown-endpoint": EndpointUnknown, "": EndpointIP} {
		if got := ParseEndpoint(s); got != want {
			t.Errorf("ParseEndpoint(%q) = %d, want %d", s, got, want)
		}
	}
}

// TestHostnameEffectApplied: a set-node-hostname whose outcome is unknown
// counts as done once the applied state shows the hostname.
func TestHostnameEffectApplied(t *testing.T) {
	f := fsm.New()
	for i, c := range []fsm.Command{
		&fsm.UpsertNode{Node: fsm.Node{ID: nid(1), Addr: "127.0.0.1:30001", RaftAddr: "127.0.0.1:40001"}},
		&fsm.SetNodeHostname{ID: nid(1), Hostname: "me.com"},
	} {
		data, err := fsm.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		if r := f.ApplyEntry(uint64(i+1), data); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	if _, ok := effectApplied(f, &fsm.SetNodeHostname{ID: nid(1), Hostname: "me.com"}); !ok {
		t.Error("applied hostname not recognised")
	}
	if _, ok := effectApplied(f, &fsm.SetNodeHostname{ID: nid(1), Hostname: "other.com"}); ok {
		t.Error("a different hostname counted as applied")
	}
	if _, ok := effectApplied(f, &fsm.SetNodeHostname{ID: nid(2), Hostname: "me.com"}); ok {
		t.Error("an unknown node counted as applied")
	}
}
