package ops

import (
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/node"
)

// Redis's INFO fields under redis_exporter's names (so that its Grafana
// dashboards work unchanged): gauges, then counters.
var infoGauges = map[string]string{
	"uptime_in_seconds":               "uptime_in_seconds",
	"process_id":                      "process_id",
	"connected_clients":               "connected_clients",
	"blocked_clients":                 "blocked_clients",
	"tracking_clients":                "tracking_clients",
	"maxclients":                      "max_clients",
	"client_recent_max_input_buffer":  "client_recent_max_input_buffer_bytes",
	"client_recent_max_output_buffer": "client_recent_max_output_buffer_bytes",
	"used_memory":                     "memory_used_bytes",
	"used_memory_rss":                 "memory_used_rss_bytes",
	"used_memory_peak":                "memory_used_peak_bytes",
	"used_memory_lua":                 "memory_used_lua_bytes",
	"used_memory_overhead":            "memory_used_overhead_bytes",
	"used_memory_startup":             "memory_used_startup_bytes",
	"used_memory_dataset":             "memory_used_dataset_bytes",
	"used_memory_scripts":             "memory_used_scripts_bytes",
	"maxmemory":                       "memory_max_bytes",
	"mem_fragmentation_ratio":         "mem_fragmentation_ratio",
	"mem_fragmentation_bytes":         "mem_fragmentation_bytes",
	"mem_clients_slaves":              "mem_clients_slaves",
	"mem_clients_normal":              "mem_clients_normal",
	"lazyfree_pending_objects":        "lazyfree_pending_objects",
	"loading":                         "loading_dump_file",
	"rdb_changes_since_last_save":     "rdb_changes_since_last_save",
	"rdb_bgsave_in_progress":          "rdb_bgsave_in_progress",
	"rdb_last_save_time":              "rdb_last_save_timestamp_seconds",
	"rdb_last_bgsave_time_sec":        "rdb_last_bgsave_duration_sec",
	"rdb_current_bgsave_time_sec":     "rdb_current_bgsave_duration_sec",
	"aof_enabled":                     "aof_enabled",
	"aof_rewrite_in_progress":         "aof_rewrite_in_progress",
	"aof_rewrite_scheduled":           "aof_rewrite_scheduled",
	"aof_last_rewrite_time_sec":       "aof_last_rewrite_duration_sec",
	"aof_current_rewrite_time_sec":    "aof_current_rewrite_duration_sec",
	"aof_current_size":                "aof_current_size_bytes",
	"aof_base_size":                   "aof_base_size_bytes",
	"aof_pending_rewrite":             "aof_pending_rewrite",
	"aof_buffer_length":               "aof_buffer_length",
	"aof_delayed_fsync":               "aof_delayed_fsync",
	"pubsub_channels":                 "pubsub_channels",
	"pubsub_patterns":                 "pubsub_patterns",
	"latest_fork_usec":                "latest_fork_usec",
	"connected_slaves":                "connected_slaves",
	"repl_backlog_size":               "replication_backlog_bytes",
	"repl_backlog_active":             "repl_backlog_is_active",
	"repl_backlog_first_byte_offset":  "repl_backlog_first_byte_offset",
	"repl_backlog_histlen":            "repl_backlog_history_bytes",
	"master_repl_offset":              "master_repl_offset",
	"second_repl_offset":              "second_repl_offset",
	"slave_priority":                  "slave_priority",
	"sync_full":                       "replica_resyncs_full",
	"sync_partial_ok":                 "replica_partial_resync_accepted",
	"sync_partial_err":                "replica_partial_resync_denied",
	"cluster_enabled":                 "cluster_enabled",
	"sentinel_masters":                "sentinel_masters",
	"sentinel_tilt":                   "sentinel_tilt",
	"sentinel_running_scripts":        "sentinel_running_scripts",
	"sentinel_scripts_queue_length":   "sentinel_scripts_queue_length",
	"sentinel_simulate_failure_flags": "sentinel_simulate_failure_flags",
}

