package stream

import "sort"

// InvalidEntriesRead marks a group's entries-read counter as unknown
// (Redis's SCG_INVALID_ENTRIES_READ).
const InvalidEntriesRead = -1

// NACK is a delivered, not yet acknowledged entry.
type NACK struct {
	ID            ID
	DeliveryTime  int64 // unix ms of the last delivery
	DeliveryCount uint64
	Consumer      *Consumer
}

// Consumer is a consumer of a group.
type Consumer struct {
	Name     string
	SeenTime int64 // unix ms of its last activity
	PEL      PEL   // its own pending entries (shared NACKs with the group)
}

// Group is a consumer group.
type Group struct {
	Name        string
	LastID      ID
	EntriesRead int64
	PEL         PEL
	consumers   map[string]*Consumer
}

// Groups returns the groups in name order.
func (s *Stream) Groups() []*Group { return s.groups }

// NumGroups is the number of groups.
func (s *Stream) NumGroups() int { return len(s.groups) }

func (s *Stream) groupIndex(name string) (int, bool) {
	i := sort.Search(len(s.groups), func(i int) bool { return s.groups[i].Name >= name })
	return i, i < len(s.groups) && s.groups[i].Name == name
}

// Group returns the named group.
func (s *Stream) Group(name string) *Group {
	if i, ok := s.groupIndex(name); ok {
		return s.groups[i]
	}
	return nil
}

// CreateGroup adds a group; nil when the name is taken.
func (s *Stream) CreateGroup(name string, last ID, entriesRead int64) *Group {
	i, ok := s.groupIndex(name)
	if ok {
		return nil
	}
	g := &Group{Name: name, LastID: last, EntriesRead: entriesRead, consumers: map[string]*Consumer{}}
	s.groups = append(s.groups, nil)
	copy(s.groups[i+1:], s.groups[i:])
	s.groups[i] = g
	return g
}

// DestroyGroup removes a group; it reports whether there was one.
func (s *Stream) DestroyGroup(name string) bool {
	i, ok := s.groupIndex(name)
	if !ok {
		return false
	}
	copy(s.groups[i:], s.groups[i+1:])
	s.groups[len(s.groups)-1] = nil
	s.groups = s.groups[:len(s.groups)-1]
	return true
}

// Consumer returns the named consumer.
func (g *Group) Consumer(name string) *Consumer { return g.consumers[name] }

// NumConsumers is the number of consumers.
func (g *Group) NumConsumers() int { return len(g.consumers) }

// Consumers returns the consumers in name order.
func (g *Group) Consumers() []*Consumer {
	out := make([]*Consumer, 0, len(g.consumers))
	for _, c := range g.consumers {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// CreateConsumer adds a consumer; nil when it exists.
func (g *Group) CreateConsumer(name string, now int64) *Consumer {
	if _, ok := g.consumers[name]; ok {
		return nil
	}
	c := &Consumer{Name: name, SeenTime: now}
	g.consumers[name] = c
	return c
}

// DeleteConsumer removes a consumer and its pending entries from the
// group's PEL; it returns how many pending entries it had (-1: no such
// consumer).
func (g *Group) DeleteConsumer(name string) int {
	c := g.consumers[name]
	if c == nil {
		return -1
	}
	n := c.PEL.Len()
	c.PEL.Ascend(ID{}, func(nk *NACK) bool {
		g.PEL.Delete(nk.ID)
		return true
	})
	delete(g.consumers, name)
	return n
}

// Clone returns a deep copy of the stream.
func (s *Stream) Clone() *Stream {
	c := *s
	c.nodes = make([]node, len(s.nodes))
	for i, n := range s.nodes {
		c.nodes[i] = node{master: n.master, lp: append([]byte(nil), n.lp...)}
	}
	c.groups = make([]*Group, len(s.groups))
	for i, g := range s.groups {
		ng := &Group{Name: g.Name, LastID: g.LastID, EntriesRead: g.EntriesRead, consumers: make(map[string]*Consumer, len(g.consumers))}
		for name, cons := range g.consumers {
			nc := &Consumer{Name: name, SeenTime: cons.SeenTime}
			ng.consumers[name] = nc
			cons.PEL.Ascend(ID{}, func(nk *NACK) bool {
				cp := &NACK{ID: nk.ID, DeliveryTime: nk.DeliveryTime, DeliveryCount: nk.DeliveryCount, Consumer: nc}
				nc.PEL.Insert(cp)
				ng.PEL.Insert(cp)
				return true
			})
		}
		c.groups[i] = ng
	}
	return &c
}

// MemoryUsage estimates the bytes the stream occupies.
func (s *Stream) MemoryUsage() int64 {
	m := int64(96 + cap(s.nodes)*40)
	for _, n := range s.nodes {
		m += int64(cap(n.lp))
	}
	for _, g := range s.groups {
		m += 96 + int64(len(g.Name))
		m += int64(g.PEL.Len()) * 64
		for name := range g.consumers {
			m += 96 + int64(len(name))
		}
	}
	return m
}
