// Package memreturn gives the heap's free pages back to the operating
// system once the server has gone quiet after growing.
//
// Go's collector lets the heap grow past the live data (GOGC) and keeps
// freed pages mapped for reuse; its background scavenger returns only what
// lies well beyond the next heap goal, and slowly. After a load (a million
// keys written, then nothing) the process therefore sits at up to twice
// its live data in RSS, where redis-server's allocator would hold about
// the data. A forced collection plus debug.FreeOSMemory brings RSS down to
// the live heap; it costs one full mark of the heap (concurrent, with two
// stop-the-world pauses of well under a millisecond) and the page
// releases, so it runs only when it is worth it and nobody is busy:
//
//   - the heap the runtime holds (objects, dead or alive, plus free spans
//     not yet released) is at least Slack over the live heap and MinBytes
//     more than it;
//   - the process has allocated less than QuietRate bytes a second for
//     Quiet (a server that takes writes allocates for every one of them,
//     so allocation is the cheapest sign of traffic there is);
//   - the last return ended at least max(MinInterval, 20 × its duration)
//     ago, so returns never take more than about 5% of a core.
//
// The collection runs on a goroutine of its own: the caller's tick never
// waits for it.
package memreturn

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Config holds the thresholds; the zero value of a field takes the
// default.
type Config struct {
	Slack       float64       // held/live ratio to exceed (default 1.1)
	MinBytes    uint64        // held - live to exceed (default 4 MiB)
	Quiet       time.Duration // quiet time before a return (default 1 s)
	QuietRate   uint64        // bytes/s of allocation that still count as quiet (default 1 MiB/s)
	MinInterval time.Duration // least time between returns (default 10 s)
}

func (c Config) withDefaults() Config {
	if c.Slack == 0 {
		c.Slack = 1.1
	}
	if c.MinBytes == 0 {
		c.MinBytes = 4 << 20
	}
	if c.Quiet == 0 {
		c.Quiet = time.Second
	}
	if c.QuietRate == 0 {
		c.QuietRate = 1 << 20
	}
	if c.MinInterval == 0 {
		c.MinInterval = 10 * time.Second
	}
	return c
}

// Result describes one return, for the caller's log.
type Result struct {
	Before, After uint64 // bytes the heap held (objects + free unreleased spans)
	Live          uint64 // live heap before the collection
	Took          time.Duration
}

// Returner decides when to return memory. Tick it regularly (the server
// cron); it is safe to call from one goroutine at a time.
type Returner struct {
	cfg Config
	// Done, if set, is called on the return's goroutine after each return.
	Done func(Result)

	running   atomic.Bool
	mu        sync.Mutex // guards the fields below against the return's goroutine
	lastAlloc uint64
	lastTick  time.Time
	quietFrom time.Time // zero while busy
	nextOK    time.Time // earliest next return
	samples   []metrics.Sample
	returns   uint64
	released  uint64
}

// New returns a Returner with cfg's thresholds.
func New(cfg Config) *Returner {
	return &Returner{cfg: cfg.withDefaults(), samples: []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}}
}

// heapState reads cumulative allocation, the live heap as of the last
// collection, and what the heap holds mapped and unreleased.
func (r *Returner) heapState() (allocs, live, held uint64) {
	metrics.Read(r.samples)
	v := make([]uint64, len(r.samples))
	for i, s := range r.samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	return v[0], v[1], v[2] + v[3] + v[4]
}

// Tick looks at the heap and, if the conditions of the package comment
// hold, starts a return in the background. It reports whether it did.
func (r *Returner) Tick(now time.Time) bool {
	if r.running.Load() {
		return false
	}
	allocs, live, held := r.heapState()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastTick.IsZero() {
		r.lastTick, r.lastAlloc = now, allocs
		return false
	}
	dt := now.Sub(r.lastTick)
	if dt <= 0 {
		return false
	}
	rate := float64(allocs-r.lastAlloc) / dt.Seconds()
	r.lastTick, r.lastAlloc = now, allocs
	if rate > float64(r.cfg.QuietRate) {
		r.quietFrom = time.Time{}
		return false
	}
	if r.quietFrom.IsZero() {
		r.quietFrom = now.Add(-dt) // quiet since the previous tick
	}
	if now.Sub(r.quietFrom) < r.cfg.Quiet || now.Before(r.nextOK) {
		return false
	}
	if held < r.cfg.MinBytes+live || float64(held) < r.cfg.Slack*float64(live) {
		return false
	}
	r.running.Store(true)
	go r.free(live, held)
	return true
}

func (r *Returner) free(live, before uint64) {
	defer r.running.Store(false)
	t0 := time.Now()
	debug.FreeOSMemory()
	took := time.Since(t0)
	_, _, after := r.heapState()
	r.mu.Lock()
	r.nextOK = time.Now().Add(max(r.cfg.MinInterval, 20*took))
	r.returns++
	if before > after {
		r.released += before - after
	}
	done := r.Done
	r.mu.Unlock()
	if done != nil {
		done(Result{Before: before, After: after, Live: live, Took: took})
	}
}

// Stats reports how many returns ran and the bytes they released in all.
func (r *Returner) Stats() (returns, released uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.returns, r.released
}
