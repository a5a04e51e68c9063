package node

// BGSAVE without fork: a store.Snapshot gives the saver a point-in-time
// view that it encodes a chunk at a time under the data lock and writes
// to disk outside it. Also here: save points checked from the cron,
// LASTSAVE, INFO persistence, the MISCONF write refusal and saving on
// SHUTDOWN.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

const (
	errBgsaveRunning = "ERR Background save already in progress"
	errMisconfRDB    = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."
	errShutdownSave  = "ERR Errors trying to SHUTDOWN. Check logs."
	// bgsaveRetryDelay is how long a failed background save waits before
	// a save point may try again (Redis's CONFIG_BGSAVE_RETRY_DELAY).
	bgsaveRetryDelay = 5 * time.Second
	// Each step of a snapshot holds the data lock for at most this many
	// keys or this long, whichever comes first.
	// 100 µs, not the 500 µs it was: a client that arrives during a step
	// waits for the rest of it (docs/performance.md, "BGSAVE latency").
	snapStepKeys   = 1000
	snapStepBudget = 100 * time.Microsecond
)

// persistState is the server's persistence bookkeeping, guarded by the
// data lock unless noted.
type persistState struct {
	job        *saveJob // the running background save, if any
	lastSave   int64    // unix seconds of the last successful save
	lastTry    int64    // unix seconds of the last background save attempt
	lastOK     bool     // status of the last background save
	lastDur    int64    // seconds the last background save took, -1 before any
	saves      int64    // rdb_saves
	scheduled  bool     // BGSAVE SCHEDULE waiting for the AOF rewrite
	savePoints []savePoint
	lastCow    int64 // bytes copied for the last snapshot

	// denyWrites is set while writes must be refused with MISCONF
	// (read on every write command, hence atomic).
	denyWrites atomic.Bool
	stopOnErr  bool
	// lockWaiters counts clients waiting for the data lock after a
	// failed TryLock (atomic; savepace.go).
	lockWaiters atomic.Int32

	aof aofState // aof.go
	// exited is set once the shutdown persistence work has run.
	exited bool
}

type savePoint struct{ seconds, changes int64 }

// saveJob is one background snapshot being written to a file.
type saveJob struct {
	snap        *store.Snapshot
	start       time.Time
	dirtyBefore int64
	path        string
	// aof, when set, makes this the base of an AOF rewrite (aof.go).
	aof *aofRewrite
	// aborted is set (under the lock) to make the saver give up.
	aborted bool
	done    chan struct{}
	// functions are the function libraries' codes when the save began.
	functions [][]byte
}

func init() {
	register(&Command{Name: "bgsave", Arity: -1, Flags: "admin noscript no_async_loading", Group: "server", Since: "1.0.0", Summary: "Asynchronously saves the database(s) to disk.", Complexity: "O(1)", Handler: cmdBgsave})
	persistenceInfo = writePersistenceInfo
	lastSaveTime = func(s *Server) int64 { return s.p.lastSave }
}

// initPersistence reads the persistence options; it runs from New.
func (s *Server) initPersistence() error {
	s.p.lastSave = s.startTime.Unix()
	s.p.lastOK = true
	s.p.lastDur = -1
	s.p.aof.init(s)
	if err := s.cfg.OnChange("save", func(v string) error {
		f := strings.Fields(v)
		var sp []savePoint
		for i := 0; i+1 < len(f); i += 2 {
			sec, err1 := strconv.ParseInt(f[i], 10, 64)
			ch, err2 := strconv.ParseInt(f[i+1], 10, 64)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("invalid save parameters %q", v)
			}
			sp = append(sp, savePoint{sec, ch})
		}
		s.p.savePoints = sp
		s.updateDenyWrites()
		return nil
	}); err != nil {
		return fmt.Errorf("config save: %w", err)
	}
	if err := s.cfg.OnChange("stop-writes-on-bgsave-error", func(v string) error {
		s.p.stopOnErr = v == "yes"
		s.updateDenyWrites()
		return nil
	}); err != nil {
		return fmt.Errorf("config stop-writes-on-bgsave-error: %w", err)
	}
	return s.initAOF()
}

// updateDenyWrites recomputes Redis's writeCommandsDeniedByDiskError for
// RDB (the AOF part is in aof.go).
func (s *Server) updateDenyWrites() {
	rdbErr := s.p.stopOnErr && len(s.p.savePoints) > 0 && !s.p.lastOK
	s.p.denyWrites.Store(rdbErr || s.p.aof.writeErr != "")
}

