package integration

// The admin port's /metrics (docs/operations.md): after a known workload
// on a real skiff process, the page parses with Prometheus's own text
// parser and its redis_* values are INFO's, under redis_exporter's names;
// the latency histogram counts every call commandstats counts; the
// skiff_* Raft and slot figures are the admin API's; admin-metrics-auth
// puts the page behind the admin token.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"
)

// scrape fetches and parses /metrics; token "" sends none.
func scrape(t *testing.T, adminAddr, token string) (map[string]*dto.MetricFamily, int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+adminAddr+"/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v\n%s", err, body)
	}
	return fams, resp.StatusCode
}

// value returns the value of the series of name whose labels include
// want (pairs); ok false when there is none.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func opsInfoMap(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	txt, err := c.Info(context.Background(), "everything").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(txt, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && !strings.HasPrefix(l, "#") {
			out[k] = v
		}
	}
	return out
}

func subfield(v, k string) float64 {
	for _, p := range strings.Split(v, ",") {
		if kk, vv, ok := strings.Cut(p, "="); ok && kk == k {
			f, _ := strconv.ParseFloat(vv, 64)
			return f
		}
	}
	return -1
}

func TestOpsMetricsMatchInfo(t *testing.T) {
	n := newRaftNode(t, "m1", "--raft-nosync", "yes", "--bootstrap", "yes")
	n.start()
	if err := n.waitUp(20 * time.Second); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: n.respAddr(), MaxRetries: -1})
	defer c.Close()
	if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatal(err)
	}
	// The workload: 100 SETs (20 with a TTL), 60 GET hits, 40 misses.
	for i := 0; i < 100; i++ {
		key := fmt.Sprintf("k{a}%d", i)
		var err error
		if i < 20 {
			err = c.Set(ctx, key, "v", time.Hour).Err()
		} else {
			err = c.Set(ctx, key, "v", 0).Err()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100; i++ {
		k := fmt.Sprintf("k{a}%d", i)
		if i >= 60 {
			k = fmt.Sprintf("missing{a}%d", i)
		}
		_ = c.Get(ctx, k).Err()
	}
	in := opsInfoMap(t, c)
	fams, code := scrape(t, n.adminAddr(), "")
	if code != 200 {
		t.Fatalf("GET /metrics: status %d", code)
	}
	num := func(k string) float64 {
		f, err := strconv.ParseFloat(in[k], 64)
		if err != nil {
			t.Fatalf("INFO %s = %q", k, in[k])
		}
		return f
	}
	check := func(name string, want float64, labels ...string) {
		t.Helper()
		got, ok := value(fams, name, labels...)
		if !ok {
			t.Errorf("%s%v missing from /metrics", name, labels)
			return
		}
		if got != want {
			t.Errorf("%s%v = %v, INFO says %v", name, labels, got, want)
		}
	}
	check("redis_up", 1)
	check("redis_keyspace_hits_total", num("keyspace_hits"))
	check("redis_keyspace_misses_total", num("keyspace_misses"))
	if num("keyspace_hits") != 60 || num("keyspace_misses") != 40 {
		t.Errorf("INFO: hits %v misses %v, want 60 and 40", in["keyspace_hits"], in["keyspace_misses"])
	}
	// The INFO command counts itself once it has run: the scrape, which
	// runs no command, sees one more.
	check("redis_commands_processed_total", num("total_commands_processed")+1)
	check("redis_connected_clients", num("connected_clients"))
	check("redis_connected_slaves", num("connected_slaves"))
	check("redis_master_repl_offset", num("master_repl_offset"))
	check("redis_memory_used_bytes", num("used_memory"))
	check("redis_rdb_last_bgsave_duration_sec", num("rdb_last_bgsave_time_sec"))
	check("redis_db_keys", subfield(in["db0"], "keys"), "db", "db0")
	check("redis_db_keys_expiring", subfield(in["db0"], "expires"), "db", "db0")
	check("redis_db_keys", 100, "db", "db0")
	check("redis_db_keys_expiring", 20, "db", "db0")
	check("redis_commands_total", subfield(in["cmdstat_set"], "calls"), "cmd", "set")
	check("redis_commands_total", 100, "cmd", "get")
	check("redis_commands_duration_seconds_total", subfield(in["cmdstat_get"], "usec")/1e6, "cmd", "get")
	check("skiff_command_duration_seconds", 100, "cmd", "set")
	check("skiff_command_duration_seconds", 100, "cmd", "get")
	check("redis_instance_info", 1, "role", "master", "redis_mode", "cluster", "tcp_port", strconv.Itoa(n.port))
	if f := fams["skiff_command_duration_seconds"]; f == nil || f.GetType() != dto.MetricType_HISTOGRAM {
		t.Errorf("skiff_command_duration_seconds is not a histogram: %v", f)
	}
	if f := fams["redis_commands_processed_total"]; f == nil || f.GetType() != dto.MetricType_COUNTER {
		t.Errorf("redis_commands_processed_total is not a counter")
	}
	// skiff_*: the admin API's figures.
	st, err := n.client().Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check("skiff_raft_state", 1, "state", "leader")
	check("skiff_raft_term", float64(st.Term))
	check("skiff_raft_members", 1)
	check("skiff_cluster_node_slots", 16384, "node_id", st.ID)
	check("skiff_cluster_slots_assigned", 16384)
	check("skiff_failovers_started_total", 0)
	if _, ok := value(fams, "skiff_raft_commit_seconds"); !ok {
		t.Errorf("skiff_raft_commit_seconds (raft's go-metrics commitTime) missing")
	}

	// admin-metrics-auth yes: the page needs the token.
	if err := c.ConfigSet(ctx, "admin-metrics-auth", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	if _, code := scrape(t, n.adminAddr(), ""); code != http.StatusUnauthorized {
		t.Errorf("without token: status %d, want 401", code)
	}
	if _, code := scrape(t, n.adminAddr(), "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", code)
	}
	if _, code := scrape(t, n.adminAddr(), raftToken); code != http.StatusOK {
		t.Errorf("with the token: status %d, want 200", code)
	}
}
