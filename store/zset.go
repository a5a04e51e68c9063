package store

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// ZMember is one sorted-set element.
type ZMember struct {
	Member string
	Score  float64
}

// zless is the sorted-set order: by score, then by member bytes.
func zless(s1 float64, m1 string, s2 float64, m2 string) bool {
	return s1 < s2 || (s1 == s2 && m1 < m2)
}

// ZLimits are the zset-max-listpack-entries/value thresholds under which a
// sorted set stays in its compact encoding.
type ZLimits struct {
	Entries int
	Value   int
}

// DefaultZLimits are Redis's defaults.
var DefaultZLimits = ZLimits{Entries: 128, Value: 64}

// ZSet is a Redis sorted set. Small sets are "listpack": members packed
// in (score, member) order into one byte slice, compact and
// cache-friendly. Larger ones are "skiplist": a skiplist with spans
// (O(log n) rank and range start) plus a Dict from member to score (O(1)
// ZSCORE, SCAN cursor guarantees).
//
// The packed form is, per member: the score's 8 bytes (float64 bits,
// little-endian), uvarint(len(member)), the member. A set of ten short
// members is one allocation of about 180 bytes instead of a 16-slot
// slice of ZMember and ten strings (about 460 bytes; docs/memory.md
// "Where RSS goes"). Members handed out are strings over lp's bytes,
// without a copy, so those bytes never change once written: a member
// that sorts last is appended past everything handed out, and any other
// change builds a new slice (as Hash does, hash.go).
type ZSet struct {
	lp   []byte
	n    int // members in lp
	sl   *skiplist
	dict *Dict[float64]
}

// NewZSet returns an empty sorted set in the encoding Redis picks for a
// set created with the given size and longest-member hints.
func NewZSet(sizeHint, maxMemberLen int, lim ZLimits) *ZSet {
	if lim.Entries == 0 || sizeHint > lim.Entries || maxMemberLen > lim.Value {
		return &ZSet{sl: newSkiplist(), dict: NewDict[float64]()}
	}
	return &ZSet{}
}

// Len is the number of members.
func (z *ZSet) Len() int {
	if z.sl != nil {
		return z.sl.length
	}
	return z.n
}

// Encoding is "listpack" or "skiplist".
func (z *ZSet) Encoding() string {
	if z.sl != nil {
		return "skiplist"
	}
	return "listpack"
}

// Clone returns a deep copy.
func (z *ZSet) Clone() Collection {
	if z.sl == nil {
		// Shared bytes, capped: see Hash.Clone.
		return &ZSet{lp: z.lp[:len(z.lp):len(z.lp)], n: z.n}
	}
	n := &ZSet{sl: newSkiplist(), dict: NewDict[float64]()}
	for x := z.sl.header.level[0].forward; x != nil; x = x.level[0].forward {
		n.sl.insert(x.score, x.member)
		e, _ := n.dict.Upsert(x.member)
		e.Val = x.score
	}
	return n
}

// MemoryUsage estimates the bytes the sorted set occupies.
func (z *ZSet) MemoryUsage() int64 {
	if z.sl == nil {
		return 48 + allocSize(cap(z.lp))
	}
	total := int64(z.dict.Buckets())*8 + 96
	var sampled int64
	k := 0
	for x := z.sl.header.level[0].forward; x != nil && k < memSamples; x = x.level[0].forward {
		sampled += int64(len(x.member)) + 48 + int64(len(x.level))*16 + 40
		k++
	}
	return total + extrapolate(sampled, k, z.sl.length)
}

// zlpAt decodes the packed member at off and returns it with the offset
// of the next one.
func zlpAt(lp []byte, off int) (ZMember, int) {
	score := math.Float64frombits(binary.LittleEndian.Uint64(lp[off:]))
	member, next := lpString(lp, off+8)
	return ZMember{member, score}, next
}

// zlpAppend appends one packed member to dst.
func zlpAppend(dst []byte, member string, score float64) []byte {
	dst = lpGrow(dst, 8+uvarintLen(uint64(len(member)))+len(member))
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(score))
	dst = binary.AppendUvarint(dst, uint64(len(member)))
	return append(dst, member...)
}

// lpEach calls fn with every packed member's rank and offset, in rank
// order, until fn returns false.
func (z *ZSet) lpEach(fn func(i, off int, m ZMember) bool) {
	for i, off := 0, 0; off < len(z.lp); i++ {
		m, next := zlpAt(z.lp, off)
		if !fn(i, off, m) {
			return
		}
		off = next
	}
}

