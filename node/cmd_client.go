package node

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/acl"
)

func init() {
	register(&Command{Name: "client", Arity: -2, Group: "connection", Since: "2.4.0", Summary: "A container for client connection commands.", Complexity: "Depends on subcommand."})
	registerSub("client",
		&Command{Name: "id", Arity: 2, Flags: "noscript loading stale", Group: "connection", Since: "5.0.0", Summary: "Returns the unique client ID of the connection.", Complexity: "O(1)", Handler: cmdClientID},
		&Command{Name: "setname", Arity: 3, Flags: "noscript loading stale", Group: "connection", Since: "2.6.9", Summary: "Sets the connection name.", Complexity: "O(1)", Handler: cmdClientSetName},
		&Command{Name: "getname", Arity: 2, Flags: "noscript loading stale", Group: "connection", Since: "2.6.9", Summary: "Returns the name of the connection.", Complexity: "O(1)", Handler: cmdClientGetName},
		&Command{Name: "list", Arity: -2, Flags: "admin noscript loading stale", Group: "connection", Since: "2.4.0", Summary: "Lists open connections.", Complexity: "O(N) where N is the number of client connections", Handler: cmdClientList},
		&Command{Name: "info", Arity: 2, Flags: "noscript loading stale", Group: "connection", Since: "6.2.0", Summary: "Returns information about the connection.", Complexity: "O(1)", Handler: cmdClientInfo},
		&Command{Name: "kill", Arity: -3, Flags: "admin noscript loading stale", Group: "connection", Since: "2.4.0", Summary: "Terminates open connections.", Complexity: "O(N) where N is the number of client connections", Handler: cmdClientKill},
		&Command{Name: "no-evict", Arity: 3, Flags: "admin noscript loading stale", Group: "connection", Since: "7.0.0", Summary: "Sets the client eviction mode of the connection.", Complexity: "O(1)", Handler: cmdClientNoEvict},
		&Command{Name: "no-touch", Arity: 3, Flags: "noscript loading stale", Group: "connection", Since: "7.2.0", Summary: "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", Complexity: "O(1)", Handler: cmdClientNoTouch},
		&Command{Name: "reply", Arity: 3, Flags: "noscript loading stale", Group: "connection", Since: "3.2.0", Summary: "Instructs the server whether to reply to commands.", Complexity: "O(1)", Handler: cmdClientReply},
		&Command{Name: "unblock", Arity: -3, Flags: "admin noscript loading stale", Group: "connection", Since: "5.0.0", Summary: "Unblocks a client blocked by a blocking command from a different connection.", Complexity: "O(log N) where N is the number of client connections", Handler: cmdClientUnblock},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "connection", Since: "5.0.0", Summary: "Returns helpful text about the different subcommands.", Complexity: "O(1)", Handler: cmdClientHelp},
	)
}

// applyReplyMode implements CLIENT REPLY OFF/SKIP after a command ran:
// the replies it produced since mark are dropped, and a pending SKIP
// becomes active for the next command only.
func (c *Client) applyReplyMode(mark int) {
	if c.flags&(clientReplyOff|clientReplySkip) != 0 && mark <= len(c.w.B) {
		c.w.B = c.w.B[:mark]
	}
	c.flags &^= clientReplySkip
	if c.flags&clientReplySkipNext != 0 {
		c.flags |= clientReplySkip
		c.flags &^= clientReplySkipNext
	}
}

func cmdClientID(c *Client, args [][]byte) { c.replyInt(c.id) }

// cmdClientUnblock is CLIENT UNBLOCK id [TIMEOUT|ERROR]: the reason is
// checked before the id, as Redis does.
func cmdClientUnblock(c *Client, args [][]byte) {
	if len(args) > 4 {
		c.replyErrorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try CLIENT HELP.", args[1])
		return
	}
	withError := false
	if len(args) == 4 {
		switch {
		case eqFold(args[3], "timeout"):
		case eqFold(args[3], "error"):
			withError = true
		default:
			c.replyError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
			return
		}
	}
	id, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	target := c.srv.clients[id]
	if target != nil && c.srv.unblockClient(target, withError) {
		c.replyInt(1)
		return
	}
	c.replyInt(0)
}

func cmdClientSetName(c *Client, args [][]byte) {
	if c.setName(args[2]) {
		c.replyOK()
	}
}

func cmdClientGetName(c *Client, args [][]byte) {
	if c.name == "" {
		c.replyNull()
		return
	}
	c.replyBulkString(c.name)
}

// Client types as CLIENT LIST TYPE and CLIENT KILL TYPE name them.
const (
	clientTypeNormal = iota
	clientTypeReplica
	clientTypePubSub
	clientTypeMaster
)

