package node

import (
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
)

// MEMORY STATS, DOCTOR, MALLOC-STATS and PURGE.
//
// Redis breaks its allocator's total down into overheads (start-up
// memory, replication and client buffers, script caches, the key
// tables) and the dataset, the rest. Skiff's total is its estimate of
// used_memory (docs/memory.md), and the breakdown below uses the same
// figures INFO memory reports, so that MEMORY STATS and INFO agree.

// memOverhead is the breakdown behind MEMORY STATS and MEMORY DOCTOR
// (Redis's getMemoryOverheadData).
type memOverhead struct {
	total, peak, startup     uint64
	backlog, clientsSlaves   int64
	clientsNormal            int64
	luaCaches, fnCaches      int64
	dbs                      []dbOverhead
	overheadTotal            int64
	keys                     int64
	dataset                  int64
	datasetPerc, peakPerc    float64
	bytesPerKey              int64
	allocated, active, resid uint64 // the allocator.* figures of INFO
	rss                      uint64
}

// dbOverhead is one non-empty database's share of the overhead: its
// key table (Skiff's entry header and table slot per key, the same
// figures entrySize counts), its expiry index (a slot per key with a
// TTL) and, in cluster mode, its slot index.
type dbOverhead struct {
	id                   int
	main, expires, slots int64
}

// Per-key overheads of Skiff's key tables, as objectMemory and entrySize
// (evict.go) count them.
const (
	keyEntryHeader = 56 // the entry: key and value headers, TTL, LRU
	keyTableSlot   = 16 // its slot in the key table
	expireSlot     = 8  // its slot in the expiry index
	slotIndexSlot  = 16 // its links in a cluster node's slot index
)

// memoryOverhead computes the breakdown. It runs under the server lock.
func (s *Server) memoryOverhead() *memOverhead {
	_, total, free := memoryUsage()
	clientsNormal := s.recountClientMem() // before usedMemory, which counts it (outbuf.go)
	used := uint64(s.usedMemory())
	st := s.infoState()
	if used > st.peakMemory {
		st.peakMemory = used
	}
	m := &memOverhead{total: used, peak: st.peakMemory, startup: startupMemory(), rss: processRSS()}
	m.allocated, m.active, m.resid = used, used+free, total
	m.clientsNormal = clientsNormal
	// As INFO memory: the backlog's history, then what replicas have
	// not taken yet.
	m.backlog, m.clientsSlaves = s.replBufferBytes()
	if e := s.scripts.eval; e != nil {
		m.luaCaches = e.BodyBytes()
	}
	if f := s.functions.engine; f != nil {
		m.fnCaches = f.CodeBytes()
	}
	sum := int64(m.startup) + m.backlog + m.clientsSlaves + m.clientsNormal + m.luaCaches + m.fnCaches
	for i, db := range s.store.DBs {
		n := int64(db.Len())
		if n == 0 {
			continue
		}
		d := dbOverhead{id: i, main: n * (keyEntryHeader + keyTableSlot), expires: int64(db.Expires()) * expireSlot}
		if db.SlotIndexEnabled() {
			d.slots = n * slotIndexSlot
		}
		m.keys += n
		sum += d.main + d.expires + d.slots
		m.dbs = append(m.dbs, d)
	}
	m.overheadTotal = sum
	m.dataset = int64(used) - sum
	if m.dataset < 0 {
		m.dataset = 0 // the estimate of the keys is below its own overheads
	}
	if m.peak > 0 {
		m.peakPerc = float64(used) * 100 / float64(m.peak)
	}
	net := uint64(1)
	if used > m.startup {
		net = used - m.startup
	}
	m.datasetPerc = float64(m.dataset) * 100 / float64(net)
	if m.keys > 0 {
		m.bytesPerKey = int64(net) / m.keys
	}
	return m
}

// ratioF is a/b as Redis's float division gives it, 0 when b is 0.
func ratioF(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return float64(float32(a) / float32(b))
}

func cmdMemoryStats(c *Client, args [][]byte) {
	m := c.srv.memoryOverhead()
	w := &c.w
	c.w.AppendMap(27 + len(m.dbs))
	kvInt := func(k string, v int64) {
		w.AppendBulkString(k)
		w.AppendInt(v)
	}
	kvFloat := func(k string, v float64) {
		w.AppendBulkString(k)
		w.AppendDouble(v)
	}
	kvInt("peak.allocated", int64(m.peak))
	kvInt("total.allocated", int64(m.total))
	kvInt("startup.allocated", int64(m.startup))
	kvInt("replication.backlog", m.backlog)
	kvInt("clients.slaves", m.clientsSlaves)
	kvInt("clients.normal", m.clientsNormal)
	kvInt("cluster.links", 0)
	kvInt("aof.buffer", 0)
	kvInt("lua.caches", m.luaCaches)
	kvInt("functions.caches", m.fnCaches)
	for _, d := range m.dbs {
		w.AppendBulkString("db." + strconv.Itoa(d.id))
		w.AppendMap(3)
		kvInt("overhead.hashtable.main", d.main)
		kvInt("overhead.hashtable.expires", d.expires)
		kvInt("overhead.hashtable.slot-to-keys", d.slots)
	}
	kvInt("overhead.total", m.overheadTotal)
	kvInt("keys.count", m.keys)
	kvInt("keys.bytes-per-key", m.bytesPerKey)
	kvInt("dataset.bytes", m.dataset)
	// Redis computes the percentages and ratios in single precision.
	kvFloat("dataset.percentage", float64(float32(m.datasetPerc)))
	kvFloat("peak.percentage", float64(float32(m.peakPerc)))
	kvInt("allocator.allocated", int64(m.allocated))
	kvInt("allocator.active", int64(m.active))
	kvInt("allocator.resident", int64(m.resid))
	kvFloat("allocator-fragmentation.ratio", ratioF(m.active, m.allocated))
	kvInt("allocator-fragmentation.bytes", int64(m.active)-int64(m.allocated))
	kvFloat("allocator-rss.ratio", ratioF(m.resid, m.active))
	kvInt("allocator-rss.bytes", int64(m.resid)-int64(m.active))
	kvFloat("rss-overhead.ratio", ratioF(m.rss, m.resid))
	kvInt("rss-overhead.bytes", int64(m.rss)-int64(m.resid))
	kvFloat("fragmentation", ratioF(m.rss, m.total))
	kvInt("fragmentation.bytes", int64(m.rss)-int64(m.total))
}

