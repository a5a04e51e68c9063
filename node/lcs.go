package node

import (
	"github.com/skiffdb/skiff/store"
)

// lcsMatch is one contiguous common run: positions in a and in b
// (inclusive) and its length.
type lcsMatch struct {
	aStart, aEnd, bStart, bEnd uint32
}

// cmdLcs implements LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN].
func cmdLcs(c *Client, args [][]byte) {
	ea := c.lookupRead(args[1])
	eb := c.lookupRead(args[2])
	if (ea != nil && ea.Val.Type != store.TypeString) || (eb != nil && eb.Val.Type != store.TypeString) {
		c.replyError("ERR The specified keys must contain string values")
		return
	}
	var a, b []byte
	if ea != nil {
		a = ea.Val.Str
	}
	if eb != nil {
		b = eb.Val.Str
	}
	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(args); j++ {
		opt := args[j]
		switch {
		case eqFold(opt, "idx"):
			getIdx = true
		case eqFold(opt, "len"):
			getLen = true
		case eqFold(opt, "withmatchlen"):
			withMatchLen = true
		case eqFold(opt, "minmatchlen") && j+1 < len(args):
			n, ok := parseInt(args[j+1])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			minMatchLen = max(n, 0)
			j++
		default:
			c.replySyntax()
			return
		}
	}
	if getLen && getIdx {
		c.replyError("ERR If you want both the length and indexes, please just use IDX.")
		return
	}
	if uint64(len(a)) >= 1<<32-2 || uint64(len(b)) >= 1<<32-2 {
		c.replyError("ERR String too long for LCS")
		return
	}
	alen, blen := uint64(len(a)), uint64(len(b))
	cells := (alen + 1) * (blen + 1)
	if cells*4 > uint64(c.srv.protoMaxBulk.Load()) {
		c.replyError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
		return
	}
	// table[i*(blen+1)+j] is the LCS length of a[:i] and b[:j].
	w := blen + 1
	table := make([]uint32, cells)
	for i := uint64(1); i <= alen; i++ {
		row, prev := table[i*w:(i+1)*w], table[(i-1)*w:i*w]
		for j := uint64(1); j <= blen; j++ {
			switch {
			case a[i-1] == b[j-1]:
				row[j] = prev[j-1] + 1
			case prev[j] > row[j-1]:
				row[j] = prev[j]
			default:
				row[j] = row[j-1]
			}
		}
	}
	total := table[alen*w+blen]
	if getLen {
		c.replyInt(int64(total))
		return
	}

	// Walk back from the end, rebuilding the string and the runs (the
	// runs come out last first, as Redis reports them).
	result := make([]byte, total)
	var matches []lcsMatch
	idx := total
	i, j := uint32(alen), uint32(blen)
	var cur lcsMatch
	inRun := false
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if !inRun {
				cur = lcsMatch{i - 1, i - 1, j - 1, j - 1}
				inRun = true
			} else if cur.aStart == i && cur.bStart == j {
				cur.aStart--
				cur.bStart--
			} else {
				emit = true
			}
			if cur.aStart == 0 || cur.bStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if table[uint64(i-1)*w+uint64(j)] > table[uint64(i)*w+uint64(j-1)] {
				i--
			} else {
				j--
			}
			if inRun {
				emit = true
			}
		}
		if emit {
			if minMatchLen == 0 || int64(cur.aEnd-cur.aStart+1) >= minMatchLen {
				matches = append(matches, cur)
			}
			inRun = false
		}
	}
	if !getIdx {
		c.replyBulk(result)
		return
	}
	c.w.AppendMap(2)
	c.replyBulkString("matches")
	c.w.AppendArray(len(matches))
	for _, m := range matches {
		if withMatchLen {
			c.w.AppendArray(3)
		} else {
			c.w.AppendArray(2)
		}
		c.w.AppendArray(2)
		c.replyInt(int64(m.aStart))
		c.replyInt(int64(m.aEnd))
		c.w.AppendArray(2)
		c.replyInt(int64(m.bStart))
		c.replyInt(int64(m.bEnd))
		if withMatchLen {
			c.replyInt(int64(m.aEnd - m.aStart + 1))
		}
	}
	c.replyBulkString("len")
	c.replyInt(int64(total))
}
