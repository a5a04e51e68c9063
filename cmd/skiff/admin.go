package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/ops"
	"github.com/skiffdb/skiff/raftgroup"
)

func init() { runAdminCommand = runAdmin }

const adminUsage = `Usage: skiff admin <command> [flags] [args]

Commands (a thin client of the admin HTTP API, see docs/raft.md):
  status                          this member's view of the Raft group
  cluster                         the applied cluster metadata
  join --id ID --raft-addr H:P [--resp-addr H:P] [--admin-addr H:P] [--nonvoter]
  remove ID                       remove a member for good
  transfer-leadership [ID]        hand leadership to ID (or any voter)
  topology [--json]               the cluster as the topology page shows it (docs/operations.md)
  top [--interval D]              the same, redrawn every interval (default 1s) until interrupted
  failover TARGET                 manual failover: a shard id, a master's id or address (cluster),
                                  or a monitored master's name (sentinel)
  reshard | rebalance ...         move slots as atomic slot migrations, with a progress bar
                                  (skiff admin reshard --help; docs/slot-migration.md)

Flags of every command:
  --addr H:P     admin address of any member (default $SKIFF_ADMIN_ADDR or 127.0.0.1:27379)
  --token T      bearer token: admin-token, or requirepass (default $SKIFF_ADMIN_TOKEN)
  --timeout D    overall timeout (default 20s)

Output is JSON on stdout (topology and top: tables); errors are JSON on
stderr with exit status 1 (code "unreachable" when no answer came).
`

func runAdmin(args []string) int {
	return runAdminIO(args, os.Stdout, os.Stderr)
}

func runAdminIO(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, adminUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := args[0], args[1:]
	if cmd == "reshard" || cmd == "rebalance" {
		return runReshard(cmd, rest, stdout, stderr) // reshard.go: RESP, not the admin API
	}
	fs := flag.NewFlagSet("skiff admin "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	defAddr := os.Getenv("SKIFF_ADMIN_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:27379"
	}
	addr := fs.String("addr", defAddr, "admin address of any member")
	token := fs.String("token", os.Getenv("SKIFF_ADMIN_TOKEN"), "bearer token")
	timeout := fs.Duration("timeout", 20*time.Second, "overall timeout")
	id := fs.String("id", "", "node id")
	raftAddr := fs.String("raft-addr", "", "raft address of the joining node")
	respAddr := fs.String("resp-addr", "", "RESP address of the joining node")
	adminAddr := fs.String("admin-addr", "", "admin address of the joining node")
	nonvoter := fs.Bool("nonvoter", false, "join as a non-voter")
	asJSON := fs.Bool("json", false, "topology: print the API's JSON")
	interval := fs.Duration("interval", time.Second, "top: refresh interval")
	iterations := fs.Int("iterations", 0, "top: stop after N refreshes (0 = until interrupted)")
	useTLS := fs.Bool("tls", false, "use HTTPS (the server has TLS configured)")
	cacert := fs.String("cacert", "", "with --tls: CA certificate file to verify the server with")
	cert := fs.String("cert", "", "with --tls: client certificate file")
	key := fs.String("key", "", "with --tls: client private key file")
	// Accept flags before and after positional arguments.
	var pos []string
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) > 1 || (len(pos) == 1 && *id != "") {
		fmt.Fprintf(stderr, "skiff admin %s: too many arguments\n", cmd)
		return 2
	}
	if len(pos) == 1 {
		*id = pos[0]
	}
	c := admin.NewClient(*addr, *token)
	if *useTLS {
		tcfg, err := adminTLSConfig(*cacert, *cert, *key)
		if err != nil {
			fmt.Fprintf(stderr, "skiff admin: %v\n", err)
			return 2
		}
		c = admin.NewTLSClient(*addr, *token, tcfg)
	}
	if cmd == "top" {
		// No overall timeout: top runs until interrupted; each refresh
		// is bounded by --timeout (capped at 5 s to stay live).
		per := min(*timeout, 5*time.Second)
		c.HTTP.Timeout = per
		c.NoLeaderRetries = -1
		if err := runTop(context.Background(), c, stdout, max(*interval, 100*time.Millisecond), *iterations, per); err != nil {
			return adminFail(stderr, err)
		}
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var out any
	var err error
	switch cmd {
	case "status":
		out, err = c.Status(ctx)
	case "cluster":
		out, err = c.Cluster(ctx)
	case "join":
		out, err = c.Join(ctx, raftgroup.JoinRequest{ID: *id, RaftAddr: *raftAddr, Addr: *respAddr, AdminAddr: *adminAddr, NonVoter: *nonvoter})
	case "remove":
		if *id == "" {
			fmt.Fprintln(stderr, "skiff admin remove: node id required")
			return 2
		}
		out, err = c.Remove(ctx, *id)
	case "transfer-leadership":
		out, err = c.TransferLeadership(ctx, *id)
	case "topology":
		var t *ops.Topology
		t, err = fetchTopology(ctx, c)
		if err == nil && !*asJSON {
			writeTopology(stdout, t)
			return 0
		}
		out = t
	case "failover":
		if *id == "" {
			fmt.Fprintln(stderr, "skiff admin failover: a target is required (shard id, master id or address, or monitored master name)")
			return 2
		}
		var res ops.FailoverResult
		err = c.Post(ctx, "/api/failover", ops.FailoverRequest{Target: *id}, &res)
		out = res
	default:
		fmt.Fprintf(stderr, "skiff admin: unknown command %q\n\n%s", cmd, adminUsage)
		return 2
	}
	if err != nil {
		return adminFail(stderr, err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "skiff admin: %v\n", err)
		return 1
	}
	return 0
}

// adminFail prints an error as JSON on stderr: the API's error body, or
// code "unreachable" when no HTTP answer came; exit status 1.
func adminFail(stderr io.Writer, err error) int {
	var ae *admin.APIError
	if !errors.As(err, &ae) {
		ae = &admin.APIError{ErrorBody: admin.ErrorBody{Error: err.Error(), Code: "unreachable"}}
	}
	enc := json.NewEncoder(stderr)
	enc.SetIndent("", "  ")
	_ = enc.Encode(struct {
		admin.ErrorBody
		Status int `json:"http_status,omitempty"`
	}{ae.ErrorBody, ae.Status})
	return 1
}
