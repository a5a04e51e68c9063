package node

// FUNCTION and FCALL (Redis 7.0's functions.c). The engine, its Lua
// state and the library registry are script.Functions; running a
// function against the keyspace is the same path as EVAL's
// (script_run.go). FUNCTION LOAD, DELETE, FLUSH and RESTORE are write
// commands that count in dirty, so call propagates them verbatim to
// replicas and the AOF, as Redis does; their libraries are saved in RDB
// files (function_persist.go).

import (
	"errors"
	"time"

	"github.com/skiffdb/skiff/internal/glob"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/script"
)

func init() {
	const fcallFlags = "noscript skip_monitor may_replicate no_mandatory_keys stale skiff_no_propagate"
	const fcallROFlags = "readonly noscript skip_monitor no_mandatory_keys stale skiff_no_propagate"
	fc := func(name, flags, summary string, ro bool) *Command {
		return &Command{Name: name, Arity: -3, Flags: flags, Group: "scripting", Since: "7.0.0", Summary: summary,
			Complexity: "Depends on the function that is executed.", flagsFor: fcallFlagsFor,
			Handler: func(c *Client, args [][]byte) { fcallCommand(c, args, ro) }}
	}
	sub := func(arity int, flags, summary, complexity string, h Handler) *Command {
		return &Command{Arity: arity, Flags: flags, Group: "scripting", Since: "7.0.0", Summary: summary, Complexity: complexity, Handler: h}
	}
	register(
		fc("fcall", fcallFlags, "Invoke a function", false),
		fc("fcall_ro", fcallROFlags, "Invoke a read-only function", true),
		&Command{Name: "function", Arity: -2, Group: "scripting", Since: "7.0.0", Summary: "A container for function commands", Complexity: "Depends on subcommand.",
			Subcommands: map[string]*Command{
				"load":    sub(-3, "write denyoom noscript", "Create a function with the given arguments (name, code, description)", "O(1) (considering compilation time is redundant)", cmdFunctionLoad),
				"delete":  sub(3, "write noscript", "Delete a function by name", "O(1)", cmdFunctionDelete),
				"list":    sub(-2, "noscript", "List information about all the functions", "O(N) where N is the number of functions", cmdFunctionList),
				"dump":    sub(2, "noscript", "Dump all functions into a serialized binary payload", "O(N) where N is the number of functions", cmdFunctionDump),
				"restore": sub(-3, "write denyoom noscript", "Restore all the functions on the given payload", "O(N) where N is the number of functions on the payload", cmdFunctionRestore),
				"flush":   sub(-2, "write noscript", "Deleting all functions", "O(N) where N is the number of functions deleted", cmdFunctionFlush),
				"kill":    sub(2, "noscript allow_busy", "Kill the function currently in execution.", "O(1)", cmdFunctionKill),
				"stats":   sub(2, "noscript allow_busy", "Return information about the function currently running (name, description, duration)", "O(1)", cmdFunctionStats),
				"help":    sub(2, "loading stale", "Show helpful text about the different subcommands", "O(1)", cmdFunctionHelp),
			}},
	)
}

// functionsState is the server's functions engine.
type functionsState struct {
	engine *script.Functions
}

// functionEngine returns the functions engine, created on first use.
func (s *Server) functionEngine() *script.Functions {
	if s.functions.engine == nil {
		s.functions.engine = script.NewFunctions(s.luaLogger())
	}
	return s.functions.engine
}

// fcallFlagsFor is Redis's fcallGetCommandFlags: a known function's
// declared flags replace FCALL's write, denyoom and stale flags for the
// checks call makes before running it.
func fcallFlagsFor(s *Server, cmd *Command, args [][]byte) int {
	if len(args) < 2 {
		return cmd.flags
	}
	fn := s.functionEngine().Lookup(string(args[1]))
	if fn == nil {
		return cmd.flags
	}
	return scriptCommandFlags(cmd.flags, fn.Flags)
}

