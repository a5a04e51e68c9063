package integration

// Raft metadata group tests on real processes (loopback only).
//
// Partitions use SIGSTOP: stopping the majority's processes isolates the
// remaining minority as completely as a network partition would (its peers
// neither answer nor time out its connections), without needing a proxy or
// network namespaces. SIGCONT heals it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

// Bounds. Election timeouts are 200 ms by default; these leave room for a
// loaded 2-core machine.
const (
	newLeaderBound = 5 * time.Second
	commitBound    = 5 * time.Second
)

func proposeMonitor(ctx context.Context, c *admin.Client, name string) (fsm.Result, error) {
	return c.Propose(ctx, &fsm.MonitorMaster{Monitor: fsm.Monitor{Name: name, Addr: "127.0.0.1:6379", Quorum: 2}})
}

// proposeAny retries a proposal on any live node until it commits or the
// deadline passes. Only used for no-op style entries whose duplicate
// application is harmless or refused.
func proposeAny(nodes []*raftNode, cmd fsm.Command, timeout time.Duration) (fsm.Result, *raftNode, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if !n.alive() || n.stopped {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			res, err := n.client().Propose(ctx, cmd)
			cancel()
			if err == nil {
				return res, n, nil
			}
			last = err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fsm.Result{}, nil, fmt.Errorf("no commit within %v: %v", timeout, last)
}

// commitMonitor commits a monitor entry through any live node, riding out
// leader changes: a retry after an unknown outcome that finds the name
// already there ("Duplicated master name") means the first try committed.
func commitMonitor(nodes []*raftNode, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		for _, n := range nodes {
			if !n.alive() || n.stopped {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := proposeMonitor(ctx, n.client(), name)
			cancel()
			if err == nil || (fsm.IsCommandError(err) && strings.Contains(err.Error(), "Duplicated master name")) {
				return nil
			}
			last = err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("monitor %s not committed within %v: %v", name, timeout, last)
}

func monitorsOf(t *testing.T, n *raftNode) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	d, err := n.client().Cluster(ctx)
	if err != nil {
		t.Fatalf("cluster of %s: %v", n.name, err)
	}
	out := map[string]bool{}
	for _, m := range d.Monitors {
		out[m.Name] = true
	}
	return out
}

func apiErr(err error) *admin.APIError {
	var ae *admin.APIError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

func others(nodes []*raftNode, not ...*raftNode) []*raftNode {
	var out []*raftNode
outer:
	for _, n := range nodes {
		for _, x := range not {
			if n == x {
				continue outer
			}
		}
		out = append(out, n)
	}
	return out
}

// TestRaftGroup walks one group through formation, leader death, restart,
// a minority partition, membership changes and refused joins.
func TestRaftGroup(t *testing.T) {
	nodes := startRaftCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	leader, err := raftLeader(nodes, newLeaderBound)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := leader.status()
	if st.Voters != 3 {
		t.Fatalf("voters %d, want 3: %+v", st.Voters, st)
	}

	// Committed entries, proposed through a follower first (redirected).
	committed := []string{}
	follower := others(nodes, leader)[0]
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("before-%d", i)
		if err := commitMonitor(append([]*raftNode{follower}, nodes...), name, commitBound); err != nil {
			t.Fatal(err)
		}
		committed = append(committed, name)
	}

	t.Run("kill -9 leader", func(t *testing.T) {
		start := time.Now()
		leader.kill()
		survivors := others(nodes, leader)
		nl, err := raftLeader(survivors, newLeaderBound)
		if err != nil {
			t.Fatalf("after kill -9 of the leader: %v", err)
		}
		elected := time.Since(start)
		res, _, err := proposeAny(survivors, &fsm.Noop{Note: "after-kill"}, commitBound)
		if err != nil {
			t.Fatal(err)
		}
		if err := commitMonitor(survivors, "after-kill", commitBound); err != nil {
			t.Fatal(err)
		}
		committed = append(committed, "after-kill")
		t.Logf("new leader %s after %v, first commit (index %d) after %v", nl.name, elected, res.Index, time.Since(start))
		got := monitorsOf(t, nl)
		for _, name := range committed {
			if !got[name] {
				t.Errorf("committed entry %s lost after failover", name)
			}
		}

		// Restart: the node rejoins from its own state.
		leader.start()
		if err := leader.waitUp(15 * time.Second); err != nil {
			t.Fatal(err)
		}
		waitRaft(t, "restarted node caught up", 15*time.Second, func() (bool, string) {
			s, err := leader.status()
			if err != nil {
				return false, err.Error()
			}
			return s.State == "Follower" && s.AppliedIndex >= res.Index && len(s.Members) == 3, fmt.Sprintf("%+v", s)
		})
		got = monitorsOf(t, leader)
		for _, name := range committed {
			if !got[name] {
				t.Errorf("restarted node lacks %s", name)
			}
		}
		if !strings.Contains(leader.logTail(64<<10), "restart=true") {
			t.Errorf("restarted node did not report a restart from its own state")
		}
	})

	t.Run("minority cannot commit", func(t *testing.T) {
		l, err := raftLeader(nodes, newLeaderBound)
		if err != nil {
			t.Fatal(err)
		}
		// Isolate the leader: stop the majority (both followers).
		majority := others(nodes, l)
		for _, n := range majority {
			n.signal(syscall.SIGSTOP)
		}
		defer func() {
			for _, n := range majority {
				if n.stopped {
					n.signal(syscall.SIGCONT)
				}
			}
		}()
		pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
		_, perr := proposeMonitor(pctx, l.client(), "minority")
		pcancel()
		if perr == nil {
			t.Fatal("the isolated leader committed an entry")
		}
		t.Logf("proposal on the isolated leader: %v", perr)
		// Entries the followers acknowledged just before they stopped may
		// still commit; from the failed proposal on, nothing may.
		before, err := l.status()
		if err != nil {
			t.Fatal(err)
		}
		// It steps down (leader lease) and cannot elect itself.
		waitRaft(t, "isolated leader steps down", 5*time.Second, func() (bool, string) {
			s, err := l.status()
			return err == nil && s.State != "Leader", fmt.Sprintf("%+v %v", s.State, err)
		})
		// Its commit index never moves while it is alone.
		for i := 0; i < 5; i++ {
			s, err := l.status()
			if err != nil {
				t.Fatal(err)
			}
			if s.CommitIndex != before.CommitIndex {
				t.Fatalf("isolated node's commit index moved %d -> %d", before.CommitIndex, s.CommitIndex)
			}
			if s.State == "Leader" {
				t.Fatal("isolated node became leader")
			}
			time.Sleep(100 * time.Millisecond)
		}
		_, perr = proposeMonitor(ctx, l.client(), "minority-2")
		if ae := apiErr(perr); ae == nil || ae.Status != http.StatusServiceUnavailable {
			t.Fatalf("proposal on a leaderless minority: want 503, got %v", perr)
		}
		for _, n := range majority {
			n.signal(syscall.SIGCONT)
		}
		if _, _, err := proposeAny(nodes, &fsm.Noop{Note: "healed"}, commitBound); err != nil {
			t.Fatalf("after healing: %v", err)
		}
		waitMembers(t, nodes, 3)
		if monitorsOf(t, l)["minority-2"] {
			t.Fatal("an entry refused by the minority was applied")
		}
	})

	t.Run("refused joins", func(t *testing.T) {
		l, err := raftLeader(nodes, newLeaderBound)
		if err != nil {
			t.Fatal(err)
		}
		good := raftgroup.JoinRequest{ID: fmt.Sprintf("%040x", 0xabc), RaftAddr: "127.0.0.1:1"}
		noauth := admin.NewClient(l.adminAddr(), "")
		_, err = noauth.Join(ctx, good)
		if ae := apiErr(err); ae == nil || ae.Status != 401 || ae.Code != admin.CodeUnauthorized {
			t.Errorf("unauthenticated join: %v", err)
		}
		bad := good
		bad.ID = "not-a-node-id"
		_, err = l.client().Join(ctx, bad)
		if ae := apiErr(err); ae == nil || ae.Status != 400 || !strings.Contains(ae.ErrorBody.Error, "not a node id") {
			t.Errorf("malformed join: %v", err)
		}
		other := nodes[1]
		ost, _ := other.status()
		dup := raftgroup.JoinRequest{ID: ost.ID, RaftAddr: "127.0.0.1:2"}
		_, err = l.client().Join(ctx, dup)
		if ae := apiErr(err); ae == nil || ae.Status != 409 || !strings.Contains(ae.ErrorBody.Error, "already a member") {
			t.Errorf("duplicate id at another address: %v", err)
		}
		same := raftgroup.JoinRequest{ID: ost.ID, RaftAddr: ost.RaftAddr, Addr: ost.Addr, AdminAddr: ost.AdminAddr}
		if res, err := l.client().Join(ctx, same); err != nil || !res.AlreadyMember {
			t.Errorf("idempotent re-join: %+v %v", res, err)
		}
		// A second process with the same node id at another address is
		// refused and exits with a clear error.
		twin := newRaftNode(t, "twin", "--cluster-node-id", ost.ID, "--join", l.adminAddr())
		twin.start()
		if err := twin.waitExit(20 * time.Second); err != nil {
			t.Fatal(err)
		}
		if log := twin.logTail(8 << 10); !strings.Contains(log, "already a member") {
			t.Errorf("twin's log lacks the reason:\n%s", log)
		}
	})

	t.Run("grow to five, remove one", func(t *testing.T) {
		n4 := newRaftNode(t, "n4", "--join", nodes[0].adminAddr()+","+nodes[1].adminAddr())
		n5 := newRaftNode(t, "n5", "--join", nodes[2].adminAddr())
		for _, n := range []*raftNode{n4, n5} {
			n.start()
			if err := n.waitUp(30 * time.Second); err != nil {
				t.Fatal(err)
			}
		}
		all := append(append([]*raftNode{}, nodes...), n4, n5)
		waitMembers(t, all, 5)
		l, err := raftLeader(all, newLeaderBound)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := l.status()
		suff := map[string]string{}
		for _, m := range st.Members {
			suff[m.RaftAddr] = m.Suffrage
		}
		if st.Voters != 3 || suff[n4.raftAddr()] != "nonvoter" || suff[n5.raftAddr()] != "nonvoter" {
			t.Fatalf("want 3 voters and n4, n5 non-voters: %+v", st.Members)
		}
		// Remove a voter that is not the leader; a non-voter is promoted.
		victim := others(nodes, l)[0]
		vst, _ := victim.status()
		if _, err := n5.retryingClient().Remove(ctx, vst.ID); err != nil {
			t.Fatalf("remove %s: %v", victim.name, err)
		}
		rest := others(all, victim)
		waitRaft(t, "promotion after removal", 10*time.Second, func() (bool, string) {
			s, err := l.client().Status(ctx)
			if err != nil {
				return false, err.Error()
			}
			return s.Voters == 3 && len(s.Members) == 4, fmt.Sprintf("voters %d members %d", s.Voters, len(s.Members))
		})
		// The removed node refuses joins addressed to it; its id may not
		// rejoin.
		_, err = victim.client().Join(ctx, raftgroup.JoinRequest{ID: fmt.Sprintf("%040x", 0xdef), RaftAddr: "127.0.0.1:3"})
		if ae := apiErr(err); ae == nil || ae.Status != 410 || ae.Code != admin.CodeRemoved {
			t.Errorf("join sent to a removed node: %v", err)
		}
		_, err = n4.client().Join(ctx, raftgroup.JoinRequest{ID: vst.ID, RaftAddr: vst.RaftAddr})
		if ae := apiErr(err); ae == nil || ae.Status != 409 || !strings.Contains(ae.ErrorBody.Error, "removed") {
			t.Errorf("rejoin of a removed id: %v", err)
		}
		if _, _, err := proposeAny(rest, &fsm.Noop{Note: "after-remove"}, commitBound); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRaftLoneNodeAndCLI: a node with neither --bootstrap nor --join is a
// cluster of one; `skiff admin` talks to it; restarted with --join it
// refuses to merge its own group into another.
func TestRaftLoneNodeAndCLI(t *testing.T) {
	n := newRaftNode(t, "lone")
	n.start()
	if err := n.waitUp(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := raftLeader([]*raftNode{n}, newLeaderBound); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(skiffBin, "admin", "status", "--addr", n.adminAddr()).Output()
	if err != nil {
		t.Fatalf("skiff admin status: %v", err)
	}
	var st raftgroup.Status
	if err := json.Unmarshal(out, &st); err != nil || st.State != "Leader" || len(st.Members) != 1 || st.Voters != 1 {
		t.Fatalf("status %s: %v", out, err)
	}
	cmd := exec.Command(skiffBin, "admin", "remove", "--addr", n.adminAddr(), st.ID)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), `"code": "unauthorized"`) {
		t.Fatalf("remove without token: %v %s", err, stderr.String())
	}
	out, err = exec.Command(skiffBin, "admin", "transfer-leadership", "--addr", n.adminAddr(), "--token", raftToken).CombinedOutput()
	if err == nil {
		t.Fatalf("leadership transfer in a group of one succeeded: %s", out)
	}

	// Restarted with --join, it refuses: it already runs its own group.
	other := newRaftNode(t, "other", "--bootstrap", "yes")
	other.start()
	if err := other.waitUp(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	n.kill()
	n.extra = append(n.extra, "--join", other.adminAddr())
	n.start()
	if err := n.waitExit(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	if log := n.logTail(4 << 10); !strings.Contains(log, "already runs its own single-node group") {
		t.Fatalf("lone node joined another group, or failed for another reason:\n%s", log)
	}
}
