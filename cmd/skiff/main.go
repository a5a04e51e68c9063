// Command skiff is the Skiff server: a Redis-compatible database whose
// cluster metadata lives in a Raft group.
package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/node"
)

// serverHooks start optional subsystems (the Raft metadata group, ...)
// after the RESP listener is up; each returns what to close on shutdown.
var serverHooks []func(cfg *config.Config, logger hclog.Logger) (io.Closer, error)

const usage = `Usage:
  skiff server [/path/to/redis.conf] [--option value ...]
  skiff sentinel [/path/to/sentinel.conf] [--option value ...]
  skiff admin <status|cluster|join|remove|transfer-leadership|topology|top|failover> [flags]
  skiff version
  skiff help

Options use Redis's names (port, bind, dir, requirepass, ...); every
config-file directive can also be given as --name value. A sentinel needs
a writable sentinel.conf (it saves its state there) and listens on 26379
unless port says otherwise.
`

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "server":
		return runServer(args[1:])
	case "sentinel":
		return runSentinel(args[1:])
	case "admin":
		return runAdminCommand(args[1:])
	case "version", "--version", "-v":
		fmt.Printf("skiff %s (redis compatible %s)\n", node.SkiffVersion, node.Version)
		return 0
	case "help", "--help", "-h":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "skiff: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

// runAdminCommand is replaced by the admin client when it is linked in.
var runAdminCommand = func(args []string) int {
	fmt.Fprintln(os.Stderr, "skiff: admin commands are not available in this build")
	return 2
}

func runServer(args []string) int {
	var file string
	if len(args) > 0 && (len(args[0]) < 2 || args[0][:2] != "--") {
		file, args = args[0], args[1:]
	}
	cfg, err := config.Load(file, args)
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
	if os.Getenv("GOGC") == "" {
		// The keyspace is one large, long-lived heap: collecting at 50%
		// growth keeps RSS near the data size at little CPU cost.
		debug.SetGCPercent(50)
	}
	stopProfile, err := startCPUProfile()
	if err != nil {
		logger.Error("cannot start cpu profile", "error", err)
		return 1
	}
	defer stopProfile()
	if dir := cfg.String("dir"); dir != "" {
		// Like redis-server, refuse to start without a usable working
		// directory rather than fail at the first save.
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			logger.Error("can't use dir", "dir", dir, "error", fmt.Sprint(err))
			return 1
		}
	}
	watchCrashSignals(logger)
	if _, err := setupTLS(cfg, logger); err != nil {
		logger.Error("cannot start server", "error", err)
		return 1
	}
	srv, err := node.New(cfg, logger)
	if err != nil {
		logger.Error("cannot start server", "error", err)
		return 1
	}
	clusterServer = srv // the cluster hook attaches to it (cluster.go)
	// As redis-server: listen first, then load the dataset while
	// answering clients -LOADING (node/loading.go), and only then log
	// "Ready to accept", which test harnesses take as "loaded".
	if err := srv.Listen(); err != nil {
		logger.Error("cannot start server", "error", err)
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "listen" && strings.HasPrefix(oe.Net, "tcp") {
			// Redis's words: test harnesses look for them to retry on
			// another port (a client's ephemeral port can hold this one).
			logger.Error(fmt.Sprintf("Failed listening on port %d (tcp), aborting.", cfg.Int("port")))
		}
		return 1
	}
	// Redis's test harnesses wait for " PID: <pid>" and then "Ready to
	// accept" in the log (see ../shared/tools/redis-suite/README.md); keep
	// both texts (also printed by skiff sentinel, cmd/skiff/sentinel.go).
	// The PID line once the server listens, as redis-server logs its
	// banner after binding: harnesses that connect as soon as they see it
	// (Redis's start_server without a body) must not find the port closed.
	// A start that fails before exits without it, which they also detect.
	logStarting(logger, "server", int(cfg.Int("port")))
	// As redis-server: the pid file is written once the server listens,
	// before the dataset loads, and removed by a clean shutdown.
	pidFile := pidFilePath(cfg)
	writePidFile(pidFile, logger)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		for {
			select {
			case sig := <-sigs:
				// The server's cron runs the shutdown (node/shutdown.go);
				// a second SIGINT meanwhile exits at once, as Redis.
				if srv.SignalShutdown(sig == syscall.SIGINT) {
					os.Exit(1)
				}
			case <-srv.Done():
				return
			}
		}
	}()
	if err := srv.Load(); err != nil {
		if errors.Is(err, node.ErrLoadAborted) {
			<-srv.Stopped()
			removePidFile(pidFile, logger)
			logger.Info("server stopped while loading")
			return 0
		}
		var logged *node.LoadErrorLogged
		if errors.As(err, &logged) {
			// The cause is the last line, in Redis's words (AOF errors),
			// which Redis's suite reads with tail -1: exit at once as
			// Redis's exit(1), without the shutdown's lines (the Unix
			// socket file is removed by the next start, as Redis's).
			return 1
		}
		// Redis's words, which its test suite looks for in the log.
		logger.Error("Fatal error loading the DB. Exiting.", "error", err)
		srv.Shutdown() // saves nothing: the server is still loading
		return 1
	}
	// Redis's words, which its test suite and operators' scripts wait for.
	if srv.HasTCPListener() {
		logger.Info("Ready to accept connections", "port", srv.Port(), "version", node.SkiffVersion)
	}
	if p := srv.UnixSocket(); p != "" {
		logger.Info("The server is now ready to accept connections at " + p)
	}
	var closers []io.Closer
	if cfg.Bool("cluster-enabled") {
		for _, h := range serverHooks {
			cl, err := h(cfg, logger)
			if err != nil {
				logger.Error("cannot start server", "error", err)
				srv.Shutdown()
				return 1
			}
			closers = append(closers, cl)
		}
	}
	srv.Serve()
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i].Close(); err != nil {
			logger.Warn("shutdown", "error", err)
		}
	}
	removePidFile(pidFile, logger)
	logger.Info("server stopped")
	return 0
}

