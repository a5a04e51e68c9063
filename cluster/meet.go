package cluster

// CLUSTER MEET and group formation (DESIGN.md, "Metadata path").
//
// A fresh node is a cluster of one: a Raft group of its own. When it is
// told to MEET a node of another group, it joins that group and brings
// the slot claims it made while alone:
//
//  1. it asks the target (CLUSTER SKIFF-INFO over RESP) for its admin
//     address, its group size and its leader's admin address;
//  2. through the target's admin API (forwarded to the leader) it
//     proposes its own node entry, its slots (ADDSLOTS) and its config
//     epoch in the target's group, so that every node's CLUSTER NODES
//     shows its slots from the moment the others see it;
//  3. it closes its group of one, moves the Raft dir aside
//     (raft.lone-<time>, kept), opens a fresh member and asks the group
//     to add it (POST /join): the first raft-voters members are voters,
//     later ones non-voters;
//  4. on failure it goes back to its own dir and group.
//
// A member of a group of two or more that is told to MEET a lone node
// sends that node a CLUSTER MEET naming itself, so the lone node joins.
// Two groups of two or more are never merged: MEET replies an error.
// A node leaving its group refuses joins (503, retried by the joiner);
// a node serving a join does not leave.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

// Meet handles CLUSTER MEET ip port (validated). It returns "" for +OK
// (the join then happens in the background, as Redis's handshake does)
// or an error reply.
func (n *Node) Meet(ip string, port int) string {
	n.stats.meetSent.Add(1)
	target := net.JoinHostPort(ip, strconv.Itoa(port))
	v := n.View()
	if target == n.self.Addr || v.NodeByAddr(target) != nil {
		return ""
	}
	g := n.Group()
	if g == nil {
		return "ERR " + errSwapping.Error()
	}
	if len(g.Status().Members) <= 1 {
		// Join now, so that the next command (redis-cli's next check)
		// finds this node in the cluster; keep trying in the background
		// if that takes long.
		if err := n.joinOnce(target); err != nil {
			n.log.Info("CLUSTER MEET: not joined yet, retrying in the background", "target", target, "error", err)
			n.startMeet(target, n.joinVia)
		}
		return ""
	}
	// A group of several: the target must be a lone node (or already one
	// of ours).
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	info, err := QueryInfo(ctx, target, n.opts.PeerPassword)
	cancel()
	if err == nil {
		if v.Node(info.ID) != nil {
			return ""
		}
		if info.Members > 1 && !info.Leaving {
			return fmt.Sprintf("ERR Skiff: %s is a node of another cluster of %d nodes; two clusters of several nodes are never merged "+
				"(reset the nodes of one of them, or start them with empty dirs, then MEET them one by one)", target, info.Members)
		}
	}
	// Ask the lone node to join now, handing it what it would otherwise
	// ask this node over RESP (this node holds its data lock while it
	// runs a command, so the lone node could not query it): the join is
	// done when MEET replies, so that a MEET the lone node receives next
	// (the suite's chain "0 MEET 1, 1 MEET 2, 2 MEET 3 ...") finds it in
	// this group and invites the next one rather than forming a second
	// group of several. If that fails, keep inviting in the background.
	if err := n.inviteNow(target); err != nil {
		n.log.Info("CLUSTER MEET: the lone node did not join yet, inviting it in the background", "target", target, "error", err)
		n.startMeet(target, n.invite)
	}
	return ""
}

// inviteNow sends a lone node CLUSTER SKIFF-JOIN: join this node's group
// now, with this node's Info (what joinOnce would query).
func (n *Node) inviteNow(target string) error {
	g := n.Group()
	if g == nil {
		return errSwapping
	}
	st := g.Status()
	leader := st.LeaderAdmin
	if st.LeaderID == n.myID() {
		leader = n.self.AdminAddr
	}
	if leader == "" {
		leader = "-"
	}
	r, err := sendCommand(target, n.opts.PeerPassword, 25*time.Second, "CLUSTER", "SKIFF-JOIN",
		n.myID(), n.self.Addr, n.self.AdminAddr, leader, strconv.Itoa(len(st.Members)))
	if err != nil {
		return err
	}
	if e, ok := r.(error); ok {
		return e
	}
	n.refresh()
	return nil
}

