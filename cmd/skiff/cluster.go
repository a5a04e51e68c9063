package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/cluster"
	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/node"
	"github.com/skiffdb/skiff/raftgroup"
	"github.com/skiffdb/skiff/tlsconf"
)

// Skiff-only options of the Raft metadata group (docs/raft.md).
func init() {
	imm := true
	intOpt := func(name, def string, min, max int64) config.Option {
		return config.Option{Name: name, Kind: config.KindInt, Default: def, Min: min, Max: max, Immutable: imm}
	}
	config.Register(
		// 0 = cluster-port if set, else RESP port + 10000 (where Redis puts its cluster bus).
		intOpt("raft-port", "0", 0, 65535),
		// 0 = RESP port + 20000 (27001 for 7001); when that is one of the
		// well-known 6379/16379/26379 (i.e. for RESP 6379) it is +21000 (27379).
		intOpt("admin-port", "0", 0, 65535),
		config.Option{Name: "bootstrap", Kind: config.KindBool, Default: "no", Immutable: imm},
		config.Option{Name: "join", Kind: config.KindString, Default: "", Immutable: imm, Parse: parseJoinList},
		config.Option{Name: "raft-voters", Kind: config.KindInt, Default: "3", Min: 3, Max: 5, Immutable: imm,
			Parse: func(v string) (string, error) {
				if v != "3" && v != "5" {
					return "", errors.New("argument must be 3 or 5")
				}
				return v, nil
			}},
		intOpt("raft-heartbeat-timeout", "200", 5, 600000),
		intOpt("raft-election-timeout", "200", 5, 600000),
		intOpt("raft-leader-lease-timeout", "100", 5, 600000),
		intOpt("raft-commit-timeout", "5", 1, 600000),
		intOpt("raft-snapshot-threshold", "8192", 16, 1<<40),
		intOpt("raft-snapshot-interval", "60", 1, 86400),                                         // seconds between snapshot checks
		config.Option{Name: "raft-nosync", Kind: config.KindBool, Default: "no", Immutable: imm}, // tests only
		config.Option{Name: "admin-token", Kind: config.KindString, Default: "", Immutable: imm},
		config.Option{Name: "cluster-node-id", Kind: config.KindString, Default: "", Immutable: imm},
	)
	// Redis 7.0's other cluster options, with Redis's defaults
	// (docs/cluster.md says which ones act).
	mut := func(name, def string, min, max int64, aliases ...string) config.Option {
		return config.Option{Name: name, Kind: config.KindInt, Default: def, Min: min, Max: max, Aliases: aliases}
	}
	config.Register(
		mut("cluster-announce-port", "0", 0, 65535),
		mut("cluster-announce-bus-port", "0", 0, 65535),
		mut("cluster-announce-tls-port", "0", 0, 65535),
		config.Option{Name: "cluster-announce-hostname", Kind: config.KindString, Default: "",
			Parse: func(v string) (string, error) {
				if msg := fsm.CheckHostname(v); msg != "" {
					return "", errors.New(msg)
				}
				return v, nil
			}},
		config.Option{Name: "cluster-preferred-endpoint-type", Kind: config.KindEnum, Default: "ip", Enum: []string{"ip", "hostname", "unknown-endpoint"}},
		config.Option{Name: "cluster-replica-no-failover", Kind: config.KindBool, Default: "no", Aliases: []string{"cluster-slave-no-failover"}},
		mut("cluster-replica-validity-factor", "10", 0, 1<<31-1, "cluster-slave-validity-factor"),
		mut("cluster-migration-barrier", "1", 0, 1<<31-1),
		config.Option{Name: "cluster-allow-replica-migration", Kind: config.KindBool, Default: "yes"},
		config.Option{Name: "cluster-allow-pubsubshard-when-down", Kind: config.KindBool, Default: "yes"},
		config.Option{Name: "cluster-link-sendbuf-limit", Kind: config.KindMemory, Default: "0"},
	)
	serverHooks = append(serverHooks, startRaftMember)
}

// clusterServer is the data node a cluster-enabled server runs (set by
// runServer before the server hooks).
var clusterServer *node.Server

// raftGroupHooks run once this node's Raft member is up (and joined),
// before the server hook returns, with the member it started with
// (CLUSTER MEET may later replace it: cluster.Node.Group gives the
// current one). A hook error stops the server.
var raftGroupHooks []func(g *raftgroup.Group, logger hclog.Logger) error

