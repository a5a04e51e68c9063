package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/node"
)

// watchCrashSignals turns SIGABRT sent to the process (kill -ABRT, as
// Redis's suite and some supervisors do) into a crash report in the log,
// as Redis writes one, instead of the Go runtime's bare dump on stderr.
func watchCrashSignals(logger hclog.Logger) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGABRT)
	go func() {
		<-ch
		node.CrashReport(logger, syscall.SIGABRT)
	}()
}
