package node

// Cluster mode (cluster-enabled yes): the CLUSTER command, ASKING,
// READONLY, READWRITE, and the redirection of keyed commands. The
// metadata, its rendering and the redirection decisions live in package
// cluster; this file wires them to the dispatcher:
//
//	cl, err := cluster.Open(...)   // the Raft member (cmd/skiff)
//	srv.SetCluster(cl)             // before Serve: slot index, role following
//
// call() runs clusterAdmit for every command in cluster mode, after the
// authentication checks and before the replica checks, as Redis's
// processCommand does: commands with keys (and EXEC, for its queued
// commands) are served here or answered with -MOVED/-ASK/-CROSSSLOT/
// -TRYAGAIN/-CLUSTERDOWN; the master link and AOF loading are exempt.
// A redirected command inside MULTI fails the transaction (EXECABORT);
// a redirected EXEC discards it and replies the redirection.

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/skiffdb/skiff/cluster"
	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/slots"
)

// Cluster flags of a client, above the flags of client.go.
const (
	clientAsking   = 1 << 28
	clientReadonly = 1 << 29
)

const errClusterDisabled = "ERR This instance has cluster support disabled"

// clusterState is the server's cluster-mode state.
type clusterState struct {
	node *cluster.Node
	// keyMode caches, per command, how to find its keys.
	keyMode map[*Command]uint8
	// keys is scratch space for one query (call runs under the lock).
	keys               [][]byte
	requireFull        atomic.Bool
	allowReadsWhenDown atomic.Bool
	allowShardWhenDown atomic.Bool
	endpoint           atomic.Uint32 // cluster.Endpoint: cluster-preferred-endpoint-type
	asking             *Command
	exists             func(key []byte) bool
	// A manual failover's pause of this master's writes (under the lock).
	frozenUntil time.Time
	freezeCh    chan struct{} // closed when the pause or the view changes
	// dropPacket is DEBUG DROP-CLUSTER-PACKET-FILTER: incoming messages
	// of this Redis bus type are dropped (-1: none).
	dropPacket atomic.Int64
	// asm is the atomic slot migration state (slotmig.go).
	asm *asmState
}

const (
	keysNone   = iota // no keys: never redirected
	keysSimple        // FirstKey/LastKey/Step
	keysSpecs         // key specs or a getkeys function
)

