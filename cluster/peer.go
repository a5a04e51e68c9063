package cluster

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/sentinel"
)

// Peer polling stands in for the gossip of Redis's cluster bus where a
// node shows what it knows of the others: every tenth of the node timeout
// (at least 100 ms, at most 1 s) each node asks every other one CLUSTER
// SKIFF-INFO over RESP (replication offset for CLUSTER SLOTS/SHARDS, last
// answer for CLUSTER NODES, "fail?" once a peer has not answered for the
// node timeout). The Raft leader turns "fail?" into FAIL and a promotion
// when a majority of voters agree (failover.go). Metadata never travels
// this way; it is in the Raft log.

// pollInterval is how often peers are probed: often enough that a dead
// peer is suspected within a tenth of the node timeout of the moment it
// has been silent for the timeout.
func (n *Node) pollInterval() time.Duration {
	d := n.opts.NodeTimeout() / 10
	if d < 100*time.Millisecond {
		d = 100 * time.Millisecond
	}
	if d > time.Second {
		d = time.Second
	}
	return d
}

// pollTimeout bounds one probe.
func (n *Node) pollTimeout() time.Duration {
	d := n.opts.NodeTimeout() / 2
	if d > 800*time.Millisecond {
		d = 800 * time.Millisecond
	}
	if d < 50*time.Millisecond {
		d = 50 * time.Millisecond
	}
	return d
}

type peer struct {
	id, addr string
	mu       sync.Mutex // one poll at a time
	conn     net.Conn
	br       *bufio.Reader

	stMu  sync.Mutex
	st    PeerState
	seen  bool
	reach sentinel.Reachability
	info  Info // the last answer
}

func (n *Node) peerState(id string) (PeerState, bool) {
	n.peersMu.Lock()
	p := n.peers[id]
	n.peersMu.Unlock()
	if p == nil {
		return PeerState{}, false
	}
	p.stMu.Lock()
	defer p.stMu.Unlock()
	st := p.st
	st.PFail = p.reach.Down(time.Now(), n.opts.NodeTimeout())
	return st, p.seen
}

// peerInfo returns a peer's last answer to CLUSTER SKIFF-INFO.
func (n *Node) peerInfo(id string) (Info, bool) {
	n.peersMu.Lock()
	p := n.peers[id]
	n.peersMu.Unlock()
	if p == nil {
		return Info{}, false
	}
	p.stMu.Lock()
	defer p.stMu.Unlock()
	return p.info, p.info.ID != ""
}

func (n *Node) pollLoop() {
	defer n.wg.Done()
	var last time.Time
	for {
		// Wake every 100 ms so that a lower cluster-node-timeout (CONFIG
		// SET) takes effect at once, not after the old interval.
		select {
		case <-n.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Since(last) < n.pollInterval() {
			continue
		}
		last = time.Now()
		v := n.View()
		var todo []*peer
		n.peersMu.Lock()
		keep := map[string]bool{}
		for _, x := range v.Nodes {
			if x == v.Self || x.Addr == "" {
				continue
			}
			keep[x.ID] = true
			p := n.peers[x.ID]
			if p != nil && p.addr != x.Addr {
				p.close()
				p = nil
			}
			if p == nil {
				p = &peer{id: x.ID, addr: x.Addr, reach: sentinel.NewReachability(time.Now())}
				n.peers[x.ID] = p
			}
			todo = append(todo, p)
		}
		for id, p := range n.peers {
			if !keep[id] {
				p.close()
				delete(n.peers, id)
			}
		}
		n.peersMu.Unlock()
		for _, p := range todo {
			go n.poll(p)
		}
	}
}

func (n *Node) poll(p *peer) {
	if !p.mu.TryLock() {
		return // the previous poll is still waiting
	}
	defer p.mu.Unlock()
	n.stats.pingSent.Add(1)
	info, err := p.query(n.opts.PeerPassword, n.pollTimeout())
	now := time.Now()
	p.stMu.Lock()
	defer p.stMu.Unlock()
	p.seen = true
	if err != nil || info.ID != p.id {
		// A node that answers with another id (it was reset, or another
		// process took the port) is not the peer.
		p.st.Reachable = false
		return
	}
	n.stats.pongRecv.Add(1)
	p.reach.Answered(now)
	p.info = info
	p.st = PeerState{Offset: info.Offset, LastPong: now.UnixMilli(), Reachable: true}
}

func (p *peer) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}

func (p *peer) query(password string, timeout time.Duration) (Info, error) {
	if p.conn == nil {
		c, br, err := dialRESP(p.addr, password, timeout)
		if err != nil {
			return Info{}, err
		}
		p.conn, p.br = c, br
	}
	_ = p.conn.SetDeadline(time.Now().Add(timeout))
	info, err := skiffInfo(p.conn, p.br)
	if err != nil {
		p.close()
	}
	return info, err
}

func (n *Node) closePeers() {
	n.peersMu.Lock()
	defer n.peersMu.Unlock()
	for id, p := range n.peers {
		p.mu.Lock()
		p.close()
		p.mu.Unlock()
		delete(n.peers, id)
	}
}

