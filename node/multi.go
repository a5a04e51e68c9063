package node

// Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//
// While a client is in MULTI, call() hands every command to admit, which
// queues it (after the checks Redis makes before queuing) and replies
// +QUEUED. A command refused before queuing (unknown, wrong arity, OOM,
// ...) marks the transaction so that EXEC answers EXECABORT: replyError
// does that for any error written outside a command's own execution.
// EXEC runs the queued commands through call() nested in its own call,
// so they all run under the single lock hold of the EXEC batch: nothing
// else can interleave. Nested calls skip admit (their checks were made
// when they were queued) and may not block (canBlock).
//
// WATCH keeps, per database, the clients watching each key. Every change
// to a key reaches signalModifiedKey (c.modified, expiry, RENAME, MOVE,
// ...), which marks the watchers dirty; FLUSHDB, FLUSHALL and SWAPDB call
// touchWatchedInDB while the old contents are still there.

import (
	"github.com/skiffdb/skiff/store"
	"sync/atomic"
)

func init() {
	register(
		&Command{Name: "multi", Arity: 1, Flags: "noscript loading stale fast allow_busy", Group: "transactions", Since: "1.2.0", Summary: "Mark the start of a transaction block", Complexity: "O(1)", Handler: cmdMulti},
		&Command{Name: "exec", Arity: 1, Flags: "noscript loading stale skip_slowlog", Group: "transactions", Since: "1.2.0", Summary: "Execute all commands issued after MULTI", Complexity: "Depends on commands in the transaction", Handler: cmdExec},
		&Command{Name: "discard", Arity: 1, Flags: "noscript loading stale fast allow_busy", Group: "transactions", Since: "2.0.0", Summary: "Discard all commands issued after MULTI", Complexity: "O(N), when N is the number of queued commands", Handler: cmdDiscard},
		&Command{Name: "watch", Arity: -2, Flags: "noscript loading stale fast allow_busy", FirstKey: 1, LastKey: -1, Step: 1, Group: "transactions", Since: "2.2.0", Summary: "Watch the given keys to determine execution of the MULTI/EXEC block", Complexity: "O(1) for every key.", Handler: cmdWatch},
		&Command{Name: "unwatch", Arity: 1, Flags: "noscript loading stale fast allow_busy", Group: "transactions", Since: "2.2.0", Summary: "Forget about all watched keys", Complexity: "O(1)", Handler: cmdUnwatch},
	)
	multiCount = func(c *Client) int {
		if c.flags&clientMulti == 0 || c.x.tx == nil {
			return -1
		}
		return len(c.x.tx.queued)
	}
	resetHooks = append(resetHooks, func(c *Client) { c.srv.discardTransaction(c) })
}

const (
	errExecAbort      = "EXECABORT Transaction discarded because of previous errors."
	errNestedMulti    = "ERR MULTI calls can not be nested"
	errExecNoMulti    = "ERR EXEC without MULTI"
	errDiscardNoMulti = "ERR DISCARD without MULTI"
	errWatchInMulti   = "ERR WATCH inside MULTI is not allowed"
	errNoMultiCmd     = "ERR Command not allowed inside a transaction"
)

// serverExt holds the server-wide state of the features in this file and
// its siblings (pub/sub, notifications, monitor, pause, eviction).
type serverExt struct {
	// watched maps a database and key to the watches on it.
	watched  map[*store.DB]map[string][]*watchedKey
	nwatched int
	// gated makes call() run admit for every client: set while something
	// must see or may refuse every command (maxmemory, pause, monitors).
	gated bool
	// txProp is always nil now (see txPropagation).
	txProp *txPropagation

	ps       pubsubServer
	lastNew  newKeyMark // notify.go
	monitors []*Client
	pause    pauseState
	evict    evictState
	// saveDelay is rdb-key-save-delay in microseconds (savedelay.go).
	saveDelay atomic.Int64
	// cronPaused: DEBUG PAUSE-CRON 1 (the cron does nothing)
	cronPaused atomic.Bool
	// dump: DEBUG SET-SKIP-CHECKSUM-VALIDATION and the keys RESTORE
	// took corrupt (sanitize.go)
	dump dumpState
	// lazy: the lazyfree counters (lazyfree.go)
	lazy lazyfreeStats
}

