// Package node is Skiff's RESP server: connections, client state, the
// command table and dispatch, and the commands themselves, executed
// against the store under one data lock (the equivalent of Redis's single
// thread).
package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/store"
	"github.com/skiffdb/skiff/tlsconf"
)

// Version is the Redis version Skiff reports to clients (INFO, HELLO):
// clients gate features on it.
const Version = "7.0.15"

// SkiffVersion is Skiff's own version.
var SkiffVersion = "0.1.0"

// Server is one RESP server process.
type Server struct {
	// mu serialises command execution and all state below that is not
	// atomic: the keyspace, the client table, stats.
	mu    sync.Mutex
	cfg   *config.Config
	log   hclog.Logger
	store *store.Store

	runID     string
	strong    *strongState    // consistency strong (strong.go); nil in async mode
	latTrack  latencyTracking // INFO latencystats settings (latencystats.go)
	cc        clientsCron     // buffer resizing of clients (clientbuf.go)
	startTime time.Time
	lns       listenerSet   // listen.go
	sd        shutdownState // shutdown.go
	port      int
	// tls holds the TLS configurations (node/tls.go); tlsPort is the
	// bound tls-port, 0 without one.
	tls     *tlsconf.Manager
	tlsPort int

	clients      map[int64]*Client
	nextClientID atomic.Int64

	// cmds is the command table: the server's (commands), or the
	// sentinel's once SetSentinelMode has been called.
	cmds map[string]*Command
	// sentinel is set in sentinel mode (sentinel_mode.go).
	sentinel *sentinelState
	// cl is set in cluster mode (cluster.go).
	cl *clusterState
	// mig caches MIGRATE's connections (cmd_migrate.go).
	mig *migrateSockets
	// errMark is the error-reply count when the last command (or a
	// nested one) started or ended (failed_calls, see execute).
	errMark int64
	// scripts is the Lua scripting state (script_run.go).
	scripts scriptsState
	// functions holds the FUNCTION libraries (cmd_function.go).
	functions functionsState

	// Cached configuration read on the hot path.
	protoMaxBulk  atomic.Int64
	queryBufLimit atomic.Int64
	maxClients    atomic.Int64
	idleTimeout   atomic.Int64 // seconds
	requirePass   atomic.Pointer[string]

	stats Stats
	// blocking tracks clients blocked on keys (blocking.go).
	blocking blockingState
	dirty    int64 // changes since the last save
	// notifyFlags is the parsed notify-keyspace-events option.
	notifyFlags int
	// x is the state of transactions, pub/sub, pause and eviction (multi.go).
	x serverExt
	// p is BGSAVE, save points and AOF state (bgsave.go, aof.go).
	p persistState
	// repl is the replication state (replication.go).
	repl replState
	// acl holds the ACL users (acl.go).
	acl aclState
	// ld is the state of a dataset load in progress (loading.go).
	ld loadState
	// trk is client-side caching (tracking.go).
	trk trackingServer
	// acceptOnce starts the accept loops: during the start-up load, or
	// by Serve.
	acceptOnce sync.Once

	activeExpire atomic.Bool

	shutdownOnce sync.Once
	done         chan struct{}
	stopped      chan struct{} // closed once Shutdown has saved and closed everything
	// ShutdownHook, when set, is called by SHUTDOWN (after the reply
	// policy is decided) instead of exiting the process directly.
	ShutdownHook func()
	wg           sync.WaitGroup
}

// Stats are the counters INFO stats reports.
type Stats struct {
	TotalConnections  int64
	TotalCommands     int64
	RejectedConns     int64
	KeyspaceHits      int64
	KeyspaceMisses    int64
	NetInputBytes     atomic.Int64
	NetOutputBytes    atomic.Int64
	ExpiredKeys       int64
	EvictedKeys       int64
	TotalErrorReplies int64
	UnexpectedErrors  int64
	ErrorStats        map[string]int64 // by error code (prefix)
	CmdStats          map[string]*CmdStat
	ResetTime         time.Time
}