// diskError returns the MISCONF error a write command (or PING) must get
// now, or "" when writes are allowed. Called under the lock.
func (s *Server) diskError(c *Client, cmd *Command) string {
	if !s.p.denyWrites.Load() || c.flags&clientMaster != 0 {
		return ""
	}
	if !cmd.Has(FlagWrite) && cmd.Name != "ping" {
		return ""
	}
	if s.p.stopOnErr && len(s.p.savePoints) > 0 && !s.p.lastOK {
		return errMisconfRDB
	}
	if e := s.p.aof.writeErr; e != "" {
		return "MISCONF Errors writing to the AOF file: " + e
	}
	return ""
}

func (s *Server) rdbPath() string {
	return filepath.Join(s.cfg.String("dir"), s.cfg.String("dbfilename"))
}

// BgsaveInProgress reports whether a background save runs (SAVE, FLUSHALL
// and replication check it). Called under the lock.
func (s *Server) BgsaveInProgress() bool { return s.p.job != nil && s.p.job.aof == nil }

// childActive is Redis's hasActiveChildProcess: a BGSAVE or an AOF
// rewrite is running.
func (s *Server) childActive() bool { return s.p.job != nil }

func cmdBgsave(c *Client, args [][]byte) {
	schedule := false
	if len(args) > 1 {
		if len(args) == 2 && eqFold(args[1], "schedule") {
			schedule = true
		} else {
			c.replySyntax()
			return
		}
	}
	s := c.srv
	inExec := s.blocking.depth > 1 // run by EXEC
	switch {
	case s.BgsaveInProgress():
		c.replyError(errBgsaveRunning)
	case s.childActive() || inExec:
		if schedule || inExec {
			s.p.scheduled = true
			c.w.AppendSimple("Background saving scheduled")
			return
		}
		c.replyError("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
	default:
		if err := s.startBgsave(s.rdbPath(), nil); err != nil {
			c.replyError("ERR " + err.Error())
			return
		}
		c.w.AppendSimple("Background saving started")
	}
}

// startBgsave begins a background snapshot to path. With rw it is the
// base file of an AOF rewrite. Called under the lock.
func (s *Server) startBgsave(path string, rw *aofRewrite) error {
	sn, err := s.store.BeginSnapshot()
	if err != nil {
		return err
	}
	now := time.Now()
	job := &saveJob{snap: sn, start: now, dirtyBefore: s.dirty, path: path, aof: rw, done: make(chan struct{}), functions: s.functionCodes()}
	s.p.job = job
	if rw == nil {
		s.p.saves++
		s.p.lastTry = now.Unix()
		s.log.Info("background saving started")
	}
	aux := s.rdbAux(rw != nil)
	compress := s.cfg.Bool("rdbcompression")
	go s.runSaveJob(job, aux, compress)
	return nil
}

// rdbAux is the AUX header Redis 7.0 writes.
func (s *Server) rdbAux(aofBase bool) map[string]string {
	aux := rdb.DefaultAux()
	aux["ctime"] = strconv.FormatInt(time.Now().Unix(), 10)
	aux["used-mem"] = strconv.FormatInt(usedMem(), 10)
	if aofBase {
		aux["aof-base"] = "1"
	} else {
		s.addReplAux(aux) // repl-id/repl-offset (replication.go)
	}
	return aux
}

// runSaveJob writes the snapshot and then records the outcome.
func (s *Server) runSaveJob(job *saveJob, aux map[string]string, compress bool) {
	err := s.writeSnapshot(job, aux, compress)
	s.mu.Lock()
	defer s.mu.Unlock()
	defer close(job.done)
	job.snap.Close()
	if s.p.job == job {
		s.p.job = nil
	}
	if job.aof != nil {
		s.finishAOFRewrite(job, err)
		return
	}
	if job.aborted {
		s.log.Warn("background saving terminated", "reason", "aborted")
		return
	}
	s.p.lastDur = int64(time.Since(job.start).Round(time.Second) / time.Second)
	s.p.lastCow = job.snap.CopiedBytes
	if err != nil {
		s.log.Warn("background saving error", "error", err)
		s.p.lastOK = false
	} else {
		s.log.Info("background saving terminated with success")
		s.p.lastOK = true
		s.p.lastSave = time.Now().Unix()
		s.dirty -= job.dirtyBefore
	}
	s.updateDenyWrites()
}

// errAborted ends a snapshot whose save was cancelled (SHUTDOWN).
var errAborted = errors.New("save aborted")

// chunkBuf collects the encoder's output under the lock so that the disk
// write happens outside it.
type chunkBuf struct{ b []byte }

func (c *chunkBuf) Write(p []byte) (int, error) { c.b = append(c.b, p...); return len(p), nil }

// writeSnapshot encodes the job's snapshot into a temporary file, step by
// step, then makes it durable and renames it into place.
func (s *Server) writeSnapshot(job *saveJob, aux map[string]string, compress bool) (err error) {
	dir := filepath.Dir(job.path)
	tmp := filepath.Join(dir, fmt.Sprintf("temp-%d-%d.rdb", pid, time.Now().UnixNano()))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", tmp, err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	var buf chunkBuf
	w := rdb.NewWriter(&buf)
	w.SetCompression(compress)
	if err := w.Header(aux); err != nil {
		return err
	}
	if err := writeFunctionCodes(w, job.functions); err != nil {
		return err
	}
	for done := false; !done; {
		s.mu.Lock()
		if job.aborted {
			s.mu.Unlock()
			return errAborted
		}
		before := job.snap.Processed
		t0 := time.Now()
		done, err = job.snap.Step(w, s.saveStepKeys(snapStepKeys), snapStepBudget)
		stepped := job.snap.Processed - before
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("encode snapshot: %w", err)
		}
		s.yieldToClients(time.Since(t0))
		s.saveStepPause(int64(stepped))
		if len(buf.b) > 0 {
			if _, err := f.Write(buf.b); err != nil {
				return fmt.Errorf("write %s: %w", tmp, err)
			}
			buf.b = buf.b[:0]
		}
	}
	if err := w.Finish(); err != nil {
		return err
	}
	if _, err := f.Write(buf.b); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	return commitFile(f, tmp, job.path)
}

