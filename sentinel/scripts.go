package sentinel

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/internal/resp"
)

// Script execution follows Redis's rules: notification-script and
// client-reconfig-script runs are queued (at most scriptMaxQueue, the oldest
// waiting one dropped first), at most scriptMaxRunning run at once, a run
// longer than SENTINEL DEBUG's script-max-runtime is killed (-script-timeout),
// and a run that ends by a signal or with exit code 1 is retried, up to
// scriptMaxRetry runs, after script-retry-delay doubled at each retry. Any
// other non-zero end is reported as -script-error <path> <signal> <code>.
// The program is executed directly (no shell), with the sentinel's
// environment and no standard input or output.
const (
	scriptMaxQueue   = 256
	scriptMaxRunning = 16
	scriptMaxRetry   = 10
	scriptMaxArgs    = 16
	// scriptPoll is how often queued runs are started and run times
	// checked, as Redis does it from its timer.
	scriptPoll = 100 * time.Millisecond
)

// scriptJob is one queued run.
type scriptJob struct {
	argv     []string
	running  bool
	start    time.Time // running: when it started; waiting: not before (zero = now)
	retryNum int
	pid      int
	proc     *exec.Cmd
	killed   bool
}

// scriptQueue runs notification-script and client-reconfig-script. All its
// fields are guarded by Engine.mu; a goroutine drives it while it holds jobs.
type scriptQueue struct {
	e       *Engine
	jobs    []*scriptJob
	running int
	active  bool          // the driving goroutine is running
	wake    chan struct{} // starts queued jobs without waiting for the next poll

}

func newScriptQueue(e *Engine) *scriptQueue {
	return &scriptQueue{e: e, wake: make(chan struct{}, 1)}
}

// schedule queues one run of path with args. Called with Engine.mu held.
func (q *scriptQueue) schedule(path string, args ...string) {
	if len(args) > scriptMaxArgs-1 {
		args = args[:scriptMaxArgs-1]
	}
	argv := append([]string{path}, args...)
	q.jobs = append(q.jobs, &scriptJob{argv: argv})
	if len(q.jobs) > scriptMaxQueue {
		for i, j := range q.jobs {
			if !j.running {
				q.jobs = append(q.jobs[:i], q.jobs[i+1:]...)
				break
			}
		}
	}
	if !q.active {
		q.active = true
		go q.drive()
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// counts are INFO's sentinel_running_scripts and
// sentinel_scripts_queue_length (the queue counts running jobs too).
func (q *scriptQueue) counts() (running, queued int) { return q.running, len(q.jobs) }

// drive starts queued runs and kills overdue ones until the queue is empty
// or the engine stops.
func (q *scriptQueue) drive() {
	e := q.e
	t := time.NewTicker(scriptPoll)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-q.wake:
		case <-e.stop:
		}
		select {
		case <-e.stop:
			// Running programs finish on their own; waiting runs are
			// dropped with the engine.
			e.mu.Lock()
			q.active = false
			e.mu.Unlock()
			return
		default:
		}
		e.mu.Lock()
		now := time.Now()
		q.runPendingLocked(now)
		q.killTimedOutLocked(now)
		done := len(q.jobs) == 0
		if done {
			q.active = false
		}
		e.unlock()
		if done {
			return
		}
	}
}

// retryDelay is the wait before run retryNum+1: script-retry-delay, doubled
// for every retry after the first.
func (q *scriptQueue) retryDelay(retryNum int) time.Duration {
	d := q.e.timing.scriptRetryDelay
	for ; retryNum > 1; retryNum-- {
		d *= 2
	}
	return msDur(d)
}

