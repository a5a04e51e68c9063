package sentinel

// Group formation: sentinels started with the same sentinel.conf and no
// --bootstrap/--join find each other through hello messages and end up in
// one Raft group. The rule (docs/sentinel.md, "Group formation"):
//
//   - A sentinel without Raft state starts as a group of one.
//   - A lone sentinel waits one discovery period, then, every check
//     interval, asks each known peer for its group (SENTINEL SKIFF-GROUP:
//     group id = smallest member id, member count, leader admin address,
//     whether it takes members now).
//   - The best group is the one with the most members, ties going to the
//     smallest group id; the lone sentinel's own group (id = its myid)
//     competes too. When the best is another group that takes members, the
//     lone sentinel leaves its own group (its Raft dir is renamed, never
//     deleted), opens a fresh member and joins the best group through its
//     admin API; if that fails, it goes back to its old state.
//   - A lone sentinel takes members only once its discovery period is over
//     and while it knows no better group; while leaving, it refuses joins,
//     and it does not leave while a join to it is being served.
//   - A member of a group of two or more never leaves it by itself, and
//     two such groups are never merged: a sentinel that hears of another
//     one logs a warning naming both.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/raftgroup"
)

// GroupInfo is a sentinel's answer to SENTINEL SKIFF-GROUP.
type GroupInfo struct {
	GroupID     string // the smallest member id ("" while the sentinel has no group)
	Members     int
	LeaderAdmin string // the leader's admin address ("" if unknown)
	Accepting   bool   // it takes join requests now
	Admin       string // the answering sentinel's own admin address
}

// Info is this sentinel's GroupInfo.
func (g *Group) Info() GroupInfo {
	info := GroupInfo{Admin: g.AdminAddr()}
	r := g.current()
	if r == nil {
		return info
	}
	st := g.raftStatus(r)
	info.Members = len(st.Members)
	for _, m := range st.Members {
		if info.GroupID == "" || m.ID < info.GroupID {
			info.GroupID = m.ID
		}
	}
	info.LeaderAdmin = st.LeaderAdmin
	if st.LeaderID == g.opts.MyID {
		info.LeaderAdmin = g.AdminAddr()
	}
	g.mu.Lock()
	info.Accepting = info.Members > 0 && g.refuseJoinLocked(info.Members <= 1) == ""
	g.mu.Unlock()
	return info
}

// Command answers Skiff's own SENTINEL subcommands (args is the whole
// command, SENTINEL first). It returns false for a subcommand it does not
// know. SENTINEL SKIFF-GROUP replies
// [group-id, member-count, leader-admin-addr, accepting (0/1), own-admin-addr].
func (g *Group) Command(w *resp.Writer, args [][]byte) bool {
	if len(args) < 2 || !strings.EqualFold(string(args[1]), "skiff-group") {
		return false
	}
	if len(args) != 2 {
		w.AppendError("ERR wrong number of arguments for 'sentinel|skiff-group' command")
		return true
	}
	info := g.Info()
	w.AppendArray(5)
	w.AppendBulkString(info.GroupID)
	w.AppendInt(int64(info.Members))
	w.AppendBulkString(info.LeaderAdmin)
	if info.Accepting {
		w.AppendInt(1)
	} else {
		w.AppendInt(0)
	}
	w.AppendBulkString(info.Admin)
	return true
}

// Start begins automatic formation (not with --join).
func (g *Group) Start() {
	g.mu.Lock()
	if g.started || g.closed || len(g.opts.Join) > 0 {
		g.mu.Unlock()
		return
	}
	g.started = true
	g.mu.Unlock()
	g.wg.Add(1)
	go g.formationLoop()
}

func (g *Group) sleep(d time.Duration) bool {
	select {
	case <-g.stop:
		return false
	case <-time.After(d):
		return true
	}
}

func (g *Group) formationLoop() {
	defer g.wg.Done()
	if !g.sleep(g.opts.DiscoveryWait) {
		return
	}
	wait := g.opts.CheckInterval
	for {
		if err := g.formationRound(); err != nil {
			g.log.Warn("sentinel group formation", "error", err)
			if wait *= 2; wait > 30*time.Second {
				wait = 30 * time.Second
			}
		} else {
			wait = g.opts.CheckInterval
		}
		if !g.sleep(wait) {
			return
		}
	}
}

