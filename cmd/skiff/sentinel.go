package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/node"
	"github.com/skiffdb/skiff/sentinel"
	"github.com/skiffdb/skiff/tlsconf"
)

// runSentinel is `skiff sentinel [sentinel.conf] [--option value ...]`:
// the server with redis-sentinel's command table, the sentinel engine,
// and this sentinel's member of the sentinels' Raft group (which forms by
// itself, docs/sentinel.md).
func runSentinel(args []string) int {
	var file string
	if len(args) > 0 && !strings.HasPrefix(args[0], "--") {
		file, args = args[0], args[1:]
	}
	cfg, err := config.LoadWith(file, args, config.LoadOptions{Sentinel: true})
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		return 1
	}
	// Like redis-sentinel, work inside dir: the log file, the rewritten
	// dir line and the Raft state are relative to it.
	if dir := cfg.String("dir"); dir != "" && dir != "." {
		if err := os.Chdir(dir); err != nil {
			fmt.Fprintf(os.Stderr, "skiff: can't chdir to dir %s: %v\n", dir, err)
			return 1
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		return 1
	}
	if err := cfg.SetPairs([]string{"dir", wd}); err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		return 1
	}
	// The sentinel directives are read inside dir, as Redis reads them
	// after the main config (relative script paths are relative to dir).
	scfg, err := sentinel.ParseConfig(cfg.SentinelDirectives(), cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		return 1
	}
	logger, closeLog, err := newLogger(cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "skiff: %v\n", err)
		return 1
	}
	defer closeLog()
	stopProfile, err := startCPUProfile()
	if err != nil {
		logger.Error("cannot start cpu profile", "error", err)
		return 1
	}
	defer stopProfile()
	port := int(cfg.Int("port"))
	logStarting(logger, "sentinel", port)
	if err := sentinel.CheckConfigFile(cfg.File()); err != nil {
		logger.Error(err.Error())
		fmt.Fprintln(os.Stderr, err)
		return 1
	}

	var saveMu sync.Mutex
	save := func(c *sentinel.Config) error {
		saveMu.Lock()
		defer saveMu.Unlock()
		if c.Server == nil {
			c.Server = cfg
		}
		return sentinel.RewriteFile(cfg.File(), c)
	}
	if scfg.MyID == "" {
		// The id is this sentinel's identity for good (and its Raft node
		// id): persist it before anything uses it.
		scfg.MyID = sentinel.NewMyID()
		if err := save(scfg); err != nil {
			logger.Error("cannot save the new sentinel id", "error", err)
			return 1
		}
		logger.Info("Sentinel new configuration saved on disk")
	}
	logger.Info("Sentinel ID is " + scfg.MyID)

	tm, err := setupTLS(cfg, logger)
	if err != nil {
		logger.Error("cannot start sentinel", "error", err)
		return 1
	}
	grp, err := openSentinelGroup(cfg, scfg, wd, tm, logger)
	if err != nil {
		logger.Error("cannot start the sentinels' raft group", "error", err)
		return 1
	}
	srv, err := node.New(cfg, logger)
	if err != nil {
		logger.Error("cannot start sentinel", "error", err)
		grp.Close()
		return 1
	}
	eng := sentinel.New(sentinel.Options{
		Port:         sentinelAnnouncedPort(cfg),
		TLS:          linkTLS(cfg, tm),
		Meta:         grp,
		Publish:      srv.Publish,
		SaveConfig:   save,
		ExtraCommand: grp.Command,
		Logger:       logger.Named("sentinel"),
	}, scfg)
	srv.SetSentinelMode(eng)
	attachSentinelOps(cfg, grp, eng, srv, logger) // ops.go
	// A restarted member first catches up with the group, so that its
	// first answers do not name a master a failover already replaced.
	if !grp.WaitCaughtUp(3 * time.Second) {
		logger.Warn("the sentinels' raft group did not answer within 3 s; starting with this sentinel's own view")
	}
	eng.SyncWithGroup()
	if err := srv.Listen(); err != nil {
		logger.Error("cannot start sentinel", "error", err)
		grp.Close()
		return 1
	}
	logger.Info("Ready to accept connections", "port", srv.Port(), "mode", "sentinel", "version", node.SkiffVersion)
	grp.SetPeers(eng.KnownSentinels)
	eng.Start()
	grp.Start()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-sigs:
			logger.Info("received signal, shutting down", "signal", sig.String())
			srv.Shutdown() // calls the engine's SentinelShutdown: the config is flushed
		case <-srv.Done():
		}
	}()
	srv.Serve()
	eng.Stop()
	if err := grp.Close(); err != nil {
		logger.Warn("shutdown", "error", err)
	}
	logger.Info("Sentinel is now ready to exit, bye bye...")
	return 0
}

