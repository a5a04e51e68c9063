package node

import (
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/store"
)

func init() {
	const (
		logN   = "O(log(N))"
		rangeC = "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."
		setop  = "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."
	)
	z := func(name string, arity int, flags string, first, last, step int, since, summary, cx string, h Handler) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, FirstKey: first, LastKey: last, Step: step, Group: "sorted-set", Since: since, Summary: summary, Complexity: cx, Handler: h}
	}
	register(
		z("zadd", -4, "write denyoom fast", 1, 1, 1, "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", cmdZadd),
		z("zincrby", 4, "write denyoom fast", 1, 1, 1, "1.2.0", "Increments the score of a member in a sorted set.", logN, cmdZincrby),
		z("zrem", -3, "write fast", 1, 1, 1, "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", cmdZrem),
		z("zcard", 2, "readonly fast", 1, 1, 1, "1.2.0", "Returns the number of members in a sorted set.", "O(1)", cmdZcard),
		z("zcount", 4, "readonly fast", 1, 1, 1, "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", logN, cmdZcount),
		z("zlexcount", 4, "readonly fast", 1, 1, 1, "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", logN, cmdZlexcount),
		z("zscore", 3, "readonly fast", 1, 1, 1, "1.2.0", "Returns the score of a member in a sorted set.", "O(1)", cmdZscore),
		z("zmscore", -3, "readonly fast", 1, 1, 1, "6.2.0", "Returns the score of one or more members in a sorted set.", "O(N) where N is the number of members being requested.", cmdZmscore),
		z("zrank", 3, "readonly fast", 1, 1, 1, "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", logN, cmdZrank),
		z("zrevrank", 3, "readonly fast", 1, 1, 1, "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", logN, cmdZrevrank),
		z("zrange", -4, "readonly", 1, 1, 1, "1.2.0", "Returns members in a sorted set within a range of indexes.", rangeC, cmdZrange),
		z("zrangestore", -5, "write denyoom", 1, 2, 1, "6.2.0", "Stores a range of members from sorted set in a key.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", cmdZrangestore),
		z("zrevrange", -4, "readonly", 1, 1, 1, "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", rangeC, cmdZrevrange),
		z("zrangebyscore", -4, "readonly", 1, 1, 1, "1.0.5", "Returns members in a sorted set within a range of scores.", rangeC, cmdZrangebyscore),
		z("zrevrangebyscore", -4, "readonly", 1, 1, 1, "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", rangeC, cmdZrevrangebyscore),
		z("zrangebylex", -4, "readonly", 1, 1, 1, "2.8.9", "Returns members in a sorted set within a lexicographical range.", rangeC, cmdZrangebylex),
		z("zrevrangebylex", -4, "readonly", 1, 1, 1, "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", rangeC, cmdZrevrangebylex),
		z("zremrangebyrank", 4, "write", 1, 1, 1, "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", cmdZremrangebyrank),
		z("zremrangebyscore", 4, "write", 1, 1, 1, "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", cmdZremrangebyscore),
		z("zremrangebylex", 4, "write", 1, 1, 1, "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", cmdZremrangebylex),
		z("zpopmin", -2, "write fast", 1, 1, 1, "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", cmdZpopmin),
		z("zpopmax", -2, "write fast", 1, 1, 1, "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", cmdZpopmax),
		z("zmpop", -4, "write", 0, 0, 0, "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", cmdZmpop),
		z("zunion", -3, "readonly", 0, 0, 0, "6.2.0", "Returns the union of multiple sorted sets.", setop, cmdZunion),
		z("zinter", -3, "readonly", 0, 0, 0, "6.2.0", "Returns the intersect of multiple sorted sets.", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", cmdZinter),
		z("zdiff", -3, "readonly", 0, 0, 0, "6.2.0", "Returns the difference between multiple sorted sets.", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", cmdZdiff),
		z("zunionstore", -4, "write denyoom", 1, 1, 1, "2.0.0", "Stores the union of multiple sorted sets in a key.", setop, cmdZunionstore),
		z("zinterstore", -4, "write denyoom", 1, 1, 1, "2.0.0", "Stores the intersect of multiple sorted sets in a key.", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", cmdZinterstore),
		z("zdiffstore", -4, "write denyoom", 1, 1, 1, "6.2.0", "Stores the difference of multiple sorted sets in a key.", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", cmdZdiffstore),
		z("zintercard", -3, "readonly", 0, 0, 0, "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", cmdZintercard),
		z("zrandmember", -2, "readonly", 1, 1, 1, "6.2.0", "Returns one or more random members from a sorted set.", "O(N) where N is the number of members returned", cmdZrandmember),
		z("zscan", -3, "readonly", 1, 1, 1, "2.8.0", "Iterates over members and scores of a sorted set.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", cmdZscan),
	)
}

const (
	errZMinMaxFloat = "ERR min or max is not a float"
	errZMinMaxLex   = "ERR min or max not valid string range item"
	errZNaN         = "ERR resulting score is not a number (NaN)"
)

func (c *Client) zlimits() store.ZLimits {
	return store.ZLimits{
		Entries: int(c.srv.cfg.Int("zset-max-listpack-entries")),
		Value:   int(c.srv.cfg.Int("zset-max-listpack-value")),
	}
}

func asZSet(c *Client, e *store.Entry) (*store.ZSet, bool) {
	if e == nil {
		return nil, true
	}
	if e.Val.Type != store.TypeZSet {
		c.replyWrongType()
		return nil, false
	}
	return e.Val.Val.(*store.ZSet), true
}

func (c *Client) lookupZSetRead(key []byte) (*store.ZSet, bool) {
	return asZSet(c, c.lookupRead(key))
}

func (c *Client) lookupZSetWrite(key []byte) (*store.ZSet, bool) {
	return asZSet(c, c.lookupWrite(key))
}

// zsetGrown wakes clients blocked in BZPOPMIN/BZPOPMAX/BZMPOP on key.
func (c *Client) zsetGrown(key []byte) { c.srv.signalKeyReady(c.db, key) }

// parseDouble is Redis's string2d: a complete strtod parse with no
// leading space, not NaN, and no overflow or underflow.
func parseDouble(b []byte) (float64, bool) {
	if len(b) == 0 || isCSpace(b[0]) {
		return 0, false
	}
	v, ok := cStrtod(string(b))
	if !ok || math.IsNaN(v) {
		return 0, false
	}
	if math.IsInf(v, 0) && !hasInfWord(b) {
		return 0, false // overflow (ERANGE)
	}
	if v == 0 && hasNonzeroMantissa(b) {
		return 0, false // underflow to zero (ERANGE)
	}
	return v, true
}

func isCSpace(ch byte) bool {
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r'
}

func hasInfWord(b []byte) bool { return strings.Contains(strings.ToLower(string(b)), "inf") }

func hasNonzeroMantissa(b []byte) bool {
	s := strings.ToLower(string(b))
	hex := strings.Contains(s, "0x")
	if hex {
		s = s[strings.Index(s, "0x")+2:]
		if i := strings.IndexByte(s, 'p'); i >= 0 {
			s = s[:i]
		}
		return strings.ContainsAny(s, "123456789abcdef")
	}
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		s = s[:i]
	}
	return strings.ContainsAny(s, "123456789")
}

// cStrtod parses all of s as C's strtod would accept it (leading
// whitespace, inf/infinity/nan in any case, hex floats with or without an
// exponent). An empty string is 0, as strtod reports no trailing garbage
// for it. Overflow gives ±Inf like strtod's HUGE_VAL.
func cStrtod(s string) (float64, bool) {
	if s == "" {
		return 0, true
	}
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if t == "" || strings.ContainsRune(t, '_') {
		return 0, false
	}
	body := t
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	if len(body) > 1 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X') && !strings.ContainsAny(body, "pP") {
		if len(body) == 2 {
			return 0, false
		}
		t += "p0"
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

// zScoreRange is a parsed score interval: [min,max] with optional open ends.
type zScoreRange struct {
	min, max     float64
	minex, maxex bool
}

func parseScoreBound(b []byte) (v float64, ex bool, ok bool) {
	if len(b) > 0 && b[0] == '(' {
		ex = true
		b = b[1:]
	}
	v, ok = cStrtod(string(b))
	if !ok || math.IsNaN(v) {
		return 0, false, false
	}
	return v, ex, true
}

func parseScoreRange(min, max []byte) (r zScoreRange, ok bool) {
	if r.min, r.minex, ok = parseScoreBound(min); !ok {
		return r, false
	}
	r.max, r.maxex, ok = parseScoreBound(max)
	return r, ok
}

func (r *zScoreRange) gteMin(s float64, _ string) bool {
	if r.minex {
		return s > r.min
	}
	return s >= r.min
}

func (r *zScoreRange) lteMax(s float64, _ string) bool {
	if r.maxex {
		return s < r.max
	}
	return s <= r.max
}

// zLexBound is one end of a lex range; inf is -1 for "-" and +1 for "+".
type zLexBound struct {
	s   string
	ex  bool
	inf int
}

type zLexRange struct{ min, max zLexBound }

func parseLexBound(b []byte) (zLexBound, bool) {
	if len(b) == 0 {
		return zLexBound{}, false
	}
	switch b[0] {
	case '+', '-':
		if len(b) != 1 {
			return zLexBound{}, false
		}
		if b[0] == '+' {
			return zLexBound{ex: true, inf: 1}, true
		}
		return zLexBound{ex: true, inf: -1}, true
	case '(':
		return zLexBound{s: string(b[1:]), ex: true}, true
	case '[':
		return zLexBound{s: string(b[1:])}, true
	}
	return zLexBound{}, false
}

func parseLexRange(min, max []byte) (r zLexRange, ok bool) {
	if r.min, ok = parseLexBound(min); !ok {
		return r, false
	}
	r.max, ok = parseLexBound(max)
	return r, ok
}

// lexCmp compares a member with a bound, the infinities sorting outside
// every string.
func lexCmp(m string, b *zLexBound) int {
	if b.inf != 0 {
		return -b.inf
	}
	return strings.Compare(m, b.s)
}

func (r *zLexRange) gteMin(_ float64, m string) bool {
	if r.min.ex {
		return lexCmp(m, &r.min) > 0
	}
	return lexCmp(m, &r.min) >= 0
}

func (r *zLexRange) lteMax(_ float64, m string) bool {
	if r.max.ex {
		return lexCmp(m, &r.max) < 0
	}
	return lexCmp(m, &r.max) <= 0
}

// zRangeSpec is either a score or a lex range.
type zRangeSpec interface {
	gteMin(score float64, member string) bool
	lteMax(score float64, member string) bool
}

// firstInRange returns the rank of the first member (ascending) at or
// above the range's minimum, or -1. Listpacks are scanned from the head
// as Redis does, so even lex ranges over mixed scores match Redis.
func firstInRange(z *store.ZSet, r zRangeSpec) int {
	var i int
	if z.Encoding() == "listpack" {
		i = -1
		n := 0
		z.Ascend(0, func(m store.ZMember) bool {
			if r.gteMin(m.Score, m.Member) {
				i = n
				return false
			}
			n++
			return true
		})
		if i < 0 {
			return -1
		}
	} else {
		i = z.CountBefore(func(s float64, m string) bool { return !r.gteMin(s, m) })
		if i >= z.Len() {
			return -1
		}
	}
	m := z.At(i)
	if !r.lteMax(m.Score, m.Member) {
		return -1
	}
	return i
}

// lastInRange returns the rank of the last member at or below the range's
// maximum, or -1.
func lastInRange(z *store.ZSet, r zRangeSpec) int {
	var i int
	if z.Encoding() == "listpack" {
		i = -1
		n := z.Len() - 1
		z.Descend(n, func(m store.ZMember) bool {
			if r.lteMax(m.Score, m.Member) {
				i = n
				return false
			}
			n--
			return true
		})
		if i < 0 {
			return -1
		}
	} else {
		i = z.CountBefore(r.lteMax) - 1
		if i < 0 {
			return -1
		}
	}
	m := z.At(i)
	if !r.gteMin(m.Score, m.Member) {
		return -1
	}
	return i
}

// collectRange returns the members in range, in ascending order or
// (rev) descending, after skipping offset of them and returning at most
// limit (negative: no limit). A negative offset yields nothing, as in
// Redis.
func collectRange(z *store.ZSet, r zRangeSpec, rev bool, offset, limit int64) []store.ZMember {
	if offset > 0 && offset >= int64(z.Len()) {
		return nil
	}
	if offset < 0 {
		return nil
	}
	var out []store.ZMember
	visit := func(m store.ZMember) bool {
		if offset > 0 {
			offset--
			return true
		}
		if limit == 0 {
			return false
		}
		if rev {
			if !r.gteMin(m.Score, m.Member) {
				return false
			}
		} else if !r.lteMax(m.Score, m.Member) {
			return false
		}
		out = append(out, m)
		limit--
		return true
	}
	if rev {
		if i := lastInRange(z, r); i >= 0 {
			z.Descend(i, visit)
		}
	} else if i := firstInRange(z, r); i >= 0 {
		z.Ascend(i, visit)
	}
	return out
}

// replyZMembers writes members, with scores as a flat array in RESP2 and
// [member, score] pairs in RESP3.
func replyZMembers(c *Client, ms []store.ZMember, withScores bool) {
	if withScores && c.w.Proto == 2 {
		c.w.AppendArray(2 * len(ms))
	} else {
		c.w.AppendArray(len(ms))
	}
	for _, m := range ms {
		if withScores && c.w.Proto > 2 {
			c.w.AppendArray(2)
		}
		c.replyBulkString(m.Member)
		if withScores {
			c.w.AppendDouble(m.Score)
		}
	}
}

// ZADD flags.
const (
	zaddNX = 1 << iota
	zaddXX
	zaddGT
	zaddLT
	zaddIncr
	zaddCH
)

func cmdZadd(c *Client, args [][]byte)    { zaddGeneric(c, args, 0) }
func cmdZincrby(c *Client, args [][]byte) { zaddGeneric(c, args, zaddIncr) }

func zaddGeneric(c *Client, args [][]byte, flags int) {
	key := args[1]
	i := 2
	for ; i < len(args); i++ {
		a := args[i]
		switch {
		case eqFold(a, "nx"):
			flags |= zaddNX
		case eqFold(a, "xx"):
			flags |= zaddXX
		case eqFold(a, "ch"):
			flags |= zaddCH
		case eqFold(a, "incr"):
			flags |= zaddIncr
		case eqFold(a, "gt"):
			flags |= zaddGT
		case eqFold(a, "lt"):
			flags |= zaddLT
		default:
			goto parsed
		}
	}
parsed:
	elements := len(args) - i
	if elements%2 != 0 || elements == 0 {
		c.replySyntax()
		return
	}
	elements /= 2
	nx, xx, gt, lt, incr := flags&zaddNX != 0, flags&zaddXX != 0, flags&zaddGT != 0, flags&zaddLT != 0, flags&zaddIncr != 0
	if nx && xx {
		c.replyError("ERR XX and NX options at the same time are not compatible")
		return
	}
	if (gt && nx) || (lt && nx) || (gt && lt) {
		c.replyError("ERR GT, LT, and/or NX options at the same time are not compatible")
		return
	}
	if incr && elements > 1 {
		c.replyError("ERR INCR option supports a single increment-element pair")
		return
	}
	// Most ZADDs carry a few pairs: keep their scores off the heap.
	var scoreBuf [8]float64
	scores := scoreBuf[:0]
	if elements > len(scoreBuf) {
		scores = make([]float64, 0, elements)
	}
	scores = scores[:elements]
	for j := range scores {
		v, ok := parseDouble(args[i+2*j])
		if !ok {
			c.replyError(errNotFloat)
			return
		}
		scores[j] = v
	}
	z, ok := c.lookupZSetWrite(key)
	if !ok {
		return
	}
	added, updated, processed := 0, 0, 0
	var score float64
	defer func() {
		if added+updated > 0 {
			c.modified(key)
			c.srv.dirty += int64(added + updated - 1)
			ev := "zadd"
			if incr {
				ev = "zincr"
			}
			c.notify(notifyZSet, ev, key)
			if added > 0 {
				c.zsetGrown(key)
			}
		}
	}()
	if z == nil {
		if xx {
			zaddReply(c, incr, flags&zaddCH != 0, processed, score, added, updated)
			return
		}
		lim := c.zlimits()
		z = store.NewZSet(1, len(args[i+1]), lim)
		c.db.SetValue(key, store.Object{Type: store.TypeZSet, Val: z}, false)
	}
	lim := c.zlimits()
	for j := 0; j < elements; j++ {
		score = scores[j]
		member := args[i+2*j+1]
		cur, exists := z.Score(string(member))
		if exists {
			if nx {
				continue
			}
			if incr {
				score += cur
				if math.IsNaN(score) {
					c.replyError(errZNaN)
					return
				}
			}
			if (lt && score >= cur) || (gt && score <= cur) {
				continue
			}
			processed++
			if score != cur {
				z.Update(string(member), score)
				updated++
			}
		} else if !xx {
			z.Insert(string(member), score, lim)
			added++
			processed++
		}
	}
	zaddReply(c, incr, flags&zaddCH != 0, processed, score, added, updated)
}

func zaddReply(c *Client, incr, ch bool, processed int, score float64, added, updated int) {
	if incr {
		if processed > 0 {
			c.w.AppendDouble(score)
		} else {
			c.replyNull()
		}
		return
	}
	if ch {
		c.replyInt(int64(added + updated))
		return
	}
	c.replyInt(int64(added))
}

func cmdZrem(c *Client, args [][]byte) {
	key := args[1]
	z, ok := c.lookupZSetWrite(key)
	if !ok {
		return
	}
	if z == nil {
		c.replyInt(0)
		return
	}
	deleted := 0
	for _, m := range args[2:] {
		if z.Remove(string(m)) {
			deleted++
		}
		if z.Len() == 0 {
			break
		}
	}
	if deleted > 0 {
		c.notify(notifyZSet, "zrem", key)
		c.deleteEmptyKey(key, z.Len())
		c.modified(key)
		c.srv.dirty += int64(deleted - 1)
	}
	c.replyInt(int64(deleted))
}

func cmdZcard(c *Client, args [][]byte) {
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	if z == nil {
		c.replyInt(0)
		return
	}
	c.replyInt(int64(z.Len()))
}

func zcountGeneric(c *Client, key []byte, r zRangeSpec) {
	z, ok := c.lookupZSetRead(key)
	if !ok {
		return
	}
	if z == nil {
		c.replyInt(0)
		return
	}
	n := 0
	if i := firstInRange(z, r); i >= 0 {
		z.Ascend(i, func(m store.ZMember) bool {
			if !r.lteMax(m.Score, m.Member) {
				return false
			}
			n++
			return true
		})
	}
	c.replyInt(int64(n))
}

func cmdZcount(c *Client, args [][]byte) {
	r, ok := parseScoreRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxFloat)
		return
	}
	zcountGeneric(c, args[1], &r)
}

func cmdZlexcount(c *Client, args [][]byte) {
	r, ok := parseLexRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxLex)
		return
	}
	zcountGeneric(c, args[1], &r)
}