type peerGroup struct {
	peer Peer
	info GroupInfo
}

// queryPeers asks every known peer for its group, in parallel.
func (g *Group) queryPeers() []peerGroup {
	peers := g.knownPeers()
	out := make([]peerGroup, len(peers))
	ok := make([]bool, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		if p.RunID == g.opts.MyID || p.Port <= 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			var tcfg *tls.Config
			var err error
			if g.opts.TLS != nil {
				tcfg, err = g.opts.TLS()
			}
			var info GroupInfo
			if err == nil {
				info, err = QueryGroupTLS(ctx, net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), tcfg, g.opts.PeerUser, g.opts.PeerPass)
			}
			if err != nil {
				// A sentinel whose SENTINEL command does not pass SKIFF-GROUP
				// on: ask its admin API at the default admin port.
				hctx, hcancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
				if hinfo, herr := QueryGroupHTTP(hctx, net.JoinHostPort(p.Host, strconv.Itoa(peerAdminPort(p)))); herr == nil {
					info, err = hinfo, nil
				}
				hcancel()
			}
			if err != nil {
				g.log.Debug("asking a sentinel for its group", "peer", p.RunID, "addr", net.JoinHostPort(p.Host, strconv.Itoa(p.Port)), "error", err)
				return
			}
			out[i], ok[i] = peerGroup{peer: p, info: info}, true
		}()
	}
	wg.Wait()
	res := out[:0]
	for i := range out {
		if ok[i] {
			res = append(res, out[i])
		}
	}
	return res
}

// betterGroup orders groups: more members first, then the smaller id.
func betterGroup(a, b GroupInfo) bool {
	if a.Members != b.Members {
		return a.Members > b.Members
	}
	return a.GroupID != "" && a.GroupID < b.GroupID
}

func (g *Group) formationRound() error {
	r := g.current()
	if r == nil {
		return nil
	}
	st := r.Status()
	infos := g.queryPeers()
	if len(st.Members) > 1 {
		g.mu.Lock()
		g.better, g.discovered = false, true
		g.mu.Unlock()
		g.warnOtherGroups(st, infos)
		return nil
	}
	if len(st.Members) == 0 {
		return nil // not bootstrapped and not joined (should not happen without --join)
	}
	self := GroupInfo{GroupID: g.opts.MyID, Members: 1}
	best, found := self, false
	var target peerGroup
	for _, pg := range infos {
		if pg.info.Members > 0 && betterGroup(pg.info, best) {
			best, found, target = pg.info, true, pg
		}
	}
	g.mu.Lock()
	g.better = found && !g.opts.Bootstrap
	g.discovered = true
	g.mu.Unlock()
	if !found || g.opts.Bootstrap || !best.Accepting {
		return nil
	}
	return g.leaveAndJoin(target)
}

// warnOtherGroups reports multi-member groups this one will never merge
// with (once a minute per group).
func (g *Group) warnOtherGroups(st raftgroup.Status, infos []peerGroup) {
	members := map[string]bool{}
	ourID := ""
	for _, m := range st.Members {
		members[m.ID] = true
		if ourID == "" || m.ID < ourID {
			ourID = m.ID
		}
	}
	for _, pg := range infos {
		if pg.info.Members < 2 || members[pg.peer.RunID] || members[pg.info.GroupID] {
			continue
		}
		if t, ok := g.warned[pg.info.GroupID]; ok && time.Since(t) < time.Minute {
			continue
		}
		g.warned[pg.info.GroupID] = time.Now()
		g.log.Warn(fmt.Sprintf("two sentinel raft groups monitor the same masters: this one (group %s, %d members) "+
			"and group %s (%d members, seen through sentinel %s at %s:%d); groups of two or more are never merged: "+
			"move the sentinels of one group to the other (stop them, clear the raft dir under their dir, start them with join)",
			ourID, len(st.Members), pg.info.GroupID, pg.info.Members, pg.peer.RunID, pg.peer.Host, pg.peer.Port))
	}
}

