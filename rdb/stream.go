package rdb

import (
	"encoding/binary"

	"github.com/skiffdb/skiff/store"
	"github.com/skiffdb/skiff/stream"
)

// Streams in RDB (RDB_TYPE_STREAM_LISTPACKS_2, and the older
// RDB_TYPE_STREAM_LISTPACKS without first ID, max deleted ID, entries
// added and groups' read counters): the nodes as (master ID, listpack)
// strings, the stream's counters, then each group with its PEL (raw
// 16-byte IDs, delivery time, delivery count) and its consumers (name,
// seen time, the IDs of their PEL).

func (s *src) streamValue(v2 bool) (*store.Object, error) {
	st := store.NewStream()
	nodes, err := s.count("stream listpacks count")
	if err != nil {
		return nil, err
	}
	var live uint64
	for i := uint64(0); i < nodes; i++ {
		k, err := s.str("stream node key")
		if err != nil {
			return nil, err
		}
		master, ok := stream.DecodeID(k)
		if !ok {
			return nil, s.errorf("stream node key entry is not the size of a stream ID")
		}
		lp, err := s.str("stream listpack")
		if err != nil {
			return nil, err
		}
		n, err := st.LoadNode(master, lp)
		if err != nil {
			return nil, s.errorf("stream listpack integrity check failed: %v", err)
		}
		live += uint64(n)
	}
	var vals [8]uint64
	nvals := 3
	if v2 {
		nvals = 8
	}
	for i := 0; i < nvals; i++ {
		if vals[i], err = s.count("stream metadata"); err != nil {
			return nil, err
		}
	}
	if vals[0] != live {
		return nil, s.errorf("stream length %d inconsistent with its nodes (%d entries)", vals[0], live)
	}
	st.SetLength(vals[0])
	st.LastID = stream.ID{Ms: vals[1], Seq: vals[2]}
	if v2 {
		st.FirstID = stream.ID{Ms: vals[3], Seq: vals[4]}
		st.MaxDeletedID = stream.ID{Ms: vals[5], Seq: vals[6]}
		st.EntriesAdded = vals[7]
	} else {
		st.EntriesAdded = vals[0]
		st.UpdateFirstID()
	}
	ngroups, err := s.count("stream groups count")
	if err != nil {
		return nil, err
	}
	for i := uint64(0); i < ngroups; i++ {
		name, err := s.str("stream group name")
		if err != nil {
			return nil, err
		}
		var last stream.ID
		if last.Ms, err = s.count("group last id"); err != nil {
			return nil, err
		}
		if last.Seq, err = s.count("group last id"); err != nil {
			return nil, err
		}
		var entriesRead int64
		if v2 {
			v, err := s.count("group entries read")
			if err != nil {
				return nil, err
			}
			entriesRead = int64(v)
		} else {
			entriesRead = st.EstimateDistance(last)
		}
		g := st.CreateGroup(string(name), last, entriesRead)
		if g == nil {
			return nil, s.errorf("duplicated consumer group name %s", name)
		}
		npel, err := s.count("group PEL size")
		if err != nil {
			return nil, err
		}
		for j := uint64(0); j < npel; j++ {
			id, err := s.rawID()
			if err != nil {
				return nil, err
			}
			t, err := s.msTime()
			if err != nil {
				return nil, err
			}
			cnt, err := s.count("PEL delivery count")
			if err != nil {
				return nil, err
			}
			if !g.PEL.Insert(&stream.NACK{ID: id, DeliveryTime: t, DeliveryCount: cnt}) {
				return nil, s.errorf("duplicated global PEL entry loading stream consumer group")
			}
		}
		ncons, err := s.count("consumers count")
		if err != nil {
			return nil, err
		}
		for j := uint64(0); j < ncons; j++ {
			cname, err := s.str("consumer name")
			if err != nil {
				return nil, err
			}
			seen, err := s.msTime()
			if err != nil {
				return nil, err
			}
			c := g.CreateConsumer(string(cname), seen)
			if c == nil {
				return nil, s.errorf("duplicate stream consumer detected")
			}
			np, err := s.count("consumer PEL size")
			if err != nil {
				return nil, err
			}
			for k := uint64(0); k < np; k++ {
				id, err := s.rawID()
				if err != nil {
					return nil, err
				}
				if err := g.LoadConsumerNACK(c, id); err != nil {
					return nil, s.errorf("stream consumer %s: %v", cname, err)
				}
			}
		}
		if err := g.CheckPEL(); err != nil {
			return nil, s.errorf("stream group %s: %v", name, err)
		}
	}
	return &store.Object{Type: store.TypeStream, Val: st}, nil
}

func (s *src) rawID() (stream.ID, error) {
	var raw [16]byte
	if err := s.full(raw[:], "stream PEL ID"); err != nil {
		return stream.ID{}, err
	}
	id, _ := stream.DecodeID(raw[:])
	return id, nil
}

func (s *src) msTime() (int64, error) {
	if err := s.full(s.tmp[:8], "millisecond time"); err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(s.tmp[:8])), nil
}

func appendStream(b []byte, st *store.Stream, compress bool) ([]byte, error) {
	b = appendLen(b, uint64(st.Nodes()))
	var kb [16]byte
	_ = st.EachNode(func(master stream.ID, lp []byte) error {
		b = appendBytes(b, master.Encode(kb[:0]), compress)
		b = appendBytes(b, lp, compress)
		return nil
	})
	b = appendLen(b, st.Length())
	for _, v := range []uint64{st.LastID.Ms, st.LastID.Seq, st.FirstID.Ms, st.FirstID.Seq,
		st.MaxDeletedID.Ms, st.MaxDeletedID.Seq, st.EntriesAdded} {
		b = appendLen(b, v)
	}
	groups := st.Groups()
	b = appendLen(b, uint64(len(groups)))
	for _, g := range groups {
		b = appendString(b, g.Name, compress)
		b = appendLen(b, g.LastID.Ms)
		b = appendLen(b, g.LastID.Seq)
		b = appendLen(b, uint64(g.EntriesRead))
		b = appendLen(b, uint64(g.PEL.Len()))
		g.PEL.Ascend(stream.ID{}, func(nk *stream.NACK) bool {
			b = nk.ID.Encode(b)
			b = binary.LittleEndian.AppendUint64(b, uint64(nk.DeliveryTime))
			b = appendLen(b, nk.DeliveryCount)
			return true
		})
		cons := g.Consumers()
		b = appendLen(b, uint64(len(cons)))
		for _, c := range cons {
			b = appendString(b, c.Name, compress)
			b = binary.LittleEndian.AppendUint64(b, uint64(c.SeenTime))
			b = appendLen(b, uint64(c.PEL.Len()))
			c.PEL.Ascend(stream.ID{}, func(nk *stream.NACK) bool {
				b = nk.ID.Encode(b)
				return true
			})
		}
	}
	return b, nil
}
