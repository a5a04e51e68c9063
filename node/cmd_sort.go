package node

// SORT and SORT_RO, with Redis 7.0's semantics: the option parsing and
// its error precedence, the LIMIT clamping, the fast paths that read a
// list or sorted set in its own order (BY without '*'), the comparison
// rules (numeric with ties broken by the elements' bytes, ALPHA as
// strcoll in the C locale, which stops at a NUL byte, and plain byte
// order when storing), and STORE's list result, events and dirty count.

import (
	"bytes"
	"math"
	"math/big"
	"slices"

	"github.com/skiffdb/skiff/acl"
	"github.com/skiffdb/skiff/internal/pqsort"
	"github.com/skiffdb/skiff/store"
)

func init() {
	const complexity = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N)."
	register(
		&Command{Name: "sort", Arity: -2, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Sort the elements in a list, set or sorted set", Complexity: complexity, ACL: []string{"set", "sortedset", "list", "dangerous"}, Handler: cmdSort},
		&Command{Name: "sort_ro", Arity: -2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "7.0.0", Summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", Complexity: complexity, ACL: []string{"set", "sortedset", "list", "dangerous"}, Handler: cmdSortRO},
	)
}

const errSortScore = "ERR One or more scores can't be converted into double"

func cmdSort(c *Client, args [][]byte)   { sortGeneric(c, args, false) }
func cmdSortRO(c *Client, args [][]byte) { sortGeneric(c, args, true) }

// sortItem is one element being sorted with the value it sorts by: a
// score (numeric sort) or, for ALPHA with BY, the looked-up string (nil
// when the pattern found nothing).
type sortItem struct {
	val   string
	score float64
	cmp   *string
}

// sortOptions is a parsed SORT command line.
type sortOptions struct {
	desc, alpha bool
	dontSort    bool
	start       int64 // LIMIT offset as given
	count       int64 // LIMIT count as given; -1 when absent
	by          []byte
	store       []byte
	gets        [][]byte
}

// parseSortOptions reads the options after the key, replying the error
// and returning false as Redis does: the first bad option stops parsing.
func parseSortOptions(c *Client, args [][]byte, readonly bool) (sortOptions, bool) {
	o := sortOptions{count: -1}
	// Whether the user may read every key is only asked when a BY or GET
	// pattern needs it; the answer is the same for the whole line.
	var asked, fullAccess bool
	mayReadAll := func() bool {
		if !asked {
			asked, fullAccess = true, c.sortFullKeyAccess(args)
		}
		return fullAccess
	}
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case eqFold(a, "asc"):
			o.desc = false
		case eqFold(a, "desc"):
			o.desc = true
		case eqFold(a, "alpha"):
			o.alpha = true
		case eqFold(a, "limit") && left >= 2:
			start, ok1 := parseInt(args[j+1])
			if !ok1 {
				c.replyError(errNotInt)
				return o, false
			}
			count, ok2 := parseInt(args[j+2])
			if !ok2 {
				c.replyError(errNotInt)
				return o, false
			}
			o.start, o.count = start, count
			j += 2
		case !readonly && eqFold(a, "store") && left >= 1:
			o.store = args[j+1]
			j++
		case eqFold(a, "by") && left >= 1:
			o.by = args[j+1]
			// A pattern without '*' names no per-element key: the
			// elements keep their stored order (BY nosort).
			if !patternHasStar(o.by) {
				o.dontSort = true
			} else {
				if c.srv.cl != nil {
					c.replyError("ERR BY option of SORT denied in Cluster mode.")
					return o, false
				}
				if !mayReadAll() {
					c.replyError("ERR BY option of SORT denied due to insufficient ACL permissions.")
					return o, false
				}
			}
			j++
		case eqFold(a, "get") && left >= 1:
			if c.srv.cl != nil {
				c.replyError("ERR GET option of SORT denied in Cluster mode.")
				return o, false
			}
			if !mayReadAll() {
				c.replyError("ERR GET option of SORT denied due to insufficient ACL permissions.")
				return o, false
			}
			o.gets = append(o.gets, args[j+1])
			j++
		default:
			c.replySyntax()
			return o, false
		}
	}
	return o, true
}

