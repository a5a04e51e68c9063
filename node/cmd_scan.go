package node

import (
	"math"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/internal/glob"
	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "scan", Arity: -2, Flags: "readonly", Group: "generic", Since: "2.8.0", Summary: "Incrementally iterate the keys space", Complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", ACL: []string{"keyspace"}, Handler: cmdScan},
	)
}

const errInvalidCursor = "ERR invalid cursor"

// parseScanCursor reads a SCAN-family cursor the way Redis's strtoul-based
// parser does: an optional sign, decimal digits, nothing else, within 64
// bits (a '-' wraps around as in C). The empty string is cursor 0. It
// replies "invalid cursor" on failure.
func parseScanCursor(c *Client, b []byte) (uint64, bool) {
	cur, ok := scanCursorValue(b)
	if !ok {
		c.replyError(errInvalidCursor)
	}
	return cur, ok
}

func scanCursorValue(b []byte) (uint64, bool) {
	if len(b) == 0 {
		return 0, true
	}
	i := 0
	neg := false
	if b[0] == '+' || b[0] == '-' {
		neg = b[0] == '-'
		i = 1
	}
	if i == len(b) {
		return 0, false
	}
	var v uint64
	for ; i < len(b); i++ {
		d := b[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		if v > (math.MaxUint64-uint64(d-'0'))/10 {
			return 0, false
		}
		v = v*10 + uint64(d-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanOptions are SCAN's MATCH, COUNT and TYPE.
type scanOptions struct {
	count    int64
	pattern  string
	matchAll bool
	typ      string // "" when not filtering on type
}

// parseScanOptions reads the options after the cursor. withType allows
// TYPE (only SCAN over the keyspace has it).
func parseScanOptions(c *Client, args [][]byte, withType bool) (scanOptions, bool) {
	o := scanOptions{count: 10, matchAll: true}
	for i := 0; i < len(args); i += 2 {
		more := i+1 < len(args)
		switch {
		case eqFold(args[i], "count") && more:
			n, ok := parseInt(args[i+1])
			if !ok {
				c.replyError(errNotInt)
				return o, false
			}
			if n < 1 {
				c.replySyntax()
				return o, false
			}
			o.count = n
		case eqFold(args[i], "match") && more:
			o.pattern = string(args[i+1])
			o.matchAll = o.pattern == "*"
		case withType && eqFold(args[i], "type") && more:
			o.typ = string(args[i+1])
		default:
			c.replySyntax()
			return o, false
		}
	}
	return o, true
}

func cmdScan(c *Client, args [][]byte) {
	cursor, ok := parseScanCursor(c, args[1])
	if !ok {
		return
	}
	o, ok := parseScanOptions(c, args[2:], true)
	if !ok {
		return
	}
	// Visit at most ten buckets per element asked for, so that a sparse
	// table cannot make one call walk it all.
	maxIter := int64(math.MaxInt64)
	if o.count <= math.MaxInt64/10 {
		maxIter = o.count * 10
	}
	var keys []string
	d := c.db.Dict()
	for {
		cursor = d.Scan(cursor, func(e *store.Entry) { keys = append(keys, e.Key) })
		maxIter--
		if cursor == 0 || maxIter <= 0 || int64(len(keys)) >= o.count {
			break
		}
	}
	// Filter after the walk: reclaiming an expired key changes the dict,
	// which must not happen while Scan holds a bucket.
	out := keys[:0]
	for _, k := range keys {
		if !o.matchAll && !glob.Match(o.pattern, k, false) {
			continue
		}
		if o.typ != "" {
			// The type lookup reclaims an expired key, after which Redis's
			// expiry filter no longer sees it: so "TYPE none" lists keys
			// that have just expired. Kept for compatibility.
			e := c.lookupReadNoTouch([]byte(k), false)
			name := "none"
			if e != nil {
				name = e.Val.Type.String()
			}
			if !strings.EqualFold(o.typ, name) {
				continue
			}
		} else if c.db.Lookup([]byte(k), c.now) == nil {
			continue
		}
		out = append(out, k)
	}
	c.w.AppendArray(2)
	c.w.AppendBulk(strconv.AppendUint(c.scratch[:0], cursor, 10))
	c.w.AppendArray(len(out))
	for _, k := range out {
		c.w.AppendBulkString(k)
	}
}
