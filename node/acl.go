package node

// ACL glue: the server's users (package acl) and the permission check
// call() makes before every command.
//
// The ACL command table is built from the server's command table (the
// sentinel's in sentinel mode, as redis-sentinel's ACL knows only its own
// commands). In server mode every other Redis 7.0 command is added from
// redis70_commands.go, so that ACL rules naming commands Skiff does not
// implement (+eval, -@stream ...) are accepted and described as Redis
// does; such commands still cannot run.
//
// Cost: a connection holds a pointer to its user; the default user with
// every permission (the common case) has AllPermissions set, and the
// check is then one pointer load and one flag test.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/acl"
	"github.com/skiffdb/skiff/config"
)

// redisCommandInfo is what Skiff knows of a Redis 7.0 command from
// redis-server's COMMAND reply (redis70_commands.go, generated).
type redisCommandInfo struct {
	categories []string
	noAuth     bool
	specs      []keySpec
	subs       []string
}

// aclState is the server's ACL state (guarded by the data lock).
type aclState struct {
	reg *acl.Registry
	// byCmd maps the commands of the table in use to their ACL entries.
	byCmd map[*Command]*acl.Command
	// hooked is set once the config hooks are registered.
	hooked bool
}

// aclCommandTable builds the ACL view of a command table.
func aclCommandTable(table map[string]*Command, withCatalogue bool) (*acl.Table, map[*Command]*acl.Command) {
	byCmd := map[*Command]*acl.Command{}
	conv := func(cmd *Command) *acl.Command {
		ac := &acl.Command{
			Name:       cmd.FullName(),
			Categories: acl.CategoryBits(aclCategories(cmd)...),
			NoAuth:     cmd.Has(FlagNoAuth),
		}
		if hasKeys(cmd) {
			ac.Keys = aclKeyFinder(cmd)
		}
		ac.Channels = aclChannelFinder(cmd.FullName())
		byCmd[cmd] = ac
		return ac
	}
	catalogued := func(name string) *acl.Command {
		info := redis70Commands[name]
		return &acl.Command{Name: name, Categories: acl.CategoryBits(info.categories...), NoAuth: info.noAuth}
	}
	var top []*acl.Command
	for _, cmd := range sortedCommands(table) {
		ac := conv(cmd)
		for _, sub := range sortedSubcommands(cmd) {
			ac.Subcommands = append(ac.Subcommands, conv(sub))
		}
		if withCatalogue {
			// Subcommands Skiff lacks (CLIENT TRACKING, FUNCTION LOAD ...).
			for _, sn := range redis70Commands[cmd.Name].subs {
				if cmd.Subcommands[sn[strings.IndexByte(sn, '|')+1:]] == nil {
					ac.Subcommands = append(ac.Subcommands, catalogued(sn))
				}
			}
		}
		if cmd.SkiffSub != nil {
			byCmd[cmd.SkiffSub] = ac
		}
		top = append(top, ac)
	}
	if withCatalogue {
		for name, info := range redis70Commands {
			if strings.IndexByte(name, '|') >= 0 || table[name] != nil {
				continue
			}
			ac := catalogued(name)
			for _, sn := range info.subs {
				ac.Subcommands = append(ac.Subcommands, catalogued(sn))
			}
			top = append(top, ac)
		}
	}
	return acl.NewTable(top), byCmd
}

// aclKeyFinder returns the key arguments of a command line with the
// access flags ACL looks at.
func aclKeyFinder(cmd *Command) func(args [][]byte) []acl.KeyRef {
	return func(args [][]byte) []acl.KeyRef {
		refs, _ := commandKeys(cmd, args)
		out := make([]acl.KeyRef, len(refs))
		for i, r := range refs {
			f := 0
			for _, fl := range r.flags {
				switch fl {
				case "access":
					f |= acl.KeyAccess
				case "insert":
					f |= acl.KeyInsert
				case "delete":
					f |= acl.KeyDelete
				case "update":
					f |= acl.KeyUpdate
				}
			}
			out[i] = acl.KeyRef{Pos: r.pos, Flags: f}
		}
		return out
	}
}

