package sentinel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
)

// apiMeta is a scripted view of the group for the API tests.
type apiMeta struct {
	mu        sync.Mutex
	status    MetaStatus
	failovers map[string]fsm.Failover
	epoch     uint64
	proposed  []fsm.Command
}

func newAPIMeta() *apiMeta {
	return &apiMeta{failovers: map[string]fsm.Failover{}, status: MetaStatus{MyID: "me", LeaderID: "me",
		Members: 3, Voters: 3, Reachable: 3, HasQuorum: true, GroupState: "Leader"}}
}

func (m *apiMeta) Propose(ctx context.Context, c fsm.Command) (fsm.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.proposed = append(m.proposed, c)
	return fsm.Result{}, nil
}
func (m *apiMeta) IsLeader() bool                          { return true }
func (m *apiMeta) VerifyLeader(context.Context) error      { return nil }
func (m *apiMeta) Monitor(name string) (fsm.Monitor, bool) { return fsm.Monitor{}, false }
func (m *apiMeta) Failover(name string) (fsm.Failover, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.failovers[name]
	return f, ok
}
func (m *apiMeta) Applied() <-chan struct{} { return nil }

func (m *apiMeta) CurrentEpoch() uint64 { m.mu.Lock(); defer m.mu.Unlock(); return m.epoch }
func (m *apiMeta) Status() MetaStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.status
}

// apiEnv is an engine that is never started (no network) with its events
// and config saves recorded.
type apiEnv struct {
	t       *testing.T
	e       *Engine
	meta    *apiMeta
	mu      sync.Mutex
	events  []string
	saves   []*Config
	saveErr error
}

const testMyID = "0123456789abcdef0123456789abcdef01234567"

func newAPIEnv(t *testing.T, withMeta bool, masters ...*MasterConfig) *apiEnv {
	t.Helper()
	v := &apiEnv{t: t}
	cfg := &Config{MyID: testMyID, DenyScriptsReconfig: true, Masters: masters}
	opts := Options{Port: 26379,
		Publish: func(ch, msg string) {
			v.mu.Lock()
			v.events = append(v.events, ch+" "+msg)
			v.mu.Unlock()
		},
		SaveConfig: func(c *Config) error {
			v.mu.Lock()
			defer v.mu.Unlock()
			if v.saveErr != nil {
				return v.saveErr
			}
			v.saves = append(v.saves, c)
			return nil
		}}
	if withMeta {
		v.meta = newAPIMeta()
		opts.Meta = v.meta
	}
	v.e = New(opts, cfg)
	t.Cleanup(func() {
		// Stop the script queue (the engine itself never started) and
		// kill what it still runs.
		v.e.once.Do(func() { close(v.e.stop) })
		v.e.mu.Lock()
		for _, j := range v.e.scripts.jobs {
			if j.proc != nil {
				_ = j.proc.Process.Kill()
			}
		}
		v.e.mu.Unlock()
	})
	return v
}

// do runs one SENTINEL command and returns the raw reply.
func (v *apiEnv) do(proto int, args ...string) string {
	w := &resp.Writer{Proto: proto}
	a := make([][]byte, len(args))
	for i, s := range args {
		a[i] = []byte(s)
	}
	v.e.SentinelCommand(w, a)
	return string(w.B)
}

func (v *apiEnv) expect(want string, args ...string) {
	v.t.Helper()
	if got := v.do(2, args...); got != want {
		v.t.Errorf("%q:\n got %q\nwant %q", args, got, want)
	}
}

func (v *apiEnv) takeEvents() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	ev := v.events
	v.events = nil
	return ev
}

func (v *apiEnv) numSaves() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.saves)
}

// parse reads one reply as link.go's reader does (maps come out flat).
func apiParse(t *testing.T, raw string) any {
	t.Helper()
	r := bufio.NewReader(strings.NewReader(raw))
	v, err := readReply(r)
	if err != nil {
		t.Fatalf("bad reply %q: %v", raw, err)
	}
	if r.Buffered() != 0 {
		t.Fatalf("trailing bytes after reply %q", raw)
	}
	return v
}

// pairs turns a flat name/value reply into its names (in order) and a map.
func apiPairs(t *testing.T, v any) ([]string, map[string]string) {
	t.Helper()
	arr, ok := v.([]any)
	if !ok || len(arr)%2 != 0 {
		t.Fatalf("not a flat map: %#v", v)
	}
	var names []string
	m := map[string]string{}
	for i := 0; i < len(arr); i += 2 {
		k, _ := arr[i].(string)
		val, ok := arr[i+1].(string)
		if !ok {
			t.Fatalf("field %s is not a bulk string: %#v", k, arr[i+1])
		}
		names = append(names, k)
		m[k] = val
	}
	return names, m
}

func apiBulk(s string) string { return "$" + strconv.Itoa(len(s)) + "\r\n" + s + "\r\n" }

func apiBulks(ss ...string) string {
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(ss)) + "\r\n")
	for _, s := range ss {
		b.WriteString(apiBulk(s))
	}
	return b.String()
}

func TestAPIArityAndUnknownSubcommands(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	for _, c := range []struct {
		want string
		args []string
	}{
		{"-ERR wrong number of arguments for 'sentinel' command\r\n", []string{"SENTINEL"}},
		{"-ERR unknown subcommand 'foo'. Try SENTINEL HELP.\r\n", []string{"sentinel", "foo"}},
		{"-ERR unknown subcommand 'skiff-x'. Try SENTINEL HELP.\r\n", []string{"sentinel", "skiff-x"}},
		{"-ERR wrong number of arguments for 'sentinel|set' command\r\n", []string{"SENTINEL", "SET", "mymaster", "quorum"}},
		{"-ERR wrong number of arguments for 'sentinel|myid' command\r\n", []string{"SENTINEL", "MyId", "x"}},
		{"-ERR wrong number of arguments for 'sentinel|simulate-failure' command\r\n", []string{"SENTINEL", "simulate-failure"}},
		{"-ERR wrong number of arguments for 'sentinel|info-cache' command\r\n", []string{"SENTINEL", "info-cache"}},
		{"-ERR wrong number of arguments for 'sentinel|masters' command\r\n", []string{"SENTINEL", "masters", "x"}},
		{"-ERR wrong number of arguments for 'sentinel|help' command\r\n", []string{"SENTINEL", "help", "x"}},
		{"-ERR wrong number of arguments for 'sentinel|config' command\r\n", []string{"SENTINEL", "config"}},
		{"-ERR wrong number of arguments for 'sentinel|monitor' command\r\n", []string{"SENTINEL", "monitor", "a", "1.2.3.4", "5"}},
		{"-ERR wrong number of arguments for 'sentinel|is-master-down-by-addr' command\r\n", []string{"SENTINEL", "is-master-down-by-addr", "a", "1", "2"}},
		{"-ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.\r\n", []string{"SENTINEL", "config", "get"}},
		{"-ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.\r\n", []string{"SENTINEL", "config", "foo", "bar"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "master", "nope"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "replicas", "nope"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "slaves", "nope"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "sentinels", "nope"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "ckquorum", "nope"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "failover", "nope"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "remove", "nope"}},
		{"-ERR No such master with that name\r\n", []string{"SENTINEL", "set", "nope", "quorum", "1"}},
		{"*-1\r\n", []string{"SENTINEL", "get-master-addr-by-name", "nope"}},
		{apiBulks("127.0.0.1", "6379"), []string{"SENTINEL", "get-master-addr-by-name", "mymaster"}},
		{apiBulk(testMyID), []string{"SENTINEL", "myid"}},
		{"*0\r\n", []string{"SENTINEL", "pending-scripts"}},
		{"*0\r\n", []string{"SENTINEL", "info-cache", "nope"}},
		{":0\r\n", []string{"SENTINEL", "reset", "nope*"}},
	} {
		v.expect(c.want, c.args...)
	}
	long := strings.Repeat("x", 200)
	v.expect("-ERR unknown subcommand '"+long[:128]+"'. Try SENTINEL HELP.\r\n", "sentinel", long)
	if got := v.do(3, "SENTINEL", "get-master-addr-by-name", "nope"); got != "_\r\n" {
		t.Errorf("RESP3 unknown master: %q", got)
	}
}

