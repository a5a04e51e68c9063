package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/raftgroup"
	"github.com/skiffdb/skiff/slots"
)

// proposeTimeout bounds one CLUSTER command's Raft proposal.
const proposeTimeout = 10 * time.Second

var helpLines = []string{
	"ADDSLOTS <slot> [<slot> ...]",
	"    Assign slots to current node.",
	"ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Assign slots which are between <start-slot> and <end-slot> to current node.",
	"BUMPEPOCH",
	"    Advance the cluster config epoch.",
	"COUNT-FAILURE-REPORTS <node-id>",
	"    Return number of failure reports for <node-id>.",
	"COUNTKEYSINSLOT <slot>",
	"    Return the number of keys in <slot>.",
	"DELSLOTS <slot> [<slot> ...]",
	"    Delete slots information from current node.",
	"DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
	"    Delete slots information which are between <start-slot> and <end-slot> from current node.",
	"FAILOVER [FORCE|TAKEOVER]",
	"    Promote current replica node to being a master.",
	"FORGET <node-id>",
	"    Remove a node from the cluster.",
	"GETKEYSINSLOT <slot> <count>",
	"    Return key names stored by current node in a slot.",
	"FLUSHSLOTS",
	"    Delete current node own slots information.",
	"INFO",
	"    Return information about the cluster.",
	"KEYSLOT <key>",
	"    Return the hash slot for <key>.",
	"MEET <ip> <port> [<bus-port>]",
	"    Connect nodes into a working cluster.",
	"MYID",
	"    Return the node id.",
	"NODES",
	"    Return cluster configuration seen by node. Output format:",
	"    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
	"REPLICATE <node-id>",
	"    Configure current node as replica to <node-id>.",
	"RESET [HARD|SOFT]",
	"    Reset current node (default: soft).",
	"SET-CONFIG-EPOCH <epoch>",
	"    Set config epoch of current node.",
	"SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
	"    Set slot state.",
	"REPLICAS <node-id>",
	"    Return <node-id> replicas.",
	"SAVECONFIG",
	"    Force saving cluster configuration on disk.",
	"SLOTS",
	"    Return information about slots range mappings. Each range is made of:",
	"    start, end, master and replicas IP addresses, ports and ids",
	"SHARDS",
	"    Return information about slot range mappings and the nodes associated with them.",
	"LINKS",
	"    Return information about all network links between this node and its peers.",
	"    Output format is an array where each array element is a map containing attributes of a link",
}

// Errors shared with package node.
const (
	ErrInvalidSlot = "ERR Invalid or out of range slot"
	errNotInt      = "ERR value is not an integer or out of range"
	errSyntax      = "ERR syntax error"
)

// Env is what a CLUSTER command needs from the data node besides Local.
type Env struct {
	Local       Local    // the data node; its lock is held
	RequireFull bool     // cluster-require-full-coverage
	Endpoint    Endpoint // cluster-preferred-endpoint-type
}

func eq(b []byte, s string) bool { return strings.EqualFold(string(b), s) }

