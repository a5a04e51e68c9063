package node

// Shutdown as Redis 7.0 runs it. A SHUTDOWN command, or SIGTERM/SIGINT
// (taken up by the next cron tick, so that SHUTDOWN ABORT can still
// cancel it), first lets lagging replicas catch up: writes are paused,
// the replicas are asked for their offsets (REPLCONF GETACK) and the
// server waits until every one has acknowledged everything or
// shutdown-timeout seconds have passed (SHUTDOWN NOW skips the wait).
// Then it saves as the flags and save points say; a failed save cancels
// the shutdown (unless FORCE), answering the blocked SHUTDOWN clients
// with Redis's error. A second SIGINT exits at once, removing the
// temporary file of a save under way.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/config"
)

// shutdownState: asap and sigint are set by the signal goroutine without
// the data lock (a second SIGINT must act while a save holds it); the
// rest is guarded by the data lock.
type shutdownState struct {
	asap   atomic.Bool // a signal asked for a shutdown
	sigint atomic.Bool // ... and it was SIGINT (else SIGTERM)

	flags    config.ShutdownFlags
	deadline time.Time // not zero: initiated, waiting for replicas
	blocked  []*Client // SHUTDOWN callers waiting for the outcome
}

func (s *Server) shutdownInitiated() bool { return !s.sd.deadline.IsZero() }

// SignalShutdown handles SIGINT (sigint) or SIGTERM. It reports whether
// the process must exit at once with status 1: a second SIGINT while a
// shutdown is pending, as Redis's "You insist" (the temporary file of a
// save in progress is removed first). Otherwise the shutdown runs from
// the cron, or at once while loading.
func (s *Server) SignalShutdown(sigint bool) (exitNow bool) {
	if s.sd.asap.Load() && sigint {
		s.log.Warn("You insist... exiting now.")
		tmp := filepath.Join(s.cfg.String("dir"), fmt.Sprintf("temp-%d.rdb", pid))
		if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn(fmt.Sprintf("Error removing temp DB file %s: %v", tmp, err))
		}
		return true
	}
	if s.Loading() {
		// Nothing is saved: the dataset is not fully loaded.
		s.log.Warn("Received shutdown signal during loading, scheduling shutdown.")
		s.sd.sigint.Store(sigint)
		s.sd.asap.Store(true)
		go s.shutdownWhileLoading()
		return false
	}
	if sigint {
		s.log.Warn("Received SIGINT scheduling shutdown...")
	} else {
		s.log.Warn("Received SIGTERM scheduling shutdown...")
	}
	s.sd.sigint.Store(sigint)
	s.sd.asap.Store(true)
	return false
}

// shutdownWhileLoading stops a server that is loading its dataset: the
// cron does not run then.
func (s *Server) shutdownWhileLoading() {
	s.mu.Lock()
	s.p.exited = true // a half-loaded dataset is never saved
	s.mu.Unlock()
	s.Shutdown()
}

// shutdownCron is the shutdown part of the cron, under the lock.
func (s *Server) shutdownCron() {
	switch {
	case s.sd.asap.Load() && !s.shutdownInitiated():
		opt := "shutdown-on-sigterm"
		if s.sd.sigint.Load() {
			opt = "shutdown-on-sigint"
		}
		if s.prepareShutdown(config.ParseShutdownFlags(s.cfg.String(opt))) {
			s.exitAfterShutdown()
		}
	case s.shutdownInitiated():
		if !time.Now().Before(s.sd.deadline) || s.readyToShutdown() {
			if s.finishShutdown() == nil {
				s.exitAfterShutdown()
			}
		}
	}
}

// prepareShutdown starts a shutdown; true means it is complete and the
// process may exit. False: it waits for replicas (the cron finishes it),
// was already under way, or failed (logged, blocked callers answered).
func (s *Server) prepareShutdown(f config.ShutdownFlags) bool {
	if s.shutdownInitiated() {
		return false
	}
	if s.ld.active || s.sentinel != nil {
		f.Save, f.NoSave = false, true
	}
	s.sd.flags = f
	s.log.Warn("User requested shutdown...")
	if !f.Now && s.cfg.Int("shutdown-timeout") != 0 && !s.readyToShutdown() {
		s.sd.deadline = time.Now().Add(time.Duration(s.cfg.Int("shutdown-timeout")) * time.Second)
		s.replicate(-1, [][]byte{[]byte("REPLCONF"), []byte("GETACK"), []byte("*")})
		s.x.pause.shutdown = true
		s.pauseChanged()
		s.updateGate()
		s.log.Info("Waiting for replicas before shutting down.")
		return false
	}
	return s.finishShutdown() == nil
}

