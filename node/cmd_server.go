package node

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "time", Arity: 1, Flags: "loading stale fast", Group: "server", Since: "2.6.0", Summary: "Returns the server time.", Complexity: "O(1)", Handler: cmdTime},
		&Command{Name: "lastsave", Arity: 1, Flags: "loading stale fast", Group: "server", Since: "1.0.0", Summary: "Returns the Unix timestamp of the last successful save to disk.", Complexity: "O(1)", ACL: []string{"admin", "dangerous"}, Handler: cmdLastSave},
		&Command{Name: "role", Arity: 1, Flags: "noscript loading stale fast", Group: "server", Since: "2.8.12", Summary: "Returns the replication role.", Complexity: "O(1)", ACL: []string{"admin", "dangerous"}, Handler: cmdRole},
		&Command{Name: "shutdown", Arity: -1, Flags: "admin noscript loading stale no_multi allow_busy", Group: "server", Since: "1.0.0", Summary: "Synchronously saves the database(s) to disk and shuts down the Redis server.", Complexity: "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", Handler: cmdShutdown},
		&Command{Name: "memory", Arity: -2, Group: "server", Since: "4.0.0", Summary: "A container for memory diagnostics commands.", Complexity: "Depends on subcommand."},
		&Command{Name: "latency", Arity: -2, Group: "server", Since: "2.8.13", Summary: "A container for latency diagnostics commands.", Complexity: "Depends on subcommand."},
		&Command{Name: "slowlog", Arity: -2, Group: "server", Since: "2.2.12", Summary: "A container for slow log commands.", Complexity: "Depends on subcommand."},
	)
	registerSub("memory",
		&Command{Name: "usage", Arity: -3, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "server", Since: "4.0.0", Summary: "Estimates the memory usage of a key.", Complexity: "O(N) where N is the number of samples.", Handler: cmdMemoryUsage},
		&Command{Name: "doctor", Arity: 2, Group: "server", Since: "4.0.0", Summary: "Outputs a memory problems report.", Complexity: "O(1)", Handler: cmdMemoryDoctor},
		&Command{Name: "stats", Arity: 2, Group: "server", Since: "4.0.0", Summary: "Returns details about memory usage.", Complexity: "O(1)", Handler: cmdMemoryStats},
		&Command{Name: "malloc-stats", Arity: 2, Group: "server", Since: "4.0.0", Summary: "Returns the allocator statistics.", Complexity: "Depends on how much memory is allocated, could be slow", Handler: cmdMemoryMallocStats},
		&Command{Name: "purge", Arity: 2, Group: "server", Since: "4.0.0", Summary: "Asks the allocator to release memory.", Complexity: "Depends on how much memory is allocated, could be slow", Handler: cmdMemoryPurge},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "server", Since: "4.0.0", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)", Handler: cmdMemoryHelp},
	)
	registerSub("slowlog",
		&Command{Name: "get", Arity: -2, Flags: "admin loading stale", Group: "server", Since: "2.2.12", Summary: "Returns the slow log's entries.", Complexity: "O(N) where N is the number of entries returned", Handler: cmdSlowlogGet},
		&Command{Name: "len", Arity: 2, Flags: "admin loading stale", Group: "server", Since: "2.2.12", Summary: "Returns the number of entries in the slow log.", Complexity: "O(1)", Handler: cmdSlowlogLen},
		&Command{Name: "reset", Arity: 2, Flags: "admin loading stale", Group: "server", Since: "2.2.12", Summary: "Clears all entries from the slow log.", Complexity: "O(N) where N is the number of entries in the slowlog", Handler: cmdSlowlogReset},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "server", Since: "6.2.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)", Handler: cmdSlowlogHelp},
	)
}

func cmdTime(c *Client, args [][]byte) {
	now := time.Now()
	c.w.AppendArray(2)
	c.w.AppendBulkInt(now.Unix())
	c.w.AppendBulkInt(int64(now.Nanosecond() / 1000))
}