// lpFind returns member's rank and the offsets of its packed entry and
// of the next one, or rank -1.
func (z *ZSet) lpFind(member string) (rank, start, end int) {
	rank, start, end = -1, -1, -1
	z.lpEach(func(i, off int, m ZMember) bool {
		if m.Member != member {
			return true
		}
		rank, start = i, off
		_, end = zlpAt(z.lp, off)
		return false
	})
	return rank, start, end
}

// lpOffset returns the offset of the member at rank r (len(lp) for r ==
// n).
func (z *ZSet) lpOffset(r int) int {
	off := len(z.lp)
	z.lpEach(func(i, o int, _ ZMember) bool {
		if i == r {
			off = o
			return false
		}
		return true
	})
	return off
}

// lpCut removes the packed bytes [start, end), holding count members,
// into a new slice.
func (z *ZSet) lpCut(start, end, count int) {
	z.n -= count
	if z.n == 0 {
		z.lp = nil
		return
	}
	// A new slice: appending over the removed bytes would change
	// members already handed out.
	lp := make([]byte, 0, len(z.lp)-(end-start))
	lp = append(lp, z.lp[:start]...)
	z.lp = append(lp, z.lp[end:]...)
}

func (z *ZSet) lpInsert(member string, score float64) {
	score = lpScore(score)
	at := len(z.lp)
	z.lpEach(func(_, off int, m ZMember) bool {
		if zless(score, member, m.Score, m.Member) {
			at = off
			return false
		}
		return true
	})
	z.n++
	if at == len(z.lp) {
		z.lp = zlpAppend(z.lp, member, score)
		return
	}
	lp := make([]byte, 0, len(z.lp)+8+binary.MaxVarintLen64+len(member))
	lp = append(lp, z.lp[:at]...)
	lp = zlpAppend(lp, member, score)
	z.lp = append(lp, z.lp[at:]...)
}

// lpScore is the score as a listpack keeps it: Redis stores integral
// scores as integers there, which drops the sign of -0.
func lpScore(s float64) float64 {
	if s == 0 {
		return 0
	}
	return s
}

// toSkiplist converts the listpack encoding to skiplist.
func (z *ZSet) toSkiplist() {
	z.sl, z.dict = newSkiplist(), NewDict[float64]()
	z.lpEach(func(_, _ int, m ZMember) bool {
		// A copy: a substring would keep the packed slice alive.
		member := strings.Clone(m.Member)
		z.sl.insert(m.Score, member)
		e, _ := z.dict.Upsert(member)
		e.Val = m.Score
		return true
	})
	z.lp, z.n = nil, 0
}

// Compact converts a skiplist set back to listpack when it fits the
// limits, as Redis does for sets built by the STORE commands.
func (z *ZSet) Compact(lim ZLimits) {
	if z.sl == nil || z.sl.length > lim.Entries {
		return
	}
	size := 0
	for x := z.sl.header.level[0].forward; x != nil; x = x.level[0].forward {
		if len(x.member) > lim.Value {
			return
		}
		size += 8 + binary.MaxVarintLen64 + len(x.member)
	}
	lp := make([]byte, 0, size)
	for x := z.sl.header.level[0].forward; x != nil; x = x.level[0].forward {
		lp = zlpAppend(lp, x.member, lpScore(x.score))
	}
	z.lp, z.n, z.sl, z.dict = lp, z.sl.length, nil, nil
}

// Score returns member's score.
func (z *ZSet) Score(member string) (float64, bool) {
	if z.sl != nil {
		e := z.dict.Find(member)
		if e == nil {
			return 0, false
		}
		return e.Val, true
	}
	if r, start, _ := z.lpFind(member); r >= 0 {
		m, _ := zlpAt(z.lp, start)
		return m.Score, true
	}
	return 0, false
}

// Insert adds a member that is not present yet. The set becomes a
// skiplist when it would outgrow lim.
func (z *ZSet) Insert(member string, score float64, lim ZLimits) {
	if z.sl == nil {
		if z.n+1 > lim.Entries || len(member) > lim.Value {
			z.toSkiplist()
		} else {
			z.lpInsert(member, score)
			return
		}
	}
	z.sl.insert(score, member)
	e, _ := z.dict.Upsert(member)
	e.Val = score
}

