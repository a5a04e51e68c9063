package node

// The latency monitor (LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR) and
// LATENCY HISTOGRAM. Events are sampled where Skiff has the point Redis
// samples: "command" and "fast-command" after every command, the expire
// and eviction cycles, AOF writes and fsyncs... A sample is taken only
// when latency-monitor-threshold is set (Redis's default is 0: off) and
// the event lasted at least that many milliseconds, so with the monitor
// off the cost is one atomic load.

import (
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/skiffdb/skiff/internal/latencymon"
)

func init() {
	registerSub("latency",
		&Command{Name: "reset", Arity: -2, Flags: "admin noscript loading stale", Group: "server", Since: "2.8.13", Summary: "Resets the latency data for one or more events.", Complexity: "O(1)", Handler: cmdLatencyReset},
		&Command{Name: "latest", Arity: 2, Flags: "admin noscript loading stale", Group: "server", Since: "2.8.13", Summary: "Returns the latest latency samples for all events.", Complexity: "O(1)", Handler: cmdLatencyLatest},
		&Command{Name: "history", Arity: 3, Flags: "admin noscript loading stale", Group: "server", Since: "2.8.13", Summary: "Returns timestamp-latency samples for an event.", Complexity: "O(1)", Handler: cmdLatencyHistory},
		&Command{Name: "graph", Arity: 3, Flags: "admin noscript loading stale", Group: "server", Since: "2.8.13", Summary: "Returns a latency graph for an event.", Complexity: "O(1)", Handler: cmdLatencyGraph},
		&Command{Name: "doctor", Arity: 2, Flags: "admin noscript loading stale", Group: "server", Since: "2.8.13", Summary: "Returns a human-readable latency analysis report.", Complexity: "O(1)", Handler: cmdLatencyDoctor},
		&Command{Name: "histogram", Arity: -2, Flags: "admin noscript loading stale", Group: "server", Since: "7.0.0", Summary: "Returns the cumulative distribution of latencies of a subset or all commands.", Complexity: "O(N) where N is the number of commands with latency information being retrieved.", Handler: cmdLatencyHistogram},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "server", Since: "2.8.13", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)", Handler: cmdLatencyHelp},
	)
}

// latencyMonitor is the server's event store. Events are sampled from
// paths that do not all hold the data lock (the AOF's writer), hence a
// lock of its own; it is taken only for a sample over the threshold.
type latencyMonitor struct {
	threshold atomic.Int64 // latency-monitor-threshold, ms; 0: off
	mu        sync.Mutex
	events    *latencymon.Monitor
}

// latencySample records d for event if the monitor is on and d reaches
// its threshold (Redis's latencyAddSampleIfNeeded).
func (s *Server) latencySample(event string, d time.Duration) {
	m := s.latTrack.mon
	if m == nil {
		return
	}
	th := m.threshold.Load()
	if th == 0 {
		return
	}
	if ms := d.Milliseconds(); ms >= th {
		m.mu.Lock()
		m.events.Add(event, time.Now().Unix(), ms)
		m.mu.Unlock()
	}
}

// latencyCommandSample is the per-command sample, split out so that
// execute pays only the threshold check.
func (s *Server) latencyCommandSample(cmd *Command, d time.Duration) {
	if cmd.Has(FlagFast) {
		s.latencySample("fast-command", d)
	} else {
		s.latencySample("command", d)
	}
}

func cmdLatencyReset(c *Client, args [][]byte) {
	m := c.srv.latTrack.mon
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(args) == 2 {
		c.replyInt(int64(m.events.Reset("", true)))
		return
	}
	n := 0
	for _, a := range args[2:] {
		n += m.events.Reset(string(a), false)
	}
	c.replyInt(int64(n))
}

func cmdLatencyLatest(c *Client, args [][]byte) {
	m := c.srv.latTrack.mon
	m.mu.Lock()
	rows := m.events.Latest()
	m.mu.Unlock()
	c.w.AppendArray(len(rows))
	for _, r := range rows {
		c.w.AppendArray(4)
		c.w.AppendBulkString(r.Event)
		c.w.AppendInt(r.Time)
		c.w.AppendInt(r.Latency)
		c.w.AppendInt(r.Max)
	}
}

func cmdLatencyHistory(c *Client, args [][]byte) {
	m := c.srv.latTrack.mon
	m.mu.Lock()
	h, _ := m.events.History(string(args[2]))
	m.mu.Unlock()
	c.w.AppendArray(len(h))
	for _, s := range h {
		c.w.AppendArray(2)
		c.w.AppendInt(s.Time)
		c.w.AppendInt(s.Latency)
	}
}