func TestAPIExtraCommand(t *testing.T) {
	v := newAPIEnv(t, false)
	var got [][]byte
	v.e.opts.ExtraCommand = func(w *resp.Writer, args [][]byte) bool {
		if string(args[1]) != "skiff-join" {
			return false
		}
		got = args
		w.AppendSimple("JOINED")
		return true
	}
	v.expect("+JOINED\r\n", "SENTINEL", "skiff-join", "x")
	if len(got) != 3 || string(got[2]) != "x" {
		t.Fatalf("ExtraCommand got %q", got)
	}
	v.expect("-ERR unknown subcommand 'skiff-other'. Try SENTINEL HELP.\r\n", "SENTINEL", "skiff-other")
}

func TestAPIHelp(t *testing.T) {
	v := newAPIEnv(t, false)
	raw := v.do(2, "sentinel", "HELP")
	if !strings.HasPrefix(raw, "*49\r\n+SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CKQUORUM <master-name>\r\n") {
		t.Fatalf("help header: %q", raw[:min(len(raw), 200)])
	}
	if !strings.HasSuffix(raw, "+SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]\r\n+    Simulate a Sentinel crash.\r\n+HELP\r\n+    Prints this help.\r\n") {
		t.Fatalf("help tail: %q", raw[len(raw)-200:])
	}
	if n := strings.Count(raw, "\r\n+"); n != 49 {
		t.Fatalf("help has %d lines", n)
	}
}

// populate gives mymaster a state as the engine would have learnt it.
func apiPopulate(v *apiEnv) (m, r, s *instance) {
	e := v.e
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	m = e.masters["mymaster"]
	m.runID = "6d4427c1ef9f15db786c8d49128f0211baae1d24"
	m.lastAvailTime = now.Add(-700 * time.Millisecond)
	m.lastPongTime = now.Add(-700 * time.Millisecond)
	m.infoRefresh = now.Add(-3 * time.Second)
	m.roleReportedTime = now.Add(-20 * time.Second)
	m.configEpoch = 4
	r = e.addReplicaLocked(m, "127.0.0.1", 6380)
	r.runID = "e38b968294c35ae2a049d020a0b5bf14a389c5a7"
	r.masterLinkUp = true
	r.replMasterHost, r.replMasterPort = "127.0.0.1", 6379
	r.replOffset = 596
	r.infoRefresh = now.Add(-2 * time.Second)
	r.info = "# Replication\r\nrole:slave\r\n"
	hidden := e.addReplicaLocked(m, "127.0.0.1", 6381)
	hidden.announced = false
	s = e.addSentinelLocked(m, "127.0.0.1", 26380, "da39f921c1116cd02a2c2e4a3b8716498e792eff")
	s.lastHelloTime = now.Add(-1200 * time.Millisecond)
	m.info = "# Replication\r\nrole:master\r\n"
	return m, r, s
}

