package node

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/store"
)

// Loading the dataset while serving clients, as Redis 7.0 does.
//
// Redis loads its RDB or AOF on its one thread and, every
// loading-process-events-interval-bytes of input, serves the events that
// arrived meanwhile: new connections are accepted and commands without
// the `loading` flag are answered -LOADING, while INFO, CONFIG, PING's
// neighbours in the table (AUTH, HELLO, CLIENT, SHUTDOWN, ...) run. Skiff
// serves every connection on its own goroutine, so clients are never
// starved by the loader itself; what the loader shares with them is the
// data lock:
//
//   - An RDB (at start-up, or a replica's full sync) is decoded into a
//     fresh keyspace that no client can reach, without the lock, and
//     swapped in at the end. The loader takes the lock only to publish
//     its progress (INFO's loading_loaded_bytes, rdb_last_load_keys_*,
//     the keyspace counts), at every interval boundary, exactly where
//     Redis updates those fields. As Redis serves nobody before the first
//     boundary, commands wait until then (holdClientsLocked).
//   - The AOF is replayed through the dispatcher into the live keyspace
//     and so holds the lock; it releases it at every interval boundary
//     of an RDB base and every 1024 commands, as Redis processes events.
//
// key-load-delay (Redis's debugging knob) sleeps that many microseconds
// after every key of an RDB and every command of an AOF; a negative value
// -n sleeps 1 µs with probability 1/n.

// errLoading is Redis's reply to a command refused while loading.
const errLoading = "LOADING Redis is loading the dataset in memory"

// ErrLoadAborted is returned by Load when the server was shut down (by
// SHUTDOWN or a signal) before the dataset was loaded.
var ErrLoadAborted = errors.New("server shut down while loading the dataset")

func init() {
	config.Register(
		config.Option{Name: "key-load-delay", Kind: config.KindInt, Default: "0",
			Min: -1 << 31, Max: 1<<31 - 1, Hidden: true},
		// In Redis this is how often the loader stops to serve clients.
		// Skiff's clients have their own goroutines; the value is how
		// often the loader publishes its progress and, when it holds
		// the data lock (AOF replay), lets the clients' commands in.
		config.Option{Name: "loading-process-events-interval-bytes", Kind: config.KindInt, Default: "2097152",
			Min: 1024, Max: 1<<31 - 1, Hidden: true},
	)
}

// loadState is Redis's server.loading and the fields INFO persistence
// reports about a load. Guarded by the data lock except the atomics.
type loadState struct {
	active bool // server.loading: some load is in progress
	async  bool // server.async_loading: old data is served meanwhile
	start  int64
	total  int64 // loading_total_bytes (0 when unknown)
	rdbMem int64 // loading_rdb_used_mem (the file's used-mem AUX field)
	loaded int64 // loading_loaded_bytes
	// rdb_last_load_keys_loaded / _expired of the current or last load.
	keysLoaded, keysExpired int64
	// keyspace, when set, is what INFO keyspace shows while loading: the
	// keyspace being filled, as Redis fills its own (nil: the one served).
	keyspace []dbCount
	// hold, while set, makes clients' commands wait (waitLoadHold); it
	// is closed at the RDB loader's first progress report or at the end.
	hold chan struct{}

	// clusterWait: cluster-enabled, and the cluster member is not
	// attached yet (SetCluster): the server stays loading, as Redis
	// answers nothing before its cluster config is loaded (clients, e.g.
	// Redis's cluster test harness, wait while PING answers -LOADING).
	clusterWait bool

	keyDelay atomic.Int64 // key-load-delay, microseconds
	interval atomic.Int64 // loading-process-events-interval-bytes
}

// dbCount is one line of INFO keyspace.
type dbCount struct{ keys, expires int }

