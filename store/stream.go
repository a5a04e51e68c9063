package store

import (
	"encoding/binary"

	"github.com/skiffdb/skiff/stream"
)

// Stream is a stream value: package stream's structure as a Collection.
type Stream struct{ *stream.Stream }

// NewStream returns an empty stream value.
func NewStream() *Stream { return &Stream{stream.New()} }

// Encoding is OBJECT ENCODING's answer for every stream.
func (s *Stream) Encoding() string { return "stream" }

// Clone is a deep copy (COPY, copy-on-write snapshots).
func (s *Stream) Clone() Collection { return &Stream{s.Stream.Clone()} }

// AppendDigest feeds DEBUG DIGEST: every entry in order, the stream's
// IDs and counters, and each group with its PEL and consumers, so that
// two streams digest alike only when Redis would see them alike.
func (s *Stream) AppendDigest(b []byte) []byte {
	add := func(x []byte) {
		b = binary.AppendUvarint(b, uint64(len(x)))
		b = append(b, x...)
	}
	it := s.Iter(stream.ID{}, stream.MaxID, false)
	var fv [][]byte
	for {
		id, _, ok := it.Next()
		if !ok {
			break
		}
		add(id.Bytes())
		fv = it.Fields(fv[:0])
		for _, x := range fv {
			add(x)
		}
	}
	add(s.LastID.Bytes())
	add(s.MaxDeletedID.Bytes())
	b = binary.AppendUvarint(b, s.EntriesAdded)
	for _, g := range s.Groups() {
		add([]byte(g.Name))
		add(g.LastID.Bytes())
		b = binary.AppendVarint(b, g.EntriesRead)
		g.PEL.Ascend(stream.ID{}, func(nk *stream.NACK) bool {
			add(nk.ID.Bytes())
			add([]byte(nk.Consumer.Name))
			b = binary.AppendUvarint(b, nk.DeliveryCount)
			return true
		})
		for _, c := range g.Consumers() {
			add([]byte(c.Name))
		}
	}
	return b
}