func TestAPIMasterReply(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	m, _, _ := apiPopulate(v)
	names, f := apiPairs(t, apiParse(t, v.do(2, "SENTINEL", "MASTER", "mymaster")))
	want := "name ip port runid flags link-pending-commands link-refcount last-ping-sent last-ok-ping-reply " +
		"last-ping-reply down-after-milliseconds info-refresh role-reported role-reported-time config-epoch " +
		"num-slaves num-other-sentinels quorum failover-timeout parallel-syncs"
	if strings.Join(names, " ") != want {
		t.Fatalf("fields:\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	checks := map[string]string{"name": "mymaster", "ip": "127.0.0.1", "port": "6379", "runid": m.runID,
		"flags": "master,disconnected", "link-pending-commands": "0", "link-refcount": "1", "last-ping-sent": "0",
		"down-after-milliseconds": "30000", "role-reported": "master", "config-epoch": "4", "num-slaves": "2",
		"num-other-sentinels": "1", "quorum": "2", "failover-timeout": "180000", "parallel-syncs": "1"}
	for k, want := range checks {
		if f[k] != want {
			t.Errorf("%s = %q, want %q", k, f[k], want)
		}
	}
	for k, lo := range map[string]int{"last-ok-ping-reply": 700, "info-refresh": 3000, "role-reported-time": 20000} {
		n, _ := strconv.Atoi(f[k])
		if n < lo || n > lo+5000 {
			t.Errorf("%s = %s, want about %d", k, f[k], lo)
		}
	}

	// RESP3: a map of the same 20 pairs.
	if raw := v.do(3, "SENTINEL", "MASTER", "mymaster"); !strings.HasPrefix(raw, "%20\r\n$4\r\nname\r\n") {
		t.Fatalf("RESP3 master: %q", raw[:40])
	}
	if raw := v.do(3, "SENTINEL", "MASTERS"); !strings.HasPrefix(raw, "*1\r\n%20\r\n") {
		t.Fatalf("RESP3 masters: %q", raw[:40])
	}

	// Down, failing over, with scripts: the conditional fields appear in
	// their places.
	v.e.mu.Lock()
	now := time.Now()
	m.sdown, m.sdownSince = true, now.Add(-5*time.Second)
	m.odown, m.odownSince = true, now.Add(-4*time.Second)
	m.actPingTime = now.Add(-6 * time.Second)
	m.failover = &failoverRun{state: foReconfSlaves}
	m.forceFailover = true
	m.cfg.NotificationScript = "/bin/notify"
	m.cfg.ClientReconfigScript = "/bin/reconf"
	v.e.mu.Unlock()
	names, f = apiPairs(t, apiParse(t, v.do(2, "SENTINEL", "MASTER", "mymaster")))
	want = "name ip port runid flags link-pending-commands link-refcount failover-state last-ping-sent last-ok-ping-reply " +
		"last-ping-reply s-down-time o-down-time down-after-milliseconds info-refresh role-reported role-reported-time config-epoch " +
		"num-slaves num-other-sentinels quorum failover-timeout parallel-syncs notification-script client-reconfig-script"
	if strings.Join(names, " ") != want {
		t.Fatalf("fields:\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	if f["flags"] != "s_down,o_down,master,disconnected,failover_in_progress,force_failover" {
		t.Errorf("flags = %q", f["flags"])
	}
	if f["failover-state"] != "reconf_slaves" || f["notification-script"] != "/bin/notify" {
		t.Errorf("failover-state %q notification-script %q", f["failover-state"], f["notification-script"])
	}
	if n, _ := strconv.Atoi(f["s-down-time"]); n < 5000 || n > 10000 {
		t.Errorf("s-down-time %s", f["s-down-time"])
	}
	if n, _ := strconv.Atoi(f["last-ping-sent"]); n < 6000 || n > 11000 {
		t.Errorf("last-ping-sent %s", f["last-ping-sent"])
	}
}

func TestAPIFailoverRecordedByGroup(t *testing.T) {
	v := newAPIEnv(t, true, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	v.meta.failovers["mymaster"] = fsm.Failover{Kind: fsm.FailoverSentinel, Target: "mymaster", Epoch: 3}
	_, f := apiPairs(t, apiParse(t, v.do(2, "SENTINEL", "MASTER", "mymaster")))
	if f["flags"] != "master,disconnected,failover_in_progress" || f["failover-state"] != "wait_start" {
		t.Fatalf("flags %q failover-state %q", f["flags"], f["failover-state"])
	}
	v.expect("-INPROG Failover already in progress\r\n", "SENTINEL", "FAILOVER", "mymaster")
	delete(v.meta.failovers, "mymaster")
	v.expect("-NOGOODSLAVE No suitable replica to promote\r\n", "SENTINEL", "FAILOVER", "mymaster")
}

func TestAPIReplicasAndSentinels(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	_, r, s := apiPopulate(v)
	list, ok := apiParse(t, v.do(2, "SENTINEL", "REPLICAS", "mymaster")).([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("replicas: %#v (the unannounced one must be hidden)", list)
	}
	names, f := apiPairs(t, list[0])
	want := "name ip port runid flags link-pending-commands link-refcount last-ping-sent last-ok-ping-reply " +
		"last-ping-reply down-after-milliseconds info-refresh role-reported role-reported-time master-link-down-time " +
		"master-link-status master-host master-port slave-priority slave-repl-offset replica-announced"
	if strings.Join(names, " ") != want {
		t.Fatalf("fields:\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	for k, want := range map[string]string{"name": "127.0.0.1:6380", "port": "6380", "runid": r.runID,
		"flags": "slave,disconnected", "role-reported": "slave", "master-link-status": "ok",
		"master-host": "127.0.0.1", "master-port": "6379", "slave-priority": "100", "slave-repl-offset": "596",
		"replica-announced": "1", "master-link-down-time": "0"} {
		if f[k] != want {
			t.Errorf("replica %s = %q, want %q", k, f[k], want)
		}
	}
	if raw := v.do(2, "SENTINEL", "SLAVES", "mymaster"); raw != v.do(2, "SENTINEL", "REPLICAS", "mymaster") && !strings.HasPrefix(raw, "*1\r\n*42\r\n") {
		t.Errorf("SLAVES differs from REPLICAS: %q", raw[:20])
	}

	list, _ = apiParse(t, v.do(2, "SENTINEL", "SENTINELS", "mymaster")).([]any)
	if len(list) != 1 {
		t.Fatalf("sentinels: %#v", list)
	}
	names, f = apiPairs(t, list[0])
	want = "name ip port runid flags link-pending-commands link-refcount last-ping-sent last-ok-ping-reply " +
		"last-ping-reply down-after-milliseconds last-hello-message voted-leader voted-leader-epoch"
	if strings.Join(names, " ") != want {
		t.Fatalf("fields:\n got %s\nwant %s", strings.Join(names, " "), want)
	}
	if f["name"] != s.runID || f["runid"] != s.runID || f["flags"] != "sentinel,disconnected" || f["voted-leader"] != "?" || f["voted-leader-epoch"] != "0" {
		t.Errorf("sentinel fields %v", f)
	}
	v.e.mu.Lock()
	s.masterDownReported, s.sdown, s.leader, s.leaderEpoch = true, true, "abc", 7
	r.promoted, r.reconfSent, r.reconfInprog, r.reconfDone, r.masterLinkUp, r.replMasterHost = true, true, true, true, false, ""
	v.e.mu.Unlock()
	list, _ = apiParse(t, v.do(2, "SENTINEL", "SENTINELS", "mymaster")).([]any)
	_, f = apiPairs(t, list[0])
	if f["flags"] != "s_down,sentinel,disconnected,master_down" || f["voted-leader"] != "abc" || f["voted-leader-epoch"] != "7" {
		t.Errorf("sentinel fields %v", f)
	}
	if _, ok := f["s-down-time"]; !ok {
		t.Error("no s-down-time for a down sentinel")
	}
	list, _ = apiParse(t, v.do(2, "SENTINEL", "REPLICAS", "mymaster")).([]any)
	_, f = apiPairs(t, list[0])
	if f["flags"] != "slave,disconnected,promoted,reconf_sent,reconf_inprog,reconf_done" || f["master-link-status"] != "err" || f["master-host"] != "?" {
		t.Errorf("replica fields %v", f)
	}
}

func TestAPISet(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	m, _, _ := apiPopulate(v)
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "down-after-milliseconds", "1000", "Quorum", "3",
		"failover-timeout", "5000", "parallel-syncs", "2", "master-reboot-down-after-period", "0")
	mc := m.cfg
	if mc.DownAfterMs != 1000 || mc.Quorum != 3 || mc.FailoverTimeoutMs != 5000 || mc.ParallelSyncs != 2 {
		t.Fatalf("not applied: %+v", mc)
	}
	if v.numSaves() != 1 {
		t.Fatalf("%d saves", v.numSaves())
	}
	desc := "master mymaster 127.0.0.1 6379"
	wantEv := []string{"+set " + desc + " down-after-milliseconds 1000", "+set " + desc + " Quorum 3",
		"+set " + desc + " failover-timeout 5000", "+set " + desc + " parallel-syncs 2",
		"+set " + desc + " master-reboot-down-after-period 0"}
	if got := v.takeEvents(); strings.Join(got, "|") != strings.Join(wantEv, "|") {
		t.Fatalf("events:\n got %q\nwant %q", got, wantEv)
	}
	// Replicas report the master's down-after.
	list, _ := apiParse(t, v.do(2, "SENTINEL", "REPLICAS", "mymaster")).([]any)
	if _, f := apiPairs(t, list[0]); f["down-after-milliseconds"] != "1000" {
		t.Errorf("replica down-after %q", f["down-after-milliseconds"])
	}

	for _, c := range []struct {
		want string
		args []string
	}{
		{"-ERR Invalid argument '-20' for SENTINEL SET 'down-after-milliseconds'\r\n", []string{"down-after-milliseconds", "-20"}},
		{"-ERR Invalid argument '0' for SENTINEL SET 'quorum'\r\n", []string{"quorum", "0"}},
		{"-ERR Invalid argument '+5' for SENTINEL SET 'parallel-syncs'\r\n", []string{"parallel-syncs", "+5"}},
		{"-ERR Invalid argument 'x' for SENTINEL SET 'failover-timeout'\r\n", []string{"failover-timeout", "x"}},
		{"-ERR Invalid argument '-1' for SENTINEL SET 'master-reboot-down-after-period'\r\n", []string{"master-reboot-down-after-period", "-1"}},
		{"-ERR Unknown option or number of arguments for SENTINEL SET 'fakeoption'\r\n", []string{"fakeoption", "1"}},
		{"-ERR Unknown option or number of arguments for SENTINEL SET 'rename-command'\r\n", []string{"rename-command", "CONFIG"}},
		{"-ERR Invalid argument '' for SENTINEL SET 'rename-command'\r\n", []string{"rename-command", "CONFIG", ""}},
		{"-ERR Invalid argument '' for SENTINEL SET 'rename-command'\r\n", []string{"rename-command", "", "X"}},
		{"-ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration\r\n", []string{"notification-script", "/bin/true"}},
		{"-ERR Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration\r\n", []string{"client-reconfig-script", "/bin/true"}},
	} {
		v.expect(c.want, append([]string{"SENTINEL", "SET", "mymaster"}, c.args...)...)
	}
	if v.numSaves() != 1 || len(v.takeEvents()) != 0 {
		t.Fatal("a refused SET saved or published")
	}

	// Options before a bad one stay applied and are saved, as in Redis.
	v.expect("-ERR Invalid argument 'x' for SENTINEL SET 'quorum'\r\n", "SENTINEL", "SET", "mymaster", "quorum", "5", "quorum", "x")
	if mc.Quorum != 5 || v.numSaves() != 2 {
		t.Fatalf("quorum %d saves %d", mc.Quorum, v.numSaves())
	}
	v.takeEvents()

	// Scripts, once allowed.
	v.e.mu.Lock()
	v.e.cfg.DenyScriptsReconfig = false
	v.e.mu.Unlock()
	dir := t.TempDir()
	script := filepath.Join(dir, "notify.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.expect("-ERR Notification script seems non existing or non executable\r\n", "SENTINEL", "SET", "mymaster", "notification-script", plain)
	v.expect("-ERR Client reconfiguration script seems non existing or non executable\r\n", "SENTINEL", "SET", "mymaster", "client-reconfig-script", dir+"/missing")
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "notification-script", script, "client-reconfig-script", script)
	if mc.NotificationScript != script || mc.ClientReconfigScript != script {
		t.Fatalf("scripts not set: %+v", mc)
	}
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "client-reconfig-script", "")
	if mc.ClientReconfigScript != "" {
		t.Fatal("empty path did not clear the script")
	}
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "notification-script", "")
	v.takeEvents()

	// Credentials: the password is never published.
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "auth-pass", "s3cret", "auth-user", "bob")
	if mc.AuthPass != "s3cret" || mc.AuthUser != "bob" {
		t.Fatalf("auth not set: %+v", mc)
	}
	if got := v.takeEvents(); len(got) != 2 || got[0] != "+set "+desc+" auth-pass ******" || got[1] != "+set "+desc+" auth-user bob" {
		t.Fatalf("auth events %q", got)
	}

	// rename-command replaces an earlier renaming, case-insensitively, and
	// a renaming to itself is dropped.
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "rename-command", "CONFIG", "GUESSME", "rename-command", "slaveof", "NOSLAVE")
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "rename-command", "config", "CFG2", "rename-command", "SLAVEOF", "slaveof")
	if len(mc.RenameCommands) != 1 || mc.RenameCommands[0] != [2]string{"config", "CFG2"} {
		t.Fatalf("renames %q", mc.RenameCommands)
	}
	if got := v.takeEvents(); len(got) != 4 || got[0] != "+set "+desc+" rename-command CONFIG GUESSME" {
		t.Fatalf("rename events %q", got)
	}

	// A failed save is reported as Redis reports it.
	v.saveErr = errors.New("disk full")
	v.expect("-ERR Failed to save config file. Check server logs.\r\n", "SENTINEL", "SET", "mymaster", "quorum", "2")
	v.expect("-ERR Failed to save config file. Check server logs.\r\n", "SENTINEL", "FLUSHCONFIG")
	if mc.Quorum != 2 {
		t.Fatal("the change was lost with the save")
	}
}