// runPendingLocked starts waiting jobs, oldest first, up to the limit.
func (q *scriptQueue) runPendingLocked(now time.Time) {
	// A job whose program cannot start leaves the queue: walk a copy.
	for _, j := range append([]*scriptJob(nil), q.jobs...) {
		if q.running >= scriptMaxRunning {
			return
		}
		if j.running || (!j.start.IsZero() && j.start.After(now)) {
			continue
		}
		j.running = true
		j.start = now
		j.retryNum++
		j.killed = false
		cmd := &exec.Cmd{Path: j.argv[0], Args: j.argv}
		q.running++
		if err := cmd.Start(); err != nil {
			// Redis's child exits with 2 when exec fails: not retried.
			q.finishedLocked(j, 0, 2)
			continue
		}
		j.proc = cmd
		j.pid = cmd.Process.Pid
		q.e.event(hclog.Debug, "+script-child", nil, strconv.Itoa(j.pid))
		go q.wait(j, cmd)
	}
}

// wait reaps one run and records how it ended.
func (q *scriptQueue) wait(j *scriptJob, cmd *exec.Cmd) {
	err := cmd.Wait()
	sig, code := 0, 0
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		code = 2
	} else if ps := cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig = int(ws.Signal())
		} else {
			code = ps.ExitCode()
		}
	}
	e := q.e
	e.mu.Lock()
	e.event(hclog.Debug, "-script-child", nil, fmt.Sprintf("%d %d %d", j.pid, code, sig))
	q.finishedLocked(j, sig, code)
	e.unlock()
	select { // a slot is free: start the next waiting run now
	case q.wake <- struct{}{}:
	default:
	}
}

// finishedLocked handles the end of a run: retried after a signal or exit
// code 1 while retries are left, otherwise removed (with -script-error if
// it failed).
func (q *scriptQueue) finishedLocked(j *scriptJob, sig, code int) {
	q.running--
	j.running = false
	j.pid = 0
	j.proc = nil
	if (sig != 0 || code == 1) && j.retryNum != scriptMaxRetry {
		j.start = time.Now().Add(q.retryDelay(j.retryNum))
		return
	}
	if sig != 0 || code != 0 {
		q.e.event(hclog.Warn, "-script-error", nil, fmt.Sprintf("%s %d %d", j.argv[0], sig, code))
	}
	for i, x := range q.jobs {
		if x == j {
			q.jobs = append(q.jobs[:i], q.jobs[i+1:]...)
			break
		}
	}
}

// killTimedOutLocked kills runs longer than script-max-runtime; wait then
// sees the signal (and retries the job).
func (q *scriptQueue) killTimedOutLocked(now time.Time) {
	limit := msDur(q.e.timing.scriptMaxRuntime)
	for _, j := range q.jobs {
		if j.running && !j.killed && j.proc != nil && now.Sub(j.start) > limit {
			j.killed = true
			q.e.event(hclog.Warn, "-script-timeout", nil, fmt.Sprintf("%s %d", j.argv[0], j.pid))
			_ = j.proc.Process.Kill()
		}
	}
}

// appendPending writes SENTINEL PENDING-SCRIPTS: one map per queued job.
func (q *scriptQueue) appendPending(w *resp.Writer, now time.Time) {
	w.AppendArray(len(q.jobs))
	for _, j := range q.jobs {
		w.AppendMap(5)
		w.AppendBulkString("argv")
		w.AppendArray(len(j.argv))
		for _, a := range j.argv {
			w.AppendBulkString(a)
		}
		w.AppendBulkString("flags")
		if j.running {
			w.AppendBulkString("running")
		} else {
			w.AppendBulkString("scheduled")
		}
		w.AppendBulkString("pid")
		w.AppendBulkString(strconv.Itoa(j.pid))
		if j.running {
			w.AppendBulkString("run-time")
			w.AppendBulkInt(now.Sub(j.start).Milliseconds())
		} else {
			var delay int64
			if !j.start.IsZero() {
				delay = max(j.start.Sub(now).Milliseconds(), 0)
			}
			w.AppendBulkString("run-delay")
			w.AppendBulkInt(delay)
		}
		w.AppendBulkString("retry-num")
		w.AppendBulkInt(int64(j.retryNum))
	}
}
