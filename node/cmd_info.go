package node

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func init() {
	register(&Command{Name: "info", Arity: -1, Flags: "loading stale", Group: "server", Since: "1.0.0", Summary: "Returns information and statistics about the server.", Complexity: "O(1)", ACL: []string{"dangerous"}, Handler: cmdInfo})
}

// infoSection renders one INFO section (without its header line).
type infoSection struct {
	name string
	fn   func(s *Server, b *infoBuf)
}

// infoSections are every section in Redis 7.0's order. Default marks the
// sections that INFO without arguments (and INFO default) prints.
var infoSections = []struct {
	infoSection
	def bool
}{
	{infoSection{"Server", infoServer}, true},
	{infoSection{"Clients", infoClients}, true},
	{infoSection{"Memory", infoMemory}, true},
	{infoSection{"Persistence", infoPersistence}, true},
	{infoSection{"Stats", infoStats}, true},
	{infoSection{"Replication", func(s *Server, b *infoBuf) { replicationInfo(s, b) }}, true},
	{infoSection{"CPU", infoCPU}, true},
	{infoSection{"Modules", func(s *Server, b *infoBuf) {}}, true},
	{infoSection{"Commandstats", infoCommandStats}, false},
	{infoSection{"Errorstats", infoErrorStats}, true},
	{infoSection{"Latencystats", infoLatencyStats}, false},
	{infoSection{"Cluster", infoCluster}, true},
	{infoSection{"Keyspace", infoKeyspace}, true},
}

// infoBuf accumulates "name:value\r\n" lines.
type infoBuf struct{ strings.Builder }

func (b *infoBuf) kv(name string, v any) {
	b.WriteString(name)
	b.WriteByte(':')
	switch x := v.(type) {
	case string:
		b.WriteString(x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	default:
		fmt.Fprint(b, x)
	}
	b.WriteString("\r\n")
}

// serverInfoState is per-server INFO bookkeeping that the server struct
// does not carry: the replication id until replication owns one, the
// memory peak and the samples behind instantaneous_ops_per_sec.
type serverInfoState struct {
	replID      string
	peakMemory  uint64
	lastSample  time.Time
	lastCmds    int64
	lastIn      int64
	lastOut     int64
	opsPerSec   int64
	inKbps      float64
	outKbps     float64
	lastSaveSec int64
}

var (
	infoStatesMu sync.Mutex
	infoStates   = map[*Server]*serverInfoState{}
)

func (s *Server) infoState() *serverInfoState {
	infoStatesMu.Lock()
	defer infoStatesMu.Unlock()
	st := infoStates[s]
	if st == nil {
		var id [20]byte
		rand.Read(id[:])
		st = &serverInfoState{replID: hex.EncodeToString(id[:]), lastSample: s.startTime, lastSaveSec: s.startTime.Unix()}
		infoStates[s] = st
	}
	return st
}

// replicationInfo writes INFO replication. The replication package
// replaces it; until then the server is a master without replicas.
var replicationInfo = func(s *Server, b *infoBuf) {
	st := s.infoState()
	b.kv("role", "master")
	b.kv("connected_slaves", 0)
	b.kv("master_failover_state", "no-failover")
	b.kv("master_replid", st.replID)
	b.kv("master_replid2", strings.Repeat("0", 40))
	b.kv("master_repl_offset", 0)
	b.kv("second_repl_offset", -1)
	b.kv("repl_backlog_active", 0)
	b.kv("repl_backlog_size", s.cfg.Int("repl-backlog-size"))
	b.kv("repl_backlog_first_byte_offset", 0)
	b.kv("repl_backlog_histlen", 0)
}

// genInfo builds the INFO text for the requested section names (as sent
// by the client; empty means the default set).
func (s *Server) genInfo(args []string) string {
	want := map[string]bool{}
	all := false
	if len(args) == 0 {
		args = []string{"default"}
	}
	for _, a := range args {
		switch la := strings.ToLower(a); la {
		case "default":
			for _, sec := range infoSections {
				if sec.def {
					want[strings.ToLower(sec.name)] = true
				}
			}
		case "all", "everything":
			// Without modules, "everything" adds nothing to "all".
			all = true
		default:
			want[la] = true
		}
	}
	var out strings.Builder
	n := 0
	for _, sec := range infoSections {
		if !all && !want[strings.ToLower(sec.name)] {
			continue
		}
		if n > 0 {
			out.WriteString("\r\n")
		}
		n++
		out.WriteString("# " + sec.name + "\r\n")
		var b infoBuf
		sec.fn(s, &b)
		out.WriteString(b.String())
	}
	return out.String()
}

func cmdInfo(c *Client, args [][]byte) {
	names := make([]string, 0, len(args)-1)
	for _, a := range args[1:] {
		names = append(names, string(a))
	}
	c.w.AppendVerbatim(c.srv.genInfo(names))
}

var unameOnce = sync.OnceValue(func() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "Linux"
	}
	str := func(a [65]int8) string {
		b := make([]byte, 0, len(a))
		for _, ch := range a {
			if ch == 0 {
				break
			}
			b = append(b, byte(ch))
		}
		return string(b)
	}
	return str(u.Sysname) + " " + str(u.Release) + " " + str(u.Machine)
})