func cmdZscore(c *Client, args [][]byte) {
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	if z == nil {
		c.replyNull()
		return
	}
	if s, ok := z.Score(string(args[2])); ok {
		c.w.AppendDouble(s)
		return
	}
	c.replyNull()
}

func cmdZmscore(c *Client, args [][]byte) {
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	c.w.AppendArray(len(args) - 2)
	for _, m := range args[2:] {
		if z != nil {
			if s, ok := z.Score(string(m)); ok {
				c.w.AppendDouble(s)
				continue
			}
		}
		c.replyNull()
	}
}

func cmdZrank(c *Client, args [][]byte)    { zrankGeneric(c, args, false) }
func cmdZrevrank(c *Client, args [][]byte) { zrankGeneric(c, args, true) }

func zrankGeneric(c *Client, args [][]byte, rev bool) {
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	if z == nil {
		c.replyNull()
		return
	}
	r, ok := z.Rank(string(args[2]))
	if !ok {
		c.replyNull()
		return
	}
	if rev {
		r = z.Len() - 1 - r
	}
	c.replyInt(int64(r))
}

// ZRANGE family kinds.
const (
	zrAuto = iota
	zrRank
	zrScore
	zrLex
)

const (
	zdirAuto = iota
	zdirForward
	zdirReverse
)