// Update changes the score of a present member.
func (z *ZSet) Update(member string, score float64) {
	if z.sl == nil {
		r, start, end := z.lpFind(member)
		if r < 0 {
			return
		}
		z.lpCut(start, end, 1)
		z.lpInsert(member, score)
		return
	}
	e := z.dict.Find(member)
	if e == nil {
		return
	}
	z.sl.updateScore(e.Val, member, score)
	e.Val = score
}

// Remove deletes member and reports whether it was present.
func (z *ZSet) Remove(member string) bool {
	if z.sl == nil {
		r, start, end := z.lpFind(member)
		if r < 0 {
			return false
		}
		z.lpCut(start, end, 1)
		return true
	}
	e := z.dict.Delete(member)
	if e == nil {
		return false
	}
	z.sl.delete(e.Val, member)
	z.dict.ShrinkIfNeeded()
	return true
}

// Rank returns member's 0-based rank in ascending order.
func (z *ZSet) Rank(member string) (int, bool) {
	if z.sl == nil {
		// Packed in rank order: the position is the rank.
		r, _, _ := z.lpFind(member)
		return r, r >= 0
	}
	e := z.dict.Find(member)
	if e == nil {
		return 0, false
	}
	return z.sl.rank(e.Val, member) - 1, true
}

// At returns the member at 0-based ascending rank r (0 <= r < Len).
func (z *ZSet) At(r int) ZMember {
	if z.sl == nil {
		m, _ := zlpAt(z.lp, z.lpOffset(r))
		return m
	}
	x := z.sl.byRank(r + 1)
	return ZMember{x.member, x.score}
}

// CountBefore returns how many leading members (in ascending order)
// satisfy before, which must be true for a prefix of the order and false
// after it. Score and lex range bounds are expressed this way, so a range
// is the rank interval [CountBefore(below min), CountBefore(not above max)).
func (z *ZSet) CountBefore(before func(score float64, member string) bool) int {
	if z.sl == nil {
		n := z.n
		z.lpEach(func(i, _ int, m ZMember) bool {
			if !before(m.Score, m.Member) {
				n = i
				return false
			}
			return true
		})
		return n
	}
	return z.sl.countBefore(before)
}

// Ascend calls fn for members from 0-based rank from upwards until fn
// returns false or the set ends. fn must not modify the set.
func (z *ZSet) Ascend(from int, fn func(m ZMember) bool) {
	if from < 0 || from >= z.Len() {
		return
	}
	if z.sl == nil {
		z.lpEach(func(i, _ int, m ZMember) bool { return i < from || fn(m) })
		return
	}
	for x := z.sl.byRank(from + 1); x != nil; x = x.level[0].forward {
		if !fn(ZMember{x.member, x.score}) {
			return
		}
	}
}

// Descend calls fn for members from 0-based rank from downwards until fn
// returns false or rank 0 has been visited. fn must not modify the set.
func (z *ZSet) Descend(from int, fn func(m ZMember) bool) {
	if from < 0 || from >= z.Len() {
		return
	}
	if z.sl == nil {
		// The packed form reads forwards only: collect ranks 0..from.
		ms := make([]ZMember, 0, from+1)
		z.lpEach(func(i, _ int, m ZMember) bool {
			ms = append(ms, m)
			return i < from
		})
		for i := len(ms) - 1; i >= 0; i-- {
			if !fn(ms[i]) {
				return
			}
		}
		return
	}
	for x := z.sl.byRank(from + 1); x != nil && x != z.sl.header; x = x.backward {
		if !fn(ZMember{x.member, x.score}) {
			return
		}
	}
}

// RemoveRange deletes the members of 0-based ranks start..stop inclusive
// and returns them.
func (z *ZSet) RemoveRange(start, stop int) []ZMember {
	if start < 0 {
		start = 0
	}
	if stop >= z.Len() {
		stop = z.Len() - 1
	}
	if start > stop {
		return nil
	}
	out := make([]ZMember, 0, stop-start+1)
	if z.sl == nil {
		from, to := -1, len(z.lp)
		z.lpEach(func(i, off int, m ZMember) bool {
			if i == start {
				from = off
			}
			if i > stop {
				to = off
				return false
			}
			if i >= start {
				out = append(out, m)
			}
			return true
		})
		z.lpCut(from, to, len(out))
		return out
	}
	z.Ascend(start, func(m ZMember) bool {
		out = append(out, m)
		return len(out) < stop-start+1
	})
	for _, m := range out {
		z.sl.delete(m.Score, m.Member)
		z.dict.Delete(m.Member)
	}
	z.dict.ShrinkIfNeeded()
	return out
}

