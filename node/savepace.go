package node

import (
	"runtime"
	"time"
)

// Pacing of a background snapshot walker (BGSAVE, the base of an AOF
// rewrite) against the clients.
//
// The walker takes the data lock for one short step at a time. Measured
// during a BGSAVE of 1M keys under 8 SET/GET clients (docs/performance.md,
// "BGSAVE latency"), two things kept the clients waiting far longer than
// a step:
//
//   - Go's mutex lets a goroutine that unlocks and locks again at once win
//     over the waiters it has just woken (they must be scheduled first);
//     a waiter gets the lock handed over only once it has waited 1 ms.
//   - The walker never blocks, so a client goroutine made runnable on the
//     walker's P (by the netpoller or by the unlock) waits for the other P
//     to steal it, or for the 10 ms preemption.
//
// So after each step the walker yields its P once, and then keeps
// yielding while clients wait for the lock, for at most twice as long as
// it held the lock: a steady stream of clients slows a save down, at most
// threefold, and never stops it.

// yieldToClients is called by a walker right after it released the data
// lock that it had held for held.
func (s *Server) yieldToClients(held time.Duration) {
	runtime.Gosched()
	if s.p.lockWaiters.Load() == 0 {
		return
	}
	deadline := time.Now().Add(2 * held)
	for s.p.lockWaiters.Load() > 0 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
}
