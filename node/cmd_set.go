package node

import (
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/skiffdb/skiff/store"
)

func init() {
	const (
		o1    = "O(1)"
		oN    = "O(N) where N is the number of members to be added/removed/checked."
		inter = "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."
		union = "O(N) where N is the total number of elements in all given sets."
	)
	register(
		&Command{Name: "sadd", Arity: -3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Adds one or more members to a set. Creates the key if it doesn't exist.", Complexity: "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Handler: cmdSadd},
		&Command{Name: "srem", Arity: -3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Removes one or more members from a set. Deletes the set if the last member was removed.", Complexity: "O(N) where N is the number of members to be removed.", Handler: cmdSrem},
		&Command{Name: "sismember", Arity: 3, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Determines whether a member belongs to a set.", Complexity: o1, Handler: cmdSismember},
		&Command{Name: "smismember", Arity: -3, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "6.2.0", Summary: "Determines whether multiple members belong to a set.", Complexity: oN, Handler: cmdSmismember},
		&Command{Name: "smembers", Arity: 2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Returns all members of a set.", Complexity: "O(N) where N is the set cardinality.", Handler: cmdSmembers},
		&Command{Name: "scard", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Returns the number of members in a set.", Complexity: o1, Handler: cmdScard},
		&Command{Name: "spop", Arity: -2, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", Complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", Handler: cmdSpop},
		&Command{Name: "srandmember", Arity: -2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Get one or multiple random members from a set", Complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", Handler: cmdSrandmember},
		&Command{Name: "smove", Arity: 4, Flags: "write fast", FirstKey: 1, LastKey: 2, Step: 1, Group: "set", Since: "1.0.0", Summary: "Moves a member from one set to another.", Complexity: o1, Handler: cmdSmove},
		&Command{Name: "sinter", Arity: -2, Flags: "readonly", FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Returns the intersect of multiple sets.", Complexity: inter, Handler: cmdSinter},
		&Command{Name: "sintercard", Arity: -3, Flags: "readonly", FirstKey: 0, LastKey: 0, Step: 0, Group: "set", Since: "7.0.0", Summary: "Returns the number of members of the intersect of multiple sets.", Complexity: inter, Handler: cmdSintercard},
		&Command{Name: "sinterstore", Arity: -3, Flags: "write denyoom", FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Stores the intersect of multiple sets in a key.", Complexity: inter, Handler: cmdSinterstore},
		&Command{Name: "sunion", Arity: -2, Flags: "readonly", FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Returns the union of multiple sets.", Complexity: union, Handler: cmdSunion},
		&Command{Name: "sunionstore", Arity: -3, Flags: "write denyoom", FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Stores the union of multiple sets in a key.", Complexity: union, Handler: cmdSunionstore},
		&Command{Name: "sdiff", Arity: -2, Flags: "readonly", FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Returns the difference of multiple sets.", Complexity: union, Handler: cmdSdiff},
		&Command{Name: "sdiffstore", Arity: -3, Flags: "write denyoom", FirstKey: 1, LastKey: -1, Step: 1, Group: "set", Since: "1.0.0", Summary: "Stores the difference of multiple sets in a key.", Complexity: union, Handler: cmdSdiffstore},
		&Command{Name: "sscan", Arity: -3, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "set", Since: "2.8.0", Summary: "Iterates over members of a set.", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Handler: cmdSscan},
	)
}

// maxIntset is set-max-intset-entries.
func (c *Client) maxIntset() int { return int(c.srv.cfg.Int("set-max-intset-entries")) }

// lookupSet returns the set at key for a read (nil when absent); ok is
// false after a WRONGTYPE reply.
func (c *Client) lookupSetRead(key []byte) (*store.Set, bool) {
	return asSet(c, c.lookupRead(key))
}

func (c *Client) lookupSetWrite(key []byte) (*store.Set, bool) {
	return asSet(c, c.lookupWrite(key))
}

func asSet(c *Client, e *store.Entry) (*store.Set, bool) {
	if e == nil {
		return nil, true
	}
	if e.Val.Type != store.TypeSet {
		c.replyWrongType()
		return nil, false
	}
	return e.Val.Val.(*store.Set), true
}

// deleteIfEmptySet removes key once its set has no members, with the
// "del" event Redis sends.
func (c *Client) deleteEmptyKey(key []byte, n int) bool {
	if n != 0 {
		return false
	}
	c.db.Delete(string(key))
	c.notify(notifyGeneric, "del", key)
	return true
}

func cmdSadd(c *Client, args [][]byte) {
	key := args[1]
	s, ok := c.lookupSetWrite(key)
	if !ok {
		return
	}
	if s == nil {
		s = store.NewSet(args[2])
		c.db.SetValue(key, store.Object{Type: store.TypeSet, Val: s}, false)
	}
	max := c.maxIntset()
	added := 0
	for _, m := range args[2:] {
		if s.Add(m, max) {
			added++
		}
	}
	if added > 0 {
		c.modified(key)
		c.srv.dirty += int64(added - 1)
		c.notify(notifySet, "sadd", key)
	}
	c.replyInt(int64(added))
}

func cmdSrem(c *Client, args [][]byte) {
	key := args[1]
	s, ok := c.lookupSetWrite(key)
	if !ok {
		return
	}
	if s == nil {
		c.replyInt(0)
		return
	}
	deleted := 0
	for _, m := range args[2:] {
		if s.Remove(m) {
			deleted++
			if s.Len() == 0 {
				break
			}
		}
	}
	if deleted > 0 {
		c.modified(key)
		c.srv.dirty += int64(deleted - 1)
		c.notify(notifySet, "srem", key)
		c.deleteEmptyKey(key, s.Len())
	}
	c.replyInt(int64(deleted))
}

func cmdSmove(c *Client, args [][]byte) {
	src, dst, m := args[1], args[2], args[3]
	se := c.lookupWrite(src)
	de := c.lookupWrite(dst)
	if se == nil {
		c.replyInt(0)
		return
	}
	ss, ok := asSet(c, se)
	if !ok {
		return
	}
	ds, ok := asSet(c, de)
	if !ok {
		return
	}
	if se == de {
		c.w.AppendInt(b2i(ss.Has(m)))
		return
	}
	if !ss.Remove(m) {
		c.replyInt(0)
		return
	}
	c.notify(notifySet, "srem", src)
	c.deleteEmptyKey(src, ss.Len())
	if ds == nil {
		ds = store.NewSet(m)
		c.db.SetValue(dst, store.Object{Type: store.TypeSet, Val: ds}, false)
	}
	c.modified(src)
	if ds.Add(m, c.maxIntset()) {
		c.modified(dst)
		c.notify(notifySet, "sadd", dst)
	}
	c.replyInt(1)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func cmdSismember(c *Client, args [][]byte) {
	s, ok := c.lookupSetRead(args[1])
	if !ok {
		return
	}
	c.replyInt(b2i(s != nil && s.Has(args[2])))
}

func cmdSmismember(c *Client, args [][]byte) {
	s, ok := c.lookupSetRead(args[1])
	if !ok {
		return
	}
	c.w.AppendArray(len(args) - 2)
	for _, m := range args[2:] {
		c.replyInt(b2i(s != nil && s.Has(m)))
	}
}

func cmdScard(c *Client, args [][]byte) {
	s, ok := c.lookupSetRead(args[1])
	if !ok {
		return
	}
	if s == nil {
		c.replyInt(0)
		return
	}
	c.replyInt(int64(s.Len()))
}

func cmdSmembers(c *Client, args [][]byte) { setInter(c, args[1:2], nil, false, 0) }

// spopCountStrategyMul: when the members left after SPOP are fewer than
// count/5, build the survivors instead of removing count random members.
const spopCountStrategyMul = 5

func cmdSpop(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.replySyntax()
		return
	}
	key := args[1]
	if len(args) == 3 {
		spopCount(c, key, args[2])
		return
	}
	s, ok := c.lookupSetWrite(key)
	if !ok {
		return
	}
	if s == nil {
		c.replyNull()
		return
	}
	m := s.Random()
	s.Remove([]byte(m))
	c.notify(notifySet, "spop", key)
	c.propagateArgv = [][]byte{[]byte("SREM"), copyBytes(key), []byte(m)}
	c.replyBulkString(m)
	c.deleteEmptyKey(key, s.Len())
	c.modified(key)
}

func copyBytes(b []byte) []byte { return append([]byte(nil), b...) }

func spopCount(c *Client, key, countArg []byte) {
	count, ok := parsePositiveLong(c, countArg, "")
	if !ok {
		return
	}
	s, ok := c.lookupSetWrite(key)
	if !ok {
		return
	}
	if s == nil || count == 0 {
		c.w.AppendSet(0)
		return
	}
	size := int64(s.Len())
	c.notify(notifySet, "spop", key)
	if count >= size {
		members := s.Members()
		c.w.AppendSet(len(members))
		for _, m := range members {
			c.replyBulkString(m)
		}
		c.db.Delete(string(key))
		c.notify(notifyGeneric, "del", key)
		c.propagateArgv = [][]byte{[]byte("DEL"), copyBytes(key)}
		c.modified(key)
		c.srv.dirty += size - 1
		return
	}
	// Replicas get one SREM with every popped member: the same effect as
	// Redis's series of SREMs, in one command.
	prop := [][]byte{[]byte("SREM"), copyBytes(key)}
	c.w.AppendSet(int(count))
	remaining := size - count
	if remaining*spopCountStrategyMul > count {
		for i := int64(0); i < count; i++ {
			m := s.Random()
			s.Remove([]byte(m))
			c.replyBulkString(m)
			prop = append(prop, []byte(m))
		}
	} else {
		// Move the survivors to a new set and return what is left.
		ns := store.NewIntSet()
		max := c.maxIntset()
		for i := int64(0); i < remaining; i++ {
			m := s.Random()
			ns.AddString(m, max)
			s.Remove([]byte(m))
		}
		s.Each(func(m string) bool {
			c.replyBulkString(m)
			prop = append(prop, []byte(m))
			return true
		})
		e := c.db.Peek(key)
		e.Val.Val = ns
	}
	c.propagateArgv = prop
	c.modified(key)
	c.srv.dirty += count - 1
}

// parsePositiveLong reads a count in 0..LONG_MAX as Redis's
// getPositiveLongFromObjectOrReply does: any failure, parse or range,
// replies msg (by default "value is out of range, must be positive").
func parsePositiveLong(c *Client, b []byte, msg string) (int64, bool) {
	if msg == "" {
		msg = "value is out of range, must be positive"
	}
	n, ok := parseInt(b)
	if !ok || n < 0 {
		c.replyError("ERR " + msg)
		return 0, false
	}
	return n, true
}

// srandmemberSubStrategyMul: when count*3 exceeds the set size, copy the
// set and remove random members instead of sampling distinct ones.
const srandmemberSubStrategyMul = 3

func cmdSrandmember(c *Client, args [][]byte) {
	if len(args) > 3 {
		c.replySyntax()
		return
	}
	if len(args) == 2 {
		s, ok := c.lookupSetRead(args[1])
		if !ok {
			return
		}
		if s == nil {
			c.replyNull()
			return
		}
		c.replyBulkString(s.Random())
		return
	}
	l, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if l < -math.MaxInt64 {
		c.replyErrorf("ERR value is out of range, value must between %d and %d", -math.MaxInt64, math.MaxInt64)
		return
	}
	s, ok := c.lookupSetRead(args[1])
	if !ok {
		return
	}
	if s == nil || l == 0 {
		c.w.AppendArray(0)
		return
	}
	uniq := l > 0
	count := l
	if !uniq {
		count = -l
	}
	size := int64(s.Len())
	if !uniq || count == 1 {
		c.w.AppendArray(int(count))
		for i := int64(0); i < count; i++ {
			c.replyBulkString(s.Random())
		}
		return
	}
	if count >= size {
		c.w.AppendArray(int(size))
		s.Each(func(m string) bool { c.replyBulkString(m); return true })
		return
	}
	var out []string
	if count*srandmemberSubStrategyMul > size {
		out = s.Members()
		for int64(len(out)) > count {
			i := rand.IntN(len(out))
			out[i] = out[len(out)-1]
			out = out[:len(out)-1]
		}
	} else {
		seen := make(map[string]struct{}, count)
		for int64(len(seen)) < count {
			m := s.Random()
			if _, dup := seen[m]; !dup {
				seen[m] = struct{}{}
				out = append(out, m)
			}
		}
	}
	c.w.AppendArray(len(out))
	for _, m := range out {
		c.replyBulkString(m)
	}
}

func cmdSinter(c *Client, args [][]byte)      { setInter(c, args[1:], nil, false, 0) }
func cmdSinterstore(c *Client, args [][]byte) { setInter(c, args[2:], args[1], false, 0) }

func cmdSintercard(c *Client, args [][]byte) {
	numkeys, ok := parseInt(args[1])
	if !ok || numkeys < 1 {
		c.replyError("ERR numkeys should be greater than 0")
		return
	}
	if numkeys > int64(len(args)-2) {
		c.replyError("ERR Number of keys can't be greater than number of args")
		return
	}
	var limit int64
	for j := 2 + int(numkeys); j < len(args); j++ {
		if eqFold(args[j], "limit") && j+1 < len(args) {
			j++
			if limit, ok = parsePositiveLong(c, args[j], "LIMIT can't be negative"); !ok {
				return
			}
			continue
		}
		c.replySyntax()
		return
	}
	setInter(c, args[2:2+numkeys], nil, true, limit)
}

// lookupSets fetches the sets named by keys for reading; absent keys are
// nil. ok is false after a WRONGTYPE reply.
func lookupSets(c *Client, keys [][]byte) ([]*store.Set, bool) {
	sets := make([]*store.Set, len(keys))
	for i, k := range keys {
		s, ok := c.lookupSetRead(k)
		if !ok {
			return nil, false
		}
		sets[i] = s
	}
	return sets, true
}

// storeSet makes dst hold s (or deletes dst when s is empty), replying
// the size, as the STORE variants do.
func storeSet(c *Client, dst []byte, s *store.Set, event string) {
	if s.Len() > 0 {
		c.db.SetValue(dst, store.Object{Type: store.TypeSet, Val: s}, false)
		c.modified(dst)
		c.replyInt(int64(s.Len()))
		c.notify(notifySet, event, dst)
		return
	}
	c.replyInt(0)
	if c.srv.serverDelete(c.db, string(dst)) {
		c.modified(dst)
		c.notify(notifyGeneric, "del", dst)
	}
}

func setInter(c *Client, keys [][]byte, dst []byte, cardOnly bool, limit int64) {
	sets, ok := lookupSets(c, keys)
	if !ok {
		return
	}
	for _, s := range sets {
		if s == nil {
			switch {
			case dst != nil:
				c.replyInt(0)
				if c.srv.serverDelete(c.db, string(dst)) {
					c.modified(dst)
					c.notify(notifyGeneric, "del", dst)
				}
			case cardOnly:
				c.replyInt(0)
			default:
				c.w.AppendSet(0)
			}
			return
		}
	}
	// Walk the smallest set, probing the others.
	small := 0
	for i, s := range sets {
		if s.Len() < sets[small].Len() {
			small = i
		}
	}
	var result []string
	var card int64
	sets[0], sets[small] = sets[small], sets[0]
	sets[0].Each(func(m string) bool {
		for _, o := range sets[1:] {
			if o != sets[0] && !o.HasString(m) {
				return true
			}
		}
		card++
		if cardOnly {
			return limit == 0 || card < limit
		}
		result = append(result, m)
		return true
	})
	switch {
	case cardOnly:
		c.replyInt(card)
	case dst != nil:
		ns := store.NewIntSet()
		max := c.maxIntset()
		for _, m := range result {
			ns.AddString(m, max)
		}
		storeSet(c, dst, ns, "sinterstore")
	default:
		c.w.AppendSet(len(result))
		for _, m := range result {
			c.replyBulkString(m)
		}
	}
}

func cmdSunion(c *Client, args [][]byte)      { setUnionDiff(c, args[1:], nil, false) }
func cmdSunionstore(c *Client, args [][]byte) { setUnionDiff(c, args[2:], args[1], false) }
func cmdSdiff(c *Client, args [][]byte)       { setUnionDiff(c, args[1:], nil, true) }
func cmdSdiffstore(c *Client, args [][]byte)  { setUnionDiff(c, args[2:], args[1], true) }

func setUnionDiff(c *Client, keys [][]byte, dst []byte, diff bool) {
	sets, ok := lookupSets(c, keys)
	if !ok {
		return
	}
	ns := store.NewIntSet()
	max := c.maxIntset()
	switch {
	case !diff:
		for _, s := range sets {
			if s != nil {
				s.Each(func(m string) bool { ns.AddString(m, max); return true })
			}
		}
	case sets[0] != nil && diffAlgorithm(sets) == 2:
		// Redis's second algorithm: copy the first set, then remove the
		// others' members. The result keeps the encoding the copy needed
		// (hashtable once any non-integer was added), so the choice of
		// algorithm shows in OBJECT ENCODING and must follow Redis's.
		sets[0].Each(func(m string) bool { ns.AddString(m, max); return true })
		for _, o := range sets[1:] {
			if o == nil || ns.Len() == 0 {
				continue
			}
			o.Each(func(m string) bool { ns.Remove([]byte(m)); return ns.Len() > 0 })
		}
	case sets[0] != nil:
		same := false
		for _, s := range sets[1:] {
			if s == sets[0] {
				same = true
			}
		}
		if !same {
			sets[0].Each(func(m string) bool {
				for _, o := range sets[1:] {
					if o != nil && o.HasString(m) {
						return true
					}
				}
				ns.AddString(m, max)
				return true
			})
		}
	}
	if dst != nil {
		event := "sunionstore"
		if diff {
			event = "sdiffstore"
		}
		storeSet(c, dst, ns, event)
		return
	}
	c.w.AppendSet(ns.Len())
	ns.Each(func(m string) bool { c.replyBulkString(m); return true })
}

// diffAlgorithm is Redis's choice for SDIFF: 1 (check each member of the
// first set against the others) when half of |first| × sets is at most
// the total size of all sets, else 2 (copy the first set, remove the
// others). Missing keys count as nothing; a key named twice counts twice.
func diffAlgorithm(sets []*store.Set) int {
	var one, two int64
	for _, s := range sets {
		if s == nil {
			continue
		}
		one += int64(sets[0].Len())
		two += int64(s.Len())
	}
	if one/2 <= two {
		return 1
	}
	return 2
}

func cmdSscan(c *Client, args [][]byte) {
	cursor, ok := parseScanCursor(c, args[2])
	if !ok {
		return
	}
	// Redis looks the key up before it parses the options.
	s, ok := c.lookupSetRead(args[1])
	if !ok {
		return
	}
	if s == nil {
		replyEmptyScan(c)
		return
	}
	o, ok := parseScanOptions(c, args[3:], false)
	if !ok {
		return
	}
	out, cursor := scanCollection(s.IsIntset(), cursor, o, s.Scan, func(m string) string { return m })
	c.w.AppendArray(2)
	c.replyBulkString(strconv.FormatUint(cursor, 10))
	c.w.AppendArray(len(out))
	for _, m := range out {
		c.replyBulkString(m)
	}
}