var executable = sync.OnceValue(func() string {
	p, err := os.Executable()
	if err != nil {
		return ""
	}
	return p
})

func infoServer(s *Server, b *infoBuf) {
	now := time.Now()
	uptime := int64(now.Sub(s.startTime) / time.Second)
	b.kv("redis_version", Version)
	b.kv("redis_git_sha1", "00000000")
	b.kv("redis_git_dirty", 0)
	b.kv("redis_build_id", "0")
	b.kv("redis_mode", s.serverMode())
	b.kv("os", unameOnce())
	b.kv("arch_bits", strconv.Itoa(strconv.IntSize))
	b.kv("monotonic_clock", "POSIX clock_gettime")
	b.kv("multiplexing_api", "epoll")
	b.kv("atomicvar_api", "c11-builtin")
	b.kv("gcc_version", "0.0.0")
	b.kv("process_id", pid)
	b.kv("process_supervised", "no")
	b.kv("run_id", s.runID)
	b.kv("tcp_port", s.port)
	b.kv("server_time_usec", now.UnixMicro())
	b.kv("uptime_in_seconds", uptime)
	b.kv("uptime_in_days", uptime/86400)
	b.kv("hz", s.cfg.Int("hz"))
	b.kv("configured_hz", s.cfg.Int("hz"))
	b.kv("lru_clock", int64(lruClock()))
	b.kv("executable", executable())
	b.kv("config_file", s.cfg.File())
	b.kv("io_threads_active", 0)
	if s.shutdownInitiated() {
		b.kv("shutdown_in_milliseconds", time.Until(s.sd.deadline).Milliseconds())
	}
	b.kv("skiff_version", SkiffVersion)
}

func infoClients(s *Server, b *infoBuf) {
	blocked := 0
	for _, c := range s.clients {
		if c.flags&(clientBlocked|clientPostponed) != 0 {
			blocked++
		}
	}
	// Replicas are not counted, as in Redis.
	b.kv("connected_clients", len(s.clients)-len(s.repl.replicas))
	b.kv("cluster_connections", 0)
	b.kv("maxclients", s.maxClients.Load())
	maxIn, maxOut := s.recentMaxBuffers() // clientbuf.go
	b.kv("client_recent_max_input_buffer", maxIn)
	b.kv("client_recent_max_output_buffer", maxOut)
	b.kv("blocked_clients", blocked)
	b.kv("tracking_clients", s.trk.clients)
	b.kv("clients_in_timeout_table", 0)
}