// CmdStat is one line of INFO commandstats.
type CmdStat struct {
	Calls, Usec, RejectedCalls, FailedCalls int64
	// Hist counts calls by duration in power-of-two microsecond buckets
	// (ops.go): the admin port's latency histogram, kept here so that
	// recording it is one increment under the lock the command holds.
	Hist [LatencyBuckets]uint64
	// Latency is INFO latencystats' histogram (latencystats.go), made on
	// the first call recorded while latency-tracking is yes.
	Latency *hdrhistogram.Histogram
}

// New builds a server from a configuration. It does not listen yet.
func New(cfg *config.Config, log hclog.Logger) (*Server, error) {
	var id [20]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("generate run id: %w", err)
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		store:     store.New(int(cfg.Int("databases"))),
		runID:     hex.EncodeToString(id[:]),
		startTime: time.Now(),
		clients:   map[int64]*Client{},
		cmds:      commands,
		done:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	s.stats.ErrorStats = map[string]int64{}
	s.stats.CmdStats = map[string]*CmdStat{}
	s.stats.ResetTime = time.Now()
	s.activeExpire.Store(true)
	s.store.OnExpire = s.onExpire
	s.store.Dropping = s.droppingValue
	s.store.NewLRU = lruClock
	hooks := []struct {
		name string
		fn   func(string) error
	}{
		{"proto-max-bulk-len", func(v string) error { s.protoMaxBulk.Store(atoi64(v)); return nil }},
		{"client-query-buffer-limit", func(v string) error { s.queryBufLimit.Store(atoi64(v)); return nil }},
		{"maxclients", func(v string) error { s.maxClients.Store(atoi64(v)); return nil }},
		{"timeout", func(v string) error { s.idleTimeout.Store(atoi64(v)); return nil }},
		{"requirepass", func(v string) error { s.requirePass.Store(&v); return nil }},
		{"port", func(string) error { return s.relisten("port") }},
		{"tls-port", func(string) error { return s.relisten("tls-port") }},
		{"bind", func(string) error { return s.relisten("bind") }},
	}
	for _, h := range hooks {
		if err := cfg.OnChange(h.name, h.fn); err != nil {
			return nil, fmt.Errorf("config %s: %w", h.name, err)
		}
	}
	tm, err := tlsconf.For(cfg, log)
	if err != nil {
		return nil, fmt.Errorf("Failed to configure TLS: %w", err)
	}
	s.tls = tm
	if err := s.initACL(s.aclTable()); err != nil {
		return nil, err
	}
	if err := s.initExt(); err != nil {
		return nil, err
	}
	if err := s.initLoading(); err != nil {
		return nil, err
	}
	if err := s.initSaveDelay(); err != nil {
		return nil, err
	}
	if err := s.initPersistence(); err != nil {
		return nil, err
	}
	if err := s.initReplication(); err != nil {
		return nil, err
	}
	s.initStrong()
	if err := s.initOOMScore(); err != nil {
		return nil, err
	}
	if err := s.initLatencyTracking(); err != nil {
		return nil, err
	}
	return s, nil
}

func atoi64(v string) int64 { n, _ := strconv.ParseInt(v, 10, 64); return n }

// Store gives other packages (persistence, replication) the keyspace; they
// must hold the lock returned by Lock while touching it.
func (s *Server) Store() *store.Store { return s.store }

// Lock acquires the data lock.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock releases the data lock.
func (s *Server) Unlock() { s.mu.Unlock() }

// RunID is the server's 40-hex run id.
func (s *Server) RunID() string { return s.runID }

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.port }

// Done is closed when the server has shut down.
func (s *Server) Done() <-chan struct{} { return s.done }

// Stopped is closed once Shutdown has finished (final save, AOF flush,
// connections closed).
func (s *Server) Stopped() <-chan struct{} { return s.stopped }

