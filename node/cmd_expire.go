package node

import (
	"math"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "expire", Arity: -3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Set a key's time to live in seconds", Complexity: "O(1)", Handler: cmdExpire},
		&Command{Name: "pexpire", Arity: -3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "2.6.0", Summary: "Set a key's time to live in milliseconds", Complexity: "O(1)", Handler: cmdPexpire},
		&Command{Name: "expireat", Arity: -3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "1.2.0", Summary: "Set the expiration for a key as a UNIX timestamp", Complexity: "O(1)", Handler: cmdExpireat},
		&Command{Name: "pexpireat", Arity: -3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "2.6.0", Summary: "Set the expiration for a key as a UNIX timestamp specified in milliseconds", Complexity: "O(1)", Handler: cmdPexpireat},
		&Command{Name: "ttl", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Get the time to live for a key in seconds", Complexity: "O(1)", Handler: cmdTTL},
		&Command{Name: "pttl", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "2.6.0", Summary: "Get the time to live for a key in milliseconds", Complexity: "O(1)", Handler: cmdPTTL},
		&Command{Name: "expiretime", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "7.0.0", Summary: "Get the expiration Unix timestamp for a key", Complexity: "O(1)", Handler: cmdExpiretime},
		&Command{Name: "pexpiretime", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "7.0.0", Summary: "Get the expiration Unix timestamp for a key in milliseconds", Complexity: "O(1)", Handler: cmdPexpiretime},
		&Command{Name: "persist", Arity: 2, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "2.2.0", Summary: "Remove the expiration from a key", Complexity: "O(1)", Handler: cmdPersist},
	)
}

// EXPIRE condition flags.
const (
	expireNX = 1 << iota
	expireXX
	expireGT
	expireLT
)

const (
	errExpireNXCompat = "ERR NX and XX, GT or LT options at the same time are not compatible"
	errExpireGTLT     = "ERR GT and LT options at the same time are not compatible"
)

func cmdExpire(c *Client, args [][]byte)    { expireGeneric(c, args, c.now, true) }
func cmdPexpire(c *Client, args [][]byte)   { expireGeneric(c, args, c.now, false) }
func cmdExpireat(c *Client, args [][]byte)  { expireGeneric(c, args, 0, true) }
func cmdPexpireat(c *Client, args [][]byte) { expireGeneric(c, args, 0, false) }

// parseExpireFlags reads the NX/XX/GT/LT options in Redis's order of
// checks: an unknown word first, then the incompatible combinations.
func parseExpireFlags(c *Client, opts [][]byte) (int, bool) {
	flags := 0
	for _, o := range opts {
		switch {
		case eqFold(o, "nx"):
			flags |= expireNX
		case eqFold(o, "xx"):
			flags |= expireXX
		case eqFold(o, "gt"):
			flags |= expireGT
		case eqFold(o, "lt"):
			flags |= expireLT
		default:
			c.replyErrorf("ERR Unsupported option %s", o)
			return 0, false
		}
	}
	if flags&expireNX != 0 && flags&(expireXX|expireGT|expireLT) != 0 {
		c.replyError(errExpireNXCompat)
		return 0, false
	}
	if flags&expireGT != 0 && flags&expireLT != 0 {
		c.replyError(errExpireGTLT)
		return 0, false
	}
	return flags, true
}

// expireGeneric implements the four EXPIRE commands. base is the time the
// argument is relative to (0 for the *AT forms), seconds tells the unit.
func expireGeneric(c *Client, args [][]byte, base int64, seconds bool) {
	key := args[1]
	flags, ok := parseExpireFlags(c, args[3:])
	if !ok {
		return
	}
	when, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	// Negative times are allowed (they delete the key); only overflow of
	// the unit conversion or of the addition is refused.
	if seconds {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.replyErrorf(errInvalidExp, c.cmd.FullName())
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-base {
		c.replyErrorf(errInvalidExp, c.cmd.FullName())
		return
	}
	when += base

	e := c.lookupWrite(key)
	if e == nil {
		c.replyInt(0)
		return
	}
	if flags != 0 {
		cur := e.Val.Expire // 0: no TTL, i.e. infinite
		switch {
		case flags&expireNX != 0 && cur != 0,
			flags&expireXX != 0 && cur == 0,
			// No TTL counts as infinite: GT never beats it, LT always does.
			flags&expireGT != 0 && (cur == 0 || when <= cur),
			flags&expireLT != 0 && cur != 0 && when >= cur:
			c.replyInt(0)
			return
		}
	}

	if when <= c.now && !c.srv.keepExpiredForMaster() {
		// Already expired: delete now and tell replicas DEL (or UNLINK),
		// which needs no clock agreement.
		lazy := c.srv.cfg.Bool("lazyfree-lazy-expire")
		c.srv.freeValue(&e.Val, lazy)
		c.db.Delete(string(key))
		c.propagateArgv = [][]byte{deleteVerb(lazy), key}
		c.modified(key)
		c.notify(notifyGeneric, "del", key)
		c.replyInt(1)
		return
	}
	// A zero expire means "no TTL" in the store, so an absolute time of 0
	// (reachable only on a replica) is stored as -1, equally in the past.
	at := when
	if at == 0 {
		at = -1
	}
	c.db.SetExpire(e, at)
	c.replyInt(1)
	pa := make([][]byte, len(args))
	copy(pa, args)
	pa[0] = []byte("PEXPIREAT")
	pa[2] = store.FormatInt(when)
	c.propagateArgv = pa
	c.modified(key)
	c.notify(notifyGeneric, "expire", key)
}

// keepExpiredForMaster reports whether an expire in the past must set the
// TTL rather than delete the key: a replica waits for its master's DEL
// (Redis's checkAlreadyExpired). The store's NoLazyExpire is set exactly
// when this server replicates from a master.
func (s *Server) keepExpiredForMaster() bool { return s.store.NoLazyExpire }

// ttlGeneric implements TTL, PTTL, EXPIRETIME and PEXPIRETIME.
func ttlGeneric(c *Client, key []byte, ms, abs bool) {
	e := c.lookupReadNoTouch(key, false)
	if e == nil {
		c.replyInt(-2)
		return
	}
	if e.Val.Expire == 0 {
		c.replyInt(-1)
		return
	}
	t := e.Val.Expire
	if !abs {
		t -= c.now
	}
	if t < 0 {
		t = 0
	}
	if !ms {
		// Rounded to the nearest second without overflowing near MaxInt64.
		t = t/1000 + (t%1000+500)/1000
	}
	c.replyInt(t)
}

func cmdTTL(c *Client, args [][]byte)         { ttlGeneric(c, args[1], false, false) }
func cmdPTTL(c *Client, args [][]byte)        { ttlGeneric(c, args[1], true, false) }
func cmdExpiretime(c *Client, args [][]byte)  { ttlGeneric(c, args[1], false, true) }
func cmdPexpiretime(c *Client, args [][]byte) { ttlGeneric(c, args[1], true, true) }

func cmdPersist(c *Client, args [][]byte) {
	e := c.lookupWrite(args[1])
	if e == nil || !c.db.Persist(e) {
		c.replyInt(0)
		return
	}
	c.modified(args[1])
	c.notify(notifyGeneric, "persist", args[1])
	c.replyInt(1)
}
