package node

import (
	"math"
)

func init() {
	register(
		&Command{Name: "ping", Arity: -1, Flags: "fast sentinel", Group: "connection", Since: "1.0.0", Summary: "Returns the server's liveliness response.", Complexity: "O(1)", Handler: cmdPing},
		&Command{Name: "echo", Arity: 2, Flags: "loading stale fast", Group: "connection", Since: "1.0.0", Summary: "Returns the given string.", Complexity: "O(1)", Handler: cmdEcho},
		&Command{Name: "quit", Arity: -1, Flags: "allow_busy noscript loading stale fast no_auth", Group: "connection", Since: "1.0.0", Summary: "Closes the connection.", Complexity: "O(1)", Handler: cmdQuit},
		&Command{Name: "select", Arity: 2, Flags: "loading stale fast", Group: "connection", Since: "1.0.0", Summary: "Changes the selected database.", Complexity: "O(1)", Handler: cmdSelect},
	)
}

func cmdPing(c *Client, args [][]byte) {
	if len(args) > 2 {
		c.replyError("ERR wrong number of arguments for 'ping' command")
		return
	}
	if c.flags&clientPubSub != 0 && c.w.Proto == 2 {
		// In RESP2 subscribed mode PING answers with a "pong" message.
		c.w.AppendArray(2)
		c.w.AppendBulkString("pong")
		if len(args) == 2 {
			c.w.AppendBulk(args[1])
		} else {
			c.w.AppendBulkString("")
		}
		return
	}
	if len(args) == 2 {
		c.w.AppendBulk(args[1])
		return
	}
	c.w.AppendSimple("PONG")
}

func cmdEcho(c *Client, args [][]byte) { c.w.AppendBulk(args[1]) }

func cmdQuit(c *Client, args [][]byte) {
	c.replyOK()
	c.flags |= clientCloseAfterReply
}

func cmdSelect(c *Client, args [][]byte) {
	n, ok := parseInt(args[1])
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		c.replyError(errNotInt)
		return
	}
	if n != 0 && c.clusterEnabled() {
		c.replyError("ERR SELECT is not allowed in cluster mode")
		return
	}
	if n < 0 || n >= int64(len(c.srv.store.DBs)) {
		c.replyError(errDBIndex)
		return
	}
	c.db = c.srv.store.DBs[n]
	c.replyOK()
}