// leaveAndJoin leaves this lone group for target's group.
func (g *Group) leaveAndJoin(target peerGroup) error {
	g.mu.Lock()
	if g.closed || g.cur == nil || g.leaving || g.joins > 0 {
		g.mu.Unlock()
		return nil // a join to us is being served: decide again next round
	}
	g.leaving = true
	old := g.cur
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.leaving = false
		g.mu.Unlock()
	}()
	// No join can start now; one may have completed just before.
	if n := len(old.Status().Members); n != 1 {
		return nil
	}
	addrs := []string{}
	for _, a := range []string{target.info.LeaderAdmin, target.info.Admin} {
		if a != "" && (len(addrs) == 0 || addrs[0] != a) {
			addrs = append(addrs, a)
		}
	}
	// Leave only for a group whose admin API answers.
	reachable := false
	for _, a := range addrs {
		ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
		c := admin.NewClient(a, g.opts.Token)
		c.NoLeaderRetries = -1
		_, err := c.Status(ctx)
		cancel()
		if err == nil {
			reachable = true
			break
		}
	}
	if !reachable {
		return fmt.Errorf("group %s (via sentinel %s): admin API unreachable at %s", target.info.GroupID,
			target.peer.RunID, strings.Join(addrs, ","))
	}
	g.log.Info("leaving this group of one to join the sentinels' group", "group", target.info.GroupID,
		"members", target.info.Members, "via", target.peer.RunID, "admin", strings.Join(addrs, ","))
	g.install(nil)
	if err := old.Close(); err != nil {
		g.log.Warn("closing the group of one", "error", err)
	}
	aside, err := g.moveAside("old")
	if err != nil {
		return g.restore(nil, "", fmt.Errorf("move the raft dir aside: %w", err))
	}
	fresh, err := g.openMember(false)
	if err != nil {
		return g.restore(nil, aside, fmt.Errorf("open a fresh raft member: %w", err))
	}
	g.install(fresh)
	req := raftgroup.JoinRequest{ID: g.opts.MyID, RaftAddr: fresh.RaftAddr(), Addr: g.respAddr(), AdminAddr: g.AdminAddr()}
	ctx, cancel := context.WithTimeout(context.Background(), g.opts.JoinTimeout)
	defer cancel()
	go func() {
		select {
		case <-g.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := admin.JoinAny(ctx, addrs, g.opts.Token, req, 300*time.Millisecond)
	if err != nil {
		if g.isMember(fresh) {
			g.log.Warn("the join answer was lost, but this sentinel is a member of the group", "error", err)
			return nil
		}
		return g.restore(fresh, aside, fmt.Errorf("join group %s: %w", target.info.GroupID, err))
	}
	g.log.Info("joined the sentinels' raft group", "group", target.info.GroupID, "suffrage", res.Suffrage,
		"index", res.Index, "old_raft_dir", aside)
	return nil
}

// isMember reports whether the fresh member was added to a group (its
// raft configuration names it).
func (g *Group) isMember(r *raftgroup.Group) bool {
	f := r.Raft().GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == g.opts.MyID {
			return true
		}
	}
	return false
}

// restore goes back to the group of one after a failed join: the fresh
// member is closed and its dir moved aside, the old dir moved back.
func (g *Group) restore(fresh *raftgroup.Group, aside string, cause error) error {
	if fresh != nil {
		g.install(nil)
		_ = fresh.Close()
	}
	if aside != "" {
		if err := g.renameBack(aside); err != nil {
			g.log.Error("restoring the raft dir", "from", aside, "error", err)
		}
	}
	r, err := g.openMember(true)
	if err != nil {
		return errors.Join(cause, fmt.Errorf("reopen the group of one: %w", err))
	}
	g.install(r)
	return fmt.Errorf("%w (back in its group of one)", cause)
}