func init() {
	sub := func(name string, arity int, flags, since, summary, complexity string) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags, Group: "cluster", Since: since, Summary: summary,
			Complexity: complexity, Handler: cmdCluster}
	}
	const (
		adm   = "no_async_loading admin stale"
		stale = "stale"
	)
	register(
		&Command{Name: "cluster", Arity: -2, Group: "cluster", Since: "3.0.0", Summary: "A container for cluster commands", Complexity: "Depends on subcommand."},
		&Command{Name: "asking", Arity: 1, Flags: "fast", Group: "cluster", Since: "3.0.0", Summary: "Sent by cluster clients after an -ASK redirect", Complexity: "O(1)", ACL: []string{"connection"}, Handler: cmdAsking},
		&Command{Name: "readonly", Arity: 1, Flags: "fast loading stale", Group: "cluster", Since: "3.0.0", Summary: "Enables read queries for a connection to a cluster replica node", Complexity: "O(1)", ACL: []string{"connection"}, Handler: cmdReadonly},
		&Command{Name: "readwrite", Arity: 1, Flags: "fast loading stale", Group: "cluster", Since: "3.0.0", Summary: "Disables read queries for a connection to a cluster replica node", Complexity: "O(1)", ACL: []string{"connection"}, Handler: cmdReadwrite},
	)
	registerSub("cluster",
		sub("addslots", -3, adm, "3.0.0", "Assign new hash slots to receiving node", "O(N) where N is the total number of hash slot arguments"),
		sub("addslotsrange", -4, adm, "7.0.0", "Assign new hash slots to receiving node", "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
		sub("bumpepoch", 2, adm, "3.0.0", "Advance the cluster config epoch", "O(1)"),
		sub("count-failure-reports", 3, "admin stale", "3.0.0", "Return the number of failure reports active for a given node", "O(N) where N is the number of failure reports"),
		sub("countkeysinslot", 3, stale, "3.0.0", "Return the number of local keys in the specified hash slot", "O(1)"),
		sub("delslots", -3, adm, "3.0.0", "Set hash slots as unbound in receiving node", "O(N) where N is the total number of hash slot arguments"),
		sub("delslotsrange", -4, adm, "7.0.0", "Set hash slots as unbound in receiving node", "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
		sub("failover", -2, adm, "3.0.0", "Forces a replica to perform a manual failover of its master.", "O(1)"),
		sub("flushslots", 2, adm, "3.0.0", "Delete a node's own slots information", "O(1)"),
		sub("forget", 3, adm, "3.0.0", "Remove a node from the nodes table", "O(1)"),
		sub("getkeysinslot", 4, stale, "3.0.0", "Return local key names in the specified hash slot", "O(log(N)) where N is the number of requested keys"),
		sub("help", 2, "loading stale", "5.0.0", "Show helpful text about the different subcommands", "O(1)"),
		sub("info", 2, stale, "3.0.0", "Provides info about Redis Cluster node state", "O(1)"),
		sub("keyslot", 3, stale, "3.0.0", "Returns the hash slot of the specified key", "O(N) where N is the number of bytes in the key"),
		sub("links", 2, stale, "7.0.0", "Returns a list of all TCP links to and from peer nodes in cluster", "O(N) where N is the total number of Cluster nodes"),
		sub("migration", -4, "admin stale no_async_loading", "8.4.0", "Start, monitor and cancel slot migration.", "O(N) where N is the total number of the slots between the start slot and end slot arguments."),
		sub("migrateslots", -6, "admin", "9.0.0", "Migrate the given slots from this node to the specified nodes.", "O(N) where N is the total number of the slots between all start slot and end slot arguments."),
		sub("getslotmigrations", 2, "admin", "9.0.0", "Get information about the in-progress and recently finished slot migrations.", "O(N), where N is the number of active slot import and export jobs."),
		sub("cancelslotmigrations", 2, "admin", "9.0.0", "Cancel all current ongoing slot migration operations.", "O(N), where N is the number of in-progress slot migrations."),
		sub("meet", -4, adm, "3.0.0", "Force a node cluster to handshake with another node", "O(1)"),
		sub("myid", 2, stale, "3.0.0", "Return the node id", "O(1)"),
		sub("nodes", 2, stale, "3.0.0", "Get Cluster config for the node", "O(N) where N is the total number of Cluster nodes"),
		sub("replicas", 3, "admin stale", "5.0.0", "List replica nodes of the specified master node", "O(1)"),
		sub("replicate", 3, adm, "3.0.0", "Reconfigure a node as a replica of the specified master node", "O(1)"),
		sub("reset", -2, "admin stale noscript", "3.0.0", "Reset a Redis Cluster node", "O(N) where N is the number of known nodes. The command may execute a FLUSHALL as a side effect."),
		sub("saveconfig", 2, adm, "3.0.0", "Forces the node to save cluster state on disk", "O(1)"),
		sub("set-config-epoch", 3, adm, "3.0.0", "Set the configuration epoch in a new node", "O(1)"),
		sub("setslot", -4, adm, "3.0.0", "Bind a hash slot to a specific node", "O(1)"),
		sub("shards", 2, stale, "7.0.0", "Get array of cluster slots to node mappings", "O(N) where N is the total number of cluster nodes"),
		sub("slaves", 3, "admin stale", "3.0.0", "List replica nodes of the specified master node", "O(1)"),
		sub("slots", 2, stale, "3.0.0", "Get array of Cluster slot to node mappings", "O(N) where N is the total number of Cluster nodes"),
	)
	// RESET clears ASKING and READONLY, as Redis's clearClientConnectionState.
	resetHooks = append(resetHooks, func(c *Client) { c.flags &^= clientAsking | clientReadonly })
	skiff := &Command{Name: "skiff", Arity: -2, Flags: "stale", Group: "cluster",
		Summary: "Skiff-only subcommands between cluster nodes (CLUSTER SKIFF-INFO).", Handler: cmdCluster}
	prepare(skiff, commands["cluster"])
	commands["cluster"].SkiffSub = skiff
	for _, n := range []string{"cluster|bumpepoch", "cluster|count-failure-reports", "cluster|getkeysinslot", "cluster|info",
		"cluster|links", "cluster|nodes", "cluster|replicas", "cluster|shards", "cluster|slaves", "cluster|slots"} {
		commandTips[n] = []string{"nondeterministic_output"}
	}
}

// SetCluster attaches the cluster node: it enables the slot index of
// db 0, caches the cluster options and lets the cluster drive this
// node's role. Call it once, before Serve.
func (s *Server) SetCluster(n *cluster.Node) {
	cs := &clusterState{node: n, keyMode: map[*Command]uint8{}, asking: commands["asking"], asm: &asmState{}}
	cs.exists = func(k []byte) bool {
		db := s.store.DBs[0]
		return db.Peek(k) != nil && !keyExpiredAt(db, k, time.Now().UnixMilli())
	}
	for _, cmd := range commands {
		cs.classify(cmd)
		for _, sub := range cmd.Subcommands {
			cs.classify(sub)
		}
	}
	_ = s.cfg.OnChange("cluster-require-full-coverage", func(v string) error { cs.requireFull.Store(v == "yes"); return nil })
	_ = s.cfg.OnChange("cluster-allow-reads-when-down", func(v string) error { cs.allowReadsWhenDown.Store(v == "yes"); return nil })
	cs.dropPacket.Store(-1)
	cs.allowShardWhenDown.Store(true) // Redis's default, when the option is not registered
	if config.Lookup("cluster-allow-pubsubshard-when-down") != nil {
		_ = s.cfg.OnChange("cluster-allow-pubsubshard-when-down", func(v string) error { cs.allowShardWhenDown.Store(v == "yes"); return nil })
	}
	if config.Lookup("cluster-preferred-endpoint-type") != nil {
		_ = s.cfg.OnChange("cluster-preferred-endpoint-type", func(v string) error {
			cs.endpoint.Store(uint32(cluster.ParseEndpoint(v)))
			return nil
		})
	}
	cs.requireFull.Store(s.cfg.Bool("cluster-require-full-coverage"))
	cs.allowReadsWhenDown.Store(s.cfg.Bool("cluster-allow-reads-when-down"))
	s.mu.Lock()
	s.store.EnableSlotIndex()
	s.cl = cs
	if s.ld.clusterWait {
		s.ld.clusterWait = false
		s.stopLoadingLocked() // loading.go
	}
	s.mu.Unlock()
	n.Attach(clusterLocal{s})
	go s.sweepForeignSlots() // slotmig_import.go
}

// classify finds keys as Redis's getKeysFromCommand does: the getkeys
// function of a command with movable keys, else the legacy first/last/
// step range.
func (cs *clusterState) classify(cmd *Command) {
	switch {
	case getKeysProcs[cmd.FullName()] != nil:
		cs.keyMode[cmd] = keysSpecs
	case cmd.FirstKey > 0:
		cs.keyMode[cmd] = keysSimple
	case len(keySpecs(cmd)) > 0:
		cs.keyMode[cmd] = keysSpecs
	}
}

// appendKeys appends the keys of one command line.
func (cs *clusterState) appendKeys(dst [][]byte, cmd *Command, args [][]byte) [][]byte {
	switch cs.keyMode[cmd.base()] {
	case keysSimple:
		last := cmd.LastKey
		if last < 0 {
			last += len(args)
		}
		step := cmd.Step
		if step <= 0 {
			step = 1
		}
		for i := cmd.FirstKey; i <= last && i < len(args); i += step {
			dst = append(dst, args[i])
		}
	case keysSpecs:
		if keys, ok := commandKeys(cmd, args); ok {
			for _, k := range keys {
				if k.pos < len(args) {
					dst = append(dst, args[k.pos])
				}
			}
		}
	}
	return dst
}

// clusterAdmit is the cluster step of call(): it reports whether the
// command runs here, having replied the redirection otherwise.
func (s *Server) clusterAdmit(c *Client, cmd *Command, args [][]byte) bool {
	cs := s.cl
	asking := c.flags&clientAsking != 0
	if asking && cmd != cs.asking {
		// ASKING lasts for the next command, or the whole MULTI ... EXEC.
		inTx := c.flags&clientMulti != 0
		if !inTx && cmd.Name != "multi" || inTx && (cmd.Name == "exec" || cmd.Name == "discard") && cmd.parent == nil {
			c.flags &^= clientAsking
		}
	}
	if c.flags&(clientMaster|clientImport) != 0 || s.blocking.depth > 0 {
		if c.flags&clientImport != 0 && s.blocking.depth == 0 {
			return s.importBarrier(c, args) // the copy before the slot's writes (slotmig_load.go)
		}
		return true
	}
	isExec := cmd.parent == nil && cmd.Name == "exec"
	if cs.keyMode[cmd.base()] == keysNone && !isExec {
		return true
	}
	q := cluster.Query{Asking: asking || cmd.Has(FlagAsking), ReadOnly: c.flags&clientReadonly != 0, Write: cmd.Has(FlagWrite)}
	if isExec {
		if c.flags&clientMulti == 0 || c.x.tx == nil {
			return true
		}
		q.Write = q.Write || c.x.tx.flags&FlagWrite != 0
	}
	if q.Write && !cs.frozenUntil.IsZero() {
		// Before the keys are gathered in the shared scratch space: the
		// wait releases the lock.
		s.waitFrozen(c)
	}
	keys := cs.keys[:0]
	if isExec {
		tx := c.x.tx
		for i, qc := range tx.cmds {
			keys = cs.appendKeys(keys, qc, tx.queued[i])
			if qc.Name == "migrate" {
				q.Migrate = true
			}
		}
	} else {
		keys = cs.appendKeys(keys, cmd, args)
		q.Migrate = cmd.Name == "migrate"
		q.PubSubShard = cmd.Name == "ssubscribe" || cmd.Name == "sunsubscribe" || cmd.Name == "spublish"
	}
	cs.keys = keys[:0]
	if len(keys) == 0 {
		return true
	}
	q.Keys = keys
	q.Down = !cs.node.StateOK(cs.requireFull.Load())
	q.AllowReadsWhenDown = cs.allowReadsWhenDown.Load()
	q.AllowPubSubShardWhenDown = cs.allowShardWhenDown.Load()
	q.Exists = cs.exists
	q.Endpoint = cluster.Endpoint(cs.endpoint.Load())
	msg := cs.node.View().Redirect(&q)
	if msg == "" && q.Write && cs.asm.paused > 0 {
		// An atomic slot migration holds the writes to its slots while
		// its flip commits: wait, then decide again (MOVED once moved).
		if j := s.exportPausedJob(slots.KeySlot(keys[0])); j != nil {
			clear(keys)
			s.waitSlotPause(j)
			return s.clusterAdmit(c, cmd, args)
		}
	}
	clear(keys)
	if msg == "" {
		return true
	}
	s.rejectedCall(cmd)
	if isExec {
		s.discardTransaction(c)
	}
	c.replyError(msg)
	return false
}

// waitFrozen makes a write wait while a manual failover has paused this
// master (CLUSTER SKIFF-FREEZE): until the pause ends, or the metadata
// makes this node a replica (the write is then redirected to the new
// master). Like a paused client, it waits with the lock released; its
// arguments alias its own read buffer, which nothing else touches.
func (s *Server) waitFrozen(c *Client) {
	cs := s.cl
	for !cs.frozenUntil.IsZero() && time.Now().Before(cs.frozenUntil) && cs.node.View().Self.Master {
		ch, until := cs.freezeCh, cs.frozenUntil
		s.mu.Unlock()
		t := time.NewTimer(time.Until(until))
		select {
		case <-ch:
		case <-t.C:
		case <-s.done:
		}
		t.Stop()
		s.mu.Lock()
	}
}

// wakeFrozen wakes the writes waiting in waitFrozen (locked).
func (cs *clusterState) wakeFrozen() {
	if cs.freezeCh != nil {
		close(cs.freezeCh)
	}
	cs.freezeCh = make(chan struct{})
}

func cmdCluster(c *Client, args [][]byte) {
	s := c.srv
	if s.cl == nil {
		c.replyError(errClusterDisabled)
		return
	}
	if s.cmdClusterASM(c, args) {
		return
	}
	var w resp.Writer
	w.Proto = c.w.Proto
	s.cl.node.Command(&w, args, cluster.Env{Local: clusterLocal{s}, RequireFull: s.cl.requireFull.Load(),
		Endpoint: cluster.Endpoint(s.cl.endpoint.Load())})
	c.appendHookReply(w.B)
}

func cmdAsking(c *Client, args [][]byte) {
	if c.srv.cl == nil {
		c.replyError(errClusterDisabled)
		return
	}
	c.flags |= clientAsking
	c.replyOK()
}

func cmdReadonly(c *Client, args [][]byte) {
	if c.srv.cl == nil {
		c.replyError(errClusterDisabled)
		return
	}
	c.flags |= clientReadonly
	c.replyOK()
}

func cmdReadwrite(c *Client, args [][]byte) {
	if c.srv.cl == nil {
		c.replyError(errClusterDisabled)
		return
	}
	c.flags &^= clientReadonly
	c.replyOK()
}

// DropSlotKeys deletes the keys this master still holds in slots that
// belong to another node now, propagating them as DEL (Redis's dirty
// slots, clusterUpdateSlotsConfigWith).
func (l clusterLocal) DropSlotKeys(slotList []int) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repl.masterHost != "" {
		return
	}
	db := s.store.DBs[0]
	for _, sl := range slotList {
		if db.CountKeysInSlot(sl) == 0 || s.exportOwnsSlot(sl) {
			continue // none, or an atomic migration deletes them in the background
		}
		s.log.Warn("I have keys for a slot assigned to another node: deleting them", "slot", sl)
		n := db.DelKeysInSlot(sl, func(key string) {
			s.signalModifiedKey(db, []byte(key))
			s.keyspaceEvent(db, key, "del", notifyGeneric)
			s.propagate(0, [][]byte{[]byte("DEL"), []byte(key)})
		})
		s.dirty += int64(n)
	}
}

