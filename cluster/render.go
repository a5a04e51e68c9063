package cluster

import (
	"sort"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/internal/resp"
)

// Live is what the replies show besides the metadata: this node's
// replication offset, what it knows of its peers, the clock, the state.
type Live struct {
	NowMs      int64
	SelfOffset int64 // this node's replication offset (master_repl_offset, or a replica's processed offset)
	// Peer returns what this node last heard from another node (ok false:
	// nothing yet).
	Peer    func(id string) (PeerState, bool)
	StateOK bool
	Stats   MsgStats
	// Endpoint is cluster-preferred-endpoint-type (CLUSTER SLOTS and
	// SHARDS).
	Endpoint Endpoint
}

// PeerState is what the peer poller last learnt about a node.
type PeerState struct {
	Offset    int64
	LastPong  int64 // unix ms of the last answer
	Reachable bool  // the last poll was answered
	PFail     bool  // no answer for longer than the node timeout
}

// MsgStats are the counters CLUSTER INFO shows as cluster_stats_messages_*.
type MsgStats struct {
	PingSent, PongSent, MeetSent, PingReceived, PongReceived, MeetReceived int64
}

func (l *Live) peer(id string) (PeerState, bool) {
	if l == nil || l.Peer == nil {
		return PeerState{}, false
	}
	return l.Peer(id)
}

// Offset is a node's replication offset as this node knows it.
func (v *View) Offset(n *NodeInfo, l *Live) int64 {
	if n == v.Self {
		if l == nil {
			return 0
		}
		return l.SelfOffset
	}
	if p, ok := l.peer(n.ID); ok {
		return p.Offset
	}
	return 0
}

// replicaAvailable is Redis's isReplicaAvailable: not failed, and with
// a non-zero offset (a node never heard from counts as available, so
// that replicas are not hidden before the first poll).
func (v *View) replicaAvailable(n *NodeInfo, l *Live) bool {
	if n.Fail {
		return false
	}
	if n != v.Self {
		if _, ok := l.peer(n.ID); !ok {
			return true
		}
	}
	return v.Offset(n, l) != 0
}

// AppendFlags appends a node's flags as CLUSTER NODES shows them.
func (v *View) AppendFlags(b []byte, n *NodeInfo, l *Live) []byte {
	start := len(b)
	add := func(f string) {
		if len(b) > start {
			b = append(b, ',')
		}
		b = append(b, f...)
	}
	if n == v.Self {
		add("myself")
	}
	if n.Master {
		add("master")
	} else {
		add("slave")
	}
	// FAIL replaces PFAIL, as in Redis (a node is never shown with both).
	if p, ok := l.peer(n.ID); !n.Fail && ((ok && p.PFail && n != v.Self) || n.PFail) {
		add("fail?")
	}
	if n.Fail {
		add("fail")
	}
	if n.NoFailover {
		add("nofailover")
	}
	if len(b) == start {
		add("noflags")
	}
	return b
}

// AppendNodeLine appends one CLUSTER NODES line (without the newline).
func (v *View) AppendNodeLine(b []byte, n *NodeInfo, l *Live) []byte {
	b = append(b, n.ID...)
	b = append(b, ' ')
	b = append(b, n.IP...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(n.Port), 10)
	b = append(b, '@')
	b = strconv.AppendInt(b, int64(n.BusPort), 10)
	if n.Hostname != "" {
		b = append(b, ',')
		b = append(b, n.Hostname...)
	}
	b = append(b, ' ')
	b = v.AppendFlags(b, n, l)
	b = append(b, ' ')
	if !n.Master && n.MasterID != "" {
		b = append(b, n.MasterID...)
	} else {
		b = append(b, '-')
	}
	var pong int64
	connected := true
	if n != v.Self {
		if p, ok := l.peer(n.ID); ok {
			pong = p.LastPong
			connected = p.Reachable
		}
	}
	b = append(b, " 0 "...)
	b = strconv.AppendInt(b, pong, 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, n.ShownEpoch(v), 10)
	if connected {
		b = append(b, " connected"...)
	} else {
		b = append(b, " disconnected"...)
	}
	for _, r := range n.Slots {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(r.Start), 10)
		if r.End != r.Start {
			b = append(b, '-')
			b = strconv.AppendInt(b, int64(r.End), 10)
		}
	}
	if n == v.Self {
		for _, sl := range sortedSlots(v.Migrating, v.Importing) {
			if d := v.Migrating[sl]; d != nil {
				b = append(b, " ["...)
				b = strconv.AppendInt(b, int64(sl), 10)
				b = append(b, "->-"...)
				b = append(b, d.ID...)
				b = append(b, ']')
			} else if s := v.Importing[sl]; s != nil {
				b = append(b, " ["...)
				b = strconv.AppendInt(b, int64(sl), 10)
				b = append(b, "-<-"...)
				b = append(b, s.ID...)
				b = append(b, ']')
			}
		}
	}
	return b
}

