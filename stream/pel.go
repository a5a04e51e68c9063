package stream

import "sort"

// PEL is an ordered map from entry IDs to pending entries: a list of
// sorted chunks of at most pelChunk entries, so that a lookup is two
// binary searches and an insert or delete moves at most a chunk (Redis
// uses a radix tree; this gives the same ordered walks with the same
// O(log N) seeks in far fewer allocations).
type PEL struct {
	chunks [][]*NACK
	n      int
}

const pelChunk = 128

// Len is the number of entries.
func (p *PEL) Len() int { return p.n }

// chunkFor is the index of the chunk that holds or would hold id.
func (p *PEL) chunkFor(id ID) int {
	i := sort.Search(len(p.chunks), func(i int) bool {
		c := p.chunks[i]
		return id.Compare(c[len(c)-1].ID) <= 0
	})
	if i == len(p.chunks) && i > 0 {
		i--
	}
	return i
}

// Get returns the entry for id.
func (p *PEL) Get(id ID) *NACK {
	if p.n == 0 {
		return nil
	}
	c := p.chunks[p.chunkFor(id)]
	j := sort.Search(len(c), func(j int) bool { return id.Compare(c[j].ID) <= 0 })
	if j < len(c) && c[j].ID == id {
		return c[j]
	}
	return nil
}

// Insert adds nk unless its ID is there; it reports whether it added.
func (p *PEL) Insert(nk *NACK) bool {
	if p.n == 0 {
		p.chunks = append(p.chunks, []*NACK{nk})
		p.n = 1
		return true
	}
	ci := p.chunkFor(nk.ID)
	c := p.chunks[ci]
	j := sort.Search(len(c), func(j int) bool { return nk.ID.Compare(c[j].ID) <= 0 })
	if j < len(c) && c[j].ID == nk.ID {
		return false
	}
	c = append(c, nil)
	copy(c[j+1:], c[j:])
	c[j] = nk
	if len(c) > pelChunk {
		half := len(c) / 2
		right := append([]*NACK(nil), c[half:]...)
		clear(c[half:])
		c = c[:half:half]
		p.chunks = append(p.chunks, nil)
		copy(p.chunks[ci+2:], p.chunks[ci+1:])
		p.chunks[ci+1] = right
	}
	p.chunks[ci] = c
	p.n++
	return true
}

// Delete removes id; it returns the removed entry.
func (p *PEL) Delete(id ID) *NACK {
	if p.n == 0 {
		return nil
	}
	ci := p.chunkFor(id)
	c := p.chunks[ci]
	j := sort.Search(len(c), func(j int) bool { return id.Compare(c[j].ID) <= 0 })
	if j == len(c) || c[j].ID != id {
		return nil
	}
	nk := c[j]
	copy(c[j:], c[j+1:])
	c[len(c)-1] = nil
	c = c[:len(c)-1]
	if len(c) == 0 {
		copy(p.chunks[ci:], p.chunks[ci+1:])
		p.chunks[len(p.chunks)-1] = nil
		p.chunks = p.chunks[:len(p.chunks)-1]
	} else {
		p.chunks[ci] = c
	}
	p.n--
	return nk
}

// Ascend calls fn for entries with ID >= from, in order, until it
// returns false. fn must not change the PEL.
func (p *PEL) Ascend(from ID, fn func(*NACK) bool) {
	if p.n == 0 {
		return
	}
	ci := p.chunkFor(from)
	c := p.chunks[ci]
	j := sort.Search(len(c), func(j int) bool { return from.Compare(c[j].ID) <= 0 })
	for ; ci < len(p.chunks); ci, j = ci+1, 0 {
		c = p.chunks[ci]
		for ; j < len(c); j++ {
			if !fn(c[j]) {
				return
			}
		}
	}
}

// First and Last entries (nil when empty).
func (p *PEL) First() *NACK {
	if p.n == 0 {
		return nil
	}
	return p.chunks[0][0]
}

func (p *PEL) Last() *NACK {
	if p.n == 0 {
		return nil
	}
	c := p.chunks[len(p.chunks)-1]
	return c[len(c)-1]
}
