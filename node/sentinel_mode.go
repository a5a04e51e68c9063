package node

// Sentinel mode: the same server with the command table redis-sentinel
// has. The sentinel engine (package sentinel, which does not import node)
// plugs in through SentinelHooks; node owns the connections, AUTH, CLIENT,
// COMMAND, pub/sub and INFO, and hands SENTINEL <sub>, the hello messages
// PUBLISHed to the sentinel, its INFO section and ROLE's master names to
// the engine.
//
// Running a sentinel (cmd/skiff):
//
//	srv, err := node.New(cfg, logger) // cfg from sentinel.conf; appendonly must stay no
//	srv.SetSentinelMode(engine)      // before Listen: table, no dataset, no replication
//	err = srv.Listen()
//	go engine.Run(...)               // may call srv.Publish at any time, from any goroutine
//	srv.Serve()                      // returns after Shutdown (SHUTDOWN or a signal handler)
//
// In sentinel mode the server loads and saves nothing: LoadRDB is a no-op,
// save points are dropped, SHUTDOWN never saves (as redis-sentinel forces
// NOSAVE), no AOF is written and no replication link or cron runs.
// Shutdown calls SentinelShutdown once, before Serve returns.
//
// Locking. The hooks are called without the data lock, so that an engine
// blocked on a Raft proposal or on its own lock never stalls the other
// connections, and so that an engine may call Publish while it holds its
// own lock. call() keeps no per-call server state for sentinel-mode
// commands (there is no keyspace, MULTI or blocking), which is what allows
// their handlers to release the lock in the middle (Client.unlocked). A
// hook writes its reply into a buffer of its own, appended to the client's
// replies once the lock is held again: pushed messages may be written into
// the client's reply buffer by other goroutines under the lock meanwhile.

import (
	"strings"
	"sync"

	"github.com/skiffdb/skiff/internal/resp"
)

// SentinelHooks is implemented by the sentinel engine (package sentinel,
// which must not import node).
type SentinelHooks interface {
	// SentinelCommand executes SENTINEL <sub> ...; args[0] is "sentinel"
	// as sent. The subcommand is known and its arity checked (unknown
	// subcommands and wrong arities are answered by the server as Redis
	// does). It writes exactly one reply to w (w.Proto tells RESP2/RESP3).
	// It is called without the server's data lock and may block briefly.
	// args alias the connection's read buffer: copy what is kept.
	SentinelCommand(w *resp.Writer, args [][]byte)
	// SentinelHello receives the payload of a PUBLISH __sentinel__:hello
	// <payload> sent to this sentinel.
	SentinelHello(payload string)
	// SentinelInfo returns the body of INFO's "# Sentinel" section: lines
	// ending in \r\n, no header.
	SentinelInfo() string
	// SentinelMasterNames lists monitored master names (for ROLE).
	SentinelMasterNames() []string
	// SentinelShutdown is called once before the process exits (SHUTDOWN
	// or signal) to flush the config: Server.Shutdown calls it, after the
	// clients are disconnected and before Serve returns, without the data
	// lock.
	SentinelShutdown()
}

// sentinelState is the server's sentinel-mode state.
type sentinelState struct {
	hooks SentinelHooks

	// Publish queue: messages from any goroutine, delivered in order by
	// one goroutine that takes the data lock.
	pubMu   sync.Mutex
	pubQ    []sentinelMsg
	pubWake chan struct{}

	shutdownOnce sync.Once
}

type sentinelMsg struct{ channel, message string }

