package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/skiffdb/skiff/store"
	"github.com/skiffdb/skiff/stream"
)

// Redis's verdict on a stream payload that the stream decoder
// (stream.go, which checks every node deeply) refused: which of Redis's
// checks fails at the depth asked for, in Redis's words, or, when none
// does without deep checks, a *DeferredError (Redis restores such a
// stream and fails when a command reads it). Only DUMP payloads get this
// second look; it reads the payload again, so it costs nothing to a
// stream that decodes.

// Redis's reasons for streams, as rdb.c logs them.
const (
	reasonStreamKey       = "Stream node key entry is not the size of a stream ID"
	reasonStreamListpack  = "Stream listpack integrity check failed."
	reasonStreamEmptyLP   = "Empty listpack inside stream"
	reasonStreamReadded   = "Listpack re-added with existing key"
	reasonStreamLength    = "Stream length inconsistent with rax entries"
	reasonStreamGroupDup  = "Duplicated consumer group name %s"
	reasonStreamPELDup    = "Duplicated global PEL entry loading stream consumer group"
	reasonStreamConsDup   = "Duplicate stream consumer detected."
	reasonStreamConsPEL   = "Consumer entry not found in group global PEL"
	reasonStreamConsPELDu = "Duplicated consumer PEL entry  loading a stream consumer group"
	reasonStreamNoConsumr = "Stream CG PEL entry without consumer"
)

// errFirstOK stops a listpack walk after its first element.
var errFirstOK = errors.New("first element read")

// streamVerdict replaces the decoder's error decErr on a stream payload
// (body: the payload without its footer, type byte first).
func streamVerdict(body []byte, shallow bool, decErr error) error {
	v2 := body[0] == typeStreamLP2
	v, err := checkStreamRedis(body, !shallow)
	if err != nil {
		return err
	}
	if !shallow {
		// Redis's deep checks pass where the decoder's stricter ones do
		// not (a length that disagrees with the nodes ...): refused, with
		// no words of Redis's to log.
		return decErr
	}
	var de *Error
	if !errors.As(decErr, &de) {
		de = &Error{Msg: decErr.Error()}
	}
	if de.Reason == "" {
		de = &Error{Offset: de.Offset, Msg: de.Msg, Reason: reasonStreamListpack}
	}
	if !v2 && firstLiveAsserts(v.nodes) {
		// Restoring the older type, Redis looks for the first entry
		// (its ID is not in the payload) and asserts on the way there.
		return &Error{Offset: de.Offset, Msg: de.Msg, Reason: reasonStreamListpack, RedisAsserts: true}
	}
	d := &DeferredError{Err: de, Value: &store.Object{Type: store.TypeStream, Val: store.NewStream()}}
	if v.length > 0 && lastIDWalk(v.raw, v.length) == lastIDPanics {
		d.LastIDPanic = fmt.Sprintf("Corrupt stream, length is %d, but no max id", v.length)
	}
	return d
}

// streamFacts are what the check learnt of a stream it passed.
type streamFacts struct {
	length uint64
	// nodes: each node's elements up to the first corrupt one; raw: the
	// listpacks themselves.
	nodes []nodeElems
	raw   [][]byte
}

// nodeElems are a listpack's elements up to the first corrupt one;
// complete says there is none.
type nodeElems struct {
	el       []elem
	complete bool
}