// lastSaveTime is LASTSAVE's answer; persistence replaces it. Until a
// save happens it is the start time, as in Redis.
var lastSaveTime = func(s *Server) int64 { return s.infoState().lastSaveSec }

func cmdLastSave(c *Client, args [][]byte) { c.replyInt(lastSaveTime(c.srv)) }

// roleReply writes ROLE; replication replaces it.
var roleReply = func(c *Client) {
	c.w.AppendArray(3)
	c.w.AppendBulkString("master")
	c.w.AppendInt(0)
	c.w.AppendArray(0)
}

func cmdRole(c *Client, args [][]byte) { roleReply(c) }

func cmdShutdown(c *Client, args [][]byte) {
	var f config.ShutdownFlags
	abort := false
	for _, a := range args[1:] {
		switch strings.ToLower(string(a)) {
		case "nosave":
			f.NoSave = true
		case "save":
			f.Save = true
		case "now":
			f.Now = true
		case "force":
			f.Force = true
		case "abort":
			abort = true
		default:
			c.replySyntax()
			return
		}
	}
	if (abort && len(args) != 2) || (f.Save && f.NoSave) {
		c.replySyntax()
		return
	}
	s := c.srv
	if abort {
		if s.abortShutdown() {
			c.replyOK()
		} else {
			c.replyError("ERR No shutdown in progress.")
		}
		return
	}
	if !f.Now && !c.canBlock() {
		c.replyError("ERR SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client")
		return
	}
	// The caller waits for the outcome (shutdown.go): the connection
	// closes when the server exits, or an error comes if the shutdown
	// fails or is aborted. Redis never replies to a successful SHUTDOWN.
	blocked := c.canBlock() // not for NOW inside MULTI or a script
	if blocked {
		c.block(nil, 0, func(*Client, []byte) bool { return false }, func(c *Client) { c.replyError(errShutdownSave) })
		s.sd.blocked = append(s.sd.blocked, c)
	}
	if s.prepareShutdown(f) {
		c.flags |= clientCloseASAP
		s.exitAfterShutdown()
	} else if !blocked {
		c.replyError(errShutdownSave)
	}
}

// objectMemory estimates the bytes a key and its value occupy, counting
// the entry, the key and the value's own estimate.
func objectMemory(e *store.Entry) int64 {
	const entryOverhead = 56
	n := int64(entryOverhead + len(e.Key))
	if coll, ok := e.Val.Val.(store.Collection); ok {
		return n + coll.MemoryUsage()
	}
	if e.Val.Enc == store.EncInt {
		return n + 8
	}
	return n + int64(cap(e.Val.Str))
}

func cmdMemoryUsage(c *Client, args [][]byte) {
	for i := 3; i < len(args); i++ {
		if strings.EqualFold(string(args[i]), "samples") && i+1 < len(args) {
			n, err := strconv.ParseInt(string(args[i+1]), 10, 64)
			if err != nil {
				c.replyError(errNotInt)
				return
			}
			if n < 0 {
				c.replySyntax() // as Redis
				return
			}
			i++
			continue
		}
		c.replySyntax()
		return
	}
	e := c.db.Lookup(args[2], c.now)
	if e == nil {
		c.replyNull()
		return
	}
	c.replyInt(objectMemory(e))
}

func cmdMemoryHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"DOCTOR",
		"    Return memory problems reports.",
		"MALLOC-STATS",
		"    Return internal statistics report from the memory allocator.",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"STATS",
		"    Return information about the memory usage of the server.",
		"USAGE <key> [SAMPLES <count>]",
		"    Return memory in bytes used by <key> and its value. Nested values are",
		"    sampled up to <count> times (default: 5, 0 means sample all).",
	})
}

// slowlogEntry is one SLOWLOG record.
type slowlogEntry struct {
	id       int64
	time     int64 // unix seconds
	duration int64 // microseconds
	args     []string
	addr     string
	name     string
}