// sortFullKeyAccess reports whether the client's user may read any key
// through the selector that allows this command line (Redis refuses BY
// and GET patterns otherwise, as their keys cannot be checked up front).
func (c *Client) sortFullKeyAccess(args [][]byte) bool {
	u := c.user
	if u == nil || u.AllPermissions() || c.flags&clientMaster != 0 {
		return true
	}
	ac := c.srv.acl.byCmd[c.cmd.base()]
	if ac == nil {
		return true
	}
	return u.UnrestrictedKeyAccess(ac, args, acl.KeyAccess)
}

// patternHasStar: Redis looks for the '*' with strchr, so one after a
// NUL byte does not count (cString is in client.go).
func patternHasStar(p []byte) bool { return bytes.IndexByte(cString(p), '*') >= 0 }

// sortLookup resolves a BY or GET pattern for one element: "#" is the
// element itself; otherwise the first '*' is replaced by the element and
// the key read as a string, or, when "->field" follows the '*', the
// field of the hash at that key. ok is false when nothing is found (no
// '*', a missing key, a key or field of another type).
func (c *Client) sortLookup(pattern []byte, elem string) (string, bool) {
	if len(pattern) > 0 && pattern[0] == '#' && (len(pattern) == 1 || pattern[1] == 0) {
		return elem, true
	}
	cs := cString(pattern)
	star := bytes.IndexByte(cs, '*')
	if star < 0 {
		return "", false
	}
	// "->" only counts after the '*' and when a field name follows it.
	keyEnd := len(pattern)
	var field []byte
	if f := bytes.Index(cs[star+1:], []byte("->")); f >= 0 {
		f += star + 1
		if f+2 < len(cs) {
			keyEnd, field = f, pattern[f+2:]
		}
	}
	key := make([]byte, 0, keyEnd-1+len(elem))
	key = append(key, pattern[:star]...)
	key = append(key, elem...)
	key = append(key, pattern[star+1:keyEnd]...)
	e := c.lookupRead(key)
	if e == nil {
		return "", false
	}
	if field != nil {
		if e.Val.Type != store.TypeHash {
			return "", false
		}
		return e.Val.Val.(*store.Hash).Get(field)
	}
	if e.Val.Type != store.TypeString {
		return "", false
	}
	return string(e.Val.Str), true
}

// sortScore converts a sort weight as Redis does with strtod: the text
// up to a NUL byte must be a number entirely; NaN, overflow and
// underflow (a result too small to be a normal double that the text does
// not denote exactly) are errors. An empty text is 0.
func sortScore(s string) (float64, bool) {
	b := cString([]byte(s))
	v, ok := cStrtod(string(b))
	if !ok || math.IsNaN(v) {
		return 0, false
	}
	if math.IsInf(v, 0) && !hasInfWord(b) {
		return 0, false
	}
	if v == 0 && hasNonzeroMantissa(b) {
		return 0, false
	}
	if v != 0 && math.Abs(v) < 0x1p-1022 && !exactDouble(b, v) {
		return 0, false
	}
	return v, true
}

// exactDouble reports whether the number written in b is exactly v
// (glibc's strtod only reports ERANGE for subnormal results that had to
// be rounded).
func exactDouble(b []byte, v float64) bool {
	var r big.Rat
	t := bytes.TrimLeft(b, " \t\n\v\f\r")
	neg := false
	if len(t) > 0 && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if len(t) > 1 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && bytes.IndexAny(t, "pP") < 0 {
		t = append(append([]byte(nil), t...), "p0"...)
	}
	if _, ok := r.SetString(string(t)); !ok {
		return false
	}
	if neg {
		r.Neg(&r)
	}
	var w big.Rat
	w.SetFloat64(v)
	return r.Cmp(&w) == 0
}