func clientTypeByName(name string) int {
	switch strings.ToLower(name) {
	case "normal":
		return clientTypeNormal
	case "slave", "replica":
		return clientTypeReplica
	case "pubsub":
		return clientTypePubSub
	case "master":
		return clientTypeMaster
	}
	return -1
}

func (c *Client) clientType() int {
	switch {
	case c.flags&clientMaster != 0:
		return clientTypeMaster
	case c.flags&clientReplica != 0:
		return clientTypeReplica
	case c.flags&clientPubSub != 0:
		return clientTypePubSub
	}
	return clientTypeNormal
}

// sortedClients returns the connected clients in id order, as Redis
// lists them (its client list is in connection order).
func (s *Server) sortedClients() []*Client {
	out := make([]*Client, 0, len(s.clients))
	for _, cl := range s.clients {
		out = append(out, cl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// subscriptionCounts reports a client's channel, pattern and shard-channel
// subscription counts; the pub/sub implementation sets it.
var subscriptionCounts = func(c *Client) (sub, psub, ssub int) { return 0, 0, 0 }

// multiCount reports the number of queued commands of a client inside
// MULTI, or -1 outside; the transactions implementation sets it.
var multiCount = func(c *Client) int { return -1 }

// requestLen is the size of args encoded as a RESP multibulk request:
// what Redis still holds in the query buffer while executing them.
func requestLen(args [][]byte) (total, argvMem int) {
	total = 1 + len(strconv.Itoa(len(args))) + 2
	for _, a := range args {
		total += 1 + len(strconv.Itoa(len(a))) + 2 + len(a) + 2
		argvMem += len(a)
	}
	return total, argvMem
}

// infoLine renders one line of CLIENT LIST / CLIENT INFO with Redis 7.0's
// fields. self is the client executing the command, whose request is
// still "in the query buffer" as in Redis.
func (c *Client) infoLine(b []byte, self *Client, now time.Time) []byte {
	// The buffers' figures (clientbuf.go): another client's parser and
	// reply buffer belong to its goroutine, which uses them outside the
	// lock, so they are as it last published them; our own are live.
	qbuf, qcap, qbufFree, argvMem := int(c.bufs.qLen.Load()), int(c.bufs.qCap.Load()), int(c.bufs.qFree.Load()), 0
	rbs, rbp := int(c.bufs.rbSize.Load()), int(c.bufs.rbPeak.Load())
	cmd := c.lastCmd
	if c == self {
		qbuf, qcap = c.p.Buffered(), c.p.QueryBufSize()
		qbufFree = qcap - qbuf
		if c.argv != nil {
			n, am := requestLen(c.argv)
			qbuf += n
			argvMem = am
			if c.cmd != nil {
				cmd = c.cmd.FullName()
			}
		}
	}
	flags := c.flagString()
	sub, psub, ssub := subscriptionCounts(c)
	obl := 0
	qbufFree = max(qbufFree, 0)
	omem := c.queuedBytes()
	// As clientMemory (clientevict.go), which client eviction compares
	// with maxmemory-clients: the output queue and the state beyond the
	// buffers count too, as in Redis's tot-mem.
	totMem := qcap + argvMem + rbs + 1024 + omem + int(c.stateMemory())
	events := "r"
	if obl > 0 {
		events = "rw"
	}
	b = append(b, "id="...)
	b = strconv.AppendInt(b, c.id, 10)
	b = append(b, " addr="...)
	b = append(b, c.addr...)
	b = append(b, " laddr="...)
	b = append(b, c.lad...)
	b = append(b, " fd="...)
	b = strconv.AppendInt(b, int64(c.fd), 10)
	b = append(b, " name="...)
	b = append(b, c.name...)
	b = append(b, " age="...)
	b = strconv.AppendInt(b, int64(now.Sub(c.created)/time.Second), 10)
	b = append(b, " idle="...)
	b = strconv.AppendInt(b, int64(now.Sub(c.lastUsed)/time.Second), 10)
	b = append(b, " flags="...)
	b = append(b, flags...)
	b = append(b, " db="...)
	b = strconv.AppendInt(b, int64(c.db.ID), 10)
	b = append(b, " sub="...)
	b = strconv.AppendInt(b, int64(sub), 10)
	b = append(b, " psub="...)
	b = strconv.AppendInt(b, int64(psub), 10)
	b = append(b, " ssub="...)
	b = strconv.AppendInt(b, int64(ssub), 10)
	b = append(b, " multi="...)
	b = strconv.AppendInt(b, int64(multiCount(c)), 10)
	b = append(b, " qbuf="...)
	b = strconv.AppendInt(b, int64(qbuf), 10)
	b = append(b, " qbuf-free="...)
	b = strconv.AppendInt(b, int64(qbufFree), 10)
	b = append(b, " argv-mem="...)
	b = strconv.AppendInt(b, int64(argvMem), 10)
	b = append(b, " multi-mem=0 rbs="...)
	b = strconv.AppendInt(b, int64(rbs), 10)
	b = append(b, " rbp="...)
	b = strconv.AppendInt(b, int64(rbp), 10)
	b = append(b, " obl="...)
	b = strconv.AppendInt(b, int64(obl), 10)
	b = append(b, " oll=0 omem="...)
	b = strconv.AppendInt(b, int64(omem), 10)
	b = append(b, " tot-mem="...)
	b = strconv.AppendInt(b, int64(totMem), 10)
	b = append(b, " events="...)
	b = append(b, events...)
	b = append(b, " cmd="...)
	b = append(b, cmd...)
	b = append(b, " user="...)
	b = append(b, c.userName()...)
	b = append(b, " redir="...)
	redir := int64(-1)
	if c.trk != nil {
		redir = c.trk.redirect
	}
	b = strconv.AppendInt(b, redir, 10)
	b = append(b, " resp="...)
	b = strconv.AppendInt(b, int64(c.w.Proto), 10)
	return append(b, '\n')
}

// flagString is CLIENT LIST's flags field, letters in Redis's order.
func (c *Client) flagString() string {
	var f []byte
	if c.x.monitor {
		f = append(f, 'O')
	} else if c.flags&clientReplica != 0 {
		f = append(f, 'S')
	}
	if c.flags&clientMaster != 0 {
		f = append(f, 'M')
	}
	if c.flags&clientPubSub != 0 {
		f = append(f, 'P')
	}
	if c.flags&clientMulti != 0 {
		f = append(f, 'x')
	}
	if c.flags&clientBlocked != 0 || c.blk != nil {
		f = append(f, 'b')
	}
	f = c.trackingFlags(f) // t, R, B (tracking.go)
	if c.x.dirtyCAS {
		f = append(f, 'd')
	}
	if c.flags&clientCloseAfterReply != 0 {
		f = append(f, 'c')
	}
	if c.flags&clientCloseASAP != 0 {
		f = append(f, 'A')
	}
	if c.unixSock {
		f = append(f, 'U')
	}
	if c.flags&clientReadonly != 0 {
		f = append(f, 'r')
	}
	if c.flags&clientNoEvict != 0 {
		f = append(f, 'e')
	}
	if c.flags&clientNoTouch != 0 {
		f = append(f, 'T')
	}
	if len(f) == 0 {
		return "N"
	}
	return string(f)
}

func cmdClientList(c *Client, args [][]byte) {
	typ := -1
	var ids map[int64]bool
	switch {
	case len(args) == 2:
	case len(args) > 3 && strings.EqualFold(string(args[2]), "type"):
		typ = clientTypeByName(string(args[3]))
		if typ < 0 || len(args) > 4 {
			if typ < 0 {
				c.replyErrorf("ERR Unknown client type '%s'", args[3])
			} else {
				c.replySyntax()
			}
			return
		}
	case len(args) > 3 && strings.EqualFold(string(args[2]), "id"):
		ids = map[int64]bool{}
		for _, a := range args[3:] {
			id, err := strconv.ParseInt(string(a), 10, 64)
			if err != nil || id < 1 {
				c.replyError("ERR Invalid client ID")
				return
			}
			ids[id] = true
		}
	default:
		c.replySyntax()
		return
	}
	now := time.Now()
	var b []byte
	for _, cl := range c.srv.sortedClients() {
		if typ >= 0 && cl.clientType() != typ {
			continue
		}
		if ids != nil && !ids[cl.id] {
			continue
		}
		b = cl.infoLine(b, c, now)
	}
	c.w.AppendVerbatim(string(b))
}

func cmdClientInfo(c *Client, args [][]byte) {
	c.w.AppendVerbatim(string(c.infoLine(nil, c, time.Now())))
}

// killFilter is the parsed form of CLIENT KILL's filters.
type killFilter struct {
	id          int64
	typ         int
	addr, laddr string
	user        *acl.User
	skipMe      bool
}

func (f *killFilter) match(cl, self *Client) bool {
	switch {
	case f.id != 0 && cl.id != f.id,
		f.typ >= 0 && cl.clientType() != f.typ,
		f.addr != "" && cl.addr != f.addr,
		f.laddr != "" && cl.lad != f.laddr,
		f.user != nil && cl.user != f.user,
		f.skipMe && cl == self:
		return false
	}
	return true
}

func cmdClientKill(c *Client, args [][]byte) {
	if len(args) == 3 {
		// The old form: CLIENT KILL addr:port, replying OK or an error.
		f := killFilter{typ: -1, addr: string(args[2])}
		if c.killClients(&f) == 0 {
			c.replyError("ERR No such client")
			return
		}
		c.replyOK()
		return
	}
	f := killFilter{typ: -1, skipMe: true}
	for i := 2; i < len(args); i += 2 {
		if i+1 >= len(args) {
			c.replySyntax()
			return
		}
		opt, val := strings.ToLower(string(args[i])), string(args[i+1])
		switch opt {
		case "id":
			id, err := strconv.ParseInt(val, 10, 64)
			if err != nil || id < 1 {
				c.replyError("ERR client-id should be greater than 0")
				return
			}
			f.id = id
		case "type":
			f.typ = clientTypeByName(val)
			if f.typ < 0 {
				c.replyErrorf("ERR Unknown client type '%s'", val)
				return
			}
		case "addr":
			f.addr = val
		case "laddr":
			f.laddr = val
		case "user":
			f.user = c.srv.acl.reg.User(val)
			if f.user == nil {
				c.replyErrorf("ERR No such user '%s'", val)
				return
			}
		case "skipme":
			switch strings.ToLower(val) {
			case "yes":
				f.skipMe = true
			case "no":
				f.skipMe = false
			default:
				c.replySyntax()
				return
			}
		default:
			c.replySyntax()
			return
		}
	}
	c.replyInt(int64(c.killClients(&f)))
}

// killClients disconnects every client matching f. Others are removed
// from the client table at once (so CLIENT LIST no longer shows them) and
// their connections closed; the calling client is closed after its reply.
func (c *Client) killClients(f *killFilter) int {
	n := 0
	for _, cl := range c.srv.sortedClients() {
		if !f.match(cl, c) {
			continue
		}
		n++
		if cl == c {
			c.flags |= clientCloseAfterReply
			continue
		}
		cl.flags |= clientCloseASAP
		delete(c.srv.clients, cl.id)
		cl.conn.Close()
	}
	return n
}

// onOff parses CLIENT's ON|OFF arguments.
func onOff(b []byte) (on, ok bool) {
	switch strings.ToLower(string(b)) {
	case "on":
		return true, true
	case "off":
		return false, true
	}
	return false, false
}

func cmdClientNoEvict(c *Client, args [][]byte) {
	on, ok := onOff(args[2])
	if !ok {
		c.replySyntax()
		return
	}
	if on {
		c.flags |= clientNoEvict
	} else {
		c.flags &^= clientNoEvict
	}
	c.replyOK()
}

func cmdClientNoTouch(c *Client, args [][]byte) {
	on, ok := onOff(args[2])
	if !ok {
		c.replySyntax()
		return
	}
	if on {
		c.flags |= clientNoTouch
	} else {
		c.flags &^= clientNoTouch
	}
	c.replyOK()
}

func cmdClientReply(c *Client, args [][]byte) {
	switch strings.ToLower(string(args[2])) {
	case "on":
		c.flags &^= clientReplySkip | clientReplyOff | clientReplySkipNext
		c.replyOK()
	case "off":
		c.flags |= clientReplyOff
	case "skip":
		if c.flags&clientReplyOff == 0 {
			c.flags |= clientReplySkipNext
		}
	default:
		c.replySyntax()
	}
}

// replyHelp writes a HELP reply: a header naming the command as sent,
// the lines, and the common HELP line, as status replies.
func (c *Client) replyHelp(lines []string) {
	c.w.AppendArray(len(lines) + 3)
	c.w.AppendSimple(strings.ToUpper(string(c.argv[0])) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range lines {
		c.w.AppendSimple(l)
	}
	c.w.AppendSimple("HELP")
	c.w.AppendSimple("    Prints this help.")
}

func cmdClientHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"CACHING (YES|NO)",
		"    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
		"GETREDIR",
		"    Return the client ID we are redirecting to when tracking is enabled.",
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
		"NO-EVICT (ON|OFF)",
		"    Protect the current client connection from eviction.",
		"NO-TOUCH (ON|OFF)",
		"    Do not update the access time of keys read by this connection.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
		"         [OPTIN] [OPTOUT] [NOLOOP]",
		"    Control server assisted client side caching.",
		"TRACKINGINFO",
		"    Report tracking status for the current connection.",
	})
}

// queuedBytes is what waits in the client's outbound queue (pub/sub
// messages, monitor lines): CLIENT LIST's omem.
func (c *Client) queuedBytes() int {
	q := c.x.out
	if q == nil {
		return 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf) + q.inflight
}