func TestAPISetAuthDropsLinks(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	m, r, s := apiPopulate(v)
	mk := func() *link {
		a, b := net.Pipe()
		t.Cleanup(func() { b.Close() })
		l := &link{nc: a, done: make(chan struct{}), created: time.Now()}
		go l.readLoop()
		return l
	}
	v.e.mu.Lock()
	var data []*link
	for _, ri := range []*instance{m, r} {
		ri.cc, ri.pc = mk(), mk()
		data = append(data, ri.cc, ri.pc)
	}
	s.cc = mk()
	v.e.mu.Unlock()
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "auth-pass", "x")
	apiWaitFor(t, "data links closed", func() bool {
		for _, l := range data {
			if !l.Closed() {
				return false
			}
		}
		return true
	})
	if s.cc.Closed() {
		t.Fatal("a sentinel link was dropped by auth-pass")
	}
	v.expect("+OK\r\n", "SENTINEL", "CONFIG", "SET", "sentinel-pass", "p")
	apiWaitFor(t, "sentinel link closed", s.cc.Closed)
}

func apiWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAPIConfigGetSet(t *testing.T) {
	v := newAPIEnv(t, false)
	v.expect(apiBulks("resolve-hostnames", "no", "announce-hostnames", "no", "announce-ip", "", "announce-port", "0",
		"sentinel-user", "", "sentinel-pass", ""), "SENTINEL", "CONFIG", "GET", "*")
	v.expect(apiBulks("resolve-hostnames", "no", "announce-hostnames", "no"), "SENTINEL", "config", "get", "*HOST*")
	v.expect("*0\r\n", "SENTINEL", "CONFIG", "GET", "nothing")
	if got := v.do(3, "SENTINEL", "CONFIG", "GET", "announce-port"); got != "%1\r\n"+apiBulk("announce-port")+apiBulk("0") {
		t.Errorf("RESP3 config get: %q", got)
	}
	for _, c := range [][]string{
		{"resolve-hostnames", "YES"}, {"announce-hostnames", "yes"}, {"announce-ip", "10.0.0.1"},
		{"announce-port", "26400"}, {"sentinel-user", "sam"}, {"sentinel-pass", "pw"},
	} {
		v.expect("+OK\r\n", "SENTINEL", "CONFIG", "SET", c[0], c[1])
	}
	v.expect(apiBulks("resolve-hostnames", "yes", "announce-hostnames", "yes", "announce-ip", "10.0.0.1", "announce-port", "26400",
		"sentinel-user", "sam", "sentinel-pass", "pw"), "SENTINEL", "CONFIG", "GET", "*")
	if n := v.numSaves(); n != 6 {
		t.Errorf("%d saves, want 6", n)
	}
	c := v.e.Config()
	if !c.ResolveHostnames || !c.AnnounceHostnames || c.AnnounceIP != "10.0.0.1" || c.AnnouncePort != 26400 || c.SentinelUser != "sam" || c.SentinelPass != "pw" {
		t.Fatalf("config %+v", c)
	}
	v.expect("+OK\r\n", "SENTINEL", "CONFIG", "SET", "sentinel-user", "")
	for _, c := range []struct{ want, opt, val string }{
		{"-ERR Invalid argument 'foo' to SENTINEL CONFIG SET\r\n", "foo", "bar"},
		{"-ERR Invalid argument 'loglevel' to SENTINEL CONFIG SET\r\n", "loglevel", "debug"},
		{"-ERR Invalid value '99999' to SENTINEL CONFIG SET 'announce-port'\r\n", "announce-port", "99999"},
		{"-ERR Invalid value '-1' to SENTINEL CONFIG SET 'announce-port'\r\n", "announce-port", "-1"},
		{"-ERR Invalid value 'maybe' to SENTINEL CONFIG SET 'RESOLVE-hostnames'\r\n", "RESOLVE-hostnames", "maybe"},
	} {
		v.expect(c.want, "SENTINEL", "CONFIG", "SET", c.opt, c.val)
	}
	if v.e.Config().SentinelUser != "" {
		t.Error("empty sentinel-user did not clear it")
	}
}