// memSamples are the runtime/metrics Skiff reports as memory. Reading
// them does not stop the world (unlike runtime.ReadMemStats), so INFO is
// safe to call often on a large heap.
var memSamples = []metrics.Sample{
	{Name: "/memory/classes/heap/objects:bytes"},
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

var memSamplesMu sync.Mutex

// memoryUsage returns the bytes of live heap objects (Redis's
// used_memory: what the allocator handed out) and of all memory the Go
// runtime has mapped (the allocator's footprint).
func memoryUsage() (used, total, free uint64) {
	memSamplesMu.Lock()
	defer memSamplesMu.Unlock()
	metrics.Read(memSamples)
	get := func(i int) uint64 {
		if memSamples[i].Value.Kind() == metrics.KindUint64 {
			return memSamples[i].Value.Uint64()
		}
		return 0
	}
	return get(0), get(1) - get(3), get(2)
}

// processRSS reads the resident set size from /proc; 0 where unavailable.
func processRSS() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

var startupMemory = sync.OnceValue(func() uint64 { u, _, _ := memoryUsage(); return u })

func init() { startupMemory() }

// bytesToHuman formats a byte count as INFO's *_human fields do.
func bytesToHuman(n uint64) string {
	const k = 1024
	switch {
	case n < k:
		return strconv.FormatUint(n, 10) + "B"
	case n < k*k:
		return fmt.Sprintf("%.2fK", float64(n)/k)
	case n < k*k*k:
		return fmt.Sprintf("%.2fM", float64(n)/(k*k))
	case n < k*k*k*k:
		return fmt.Sprintf("%.2fG", float64(n)/(k*k*k))
	case n < k*k*k*k*k:
		return fmt.Sprintf("%.2fT", float64(n)/(k*k*k*k))
	case n < k*k*k*k*k*k:
		return fmt.Sprintf("%.2fP", float64(n)/(k*k*k*k*k))
	}
	return strconv.FormatUint(n, 10) + "B"
}

var totalSystemMemory = sync.OnceValue(func() uint64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil {
		return 0
	}
	return uint64(si.Totalram) * uint64(si.Unit)
})

func infoMemory(s *Server, b *infoBuf) {
	// The same breakdown as MEMORY STATS (memstats.go): used is the
	// dataset estimate eviction works on plus clients' buffers (evict.go,
	// docs/memory.md).
	mo := s.memoryOverhead()
	total, free := mo.resid, mo.active-mo.allocated
	clientsMem := mo.clientsNormal
	used := mo.total
	rss := mo.rss
	st := s.infoState()
	startup := mo.startup
	overhead := uint64(mo.overheadTotal)
	dataset := uint64(mo.dataset)
	pct := func(a, b uint64) string {
		if b == 0 {
			return "0.00%"
		}
		return fmt.Sprintf("%.2f%%", float64(a)*100/float64(b))
	}
	ratio := func(a, b uint64) string {
		if b == 0 {
			return "0.00"
		}
		return fmt.Sprintf("%.2f", float64(a)/float64(b))
	}
	maxmem := uint64(s.cfg.Int("maxmemory"))
	b.kv("used_memory", used)
	b.kv("used_memory_human", bytesToHuman(used))
	b.kv("used_memory_rss", rss)
	b.kv("used_memory_rss_human", bytesToHuman(rss))
	b.kv("used_memory_peak", st.peakMemory)
	b.kv("used_memory_peak_human", bytesToHuman(st.peakMemory))
	b.kv("used_memory_peak_perc", pct(used, st.peakMemory))
	b.kv("used_memory_overhead", overhead)
	b.kv("used_memory_startup", startup)
	b.kv("used_memory_dataset", dataset)
	b.kv("used_memory_dataset_perc", fmt.Sprintf("%.2f%%", mo.datasetPerc))
	b.kv("allocator_allocated", used)
	b.kv("allocator_active", used+free)
	b.kv("allocator_resident", total)
	b.kv("total_system_memory", totalSystemMemory())
	b.kv("total_system_memory_human", bytesToHuman(totalSystemMemory()))
	// gopher-lua states live in Go's heap and keep no count of their
	// own: the VM figures are the size of an empty state (what Redis
	// reports for one) plus the code each holds.
	const emptyVM = 31744
	var evalScripts, evalBytes, fnCount, libCount, fnBytes int64
	if e := s.scripts.eval; e != nil {
		evalScripts, evalBytes = int64(e.Len()), e.BodyBytes()
	}
	if f := s.functions.engine; f != nil {
		fnCount, libCount, fnBytes = int64(f.FunctionCount()), int64(f.LibraryCount()), f.CodeBytes()
	}
	vmEval, vmFn := emptyVM+evalBytes, emptyVM+fnBytes
	b.kv("used_memory_lua", vmEval)
	b.kv("used_memory_vm_eval", vmEval)
	b.kv("used_memory_lua_human", bytesToHuman(uint64(vmEval)))
	b.kv("used_memory_scripts_eval", evalBytes)
	b.kv("number_of_cached_scripts", evalScripts)
	b.kv("number_of_functions", fnCount)
	b.kv("number_of_libraries", libCount)
	b.kv("used_memory_vm_functions", vmFn)
	b.kv("used_memory_vm_total", vmEval+vmFn)
	b.kv("used_memory_vm_total_human", bytesToHuman(uint64(vmEval+vmFn)))
	b.kv("used_memory_functions", fnBytes)
	b.kv("used_memory_scripts", evalBytes+fnBytes)
	b.kv("used_memory_scripts_human", bytesToHuman(uint64(evalBytes+fnBytes)))
	b.kv("maxmemory", maxmem)
	b.kv("maxmemory_human", bytesToHuman(maxmem))
	b.kv("maxmemory_policy", s.cfg.String("maxmemory-policy"))
	b.kv("allocator_frag_ratio", ratio(used+free, used))
	b.kv("allocator_frag_bytes", free)
	// Redis's definitions: the allocator's resident memory over its
	// active memory (MEMORY STATS's allocator-rss.*).
	b.kv("allocator_rss_ratio", ratio(total, used+free))
	b.kv("allocator_rss_bytes", int64(total)-int64(used+free))
	b.kv("rss_overhead_ratio", ratio(rss, total))
	b.kv("rss_overhead_bytes", int64(rss)-int64(total))
	b.kv("mem_fragmentation_ratio", ratio(rss, used))
	b.kv("mem_fragmentation_bytes", int64(rss)-int64(used))
	b.kv("mem_not_counted_for_evict", 0)
	backlog, pending := s.replBufferBytes()
	b.kv("mem_replication_backlog", backlog)
	b.kv("mem_total_replication_buffers", backlog+pending)
	b.kv("mem_clients_slaves", pending)
	b.kv("mem_clients_normal", clientsMem)
	b.kv("mem_cluster_links", 0)
	b.kv("mem_aof_buffer", 0)
	b.kv("mem_allocator", "go")
	b.kv("active_defrag_running", 0)
	b.kv("lazyfree_pending_objects", 0) // nothing is ever left to free (lazyfree.go)
	b.kv("lazyfreed_objects", s.x.lazy.freed.Load())
}