// pidFilePath is the pidfile option's path ("" when unset). A relative
// path lives in dir, as for redis-server, which changes into dir while
// reading its config. (Redis's default /var/run/redis.pid applies only
// under daemonize, which Skiff does not do.)
func pidFilePath(cfg *config.Config) string {
	f := cfg.String("pidfile")
	if f != "" && !filepath.IsAbs(f) {
		f = filepath.Join(cfg.String("dir"), f)
	}
	return f
}

// writePidFile writes the process id and a newline. As in Redis, failing
// to write it is logged and start-up goes on.
func writePidFile(path string, logger hclog.Logger) {
	if path == "" {
		return
	}
	if err := os.WriteFile(path, []byte(fmt.Sprintf("%d\n", os.Getpid())), 0o644); err != nil {
		logger.Warn(fmt.Sprintf("Failed to write PID file: %v", err))
	}
}

// removePidFile removes the pid file at a clean shutdown, with Redis's
// log line.
func removePidFile(path string, logger hclog.Logger) {
	if path == "" {
		return
	}
	logger.Info("Removing the pid file.")
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		logger.Warn("cannot remove the pid file", "path", path, "error", err)
	}
}

// logStarting logs the start-up line with the process id.
func logStarting(logger hclog.Logger, mode string, port int) {
	logger.Info(fmt.Sprintf("Skiff %s (Redis %s compatible) starting in %s mode, port=%d, PID: %d",
		node.SkiffVersion, node.Version, mode, port, os.Getpid()))
}

// newLogger builds the process logger from loglevel, logfile and
// log-format (text, hclog's default, or json: one JSON object a line with
// @level, @message, @timestamp, @module and the record's fields). The Go
// standard logger, which some libraries write to, goes through it too.
func newLogger(cfg *config.Config) (hclog.Logger, func(), error) {
	var out io.Writer = os.Stdout
	closeFn := func() {}
	if f := cfg.String("logfile"); f != "" {
		if !filepath.IsAbs(f) {
			// redis-server chdirs to dir while loading its config, so a
			// relative logfile lives inside dir.
			f = filepath.Join(cfg.String("dir"), f)
		}
		fh, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("open logfile %s: %w", f, err)
		}
		out = fh
		closeFn = func() { fh.Close() }
	}
	level := map[string]hclog.Level{
		"debug": hclog.Debug, "verbose": hclog.Info, "notice": hclog.Info,
		"warning": hclog.Warn, "nothing": hclog.Off,
	}[cfg.String("loglevel")]
	l := hclog.New(&hclog.LoggerOptions{Name: "skiff", Level: level, Output: out,
		JSONFormat: cfg.String("log-format") == "json"})
	log.SetFlags(0)
	log.SetOutput(l.StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true}))
	_ = cfg.OnChange("loglevel", func(v string) error {
		l.SetLevel(map[string]hclog.Level{
			"debug": hclog.Debug, "verbose": hclog.Info, "notice": hclog.Info,
			"warning": hclog.Warn, "nothing": hclog.Off,
		}[v])
		return nil
	})
	return l, closeFn, nil
}

// startCPUProfile writes a CPU profile to $SKIFF_CPUPROFILE, if set, until
// the returned function is called (server and sentinel alike).
func startCPUProfile() (func(), error) {
	path := os.Getenv("SKIFF_CPUPROFILE")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create cpu profile %s: %w", path, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("start cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
