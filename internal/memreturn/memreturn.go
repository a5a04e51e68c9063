// Package memreturn gives the heap's free pages back to the operating
// system once the server has gone quiet after growing.
//
// Go's collector lets the heap grow past the live data (GOGC) and keeps
// freed pages mapped for reuse; its background scavenger returns only what
// lies well beyond the next heap goal, and slowly. After a load (a million
// keys written, then nothing, or a FLUSHALL) the process therefore sits
// well above its live data in RSS, where redis-server's allocator would
// hold about the data. A forced collection plus debug.FreeOSMemory brings RSS down to
// the live heap; it costs one full mark of the heap (concurrent, with two
// short stop-the-world pauses: 0.5 ms and less measured, a few ms on a
// loaded machine) and the page releases, so it runs only when it is worth it and nobody is busy:
//
//   - what a collection could give back (dead objects, and free spans
//     not yet released) is at least (Slack-1) × the live heap and at
//     least MinBytes; free slots inside spans still in use
//     (fragmentation) cannot be given back and do not count;
//   - the process has allocated less than QuietRate bytes a second for
//     Quiet (a server that takes writes allocates for every one of them,
//     so allocation is the cheapest sign of traffic there is);
//   - the last return ended at least max(MinInterval, 10 × its duration)
//     ago: a return's collection uses about a quarter of the cores while
//     it marks, so returns take at most a few percent of the CPU.
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
	Before, After uint64 // heap objects plus free unreleased spans, bytes
	Live          uint64 // live heap before the collection
	Took          time.Duration
}

// Returner decides when to return memory. Tick it regularly (the server
// cron); it is safe for concurrent use.
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
	// cycles is the collection count last seen, datasetAtGC the
	// caller's dataset estimate when it changed.
	cycles      uint64
	datasetAtGC uint64
	samples     []metrics.Sample
	returns     uint64
	released    uint64
}

// New returns a Returner with cfg's thresholds.
func New(cfg Config) *Returner {
	return &Returner{cfg: cfg.withDefaults()}
}

// heapState reads cumulative allocation, the live heap as of the last
// collection, what a collection and release could shrink (heap objects,
// live and dead, plus free spans not yet released) and the count of
// collections.
func (r *Returner) heapState() (allocs, live, held, cycles uint64) {
	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(samples)
	v := make([]uint64, len(samples))
	for i, s := range samples {
		if s.Value.Kind() == metrics.KindUint64 {
			v[i] = s.Value.Uint64()
		}
	}
	return v[0], v[1], v[2] + v[3], v[4]
}

// Tick looks at the heap and, if the conditions of the package comment
// hold, starts a return in the background. It reports whether it did.
//
// dataset is the caller's estimate of its live data in bytes (0 when it
// has none). The runtime knows the live heap only as of the last
// collection: after a FLUSHALL or the deletion of a big key, the heap
// holds the dead data until the next one, which at a heap goal of 1.5×
// the old data may be far off. A drop of the estimate since the last
// collection by as much as a return needs stands in for the runtime's
// stale figure.
func (r *Returner) Tick(now time.Time, dataset uint64) bool {
	if r.running.Load() {
		return false
	}
	allocs, live, held, cycles := r.heapState()
	r.mu.Lock()
	defer r.mu.Unlock()
	if cycles != r.cycles {
		r.cycles, r.datasetAtGC = cycles, dataset
	}
	if dataset < r.datasetAtGC && r.datasetAtGC-dataset < live {
		// The dead part of what the last collection found live.
		live -= r.datasetAtGC - dataset
	}
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
	// Only dead objects and free spans can be given back; the unused
	// slots of spans still in use (fragmentation) cannot, so they do not
	// count, or a fragmented heap would be collected every MinInterval
	// for nothing.
	var spare uint64
	if held > live {
		spare = held - live
	}
	if spare < r.cfg.MinBytes || float64(spare) < (r.cfg.Slack-1)*float64(live) {
		return false
	}
	if !r.running.CompareAndSwap(false, true) {
		return false // another caller's tick started one
	}
	go r.free(live, held)
	return true
}

func (r *Returner) free(live, before uint64) {
	defer r.running.Store(false)
	t0 := time.Now()
	debug.FreeOSMemory()
	took := time.Since(t0)
	_, _, after, _ := r.heapState()
	r.mu.Lock()
	r.nextOK = time.Now().Add(max(r.cfg.MinInterval, 10*took))
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
