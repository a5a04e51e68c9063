package stream

import (
	"errors"
	"sort"
)

// Entry flags, as Redis stores them in a node.
const (
	flagDeleted    = 1
	flagSameFields = 2
)

// maxListpackSize caps a node's bytes whatever stream-node-max-bytes says
// (Redis's STREAM_LISTPACK_MAX_SIZE), and an entry's total size.
const maxListpackSize = 1 << 30

// node is one radix tree node of Redis's stream: the master ID (the
// tree's key) and the listpack holding the master entry and the entries.
type node struct {
	master ID
	lp     []byte
}

// Stream is a stream value.
type Stream struct {
	// nodes in ID order: a lookup is a binary search on master IDs, an
	// append touches the last node only.
	nodes  []node
	length uint64

	LastID       ID     // the largest ID ever added (or set by XSETID)
	FirstID      ID     // the first live entry's ID; 0-0 when empty
	MaxDeletedID ID     // the largest ID removed by XDEL
	EntriesAdded uint64 // entries ever added

	groups []*Group // by name, in byte order (Redis keeps them in a rax)
}

// New returns an empty stream.
func New() *Stream { return &Stream{} }

// Len is the number of live entries.
func (s *Stream) Len() int { return int(s.length) }

// Length is Len as a uint64.
func (s *Stream) Length() uint64 { return s.length }

// Nodes is the number of nodes (XINFO's radix-tree-keys).
func (s *Stream) Nodes() int { return len(s.nodes) }

// Errors of Append.
var (
	ErrIDTooSmall = errors.New("The ID specified in XADD is equal or smaller than the target stream top item")
	ErrTooLarge   = errors.New("Elements are too large to be stored")
)

// NextID computes the ID XADD would give a new entry: given (when not
// nil) is the client's ID, with its sequence when seqGiven, else the
// time now in ms.
func (s *Stream) NextID(now int64, given *ID, seqGiven bool) (ID, error) {
	var id ID
	switch {
	case given != nil && seqGiven:
		id = *given
	case given != nil:
		if s.LastID.Ms == given.Ms {
			if s.LastID.Seq == MaxID.Seq {
				return ID{}, ErrTooLarge // Redis fails here with a stale errno
			}
			id = ID{given.Ms, s.LastID.Seq + 1}
		} else {
			id = ID{given.Ms, 0}
		}
	default:
		if uint64(now) > s.LastID.Ms {
			id = ID{uint64(now), 0}
		} else {
			id, _ = s.LastID.Incr()
		}
	}
	if id.Compare(s.LastID) <= 0 {
		return ID{}, ErrIDTooSmall
	}
	return id, nil
}

// nodeHeader reads a node's master entry: live and deleted counts, the
// offset of the master fields count, and the offset of the first entry.
type nodeHeader struct {
	count, deleted int64
	nfields        int64
	fieldsOff      int // first master field
	firstEntry     int
}

func readHeader(lp []byte) nodeHeader {
	var h nodeHeader
	p := lpFirst()
	h.count, p = lpInt(lp, p)
	h.deleted, p = lpInt(lp, p)
	h.nfields, p = lpInt(lp, p)
	h.fieldsOff = p
	for i := int64(0); i < h.nfields; i++ {
		p = lpSkip(lp, p)
	}
	p = lpSkip(lp, p) // the master entry's 0 terminator
	h.firstEntry = p
	return h
}