// checkStreamRedis makes Redis's checks of a stream payload, deep or
// not, and returns the first failure as an *Error with Redis's reason
// (RedisAsserts set where Redis fails an assertion instead).
func checkStreamRedis(body []byte, deep bool) (streamFacts, error) {
	var f streamFacts
	if len(body) == 0 {
		return f, &Error{Msg: "empty payload"}
	}
	v2 := body[0] == typeStreamLP2
	s := &src{r: bufio.NewReader(bytes.NewReader(body[1:])), off: 1}
	fail := func(reason string, format string, args ...any) error {
		return &Error{Offset: s.off, Msg: fmt.Sprintf(format, args...), Reason: reason}
	}
	nodes, err := s.count("stream listpacks count")
	if err != nil {
		return f, err
	}
	keys := map[string]bool{}
	for i := uint64(0); i < nodes; i++ {
		key, err := s.str("stream node key")
		if err != nil {
			return f, err
		}
		if len(key) != 16 {
			return f, fail(reasonStreamKey, "node key of %d bytes", len(key))
		}
		lp, err := s.str("stream listpack")
		if err != nil {
			return f, err
		}
		if err := listpackShallow(lp); err != nil {
			return f, fail(reasonStreamListpack, "%v", err)
		}
		if deep {
			master, _ := stream.DecodeID(key)
			if _, err := stream.New().LoadNode(master, lp); err != nil {
				return f, fail(reasonStreamListpack, "%v", err)
			}
		}
		if lp[6] == 0xFF {
			return f, fail(reasonStreamEmptyLP, "node without entries")
		}
		if err := walkListpack(lp, func(elem) error { return errFirstOK }); err != errFirstOK {
			// Redis reads the first entry trusting it, and asserts.
			return f, &Error{Offset: s.off, Msg: fmt.Sprintf("first entry of a stream listpack: %v", err), Reason: reasonStreamListpack, RedisAsserts: true}
		}
		if keys[string(key)] {
			return f, fail(reasonStreamReadded, "node key repeated")
		}
		keys[string(key)] = true
		var n nodeElems
		n.complete = walkListpack(lp, func(e elem) error { n.el = append(n.el, e); return nil }) == nil
		f.nodes = append(f.nodes, n)
		f.raw = append(f.raw, lp)
	}
	meta := 3
	if v2 {
		meta = 8
	}
	for i := 0; i < meta; i++ {
		n, err := s.count("stream metadata")
		if err != nil {
			return f, err
		}
		if i == 0 {
			f.length = n
		}
	}
	if f.length > 0 && nodes == 0 {
		return f, fail(reasonStreamLength, "length %d without nodes", f.length)
	}
	ngroups, err := s.count("stream groups count")
	if err != nil {
		return f, err
	}
	groups := map[string]bool{}
	for i := uint64(0); i < ngroups; i++ {
		name, err := s.str("stream group name")
		if err != nil {
			return f, err
		}
		for k := 0; k < 2; k++ {
			if _, err := s.count("group last id"); err != nil {
				return f, err
			}
		}
		if v2 {
			if _, err := s.count("group entries read"); err != nil {
				return f, err
			}
		}
		if groups[string(name)] {
			return f, fail(fmt.Sprintf(reasonStreamGroupDup, name), "group repeated")
		}
		groups[string(name)] = true
		npel, err := s.count("group PEL size")
		if err != nil {
			return f, err
		}
		owned := map[string]bool{} // global PEL: has a consumer
		for j := uint64(0); j < npel; j++ {
			var rec [16 + 8]byte
			if err := s.full(rec[:], "stream PEL entry"); err != nil {
				return f, err
			}
			if _, err := s.count("PEL delivery count"); err != nil {
				return f, err
			}
			id := string(rec[:16])
			if _, dup := owned[id]; dup {
				return f, fail(reasonStreamPELDup, "PEL entry repeated")
			}
			owned[id] = false
		}
		ncons, err := s.count("consumers count")
		if err != nil {
			return f, err
		}
		consumers := map[string]bool{}
		for j := uint64(0); j < ncons; j++ {
			cname, err := s.str("consumer name")
			if err != nil {
				return f, err
			}
			if consumers[string(cname)] {
				return f, fail(reasonStreamConsDup, "consumer %q repeated", cname)
			}
			consumers[string(cname)] = true
			if err := s.full(s.tmp[:8], "consumer seen time"); err != nil {
				return f, err
			}
			np, err := s.count("consumer PEL size")
			if err != nil {
				return f, err
			}
			mine := map[string]bool{}
			for k := uint64(0); k < np; k++ {
				var raw [16]byte
				if err := s.full(raw[:], "consumer PEL ID"); err != nil {
					return f, err
				}
				if _, ok := owned[string(raw[:])]; !ok {
					return f, fail(reasonStreamConsPEL, "consumer PEL entry not in the group PEL")
				}
				owned[string(raw[:])] = true
				if mine[string(raw[:])] {
					return f, fail(reasonStreamConsPELDu, "consumer PEL entry repeated")
				}
				mine[string(raw[:])] = true
			}
		}
		if deep {
			for _, has := range owned {
				if !has {
					return f, fail(reasonStreamNoConsumr, "group PEL entry without consumer")
				}
			}
		}
	}
	return f, nil
}

// Cursor states of an element read by a stream iterator.
const (
	elemOK = iota
	elemEOF
	elemBad
)