// cStrcmp is strcmp: unsigned bytes up to the first NUL of either side
// (strcoll in the C locale, which is what ALPHA uses when not storing).
func cStrcmp(a, b string) int {
	for i := 0; ; i++ {
		var x, y byte
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return int(x) - int(y)
		}
		if x == 0 {
			return 0
		}
	}
}

func binCompare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sortGeneric(c *Client, args [][]byte, readonly bool) {
	o, ok := parseSortOptions(c, args, readonly)
	if !ok {
		return
	}
	e := c.lookupRead(args[1])
	if e != nil && e.Val.Type != store.TypeList && e.Val.Type != store.TypeSet && e.Val.Type != store.TypeZSet {
		c.replyWrongType()
		return
	}
	typ := store.TypeList
	if e != nil {
		typ = e.Val.Type
	}
	// A set has no order of its own: BY nosort would give its iteration
	// order, which is not reproducible where the result is stored (the
	// replica, the AOF) or fed to a script, so those sort it as ALPHA.
	if o.dontSort && typ == store.TypeSet && (o.store != nil || c == c.srv.scripts.client) {
		o.dontSort, o.alpha, o.by = false, true, nil
	}
	var zs *store.ZSet
	if typ == store.TypeZSet {
		zs = e.Val.Val.(*store.ZSet)
		// Redis converts a compact sorted set for good before sorting
		// it; OBJECT ENCODING shows the change.
		sortZSetToSkiplist(zs)
	}

	var n int64
	if e != nil {
		switch typ {
		case store.TypeList:
			n = int64(e.Val.Val.(*store.List).Len())
		case store.TypeSet:
			n = int64(e.Val.Val.(*store.Set).Len())
		case store.TypeZSet:
			n = int64(zs.Len())
		}
	}
	start := min(max(o.start, 0), n)
	count := min(max(o.count, -1), n)
	end := n - 1
	if count >= 0 {
		end = start + count - 1
	}
	if start >= n {
		start, end = n-1, n-2
	}
	if end >= n {
		end = n - 1
	}

	// Lists and sorted sets left in their own order only load the range
	// asked for; start and end are then relative to it.
	vlen := n
	if (typ == store.TypeList || typ == store.TypeZSet) && o.dontSort && (start != 0 || end != n-1) {
		vlen = end - start + 1
	}
	items := make([]sortItem, 0, vlen)
	switch {
	case e == nil:
	case typ == store.TypeList && o.dontSort:
		l := e.Val.Val.(*store.List)
		if end >= start {
			for i := int64(0); i < vlen; i++ {
				idx := start + i
				if o.desc {
					idx = n - 1 - start - i
				}
				items = append(items, sortItem{val: l.At(int(idx))})
			}
			end -= start
			start = 0
		}
	case typ == store.TypeList:
		l := e.Val.Val.(*store.List)
		for i := 0; i < l.Len(); i++ {
			items = append(items, sortItem{val: l.At(i)})
		}
	case typ == store.TypeSet:
		e.Val.Val.(*store.Set).Each(func(m string) bool {
			items = append(items, sortItem{val: m})
			return true
		})
	case typ == store.TypeZSet && o.dontSort:
		if vlen > 0 {
			add := func(m store.ZMember) bool {
				items = append(items, sortItem{val: m.Member})
				return int64(len(items)) < vlen
			}
			if o.desc {
				zs.Descend(int(n-1-start), add)
			} else {
				zs.Ascend(int(start), add)
			}
		}
		end -= start
		start = 0
	default: // a sorted set sorted by its members or a pattern
		for _, m := range zs.Members() {
			items = append(items, sortItem{val: m.Member})
		}
	}

	convErr := false
	if !o.dontSort {
		for i := range items {
			it := &items[i]
			by := it.val
			if o.by != nil {
				v, found := c.sortLookup(o.by, it.val)
				if !found {
					continue
				}
				by = v
			}
			if o.alpha {
				if o.by != nil {
					it.cmp = &by
				}
				continue
			}
			score, ok := sortScore(by)
			if !ok {
				convErr = true
			}
			it.score = score
		}
		sortItems(items, &o, int(start), int(end))
	}

	outLen := end - start + 1
	if len(o.gets) > 0 {
		outLen *= int64(len(o.gets))
	}
	if convErr {
		c.replyError(errSortScore)
		return
	}
	if o.store == nil {
		c.w.AppendArray(int(outLen))
		for j := start; j <= end; j++ {
			it := &items[j]
			if len(o.gets) == 0 {
				c.replyBulkString(it.val)
			}
			for _, g := range o.gets {
				if v, found := c.sortLookup(g, it.val); found {
					c.replyBulkString(v)
				} else {
					c.replyNull()
				}
			}
		}
		return
	}
	l := store.NewList()
	for j := start; j <= end; j++ {
		it := &items[j]
		if len(o.gets) == 0 {
			l.PushBack(it.val)
			continue
		}
		for _, g := range o.gets {
			v, _ := c.sortLookup(g, it.val) // a miss stores ""
			l.PushBack(v)
		}
	}
	dst := o.store
	if outLen > 0 {
		c.db.SetValue(dst, store.Object{Type: store.TypeList, Val: l}, false)
		c.modifiedN(dst, outLen)
		c.notify(notifyList, "sortstore", dst)
	} else if c.srv.serverDelete(c.db, string(dst)) {
		c.modified(dst)
		c.notify(notifyGeneric, "del", dst)
	}
	c.replyInt(outLen)
}