func parseJoinList(v string) (string, error) {
	var out []string
	for _, a := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
		h, p, err := net.SplitHostPort(a)
		if err != nil || h == "" {
			return "", fmt.Errorf("join address %q is not host:port", a)
		}
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return "", fmt.Errorf("join address %q has an invalid port", a)
		}
		out = append(out, a)
	}
	return strings.Join(out, ","), nil
}

// memberPorts derives the raft and admin ports from the options.
func memberPorts(cfg *config.Config) (raftPort, adminPort int, err error) {
	port := int(cfg.Int("port"))
	raftPort, adminPort = int(cfg.Int("raft-port")), int(cfg.Int("admin-port"))
	if raftPort == 0 {
		raftPort = int(cfg.Int("cluster-port"))
	}
	if (raftPort == 0 || adminPort == 0) && port == 0 {
		return 0, 0, errors.New("port 0 (no TCP listener) needs explicit raft-port and admin-port")
	}
	if raftPort == 0 {
		raftPort = port + 10000
	}
	if adminPort == 0 {
		adminPort = port + 20000
		switch adminPort {
		case 6379, 16379, 26379:
			adminPort = port + 21000
		}
	}
	if raftPort > 65535 || adminPort > 65535 {
		return 0, 0, fmt.Errorf("port %d is too high to derive raft (%d) and admin (%d) ports; set raft-port and admin-port", port, raftPort, adminPort)
	}
	if raftPort == adminPort || raftPort == port || adminPort == port {
		return 0, 0, fmt.Errorf("port %d, raft-port %d and admin-port %d must differ", port, raftPort, adminPort)
	}
	return raftPort, adminPort, nil
}

// memberHosts returns the host to listen on (the first bind address) and
// the host to advertise to other members.
func memberHosts(cfg *config.Config) (listen, advertise string) {
	first := "*"
	if f := strings.Fields(cfg.String("bind")); len(f) > 0 {
		first = strings.TrimPrefix(f[0], "-")
	}
	switch first {
	case "*", "0.0.0.0":
		listen = "0.0.0.0"
	case "::*", "::":
		listen = "::"
	default:
		listen = first
	}
	advertise = listen
	if ip := cfg.String("cluster-announce-ip"); ip != "" {
		advertise = ip
	} else if listen == "0.0.0.0" || listen == "::" {
		advertise = outboundIP()
	}
	return listen, advertise
}

// outboundIP is the first non-loopback IPv4 address of an up interface,
// or 127.0.0.1.
func outboundIP() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func ms(cfg *config.Config, name string) time.Duration {
	return time.Duration(cfg.Int(name)) * time.Millisecond
}