func (s *Server) initLoading() error {
	if s.cfg.Bool("cluster-enabled") {
		s.ld.active, s.ld.clusterWait = true, true
		s.updateGate()
	}
	if err := s.cfg.OnChange("key-load-delay", func(v string) error {
		s.ld.keyDelay.Store(atoi64(v))
		return nil
	}); err != nil {
		return err
	}
	return s.cfg.OnChange("loading-process-events-interval-bytes", func(v string) error {
		s.ld.interval.Store(atoi64(v))
		return nil
	})
}

// startLoadingLocked enters the loading state (Redis's startLoading):
// from now on clients get -LOADING for commands without the loading flag
// (async: only those with no_async_loading). Called under the lock.
func (s *Server) startLoadingLocked(total int64, async bool) {
	l := &s.ld
	l.active, l.async = true, async
	l.start = time.Now().Unix()
	l.total, l.rdbMem, l.loaded = total, 0, 0
	l.keysLoaded, l.keysExpired = 0, 0
	l.keyspace = nil
	s.updateGate()
}

// stopLoadingLocked leaves the loading state. Called under the lock.
func (s *Server) stopLoadingLocked() {
	s.ld.active, s.ld.async = s.ld.clusterWait, false
	s.ld.keyspace = nil
	s.releaseHoldLocked()
	s.updateGate()
}

// holdClientsLocked makes clients' commands wait until the loader's first
// progress report (or the end of the load). Redis's RDB loader first
// serves clients after loading-process-events-interval-bytes of input
// (2 MB by default): a shorter load is never seen, its clients are simply
// answered afterwards, with the new data; a longer one answers -LOADING
// from the first report on. (Redis's AOF loader serves clients at once.)
func (s *Server) holdClientsLocked() {
	if s.ld.hold == nil {
		s.ld.hold = make(chan struct{})
	}
}

func (s *Server) releaseHoldLocked() {
	if s.ld.hold != nil {
		close(s.ld.hold)
		s.ld.hold = nil
	}
}

// waitLoadHold waits out holdClientsLocked before a command is looked at.
// It runs under the lock (released while waiting) and returns false when
// the server shut down meanwhile.
func (s *Server) waitLoadHold(c *Client) bool {
	for s.ld.hold != nil && c.flags&clientMaster == 0 && s.blocking.depth == 0 {
		ch := s.ld.hold
		s.mu.Unlock()
		select {
		case <-ch:
		case <-s.done:
		}
		s.mu.Lock()
		select {
		case <-s.done:
			return false
		default:
		}
	}
	return true
}

// Loading reports whether the server is loading its dataset (INFO
// loading:1 or async_loading:1).
func (s *Server) Loading() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ld.active
}

// loadingRefuses reports whether cmd gets -LOADING now: while loading,
// every command without the loading flag, and EXEC of a transaction that
// queued one; while loading asynchronously (a replica's swapdb load) only
// the commands flagged no_async_loading. The AOF loader's own client is
// exempt. Called under the lock with s.ld.active set.
func (s *Server) loadingRefuses(c *Client, cmd *Command) bool {
	if c.flags&clientMaster != 0 {
		return false
	}
	refused := func(cmd *Command) bool {
		if s.ld.async {
			return cmd.Has(FlagNoAsyncLoading)
		}
		return !cmd.Has(FlagLoading)
	}
	if refused(cmd) {
		return true
	}
	if cmd.parent == nil && cmd.Name == "exec" && c.x.tx != nil {
		for _, qc := range c.x.tx.cmds {
			if refused(qc) {
				return true
			}
		}
	}
	return false
}