func TestAPIDebug(t *testing.T) {
	v := newAPIEnv(t, false)
	want := apiBulks("INFO-PERIOD", "10000", "PING-PERIOD", "1000", "ASK-PERIOD", "1000", "PUBLISH-PERIOD", "2000",
		"DEFAULT-DOWN-AFTER", "30000", "DEFAULT-FAILOVER-TIMEOUT", "180000", "TILT-TRIGGER", "2000", "TILT-PERIOD", "30000",
		"SLAVE-RECONF-TIMEOUT", "10000", "MIN-LINK-RECONNECT-PERIOD", "15000", "ELECTION-TIMEOUT", "10000",
		"SCRIPT-MAX-RUNTIME", "60000", "SCRIPT-RETRY-DELAY", "30000")
	v.expect(want, "SENTINEL", "DEBUG")
	if got := v.do(3, "SENTINEL", "DEBUG"); !strings.HasPrefix(got, "%13\r\n$11\r\nINFO-PERIOD\r\n$5\r\n10000\r\n") {
		t.Errorf("RESP3 debug %q", got[:40])
	}
	v.expect("+OK\r\n", "SENTINEL", "DEBUG", "info-period", "500", "PING-PERIOD", "100", "ask-period", "101",
		"publish-period", "102", "default-down-after", "103", "default-failover-timeout", "104", "tilt-trigger", "105",
		"tilt-period", "106", "slave-reconf-timeout", "107", "min-link-reconnect-period", "108", "election-timeout", "109",
		"script-max-runtime", "110", "script-retry-delay", "111")
	tm := v.e.timing
	if tm.infoPeriod != 500 || tm.pingPeriod != 100 || tm.askPeriod != 101 || tm.publishPeriod != 102 || tm.defaultDownAfter != 103 ||
		tm.tiltTrigger != 105 || tm.tiltPeriod != 106 || tm.slaveReconfTimeout != 107 || tm.minLinkReconnect != 108 ||
		tm.electionTimeout != 109 || tm.scriptMaxRuntime != 110 || tm.scriptRetryDelay != 111 {
		t.Fatalf("timing %+v", tm)
	}
	if got := v.do(2, "SENTINEL", "DEBUG"); !strings.Contains(got, apiBulk("DEFAULT-FAILOVER-TIMEOUT")+apiBulk("104")) {
		t.Errorf("default-failover-timeout not shown: %q", got)
	}
	// New masters take the defaults.
	v.expect("+OK\r\n", "SENTINEL", "MONITOR", "m2", "127.0.0.1", "7000", "1")
	_, f := apiPairs(t, apiParse(t, v.do(2, "SENTINEL", "MASTER", "m2")))
	if f["down-after-milliseconds"] != "103" || f["failover-timeout"] != "104" {
		t.Errorf("new master: down-after %s failover-timeout %s", f["down-after-milliseconds"], f["failover-timeout"])
	}
	for _, c := range []struct {
		want string
		args []string
	}{
		{"-ERR Unknown option or number of arguments for SENTINEL DEBUG 'foo'\r\n", []string{"foo", "1"}},
		{"-ERR Unknown option or number of arguments for SENTINEL DEBUG 'info-period'\r\n", []string{"info-period"}},
		{"-ERR Unknown option or number of arguments for SENTINEL DEBUG 'ping-period'\r\n", []string{"info-period", "10000", "ping-period"}},
		{"-ERR Invalid argument '0' for SENTINEL DEBUG 'info-period'\r\n", []string{"info-period", "0"}},
		{"-ERR Invalid argument 'x' for SENTINEL DEBUG 'Tilt-Period'\r\n", []string{"Tilt-Period", "x"}},
	} {
		v.expect(c.want, append([]string{"SENTINEL", "DEBUG"}, c.args...)...)
	}
	if v.e.timing.infoPeriod != 10000 {
		t.Error("pairs before a bad one must stay applied")
	}
}