// aclChannelFinder is Redis's table of commands with channel arguments
// that publish or subscribe (the unsubscribe commands need no right).
func aclChannelFinder(name string) func(args [][]byte) []acl.ChannelRef {
	all := func(flags int) func(args [][]byte) []acl.ChannelRef {
		return func(args [][]byte) []acl.ChannelRef {
			out := make([]acl.ChannelRef, 0, len(args)-1)
			for i := 1; i < len(args); i++ {
				out = append(out, acl.ChannelRef{Pos: i, Flags: flags})
			}
			return out
		}
	}
	switch name {
	case "subscribe", "ssubscribe":
		return all(acl.ChannelSubscribe)
	case "psubscribe":
		return all(acl.ChannelSubscribe | acl.ChannelPattern)
	case "publish", "spublish":
		return func(args [][]byte) []acl.ChannelRef {
			return []acl.ChannelRef{{Pos: 1, Flags: acl.ChannelPublish}}
		}
	}
	return nil
}

// initACL (re)builds the users for a command table: the default user
// with requirepass, the config file's "user" directives, then the ACL
// file. It fails as redis-server refuses to start.
func (s *Server) initACL(table map[string]*Command) error {
	t, byCmd := aclCommandTable(table, s.sentinel == nil && !s.cfg.SentinelMode())
	reg := acl.NewRegistry(t)
	reg.PubsubAll = s.cfg.String("acl-pubsub-default") == "allchannels"
	reg.Log.MaxLen = s.cfg.Int("acllog-max-len")
	reg.SetDefaultPassword(s.cfg.String("requirepass"))
	var users []acl.ConfigUser
	for _, words := range s.cfg.UserDirectives() {
		if err := reg.CheckConfigUser(words); err != nil {
			return err
		}
		users = append(users, acl.ConfigUser{Name: words[0], Rules: words[1:]})
	}
	file := s.cfg.String("aclfile")
	if file != "" && len(users) > 0 {
		return fmt.Errorf("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.")
	}
	if err := reg.LoadConfigUsers(users); err != nil {
		return fmt.Errorf("%s. Critical error while loading ACLs. Exiting.", err)
	}
	if file != "" {
		loaded, err := s.readACLFile(reg)
		if err != nil {
			return fmt.Errorf("Aborting Redis startup because of ACL errors: %s", err)
		}
		reg.Replace(loaded)
	}
	s.acl.reg, s.acl.byCmd = reg, byCmd
	if !s.acl.hooked {
		s.acl.hooked = true
		hooks := []struct {
			name string
			fn   func(string) error
		}{
			{"requirepass", func(v string) error { s.acl.reg.SetDefaultPassword(v); return nil }},
			{"acl-pubsub-default", func(v string) error { s.acl.reg.PubsubAll = v == "allchannels"; return nil }},
			{"acllog-max-len", func(v string) error { s.acl.reg.Log.SetMaxLen(atoi64(v)); return nil }},
		}
		for _, h := range hooks {
			if err := s.cfg.OnChange(h.name, h.fn); err != nil {
				return err
			}
		}
		s.cfg.SetUsersRewrite(s.configUserLines)
	}
	return nil
}

// aclTable is the command table the users are built for: the
// sentinel's when the configuration is a sentinel's.
func (s *Server) aclTable() map[string]*Command {
	if s.cfg.SentinelMode() {
		return sentinelCommands()
	}
	return s.cmds
}

// configUserLines are the "user" lines CONFIG REWRITE writes: none when
// an ACL file holds the users.
func (s *Server) configUserLines() []string {
	if s.cfg.String("aclfile") != "" {
		return nil
	}
	var out []string
	for _, u := range s.acl.reg.Users() {
		out = append(out, acl.Line(u))
	}
	return out
}

// aclFilePath is aclfile, relative paths being inside dir (Redis chdirs
// there).
func (s *Server) aclFilePath() string {
	f := s.cfg.String("aclfile")
	if f == "" || filepath.IsAbs(f) {
		return f
	}
	return filepath.Join(s.cfg.String("dir"), f)
}

func (s *Server) readACLFile(reg *acl.Registry) (map[string]*acl.User, error) {
	name := s.cfg.String("aclfile")
	data, err := os.ReadFile(s.aclFilePath())
	if err != nil {
		msg := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			msg = pe.Err.Error()
			if len(msg) > 0 {
				msg = strings.ToUpper(msg[:1]) + msg[1:]
			}
		}
		return nil, fmt.Errorf("Error loading ACLs, opening file '%s': %s", name, msg)
	}
	return reg.ParseFile(name, string(data))
}