// persistenceInfo writes INFO persistence; the persistence package
// replaces it. Until then nothing is ever saved or loaded.
var persistenceInfo = func(s *Server, b *infoBuf) {
	st := s.infoState()
	for _, kv := range []struct {
		k string
		v any
	}{
		{"loading", 0}, {"async_loading", 0}, {"current_cow_peak", 0}, {"current_cow_size", 0},
		{"current_cow_size_age", 0}, {"current_fork_perc", "0.00"}, {"current_save_keys_processed", 0},
		{"current_save_keys_total", 0}, {"rdb_changes_since_last_save", s.dirty},
		{"rdb_bgsave_in_progress", 0}, {"rdb_last_save_time", st.lastSaveSec},
		{"rdb_last_bgsave_status", "ok"}, {"rdb_last_bgsave_time_sec", -1},
		{"rdb_current_bgsave_time_sec", -1}, {"rdb_saves", 0}, {"rdb_last_cow_size", 0},
		{"rdb_last_load_keys_expired", 0}, {"rdb_last_load_keys_loaded", 0},
		{"aof_enabled", 0}, {"aof_rewrite_in_progress", 0}, {"aof_rewrite_scheduled", 0},
		{"aof_last_rewrite_time_sec", -1}, {"aof_current_rewrite_time_sec", -1},
		{"aof_last_bgrewrite_status", "ok"}, {"aof_rewrites", 0},
		{"aof_rewrites_consecutive_failures", 0}, {"aof_last_write_status", "ok"},
		{"aof_last_cow_size", 0}, {"module_fork_in_progress", 0}, {"module_fork_last_cow_size", 0},
	} {
		b.kv(kv.k, kv.v)
	}
}

func infoPersistence(s *Server, b *infoBuf) { persistenceInfo(s, b) }