// commitFile makes f durable, closes it and renames tmp to path, then
// makes the rename durable too.
func commitFile(f *os.File, tmp, path string) error {
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s to %s: %w", tmp, path, err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// saveSync writes the whole keyspace to path while holding the lock (SAVE
// semantics, used by SHUTDOWN). Called under the lock; a running
// background save must have been aborted first.
func (s *Server) saveSync(path string) error {
	sn, err := s.store.BeginSnapshot()
	if err != nil {
		return err
	}
	defer sn.Close()
	dir := filepath.Dir(path)
	tmp := filepath.Join(dir, fmt.Sprintf("temp-%d.rdb", pid))
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", tmp, err)
	}
	w := rdb.NewWriter(f)
	w.SetCompression(s.cfg.Bool("rdbcompression"))
	err = w.Header(s.rdbAux(false))
	if err == nil {
		err = writeFunctionCodes(w, s.functionCodes())
	}
	for done := false; err == nil && !done; {
		before := sn.Processed
		done, err = sn.Step(w, s.saveStepKeys(1<<30), time.Hour)
		// As Redis's SAVE, the delay is taken holding everything.
		s.saveStepPause(sn.Processed - before)
	}
	if err == nil {
		err = w.Finish()
	}
	if err == nil {
		err = commitFile(f, tmp, path)
	} else {
		f.Close()
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	s.p.lastSave = time.Now().Unix()
	s.p.lastOK = true
	s.dirty = 0
	s.updateDenyWrites()
	return nil
}

// abortSaveJob makes a running background save give up and removes its
// temporary file; it does not wait. Called under the lock.
func (s *Server) abortSaveJob() {
	if j := s.p.job; j != nil {
		j.aborted = true
		j.snap.Close()
		s.p.job = nil
	}
}

// persistCron is the persistence part of Redis's serverCron: save
// points, scheduled saves and automatic AOF rewrites. Called under the
// lock hz times a second.
func (s *Server) persistCron() {
	now := time.Now().Unix()
	if !s.childActive() {
		retryOK := now-s.p.lastTry > int64(bgsaveRetryDelay/time.Second) || s.p.lastOK
		for _, sp := range s.p.savePoints {
			if s.dirty >= sp.changes && now-s.p.lastSave > sp.seconds && retryOK {
				s.log.Info("save point reached, saving", "changes", sp.changes, "seconds", sp.seconds)
				if err := s.startBgsave(s.rdbPath(), nil); err != nil {
					s.log.Warn("background save failed to start", "error", err)
				}
				break
			}
		}
	}
	if !s.childActive() && s.p.scheduled {
		if now-s.p.lastTry > int64(bgsaveRetryDelay/time.Second) || s.p.lastOK {
			s.p.scheduled = false
			if err := s.startBgsave(s.rdbPath(), nil); err != nil {
				s.log.Warn("scheduled background save failed to start", "error", err)
			}
		}
	}
	s.aofCron()
}

// shutdownPersist is SHUTDOWN's persistence work (Redis's
// prepareForShutdown): stop a background save, flush the AOF, and save
// the RDB when save points are configured (or SAVE was given) unless
// NOSAVE. It returns an error when the save failed and force is unset.
// Called under the lock.
func (s *Server) shutdownPersist(save, nosave, force bool) error {
	if s.sentinel != nil {
		// A sentinel has no dataset: SHUTDOWN is always NOSAVE.
		s.p.exited = true
		return nil
	}
	if j := s.p.job; j != nil {
		s.log.Warn("There is a child saving an .rdb. Killing it!")
		s.abortSaveJob()
		// Wait for the writer to remove its temporary file, as Redis
		// waits for the killed child: nothing may touch dir after the
		// server has stopped. Bounded, since a save delay can hold the
		// writer between two checks of the abort.
		s.mu.Unlock()
		select {
		case <-j.done:
		case <-time.After(5 * time.Second):
			s.log.Warn("the aborted background save did not stop within 5s")
		}
		s.mu.Lock()
	}
	if s.ld.active {
		// As Redis: a half-loaded dataset must never overwrite the file.
		save, nosave = false, true
	}
	if (len(s.p.savePoints) > 0 && !nosave) || save {
		s.log.Info("Saving the final RDB snapshot before exiting.")
		if err := s.saveSync(s.rdbPath()); err != nil {
			if !force {
				s.log.Warn("Error trying to save the DB, can't exit.", "error", err)
				return err
			}
			s.log.Warn("Error trying to save the DB. Exit anyway.", "error", err)
		}
	}
	s.aofShutdown()
	s.p.exited = true
	return nil
}

func usedMem() int64 { u, _, _ := memoryUsage(); return int64(u) }

// writePersistenceInfo is INFO persistence.
func writePersistenceInfo(s *Server, b *infoBuf) {
	p := &s.p
	inProgress, cur, keysDone, keysTotal, cow := 0, int64(-1), int64(0), int64(0), int64(0)
	if j := p.job; j != nil && j.aof == nil {
		inProgress = 1
		cur = int64(time.Since(j.start) / time.Second)
	}
	if j := p.job; j != nil {
		keysDone, keysTotal, cow = j.snap.Processed, j.snap.Total, j.snap.CopiedBytes
	}
	status := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "err"
	}
	perc := "0.00"
	if keysTotal > 0 {
		perc = strconv.FormatFloat(float64(keysDone)*100/float64(keysTotal), 'f', 2, 64)
	}
	a := &p.aof
	aofEnabled, rwIn, rwCur := 0, 0, int64(-1)
	if a.on {
		aofEnabled = 1
	}
	if j := p.job; j != nil && j.aof != nil {
		rwIn = 1
		rwCur = int64(time.Since(j.start) / time.Second)
	}
	for _, kv := range []struct {
		k string
		v any
	}{
		{"loading", bit(s.ld.active && !s.ld.async)}, {"async_loading", bit(s.ld.async)}, {"current_cow_peak", cow}, {"current_cow_size", cow},
		{"current_cow_size_age", 0}, {"current_fork_perc", perc}, {"current_save_keys_processed", keysDone},
		{"current_save_keys_total", keysTotal}, {"rdb_changes_since_last_save", s.dirty},
		{"rdb_bgsave_in_progress", inProgress}, {"rdb_last_save_time", p.lastSave},
		{"rdb_last_bgsave_status", status(p.lastOK)}, {"rdb_last_bgsave_time_sec", p.lastDur},
		{"rdb_current_bgsave_time_sec", cur}, {"rdb_saves", p.saves}, {"rdb_last_cow_size", p.lastCow},
		{"rdb_last_load_keys_expired", s.ld.keysExpired}, {"rdb_last_load_keys_loaded", s.ld.keysLoaded},
		{"aof_enabled", aofEnabled}, {"aof_rewrite_in_progress", rwIn}, {"aof_rewrite_scheduled", bit(a.rewriteScheduled)},
		{"aof_last_rewrite_time_sec", a.lastRewriteDur}, {"aof_current_rewrite_time_sec", rwCur},
		{"aof_last_bgrewrite_status", status(a.lastRewriteOK)}, {"aof_rewrites", a.rewrites},
		{"aof_rewrites_consecutive_failures", a.rewriteFailures}, {"aof_last_write_status", status(a.writeErr == "")},
		{"aof_last_cow_size", a.lastCow}, {"module_fork_in_progress", 0}, {"module_fork_last_cow_size", 0},
	} {
		b.kv(kv.k, kv.v)
	}
	if a.on || s.cfg.Bool("appendonly") { // Redis: the option, even while loading
		s.aofInfo(b)
	}
	if s.ld.active {
		s.loadingInfo(b)
	}
}

// persistOnExit is the persistence work of a shutdown not requested by
// SHUTDOWN (a signal): as Redis does on SIGTERM, save when save points
// are configured, and flush the AOF. Called under the lock.
func (s *Server) persistOnExit() {
	if s.p.exited {
		return
	}
	if err := s.shutdownPersist(false, false, true); err != nil {
		s.log.Warn("save on exit failed", "error", err)
	}
}