// SkiffJoin is CLUSTER SKIFF-JOIN <id> <addr> <admin-addr>
// <leader-admin-addr|-> <members>: a member of a group of several invites
// this lone node (inviteNow). It returns "" once this node is in that
// group, or an error reply.
func (n *Node) SkiffJoin(args [][]byte) string {
	members, err := strconv.Atoi(string(args[6]))
	if err != nil {
		return errNotInt
	}
	info := Info{ID: string(args[2]), AdminAddr: string(args[4]), LeaderAdmin: string(args[5]), Members: members}
	if info.LeaderAdmin == "-" {
		info.LeaderAdmin = ""
	}
	target := string(args[3])
	if info.ID == n.myID() || n.View().Node(info.ID) != nil {
		return ""
	}
	g := n.Group()
	if g == nil {
		return "ERR " + errSwapping.Error()
	}
	if len(g.Status().Members) > 1 {
		return "ERR Skiff: this node is a member of another cluster of several nodes"
	}
	n.mu.Lock()
	if n.meeting[target] {
		n.mu.Unlock()
		return "ERR a MEET of this target is in progress"
	}
	n.meeting[target] = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.meeting, target)
		n.mu.Unlock()
	}()
	if err := n.leaveAndJoin(target, info); err != nil {
		return "ERR " + err.Error()
	}
	return ""
}

// startMeet runs fn(target) in the background once per target at a time.
func (n *Node) startMeet(target string, fn func(string) error) {
	n.mu.Lock()
	if n.meeting[target] || n.closed {
		n.mu.Unlock()
		return
	}
	n.meeting[target] = true
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			n.mu.Lock()
			delete(n.meeting, target)
			n.mu.Unlock()
		}()
		if err := fn(target); err != nil {
			n.log.Warn("CLUSTER MEET failed", "target", target, "error", err)
		}
	}()
}

func (n *Node) stopped() bool {
	select {
	case <-n.stop:
		return true
	default:
		return false
	}
}