// clientExt is the per-client state of the same features.
type clientExt struct {
	tx       *txState
	watching []*watchedKey
	dirtyCAS bool
	subs     *clientSubs
	out      *outQueue
	monitor  bool
}

// txState is a transaction being queued.
type txState struct {
	queued    [][][]byte
	cmds      []*Command
	dirtyExec bool
	flags     int // union of the queued commands' flags
}

// watchedKey is one WATCH of one key by one client.
type watchedKey struct {
	db  *store.DB
	key string
	c   *Client
	// expired is set when the key was already logically expired when
	// watched: its later reclamation is not a change.
	expired bool
}

// keyExpiredAt reports whether key exists in db but its TTL has passed.
func keyExpiredAt(db *store.DB, key []byte, now int64) bool {
	e := db.Peek(key)
	return e != nil && e.Val.Expire != 0 && e.Val.Expire < now
}

// flagTransaction makes the client's pending EXEC fail with EXECABORT.
func (c *Client) flagTransaction() {
	if c.flags&clientMulti != 0 && c.x.tx != nil {
		c.x.tx.dirtyExec = true
	}
}

// admit makes the checks Redis makes between the arity/auth checks and
// execution: commands refused inside MULTI, out of memory, the RESP2
// subscribed-mode restriction, client pause, and queuing inside MULTI.
// It reports whether call() should execute the command now.
func (s *Server) admit(c *Client, cmd *Command, args [][]byte) bool {
	if s.blocking.depth > 0 {
		// A command EXEC runs: it was checked when it was queued.
		return true
	}
	inMulti := c.flags&clientMulti != 0
	if inMulti && cmd.Has(FlagNoMulti) {
		s.rejectedCall(cmd)
		c.replyError(errNoMultiCmd)
		return false
	}
	if s.x.evict.maxmemory > 0 && !s.checkMemory(c, cmd) {
		return false
	}
	if s.trk.over {
		s.trackingLimit() // tracking-table-max-keys, after eviction as in Redis
	}
	if c.flags&clientPubSub != 0 && c.w.Proto == 2 && !allowedInSubscribedMode(cmd) {
		s.rejectedCall(cmd)
		c.replyErrorf("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", cmd.FullName())
		return false
	}
	if s.ld.active && s.loadingRefuses(c, cmd) {
		s.rejectedCall(cmd)
		if cmd.parent == nil && cmd.Name == "exec" && c.x.tx != nil {
			s.discardTransaction(c)
			c.replyError("EXECABORT Transaction discarded because of: " + errLoading)
			return false
		}
		c.replyError(errLoading)
		return false
	}
	if c.x.monitor && cmd.Has(FlagWrite|FlagMayReplicate|FlagReadonly) {
		// A monitor is a replica-like client in Redis.
		s.rejectedCall(cmd)
		c.replyError("ERR Replica can't interact with the keyspace")
		return false
	}
	if s.x.pause.active || s.x.pause.shutdown || s.x.pause.failover {
		ok, waited := s.admitPaused(c, cmd)
		if !ok {
			return false
		}
		if waited {
			c.recheck = true // call() runs the command's checks again
			return false
		}
	}
	if inMulti && !isTxControl(cmd) {
		c.queueCommand(cmd, args)
		c.w.AppendSimple("QUEUED")
		return false
	}
	return true
}

// isTxControl reports the commands that run at once even inside MULTI.
func isTxControl(cmd *Command) bool {
	switch cmd.Name {
	case "exec", "discard", "multi", "watch", "quit", "reset":
		return cmd.parent == nil
	}
	return false
}