// Info is a node's answer to CLUSTER SKIFF-INFO.
type Info struct {
	ID          string
	AdminAddr   string
	Members     int    // members of its Raft group
	LeaderAdmin string // its group leader's admin address ("" if unknown)
	Offset      int64  // its replication offset
	KnownNodes  int    // nodes in its metadata
	Leaving     bool   // it is leaving its group of one (MEET)
	// Eligible is a replica's own verdict on whether it may be promoted
	// by the failure detector: cluster-replica-no-failover is off and its
	// data is recent enough for cluster-replica-validity-factor.
	Eligible bool
	RunID    string // its process (consistency strong: in-sync sets name run ids)
}

// SkiffInfo is this node's Info (CLUSTER SKIFF-INFO); l is the data node
// (locked).
func (n *Node) SkiffInfo(l Local) Info {
	n.stats.pingRecv.Add(1)
	v := n.View()
	info := Info{ID: n.myID(), AdminAddr: n.self.AdminAddr, Offset: l.ReplOffset(), KnownNodes: len(v.Nodes),
		Eligible: !v.Self.Master && n.eligible(l), RunID: l.RunID()}
	n.mu.Lock()
	g := n.cur
	info.Leaving = n.leaving || g == nil
	n.mu.Unlock()
	if g != nil {
		st := g.Status()
		info.Members = len(st.Members)
		info.LeaderAdmin = st.LeaderAdmin
		if st.LeaderID == n.myID() {
			info.LeaderAdmin = n.self.AdminAddr
		}
	}
	return info
}

// Reply returns Info as the CLUSTER SKIFF-INFO reply array: id,
// admin-addr, members, leader-admin-addr, offset, known-nodes, leaving,
// eligible, run id.
func (i Info) Reply() []any {
	b := func(x bool) int64 {
		if x {
			return 1
		}
		return 0
	}
	return []any{i.ID, i.AdminAddr, int64(i.Members), i.LeaderAdmin, i.Offset, int64(i.KnownNodes), b(i.Leaving), b(i.Eligible), i.RunID}
}

func skiffInfo(c net.Conn, br *bufio.Reader) (Info, error) {
	if _, err := c.Write(resp.AppendCommand(nil, "CLUSTER", "SKIFF-INFO")); err != nil {
		return Info{}, err
	}
	v, err := readReply(br)
	if err != nil {
		return Info{}, err
	}
	a, ok := v.([]any)
	if !ok || len(a) < 7 {
		return Info{}, fmt.Errorf("CLUSTER SKIFF-INFO: unexpected reply %v", v)
	}
	str := func(x any) string { s, _ := x.(string); return s }
	num := func(x any) int64 { n, _ := x.(int64); return n }
	info := Info{ID: str(a[0]), AdminAddr: str(a[1]), Members: int(num(a[2])), LeaderAdmin: str(a[3]),
		Offset: num(a[4]), KnownNodes: int(num(a[5])), Leaving: num(a[6]) == 1}
	if len(a) > 7 {
		info.Eligible = num(a[7]) == 1
	}
	if len(a) > 8 {
		info.RunID = str(a[8])
	}
	return info, nil
}

// QueryInfo asks the node at addr (RESP) for its Info.
func QueryInfo(ctx context.Context, addr, password string) (Info, error) {
	timeout := time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	c, br, err := dialRESP(addr, password, timeout)
	if err != nil {
		return Info{}, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	return skiffInfo(c, br)
}

// sendCommand sends one command to addr and returns its reply.
func sendCommand(addr, password string, timeout time.Duration, args ...string) (any, error) {
	c, br, err := dialRESP(addr, password, timeout)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(resp.AppendCommand(nil, args...)); err != nil {
		return nil, err
	}
	return readReply(br)
}

func dialRESP(addr, password string, timeout time.Duration) (net.Conn, *bufio.Reader, error) {
	if timeout <= 0 {
		timeout = time.Millisecond
	}
	c, err := dialPeer(addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReader(c)
	if password != "" {
		_ = c.SetDeadline(time.Now().Add(timeout))
		if _, err := c.Write(resp.AppendCommand(nil, "AUTH", password)); err != nil {
			c.Close()
			return nil, nil, err
		}
		if _, err := readReply(br); err != nil && !strings.Contains(err.Error(), "no password is set") &&
			!strings.Contains(err.Error(), "without any password configured") {
			c.Close()
			return nil, nil, fmt.Errorf("AUTH: %w", err)
		}
	}
	return c, br, nil
}

// replyError is an error reply.
type replyError string

func (e replyError) Error() string { return string(e) }

// readReply reads one reply (resp.ReadReply); an error reply comes back as
// a replyError error.
func readReply(r *bufio.Reader) (any, error) {
	v, err := resp.ReadReply(r, resp.ReplyLimits{MaxBulk: 64 << 20, MaxElems: 1 << 16, MaxDepth: 4})
	if e, ok := v.(resp.ReplyError); ok {
		return nil, replyError(e)
	}
	return v, err
}
