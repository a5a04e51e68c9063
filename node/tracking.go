package node

// Client-side caching: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO,
// and the invalidation messages, as Redis 7.0 sends them.
//
// The table (package tracking) maps keys to the IDs of the clients that
// read them, and BCAST prefixes to their clients. This file fills it and
// turns its answers into messages:
//
//   - execute() remembers the keys of every read-only command of a
//     tracking client (trackingRemember); a command a script runs counts
//     for the script's caller, with the keys the caller declared.
//   - Every change of a key reaches signalModifiedKey, which calls
//     trackingKeyModified: the key's clients are told, then forgotten; for
//     BCAST, the key is gathered under its prefixes and the gathered keys
//     go out at the end of the batch of commands that changed them
//     (serveConn), or from the broadcaster goroutine when no client batch
//     is running (expiry in the cron, the replication stream). A flush
//     (FLUSHALL, FLUSHDB, a full resync) tells every tracking client "all
//     keys" with a null (trackingFlush).
//   - Messages go to the client itself in RESP3 (a push, >2 invalidate
//     [keys]), or to the REDIRECT client: a push if that one speaks RESP3,
//     else a message on __redis__:invalidate if it is subscribed. A
//     redirect client that is gone turns the flag R on and, in RESP3,
//     tells the tracking client with a tracking-redir-broken push.
//
// Ordering (Redis's rules). A message for the client whose command is
// running (s.trk.cur, set by execute at the top level and by
// handleReadyKeys for a served blocked client) waits until that command
// has replied (trackingFlushPending), so it never splits a reply, a
// transaction's or a script's; NOLOOP drops it instead. Messages caused
// before the command runs (eviction, the table's own size limit, checked
// in admit) go before its reply.
//
// Delivery. A client receives messages while another client's command
// runs, so, like a subscriber, it needs an output queue (pubsub.go): a
// tracking client gets one when it turns tracking on. A RESP3 REDIRECT
// client may have none; its goroutine may be writing its last replies
// outside the lock, so nothing may touch its reply buffer. Its messages
// wait in c.trkInbox, and its read is interrupted (pushWake and a past
// read deadline): serveConn then takes the lock, gives it a queue and
// moves the inbox there (adoptPushQueue).
//
// Cost when nobody tracks: execute stores two pointers per command and
// signalModifiedKey tests one bool (s.trk.on).

import (
	"slices"
	"strconv"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/store"
	"github.com/skiffdb/skiff/tracking"
)

func init() {
	registerSub("client",
		&Command{Name: "caching", Arity: 3, Flags: "noscript loading stale", Group: "connection", Since: "6.0.0", Summary: "Instruct the server about tracking or not keys in the next request", Complexity: "O(1)", Handler: cmdClientCaching},
		&Command{Name: "getredir", Arity: 2, Flags: "noscript loading stale", Group: "connection", Since: "6.0.0", Summary: "Get tracking notifications redirection client ID if any", Complexity: "O(1)", Handler: cmdClientGetRedir},
		&Command{Name: "tracking", Arity: -3, Flags: "noscript loading stale", Group: "connection", Since: "6.0.0", Summary: "Enable or disable server assisted client side caching support", Complexity: "O(1). Some options may introduce additional complexity.", Handler: cmdClientTracking},
		&Command{Name: "trackinginfo", Arity: 2, Flags: "noscript loading stale", Group: "connection", Since: "6.2.0", Summary: "Return information about server assisted client side caching for the current connection", Complexity: "O(1)", Handler: cmdClientTrackingInfo},
	)
	resetHooks = append(resetHooks, func(c *Client) { c.srv.disableTracking(c) })
}

// trackingChannel is where RESP2 redirect clients get invalidations.
const trackingChannel = "__redis__:invalidate"

// trackingState is a connection's CLIENT TRACKING settings; c.trk is nil
// while tracking is off.
type trackingState struct {
	redirect                     int64
	bcast, optin, optout, noloop bool
	// caching: CLIENT CACHING was given for the next command.
	caching bool
	// broken: the redirect client was gone when a message was due.
	broken bool
	// prefixes are the BCAST prefixes, in byte order.
	prefixes []string
}

