package raftgroup

import (
	"github.com/hashicorp/go-hclog"
)

// floorLogger drops records below min, whatever the level of the wrapped
// logger, so that raft never logs at DEBUG because skiff's loglevel is
// verbose.
type floorLogger struct {
	hclog.Logger
	min hclog.Level
}

// withFloor wraps l so that it never emits below min.
func withFloor(l hclog.Logger, min hclog.Level) hclog.Logger {
	return &floorLogger{Logger: l, min: min}
}

func (f *floorLogger) Log(level hclog.Level, msg string, args ...interface{}) {
	if level >= f.min {
		f.Logger.Log(level, msg, args...)
	}
}
func (f *floorLogger) Trace(msg string, args ...interface{}) { f.Log(hclog.Trace, msg, args...) }
func (f *floorLogger) Debug(msg string, args ...interface{}) { f.Log(hclog.Debug, msg, args...) }
func (f *floorLogger) Info(msg string, args ...interface{})  { f.Log(hclog.Info, msg, args...) }
func (f *floorLogger) IsTrace() bool                         { return f.min <= hclog.Trace && f.Logger.IsTrace() }
func (f *floorLogger) IsDebug() bool                         { return f.min <= hclog.Debug && f.Logger.IsDebug() }
func (f *floorLogger) IsInfo() bool                          { return f.min <= hclog.Info && f.Logger.IsInfo() }
func (f *floorLogger) With(args ...interface{}) hclog.Logger {
	return withFloor(f.Logger.With(args...), f.min)
}
func (f *floorLogger) Named(name string) hclog.Logger { return withFloor(f.Logger.Named(name), f.min) }
func (f *floorLogger) ResetNamed(name string) hclog.Logger {
	return withFloor(f.Logger.ResetNamed(name), f.min)
}