func fcallCommand(c *Client, args [][]byte, ro bool) {
	s := c.srv
	if len(s.x.monitors) > 0 {
		// Before the function's own commands, as Redis.
		s.feedMonitorLine(c, c.cmd, args)
	}
	f := s.functionEngine()
	fn := f.Lookup(string(args[1]))
	if fn == nil {
		c.replyError("ERR Function not found")
		return
	}
	n, ok := parseInt(args[2])
	if !ok {
		c.replyError("ERR Bad number of keys provided")
		return
	}
	if n > int64(len(args)-3) {
		c.replyError("ERR Number of keys can't be greater than number of args")
		return
	}
	if n < 0 {
		c.replyError("ERR Number of keys can't be negative")
		return
	}
	r := s.prepareScript(c, fn.Name, fn.Flags, ro, false, args)
	if r == nil {
		return
	}
	keys, argv := args[3:3+n], args[3+n:]
	s.runScript(r, keys, func(w *resp.Writer) string {
		return f.Exec(fn, r.run, keys, argv, w)
	})
}

func cmdFunctionLoad(c *Client, args [][]byte) {
	replace := false
	i := 2
	for ; i < len(args)-1; i++ {
		if !eqFold(args[i], "replace") {
			c.replyErrorf("ERR Unknown option given: %s", args[i])
			return
		}
		replace = true
	}
	if i >= len(args) {
		c.replyError("ERR Function code is missing")
		return
	}
	// The library's code only registers functions: it gets a time limit,
	// except when it comes from a master or the AOF, which must be obeyed.
	timeout := script.LoadTimeout
	if c.flags&clientMaster != 0 {
		timeout = 0
	}
	name, err := c.srv.functionEngine().Load(args[i], replace, timeout)
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	c.srv.dirty++
	c.w.AppendBulkString(name)
}

func cmdFunctionDelete(c *Client, args [][]byte) {
	if err := c.srv.functionEngine().Delete(string(args[2])); err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	c.srv.dirty++
	c.replyOK()
}

func cmdFunctionList(c *Client, args [][]byte) {
	withCode := false
	var pattern []byte
	havePattern := false
	for i := 2; i < len(args); i++ {
		if !withCode && eqFold(args[i], "withcode") {
			withCode = true
			continue
		}
		if !havePattern && eqFold(args[i], "libraryname") {
			if i >= len(args)-1 {
				c.replyError("ERR library name argument was not given")
				return
			}
			i++
			pattern, havePattern = args[i], true
			continue
		}
		c.replyErrorf("ERR Unknown argument %s", args[i])
		return
	}
	var libs []*script.Library
	for _, li := range c.srv.functionEngine().Libraries() {
		if havePattern && !glob.Match(string(pattern), li.Name, true) {
			continue
		}
		libs = append(libs, li)
	}
	w := &c.w
	w.AppendArray(len(libs))
	for _, li := range libs {
		if withCode {
			w.AppendMap(4)
		} else {
			w.AppendMap(3)
		}
		w.AppendBulkString("library_name")
		w.AppendBulkString(li.Name)
		w.AppendBulkString("engine")
		w.AppendBulkString(script.EngineName)
		w.AppendBulkString("functions")
		w.AppendArray(len(li.Functions))
		for _, fn := range li.Functions {
			w.AppendMap(3)
			w.AppendBulkString("name")
			w.AppendBulkString(fn.Name)
			w.AppendBulkString("description")
			if fn.HasDesc {
				w.AppendBulkString(fn.Desc)
			} else {
				w.AppendNull()
			}
			w.AppendBulkString("flags")
			names := fn.Flags.Names()
			w.AppendSet(len(names))
			for _, n := range names {
				w.AppendSimple(n)
			}
		}
		if withCode {
			w.AppendBulkString("library_code")
			w.AppendBulk(li.Code)
		}
	}
}

func cmdFunctionDump(c *Client, args [][]byte) {
	c.w.AppendBulk(rdb.EncodeFunctions(c.srv.functionEngine().Codes()))
}

func cmdFunctionRestore(c *Client, args [][]byte) {
	if len(args) > 4 {
		c.replyErrorf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try FUNCTION HELP.", args[1])
		return
	}
	policy := script.RestoreAppend
	if len(args) == 4 {
		switch {
		case eqFold(args[3], "append"):
		case eqFold(args[3], "replace"):
			policy = script.RestoreReplace
		case eqFold(args[3], "flush"):
			policy = script.RestoreFlush
		default:
			c.replyError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
			return
		}
	}
	codes, err := rdb.DecodeFunctions(args[2], skipChecksum(c.srv))
	if errors.Is(err, rdb.ErrChecksum) {
		c.replyError("ERR DUMP payload version or checksum are wrong")
		return
	}
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	if err := c.srv.functionEngine().Restore(codes, policy); err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	c.srv.dirty++
	c.replyOK()
}

