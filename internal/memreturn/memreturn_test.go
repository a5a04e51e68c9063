package memreturn

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

var sink [][]byte

// growAndDrop leaves the heap holding about n bytes of freed, unreleased
// spans over a small live heap.
func growAndDrop(n int) {
	for i := 0; i < n/(1<<20); i++ {
		sink = append(sink, make([]byte, 1<<20))
	}
	runtime.GC()
	sink = nil
	runtime.GC()
}

func waitReturns(t *testing.T, r *Returner, want uint64) (released uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n, rel := r.Stats()
		if n >= want && !r.running.Load() {
			return rel
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no return within 30s (want %d)", want)
	return 0
}

func TestReturnsWhenQuietAndGrown(t *testing.T) {
	growAndDrop(64 << 20)
	r := New(Config{})
	var got Result
	r.Done = func(res Result) { got = res }
	t0 := time.Now()
	if r.Tick(t0, 0) {
		t.Fatal("the first tick only starts the measurement")
	}
	if r.Tick(t0.Add(500*time.Millisecond), 0) {
		t.Fatal("returned before a second of quiet")
	}
	if !r.Tick(t0.Add(1500*time.Millisecond), 0) {
		_, live, held, _ := r.heapState()
		t.Fatalf("no return after 1.5s of quiet with held %d over live %d", held, live)
	}
	released := waitReturns(t, r, 1)
	if released < 32<<20 {
		t.Fatalf("released %d bytes, want most of the 64 MiB dropped (result %+v)", released, got)
	}
	// Rate limit: not again at once, even with more to give back.
	growAndDrop(64 << 20)
	if r.Tick(t0.Add(3*time.Second), 0) {
		t.Fatal("returned again within MinInterval")
	}
}

func TestNoReturnWhileBusy(t *testing.T) {
	growAndDrop(64 << 20)
	r := New(Config{QuietRate: 1 << 20})
	t0 := time.Now()
	r.Tick(t0, 0)
	for i := 1; i <= 20; i++ {
		// 4 MiB per simulated 100 ms tick: 40 MiB/s, far over QuietRate.
		for j := 0; j < 4; j++ {
			sink = append(sink, make([]byte, 1<<20))
		}
		sink = sink[:0]
		if r.Tick(t0.Add(time.Duration(i)*100*time.Millisecond), 0) {
			t.Fatalf("returned at tick %d while allocating 40 MiB/s", i)
		}
	}
}

func TestNoReturnWhenHeapIsTight(t *testing.T) {
	debug.FreeOSMemory()
	r := New(Config{MinBytes: 256 << 20})
	t0 := time.Now()
	r.Tick(t0, 0)
	if r.Tick(t0.Add(2*time.Second), 0) {
		_, live, held, _ := r.heapState()
		t.Fatalf("returned with held %d, live %d: under MinBytes", held, live)
	}
}

// After a FLUSHALL the runtime still counts the flushed data as live
// (until the next collection): the caller's falling dataset estimate
// stands in for it.
func TestReturnsAfterTheDatasetDrops(t *testing.T) {
	for i := 0; i < 64; i++ {
		sink = append(sink, make([]byte, 1<<20))
	}
	runtime.GC()
	debug.FreeOSMemory() // nothing spare: the 64 MiB are live
	r := New(Config{})
	t0 := time.Now()
	r.Tick(t0, 64<<20)
	if r.Tick(t0.Add(1500*time.Millisecond), 64<<20) {
		_, live, held, _ := r.heapState()
		t.Fatalf("returned with the data still live (held %d, live %d)", held, live)
	}
	sink = nil // the FLUSHALL: dead, but no collection has seen it
	if !r.Tick(t0.Add(3*time.Second), 1<<20) {
		_, live, held, _ := r.heapState()
		t.Fatalf("no return after the dataset fell from 64 MiB to 1 MiB (held %d, live %d)", held, live)
	}
	if released := waitReturns(t, r, 1); released < 32<<20 {
		t.Fatalf("released %d bytes, want most of the 64 MiB flushed", released)
	}
}
