package node

// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis 7.0's eval.c).
// The Lua side is in package script; running a script against the
// keyspace is script_run.go.

import (
	"strings"

	"github.com/skiffdb/skiff/script"
)

func init() {
	const evalFlags = "noscript skip_monitor may_replicate no_mandatory_keys stale skiff_no_propagate"
	const evalROFlags = "readonly noscript skip_monitor no_mandatory_keys stale skiff_no_propagate"
	ev := func(name, flags, since, summary string, h Handler) *Command {
		return &Command{Name: name, Arity: -3, Flags: flags, Group: "scripting", Since: since, Summary: summary,
			Complexity: "Depends on the script that is executed.", Handler: h, flagsFor: evalFlagsFor}
	}
	register(
		ev("eval", evalFlags, "2.6.0", "Execute a Lua script server side", func(c *Client, args [][]byte) { evalCommand(c, args, false, false) }),
		ev("evalsha", evalFlags, "2.6.0", "Execute a Lua script server side", func(c *Client, args [][]byte) { evalCommand(c, args, true, false) }),
		ev("eval_ro", evalROFlags, "7.0.0", "Execute a read-only Lua script server side", func(c *Client, args [][]byte) { evalCommand(c, args, false, true) }),
		ev("evalsha_ro", evalROFlags, "7.0.0", "Execute a read-only Lua script server side", func(c *Client, args [][]byte) { evalCommand(c, args, true, true) }),
		&Command{Name: "script", Arity: -2, Group: "scripting", Since: "2.6.0", Summary: "A container for Lua scripts management commands", Complexity: "Depends on subcommand.",
			Subcommands: map[string]*Command{
				"load":   {Arity: 3, Flags: "noscript stale", Group: "scripting", Since: "2.6.0", Summary: "Load the specified Lua script into the script cache.", Complexity: "O(N) with N being the length in bytes of the script body.", Handler: cmdScriptLoad},
				"exists": {Arity: -3, Flags: "noscript", Group: "scripting", Since: "2.6.0", Summary: "Check existence of scripts in the script cache.", Complexity: "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).", Handler: cmdScriptExists},
				"flush":  {Arity: -2, Flags: "noscript", Group: "scripting", Since: "2.6.0", Summary: "Remove all the scripts from the script cache.", Complexity: "O(N) with N being the number of scripts in cache", Handler: cmdScriptFlush},
				"kill":   {Arity: 2, Flags: "noscript allow_busy", Group: "scripting", Since: "2.6.0", Summary: "Kill the script currently in execution.", Complexity: "O(1)", Handler: cmdScriptKill},
				"help":   {Arity: 2, Flags: "loading stale", Group: "scripting", Since: "5.0.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)", Handler: cmdScriptHelp},
				"debug":  {Arity: 3, Flags: "noscript", Group: "scripting", Since: "3.2.0", Summary: "Set the debug mode for executed scripts.", Complexity: "O(1)", Handler: cmdScriptDebug},
			}},
	)
}

// evalFlagsFor is Redis's evalGetCommandFlags: a cached or shebang
// script's declared flags replace EVAL's write, denyoom and stale flags
// for the checks call makes before running it.
func evalFlagsFor(s *Server, cmd *Command, args [][]byte) int {
	if len(args) < 2 {
		return cmd.flags
	}
	base := cmd.flags
	e := s.scriptEngine()
	sha := strings.HasPrefix(cmd.Name, "evalsha")
	var flags script.Flags
	if sc := lookupScript(e, args[1], sha); sc != nil {
		flags = sc.Flags
	} else {
		if sha {
			return base
		}
		f, _, err := script.ParseShebang(args[1])
		if err != nil {
			return base
		}
		flags = f
	}
	return scriptCommandFlags(base, flags)
}

// scriptCommandFlags is Redis's scriptFlagsToCmdFlags.
func scriptCommandFlags(base int, flags script.Flags) int {
	if flags&script.FlagEvalCompat != 0 {
		return base
	}
	base &^= FlagStale | FlagDenyOOM | FlagWrite | FlagMayReplicate
	if flags&(script.FlagAllowOOM|script.FlagNoWrites) == 0 {
		base |= FlagDenyOOM
	}
	if flags&script.FlagNoWrites == 0 {
		base |= FlagWrite
	}
	if flags&script.FlagAllowStale != 0 {
		base |= FlagStale
	}
	return base
}

