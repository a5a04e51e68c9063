package node

import (
	"math"

	"github.com/skiffdb/skiff/internal/glob"
)

// scanCollection is the walk shared by HSCAN, SSCAN and ZSCAN. A compact
// encoding (listpack, intset) is returned whole in one call with cursor
// 0, as Redis does. A hash table is walked bucket by bucket from cursor
// until at least count elements were seen or ten buckets per element
// asked for were visited, so a sparse table cannot make one call walk it
// all. Elements whose name does not match the MATCH pattern are dropped
// after the walk, as in Redis (COUNT bounds work, not the reply).
func scanCollection[T any](compact bool, cursor uint64, o scanOptions, step func(cursor uint64, emit func(T)) uint64, name func(T) string) ([]T, uint64) {
	var out []T
	emit := func(x T) { out = append(out, x) }
	if compact {
		cursor = step(0, emit)
	} else {
		for maxIter := scanMaxIter(o.count); ; maxIter-- {
			cursor = step(cursor, emit)
			if cursor == 0 || maxIter <= 1 || int64(len(out)) >= o.count {
				break
			}
		}
	}
	if o.matchAll {
		return out, cursor
	}
	n := 0
	for _, x := range out {
		if glob.Match(o.pattern, name(x), false) {
			out[n] = x
			n++
		}
	}
	return out[:n], cursor
}

// scanMaxIter is ten bucket steps per element asked for.
func scanMaxIter(count int64) int64 {
	if count > math.MaxInt64/10 {
		return math.MaxInt64
	}
	return count * 10
}

func replyEmptyScan(c *Client) {
	c.w.AppendArray(2)
	c.replyBulkString("0")
	c.w.AppendArray(0)
}