// ResetData is CLUSTER RESET's effect on the data (locked): a replica
// stops replicating and, as Redis's clusterReset, drops its keys.
func (l clusterLocal) ResetData() {
	s := l.s
	if s.repl.masterHost == "" {
		return
	}
	s.unsetMasterLocked()
	now := time.Now().UnixMilli()
	s.trackingFlush()
	for _, db := range s.store.DBs {
		s.touchWatchedInDB(db, nil, now)
		db.Flush()
	}
}

// Reconfigured is Redis's clusterRedirectBlockedClientIfNeeded for every
// blocked client: one blocked on a slot this node no longer serves gets
// -MOVED (or -CLUSTERDOWN) and is unblocked. The cluster calls it after
// every metadata change and once a second.
func (l clusterLocal) Reconfigured() {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cl == nil {
		return
	}
	if !s.cl.frozenUntil.IsZero() {
		if !s.cl.node.View().Self.Master || time.Now().After(s.cl.frozenUntil) {
			s.cl.frozenUntil = time.Time{}
		}
		s.cl.wakeFrozen() // waiting writes re-check the view
	}
	if s.blocking.nblocked == 0 {
		return
	}
	v := s.cl.node.View()
	down := !s.cl.node.StateOK(s.cl.requireFull.Load())
	for _, c := range s.clients {
		bs := c.blk
		if bs == nil || len(bs.keys) == 0 {
			continue
		}
		msg := ""
		if down {
			msg = cluster.ErrDown
		} else {
			slot := slots.KeySlotString(bs.keys[0])
			n := v.Owner[slot]
			if n != v.Self && v.Importing[slot] == nil {
				if n == nil {
					msg = cluster.ErrUnbound
				} else {
					msg = cluster.Moved(slot, n, cluster.Endpoint(s.cl.endpoint.Load()))
				}
			}
		}
		if msg != "" {
			c.replyError(msg)
			s.unblock(c)
			c.wake()
		}
	}
}