// Command executes CLUSTER <subcommand> (args[0] is "cluster" as sent).
// The subcommand is known and its Redis arity checked by the caller. It
// writes exactly one reply to w and runs with the data node's lock held:
// mutating subcommands wait for their Raft entry to commit (bounded).
func (n *Node) Command(w *resp.Writer, args [][]byte, env Env) {
	sub := strings.ToLower(string(args[1]))
	argc := len(args)
	l := env.Local
	v := n.View()
	live := func() *Live {
		lv := n.live(l.ReplOffset(), n.StateOK(env.RequireFull))
		lv.Endpoint = env.Endpoint
		return lv
	}
	switch {
	case sub == "help" && argc == 2:
		w.AppendArray(len(helpLines) + 3)
		w.AppendSimple(strings.ToUpper(string(args[0])) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
		for _, h := range helpLines {
			w.AppendSimple(h)
		}
		w.AppendSimple("HELP")
		w.AppendSimple("    Prints this help.")
	case sub == "meet" && (argc == 4 || argc == 5):
		n.cmdMeet(w, args)
	case sub == "nodes" && argc == 2:
		v.WriteNodes(w, live())
	case sub == "myid" && argc == 2:
		w.AppendBulkString(n.myID())
	case sub == "slots" && argc == 2:
		v.WriteSlots(w, live())
	case sub == "shards" && argc == 2:
		v.WriteShards(w, live())
	case sub == "info" && argc == 2:
		w.AppendVerbatim(v.InfoText(live()))
	case sub == "keyslot" && argc == 3:
		w.AppendInt(int64(slots.KeySlot(args[2])))
	case sub == "countkeysinslot" && argc == 3:
		sl, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil {
			w.AppendError(errNotInt)
			return
		}
		if sl < 0 || sl >= NumSlots {
			w.AppendError("ERR Invalid slot")
			return
		}
		w.AppendInt(int64(l.CountKeysInSlot(int(sl))))
	case sub == "getkeysinslot" && argc == 4:
		sl, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil {
			w.AppendError(errNotInt)
			return
		}
		max, err := strconv.ParseInt(string(args[3]), 10, 64)
		if err != nil {
			w.AppendError(errNotInt)
			return
		}
		if sl < 0 || sl >= NumSlots || max < 0 {
			w.AppendError("ERR Invalid slot or number of keys")
			return
		}
		if max > 1<<31 {
			max = 1 << 31
		}
		keys := l.KeysInSlot(int(sl), int(max))
		w.AppendArray(len(keys))
		for _, k := range keys {
			w.AppendBulkString(k)
		}
	case sub == "flushslots" && argc == 2:
		if l.DBSize() != 0 {
			w.AppendError("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")
			return
		}
		if len(v.Self.Slots) == 0 {
			w.AppendOK()
			return
		}
		n.flushMarks()
		n.replyPropose(w, &fsm.DelSlots{Ranges: append([]fsm.SlotRange(nil), v.Self.Slots...)})
	case (sub == "addslots" || sub == "delslots") && argc >= 3:
		del := sub == "delslots"
		list := make([]int, 0, argc-2)
		for _, a := range args[2:] {
			sl, ok := parseSlot(a)
			if !ok {
				w.AppendError(ErrInvalidSlot)
				return
			}
			list = append(list, sl)
		}
		seen := map[int]bool{}
		for _, sl := range list {
			if msg := checkSlot(v, seen, del, sl); msg != "" {
				w.AppendError(msg)
				return
			}
		}
		n.slotsChange(w, del, seen)
	case (sub == "addslotsrange" || sub == "delslotsrange") && argc >= 4:
		if argc%2 == 1 {
			w.AppendError(fmt.Sprintf("ERR wrong number of arguments for 'cluster|%s' command", sub))
			return
		}
		del := sub == "delslotsrange"
		seen := map[int]bool{}
		for j := 2; j < argc; j += 2 {
			start, ok := parseSlot(args[j])
			if !ok {
				w.AppendError(ErrInvalidSlot)
				return
			}
			end, ok := parseSlot(args[j+1])
			if !ok {
				w.AppendError(ErrInvalidSlot)
				return
			}
			if start > end {
				w.AppendError(fmt.Sprintf("ERR start slot number %d is greater than end slot number %d", start, end))
				return
			}
			for sl := start; sl <= end; sl++ {
				if msg := checkSlot(v, seen, del, sl); msg != "" {
					w.AppendError(msg)
					return
				}
			}
		}
		n.slotsChange(w, del, seen)
	case sub == "setslot" && argc >= 4:
		n.cmdSetSlot(w, args, v, l)
	case sub == "bumpepoch" && argc == 2:
		max := v.CurrentEpoch
		for _, x := range v.Nodes {
			if x.Epoch > max {
				max = x.Epoch
			}
		}
		if v.Self.Epoch != 0 && v.Self.Epoch == max {
			w.AppendSimple("STILL " + strconv.FormatUint(v.Self.Epoch, 10))
			return
		}
		res, err := n.propose(&fsm.BumpEpoch{NodeID: n.myID()})
		if err != nil {
			w.AppendError(proposalError(err))
			return
		}
		w.AppendSimple("BUMPED " + strconv.FormatUint(res.Epoch, 10))
	case sub == "saveconfig" && argc == 2:
		if err := n.SaveConfig(); err != nil {
			w.AppendError("ERR error saving the cluster node config: " + err.Error())
			return
		}
		w.AppendOK()
	case sub == "forget" && argc == 3:
		n.cmdForget(w, string(args[2]), v)
	case sub == "replicate" && argc == 3:
		id := string(args[2])
		m := v.Node(id)
		switch {
		case m == nil:
			w.AppendError("ERR Unknown node " + id)
		case m == v.Self:
			w.AppendError("ERR Can't replicate myself")
		case !m.Master:
			w.AppendError("ERR I can only replicate a master, not a replica.")
		case v.Self.Master && (v.Self.NumSlots != 0 || l.DBSize() != 0):
			w.AppendError("ERR To set a master the node must be empty and without assigned slots.")
		case !v.Self.Master && v.Self.MasterID == id:
			w.AppendOK()
		default:
			n.replyPropose(w, &fsm.Replicate{ID: n.myID(), MasterID: id})
		}
	case (sub == "slaves" || sub == "replicas") && argc == 3:
		m := v.Node(string(args[2]))
		switch {
		case m == nil:
			w.AppendError("ERR Unknown node " + string(args[2]))
		case !m.Master:
			w.AppendError("ERR The specified node is not a master")
		default:
			v.WriteReplicas(w, m, live())
		}
	case sub == "count-failure-reports" && argc == 3:
		if v.Node(string(args[2])) == nil {
			w.AppendError("ERR Unknown node " + string(args[2]))
			return
		}
		w.AppendInt(0)
	case sub == "failover" && (argc == 2 || argc == 3):
		n.cmdFailover(w, args, v)
	case sub == "set-config-epoch" && argc == 3:
		e, err := strconv.ParseInt(string(args[2]), 10, 64)
		switch {
		case err != nil:
			w.AppendError(errNotInt)
		case e < 0:
			w.AppendError(fmt.Sprintf("ERR Invalid config epoch specified: %d", e))
		case len(v.Nodes) > 1:
			w.AppendError("ERR The user can assign a config epoch only when the node does not know any other node.")
		case v.Self.Epoch != 0:
			w.AppendError("ERR Node config epoch is already non-zero")
		default:
			n.replyPropose(w, &fsm.SetConfigEpoch{NodeID: n.myID(), Epoch: uint64(e)})
		}
	case sub == "reset" && (argc == 2 || argc == 3):
		if argc == 3 && !eq(args[2], "hard") && !eq(args[2], "soft") {
			w.AppendError(errSyntax)
			return
		}
		if v.Self.Master && l.DBSize() != 0 {
			w.AppendError("ERR CLUSTER RESET can't be called with master nodes containing keys")
			return
		}
		if err := n.Reset(argc == 3 && eq(args[2], "hard"), l); err != nil {
			w.AppendError("ERR " + err.Error())
			return
		}
		w.AppendOK()
	case sub == "links" && argc == 2:
		n.writeLinks(w, v)
	case sub == "skiff-freeze" && argc == 3:
		// CLUSTER SKIFF-FREEZE <ms>: a replica's manual failover pauses
		// this master's writes (0 ends the pause); the reply is the
		// replication offset no write will pass meanwhile.
		ms, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil || ms < 0 {
			w.AppendError(errNotInt)
			return
		}
		if !v.Self.Master {
			w.AppendError("ERR not a master")
			return
		}
		l.Freeze(time.Now().Add(time.Duration(ms) * time.Millisecond))
		w.AppendInt(l.ReplOffset())
	case sub == "skiff-publish" && argc == 5:
		// CLUSTER SKIFF-PUBLISH publish|spublish <channel> <message>: a
		// message published on another node (bus.go).
		if !eq(args[2], "publish") && !eq(args[2], "spublish") {
			w.AppendError(errSyntax)
			return
		}
		w.AppendInt(int64(n.ReceivePublish(l, eq(args[2], "spublish"), args[3], args[4])))
	case sub == "skiff-join" && argc == 7:
		// CLUSTER SKIFF-JOIN: a member of a group of several asks this
		// lone node to join it (meet.go).
		if msg := n.SkiffJoin(args); msg != "" {
			w.AppendError(msg)
			return
		}
		w.AppendOK()
	case sub == "skiff-info" && argc == 2:
		writeAny(w, n.SkiffInfo(l).Reply())
	case sub == "skiff-pfail" && argc == 3:
		// CLUSTER SKIFF-PFAIL <id>: the Raft leader asks whether this
		// voter also finds the node unreachable (failover.go).
		w.AppendInt(n.pfailOpinion(string(args[2])))
	default:
		w.AppendError(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try %s HELP.",
			args[1], strings.ToUpper(string(args[0]))))
	}
}