type slowlog struct {
	entries []slowlogEntry // newest first
	nextID  int64
	// threshold (µs, <0 disabled) and maxLen mirror the options, so the
	// per-command check does not go through the config table.
	threshold atomic.Int64
	maxLen    atomic.Int64
}

var slowlogs = map[*Server]*slowlog{}

// slowlogFor returns the server's slow log; callers hold the data lock.
func (s *Server) slowlogFor() *slowlog {
	l := slowlogs[s]
	if l == nil {
		l = &slowlog{}
		slowlogs[s] = l
		_ = s.cfg.OnChange("slowlog-log-slower-than", func(v string) error { l.threshold.Store(atoi64(v)); return nil })
		_ = s.cfg.OnChange("slowlog-max-len", func(v string) error { l.maxLen.Store(atoi64(v)); return nil })
	}
	return l
}

// slowlogMaxArgs and slowlogMaxArgLen bound what an entry keeps, as Redis does.
const (
	slowlogMaxArgs   = 32
	slowlogMaxArgLen = 128
)

// slowlogPush records a command that ran longer than
// slowlog-log-slower-than. It runs under the data lock after the command.
func (s *Server) slowlogPush(c *Client, cmd *Command, args [][]byte, dur time.Duration) {
	l := s.slowlogFor()
	limit := l.threshold.Load()
	if limit < 0 || cmd.Has(FlagSkipSlowlog) || dur.Microseconds() < limit {
		return
	}
	args = redactedArgs(cmd, args)
	n := len(args)
	if n > slowlogMaxArgs {
		n = slowlogMaxArgs
	}
	kept := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if i == slowlogMaxArgs-1 && len(args) > slowlogMaxArgs {
			kept = append(kept, fmt.Sprintf("... (%d more arguments)", len(args)-slowlogMaxArgs+1))
			break
		}
		a := args[i]
		if len(a) > slowlogMaxArgLen {
			kept = append(kept, fmt.Sprintf("%s... (%d more bytes)", a[:slowlogMaxArgLen], len(a)-slowlogMaxArgLen))
		} else {
			kept = append(kept, string(a))
		}
	}
	e := slowlogEntry{id: l.nextID, time: time.Now().Unix(), duration: dur.Microseconds(), args: kept, addr: c.addr, name: c.name}
	l.nextID++
	l.entries = append([]slowlogEntry{e}, l.entries...)
	if max := int(l.maxLen.Load()); len(l.entries) > max {
		l.entries = l.entries[:max]
	}
}

func cmdSlowlogGet(c *Client, args [][]byte) {
	count := int64(10)
	if len(args) > 3 {
		c.replyError("ERR wrong number of arguments for 'slowlog|get' command")
		return
	}
	if len(args) == 3 {
		n, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil || n < -1 {
			c.replyError("ERR count should be greater than or equal to -1")
			return
		}
		count = n
	}
	l := c.srv.slowlogFor()
	entries := l.entries
	if count >= 0 && int64(len(entries)) > count {
		entries = entries[:count]
	}
	c.w.AppendArray(len(entries))
	for _, e := range entries {
		c.w.AppendArray(6)
		c.w.AppendInt(e.id)
		c.w.AppendInt(e.time)
		c.w.AppendInt(e.duration)
		c.w.AppendArray(len(e.args))
		for _, a := range e.args {
			c.w.AppendBulkString(a)
		}
		c.w.AppendBulkString(e.addr)
		c.w.AppendBulkString(e.name)
	}
}

func cmdSlowlogLen(c *Client, args [][]byte) {
	c.replyInt(int64(len(c.srv.slowlogFor().entries)))
}

func cmdSlowlogReset(c *Client, args [][]byte) {
	c.srv.slowlogFor().entries = nil
	c.replyOK()
}

func cmdSlowlogHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"GET [<count>]",
		"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
		"    Entries are made of:",
		"    id, timestamp, time in microseconds, arguments array, client IP and port,",
		"    client name",
		"LEN",
		"    Return the length of the slowlog.",
		"RESET",
		"    Reset the slowlog.",
	})
}