// authRequired reports whether connections must authenticate: the
// default user has passwords or is disabled.
func (s *Server) authRequired() bool {
	d := s.acl.reg.Default
	return !d.NoPass() || !d.Enabled()
}

// defaultAuthenticated is the authentication state of a new (or RESET)
// connection: the default user needs no password and is on.
func (s *Server) defaultAuthenticated() bool {
	d := s.acl.reg.Default
	return d.NoPass() && d.Enabled()
}

// aclCheck runs the ACL check of a command line for a user without every
// permission; it replies and logs when the command is refused.
func (s *Server) aclCheck(c *Client, cmd *Command, args [][]byte) bool {
	ac := s.acl.byCmd[cmd.base()]
	if ac == nil {
		return true
	}
	res, pos := c.user.Check(ac, args)
	if res == acl.OK {
		return true
	}
	inExec := s.blocking.depth > 0
	if !inExec && c.flags&clientMulti != 0 && cmd.Has(FlagNoMulti) {
		return true // "not allowed inside a transaction" comes first (admit)
	}
	ctx := acl.ContextTopLevel
	if inExec || c.flags&clientMulti != 0 {
		ctx = acl.ContextMulti
	}
	s.aclLogDenied(c, cmd, args, res, ctx, pos)
	if inExec {
		var reason string
		switch res {
		case acl.DeniedCommand:
			reason = "no permission to execute the command or subcommand"
		case acl.DeniedKey:
			reason = "no permission to touch the specified keys"
		default:
			reason = "no permission to access one of the channels used as arguments"
		}
		c.replyError("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: " + reason)
		return false
	}
	s.rejectedCall(cmd)
	switch res {
	case acl.DeniedCommand:
		c.replyError("NOPERM this user has no permissions to run the '" + cmd.FullName() + "' command")
	case acl.DeniedKey:
		c.replyError("NOPERM this user has no permissions to access one of the keys used as arguments")
	default:
		c.replyError("NOPERM this user has no permissions to access one of the channels used as arguments")
	}
	return false
}

// aclLogDenied adds a refused command to the ACL log.
func (s *Server) aclLogDenied(c *Client, cmd *Command, args [][]byte, res, ctx, pos int) {
	var obj string
	switch res {
	case acl.DeniedCommand:
		obj = cmd.FullName()
	default:
		obj = string(args[pos])
	}
	// Redis's entry shows the client as it executes the refused command.
	prevCmd, prevArgv := c.cmd, c.argv
	c.cmd, c.argv = cmd, args
	info := c.clientInfoString()
	c.cmd, c.argv = prevCmd, prevArgv
	s.acl.reg.Log.Add(acl.LogEntry{Reason: res, Context: ctx, Object: obj, Username: c.userName(),
		CTime: time.Now().UnixMilli(), ClientInfo: info})
}

// aclLogAuthFailure records a failed AUTH or HELLO AUTH.
func (s *Server) aclLogAuthFailure(c *Client, user []byte) {
	ctx := acl.ContextTopLevel
	if c.flags&clientMulti != 0 {
		ctx = acl.ContextMulti
	}
	s.acl.reg.Log.Add(acl.LogEntry{Reason: acl.DeniedAuth, Context: ctx, Object: string(c.argv[0]),
		Username: string(user), CTime: time.Now().UnixMilli(), ClientInfo: c.clientInfoString()})
}

// clientInfoString is the client's CLIENT LIST line without the newline.
func (c *Client) clientInfoString() string {
	line := c.infoLine(nil, c, time.Now())
	return string(line[:len(line)-1])
}

// userName is the name CLIENT LIST and the ACL log show.
func (c *Client) userName() string {
	if c.user == nil {
		return "(superuser)"
	}
	return c.user.Name()
}

// authenticate makes the connection authenticated as user/pass, or logs
// the failure; it reports success.
func (c *Client) authenticate(user, pass []byte) bool {
	u := c.srv.acl.reg.Authenticate(user, pass)
	if u == nil {
		c.srv.aclLogAuthFailure(c, user)
		return false
	}
	c.user = u
	c.authed = true
	return true
}

