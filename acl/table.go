// Package acl holds Redis 7.0's access control lists: users with their
// passwords and flags, selectors (command bits, key and channel
// patterns), the ACL SETUSER rule language, the permission check made
// before every command, the rendering of users as ACL LIST and ACL
// GETUSER show them, the ACL file format and the ACL log.
//
// The package knows nothing of the network or of command execution: the
// server describes its commands with a Table (names, categories, how to
// find the keys and channels of a command line) and asks Check whether a
// user may run a command line.
package acl

import (
	"sort"
	"strings"
)

// Categories are Redis's ACL categories, in the order ACL CAT lists them
// (which is also the order GETUSER's rule description tries them).
var Categories = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash",
	"string", "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
	"blocking", "dangerous", "connection", "transaction", "scripting"}

// CategoryBit returns the bit of a category name (case-insensitive), or 0
// when there is no such category.
func CategoryBit(name string) uint32 {
	for i, c := range Categories {
		if strings.EqualFold(c, name) {
			return 1 << i
		}
	}
	return 0
}

// CategoryBits turns category names (with or without '@') into a mask;
// unknown names are ignored.
func CategoryBits(names ...string) uint32 {
	var m uint32
	for _, n := range names {
		m |= CategoryBit(strings.TrimPrefix(n, "@"))
	}
	return m
}

// Key access flags of a key argument (Redis's key-spec flags that ACL
// looks at). A key pattern with %R allows ACCESS, %W the three others.
const (
	KeyAccess = 1 << iota
	KeyInsert
	KeyDelete
	KeyUpdate
)

// KeyRef is one key argument of a command line.
type KeyRef struct {
	Pos   int // index in the arguments (0 is the command name)
	Flags int // Key* bits
}

// Channel argument flags.
const (
	ChannelPublish = 1 << iota
	ChannelSubscribe
	ChannelPattern // the argument is a pattern (PSUBSCRIBE)
)

// ChannelRef is one channel argument of a command line.
type ChannelRef struct {
	Pos   int
	Flags int // Channel* bits
}

// Command is what ACL knows of one command or subcommand.
type Command struct {
	// Name is the full name in lower case: "get" or "config|get".
	Name string
	// Categories is a mask of CategoryBit values.
	Categories uint32
	// NoAuth commands (AUTH, HELLO) may be run by any user.
	NoAuth bool
	// Subcommands of a container command (CONFIG, CLIENT ...).
	Subcommands []*Command
	// Keys returns the key arguments of a full command line; nil when
	// the command has no key arguments.
	Keys func(args [][]byte) []KeyRef
	// Channels returns the channel arguments that publish or subscribe;
	// nil when the command has none.
	Channels func(args [][]byte) []ChannelRef

	parent *Command
	id     int
}

// Parent is the container of a subcommand, nil for a top-level command.
func (c *Command) Parent() *Command { return c.parent }

// Table is the set of commands ACL rules refer to.
type Table struct {
	top    []*Command // sorted by name
	byName map[string]*Command
	all    []*Command // by id
}

// NewTable builds a table from top-level commands (with their
// subcommands) and numbers them.
func NewTable(cmds []*Command) *Table {
	t := &Table{byName: map[string]*Command{}}
	t.top = append([]*Command(nil), cmds...)
	sort.Slice(t.top, func(i, j int) bool { return t.top[i].Name < t.top[j].Name })
	for _, c := range t.top {
		c.parent = nil
		t.add(c)
		sort.Slice(c.Subcommands, func(i, j int) bool { return c.Subcommands[i].Name < c.Subcommands[j].Name })
		for _, s := range c.Subcommands {
			s.parent = c
			t.add(s)
		}
	}
	return t
}

func (t *Table) add(c *Command) {
	c.Name = strings.ToLower(c.Name)
	c.id = len(t.all)
	t.all = append(t.all, c)
	t.byName[c.Name] = c
}

// bits is the number of command bits a selector holds: one per command
// plus the "future commands" bit that only +@all sets.
func (t *Table) bits() int { return len(t.all) + 1 }

func (t *Table) futureBit() int { return len(t.all) }

// Len is the number of commands and subcommands.
func (t *Table) Len() int { return len(t.all) }

// Commands returns the top-level commands sorted by name.
func (t *Table) Commands() []*Command { return t.top }

// Lookup finds "get" or "config|get" as ACL rules name them:
// case-insensitive, one level of subcommands; "get|x" is not found
// because GET has no subcommands.
func (t *Table) Lookup(name string) *Command {
	name = strings.ToLower(name)
	i := strings.IndexByte(name, '|')
	if i < 0 {
		return t.byName[name]
	}
	if strings.IndexByte(name[i+1:], '|') >= 0 {
		return nil
	}
	base := t.byName[name[:i]]
	if base == nil || base.Subcommands == nil {
		return nil
	}
	return t.byName[name]
}

// InCategory lists the full names of the commands and subcommands of a
// category, in table order (ACL CAT <category>).
func (t *Table) InCategory(bit uint32, keep func(*Command) bool) []string {
	var out []string
	for _, c := range t.all {
		if c.Categories&bit != 0 && (keep == nil || keep(c)) {
			out = append(out, c.Name)
		}
	}
	return out
}