func cmdZrange(c *Client, args [][]byte)    { zrangeGeneric(c, args, 1, nil, zrAuto, zdirAuto) }
func cmdZrevrange(c *Client, args [][]byte) { zrangeGeneric(c, args, 1, nil, zrRank, zdirReverse) }
func cmdZrangebyscore(c *Client, args [][]byte) {
	zrangeGeneric(c, args, 1, nil, zrScore, zdirForward)
}
func cmdZrevrangebyscore(c *Client, args [][]byte) {
	zrangeGeneric(c, args, 1, nil, zrScore, zdirReverse)
}
func cmdZrangebylex(c *Client, args [][]byte) { zrangeGeneric(c, args, 1, nil, zrLex, zdirForward) }
func cmdZrevrangebylex(c *Client, args [][]byte) {
	zrangeGeneric(c, args, 1, nil, zrLex, zdirReverse)
}
func cmdZrangestore(c *Client, args [][]byte) {
	zrangeGeneric(c, args, 2, args[1], zrAuto, zdirAuto)
}

// zrangeGeneric implements ZRANGE, ZRANGESTORE and the older
// Z[REV]RANGE[BYSCORE|BYLEX] forms. keyIdx is the source key's index;
// dst is the ZRANGESTORE destination (nil otherwise).
func zrangeGeneric(c *Client, args [][]byte, keyIdx int, dst []byte, kind, dir int) {
	key := args[keyIdx]
	minIdx, maxIdx := keyIdx+1, keyIdx+2
	withScores := false
	var offset int64
	limit := int64(-1)
	store_ := dst != nil
	for j := keyIdx + 3; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case !store_ && eqFold(a, "withscores"):
			withScores = true
		case eqFold(a, "limit") && left >= 2:
			var ok bool
			if offset, ok = parseInt(args[j+1]); !ok {
				c.replyError(errNotInt)
				return
			}
			if limit, ok = parseInt(args[j+2]); !ok {
				c.replyError(errNotInt)
				return
			}
			j += 2
		case dir == zdirAuto && eqFold(a, "rev"):
			dir = zdirReverse
		case kind == zrAuto && eqFold(a, "bylex"):
			kind = zrLex
		case kind == zrAuto && eqFold(a, "byscore"):
			kind = zrScore
		default:
			c.replySyntax()
			return
		}
	}
	if dir == zdirAuto {
		dir = zdirForward
	}
	if kind == zrAuto {
		kind = zrRank
	}
	if limit != -1 && kind == zrRank {
		c.replyError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
		return
	}
	if withScores && kind == zrLex {
		c.replyError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
		return
	}
	rev := dir == zdirReverse
	if rev && kind != zrRank {
		minIdx, maxIdx = maxIdx, minIdx
	}
	var start, end int64
	var spec zRangeSpec
	switch kind {
	case zrRank:
		var ok bool
		if start, ok = parseInt(args[minIdx]); !ok {
			c.replyError(errNotInt)
			return
		}
		if end, ok = parseInt(args[maxIdx]); !ok {
			c.replyError(errNotInt)
			return
		}
	case zrScore:
		r, ok := parseScoreRange(args[minIdx], args[maxIdx])
		if !ok {
			c.replyError(errZMinMaxFloat)
			return
		}
		spec = &r
	case zrLex:
		r, ok := parseLexRange(args[minIdx], args[maxIdx])
		if !ok {
			c.replyError(errZMinMaxLex)
			return
		}
		spec = &r
	}
	e := c.lookupRead(key)
	if e == nil {
		if store_ {
			zstoreResult(c, dst, nil, "zrangestore")
		} else {
			c.w.AppendArray(0)
		}
		return
	}
	z, ok := asZSet(c, e)
	if !ok {
		return
	}
	if kind == zrRank && !store_ {
		// The common ZRANGE key start stop: written straight from the set,
		// so that a read allocates nothing (garbage makes the collector
		// mark the whole keyspace again sooner).
		replyZRankRange(c, z, start, end, rev, withScores)
		return
	}
	var out []store.ZMember
	hint := 0
	if kind == zrRank {
		out = zrankRange(z, start, end, rev)
		hint = len(out)
	} else {
		out = collectRange(z, spec, rev, offset, limit)
	}
	if store_ {
		lim := c.zlimits()
		nz := store.NewZSet(hint, 0, lim)
		for _, m := range out {
			nz.Insert(m.Member, m.Score, lim)
		}
		zstoreResult(c, dst, nz, "zrangestore")
		return
	}
	replyZMembers(c, out, withScores)
}