func (n nodeElems) at(i int) (elem, int) {
	switch {
	case i < len(n.el):
		return n.el[i], elemOK
	case n.complete && i == len(n.el):
		return elem{}, elemEOF
	}
	return elem{}, elemBad
}

// integer reads an element as a stream's integer field (Redis asserts
// when a string one does not parse).
func (n nodeElems) integer(i int) (int64, int) {
	e, st := n.at(i)
	if st != elemOK {
		return 0, st
	}
	if e.isInt {
		return e.i, elemOK
	}
	v, err := strconv.ParseInt(string(e.s), 10, 64)
	if err != nil {
		return 0, elemBad
	}
	return v, elemOK
}

// firstLiveAsserts walks the nodes as Redis's forward iterator does to
// find the first entry not deleted, and reports whether it reads a
// corrupt element (or runs off a node) before finding one or the end.
func firstLiveAsserts(nodes []nodeElems) bool {
	const deleted, sameFields = 1, 2
	for _, n := range nodes {
		// master entry: count, deleted, field count, fields, 0
		for i := 0; i < 2; i++ {
			if _, st := n.at(i); st != elemOK {
				return true
			}
		}
		mfc, st := n.integer(2)
		if st != elemOK || mfc < 0 || mfc > int64(len(n.el)) {
			return true
		}
		p := 3
		for k := int64(0); k < mfc; k++ {
			if _, st := n.at(p); st != elemOK {
				return true
			}
			p++
		}
		if _, st := n.at(p); st != elemOK {
			return true
		}
		for {
			p++
			if _, st := n.at(p); st == elemEOF {
				break // the node's last entry: on to the next node
			} else if st == elemBad {
				return true
			}
			var v [3]int64
			for k := range v {
				if v[k], st = n.integer(p + k); st != elemOK {
					return true
				}
			}
			flags := v[0]
			p += 3
			nf := mfc
			if flags&sameFields == 0 {
				if nf, st = n.integer(p); st != elemOK {
					return true
				}
				p++
			}
			if _, st := n.at(p); st != elemOK || nf < 0 || nf > int64(len(n.el)) {
				return true // (more fields than elements: Redis runs off the node)
			}
			if flags&deleted == 0 {
				return false // found
			}
			discard := nf
			if flags&sameFields == 0 {
				discard = 2 * nf
			}
			for k := int64(1); k <= discard; k++ {
				if _, st := n.at(p + int(k)); st != elemOK {
					return true
				}
			}
			p += int(discard)
		}
	}
	return false
}

// Redis's search for a stream's last live entry (streamLastValidID, run
// first by XREAD, XREADGROUP and XSETID on a non-empty stream), emulated
// on the raw listpacks with its pointer moves and their assertions: a
// corrupt stream there either fails an assertion or, when the walk ends
// without finding a live entry, panics.
const (
	lastIDFound = iota
	lastIDAsserts
	lastIDPanics
)

// lpEntrySize is the size of the listpack entry at p without its
// back-length (Redis's lpCurrentEncodedSizeUnsafe), and the bytes its
// encoding header takes (0: not an encoding).
func lpEntrySize(lp []byte, p int) (size, hdr int) {
	c := lp[p]
	switch {
	case c&0x80 == 0:
		return 1, 1
	case c&0xC0 == 0x80:
		return 1 + int(c&0x3F), 1
	case c&0xE0 == 0xC0:
		return 2, 1
	case c&0xF0 == 0xE0:
		if p+1 >= len(lp) {
			return 0, 2
		}
		return 2 + (int(c&0x0F)<<8 | int(lp[p+1])), 2
	case c == 0xF0:
		if p+5 > len(lp) {
			return 0, 5
		}
		return 5 + int(binary.LittleEndian.Uint32(lp[p+1:])), 5
	case c == 0xF1:
		return 3, 1
	case c == 0xF2:
		return 4, 1
	case c == 0xF3:
		return 5, 1
	case c == 0xF4:
		return 9, 1
	case c == 0xFF:
		return 1, 1
	}
	return 0, 0
}

