package node

// Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, and the
// sorted-set BZPOPMIN/BZPOPMAX/BZMPOP) share this framework.
//
// API for command handlers (all under the data lock):
//
//	c.block(keys, timeout, serve, onTimeout)
//	    Parks the client on keys (in its current database) after the
//	    handler found nothing to serve. timeout 0 blocks forever.
//	    serve(c, key) is called later, under the lock, with c the blocked
//	    client (c.db, c.now and c.w are its own) when key may have become
//	    ready; it must look the key up itself, and either do the work and
//	    write the reply into c.w (return true: the client is unblocked) or
//	    return false (wrong type, empty: it stays blocked). serve must not
//	    keep references to the handler's args (they alias the read
//	    buffer); key is a fresh copy. Effects are propagated by serve
//	    itself with c.srv.propagate, as Redis's alsoPropagate.
//	    onTimeout(c) writes the timeout reply (Redis replies a null array
//	    on timeout for every list and zset blocking command, BLMOVE too).
//	    Inside MULTI/EXEC (or any nested call) a client never blocks:
//	    onTimeout is called at once, as Redis does for
//	    CLIENT_DENY_BLOCKING; a handler whose reply differs there (BLMOVE
//	    answers a null bulk) checks c.canBlock() first.
//	s.signalKeyReady(db, key)
//	    Marks key as possibly ready. Every change to a key goes through
//	    signalModifiedKey, which calls it, so pushes, RENAME, MOVE, COPY
//	    ... all wake waiters; a handler need not call it directly.
//	s.signalSwappedDBs(db1, db2)
//	    For SWAPDB, after the swap: marks the blocked-on keys that now
//	    exist in either database.
//	parseBlockTimeout(c, arg)
//	    Parses a timeout in (fractional) seconds with Redis's errors.
//	s.unblockClient(c, withError)
//	    CLIENT UNBLOCK: replies the timeout reply (or the UNBLOCKED error)
//	    and wakes the client.
//	s.blockedClients()
//	    INFO's blocked_clients.
//
// Mechanics. The connection goroutine that ran the blocking command stops
// executing its pipeline (processInput sees clientBlocked) and calls
// waitUnblocked, which releases the lock and waits in a read on the
// connection, so that a disconnect is noticed and pipelined input is
// still buffered. Its read deadline is the block deadline. After every
// top-level command, call() runs handleReadyKeys: for each key signalled
// ready, in signal order, the clients blocked on it are served in FIFO
// order (the order in which they blocked) until one refuses. A served
// client is woken by moving its read deadline into the past; it then
// resumes its pipeline. Commands of a MULTI/EXEC run nested inside EXEC,
// so keys they push are served only after EXEC, as in Redis.

import (
	"errors"
	"math"
	"net"
	"time"

	"github.com/skiffdb/skiff/store"
)

// blockingState is the server's registry of blocked clients.
type blockingState struct {
	// depth is the nesting of call(): EXEC (and later scripts) run
	// commands inside a command; blocked clients are served only when the
	// outermost command finishes.
	depth int
	// waiting maps db id → key → clients blocked on it, oldest first.
	waiting map[int]map[string][]*Client
	// ready lists keys signalled since the last serving round, in order;
	// readySet deduplicates them.
	ready    []readyKey
	readySet map[readyKey]struct{}
	nblocked int
}

type readyKey struct {
	db  int
	key string
}

// blockState is what a blocked client waits for.
type blockState struct {
	db        *store.DB
	keys      []string
	deadline  time.Time // zero: forever
	serve     func(c *Client, key []byte) bool
	onTimeout func(c *Client)
	// The blocked command's slow log record waits until it is served, as
	// in Redis, which logs it then with its time before blocking plus its
	// time to serve. args is a copy: the handler's alias the read buffer.
	slowCmd  *Command
	slowArgs [][]byte
	slowDur  time.Duration
}

// deferSlowlog keeps what slowlogPush needs for when the command is
// served (see blockState).
func (bs *blockState) deferSlowlog(cmd *Command, args [][]byte, dur time.Duration) {
	bs.slowCmd, bs.slowDur = cmd, dur
	bs.slowArgs = make([][]byte, len(args))
	for i, a := range args {
		bs.slowArgs[i] = append([]byte(nil), a...)
	}
}

