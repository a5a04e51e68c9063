package node

import (
	"time"

	"github.com/skiffdb/skiff/store"
)

func init() {
	const (
		push = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."
		pop  = "O(N) where N is the number of elements returned"
	)
	register(
		&Command{Name: "lpush", Arity: -3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Prepends one or more elements to a list. Creates the key if it doesn't exist.", Complexity: push, Handler: cmdLpush},
		&Command{Name: "rpush", Arity: -3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Appends one or more elements to a list. Creates the key if it doesn't exist.", Complexity: push, Handler: cmdRpush},
		&Command{Name: "lpushx", Arity: -3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "2.2.0", Summary: "Prepends one or more elements to a list only when the list exists.", Complexity: push, Handler: cmdLpushx},
		&Command{Name: "rpushx", Arity: -3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "2.2.0", Summary: "Appends an element to a list only when the list exists.", Complexity: push, Handler: cmdRpushx},
		&Command{Name: "lpop", Arity: -2, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", Complexity: pop, Handler: cmdLpop},
		&Command{Name: "rpop", Arity: -2, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", Complexity: pop, Handler: cmdRpop},
		&Command{Name: "llen", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Returns the length of a list.", Complexity: "O(1)", Handler: cmdLlen},
		&Command{Name: "lrange", Arity: 4, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Returns a range of elements from a list.", Complexity: "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", Handler: cmdLrange},
		&Command{Name: "lindex", Arity: 3, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Returns an element from a list by its index.", Complexity: "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", Handler: cmdLindex},
		&Command{Name: "lset", Arity: 4, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Sets the value of an element in a list by its index.", Complexity: "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", Handler: cmdLset},
		&Command{Name: "linsert", Arity: 5, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "2.2.0", Summary: "Inserts an element before or after another element in a list.", Complexity: "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", Handler: cmdLinsert},
		&Command{Name: "lrem", Arity: 4, Flags: "write", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Removes elements from a list. Deletes the list if the last element was removed.", Complexity: "O(N+M) where N is the length of the list and M is the number of elements removed.", Handler: cmdLrem},
		&Command{Name: "ltrim", Arity: 4, Flags: "write", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "1.0.0", Summary: "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", Complexity: "O(N) where N is the number of elements to be removed by the operation.", Handler: cmdLtrim},
		&Command{Name: "lpos", Arity: -3, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "list", Since: "6.0.6", Summary: "Returns the index of matching elements in a list.", Complexity: "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", Handler: cmdLpos},
		&Command{Name: "lmove", Arity: 5, Flags: "write denyoom", FirstKey: 1, LastKey: 2, Step: 1, Group: "list", Since: "6.2.0", Summary: "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", Complexity: "O(1)", Handler: cmdLmove},
		&Command{Name: "rpoplpush", Arity: 3, Flags: "write denyoom", FirstKey: 1, LastKey: 2, Step: 1, Group: "list", Since: "1.2.0", Summary: "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", Complexity: "O(1)", Handler: cmdRpoplpush},
		&Command{Name: "lmpop", Arity: -4, Flags: "write", Group: "list", Since: "7.0.0", Summary: "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.", Handler: cmdLmpop},
		&Command{Name: "blpop", Arity: -3, Flags: "write noscript blocking", FirstKey: 1, LastKey: -2, Step: 1, Group: "list", Since: "2.0.0", Summary: "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Complexity: "O(N) where N is the number of provided keys.", Handler: cmdBlpop},
		&Command{Name: "brpop", Arity: -3, Flags: "write noscript blocking", FirstKey: 1, LastKey: -2, Step: 1, Group: "list", Since: "2.0.0", Summary: "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Complexity: "O(N) where N is the number of provided keys.", Handler: cmdBrpop},
		&Command{Name: "blmove", Arity: 6, Flags: "write denyoom noscript blocking", FirstKey: 1, LastKey: 2, Step: 1, Group: "list", Since: "6.2.0", Summary: "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", Complexity: "O(1)", Handler: cmdBlmove},
		&Command{Name: "brpoplpush", Arity: 4, Flags: "write denyoom noscript blocking", FirstKey: 1, LastKey: 2, Step: 1, Group: "list", Since: "2.2.0", Summary: "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", Complexity: "O(1)", Handler: cmdBrpoplpush},
		&Command{Name: "blmpop", Arity: -5, Flags: "write blocking", Group: "list", Since: "7.0.0", Summary: "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", Complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.", Handler: cmdBlmpop},
	)
}

var (
	argLpop      = []byte("LPOP")
	argRpop      = []byte("RPOP")
	argLmove     = []byte("LMOVE")
	argRpoplpush = []byte("RPOPLPUSH")
	argLeft      = []byte("LEFT")
	argRight     = []byte("RIGHT")
)

// listOf returns the list held by e (which must be of TypeList).
func listOf(e *store.Entry) *store.List { return e.Val.Val.(*store.List) }

// modifiedN is c.modified for a command that made n changes: Redis
// counts every pushed or popped element in the dirty counter.
func (c *Client) modifiedN(key []byte, n int64) {
	c.srv.dirty += n
	c.srv.signalModifiedKey(c.db, key)
}

// newListKey stores an empty list under key and returns it.
func (c *Client) newListKey(key []byte) *store.List {
	l := store.NewList()
	c.db.SetValue(key, store.Object{Type: store.TypeList, Val: l}, false)
	return l
}

// deleteIfEmptyList removes a list key whose last element went, with the
// "del" event Redis sends then.
func (c *Client) deleteIfEmptyList(key []byte, l *store.List) bool {
	if l.Len() > 0 {
		return false
	}
	c.db.Delete(string(key))
	c.notify(notifyGeneric, "del", key)
	return true
}

func popEvent(front bool) string {
	if front {
		return "lpop"
	}
	return "rpop"
}

func pushEvent(front bool) string {
	if front {
		return "lpush"
	}
	return "rpush"
}

func cmdLpush(c *Client, args [][]byte)  { pushGeneric(c, args, true, false) }
func cmdRpush(c *Client, args [][]byte)  { pushGeneric(c, args, false, false) }
func cmdLpushx(c *Client, args [][]byte) { pushGeneric(c, args, true, true) }
func cmdRpushx(c *Client, args [][]byte) { pushGeneric(c, args, false, true) }

func pushGeneric(c *Client, args [][]byte, front, onlyExisting bool) {
	key := args[1]
	e := c.lookupWrite(key)
	var l *store.List
	switch {
	case e != nil && e.Val.Type != store.TypeList:
		c.replyWrongType()
		return
	case e != nil:
		l = listOf(e)
	case onlyExisting:
		c.replyInt(0)
		return
	default:
		l = c.newListKey(key)
	}
	for _, v := range args[2:] {
		l.Push(string(v), front)
	}
	c.replyInt(int64(l.Len()))
	c.modifiedN(key, int64(len(args)-2))
	c.notify(notifyList, pushEvent(front), key)
}

func cmdLpop(c *Client, args [][]byte) { popGeneric(c, args, true) }
func cmdRpop(c *Client, args [][]byte) { popGeneric(c, args, false) }

// parsePositive parses a count that must be >= 0; msg is the error for
// both a non-integer and a negative value, as in Redis.
func parsePositive(c *Client, b []byte, msg string) (int64, bool) {
	n, ok := parseInt(b)
	if !ok || n < 0 {
		c.replyError(msg)
		return 0, false
	}
	return n, true
}

func popGeneric(c *Client, args [][]byte, front bool) {
	if len(args) > 3 {
		c.replyErrorf("ERR wrong number of arguments for '%s' command", c.cmdName())
		return
	}
	hasCount := len(args) == 3
	var count int64
	if hasCount {
		var ok bool
		if count, ok = parsePositive(c, args[2], "ERR value is out of range, must be positive"); !ok {
			return
		}
	}
	key := args[1]
	e := c.lookupWrite(key)
	if e == nil {
		if hasCount {
			c.w.AppendNullArray()
		} else {
			c.replyNull()
		}
		return
	}
	if e.Val.Type != store.TypeList {
		c.replyWrongType()
		return
	}
	l := listOf(e)
	if hasCount && count == 0 {
		c.w.AppendArray(0)
		return
	}
	if !hasCount {
		v, _ := l.Pop(front)
		c.replyBulkString(v)
		c.listElementsRemoved(key, l, front, 1)
		return
	}
	n := popRangeReply(c, l, front, count)
	c.listElementsRemoved(key, l, front, n)
}

// cmdName is the name of the running command for error messages.
func (c *Client) cmdName() string {
	if c.cmd != nil {
		return c.cmd.FullName()
	}
	return ""
}

// popRangeReply pops up to count elements from one end and replies them
// as an array, in pop order. It returns how many it popped.
func popRangeReply(c *Client, l *store.List, front bool, count int64) int64 {
	n := int64(l.Len())
	if count < n {
		n = count
	}
	c.w.AppendArray(int(n))
	for i := int64(0); i < n; i++ {
		v, _ := l.Pop(front)
		c.replyBulkString(v)
	}
	return n
}

// listElementsRemoved does the bookkeeping after a pop: the event, the
// deletion of an emptied key, the dirty counter.
func (c *Client) listElementsRemoved(key []byte, l *store.List, front bool, n int64) {
	c.notify(notifyList, popEvent(front), key)
	c.deleteIfEmptyList(key, l)
	c.modifiedN(key, n)
}

// lookupList finds key for a read; it replies WRONGTYPE (ok=false) for a
// key of another type, and returns nil, true when the key is missing.
func (c *Client) lookupList(key []byte, write bool) (*store.List, bool) {
	e, ok := c.lookupTyped(key, write, store.TypeList)
	if e == nil {
		return nil, ok
	}
	return listOf(e), true
}

func cmdLlen(c *Client, args [][]byte) {
	l, ok := c.lookupList(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.replyInt(0)
		return
	}
	c.replyInt(int64(l.Len()))
}

func cmdLrange(c *Client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.replyError(errNotInt)
		return
	}
	l, ok := c.lookupList(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.w.AppendArray(0)
		return
	}
	from, to, ok := l.RangeBounds(start, stop)
	if !ok {
		c.w.AppendArray(0)
		return
	}
	c.w.AppendArray(to - from + 1)
	for i := from; i <= to; i++ {
		c.replyBulkString(l.At(i))
	}
}

func cmdLindex(c *Client, args [][]byte) {
	l, ok := c.lookupList(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		c.replyNull()
		return
	}
	idx, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	v, ok := l.Index(idx)
	if !ok {
		c.replyNull()
		return
	}
	c.replyBulkString(v)
}

func cmdLset(c *Client, args [][]byte) {
	key := args[1]
	l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.replyError(errNoSuchKey)
		return
	}
	idx, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if !l.Set(idx, string(args[3])) {
		c.replyError(errOutOfRange)
		return
	}
	c.replyOK()
	c.modified(key)
	c.notify(notifyList, "lset", key)
}

func cmdLinsert(c *Client, args [][]byte) {
	var after bool
	switch {
	case eqFold(args[2], "after"):
		after = true
	case eqFold(args[2], "before"):
	default:
		c.replySyntax()
		return
	}
	key := args[1]
	l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.replyInt(0)
		return
	}
	pivot := -1
	for i := 0; i < l.Len(); i++ {
		if l.At(i) == string(args[3]) {
			pivot = i
			break
		}
	}
	if pivot < 0 {
		c.replyInt(-1)
		return
	}
	if after {
		pivot++
	}
	l.Insert(pivot, string(args[4]))
	c.modified(key)
	c.notify(notifyList, "linsert", key)
	c.replyInt(int64(l.Len()))
}

func cmdLrem(c *Client, args [][]byte) {
	n, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	key := args[1]
	l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.replyInt(0)
		return
	}
	removed := l.Filter(string(args[3]), n)
	if removed > 0 {
		c.modifiedN(key, removed)
		c.notify(notifyList, "lrem", key)
	}
	c.deleteIfEmptyList(key, l)
	c.replyInt(removed)
}

func cmdLtrim(c *Client, args [][]byte) {
	start, ok1 := parseInt(args[2])
	stop, ok2 := parseInt(args[3])
	if !ok1 || !ok2 {
		c.replyError(errNotInt)
		return
	}
	key := args[1]
	l, ok := c.lookupList(key, true)
	if !ok {
		return
	}
	if l == nil {
		c.replyOK()
		return
	}
	n := l.Len()
	ltrim, rtrim := n, 0
	if from, to, ok := l.RangeBounds(start, stop); ok {
		ltrim, rtrim = from, n-to-1
	}
	l.TrimFront(ltrim)
	l.TrimBack(rtrim)
	c.notify(notifyList, "ltrim", key)
	c.deleteIfEmptyList(key, l)
	c.modifiedN(key, int64(ltrim+rtrim))
	c.replyOK()
}

func cmdLpos(c *Client, args [][]byte) {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(args); j++ {
		more := j+1 < len(args)
		switch {
		case eqFold(args[j], "rank") && more:
			j++
			n, ok := parseInt(args[j])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			if n == 0 {
				c.replyError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
				return
			}
			rank = n
		case eqFold(args[j], "count") && more:
			j++
			n, ok := parsePositive(c, args[j], "ERR COUNT can't be negative")
			if !ok {
				return
			}
			count = n
		case eqFold(args[j], "maxlen") && more:
			j++
			n, ok := parsePositive(c, args[j], "ERR MAXLEN can't be negative")
			if !ok {
				return
			}
			maxlen = n
		default:
			c.replySyntax()
			return
		}
	}
	fromTail := rank < 0
	if fromTail {
		// -MinInt64 wraps to itself, as in C; the comparisons below then
		// wrap the same way Redis's do.
		rank = -rank
	}
	l, ok := c.lookupList(args[1], false)
	if !ok {
		return
	}
	if l == nil {
		if count != -1 {
			c.w.AppendArray(0)
		} else {
			c.replyNull()
		}
		return
	}
	ele := string(args[2])
	n := l.Len()
	var matches int64
	var found []int64
	for i := 0; i < n && (maxlen == 0 || int64(i) < maxlen); i++ {
		pos := i
		if fromTail {
			pos = n - 1 - i
		}
		if l.At(pos) != ele {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		found = append(found, int64(pos))
		if count == -1 || (count != 0 && matches-rank+1 >= count) {
			break
		}
	}
	if count != -1 {
		c.w.AppendArray(len(found))
		for _, p := range found {
			c.replyInt(p)
		}
		return
	}
	if len(found) == 0 {
		c.replyNull()
		return
	}
	c.replyInt(found[0])
}

// parseWhere reads LEFT or RIGHT; front is true for LEFT.
func parseWhere(c *Client, b []byte) (front, ok bool) {
	switch {
	case eqFold(b, "left"):
		return true, true
	case eqFold(b, "right"):
		return false, true
	}
	c.replySyntax()
	return false, false
}

func whereArg(front bool) []byte {
	if front {
		return argLeft
	}
	return argRight
}

func cmdLmove(c *Client, args [][]byte) {
	from, ok := parseWhere(c, args[3])
	if !ok {
		return
	}
	to, ok := parseWhere(c, args[4])
	if !ok {
		return
	}
	lmoveGeneric(c, args[1], args[2], from, to)
}

func cmdRpoplpush(c *Client, args [][]byte) { lmoveGeneric(c, args[1], args[2], false, true) }

// lmoveGeneric is LMOVE once the source is known to be a list or
// missing: pop from src, push to dst, reply the element.
func lmoveGeneric(c *Client, src, dst []byte, from, to bool) {
	sl, ok := c.lookupList(src, true)
	if !ok {
		return
	}
	if sl == nil {
		c.replyNull()
		return
	}
	if !lmoveServe(c, src, sl, dst, from, to) {
		return
	}
	c.modified(src)
}

// lmoveServe moves one element from sl (the list at src) to dst and
// replies it; it replies WRONGTYPE and returns false when dst holds
// another type. It does not count src as modified (the caller does, as
// the blocked path of Redis does not).
func lmoveServe(c *Client, src []byte, sl *store.List, dst []byte, from, to bool) bool {
	dl, ok := c.lookupList(dst, true)
	if !ok {
		return false
	}
	v, _ := sl.Pop(from)
	if dl == nil {
		dl = c.newListKey(dst)
	}
	c.srv.signalModifiedKey(c.db, dst)
	dl.Push(v, to)
	c.notify(notifyList, pushEvent(to), dst)
	c.replyBulkString(v)
	c.notify(notifyList, popEvent(from), src)
	c.deleteIfEmptyList(src, sl)
	return true
}

func cmdLmpop(c *Client, args [][]byte) { lmpopGeneric(c, args, 1, false) }

func cmdBlmpop(c *Client, args [][]byte) { lmpopGeneric(c, args, 2, true) }

// parseNumkeys reads a numkeys argument that must be in [1, LONG_MAX].
func parseNumkeys(c *Client, b []byte) (int64, bool) {
	n, ok := parseInt(b)
	if !ok || n < 1 {
		c.replyError("ERR numkeys should be greater than 0")
		return 0, false
	}
	return n, true
}

// lmpopGeneric parses [B]LMPOP: [timeout] numkeys key... LEFT|RIGHT [COUNT n].
func lmpopGeneric(c *Client, args [][]byte, numkeysIdx int, block bool) {
	numkeys, ok := parseNumkeys(c, args[numkeysIdx])
	if !ok {
		return
	}
	whereIdx := int64(numkeysIdx) + numkeys + 1
	if whereIdx >= int64(len(args)) || whereIdx < 0 {
		c.replySyntax()
		return
	}
	front, ok := parseWhere(c, args[whereIdx])
	if !ok {
		return
	}
	count := int64(-1)
	for j := int(whereIdx) + 1; j < len(args); j++ {
		if count == -1 && eqFold(args[j], "count") && j+1 < len(args) {
			j++
			n, ok := parseInt(args[j])
			if !ok || n < 1 {
				c.replyError("ERR count should be greater than 0")
				return
			}
			count = n
			continue
		}
		c.replySyntax()
		return
	}
	if count == -1 {
		count = 1
	}
	keys := args[numkeysIdx+1 : whereIdx]
	if block {
		blockingPop(c, keys, front, args[1], count)
		return
	}
	for _, key := range keys {
		l, ok := c.lookupList(key, true)
		if !ok {
			return
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		mpopServe(c, key, l, front, count)
		return
	}
	c.w.AppendNullArray()
}

// mpopServe pops up to count elements of the list at key and replies
// [key, [elements]]; replicas get [LR]POP key n.
func mpopServe(c *Client, key []byte, l *store.List, front bool, count int64) {
	c.w.AppendArray(2)
	c.replyBulk(key)
	n := popRangeReply(c, l, front, count)
	c.listElementsRemoved(key, l, front, n)
	c.propagateArgv = [][]byte{popArg(front), listCopyBytes(key), store.FormatInt(n)}
}

func popArg(front bool) []byte {
	if front {
		return argLpop
	}
	return argRpop
}

func listCopyBytes(b []byte) []byte { return append([]byte(nil), b...) }

func cmdBlpop(c *Client, args [][]byte) {
	blockingPop(c, args[1:len(args)-1], true, args[len(args)-1], -1)
}

func cmdBrpop(c *Client, args [][]byte) {
	blockingPop(c, args[1:len(args)-1], false, args[len(args)-1], -1)
}

// blockingPop is BLPOP/BRPOP (count -1: reply [key, element]) and BLMPOP
// (count > 0: reply [key, [elements]]).
func blockingPop(c *Client, keys [][]byte, front bool, timeoutArg []byte, count int64) {
	timeout, ok := parseBlockTimeout(c, timeoutArg)
	if !ok {
		return
	}
	for _, key := range keys {
		l, ok := c.lookupList(key, true)
		if !ok {
			return
		}
		if l == nil || l.Len() == 0 {
			continue
		}
		if count != -1 {
			mpopServe(c, key, l, front, count)
			return
		}
		v, _ := l.Pop(front)
		c.w.AppendArray(2)
		c.replyBulk(key)
		c.replyBulkString(v)
		c.listElementsRemoved(key, l, front, 1)
		c.propagateArgv = [][]byte{popArg(front), listCopyBytes(key)}
		return
	}
	c.block(keys, timeout, func(c *Client, key []byte) bool {
		e := c.db.Lookup(key, c.now)
		if e == nil || e.Val.Type != store.TypeList || listOf(e).Len() == 0 {
			return false
		}
		l := listOf(e)
		if count != -1 {
			n := int64(l.Len())
			if count < n {
				n = count
			}
			c.srv.propagate(c.db.ID, [][]byte{popArg(front), key, store.FormatInt(n)})
			c.w.AppendArray(2)
			c.replyBulk(key)
			popRangeReply(c, l, front, count)
			c.notify(notifyList, popEvent(front), key)
			c.deleteIfEmptyList(key, l)
			return true
		}
		c.srv.propagate(c.db.ID, [][]byte{popArg(front), key})
		v, _ := l.Pop(front)
		c.w.AppendArray(2)
		c.replyBulk(key)
		c.replyBulkString(v)
		c.notify(notifyList, popEvent(front), key)
		c.deleteIfEmptyList(key, l)
		return true
	}, func(c *Client) { c.w.AppendNullArray() })
}

func cmdBlmove(c *Client, args [][]byte) {
	from, ok := parseWhere(c, args[3])
	if !ok {
		return
	}
	to, ok := parseWhere(c, args[4])
	if !ok {
		return
	}
	timeout, ok := parseBlockTimeout(c, args[5])
	if !ok {
		return
	}
	blmoveGeneric(c, args[1], args[2], from, to, timeout, false)
}

func cmdBrpoplpush(c *Client, args [][]byte) {
	timeout, ok := parseBlockTimeout(c, args[3])
	if !ok {
		return
	}
	blmoveGeneric(c, args[1], args[2], false, true, timeout, true)
}

func blmoveGeneric(c *Client, src, dst []byte, from, to bool, timeout time.Duration, rpoplpush bool) {
	sl, ok := c.lookupList(src, true)
	if !ok {
		return
	}
	if sl != nil {
		if lmoveServe(c, src, sl, dst, from, to) {
			c.modified(src)
			if rpoplpush {
				c.propagateArgv = [][]byte{argRpoplpush, listCopyBytes(src), listCopyBytes(dst)}
			} else {
				c.propagateArgv = [][]byte{argLmove, listCopyBytes(src), listCopyBytes(dst), whereArg(from), whereArg(to)}
			}
		}
		return
	}
	if !c.canBlock() {
		c.replyNull()
		return
	}
	dstKey := listCopyBytes(dst)
	c.block([][]byte{src}, timeout, func(c *Client, key []byte) bool {
		e := c.db.Lookup(key, c.now)
		if e == nil || e.Val.Type != store.TypeList || listOf(e).Len() == 0 {
			return false
		}
		if !lmoveServe(c, key, listOf(e), dstKey, from, to) {
			return true // WRONGTYPE was the reply; Redis unblocks with it
		}
		if rpoplpush {
			c.srv.propagate(c.db.ID, [][]byte{argRpoplpush, key, dstKey})
		} else {
			c.srv.propagate(c.db.ID, [][]byte{argLmove, key, dstKey, whereArg(from), whereArg(to)})
		}
		return true
	}, func(c *Client) { c.w.AppendNullArray() })
}
