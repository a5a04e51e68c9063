package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/node"
)

// signalServer is a server (not listening: the shutdown path needs no
// socket) in its own directory, with extra --name value options.
func signalServer(t *testing.T, opts ...string) (*node.Server, *config.Config, string) {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Load("", append([]string{"--port", "0", "--bind", "127.0.0.1", "--dir", dir}, opts...))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	srv, err := node.New(cfg, hclog.NewNullLogger())
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	t.Cleanup(srv.Shutdown)
	return srv, cfg, dir
}

func stopped(srv *node.Server) bool {
	select {
	case <-srv.Done():
		return true
	default:
		return false
	}
}

// TestShutdownOnSignalFlags: SIGTERM and SIGINT follow shutdown-on-sigterm
// and shutdown-on-sigint as Redis does: default saves when save points are
// set and stays up if that save fails, force exits anyway, nosave skips
// the save, save saves without save points.
func TestShutdownOnSignalFlags(t *testing.T) {
	log := hclog.NewNullLogger()
	dumpExists := func(dir string) bool {
		st, err := os.Stat(filepath.Join(dir, "dump.rdb"))
		return err == nil && st.Mode().IsRegular()
	}

	// A directory where the dump file goes makes the final save fail.
	srv, cfg, dir := signalServer(t, "--save", "3600 1")
	if err := os.Mkdir(filepath.Join(dir, "dump.rdb"), 0o755); err != nil {
		t.Fatal(err)
	}
	if shutdownOnSignal(cfg, srv, log, syscall.SIGTERM) || stopped(srv) {
		t.Fatal("SIGTERM with a failing save (shutdown-on-sigterm default) stopped the server; Redis stays up")
	}
	if err := cfg.SetPairs([]string{"shutdown-on-sigterm", "force"}); err != nil {
		t.Fatal(err)
	}
	if !shutdownOnSignal(cfg, srv, log, syscall.SIGTERM) || !stopped(srv) {
		t.Fatal("SIGTERM with shutdown-on-sigterm force did not stop the server after the failed save")
	}

	// nosave: save points set, nothing written.
	srv, cfg, dir = signalServer(t, "--save", "3600 1", "--shutdown-on-sigint", "nosave")
	if !shutdownOnSignal(cfg, srv, log, syscall.SIGINT) || !stopped(srv) {
		t.Fatal("SIGINT with nosave did not stop the server")
	}
	if dumpExists(dir) {
		t.Error("SIGINT with shutdown-on-sigint nosave wrote dump.rdb")
	}

	// default with save points: saved.
	srv, cfg, dir = signalServer(t, "--save", "3600 1")
	if !shutdownOnSignal(cfg, srv, log, syscall.SIGTERM) || !dumpExists(dir) {
		t.Error("SIGTERM (default) with save points: no dump.rdb")
	}

	// save without save points: saved; default: not.
	srv, cfg, dir = signalServer(t, "--save", "", "--shutdown-on-sigterm", "save now")
	if !shutdownOnSignal(cfg, srv, log, syscall.SIGTERM) || !dumpExists(dir) {
		t.Error("SIGTERM with shutdown-on-sigterm 'save now' and no save points: no dump.rdb")
	}
	srv, cfg, dir = signalServer(t, "--save", "")
	if !shutdownOnSignal(cfg, srv, log, syscall.SIGTERM) || dumpExists(dir) {
		t.Error("SIGTERM (default) without save points wrote dump.rdb")
	}
}