// disconnect closes another client at once (removing it from the client
// table), or the calling client after its reply.
func (s *Server) disconnect(cl, self *Client) {
	if cl == self {
		cl.flags |= clientCloseAfterReply
		return
	}
	cl.flags |= clientCloseASAP
	delete(s.clients, cl.id)
	cl.conn.Close()
}

// killUserClients disconnects the clients authenticated as users that no
// longer exist (ACL DELUSER, ACL LOAD); they are unauthenticated first.
func (s *Server) killUserClients(self *Client, gone []*acl.User) {
	if len(gone) == 0 {
		return
	}
	dead := map[*acl.User]bool{}
	for _, u := range gone {
		dead[u] = true
	}
	for _, cl := range s.sortedClients() {
		if cl.user != nil && dead[cl.user] {
			cl.user = s.acl.reg.Default
			cl.authed = false
			s.disconnect(cl, self)
		}
	}
}

// killRevokedSubscribers disconnects the subscribers of a user whose
// channel rights a change revokes, as Redis does.
func (s *Server) killRevokedSubscribers(self *Client, u, staged *acl.User) {
	revoked := acl.ChannelsRevoked(u, staged)
	if revoked == nil {
		return
	}
	for _, cl := range s.sortedClients() {
		if cl.user != u || cl.clientType() != clientTypePubSub || cl.x.subs == nil {
			continue
		}
		kill := false
		for _, p := range cl.x.subs.patterns.order {
			if kill = revoked([]byte(p), true); kill {
				break
			}
		}
		for _, set := range []*subSet{&cl.x.subs.channels, &cl.x.subs.shard} {
			for _, ch := range set.order {
				if kill {
					break
				}
				kill = revoked([]byte(ch), false)
			}
		}
		if kill {
			s.disconnect(cl, self)
		}
	}
}

// sensitiveConfigs are the options whose CONFIG SET values are redacted.
var sensitiveConfigs = map[string]bool{"requirepass": true, "masterauth": true, "masteruser": true}

// redactedArgs hides credentials from MONITOR and the slow log as Redis
// does (its redactClientCommandArgument calls): AUTH's arguments, HELLO
// AUTH's user and password, MIGRATE's AUTH password and AUTH2 user and
// password, every ACL SETUSER argument after the
// subcommand, and the values of sensitive CONFIG SET options. It returns
// args itself when nothing is hidden.
func redactedArgs(cmd *Command, args [][]byte) [][]byte {
	var hide []int
	switch cmd.FullName() {
	case "auth":
		if len(args) <= 3 {
			for i := 1; i < len(args); i++ {
				hide = append(hide, i)
			}
		}
	case "hello":
		next := 1
		if len(args) >= 2 {
			v, err := strconv.ParseInt(string(args[1]), 10, 64)
			if err != nil || v < 2 || v > 3 {
				break
			}
			next = 2
		}
		for j := next; j < len(args); j++ {
			more := len(args) - 1 - j
			if eqFold(args[j], "auth") && more >= 2 {
				hide = append(hide, j+1, j+2)
				j += 2
			} else if eqFold(args[j], "setname") && more >= 1 {
				j++
			} else {
				break
			}
		}
	case "migrate":
		// Redacted as MIGRATE parses its options: up to the first bad
		// one, and not past KEYS (the rest are key names).
	opts:
		for j := 6; j < len(args); j++ {
			more := len(args) - 1 - j
			switch {
			case eqFold(args[j], "copy"), eqFold(args[j], "replace"):
			case eqFold(args[j], "auth") && more >= 1:
				hide = append(hide, j+1)
				j++
			case eqFold(args[j], "auth2") && more >= 2:
				hide = append(hide, j+1, j+2)
				j += 2
			default: // KEYS, or an error
				break opts
			}
		}
	case "acl|setuser":
		for i := 2; i < len(args); i++ {
			hide = append(hide, i)
		}
	case "config|set":
		if len(args)%2 == 0 {
			for i := 2; i+1 < len(args); i += 2 {
				if o := config.Lookup(string(args[i])); o != nil && sensitiveConfigs[o.Name] {
					hide = append(hide, i+1)
				}
			}
		}
	}
	if len(hide) == 0 {
		return args
	}
	out := append([][]byte(nil), args...)
	for _, i := range hide {
		out[i] = []byte("(redacted)")
	}
	return out
}
