// Package cluster is a node's view and handling of Redis Cluster metadata:
// it renders the CLUSTER replies (NODES, SLOTS, SHARDS, INFO, ...) from the
// metadata the Raft group applied (package fsm), decides redirections
// (MOVED, ASK, CROSSSLOT, TRYAGAIN, CLUSTERDOWN), turns the mutating
// CLUSTER subcommands into Raft proposals, forms the group the way
// redis-cli expects (CLUSTER MEET: a lone node joins the other side's
// group and brings its slot claims), makes this node follow the role the
// metadata gives it, and writes nodes.conf for people and tools.
//
// Package node calls into it; it never imports node. What it needs from
// the data node (key counts, the replication offset, becoming a replica)
// comes through the Local interface.
package cluster

import (
	"net"
	"sort"
	"strconv"

	"github.com/skiffdb/skiff/fsm"
)

// NumSlots is the number of hash slots.
const NumSlots = fsm.NumSlots

// NodeInfo is one node of a View.
type NodeInfo struct {
	ID         string
	IP         string // "" for a node that has not met another one yet (as Redis shows it)
	Port       int
	BusPort    int    // the Raft port
	Addr       string // RESP host:port
	AdminAddr  string
	Master     bool
	MasterID   string // replicas: their master ("" if unknown)
	Epoch      uint64 // own config epoch
	NoFailover bool
	Hostname   string // cluster-announce-hostname ("" = none)
	Fail       bool   // marked failed (by the failure detector)
	PFail      bool   // suspected by this node

	Replicas []*NodeInfo // masters: replicas in id order
	Slots    []fsm.SlotRange
	NumSlots int
}

// Endpoint is cluster-preferred-endpoint-type: what clients are told to
// connect to (CLUSTER SLOTS, CLUSTER SHARDS' endpoint, MOVED and ASK).
type Endpoint uint8

// The values of cluster-preferred-endpoint-type.
const (
	EndpointIP       Endpoint = iota // "ip" (the default)
	EndpointHostname                 // "hostname"
	EndpointUnknown                  // "unknown-endpoint"
)

// ParseEndpoint maps a cluster-preferred-endpoint-type value to an
// Endpoint (EndpointIP for anything else).
func ParseEndpoint(s string) Endpoint {
	switch s {
	case "hostname":
		return EndpointHostname
	case "unknown-endpoint":
		return EndpointUnknown
	}
	return EndpointIP
}

// PreferredEndpoint is the endpoint clients are told for n, as Redis's
// getPreferredEndpoint: the IP, the hostname ("?" when the node has
// none), or "" for unknown-endpoint.
func (n *NodeInfo) PreferredEndpoint(ep Endpoint) string {
	switch ep {
	case EndpointHostname:
		if n.Hostname != "" {
			return n.Hostname
		}
		return "?"
	case EndpointUnknown:
		return ""
	}
	return n.IP
}

// ShownEpoch is the epoch CLUSTER NODES shows: a replica shows its
// master's.
func (n *NodeInfo) ShownEpoch(v *View) uint64 {
	if !n.Master {
		if m := v.Node(n.MasterID); m != nil {
			return m.Epoch
		}
	}
	return n.Epoch
}

// View is an immutable snapshot of the cluster metadata as one node sees
// it. It is rebuilt after every applied Raft entry; readers load it
// without locks.
type View struct {
	SelfID       string
	Self         *NodeInfo   // never nil (synthesized while the metadata lacks this node)
	Nodes        []*NodeInfo // in id order, Self included
	byID         map[string]*NodeInfo
	Owner        [NumSlots]*NodeInfo
	Migrating    map[int]*NodeInfo // slot -> destination (marks of slots Self owns)
	Importing    map[int]*NodeInfo // slot -> source (marks Self set)
	CurrentEpoch uint64
	Index        uint64 // the applied Raft index this view reflects
	Assigned     int    // slots with an owner
	Lone         bool   // Self knows no other node (Redis shows no IP then)
	// MetaHostname is Self's hostname in the metadata. Self.Hostname is
	// this node's own cluster-announce-hostname (Node.refresh), shown at
	// once as Redis shows its own; the metadata follows (syncHostname).
	MetaHostname string
	gen          uint64 // the Node's member generation it was built from
	marks        uint64 // the version of this node's pending marks it shows
}

// Node returns a node by id, or nil.
func (v *View) Node(id string) *NodeInfo {
	if v == nil {
		return nil
	}
	return v.byID[id]
}

// Size is Redis's cluster_size: masters that own at least one slot.
func (v *View) Size() int {
	n := 0
	for _, x := range v.Nodes {
		if x.Master && x.NumSlots > 0 {
			n++
		}
	}
	return n
}