// sampleRates updates the instantaneous_* figures from the counters'
// change since the previous sample (at least 100 ms apart, like Redis's
// cron sampling).
func (s *Server) sampleRates() *serverInfoState {
	st := s.infoState()
	now := time.Now()
	dt := now.Sub(st.lastSample)
	if dt < 100*time.Millisecond {
		return st
	}
	in, out := s.stats.NetInputBytes.Load(), s.stats.NetOutputBytes.Load()
	secs := dt.Seconds()
	st.opsPerSec = int64(float64(s.stats.TotalCommands-st.lastCmds) / secs)
	st.inKbps = float64(in-st.lastIn) / secs / 1024
	st.outKbps = float64(out-st.lastOut) / secs / 1024
	if st.opsPerSec < 0 {
		st.opsPerSec = 0
	}
	st.lastSample, st.lastCmds, st.lastIn, st.lastOut = now, s.stats.TotalCommands, in, out
	return st
}

// pubsubCounts reports channels, patterns and shard channels with
// subscribers; the pub/sub implementation sets it.
var pubsubCounts = func(s *Server) (channels, patterns, shard int) { return 0, 0, 0 }

func infoStats(s *Server, b *infoBuf) {
	st := s.sampleRates()
	ch, pat, shard := pubsubCounts(s)
	b.kv("total_connections_received", s.stats.TotalConnections)
	b.kv("total_commands_processed", s.stats.TotalCommands)
	b.kv("instantaneous_ops_per_sec", st.opsPerSec)
	b.kv("total_net_input_bytes", s.stats.NetInputBytes.Load())
	b.kv("total_net_output_bytes", s.stats.NetOutputBytes.Load())
	b.kv("total_net_repl_input_bytes", 0)
	b.kv("total_net_repl_output_bytes", 0)
	b.kv("instantaneous_input_kbps", fmt.Sprintf("%.2f", st.inKbps))
	b.kv("instantaneous_output_kbps", fmt.Sprintf("%.2f", st.outKbps))
	b.kv("instantaneous_input_repl_kbps", "0.00")
	b.kv("instantaneous_output_repl_kbps", "0.00")
	b.kv("rejected_connections", s.stats.RejectedConns)
	full, pok, perr := s.replStats()
	b.kv("sync_full", full)
	b.kv("sync_partial_ok", pok)
	b.kv("sync_partial_err", perr)
	b.kv("expired_keys", s.stats.ExpiredKeys)
	b.kv("expired_stale_perc", "0.00")
	b.kv("expired_time_cap_reached_count", s.store.ExpiredTimeCapReached)
	b.kv("expire_cycle_cpu_milliseconds", 0)
	b.kv("evicted_keys", s.stats.EvictedKeys)
	b.kv("evicted_clients", s.x.evict.clients.evicted)
	b.kv("total_eviction_exceeded_time", 0)
	b.kv("current_eviction_exceeded_time", 0)
	b.kv("keyspace_hits", s.stats.KeyspaceHits)
	b.kv("keyspace_misses", s.stats.KeyspaceMisses)
	b.kv("pubsub_channels", ch)
	b.kv("pubsub_patterns", pat)
	b.kv("pubsubshard_channels", shard)
	b.kv("latest_fork_usec", 0)
	b.kv("total_forks", 0)
	b.kv("migrate_cached_sockets", s.migrateCachedSockets())
	b.kv("slave_expires_tracked_keys", 0)
	b.kv("active_defrag_hits", 0)
	b.kv("active_defrag_misses", 0)
	b.kv("active_defrag_key_hits", 0)
	b.kv("active_defrag_key_misses", 0)
	b.kv("total_active_defrag_time", 0)
	b.kv("current_active_defrag_time", 0)
	tkeys, titems, tprefixes := s.trackingInfo()
	b.kv("tracking_total_keys", tkeys)
	b.kv("tracking_total_items", titems)
	b.kv("tracking_total_prefixes", tprefixes)
	b.kv("unexpected_error_replies", s.stats.UnexpectedErrors)
	b.kv("total_error_replies", s.stats.TotalErrorReplies)
	b.kv("dump_payload_sanitizations", 0)
	b.kv("total_reads_processed", s.stats.TotalCommands)
	b.kv("total_writes_processed", s.stats.TotalCommands)
	b.kv("io_threaded_reads_processed", 0)
	b.kv("io_threaded_writes_processed", 0)
	b.kv("reply_buffer_shrinks", s.cc.shrinks)
	b.kv("reply_buffer_expands", s.cc.expands)
}