// openSentinelGroup opens this sentinel's Raft member: ports from
// sentinel.DefaultMemberPorts unless raft-port / admin-port are set, state
// under dir, node id = myid, up to 5 voters unless
// raft-voters says otherwise.
func openSentinelGroup(cfg *config.Config, scfg *sentinel.Config, dir string, tm *tlsconf.Manager, logger hclog.Logger) (*sentinel.Group, error) {
	tlsFn := linkTLS(cfg, tm)
	port := sentinelAnnouncedPort(cfg)
	raftPort, adminPort := int(cfg.Int("raft-port")), int(cfg.Int("admin-port"))
	if (raftPort == 0 || adminPort == 0) && port == 0 {
		return nil, errors.New("port 0 (no TCP listener) needs explicit raft-port and admin-port")
	}
	dr, da := sentinel.DefaultMemberPorts(port)
	if raftPort == 0 {
		raftPort = dr
	}
	if adminPort == 0 {
		adminPort = da
	}
	if raftPort > 65535 || adminPort > 65535 || raftPort == adminPort || raftPort == port || adminPort == port {
		return nil, fmt.Errorf("port %d, raft-port %d and admin-port %d must differ and be below 65536", port, raftPort, adminPort)
	}
	// With announce-port, other sentinels reach this one through that
	// port (a proxy or NAT), and through the ports derived from it for
	// Raft and the admin API unless those are set explicitly.
	advPort, advRaft, advAdmin := 0, 0, 0
	if ap := scfg.AnnouncePort; ap > 0 {
		advPort = ap
		r, a := sentinel.DefaultMemberPorts(ap)
		if cfg.Int("raft-port") == 0 {
			advRaft = r
		}
		if cfg.Int("admin-port") == 0 {
			advAdmin = a
		}
	}
	listenHost, advHost := memberHosts(cfg)
	if scfg.AnnounceIP != "" {
		advHost = scfg.AnnounceIP
	} else if cfg.String("cluster-announce-ip") == "" && (listenHost == "0.0.0.0" || listenHost == "::") {
		// Other sentinels reach this one the way it reaches the masters
		// (as Redis's hello messages announce the local address of the
		// link to the master): loopback for masters on loopback.
		if ip := localIPTowards(scfg); ip != "" {
			advHost = ip
		}
	}
	voters := sentinel.DefaultSentinelVoters
	if cfg.IsSet("raft-voters") {
		voters = int(cfg.Int("raft-voters"))
	}
	var join []string
	if j := cfg.String("join"); j != "" {
		join = strings.Split(j, ",")
	}
	token := cfg.String("admin-token")
	if token == "" {
		token = cfg.String("requirepass")
	}
	// Sentinels authenticate to each other with sentinel-user/-pass, or
	// else with their own requirepass (as Redis does).
	peerUser, peerPass := "", cfg.String("requirepass")
	if scfg.SentinelPass != "" {
		peerUser, peerPass = scfg.SentinelUser, scfg.SentinelPass
	}
	// The sentinels' Raft traffic is sentinel-to-sentinel traffic: over
	// mutual TLS when their links are TLS (tls-replication, Redis's rule
	// for sentinel links) or tls-cluster is set.
	var raftListen func(network, addr string) (net.Listener, error)
	var raftDial func(addr string, timeout time.Duration) (net.Conn, error)
	if tm != nil && tm.Enabled() && (cfg.Bool("tls-replication") || cfg.Bool("tls-cluster")) {
		raftListen, raftDial = raftTLS(tm)
	}
	return sentinel.OpenGroup(sentinel.GroupOptions{
		Dir: dir, MyID: scfg.MyID,
		ListenHost: listenHost, AdvertiseHost: advHost,
		Port: port, RaftPort: raftPort, AdminPort: adminPort,
		TLS:           tlsFn,
		AdvertisePort: advPort, AdvertiseRaftPort: advRaft, AdvertiseAdminPort: advAdmin,
		Voters:     voters,
		Bootstrap:  cfg.Bool("bootstrap"),
		Join:       join,
		Token:      token,
		Secret:     []byte(cfg.String("cluster-secret")),
		RaftListen: raftListen, RaftDial: raftDial,
		PeerUser: peerUser, PeerPass: peerPass,
		HeartbeatTimeout:   sentinelRaftMs(cfg, "raft-heartbeat-timeout", 500),
		ElectionTimeout:    sentinelRaftMs(cfg, "raft-election-timeout", 500),
		LeaderLeaseTimeout: sentinelRaftMs(cfg, "raft-leader-lease-timeout", 250),
		CommitTimeout:      sentinelRaftMs(cfg, "raft-commit-timeout", 50),
		SnapshotThreshold:  uint64(cfg.Int("raft-snapshot-threshold")),
		SnapshotInterval:   time.Duration(cfg.Int("raft-snapshot-interval")) * time.Second,
		NoSync:             cfg.Bool("raft-nosync"),
		RaftDebug:          cfg.String("loglevel") == "debug",
		Logger:             logger.Named("raft"),
	})
}

// localIPTowards is the local address this host uses to reach the first
// monitored master (a UDP "connection" only consults the routing table;
// nothing is sent), or "" when there is none.
func localIPTowards(scfg *sentinel.Config) string {
	for _, m := range scfg.Masters {
		c, err := net.Dial("udp", net.JoinHostPort(m.Host, strconv.Itoa(m.Port)))
		if err != nil {
			continue
		}
		ip := c.LocalAddr().(*net.UDPAddr).IP.String()
		_ = c.Close()
		return ip
	}
	return ""
}

// sentinelRaftMs is a Raft timeout for a sentinel: the option when set,
// else def. Sentinels decide on the scale of down-after-milliseconds
// (seconds), so their group uses longer timeouts than a data node's
// (200 ms): a sentinel starved of CPU for a moment should not cost the
// group its leader in the middle of a failover.
func sentinelRaftMs(cfg *config.Config, name string, def int) time.Duration {
	if cfg.IsSet(name) {
		return ms(cfg, name)
	}
	return time.Duration(def) * time.Millisecond
}
