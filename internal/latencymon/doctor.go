package latencymon

import (
	"fmt"
	"strings"
)

// DoctorEnv is what the doctor's advice depends on besides the samples.
type DoctorEnv struct {
	Now              int64 // unix seconds
	Threshold        int64 // latency-monitor-threshold, ms
	SlowlogThreshold int64 // slowlog-log-slower-than, µs (<0 disabled)
	Hz               int
	FsyncAlways      bool // appendfsync always
}

// advice is one recommendation; the report lists each at most once, in
// this order, whatever events asked for it.
type advice int

const (
	adviseSlowlogEnable advice = iota
	adviseSlowlogTune
	adviseSlowlogInspect
	adviseScheduler
	adviseLocalDisk
	adviseSSD
	adviseWriteback
	adviseDiskContention
	adviseNoFsyncOnRewrite
	adviseRelaxFsync
	adviseWriteLoad
	adviseHz
	adviseLargeObjects
	adviseMassEviction
	nAdvice
)

// eventAdvice lists what each known event suggests looking at.
var eventAdvice = map[string][]advice{
	"fast-command":            {adviseScheduler},
	"aof-write-pending-fsync": {adviseLocalDisk, adviseDiskContention, adviseSSD, adviseWriteback},
	"aof-write-active-child":  {adviseNoFsyncOnRewrite, adviseWriteback, adviseSSD},
	"aof-write-alone":         {adviseLocalDisk, adviseWriteback, adviseSSD},
	"aof-fsync-always":        {adviseRelaxFsync},
	"aof-fstat":               {adviseDiskContention, adviseLocalDisk},
	"rdb-unlink-temp-file":    {adviseDiskContention, adviseLocalDisk},
	"aof-rewrite-diff-write":  {adviseWriteLoad, adviseWriteback, adviseSSD, adviseLocalDisk},
	"aof-rename":              {adviseWriteLoad, adviseWriteback, adviseSSD, adviseLocalDisk},
	"expire-cycle":            {adviseHz, adviseLargeObjects},
	"eviction-del":            {adviseLargeObjects},
	"eviction-cycle":          {adviseMassEviction},
}

// Doctor writes LATENCY DOCTOR's report: a line per event with its
// statistics, then the advice those events call for. The structure (and
// the per-event line, which tools parse) follows Redis's report.
func (m *Monitor) Doctor(env DoctorEnv) string {
	var b strings.Builder
	if len(m.events) == 0 && env.Threshold == 0 {
		b.WriteString("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this instance. " +
			"Enable it with \"CONFIG SET latency-monitor-threshold <milliseconds>.\" " +
			"(see https://redis.io/topics/latency-monitor).\n")
		return b.String()
	}
	var want [nAdvice]bool
	advices := 0
	ask := func(as ...advice) {
		for _, a := range as {
			want[a] = true
			advices++
		}
	}
	for i, name := range m.order {
		if i == 0 {
			b.WriteString("Dave, I have observed latency spikes in this instance. You don't mind talking about it, do you Dave?\n\n")
		}
		st := m.Analyze(name, env.Now)
		fmt.Fprintf(&b, "%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). Worst all time event %dms.",
			i+1, name, st.Samples, st.Avg, st.MAD, float64(st.Period)/float64(max(st.Samples, 1)), st.AllTimeHigh)
		if strings.EqualFold(name, "command") {
			if env.SlowlogThreshold < 0 {
				ask(adviseSlowlogEnable)
			} else if env.SlowlogThreshold/1000 > env.Threshold {
				ask(adviseSlowlogTune)
			}
			ask(adviseSlowlogInspect, adviseLargeObjects)
		}
		ask(eventAdvice[strings.ToLower(name)]...)
		b.WriteByte('\n')
	}
	switch {
	case len(m.events) == 0 && advices == 0:
		b.WriteString("Dave, no latency spike was observed during the lifetime of this instance, not in the slightest bit. " +
			"I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n")
		return b.String()
	case advices == 0:
		b.WriteString("\nWhile there are latency events logged, I'm not able to suggest any easy fix. " +
			"Please ask for help, providing this report.\n")
		return b.String()
	}
	b.WriteString("\nI have a few advices for you:\n\n")
	th := env.Threshold * 1000
	texts := [nAdvice]string{
		adviseSlowlogEnable: fmt.Sprintf("- Potentially slow commands ran while the Slow Log is disabled. Enable it with 'CONFIG SET slowlog-log-slower-than %d' to see which ones.\n", th),
		adviseSlowlogTune:   fmt.Sprintf("- The Slow Log only records commands slower than the latency monitor threshold. Use 'CONFIG SET slowlog-log-slower-than %d'.\n", th),
		adviseSlowlogInspect: "- Check the Slow Log (SLOWLOG GET) to find the commands that are too slow to execute: " +
			"see https://redis.io/commands/slowlog.\n",
		adviseScheduler: "- The system is slow to run code paths that make no system call: the process is likely not given CPU time for long periods. You should try to:\n" +
			"  1) Lower the system load.\n" +
			"  2) Run the server on a computer / VM of its own.\n" +
			"  3) Check for a \"noisy neighbour\" on the same host.\n" +
			"  4) Measure the intrinsic latency of the system with 'redis-cli --intrinsic-latency 100'.\n",
		adviseLocalDisk:      "- Use local disks for persistence, above all with AOF: remote disks of platform-as-a-service providers are known to be slow.\n",
		adviseSSD:            "- SSD disks reduce fsync latency and the time needed to write snapshots and rewrite the AOF. Use this advice as a last resort.\n",
		adviseWriteback:      "- ext3/4 filesystems mounted with data=writeback can be faster than data=ordered, with weaker guarantees: after a hard crash the AOF may end with a half-written command that needs repairing.\n",
		adviseDiskContention: "- Lower the disk contention, often caused by other disk-intensive processes on the same computer (other database instances included).\n",
		adviseNoFsyncOnRewrite: "- If your data safety needs allow it, enable 'no-appendfsync-on-rewrite', so that no fsync is done while a snapshot or an AOF rewrite " +
			"writes (when the disk is busiest).\n",
		adviseRelaxFsync:   "- Your fsync policy is 'always', which is very hard to make fast. If you can, relax it to 'everysec'.\n",
		adviseWriteLoad:    "- Latency of the AOF rename or of the final flush of a rewrite often comes from a very high write load and a large AOF buffer. If you can, send fewer commands for the same work, for example by grouping them in scripts.\n",
		adviseHz:           "- To make key expiry more incremental, set 'hz' to 100 with 'CONFIG SET hz 100'.\n",
		adviseLargeObjects: "- Deleting, expiring or evicting large objects blocks the server. If very large objects are often deleted, expired or evicted, split them into several smaller ones (or enable the lazyfree-lazy-* options).\n",
		adviseMassEviction: "- Sudden changes of 'maxmemory' with CONFIG SET, or large allocations (set or sorted set intersections, SORT ... STORE, large keys migrated with RESTORE), can create sudden memory pressure that makes the server block while it evicts keys.\n",
	}
	for a := advice(0); a < nAdvice; a++ {
		if !want[a] {
			continue
		}
		if a == adviseRelaxFsync && !env.FsyncAlways || a == adviseHz && env.Hz >= 100 {
			continue
		}
		b.WriteString(texts[a])
	}
	return b.String()
}