func TestAPIMonitorRemoveReset(t *testing.T) {
	v := newAPIEnv(t, true, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	for _, c := range []struct {
		want string
		args []string
	}{
		{"-ERR Invalid port\r\n", []string{"a", "1.2.3.4", "x", "2"}},
		{"-ERR Invalid quorum\r\n", []string{"a", "1.2.3.4", "x", "x"}},
		{"-ERR Quorum must be 1 or greater.\r\n", []string{"a", "1.2.3.4", "10", "0"}},
		{"-ERR Quorum must be 1 or greater.\r\n", []string{"a", "bad host", "10", "-1"}},
		{"-ERR Invalid IP address or hostname specified\r\n", []string{"a", "localhost", "10", "1"}},
		{"-ERR Invalid IP address or hostname specified\r\n", []string{"a", "localhost", "99999999", "1"}},
		{"-ERR Invalid port number.\r\n", []string{"a", "1.2.3.4", "-5", "1"}},
		{"-ERR Invalid port number.\r\n", []string{"a", "1.2.3.4", "65536", "1"}},
		{"-ERR Duplicate master name.\r\n", []string{"mymaster", "1.2.3.4", "10", "1"}},
	} {
		v.expect(c.want, append([]string{"SENTINEL", "MONITOR"}, c.args...)...)
	}
	if v.numSaves() != 0 || len(v.takeEvents()) != 0 {
		t.Fatal("a refused MONITOR saved or published")
	}
	v.expect("+OK\r\n", "SENTINEL", "MONITOR", "other", "::1", "7000", "3")
	if got := v.takeEvents(); len(got) != 1 || got[0] != "+monitor master other ::1 7000 quorum 3" {
		t.Fatalf("monitor events %q", got)
	}
	if v.numSaves() != 1 || len(v.saves[0].Masters) != 2 {
		t.Fatalf("saves %d", v.numSaves())
	}
	v.expect(apiBulks("::1", "7000"), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "other")
	if names := v.e.SentinelMasterNames(); strings.Join(names, ",") != "mymaster,other" {
		t.Fatalf("names %q", names)
	}

	// hostnames only with resolve-hostnames.
	v.expect("+OK\r\n", "SENTINEL", "CONFIG", "SET", "resolve-hostnames", "yes")
	v.expect("+OK\r\n", "SENTINEL", "MONITOR", "byname", "localhost", "7001", "1")
	v.expect("-ERR Invalid IP address or hostname specified\r\n", "SENTINEL", "MONITOR", "x", "no-such-host.invalid", "7001", "1")
	v.takeEvents()
	// Replies show the name only with announce-hostnames yes, else its IP.
	addr := apiParse(t, v.do(2, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "byname")).([]any)
	if addr[0] != "127.0.0.1" && addr[0] != "::1" {
		t.Fatalf("byname shown as %q", addr[0])
	}
	_, f := apiPairs(t, apiParse(t, v.do(2, "SENTINEL", "MASTER", "byname")))
	if f["ip"] != addr[0] || !strings.Contains(v.e.SentinelInfo(), "name=byname,status=ok,address="+addr[0].(string)+":7001,") {
		t.Fatalf("byname ip %q, info %q", f["ip"], v.e.SentinelInfo())
	}
	v.expect("+OK\r\n", "SENTINEL", "CONFIG", "SET", "announce-hostnames", "yes")
	v.expect(apiBulks("localhost", "7001"), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "byname")
	if _, f := apiPairs(t, apiParse(t, v.do(2, "SENTINEL", "MASTER", "byname"))); f["ip"] != "localhost" {
		t.Fatalf("byname ip %q with announce-hostnames", f["ip"])
	}
	v.expect("+OK\r\n", "SENTINEL", "CONFIG", "SET", "announce-hostnames", "no")

	// RESET: a glob, case-sensitive; count of masters reset.
	apiPopulate(v)
	v.expect(":0\r\n", "SENTINEL", "RESET", "MY*")
	v.expect(":2\r\n", "SENTINEL", "RESET", "*m*")
	if got := v.takeEvents(); len(got) != 2 || got[0] != "+reset-master master byname localhost 7001" || got[1] != "+reset-master master mymaster 127.0.0.1 6379" {
		t.Fatalf("reset events %q", got)
	}
	_, f = apiPairs(t, apiParse(t, v.do(2, "SENTINEL", "MASTER", "mymaster")))
	if f["num-slaves"] != "0" || f["num-other-sentinels"] != "0" {
		t.Fatalf("after reset: %v", f)
	}

	saves := v.numSaves()
	v.expect("+OK\r\n", "SENTINEL", "REMOVE", "other")
	if got := v.takeEvents(); len(got) != 1 || got[0] != "-monitor master other ::1 7000" {
		t.Fatalf("remove events %q", got)
	}
	if v.numSaves() != saves+1 {
		t.Fatal("REMOVE did not save")
	}
	v.expect("-ERR No such master with that name\r\n", "SENTINEL", "MASTER", "other")
	v.expect("+OK\r\n", "SENTINEL", "FLUSHCONFIG")
	if v.numSaves() != saves+2 {
		t.Fatal("FLUSHCONFIG did not save")
	}
}

func TestAPICkquorum(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	v.expect("-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master\r\n",
		"SENTINEL", "CKQUORUM", "mymaster")
	_, _, s := apiPopulate(v) // one other sentinel: 2 usable of 2
	v.expect("+OK 2 usable Sentinels. Quorum and failover authorization can be reached\r\n", "SENTINEL", "CKQUORUM", "mymaster")
	v.e.mu.Lock()
	m := v.e.masters["mymaster"]
	for i := 0; i < 3; i++ {
		x := v.e.addSentinelLocked(m, "127.0.0.1", 26390+i, fmt.Sprintf("%040d", i))
		x.sdown = true
	}
	v.e.mu.Unlock()
	// 5 known, 2 usable: quorum 2 reachable, majority (3) not.
	v.expect("-NOQUORUM 2 usable Sentinels. Not enough available Sentinels to reach the majority and authorize a failover\r\n",
		"SENTINEL", "CKQUORUM", "mymaster")
	v.e.mu.Lock()
	s.odown = true
	v.e.mu.Unlock()
	v.expect("-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master. "+
		"Not enough available Sentinels to reach the majority and authorize a failover\r\n", "SENTINEL", "CKQUORUM", "mymaster")

	// The Raft group without a majority cannot authorise a failover.
	w := newAPIEnv(t, true, NewMasterConfig("mymaster", "127.0.0.1", 6379, 1))
	w.expect("+OK 1 usable Sentinels. Quorum and failover authorization can be reached\r\n", "SENTINEL", "CKQUORUM", "mymaster")
	w.meta.mu.Lock()
	w.meta.status.HasQuorum = false
	w.meta.mu.Unlock()
	w.expect("-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the majority and authorize a failover\r\n",
		"SENTINEL", "CKQUORUM", "mymaster")
}

func TestAPIIsMasterDownByAddr(t *testing.T) {
	v := newAPIEnv(t, true, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	v.meta.epoch = 9
	v.meta.status.LeaderID = "leader-id"
	for _, c := range []struct {
		want string
		args []string
	}{
		{"*3\r\n:0\r\n$1\r\n*\r\n:0\r\n", []string{"127.0.0.1", "6379", "0", "*"}},
		{"*3\r\n:0\r\n$1\r\n*\r\n:0\r\n", []string{"10.0.0.1", "6379", "0", "abc"}},
		{"*3\r\n:0\r\n$1\r\n*\r\n:0\r\n", []string{"127.0.0.1", "-1", "-1", "*"}},
		{"*3\r\n:0\r\n$1\r\n*\r\n:0\r\n", []string{"127.0.0.1", "99999999999", "-1", "*"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"127.0.0.1", "x", "0", "*"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"127.0.0.1", "6379", "x", "*"}},
		{"-ERR value is not an integer or out of range\r\n", []string{"127.0.0.1", "99999999999999999999", "0", "*"}},
	} {
		v.expect(c.want, append([]string{"SENTINEL", "IS-MASTER-DOWN-BY-ADDR"}, c.args...)...)
	}
	v.e.mu.Lock()
	v.e.masters["mymaster"].sdown = true
	v.e.mu.Unlock()
	v.expect("*3\r\n:1\r\n$1\r\n*\r\n:0\r\n", "SENTINEL", "is-master-down-by-addr", "127.0.0.1", "6379", "0", "*")
	v.expect("*3\r\n:1\r\n"+apiBulk("leader-id")+":9\r\n", "SENTINEL", "is-master-down-by-addr", "127.0.0.1", "6379", "9", "someone")
}

func TestAPIInfoAndInfoCache(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2), NewMasterConfig("a", "10.0.0.1", 7000, 1))
	m, _, _ := apiPopulate(v)
	want := "sentinel_masters:2\r\nsentinel_tilt:0\r\nsentinel_tilt_since_seconds:-1\r\nsentinel_running_scripts:0\r\n" +
		"sentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:0\r\n" +
		"master0:name=a,status=ok,address=10.0.0.1:7000,slaves=0,sentinels=1\r\n" +
		"master1:name=mymaster,status=ok,address=127.0.0.1:6379,slaves=2,sentinels=2\r\n"
	if got := v.e.SentinelInfo(); got != want {
		t.Fatalf("info:\n got %q\nwant %q", got, want)
	}
	v.expect("+OK\r\n", "SENTINEL", "SIMULATE-FAILURE", "crash-after-promotion", "CRASH-AFTER-ELECTION")
	v.e.mu.Lock()
	v.e.tilt, v.e.tiltStart = true, time.Now().Add(-3500*time.Millisecond)
	m.sdown = true
	v.e.masters["a"].sdown, v.e.masters["a"].odown = true, true
	v.e.mu.Unlock()
	want = "sentinel_masters:2\r\nsentinel_tilt:1\r\nsentinel_tilt_since_seconds:3\r\nsentinel_running_scripts:0\r\n" +
		"sentinel_scripts_queue_length:0\r\nsentinel_simulate_failure_flags:3\r\n" +
		"master0:name=a,status=odown,address=10.0.0.1:7000,slaves=0,sentinels=1\r\n" +
		"master1:name=mymaster,status=sdown,address=127.0.0.1:6379,slaves=2,sentinels=2\r\n"
	if got := v.e.SentinelInfo(); got != want {
		t.Fatalf("info:\n got %q\nwant %q", got, want)
	}
	// HELP resets the flags; an unknown name is an error
	// (as in Redis, flags named before HELP are kept).
	v.expect(apiBulks("crash-after-election", "crash-after-promotion"), "SENTINEL", "SIMULATE-FAILURE", "help")
	if v.e.simFailure != 0 {
		t.Error("simulate-failure help kept the flags")
	}
	v.expect(apiBulks("crash-after-election", "crash-after-promotion"), "SENTINEL", "SIMULATE-FAILURE", "crash-after-election", "help")
	if v.e.simFailure != simCrashAfterElection {
		t.Error("simulate-failure crash-after-election help lost the flag")
	}
	v.expect("-ERR Unknown failure simulation specified\r\n", "SENTINEL", "SIMULATE-FAILURE", "crash-after-promotion", "bogus")
	if v.e.simFailure != simCrashAfterPromotion {
		t.Errorf("flags %d", v.e.simFailure)
	}

	// INFO-CACHE: [name, [[age, info], ...]] per known name, in request
	// order, no repeats; a missing INFO is a null.
	raw := v.do(2, "SENTINEL", "INFO-CACHE", "mymaster", "nope", "a", "mymaster")
	got := apiParse(t, raw).([]any)
	if len(got) != 4 || got[0] != "mymaster" || got[2] != "a" {
		t.Fatalf("info-cache %q", raw)
	}
	entries := got[1].([]any)
	if len(entries) != 3 {
		t.Fatalf("mymaster entries %#v", entries)
	}
	first := entries[0].([]any)
	if age := first[0].(int64); age < 3000 || first[1] != "# Replication\r\nrole:master\r\n" {
		t.Errorf("master entry %#v", first)
	}
	if !strings.HasSuffix(raw, apiBulk("a")+"*1\r\n*2\r\n:0\r\n$-1\r\n") {
		t.Errorf("entry without INFO: %q", raw)
	}
	if raw3 := v.do(3, "SENTINEL", "INFO-CACHE", "a"); raw3 != "*2\r\n"+apiBulk("a")+"*1\r\n*2\r\n:0\r\n_\r\n" {
		t.Errorf("RESP3 info-cache %q", raw3)
	}
}

