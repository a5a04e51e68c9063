package ops

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/fsm"
)

// Topology is the JSON of GET /api/topology: what the page and
// `skiff admin topology|top` show.
type Topology struct {
	Mode        string         `json:"mode"` // cluster | sentinel
	GeneratedAt time.Time      `json:"generated_at"`
	Self        TopoSelf       `json:"self"`
	Raft        *TopoRaft      `json:"raft,omitempty"`
	Shards      []TopoShard    `json:"shards"`
	Slots       TopoSlots      `json:"slots"`
	Sentinel    []TopoMonitor  `json:"sentinel_masters,omitempty"`
	Failovers   []fsm.Failover `json:"failovers_in_progress"`
	Events      []Event        `json:"events"`
}

// TopoSelf is the process answering.
type TopoSelf struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	AdminAddr string `json:"admin_addr"`
}

// TopoRaft is the Raft group as this member sees it.
type TopoRaft struct {
	State       string       `json:"state"`
	Term        uint64       `json:"term"`
	LeaderID    string       `json:"leader_id"`
	LeaderAddr  string       `json:"leader_admin_addr"`
	CommitIndex uint64       `json:"commit_index"`
	Applied     uint64       `json:"applied_index"`
	Epoch       uint64       `json:"current_epoch"`
	HasQuorum   bool         `json:"has_leader"`
	Members     []TopoMember `json:"members"`
}

// TopoMember is one Raft member.
type TopoMember struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	AdminAddr string `json:"admin_addr"`
	Suffrage  string `json:"suffrage"`
	Leader    bool   `json:"leader"`
	Health    string `json:"health"` // ok, unreachable (as the leader sees it), unknown
}

// TopoShard is a master and its replicas.
type TopoShard struct {
	ID       string     `json:"id"`
	Slots    string     `json:"slots"` // "0-5460,5462"
	NumSlots int        `json:"num_slots"`
	Nodes    []TopoNode `json:"nodes"` // master first
}

// TopoNode is one data node with its replication state.
type TopoNode struct {
	ID        string `json:"id"`
	Addr      string `json:"addr"`
	AdminAddr string `json:"admin_addr,omitempty"`
	Role      string `json:"role"`   // master | replica
	State     string `json:"state"`  // ok, suspected (this node can't reach it), failed (the majority's verdict)
	Link      string `json:"link"`   // master: up/down (answers INFO); replica: its state in the master's INFO (online, wait_bgsave, ...) or down
	Offset    int64  `json:"offset"` // master_repl_offset / the replica's acknowledged offset
	LagBytes  int64  `json:"lag_bytes"`
	LagSec    int64  `json:"lag_seconds"` // the master's INFO lag= (seconds since the replica's last ack)
	Self      bool   `json:"self,omitempty"`
	Error     string `json:"error,omitempty"`
}

// TopoSlots is the slot map as ranges with owner indexes into Shards.
type TopoSlots struct {
	Assigned  int             `json:"assigned"`
	Ranges    []TopoSlotRange `json:"ranges"`
	Migrating []fsm.SlotMark  `json:"migrating"`
	Importing []fsm.SlotMark  `json:"importing"`
}

// TopoSlotRange is a range of slots owned by Shards[Shard].
type TopoSlotRange struct {
	Start int    `json:"start"`
	End   int    `json:"end"`
	Shard int    `json:"shard"`
	Owner string `json:"owner"`
}

// TopoMonitor is a master a sentinel monitors.
type TopoMonitor struct {
	Name      string `json:"name"`
	Status    string `json:"status"` // ok, sdown, odown
	Address   string `json:"address"`
	Replicas  int    `json:"replicas"`
	Sentinels int    `json:"sentinels"`
	Epoch     uint64 `json:"config_epoch"`
}

func (p *Ops) handleTopology(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	writeJSON(w, http.StatusOK, p.Topology(ctx))
}

// Topology builds the current topology.
func (p *Ops) Topology(ctx context.Context) *Topology {
	t := &Topology{Mode: p.o.Mode, GeneratedAt: time.Now().UTC(), Shards: []TopoShard{}, Failovers: []fsm.Failover{},
		Events: p.ev.list()}
	if t.Events == nil {
		t.Events = []Event{}
	}
	g := p.o.Group()
	var d *fsm.SnapshotData
	if g != nil {
		st := g.Status()
		d = g.FSM().Export()
		t.Self = TopoSelf{ID: st.ID, Addr: st.Addr, AdminAddr: st.AdminAddr}
		tr := &TopoRaft{State: strings.ToLower(st.State), Term: st.Term, LeaderID: st.LeaderID, LeaderAddr: st.LeaderAdmin,
			CommitIndex: st.CommitIndex, Applied: st.AppliedIndex, Epoch: d.CurrentEpoch, HasQuorum: st.LeaderID != ""}
		for _, m := range st.Members {
			tr.Members = append(tr.Members, TopoMember{ID: m.ID, Addr: m.Addr, AdminAddr: m.AdminAddr,
				Suffrage: strings.ToLower(m.Suffrage), Leader: m.Leader, Health: m.Health})
		}
		if st.State != "Leader" && st.LeaderAdmin != "" {
			// Only the leader knows which members answer; a follower
			// asks it (bounded), so every node's page shows health.
			if lst, err := leaderHealth(ctx, st.LeaderAdmin, p.o.Token); err == nil {
				for i := range tr.Members {
					if h, ok := lst[tr.Members[i].ID]; ok {
						tr.Members[i].Health = h
					}
				}
			}
		}
		t.Raft = tr
		t.Failovers = append(t.Failovers, d.Failovers...)
	}
	if d != nil && p.o.Mode == "cluster" {
		p.clusterTopology(ctx, t, d)
	}
	if p.o.SentinelInfo != nil {
		in := parseInfo(p.o.SentinelInfo())
		epochs := map[string]uint64{}
		if d != nil {
			for _, m := range d.Monitors {
				epochs[m.Name] = m.ConfigEpoch
			}
		}
		for i := 0; ; i++ {
			v, ok := in["master"+strconv.Itoa(i)]
			if !ok || i > 100000 {
				break
			}
			f := fields(v)
			t.Sentinel = append(t.Sentinel, TopoMonitor{Name: f["name"], Status: f["status"], Address: f["address"],
				Replicas: int(atof(f["slaves"])), Sentinels: int(atof(f["sentinels"])), Epoch: epochs[f["name"]]})
		}
	}
	return t
}

