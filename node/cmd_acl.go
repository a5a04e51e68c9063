package node

// The ACL command (Redis 7.0): users, rules, the log, the ACL file. The
// rules themselves live in package acl; see acl.go for the glue.

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/acl"
)

func init() {
	register(newACLCommand())
}

const errACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

// newACLCommand builds the ACL container and its 13 subcommands (one
// instance per command table: the server's and the sentinel's).
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
		{Name: "load", Arity: 2, Flags: admin, Since: "6.0.0", Summary: "Reloads the users from the ACL file.", Complexity: users, Handler: cmdACLLoad},
		{Name: "log", Arity: -2, Flags: admin, Since: "6.0.0", Summary: "Lists the latest commands refused by the ACLs.", Complexity: "O(N) where N is the number of entries shown.", Handler: cmdACLLog},
		{Name: "save", Arity: 2, Flags: admin, Since: "6.0.0", Summary: "Saves the users to the ACL file.", Complexity: users, Handler: cmdACLSave},
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

func cmdACLWhoAmI(c *Client, args [][]byte) {
	if c.user == nil {
		c.replyNull()
		return
	}
	c.replyBulkString(c.user.Name())
}

func cmdACLUsers(c *Client, args [][]byte) {
	users := c.srv.acl.reg.Users()
	c.w.AppendArray(len(users))
	for _, u := range users {
		c.w.AppendBulkString(u.Name())
	}
}

func cmdACLList(c *Client, args [][]byte) {
	users := c.srv.acl.reg.Users()
	c.w.AppendArray(len(users))
	for _, u := range users {
		c.w.AppendBulkString(acl.Line(u))
	}
}

// replySelector writes the commands, keys and channels of a selector.
func (c *Client) replySelector(s *acl.Selector) {
	c.w.AppendBulkString("commands")
	c.w.AppendBulkString(s.CommandsString())
	c.w.AppendBulkString("keys")
	c.w.AppendBulkString(s.KeysString())
	c.w.AppendBulkString("channels")
	c.w.AppendBulkString(s.ChannelsString())
}

func cmdACLGetUser(c *Client, args [][]byte) {
	u := c.srv.acl.reg.User(string(args[2]))
	if u == nil {
		c.replyNull()
		return
	}
	c.w.AppendMap(6)
	c.w.AppendBulkString("flags")
	flags := u.FlagNames()
	c.w.AppendSet(len(flags))
	for _, f := range flags {
		c.w.AppendBulkString(f)
	}
	c.w.AppendBulkString("passwords")
	pw := u.Passwords()
	c.w.AppendArray(len(pw))
	for _, h := range pw {
		c.w.AppendBulkString(h)
	}
	sels := u.Selectors()
	c.replySelector(sels[0])
	c.w.AppendBulkString("selectors")
	c.w.AppendArray(len(sels) - 1)
	for _, s := range sels[1:] {
		c.w.AppendMap(3)
		c.replySelector(s)
	}
}

func cmdACLSetUser(c *Client, args [][]byte) {
	s := c.srv
	name := string(args[2])
	if !acl.ValidUserName(name) {
		c.replyError("ERR Usernames can't contain spaces or null characters")
		return
	}
	rules := make([]string, len(args)-3)
	for i, a := range args[3:] {
		rules[i] = string(a)
	}
	u := s.acl.reg.User(name)
	staged, err := s.acl.reg.Stage(u, name, rules)
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	if u != nil {
		s.killRevokedSubscribers(c, u, staged)
	}
	s.acl.reg.Commit(name, staged)
	c.replyOK()
}

func cmdACLDelUser(c *Client, args [][]byte) {
	for _, a := range args[2:] {
		if string(a) == "default" {
			c.replyError("ERR The 'default' user cannot be removed")
			return
		}
	}
	var gone []*acl.User
	for _, a := range args[2:] {
		if u := c.srv.acl.reg.Delete(string(a)); u != nil {
			gone = append(gone, u)
		}
	}
	c.srv.killUserClients(c, gone)
	c.replyInt(int64(len(gone)))
}

