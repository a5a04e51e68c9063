package main

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/redis/go-redis/v9"

	"github.com/skiffdb/skiff/cluster"
	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/node"
	"github.com/skiffdb/skiff/ops"
	"github.com/skiffdb/skiff/raftgroup"
	"github.com/skiffdb/skiff/sentinel"
)

func init() {
	// admin-metrics-auth: /metrics, the topology page and its JSON need
	// the admin token (exporters are open by default; docs/operations.md).
	config.Register(config.Option{Name: "admin-metrics-auth", Kind: config.KindBool, Default: "no"})
	// Raft's go-metrics go to the Prometheus page from the start.
	ops.InstallRaftMetrics()
}

// attachClusterOps serves the operator pages on a cluster node's admin port.
func attachClusterOps(cfg *config.Config, n *cluster.Node, srv *node.Server, token, peerPass string, log hclog.Logger) {
	p := ops.New(ops.Options{Mode: "cluster", Data: srv, Cluster: n, Group: n.Group, Token: token,
		MetricsAuth: func() bool { return cfg.Bool("admin-metrics-auth") }, PeerPassword: peerPass,
		Logger: log.Named("ops")})
	n.SetPages(p, ops.Owns)
}

// attachSentinelOps serves them on a sentinel's admin port.
func attachSentinelOps(cfg *config.Config, grp *sentinel.Group, eng *sentinel.Engine, srv *node.Server, log hclog.Logger) {
	token := cfg.String("admin-token")
	if token == "" {
		token = cfg.String("requirepass")
	}
	p := ops.New(ops.Options{Mode: "sentinel", Data: srv, Group: func() *raftgroup.Group { return grp.Raft() },
		SentinelInfo: eng.SentinelInfo, Token: token,
		MetricsAuth:      func() bool { return cfg.Bool("admin-metrics-auth") },
		SentinelFailover: func(name string) error { return sentinelFailover(cfg, srv, name) },
		Logger:           log.Named("ops")})
	grp.SetPages(p, ops.Owns)
}

// sentinelFailover sends SENTINEL FAILOVER to this sentinel's own RESP
// port, so that the request takes the command's checks and replies.
func sentinelFailover(cfg *config.Config, srv *node.Server, name string) error {
	host := "127.0.0.1"
	if f := strings.Fields(cfg.String("bind")); len(f) > 0 {
		if h := strings.TrimPrefix(f[0], "-"); h != "*" && h != "0.0.0.0" && h != "::" && h != "::*" {
			host = h
		}
	}
	opts := &redis.Options{Addr: net.JoinHostPort(host, strconv.Itoa(srv.Port())),
		Password: cfg.String("requirepass"), DialTimeout: time.Second, ReadTimeout: 5 * time.Second,
		MaxRetries: -1, Protocol: 2, DisableIdentity: true}
	if srv.TLSPort() != 0 && srv.Port() == srv.TLSPort() {
		// port 0: the only RESP port is the TLS one.
		tcfg, err := srv.TLS().ClientConfig()
		if err != nil {
			return err
		}
		opts.TLSConfig = tcfg
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	return c.Do(ctx, "SENTINEL", "FAILOVER", name).Err()
}