// sortItems orders the items by the options' comparison. With a BY
// pattern and a LIMIT that leaves elements out, only the range [from,
// to] is put in order, with Redis's partial quicksort, whose placement
// of equal elements (ALPHA values that tie, missing BY keys) the output
// then shows. Otherwise the sort is stable, as glibc's qsort (a merge
// sort) is for the sizes SORT handles, so equal elements keep their
// loading order.
func sortItems(items []sortItem, o *sortOptions, from, to int) {
	byPattern := o.by != nil
	storing := o.store != nil
	cmp := func(a, b sortItem) int {
		var r int
		switch {
		case !o.alpha:
			switch {
			case a.score > b.score:
				r = 1
			case a.score < b.score:
				r = -1
			default:
				r = binCompare(a.val, b.val)
			}
		case byPattern:
			switch {
			case a.cmp == nil || b.cmp == nil:
				switch {
				case a.cmp == b.cmp:
				case a.cmp == nil:
					r = -1
				default:
					r = 1
				}
			case storing:
				r = binCompare(*a.cmp, *b.cmp)
			default:
				r = cStrcmp(*a.cmp, *b.cmp)
			}
		case storing:
			r = binCompare(a.val, b.val)
		default:
			r = cStrcmp(a.val, b.val)
		}
		if o.desc {
			return -r
		}
		return r
	}
	if byPattern && (from != 0 || to != len(items)-1) {
		// Redis's partial quicksort, whose order for ties is Redis's.
		pqsort.Range(len(items), from, to,
			func(i, j int) int { return cmp(items[i], items[j]) },
			func(i, j int) { items[i], items[j] = items[j], items[i] })
		return
	}
	slices.SortStableFunc(items, cmp)
}

// sortZSetToSkiplist gives a compact sorted set the skiplist encoding,
// as Redis's SORT does to the set it reads: the highest member is taken
// out and put back with limits that force the conversion.
func sortZSetToSkiplist(z *store.ZSet) {
	if z.Encoding() == "skiplist" || z.Len() == 0 {
		return
	}
	top := z.At(z.Len() - 1)
	z.Remove(top.Member)
	z.Insert(top.Member, top.Score, store.ZLimits{})
}