// zrankBounds clamps Redis-style index range start..end (negative counts
// from the end) to a set of n members; ok is false when it is empty.
func zrankBounds(n, start, end int64) (int64, int64, bool) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= n {
		return 0, 0, false
	}
	if end >= n {
		end = n - 1
	}
	return start, end, true
}

// replyZRankRange replies the members of index range start..end as
// replyZMembers would, without collecting them first.
func replyZRankRange(c *Client, z *store.ZSet, start, end int64, rev, withScores bool) {
	n := int64(z.Len())
	start, end, ok := zrankBounds(n, start, end)
	if !ok {
		c.w.AppendArray(0)
		return
	}
	want := int(end - start + 1)
	if withScores && c.w.Proto == 2 {
		c.w.AppendArray(2 * want)
	} else {
		c.w.AppendArray(want)
	}
	sent := 0
	visit := func(m store.ZMember) bool {
		if withScores && c.w.Proto > 2 {
			c.w.AppendArray(2)
		}
		c.replyBulkString(m.Member)
		if withScores {
			c.w.AppendDouble(m.Score)
		}
		sent++
		return sent < want
	}
	if rev {
		z.Descend(int(n-1-start), visit)
	} else {
		z.Ascend(int(start), visit)
	}
}

// zrankRange returns members of Redis-style index range start..end
// (negative counts from the end), ascending or from the top when rev.
func zrankRange(z *store.ZSet, start, end int64, rev bool) []store.ZMember {
	n := int64(z.Len())
	start, end, ok := zrankBounds(n, start, end)
	if !ok {
		return nil
	}
	out := make([]store.ZMember, 0, end-start+1)
	want := int(end - start + 1)
	visit := func(m store.ZMember) bool {
		out = append(out, m)
		return len(out) < want
	}
	if rev {
		z.Descend(int(n-1-start), visit)
	} else {
		z.Ascend(int(start), visit)
	}
	return out
}