// PopMin removes and returns up to count members with the lowest scores,
// lowest first.
func (z *ZSet) PopMin(count int) []ZMember {
	if count <= 0 {
		return nil
	}
	return z.RemoveRange(0, min(count, z.Len())-1)
}

// PopMax removes and returns up to count members with the highest scores,
// highest first.
func (z *ZSet) PopMax(count int) []ZMember {
	n := z.Len()
	if count <= 0 || n == 0 {
		return nil
	}
	out := z.RemoveRange(n-min(count, n), n-1)
	slices.Reverse(out)
	return out
}

// Random returns a uniformly chosen member; the set must not be empty.
func (z *ZSet) Random() ZMember { return z.At(rand.IntN(z.Len())) }

// Members returns every member in ascending order.
func (z *ZSet) Members() []ZMember {
	out := make([]ZMember, 0, z.Len())
	z.Ascend(0, func(m ZMember) bool { out = append(out, m); return true })
	return out
}

// Scan is ZSCAN's step: a listpack is returned whole with cursor 0; a
// skiplist set is scanned through its dict's cursor.
func (z *ZSet) Scan(cursor uint64, fn func(m ZMember)) uint64 {
	if z.sl == nil {
		z.lpEach(func(_, _ int, m ZMember) bool { fn(m); return true })
		return 0
	}
	return z.dict.Scan(cursor, func(e *Node[float64]) { fn(ZMember{e.Key, e.Val}) })
}

// skiplist is Pugh's skiplist with per-link spans so that ranks are
// O(log n), ordered by (score, member), with backward links for reverse
// iteration — the structure Redis uses for large sorted sets.
type skiplist struct {
	header *zslNode
	tail   *zslNode
	length int
	level  int
}

type zslLevel struct {
	forward *zslNode
	span    int
}

type zslNode struct {
	member   string
	score    float64
	backward *zslNode
	level    []zslLevel
}

const (
	zslMaxLevel = 32
	zslP        = 0.25
)

func newSkiplist() *skiplist {
	return &skiplist{header: &zslNode{level: make([]zslLevel, zslMaxLevel)}, level: 1}
}

func zslRandomLevel() int {
	l := 1
	for l < zslMaxLevel && float64(rand.Uint32()&0xFFFF) < zslP*0xFFFF {
		l++
	}
	return l
}

func (sl *skiplist) insert(score float64, member string) *zslNode {
	n := newZslNode(zslRandomLevel())
	n.member, n.score = member, score
	sl.link(n)
	return n
}

// Node allocations with their levels inline, one per level count that a
// quarter-probability skiplist gives more than 99% of its nodes. A search
// reads a node's score, member and next link together, so one allocation
// means one cache miss per step instead of two (Redis's node has its
// level array inline for the same reason), and one allocation fewer per
// member.
type (
	zslNode1 struct {
		n zslNode
		l [1]zslLevel
	}
	zslNode2 struct {
		n zslNode
		l [2]zslLevel
	}
	zslNode3 struct {
		n zslNode
		l [3]zslLevel
	}
	zslNode4 struct {
		n zslNode
		l [4]zslLevel
	}
)

// newZslNode returns a node with lvl levels.
func newZslNode(lvl int) *zslNode {
	switch lvl {
	case 1:
		p := new(zslNode1)
		p.n.level = p.l[:]
		return &p.n
	case 2:
		p := new(zslNode2)
		p.n.level = p.l[:]
		return &p.n
	case 3:
		p := new(zslNode3)
		p.n.level = p.l[:]
		return &p.n
	case 4:
		p := new(zslNode4)
		p.n.level = p.l[:]
		return &p.n
	}
	return &zslNode{level: make([]zslLevel, lvl)}
}

