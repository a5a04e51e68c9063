package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/raftgroup"
)

// Reset is CLUSTER RESET [HARD|SOFT] (checked by the caller): this node
// leaves its group (removed through the leader, unless already removed)
// and becomes a fresh cluster of one; a replica becomes a master and loses
// its data (l.ResetData, with the data lock held). A node that was in a
// group of several gets a new id even with SOFT: the group remembers
// removed ids for good (Redis forgets them after a minute), and a node
// must be able to join again. HARD always takes a new id.
func (n *Node) Reset(hard bool, l Local) error {
	g := n.Group()
	if g == nil {
		return errSwapping
	}
	n.flushMarks()
	me := n.myID()
	n.resetGen.Add(1) // void the follow decisions taken before the reset
	st := g.Status()
	wasGroup := len(st.Members) > 1 || st.Removed
	ctx, cancel := context.WithTimeout(context.Background(), proposeTimeout)
	defer cancel()
	if len(st.Members) > 1 && !st.Removed {
		if err := n.removeSelf(ctx, g); err != nil {
			return fmt.Errorf("leave the cluster: %w", err)
		}
	}
	n.mu.Lock()
	if n.leaving || n.closed {
		n.mu.Unlock()
		return errors.New("busy: this node is joining another cluster")
	}
	n.leaving = true
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		n.leaving = false
		n.mu.Unlock()
	}()
	n.bus.reset.Store(true) // a master's shard channels go (bus.go)
	n.install(nil)
	if err := g.Close(); err != nil {
		n.log.Warn("CLUSTER RESET: closing the raft member", "error", err)
	}
	aside, err := n.moveAside("reset")
	if err != nil {
		return fmt.Errorf("move the raft dir aside: %w", err)
	}
	if hard || wasGroup {
		var b [20]byte
		if _, err := rand.Read(b[:]); err != nil {
			return err
		}
		id := hex.EncodeToString(b[:])
		if err := os.WriteFile(filepath.Join(n.opts.Raft.Dir, "raft", "node-id"), []byte(id+"\n"), 0o644); err != nil {
			return err
		}
		n.id.Store(&id)
	}
	fresh, err := n.openMember(true)
	if err != nil {
		return fmt.Errorf("open a fresh raft member: %w", err)
	}
	n.install(fresh)
	n.closePeers()
	l.ResetData()
	// Not under followMu: a follow decision may hold it while it waits
	// for the data lock we run under. resetGen voids such a decision.
	master := "-"
	n.followed.Store(&master)
	n.resetGen.Add(1)
	n.refresh()
	n.log.Info("CLUSTER RESET: this node is a cluster of one", "hard", hard, "old_id", me, "id", n.myID(), "old_raft_dir", aside)
	return nil
}

// removeSelf asks the leader to remove this node from the group.
func (n *Node) removeSelf(ctx context.Context, g *raftgroup.Group) error {
	me := n.myID()
	// Until ctx ends: after a node or a voter went away (Redis's suite
	// resets all nodes right after killing and restarting some), the
	// group may take a few election rounds to have a leader again.
	for ctx.Err() == nil {
		if g.IsLeader() {
			_, err := g.Remove(ctx, me) // hands leadership over first
			if err == nil {
				return nil
			}
			if !raftgroup.IsNotLeader(err) {
				return err
			}
			continue
		}
		l := g.Leader()
		if l.LeaderAdminAddr == "" {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		_, err := admin.NewClient(l.LeaderAdminAddr, n.opts.Token).Remove(ctx, me)
		if err == nil {
			return nil
		}
		var ae *admin.APIError
		if errors.As(err, &ae) && (ae.Code == admin.CodeNotFound || ae.Code == admin.CodeRemoved) {
			return nil
		}
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New("no leader took the removal")
}
