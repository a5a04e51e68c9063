package ops

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// collect runs collectInfo and collectLatency on an INFO text and
// returns the metrics by name and first label value.
func collect(t *testing.T, text string, hist map[string][]uint64) map[string]*dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 1000)
	in := parseInfo(text)
	collectInfo(emitter{ch}, in)
	collectLatency(emitter{ch}, in, hist)
	close(ch)
	out := map[string]*dto.Metric{}
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		name := m.Desc().String()
		name = name[strings.Index(name, `fqName: "`)+9:]
		name = name[:strings.IndexByte(name, '"')]
		key := name
		if len(d.Label) > 0 && name != "redis_instance_info" {
			key += "/" + d.Label[0].GetValue()
		}
		out[key] = &d
	}
	return out
}

func TestCollectInfo(t *testing.T) {
	info := "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:42\r\ntcp_port:7001\r\nrole:master\r\n" +
		"# Stats\r\ntotal_commands_processed:250\r\nkeyspace_hits:60\r\nkeyspace_misses:40\r\n" +
		"# Persistence\r\nrdb_last_bgsave_status:err\r\nrdb_last_bgsave_time_sec:3\r\n" +
		"# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=10.0.0.2,port=7004,state=online,offset=990,lag=1\r\nmaster_repl_offset:1000\r\nslave_priority:100\r\n" +
		"# Commandstats\r\ncmdstat_get:calls=100,usec=250,usec_per_call=2.50,rejected_calls=1,failed_calls=2\r\n" +
		"cmdstat_config|get:calls=3,usec=30,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
		"# Errorstats\r\nerrorstat_ERR:count=5\r\n" +
		"# Keyspace\r\ndb0:keys=100,expires=20,avg_ttl=5000\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n"
	h := make([]uint64, 22)
	h[1], h[2], h[21] = 50, 49, 1 // <2 µs, <4 µs, +Inf
	m := collect(t, info, map[string][]uint64{"get": h})
	want := map[string]float64{
		"redis_uptime_in_seconds":                     42,
		"redis_commands_processed_total":              250,
		"redis_keyspace_hits_total":                   60,
		"redis_keyspace_misses_total":                 40,
		"redis_rdb_last_bgsave_status":                0,
		"redis_rdb_last_bgsave_duration_sec":          3,
		"redis_connected_slaves":                      1,
		"redis_master_repl_offset":                    1000,
		"redis_connected_slave_lag_seconds/10.0.0.2":  1,
		"redis_connected_slave_offset_bytes/10.0.0.2": 990,
		"redis_commands_total/get":                    100,
		"redis_commands_total/config|get":             3,
		"redis_commands_duration_seconds_total/get":   0.00025,
		"redis_commands_rejected_calls_total/get":     1,
		"redis_commands_failed_calls_total/get":       2,
		"redis_errors_total/ERR":                      5,
		"redis_db_keys/db0":                           100,
		"redis_db_keys_expiring/db0":                  20,
		"redis_db_avg_ttl_seconds/db0":                5,
		"redis_db_keys/db3":                           1,
		"redis_instance_info":                         1,
	}
	for k, v := range want {
		d := m[k]
		if d == nil {
			t.Errorf("%s missing", k)
			continue
		}
		got := d.GetGauge().GetValue() + d.GetCounter().GetValue()
		if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if _, ok := m["redis_connected_slave_lag_seconds/"]; ok {
		t.Errorf("slave_priority read as a replica line")
	}
	hg := m["skiff_command_duration_seconds/get"].GetHistogram()
	if hg.GetSampleCount() != 100 || hg.GetSampleSum() != 0.00025 {
		t.Errorf("histogram count %d sum %v, want 100 and 0.00025", hg.GetSampleCount(), hg.GetSampleSum())
	}
	// Cumulative buckets: le 1µs 0, le 2µs 50, le 4µs 99, ... le 2^20µs 99.
	b := hg.GetBucket()
	if len(b) != 21 || b[0].GetCumulativeCount() != 0 || b[1].GetCumulativeCount() != 50 || b[2].GetCumulativeCount() != 99 || b[20].GetCumulativeCount() != 99 {
		t.Errorf("buckets %v", b)
	}
}