// Redis's cluster bus message types that DEBUG DROP-CLUSTER-PACKET-FILTER
// can name here: the pub/sub fan-out's (the other types are not messages
// of their own in Skiff).
const (
	busTypePublish      = 4
	busTypePublishShard = 10
)

// Deliver is CLUSTER SKIFF-PUBLISH: a message published on another node,
// delivered to this node's subscribers and not forwarded (locked).
func (l clusterLocal) Deliver(shard bool, channel, message []byte) int {
	k, typ := kindPlain, int64(busTypePublish)
	if shard {
		k, typ = kindShard, busTypePublishShard
	}
	if l.s.cl.dropPacket.Load() == typ {
		return 0
	}
	return l.s.publish(k, string(channel), message)
}

// debugDropClusterPacketFilter is DEBUG DROP-CLUSTER-PACKET-FILTER <type>:
// -1 drops nothing; PUBLISH (4) and PUBLISHSHARD (10) drop the messages
// other nodes publish here. Skiff has no other bus messages to drop (the
// metadata is in the Raft log), so other types are refused.
func debugDropClusterPacketFilter(c *Client, arg []byte) {
	v, err := strconv.ParseInt(string(arg), 10, 64)
	if err != nil {
		c.replyError(errNotInt)
		return
	}
	if v != -1 && v != busTypePublish && v != busTypePublishShard {
		c.replyError("ERR Skiff: only the PUBLISH (4) and PUBLISHSHARD (10) cluster message types can be dropped")
		return
	}
	if c.srv.cl != nil {
		c.srv.cl.dropPacket.Store(v)
	}
	c.replyOK()
}