// trackingServer is the server side of client-side caching.
type trackingServer struct {
	table *tracking.Table
	// clients counts the clients with tracking on (tracking_clients).
	clients int
	// on: a key change has something to do (clients track, or the table
	// still holds keys of clients that stopped).
	on bool
	// cur is the client whose command is running (Redis's current_client
	// inside call()); by is the client of the innermost command, the one
	// that changes keys (a script's commands run as the script client),
	// nil for expiry and eviction.
	cur, by *Client
	// pending are the messages for cur, sent once its command replied; a
	// nil entry is a flush (the null "all keys").
	pending []*string
	// maxKeys is tracking-table-max-keys; over is set while the table is
	// bigger (admit and the cron then evict entries); effort is Redis's
	// count of runs that could not get under the limit.
	maxKeys int
	over    bool
	effort  int
	// bcastPending: keys were gathered for BCAST clients; wake starts the
	// broadcaster goroutine's round.
	bcastPending bool
	wake         chan struct{}
}

// initTracking wires tracking-table-max-keys; New calls it once.
func (s *Server) initTracking() error {
	s.trk.table = tracking.New()
	return s.cfg.OnChange("tracking-table-max-keys", func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return errInvalidTrackingMax
		}
		s.trk.maxKeys = int(min(n, int64(^uint(0)>>1)))
		s.trackingCheckSize()
		return nil
	})
}

type trackingError string

func (e trackingError) Error() string { return string(e) }

const errInvalidTrackingMax = trackingError("tracking-table-max-keys must be a non-negative integer")

// trackingUpdate recomputes s.trk.on after the table or the clients
// changed.
func (s *Server) trackingUpdate() {
	t := s.trk.table
	s.trk.on = s.trk.clients > 0 || t.Keys() > 0 || t.Prefixes() > 0
}

// trackingCheckSize sets s.trk.over from the table's size: while it is
// set, every command (through admit) and the cron evict entries.
func (s *Server) trackingCheckSize() {
	over := s.trk.maxKeys > 0 && s.trk.table.Keys() > s.trk.maxKeys
	if over != s.trk.over {
		s.trk.over = over
		s.updateGate()
	}
}

// ---- the commands ----

func cmdClientTracking(c *Client, args [][]byte) {
	s := c.srv
	var redirect int64
	var bcast, optin, optout, noloop bool
	var prefixes []string
	for j := 3; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case eqFold(args[j], "redirect") && more > 0:
			j++
			if redirect != 0 {
				c.replyError("ERR A client can only redirect to a single other client")
				return
			}
			id, err := strconv.ParseInt(string(args[j]), 10, 64)
			if err != nil {
				c.replyError(errNotInt)
				return
			}
			redirect = id
			// The client must exist now; it may go later (then the flag
			// R and tracking-redir-broken tell).
			if s.clients[id] == nil {
				c.replyError("ERR The client ID you want redirect to does not exist")
				return
			}
		case eqFold(args[j], "bcast"):
			bcast = true
		case eqFold(args[j], "optin"):
			optin = true
		case eqFold(args[j], "optout"):
			optout = true
		case eqFold(args[j], "noloop"):
			noloop = true
		case eqFold(args[j], "prefix") && more > 0:
			j++
			prefixes = append(prefixes, string(args[j]))
		default:
			c.replySyntax()
			return
		}
	}
	switch {
	case eqFold(args[2], "on"):
	case eqFold(args[2], "off"):
		s.disableTracking(c)
		c.replyOK()
		return
	default:
		c.replySyntax()
		return
	}
	old := c.trk
	switch {
	case !bcast && len(prefixes) > 0:
		c.replyError("ERR PREFIX option requires BCAST mode to be enabled")
		return
	case old != nil && old.bcast != bcast:
		c.replyError("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.")
		return
	case bcast && (optin || optout):
		c.replyError("ERR OPTIN and OPTOUT are not compatible with BCAST")
		return
	case optin && optout:
		c.replyError("ERR You can't specify both OPTIN mode and OPTOUT mode")
		return
	case old != nil && (optin && old.optout || optout && old.optin):
		c.replyError("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.")
		return
	}
	if bcast && !prefixesAllowed(c, old, prefixes) {
		return
	}
	s.enableTracking(c, redirect, bcast, optin, optout, noloop, prefixes)
	c.replyOK()
}

