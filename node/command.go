package node

import (
	"sort"
	"strings"
)

// Handler executes one command. args[0] is the command name as sent; args
// alias the connection's read buffer and are valid only during the call,
// so anything kept must be copied.
type Handler func(c *Client, args [][]byte)

// Command flag bits (a subset of Redis's command flags that dispatch needs).
const (
	FlagWrite = 1 << iota
	FlagReadonly
	FlagDenyOOM
	FlagAdmin
	FlagPubSub
	FlagNoScript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagFast
	FlagNoAuth
	FlagMayReplicate
	FlagNoMulti
	FlagAllowBusy
	FlagNoMandatoryKeys
	FlagProtected
	FlagSentinel
	FlagOnlySentinel
	FlagNoAsyncLoading
	FlagAsking
	// FlagNoPropagate: the command's own line is never propagated, only
	// the effects of what it runs (EVAL, FCALL: Redis's
	// preventCommandPropagation).
	FlagNoPropagate
)

var flagNames = map[string]int{
	"write": FlagWrite, "readonly": FlagReadonly, "denyoom": FlagDenyOOM,
	"admin": FlagAdmin, "pubsub": FlagPubSub, "noscript": FlagNoScript,
	"blocking": FlagBlocking, "loading": FlagLoading, "stale": FlagStale,
	"skip_monitor": FlagSkipMonitor, "skip_slowlog": FlagSkipSlowlog,
	"fast": FlagFast, "no_auth": FlagNoAuth, "may_replicate": FlagMayReplicate,
	"no_multi": FlagNoMulti, "allow_busy": FlagAllowBusy,
	"no_mandatory_keys": FlagNoMandatoryKeys, "protected": FlagProtected,
	"sentinel": FlagSentinel, "only_sentinel": FlagOnlySentinel,
	"no_async_loading": FlagNoAsyncLoading, "asking": FlagAsking,
	"skiff_no_propagate": FlagNoPropagate,
}

// Command describes one command or subcommand, with the metadata that
// COMMAND INFO and COMMAND DOCS report.
type Command struct {
	Name  string // lower case, e.g. "get" or for a subcommand "get" of "config"
	Arity int    // Redis arity: >0 exact, <0 at least -Arity
	// Flags is a space-separated list of Redis command flag names.
	Flags string
	// FirstKey, LastKey, Step locate key arguments (0 when none); LastKey
	// -1 means the last argument, -2 the one before it.
	FirstKey, LastKey, Step int
	Group                   string // "string", "generic", "server", ...
	Since                   string
	Summary                 string
	Complexity              string
	// ACL lists extra ACL categories beyond those derived from Group and
	// Flags (without '@').
	ACL     []string
	Handler Handler
	// Subcommands, when present, are dispatched on the second argument.
	Subcommands map[string]*Command
	// SkiffSub, when set, runs the Skiff-only subcommands (names starting
	// with "skiff-", used between Skiff processes); they are not listed by
	// COMMAND, so Redis's command counts stay Redis's.
	SkiffSub *Command

	parent *Command
	flags  int
	// flagsFor, when set, gives the flags one call runs with (EVAL of a
	// script with a shebang: Redis's getCommandFlags); call then works on
	// a copy whose orig is the table's command.
	flagsFor func(s *Server, cmd *Command, args [][]byte) int
	orig     *Command
}

// base is the command table's entry (maps keyed by command use it).
func (cmd *Command) base() *Command {
	if cmd.orig != nil {
		return cmd.orig
	}
	return cmd
}

// FullName is "get" or "config|get".
func (cmd *Command) FullName() string {
	if cmd.parent != nil {
		return cmd.parent.Name + "|" + cmd.Name
	}
	return cmd.Name
}

// Has reports whether the command has a flag bit.
func (cmd *Command) Has(f int) bool { return cmd.flags&f != 0 }

// FlagList returns the flag names in the order they were declared.
func (cmd *Command) FlagList() []string { return strings.Fields(cmd.Flags) }

var commands = map[string]*Command{}

// register adds top-level commands to the table; it is called from init
// functions of the files that implement them.
func register(cmds ...*Command) {
	for _, cmd := range cmds {
		prepare(cmd, nil)
		if _, dup := commands[cmd.Name]; dup {
			panic("node: command registered twice: " + cmd.Name)
		}
		commands[cmd.Name] = cmd
	}
}

// registerSub adds subcommands to an already registered parent (so files
// can contribute subcommands of CLIENT, CONFIG, DEBUG...).
func registerSub(parent string, subs ...*Command) {
	p := commands[parent]
	if p == nil {
		panic("node: subcommand of unregistered command " + parent)
	}
	if p.Subcommands == nil {
		p.Subcommands = map[string]*Command{}
	}
	for _, s := range subs {
		prepare(s, p)
		if _, dup := p.Subcommands[s.Name]; dup {
			panic("node: subcommand registered twice: " + parent + "|" + s.Name)
		}
		p.Subcommands[s.Name] = s
	}
}

func prepare(cmd *Command, parent *Command) {
	cmd.Name = strings.ToLower(cmd.Name)
	cmd.parent = parent
	for _, f := range strings.Fields(cmd.Flags) {
		bit, ok := flagNames[f]
		if !ok {
			panic("node: unknown command flag " + f + " on " + cmd.Name)
		}
		cmd.flags |= bit
	}
	for name, s := range cmd.Subcommands {
		s.Name = name
		prepare(s, cmd)
	}
}

// lookupCommand finds a command of the server's table by name,
// case-insensitively, without allocating: the name is lower-cased into the
// client's scratch buffer.
func (c *Client) lookupCommand(name []byte) *Command {
	if len(name) > len(c.scratch) {
		return c.srv.cmds[strings.ToLower(string(name))]
	}
	b := c.scratch[:len(name)]
	for i, ch := range name {
		if ch >= 'A' && ch <= 'Z' {
			ch += 32
		}
		b[i] = ch
	}
	return c.srv.cmds[string(b)]
}

// sortedCommands returns every top-level command of a table sorted by
// name.
func sortedCommands(table map[string]*Command) []*Command {
	out := make([]*Command, 0, len(table))
	for _, c := range table {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// arityOK checks Redis's arity rule.
func arityOK(arity, argc int) bool {
	if arity > 0 {
		return argc == arity
	}
	return argc >= -arity
}