// startRaftMember starts this node's cluster member (package cluster):
// its Raft member and admin API, a new group with --bootstrap yes, a
// join through --join, a restart from its own state, or (neither flag,
// no state) a cluster of one, which CLUSTER MEET may later fold into
// another group. The server gets the cluster (SetCluster) before it
// serves clients.
func startRaftMember(cfg *config.Config, logger hclog.Logger) (io.Closer, error) {
	log := logger.Named("raft")
	joinAddrs := []string{}
	if j := cfg.String("join"); j != "" {
		joinAddrs = strings.Split(j, ",")
	}
	raftPort, adminPort, err := memberPorts(cfg)
	if err != nil {
		return nil, fmt.Errorf("raft: %w", err)
	}
	listenHost, advHost := memberHosts(cfg)
	dir, err := filepath.Abs(cfg.String("dir"))
	if err != nil {
		return nil, fmt.Errorf("raft: dir: %w", err)
	}
	id, err := raftgroup.LoadOrCreateNodeID(dir, cfg.String("cluster-node-id"))
	if err != nil {
		return nil, fmt.Errorf("raft: %w", err)
	}
	token := cfg.String("admin-token")
	if token == "" {
		token = cfg.String("requirepass")
	}
	peerPass := cfg.String("masterauth")
	if peerPass == "" {
		peerPass = cfg.String("requirepass")
	}
	confFile := cfg.String("cluster-config-file")
	if confFile != "" && !filepath.IsAbs(confFile) {
		confFile = filepath.Join(dir, confFile)
	}
	var raftListen func(network, addr string) (net.Listener, error)
	var raftDial func(addr string, timeout time.Duration) (net.Conn, error)
	respPort := cfg.Int("port")
	if p := cfg.Int("cluster-announce-port"); p != 0 {
		respPort = p // a node behind NAT or a proxy (read at start-up)
	}
	if cfg.Bool("tls-cluster") {
		// As Redis: with tls-cluster the announced port is the TLS one,
		// and nodes talk to each other over TLS.
		if p := cfg.Int("tls-port"); p != 0 {
			respPort = p
		}
		if p := cfg.Int("cluster-announce-tls-port"); p != 0 {
			respPort = p
		}
		tm, err := tlsconf.For(cfg, log)
		if err != nil {
			return nil, err
		}
		cluster.SetPeerTLS(tm.ClientConfig)
		raftListen, raftDial = raftTLS(tm) // mutual TLS on the Raft port
	}
	raftAdvPort := raftPort
	if p := cfg.Int("cluster-announce-bus-port"); p != 0 {
		raftAdvPort = int(p)
	}
	respAddr := net.JoinHostPort(advHost, strconv.FormatInt(respPort, 10))
	adminAdv := net.JoinHostPort(advHost, strconv.Itoa(adminPort))
	n, err := cluster.Open(cluster.Options{
		Raft: raftgroup.Options{
			Dir: dir, NodeID: id,
			BindAddr:           net.JoinHostPort(listenHost, strconv.Itoa(raftPort)),
			AdvertiseAddr:      net.JoinHostPort(advHost, strconv.Itoa(raftAdvPort)),
			RESPAddr:           respAddr,
			AdminAddr:          adminAdv,
			Voters:             int(cfg.Int("raft-voters")),
			HeartbeatTimeout:   ms(cfg, "raft-heartbeat-timeout"),
			ElectionTimeout:    ms(cfg, "raft-election-timeout"),
			LeaderLeaseTimeout: ms(cfg, "raft-leader-lease-timeout"),
			CommitTimeout:      ms(cfg, "raft-commit-timeout"),
			SnapshotThreshold:  uint64(cfg.Int("raft-snapshot-threshold")),
			SnapshotInterval:   time.Duration(cfg.Int("raft-snapshot-interval")) * time.Second,
			NoSync:             cfg.Bool("raft-nosync"),
			Logger:             log,
			RaftDebug:          cfg.String("loglevel") == "debug",
			Forward:            admin.Forwarder(token),
			Secret:             []byte(cfg.String("cluster-secret")),
			Listen:             raftListen,
			Dial:               raftDial,
			PeersAuthenticated: raftListen != nil,
		},
		Join:           joinAddrs,
		Bootstrap:      cfg.Bool("bootstrap"),
		AdminListen:    net.JoinHostPort(listenHost, strconv.Itoa(adminPort)),
		Token:          token,
		PeerPassword:   peerPass,
		ConfigFile:     confFile,
		NodeTimeout:    func() time.Duration { return ms(cfg, "cluster-node-timeout") },
		NoFailover:     func() bool { return cfg.Bool("cluster-replica-no-failover") },
		Hostname:       func() string { return cfg.String("cluster-announce-hostname") },
		ValidityFactor: func() int { return int(cfg.Int("cluster-replica-validity-factor")) },
		ReplPingPeriod: func() time.Duration {
			return time.Duration(cfg.Int("repl-ping-replica-period")) * time.Second
		},
		Logger: log,

		Migration: func() cluster.MigrationSettings {
			return cluster.MigrationSettings{Allow: cfg.Bool("cluster-allow-replica-migration"),
				Barrier: int(cfg.Int("cluster-migration-barrier")), RequireFull: cfg.Bool("cluster-require-full-coverage")}
		},
		RaftTimeoutsAuto: !cfg.IsSet("raft-heartbeat-timeout") && !cfg.IsSet("raft-election-timeout") &&
			!cfg.IsSet("raft-leader-lease-timeout"),
		Strong:        cfg.String("consistency") == "strong",
		LeaseDuration: ms(cfg, "consistency-lease-ms"),
	})
	if err != nil {
		return nil, err
	}
	_ = cfg.OnChange("cluster-announce-hostname", func(string) error { n.HostnameChanged(); return nil })
	for _, h := range raftGroupHooks {
		if err := h(n.Group(), log); err != nil {
			_ = n.Close()
			return nil, fmt.Errorf("raft: %w", err)
		}
	}
	_ = cfg.OnChange("cluster-node-timeout", func(v string) error {
		if d, err := strconv.ParseInt(v, 10, 64); err == nil {
			n.NodeTimeoutChanged(time.Duration(d) * time.Millisecond)
		}
		return nil
	})
	if clusterServer != nil {
		clusterServer.SetCluster(n)
	}
	attachClusterOps(cfg, n, clusterServer, token, peerPass, log) // ops.go
	return n, nil
}
