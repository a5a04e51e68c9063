package node

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/internal/latencymon"
)

// INFO latencystats: a per-command latency histogram while
// latency-tracking is yes, reported at the latency-tracking-info-percentiles.
// The histogram covers 1 ns to 1 s with two significant digits, as Redis's
// (its values are recorded in nanoseconds and printed in microseconds);
// a command's histogram is made on its first recorded call, so that
// commands never called cost nothing.

const (
	latencyHistMin       = 1             // ns
	latencyHistMax       = 1_000_000_000 // ns: longer calls count as 1 s
	latencyHistPrecision = 2             // significant digits
)

func init() {
	config.Register(config.Option{Name: "latency-tracking-info-percentiles", Kind: config.KindSpecial,
		Default: "50 99 99.9", Parse: parsePercentiles})
}

// parsePercentiles checks and normalises a percentile list ("0.0 50.0"
// becomes "0 50", as CONFIG GET shows it in Redis). "" is no percentile.
func parsePercentiles(v string) (string, error) {
	fields := strings.Fields(v)
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		p, err := strconv.ParseFloat(f, 64)
		if err != nil || p != p {
			return "", fmt.Errorf("Invalid latency-tracking-info-percentiles parameters")
		}
		if p < 0 || p > 100 {
			return "", fmt.Errorf("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
		}
		out = append(out, formatPercentile(p))
	}
	return strings.Join(out, " "), nil
}

// formatPercentile prints p as Redis does: six decimals, then trailing
// zeros and a trailing point cut.
func formatPercentile(p float64) string {
	s := strconv.FormatFloat(p, 'f', 6, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// latencyTracking is the server's view of the two options, kept current
// by config hooks that run under the data lock (CONFIG SET), so that
// call() reads a field instead of the configuration.
type latencyTracking struct {
	on          bool
	percentiles []float64
	// mon is the latency monitor (latency.go).
	mon *latencyMonitor
}

func (s *Server) initLatencyTracking() error {
	s.latTrack.mon = &latencyMonitor{events: latencymon.New()}
	if err := s.cfg.OnChange("latency-monitor-threshold", func(v string) error {
		s.latTrack.mon.threshold.Store(atoi64(v))
		return nil
	}); err != nil {
		return err
	}
	if err := s.cfg.OnChange("latency-tracking", func(v string) error {
		s.latTrack.on = v == "yes"
		return nil
	}); err != nil {
		return err
	}
	return s.cfg.OnChange("latency-tracking-info-percentiles", func(v string) error {
		var ps []float64
		for _, f := range strings.Fields(v) {
			p, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return fmt.Errorf("latency-tracking-info-percentiles: %w", err)
			}
			ps = append(ps, p)
		}
		s.latTrack.percentiles = ps
		return nil
	})
}

// recordLatency adds one call's duration to st's histogram. Under the lock.
func (st *CmdStat) recordLatency(d time.Duration) {
	if st.Latency == nil {
		st.Latency = hdrhistogram.New(latencyHistMin, latencyHistMax, latencyHistPrecision)
	}
	ns := int64(d)
	if ns < latencyHistMin {
		ns = latencyHistMin
	}
	if ns > latencyHistMax {
		ns = latencyHistMax
	}
	_ = st.Latency.RecordValue(ns) // within the histogram's range: no error
}

func infoLatencyStats(s *Server, b *infoBuf) {
	if !s.latTrack.on {
		return
	}
	names := make([]string, 0, len(s.stats.CmdStats))
	for n, st := range s.stats.CmdStats {
		if st.Latency != nil && st.Latency.TotalCount() > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var v strings.Builder
	for _, n := range names {
		h := s.stats.CmdStats[n].Latency
		v.Reset()
		for i, p := range s.latTrack.percentiles {
			if i > 0 {
				v.WriteByte(',')
			}
			fmt.Fprintf(&v, "p%s=%.3f", formatPercentile(p), float64(h.ValueAtQuantile(p))/1000.0)
		}
		b.kv("latency_percentiles_usec_"+n, v.String())
	}
}
