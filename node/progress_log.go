package node

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Progress lines of long operations in the log: loading the RDB or the
// AOF at start-up, and a replica's full sync (the transfer, then the load
// of the received file when it outlasts the transfer). INFO persistence's
// loading_* fields and INFO replication's master_sync_* fields report the
// same progress to clients; the log gives it to whoever only reads the
// log, e.g. through a log shipper with log-format json.

// progressEvery is the least time between two progress lines of one
// operation: an operation shorter than that logs none, only its end.
const progressEvery = time.Second

// progressLog writes the progress lines of one operation. It is used by
// one goroutine at a time.
type progressLog struct {
	log   hclog.Logger
	what  string // "loading RDB", "full sync from master", ...
	start time.Time
	last  time.Time
	calls uint32
	total int64 // for tick: the operation's size in bytes (0: not known)
}

func newProgressLog(log hclog.Logger, what string) *progressLog {
	now := time.Now()
	return &progressLog{log: log, what: what, start: now, last: now}
}

// tick is note of done of pl.total bytes for callers that run once per
// key or command: it looks at the clock only every 64 calls.
func (pl *progressLog) tick(done int64) {
	pl.calls++
	if pl.calls%64 == 0 {
		pl.note(done, pl.total)
	}
}

// note logs done of total bytes (total <= 0: not known) when progressEvery
// has passed since the last line (or the start).
func (pl *progressLog) note(done, total int64) {
	if pl == nil || pl.log == nil {
		return
	}
	now := time.Now()
	if now.Sub(pl.last) < progressEvery {
		return
	}
	pl.last = now
	msg, args := progressLine(pl.what, done, total, now.Sub(pl.start))
	pl.log.Info(msg, args...)
}

// progressLine is the text and the fields of a progress line, e.g.
// "loading RDB: 45% (123.0 MB of 270.0 MB), eta 3s".
func progressLine(what string, done, total int64, elapsed time.Duration) (string, []any) {
	if total <= 0 {
		return fmt.Sprintf("%s: %s so far", what, humanBytes(done)),
			[]any{"bytes", done, "elapsed_seconds", int64(elapsed.Seconds())}
	}
	done = min(done, total)
	perc := float64(done) / float64(total) * 100
	eta := int64(0)
	if done > 0 {
		eta = int64((elapsed.Seconds() * float64(total-done) / float64(done)) + 0.5)
	}
	return fmt.Sprintf("%s: %d%% (%s of %s), eta %ds", what, int(perc), humanBytes(done), humanBytes(total), eta),
		[]any{"bytes", done, "total_bytes", total, "perc", fmt.Sprintf("%.2f", perc),
			"elapsed_seconds", int64(elapsed.Seconds()), "eta_seconds", eta}
}

// humanBytes prints a size as Redis's INFO *_human fields do (K, M, G
// with two decimals), but with a B: "123.45 MB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}
