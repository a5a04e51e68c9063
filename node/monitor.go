package node

// MONITOR: every command executed by any client is echoed, after it ran,
// to the monitoring clients as a status line, as Redis does. Delivery
// uses the same outbound queues as pub/sub (pubsub.go), so a slow monitor
// never stalls the server.

import (
	"strconv"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
)

func init() {
	register(&Command{Name: "monitor", Arity: 1, Flags: "admin noscript loading stale", Group: "server", Since: "1.0.0", Summary: "Listen for all requests received by the server in real time", Handler: cmdMonitor})
	resetHooks = append(resetHooks, func(c *Client) { c.srv.removeMonitor(c) })
}

func cmdMonitor(c *Client, args [][]byte) {
	s := c.srv
	if c.flags&clientMulti != 0 || s.blocking.depth > 1 {
		// Inside a transaction the client expects one reply per command.
		c.replyError("ERR MONITOR isn't allowed for DENY BLOCKING client")
		return
	}
	if c.x.monitor || c.flags&clientReplica != 0 {
		return
	}
	c.x.monitor = true
	s.x.monitors = append(s.x.monitors, c)
	s.updateGate()
	s.ensureQueue(c)
	c.replyOK()
}

func (s *Server) removeMonitor(c *Client) {
	if !c.x.monitor {
		return
	}
	c.x.monitor = false
	s.x.monitors = removeClient(s.x.monitors, c)
	s.updateGate()
}

// feedMonitors echoes a command that just ran to every monitor. Admin
// commands are not shown (they may carry secrets), as in Redis.
func (s *Server) feedMonitors(c *Client, cmd *Command, args [][]byte) {
	if len(s.x.monitors) == 0 || cmd.Has(FlagAdmin|FlagSkipMonitor) {
		return
	}
	s.feedMonitorLine(c, cmd, args)
}

// feedMonitorLine shows one command to the monitors (EVAL calls it
// itself, before its script's commands, although it is skip_monitor).
func (s *Server) feedMonitorLine(c *Client, cmd *Command, args [][]byte) {
	now := time.Now()
	b := make([]byte, 0, 64)
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := strconv.Itoa(now.Nanosecond() / 1000)
	for i := len(us); i < 6; i++ {
		b = append(b, '0')
	}
	b = append(b, us...)
	b = append(b, " ["...)
	b = strconv.AppendInt(b, int64(c.db.ID), 10)
	b = append(b, ' ')
	b = append(b, c.addr...)
	b = append(b, "] "...)
	for i, a := range redactedArgs(cmd, args) {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendRepr(b, a)
	}
	line := string(b)
	for _, m := range s.x.monitors {
		s.pushTo(m, func(w *resp.Writer) { w.AppendSimple(line) })
	}
}

// appendRepr quotes a as Redis's sdscatrepr: printable ASCII as is,
// common escapes, \xHH for the rest.
func appendRepr(b, a []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, ch := range a {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		case '\a':
			b = append(b, '\\', 'a')
		case '\b':
			b = append(b, '\\', 'b')
		default:
			if ch >= 0x20 && ch < 0x7f {
				b = append(b, ch)
			} else {
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}
