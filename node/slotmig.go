package node

// Atomic slot migration (docs/slot-migration.md), Valkey 9.0's CLUSTER
// MIGRATESLOTS / GETSLOTMIGRATIONS / CANCELSLOTMIGRATIONS: the source
// master streams the chosen slots to the target master over one RESP
// connection (slotmig_export.go) and the target loads them into slots it
// does not serve yet (slotmig_import.go); one Raft entry (fsm/slotmove.go)
// then moves their ownership, or records that the job never will.
//
// A job is the same object on both ends, seen as an EXPORT on the source
// and an IMPORT on the target; its state lives in memory only (lost on a
// restart, as in Valkey), the outcome in the Raft log.

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/replication"
	"github.com/skiffdb/skiff/slots"
	"github.com/skiffdb/skiff/store"
)

// clientImport marks the connection a source streams a job's slots on:
// its commands are served whatever slot they touch (clusterAdmit).
const clientImport = 1 << 27

// Job states, as GETSLOTMIGRATIONS shows them.
const (
	jobConnecting   = "connecting"
	jobSnapshotting = "snapshotting"
	jobStreaming    = "streaming"
	jobPaused       = "waiting-for-failover" // writes paused, the flip committing
	jobImporting    = "importing"            // the target's side while data flows
	jobSettling     = "settling"             // the target's side after the stream ended
	jobSuccess      = "success"
	jobFailed       = "failed"
	jobCancelled    = "cancelled"
)

// asmLogMax is how many finished jobs GETSLOTMIGRATIONS keeps showing
// (Valkey's cluster-slot-migration-log-max-len default).
const asmLogMax = 1000

// asmState is the server's atomic slot migration state (under s.mu).
type asmState struct {
	jobs     []*slotJob         // oldest first
	byClient map[int64]*slotJob // import jobs by their connection's client id
	exports  int                // running export jobs: the write hook's cheap test
	paused   int                // export jobs with writes paused
	keys     [][]byte           // scratch of the write hook
	// delay slows the copy down to one slot per delay (CLUSTER
	// SKIFF-ASM-DELAY <ms>, for tests that act in the middle of a job).
	delay time.Duration
}

// slotJob is one migration, on either end.
type slotJob struct {
	name           string
	export         bool
	source, target string // node ids
	set            slots.Set
	state, message string
	created        time.Time
	updated        time.Time
	lastAck        atomic.Int64 // unix seconds of the last reply from the other end

	// Export side (under s.mu unless atomic).
	streaming slots.Set           // slots whose writes are forwarded
	holding   slots.Set           // of those, slots whose writes wait behind a big key (held)
	prealloc  map[string][]string // room for big keys' elements, made outside the lock
	held      map[int]*heldWrites
	out       *replication.Outbound
	conn      net.Conn
	buf       []byte
	batch     []byte
	entries   []*store.Entry // the copy step's slot, reused
	pre       []byte         // the copy step's batch before its last slot
	payload   []byte
	sent      int64 // commands written to out
	lastLoad  int64 // sent when the last SKIFF-LOAD was written
	acked     atomic.Int64
	ackCh     chan struct{} // a reply arrived
	failCh    chan struct{} // closed on the first failure (fail)
	failErr   error
	cancelCh  chan struct{} // closed by a cancel
	cancelled bool
	paused    bool
	pauseCh   chan struct{} // closed when the writes resume
	pauseTook time.Duration // how long writes were held at the flip
	// when, into the pause, the target had confirmed the final offset
	// and the flip had committed (the rest: the target's view)
	pauseSteps [2]time.Duration
	keysSent   int64
	dropping   bool // success: the source still deletes the slots' keys

	// Import side.
	client   *Client
	keysRecv int64
	pipe     *loadPipe // decodes SKIFF-LOAD's batches (slotmig_load.go)
	raisedGC bool      // loadingGC(true) is owed its loadingGC(false)
}

// heldWrites are forwarded writes of one slot waiting behind a big key.
type heldWrites struct {
	b []byte
	n int64
}

func newJobName() string {
	var b [20]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) asm() *asmState {
	if s.cl == nil {
		return nil
	}
	return s.cl.asm
}

func (a *asmState) add(j *slotJob) {
	a.jobs = append(a.jobs, j)
	if len(a.jobs) <= asmLogMax {
		return
	}
	for i, x := range a.jobs {
		if x.finished() {
			a.jobs = append(a.jobs[:i:i], a.jobs[i+1:]...)
			return
		}
	}
}

