package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/ops"
)

// The operator views of `skiff admin`: topology (a table of
// GET /api/topology, or its JSON), top (the same table refreshed in
// place) and failover (POST /api/failover).

func fetchTopology(ctx context.Context, c *admin.Client) (*ops.Topology, error) {
	var t ops.Topology
	if err := c.Get(ctx, "/api/topology", &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	if id == "" {
		return "-"
	}
	return id
}

// writeTopology prints the topology as tables, the way the page lays it
// out: the Raft group, the shards, the sentinel's masters, the events.
func writeTopology(w io.Writer, t *ops.Topology) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s seen from %s at %s\n", strings.ToUpper(t.Mode), t.Self.Addr, t.GeneratedAt.Local().Format("15:04:05"))
	if r := t.Raft; r != nil {
		leader := short(r.LeaderID)
		if !r.HasQuorum {
			leader = "NONE"
		}
		fmt.Fprintf(tw, "\nRAFT\tstate %s\tterm %d\tleader %s\tcommit %d\tapplied %d\tepoch %d\n",
			r.State, r.Term, leader, r.CommitIndex, r.Applied, r.Epoch)
		fmt.Fprintln(tw, "MEMBER\tID\tSUFFRAGE\tROLE\tHEALTH")
		for _, m := range r.Members {
			role := "follower"
			if m.Leader {
				role = "LEADER"
			}
			addr := m.Addr
			if addr == "" {
				addr = m.AdminAddr
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", addr, short(m.ID), m.Suffrage, role, m.Health)
		}
	}
	if len(t.Shards) > 0 {
		fmt.Fprintf(tw, "\nSLOTS\t%d of 16384 assigned\tmigrating %d\timporting %d\n", t.Slots.Assigned, len(t.Slots.Migrating), len(t.Slots.Importing))
		fmt.Fprintln(tw, "SHARD\tSLOTS\tNODE\tROLE\tSTATE\tLINK\tOFFSET\tLAG")
		for i, s := range t.Shards {
			for j, n := range s.Nodes {
				shard, slots := "", ""
				if j == 0 {
					shard = fmt.Sprintf("%d (%s)", i+1, short(s.ID))
					slots = fmt.Sprintf("%d: %s", s.NumSlots, s.Slots)
					if s.Slots == "" {
						slots = "0"
					}
				}
				lag := "-"
				if n.Role != "master" {
					lag = fmt.Sprintf("%dB/%ds", n.LagBytes, n.LagSec)
				}
				addr := n.Addr
				if n.Self {
					addr += " *"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", shard, slots, addr, n.Role, n.State, n.Link, n.Offset, lag)
			}
		}
	}
	if len(t.Sentinel) > 0 {
		fmt.Fprintln(tw, "\nMASTER\tADDRESS\tSTATUS\tREPLICAS\tSENTINELS\tEPOCH")
		for _, m := range t.Sentinel {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\n", m.Name, m.Address, m.Status, m.Replicas, m.Sentinels, m.Epoch)
		}
	}
	if len(t.Failovers) > 0 {
		fmt.Fprintln(tw, "\nFAILOVER IN PROGRESS\tKIND\tCANDIDATE\tEPOCH")
		for _, f := range t.Failovers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", short(f.Target), f.Kind, f.Candidate, f.Epoch)
		}
	}
	if len(t.Events) > 0 {
		fmt.Fprintln(tw, "\nTIME\tEVENT\tTOOK\tWHAT")
		evs := t.Events
		if len(evs) > 8 {
			evs = evs[len(evs)-8:]
		}
		for i := len(evs) - 1; i >= 0; i-- {
			e := evs[i]
			took := "-"
			if e.DurationMs > 0 {
				took = fmt.Sprintf("%.2fs", float64(e.DurationMs)/1000)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.At.Local().Format("15:04:05"), e.Kind, took, e.Text)
		}
	}
	tw.Flush()
}

// runTop redraws the topology every interval until interrupted, or
// iterations times (0 = forever). A failed refresh is shown in place of
// the table and retried: top keeps watching a cluster through a failover
// of the node it asks.
func runTop(ctx context.Context, c *admin.Client, stdout io.Writer, interval time.Duration, iterations int, timeout time.Duration) error {
	tty := false
	if f, ok := stdout.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var lastErr error
	for i := 0; iterations == 0 || i < iterations; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(interval):
			}
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		t, err := fetchTopology(rctx, c)
		cancel()
		if tty {
			fmt.Fprint(stdout, "\x1b[H\x1b[2J") // home, clear: redraw in place as top does
		} else if i > 0 {
			fmt.Fprintln(stdout, "\n---")
		}
		if err != nil {
			lastErr = err
			fmt.Fprintf(stdout, "skiff admin top: %s: %v (retrying every %v)\n", c.Addr, err, interval)
			continue
		}
		lastErr = nil
		writeTopology(stdout, t)
	}
	return lastErr
}
