package cluster

// Pub/Sub across the cluster: what Redis's cluster bus carries as PUBLISH
// and PUBLISHSHARD messages travels here over direct node-to-node RESP
// connections, never through the Raft log.
//
//   - PUBLISH on any node: delivered locally, then sent to every other
//     node of the view (masters and replicas), which delivers it to its
//     own subscribers without forwarding it again. The reply counts the
//     local receivers only, as Redis's does.
//   - SPUBLISH: sent to the other nodes of this node's shard (its master,
//     or itself when it is one, and that master's replicas), as Redis's
//     clusterGetNodesServingMySlots.
//
// Each peer has one outgoing link: a bounded byte queue, a writer
// goroutine that writes what is queued as pipelined CLUSTER
// SKIFF-PUBLISH <publish|spublish> <channel> <message> commands
// (authenticating with PeerPassword, as the poller does), and a reader
// goroutine that discards the replies and notices a closed connection.
// Delivery is at most once, like Redis's bus: a message is dropped (and
// counted) when its peer's queue is full, when the peer cannot be
// reached (no new dial for busRedial after a failed one), or when the
// connection breaks. The publisher never waits.
//
// Slot loss: when a slot's owner changes, the nodes of the old owner's
// shard (the owner and its replicas, except a replica promoted in its
// place) unsubscribe its shard-channel subscribers, each getting a
// sunsubscribe message (Redis's removeChannelsInSlot from clusterDelSlot);
// so does a master's CLUSTER RESET for the slots it owned.

import (
	"bufio"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
)

const (
	busQueueBytes  = 4 << 20 // per peer: beyond it messages are dropped
	busDialTimeout = time.Second
	busRedial      = time.Second // after a failed dial, drop until then
	busWriteTime   = 2 * time.Second
)

// PubSubLocal is what the fan-out needs from the data node, besides
// Local (the data node implements both).
type PubSubLocal interface {
	// Deliver delivers a message another node published (CLUSTER
	// SKIFF-PUBLISH) to this node's subscribers (shard: SSUBSCRIBE-ers)
	// without forwarding it, and returns the receivers (locked).
	Deliver(shard bool, channel, message []byte) int
	// UnsubscribeShardSlots unsubscribes every subscriber of the shard
	// channels of these slots, each getting a sunsubscribe message
	// (Redis's removeChannelsInSlot). Called without the lock.
	UnsubscribeShardSlots(slots []int)
}

// BusStats count the messages of the pub/sub fan-out.
type BusStats struct {
	Sent     int64 // messages written to a peer's connection
	Dropped  int64 // messages dropped: queue full, peer unreachable, broken connection
	Received int64 // CLUSTER SKIFF-PUBLISH commands received
	Errors   int64 // error replies from peers
}

type bus struct {
	n  *Node
	mu sync.Mutex
	// links by node id; guarded by mu.
	links  map[string]*busLink
	closed bool

	sent, dropped, received, errors atomic.Int64

	// last is the view lostShardSlots compared with (watch goroutine).
	last *View
	// reset is set by CLUSTER RESET: the next new view drops the shard
	// channels of every slot the node owned.
	reset atomic.Bool
}

func newBus(n *Node) *bus { return &bus{n: n, links: map[string]*busLink{}} }

// busLink is the outgoing connection to one peer.
type busLink struct {
	b          *bus
	id, addr   string
	mu         sync.Mutex
	buf        []byte // encoded commands not taken by the writer yet
	msgs       int    // commands in buf
	conn       net.Conn
	downUntil  time.Time // a dial failed: drop until then
	downLogged bool
	closed     bool
	wake       chan struct{}
	done       chan struct{}
}

// Publish sends a message published here to the peers (shard: this
// node's shard only). It never blocks: it runs with the data lock held.
func (n *Node) Publish(shard bool, channel, message []byte) {
	v := n.View()
	kind := "publish"
	var targets []*NodeInfo
	if shard {
		kind = "spublish"
		m := v.Self
		if !m.Master {
			m = v.Node(v.Self.MasterID)
		}
		if m == nil {
			return
		}
		targets = append(targets, m)
		targets = append(targets, m.Replicas...)
	} else {
		targets = v.Nodes
	}
	var cmd []byte
	for _, t := range targets {
		if t.ID == v.SelfID || t.Addr == "" {
			continue
		}
		if cmd == nil {
			cmd = resp.AppendCommand(nil, []byte("CLUSTER"), []byte("SKIFF-PUBLISH"), []byte(kind), channel, message)
		}
		n.bus.link(t).enqueue(cmd)
	}
}

// ReceivePublish is CLUSTER SKIFF-PUBLISH: a message another node
// published, delivered to this node's subscribers only (locked). It
// returns the receivers.
func (n *Node) ReceivePublish(l Local, shard bool, channel, message []byte) int {
	n.bus.received.Add(1)
	if p, ok := l.(PubSubLocal); ok {
		return p.Deliver(shard, channel, message)
	}
	return 0
}

// BusStats returns the fan-out counters.
func (n *Node) BusStats() BusStats {
	b := n.bus
	return BusStats{Sent: b.sent.Load(), Dropped: b.dropped.Load(), Received: b.received.Load(), Errors: b.errors.Load()}
}

// link returns the link to node t, creating it (or replacing it when
// t's address changed).
func (b *bus) link(t *NodeInfo) *busLink {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.links[t.ID]
	if l != nil && l.addr == t.Addr {
		return l
	}
	if l != nil {
		l.close()
	}
	l = &busLink{b: b, id: t.ID, addr: t.Addr, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if b.closed {
		l.closed = true
		close(l.done)
		return l
	}
	b.links[t.ID] = l
	go l.run()
	return l
}

// prune closes the links of nodes that left the view or moved.
func (b *bus) prune(v *View) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, l := range b.links {
		if x := v.Node(id); x == nil || x == v.Self || x.Addr != l.addr {
			l.close()
			delete(b.links, id)
		}
	}
}