func cmdACLCat(c *Client, args [][]byte) {
	switch len(args) {
	case 2:
		c.w.AppendArray(len(acl.Categories))
		for _, cat := range acl.Categories {
			c.w.AppendBulkString(cat)
		}
		return
	case 3:
	default:
		c.aclSyntaxError(args)
		return
	}
	bit := acl.CategoryBit(string(args[2]))
	if bit == 0 {
		c.replyErrorf("ERR Unknown category '%.128s'", args[2])
		return
	}
	// The commands this server has (rules may also name the other Redis
	// commands, which cannot run here).
	var names []string
	for _, cmd := range sortedCommands(c.srv.cmds) {
		for _, x := range append([]*Command{cmd}, sortedSubcommands(cmd)...) {
			if ac := c.srv.acl.byCmd[x]; ac != nil && ac.Categories&bit != 0 {
				names = append(names, x.FullName())
			}
		}
	}
	c.w.AppendArray(len(names))
	for _, n := range names {
		c.w.AppendBulkString(n)
	}
}

// cmdACLDryRun checks a command line for a user as the server would,
// without running it.
func cmdACLDryRun(c *Client, args [][]byte) {
	u := c.srv.acl.reg.User(string(args[2]))
	if u == nil {
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
	ac := c.srv.acl.byCmd[cmd]
	if ac == nil {
		c.replyOK()
		return
	}
	switch res, pos := u.Check(ac, line); res {
	case acl.OK:
		c.replyOK()
	case acl.DeniedCommand:
		c.replyBulkString("This user has no permissions to run the '" + cmd.FullName() + "' command")
	case acl.DeniedKey:
		c.replyBulkString("This user has no permissions to access the '" + string(cString(line[pos])) + "' key")
	default:
		c.replyBulkString("This user has no permissions to access the '" + string(cString(line[pos])) + "' channel")
	}
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

func cmdACLLog(c *Client, args [][]byte) {
	log := &c.srv.acl.reg.Log
	count := int64(10)
	switch len(args) {
	case 2:
	case 3:
		if eqFold(args[2], "reset") {
			log.Reset()
			c.replyOK()
			return
		}
		n, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil {
			c.replyError(errNotInt)
			return
		}
		count = max(n, 0)
	default:
		c.aclSyntaxError(args)
		return
	}
	entries := log.Entries(int(min(count, int64(log.Len()))))
	now := time.Now().UnixMilli()
	c.w.AppendArray(len(entries))
	for _, e := range entries {
		c.w.AppendMap(7)
		c.w.AppendBulkString("count")
		c.w.AppendInt(e.Count)
		c.w.AppendBulkString("reason")
		c.w.AppendBulkString(e.ReasonName())
		c.w.AppendBulkString("context")
		c.w.AppendBulkString(e.ContextName())
		c.w.AppendBulkString("object")
		c.w.AppendBulkString(e.Object)
		c.w.AppendBulkString("username")
		c.w.AppendBulkString(e.Username)
		c.w.AppendBulkString("age-seconds")
		c.w.AppendDouble(float64(now-e.CTime) / 1000)
		c.w.AppendBulkString("client-info")
		c.w.AppendBulkString(e.ClientInfo)
	}
}

// cmdACLLoad replaces every user with the ACL file's; the connections of
// the users it drops or replaces are closed (the caller's after the
// reply), as Redis does.
func cmdACLLoad(c *Client, args [][]byte) {
	s := c.srv
	if s.cfg.String("aclfile") == "" {
		c.replyError(errACLFile)
		return
	}
	users, err := s.readACLFile(s.acl.reg)
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	gone := s.acl.reg.Replace(users)
	s.killUserClients(c, gone)
	c.replyOK()
}

// cmdACLSave writes the users to the ACL file (temp file and rename).
func cmdACLSave(c *Client, args [][]byte) {
	s := c.srv
	if s.cfg.String("aclfile") == "" {
		c.replyError(errACLFile)
		return
	}
	path := s.aclFilePath()
	if err := writeFileAtomic(path, []byte(s.acl.reg.FileText())); err != nil {
		s.log.Warn("ACL SAVE failed", "file", path, "error", err)
		c.replyError("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
		return
	}
	c.replyOK()
}

func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func cmdACLHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
	})
}