// renameBack moves a raft dir put aside back in place, moving whatever is
// there now aside as "failed".
func (g *Group) renameBack(aside string) error {
	dst := filepath.Join(g.dir, "raft")
	if _, err := os.Stat(dst); err == nil {
		if _, err := g.moveAside("failed"); err != nil {
			return err
		}
	}
	return os.Rename(aside, dst)
}

// ---------------------------------------------------------------- client

// peerAdminPort is a peer's admin port when it uses the default
// (DefaultMemberPorts).
var peerAdminPort = func(p Peer) int { _, a := DefaultMemberPorts(p.Port); return a }

// groupInfoJSON is GET /sentinel-group.
type groupInfoJSON struct {
	ID          string `json:"id"`
	GroupID     string `json:"group_id"`
	Members     int    `json:"members"`
	LeaderAdmin string `json:"leader_admin_addr"`
	Accepting   bool   `json:"accepting"`
	Admin       string `json:"admin_addr"`
}

// QueryGroupHTTP asks a sentinel's admin API (host:port) for its group
// (GET /sentinel-group).
func QueryGroupHTTP(ctx context.Context, adminAddr string) (GroupInfo, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, admin.URL(adminAddr, "/sentinel-group"), nil)
	if err != nil {
		return GroupInfo{}, err
	}
	res, err := (&http.Client{Transport: admin.Transport()}).Do(req)
	if err != nil {
		return GroupInfo{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return GroupInfo{}, fmt.Errorf("GET /sentinel-group: HTTP %d", res.StatusCode)
	}
	var j groupInfoJSON
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<16)).Decode(&j); err != nil {
		return GroupInfo{}, err
	}
	return GroupInfo{GroupID: j.GroupID, Members: j.Members, LeaderAdmin: j.LeaderAdmin, Accepting: j.Accepting, Admin: j.Admin}, nil
}

// QueryGroup asks the sentinel at addr (its RESP address) for its group
// with SENTINEL SKIFF-GROUP, authenticating first when pass is set.
func QueryGroup(ctx context.Context, addr, user, pass string) (GroupInfo, error) {
	return QueryGroupTLS(ctx, addr, nil, user, pass)
}

// QueryGroupTLS is QueryGroup over TLS when tcfg is set.
func QueryGroupTLS(ctx context.Context, addr string, tcfg *tls.Config, user, pass string) (GroupInfo, error) {
	var d net.Dialer
	var conn net.Conn
	var err error
	if tcfg != nil {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tcfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return GroupInfo{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var cmds []byte
	n := 0
	if pass != "" {
		if user != "" {
			cmds = resp.AppendCommand(cmds, "AUTH", user, pass)
		} else {
			cmds = resp.AppendCommand(cmds, "AUTH", pass)
		}
		n++
	}
	cmds = resp.AppendCommand(cmds, "SENTINEL", "SKIFF-GROUP")
	if _, err := conn.Write(cmds); err != nil {
		return GroupInfo{}, err
	}
	br := bufio.NewReader(conn)
	for i := 0; i < n; i++ {
		if _, err := groupReadReply(br); err != nil {
			return GroupInfo{}, fmt.Errorf("AUTH: %w", err)
		}
	}
	v, err := groupReadReply(br)
	if err != nil {
		return GroupInfo{}, err
	}
	a, ok := v.([]any)
	if !ok || len(a) < 5 {
		return GroupInfo{}, fmt.Errorf("SENTINEL SKIFF-GROUP: unexpected reply %v", v)
	}
	str := func(x any) string { s, _ := x.(string); return s }
	num := func(x any) int64 { n, _ := x.(int64); return n }
	return GroupInfo{GroupID: str(a[0]), Members: int(num(a[1])), LeaderAdmin: str(a[2]),
		Accepting: num(a[3]) == 1, Admin: str(a[4])}, nil
}

// groupReadReply reads one reply (resp.ReadReply); an error reply comes
// back as an error.
func groupReadReply(r *bufio.Reader) (any, error) {
	v, err := resp.ReadReply(r, resp.ReplyLimits{MaxBulk: 1 << 20, MaxElems: 1024, MaxDepth: 4})
	if e, ok := v.(resp.ReplyError); ok {
		return nil, errors.New(string(e))
	}
	return v, err
}