// loadingInfo appends INFO persistence's loading_* fields, present only
// while loading, computed as Redis computes them.
func (s *Server) loadingInfo(b *infoBuf) {
	l := &s.ld
	perc := 0.0
	remaining := int64(1)
	if l.total > 0 {
		perc = float64(l.loaded) / float64(l.total) * 100
		remaining = l.total - l.loaded
	} else if l.rdbMem > 0 {
		// used-mem is only an estimate of the file size: never 100%.
		perc = float64(l.loaded) / float64(l.rdbMem) * 100
		remaining = l.rdbMem - l.loaded
		perc = min(perc, 99.99)
		remaining = max(remaining, 1)
	}
	elapsed := time.Now().Unix() - l.start
	eta := int64(1) // Redis's placeholder until a second has passed
	if elapsed != 0 {
		eta = elapsed * remaining / (l.loaded + 1)
	}
	b.kv("loading_start_time", l.start)
	b.kv("loading_total_bytes", l.total)
	b.kv("loading_rdb_used_mem", l.rdbMem)
	b.kv("loading_loaded_bytes", l.loaded)
	b.kv("loading_loaded_perc", strconv.FormatFloat(perc, 'f', 2, 64))
	b.kv("loading_eta_seconds", eta)
}

// loadProgress follows one load: it applies key-load-delay after every
// entry and publishes the progress at every interval boundary.
type loadProgress struct {
	s *Server
	// base is added to offsets: the bytes of the files of the same load
	// already read (an AOF's base before its incremental files).
	base int64
	last int64 // offset of the last report
	// locked: the loader holds the data lock, and reporting also
	// releases it for a moment so that clients are served.
	locked bool
	// stop, when set, aborts the load when closed (a replica's link).
	stop <-chan struct{}
	// fresh, when set, is the keyspace being filled, which INFO keyspace
	// shows while loading (only the loader's goroutine reads it).
	fresh *store.Store
	// publish: the load is the one INFO reports (a replica publishes
	// nothing while it still serves old data, see fullSync).
	publish atomic.Bool
	cmds    int64

	// cur is the offset of the last entry; keys and expired are counted
	// by the caller. Atomics: a replica's receiver publishes them when
	// the loading state starts, while the decoder runs.
	cur           atomic.Int64
	keys, expired atomic.Int64
	rdbMem        atomic.Int64 // the used-mem AUX field, once read
	// expiredKeys, when collectExpired, are the keys dropped for a past
	// TTL: a master restarted with its replication history sends their
	// DELs, which its replicas need (persist_load.go).
	collectExpired bool
	expiredKeys    []dbKey

	// plog, when set, logs the progress (progress_log.go); it is read by
	// the loader's goroutine only, but may be set by the replica's
	// receiver (publishNowLocked).
	plog atomic.Pointer[progressLog]
}

func (s *Server) newLoadProgress(locked bool, stop <-chan struct{}) *loadProgress {
	p := &loadProgress{s: s, locked: locked, stop: stop}
	p.publish.Store(true)
	return p
}

// logProgress makes the load log its progress lines, "what: 45% (...)",
// total being the bytes of all its files (offsets count from p.base).
func (p *loadProgress) logProgress(what string, total int64) {
	pl := newProgressLog(p.s.log, what)
	pl.total = total
	p.plog.Store(pl)
}

// entry runs after every key of an RDB: key-load-delay, the progress
// report at every loading-process-events-interval-bytes boundary, and
// the check for a shutdown.
func (p *loadProgress) entry(off int64) error {
	p.cur.Store(off)
	if d := p.s.ld.keyDelay.Load(); d != 0 {
		loadDelay(d)
	}
	if pl := p.plog.Load(); pl != nil {
		pl.tick(p.base + off)
	}
	if iv := p.s.ld.interval.Load(); iv > 0 && off/iv > p.last/iv {
		p.report(off)
	}
	return p.aborted()
}

// command runs after every command of an AOF (off: bytes of the file
// consumed): key-load-delay, and every 1024 commands a report, as
// Redis's AOF loader serves clients every 1024 commands.
func (p *loadProgress) command(off int64) error {
	if d := p.s.ld.keyDelay.Load(); d != 0 {
		loadDelay(d)
	}
	p.cmds++
	p.cur.Store(off)
	if pl := p.plog.Load(); pl != nil {
		pl.tick(p.base + off)
	}
	if p.cmds%1024 == 0 {
		p.report(off)
	}
	return p.aborted()
}