func (j *slotJob) finished() bool {
	return j.state == jobSuccess || j.state == jobFailed || j.state == jobCancelled
}

func (j *slotJob) setState(st string) {
	j.state = st
	j.updated = time.Now()
}

// rangesText is the job's slots as Valkey prints them: "0-10 20-30".
func (j *slotJob) rangesText() string {
	var b []byte
	j.set.EachRange(func(r slots.Range) bool {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(r.Start), 10)
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(r.End), 10)
		return true
	})
	return string(b)
}

// cmdClusterASM handles the atomic slot migration subcommands of CLUSTER
// (and the Skiff-internal ones between nodes); it reports false for any
// other subcommand.
func (s *Server) cmdClusterASM(c *Client, args [][]byte) bool {
	sub := strings.ToLower(string(args[1]))
	switch sub {
	case "migrateslots":
		s.cmdMigrateSlots(c, args)
	case "getslotmigrations":
		if len(args) != 2 {
			c.replyError("ERR wrong number of arguments for 'cluster|getslotmigrations' command")
			return true
		}
		s.replySlotJobs(c)
	case "cancelslotmigrations":
		if len(args) != 2 {
			c.replyError("ERR wrong number of arguments for 'cluster|cancelslotmigrations' command")
			return true
		}
		s.cancelExports(nil)
		c.replyOK()
	case "migration":
		s.cmdMigration(c, args) // slotmig_redis.go
	case "skiff-export":
		s.cmdSkiffExport(c, args)
	case "skiff-import":
		s.cmdSkiffImport(c, args)
	case "skiff-load":
		s.cmdSkiffLoad(c, args)
	case "skiff-flipped":
		s.cmdSkiffFlipped(c, args)
	case "skiff-asm-delay":
		ms, err := strconv.ParseInt(string(args[len(args)-1]), 10, 64)
		if len(args) != 3 || err != nil || ms < 0 {
			c.replyError("ERR usage: CLUSTER SKIFF-ASM-DELAY <ms per slot>")
			return true
		}
		s.asm().delay = time.Duration(ms) * time.Millisecond
		c.replyOK()
	default:
		return false
	}
	return true
}

// parseSlotPairs parses "start end [start end ...]" into a set; dup
// reports the first slot given twice.
func parseSlotPairs(args [][]byte) (set slots.Set, msg string) {
	if len(args) == 0 || len(args)%2 != 0 {
		return set, "ERR syntax error"
	}
	for i := 0; i < len(args); i += 2 {
		a, err1 := slots.ParseSlot(string(args[i]))
		b, err2 := slots.ParseSlot(string(args[i+1]))
		if err1 != nil || err2 != nil {
			return set, "ERR Invalid or out of range slot"
		}
		if a > b {
			return set, fmt.Sprintf("ERR start slot number %d is greater than end slot number %d", a, b)
		}
		for sl := a; sl <= b; sl++ {
			if set.Has(sl) {
				return set, fmt.Sprintf("ERR Slot %d specified multiple times", sl)
			}
			set.Add(sl)
		}
	}
	return set, ""
}

// cmdMigrateSlots is CLUSTER MIGRATESLOTS SLOTSRANGE s e [s e ...] NODE
// id [SLOTSRANGE ... NODE id ...]: one export job per NODE block, all
// checked before any starts.
func (s *Server) cmdMigrateSlots(c *Client, args [][]byte) { s.migrateSlots(c, args, "") }

// cmdSkiffExport is CLUSTER SKIFF-EXPORT <job> SLOTSRANGE ... NODE <id>:
// MIGRATESLOTS with one NODE block and the job's name chosen by the
// target (CLUSTER MIGRATION IMPORT, slotmig_redis.go).
func (s *Server) cmdSkiffExport(c *Client, args [][]byte) {
	if len(args) < 7 || len(args[2]) == 0 {
		c.replyError("ERR wrong number of arguments for 'cluster|skiff-export' command")
		return
	}
	fwd := append([][]byte{args[0], []byte("MIGRATESLOTS")}, args[3:]...)
	s.migrateSlots(c, fwd, string(args[2]))
}