// zstoreResult makes dst hold z, or deletes dst when z is empty or nil,
// replying the resulting size.
func zstoreResult(c *Client, dst []byte, z *store.ZSet, event string) {
	if z != nil && z.Len() > 0 {
		c.db.SetValue(dst, store.Object{Type: store.TypeZSet, Val: z}, false)
		c.modified(dst)
		c.replyInt(int64(z.Len()))
		c.notify(notifyZSet, event, dst)
		c.zsetGrown(dst)
		return
	}
	c.replyInt(0)
	if c.srv.serverDelete(c.db, string(dst)) {
		c.modified(dst)
		c.notify(notifyGeneric, "del", dst)
	}
}

func cmdZremrangebyrank(c *Client, args [][]byte) {
	start, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	end, ok := parseInt(args[3])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	zremrange(c, args[1], "zremrangebyrank", func(z *store.ZSet) int {
		n := int64(z.Len())
		if start < 0 {
			start += n
		}
		if end < 0 {
			end += n
		}
		if start < 0 {
			start = 0
		}
		if start > end || start >= n {
			return 0
		}
		return len(z.RemoveRange(int(start), int(min(end, n-1))))
	})
}

func cmdZremrangebyscore(c *Client, args [][]byte) {
	r, ok := parseScoreRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxFloat)
		return
	}
	zremrange(c, args[1], "zremrangebyscore", func(z *store.ZSet) int { return zremSpec(z, &r) })
}

