package node

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "hset", Arity: -4, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Creates or modifies the value of a field in a hash.", Complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", Handler: cmdHset},
		&Command{Name: "hmset", Arity: -4, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Sets the values of multiple fields.", Complexity: "O(N) where N is the number of fields being set.", Handler: cmdHset},
		&Command{Name: "hsetnx", Arity: 4, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Sets the value of a field in a hash only when the field doesn't exist.", Complexity: "O(1)", Handler: cmdHsetnx},
		&Command{Name: "hget", Arity: 3, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Returns the value of a field in a hash.", Complexity: "O(1)", Handler: cmdHget},
		&Command{Name: "hmget", Arity: -3, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Returns the values of all fields in a hash.", Complexity: "O(N) where N is the number of fields being requested.", Handler: cmdHmget},
		&Command{Name: "hdel", Arity: -3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", Complexity: "O(N) where N is the number of fields to be removed.", Handler: cmdHdel},
		&Command{Name: "hexists", Arity: 3, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Determines whether a field exists in a hash.", Complexity: "O(1)", Handler: cmdHexists},
		&Command{Name: "hlen", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Returns the number of fields in a hash.", Complexity: "O(1)", Handler: cmdHlen},
		&Command{Name: "hstrlen", Arity: 3, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "3.2.0", Summary: "Returns the length of the value of a field.", Complexity: "O(1)", Handler: cmdHstrlen},
		&Command{Name: "hkeys", Arity: 2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Returns all fields in a hash.", Complexity: "O(N) where N is the size of the hash.", Handler: cmdHkeys},
		&Command{Name: "hvals", Arity: 2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Returns all values in a hash.", Complexity: "O(N) where N is the size of the hash.", Handler: cmdHvals},
		&Command{Name: "hgetall", Arity: 2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Returns all fields and values in a hash.", Complexity: "O(N) where N is the size of the hash.", Handler: cmdHgetall},
		&Command{Name: "hincrby", Arity: 4, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.0.0", Summary: "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", Complexity: "O(1)", Handler: cmdHincrby},
		&Command{Name: "hincrbyfloat", Arity: 4, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.6.0", Summary: "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", Complexity: "O(1)", Handler: cmdHincrbyfloat},
		&Command{Name: "hrandfield", Arity: -2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "6.2.0", Summary: "Returns one or more random fields from a hash.", Complexity: "O(N) where N is the number of fields returned", Handler: cmdHrandfield},
		&Command{Name: "hscan", Arity: -3, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "hash", Since: "2.8.0", Summary: "Iterates over fields and values of a hash.", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Handler: cmdHscan},
	)
}

var argHset = []byte("HSET")

func hashOf(e *store.Entry) *store.Hash { return e.Val.Val.(*store.Hash) }

// lookupHash finds key; it replies WRONGTYPE (ok=false) for another type
// and returns nil, true when the key is missing.
func (c *Client) lookupHash(key []byte, write bool) (*store.Hash, bool) {
	e, ok := c.lookupTyped(key, write, store.TypeHash)
	if e == nil {
		return nil, ok
	}
	return hashOf(e), true
}

// hashForWrite returns the hash at key, creating it when missing
// (Redis's hashTypeLookupWriteOrCreate).
func (c *Client) hashForWrite(key []byte) (*store.Hash, bool) {
	h, ok := c.lookupHash(key, true)
	if !ok || h != nil {
		return h, ok
	}
	h = store.NewHash()
	c.db.SetValue(key, store.Object{Type: store.TypeHash, Val: h}, false)
	return h, true
}

// hashLimits are the listpack thresholds of the hash-max-listpack-*
// options.
func (c *Client) hashLimits() (maxEntries, maxValue int) {
	return int(c.srv.cfg.Int("hash-max-listpack-entries")), int(c.srv.cfg.Int("hash-max-listpack-value"))
}

func cmdHset(c *Client, args [][]byte) {
	if len(args)%2 == 1 {
		c.replyErrorf("ERR wrong number of arguments for '%s' command", c.cmdName())
		return
	}
	key := args[1]
	h, ok := c.hashForWrite(key)
	if !ok {
		return
	}
	maxEntries, maxValue := c.hashLimits()
	h.ConvertIfLonger(maxValue, args[2:]...)
	created := 0
	for i := 2; i < len(args); i += 2 {
		if h.Set(args[i], args[i+1], maxEntries, maxValue) {
			created++
		}
	}
	if eqFold(args[0], "hmset") {
		c.replyOK()
	} else {
		c.replyInt(int64(created))
	}
	c.modifiedN(key, int64(len(args)-2)/2)
	c.notify(notifyHash, "hset", key)
}

func cmdHsetnx(c *Client, args [][]byte) {
	key := args[1]
	h, ok := c.hashForWrite(key)
	if !ok {
		return
	}
	if _, exists := h.Get(args[2]); exists {
		c.replyInt(0)
		return
	}
	maxEntries, maxValue := c.hashLimits()
	h.ConvertIfLonger(maxValue, args[2], args[3])
	h.Set(args[2], args[3], maxEntries, maxValue)
	c.replyInt(1)
	c.modified(key)
	c.notify(notifyHash, "hset", key)
}

func cmdHget(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], false)
	if !ok {
		return
	}
	if h == nil {
		c.replyNull()
		return
	}
	replyHashField(c, h, args[2])
}

func replyHashField(c *Client, h *store.Hash, field []byte) {
	if h == nil {
		c.replyNull()
		return
	}
	v, ok := h.Get(field)
	if !ok {
		c.replyNull()
		return
	}
	c.replyBulkString(v)
}

func cmdHmget(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], false)
	if !ok {
		return
	}
	c.w.AppendArray(len(args) - 2)
	for _, f := range args[2:] {
		replyHashField(c, h, f)
	}
}

func cmdHdel(c *Client, args [][]byte) {
	key := args[1]
	h, ok := c.lookupHash(key, true)
	if !ok {
		return
	}
	if h == nil {
		c.replyInt(0)
		return
	}
	deleted, removed := 0, false
	for _, f := range args[2:] {
		if h.Delete(f) {
			deleted++
			if h.Len() == 0 {
				c.db.Delete(string(key))
				removed = true
				break
			}
		}
	}
	if deleted > 0 {
		c.modifiedN(key, int64(deleted))
		c.notify(notifyHash, "hdel", key)
		if removed {
			c.notify(notifyGeneric, "del", key)
		}
	}
	c.replyInt(int64(deleted))
}

func cmdHexists(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], false)
	if !ok {
		return
	}
	if h == nil {
		c.replyInt(0)
		return
	}
	_, exists := h.Get(args[2])
	if exists {
		c.replyInt(1)
	} else {
		c.replyInt(0)
	}
}

func cmdHlen(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], false)
	if !ok {
		return
	}
	if h == nil {
		c.replyInt(0)
		return
	}
	c.replyInt(int64(h.Len()))
}

func cmdHstrlen(c *Client, args [][]byte) {
	h, ok := c.lookupHash(args[1], false)
	if !ok {
		return
	}
	if h == nil {
		c.replyInt(0)
		return
	}
	v, _ := h.Get(args[2])
	c.replyInt(int64(len(v)))
}

func cmdHkeys(c *Client, args [][]byte)   { hgetallGeneric(c, args[1], true, false) }
func cmdHvals(c *Client, args [][]byte)   { hgetallGeneric(c, args[1], false, true) }
func cmdHgetall(c *Client, args [][]byte) { hgetallGeneric(c, args[1], true, true) }

func hgetallGeneric(c *Client, key []byte, fields, values bool) {
	h, ok := c.lookupHash(key, false)
	if !ok {
		return
	}
	n := 0
	if h != nil {
		n = h.Len()
	}
	if fields && values {
		c.w.AppendMap(n)
	} else {
		c.w.AppendArray(n)
	}
	if h == nil {
		return
	}
	h.Each(func(f, v string) bool {
		if fields {
			c.replyBulkString(f)
		}
		if values {
			c.replyBulkString(v)
		}
		return true
	})
}

func cmdHincrby(c *Client, args [][]byte) {
	incr, ok := parseInt(args[3])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	key := args[1]
	h, ok := c.hashForWrite(key)
	if !ok {
		return
	}
	var cur int64
	if v, exists := h.Get(args[2]); exists {
		if cur, ok = store.ParseStrictInt([]byte(v)); !ok {
			c.replyError("ERR hash value is not an integer")
			return
		}
	}
	if (incr < 0 && cur < 0 && incr < math.MinInt64-cur) || (incr > 0 && cur > 0 && incr > math.MaxInt64-cur) {
		c.replyError(errOverflow)
		return
	}
	cur += incr
	maxEntries, maxValue := c.hashLimits()
	h.Set(args[2], store.FormatInt(cur), maxEntries, maxValue)
	c.replyInt(cur)
	c.modified(key)
	c.notify(notifyHash, "hincrby", key)
}

func cmdHincrbyfloat(c *Client, args [][]byte) {
	incr, ok := parseLongDouble(args[3])
	if !ok {
		c.replyError(errNotFloat)
		return
	}
	if incr.inf != 0 {
		c.replyError("ERR value is NaN or Infinity")
		return
	}
	key := args[1]
	h, ok := c.hashForWrite(key)
	if !ok {
		return
	}
	var cur ldValue
	if v, exists := h.Get(args[2]); exists {
		if cur, ok = parseLongDouble([]byte(v)); !ok {
			c.replyError("ERR hash value is not a float")
			return
		}
	}
	sum, ok := addLongDouble(cur, incr)
	if !ok {
		c.replyError(errNotFloatOrInf)
		return
	}
	out := formatLongDoubleHuman(sum)
	maxEntries, maxValue := c.hashLimits()
	h.Set(args[2], out, maxEntries, maxValue)
	c.replyBulk(out)
	c.modified(key)
	c.notify(notifyHash, "hincrbyfloat", key)
	// Replicas get the result so float formatting cannot diverge.
	c.propagateArgv = [][]byte{argHset, listCopyBytes(key), listCopyBytes(args[2]), out}
}

func cmdHrandfield(c *Client, args [][]byte) {
	if len(args) >= 3 {
		n, ok := parseInt(args[2])
		if !ok {
			c.replyError(errNotInt)
			return
		}
		if n < -math.MaxInt64 {
			c.replyError("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
			return
		}
		withValues := false
		if len(args) > 4 || (len(args) == 4 && !eqFold(args[3], "withvalues")) {
			c.replySyntax()
			return
		}
		if len(args) == 4 {
			withValues = true
			if n < -math.MaxInt64/2 || n > math.MaxInt64/2 {
				c.replyError("ERR value is out of range")
				return
			}
		}
		hrandfieldCount(c, args[1], n, withValues)
		return
	}
	h, ok := c.lookupHash(args[1], false)
	if !ok {
		return
	}
	if h == nil {
		c.replyNull()
		return
	}
	f, _ := h.Random()
	c.replyBulkString(f)
}

// hrandfieldCount follows Redis's strategies so that replies have the
// same shape and the same guarantees (distinct fields for a positive
// count, the whole hash when count covers it).
func hrandfieldCount(c *Client, key []byte, n int64, withValues bool) {
	h, ok := c.lookupHash(key, false)
	if !ok {
		return
	}
	if h == nil || n == 0 {
		c.w.AppendArray(0)
		return
	}
	pair := func(f, v string) {
		if withValues && c.w.Proto > 2 {
			c.w.AppendArray(2)
		}
		c.replyBulkString(f)
		if withValues {
			c.replyBulkString(v)
		}
	}
	header := func(k int) {
		if withValues && c.w.Proto == 2 {
			c.w.AppendArray(2 * k)
		} else {
			c.w.AppendArray(k)
		}
	}
	if n < 0 || n == 1 {
		count := n
		if count < 0 {
			count = -count
		}
		header(int(count))
		for i := int64(0); i < count; i++ {
			if i&1023 == 1023 && c.replyOverLimit() {
				return // closed: the rest would never be sent (obuflimit.go)
			}
			pair(h.Random())
		}
		return
	}
	size := int64(h.Len())
	if n >= size {
		header(int(size))
		h.Each(func(f, v string) bool { pair(f, v); return true })
		return
	}
	header(int(n))
	if n*3 > size {
		// Most of the hash is wanted: take it all and drop random fields.
		type fv struct{ f, v string }
		all := make([]fv, 0, size)
		h.Each(func(f, v string) bool { all = append(all, fv{f, v}); return true })
		rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for _, p := range all[:n] {
			pair(p.f, p.v)
		}
		return
	}
	seen := make(map[string]struct{}, n)
	for int64(len(seen)) < n {
		f, v := h.Random()
		if _, dup := seen[f]; dup {
			continue
		}
		seen[f] = struct{}{}
		pair(f, v)
	}
}

func cmdHscan(c *Client, args [][]byte) {
	cursor, ok := parseScanCursor(c, args[2])
	if !ok {
		return
	}
	h, ok := c.lookupHash(args[1], false)
	if !ok {
		return
	}
	if h == nil {
		replyEmptyScan(c)
		return
	}
	o, ok := parseScanOptions(c, args[3:], false)
	if !ok {
		return
	}
	type pair struct{ f, v string }
	step := func(cur uint64, emit func(pair)) uint64 {
		return h.Scan(cur, func(f, v string) { emit(pair{f, v}) })
	}
	out, cursor := scanCollection(h.IsCompact(), cursor, o, step, func(p pair) string { return p.f })
	c.w.AppendArray(2)
	c.replyBulkString(strconv.FormatUint(cursor, 10))
	c.w.AppendArray(2 * len(out))
	for _, p := range out {
		c.replyBulkString(p.f)
		c.replyBulkString(p.v)
	}
}