// invite asks a lone node to join this node's group: it sends it a
// CLUSTER MEET naming this node.
func (n *Node) invite(target string) error {
	host, port := splitHostPort(n.self.Addr)
	_, bus := splitHostPort(n.self.RaftAddr)
	deadline := time.Now().Add(n.opts.NodeTimeout())
	for {
		_, err := sendCommand(target, n.opts.PeerPassword, 2*time.Second, "CLUSTER", "MEET", host, strconv.Itoa(port), strconv.Itoa(bus))
		if err == nil {
			n.log.Info("CLUSTER MEET: asked a lone node to join this cluster", "target", target)
			return nil
		}
		if time.Now().After(deadline) || n.stopped() {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// joinOnce is one attempt of joinVia.
func (n *Node) joinOnce(target string) error {
	n.mu.Lock()
	if n.meeting[target] {
		n.mu.Unlock()
		return errors.New("a MEET of this target is in progress")
	}
	n.meeting[target] = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.meeting, target)
		n.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	info, err := QueryInfo(ctx, target, n.opts.PeerPassword)
	cancel()
	switch {
	case err != nil:
		return err
	case info.Leaving || info.AdminAddr == "":
		return errors.New("the target is joining another cluster")
	case info.ID == n.myID():
		return nil
	}
	return n.leaveAndJoin(target, info)
}

// joinVia makes this lone node join the group of the node at target.
func (n *Node) joinVia(target string) error {
	deadline := time.Now().Add(n.opts.NodeTimeout())
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := QueryInfo(ctx, target, n.opts.PeerPassword)
		cancel()
		if err == nil && !info.Leaving && info.AdminAddr != "" {
			if info.ID == n.myID() {
				return nil
			}
			err = n.leaveAndJoin(target, info)
			if err == nil || errors.Is(err, errNotLone) {
				return err
			}
		} else if err == nil {
			err = errors.New("the target is joining another cluster")
		}
		if time.Now().After(deadline) || n.stopped() {
			return err
		}
		n.log.Info("CLUSTER MEET: retrying", "target", target, "error", err)
		time.Sleep(300 * time.Millisecond)
	}
}

var errNotLone = errors.New("this node is no longer a cluster of one")

// claims are what a lone node brings into the group it joins.
type claims struct {
	node   fsm.Node
	ranges []fsm.SlotRange
}

func (n *Node) collectClaims(g *raftgroup.Group) claims {
	c := claims{node: fsm.Node{ID: n.myID(), Addr: n.self.Addr, RaftAddr: g.RaftAddr(), AdminAddr: n.self.AdminAddr}}
	g.FSM().View(func(s *fsm.State) {
		if me, ok := s.Nodes[n.myID()]; ok {
			c.node.ConfigEpoch = me.ConfigEpoch
			c.node.Flags = append([]string(nil), me.Flags...)
		}
		for _, r := range s.SlotRanges() {
			if r.NodeID == n.myID() {
				c.ranges = append(c.ranges, fsm.SlotRange{Start: r.Start, End: r.End})
			}
		}
	})
	return c
}

func (n *Node) leaveAndJoin(target string, info Info) error {
	n.mu.Lock()
	if n.closed || n.cur == nil || n.leaving || n.joins > 0 {
		n.mu.Unlock()
		return errors.New("busy: a join to this node is being served, or it is leaving")
	}
	n.leaving = true
	old := n.cur
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.leaving = false
		n.mu.Unlock()
	}()
	if len(old.Status().Members) != 1 {
		return errNotLone
	}
	addrs := []string{}
	for _, a := range []string{info.LeaderAdmin, info.AdminAddr} {
		if a != "" && (len(addrs) == 0 || addrs[0] != a) {
			addrs = append(addrs, a)
		}
	}
	cl := n.collectClaims(old)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		select {
		case <-n.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	// 2. The claims go first, so that this node's slots are in the
	// group's metadata before the others can see it without them.
	var api *admin.Client
	var err error
	for _, a := range addrs {
		api = admin.NewClient(a, n.opts.Token)
		if _, err = api.Propose(ctx, &fsm.UpsertNode{Node: cl.node}); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("record this node in the group of %s: %w", target, err)
	}
	if len(cl.ranges) > 0 {
		if _, err := api.Propose(ctx, &fsm.AddSlots{NodeID: n.myID(), Ranges: cl.ranges}); err != nil {
			n.log.Warn("CLUSTER MEET: the cluster refused this node's slots", "error", err)
		}
	}
	if cl.node.ConfigEpoch > 0 {
		if _, err := api.Propose(ctx, &fsm.SetConfigEpoch{NodeID: n.myID(), Epoch: cl.node.ConfigEpoch}); err != nil {
			n.log.Warn("CLUSTER MEET: setting this node's config epoch failed", "error", err)
		}
	}
	if len(cl.node.Flags) > 0 {
		_, _ = api.Propose(ctx, &fsm.SetNodeFlags{ID: n.myID(), Flags: cl.node.Flags})
	}
	// 3. Leave the group of one for a fresh member of the target's group.
	n.log.Info("CLUSTER MEET: leaving this cluster of one to join another", "target", target,
		"members", info.Members, "admin", addrs, "slots", len(cl.ranges))
	n.install(nil)
	if err := old.Close(); err != nil {
		n.log.Warn("closing the group of one", "error", err)
	}
	aside, err := n.moveAside("lone")
	if err != nil {
		return n.restore(nil, aside, fmt.Errorf("move the raft dir aside: %w", err))
	}
	fresh, err := n.openMember(false)
	if err != nil {
		return n.restore(nil, aside, fmt.Errorf("open a fresh raft member: %w", err))
	}
	n.install(fresh)
	res, err := admin.JoinAny(ctx, addrs, n.opts.Token, n.joinRequest(fresh), 300*time.Millisecond)
	if err != nil && !isMember(fresh, n.myID()) {
		return n.restore(fresh, aside, fmt.Errorf("join the group of %s: %w", target, err))
	}
	n.log.Info("CLUSTER MEET: joined the cluster", "target", target, "suffrage", res.Suffrage, "old_raft_dir", aside)
	// Catch up (up to the entry that added this member) before answering
	// for the cluster.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, ok := fresh.FSM().Node(n.myID()); ok && fresh.Raft().AppliedIndex() >= res.Index {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	n.refresh()
	return nil
}

func isMember(g *raftgroup.Group, id string) bool {
	f := g.Raft().GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return true
		}
	}
	return false
}

// restore goes back to the group of one after a failed join.
func (n *Node) restore(fresh *raftgroup.Group, aside string, cause error) error {
	if fresh != nil {
		n.install(nil)
		_ = fresh.Close()
	}
	if aside != "" {
		if _, err := n.moveAside("failed"); err != nil {
			n.log.Error("restoring the raft dir", "error", err)
		}
		if err := renameDir(aside, n.opts.Raft.Dir); err != nil {
			n.log.Error("restoring the raft dir", "from", aside, "error", err)
		}
	}
	g, err := n.openMember(true)
	if err != nil {
		return errors.Join(cause, fmt.Errorf("reopen the cluster of one: %w", err))
	}
	n.install(g)
	n.refresh()
	return fmt.Errorf("%w (back in its cluster of one)", cause)
}

// renameDir puts a raft dir moved aside back as dir/raft (the fresh one
// there, holding only the node-id file after moveAside, is dropped).
func renameDir(aside, dir string) error {
	dst := filepath.Join(dir, "raft")
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	return os.Rename(aside, dst)
}