// prefixesAllowed refuses, with Redis's errors, prefixes that overlap
// one another or one the client already has. (Redis, finding two new
// prefixes that overlap after the first one, replies the error and then
// enables tracking and replies OK as well: two replies to one command.
// Here the error is the only reply and nothing changes.)
func prefixesAllowed(c *Client, old *trackingState, prefixes []string) bool {
	for i, p := range prefixes {
		if old != nil {
			for _, e := range old.prefixes {
				if tracking.Overlap(p, e) {
					c.replyErrorf("ERR Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap.", cString([]byte(p)), cString([]byte(e)))
					return false
				}
			}
		}
		for _, q := range prefixes[i+1:] {
			if tracking.Overlap(p, q) {
				c.replyErrorf("ERR Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap.", cString([]byte(p)), cString([]byte(q)))
				return false
			}
		}
	}
	return true
}

// enableTracking turns tracking on (again) for c. Turning it on again
// replaces the options and the redirection, keeps a pending CLIENT
// CACHING, and adds BCAST prefixes to those c has.
func (s *Server) enableTracking(c *Client, redirect int64, bcast, optin, optout, noloop bool, prefixes []string) {
	t := c.trk
	if t == nil {
		t = &trackingState{}
		c.trk = t
		s.trk.clients++
	}
	t.redirect, t.bcast, t.optin, t.optout, t.noloop, t.broken = redirect, bcast, optin, optout, noloop, false
	if bcast {
		if len(prefixes) == 0 {
			prefixes = []string{""} // every key
		}
		for _, p := range prefixes {
			if s.trk.table.Subscribe(p, c.id) {
				i, _ := slices.BinarySearch(t.prefixes, p)
				t.prefixes = slices.Insert(t.prefixes, i, p)
			}
		}
		s.startBroadcaster()
	}
	// Messages arrive while other clients' commands run: c needs its
	// output queue now (see the file comment).
	s.ensureQueue(c)
	s.trackingUpdate()
}

// disableTracking turns tracking off for c (CLIENT TRACKING OFF, RESET,
// disconnection). The keys c read stay in the table until they change,
// as in Redis: removing them would cost a walk of the whole table.
func (s *Server) disableTracking(c *Client) {
	t := c.trk
	if t == nil {
		return
	}
	for _, p := range t.prefixes {
		s.trk.table.Unsubscribe(p, c.id)
	}
	c.trk = nil
	s.trk.clients--
	s.trackingUpdate()
}