// Append adds an entry with the given ID (from NextID) and field/value
// pairs, starting a new node as Redis does when the last one reached
// maxBytes (stream-node-max-bytes) or maxEntries entries.
func (s *Stream) Append(id ID, fv [][]byte, maxBytes int64, maxEntries int64) error {
	total := 0
	for _, b := range fv {
		total += len(b)
	}
	if total > maxListpackSize {
		return ErrTooLarge
	}
	numfields := int64(len(fv) / 2)
	var n *node
	if len(s.nodes) > 0 {
		n = &s.nodes[len(s.nodes)-1]
		limit := maxBytes
		if limit <= 0 || limit > maxListpackSize {
			limit = maxListpackSize
		}
		full := int64(len(n.lp)+total) >= limit
		if !full && maxEntries > 0 {
			c, p := lpInt(n.lp, lpFirst())
			d, _ := lpInt(n.lp, p)
			full = c+d >= maxEntries
		}
		if full {
			// The node is closed: give back what was reserved and not
			// used (a copy once per node; the allocator's size classes
			// then waste a few percent at most).
			if cap(n.lp)-len(n.lp) > 64 {
				n.lp = append([]byte(nil), n.lp...)
			}
			n = nil
		}
	}
	flags := int64(0)
	if n == nil {
		// Reserve what the node will likely hold when full: entries like
		// this one (values only, with the master's fields) up to the
		// entry limit, within stream-node-max-bytes and 4 KiB (Redis
		// preallocates 4 KiB and shrinks the node when it closes; sizing
		// it from the first entry leaves less garbage behind).
		capHint := 4096
		if maxBytes > 0 && maxBytes < int64(capHint) {
			capHint = int(maxBytes)
		}
		perEntry := 8 // flags, ID deltas, lp-count with their back-lengths
		for i := 1; i < len(fv); i += 2 {
			perEntry += len(fv[i]) + 2
		}
		if maxEntries > 0 {
			fieldsLen := 16
			for i := 0; i < len(fv); i += 2 {
				fieldsLen += len(fv[i]) + 2
			}
			if est := int64(fieldsLen) + int64(perEntry)*maxEntries*9/8; est < int64(capHint) {
				capHint = int(est)
			}
		}
		lp := lpNew(capHint)
		lp = lpAppendInt(lp, 1)
		lp = lpAppendInt(lp, 0)
		lp = lpAppendInt(lp, numfields)
		for i := 0; i < len(fv); i += 2 {
			lp = lpAppendStr(lp, fv[i])
		}
		lp = lpAppendInt(lp, 0)
		s.nodes = append(s.nodes, node{master: id, lp: lp})
		n = &s.nodes[len(s.nodes)-1]
		flags = flagSameFields
	} else {
		h := readHeader(n.lp)
		n.lp = lpReplaceInt(n.lp, lpFirst(), h.count+1)
		if h.nfields == numfields {
			h = readHeader(n.lp)
			p := h.fieldsOff
			same := true
			for i := 0; i < len(fv); i += 2 {
				if !lpEqual(n.lp, p, fv[i]) {
					same = false
					break
				}
				p = lpSkip(n.lp, p)
			}
			if same {
				flags = flagSameFields
			}
		}
	}
	lp := n.lp[:len(n.lp)-1]
	added := 3
	lp = lpEncodeInteger(lp, flags)
	lp = lpEncodeInteger(lp, int64(id.Ms-n.master.Ms))
	lp = lpEncodeInteger(lp, int64(id.Seq-n.master.Seq))
	if flags&flagSameFields == 0 {
		lp = lpEncodeInteger(lp, numfields)
		added++
	}
	for i := 0; i < len(fv); i += 2 {
		if flags&flagSameFields == 0 {
			lp = lpEncode(lp, fv[i])
			added++
		}
		lp = lpEncode(lp, fv[i+1])
		added++
	}
	lp = lpEncodeInteger(lp, int64(added))
	lp = append(lp, lpEOF)
	lpSetHeader(lp, added+1)
	n.lp = lp
	s.length++
	s.EntriesAdded++
	s.LastID = id
	if s.length == 1 {
		s.FirstID = id
	}
	return nil
}

// seekNode returns the index of the last node whose master ID is <= id,
// or 0 when every node starts after id (-1 for no nodes).
func (s *Stream) seekNode(id ID) int {
	if len(s.nodes) == 0 {
		return -1
	}
	i := sort.Search(len(s.nodes), func(i int) bool { return id.Less(s.nodes[i].master) })
	if i == 0 {
		return 0
	}
	return i - 1
}

// Iterator walks live entries between two IDs (inclusive) in either
// direction. Entry data it returns stays valid until the next call that
// changes the stream.
type Iterator struct {
	s          *Stream
	start, end ID
	rev        bool
	ni         int // node index
	h          nodeHeader
	p          int // next entry's flags (forward) or the current one (rev)
	started    bool
	// current entry
	cur     ID
	flags   int64
	nfields int64
	fvOff   int // first field (or value with same fields)
	entryP  int // flags offset of the current entry
	buf     []byte
}

// Iter starts an iteration over [start, end].
func (s *Stream) Iter(start, end ID, rev bool) *Iterator {
	it := &Iterator{}
	it.Reset(s, start, end, rev)
	return it
}