// link inserts a node whose member, score and level slice are set.
func (sl *skiplist) link(n *zslNode) {
	score, member := n.score, n.member
	var update [zslMaxLevel]*zslNode
	var rank [zslMaxLevel]int
	x := sl.header
	for i := sl.level - 1; i >= 0; i-- {
		if i != sl.level-1 {
			rank[i] = rank[i+1]
		}
		for y := x.level[i].forward; y != nil && zless(y.score, y.member, score, member); y = x.level[i].forward {
			rank[i] += x.level[i].span
			x = y
		}
		update[i] = x
	}
	lvl := len(n.level)
	if lvl > sl.level {
		for i := sl.level; i < lvl; i++ {
			rank[i] = 0
			update[i] = sl.header
			update[i].level[i].span = sl.length
		}
		sl.level = lvl
	}
	n.backward = nil
	for i := 0; i < lvl; i++ {
		n.level[i].forward = update[i].level[i].forward
		update[i].level[i].forward = n
		n.level[i].span = update[i].level[i].span - (rank[0] - rank[i])
		update[i].level[i].span = rank[0] - rank[i] + 1
	}
	for i := lvl; i < sl.level; i++ {
		update[i].level[i].span++
	}
	if update[0] != sl.header {
		n.backward = update[0]
	}
	if n.level[0].forward != nil {
		n.level[0].forward.backward = n
	} else {
		sl.tail = n
	}
	sl.length++
}

func (sl *skiplist) unlink(x *zslNode, update *[zslMaxLevel]*zslNode) {
	for i := 0; i < sl.level; i++ {
		if update[i].level[i].forward == x {
			update[i].level[i].span += x.level[i].span - 1
			update[i].level[i].forward = x.level[i].forward
		} else {
			update[i].level[i].span--
		}
	}
	if x.level[0].forward != nil {
		x.level[0].forward.backward = x.backward
	} else {
		sl.tail = x.backward
	}
	for sl.level > 1 && sl.header.level[sl.level-1].forward == nil {
		sl.level--
	}
	sl.length--
}

func (sl *skiplist) delete(score float64, member string) bool {
	var update [zslMaxLevel]*zslNode
	x := sl.header
	for i := sl.level - 1; i >= 0; i-- {
		for y := x.level[i].forward; y != nil && zless(y.score, y.member, score, member); y = x.level[i].forward {
			x = y
		}
		update[i] = x
	}
	x = x.level[0].forward
	if x == nil || x.score != score || x.member != member {
		return false
	}
	sl.unlink(x, &update)
	return true
}

// updateScore moves a member to a new score, in place when its position
// does not change.
func (sl *skiplist) updateScore(cur float64, member string, score float64) {
	var update [zslMaxLevel]*zslNode
	x := sl.header
	for i := sl.level - 1; i >= 0; i-- {
		for y := x.level[i].forward; y != nil && zless(y.score, y.member, cur, member); y = x.level[i].forward {
			x = y
		}
		update[i] = x
	}
	x = x.level[0].forward
	if x == nil || x.score != cur || x.member != member {
		return
	}
	if (x.backward == nil || x.backward.score < score) &&
		(x.level[0].forward == nil || x.level[0].forward.score > score) {
		x.score = score
		return
	}
	// Reuse the node: unlink it and link it back at its new place.
	sl.unlink(x, &update)
	x.score = score
	sl.link(x)
}

// rank returns the 1-based rank of a present element (0 when absent).
func (sl *skiplist) rank(score float64, member string) int {
	r := 0
	x := sl.header
	for i := sl.level - 1; i >= 0; i-- {
		for y := x.level[i].forward; y != nil && (zless(y.score, y.member, score, member) || (y.score == score && y.member == member)); y = x.level[i].forward {
			r += x.level[i].span
			x = y
		}
		if x != sl.header && x.score == score && x.member == member {
			return r
		}
	}
	return 0
}

// byRank returns the element of 1-based rank r, or nil.
func (sl *skiplist) byRank(r int) *zslNode {
	t := 0
	x := sl.header
	for i := sl.level - 1; i >= 0; i-- {
		for x.level[i].forward != nil && t+x.level[i].span <= r {
			t += x.level[i].span
			x = x.level[i].forward
		}
		if t == r {
			return x
		}
	}
	return nil
}

func (sl *skiplist) countBefore(before func(float64, string) bool) int {
	r := 0
	x := sl.header
	for i := sl.level - 1; i >= 0; i-- {
		for y := x.level[i].forward; y != nil && before(y.score, y.member); y = x.level[i].forward {
			r += x.level[i].span
			x = y
		}
	}
	return r
}