// readyToShutdown: every replica acknowledged the whole stream.
func (s *Server) readyToShutdown() bool {
	for _, rc := range s.repl.replicas {
		if rc.ackOff != s.repl.offset {
			return false
		}
	}
	return true
}

// finishShutdown reports on the replicas, then persists; an error cancels
// the shutdown.
func (s *Server) finishShutdown() error {
	f := s.sd.flags
	lagging := 0
	for _, rc := range s.repl.replicas {
		if rc.ackOff == s.repl.offset {
			continue
		}
		lagging++
		lag := int64(0)
		if rc.state == replicaOnline && !rc.ackTime.IsZero() {
			lag = int64(time.Since(rc.ackTime) / time.Second)
		}
		s.log.Warn(fmt.Sprintf("Lagging replica %s:%d reported offset %d behind master, lag=%d, state=%s.",
			replicaIP(rc), rc.listenPort, s.repl.offset-rc.ackOff, lag, replicaStateNames[rc.state]))
	}
	if n := len(s.repl.replicas); n > 0 {
		s.log.Info(fmt.Sprintf("%d of %d replicas are in sync when shutting down.", n-lagging, n))
	}
	if s.p.aof.waitRewrite && s.p.job != nil && s.p.job.aof != nil {
		// The AOF on disk does not hold the dataset yet.
		if !f.Force {
			s.log.Warn("Writing initial AOF, can't exit.")
			s.failShutdown()
			return errors.New("initial AOF being written")
		}
		s.log.Warn("Writing initial AOF. Exit anyway.")
	}
	if err := s.shutdownPersist(f.Save, f.NoSave, f.Force); err != nil {
		s.failShutdown()
		return err
	}
	who := "Skiff"
	if s.sentinel != nil {
		who = "Sentinel"
	}
	s.log.Warn(who + " is now ready to exit, bye bye...")
	return nil
}

func (s *Server) failShutdown() {
	s.log.Warn("Errors trying to shut down the server. Check the logs for more information.")
	s.cancelShutdown()
}

// cancelShutdown ends a shutdown that failed or was aborted: writes go
// on and the SHUTDOWN callers get Redis's error.
func (s *Server) cancelShutdown() {
	s.sd.asap.Store(false)
	s.sd.flags = config.ShutdownFlags{}
	s.sd.deadline = time.Time{}
	for _, c := range s.sd.blocked {
		if c.blk != nil {
			c.replyError(errShutdownSave)
			s.unblock(c)
			c.wake()
		}
	}
	s.sd.blocked = nil
	if s.x.pause.shutdown {
		s.x.pause.shutdown = false
		s.pauseChanged()
		s.updateGate()
	}
}

// abortShutdown is SHUTDOWN ABORT: false when no shutdown was pending.
func (s *Server) abortShutdown() bool {
	switch {
	case s.shutdownInitiated():
		s.cancelShutdown()
	case s.sd.asap.Load():
		s.sd.asap.Store(false) // a signal's shutdown the cron has not started
	default:
		return false
	}
	s.log.Info("Shutdown manually aborted.")
	return true
}

// exitAfterShutdown stops the server once the shutdown's persistence is
// done (Shutdown saves nothing more).
func (s *Server) exitAfterShutdown() {
	for _, c := range s.sd.blocked {
		c.flags |= clientCloseASAP
	}
	if h := s.ShutdownHook; h != nil {
		go h()
		return
	}
	go s.Shutdown()
}

// PrepareShutdown persists as a shutdown with these flags would, without
// waiting for replicas, and reports a failed save: for callers that stop
// the server themselves.
func (s *Server) PrepareShutdown(save, nosave, force bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdownPersist(save, nosave, force)
}