// The texts of MEMORY DOCTOR's report are Redis's, so that tools which
// recognise them keep working; the conditions are Redis's, applied to
// Skiff's figures.
const (
	doctorNoIssue = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
	doctorEmpty   = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
	doctorHead    = "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
	doctorTail    = "I'm here to keep you safe, Sam. I want to help you.\n"

	doctorPeak        = " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n"
	doctorHighFrag    = " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"%s\".\n\n"
	doctorAllocFrag   = " * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n"
	doctorAllocRSS    = " * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n"
	doctorProcRSS     = " * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n"
	doctorSlaveBuf    = " * Big replica buffers: The replica output buffers in this instance are greater than 10MB for each replica (on average). This likely means that there is some replica instance that is struggling receiving data, either because it is too slow or because of networking issues. As a result, data piles on the master output buffers. Please try to identify what replica is not receiving data correctly and why. You can use the INFO output in order to check the replicas delays and the CLIENT LIST command to check the output buffers of each replica.\n\n"
	doctorClientBuf   = " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n"
	doctorManyScripts = " * Many scripts: There seem to be many cached scripts in this instance (more than 1000). This may be because scripts are generated and `EVAL`ed, instead of being parameterized (with KEYS and ARGV), `SCRIPT LOAD`ed and `EVALSHA`ed. Unless `SCRIPT FLUSH` is called periodically, the scripts' caches may end up consuming most of your memory.\n\n"
)

// memoryDoctorReport is MEMORY DOCTOR's text.
func (s *Server) memoryDoctorReport() string {
	m := s.memoryOverhead()
	if m.total < 5<<20 {
		return doctorEmpty
	}
	var issues []string
	const tenMB = 10 << 20
	over := func(a, b uint64, ratio float64) bool {
		return ratioF(a, b) > ratio && int64(a)-int64(b) > tenMB
	}
	if ratioF(m.peak, m.total) > 1.5 {
		issues = append(issues, doctorPeak)
	}
	if over(m.rss, m.total, 1.4) {
		issues = append(issues, fmt.Sprintf(doctorHighFrag, "go"))
	}
	if over(m.active, m.allocated, 1.1) {
		issues = append(issues, doctorAllocFrag)
	}
	if over(m.resid, m.active, 1.1) {
		issues = append(issues, doctorAllocRSS)
	}
	if over(m.rss, m.resid, 1.1) {
		issues = append(issues, doctorProcRSS)
	}
	replicas := int64(len(s.repl.replicas))
	if replicas > 0 && m.clientsSlaves > tenMB {
		issues = append(issues, doctorSlaveBuf)
	}
	if clients := int64(len(s.clients)) - replicas; clients > 0 && m.clientsNormal/clients > 200<<10 {
		issues = append(issues, doctorClientBuf)
	}
	if e := s.scripts.eval; e != nil && e.Len() > 1000 {
		issues = append(issues, doctorManyScripts)
	}
	if len(issues) == 0 {
		return doctorNoIssue
	}
	return doctorHead + strings.Join(issues, "") + doctorTail
}

func cmdMemoryDoctor(c *Client, args [][]byte) {
	c.w.AppendVerbatim(c.srv.memoryDoctorReport())
}

// cmdMemoryMallocStats reports what Go's allocator says about itself,
// as Redis built with jemalloc prints jemalloc's statistics: every
// memory class of the runtime and the collector's figures, from
// runtime/metrics.
func cmdMemoryMallocStats(c *Client, args [][]byte) {
	c.w.AppendVerbatim(goAllocatorStats())
}

func goAllocatorStats() string {
	var samples []metrics.Sample
	for _, d := range metrics.All() {
		if strings.HasPrefix(d.Name, "/memory/classes/") || strings.HasPrefix(d.Name, "/gc/") {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	var b strings.Builder
	b.WriteString("___ Begin Go runtime memory statistics ___\n")
	for _, sm := range samples {
		switch sm.Value.Kind() {
		case metrics.KindUint64:
			fmt.Fprintf(&b, "%s: %d\n", sm.Name, sm.Value.Uint64())
		case metrics.KindFloat64:
			fmt.Fprintf(&b, "%s: %g\n", sm.Name, sm.Value.Float64())
		}
	}
	b.WriteString("--- End Go runtime memory statistics ---\n")
	return b.String()
}

// cmdMemoryPurge returns the heap's free pages to the operating system,
// as Redis asks jemalloc to purge its dirty pages. It runs a full
// collection first, so on a large heap it takes as long as one.
func cmdMemoryPurge(c *Client, args [][]byte) {
	debug.FreeOSMemory()
	c.replyOK()
}