func lookupScript(e *script.Eval, body []byte, sha bool) *script.Script {
	if sha {
		return e.LookupBytes(body)
	}
	return e.LookupBody(body)
}

const errNoScript = "NOSCRIPT No matching script. Please use EVAL."

// parseNumKeys reads EVAL's and FCALL's numkeys.
func parseNumKeys(c *Client, args [][]byte) (int, bool) {
	n, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return 0, false
	}
	if n > int64(len(args)-3) {
		c.replyError("ERR Number of keys can't be greater than number of args")
		return 0, false
	}
	if n < 0 {
		c.replyError("ERR Number of keys can't be negative")
		return 0, false
	}
	return int(n), true
}

func evalCommand(c *Client, args [][]byte, sha, ro bool) {
	s := c.srv
	if len(s.x.monitors) > 0 {
		// Before the script's own commands, as Redis.
		s.feedMonitorLine(c, c.cmd, args)
	}
	if sha && len(args[1]) != 40 {
		c.replyError(errNoScript)
		return
	}
	numkeys, ok := parseNumKeys(c, args)
	if !ok {
		return
	}
	e := s.scriptEngine()
	sc := lookupScript(e, args[1], sha)
	if sc == nil {
		if sha {
			c.replyError(errNoScript)
			return
		}
		var err error
		if sc, err = e.Load(args[1]); err != nil {
			c.replyError("ERR " + err.Error())
			return
		}
	}
	r := s.prepareScript(c, sc.SHA, sc.Flags, ro, true, args)
	if r == nil {
		return
	}
	keys, argv := args[3:3+numkeys], args[3+numkeys:]
	s.beginScript(r, keys)
	errMsg, counted := e.Exec(sc, r.run, keys, argv, &c.w)
	s.endScript(r, errMsg, counted)
}

func cmdScriptLoad(c *Client, args [][]byte) {
	sc, err := c.srv.scriptEngine().Load(args[2])
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	c.w.AppendBulkString(sc.SHA)
}

func cmdScriptExists(c *Client, args [][]byte) {
	e := c.srv.scriptEngine()
	c.w.AppendArray(len(args) - 2)
	for _, a := range args[2:] {
		if e.Lookup(string(a)) != nil {
			c.w.AppendInt(1)
		} else {
			c.w.AppendInt(0)
		}
	}
}

func cmdScriptFlush(c *Client, args [][]byte) {
	if len(args) > 3 || len(args) == 3 && !eqFold(args[2], "sync") && !eqFold(args[2], "async") {
		c.replyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
		return
	}
	if flushAsync(c, args[1:]) {
		c.srv.freeCacheLazily(int64(c.srv.scriptEngine().Len()))
	}
	c.srv.scriptEngine().Flush()
	c.replyOK()
}

// cmdScriptKill runs under the lock, so no script is running: a running
// one holds the lock, and SCRIPT KILL reaches it through the busy path
// (busy.go).
func cmdScriptKill(c *Client, args [][]byte) {
	c.replyError("NOTBUSY No scripts in execution right now.")
}

func cmdScriptDebug(c *Client, args [][]byte) {
	switch {
	case eqFold(args[2], "no"):
		c.replyOK()
	case eqFold(args[2], "yes"), eqFold(args[2], "sync"):
		// Skiff has no Lua debugger (LDB): refused rather than accepted
		// and ignored.
		c.replyError("ERR SCRIPT DEBUG is not supported by Skiff: the Lua debugger (LDB) is not implemented")
	default:
		c.replyError("ERR Use SCRIPT DEBUG YES/SYNC/NO")
	}
}

func cmdScriptHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"DEBUG (YES|SYNC|NO)",
		"    Set the debug mode for subsequent scripts executed.",
		"EXISTS <sha1> [<sha1> ...]",
		"    Return information about the existence of the scripts in the script cache.",
		"FLUSH [ASYNC|SYNC]",
		"    Flush the Lua scripts cache. Very dangerous on replicas.",
		"    When called without the optional mode argument, the behavior is determined by the",
		"    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
		"    * ASYNC: Asynchronously flush the scripts cache.",
		"    * SYNC: Synchronously flush the scripts cache.",
		"KILL",
		"    Kill the currently executing Lua script.",
		"LOAD <script>",
		"    Load a script into the scripts cache without executing it.",
	})
}