func cmdFunctionFlush(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.replyErrorf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try FUNCTION HELP.", args[1])
		return
	}
	if len(args) == 3 && !eqFold(args[2], "sync") && !eqFold(args[2], "async") {
		c.replyError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
		return
	}
	// ASYNC or not, the old state is dropped for the garbage collector.
	if flushAsync(c, args[1:]) {
		c.srv.freeCacheLazily(int64(c.srv.functionEngine().FunctionCount()))
	}
	c.srv.functionEngine().Flush()
	c.srv.dirty++
	c.replyOK()
}

// cmdFunctionKill runs under the lock, so no function is running: a
// running one holds the lock, and FUNCTION KILL reaches it through the
// busy path (busy.go).
func cmdFunctionKill(c *Client, args [][]byte) {
	c.replyError("NOTBUSY No scripts in execution right now.")
}

// cmdFunctionStats runs under the lock, where no script is running.
func cmdFunctionStats(c *Client, args [][]byte) {
	writeFunctionStats(&c.w, c.srv.functionEngine(), nil)
}

// writeFunctionStats writes FUNCTION STATS for the running script r (nil
// when none). While a function is busy it may be called without the
// lock: the running function holds it and cannot change the libraries
// (FUNCTION is noscript), so the counts read are stable.
func writeFunctionStats(w *resp.Writer, f *script.Functions, r *scriptRun) {
	w.AppendMap(2)
	w.AppendBulkString("running_script")
	if r == nil {
		w.AppendNull()
	} else {
		w.AppendMap(3)
		w.AppendBulkString("name")
		w.AppendBulkString(r.run.Name)
		w.AppendBulkString("command")
		w.AppendArray(len(r.argv))
		for _, a := range r.argv {
			w.AppendBulk(a)
		}
		w.AppendBulkString("duration_ms")
		w.AppendInt(time.Since(r.run.Start).Milliseconds())
	}
	w.AppendBulkString("engines")
	w.AppendMap(1)
	w.AppendBulkString(script.EngineName)
	w.AppendMap(2)
	w.AppendBulkString("libraries_count")
	w.AppendInt(int64(f.LibraryCount()))
	w.AppendBulkString("functions_count")
	w.AppendInt(int64(f.FunctionCount()))
}

// busyFunctionStats answers FUNCTION STATS while the script r is busy
// (for busy.go's allow_busy path): -BUSY for an EVAL script, as Redis,
// else the stats with the running function.
func (c *Client) busyFunctionStats(r *scriptRun) {
	if r.run.Eval {
		c.w.AppendError(errBusyEval)
		return
	}
	writeFunctionStats(&c.w, c.srv.functionEngine(), r)
}

func cmdFunctionHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"LOAD [REPLACE] <FUNCTION CODE>",
		"    Create a new library with the given library name and code.",
		"DELETE <LIBRARY NAME>",
		"    Delete the given library.",
		"LIST [LIBRARYNAME PATTERN] [WITHCODE]",
		"    Return general information on all the libraries:",
		"    * Library name",
		"    * The engine used to run the Library",
		"    * Library description",
		"    * Functions list",
		"    * Library code (if WITHCODE is given)",
		"    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
		"STATS",
		"    Return information about the current function running:",
		"    * Function name",
		"    * Command used to run the function",
		"    * Duration in MS that the function is running",
		"    If no function is running, return nil",
		"    In addition, returns a list of available engines.",
		"KILL",
		"    Kill the current running function.",
		"FLUSH [ASYNC|SYNC]",
		"    Delete all the libraries.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the libraries.",
		"    * SYNC: Synchronously flush the libraries.",
		"DUMP",
		"    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
		"RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
		"    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
		"    control how to handle existing libraries (default APPEND):",
		"    * FLUSH: delete all existing libraries.",
		"    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
		"    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
		"      libraries with the new libraries (notice that even on this option there is a chance of failure",
		"      in case of functions name collision with another library).",
	})
}
