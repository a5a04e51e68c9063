package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

const token = "s3cret"

type tnode struct {
	g     *raftgroup.Group
	trans *raft.InmemTransport
	srv   *Server
	id    string
}

func nodeID(n int) string { return fmt.Sprintf("%040x", n) }

// startNodes starts n members on in-memory raft transports, each with a
// real admin HTTP server on a loopback port; the first bootstraps.
func startNodes(t *testing.T, n int) []*tnode {
	t.Helper()
	var ns []*tnode
	for i := 1; i <= n; i++ {
		_, trans := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("inmem-%d:1", i)))
		// The admin address must be known before Open, so listen first.
		tmp := NewServer(nil, token, nil)
		if err := tmp.Listen("127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		addr := tmp.Addr()
		_ = tmp.Close()
		g, err := raftgroup.Open(raftgroup.Options{NodeID: nodeID(i), RESPAddr: fmt.Sprintf("127.0.0.1:%d", 7000+i), AdminAddr: addr,
			Bootstrap: i == 1, HeartbeatTimeout: 150 * time.Millisecond, ElectionTimeout: 150 * time.Millisecond, LeaderLeaseTimeout: 75 * time.Millisecond,
			Logger: hclog.New(&hclog.LoggerOptions{Level: hclog.Error}), Forward: Forwarder(token),
			Transport: trans, LogStore: raft.NewInmemStore(), StableStore: raft.NewInmemStore(), SnapshotStore: raft.NewInmemSnapshotStore()})
		if err != nil {
			t.Fatal(err)
		}
		srv := NewServer(g, token, nil)
		if err := srv.Listen(addr); err != nil {
			t.Fatal(err)
		}
		tn := &tnode{g: g, trans: trans, srv: srv, id: nodeID(i)}
		t.Cleanup(func() { _ = srv.Close(); _ = g.Close() })
		ns = append(ns, tn)
	}
	for _, a := range ns {
		for _, b := range ns {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !ns[0].g.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return ns
}

func joinReq(n *tnode) raftgroup.JoinRequest {
	return raftgroup.JoinRequest{ID: n.id, RaftAddr: n.g.RaftAddr(), Addr: n.g.Status().Addr, AdminAddr: n.srv.Addr()}
}

func apiCode(err error) (int, string) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status, ae.Code
	}
	return 0, ""
}