func writeAny(w *resp.Writer, v any) {
	switch x := v.(type) {
	case string:
		w.AppendBulkString(x)
	case int64:
		w.AppendInt(x)
	case []any:
		w.AppendArray(len(x))
		for _, e := range x {
			writeAny(w, e)
		}
	default:
		w.AppendNull()
	}
}

func parseSlot(b []byte) (int, bool) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 || n >= NumSlots {
		return 0, false
	}
	return int(n), true
}

// checkSlot is Redis's checkSlotAssignmentsOrReply for one slot.
func checkSlot(v *View, seen map[int]bool, del bool, sl int) string {
	if del && v.Owner[sl] == nil {
		return fmt.Sprintf("ERR Slot %d is already unassigned", sl)
	}
	if !del && v.Owner[sl] != nil {
		return fmt.Sprintf("ERR Slot %d is already busy", sl)
	}
	if seen[sl] {
		return fmt.Sprintf("ERR Slot %d specified multiple times", sl)
	}
	seen[sl] = true
	return ""
}

func toRanges(set map[int]bool) []fsm.SlotRange {
	list := make([]int, 0, len(set))
	for sl := range set {
		list = append(list, sl)
	}
	sort.Ints(list)
	var out []fsm.SlotRange
	for _, sl := range list {
		if k := len(out); k > 0 && out[k-1].End == sl-1 {
			out[k-1].End = sl
			continue
		}
		out = append(out, fsm.SlotRange{Start: sl, End: sl})
	}
	return out
}