func (p *loadProgress) aborted() error {
	select {
	case <-p.s.done:
		return ErrLoadAborted
	case <-p.stop:
		return errLinkStopped
	default:
		return nil
	}
}

// report publishes the progress; a loader that holds the lock lets the
// waiting clients in.
func (p *loadProgress) report(off int64) {
	p.last = off
	s := p.s
	if !p.locked {
		s.mu.Lock()
	}
	if p.publish.Load() {
		s.ld.loaded = p.base + off
		s.ld.keysLoaded, s.ld.keysExpired = p.keys.Load(), p.expired.Load()
		p.publishKeyspaceLocked()
		s.releaseHoldLocked()
	}
	if p.locked {
		// Clients blocked on the lock are woken by Unlock; give them a
		// moment to take it before the replay does again. Should one
		// lose the race anyway, Go's mutex turns fair (hand-off) for
		// waiters blocked over a millisecond: it is served at the
		// next report at the latest.
		waiting := len(s.clients) > 0
		s.mu.Unlock()
		runtime.Gosched()
		if waiting {
			sleepMicros(50)
		}
		s.mu.Lock()
	} else {
		s.mu.Unlock()
	}
}

// publishKeyspaceLocked copies the fresh keyspace's counts for INFO
// keyspace. Called from the loader's goroutine (the only one that touches
// the fresh keyspace) under the data lock.
func (p *loadProgress) publishKeyspaceLocked() {
	if p.fresh == nil {
		return
	}
	ks := p.s.ld.keyspace[:0]
	for _, db := range p.fresh.DBs {
		ks = append(ks, dbCount{db.Len(), db.Expires()})
	}
	p.s.ld.keyspace = ks
}

// finishLocked publishes the final counts (under the lock).
func (p *loadProgress) finishLocked(off int64) {
	if p.publish.Load() {
		p.s.ld.loaded = p.base + off
		p.s.ld.keysLoaded, p.s.ld.keysExpired = p.keys.Load(), p.expired.Load()
	}
}

// publishNowLocked makes the load the one INFO reports, from where the
// decoder is (a replica's disk-mode load enters the loading state only
// once the transfer has ended). Called under the lock.
func (p *loadProgress) publishNowLocked() {
	if p.s.ld.total > 0 {
		// A disk-mode replica loading the received file after the
		// transfer (whose own progress fullSync logs): log the rest.
		p.logProgress("loading RDB from master", p.s.ld.total)
	}
	p.publish.Store(true)
	p.s.ld.rdbMem = p.rdbMem.Load()
	p.s.ld.loaded = p.base + p.cur.Load()
	p.s.ld.keysLoaded, p.s.ld.keysExpired = p.keys.Load(), p.expired.Load()
}

// keyCount is the number of keys of every database.
func (s *Server) keyCount() int {
	n := 0
	for _, db := range s.store.DBs {
		n += db.Len()
	}
	return n
}

// aux records the AUX fields INFO reports while loading.
func (p *loadProgress) aux(k, v string) {
	if k != "used-mem" {
		return
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	p.rdbMem.Store(n)
	if !p.publish.Load() {
		return
	}
	if !p.locked {
		p.s.mu.Lock()
		defer p.s.mu.Unlock()
	}
	p.s.ld.rdbMem = n
}

// loadDelay is Redis's debugDelay: usec > 0 sleeps that long; usec < 0
// sleeps 1 µs once in -usec calls on average.
func loadDelay(usec int64) {
	if usec < 0 {
		if rand.Int64N(-usec) != 0 {
			return
		}
		usec = 1
	}
	sleepMicros(usec)
}

// dbKey names a key of one database.
type dbKey struct {
	db  int
	key string
}