func cmdClientCaching(c *Client, args [][]byte) {
	t := c.trk
	if t == nil {
		c.replyError("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
		return
	}
	switch {
	case eqFold(args[2], "yes"):
		if !t.optin {
			c.replyError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			return
		}
	case eqFold(args[2], "no"):
		if !t.optout {
			c.replyError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			return
		}
	default:
		c.replySyntax()
		return
	}
	t.caching = true
	c.replyOK()
}

// trackingCachingDone ends the effect of CLIENT CACHING after a command
// from the client's input: it lasts for the next command, or for the
// whole of a transaction, and CLIENT commands do not use it up.
func (c *Client) trackingCachingDone(name []byte) {
	if c.flags&clientMulti == 0 && !eqFold(name, "client") {
		c.trk.caching = false
	}
}

func cmdClientGetRedir(c *Client, args [][]byte) {
	if c.trk == nil {
		c.replyInt(-1)
		return
	}
	c.replyInt(c.trk.redirect)
}

func cmdClientTrackingInfo(c *Client, args [][]byte) {
	t := c.trk
	flags := []string{"off"}
	redirect := int64(-1)
	var prefixes []string
	if t != nil {
		flags = []string{"on"}
		if t.bcast {
			flags = append(flags, "bcast")
		}
		if t.optin {
			flags = append(flags, "optin")
			if t.caching {
				flags = append(flags, "caching-yes")
			}
		}
		if t.optout {
			flags = append(flags, "optout")
			if t.caching {
				flags = append(flags, "caching-no")
			}
		}
		if t.noloop {
			flags = append(flags, "noloop")
		}
		if t.broken {
			flags = append(flags, "broken_redirect")
		}
		redirect = t.redirect
		prefixes = t.prefixes
	}
	c.w.AppendMap(3)
	c.w.AppendBulkString("flags")
	c.w.AppendSet(len(flags))
	for _, f := range flags {
		c.w.AppendBulkString(f)
	}
	c.w.AppendBulkString("redirect")
	c.w.AppendInt(redirect)
	c.w.AppendBulkString("prefixes")
	c.w.AppendArray(len(prefixes))
	for _, p := range prefixes {
		c.w.AppendBulkString(p)
	}
}

// ---- remembering keys ----

// trackingRemember records the keys of a read-only command c just ran,
// for the client that tracks them: c, or the caller of the script c runs
// for, with the keys the script was given (Redis's
// trackingRememberKeys). execute calls it when some client tracks.
func (s *Server) trackingRemember(c *Client, cmd *Command, args [][]byte) {
	if cmd.parent == nil {
		switch cmd.Name {
		case "eval_ro", "evalsha_ro", "fcall_ro":
			// Only the read commands the script runs count.
			return
		}
	}
	caller := c
	if c == s.scripts.client {
		r := s.scripts.running.Load()
		if r == nil || r.caller.cmd == nil {
			return
		}
		caller, cmd, args = r.caller, r.caller.cmd, r.argv
	}
	t := caller.trk
	if t == nil || t.bcast || t.optin && !t.caching || t.optout && t.caching {
		return
	}
	if cmd.Has(FlagPubSub) {
		return // shard channels are keys only for cluster routing
	}
	keys, ok := commandKeys(cmd, args)
	if !ok {
		return
	}
	for _, k := range keys {
		if k.pos < len(args) {
			s.trk.table.Remember(args[k.pos], caller.id)
		}
	}
	s.trk.on = true
	if s.trk.maxKeys > 0 && !s.trk.over {
		s.trackingCheckSize()
	}
}

// ---- invalidation ----

// trackingKeyModified is Redis's trackingInvalidateKey for a change of
// key by client by (nil: no client).
func (s *Server) trackingKeyModified(key []byte, by *Client) {
	s.trackingInvalidate(key, by, true)
}

// trackingInvalidate tells the clients that read key that it changed and
// forgets them. bcast also gathers the key for BCAST clients (not when
// the entry is only dropped to keep the table within its limit).
func (s *Server) trackingInvalidate(key []byte, by *Client, bcast bool) {
	t := s.trk.table
	if bcast && t.Prefixes() > 0 {
		var id int64
		if by != nil {
			id = by.id
		}
		if t.Modified(key, id) && !s.trk.bcastPending {
			s.trk.bcastPending = true
			s.wakeBroadcaster()
		}
	}
	ids := t.Invalidate(key)
	if ids == nil {
		return
	}
	for _, id := range ids {
		tc := s.clients[id]
		// A client that stopped tracking, or went over to BCAST, gets
		// nothing for the keys it read before.
		if tc == nil || tc.trk == nil || tc.trk.bcast {
			continue
		}
		if tc == s.trk.cur {
			if tc.trk.noloop {
				continue
			}
			k := string(key)
			s.trk.pending = append(s.trk.pending, &k)
			continue
		}
		s.sendTracking(tc, keyPayload(key))
	}
	if s.trk.clients == 0 {
		s.trackingUpdate()
	}
}

// keyPayload is the value part of a message about one key.
func keyPayload(key []byte) []byte {
	w := resp.Writer{B: make([]byte, 0, len(key)+16)}
	w.AppendArray(1)
	w.AppendBulk(key)
	return w.B
}

// nullPayload is the value part of a flush message: a null in the
// tracking client's protocol (whoever receives it, as in Redis).
func nullPayload(c *Client) []byte {
	if c.w.Proto == 3 {
		return []byte("_\r\n")
	}
	return []byte("$-1\r\n")
}

// sendTracking sends c's invalidation message with the value payload (a
// RESP array of keys, or a null) to c or to its REDIRECT client (Redis's
// sendTrackingMessage).
func (s *Server) sendTracking(c *Client, payload []byte) {
	target, redirected := c, false
	if c.trk != nil && c.trk.redirect != 0 {
		id := c.trk.redirect
		r := s.clients[id]
		if r == nil || r.flags&(clientCloseAfterReply|clientCloseASAP) != 0 {
			c.trk.broken = true
			if c.w.Proto == 3 {
				s.trackingDeliver(c, func(w *resp.Writer) {
					w.AppendPush(2)
					w.AppendBulkString("tracking-redir-broken")
					w.AppendInt(id)
				})
			}
			return
		}
		target, redirected = r, true
	}
	switch {
	case target.w.Proto == 3:
		s.trackingDeliver(target, func(w *resp.Writer) {
			w.AppendPush(2)
			w.AppendBulkString("invalidate")
			w.B = append(w.B, payload...)
		})
	case redirected && target.flags&clientPubSub != 0:
		s.trackingDeliver(target, func(w *resp.Writer) {
			w.AppendArray(3)
			w.AppendBulkString("message")
			w.AppendBulkString(trackingChannel)
			w.B = append(w.B, payload...)
		})
	}
	// Otherwise a RESP2 connection cannot receive it: nothing is sent.
}

// trackingDeliver writes a message to t's output (see the file comment).
func (s *Server) trackingDeliver(t *Client, fn func(w *resp.Writer)) {
	switch {
	case t == s.trk.cur && t.x.out != nil && t.flags&(clientReplyOff|clientReplySkip) != 0:
		// After the reply of the running client, which CLIENT REPLY
		// is about to cut: straight to the queue.
		if pending := t.x.out.appendWith(t.w.Proto, fn); pending >= 0 {
			s.checkOutputLimit(t, pending)
		}
	case t.x.out != nil || t == s.trk.cur:
		s.pushTo(t, fn)
	default:
		w := resp.Writer{B: t.trkInbox, Proto: t.w.Proto}
		fn(&w)
		t.trkInbox = w.B
		if !t.pushWake.Swap(true) && t.blk == nil {
			// A blocked client picks its inbox up once served.
			t.conn.SetReadDeadline(pastDeadline)
		}
	}
}

// adoptPushQueue is called by c's own goroutine, outside the lock, when
// messages wait in its inbox: c gets its output queue and the messages
// go there.
func (s *Server) adoptPushQueue(c *Client) {
	s.mu.Lock()
	c.pushWake.Store(false)
	s.ensureQueue(c)
	if b := c.trkInbox; len(b) > 0 {
		c.trkInbox = nil
		if pending := c.x.out.appendWith(c.w.Proto, func(w *resp.Writer) { w.B = append(w.B, b...) }); pending >= 0 {
			s.checkOutputLimit(c, pending)
		}
	}
	s.mu.Unlock()
}

// trackingFlushPending sends the messages held for the running client
// after its command replied, then ends its turn as the running client.
func (s *Server) trackingFlushPending() {
	c := s.trk.cur
	pend := s.trk.pending
	s.trk.pending = pend[:0]
	for i, k := range pend {
		pend[i] = nil
		if c == nil {
			continue
		}
		if k == nil {
			s.sendTracking(c, nullPayload(c))
		} else {
			s.sendTracking(c, keyPayload([]byte(*k)))
		}
	}
}

// trackingFlush tells every tracking client that all keys changed (a
// null instead of keys) and empties the table: FLUSHALL, FLUSHDB and a
// full resynchronisation.
func (s *Server) trackingFlush() {
	if s.trk.clients > 0 {
		for _, c := range s.sortedClients() {
			if c.trk == nil {
				continue
			}
			if c == s.trk.cur {
				s.trk.pending = append(s.trk.pending, nil)
				continue
			}
			s.sendTracking(c, nullPayload(c))
		}
	}
	s.trk.table.Clear()
	s.trackingUpdate()
	s.trackingCheckSize()
}

// trackingLimit evicts entries while the table holds more keys than
// tracking-table-max-keys, telling their clients as if the keys changed.
// Each run works harder than the last one that could not get under the
// limit, as Redis's trackingLimitUsedSlots.
func (s *Server) trackingLimit() {
	t := s.trk.table
	max := s.trk.maxKeys
	if max == 0 || t.Keys() <= max {
		s.trk.effort = 0
		s.trackingCheckSize()
		return
	}
	for effort := 100 * (s.trk.effort + 1); effort > 0; effort-- {
		k, ok := t.RandomKey()
		if !ok {
			break
		}
		s.trackingInvalidate([]byte(k), nil, false)
		if t.Keys() <= max {
			s.trk.effort = 0
			s.trackingCheckSize()
			return
		}
	}
	s.trk.effort++
}

// ---- BCAST ----

// trackingBroadcast sends the keys gathered for each BCAST prefix to its
// clients: one message per prefix and client, without the keys a NOLOOP
// client changed itself (Redis's trackingBroadcastInvalidationMessages).
func (s *Server) trackingBroadcast() {
	s.trk.bcastPending = false
	var all, own []byte
	s.trk.table.Broadcasts(func(b *tracking.Broadcast) {
		all = appendKeyArray(all[:0], b.Keys, b.By, 0)
		for _, id := range b.Clients {
			c := s.clients[id]
			if c == nil || c.trk == nil {
				continue
			}
			payload := all
			if c.trk.noloop {
				own = appendKeyArray(own[:0], b.Keys, b.By, id)
				if own == nil {
					continue
				}
				payload = own
			}
			s.sendTracking(c, payload)
		}
	})
}

// appendKeyArray encodes keys as a RESP array, leaving out those changed
// by client skip (when not 0); it returns nil when none is left.
func appendKeyArray(dst []byte, keys []string, by []int64, skip int64) []byte {
	n := 0
	for i := range keys {
		if skip == 0 || by[i] != skip {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	w := resp.Writer{B: dst}
	w.AppendArray(n)
	for i, k := range keys {
		if skip == 0 || by[i] != skip {
			w.AppendBulkString(k)
		}
	}
	return w.B
}

// startBroadcaster starts the goroutine that sends BCAST messages for
// keys changed outside a client's batch (expiry, the replication stream,
// a slot migration): serveConn sends those of its own batch itself.
func (s *Server) startBroadcaster() {
	if s.trk.wake != nil {
		return
	}
	s.trk.wake = make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-s.done:
				return
			case <-s.trk.wake:
			}
			s.mu.Lock()
			if s.trk.bcastPending {
				s.trackingBroadcast()
			}
			s.mu.Unlock()
		}
	}()
}

func (s *Server) wakeBroadcaster() {
	if s.trk.wake == nil {
		return
	}
	select {
	case s.trk.wake <- struct{}{}:
	default:
	}
}

// ---- hooks for the rest of the server ----

// signalKeyGone is signalModifiedKey for a key that expired or was
// evicted: no client changed it (NOLOOP does not filter it).
func (s *Server) signalKeyGone(db *store.DB, key []byte) {
	by := s.trk.by
	s.trk.by = nil
	s.signalModifiedKey(db, key)
	s.trk.by = by
}

// trackingInfo is INFO's tracking_total_keys, _items and _prefixes.
func (s *Server) trackingInfo() (keys, items, prefixes int) {
	t := s.trk.table
	if t == nil {
		return 0, 0, 0
	}
	return t.Keys(), t.Items(), t.Prefixes()
}

// trackingFlags appends CLIENT LIST's tracking flags (t, R, B).
func (c *Client) trackingFlags(f []byte) []byte {
	if c.trk == nil {
		return f
	}
	f = append(f, 't')
	if c.trk.broken {
		f = append(f, 'R')
	}
	if c.trk.bcast {
		f = append(f, 'B')
	}
	return f
}