func (n *Node) slotsChange(w *resp.Writer, del bool, set map[int]bool) {
	ranges := toRanges(set)
	if del {
		n.flushMarks()
		n.replyPropose(w, &fsm.DelSlots{Ranges: ranges})
		return
	}
	n.replyPropose(w, &fsm.AddSlots{NodeID: n.myID(), Ranges: ranges})
}

func (n *Node) cmdSetSlot(w *resp.Writer, args [][]byte, v *View, l Local) {
	if !v.Self.Master {
		w.AppendError("ERR Please use SETSLOT only with masters.")
		return
	}
	sl, ok := parseSlot(args[2])
	if !ok {
		w.AppendError(ErrInvalidSlot)
		return
	}
	argc := len(args)
	action := args[3]
	switch {
	case eq(action, "migrating") && argc == 5:
		if v.Owner[sl] != v.Self {
			w.AppendError(fmt.Sprintf("ERR I'm not the owner of hash slot %d", sl))
			return
		}
		dst := v.Node(string(args[4]))
		if dst == nil {
			w.AppendError("ERR I don't know about node " + string(args[4]))
			return
		}
		if !dst.Master {
			w.AppendError("ERR Target node is not a master")
			return
		}
		if dst == v.Self {
			// Redis accepts it (a no-op mark on itself); the metadata
			// cannot hold it.
			w.AppendOK()
			return
		}
		n.setMark(&fsm.SetSlot{Slot: sl, Mode: fsm.SlotMigrating, NodeID: dst.ID, By: n.myID()})
		w.AppendOK()
	case eq(action, "importing") && argc == 5:
		if v.Owner[sl] == v.Self {
			w.AppendError(fmt.Sprintf("ERR I'm already the owner of hash slot %d", sl))
			return
		}
		src := v.Node(string(args[4]))
		if src == nil {
			w.AppendError("ERR I don't know about node " + string(args[4]))
			return
		}
		if !src.Master {
			w.AppendError("ERR Target node is not a master")
			return
		}
		n.setMark(&fsm.SetSlot{Slot: sl, Mode: fsm.SlotImporting, NodeID: src.ID, By: n.myID()})
		w.AppendOK()
	case eq(action, "stable") && argc == 4:
		if v.Migrating[sl] == nil && v.Importing[sl] == nil {
			w.AppendOK()
			return
		}
		n.setMark(&fsm.SetSlot{Slot: sl, Mode: fsm.SlotStable, By: n.myID()})
		w.AppendOK()
	case eq(action, "node") && argc == 5:
		dst := v.Node(string(args[4]))
		if dst == nil {
			w.AppendError("ERR Unknown node " + string(args[4]))
			return
		}
		if !dst.Master {
			w.AppendError("ERR Target node is not a master")
			return
		}
		if v.Owner[sl] == v.Self && dst != v.Self && l.CountKeysInSlot(sl) != 0 {
			w.AppendError(fmt.Sprintf("ERR Can't assign hashslot %d to a different node while I still hold keys for this hash slot.", sl))
			return
		}
		if v.Owner[sl] == dst && v.Migrating[sl] == nil && v.Importing[sl] == nil || n.catchUpSlotNode(sl, dst.ID) {
			w.AppendOK() // already so (the later SETSLOT NODE of a migration)
			return
		}
		n.flushSlotMarks(sl, dst.ID)
		if err := n.proposeSlotNode(&fsm.SetSlot{Slot: sl, Mode: fsm.SlotNode, NodeID: dst.ID, By: n.myID()}); err != nil {
			w.AppendError(proposalError(err))
			return
		}
		w.AppendOK()
	default:
		w.AppendError("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")
	}
}