// raw sends one request; with follow it follows redirects (so that a
// leader change during the test does not matter), otherwise it returns
// the redirect itself.
func raw(t *testing.T, follow bool, method, url, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestAdminAPI(t *testing.T) {
	ns := startNodes(t, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lead := NewClient(ns[0].srv.Addr(), token)
	// Wait for the leader's own node entry so that followers can redirect.
	for i := 0; i < 500; i++ {
		if _, ok := ns[0].g.FSM().Node(ns[0].id); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := lead.Join(ctx, joinReq(ns[1])); err != nil {
		t.Fatal(err)
	}
	// A join sent to a follower is redirected to the leader and followed.
	res, err := NewClient(ns[1].srv.Addr(), token).Join(ctx, joinReq(ns[2]))
	if err != nil || res.Suffrage != "voter" {
		t.Fatalf("join via follower: %+v %v", res, err)
	}
	code, body := raw(t, false, "POST", "http://"+ns[1].srv.Addr()+"/join", "Bearer "+token, fmt.Sprintf(`{"id":%q,"raft_addr":%q}`, ns[3].id, ns[3].g.RaftAddr()))
	if code != http.StatusTemporaryRedirect || !strings.Contains(body, `"not_leader"`) {
		t.Fatalf("follower join: %d %s", code, body)
	}
	res, err = NewClient(ns[2].srv.Addr(), token).Join(ctx, joinReq(ns[3]))
	if err != nil || res.Suffrage != "nonvoter" {
		t.Fatalf("fourth join: %+v %v", res, err)
	}
	// Duplicate join is idempotent; same id at another address is refused.
	if res, err := lead.Join(ctx, joinReq(ns[1])); err != nil || !res.AlreadyMember {
		t.Fatalf("duplicate join: %+v %v", res, err)
	}
	dup := joinReq(ns[1])
	dup.RaftAddr = "127.0.0.1:1"
	if st, c := apiCode(func() error { _, err := lead.Join(ctx, dup); return err }()); st != 409 || c != CodeConflict {
		t.Fatalf("conflicting join: %d %s", st, c)
	}
	// Auth, malformed, method, size, path.
	for _, tc := range []struct {
		method, path, auth, body string
		status                   int
		code                     string
	}{
		{"POST", "/join", "", `{}`, 401, CodeUnauthorized},
		{"POST", "/join", "Bearer nope", `{}`, 401, CodeUnauthorized},
		{"POST", "/join", "Bearer " + token, `{"id":`, 400, CodeInvalid},
		{"POST", "/join", "Bearer " + token, `{"id":"abc","raft_addr":"127.0.0.1:1"}`, 400, CodeInvalid},
		{"POST", "/join", "Bearer " + token, fmt.Sprintf(`{"id":%q}`, nodeID(77)), 400, CodeInvalid},
		{"POST", "/join", "Bearer " + token, fmt.Sprintf(`{"id":%q,"raft_addr":"nohost"}`, nodeID(77)), 400, CodeInvalid},
		{"POST", "/join", "Bearer " + token, fmt.Sprintf(`{"id":%q,"raft_addr":"127.0.0.1:1","surprise":1}`, nodeID(77)), 400, CodeInvalid},
		{"POST", "/join", "Bearer " + token, `{"id":"` + strings.Repeat("a", 70000) + `"}`, 413, CodeTooLarge},
		{"GET", "/join", "", ``, 405, CodeMethod},
		{"POST", "/status", "", ``, 405, CodeMethod},
		{"GET", "/nope", "", ``, 404, CodeNotFound},
		{"POST", "/remove", "Bearer " + token, fmt.Sprintf(`{"id":%q}`, nodeID(77)), 404, CodeNotFound},
		{"POST", "/propose", "Bearer " + token, `{"type":"noop","v":9}`, 400, CodeInvalid},
		{"POST", "/propose", "Bearer " + token, `{"type":"unmonitor","v":1,"cmd":{"name":"x"}}`, 422, CodeRefused},
	} {
		st, body := raw(t, true, tc.method, "http://"+ns[0].srv.Addr()+tc.path, tc.auth, tc.body)
		if st != tc.status || !strings.Contains(body, `"code": "`+tc.code+`"`) {
			t.Errorf("%s %s %.60s: got %d %s, want %d %s", tc.method, tc.path, tc.body, st, body, tc.status, tc.code)
		}
	}
	// Propose through a follower's API; read it back everywhere.
	r, err := NewClient(ns[3].srv.Addr(), token).Propose(ctx, &fsm.MonitorMaster{Monitor: fsm.Monitor{Name: "m", Addr: "127.0.0.1:6379", Quorum: 2}})
	if err != nil {
		t.Fatal(err)
	}
	// And through raftgroup forwarding on a follower.
	if _, err := ns[2].g.Propose(ctx, &fsm.BumpEpoch{}); err != nil {
		t.Fatalf("forwarded propose: %v", err)
	}
	if _, err := ns[2].g.Propose(ctx, &fsm.Unmonitor{Name: "zz"}); !fsm.IsCommandError(err) {
		t.Fatalf("forwarded refusal: %v", err)
	}
	for _, n := range ns {
		if err := n.g.WaitForIndex(ctx, r.Index); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := NewClient(ns[2].srv.Addr(), "").Cluster(ctx)
	if err != nil || len(cl.Monitors) != 1 || len(cl.Nodes) != 4 {
		t.Fatalf("cluster: %+v %v", cl, err)
	}
	st, err := NewClient(ns[3].srv.Addr(), "").Status(ctx)
	if err != nil || st.LeaderID == "" || len(st.Members) != 4 {
		t.Fatalf("status: %+v %v", st, err)
	}

	// Remove a voter via a follower: the non-voter gets promoted; the
	// removed node refuses joins itself.
	if _, err := NewClient(ns[1].srv.Addr(), token).Remove(ctx, ns[2].id); err != nil {
		t.Fatal(err)
	}
	_, err = NewClient(ns[2].srv.Addr(), token).Join(ctx, raftgroup.JoinRequest{ID: nodeID(9), RaftAddr: "127.0.0.1:9"})
	if st, c := apiCode(err); st != 410 || c != CodeRemoved {
		t.Fatalf("join sent to a removed node: %v", err)
	}
	if st, c := apiCode(func() error { _, err := lead.Join(ctx, joinReq(ns[2])); return err }()); st != 409 || c != CodeConflict {
		t.Fatalf("rejoin of a removed id: %d %s", st, c)
	}
	ok := false
	for i := 0; i < 300 && !ok; i++ {
		st, _ := lead.Status(ctx)
		ok = st.Voters == 3
		time.Sleep(10 * time.Millisecond)
	}
	if !ok {
		t.Fatal("non-voter not promoted after a voter was removed")
	}
	// Transfer leadership, then remove the old leader through it.
	tr, err := lead.TransferLeadership(ctx, "")
	if err != nil || tr.LeaderID == ns[0].id || tr.LeaderID == "" {
		t.Fatalf("transfer: %+v %v", tr, err)
	}
	if _, err := NewClient(ns[0].srv.Addr(), token).Remove(ctx, ns[0].id); err != nil {
		t.Fatalf("remove the old leader via itself: %v", err)
	}
}
