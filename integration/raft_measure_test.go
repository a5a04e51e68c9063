package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/fsm"
)

// TestRaftMeasure reports (does not assert) failover and commit latency
// figures for docs/raft.md. Run with
//
//	SKIFF_RAFT_MEASURE=1 go test -count=1 -run TestRaftMeasure -v ./integration
//
// Options (environment):
//
//	SKIFF_RAFT_TIMEOUTS=hb,election,lease   milliseconds (default: skiff's defaults)
//	SKIFF_RAFT_TRIALS=10                    kill -9 trials
//	SKIFF_RAFT_LOAD_SECONDS=20              length of the idle and the loaded observation windows
func TestRaftMeasure(t *testing.T) {
	if os.Getenv("SKIFF_RAFT_MEASURE") == "" {
		t.Skip("set SKIFF_RAFT_MEASURE=1 to measure")
	}
	var extra []string
	if v := os.Getenv("SKIFF_RAFT_TIMEOUTS"); v != "" {
		f := strings.Split(v, ",")
		if len(f) != 3 {
			t.Fatal("SKIFF_RAFT_TIMEOUTS wants hb,election,lease")
		}
		extra = []string{"--raft-heartbeat-timeout", f[0], "--raft-election-timeout", f[1], "--raft-leader-lease-timeout", f[2]}
	}
	trials := envInt("SKIFF_RAFT_TRIALS", 10)
	window := time.Duration(envInt("SKIFF_RAFT_LOAD_SECONDS", 20)) * time.Second

	nodes := startRaftCluster(t, 3, extra...)
	var toLeader, toCommit []time.Duration
	for i := 0; i < trials; i++ {
		l, err := raftLeader(nodes, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		survivors := others(nodes, l)
		start := time.Now()
		l.kill()
		if _, err := raftLeader(survivors, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		toLeader = append(toLeader, time.Since(start))
		if _, _, err := proposeAny(survivors, &fsm.Noop{Note: "measure"}, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		toCommit = append(toCommit, time.Since(start))
		l.start()
		if err := l.waitUp(15 * time.Second); err != nil {
			t.Fatal(err)
		}
		waitMembers(t, nodes, 3)
	}
	t.Logf("kill -9 leader -> new leader: median %v  all %v", median(toLeader), toLeader)
	t.Logf("kill -9 leader -> first commit: median %v  all %v", median(toCommit), toCommit)

	// Commit latency through the leader's admin API (HTTP round trip
	// included), sequential.
	l, err := raftLeader(nodes, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := l.client()
	var lat []time.Duration
	for i := 0; i < 500; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s := time.Now()
		_, err := c.Propose(ctx, &fsm.Noop{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(s))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("commit latency (500 sequential, via HTTP): p50 %v p99 %v max %v", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])

	// False elections: term changes with the machine idle, then with one
	// busy loop per core.
	idle := termDelta(t, nodes, window)
	var hogs []*exec.Cmd
	for i := 0; i < 2; i++ {
		h := exec.Command("sh", "-c", "while :; do :; done")
		if err := h.Start(); err != nil {
			t.Fatal(err)
		}
		hogs = append(hogs, h)
	}
	t.Cleanup(func() {
		for _, h := range hogs {
			_ = h.Process.Kill()
			_ = h.Wait()
		}
	})
	loaded := termDelta(t, nodes, window)
	t.Logf("term changes in %v: idle %d, both cores busy %d (timeouts %q)", window, idle, loaded, os.Getenv("SKIFF_RAFT_TIMEOUTS"))
	fmt.Printf("RAFT-MEASURE timeouts=%q leader_median=%v commit_median=%v p50=%v p99=%v false_idle=%d false_loaded=%d\n",
		os.Getenv("SKIFF_RAFT_TIMEOUTS"), median(toLeader), median(toCommit), lat[len(lat)/2], lat[len(lat)*99/100], idle, loaded)
}

func termDelta(t *testing.T, nodes []*raftNode, d time.Duration) uint64 {
	t.Helper()
	term := func() uint64 {
		var max uint64
		for _, n := range nodes {
			if s, err := n.status(); err == nil && s.Term > max {
				max = s.Term
			}
		}
		return max
	}
	start := term()
	time.Sleep(d) // an observation window, not synchronisation
	return term() - start
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