func cmdZremrangebylex(c *Client, args [][]byte) {
	r, ok := parseLexRange(args[2], args[3])
	if !ok {
		c.replyError(errZMinMaxLex)
		return
	}
	zremrange(c, args[1], "zremrangebylex", func(z *store.ZSet) int { return zremSpec(z, &r) })
}

func zremSpec(z *store.ZSet, r zRangeSpec) int {
	i := firstInRange(z, r)
	if i < 0 {
		return 0
	}
	j := i
	z.Ascend(i, func(m store.ZMember) bool {
		if !r.lteMax(m.Score, m.Member) {
			return false
		}
		j++
		return true
	})
	return len(z.RemoveRange(i, j-1))
}

func zremrange(c *Client, key []byte, event string, del func(*store.ZSet) int) {
	z, ok := c.lookupZSetWrite(key)
	if !ok {
		return
	}
	if z == nil {
		c.replyInt(0)
		return
	}
	n := del(z)
	if n > 0 {
		c.modified(key)
		c.srv.dirty += int64(n - 1)
		c.notify(notifyZSet, event, key)
		c.deleteEmptyKey(key, z.Len())
	}
	c.replyInt(int64(n))
}

func cmdZpopmin(c *Client, args [][]byte) { zpopMinMax(c, args, false) }
func cmdZpopmax(c *Client, args [][]byte) { zpopMinMax(c, args, true) }

func zpopMinMax(c *Client, args [][]byte, max bool) {
	if len(args) > 3 {
		c.replySyntax()
		return
	}
	count := int64(-1)
	if len(args) == 3 {
		var ok bool
		if count, ok = parsePositiveLong(c, args[2], ""); !ok {
			return
		}
	}
	zpopGeneric(c, args[1:2], max, false, count, c.w.Proto > 2 && count != -1, false)
}

// zpopGeneric pops from the first non-empty sorted set among keys (Redis's
// genericZpopCommand). emitKey adds the key to the reply (ZMPOP); nested
// makes [member, score] pairs; nilWhenEmpty replies a null array instead
// of an empty one when no key holds a set.
func zpopGeneric(c *Client, keys [][]byte, max, emitKey bool, count int64, nested, nilWhenEmpty bool) {
	var z *store.ZSet
	var key []byte
	for _, k := range keys {
		e := c.lookupWrite(k)
		if e == nil {
			continue
		}
		var ok bool
		if z, ok = asZSet(c, e); !ok {
			return
		}
		key = k
		break
	}
	if z == nil {
		if nilWhenEmpty {
			c.w.AppendNullArray()
		} else {
			c.w.AppendArray(0)
		}
		return
	}
	if count == 0 {
		c.w.AppendArray(0)
		return
	}
	if count == -1 {
		count = 1
	}
	n := int(min(count, int64(z.Len())))
	var popped []store.ZMember
	if max {
		popped = z.PopMax(n)
	} else {
		popped = z.PopMin(n)
	}
	switch {
	case !nested && !emitKey:
		c.w.AppendArray(2 * n)
	case nested && !emitKey:
		c.w.AppendArray(n)
	case !nested && emitKey:
		c.w.AppendArray(2*n + 1)
		c.replyBulk(key)
	default:
		c.w.AppendArray(2)
		c.replyBulk(key)
		c.w.AppendArray(n)
	}
	for _, m := range popped {
		if nested {
			c.w.AppendArray(2)
		}
		c.replyBulkString(m.Member)
		c.w.AppendDouble(m.Score)
	}
	ev := "zpopmin"
	if max {
		ev = "zpopmax"
	}
	c.notify(notifyZSet, ev, key)
	c.modified(key)
	c.srv.dirty += int64(n - 1)
	c.deleteEmptyKey(key, z.Len())
	if c.cmd != nil && c.cmd.Name == "zmpop" {
		name := "ZPOPMIN"
		if max {
			name = "ZPOPMAX"
		}
		c.propagateArgv = [][]byte{[]byte(name), copyBytes(key), strconv.AppendInt(nil, int64(n), 10)}
	}
}

func cmdZmpop(c *Client, args [][]byte) {
	keys, max, count, ok := parseZmpop(c, args, 1)
	if !ok {
		return
	}
	zpopGeneric(c, keys, max, true, count, true, true)
}