// migrateSlots checks and starts MIGRATESLOTS's jobs; name, when given,
// names the only job.
func (s *Server) migrateSlots(c *Client, args [][]byte, name string) {
	a := s.asm()
	v := s.cl.node.View()
	if !v.Self.Master {
		c.replyError("ERR Slot migration can only be started on a primary node")
		return
	}
	type plan struct {
		set    slots.Set
		target string
	}
	var plans []plan
	var all slots.Set
	for i := 2; i < len(args); {
		if !strings.EqualFold(string(args[i]), "slotsrange") {
			c.replySyntax()
			return
		}
		j := i + 1
		for j < len(args) && !strings.EqualFold(string(args[j]), "node") {
			j++
		}
		if j+1 >= len(args) {
			c.replySyntax()
			return
		}
		set, msg := parseSlotPairs(args[i+1 : j])
		if msg != "" {
			c.replyError(msg)
			return
		}
		id := string(args[j+1])
		t := v.Node(id)
		switch {
		case t == nil:
			c.replyErrorf("ERR Unknown node %s", id)
			return
		case t == v.Self:
			c.replyError("ERR Target node can not be this node")
			return
		case !t.Master:
			c.replyError("ERR Target node is not a primary")
			return
		}
		for sl := set.Next(0); sl >= 0; sl = set.Next(sl + 1) {
			if v.Owner[sl] != v.Self {
				c.replyErrorf("ERR I'm not the owner of hash slot %d", sl)
				return
			}
			if all.Has(sl) {
				c.replyErrorf("ERR Slot %d specified multiple times", sl)
				return
			}
			if v.Migrating[sl] != nil || v.Importing[sl] != nil {
				c.replyErrorf("ERR Slot %d has an open migration (CLUSTER SETSLOT); close it first", sl)
				return
			}
			all.Add(sl)
		}
		plans = append(plans, plan{set, id})
		i = j + 2
	}
	if len(plans) == 0 {
		c.replyError("ERR wrong number of arguments for 'cluster|migrateslots' command")
		return
	}
	for _, j := range a.jobs {
		if j.finished() || !j.export {
			continue
		}
		for sl := all.Next(0); sl >= 0; sl = all.Next(sl + 1) {
			if j.set.Has(sl) {
				c.replyErrorf("ERR Slot %d is already being migrated", sl)
				return
			}
		}
	}
	if name != "" && len(plans) != 1 {
		c.replyError("ERR SKIFF-EXPORT takes one NODE block")
		return
	}
	for _, p := range plans {
		n := name
		if n == "" {
			n = newJobName()
		}
		s.startExport(n, p.target, p.set)
	}
	c.replyOK()
}

// startExport starts an export job (locked).
func (s *Server) startExport(name, target string, set slots.Set) *slotJob {
	j := &slotJob{name: name, export: true, source: s.cl.node.ID(), target: target, set: set,
		created: time.Now(), ackCh: make(chan struct{}, 1), failCh: make(chan struct{}), cancelCh: make(chan struct{})}
	j.setState(jobConnecting)
	s.asm().add(j)
	go s.runExport(j)
	return j
}

// cancelExports cancels the running export jobs (all of them when only
// is nil) and returns how many it cancelled (locked).
func (s *Server) cancelExports(only func(*slotJob) bool) int {
	n := 0
	for _, j := range s.asm().jobs {
		if !j.export || j.finished() || j.cancelled || (only != nil && !only(j)) {
			continue
		}
		j.cancelled = true
		close(j.cancelCh)
		n++
	}
	return n
}

// replySlotJobs is CLUSTER GETSLOTMIGRATIONS: one map per job, Valkey's
// fields in Valkey's order.
func (s *Server) replySlotJobs(c *Client) {
	jobs := s.asm().jobs
	c.w.AppendArray(len(jobs))
	for _, j := range jobs {
		op, source, target := "IMPORT", j.source, j.target
		if j.export {
			op = "EXPORT"
		}
		c.w.AppendMap(11)
		c.w.AppendBulkString("name")
		c.w.AppendBulkString(j.name)
		c.w.AppendBulkString("operation")
		c.w.AppendBulkString(op)
		c.w.AppendBulkString("slot_ranges")
		c.w.AppendBulkString(j.rangesText())
		c.w.AppendBulkString("target_node")
		c.w.AppendBulkString(target)
		c.w.AppendBulkString("source_node")
		c.w.AppendBulkString(source)
		c.w.AppendBulkString("create_time")
		c.w.AppendInt(j.created.Unix())
		c.w.AppendBulkString("last_update_time")
		c.w.AppendInt(j.updated.Unix())
		c.w.AppendBulkString("last_ack_time")
		c.w.AppendInt(j.lastAck.Load())
		c.w.AppendBulkString("state")
		c.w.AppendBulkString(j.state)
		c.w.AppendBulkString("message")
		c.w.AppendBulkString(j.message)
		c.w.AppendBulkString("cow_size")
		c.w.AppendInt(0)
	}
}