func (b *bus) close() {
	b.mu.Lock()
	b.closed = true
	links := b.links
	b.links = map[string]*busLink{}
	b.mu.Unlock()
	for _, l := range links {
		l.close()
		<-l.done
	}
}

func (l *busLink) enqueue(cmd []byte) {
	l.mu.Lock()
	if l.closed || len(l.buf)+len(cmd) > busQueueBytes || time.Now().Before(l.downUntil) {
		l.mu.Unlock()
		l.b.dropped.Add(1)
		return
	}
	l.buf = append(l.buf, cmd...)
	l.msgs++
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *busLink) close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		if l.conn != nil {
			l.conn.Close()
		}
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run is the writer: it takes what is queued and writes it, dialing
// when there is no connection.
func (l *busLink) run() {
	defer close(l.done)
	var spare []byte
	for range l.wake {
		l.mu.Lock()
		if l.closed {
			l.b.dropped.Add(int64(l.msgs))
			l.buf, l.msgs = nil, 0
			l.mu.Unlock()
			return
		}
		batch, msgs := l.buf, l.msgs
		l.buf, l.msgs = spare[:0], 0
		conn := l.conn
		l.mu.Unlock()
		if msgs == 0 {
			continue
		}
		if conn == nil {
			conn = l.dial()
		}
		if conn == nil {
			l.b.dropped.Add(int64(msgs))
		} else {
			_ = conn.SetWriteDeadline(time.Now().Add(busWriteTime))
			if _, err := conn.Write(batch); err != nil {
				l.b.dropped.Add(int64(msgs))
				l.broken(conn)
			} else {
				l.b.sent.Add(int64(msgs))
			}
		}
		if cap(batch) <= 64<<10 {
			spare = batch
		} else {
			spare = nil
		}
	}
}

// dial connects (and authenticates); after a failure the link drops
// messages for busRedial.
func (l *busLink) dial() net.Conn {
	c, br, err := dialRESP(l.addr, l.b.n.opts.PeerPassword, busDialTimeout)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.downUntil = time.Now().Add(busRedial)
		if !l.downLogged {
			l.downLogged = true
			l.b.n.log.Warn("cluster bus: peer unreachable, dropping published messages", "node", l.id, "addr", l.addr, "error", err)
		}
		return nil
	}
	if l.closed {
		c.Close()
		return nil
	}
	_ = c.SetDeadline(time.Time{})
	if l.downLogged {
		l.downLogged = false
		l.b.n.log.Info("cluster bus: peer reachable again", "node", l.id, "addr", l.addr)
	}
	l.conn = c
	go l.readReplies(c, br)
	return c
}

// readReplies discards the replies of one connection (counting errors)
// until it breaks.
func (l *busLink) readReplies(c net.Conn, br *bufio.Reader) {
	for {
		_, err := readReply(br)
		if err == nil {
			continue
		}
		if _, ok := err.(replyError); ok {
			if l.b.errors.Add(1) == 1 {
				l.b.n.log.Warn("cluster bus: peer refused a published message", "node", l.id, "error", err)
			}
			continue
		}
		l.broken(c)
		return
	}
}

// broken forgets a connection that failed; the next message dials again.
func (l *busLink) broken(c net.Conn) {
	c.Close()
	l.mu.Lock()
	if l.conn == c {
		l.conn = nil
	}
	l.mu.Unlock()
}

// viewChanged runs in the watch loop after every view rebuild (and once
// a second): it closes links to nodes that left and unsubscribes the
// shard channels of slots this node stopped serving.
func (b *bus) viewChanged(v *View, local Local) {
	if v == nil || v == b.last {
		return
	}
	b.prune(v)
	if lost := b.lostShardSlots(v); len(lost) > 0 {
		if p, ok := local.(PubSubLocal); ok {
			p.UnsubscribeShardSlots(lost)
		}
	}
}

// lostShardSlots returns the slots whose shard channels this node must
// drop, comparing v with the previous view: as Redis's clusterDelSlot,
// a slot whose owner changed (or that became unassigned) while this node
// was in the old owner's shard (the owner or one of its replicas),
// unless this node now owns it (a replica promoted in place of its
// master keeps its subscribers: Redis turns it into a master before it
// claims the slots). Views of different Raft members (CLUSTER MEET
// replaced it) are not compared, except after CLUSTER RESET, which
// drops the shard channels of the slots this node owned.
func (b *bus) lostShardSlots(v *View) []int {
	prev := b.last
	b.last = v
	if prev == nil {
		return nil
	}
	if b.reset.Load() && prev.gen != v.gen {
		b.reset.Store(false)
		if !prev.Self.Master {
			return nil
		}
		var out []int
		for _, r := range prev.Self.Slots {
			for sl := r.Start; sl <= r.End; sl++ {
				out = append(out, sl)
			}
		}
		return out
	}
	if prev.gen != v.gen {
		return nil
	}
	return shardSlotsLost(prev, v)
}

// shardSlotsLost is the comparison of lostShardSlots for two views of
// the same member.
func shardSlotsLost(prev, v *View) []int {
	shard := prev.Self
	if !shard.Master {
		shard = prev.Node(prev.Self.MasterID)
		if shard == nil {
			return nil
		}
	}
	var out []int
	for _, r := range shard.Slots {
		for sl := r.Start; sl <= r.End; sl++ {
			o := v.Owner[sl]
			if o != nil && (o.ID == shard.ID || o.ID == v.SelfID) {
				continue
			}
			out = append(out, sl)
		}
	}
	return out
}
