package node

import (
	"math"
	"strconv"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "get", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Returns the string value of a key.", Complexity: "O(1)", Handler: cmdGet},
		&Command{Name: "set", Arity: -3, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", Complexity: "O(1)", Handler: cmdSet},
		&Command{Name: "mget", Arity: -2, Flags: "readonly fast", FirstKey: 1, LastKey: -1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Atomically returns the string values of one or more keys.", Complexity: "O(N) where N is the number of keys to retrieve.", Handler: cmdMget},
		&Command{Name: "mset", Arity: -3, Flags: "write denyoom", FirstKey: 1, LastKey: -1, Step: 2, Group: "string", Since: "1.0.1", Summary: "Atomically creates or modifies the string values of one or more keys.", Complexity: "O(N) where N is the number of keys to set.", Handler: cmdMset},
		&Command{Name: "incr", Arity: 2, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Complexity: "O(1)", Handler: cmdIncr},
		&Command{Name: "decr", Arity: 2, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", Complexity: "O(1)", Handler: cmdDecr},
		&Command{Name: "incrby", Arity: 3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", Complexity: "O(1)", Handler: cmdIncrby},
		&Command{Name: "decrby", Arity: 3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "string", Since: "1.0.0", Summary: "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", Complexity: "O(1)", Handler: cmdDecrby},
	)
}

func cmdGet(c *Client, args [][]byte) {
	e := c.lookupRead(args[1])
	if e == nil {
		c.replyNull()
		return
	}
	if e.Val.Type != store.TypeString {
		c.replyWrongType()
		return
	}
	c.w.AppendBulk(e.Val.Str)
}

// SET option bits.
const (
	setNX = 1 << iota
	setXX
	setGet
	setEX
	setPX
	setEXAT
	setPXAT
	setKeepTTL
	setPersist // GETEX only
)

// parseSetOptions reads SET's (and GETEX's) options from args. It returns
// the flags, the expiry argument, and ok=false after replying an error.
func parseSetOptions(c *Client, args [][]byte, getex bool) (flags int, expArg []byte, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		hasNext := i+1 < len(args)
		switch {
		case !getex && eqFold(a, "nx") && flags&(setXX) == 0:
			flags |= setNX
		case !getex && eqFold(a, "xx") && flags&(setNX) == 0:
			flags |= setXX
		case !getex && eqFold(a, "get"):
			flags |= setGet
		case !getex && eqFold(a, "keepttl") && flags&(setPersist|setEX|setPX|setEXAT|setPXAT) == 0:
			flags |= setKeepTTL
		case getex && eqFold(a, "persist") && flags&(setKeepTTL|setEX|setPX|setEXAT|setPXAT) == 0:
			flags |= setPersist
		case eqFold(a, "ex") && flags&(setKeepTTL|setPersist|setPX|setEXAT|setPXAT) == 0 && hasNext:
			flags |= setEX
			i++
			expArg = args[i]
		case eqFold(a, "px") && flags&(setKeepTTL|setPersist|setEX|setEXAT|setPXAT) == 0 && hasNext:
			flags |= setPX
			i++
			expArg = args[i]
		case eqFold(a, "exat") && flags&(setKeepTTL|setPersist|setEX|setPX|setPXAT) == 0 && hasNext:
			flags |= setEXAT
			i++
			expArg = args[i]
		case eqFold(a, "pxat") && flags&(setKeepTTL|setPersist|setEX|setPX|setEXAT) == 0 && hasNext:
			flags |= setPXAT
			i++
			expArg = args[i]
		default:
			c.replySyntax()
			return 0, nil, false
		}
	}
	return flags, expArg, true
}

// expireAt turns an EX/PX/EXAT/PXAT argument into absolute unix ms,
// replying Redis's errors (not an integer; invalid expire time) on bad
// input.
func expireAt(c *Client, flags int, arg []byte, cmdName string) (int64, bool) {
	n, ok := parseInt(arg)
	if !ok {
		c.replyError(errNotInt)
		return 0, false
	}
	if n <= 0 {
		c.replyErrorf(errInvalidExp, cmdName)
		return 0, false
	}
	if flags&(setEX|setEXAT) != 0 {
		if n > math.MaxInt64/1000 {
			c.replyErrorf(errInvalidExp, cmdName)
			return 0, false
		}
		n *= 1000
	}
	if flags&(setEX|setPX) != 0 {
		if n > math.MaxInt64-c.now {
			c.replyErrorf(errInvalidExp, cmdName)
			return 0, false
		}
		n += c.now
	}
	return n, true
}

func cmdSet(c *Client, args [][]byte) {
	flags, expArg, ok := parseSetOptions(c, args[3:], false)
	if !ok {
		return
	}
	var at int64
	if expArg != nil {
		if at, ok = expireAt(c, flags, expArg, "set"); !ok {
			return
		}
	}
	key := args[1]
	var e *store.Entry
	if flags&setGet != 0 {
		// SET ... GET reads like GET does (keyspace hits and misses).
		e = c.lookupRead(key)
	} else {
		e = c.lookupWrite(key)
	}
	if flags&setGet != 0 {
		if e != nil && e.Val.Type != store.TypeString {
			c.replyWrongType()
			return
		}
		if e == nil {
			c.replyNull()
		} else {
			c.w.AppendBulk(e.Val.Str)
		}
	}
	if (flags&setNX != 0 && e != nil) || (flags&setXX != 0 && e == nil) {
		if flags&setGet == 0 {
			c.replyNull()
		}
		return
	}
	e = c.db.SetString(key, args[2], flags&setKeepTTL != 0)
	c.modified(key)
	c.notify(notifyString, "set", key)
	if at != 0 {
		c.db.SetExpire(e, at)
		c.notify(notifyGeneric, "expire", key)
		// Replicas get an absolute time so they expire it at the same
		// instant. Redis 7.0 rewrites every SET with a TTL (PXAT too, which
		// also drops GET and normalises the option's case).
		c.propagateArgv = [][]byte{[]byte("SET"), key, args[2], []byte("PXAT"), store.FormatInt(at)}
	} else if flags&setGet != 0 {
		// GET only shapes the reply; replicas get the SET without it.
		pa := make([][]byte, 0, len(args))
		for i, a := range args {
			if i < 3 || !eqFold(a, "get") {
				pa = append(pa, a)
			}
		}
		c.propagateArgv = pa
	}
	if flags&setGet == 0 {
		c.replyOK()
	}
}

func cmdMget(c *Client, args [][]byte) {
	c.w.AppendArray(len(args) - 1)
	for _, k := range args[1:] {
		e := c.lookupRead(k)
		if e == nil || e.Val.Type != store.TypeString {
			c.replyNull()
			continue
		}
		c.w.AppendBulk(e.Val.Str)
	}
}

func cmdMset(c *Client, args [][]byte) {
	if len(args)%2 == 0 {
		c.replyError("ERR wrong number of arguments for 'mset' command")
		return
	}
	for i := 1; i < len(args); i += 2 {
		c.db.SetString(args[i], args[i+1], false)
		c.modified(args[i])
		c.notify(notifyString, "set", args[i])
	}
	c.replyOK()
}

func cmdIncr(c *Client, args [][]byte) { incrDecr(c, args[1], 1) }
func cmdDecr(c *Client, args [][]byte) { incrDecr(c, args[1], -1) }
func cmdIncrby(c *Client, args [][]byte) {
	n, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	incrDecr(c, args[1], n)
}

func cmdDecrby(c *Client, args [][]byte) {
	n, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if n == math.MinInt64 {
		c.replyError("ERR decrement would overflow")
		return
	}
	incrDecr(c, args[1], -n)
}

func incrDecr(c *Client, key []byte, by int64) {
	e := c.lookupWrite(key)
	var cur int64
	if e != nil {
		if e.Val.Type != store.TypeString {
			c.replyWrongType()
			return
		}
		v, ok := store.ParseStrictInt(e.Val.Str)
		if !ok {
			c.replyError(errNotInt)
			return
		}
		cur = v
	}
	if (by < 0 && cur < 0 && by < math.MinInt64-cur) || (by > 0 && cur > 0 && by > math.MaxInt64-cur) {
		c.replyError(errOverflow)
		return
	}
	cur += by
	if e == nil {
		e, _ = c.db.Put(key)
		e.Val = store.Object{Type: store.TypeString, LRU: lruAt(c.now)}
	}
	e.Val.Str = strconv.AppendInt(e.Val.Str[:0], cur, 10)
	e.Val.Enc = store.EncInt
	c.modified(key)
	c.notify(notifyString, "incrby", key)
	c.replyInt(cur)
}

// parseInt parses an integer argument as Redis's string2ll does.
func parseInt(b []byte) (int64, bool) { return store.ParseStrictInt(b) }

// eqFold compares an argument with a lower-case ASCII word.
func eqFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		ch := b[i]
		if ch >= 'A' && ch <= 'Z' {
			ch += 32
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}