func cmdLatencyGraph(c *Client, args [][]byte) {
	m := c.srv.latTrack.mon
	m.mu.Lock()
	g, ok := m.events.Graph(string(args[2]), time.Now().Unix())
	m.mu.Unlock()
	if !ok {
		c.replyErrorf("ERR No samples available for event '%s'", args[2])
		return
	}
	c.w.AppendVerbatim(g)
}

func cmdLatencyDoctor(c *Client, args [][]byte) {
	s := c.srv
	m := s.latTrack.mon
	env := latencymon.DoctorEnv{
		Now:              time.Now().Unix(),
		Threshold:        m.threshold.Load(),
		SlowlogThreshold: s.slowlogFor().threshold.Load(),
		Hz:               int(s.cfg.Int("hz")),
		FsyncAlways:      s.cfg.String("appendfsync") == "always",
	}
	m.mu.Lock()
	r := m.events.Doctor(env)
	m.mu.Unlock()
	c.w.AppendVerbatim(r)
}

// cmdLatencyHistogram replies, for each command asked (all when none is)
// that has a latency-tracking histogram, its calls and the cumulative
// distribution of its latencies in power-of-two buckets. A container
// command stands for itself and its subcommands; unknown names are
// skipped.
func cmdLatencyHistogram(c *Client, args [][]byte) {
	s := c.srv
	var names []string
	seen := map[string]bool{}
	add := func(cmd *Command) {
		n := cmd.FullName()
		if st := s.stats.CmdStats[n]; st != nil && st.Latency != nil && st.Latency.TotalCount() > 0 && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	addWithSubs := func(cmd *Command) {
		add(cmd)
		subs := make([]string, 0, len(cmd.Subcommands))
		for n := range cmd.Subcommands {
			subs = append(subs, n)
		}
		sort.Strings(subs)
		for _, n := range subs {
			add(cmd.Subcommands[n])
		}
	}
	if len(args) == 2 {
		for _, cmd := range sortedCommands(s.cmds) {
			addWithSubs(cmd)
		}
	} else {
		for _, a := range args[2:] {
			if cmd := s.lookupCommandPath(string(a)); cmd != nil {
				addWithSubs(cmd)
			}
		}
	}
	c.w.AppendMap(len(names))
	for _, n := range names {
		c.w.AppendBulkString(n)
		writeLatencyCDF(c, s.stats.CmdStats[n].Latency)
	}
}

// lookupCommandPath finds "name" or "container|sub", case-insensitively.
func (s *Server) lookupCommandPath(path string) *Command {
	name, sub, hasSub := strings.Cut(strings.ToLower(path), "|")
	cmd := s.cmds[name]
	if cmd == nil || !hasSub {
		return cmd
	}
	return cmd.Subcommands[sub]
}

// writeLatencyCDF writes {calls, histogram_usec} for h: the count of calls
// that took at most each bucket bound, bounds doubling from 1024 ns, each
// reported as the highest value its histogram bucket holds, in µs, and
// only where the count grew (Redis's logarithmic HDR iteration).
func writeLatencyCDF(c *Client, h *hdrhistogram.Histogram) {
	type point struct{ usec, cum int64 }
	var pts []point
	bars := h.Distribution()
	var cum, prev int64
	i := 0
	for level := int64(1024); i < len(bars); level *= 2 {
		for i < len(bars) && bars[i].From <= level {
			cum += bars[i].Count
			i++
		}
		if cum > prev {
			pts = append(pts, point{highestEquivalent(h, level) / 1000, cum})
		}
		prev = cum
	}
	c.w.AppendMap(2)
	c.w.AppendBulkString("calls")
	c.w.AppendInt(h.TotalCount())
	c.w.AppendBulkString("histogram_usec")
	c.w.AppendMap(len(pts))
	for _, p := range pts {
		c.w.AppendInt(p.usec)
		c.w.AppendInt(p.cum)
	}
}

// highestEquivalent is the largest value the histogram counts in the same
// bucket as v (v is a power of two: its bucket is no wider than v).
func highestEquivalent(h *hdrhistogram.Histogram, v int64) int64 {
	lo, hi := v, 2*v-1 // lo is always equivalent to v
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if h.ValuesAreEquivalent(v, mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

func cmdLatencyHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"DOCTOR",
		"    Return a human readable latency analysis report.",
		"GRAPH <event>",
		"    Return an ASCII latency graph for the <event> class.",
		"HISTORY <event>",
		"    Return time-latency samples for the <event> class.",
		"LATEST",
		"    Return the latest latency samples for all events.",
		"RESET [<event> ...]",
		"    Reset latency data of one or more <event> classes.",
		"    (default: reset all data for all event classes)",
		"HISTOGRAM [COMMAND ...]",
		"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
		"    If no commands are specified then all histograms are replied.",
	})
}
