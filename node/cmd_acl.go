package node

// ACL for a server that has one user, "default", whose password is
// requirepass (empty: nopass). The subcommands answer as Redis 7.0 does
// for that user; creating or changing users is not supported. The
// sentinel table includes ACL (redis-sentinel has it); the server table
// does not yet.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

const errACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

// newACLCommand builds the ACL container and its 13 subcommands.
func newACLCommand() *Command {
	cmd := &Command{Name: "acl", Arity: -2, Flags: "sentinel", Group: "server", Since: "6.0.0", Summary: "A container for the access control commands.", Complexity: "Depends on subcommand."}
	prepare(cmd, nil)
	cmd.Subcommands = map[string]*Command{}
	const (
		plain = "noscript loading stale sentinel"
		admin = "admin noscript loading stale sentinel"
		users = "O(N) where N is the number of configured users."
	)
	for _, sub := range []*Command{
		{Name: "cat", Arity: -2, Flags: plain, Since: "6.0.0", Summary: "Lists the ACL categories, or the commands of one category.", Complexity: "O(1) since the categories and commands are a fixed set.", Handler: cmdACLCat},
		{Name: "deluser", Arity: -3, Flags: admin, Since: "6.0.0", Summary: "Deletes ACL users.", Complexity: "O(1) amortized time considering the typical user.", Handler: cmdACLDelUser},
		{Name: "dryrun", Arity: -4, Flags: admin, Since: "7.0.0", Summary: "Tells whether a user may run a command, without running it.", Complexity: "O(1).", Handler: cmdACLDryRun},
		{Name: "genpass", Arity: -2, Flags: plain, Since: "6.0.0", Summary: "Returns a random password.", Complexity: "O(1)", Handler: cmdACLGenPass},
		{Name: "getuser", Arity: 3, Flags: admin, Since: "6.0.0", Summary: "Returns the rules of a user.", Complexity: "O(N) where N is the number of password, command and pattern rules of the user.", Handler: cmdACLGetUser},
		{Name: "help", Arity: 2, Flags: "loading stale sentinel", Since: "6.0.0", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)", Handler: cmdACLHelp},
		{Name: "list", Arity: 2, Flags: admin, Since: "6.0.0", Summary: "Lists the users in the ACL file syntax.", Complexity: users, Handler: cmdACLList},
		{Name: "load", Arity: 2, Flags: admin, Since: "6.0.0", Summary: "Reloads the users from the ACL file.", Complexity: users, Handler: cmdACLLoadSave},
		{Name: "log", Arity: -2, Flags: admin, Since: "6.0.0", Summary: "Lists the latest commands refused by the ACLs.", Complexity: "O(N) where N is the number of entries shown.", Handler: cmdACLLog},
		{Name: "save", Arity: 2, Flags: admin, Since: "6.0.0", Summary: "Saves the users to the ACL file.", Complexity: users, Handler: cmdACLLoadSave},
		{Name: "setuser", Arity: -3, Flags: admin, Since: "6.0.0", Summary: "Creates or changes a user.", Complexity: "O(N) where N is the number of rules given.", Handler: cmdACLSetUser},
		{Name: "users", Arity: 2, Flags: admin, Since: "6.0.0", Summary: "Lists the user names.", Complexity: users, Handler: cmdACLUsers},
		{Name: "whoami", Arity: 2, Flags: plain, Since: "6.0.0", Summary: "Returns the user of the connection.", Complexity: "O(1)", Handler: cmdACLWhoAmI},
	} {
		sub.Group = "server"
		prepare(sub, cmd)
		cmd.Subcommands[sub.Name] = sub
	}
	return cmd
}

// aclSyntaxError is Redis's reply to a known subcommand given a wrong
// number of arguments that its arity allows.
func (c *Client) aclSyntaxError(args [][]byte) {
	c.replyErrorf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try ACL HELP.", args[1])
}

// defaultUserPasswords are the SHA-256 digests ACL shows for the default
// user: requirepass's, or none (nopass).
func (s *Server) defaultUserPasswords() []string {
	p := s.requirePass.Load()
	if p == nil || *p == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(*p))
	return []string{hex.EncodeToString(sum[:])}
}

func cmdACLWhoAmI(c *Client, args [][]byte) { c.replyBulkString(c.user) }

func cmdACLUsers(c *Client, args [][]byte) {
	c.w.AppendArray(1)
	c.w.AppendBulkString("default")
}

func cmdACLList(c *Client, args [][]byte) {
	rule := "user default on"
	pw := c.srv.defaultUserPasswords()
	if pw == nil {
		rule += " nopass"
	}
	for _, h := range pw {
		rule += " #" + h
	}
	rule += " ~* &* +@all"
	c.w.AppendArray(1)
	c.w.AppendBulkString(rule)
}

func cmdACLGetUser(c *Client, args [][]byte) {
	if string(args[2]) != "default" {
		c.replyNull()
		return
	}
	pw := c.srv.defaultUserPasswords()
	flags := []string{"on"}
	if pw == nil {
		flags = append(flags, "nopass")
	}
	c.w.AppendMap(6)
	c.w.AppendBulkString("flags")
	c.w.AppendSet(len(flags))
	for _, f := range flags {
		c.w.AppendBulkString(f)
	}
	c.w.AppendBulkString("passwords")
	c.w.AppendArray(len(pw))
	for _, h := range pw {
		c.w.AppendBulkString(h)
	}
	c.w.AppendBulkString("commands")
	c.w.AppendBulkString("+@all")
	c.w.AppendBulkString("keys")
	c.w.AppendBulkString("~*")
	c.w.AppendBulkString("channels")
	c.w.AppendBulkString("&*")
	c.w.AppendBulkString("selectors")
	c.w.AppendArray(0)
}