// Reset reuses it for a new iteration.
func (it *Iterator) Reset(s *Stream, start, end ID, rev bool) {
	*it = Iterator{s: s, start: start, end: end, rev: rev, buf: it.buf[:0]}
	if rev {
		it.ni = s.seekNode(end)
	} else {
		it.ni = s.seekNode(start)
	}
}

// Next moves to the next live entry in range and returns its ID and
// number of fields; ok is false at the end.
func (it *Iterator) Next() (id ID, numFields int, ok bool) {
	s := it.s
	for it.ni >= 0 && it.ni < len(s.nodes) {
		n := &s.nodes[it.ni]
		if !it.started {
			it.h = readHeader(n.lp)
			it.started = true
			if it.rev {
				it.p = len(n.lp) - 1 // EOF: entries are found backwards from it
			} else {
				it.p = it.h.firstEntry
			}
		}
		lp := n.lp
		for {
			var fp int
			if it.rev {
				if it.p <= it.h.firstEntry {
					break
				}
				last := lpPrev(lp, it.p) // the entry's lp-count
				cnt, _ := lpInt(lp, last)
				fp = last
				for i := int64(0); i < cnt; i++ {
					fp = lpPrev(lp, fp)
				}
				it.p = fp
			} else {
				if lp[it.p] == lpEOF {
					break
				}
				fp = it.p
			}
			flags, q := lpInt(lp, fp)
			msd, q2 := lpInt(lp, q)
			seqd, q3 := lpInt(lp, q2)
			q = q3
			cur := ID{n.master.Ms + uint64(msd), n.master.Seq + uint64(seqd)}
			var nf int64
			if flags&flagSameFields != 0 {
				nf = it.h.nfields
			} else {
				nf, q = lpInt(lp, q)
			}
			if !it.rev {
				// skip to the next entry
				e := q
				k := nf
				if flags&flagSameFields == 0 {
					k *= 2
				}
				for i := int64(0); i < k; i++ {
					e = lpSkip(lp, e)
				}
				it.p = lpSkip(lp, e) // past lp-count
			}
			if flags&flagDeleted != 0 {
				continue
			}
			if it.rev {
				if cur.Compare(it.end) > 0 {
					continue
				}
				if cur.Compare(it.start) < 0 {
					it.ni = -1
					return ID{}, 0, false
				}
			} else {
				if cur.Compare(it.start) < 0 {
					continue
				}
				if cur.Compare(it.end) > 0 {
					it.ni = len(s.nodes)
					return ID{}, 0, false
				}
			}
			it.cur, it.flags, it.nfields, it.fvOff, it.entryP = cur, flags, nf, q, fp
			return cur, int(nf), true
		}
		it.started = false
		if it.rev {
			it.ni--
		} else {
			it.ni++
		}
	}
	return ID{}, 0, false
}

// Fields appends the current entry's field/value pairs to dst. The
// slices alias the node or an internal buffer, valid until the next
// call to Fields or Next.
func (it *Iterator) Fields(dst [][]byte) [][]byte {
	lp := it.s.nodes[it.ni].lp
	it.buf = it.buf[:0]
	// Integers are formatted into buf; size it first so the slices
	// handed out are not moved by a later growth.
	if need := int(it.nfields) * 2 * 21; cap(it.buf) < need {
		it.buf = make([]byte, 0, need)
	}
	get := func(p int) []byte {
		v, s, isInt, _ := lpElem(lp, p)
		if !isInt {
			return s
		}
		start := len(it.buf)
		it.buf = appendInt(it.buf, v)
		return it.buf[start:len(it.buf):len(it.buf)]
	}
	p := it.fvOff
	mp := it.h.fieldsOff
	for i := int64(0); i < it.nfields; i++ {
		var f []byte
		if it.flags&flagSameFields != 0 {
			f = get(mp)
			mp = lpSkip(lp, mp)
		} else {
			f = get(p)
			p = lpSkip(lp, p)
		}
		v := get(p)
		p = lpSkip(lp, p)
		dst = append(dst, f, v)
	}
	return dst
}