// unblockedStats logs a blocked command once it is served or unblocked
// by CLIENT UNBLOCK, reply being the time its reply took (Redis's
// updateStatsOnUnblock): the slow log and the latency-tracking
// histogram take its whole time then.
func (s *Server) unblockedStats(c *Client, bs *blockState, reply time.Duration) {
	if bs.slowCmd == nil {
		return
	}
	s.slowlogPush(c, bs.slowCmd, bs.slowArgs, bs.slowDur+reply)
	if st := s.stats.CmdStats[bs.slowCmd.FullName()]; st != nil && s.latTrack.on {
		st.recordLatency(bs.slowDur + reply)
	}
	s.latencySample("command-unblocking", reply)
}

// pastDeadline is a read deadline that has already passed: setting it
// interrupts a read in progress.
var pastDeadline = time.Unix(1, 0)

// errUnblocked is CLIENT UNBLOCK ... ERROR's reply.
const errUnblocked = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

// parseBlockTimeout reads a timeout in seconds (fractions allowed) as
// Redis does: parsed as a long double, rounded up to milliseconds.
func parseBlockTimeout(c *Client, b []byte) (time.Duration, bool) {
	v, ok := parseLongDouble(b)
	if !ok {
		c.replyError("ERR timeout is not a float or out of range")
		return 0, false
	}
	if v.inf != 0 {
		c.replyError(errNegativeTime)
		return 0, false
	}
	f, _ := v.f.Float64()
	ms := math.Ceil(f * 1000)
	// Out of the int64 range (including +inf) C's conversion yields
	// LLONG_MIN, which Redis then reports as negative.
	if ms < 0 || ms >= math.MaxInt64 || math.IsNaN(ms) {
		c.replyError(errNegativeTime)
		return 0, false
	}
	d := time.Duration(math.MaxInt64)
	if ms < float64(math.MaxInt64/int64(time.Millisecond)) {
		d = time.Duration(ms) * time.Millisecond
	}
	return d, true
}

// block parks c on keys; see the file comment.
func (c *Client) block(keys [][]byte, timeout time.Duration, serve func(c *Client, key []byte) bool, onTimeout func(c *Client)) {
	s := c.srv
	if !c.canBlock() {
		onTimeout(c)
		return
	}
	bs := &blockState{db: c.db, serve: serve, onTimeout: onTimeout}
	if timeout > 0 {
		bs.deadline = time.Now().Add(timeout)
	}
	if s.blocking.waiting == nil {
		s.blocking.waiting = map[int]map[string][]*Client{}
		s.blocking.readySet = map[readyKey]struct{}{}
	}
	byKey := s.blocking.waiting[c.db.ID]
	if byKey == nil {
		byKey = map[string][]*Client{}
		s.blocking.waiting[c.db.ID] = byKey
	}
	for _, k := range keys {
		key := string(k)
		dup := false
		for _, have := range bs.keys {
			dup = dup || have == key
		}
		if dup {
			continue
		}
		bs.keys = append(bs.keys, key)
		byKey[key] = append(byKey[key], c)
	}
	c.blk = bs
	c.flags |= clientBlocked
	s.blocking.nblocked++
}

// canBlock reports whether c may block now: not inside MULTI/EXEC or
// another command (Redis's CLIENT_DENY_BLOCKING).
func (c *Client) canBlock() bool {
	return c.flags&clientMulti == 0 && c.srv.blocking.depth <= 1
}

// signalKeyReady records that key in db may now satisfy blocked clients.
func (s *Server) signalKeyReady(db *store.DB, key []byte) {
	if s.blocking.nblocked == 0 {
		return
	}
	if _, ok := s.blocking.waiting[db.ID][string(key)]; !ok {
		return
	}
	rk := readyKey{db.ID, string(key)}
	if _, dup := s.blocking.readySet[rk]; dup {
		return
	}
	s.blocking.readySet[rk] = struct{}{}
	s.blocking.ready = append(s.blocking.ready, rk)
}

// signalSwappedDBs marks ready every blocked-on key that exists in
// either database after SWAPDB exchanged their contents (Redis's
// scanDatabaseForReadyKeys): clients blocked in one database now see the
// other's keys.
func (s *Server) signalSwappedDBs(dbs ...*store.DB) {
	if s.blocking.nblocked == 0 {
		return
	}
	for _, db := range dbs {
		for key := range s.blocking.waiting[db.ID] {
			// Peek, not Lookup: an expired key is reclaimed (and its DEL
			// propagated) when the waiter is served, after SWAPDB itself,
			// as in Redis.
			if db.Peek([]byte(key)) != nil {
				s.signalKeyReady(db, []byte(key))
			}
		}
	}
}