// UnsubscribeShardSlots drops the shard-channel subscribers of slots this
// node no longer serves, with a sunsubscribe message each (pubsub.go).
func (l clusterLocal) UnsubscribeShardSlots(slotList []int) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unsubscribeShardSlots(slotList)
}

// clusterLocal is what package cluster sees of the server.
type clusterLocal struct{ s *Server }

func (l clusterLocal) CountKeysInSlot(slot int) int { return l.s.store.DBs[0].CountKeysInSlot(slot) }
func (l clusterLocal) KeysInSlot(slot, count int) []string {
	return l.s.store.DBs[0].KeysInSlot(slot, count)
}
func (l clusterLocal) DBSize() int { return l.s.store.DBs[0].Len() }

func (l clusterLocal) Offset() int64 {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	return l.ReplOffset()
}

func (l clusterLocal) Freeze(until time.Time) {
	cs := l.s.cl
	if cs == nil {
		return
	}
	if !until.After(time.Now()) {
		until = time.Time{}
	}
	cs.frozenUntil = until
	cs.wakeFrozen()
}

func (l clusterLocal) ReplOffset() int64 {
	r := &l.s.repl
	if r.masterHost != "" && r.master == nil && !r.hasHistory {
		return 0
	}
	return r.offset
}

// Follow makes the server a replica of host:port, or a master (keeping
// its history as replid2) when host is "".
func (l clusterLocal) Follow(host string, port int, still func() bool) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if still != nil && !still() {
		return // decided before a CLUSTER RESET that ran meanwhile
	}
	r := &s.repl
	if host == "" {
		if r.masterHost != "" {
			s.unsetMasterLocked()
			s.log.Info("MASTER MODE enabled (cluster metadata)")
			// A promoted replica may hold part of a slot import its old
			// master was running (slotmig_import.go).
			go s.sweepForeignSlots()
		}
		return
	}
	if strings.EqualFold(r.masterHost, host) && r.masterPort == port {
		return
	}
	if r.masterHost == "" {
		// As Redis's replicationSetMaster: clients blocked on this
		// master's keys would wait for writes that will never come.
		for _, c := range s.clients {
			if c.blk != nil {
				c.replyError("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)")
				s.unblock(c)
				c.flags |= clientCloseAfterReply
				c.wake()
			}
		}
	}
	s.setMasterLocked(host, port)
	s.log.Info("REPLICAOF enabled (cluster metadata)", "master", host, "port", port)
}

// RunID is the data node's run id (CLUSTER SKIFF-INFO: consistency strong
// names in-sync replicas by process).
func (l clusterLocal) RunID() string { return l.s.runID }