var infoCounters = map[string]string{
	"total_connections_received": "connections_received_total",
	"total_commands_processed":   "commands_processed_total",
	"rejected_connections":       "rejected_connections_total",
	"total_net_input_bytes":      "net_input_bytes_total",
	"total_net_output_bytes":     "net_output_bytes_total",
	"expired_keys":               "expired_keys_total",
	"evicted_keys":               "evicted_keys_total",
	"keyspace_hits":              "keyspace_hits_total",
	"keyspace_misses":            "keyspace_misses_total",
	"used_cpu_sys":               "cpu_sys_seconds_total",
	"used_cpu_user":              "cpu_user_seconds_total",
	"used_cpu_sys_children":      "cpu_sys_children_seconds_total",
	"used_cpu_user_children":     "cpu_user_children_seconds_total",
	"total_error_replies":        "total_error_replies",
}

// statusFields are "ok"/"err" fields exported as 1/0.
var statusFields = map[string]string{
	"rdb_last_bgsave_status":    "rdb_last_bgsave_status",
	"aof_last_bgrewrite_status": "aof_last_bgrewrite_status",
	"aof_last_write_status":     "aof_last_write_status",
}

// latencyBounds are the upper bounds (seconds) of the command latency
// histogram's finite buckets: 2^i µs (node.LatencyBuckets).
var latencyBounds = func() []float64 {
	b := make([]float64, node.LatencyBuckets-1)
	for i := range b {
		b[i] = math.Ldexp(1, i) / 1e6
	}
	return b
}()

type registry struct {
	p   *Ops
	reg *prometheus.Registry
}

func newRegistry(p *Ops) *registry {
	r := &registry{p: p, reg: prometheus.NewRegistry()}
	r.reg.MustRegister(collector{p}, raftSink.commit, raftSink.events,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

func (r *registry) handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// collector builds every Redis and Skiff metric at scrape time (an
// "unchecked" collector: the set of series depends on the moment).
type collector struct{ p *Ops }

func (collector) Describe(chan<- *prometheus.Desc) {}

// emitter turns name/value pairs into const metrics.
type emitter struct{ ch chan<- prometheus.Metric }

func (e emitter) metric(name, help string, t prometheus.ValueType, v float64, labels ...string) {
	var keys, vals []string
	for i := 0; i+1 < len(labels); i += 2 {
		keys = append(keys, labels[i])
		vals = append(vals, labels[i+1])
	}
	if help == "" {
		help = name
	}
	e.ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, keys, nil), t, v, vals...)
}

func (e emitter) gauge(name string, v float64, labels ...string) {
	e.metric(name, "", prometheus.GaugeValue, v, labels...)
}

func (e emitter) counter(name string, v float64, labels ...string) {
	e.metric(name, "", prometheus.CounterValue, v, labels...)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	e := emitter{ch}
	p := c.p
	snap, ok := p.snapshot()
	up := ok
	if ok {
		in := parseInfo(snap.Info)
		if p.o.SentinelInfo != nil {
			for k, v := range parseInfo(p.o.SentinelInfo()) {
				in[k] = v
			}
		}
		collectInfo(e, in)
		collectLatency(e, in, snap.Hist)
	}
	e.metric("redis_up", "Whether the data node answered the scrape (its data lock was had within 2 s).", prometheus.GaugeValue, b2f(up))
	collectSkiff(e, p)
}

