package faults

// TestFaults: the batch. Configuration by environment (docs/faults.md):
//
//   FAULTS_RUNS        runs per mode and topology (default 1)
//   FAULTS_MODES       strong,async,redis (default: strong if the skiff
//                      binary knows --consistency, else async)
//   FAULTS_TOPOLOGIES  sentinel,cluster (default sentinel)
//   FAULTS_SEED        seed of the first run (run i uses seed+i); default
//                      from the clock, printed
//   FAULTS_DURATION    workload time of a run (default 25s)
//   FAULTS_CLIENTS     concurrent clients (default 8)
//   FAULTS_FAULTS      fault kinds to draw from (default all)
//   FAULTS_OUT         results dir (default out/ in this package)
//   FAULTS_KEEP_LOGS   1: keep every run's process logs (default: only of
//                      runs that failed or, in strong mode, lost a write or
//                      broke linearizability)
//   SKIFF_BIN          the skiff binary (default: built from ./cmd/skiff)

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	skiffBin         string
	redisServerBin   string
	redisSentinelBin string
	redisCliBin      string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// quietLogger drops go-redis's own log lines (each client logs every
// sentinel lookup; the run's log says what matters).
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...interface{}) {}

func runMain(m *testing.M) int {
	redis.SetLogger(quietLogger{})
	redisServerBin, _ = exec.LookPath("redis-server")
	redisSentinelBin, _ = exec.LookPath("redis-sentinel")
	redisCliBin, _ = exec.LookPath("redis-cli")
	if p := os.Getenv("SKIFF_BIN"); p != "" {
		var err error
		if skiffBin, err = filepath.Abs(p); err == nil {
			_, err = os.Stat(skiffBin)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "faults: SKIFF_BIN %q: %v\n", p, err)
			return 1
		}
	} else {
		dir, err := os.MkdirTemp("", "skiff-faults-bin-")
		if err != nil {
			fmt.Fprintf(os.Stderr, "faults: temp dir: %v\n", err)
			return 1
		}
		defer os.RemoveAll(dir)
		skiffBin = filepath.Join(dir, "skiff")
		build := exec.Command("go", "build", "-o", skiffBin, "./cmd/skiff")
		build.Dir = "../.." // the module root, from the package directory
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "faults: building skiff: %v\n", err)
			return 1
		}
	}
	return m.Run()
}

// mode is a system under test.
type mode struct {
	name         string // strong, async, redis
	dataKind     string // skiff or redis
	sentinelKind string // skiff or redis
	serverConf   []string
	sentinelConf []string
}

var modes = map[string]mode{
	"strong": {name: "strong", dataKind: "skiff", sentinelKind: "skiff", serverConf: []string{"consistency strong"}},
	"async":  {name: "async", dataKind: "skiff", sentinelKind: "skiff"},
	"redis":  {name: "redis", dataKind: "redis", sentinelKind: "redis"},
}

// skiffKnowsConsistency reports whether the skiff binary accepts
// --consistency strong: it starts one server with it on a free port and
// asks CONFIG GET consistency.
var skiffKnowsConsistency = sync.OnceValue(func() bool {
	port, err := reserveDataPort()
	if err != nil {
		return false
	}
	dir, err := os.MkdirTemp("", "skiff-faults-probe-")
	if err != nil {
		return false
	}
	defer os.RemoveAll(dir)
	p := &proc{name: "probe", kind: "skiff", role: "server", bin: skiffBin, dir: dir, port: port,
		logPath: filepath.Join(dir, "log"),
		args: []string{"server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--save", "", "--appendonly", "no", "--consistency", "strong"}}
	defer p.stopForGood()
	if p.start(10*time.Second) != nil {
		return false
	}
	r, err := do(p.addr(), 2*time.Second, "CONFIG", "GET", "consistency")
	arr, _ := r.([]any)
	return err == nil && len(arr) == 2 && fmt.Sprint(arr[1]) == "strong"
})

type config struct {
	runs     int
	modes    []string
	topos    []string
	seed     int64
	duration time.Duration
	clients  int
	kinds    []string
	out      string
	keepLogs bool
	explicit bool // FAULTS_MODES given
}