// handleReadyKeys serves clients blocked on keys signalled ready. Serving
// one client may make other keys ready (BLMOVE pushes), so it loops until
// no key is left.
func (s *Server) handleReadyKeys() {
	for rounds := 0; len(s.blocking.ready) > 0; rounds++ {
		ready := s.blocking.ready
		s.blocking.ready = nil
		clear(s.blocking.readySet)
		for _, rk := range ready {
			waiters := s.blocking.waiting[rk.db][rk.key]
			if len(waiters) == 0 {
				continue
			}
			// Serving unblocks clients and so edits the queue: walk a copy.
			queue := append([]*Client(nil), waiters...)
			key := []byte(rk.key)
			for _, bc := range queue {
				if bc.blk == nil {
					continue
				}
				bc.now = time.Now().UnixMilli()
				// The served client is the one running (tracking.go): its
				// invalidations follow its reply.
				cur, by := s.trk.cur, s.trk.by
				s.trk.cur, s.trk.by = bc, bc
				t0 := monoNow()
				served := bc.blk.serve(bc, key)
				if len(s.trk.pending) > 0 {
					s.trackingFlushPending()
				}
				s.trk.cur, s.trk.by = cur, by
				if !served {
					continue
				}
				bs := bc.blk
				s.unblock(bc)
				s.unblockedStats(bc, bs, monoNow()-t0)
				bc.wake()
			}
		}
	}
}

// unblock removes c from the registry (it stays to be woken).
func (s *Server) unblock(c *Client) {
	bs := c.blk
	if bs == nil {
		return
	}
	byKey := s.blocking.waiting[bs.db.ID]
	for _, key := range bs.keys {
		q := byKey[key]
		for i, x := range q {
			if x == c {
				q = append(q[:i:i], q[i+1:]...)
				break
			}
		}
		if len(q) == 0 {
			delete(byKey, key)
		} else {
			byKey[key] = q
		}
	}
	c.blk = nil
	c.flags &^= clientBlocked
	s.blocking.nblocked--
}

// wake interrupts the blocked goroutine's read.
func (c *Client) wake() { c.conn.SetReadDeadline(pastDeadline) }

// unblockClient is CLIENT UNBLOCK: it reports whether c was blocked.
func (s *Server) unblockClient(c *Client, withError bool) bool {
	if c.blk == nil {
		return false
	}
	if withError {
		c.replyError(errUnblocked)
		// Redis counts a blocked command's call when it is unblocked, as
		// failed if it ended with an error; ours was counted when it
		// blocked (call), so only the failure is added here.
		if st := s.stats.CmdStats[c.lastCmd]; st != nil {
			st.FailedCalls++
		}
	} else {
		c.blk.onTimeout(c)
	}
	bs := c.blk
	s.unblock(c)
	s.unblockedStats(c, bs, 0)
	c.wake()
	return true
}

// errUnblockedRoleChange is the reply of a client still blocked when its
// server becomes a replica (Redis's disconnectAllBlockedClients).
const errUnblockedRoleChange = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"

// disconnectBlockedClients ends every blocked command with an error and
// closes its connection after the reply. Called when this server becomes
// a replica: a client blocked on a key here would otherwise be served by
// a push that arrives in the master's stream, popping on the replica
// alone and leaving it different from its master. Clients postponed by a
// pause are not blocked in this sense: they start over when it ends.
func (s *Server) disconnectBlockedClients() {
	for _, c := range s.clients {
		if c.blk == nil || c.flags&clientMaster != 0 {
			continue
		}
		c.replyError(errUnblockedRoleChange)
		if st := s.stats.CmdStats[c.lastCmd]; st != nil {
			st.FailedCalls++ // counted as a call when it blocked (call)
		}
		s.removeWaiter(c) // WAIT's own registry, a no-op otherwise
		s.unblock(c)
		c.flags |= clientCloseAfterReply
		c.wake()
	}
}

// blockedClients is the number of clients blocked on keys.
func (s *Server) blockedClients() int { return s.blocking.nblocked }

// setBlockDeadline arms the read deadline of a blocked client. It runs
// under the lock, so a concurrent wake (also under the lock) cannot be
// overwritten.
func (c *Client) setBlockDeadline() {
	c.conn.SetReadDeadline(c.blk.deadline)
}