func cmdACLCat(c *Client, args [][]byte) {
	switch len(args) {
	case 2:
		c.w.AppendArray(len(aclCategoryOrder))
		for _, cat := range aclCategoryOrder {
			c.w.AppendBulkString(cat)
		}
		return
	case 3:
	default:
		c.aclSyntaxError(args)
		return
	}
	want := strings.ToLower(string(args[2]))
	known := false
	for _, cat := range aclCategoryOrder {
		known = known || cat == want
	}
	if !known {
		c.replyErrorf("ERR Unknown category '%.128s'", args[2])
		return
	}
	in := func(cmd *Command) bool {
		for _, cat := range aclCategories(cmd) {
			if cat == want {
				return true
			}
		}
		return false
	}
	var names []string
	for _, cmd := range sortedCommands(c.srv.cmds) {
		if in(cmd) {
			names = append(names, cmd.FullName())
		}
		for _, sub := range sortedSubcommands(cmd) {
			if in(sub) {
				names = append(names, sub.FullName())
			}
		}
	}
	c.w.AppendArray(len(names))
	for _, n := range names {
		c.w.AppendBulkString(n)
	}
}

func cmdACLDelUser(c *Client, args [][]byte) {
	for _, a := range args[2:] {
		if string(a) == "default" {
			c.replyError("ERR The 'default' user cannot be removed")
			return
		}
	}
	c.replyInt(0) // no other user exists
}

// cmdACLDryRun checks a command line as Redis does; the default user may
// run every command.
func cmdACLDryRun(c *Client, args [][]byte) {
	if string(args[2]) != "default" {
		c.replyErrorf("ERR User '%s' not found", cString(args[2]))
		return
	}
	line := args[3:]
	cmd := c.srv.cmds[strings.ToLower(string(line[0]))]
	if cmd != nil && cmd.Subcommands != nil && len(line) >= 2 {
		cmd = cmd.Subcommands[strings.ToLower(string(line[1]))]
	}
	if cmd == nil {
		c.replyErrorf("ERR Command '%s' not found", cString(line[0]))
		return
	}
	if !arityOK(cmd.Arity, len(line)) {
		c.replyErrorf("ERR wrong number of arguments for '%s' command", cmd.FullName())
		return
	}
	c.replyOK()
}

func cmdACLGenPass(c *Client, args [][]byte) {
	bits := int64(256)
	switch len(args) {
	case 2:
	case 3:
		n, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil {
			c.replyError(errNotInt)
			return
		}
		if n <= 0 || n > 4096 {
			c.replyError("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
			return
		}
		bits = n
	default:
		c.aclSyntaxError(args)
		return
	}
	chars := int((bits + 3) / 4)
	buf := make([]byte, (chars+1)/2)
	if _, err := rand.Read(buf); err != nil {
		c.replyError("ERR cannot read random bytes")
		return
	}
	c.replyBulkString(hex.EncodeToString(buf)[:chars])
}

// cmdACLLog answers with an empty log: failed authentications are not
// recorded.
func cmdACLLog(c *Client, args [][]byte) {
	switch len(args) {
	case 2:
	case 3:
		if eqFold(args[2], "reset") {
			c.replyOK()
			return
		}
		if _, err := strconv.ParseInt(string(args[2]), 10, 64); err != nil {
			c.replyError(errNotInt)
			return
		}
	default:
		c.aclSyntaxError(args)
		return
	}
	c.w.AppendArray(0)
}

func cmdACLLoadSave(c *Client, args [][]byte) {
	if c.srv.cfg.String("aclfile") == "" {
		c.replyError(errACLFile)
		return
	}
	c.replyError("ERR Skiff has no ACL users besides 'default': it does not use an ACL file")
}

// cmdACLSetUser accepts only rules that leave the default user as it is
// (on, all keys, channels and commands); Skiff has no other users.
func cmdACLSetUser(c *Client, args [][]byte) {
	if string(args[2]) == "default" {
		ok := true
		for _, r := range args[3:] {
			switch strings.ToLower(string(r)) {
			case "on", "~*", "allkeys", "&*", "allchannels", "+@all", "allcommands":
			case "nopass":
				ok = ok && c.srv.defaultUserNoPass()
			default:
				ok = false
			}
		}
		if ok {
			c.replyOK()
			return
		}
	}
	rule := args[2]
	if len(args) > 3 {
		rule = args[3]
	}
	c.replyErrorf("ERR Error in ACL SETUSER modifier '%s': Skiff has no ACL users besides 'default', whose password is requirepass", cString(rule))
}

func cmdACLHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"CAT [<category>]",
		"    List the command categories, or the commands of <category>.",
		"DELUSER <username> [<username> ...]",
		"    Delete users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Tell whether the user may run the command, without running it.",
		"GETUSER <username>",
		"    Return the rules of a user.",
		"GENPASS [<bits>]",
		"    Return a random password of <bits> bits (default 256) as hex digits.",
		"LIST",
		"    Return the users as ACL file lines.",
		"LOAD",
		"    Reload the users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Return the latest refused commands, or clear the log.",
		"SAVE",
		"    Write the users to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or change a user.",
		"USERS",
		"    Return the user names.",
		"WHOAMI",
		"    Return the user of the current connection.",
	})
}