func allowedInSubscribedMode(cmd *Command) bool {
	if cmd.parent != nil {
		return false
	}
	switch cmd.Name {
	case "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset":
		return true
	}
	return false
}

// queueCommand copies a command into the transaction (args alias the
// read buffer).
func (c *Client) queueCommand(cmd *Command, args [][]byte) {
	tx := c.x.tx
	if tx.dirtyExec || c.x.dirtyCAS {
		// The EXEC will fail anyway: keep no memory for it.
		return
	}
	size := 0
	for _, a := range args {
		size += len(a)
	}
	buf := make([]byte, 0, size)
	argv := make([][]byte, len(args))
	for i, a := range args {
		buf = append(buf, a...)
		argv[i] = buf[len(buf)-len(a) : len(buf) : len(buf)]
	}
	tx.queued = append(tx.queued, argv)
	tx.cmds = append(tx.cmds, cmd)
	tx.flags |= cmd.flags
}

func cmdMulti(c *Client, args [][]byte) {
	if c.flags&clientMulti != 0 {
		c.replyError(errNestedMulti)
		return
	}
	c.flags |= clientMulti
	c.x.tx = &txState{}
	c.replyOK()
}

func cmdDiscard(c *Client, args [][]byte) {
	if c.flags&clientMulti == 0 {
		c.replyError(errDiscardNoMulti)
		return
	}
	c.srv.discardTransaction(c)
	c.replyOK()
}

// discardTransaction leaves MULTI and drops every WATCH.
func (s *Server) discardTransaction(c *Client) {
	c.x.tx = nil
	c.flags &^= clientMulti
	c.x.dirtyCAS = false
	s.unwatchAll(c)
}

func cmdExec(c *Client, args [][]byte) {
	s := c.srv
	if c.flags&clientMulti == 0 {
		c.replyError(errExecNoMulti)
		return
	}
	tx := c.x.tx
	if s.watchedKeyExpired(c) {
		c.x.dirtyCAS = true
	}
	if tx.dirtyExec {
		s.discardTransaction(c)
		c.replyError(errExecAbort)
		return
	}
	if c.x.dirtyCAS {
		s.discardTransaction(c)
		c.w.AppendNullArray()
		return
	}
	s.unwatchAll(c)
	// The queued commands run nested in EXEC's call: their effects are
	// queued and emitted when EXEC ends, wrapped in MULTI/EXEC when there
	// are several (alsoPropagate / endCommand, replication.go).
	c.w.AppendArray(len(tx.queued))
	for _, argv := range tx.queued {
		s.call(c, argv)
	}
	if c.x.tx == tx {
		s.discardTransaction(c)
	}
}

// txPropagation is kept for replication.go, which checks s.x.txProp
// before its own queuing; EXEC no longer sets it, since endCommand wraps
// the effects of one top-level command itself.
type txPropagation struct {
	dbs  []int
	cmds [][][]byte
}

func (p *txPropagation) add(dbID int, args [][]byte) {
	cp := make([][]byte, len(args))
	for i, a := range args {
		cp[i] = append([]byte(nil), a...)
	}
	p.dbs = append(p.dbs, dbID)
	p.cmds = append(p.cmds, cp)
}

func cmdWatch(c *Client, args [][]byte) {
	if c.flags&clientMulti != 0 {
		c.replyError(errWatchInMulti)
		return
	}
	if c.x.dirtyCAS {
		// Already doomed: watching more changes nothing.
		c.replyOK()
		return
	}
	for _, k := range args[1:] {
		c.srv.watchKey(c, k)
	}
	c.replyOK()
}

func cmdUnwatch(c *Client, args [][]byte) {
	c.srv.unwatchAll(c)
	c.x.dirtyCAS = false
	c.replyOK()
}

