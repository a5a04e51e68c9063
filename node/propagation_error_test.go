package node

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPropagationErrorBehavior: a command from the master that fails on
// the replica is logged as CRITICAL and counted; with panic (and
// panic-on-replicas) a read-only replica stops, with ignore it goes on.
func TestPropagationErrorBehavior(t *testing.T) {
	var exits atomic.Int32
	old := exitProcess
	exitProcess = func(int) { exits.Add(1) }
	t.Cleanup(func() { exitProcess = old })

	master := startTestServer(t, "--enable-debug-command", "yes")
	replica := startTestServer(t, "--propagation-error-behavior", "ignore")
	mc, rc := dialRaw(t, master), dialRaw(t, replica)
	replicateFrom(t, rc, master)
	waitFor := func(what string, cond func() bool) { t.Helper(); waitUntil(t, what, 10*time.Second, cond) }
	unexpected := func() string { return infoFields(rc.do(t, "INFO", "stats"))["unexpected_error_replies"] }

	if got := mc.do(t, "DEBUG", "REPLICATE", "fake-command-1"); got != "+OK\r\n" {
		t.Fatalf("DEBUG REPLICATE: %q", got)
	}
	waitFor("the error counted", func() bool { return unexpected() == "1" })
	if exits.Load() != 0 {
		t.Fatal("ignore stopped the process")
	}
	// The master did not run it: nothing of it in its own error stats.
	if strings.Contains(mc.do(t, "INFO", "errorstats"), "errorstat_ERR") {
		t.Error("DEBUG REPLICATE ran the command on the master")
	}

	rc.do(t, "CONFIG", "SET", "propagation-error-behavior", "panic-on-replicas")
	mc.do(t, "DEBUG", "REPLICATE", "fake-command-2")
	waitFor("panic-on-replicas stops a read-only replica", func() bool { return exits.Load() == 1 })

	// A writable replica is allowed to diverge: logged, never stopped.
	rc.do(t, "CONFIG", "SET", "replica-read-only", "no")
	rc.do(t, "SET", "number2", "foo")
	mc.do(t, "INCRBY", "number2", "1")
	waitFor("the INCRBY error counted", func() bool { return unexpected() == "3" })
	if exits.Load() != 1 {
		t.Errorf("a writable replica stopped: %d exits", exits.Load())
	}
	if got := rc.do(t, "GET", "number2"); got != "$3\r\nfoo\r\n" {
		t.Errorf("replica's number2 = %q", got)
	}
}
