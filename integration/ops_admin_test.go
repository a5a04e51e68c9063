package integration

// `skiff admin topology|top|failover` (docs/operations.md) against a real
// three-node cluster: the table and the --json output say what
// GET /api/topology says, top redraws, failover promotes the replica
// through CLUSTER FAILOVER, and an unreachable node or a wrong token give
// a clear error with exit status 1.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skiffdb/skiff/ops"
)

// skiffAdmin runs `skiff admin args...` and returns stdout, stderr and
// the exit status.
func skiffAdmin(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, skiffBin, append([]string{"admin"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("skiff admin %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

func TestOpsAdminViews(t *testing.T) {
	nodes := startRaftCluster(t, 3, "--raft-nosync", "yes", "--repl-diskless-sync-delay", "0")
	ctx := context.Background()
	m1, m2, r1 := nodes[0], nodes[1], nodes[2]
	do := func(n *raftNode, args ...any) {
		t.Helper()
		c := redis.NewClient(&redis.Options{Addr: n.respAddr(), MaxRetries: -1})
		defer c.Close()
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v on %s: %v", args, n.name, err)
		}
	}
	do(m1, "CLUSTER", "ADDSLOTSRANGE", "0", "8191")
	do(m2, "CLUSTER", "ADDSLOTSRANGE", "8192", "16383")
	st1, err := m1.client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	do(r1, "CLUSTER", "REPLICATE", st1.ID)
	var api ops.Topology
	waitRaft(t, "replica online in the topology", 20*time.Second, func() (bool, string) {
		api = ops.Topology{}
		if err := m2.client().Get(ctx, "/api/topology", &api); err != nil {
			return false, err.Error()
		}
		for _, s := range api.Shards {
			for _, n := range s.Nodes {
				if n.Addr == r1.respAddr() && n.Link == "online" {
					return true, ""
				}
			}
		}
		return false, "replica not online"
	})

	// --json: the API's object.
	out, errOut, code := skiffAdmin(t, "topology", "--json", "--addr", m2.adminAddr())
	if code != 0 {
		t.Fatalf("topology --json: exit %d: %s", code, errOut)
	}
	var cli ops.Topology
	if err := json.Unmarshal([]byte(out), &cli); err != nil {
		t.Fatalf("topology --json is not the API's JSON: %v\n%s", err, out)
	}
	if cli.Mode != "cluster" || cli.Self != api.Self || len(cli.Shards) != len(api.Shards) || len(cli.Raft.Members) != 3 ||
		cli.Slots.Assigned != 16384 {
		t.Errorf("topology --json differs from the API:\ncli %+v\napi %+v", cli, api)
	}
	for i := range api.Shards {
		if cli.Shards[i].ID != api.Shards[i].ID || cli.Shards[i].Slots != api.Shards[i].Slots || len(cli.Shards[i].Nodes) != len(api.Shards[i].Nodes) {
			t.Errorf("shard %d: cli %+v, api %+v", i, cli.Shards[i], api.Shards[i])
		}
	}
	// The table: every node on a line with its role, every member.
	out, errOut, code = skiffAdmin(t, "topology", "--addr", m2.adminAddr())
	if code != 0 {
		t.Fatalf("topology: exit %d: %s", code, errOut)
	}
	// The API snapshot above and the table are read at different moments
	// (a node's state may settle in between): poll until they agree.
	waitRaft(t, "topology table agreeing with the API", 5*time.Second, func() (bool, string) {
		for _, s := range api.Shards {
			for _, n := range s.Nodes {
				if !lineHas(out, n.Addr, n.Role, n.State) {
					out, _, _ = skiffAdmin(t, "topology", "--addr", m2.adminAddr())
					return false, fmt.Sprintf("no line with %s %s %s:\n%s", n.Addr, n.Role, n.State, out)
				}
			}
		}
		return true, ""
	})
	for _, m := range api.Raft.Members {
		if !lineHas(out, m.Addr, m.ID[:8], m.Suffrage) {
			t.Errorf("topology table has no member line for %s:\n%s", m.Addr, out)
		}
	}
	// top: two refreshes, then it stops.
	out, errOut, code = skiffAdmin(t, "top", "--iterations", "2", "--interval", "100ms", "--addr", m2.adminAddr())
	if code != 0 || strings.Count(out, "CLUSTER seen from "+m2.respAddr()) != 2 {
		t.Errorf("top --iterations 2: exit %d, %d frames\n%s%s", code, strings.Count(out, "CLUSTER seen from"), out, errOut)
	}

	// Errors: nothing listening, a wrong token.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	for _, cmd := range [][]string{{"topology"}, {"top", "--iterations", "1"}, {"failover", m1.respAddr()}} {
		_, errOut, code = skiffAdmin(t, append(cmd, "--addr", dead, "--timeout", "2s")...)
		if code != 1 || !strings.Contains(errOut, `"code": "unreachable"`) && !strings.Contains(errOut, "connection refused") {
			t.Errorf("%v on a dead address: exit %d, stderr %s", cmd, code, errOut)
		}
	}
	_, errOut, code = skiffAdmin(t, "failover", m1.respAddr(), "--addr", m2.adminAddr(), "--token", "wrong")
	if code != 1 || !strings.Contains(errOut, `"code": "unauthorized"`) || !strings.Contains(errOut, "invalid bearer token") {
		t.Errorf("failover with a wrong token: exit %d, stderr %s", code, errOut)
	}
	_, errOut, code = skiffAdmin(t, "failover", "no-such-master", "--addr", m2.adminAddr(), "--token", raftToken)
	if code != 1 || !strings.Contains(errOut, `"code": "not_found"`) {
		t.Errorf("failover of an unknown target: exit %d, stderr %s", code, errOut)
	}

	// failover: the replica takes over.
	out, errOut, code = skiffAdmin(t, "failover", m1.respAddr(), "--addr", m2.adminAddr(), "--token", raftToken)
	if code != 0 {
		t.Fatalf("failover: exit %d: %s", code, errOut)
	}
	var res ops.FailoverResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Replica != r1.respAddr() {
		t.Fatalf("failover answer %q (%v): want the replica %s", out, err, r1.respAddr())
	}
	waitRaft(t, "replica promoted", 15*time.Second, func() (bool, string) {
		cl, err := m2.client().Cluster(ctx)
		if err != nil {
			return false, err.Error()
		}
		for _, n := range cl.Nodes {
			if n.Addr == r1.respAddr() {
				return n.Role == "master", n.Role
			}
		}
		return false, "replica missing"
	})
	// The event ring is fed by a watcher that compares the metadata every
	// 100 ms: poll rather than read once.
	waitRaft(t, "topology showing the promotion and its event", 5*time.Second, func() (bool, string) {
		out, _, _ = skiffAdmin(t, "topology", "--addr", m2.adminAddr())
		return lineHas(out, r1.respAddr(), "master") && lineHas(out, "failover", "promoted", r1.respAddr()), out
	})
}

// lineHas reports whether one line of text holds every word.
func lineHas(text string, words ...string) bool {
	for _, l := range strings.Split(text, "\n") {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return true
		}
	}
	return false
}
