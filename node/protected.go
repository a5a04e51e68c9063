package node

import (
	"net"
)

// Protected mode and the protected actions (DEBUG, MODULE, protected
// configs), as Redis 7.0 has them: docs/security.md.

// errProtectedMode is Redis 7.0's text, word for word, so that a user who
// meets it finds Redis's documentation and advice. It names Redis because
// clients and tools match on it.
const errProtectedMode = "-DENIED Redis is running in protected mode because protected " +
	"mode is enabled and no password is set for the default user. " +
	"In this mode connections are only accepted from the loopback interface. " +
	"If you want to connect from external computers to Redis you " +
	"may adopt one of the following solutions: " +
	"1) Just disable protected mode sending the command " +
	"'CONFIG SET protected-mode no' from the loopback interface " +
	"by connecting to Redis from the same host the server is " +
	"running, however MAKE SURE Redis is not publicly accessible " +
	"from internet if you do so. Use CONFIG REWRITE to make this " +
	"change permanent. " +
	"2) Alternatively you can just disable the protected mode by " +
	"editing the Redis configuration file, and setting the protected " +
	"mode option to 'no', and then restarting the server. " +
	"3) If you started the server manually just for testing, restart " +
	"it with the '--protected-mode no' option. " +
	"4) Setup a an authentication password for the default user. " +
	"NOTE: You only need to do one of the above things in order for " +
	"the server to start accepting connections from the outside.\r\n"

// localAddr is Redis's notion of a local client: a Unix socket, or a TCP
// peer at exactly 127.0.0.1 or ::1. Redis compares the address text, so
// 127.0.0.2 is not local to it, nor here.
func localAddr(a net.Addr) bool {
	switch v := a.(type) {
	case *net.UnixAddr:
		return true
	case *net.TCPAddr:
		return v.IP.Equal(net.IPv4(127, 0, 0, 1)) || v.IP.Equal(net.IPv6loopback)
	case nil:
		return false
	}
	if a.Network() == "unix" {
		return true
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// isLocal reports whether c connected from the local host (Redis's
// islocalClient).
func (c *Client) isLocal() bool { return localAddr(c.conn.RemoteAddr()) }

// protectedModeRefuses reports whether a new connection must be refused:
// protected-mode is on, the default user needs no password, and the peer
// is not local. Redis 7.0 no longer looks at bind here (its default bind
// is explicit, "* -::*"), so neither does Skiff. Called under the lock.
func (s *Server) protectedModeRefuses(c *Client) bool {
	return s.cfg.Bool("protected-mode") && s.acl.reg.Default.NoPass() && !c.isLocal()
}

// protectedAllowed applies an enable-*-command / enable-protected-configs
// value: yes, or local for a local client (Redis's allowProtectedAction).
func (c *Client) protectedAllowed(option string) bool {
	switch c.srv.cfg.String(option) {
	case "yes":
		return true
	case "local":
		return c.isLocal()
	}
	return false
}

// protectedCommandError is Redis's refusal of DEBUG or MODULE, or "" when
// cmd may run. Redis checks it right after the arity, before
// authentication.
func (c *Client) protectedCommandError(cmd *Command) string {
	if !cmd.Has(FlagProtected) {
		return ""
	}
	name, option := "DEBUG", "enable-debug-command"
	root := cmd
	if root.parent != nil {
		root = root.parent
	}
	if root.Name == "module" {
		name, option = "MODULE", "enable-module-command"
	}
	if c.protectedAllowed(option) {
		return ""
	}
	return "ERR " + name + " command not allowed. If the " + option + " option is set to \"local\", " +
		"you can run it from a local connection, otherwise you need to set this option " +
		"in the configuration file, and then restart the server."
}
