package rdb

import (
	"bufio"
	"bytes"
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
	if v.length > 0 && v.parsed && v.live == 0 {
		// Reading it, Redis finds no entry to be the last one.
		d.Crash = CrashPanic
		d.Panic = fmt.Sprintf("Corrupt stream, length is %d, but no max id", v.length)
	}
	return d
}

// streamFacts are what the check learnt of a stream it passed.
type streamFacts struct {
	length uint64
	// parsed: every node's entries could be read (whatever their
	// counters say); live counts those not flagged deleted.
	parsed bool
	live   int64
	// nodes: each node's elements up to the first corrupt one.
	nodes []nodeElems
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
	f.parsed = true
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
		if live, ok := streamNodeLive(n); ok {
			f.live += live
		} else {
			f.parsed = false
		}
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

// streamNodeLive reads a stream node's entries as an iterator would
// (master entry, then entries with their flags), without trusting its
// counters, and counts those not flagged deleted; ok is false when the
// node cannot be read that far.
func streamNodeLive(n nodeElems) (live int64, ok bool) {
	if !n.complete {
		return 0, false
	}
	el := n.el
	i := 0
	next := func() (int64, bool) {
		if i >= len(el) || !el[i].isInt {
			return 0, false
		}
		i++
		return el[i-1].i, true
	}
	// master entry: count, deleted, field count, fields, 0
	if _, ok := next(); !ok {
		return 0, false
	}
	if _, ok := next(); !ok {
		return 0, false
	}
	nf, ok := next()
	if !ok || nf < 0 || nf > int64(len(el)) {
		return 0, false
	}
	i += int(nf)
	if z, ok := next(); !ok || z != 0 {
		return 0, false
	}
	const deleted, sameFields = 1, 2
	for i < len(el) {
		flags, ok := next()
		if !ok {
			return 0, false
		}
		i += 2 // ID deltas
		k := 2 * nf
		if flags&sameFields != 0 {
			k = nf
		} else {
			n, ok := next()
			if !ok || n < 0 || n > int64(len(el)) {
				return 0, false
			}
			k = 2 * n
		}
		i += int(k)
		if _, ok := next(); !ok { // lp-count
			return 0, false
		}
		if flags&deleted == 0 {
			live++
		}
	}
	return live, true
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