// Serve accepts connections on every listener (if Load has not already
// started to) and runs the background cycle (cron, replication) until
// Shutdown. It returns when the server has stopped. A server with a
// dataset calls Load first: nothing of the cycle runs during the load.
func (s *Server) Serve() {
	s.startAccepting()
	go s.cron()
	if s.sentinel == nil {
		s.startReplication()
	}
	<-s.done
	s.wg.Wait()
	// Shutdown may still be saving the final snapshot: the process must
	// not exit before it is on disk.
	<-s.stopped
}

func (s *Server) acceptLoop(ln net.Listener) {
	defer s.wg.Done()
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				// Out of file descriptors and the like: back off, keep serving.
				if delay == 0 {
					delay = 5 * time.Millisecond
				} else if delay < time.Second {
					delay *= 2
				}
				s.log.Warn("accept failed", "error", err)
				time.Sleep(delay)
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept failed", "error", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		delay = 0
		if tl, ok := ln.(*tlsListener); ok {
			go s.serveTLS(tl, conn)
			continue
		}
		go s.serveConn(conn)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// Shutdown stops accepting, closes every client and marks the server done.
func (s *Server) Shutdown() {
	s.shutdownOnce.Do(func() {
		close(s.done)
		s.closeListeners()
		s.mu.Lock()
		s.persistOnExit()
		for _, c := range s.clients {
			c.conn.Close()
		}
		s.mu.Unlock()
		s.sentinelShutdown() // flush the sentinel's config before Serve returns
		close(s.stopped)
	})
}

// cron is Redis's serverCron: active expiry and housekeeping, hz times a
// second.
func (s *Server) cron() {
	for {
		hz := s.cfg.Int("hz")
		if hz <= 0 {
			hz = 10
		}
		period := time.Second / time.Duration(hz)
		select {
		case <-s.done:
			return
		case <-time.After(period):
		}
		if s.x.cronPaused.Load() {
			continue
		}
		s.mu.Lock()
		s.shutdownCron()
		s.failoverCron()
		s.pauseCron()
		s.clientsCronRun(hz)
		s.evictClients() // maxmemory-clients (clientevict.go)
		// Replicas wait for the master's DEL; a pause holds expired keys.
		if s.activeExpire.Load() && !s.store.NoLazyExpire && !s.store.HoldExpired {
			// Like Redis: at most 25% of the period on expiry.
			start := monoNow()
			deadline := time.Now().Add(period / 4)
			now := time.Now().UnixMilli()
			for _, db := range s.store.DBs {
				if db.Expires() > 0 {
					db.ActiveExpire(now, deadline)
				}
				if time.Now().After(deadline) {
					break
				}
			}
			s.latencySample("expire-cycle", monoNow()-start)
		}
		if s.store.TrackReplicaTTL && s.store.ReplicaKeysWithExpire() > 0 {
			// A writable replica's own keys with a TTL (store/replica_keys.go).
			s.store.ExpireReplicaKeys(time.Now().UnixMilli())
		}
		if s.sentinel == nil {
			s.persistCron()
		}
		if s.trk.over {
			s.trackingLimit() // tracking-table-max-keys (tracking.go)
		}
		if s.x.evict.maxmemory > 0 {
			s.performEvictions() // keep evicting between commands (evict.go)
		}
		s.mu.Unlock()
		s.memoryReturnCron() // memreturn.go
	}
}

// onExpire runs (under the lock) when the store reclaims an expired key.
func (s *Server) onExpire(db *store.DB, key string) {
	s.stats.ExpiredKeys++
	s.keyspaceEvent(db, key, "expired", notifyExpired)
	s.signalKeyGone(db, []byte(key))
	s.propagate(db.ID, [][]byte{deleteVerb(s.cfg.Bool("lazyfree-lazy-expire")), []byte(key)})
}

// pid is cached for INFO.
var pid = os.Getpid()
