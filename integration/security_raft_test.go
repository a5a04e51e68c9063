package integration

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/raftauth"
	"github.com/skiffdb/skiff/raftgroup"
)

// securityRaftSecret is the cluster-secret of TestSecurityRaftRogue's node.
const securityRaftSecret = "it-cluster-secret-0123456789"

// rogue is a process that speaks hashicorp/raft's RPCs to a member: raft's
// own NetworkTransport, over plain TCP (no handshake) or over a raftauth
// stream layer with a given secret.
type rogue struct {
	trans *raft.NetworkTransport
	addr  string
}

func newRogue(t *testing.T, secret []byte, handshake bool) *rogue {
	t.Helper()
	if !handshake {
		tr, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, 3*time.Second, io.Discard)
		if err != nil {
			t.Fatalf("rogue transport: %v", err)
		}
		t.Cleanup(func() { _ = tr.Close() })
		return &rogue{trans: tr, addr: string(tr.LocalAddr())}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tr := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: raftauth.NewStreamLayer(ln, nil, secret), MaxPool: 1, Timeout: 3 * time.Second})
	t.Cleanup(func() { _ = tr.Close() })
	return &rogue{trans: tr, addr: ln.Addr().String()}
}

// takeOver sends what a would-be leader sends: an AppendEntries with a
// far higher term carrying a configuration that makes the rogue the only
// voter, then TimeoutNow. Either one, if raft saw it, would change the
// member's term (and its state, and with luck its log).
func (r *rogue) takeOver(target raftgroup.Status) error {
	cfg := raft.Configuration{Servers: []raft.Server{{ID: "rogue", Address: raft.ServerAddress(r.addr), Suffrage: raft.Voter}}}
	hdr := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("rogue"), Addr: []byte(r.addr)}
	ae := &raft.AppendEntriesRequest{RPCHeader: hdr, Term: target.Term + 100,
		PrevLogEntry: target.LastLogIndex, PrevLogTerm: target.Term,
		Entries: []*raft.Log{{Index: target.LastLogIndex + 1, Term: target.Term + 100, Type: raft.LogConfiguration,
			Data: raft.EncodeConfiguration(cfg)}},
		LeaderCommitIndex: target.LastLogIndex + 1}
	var aeResp raft.AppendEntriesResponse
	errAE := r.trans.AppendEntries(raft.ServerID(target.ID), raft.ServerAddress(target.RaftAddr), ae, &aeResp)
	var tnResp raft.TimeoutNowResponse
	errTN := r.trans.TimeoutNow(raft.ServerID(target.ID), raft.ServerAddress(target.RaftAddr),
		&raft.TimeoutNowRequest{RPCHeader: hdr}, &tnResp)
	if errAE == nil || errTN == nil {
		return nil
	}
	return errAE
}

// TestSecurityRaftRogue: a process that speaks raft RPCs to a member's raft
// port without the cluster-secret (no handshake at all, or the handshake
// with a wrong secret) is refused, with a log line, and the group's state
// (term, leader, configuration, last index) stays as it was. The same
// RPCs with the right secret do change it, which shows the check looks
// at the right things.
func TestSecurityRaftRogue(t *testing.T) {
	nodes := startRaftCluster(t, 1, "--cluster-secret", securityRaftSecret)
	n := nodes[0]
	// The node appends entries of its own after it becomes the leader
	// (its address, its flags): the reference is taken once its log has
	// stopped growing, so that only a rogue could move it afterwards.
	var before raftgroup.Status
	stable := 0
	waitRaft(t, "the new group's own entries committed", 15*time.Second, func() (bool, string) {
		st, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		if st.LastLogIndex == before.LastLogIndex && st.CommitIndex == st.LastLogIndex {
			stable++
		} else {
			stable = 0
		}
		before = st
		// About 1.5 s unchanged: longer than the failure detector's poll (1 s)
		// that makes those proposals.
		return stable >= 75, fmt.Sprintf("last index %d, commit %d", st.LastLogIndex, st.CommitIndex)
	})
	if before.State != "Leader" {
		t.Fatalf("bootstrapped node is %s, not Leader", before.State)
	}

	for _, tc := range []struct {
		name      string
		secret    string
		handshake bool
		log       string
	}{
		{"plain raft transport", "", false, "not a Skiff raft handshake"},
		{"handshake, wrong secret", "wrong-secret-0123456789", true, "cluster-secret differs"},
		{"handshake, no secret", "", true, "cluster-secret differs"},
	} {
		r := newRogue(t, []byte(tc.secret), tc.handshake)
		if err := r.takeOver(before); err == nil {
			t.Fatalf("%s: raft RPCs went through", tc.name)
		} else {
			t.Logf("%s: refused: %v", tc.name, err)
		}
		waitRaft(t, tc.name+": refusal logged", 5*time.Second, func() (bool, string) {
			return strings.Contains(n.logTail(64<<10), tc.log), "no log line with " + tc.log
		})
	}
	// Nothing changed. Compare after a moment in which an accepted RPC
	// would long have been applied: raft handles one in well under a
	// heartbeat, and the leader loop ticks every few milliseconds.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		after, err := n.status()
		if err != nil {
			t.Fatal(err)
		}
		if after.Term != before.Term || after.State != "Leader" || after.LastLogIndex != before.LastLogIndex ||
			len(after.Members) != len(before.Members) || after.Members[0].ID != before.Members[0].ID {
			t.Fatalf("group state changed after rogue RPCs:\nbefore %+v\nafter  %+v", before, after)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Control: with the secret, the same RPCs reach raft and the member
	// adopts the rogue's term. (A real peer needs the secret for nothing
	// more than this; the secret is the whole gate.)
	r := newRogue(t, []byte(securityRaftSecret), true)
	if err := r.takeOver(before); err != nil {
		t.Fatalf("RPCs with the right secret failed: %v", err)
	}
	waitRaft(t, "term adopted from an authenticated peer", 5*time.Second, func() (bool, string) {
		st, err := n.status()
		if err != nil {
			return false, err.Error()
		}
		return st.Term >= before.Term+100, st.State
	})
}