// parseZmpop reads "numkeys key... MIN|MAX [COUNT n]" starting at
// args[numkeysIdx] (exported for BZMPOP).
func parseZmpop(c *Client, args [][]byte, numkeysIdx int) (keys [][]byte, max bool, count int64, ok bool) {
	numkeys, ok := parseInt(args[numkeysIdx])
	if !ok || numkeys < 1 {
		c.replyError("ERR numkeys should be greater than 0")
		return nil, false, 0, false
	}
	whereIdx := int64(numkeysIdx) + numkeys + 1
	if whereIdx >= int64(len(args)) {
		c.replySyntax()
		return nil, false, 0, false
	}
	switch {
	case eqFold(args[whereIdx], "min"):
	case eqFold(args[whereIdx], "max"):
		max = true
	default:
		c.replySyntax()
		return nil, false, 0, false
	}
	count = -1
	for j := int(whereIdx) + 1; j < len(args); j++ {
		if count == -1 && eqFold(args[j], "count") && j+1 < len(args) {
			j++
			n, ok := parseInt(args[j])
			if !ok || n < 1 {
				c.replyError("ERR count should be greater than 0")
				return nil, false, 0, false
			}
			count = n
			continue
		}
		c.replySyntax()
		return nil, false, 0, false
	}
	if count == -1 {
		count = 1
	}
	return args[numkeysIdx+1 : whereIdx], max, count, true
}

// Set operations over sorted sets (and plain sets, whose members score 1).
const (
	zopUnion = iota
	zopInter
	zopDiff
)

const (
	aggSum = iota
	aggMin
	aggMax
)

type zsrc struct {
	z      *store.ZSet
	s      *store.Set
	weight float64
}

func (s *zsrc) len() int {
	switch {
	case s.z != nil:
		return s.z.Len()
	case s.s != nil:
		return s.s.Len()
	}
	return 0
}

func (s *zsrc) each(fn func(m string, score float64) bool) {
	switch {
	case s.z != nil:
		s.z.Ascend(0, func(m store.ZMember) bool { return fn(m.Member, m.Score) })
	case s.s != nil:
		s.s.Each(func(m string) bool { return fn(m, 1) })
	}
}

func (s *zsrc) find(m string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.Score(m)
	case s.s != nil:
		if s.s.HasString(m) {
			return 1, true
		}
	}
	return 0, false
}

func (s *zsrc) same(o *zsrc) bool {
	return (s.z != nil && s.z == o.z) || (s.s != nil && s.s == o.s)
}

func zaggregate(target *float64, v float64, agg int) {
	switch agg {
	case aggSum:
		*target += v
		if math.IsNaN(*target) {
			*target = 0
		}
	case aggMin:
		if v < *target {
			*target = v
		}
	case aggMax:
		if v > *target {
			*target = v
		}
	}
}

func cmdZunion(c *Client, args [][]byte)      { zsetOp(c, args, nil, 1, zopUnion, false) }
func cmdZinter(c *Client, args [][]byte)      { zsetOp(c, args, nil, 1, zopInter, false) }
func cmdZdiff(c *Client, args [][]byte)       { zsetOp(c, args, nil, 1, zopDiff, false) }
func cmdZintercard(c *Client, args [][]byte)  { zsetOp(c, args, nil, 1, zopInter, true) }
func cmdZunionstore(c *Client, args [][]byte) { zsetOp(c, args, args[1], 2, zopUnion, false) }
func cmdZinterstore(c *Client, args [][]byte) { zsetOp(c, args, args[1], 2, zopInter, false) }
func cmdZdiffstore(c *Client, args [][]byte)  { zsetOp(c, args, args[1], 2, zopDiff, false) }

func zsetOp(c *Client, args [][]byte, dst []byte, numIdx int, op int, cardOnly bool) {
	setnum, ok := parseInt(args[numIdx])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if setnum < 1 {
		c.replyErrorf("ERR at least 1 input key is needed for '%s' command", zcmdName(c, args))
		return
	}
	if setnum > int64(len(args)-(numIdx+1)) {
		c.replySyntax()
		return
	}
	src := make([]zsrc, setnum)
	j := numIdx + 1
	for i := range src {
		src[i].weight = 1
		e := c.lookupRead(args[j])
		j++
		if e == nil {
			continue
		}
		switch e.Val.Type {
		case store.TypeZSet:
			src[i].z = e.Val.Val.(*store.ZSet)
		case store.TypeSet:
			src[i].s = e.Val.Val.(*store.Set)
		default:
			c.replyWrongType()
			return
		}
	}
	agg := aggSum
	withScores := false
	var limit int64
	for remaining := len(args) - j; remaining > 0; remaining = len(args) - j {
		a := args[j]
		switch {
		case op != zopDiff && !cardOnly && remaining >= int(setnum)+1 && eqFold(a, "weights"):
			j++
			for i := range src {
				w, ok := parseDouble(args[j])
				if !ok {
					c.replyError("ERR weight value is not a float")
					return
				}
				src[i].weight = w
				j++
			}
		case op != zopDiff && !cardOnly && remaining >= 2 && eqFold(a, "aggregate"):
			switch b := args[j+1]; {
			case eqFold(b, "sum"):
				agg = aggSum
			case eqFold(b, "min"):
				agg = aggMin
			case eqFold(b, "max"):
				agg = aggMax
			default:
				c.replySyntax()
				return
			}
			j += 2
		case dst == nil && !cardOnly && eqFold(a, "withscores"):
			withScores = true
			j++
		case cardOnly && remaining >= 2 && eqFold(a, "limit"):
			if limit, ok = parsePositiveLong(c, args[j+1], "LIMIT can't be negative"); !ok {
				return
			}
			j += 2
		default:
			c.replySyntax()
			return
		}
	}
	if op != zopDiff {
		sort.SliceStable(src, func(a, b int) bool { return src[a].len() < src[b].len() })
	}
	acc := map[string]float64{}
	var order []string
	var card int64
	switch op {
	case zopInter:
		if src[0].len() > 0 {
			src[0].each(func(m string, s float64) bool {
				score := src[0].weight * s
				if math.IsNaN(score) {
					score = 0
				}
				for i := 1; i < len(src); i++ {
					v, ok := s, true
					if !src[i].same(&src[0]) {
						v, ok = src[i].find(m)
					}
					if !ok {
						return true
					}
					zaggregate(&score, v*src[i].weight, agg)
				}
				if cardOnly {
					card++
					return limit == 0 || card < limit
				}
				acc[m] = score
				order = append(order, m)
				return true
			})
		}
	case zopUnion:
		for i := range src {
			src[i].each(func(m string, s float64) bool {
				score := src[i].weight * s
				if math.IsNaN(score) {
					score = 0
				}
				if cur, ok := acc[m]; ok {
					zaggregate(&cur, score, agg)
					acc[m] = cur
				} else {
					acc[m] = score
					order = append(order, m)
				}
				return true
			})
		}
	case zopDiff:
		if src[0].len() > 0 {
			src[0].each(func(m string, s float64) bool {
				for i := 1; i < len(src); i++ {
					if src[i].same(&src[0]) {
						return true
					}
					if _, ok := src[i].find(m); ok {
						return true
					}
				}
				acc[m] = s
				order = append(order, m)
				return true
			})
		}
	}
	if cardOnly {
		c.replyInt(card)
		return
	}
	out := make([]store.ZMember, 0, len(order))
	maxLen := 0
	for _, m := range order {
		out = append(out, store.ZMember{Member: m, Score: acc[m]})
		maxLen = max(maxLen, len(m))
	}
	sort.Slice(out, func(a, b int) bool {
		return out[a].Score < out[b].Score || (out[a].Score == out[b].Score && out[a].Member < out[b].Member)
	})
	if dst != nil {
		lim := c.zlimits()
		// Redis builds the result as a skiplist and converts it to a
		// listpack when it fits.
		nz := store.NewZSet(math.MaxInt, 0, store.ZLimits{})
		for _, m := range out {
			nz.Insert(m.Member, m.Score, lim)
		}
		nz.Compact(lim)
		ev := [...]string{"zunionstore", "zinterstore", "zdiffstore"}[op]
		zstoreResult(c, dst, nz, ev)
		return
	}
	replyZMembers(c, out, withScores)
}