func collectInfo(e emitter, in info) {
	for f, name := range infoGauges {
		if v, ok := in.num(f); ok {
			e.gauge("redis_"+name, v)
		}
	}
	for f, name := range infoCounters {
		if v, ok := in.num(f); ok {
			e.counter("redis_"+name, v)
		}
	}
	for f, name := range statusFields {
		if v, ok := in[f]; ok {
			e.gauge("redis_"+name, b2f(v == "ok"))
		}
	}
	e.gauge("redis_instance_info", 1, "role", in["role"], "redis_version", in["redis_version"],
		"redis_build_id", in["redis_build_id"], "redis_mode", in["redis_mode"], "os", in["os"],
		"maxmemory_policy", in["maxmemory_policy"], "tcp_port", in["tcp_port"], "run_id", in["run_id"],
		"process_id", in["process_id"])
	if in["role"] == "slave" {
		host, port := in["master_host"], in["master_port"]
		e.gauge("redis_master_link_up", b2f(in["master_link_status"] == "up"), "master_host", host, "master_port", port)
		e.gauge("redis_master_sync_in_progress", atof(in["master_sync_in_progress"]), "master_host", host, "master_port", port)
		if v, ok := in.num("master_last_io_seconds_ago"); ok {
			e.gauge("redis_master_last_io_seconds_ago", v, "master_host", host, "master_port", port)
		}
	}
	seenDB0 := false
	for k, v := range in {
		switch {
		case strings.HasPrefix(k, "slave") && k != "slave_priority" && k != "slave_read_only" &&
			k != "slave_repl_offset" && k != "slave_expires_tracked_keys" && k != "slave_read_repl_offset" &&
			k != "slave_announced":
			f := fields(v)
			if f["ip"] == "" {
				continue
			}
			l := []string{"slave_ip", f["ip"], "slave_port", f["port"], "slave_state", f["state"]}
			e.gauge("redis_connected_slave_offset_bytes", atof(f["offset"]), l...)
			e.gauge("redis_connected_slave_lag_seconds", atof(f["lag"]), l...)
		case strings.HasPrefix(k, "db") && len(k) > 2 && k[2] >= '0' && k[2] <= '9':
			f := fields(v)
			seenDB0 = seenDB0 || k == "db0"
			e.gauge("redis_db_keys", atof(f["keys"]), "db", k)
			e.gauge("redis_db_keys_expiring", atof(f["expires"]), "db", k)
			e.gauge("redis_db_avg_ttl_seconds", atof(f["avg_ttl"])/1000, "db", k)
		case strings.HasPrefix(k, "cmdstat_"):
			f := fields(v)
			cmd := strings.TrimPrefix(k, "cmdstat_")
			e.counter("redis_commands_total", atof(f["calls"]), "cmd", cmd)
			e.counter("redis_commands_duration_seconds_total", atof(f["usec"])/1e6, "cmd", cmd)
			e.counter("redis_commands_rejected_calls_total", atof(f["rejected_calls"]), "cmd", cmd)
			e.counter("redis_commands_failed_calls_total", atof(f["failed_calls"]), "cmd", cmd)
		case strings.HasPrefix(k, "errorstat_"):
			e.counter("redis_errors_total", atof(fields(v)["count"]), "err", strings.TrimPrefix(k, "errorstat_"))
		case strings.HasPrefix(k, "master") && len(k) > 6 && k[6] >= '0' && k[6] <= '9':
			// A sentinel's monitored master: name=,status=ok|sdown|odown,address=,slaves=,sentinels=
			f := fields(v)
			name, addr := f["name"], f["address"]
			e.gauge("redis_sentinel_master_status", 1, "master_name", name, "master_address", addr, "master_status", f["status"])
			e.gauge("redis_sentinel_master_slaves", atof(f["slaves"]), "master_name", name, "master_address", addr)
			e.gauge("redis_sentinel_master_sentinels", atof(f["sentinels"]), "master_name", name, "master_address", addr)
			e.gauge("skiff_sentinel_master_sdown", b2f(f["status"] == "sdown" || f["status"] == "odown"), "master_name", name)
			e.gauge("skiff_sentinel_master_odown", b2f(f["status"] == "odown"), "master_name", name)
		}
	}
	if !seenDB0 {
		// As redis_exporter does, db0 is always present so that a
		// dashboard's key count reads 0 rather than "no data".
		e.gauge("redis_db_keys", 0, "db", "db0")
		e.gauge("redis_db_keys_expiring", 0, "db", "db0")
	}
}