func TestAPIInfoSkiffFields(t *testing.T) {
	v := newAPIEnv(t, true)
	v.meta.status = MetaStatus{MyID: "me", LeaderID: "lead", Members: 4, Voters: 3, Reachable: 2, HasQuorum: true, GroupState: "Follower"}
	got := v.e.SentinelInfo()
	want := "sentinel_simulate_failure_flags:0\r\nskiff_raft_state:Follower\r\nskiff_raft_leader:lead\r\nskiff_raft_members:4\r\n" +
		"skiff_raft_voters:3\r\nskiff_raft_reachable_voters:2\r\nskiff_raft_has_quorum:1\r\n"
	if !strings.HasSuffix(got, want) {
		t.Fatalf("info %q", got)
	}
}

func TestAPIShutdown(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	down := false
	v.e.opts.Shutdown = func() {
		if v.numSaves() != 1 {
			t.Error("shutdown before the config was saved")
		}
		down = true
	}
	v.e.SentinelShutdown()
	if !down {
		t.Fatal("Shutdown not called")
	}
}

func TestAPIParseLL(t *testing.T) {
	for s, want := range map[string]int64{"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63} {
		if got, ok := parseLL(s); !ok || got != want {
			t.Errorf("parseLL(%q) = %d %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-", "+1", "01", "-0", " 1", "1 ", "1.0", "9223372036854775808", "-9223372036854775809", "99999999999999999999"} {
		if _, ok := parseLL(s); ok {
			t.Errorf("parseLL(%q) accepted", s)
		}
	}
}

// writeScript writes an executable shell script (the sentinel executes it
// directly; the #! line picks the interpreter).
func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func (v *apiEnv) waitEvent(prefix string) string {
	v.t.Helper()
	var found string
	apiWaitFor(v.t, "event "+prefix, func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, e := range v.events {
			if strings.HasPrefix(e, prefix) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

func (v *apiEnv) queue() (running, queued int) {
	v.e.mu.Lock()
	defer v.e.mu.Unlock()
	return v.e.scripts.counts()
}

func (v *apiEnv) schedule(path string, args ...string) {
	v.e.mu.Lock()
	v.e.scripts.schedule(path, args...)
	v.e.unlock()
}

func TestScriptNotificationRuns(t *testing.T) {
	v := newAPIEnv(t, false, NewMasterConfig("mymaster", "127.0.0.1", 6379, 2))
	v.e.cfg.DenyScriptsReconfig = false
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	script := writeScript(t, dir, "notify.sh", `for a in "$0" "$@"; do printf '%s\n' "$a"; done > `+out+".tmp && mv "+out+".tmp "+out+"\n")
	v.expect("+OK\r\n", "SENTINEL", "SET", "mymaster", "notification-script", script)
	// That +set was a warning-level event of the master: it ran the script.
	var got []byte
	apiWaitFor(t, "the notification script", func() bool {
		var err error
		got, err = os.ReadFile(out)
		return err == nil
	})
	want := script + "\n+set\nmaster mymaster 127.0.0.1 6379 notification-script " + script + "\n"
	if string(got) != want {
		t.Fatalf("script args:\n got %q\nwant %q", got, want)
	}
	apiWaitFor(t, "an empty queue", func() bool { _, q := v.queue(); return q == 0 })
	for _, e := range v.takeEvents() {
		if strings.HasPrefix(e, "-script") {
			t.Fatalf("unexpected %q", e)
		}
	}
}

func TestScriptErrorsAndRetries(t *testing.T) {
	v := newAPIEnv(t, false)
	dir := t.TempDir()
	v.expect("+OK\r\n", "SENTINEL", "DEBUG", "script-retry-delay", "1")

	// Exit code 2: reported, not retried.
	two := writeScript(t, dir, "two.sh", "exit 2\n")
	v.schedule(two, "a")
	if e := v.waitEvent("-script-error"); e != "-script-error "+two+" 0 2" {
		t.Fatalf("event %q", e)
	}
	apiWaitFor(t, "an empty queue", func() bool { _, q := v.queue(); return q == 0 })
	v.takeEvents()

	// A program that cannot be executed ends as Redis's exec failure (2).
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.schedule(plain)
	if e := v.waitEvent("-script-error"); e != "-script-error "+plain+" 0 2" {
		t.Fatalf("event %q", e)
	}
	apiWaitFor(t, "an empty queue", func() bool { _, q := v.queue(); return q == 0 })
	v.takeEvents()

	// Exit code 1: retried, 10 runs in all, then reported.
	count := filepath.Join(dir, "count")
	one := writeScript(t, dir, "one.sh", "echo x >> "+count+"\nexit 1\n")
	v.schedule(one)
	if e := v.waitEvent("-script-error"); e != "-script-error "+one+" 0 1" {
		t.Fatalf("event %q", e)
	}
	b, _ := os.ReadFile(count)
	if n := strings.Count(string(b), "x"); n != scriptMaxRetry {
		t.Fatalf("%d runs, want %d", n, scriptMaxRetry)
	}
	apiWaitFor(t, "an empty queue", func() bool { _, q := v.queue(); return q == 0 })
}

func TestScriptTimeoutAndPending(t *testing.T) {
	v := newAPIEnv(t, false)
	dir := t.TempDir()
	v.expect("+OK\r\n", "SENTINEL", "DEBUG", "script-max-runtime", "300", "script-retry-delay", "60000")
	slow := writeScript(t, dir, "slow.sh", "exec sleep 30\n")
	v.schedule(slow, "x", "y")

	// Running: argv, flags, pid, run-time, retry-num.
	var f map[string]any
	apiWaitFor(t, "the script to run", func() bool {
		list := apiParse(t, v.do(2, "SENTINEL", "PENDING-SCRIPTS")).([]any)
		if len(list) != 1 {
			t.Fatalf("pending %#v", list)
		}
		arr := list[0].([]any)
		f = map[string]any{}
		var names []string
		for i := 0; i < len(arr); i += 2 {
			names = append(names, arr[i].(string))
			f[arr[i].(string)] = arr[i+1]
		}
		if strings.Join(names, " ") != "argv flags pid run-time retry-num" && strings.Join(names, " ") != "argv flags pid run-delay retry-num" {
			t.Fatalf("fields %q", names)
		}
		return f["flags"] == "running"
	})
	argv := f["argv"].([]any)
	if len(argv) != 3 || argv[0] != slow || argv[2] != "y" || f["pid"] == "0" || f["retry-num"] != "1" {
		t.Fatalf("running job %#v", f)
	}
	if r, q := v.queue(); r != 1 || q != 1 {
		t.Fatalf("running %d queued %d", r, q)
	}
	if raw := v.do(3, "SENTINEL", "PENDING-SCRIPTS"); !strings.HasPrefix(raw, "*1\r\n%5\r\n$4\r\nargv\r\n*3\r\n") {
		t.Fatalf("RESP3 pending %q", raw)
	}
	if info := v.e.SentinelInfo(); !strings.Contains(info, "sentinel_running_scripts:1\r\nsentinel_scripts_queue_length:1\r\n") {
		t.Fatalf("info %q", info)
	}

	// Killed after script-max-runtime, then waiting for its retry.
	if e := v.waitEvent("-script-timeout"); e != "-script-timeout "+slow+" "+f["pid"].(string) {
		t.Fatalf("event %q", e)
	}
	apiWaitFor(t, "the retry to be scheduled", func() bool { r, _ := v.queue(); return r == 0 })
	list := apiParse(t, v.do(2, "SENTINEL", "PENDING-SCRIPTS")).([]any)
	_, g := apiPairs(t, list[0].([]any)[2:])
	if g["flags"] != "scheduled" || g["pid"] != "0" || g["retry-num"] != "1" {
		t.Fatalf("scheduled job %v", g)
	}
	if d, _ := strconv.Atoi(g["run-delay"]); d < 50000 || d > 60000 {
		t.Fatalf("run-delay %s", g["run-delay"])
	}
	for _, e := range v.takeEvents() {
		if strings.HasPrefix(e, "-script-error") {
			t.Fatalf("a killed script is retried, not reported: %q", e)
		}
	}
}

func TestScriptQueueLimits(t *testing.T) {
	v := newAPIEnv(t, false)
	dir := t.TempDir()
	flag := filepath.Join(dir, "go")
	wait := writeScript(t, dir, "wait.sh", "while [ ! -e "+flag+" ]; do sleep 0.05; done\n")
	// Queued at once (the driver cannot start any in between): the 20
	// oldest are dropped.
	v.e.mu.Lock()
	for i := 0; i < scriptMaxQueue+20; i++ {
		v.e.scripts.schedule(wait, strconv.Itoa(i))
	}
	v.e.unlock()
	apiWaitFor(t, "16 running", func() bool { r, _ := v.queue(); return r == scriptMaxRunning })
	if r, q := v.queue(); r != scriptMaxRunning || q != scriptMaxQueue {
		t.Fatalf("running %d queued %d", r, q)
	}
	v.e.mu.Lock()
	if a, b := v.e.scripts.jobs[0].argv[1], v.e.scripts.jobs[scriptMaxRunning].argv[1]; a != "20" || b != "36" || !v.e.scripts.jobs[0].running {
		t.Errorf("first job %s, first waiting job %s; want 20 and 36", a, b)
	}
	v.e.mu.Unlock()
	// A new job now drops the oldest waiting one, never a running one.
	v.schedule(wait, "new")
	v.e.mu.Lock()
	if a, b := v.e.scripts.jobs[0].argv[1], v.e.scripts.jobs[scriptMaxRunning].argv[1]; a != "20" || b != "37" {
		t.Errorf("after one more: first job %s, first waiting %s; want 20 and 37", a, b)
	}
	v.e.mu.Unlock()
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	apiWaitFor(t, "the queue to drain", func() bool { r, q := v.queue(); return r == 0 && q == 0 })
}