func (s *Server) watchKey(c *Client, key []byte) {
	for _, wk := range c.x.watching {
		if wk.db == c.db && wk.key == string(key) {
			return
		}
	}
	if s.x.watched == nil {
		s.x.watched = map[*store.DB]map[string][]*watchedKey{}
	}
	byKey := s.x.watched[c.db]
	if byKey == nil {
		byKey = map[string][]*watchedKey{}
		s.x.watched[c.db] = byKey
	}
	wk := &watchedKey{db: c.db, key: string(key), c: c, expired: keyExpiredAt(c.db, key, c.now)}
	byKey[wk.key] = append(byKey[wk.key], wk)
	c.x.watching = append(c.x.watching, wk)
	s.x.nwatched++
}

func (s *Server) unwatchAll(c *Client) {
	for _, wk := range c.x.watching {
		byKey := s.x.watched[wk.db]
		list := byKey[wk.key]
		for i, o := range list {
			if o == wk {
				list = append(list[:i:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(byKey, wk.key)
			if len(byKey) == 0 {
				delete(s.x.watched, wk.db)
			}
		} else {
			byKey[wk.key] = list
		}
		s.x.nwatched--
	}
	c.x.watching = nil
}

// watchedKeyExpired reports whether a watched key that was live when
// watched has since expired (EXEC then fails, as the key changed).
func (s *Server) watchedKeyExpired(c *Client) bool {
	for _, wk := range c.x.watching {
		if !wk.expired && keyExpiredAt(wk.db, []byte(wk.key), c.now) {
			return true
		}
	}
	return false
}

// signalModifiedKey invalidates WATCHes on key and wakes clients blocked
// on it. Every change to a key reaches it.
func (s *Server) signalModifiedKey(db *store.DB, key []byte) {
	s.signalKeyReady(db, key)
	if s.trk.on {
		s.trackingKeyModified(key, s.trk.by) // client-side caching (tracking.go)
	}
	if s.x.nwatched == 0 {
		return
	}
	list := s.x.watched[db][string(key)]
	if len(list) == 0 {
		return
	}
	var dirty []*Client
	for _, wk := range list {
		if wk.expired && db.Peek(key) == nil {
			// The stale key was reclaimed: logically nothing changed,
			// and from now on the key is simply absent.
			wk.expired = false
			continue
		}
		dirty = append(dirty, wk.c)
	}
	for _, c := range dirty {
		c.x.dirtyCAS = true
		// A dirty client needs its watches no more.
		s.unwatchAll(c)
	}
}

// touchWatchedInDB marks dirty the watchers of every key of emptied that
// exists there (or, for SWAPDB, in replacedWith, the contents emptied is
// about to receive). It must run before the databases change.
func (s *Server) touchWatchedInDB(emptied, replacedWith *store.DB, now int64) {
	if s.x.nwatched == 0 {
		return
	}
	for key, list := range s.x.watched[emptied] {
		kb := []byte(key)
		inEmptied := emptied.Peek(kb) != nil
		inReplacement := replacedWith != nil && replacedWith.Peek(kb) != nil
		if !inEmptied && !inReplacement {
			continue
		}
		for _, wk := range list {
			if wk.expired {
				if !inReplacement {
					wk.expired = false
					continue
				}
				if keyExpiredAt(replacedWith, kb, now) {
					continue
				}
			} else if !inEmptied && keyExpiredAt(replacedWith, kb, now) {
				wk.expired = true
				continue
			}
			wk.c.x.dirtyCAS = true
		}
	}
}

// freeClientExt releases what a disconnecting client holds: watches,
// subscriptions and its monitor slot. It returns the client's output
// queue, which the caller drains (without the lock) before closing.
func (s *Server) freeClientExt(c *Client) *outQueue {
	s.discardTransaction(c)
	s.unsubscribeAll(c)
	s.removeMonitor(c)
	s.disableTracking(c)
	c.trkInbox = nil
	return c.x.out
}