// collectLatency writes skiff_command_duration_seconds from the buckets
// the data node keeps per command; the sum is INFO commandstats' usec.
func collectLatency(e emitter, in info, hist map[string][]uint64) {
	desc := prometheus.NewDesc("skiff_command_duration_seconds",
		"Command execution time (as INFO commandstats measures it), by command; buckets are powers of two microseconds.",
		[]string{"cmd"}, nil)
	names := make([]string, 0, len(hist))
	for n := range hist {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		h := hist[name]
		buckets := make(map[float64]uint64, len(latencyBounds))
		var cum uint64
		for i, le := range latencyBounds {
			cum += h[i]
			buckets[le] = cum
		}
		count := cum + h[len(h)-1]
		sum := atof(fields(in["cmdstat_"+name])["usec"]) / 1e6
		m, err := prometheus.NewConstHistogram(desc, count, sum, buckets, name)
		if err == nil {
			e.ch <- m
		}
	}
}

// collectSkiff writes the skiff_* metrics: the Raft member, the metadata
// (slots, failovers, migrations) and the event counters.
func collectSkiff(e emitter, p *Ops) {
	g := p.o.Group()
	if g != nil {
		st := g.Status()
		for _, s := range []string{"Follower", "Candidate", "Leader", "Shutdown"} {
			e.gauge("skiff_raft_state", b2f(st.State == s), "state", strings.ToLower(s))
		}
		e.gauge("skiff_raft_term", float64(st.Term))
		e.gauge("skiff_raft_commit_index", float64(st.CommitIndex))
		e.gauge("skiff_raft_applied_index", float64(st.AppliedIndex))
		e.gauge("skiff_raft_last_log_index", float64(st.LastLogIndex))
		if st.LastContactMs >= 0 {
			e.gauge("skiff_raft_last_contact_seconds", float64(st.LastContactMs)/1000)
		}
		e.gauge("skiff_raft_members", float64(len(st.Members)))
		e.gauge("skiff_raft_voters", float64(st.Voters))
		e.gauge("skiff_raft_has_leader", b2f(st.LeaderID != ""))
		healthy := 0
		for _, m := range st.Members {
			if m.Health == "ok" {
				healthy++
			}
		}
		if st.State == "Leader" {
			e.gauge("skiff_raft_healthy_members", float64(healthy))
		}
		var d *fsm.SnapshotData = g.FSM().Export()
		e.gauge("skiff_cluster_current_epoch", float64(d.CurrentEpoch))
		if p.o.Mode == "cluster" {
			owned := map[string]int{}
			for _, r := range d.Slots {
				owned[r.NodeID] += r.End - r.Start + 1
			}
			for _, n := range d.Nodes {
				e.gauge("skiff_cluster_node_slots", float64(owned[n.ID]), "node_id", n.ID, "addr", n.Addr, "role", n.Role)
				e.gauge("skiff_cluster_node_failed", b2f(n.Failed), "node_id", n.ID, "addr", n.Addr)
			}
			e.gauge("skiff_cluster_slots_assigned", float64(sumSlots(d)))
			e.gauge("skiff_cluster_slots_migrating", float64(len(d.Migrating)))
			e.gauge("skiff_cluster_slots_importing", float64(len(d.Importing)))
		}
		e.gauge("skiff_failovers_in_progress", float64(len(d.Failovers)))
	}
	c := p.ev.counts()
	e.metric("skiff_raft_leader_changes_total", "Leader changes this process observed.", prometheus.CounterValue, float64(c.leaderChanges))
	e.metric("skiff_failovers_started_total", "Failovers this process saw start in the metadata.", prometheus.CounterValue, float64(c.started))
	e.metric("skiff_failovers_finished_total", "Failovers this process saw finish with a promotion.", prometheus.CounterValue, float64(c.finished))
	e.metric("skiff_failovers_aborted_total", "Failovers this process saw end without a promotion.", prometheus.CounterValue, float64(c.aborted))
	e.metric("skiff_slots_migrated_total", "Slots this process saw change owner between two masters.", prometheus.CounterValue, float64(c.slotsMoved))
}

func sumSlots(d *fsm.SnapshotData) int {
	n := 0
	for _, r := range d.Slots {
		n += r.End - r.Start + 1
	}
	return n
}

var _ = strconv.Itoa