// Remove deletes the current entry (Redis's streamIteratorRemoveEntry);
// the iterator then continues after it.
func (it *Iterator) Remove() {
	s := it.s
	n := &s.nodes[it.ni]
	n.lp[it.entryP] = byte(it.flags | flagDeleted) // flags fit in one byte
	s.length--
	if it.h.count == 1 {
		s.removeNode(it.ni)
		if it.rev {
			it.ni--
		}
		it.started = false
	} else {
		old := len(n.lp)
		n.lp = lpReplaceInt(n.lp, lpFirst(), it.h.count-1)
		_, p := lpInt(n.lp, lpFirst())
		n.lp = lpReplaceInt(n.lp, p, it.h.deleted+1)
		shift := len(n.lp) - old
		it.h = readHeader(n.lp)
		it.p += shift
		it.entryP += shift
		it.fvOff += shift
	}
}

func (s *Stream) removeNode(i int) {
	copy(s.nodes[i:], s.nodes[i+1:])
	s.nodes[len(s.nodes)-1] = node{}
	s.nodes = s.nodes[:len(s.nodes)-1]
}

func appendInt(b []byte, v int64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	var tmp [20]byte
	i := len(tmp)
	u := uint64(v)
	if v < 0 {
		u = uint64(-v)
	}
	for u > 0 {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
	}
	if v < 0 {
		b = append(b, '-')
	}
	return append(b, tmp[i:]...)
}

// Get returns the field/value pairs of the entry id, if it is live.
func (s *Stream) Get(id ID, dst [][]byte) ([][]byte, bool) {
	it := s.Iter(id, id, false)
	if _, _, ok := it.Next(); !ok {
		return dst, false
	}
	return it.Fields(dst), true
}

// Exists reports whether id is a live entry.
func (s *Stream) Exists(id ID) bool {
	it := s.Iter(id, id, false)
	_, _, ok := it.Next()
	return ok
}

// Delete removes the live entry id; it reports whether there was one.
// Only the entry goes: LastID, FirstID and MaxDeletedID are the
// caller's (XDEL updates them, Delete is also used by other paths).
func (s *Stream) Delete(id ID) bool {
	it := s.Iter(id, id, false)
	if _, _, ok := it.Next(); !ok {
		return false
	}
	it.Remove()
	return true
}

// EdgeID returns the first (or last) live entry's ID; ok is false when
// the stream is empty.
func (s *Stream) EdgeID(first bool) (ID, bool) {
	it := s.Iter(ID{}, MaxID, !first)
	id, _, ok := it.Next()
	return id, ok
}

// UpdateFirstID recomputes FirstID from the entries.
func (s *Stream) UpdateFirstID() {
	if id, ok := s.EdgeID(true); ok {
		s.FirstID = id
	} else {
		s.FirstID = ID{}
	}
}

// lastInNode is the ID of a node's last entry, deleted or not.
func lastInNode(n *node) ID {
	lp := n.lp
	last := lpPrev(lp, len(lp)-1)
	cnt, _ := lpInt(lp, last)
	fp := last
	for i := int64(0); i < cnt; i++ {
		fp = lpPrev(lp, fp)
	}
	_, q := lpInt(lp, fp)
	msd, q := lpInt(lp, q)
	seqd, _ := lpInt(lp, q)
	return ID{n.master.Ms + uint64(msd), n.master.Seq + uint64(seqd)}
}

// TrimArgs are XADD/XTRIM's trimming options.
type TrimArgs struct {
	MinID  bool  // MINID rather than MAXLEN
	MaxLen int64 // MAXLEN's threshold
	ID     ID    // MINID's threshold
	Approx bool  // "~": whole nodes only
	Limit  int64 // at most this many entries (0: no limit)
}

