package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func serverStopped(s *Server) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// waitStopped polls until the server has stopped or the deadline passes.
func waitStopped(t *testing.T, s *Server, within time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := 0; i < 10000 && time.Now().Before(deadline); i++ {
		if serverStopped(s) {
			<-s.Stopped()
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// waitShutdownCancelled polls until a signal's shutdown has run and been
// cancelled (its save failed).
func waitShutdownCancelled(t *testing.T, s *Server, within time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for i := 0; i < 10000 && time.Now().Before(deadline); i++ {
		if !s.sd.asap.Load() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func dumpExists(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "dump.rdb"))
	return err == nil && st.Mode().IsRegular()
}

// TestSignalShutdownFlags: SIGTERM and SIGINT follow shutdown-on-sigterm
// and shutdown-on-sigint as Redis does: the default saves when save
// points are set and stays up if that save fails, force exits anyway,
// nosave skips the save, save saves without save points.
func TestSignalShutdownFlags(t *testing.T) {
	// A directory where the dump file goes makes the final save fail.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "dump.rdb"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := startTestServer(t, "--dir", dir, "--save", "3600 1")
	if s.SignalShutdown(false) {
		t.Fatal("a first SIGTERM asked for an immediate exit")
	}
	if !waitShutdownCancelled(t, s, 10*time.Second) {
		t.Fatal("the SIGTERM shutdown with a failing save neither finished nor was cancelled")
	}
	if serverStopped(s) {
		t.Fatal("SIGTERM with a failing save (shutdown-on-sigterm default) stopped the server; Redis stays up")
	}
	if r := dialRaw(t, s).do(t, "PING"); r != "+PONG\r\n" {
		t.Fatalf("PING after the failed shutdown: %q", r)
	}
	if err := s.cfg.SetPairs([]string{"shutdown-on-sigterm", "force"}); err != nil {
		t.Fatal(err)
	}
	s.SignalShutdown(false)
	if !waitStopped(t, s, 10*time.Second) {
		t.Fatal("SIGTERM with shutdown-on-sigterm force did not stop the server after the failed save")
	}

	dir = t.TempDir()
	s = startTestServer(t, "--dir", dir, "--save", "3600 1", "--shutdown-on-sigint", "nosave")
	s.SignalShutdown(true)
	if !waitStopped(t, s, 10*time.Second) {
		t.Fatal("SIGINT with nosave did not stop the server")
	}
	if dumpExists(dir) {
		t.Error("SIGINT with shutdown-on-sigint nosave wrote dump.rdb")
	}

	dir = t.TempDir()
	s = startTestServer(t, "--dir", dir, "--save", "3600 1")
	s.SignalShutdown(false)
	if !waitStopped(t, s, 10*time.Second) || !dumpExists(dir) {
		t.Error("SIGTERM (default) with save points: not stopped, or no dump.rdb")
	}

	dir = t.TempDir()
	s = startTestServer(t, "--dir", dir, "--save", "", "--shutdown-on-sigterm", "save now")
	s.SignalShutdown(false)
	if !waitStopped(t, s, 10*time.Second) || !dumpExists(dir) {
		t.Error("SIGTERM with shutdown-on-sigterm 'save now' and no save points: not stopped, or no dump.rdb")
	}
	dir = t.TempDir()
	s = startTestServer(t, "--dir", dir, "--save", "")
	s.SignalShutdown(false)
	if !waitStopped(t, s, 10*time.Second) || dumpExists(dir) {
		t.Error("SIGTERM (default) without save points: not stopped, or wrote dump.rdb")
	}
}

// TestShutdownAbortCancelsSignal: with the cron paused, a SIGTERM's
// shutdown has not started, and SHUTDOWN ABORT cancels it.
func TestShutdownAbortCancelsSignal(t *testing.T) {
	s := startTestServer(t, "--enable-debug-command", "yes")
	c := dialRaw(t, s)
	if r := c.do(t, "SHUTDOWN", "ABORT"); r != "-ERR No shutdown in progress.\r\n" {
		t.Errorf("SHUTDOWN ABORT with none pending: %q", r)
	}
	if r := c.do(t, "DEBUG", "PAUSE-CRON", "1"); r != "+OK\r\n" {
		t.Fatalf("DEBUG PAUSE-CRON 1: %q", r)
	}
	s.SignalShutdown(false)
	if r := c.do(t, "SHUTDOWN", "ABORT"); r != "+OK\r\n" {
		t.Fatalf("SHUTDOWN ABORT after SIGTERM: %q", r)
	}
	c.do(t, "DEBUG", "PAUSE-CRON", "0")
	// Several cron periods (hz 10) without a shutdown.
	deadline := time.Now().Add(500 * time.Millisecond)
	for i := 0; i < 1000 && time.Now().Before(deadline); i++ {
		if serverStopped(s) {
			t.Fatal("the server stopped after SHUTDOWN ABORT")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := c.do(t, "PING"); r != "+PONG\r\n" {
		t.Errorf("PING after SHUTDOWN ABORT: %q", r)
	}
}

// TestShutdownWaitsForReplica: a master whose replica is behind waits
// (shutdown_in_milliseconds, writes paused, SHUTDOWN callers blocked);
// SHUTDOWN ABORT answers every caller with Redis's error and lifts the
// pause; NOW does not wait.
func TestShutdownWaitsForReplica(t *testing.T) {
	m := startTestServer(t, "--shutdown-timeout", "300")
	mc := dialRaw(t, m)
	if got := mc.do(t, "SET", "k", "1"); got != "+OK\r\n" {
		t.Fatal(got)
	}
	// A replica that syncs and then never acknowledges anything.
	rep := dialRaw(t, m)
	rep.do(t, "REPLCONF", "listening-port", "1")
	rep.send(t, "PSYNC", "?", "-1")
	waitUntil(t, "the replica registered", 10*time.Second, func() bool {
		return strings.Contains(mc.do(t, "INFO", "replication"), "connected_slaves:1\r\n")
	})
	if got := mc.do(t, "INCR", "k"); got != ":2\r\n" {
		t.Fatal(got)
	}
	c1, c2 := dialRaw(t, m), dialRaw(t, m)
	c1.send(t, "SHUTDOWN")
	c2.send(t, "SHUTDOWN")
	waitUntil(t, "both SHUTDOWN callers blocked", 10*time.Second, func() bool {
		return strings.Contains(mc.do(t, "INFO", "clients"), "blocked_clients:2\r\n")
	})
	if info := mc.do(t, "INFO", "server"); !strings.Contains(info, "shutdown_in_milliseconds:") {
		t.Errorf("INFO server while waiting for the replica: no shutdown_in_milliseconds")
	}
	// Writes wait meanwhile; reads do not.
	w := dialRaw(t, m)
	w.send(t, "SET", "x", "1")
	waitUntil(t, "the SET held by the pause (blocked_clients 3)", 10*time.Second, func() bool {
		return strings.Contains(mc.do(t, "INFO", "clients"), "blocked_clients:3\r\n")
	})
	if got := mc.do(t, "EXISTS", "x"); got != ":0\r\n" {
		t.Errorf("the SET ran during the shutdown's pause: EXISTS %q", got)
	}
	if got := mc.do(t, "GET", "k"); got != "$1\r\n2\r\n" {
		t.Errorf("GET during the shutdown's wait: %q", got)
	}
	if got := mc.do(t, "SHUTDOWN", "ABORT"); got != "+OK\r\n" {
		t.Fatalf("SHUTDOWN ABORT: %q", got)
	}
	for _, c := range []*rawConn{c1, c2} {
		if got := c.readReply(t, 5*time.Second); got != "-ERR Errors trying to SHUTDOWN. Check logs.\r\n" {
			t.Errorf("blocked SHUTDOWN after ABORT: %q", got)
		}
	}
	if got := w.readReply(t, 5*time.Second); got != "+OK\r\n" {
		t.Errorf("the SET paused by the shutdown, after ABORT: %q", got)
	}
	if serverStopped(m) {
		t.Fatal("the master stopped after SHUTDOWN ABORT")
	}
	mc.send(t, "SHUTDOWN", "NOW", "NOSAVE")
	if !waitStopped(t, m, 10*time.Second) {
		t.Fatal("SHUTDOWN NOW waited for the lagging replica")
	}
}
