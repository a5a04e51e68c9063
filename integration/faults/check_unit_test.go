package faults

import (
	"testing"
)

// TestCheck runs the checker on small hand-made histories: it must find
// a stale read, accept an unknown write either way, and count lost
// acknowledged writes by the documented formulas.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	reg := func(client int, f, arg, arg2 string, call, ret int64, status, out string) op {
		return op{Client: client, Kind: "register", Key: "register:0", F: f, Arg: arg, Arg2: arg2, Call: call, Ret: ret, Status: status, Out: out}
	}
	// set a; set b (both acknowledged, in order); a later read of a: stale.
	stale := []op{
		reg(0, "set", "a", "", 0, 10, "ok", ""),
		reg(0, "set", "b", "", 20, 30, "ok", ""),
		reg(1, "get", "", "", 40, 50, "ok", "a"),
	}
	if rc := check(stale, map[string][]string{"register:0": {"a"}}, dir, 0); rc.Violations != 1 || len(rc.Visualization) != 1 {
		t.Errorf("stale read: %d violations, visualisation %v; want 1", rc.Violations, rc.Visualization)
	}
	// An unknown set may be seen or not.
	for _, seen := range []string{"a", "b"} {
		h := []op{
			reg(0, "set", "a", "", 0, 10, "ok", ""),
			reg(1, "set", "b", "", 20, 30, "info", ""),
			reg(2, "get", "", "", 40, 50, "ok", seen),
			reg(2, "get", "", "", 60, 70, "ok", seen),
		}
		if rc := check(h, map[string][]string{"register:0": {seen}}, dir, 0); rc.Violations != 0 {
			t.Errorf("unknown write, read %s: %d violations; want 0 (%v)", seen, rc.Violations, rc.Notes)
		}
	}
	// An unknown write seen, then unseen: not linearizable.
	flip := []op{
		reg(0, "set", "a", "", 0, 10, "ok", ""),
		reg(1, "set", "b", "", 20, 30, "info", ""),
		reg(2, "get", "", "", 40, 50, "ok", "b"),
		reg(2, "get", "", "", 60, 70, "ok", "a"),
	}
	if rc := check(flip, nil, dir, 0); rc.Violations != 1 {
		t.Errorf("b then a: %d violations; want 1", rc.Violations)
	}
	// cas: ok only if the state was what it read; aborted: no effect.
	cas := []op{
		reg(0, "set", "a", "", 0, 10, "ok", ""),
		reg(1, "cas", "a", "c", 20, 30, "ok", "ok"),
		reg(2, "cas", "c", "d", 40, 50, "ok", "aborted"),
		reg(2, "get", "", "", 60, 70, "ok", "c"),
	}
	if rc := check(cas, nil, dir, 0); rc.Violations != 0 {
		t.Errorf("cas: %d violations; want 0", rc.Violations)
	}
	// Counter: 5 acked, 2 unknown, final 4: 1 certainly lost, at most 3.
	var h []op
	for i := 1; i <= 5; i++ {
		h = append(h, op{Kind: "counter", Key: "counter:0", F: "incr", Status: "ok", Out: string(rune('0' + i))})
	}
	h = append(h, op{Kind: "counter", Key: "counter:0", F: "incr", Status: "info"}, op{Kind: "counter", Key: "counter:0", F: "incr", Status: "info"})
	// Set and list: x, y acked, z unknown, final {x, z}: y lost.
	for _, k := range []string{"set", "list"} {
		h = append(h,
			op{Kind: k, Key: k + ":0", F: "add", Arg: "x", Status: "ok"},
			op{Kind: k, Key: k + ":0", F: "add", Arg: "y", Status: "ok"},
			op{Kind: k, Key: k + ":0", F: "add", Arg: "z", Status: "info"})
	}
	rc := check(h, map[string][]string{"counter:0": {"4"}, "set:0": {"x", "z"}, "list:0": {"x", "z"}}, dir, 0)
	if rc.Lost != 3 || rc.PossiblyLost != 5 || rc.Anomalies != 0 {
		t.Errorf("lost %d (want 1+1+1), possibly %d (want 3+1+1), anomalies %d (want 0): %v", rc.Lost, rc.PossiblyLost, rc.Anomalies, rc.Notes)
	}
	// Excess and duplicates are anomalies.
	rc = check([]op{
		{Kind: "counter", Key: "counter:0", F: "incr", Status: "ok", Out: "1"},
		{Kind: "counter", Key: "counter:0", F: "incr", Status: "ok", Out: "1"},
	}, map[string][]string{"counter:0": {"3"}}, dir, 0)
	if rc.Anomalies != 2 {
		t.Errorf("excess 1 + duplicate 1: %d anomalies; want 2 (%v)", rc.Anomalies, rc.Notes)
	}
}
