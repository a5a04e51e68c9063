package node

import (
	"testing"
	"time"
)

// benchCallCmd runs one command line through call() for a connected
// client, b.N times. With track, some other client has tracking on
// (reading nothing): what every command then pays.
func benchCallCmd(b *testing.B, line string, track bool) {
	s := newBenchServer(b)
	c := &Client{srv: s, db: s.store.DBs[0], authed: true, user: s.acl.reg.Default}
	c.batchWall = time.Now()
	args := argvOf(line)
	s.mu.Lock()
	defer s.mu.Unlock()
	if track {
		t := &Client{srv: s, id: 1 << 40, db: s.store.DBs[0], authed: true}
		s.clients[t.id] = t
		t.trk = &trackingState{}
		s.trk.clients++
		s.trackingUpdate()
	}
	s.call(c, argvOf("SET key:1 xxx"))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		s.call(c, args)
		c.w.B = c.w.B[:0]
	}
	reportCPU(b, cpu0)
}

// BenchmarkTrackingOffGet and ...Set: GET and SET through call() while no
// client tracks (the cost the tracking hooks add to every command).
func BenchmarkTrackingOffGet(b *testing.B) { benchCallCmd(b, "GET key:1", false) }
func BenchmarkTrackingOffSet(b *testing.B) { benchCallCmd(b, "SET key:1 xxx", false) }

// BenchmarkTrackingOnGet and ...Set: the same while a client tracks.
func BenchmarkTrackingOnGet(b *testing.B) { benchCallCmd(b, "GET key:1", true) }
func BenchmarkTrackingOnSet(b *testing.B) { benchCallCmd(b, "SET key:1 xxx", true) }
