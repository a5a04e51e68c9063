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
	r.Tick(time.Now())
}