func (n *Node) cmdForget(w *resp.Writer, id string, v *View) {
	m := v.Node(id)
	switch {
	case m == nil:
		if g := n.Group(); g != nil && fsm.ValidNodeID(id) && g.FSM().IsRemoved(id) {
			w.AppendOK() // already forgotten by the cluster (del-node sends FORGET to every node)
			return
		}
		w.AppendError("ERR Unknown node " + id)
		return
	case m == v.Self:
		w.AppendError("ERR I tried hard but I can't forget myself...")
		return
	case !v.Self.Master && v.Self.MasterID == id:
		w.AppendError("ERR Can't forget my master!")
		return
	}
	if err := n.removeMember(id); err != nil {
		w.AppendError("ERR " + err.Error())
		return
	}
	w.AppendOK()
}

// removeMember removes a node from the group for good (through the
// leader, waiting out an election).
func (n *Node) removeMember(id string) error {
	g := n.Group()
	if g == nil {
		return errSwapping
	}
	ctx, cancel := context.WithTimeout(context.Background(), proposeTimeout)
	defer cancel()
	for {
		var err error
		if g.IsLeader() {
			_, err = g.Remove(ctx, id)
			var nf *raftgroup.NotFoundError
			if errors.As(err, &nf) {
				err = nil
			}
		} else if l := g.Leader(); l.LeaderAdminAddr == "" {
			err = &raftgroup.NotLeaderError{LeaderID: l.LeaderID}
		} else {
			_, err = admin.NewClient(l.LeaderAdminAddr, n.opts.Token).Remove(ctx, id)
			var ae *admin.APIError
			if errors.As(err, &ae) && ae.Code == admin.CodeNotFound {
				err = nil
			}
		}
		if err == nil {
			break
		}
		if !electionError(err) && !raftgroup.IsNotLeader(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
	n.waitLocal(ctx, g)
	return nil
}

// waitLocal waits until this member has applied everything the leader
// committed so far (bounded), then rebuilds the view.
func (n *Node) waitLocal(ctx context.Context, g *raftgroup.Group) {
	if g.IsLeader() {
		n.refresh()
		return
	}
	deadline := time.Now().Add(2 * time.Second)
	target := g.Raft().CommitIndex()
	for time.Now().Before(deadline) && g.Raft().AppliedIndex() < target && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	n.refresh()
}

func (n *Node) cmdFailover(w *resp.Writer, args [][]byte, v *View) {
	force, takeover := false, false
	if len(args) == 3 {
		switch {
		case eq(args[2], "force"):
			force = true
		case eq(args[2], "takeover"):
			force, takeover = true, true
		default:
			w.AppendError(errSyntax)
			return
		}
	}
	_ = takeover // both promote at once: the Raft entry is the consensus
	m := v.Node(v.Self.MasterID)
	if m != nil {
		if _, strong := n.strongMaster(m.ID); strong {
			// The replica would serve before the master's lease surely
			// ended (docs/consistency.md): not built yet.
			w.AppendError("ERR CLUSTER FAILOVER is not supported with consistency strong yet")
			return
		}
	}
	switch {
	case v.Self.Master:
		w.AppendError("ERR You should send CLUSTER FAILOVER to a replica")
		return
	case m == nil:
		w.AppendError("ERR I'm a replica but my master is unknown to me")
		return
	case !force && m.Fail:
		w.AppendError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
		return
	}
	if !force {
		if p, ok := n.peerState(m.ID); ok && !p.Reachable {
			w.AppendError("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")
			return
		}
		// Redis's manual failover: +OK now, then in the background the
		// master stops taking writes, this replica reaches its offset, and
		// only then the promotion is decided.
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			if err := n.manualFailover(m); err != nil {
				n.log.Warn("Manual failover timed out or failed", "error", err)
			}
		}()
		w.AppendOK()
		return
	}
	if err := n.promote(m.ID); err != nil {
		w.AppendError(proposalError(err))
		return
	}
	w.AppendOK()
}

// mfTimeout is Redis's CLUSTER_MF_TIMEOUT: how long a manual failover may
// wait for the replica to reach the paused master's offset.
const mfTimeout = 5 * time.Second

// promote decides and performs the failover of masterID to this replica:
// two Raft entries; every node follows the new metadata (role following).
func (n *Node) promote(masterID string) error {
	res, err := n.propose(&fsm.StartFailover{Kind: fsm.FailoverCluster, Target: masterID, Candidate: n.myID(), DecidedBy: n.myID()})
	if err != nil {
		return err
	}
	_, err = n.propose(&fsm.FinishFailover{Kind: fsm.FailoverCluster, Target: masterID, Epoch: res.Epoch, Promoted: true})
	return err
}

// manualFailover is CLUSTER FAILOVER without options: the master freezes
// its writes (CLUSTER SKIFF-FREEZE, answering its replication offset), this
// replica waits until it has processed that offset, then promotes itself.
// The frozen writes then get -MOVED to this node. No acknowledged write is
// lost. On timeout the master is unfrozen and nothing changes.
func (n *Node) manualFailover(m *NodeInfo) error {
	l := n.getLocal()
	if l == nil {
		return errors.New("no data node")
	}
	freeze := strconv.FormatInt(int64(2*mfTimeout/time.Millisecond), 10)
	rep, err := sendCommand(m.Addr, n.opts.PeerPassword, time.Second, "CLUSTER", "SKIFF-FREEZE", freeze)
	if err != nil {
		return fmt.Errorf("pause the master's writes: %w", err)
	}
	target, ok := rep.(int64)
	if !ok {
		return fmt.Errorf("pause the master's writes: unexpected reply %v", rep)
	}
	n.log.Info("Manual failover: the master's writes are paused", "master", m.ID, "offset", target)
	deadline := time.Now().Add(mfTimeout)
	for l.Offset() < target {
		if time.Now().After(deadline) || n.stopped() {
			_, _ = sendCommand(m.Addr, n.opts.PeerPassword, time.Second, "CLUSTER", "SKIFF-FREEZE", "0")
			return fmt.Errorf("this replica did not reach the master's offset %d in %v (at %d)", target, mfTimeout, l.Offset())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := n.promote(m.ID); err != nil {
		_, _ = sendCommand(m.Addr, n.opts.PeerPassword, time.Second, "CLUSTER", "SKIFF-FREEZE", "0")
		return err
	}
	n.log.Info("Manual failover: promoted", "offset", target)
	return nil
}

func (n *Node) writeLinks(w *resp.Writer, v *View) {
	var out []*NodeInfo
	for _, x := range v.Nodes {
		if x == v.Self {
			continue
		}
		if p, ok := n.peerState(x.ID); ok && p.Reachable {
			out = append(out, x)
		}
	}
	w.AppendArray(2 * len(out))
	now := time.Now().UnixMilli()
	for _, x := range out {
		for _, dir := range []string{"to", "from"} {
			w.AppendMap(6)
			w.AppendBulkString("direction")
			w.AppendBulkString(dir)
			w.AppendBulkString("node")
			w.AppendBulkString(x.ID)
			w.AppendBulkString("create-time")
			w.AppendInt(now)
			w.AppendBulkString("events")
			w.AppendBulkString("r")
			w.AppendBulkString("send-buffer-allocated")
			w.AppendInt(0)
			w.AppendBulkString("send-buffer-used")
			w.AppendInt(0)
		}
	}
}

var errSwapping = errors.New("this node is joining another cluster (CLUSTER MEET); retry")

// propose commits cmd (through the leader), waits until this member has
// applied it and rebuilds the view.
func (n *Node) propose(cmd fsm.Command) (fsm.Result, error) {
	g := n.Group()
	if g == nil {
		return fsm.Result{}, errSwapping
	}
	ctx, cancel := context.WithTimeout(context.Background(), proposeTimeout)
	defer cancel()
	if err := n.ensureSelf(ctx, g); err != nil {
		return fsm.Result{}, err
	}
	res, err := proposeSure(ctx, g, cmd)
	if err != nil {
		return res, err
	}
	if err := g.WaitForIndex(ctx, res.Index); err != nil {
		return res, err
	}
	n.refresh()
	return res, nil
}

// proposeWaitingLeader is g.Propose that waits out an election (no
// leader known, or its admin address not known yet) within ctx instead
// of failing at once: a command sent during a leader change (e.g. in
// the middle of a resharding) succeeds a few hundred ms later.
//
// resent reports that an attempt failed in a way that does not exclude
// its delivery (a network error while forwarding) before the one that
// gave the result.
func proposeWaitingLeader(ctx context.Context, g *raftgroup.Group, cmd fsm.Command) (res fsm.Result, err error, resent bool) {
	for {
		res, err = g.Propose(ctx, cmd)
		if err == nil || !electionError(err) {
			return res, err, resent
		}
		if !noLeaderError(err) {
			resent = true
		}
		select {
		case <-ctx.Done():
			return res, err, resent
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// noLeaderError: the proposal was refused for want of a leader (never
// committed).
func noLeaderError(err error) bool {
	var nl *raftgroup.NotLeaderError
	if errors.As(err, &nl) {
		return true
	}
	var ae *admin.APIError
	return errors.As(err, &ae) && (ae.Code == admin.CodeNoLeader || ae.Code == admin.CodeNotLeader)
}

// electionError reports an error that a leader change explains: no
// leader known here, the leader's admin address unknown yet, the leader
// answering that it has none (503), or the old leader gone.
func electionError(err error) bool {
	var nl *raftgroup.NotLeaderError
	if errors.As(err, &nl) {
		return nl.LeaderID == "" || nl.LeaderAdminAddr == ""
	}
	var ae *admin.APIError
	if errors.As(err, &ae) {
		return ae.Code == admin.CodeNoLeader || ae.Code == admin.CodeNotLeader
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &oe) || errors.As(err, &ne) && !ne.Timeout()
}

// ensureSelf records this node in the metadata if the leader has not yet
// (a fresh node's first ADDSLOTS can come before that).
func (n *Node) ensureSelf(ctx context.Context, g *raftgroup.Group) error {
	if _, ok := g.FSM().Node(n.myID()); ok {
		return nil
	}
	res, err := proposeSure(ctx, g, &fsm.UpsertNode{Node: fsm.Node{ID: n.myID(), Addr: n.self.Addr, RaftAddr: n.self.RaftAddr, AdminAddr: n.self.AdminAddr}})
	if err != nil {
		return err
	}
	return g.WaitForIndex(ctx, res.Index)
}

func (n *Node) replyPropose(w *resp.Writer, cmd fsm.Command) {
	if _, err := n.propose(cmd); err != nil {
		w.AppendError(proposalError(err))
		return
	}
	w.AppendOK()
}

// proposalError is the reply to a failed proposal: a refusal by the state
// machine carries Redis's text.
func proposalError(err error) string {
	var ce *fsm.CommandError
	if errors.As(err, &ce) {
		return "ERR " + ce.Msg
	}
	return "ERR cluster metadata change failed: " + err.Error()
}

func (n *Node) cmdMeet(w *resp.Writer, args [][]byte) {
	port, err := strconv.ParseInt(string(args[3]), 10, 64)
	if err != nil {
		w.AppendError("ERR Invalid TCP base port specified: " + string(args[3]))
		return
	}
	cport := port + 10000
	if len(args) == 5 {
		if cport, err = strconv.ParseInt(string(args[4]), 10, 64); err != nil {
			w.AppendError("ERR Invalid TCP bus port specified: " + string(args[4]))
			return
		}
	}
	ip := string(args[2])
	if net.ParseIP(ip) == nil || port <= 0 || port > 65535 || cport <= 0 || cport > 65535 {
		w.AppendError(fmt.Sprintf("ERR Invalid node address specified: %s:%s", args[2], args[3]))
		return
	}
	if msg := n.Meet(ip, int(port)); msg != "" {
		w.AppendError(msg)
		return
	}
	w.AppendOK()
}