func sortedSlots(ms ...map[int]*NodeInfo) []int {
	seen := map[int]bool{}
	var out []int
	for _, m := range ms {
		for sl := range m {
			if !seen[sl] {
				seen[sl] = true
				out = append(out, sl)
			}
		}
	}
	sort.Ints(out)
	return out
}

// NodesText is CLUSTER NODES: one line per node, each ending in "\n".
func (v *View) NodesText(l *Live) string {
	var b []byte
	for _, n := range v.Nodes {
		b = v.AppendNodeLine(b, n, l)
		b = append(b, '\n')
	}
	return string(b)
}

// ConfigText is nodes.conf: the CLUSTER NODES lines and the vars line.
func (v *View) ConfigText(l *Live) string {
	var sb strings.Builder
	sb.WriteString(v.NodesText(l))
	sb.WriteString("vars currentEpoch ")
	sb.WriteString(strconv.FormatUint(v.CurrentEpoch, 10))
	sb.WriteString(" lastVoteEpoch 0\n")
	return sb.String()
}

// WriteNodes writes CLUSTER NODES.
func (v *View) WriteNodes(w *resp.Writer, l *Live) { w.AppendVerbatim(v.NodesText(l)) }

// WriteReplicas writes CLUSTER REPLICAS/SLAVES of a master: an array of
// node lines.
func (v *View) WriteReplicas(w *resp.Writer, m *NodeInfo, l *Live) {
	w.AppendArray(len(m.Replicas))
	for _, r := range m.Replicas {
		w.AppendBulkString(string(v.AppendNodeLine(nil, r, l)))
	}
}

// writeSlotNode writes one node of CLUSTER SLOTS as Redis 7.0 does: the
// preferred endpoint (the IP; the hostname or "?"; null for
// unknown-endpoint), the port, the id, then a map of the networking
// metadata that is not the preferred endpoint: "ip" unless the IP is
// preferred, "hostname" when the node has one and it is not preferred.
func (v *View) writeSlotNode(w *resp.Writer, n *NodeInfo, ep Endpoint) {
	w.AppendArray(4)
	if ep == EndpointUnknown {
		w.AppendNull()
	} else {
		w.AppendBulkString(n.PreferredEndpoint(ep))
	}
	w.AppendInt(int64(n.Port))
	w.AppendBulkString(n.ID)
	withIP := ep != EndpointIP
	withHost := ep != EndpointHostname && n.Hostname != ""
	k := 0
	if withIP {
		k++
	}
	if withHost {
		k++
	}
	w.AppendMap(k)
	if withIP {
		w.AppendBulkString("ip")
		w.AppendBulkString(n.IP)
	}
	if withHost {
		w.AppendBulkString("hostname")
		w.AppendBulkString(n.Hostname)
	}
}

// WriteSlots writes CLUSTER SLOTS: per run of slots with one master, in
// slot order, [start, end, master, available replicas...].
func (v *View) WriteSlots(w *resp.Writer, l *Live) {
	type run struct {
		start, end int
		n          *NodeInfo
	}
	var runs []run
	for i := 0; i < NumSlots; i++ {
		n := v.Owner[i]
		if n == nil {
			continue
		}
		if k := len(runs); k > 0 && runs[k-1].n == n && runs[k-1].end == i-1 {
			runs[k-1].end = i
			continue
		}
		runs = append(runs, run{i, i, n})
	}
	w.AppendArray(len(runs))
	for _, r := range runs {
		var reps []*NodeInfo
		for _, x := range r.n.Replicas {
			if v.replicaAvailable(x, l) {
				reps = append(reps, x)
			}
		}
		w.AppendArray(3 + len(reps))
		w.AppendInt(int64(r.start))
		w.AppendInt(int64(r.end))
		v.writeSlotNode(w, r.n, l.Endpoint)
		for _, x := range reps {
			v.writeSlotNode(w, x, l.Endpoint)
		}
	}
}

