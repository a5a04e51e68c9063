package latencymon

import (
	"strings"
	"testing"
)

func TestAddMergesOneSecondAndKeepsMax(t *testing.T) {
	m := New()
	m.Add("command", 100, 30)
	m.Add("command", 100, 50) // same second: the worst stays
	m.Add("command", 100, 20)
	m.Add("command", 101, 10)
	h, ok := m.History("command")
	if !ok || len(h) != 2 || h[0] != (Sample{100, 50}) || h[1] != (Sample{101, 10}) {
		t.Fatalf("history %v %v", h, ok)
	}
	l := m.Latest()
	if len(l) != 1 || l[0] != (Latest{"command", 101, 10, 50}) {
		t.Fatalf("latest %+v", l)
	}
}

func TestHistoryKeepsLast160(t *testing.T) {
	m := New()
	for i := int64(1); i <= HistoryLen+40; i++ {
		m.Add("e", i, i)
	}
	h, _ := m.History("e")
	if len(h) != HistoryLen || h[0].Time != 41 || h[len(h)-1].Time != HistoryLen+40 {
		t.Fatalf("len %d first %v last %v", len(h), h[0], h[len(h)-1])
	}
	if m.Latest()[0].Max != HistoryLen+40 {
		t.Fatal("max")
	}
}

func TestReset(t *testing.T) {
	m := New()
	m.Add("command", 1, 1)
	m.Add("expire-cycle", 1, 1)
	if n := m.Reset("nope", false); n != 0 {
		t.Fatal(n)
	}
	if n := m.Reset("EXPIRE-cycle", false); n != 1 || m.Len() != 1 {
		t.Fatal(n, m.Len())
	}
	m.Add("fast-command", 1, 1)
	if n := m.Reset("", true); n != 2 || m.Len() != 0 || len(m.Latest()) != 0 {
		t.Fatal(n)
	}
}

func TestAnalyze(t *testing.T) {
	m := New()
	m.Add("e", 10, 100)
	m.Add("e", 11, 300)
	st := m.Analyze("e", 20)
	if st != (Stats{Samples: 2, Avg: 200, MAD: 100, Min: 100, Max: 300, Period: 10, AllTimeHigh: 300}) {
		t.Fatalf("%+v", st)
	}
	if (m.Analyze("x", 20) != Stats{}) {
		t.Fatal("unknown event")
	}
}

// The graph of three samples, rendered by hand from the rules: 12 steps
// between the low (100) and the high (400).
func TestGraph(t *testing.T) {
	m := New()
	m.Add("command", 1000, 100)
	m.Add("command", 1010, 400)
	m.Add("command", 1059, 250)
	g, ok := m.Graph("command", 1070) // ages 70 s, 60 s, 11 s
	if !ok {
		t.Fatal("no graph")
	}
	want := "command - high 400 ms, low 100 ms (all time high 400 ms)\n" +
		strings.Repeat("-", 80) + "\n" +
		" # \n" +
		" |_\n" +
		" ||\n" +
		"_||\n" +
		"   \n" +
		"111\n" +
		"mm1\n" +
		"  s\n"
	if g != want {
		t.Fatalf("got\n%s\nwant\n%s", g, want)
	}
	if _, ok := m.Graph("other", 1); ok {
		t.Fatal("graph of an unknown event")
	}
}

func TestDoctor(t *testing.T) {
	m := New()
	if r := m.Doctor(DoctorEnv{}); !strings.Contains(r, "Latency monitoring is disabled") {
		t.Fatal(r)
	}
	if r := m.Doctor(DoctorEnv{Threshold: 10}); !strings.Contains(r, "no latency spike was observed") {
		t.Fatal(r)
	}
	m.Add("command", 10, 300)
	m.Add("expire-cycle", 10, 30)
	r := m.Doctor(DoctorEnv{Now: 12, Threshold: 100, SlowlogThreshold: -1, Hz: 10})
	for _, s := range []string{
		"1. command: 1 latency spikes (average 300ms, mean deviation 0ms, period 2.00 sec). Worst all time event 300ms.",
		"2. expire-cycle: 1 latency spikes",
		"slowlog-log-slower-than 100000", "SLOWLOG GET", "CONFIG SET hz 100", "large objects",
	} {
		if !strings.Contains(r, s) {
			t.Errorf("report lacks %q:\n%s", s, r)
		}
	}
	if strings.Count(r, "Deleting, expiring") != 1 {
		t.Errorf("advice repeated:\n%s", r)
	}
}
