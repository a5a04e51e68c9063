package node

import (
	"strconv"
	"strings"
)

func init() {
	register(
		&Command{Name: "auth", Arity: -2, Flags: "noscript loading stale fast no_auth allow_busy", Group: "connection", Since: "1.0.0", Summary: "Authenticates the connection.", Complexity: "O(N) where N is the number of passwords defined for the user", Handler: cmdAuth},
		&Command{Name: "hello", Arity: -1, Flags: "noscript loading stale fast no_auth allow_busy", Group: "connection", Since: "6.0.0", Summary: "Handshakes with the Redis server.", Complexity: "O(1)", Handler: cmdHello},
		&Command{Name: "reset", Arity: 1, Flags: "noscript loading stale fast no_auth allow_busy", Group: "connection", Since: "6.2.0", Summary: "Resets the connection.", Complexity: "O(1)", Handler: cmdReset},
	)
}

const (
	errNoProto    = "NOPROTO unsupported protocol version"
	errHelloAuth  = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
	errClientName = "ERR Client names cannot contain spaces, newlines or special characters."
)

// resetHooks let other parts of the server (transactions, pub/sub,
// tracking) drop their per-connection state when a client sends RESET.
var resetHooks []func(c *Client)

func cmdAuth(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.replySyntax()
		return
	}
	user, pass := []byte("default"), args[1]
	if len(args) == 2 {
		if c.srv.acl.reg.Default.NoPass() {
			c.replyError(errNoPassSet)
			return
		}
	} else {
		user, pass = args[1], args[2]
	}
	if !c.authenticate(user, pass) {
		c.replyError(errWrongPass)
		return
	}
	c.replyOK()
}

// validClientName is Redis's rule for connection names: printable ASCII
// without spaces.
func validClientName(name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

// setName sets or (with an empty name) clears the connection name,
// replying with Redis's error when the name is invalid.
func (c *Client) setName(name []byte) bool {
	if !validClientName(name) {
		c.replyError(errClientName)
		return false
	}
	c.name = string(name)
	return true
}

func cmdHello(c *Client, args [][]byte) {
	var ver int64
	next := 1
	if len(args) >= 2 {
		v, err := strconv.ParseInt(string(args[1]), 10, 64)
		if err != nil {
			c.replyError("ERR Protocol version is not an integer or out of range")
			return
		}
		if v < 2 || v > 3 {
			c.replyError(errNoProto)
			return
		}
		ver = v
		next = 2
	}
	for j := next; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := string(args[j])
		switch {
		case strings.EqualFold(opt, "auth") && more >= 2:
			if !c.authenticate(args[j+1], args[j+2]) {
				c.replyError(errWrongPass)
				return
			}
			j += 2
		case strings.EqualFold(opt, "setname") && more >= 1:
			if !c.setName(args[j+1]) {
				return
			}
			j++
		default:
			c.replyErrorf("ERR Syntax error in HELLO option '%s'", opt)
			return
		}
	}
	if !c.authed {
		c.replyError(errHelloAuth)
		return
	}
	if ver != 0 {
		c.w.Proto = int(ver)
	}
	sentinel := c.srv.sentinel != nil
	if sentinel {
		c.w.AppendMap(6) // a sentinel has no role
	} else {
		c.w.AppendMap(7)
	}
	c.w.AppendBulkString("server")
	c.w.AppendBulkString("redis")
	c.w.AppendBulkString("version")
	c.w.AppendBulkString(Version)
	c.w.AppendBulkString("proto")
	c.w.AppendInt(int64(c.w.Proto))
	c.w.AppendBulkString("id")
	c.w.AppendInt(c.id)
	c.w.AppendBulkString("mode")
	c.w.AppendBulkString(c.srv.serverMode())
	if !sentinel {
		c.w.AppendBulkString("role")
		c.w.AppendBulkString(c.srv.roleName())
	}
	c.w.AppendBulkString("modules")
	c.w.AppendArray(0)
}

// serverMode is INFO's redis_mode and HELLO's mode.
func (s *Server) serverMode() string {
	if s.sentinel != nil {
		return "sentinel"
	}
	if s.cfg.Bool("cluster-enabled") {
		return "cluster"
	}
	return "standalone"
}

// roleName is "master" or "replica" as HELLO reports it.
func (s *Server) roleName() string {
	if s.repl.masterHost != "" {
		return "replica"
	}
	return "master"
}

func cmdReset(c *Client, args [][]byte) {
	if c.flags&(clientMaster|clientReplica) != 0 {
		c.replyError("ERR can only reset normal client connections")
		return
	}
	for _, h := range resetHooks {
		h(c)
	}
	c.db = c.srv.store.DBs[0]
	c.w.Proto = 2
	c.user = c.srv.acl.reg.Default
	c.authed = c.srv.defaultAuthenticated()
	c.name = ""
	c.flags &^= clientPubSub | clientMulti | clientReplyOff | clientReplySkipNext
	c.w.AppendSimple("RESET")
}