// lpEntryValid is Redis's lpValidateNext on the entry at p.
func lpEntryValid(lp []byte, p int) bool {
	last := len(lp) - 1
	if p < 6 || p > last {
		return false
	}
	if lp[p] == 0xFF {
		return true
	}
	size, hdr := lpEntrySize(lp, p)
	if hdr == 0 || p+hdr > last {
		return false
	}
	bl := backlenSize(size)
	if size <= 0 || p+size+bl > last {
		return false
	}
	back, ok := lpBacklenBefore(lp, p+size+bl-1)
	return ok && back+bl == size+bl
}

// lpBacklenBefore decodes a back-length whose last byte is at q, reading
// leftwards as Redis's lpDecodeBacklen.
func lpBacklenBefore(lp []byte, q int) (int, bool) {
	v, shift := 0, 0
	for {
		if q < 0 || shift > 28 {
			return 0, false
		}
		v |= int(lp[q]&0x7F) << shift
		if lp[q]&0x80 == 0 {
			return v, true
		}
		shift += 7
		q--
	}
}

// lastIDWalk walks the nodes from the last one backwards as
// streamLastValidID does; length is the stream's length field.
func lastIDWalk(nodes [][]byte, length uint64) int {
	for ni := len(nodes) - 1; ni >= 0; ni-- {
		lp := nodes[ni]
		steps := 4*len(lp) + 64 // a corrupt node can send Redis round in circles
		const null = -1
		bad := false
		next := func(p int) int {
			if p == null {
				bad = true
				return null
			}
			size, _ := lpEntrySize(lp, p)
			np := p + size + backlenSize(size)
			if np >= len(lp) || lp[np] == 0xFF {
				return null
			}
			if !lpEntryValid(lp, np) {
				bad = true
			}
			return np
		}
		prev := func(p int) int {
			if p == null {
				bad = true
				return null
			}
			if p == 6 {
				return null
			}
			back, ok := lpBacklenBefore(lp, p-1)
			if !ok {
				bad = true
				return null
			}
			np := p - 1 - (back + backlenSize(back) - 1)
			if !lpEntryValid(lp, np) {
				bad = true
				return null
			}
			return np
		}
		integer := func(p int) int64 {
			if p == null || bad {
				bad = true
				return 0
			}
			v, ok := lpInteger(lp, p)
			if !ok {
				bad = true
			}
			return v
		}
		if !lpEntryValid(lp, 6) {
			return lastIDAsserts
		}
		p := next(next(6))
		mfc := integer(p)
		next(p)
		p = prev(len(lp) - 1)
		for !bad {
			if steps--; steps < 0 {
				return lastIDAsserts
			}
			cnt := integer(p)
			if bad {
				break
			}
			if cnt == 0 {
				break // the master entry: on to the previous node
			}
			for ; cnt != 0 && !bad; cnt-- {
				p = prev(p)
				if p == null {
					bad = true
				}
			}
			flags := integer(p)
			p = next(p)
			integer(p)
			p = next(p)
			integer(p)
			p = next(p)
			nf := mfc
			if flags&2 == 0 {
				nf = integer(p)
				p = next(p)
			}
			if bad || nf < 0 {
				return lastIDAsserts
			}
			if flags&1 == 0 {
				return lastIDFound
			}
			times := 4
			if flags&2 == 0 {
				times++
			}
			for ; times > 0; times-- {
				p = prev(p)
			}
		}
		if bad {
			return lastIDAsserts
		}
	}
	if length > 0 {
		return lastIDPanics
	}
	return lastIDFound
}

// lpInteger reads the element at p as Redis's lpGetInteger (a string must
// parse as an integer).
func lpInteger(lp []byte, p int) (int64, bool) {
	size, hdr := lpEntrySize(lp, p)
	if hdr == 0 || p+size > len(lp) {
		return 0, false
	}
	c := lp[p]
	switch {
	case c&0x80 == 0:
		return int64(c), true
	case c&0xE0 == 0xC0:
		u := int64(c&0x1F)<<8 | int64(lp[p+1])
		if u >= 1<<12 {
			u -= 1 << 13
		}
		return u, true
	case c >= 0xF1 && c <= 0xF4:
		w := size - 1
		var u uint64
		for k := w - 1; k >= 0; k-- {
			u = u<<8 | uint64(lp[p+1+k])
		}
		shift := uint(64 - 8*w)
		return int64(u<<shift) >> shift, true
	case c == 0xFF:
		return 0, false
	}
	v, err := strconv.ParseInt(string(lp[p+hdr:p+size]), 10, 64)
	return v, err == nil
}