// SetSentinelMode turns the server into a sentinel: the sentinel command
// table, INFO/ROLE/HELLO/PUBLISH as redis-sentinel answers them, no
// dataset and no replication. It must be called once, after New and
// before Listen. h must not be nil.
func (s *Server) SetSentinelMode(h SentinelHooks) {
	if h == nil {
		panic("node: SetSentinelMode with nil hooks")
	}
	st := &sentinelState{hooks: h, pubWake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.sentinel = st
	s.cmds = sentinelCommands()
	// No dataset: nothing to save, nothing to replicate.
	s.p.savePoints = nil
	if s.p.aof.on {
		s.stopAOF()
	}
	s.repl.masterHost, s.repl.masterPort = "", 0
	s.store.NoLazyExpire = false
	if !s.cfg.SentinelMode() {
		// Users refer to the commands of the table: rebuild them for the
		// sentinel's (New used the server's).
		if err := s.initACL(s.cmds); err != nil {
			s.log.Error("ACL users for the sentinel command table", "error", err)
		}
	}
	s.mu.Unlock()
	go s.sentinelPublisher(st)
}

// SentinelMode reports whether SetSentinelMode has been called.
func (s *Server) SentinelMode() bool { return s.sentinel != nil }

// Publish delivers a message to this server's own subscribers (SUBSCRIBE
// and PSUBSCRIBE, RESP2 messages or RESP3 pushes), as PUBLISH does. It may
// be called from any goroutine, including from inside a hook: it only
// queues the message and never blocks. Messages are delivered in the
// order of the calls. Outside sentinel mode it is a no-op.
func (s *Server) Publish(channel, message string) {
	st := s.sentinel
	if st == nil {
		return
	}
	select {
	case <-s.done:
		return // stopped: nobody to deliver to
	default:
	}
	st.pubMu.Lock()
	st.pubQ = append(st.pubQ, sentinelMsg{channel, message})
	st.pubMu.Unlock()
	select {
	case st.pubWake <- struct{}{}:
	default:
	}
}

// sentinelPublisher delivers Publish's queue until the server stops.
func (s *Server) sentinelPublisher(st *sentinelState) {
	var batch []sentinelMsg
	for {
		select {
		case <-s.done:
			return
		case <-st.pubWake:
		}
		st.pubMu.Lock()
		batch, st.pubQ = st.pubQ, batch[:0]
		st.pubMu.Unlock()
		if len(batch) == 0 {
			continue
		}
		s.mu.Lock()
		for _, m := range batch {
			s.publish(kindPlain, m.channel, []byte(m.message))
		}
		s.mu.Unlock()
		clear(batch)
	}
}

// sentinelShutdown calls the engine's SentinelShutdown once.
func (s *Server) sentinelShutdown() {
	if st := s.sentinel; st != nil {
		st.shutdownOnce.Do(st.hooks.SentinelShutdown)
	}
}

// unlocked runs fn with the data lock released; only sentinel-mode
// handlers may use it (see the file comment).
func (c *Client) unlocked(fn func()) {
	c.srv.mu.Unlock()
	defer c.srv.mu.Lock()
	fn()
}

// appendHookReply adds a reply a hook wrote to the client's replies,
// counting it in the error statistics when it is an error.
func (c *Client) appendHookReply(b []byte) {
	if len(b) == 0 {
		c.replyError("ERR the sentinel engine gave no reply")
		return
	}
	if b[0] == '-' || b[0] == '!' {
		msg := string(b[1:])
		if b[0] == '!' {
			if i := strings.Index(msg, "\r\n"); i >= 0 {
				msg = msg[i+2:]
			}
		}
		if i := strings.IndexAny(msg, " \r"); i > 0 {
			msg = msg[:i]
		}
		c.srv.stats.TotalErrorReplies++
		c.srv.stats.ErrorStats[msg]++
		c.errs++
	}
	c.w.B = append(c.w.B, b...)
}

// ---- the sentinel command table ----

var (
	sentinelTableOnce sync.Once
	sentinelTable     map[string]*Command
)

// sentinelCommands returns redis-sentinel 7.0's command table: 15
// commands, 72 with their subcommands. Commands shared with the server
// are the server's own entries; those that answer differently in a
// sentinel are copies with another handler.
func sentinelCommands() map[string]*Command {
	sentinelTableOnce.Do(func() { sentinelTable = buildSentinelTable() })
	return sentinelTable
}

func buildSentinelTable() map[string]*Command {
	t := map[string]*Command{}
	shared := func(name string) *Command {
		cmd := commands[name]
		if cmd == nil {
			panic("node: sentinel table: no server command " + name)
		}
		return cmd
	}
	withHandler := func(name string, h Handler) *Command {
		cp := *shared(name)
		cp.Handler = h
		return &cp
	}
	for _, name := range []string{"auth", "command", "ping", "subscribe", "psubscribe", "unsubscribe", "punsubscribe"} {
		t[name] = shared(name)
	}
	t["hello"] = shared("hello") // cmdHello answers mode=sentinel without role
	t["shutdown"] = shared("shutdown")
	t["publish"] = withHandler("publish", cmdSentinelPublish)
	t["info"] = withHandler("info", cmdSentinelInfo)
	t["role"] = withHandler("role", cmdSentinelRole)
	t["client"] = sentinelClientCommand(shared("client"))
	t["acl"] = newACLCommand()
	t["sentinel"] = newSentinelCommand()
	return t
}

// sentinelClientCommand is CLIENT with redis-sentinel 7.0's subcommands:
// the server's without 7.2's NO-TOUCH (the tracking ones included: a
// sentinel accepts them although it has no keys to track), and its help.
func sentinelClientCommand(server *Command) *Command {
	cp := *server
	cp.Subcommands = map[string]*Command{}
	for name, sub := range server.Subcommands {
		if name == "no-touch" {
			continue
		}
		cp.Subcommands[name] = sub
	}
	for _, sub := range []*Command{
		{Name: "help", Arity: 2, Flags: "loading stale", Group: "connection", Since: "5.0.0", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)", Handler: cmdSentinelClientHelp},
	} {
		prepare(sub, &cp)
		cp.Subcommands[sub.Name] = sub
	}
	return &cp
}

// sentinelSubcommands are SENTINEL's 7.0 subcommands with their arity,
// flags and documentation.
var sentinelSubcommands = []*Command{
	{Name: "ckquorum", Arity: 3, Since: "2.8.4", Summary: "Checks whether the sentinels can reach the quorum and the majority needed to fail a master over."},
	{Name: "config", Arity: -3, Since: "6.2.0", Summary: "Reads or changes the sentinel's global settings.", Complexity: "O(1)"},
	{Name: "debug", Arity: -2, Since: "7.0.0", Summary: "Lists or changes the sentinel's tunable timing parameters.", Complexity: "O(N) where N is the number of configurable parameters"},
	{Name: "failover", Arity: 3, Since: "2.8.4", Summary: "Fails a master over without asking the other sentinels."},
	{Name: "flushconfig", Arity: 2, Since: "2.8.4", Summary: "Writes the sentinel's state to its configuration file.", Complexity: "O(1)"},
	{Name: "get-master-addr-by-name", Arity: 3, Since: "2.8.4", Summary: "Returns the address of a monitored master.", Complexity: "O(1)"},
	{Name: "help", Arity: 2, Flags: "loading stale", Since: "6.2.0", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)"},
	{Name: "info-cache", Arity: -3, Since: "3.2.0", Summary: "Returns the INFO last received from the masters and replicas.", Complexity: "O(N) where N is the number of instances"},
	{Name: "is-master-down-by-addr", Arity: 6, Since: "2.8.4", Summary: "Asks whether a master is down and, optionally, for a vote.", Complexity: "O(1)"},
	{Name: "master", Arity: 3, Since: "2.8.4", Summary: "Returns the state of a monitored master.", Complexity: "O(1)"},
	{Name: "masters", Arity: 2, Since: "2.8.4", Summary: "Returns the state of every monitored master.", Complexity: "O(N) where N is the number of masters"},
	{Name: "monitor", Arity: 6, Since: "2.8.4", Summary: "Starts monitoring a master.", Complexity: "O(1)"},
	{Name: "myid", Arity: 2, Since: "6.2.0", Summary: "Returns the sentinel's id.", Complexity: "O(1)"},
	{Name: "pending-scripts", Arity: 2, Since: "2.8.4", Summary: "Returns the scripts waiting to run or running."},
	{Name: "remove", Arity: 3, Since: "2.8.4", Summary: "Stops monitoring a master.", Complexity: "O(1)"},
	{Name: "replicas", Arity: 3, Since: "5.0.0", Summary: "Returns the state of a master's replicas.", Complexity: "O(N) where N is the number of replicas"},
	{Name: "reset", Arity: 3, Since: "2.8.4", Summary: "Forgets the state of the masters whose name matches a pattern.", Complexity: "O(N) where N is the number of monitored masters"},
	{Name: "sentinels", Arity: 3, Since: "2.8.4", Summary: "Returns the other sentinels monitoring a master.", Complexity: "O(N) where N is the number of Sentinels"},
	{Name: "set", Arity: -5, Since: "2.8.4", Summary: "Changes the settings of a monitored master.", Complexity: "O(1)"},
	{Name: "simulate-failure", Arity: -3, Since: "3.2.0", Summary: "Makes the sentinel crash at a given point of a failover (testing)."},
	{Name: "slaves", Arity: 3, Since: "2.8.0", Summary: "Returns the state of a master's replicas (old name of REPLICAS).", Complexity: "O(N) where N is the number of slaves"},
}

func newSentinelCommand() *Command {
	cmd := &Command{Name: "sentinel", Arity: -2, Flags: "admin sentinel only_sentinel", Group: "sentinel", Since: "2.8.4", Summary: "A container for the sentinel commands.", Complexity: "Depends on subcommand."}
	prepare(cmd, nil)
	cmd.Subcommands = map[string]*Command{}
	skiff := &Command{Name: "skiff", Arity: -2, Flags: "admin sentinel only_sentinel", Group: "sentinel",
		Summary: "Skiff-only subcommands between sentinels (group formation).", Handler: cmdSentinel}
	prepare(skiff, cmd)
	cmd.SkiffSub = skiff
	for _, tmpl := range sentinelSubcommands {
		sub := *tmpl
		if sub.Flags == "" {
			sub.Flags = "admin"
		}
		sub.Flags += " sentinel only_sentinel"
		sub.Group = "sentinel"
		sub.Handler = cmdSentinel
		prepare(&sub, cmd)
		cmd.Subcommands[sub.Name] = &sub
	}
	return cmd
}

// cmdSentinel hands SENTINEL <sub> to the engine.
func cmdSentinel(c *Client, args [][]byte) {
	h := c.srv.sentinel.hooks
	w := resp.Writer{Proto: c.w.Proto}
	c.unlocked(func() { h.SentinelCommand(&w, args) })
	c.appendHookReply(w.B)
}

// sentinelHelloChannel is the only channel a sentinel accepts PUBLISH on.
const sentinelHelloChannel = "__sentinel__:hello"

// cmdSentinelPublish accepts only hello messages, which go to the engine
// (not to this sentinel's subscribers), and answers 1 as redis-sentinel.
func cmdSentinelPublish(c *Client, args [][]byte) {
	if string(args[1]) != sentinelHelloChannel {
		c.replyError("ERR Only HELLO messages are accepted by Sentinel instances.")
		return
	}
	payload := string(args[2])
	h := c.srv.sentinel.hooks
	c.unlocked(func() { h.SentinelHello(payload) })
	c.replyInt(1)
}

// cmdSentinelRole answers ["sentinel", [master names...]].
func cmdSentinelRole(c *Client, args [][]byte) {
	var names []string
	h := c.srv.sentinel.hooks
	c.unlocked(func() { names = h.SentinelMasterNames() })
	c.w.AppendArray(2)
	c.w.AppendBulkString("sentinel")
	c.w.AppendArray(len(names))
	for _, n := range names {
		c.w.AppendBulkString(n)
	}
}

// sentinelInfoSections are the INFO sections a sentinel has, in order.
var sentinelInfoSections = []string{"server", "clients", "stats", "cpu", "sentinel"}

// cmdSentinelInfo is redis-sentinel's INFO: sections server, clients,
// stats, cpu and sentinel (also for INFO default, all and everything),
// others ignored; always a bulk string, also in RESP3.
func cmdSentinelInfo(c *Client, args [][]byte) {
	want := map[string]bool{}
	if len(args) == 1 {
		args = [][]byte{nil, []byte("default")}
	}
	for _, a := range args[1:] {
		switch la := strings.ToLower(string(a)); la {
		case "default", "all", "everything":
			for _, name := range sentinelInfoSections {
				want[name] = true
			}
		default:
			want[la] = true
		}
	}
	var body string
	if want["sentinel"] {
		h := c.srv.sentinel.hooks
		c.unlocked(func() { body = h.SentinelInfo() })
	}
	var out strings.Builder
	for _, sec := range infoSections {
		name := strings.ToLower(sec.name)
		if name == "sentinel" || !want[name] || !sentinelSection(name) {
			continue
		}
		if out.Len() > 0 {
			out.WriteString("\r\n")
		}
		out.WriteString("# " + sec.name + "\r\n")
		var b infoBuf
		sec.fn(c.srv, &b)
		out.WriteString(b.String())
	}
	if want["sentinel"] {
		if out.Len() > 0 {
			out.WriteString("\r\n")
		}
		out.WriteString("# Sentinel\r\n")
		out.WriteString(body)
	}
	c.w.AppendBulkString(out.String())
}

func sentinelSection(name string) bool {
	for _, n := range sentinelInfoSections {
		if n == name {
			return true
		}
	}
	return false
}

func cmdSentinelClientHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"CACHING (YES|NO)",
		"    With tracking in OPTIN (YES) or OPTOUT (NO) mode, decides whether the keys",
		"    read by the next command are tracked.",
		"GETREDIR",
		"    Return the id of the client tracking notifications are redirected to,",
		"    0 when not redirected, -1 when tracking is off.",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are: ID <id>, TYPE normal|master|replica|pubsub,",
		"    USER <username>, ADDR <ip:port>, LADDR <ip:port>, SKIPME yes|no.",
		"LIST [options ...]",
		"    Return information about client connections. Options: TYPE <type>, ID <id> [...].",
		"UNPAUSE",
		"    Stop the pause started by CLIENT PAUSE.",
		"PAUSE <timeout> [WRITE|ALL]",
		"    Suspend the clients' commands for <timeout> milliseconds (only the writes",
		"    with WRITE).",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]",
		"    Turn client-side caching support on or off.",
		"TRACKINGINFO",
		"    Return the connection's client-side caching settings.",
		"NO-EVICT (ON|OFF)",
		"    Protect the current client connection from eviction.",
	})
}
