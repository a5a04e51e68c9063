package stream

import (
	"errors"
	"fmt"
)

// Nodes are exchanged with RDB files and DUMP payloads as they are:
// Redis writes each radix tree key (the master ID, 16 bytes big-endian)
// and its listpack.

// EachNode calls fn with every node's master ID and listpack, in order.
// lp must not be changed or kept.
func (s *Stream) EachNode(fn func(master ID, lp []byte) error) error {
	for _, n := range s.nodes {
		if err := fn(n.master, n.lp); err != nil {
			return err
		}
	}
	return nil
}

// LoadNode appends a node read from outside after checking it is a
// well-formed stream listpack (Redis's deep integrity check: a master
// entry, then entries whose element counts agree with their lp-count and
// the master counters), with a master ID above the previous node's. The
// listpack is kept, so the caller must not reuse it. It returns the
// node's live entries.
func (s *Stream) LoadNode(master ID, lp []byte) (int64, error) {
	if len(s.nodes) > 0 && !s.nodes[len(s.nodes)-1].master.Less(master) {
		return 0, errors.New("stream node keys out of order or repeated")
	}
	live, err := validateNode(lp)
	if err != nil {
		return 0, err
	}
	s.nodes = append(s.nodes, node{master: master, lp: lp})
	return live, nil
}

// SetLength sets the live entry count (from an RDB file, after LoadNode
// counted the nodes' entries).
func (s *Stream) SetLength(n uint64) { s.length = n }

// validateNode checks a node's listpack without trusting any count or
// length in it; it returns the number of live entries.
func validateNode(lp []byte) (int64, error) {
	if _, ok := lpValidate(lp); !ok {
		return 0, errors.New("invalid listpack")
	}
	end := len(lp) - 1
	p := lpFirst()
	// next reads an element that must exist; ints says it must be an
	// integer.
	next := func(wantInt bool) (int64, error) {
		if p >= end {
			return 0, errors.New("stream listpack ends early")
		}
		v, _, isInt, nx := lpElem(lp, p)
		if wantInt && !isInt {
			return 0, errors.New("stream listpack: integer expected")
		}
		p = nx
		return v, nil
	}
	if p >= end {
		return 0, errors.New("empty listpack inside stream")
	}
	count, err := next(true)
	if err != nil {
		return 0, err
	}
	deleted, err := next(true)
	if err != nil {
		return 0, err
	}
	nfields, err := next(true)
	if err != nil {
		return 0, err
	}
	if count < 0 || deleted < 0 || nfields < 0 || nfields > int64(len(lp)) {
		return 0, errors.New("stream listpack: bad master entry")
	}
	for i := int64(0); i < nfields; i++ {
		if _, err := next(false); err != nil {
			return 0, err
		}
	}
	if z, err := next(true); err != nil || z != 0 {
		return 0, errors.New("stream listpack: bad master entry terminator")
	}
	var live, dead int64
	for p < end {
		flags, err := next(true)
		if err != nil {
			return 0, err
		}
		if flags < 0 || flags > flagDeleted|flagSameFields {
			return 0, fmt.Errorf("stream listpack: bad entry flags %d", flags)
		}
		for i := 0; i < 2; i++ {
			if _, err := next(true); err != nil {
				return 0, err
			}
		}
		elems := int64(3)
		k := nfields
		if flags&flagSameFields == 0 {
			nf, err := next(true)
			if err != nil {
				return 0, err
			}
			if nf < 0 || nf > int64(len(lp)) {
				return 0, errors.New("stream listpack: bad field count")
			}
			k = 2 * nf
			elems += 1 + k
		} else {
			elems += k
		}
		for i := int64(0); i < k; i++ {
			if _, err := next(false); err != nil {
				return 0, err
			}
		}
		lpCount, err := next(true)
		if err != nil {
			return 0, err
		}
		if lpCount != elems {
			return 0, errors.New("stream listpack: lp-count mismatch")
		}
		if flags&flagDeleted != 0 {
			dead++
		} else {
			live++
		}
	}
	if live != count || dead != deleted {
		return 0, errors.New("stream listpack: master counters mismatch")
	}
	return live, nil
}

// LoadConsumerNACK links the group's pending entry id to consumer c
// (RDB loading); it fails when the group has no such entry or it has an
// owner already.
func (g *Group) LoadConsumerNACK(c *Consumer, id ID) error {
	nk := g.PEL.Get(id)
	if nk == nil {
		return errors.New("consumer PEL entry not in the group PEL")
	}
	if nk.Consumer != nil {
		return errors.New("PEL entry owned by two consumers")
	}
	nk.Consumer = c
	if !c.PEL.Insert(nk) {
		return errors.New("duplicated consumer PEL entry")
	}
	return nil
}

// CheckPEL reports an entry of the group's PEL without a consumer.
func (g *Group) CheckPEL() error {
	var err error
	g.PEL.Ascend(ID{}, func(nk *NACK) bool {
		if nk.Consumer == nil {
			err = errors.New("group PEL entry without consumer")
			return false
		}
		return true
	})
	return err
}