func envList(name string, def []string) []string {
	v := strings.TrimSpace(os.Getenv(name))
	if v == "" {
		return def
	}
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func loadConfig(t *testing.T) config {
	c := config{runs: 1, topos: []string{"sentinel"}, duration: 25 * time.Second, clients: 8,
		kinds: allFaultKinds, out: "out"}
	if v := os.Getenv("FAULTS_RUNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("FAULTS_RUNS=%q: want a positive number", v)
		}
		c.runs = n
	}
	if v := os.Getenv("FAULTS_MODES"); v != "" {
		c.modes, c.explicit = envList("FAULTS_MODES", nil), true
	} else if skiffKnowsConsistency() {
		c.modes = []string{"strong"}
	} else {
		c.modes = []string{"async"}
		t.Logf("the skiff binary does not accept --consistency strong yet: the default batch runs async and only reports")
	}
	for _, m := range c.modes {
		if _, ok := modes[m]; !ok {
			t.Fatalf("FAULTS_MODES: unknown mode %q (strong, async, redis)", m)
		}
	}
	c.topos = envList("FAULTS_TOPOLOGIES", c.topos)
	for _, tp := range c.topos {
		if tp != "sentinel" && tp != "cluster" {
			t.Fatalf("FAULTS_TOPOLOGIES: unknown topology %q (sentinel, cluster)", tp)
		}
	}
	c.seed = time.Now().UnixNano() % 1_000_000_000
	if v := os.Getenv("FAULTS_SEED"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("FAULTS_SEED=%q: %v", v, err)
		}
		c.seed = n
	}
	if v := os.Getenv("FAULTS_DURATION"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 10*time.Second {
			t.Fatalf("FAULTS_DURATION=%q: want a duration of at least 10s", v)
		}
		c.duration = d
	}
	if v := os.Getenv("FAULTS_CLIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			t.Fatalf("FAULTS_CLIENTS=%q: want 1-64", v)
		}
		c.clients = n
	}
	c.kinds = envList("FAULTS_FAULTS", c.kinds)
	for _, k := range c.kinds {
		ok := false
		for _, a := range allFaultKinds {
			ok = ok || a == k
		}
		if !ok {
			t.Fatalf("FAULTS_FAULTS: unknown fault %q (%s)", k, strings.Join(allFaultKinds, ", "))
		}
	}
	if v := os.Getenv("FAULTS_OUT"); v != "" {
		c.out = v
	}
	c.keepLogs = os.Getenv("FAULTS_KEEP_LOGS") == "1"
	return c
}

// runResult is one run, as written to result.json.
type runResult struct {
	Mode     string       `json:"mode"`
	Topology string       `json:"topology"`
	Seed     int64        `json:"seed"`
	Dir      string       `json:"dir"`
	Faults   []faultEvent `json:"faults"`
	Check    runCheck     `json:"check"`
	Settled  bool         `json:"settled"`
	Warnings []string     `json:"warnings,omitempty"`
	Error    string       `json:"error,omitempty"`
	Seconds  float64      `json:"seconds"`
}

func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	cfg := loadConfig(t)
	out, err := filepath.Abs(cfg.out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("faults: seed %d (FAULTS_SEED=%d replays the schedule), %d run(s) of %v per mode and topology, modes %v, topologies %v, %d clients, faults %v, results in %s",
		cfg.seed, cfg.seed, cfg.runs, cfg.duration, cfg.modes, cfg.topos, cfg.clients, cfg.kinds, out)
	var all []runResult
	for _, topo := range cfg.topos {
		for _, mname := range cfg.modes {
			m := modes[mname]
			t.Run(topo+"/"+mname, func(t *testing.T) {
				if m.dataKind == "redis" || m.sentinelKind == "redis" {
					if redisServerBin == "" || (topo == "sentinel" && redisSentinelBin == "") || (topo == "cluster" && redisCliBin == "") {
						t.Skip("redis-server / redis-sentinel / redis-cli not installed (make deps)")
					}
				}
				if mname == "strong" && !skiffKnowsConsistency() {
					t.Skip("the skiff binary does not accept --consistency strong")
				}
				if topo == "cluster" && !clusterSupported {
					t.Skip("cluster topology not implemented in this suite yet")
				}
				for i := 0; i < cfg.runs; i++ {
					seed := cfg.seed + int64(i)
					r := runOnce(t, cfg, m, topo, seed, out)
					all = append(all, r)
					t.Logf("%s %s seed %d: %d ops (%d ok, %d unknown), %d faults, %d lost (≤%d), %d anomalies, %d violations, %d undecided, settled %v, %.0fs%s",
						topo, mname, seed, r.Check.Ops, r.Check.OpsOK, r.Check.Info, len(r.Faults), r.Check.Lost,
						r.Check.PossiblyLost, r.Check.Anomalies, r.Check.Violations, r.Check.CheckUnknown, r.Settled, r.Seconds,
						errSuffix(r.Error))
					for _, n := range r.Check.Notes {
						t.Logf("  %s", n)
					}
					if r.Error != "" {
						t.Errorf("run %s %s seed %d broke: %s (results in %s)", topo, mname, seed, r.Error, r.Dir)
						if strings.HasPrefix(r.Error, "setup:") && i+1 < cfg.runs {
							// Twice in a row the system could not even be
							// set up: more runs would only repeat that.
							t.Errorf("%s %s: the remaining %d runs are skipped", topo, mname, cfg.runs-i-1)
							break
						}
						continue
					}
					if r.Check.OpsOK == 0 {
						t.Errorf("run %s %s seed %d: no operation succeeded: the harness is broken (%s)", topo, mname, seed, r.Dir)
					}
					if mname == "strong" {
						if r.Check.Lost > 0 || r.Check.Violations > 0 || r.Check.Anomalies > 0 {
							t.Errorf("strong mode, seed %d: %d acknowledged writes lost, %d linearizability violations, %d anomalies (results in %s)",
								seed, r.Check.Lost, r.Check.Violations, r.Check.Anomalies, r.Dir)
						}
						if !r.Settled {
							t.Errorf("strong mode, seed %d: the system did not settle after the faults were healed (%s)", seed, r.Dir)
						}
					}
				}
			})
		}
	}
	table := summaryTable(all)
	stamp := time.Now().Format("20060102-150405")
	os.WriteFile(filepath.Join(out, "summary.md"), []byte(table), 0o644)
	os.WriteFile(filepath.Join(out, "summary-"+stamp+".md"), []byte(table), 0o644)
	fmt.Printf("\n%s\n", table)
	t.Logf("\n%s", table)
}