// Trim removes entries from the head as Redis's streamTrim and returns
// how many went. With Approx only whole nodes are removed; Limit stops
// before a node that would take the count past it.
func (s *Stream) Trim(a TrimArgs) int64 {
	var deleted int64
	for len(s.nodes) > 0 {
		if !a.MinID && s.length <= uint64(a.MaxLen) {
			break
		}
		n := &s.nodes[0]
		h := readHeader(n.lp)
		entries := h.count
		if a.Limit != 0 && deleted+entries > a.Limit {
			break
		}
		var whole bool
		if !a.MinID {
			whole = s.length-uint64(entries) >= uint64(a.MaxLen)
		} else {
			whole = lastInNode(n).Less(a.ID)
		}
		if whole {
			s.removeNode(0)
			s.length -= uint64(entries)
			deleted += entries
			continue
		}
		if a.Approx {
			break
		}
		// Mark entries deleted one by one from the node's head.
		lp := n.lp
		var fromNode int64
		p := h.firstEntry
		for lp[p] != lpEOF {
			fp := p
			flags, q := lpInt(lp, p)
			msd, q2 := lpInt(lp, q)
			seqd, q3 := lpInt(lp, q2)
			q = q3
			if !a.MinID {
				if s.length <= uint64(a.MaxLen) {
					break
				}
			} else {
				cur := ID{n.master.Ms + uint64(msd), n.master.Seq + uint64(seqd)}
				if cur.Compare(a.ID) >= 0 {
					break
				}
			}
			k := h.nfields
			if flags&flagSameFields == 0 {
				k, q = lpInt(lp, q)
				k *= 2
			}
			for i := int64(0); i < k; i++ {
				q = lpSkip(lp, q)
			}
			p = lpSkip(lp, q)
			if flags&flagDeleted == 0 {
				lp[fp] = byte(flags | flagDeleted)
				fromNode++
				s.length--
			}
		}
		deleted += fromNode
		lp = lpReplaceInt(lp, lpFirst(), entries-fromNode)
		_, p = lpInt(lp, lpFirst())
		lp = lpReplaceInt(lp, p, h.deleted+fromNode)
		n.lp = lp
		break
	}
	if s.length > 0 {
		s.UpdateFirstID()
	} else {
		s.FirstID = ID{}
	}
	return deleted
}

// RangeHasTombstones is Redis's streamRangeHasTombstones: whether an
// XDEL may have left a hole in [start, end] (end nil: to the end).
func (s *Stream) RangeHasTombstones(start ID, end *ID) bool {
	if s.length == 0 || s.MaxDeletedID.IsZero() {
		return false
	}
	if s.FirstID.Compare(s.MaxDeletedID) > 0 {
		return false
	}
	e := MaxID
	if end != nil {
		e = *end
	}
	return start.Compare(s.MaxDeletedID) <= 0 && s.MaxDeletedID.Compare(e) <= 0
}

// EstimateDistance is Redis's streamEstimateDistanceFromFirstEverEntry:
// the logical read counter of id, or -1 when it cannot be known.
func (s *Stream) EstimateDistance(id ID) int64 {
	if s.EntriesAdded == 0 {
		return 0
	}
	if s.length == 0 && id.Compare(s.LastID) < 1 {
		return int64(s.EntriesAdded)
	}
	cmpLast := id.Compare(s.LastID)
	if cmpLast == 0 {
		return int64(s.EntriesAdded)
	} else if cmpLast > 0 {
		return -1
	}
	cmpFirst := id.Compare(s.FirstID)
	if s.MaxDeletedID.IsZero() || s.MaxDeletedID.Compare(s.FirstID) < 0 {
		if cmpFirst < 0 {
			return int64(s.EntriesAdded - s.length)
		} else if cmpFirst == 0 {
			return int64(s.EntriesAdded - s.length + 1)
		}
	}
	return -1
}

// LastValidID is the last live entry's ID (0-0 when empty).
func (s *Stream) LastValidID() ID {
	id, _ := s.EdgeID(false)
	return id
}

// HeadID is the ID of the first node's first entry, deleted or not
// (Redis's streamGetEdgeID without skipping tombstones); ok is false
// when the stream has no nodes.
func (s *Stream) HeadID() (ID, bool) {
	if len(s.nodes) == 0 {
		return ID{}, false
	}
	n := &s.nodes[0]
	h := readHeader(n.lp)
	if n.lp[h.firstEntry] == lpEOF {
		return ID{}, false
	}
	_, q := lpInt(n.lp, h.firstEntry)
	msd, q := lpInt(n.lp, q)
	seqd, _ := lpInt(n.lp, q)
	return ID{n.master.Ms + uint64(msd), n.master.Seq + uint64(seqd)}, true
}

// RaxNodes approximates the node count of Redis's radix tree holding
// the same keys (XINFO's radix-tree-nodes): Redis's own count depends on
// how its tree compresses the 16-byte keys; for IDs close together it is
// close to two per key.
func (s *Stream) RaxNodes() int {
	switch n := len(s.nodes); n {
	case 0:
		return 1
	case 1:
		return 2
	default:
		return 2*n + 2
	}
}