func (p *Ops) clusterTopology(ctx context.Context, t *Topology, d *fsm.SnapshotData) {
	byID := map[string]fsm.Node{}
	for _, n := range d.Nodes {
		byID[n.ID] = n
	}
	suspect := map[string]bool{}
	if cn := p.o.Cluster; cn != nil {
		if v := cn.View(); v != nil {
			for _, n := range v.Nodes {
				suspect[n.ID] = n.PFail
			}
		}
	}
	shards := d.Shards
	if shards == nil {
		if g := p.o.Group(); g != nil {
			shards = g.FSM().Shards()
		}
	}
	// Ask every master for its INFO replication (replicas' offsets and
	// lag as the master sees them) and every replica for its own link.
	var addrs []string
	for _, n := range d.Nodes {
		if n.Addr != "" {
			addrs = append(addrs, n.Addr)
		}
	}
	infos := p.rem.infos(ctx, addrs)
	shardIdx := map[string]int{}
	for _, sh := range shards {
		ts := TopoShard{ID: sh.ID, Slots: rangesText(sh.Slots)}
		for _, r := range sh.Slots {
			ts.NumSlots += r.End - r.Start + 1
		}
		var masterInfo info
		var masterOff int64
		for i, id := range sh.Nodes {
			n := byID[id]
			tn := TopoNode{ID: id, Addr: n.Addr, AdminAddr: n.AdminAddr, Role: n.Role, State: "ok", Self: id == t.Self.ID}
			if n.Failed {
				tn.State = "failed"
			} else if suspect[id] {
				tn.State = "suspected"
			}
			ri := infos[n.Addr]
			if ri.err != "" {
				tn.Error = ri.err
			}
			if i == 0 && n.Role == fsm.RoleMaster {
				tn.Link = "down"
				if ri.info != nil {
					tn.Link = "up"
					masterInfo = ri.info
					v, _ := ri.info.num("master_repl_offset")
					masterOff = int64(v)
					tn.Offset = masterOff
				}
			} else {
				tn.Link = "down"
				host, port := splitAddr(n.Addr)
				for k := 0; masterInfo != nil && k < 10000; k++ {
					v, ok := masterInfo["slave"+strconv.Itoa(k)]
					if !ok {
						break
					}
					f := fields(v)
					if f["port"] == port && (f["ip"] == host || host == "") {
						tn.Link = f["state"]
						tn.Offset = int64(atof(f["offset"]))
						tn.LagSec = int64(atof(f["lag"]))
						tn.LagBytes = max(0, masterOff-tn.Offset)
					}
				}
				if tn.Link == "down" && ri.info != nil {
					// Not (yet) listed by the master: the replica's own view.
					if ri.info["master_link_status"] == "up" {
						tn.Link = "up"
					} else if ri.info["master_sync_in_progress"] == "1" {
						tn.Link = "sync"
					}
					v, _ := ri.info.num("slave_repl_offset")
					tn.Offset = int64(v)
				}
			}
			ts.Nodes = append(ts.Nodes, tn)
		}
		shardIdx[sh.MasterID] = len(t.Shards)
		t.Shards = append(t.Shards, ts)
	}
	for _, r := range d.Slots {
		idx, ok := shardIdx[r.NodeID]
		if !ok {
			idx = -1
		}
		t.Slots.Ranges = append(t.Slots.Ranges, TopoSlotRange{Start: r.Start, End: r.End, Shard: idx, Owner: r.NodeID})
		t.Slots.Assigned += r.End - r.Start + 1
	}
	t.Slots.Migrating = append([]fsm.SlotMark{}, d.Migrating...)
	t.Slots.Importing = append([]fsm.SlotMark{}, d.Importing...)
	sort.Slice(t.Slots.Ranges, func(i, j int) bool { return t.Slots.Ranges[i].Start < t.Slots.Ranges[j].Start })
}

func splitAddr(a string) (host, port string) {
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return a, ""
	}
	return strings.Trim(a[:i], "[]"), a[i+1:]
}

func rangesText(rs []fsm.SlotRange) string {
	parts := make([]string, 0, len(rs))
	for _, r := range rs {
		if r.Start == r.End {
			parts = append(parts, strconv.Itoa(r.Start))
		} else {
			parts = append(parts, strconv.Itoa(r.Start)+"-"+strconv.Itoa(r.End))
		}
	}
	return strings.Join(parts, ",")
}