func (v *View) writeShardNode(w *resp.Writer, n *NodeInfo, l *Live) {
	off := v.Offset(n, l)
	if n.Hostname != "" {
		w.AppendMap(8)
	} else {
		w.AppendMap(7)
	}
	w.AppendBulkString("id")
	w.AppendBulkString(n.ID)
	w.AppendBulkString("port")
	w.AppendInt(int64(n.Port))
	w.AppendBulkString("ip")
	w.AppendBulkString(n.IP)
	w.AppendBulkString("endpoint")
	w.AppendBulkString(n.PreferredEndpoint(l.Endpoint))
	if n.Hostname != "" {
		w.AppendBulkString("hostname")
		w.AppendBulkString(n.Hostname)
	}
	w.AppendBulkString("role")
	if n.Master {
		w.AppendBulkString("master")
	} else {
		w.AppendBulkString("replica")
	}
	w.AppendBulkString("replication-offset")
	w.AppendInt(off)
	w.AppendBulkString("health")
	switch {
	case n.Fail:
		w.AppendBulkString("fail")
	case !n.Master && off == 0:
		w.AppendBulkString("loading")
	default:
		w.AppendBulkString("online")
	}
}

// WriteShards writes CLUSTER SHARDS: per master (even slotless) a map of
// its slots (flat start/end pairs) and its nodes (master first).
func (v *View) WriteShards(w *resp.Writer, l *Live) {
	var masters []*NodeInfo
	for _, n := range v.Nodes {
		if n.Master {
			masters = append(masters, n)
		}
	}
	w.AppendArray(len(masters))
	for _, m := range masters {
		w.AppendMap(2)
		w.AppendBulkString("slots")
		w.AppendArray(2 * len(m.Slots))
		for _, r := range m.Slots {
			w.AppendInt(int64(r.Start))
			w.AppendInt(int64(r.End))
		}
		w.AppendBulkString("nodes")
		w.AppendArray(1 + len(m.Replicas))
		v.writeShardNode(w, m, l)
		for _, r := range m.Replicas {
			v.writeShardNode(w, r, l)
		}
	}
}

// InfoText is CLUSTER INFO.
func (v *View) InfoText(l *Live) string {
	ok, pfail, fail := 0, 0, 0
	for i := 0; i < NumSlots; i++ {
		n := v.Owner[i]
		switch {
		case n == nil:
		case n.Fail:
			fail++
		case n.PFail:
			pfail++
		default:
			ok++
		}
	}
	state := "fail"
	if l != nil && l.StateOK {
		state = "ok"
	}
	var b []byte
	kv := func(k string, n int64) {
		b = append(b, k...)
		b = append(b, ':')
		b = strconv.AppendInt(b, n, 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "cluster_state:"...)
	b = append(b, state...)
	b = append(b, "\r\n"...)
	kv("cluster_slots_assigned", int64(v.Assigned))
	kv("cluster_slots_ok", int64(ok))
	kv("cluster_slots_pfail", int64(pfail))
	kv("cluster_slots_fail", int64(fail))
	kv("cluster_known_nodes", int64(len(v.Nodes)))
	kv("cluster_size", int64(v.Size()))
	b = append(b, "cluster_current_epoch:"...)
	b = strconv.AppendUint(b, v.CurrentEpoch, 10)
	b = append(b, "\r\ncluster_my_epoch:"...)
	b = strconv.AppendUint(b, v.MyEpoch(), 10)
	b = append(b, "\r\n"...)
	var st MsgStats
	if l != nil {
		st = l.Stats
	}
	sent := []struct {
		name string
		n    int64
	}{{"ping", st.PingSent}, {"pong", st.PongSent}, {"meet", st.MeetSent}}
	var tot int64
	for _, s := range sent {
		if s.n != 0 {
			kv("cluster_stats_messages_"+s.name+"_sent", s.n)
			tot += s.n
		}
	}
	kv("cluster_stats_messages_sent", tot)
	recv := []struct {
		name string
		n    int64
	}{{"ping", st.PingReceived}, {"pong", st.PongReceived}, {"meet", st.MeetReceived}}
	tot = 0
	for _, s := range recv {
		if s.n != 0 {
			kv("cluster_stats_messages_"+s.name+"_received", s.n)
			tot += s.n
		}
	}
	kv("cluster_stats_messages_received", tot)
	kv("total_cluster_links_buffer_limit_exceeded", 0)
	return string(b)
}