// MyEpoch is CLUSTER INFO's cluster_my_epoch.
func (v *View) MyEpoch() uint64 { return v.Self.ShownEpoch(v) }

// NodeByAddr finds a node by its RESP address.
func (v *View) NodeByAddr(addr string) *NodeInfo {
	for _, n := range v.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// SelfAddrs are this node's own addresses, used while the metadata does
// not have its entry yet.
type SelfAddrs struct {
	Addr, RaftAddr, AdminAddr string
}

func splitHostPort(a string) (string, int) {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// BuildView derives a View from applied metadata. self is this node's id
// and addresses.
func BuildView(s *fsm.State, selfID string, self SelfAddrs) *View {
	v := &View{SelfID: selfID, byID: map[string]*NodeInfo{}, Migrating: map[int]*NodeInfo{},
		Importing: map[int]*NodeInfo{}, CurrentEpoch: s.CurrentEpoch, Index: s.Index}
	ids := make([]string, 0, len(s.Nodes))
	for id := range s.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	mk := func(n *fsm.Node) *NodeInfo {
		ni := &NodeInfo{ID: n.ID, Addr: n.Addr, AdminAddr: n.AdminAddr, Master: n.Role != fsm.RoleReplica,
			MasterID: n.MasterID, Epoch: n.ConfigEpoch, Fail: n.Failed, Hostname: n.Hostname}
		ni.IP, ni.Port = splitHostPort(n.Addr)
		_, ni.BusPort = splitHostPort(n.RaftAddr)
		for _, f := range n.Flags {
			if f == "nofailover" {
				ni.NoFailover = true
			}
		}
		return ni
	}
	for _, id := range ids {
		ni := mk(s.Nodes[id])
		v.byID[id] = ni
		v.Nodes = append(v.Nodes, ni)
	}
	if v.byID[selfID] == nil {
		ni := mk(&fsm.Node{ID: selfID, Addr: self.Addr, RaftAddr: self.RaftAddr, AdminAddr: self.AdminAddr, Role: fsm.RoleMaster})
		v.byID[selfID] = ni
		v.Nodes = append(v.Nodes, ni)
		sort.Slice(v.Nodes, func(i, j int) bool { return v.Nodes[i].ID < v.Nodes[j].ID })
	}
	v.Self = v.byID[selfID]
	v.MetaHostname = v.Self.Hostname
	for _, n := range v.Nodes {
		if !n.Master {
			if m := v.byID[n.MasterID]; m != nil {
				m.Replicas = append(m.Replicas, n)
			}
		}
	}
	var lastID string
	var last *NodeInfo
	for i := 0; i < NumSlots; i++ {
		id := s.Slots[i]
		if id == "" {
			continue
		}
		if id != lastID {
			lastID, last = id, v.byID[id] // runs of slots share an owner
		}
		n := last
		if n == nil {
			continue
		}
		v.Owner[i] = n
		v.Assigned++
		n.NumSlots++
		if k := len(n.Slots); k > 0 && n.Slots[k-1].End == i-1 {
			n.Slots[k-1].End = i
		} else {
			n.Slots = append(n.Slots, fsm.SlotRange{Start: i, End: i})
		}
	}
	for sl, dst := range s.Migrating {
		if s.Slots[sl] == selfID {
			if n := v.byID[dst]; n != nil {
				v.Migrating[sl] = n
			}
		}
	}
	for sl, src := range s.Importing {
		if s.ImportingBy[sl] == selfID {
			if n := v.byID[src]; n != nil {
				v.Importing[sl] = n
			}
		}
	}
	v.Lone = len(v.Nodes) == 1
	if v.Lone {
		v.Self.IP = ""
	}
	return v
}

// setOwner makes dst the owner of slot sl without marks in a view that is
// not published yet (overlays of changes committed but not applied here).
func (v *View) setOwner(sl int, dst *NodeInfo) {
	if dst == nil {
		return
	}
	delete(v.Migrating, sl)
	delete(v.Importing, sl)
	prev := v.Owner[sl]
	if prev == dst {
		return
	}
	v.Owner[sl] = dst
	if prev == nil {
		v.Assigned++
	} else {
		prev.NumSlots--
		prev.Slots = v.ownedRanges(prev)
	}
	dst.NumSlots++
	dst.Slots = v.ownedRanges(dst)
}

func (v *View) ownedRanges(x *NodeInfo) []fsm.SlotRange {
	var out []fsm.SlotRange
	for i := 0; i < NumSlots; i++ {
		if v.Owner[i] != x {
			continue
		}
		if k := len(out); k > 0 && out[k-1].End == i-1 {
			out[k-1].End = i
		} else {
			out = append(out, fsm.SlotRange{Start: i, End: i})
		}
	}
	return out
}
