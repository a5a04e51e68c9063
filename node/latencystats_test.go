package node

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParsePercentiles(t *testing.T) {
	for in, want := range map[string]string{"50 99 99.9": "50 99 99.9", "0.0 50.0 100.0": "0 50 100", "": "", " 12.5000 ": "12.5"} {
		if got, err := parsePercentiles(in); err != nil || got != want {
			t.Errorf("parsePercentiles(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, want := range map[string]string{"10 a": "Invalid latency-tracking-info-percentiles parameters",
		"101": "should sit between [0.0,100.0]", "-0.5": "should sit between", "nan": "Invalid"} {
		if _, err := parsePercentiles(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parsePercentiles(%q) error = %v; want %q", in, err, want)
		}
	}
}

func TestInfoLatencyStats(t *testing.T) {
	s := adminTestServer(t)
	c := adminDial(t, s)
	line := func(cmd string) string {
		info := c.do("INFO", "latencystats")
		m := regexp.MustCompile(`latency_percentiles_usec_` + regexp.QuoteMeta(cmd) + `:([^\r]*)\r\n`).FindStringSubmatch(info)
		if m == nil {
			return ""
		}
		return m[1]
	}
	c.do("SET", "a", "b")
	if got := line("set"); !regexp.MustCompile(`^p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}$`).MatchString(got) {
		t.Fatalf("set line = %q", got)
	}
	c.expect("+OK", "CONFIG", "SET", "latency-tracking-info-percentiles", "0.0 50.0 100.0")
	if got := c.do("CONFIG", "GET", "latency-tracking-info-percentiles"); !strings.Contains(got, "0 50 100") {
		t.Errorf("CONFIG GET = %q", got)
	}
	if got := line("config|set"); !strings.HasPrefix(got, "p0=") || !strings.Contains(got, ",p100=") {
		t.Errorf("config|set line = %q", got)
	}
	// A 50 ms call is at least 50000 us in every percentile.
	c.expect("+OK", "CONFIG", "SET", "latency-tracking-info-percentiles", "50")
	c.expect("+OK", "DEBUG", "SLEEP", "0.05")
	m := regexp.MustCompile(`^p50=(\d+\.\d+)$`).FindStringSubmatch(line("debug"))
	if m == nil {
		t.Fatalf("debug line = %q", line("debug"))
	}
	if us, _ := strconv.ParseFloat(m[1], 64); us < float64(50*time.Millisecond/time.Microsecond)*0.99 {
		t.Errorf("debug sleep 0.05 p50 = %v us", us)
	}
	c.expect("+OK", "CONFIG", "SET", "latency-tracking", "no")
	if got := c.do("INFO", "latencystats"); strings.Contains(got, "latency_percentiles") {
		t.Errorf("tracking off still reports: %q", got)
	}
	c.expect("+OK", "CONFIG", "SET", "latency-tracking", "yes")
	c.expect("+OK", "CONFIG", "RESETSTAT")
	if got := line("set"); got != "" {
		t.Errorf("after RESETSTAT set line = %q", got)
	}
}

// TestUnblockErrorCountsFailedCall: a blocked command ended by CLIENT
// UNBLOCK ... ERROR is one failed call of that command, as in Redis.
func TestUnblockErrorCountsFailedCall(t *testing.T) {
	s := adminTestServer(t)
	a, b := adminDial(t, s), adminDial(t, s)
	id := strings.TrimPrefix(a.do("CLIENT", "ID"), ":")
	b.expect("+OK", "CONFIG", "RESETSTAT")
	a.send("BLPOP", "list1", "0")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.do("INFO", "clients"), "blocked_clients:1\r\n") {
		if time.Now().After(deadline) {
			t.Fatal("the client did not block within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.expect(":1", "CLIENT", "UNBLOCK", id, "ERROR")
	if r, err := a.read(); err != nil || !strings.HasPrefix(r, "-UNBLOCKED") {
		t.Fatalf("blocked client got %q, %v", r, err)
	}
	if got := b.do("INFO", "commandstats"); !regexp.MustCompile(`cmdstat_blpop:calls=1,.*,rejected_calls=0,failed_calls=1\r\n`).MatchString(got) {
		t.Errorf("commandstats: %q", got)
	}
}