func infoCPU(s *Server, b *infoBuf) {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	tv := func(t syscall.Timeval) string {
		return fmt.Sprintf("%d.%06d", t.Sec, t.Usec)
	}
	b.kv("used_cpu_sys", tv(self.Stime))
	b.kv("used_cpu_user", tv(self.Utime))
	b.kv("used_cpu_sys_children", tv(children.Stime))
	b.kv("used_cpu_user_children", tv(children.Utime))
	// Go has no main thread; the process figures are the closest match.
	b.kv("used_cpu_sys_main_thread", tv(self.Stime))
	b.kv("used_cpu_user_main_thread", tv(self.Utime))
}

func infoCommandStats(s *Server, b *infoBuf) {
	names := make([]string, 0, len(s.stats.CmdStats))
	for n, st := range s.stats.CmdStats {
		if st.Calls != 0 || st.FailedCalls != 0 || st.RejectedCalls != 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		st := s.stats.CmdStats[n]
		per := 0.0
		if st.Calls > 0 {
			per = float64(st.Usec) / float64(st.Calls)
		}
		b.kv("cmdstat_"+n, fmt.Sprintf("calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d",
			st.Calls, st.Usec, per, st.RejectedCalls, st.FailedCalls))
	}
}

func infoErrorStats(s *Server, b *infoBuf) {
	codes := make([]string, 0, len(s.stats.ErrorStats))
	for code := range s.stats.ErrorStats {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		b.kv("errorstat_"+code, "count="+strconv.FormatInt(s.stats.ErrorStats[code], 10))
	}
}

func infoCluster(s *Server, b *infoBuf) {
	if s.cfg.Bool("cluster-enabled") {
		b.kv("cluster_enabled", 1)
	} else {
		b.kv("cluster_enabled", 0)
	}
}

func infoKeyspace(s *Server, b *infoBuf) {
	if ks := s.ld.keyspace; s.ld.active && ks != nil {
		// Loading: the keyspace being filled (loading.go).
		for i, n := range ks {
			if n.keys > 0 {
				b.kv("db"+strconv.Itoa(i), fmt.Sprintf("keys=%d,expires=%d,avg_ttl=0", n.keys, n.expires))
			}
		}
		return
	}
	for _, db := range s.store.DBs {
		keys := db.Len()
		if keys == 0 {
			continue
		}
		b.kv("db"+strconv.Itoa(db.ID), fmt.Sprintf("keys=%d,expires=%d,avg_ttl=%d", keys, db.Expires(), db.AvgTTL))
	}
}

// resetStats implements CONFIG RESETSTAT: the counters INFO stats,
// commandstats and errorstats report go back to zero.
func (s *Server) resetStats() {
	s.stats.TotalConnections = 0
	s.stats.TotalCommands = 0
	s.stats.RejectedConns = 0
	s.stats.KeyspaceHits = 0
	s.stats.KeyspaceMisses = 0
	s.stats.NetInputBytes.Store(0)
	s.stats.NetOutputBytes.Store(0)
	s.stats.ExpiredKeys = 0
	s.stats.EvictedKeys = 0
	s.stats.TotalErrorReplies = 0
	s.stats.UnexpectedErrors = 0
	s.stats.ErrorStats = map[string]int64{}
	s.stats.CmdStats = map[string]*CmdStat{}
	s.stats.ResetTime = time.Now()
	s.store.ExpiredTimeCapReached = 0
	st := s.infoState()
	used, _, _ := memoryUsage()
	st.peakMemory = used
	st.lastSample, st.lastCmds, st.lastIn, st.lastOut = time.Now(), 0, 0, 0
	for _, h := range resetStatHooks {
		h(s)
	}
}

// resetStatHooks let other parts of the server clear their own counters
// on CONFIG RESETSTAT.
var resetStatHooks []func(s *Server)

// replBufferBytes is the replication stream held in memory: the backlog's
// history, and what the replicas' connections have not taken yet (Redis
// shares one buffer between both; Skiff keeps the backlog and one queue
// per replica, so a stream that waits for a replica counts in both).
func (s *Server) replBufferBytes() (backlog, pending int64) {
	if bl := s.repl.backlog; bl != nil {
		backlog = bl.HistLen()
	}
	for _, rc := range s.repl.replicas {
		if rc.out != nil {
			pending += int64(rc.out.Pending())
		}
	}
	return backlog, pending
}