func errSuffix(e string) string {
	if e == "" {
		return ""
	}
	return ", ERROR " + e
}

// runOnce sets up a topology, runs the workload and the faults, heals,
// settles, reads the final state, checks, writes the results and tears
// everything down.
func runOnce(t *testing.T, cfg config, m mode, topo string, seed int64, out string) (res runResult) {
	start := time.Now()
	res = runResult{Mode: m.name, Topology: topo, Seed: seed}
	res.Dir = filepath.Join(out, fmt.Sprintf("%s-%s-%s-seed%d", time.Now().Format("20060102-150405"), topo, m.name, seed))
	if err := os.MkdirAll(res.Dir, 0o755); err != nil {
		res.Error = err.Error()
		return res
	}
	root, err := os.MkdirTemp("", "skiff-faults-")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	logFile, _ := os.Create(filepath.Join(res.Dir, "run.log"))
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(logFile, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	defer func() {
		res.Seconds = time.Since(start).Seconds()
		keep := cfg.keepLogs || res.Error != "" || (m.name == "strong" && (res.Check.Lost > 0 || res.Check.Violations > 0 || res.Check.Anomalies > 0 || !res.Settled))
		if keep {
			copyLogs(root, res.Dir)
		}
		os.RemoveAll(root)
		b, _ := json.MarshalIndent(res, "", "  ")
		os.WriteFile(filepath.Join(res.Dir, "result.json"), b, 0o644)
		logFile.Close()
	}()

	var tp topology
	for attempt := 1; ; attempt++ {
		// Each attempt in a fresh dir: a failed attempt leaves state
		// (Raft membership, nodes.conf) that a new one must not inherit.
		var err error
		aroot := filepath.Join(root, fmt.Sprintf("attempt%d", attempt))
		switch topo {
		case "sentinel":
			tp, err = newSentinelTopo(m, aroot, logf)
		case "cluster":
			tp, err = newClusterTopo(m, aroot, logf)
		}
		if err == nil {
			break
		}
		logf("setup attempt %d: %v", attempt, err)
		if attempt == 2 {
			res.Error = "setup: " + err.Error()
			copyLogs(root, res.Dir)
			return res
		}
	}
	defer tp.close()
	// If the test fails or panics, the deferred close still stops every
	// process; Pdeathsig takes them along if the test binary dies.

	rec := &recorder{t0: time.Now()}
	logf("run %s %s seed %d: setup took %v", topo, m.name, seed, time.Since(start).Round(time.Millisecond))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	clients := make([]redis.UniversalClient, cfg.clients)
	for i := range clients {
		clients[i] = tp.newClient()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			worker(i, clients[i], rand.New(rand.NewSource(seed*1000+int64(i))), rec, stop)
		}(i)
	}
	nem := &nemesis{topo: tp, rng: rand.New(rand.NewSource(seed)), kinds: cfg.kinds, rec: rec, logf: logf}
	nemErr := make(chan error, 1)
	nemStop := make(chan struct{})
	go func() { nemErr <- nem.run(cfg.duration, nemStop) }()
	// The workload runs for the duration. A fault starts only if it and
	// its healing gap fit in it; at the end the nemesis is stopped (it may
	// be waiting for the system to become healthy again).
	var runErr error
	select {
	case runErr = <-nemErr:
		if runErr == nil {
			time.Sleep(max(0, cfg.duration-time.Duration(rec.now())))
		}
	case <-time.After(max(0, cfg.duration-time.Duration(rec.now()))):
		close(nemStop)
		runErr = <-nemErr
	}
	close(stop)
	wg.Wait()
	for _, c := range clients {
		c.Close()
	}
	res.Faults = nem.events
	res.Warnings = nem.warnings
	if runErr != nil {
		res.Error = "faults: " + runErr.Error()
	}
	// Heal everything (the schedule already did; this is the safety net),
	// then wait for the system to settle.
	tp.netlab().Heal()
	for _, p := range tp.procs() {
		if !p.alive() {
			if err := tp.restart(p.name); err != nil && res.Error == "" {
				res.Error = "restart " + p.name + ": " + err.Error()
			}
		} else if !p.answering() {
			p.resume()
		}
	}
	settleDeadline := time.Now().Add(60 * time.Second)
	for {
		ok, info := tp.healthy()
		if ok {
			res.Settled = true
			break
		}
		if time.Now().After(settleDeadline) {
			res.Warnings = append(res.Warnings, "not settled 60 s after the workload: "+info)
			logf("not settled: %s", info)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	final := map[string][]string{}
	fc, err := tp.finalClient()
	if err == nil {
		final, err = finalReads(fc, rec, cfg.clients, time.Now().Add(30*time.Second))
		fc.Close()
	}
	if err != nil {
		res.Warnings = append(res.Warnings, "final reads: "+err.Error())
		if res.Error == "" && res.Settled {
			res.Error = "final reads: " + err.Error()
		}
	}
	h := rec.ops()
	writeHistory(filepath.Join(res.Dir, "history.jsonl"), h, nem.events)
	fb, _ := json.MarshalIndent(final, "", " ")
	os.WriteFile(filepath.Join(res.Dir, "final.json"), fb, 0o644)
	res.Check = check(h, final, res.Dir, 2*time.Minute)
	if !res.Settled {
		res.Check.Notes = append(res.Check.Notes, "the system did not settle: the final reads may be incomplete")
	}
	return res
}

func writeHistory(path string, h []op, faults []faultEvent) {
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, e := range faults {
		enc.Encode(e)
	}
	for _, o := range h {
		enc.Encode(o)
	}
}

// copyLogs copies the processes' logs (root/attempt<N>/*.log) into
// dir/logs (as attempt<N>-<name>.log).
func copyLogs(root, dir string) {
	logs, _ := filepath.Glob(filepath.Join(root, "*", "*.log"))
	if len(logs) == 0 {
		return
	}
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	for _, l := range logs {
		src, err := os.Open(l)
		if err != nil {
			continue
		}
		name := filepath.Base(filepath.Dir(l)) + "-" + filepath.Base(l)
		dst, err := os.Create(filepath.Join(dir, "logs", name))
		if err == nil {
			io.Copy(dst, src)
			dst.Close()
		}
		src.Close()
	}
}

// summaryTable: one row per mode and topology.
func summaryTable(all []runResult) string {
	type row struct {
		runs, ops, info, faults, acked, lost, possibly, anomalies, viol, undecided, unsettled, errs int
	}
	var order []string
	rows := map[string]*row{}
	for _, r := range all {
		k := r.Mode + " | " + r.Topology
		if rows[k] == nil {
			rows[k] = &row{}
			order = append(order, k)
		}
		w := rows[k]
		w.runs++
		w.ops += r.Check.Ops
		w.info += r.Check.Info
		w.faults += len(r.Faults)
		w.acked += r.Check.AckedWrites
		w.lost += r.Check.Lost
		w.possibly += r.Check.PossiblyLost
		w.anomalies += r.Check.Anomalies
		w.viol += r.Check.Violations
		w.undecided += r.Check.CheckUnknown
		if !r.Settled {
			w.unsettled++
		}
		if r.Error != "" {
			w.errs++
		}
	}
	var b strings.Builder
	b.WriteString("| mode | topology | runs | operations | unknown outcome | faults injected | acknowledged writes | acknowledged writes lost (≤ possibly) | other anomalies | linearizability violations | undecided | not settled | broken runs |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range order {
		w := rows[k]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d (≤ %d) | %d | %d | %d | %d | %d |\n",
			k, w.runs, w.ops, w.info, w.faults, w.acked, w.lost, w.possibly, w.anomalies, w.viol, w.undecided, w.unsettled, w.errs)
	}
	return b.String()
}
