package ops

import (
	"strings"
	"sync"

	gometrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// raftSink bridges what hashicorp/raft emits through hashicorp/go-metrics
// into Prometheus: the commit time (raft.commitTime, the leader's time
// from dispatching an entry to its commit) as a histogram, and every
// counter raft increments (elections, heartbeat timeouts, ...) by name.
// Gauges and other samples are dropped: the member's status gives the
// gauges exactly at scrape time.
var raftSink = &promSink{
	commit: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "skiff_raft_commit_seconds",
		Help:    "Time from dispatching a Raft log entry to its commit, on the leader (raft.commitTime).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1, 2},
	}),
	events: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "skiff_raft_events_total",
		Help: "Counters hashicorp/raft increments (go-metrics keys joined by '_').",
	}, []string{"name"}),
}

var installOnce sync.Once

// InstallRaftMetrics makes raftSink go-metrics' global sink. Call once
// per process, before the Raft member starts (raft reads the global at
// each emission, so later is fine too, only earlier events are missed).
func InstallRaftMetrics() {
	installOnce.Do(func() {
		cfg := gometrics.DefaultConfig("")
		cfg.EnableHostname = false
		cfg.EnableHostnameLabel = false
		cfg.EnableRuntimeMetrics = false
		_, _ = gometrics.NewGlobal(cfg, raftSink)
	})
}

type promSink struct {
	commit prometheus.Histogram
	events *prometheus.CounterVec
}

func key(k []string) string { return strings.Join(k, "_") }

func (s *promSink) SetGauge([]string, float32)                                       {}
func (s *promSink) SetGaugeWithLabels([]string, float32, []gometrics.Label)          {}
func (s *promSink) SetPrecisionGauge([]string, float64)                              {}
func (s *promSink) SetPrecisionGaugeWithLabels([]string, float64, []gometrics.Label) {}
func (s *promSink) EmitKey([]string, float32)                                        {}

func (s *promSink) IncrCounter(k []string, v float32) {
	if len(k) > 0 && k[0] == "raft" {
		s.events.WithLabelValues(key(k)).Add(float64(v))
	}
}

func (s *promSink) IncrCounterWithLabels(k []string, v float32, _ []gometrics.Label) {
	s.IncrCounter(k, v)
}

func (s *promSink) AddSample(k []string, v float32) {
	// go-metrics' MeasureSince reports milliseconds.
	if len(k) == 2 && k[0] == "raft" && k[1] == "commitTime" {
		s.commit.Observe(float64(v) / 1000)
	}
}

func (s *promSink) AddSampleWithLabels(k []string, v float32, _ []gometrics.Label) {
	s.AddSample(k, v)
}