// waitUnblocked parks the goroutine of a client whose command blocked
// until it is served, times out or disconnects. It is called with the
// lock held and returns with it held; false means the connection is
// gone (the client has been unblocked already).
func (c *Client) waitUnblocked() bool {
	s := c.srv
	// Replies to the commands before the blocking one go out now; the
	// served reply will be written into a fresh buffer under the lock.
	var out []byte
	if c.x.out != nil {
		c.queueReplies() // behind what is queued (outbuf.go)
	} else {
		out = c.w.B
		c.w.B = nil
	}
	c.setBlockDeadline()
	s.mu.Unlock()
	if len(out) > 0 {
		if err := c.sendReplies(out); err != nil {
			s.mu.Lock()
			s.unblock(c)
			return false
		}
	}
	for {
		err := c.p.Fill()
		s.mu.Lock()
		if c.blk == nil {
			c.conn.SetReadDeadline(time.Time{})
			return true
		}
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				s.unblock(c)
				return false
			}
			if d := c.blk.deadline; !d.IsZero() && !time.Now().Before(d) {
				c.blk.onTimeout(c)
				s.unblock(c)
				c.conn.SetReadDeadline(time.Time{})
				return true
			}
		}
		c.setBlockDeadline()
		s.mu.Unlock()
	}
}

// Sorted-set blocking pops, built on the framework above and on the
// sorted-set helpers of cmd_zset.go (zpopGeneric, parseZmpop).

func init() {
	register(
		&Command{Name: "bzpopmin", Arity: -3, Flags: "write noscript blocking fast", FirstKey: 1, LastKey: -2, Step: 1, Group: "sorted-set", Since: "5.0.0", Summary: "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Handler: cmdBzpopmin},
		&Command{Name: "bzpopmax", Arity: -3, Flags: "write noscript blocking fast", FirstKey: 1, LastKey: -2, Step: 1, Group: "sorted-set", Since: "5.0.0", Summary: "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", Complexity: "O(log(N)) with N being the number of elements in the sorted set.", Handler: cmdBzpopmax},
		&Command{Name: "bzmpop", Arity: -5, Flags: "write blocking", Group: "sorted-set", Since: "7.0.0", Summary: "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", Complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", Handler: cmdBzmpop},
	)
}

var (
	argZpopmin = []byte("ZPOPMIN")
	argZpopmax = []byte("ZPOPMAX")
)

func zpopArg(max bool) []byte {
	if max {
		return argZpopmax
	}
	return argZpopmin
}

func cmdBzpopmin(c *Client, args [][]byte) {
	timeout, ok := parseBlockTimeout(c, args[len(args)-1])
	if !ok {
		return
	}
	blockingZpop(c, args[1:len(args)-1], false, -1, timeout)
}

func cmdBzpopmax(c *Client, args [][]byte) {
	timeout, ok := parseBlockTimeout(c, args[len(args)-1])
	if !ok {
		return
	}
	blockingZpop(c, args[1:len(args)-1], true, -1, timeout)
}

func cmdBzmpop(c *Client, args [][]byte) {
	keys, max, count, ok := parseZmpop(c, args, 2)
	if !ok {
		return
	}
	timeout, ok := parseBlockTimeout(c, args[1])
	if !ok {
		return
	}
	blockingZpop(c, keys, max, count, timeout)
}

// blockingZpop is BZPOPMIN/BZPOPMAX (count -1: reply key, member, score)
// and BZMPOP (count > 0: reply [key, [[member, score] ...]]).
func blockingZpop(c *Client, keys [][]byte, max bool, count int64, timeout time.Duration) {
	nested := count != -1
	for _, key := range keys {
		e := c.lookupWrite(key)
		if e == nil {
			continue
		}
		z, ok := asZSet(c, e)
		if !ok {
			return
		}
		if z.Len() == 0 {
			continue
		}
		n := int64(1)
		if nested {
			n = min(count, int64(z.Len()))
		}
		zpopGeneric(c, [][]byte{key}, max, true, count, nested, true)
		c.propagateArgv = [][]byte{zpopArg(max), listCopyBytes(key)}
		if nested {
			c.propagateArgv = append(c.propagateArgv, store.FormatInt(n))
		}
		return
	}
	c.block(keys, timeout, func(c *Client, key []byte) bool {
		e := c.db.Lookup(key, c.now)
		if e == nil || e.Val.Type != store.TypeZSet {
			return false
		}
		z := e.Val.Val.(*store.ZSet)
		if z.Len() == 0 {
			return false
		}
		argv := [][]byte{zpopArg(max), key}
		if nested {
			argv = append(argv, store.FormatInt(min(count, int64(z.Len()))))
		}
		zpopGeneric(c, [][]byte{key}, max, true, count, nested, true)
		c.srv.propagate(c.db.ID, argv)
		return true
	}, func(c *Client) { c.w.AppendNullArray() })
}