// zcmdName is the command's name as Redis's fullname reports it.
func zcmdName(c *Client, args [][]byte) string {
	if c.cmd != nil {
		return c.cmd.FullName()
	}
	return strings.ToLower(string(args[0]))
}

func cmdZrandmember(c *Client, args [][]byte) {
	if len(args) == 2 {
		z, ok := c.lookupZSetRead(args[1])
		if !ok {
			return
		}
		if z == nil {
			c.replyNull()
			return
		}
		c.replyBulkString(z.Random().Member)
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
	withScores := false
	if len(args) > 4 || (len(args) == 4 && !eqFold(args[3], "withscores")) {
		c.replySyntax()
		return
	}
	if len(args) == 4 {
		withScores = true
		if l < -math.MaxInt64/2 || l > math.MaxInt64/2 {
			c.replyError("ERR value is out of range")
			return
		}
	}
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	if z == nil || l == 0 {
		c.w.AppendArray(0)
		return
	}
	count, uniq := l, true
	if l < 0 {
		count, uniq = -l, false
	}
	size := int64(z.Len())
	var out []store.ZMember
	switch {
	case !uniq || count == 1:
		replyZRandom(c, z, count, withScores)
		return
	case count >= size:
		out = z.Members()
	case count*3 > size:
		out = z.Members()
		for int64(len(out)) > count {
			i := rand.IntN(len(out))
			out[i] = out[len(out)-1]
			out = out[:len(out)-1]
		}
	default:
		seen := make(map[string]struct{}, count)
		for int64(len(out)) < count {
			m := z.Random()
			if _, dup := seen[m.Member]; !dup {
				seen[m.Member] = struct{}{}
				out = append(out, m)
			}
		}
	}
	replyZMembers(c, out, withScores)
}

// replyZRandom streams count members drawn with repetition, without
// materialising them (the count may be large).
func replyZRandom(c *Client, z *store.ZSet, count int64, withScores bool) {
	if withScores && c.w.Proto == 2 {
		c.w.AppendArray(int(count * 2))
	} else {
		c.w.AppendArray(int(count))
	}
	for ; count > 0; count-- {
		m := z.Random()
		if withScores && c.w.Proto > 2 {
			c.w.AppendArray(2)
		}
		c.replyBulkString(m.Member)
		if withScores {
			c.w.AppendDouble(m.Score)
		}
	}
}

func cmdZscan(c *Client, args [][]byte) {
	cursor, ok := parseScanCursor(c, args[2])
	if !ok {
		return
	}
	// Redis looks the key up before it parses the options.
	z, ok := c.lookupZSetRead(args[1])
	if !ok {
		return
	}
	if z == nil {
		replyEmptyScan(c)
		return
	}
	o, ok := parseScanOptions(c, args[3:], false)
	if !ok {
		return
	}
	out, cursor := scanCollection(z.Encoding() == "listpack", cursor, o, z.Scan, func(m store.ZMember) string { return m.Member })
	n := len(out)
	c.w.AppendArray(2)
	c.replyBulkString(strconv.FormatUint(cursor, 10))
	c.w.AppendArray(2 * n)
	var buf [40]byte
	for _, m := range out[:n] {
		c.replyBulkString(m.Member)
		c.replyBulk(resp.FormatDouble(buf[:0], m.Score))
	}
}
