package node

import (
	"os"
	"sync"
	"time"

	"github.com/skiffdb/skiff/internal/memreturn"
)

// idleReturner gives free heap pages back to the OS once writes have gone
// quiet after the heap grew (internal/memreturn, docs/memory.md "Where RSS
// goes"). There is one per process, as there is one heap: every Server of
// the process ticks the same one. SKIFF_IDLE_MEMORY_RETURN=no turns it
// off (to measure without it).
var idleReturner = sync.OnceValue(func() *memreturn.Returner {
	if os.Getenv("SKIFF_IDLE_MEMORY_RETURN") == "no" {
		return nil
	}
	return memreturn.New(memreturn.Config{})
})

var idleReturnLog sync.Once

// memoryReturnCron runs from the cron, without the server lock: the
// return itself runs on its own goroutine.
func (s *Server) memoryReturnCron() {
	r := idleReturner()
	if r == nil {
		return
	}
	idleReturnLog.Do(func() {
		log := s.log
		r.Done = func(res memreturn.Result) {
			log.Debug("returned idle heap memory to the OS",
				"held_before", res.Before, "held_after", res.After, "live", res.Live, "took", res.Took)
		}
	})
	// The dataset estimate (evict.go) needs the lock and samples keys:
	// once a second is enough for a return that waits a second of quiet.
	// The heap is the process's: the estimate is the sum over its servers
	// (tests run several).
	now := time.Now()
	idleDatasets.Lock()
	d := idleDatasets.m[s]
	idleDatasets.Unlock()
	if now.Sub(d.at) >= time.Second {
		s.mu.Lock()
		d = datasetSample{at: now, bytes: uint64(max(s.usedMemory(), 0))}
		s.mu.Unlock()
	}
	var total uint64
	idleDatasets.Lock()
	if idleDatasets.m == nil {
		idleDatasets.m = map[*Server]datasetSample{}
	}
	select {
	case <-s.done:
		delete(idleDatasets.m, s) // a stopped server's data is gone
	default:
		idleDatasets.m[s] = d
	}
	for _, x := range idleDatasets.m {
		total += x.bytes
	}
	idleDatasets.Unlock()
	r.Tick(now, total)
}

type datasetSample struct {
	at    time.Time
	bytes uint64
}

// idleDatasets holds each running server's last dataset estimate.
var idleDatasets struct {
	sync.Mutex
	m map[*Server]datasetSample
}
