package node

// Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the
// shard variants (which in standalone mode are a separate namespace of
// plain channels) and PUBSUB.
//
// Delivery. A message for a subscriber is produced by another client's
// goroutine while it holds the data lock, and must not write to a socket
// there: a slow subscriber would stall the whole server. So a client
// gets, when it first subscribes, an outbound queue and a writer
// goroutine that drains it to the socket. Messages are appended to the
// queue under the lock; the publisher never waits. To keep a
// subscriber's own replies ordered with the messages it receives, from
// then on its replies go through the same queue too: at the end of each
// batch (still under the lock) its reply buffer is moved to the queue.
// Invariant: outside its own batch, a queued client's reply buffer is
// empty, so a message for a client whose reply buffer is not empty is
// for the client running now (it published to itself) and is appended
// to that buffer, behind the replies it already produced.
//
// client-output-buffer-limit applies to what is queued: a client over
// the hard limit, or over the soft limit for longer than its seconds, is
// disconnected.

import (
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/skiffdb/skiff/internal/glob"
	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/slots"
)

func init() {
	register(
		&Command{Name: "subscribe", Arity: -2, Flags: "pubsub noscript loading stale sentinel", Group: "pubsub", Since: "2.0.0", Summary: "Listen for messages published to the given channels", Complexity: "O(N) where N is the number of channels to subscribe to.", Handler: cmdSubscribe},
		&Command{Name: "unsubscribe", Arity: -1, Flags: "pubsub noscript loading stale sentinel", Group: "pubsub", Since: "2.0.0", Summary: "Stop listening for messages posted to the given channels", Complexity: "O(N) where N is the number of clients already subscribed to a channel.", Handler: cmdUnsubscribe},
		&Command{Name: "psubscribe", Arity: -2, Flags: "pubsub noscript loading stale sentinel", Group: "pubsub", Since: "2.0.0", Summary: "Listen for messages published to channels matching the given patterns", Complexity: "O(N) where N is the number of patterns the client is already subscribed to.", Handler: cmdPsubscribe},
		&Command{Name: "punsubscribe", Arity: -1, Flags: "pubsub noscript loading stale sentinel", Group: "pubsub", Since: "2.0.0", Summary: "Stop listening for messages posted to channels matching the given patterns", Complexity: "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", Handler: cmdPunsubscribe},
		&Command{Name: "publish", Arity: 3, Flags: "pubsub loading stale fast may_replicate sentinel", Group: "pubsub", Since: "2.0.0", Summary: "Post a message to a channel", Complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", Handler: cmdPublish},
		&Command{Name: "ssubscribe", Arity: -2, Flags: "pubsub noscript loading stale", FirstKey: 1, LastKey: -1, Step: 1, Group: "pubsub", Since: "7.0.0", Summary: "Listen for messages published to the given shard channels", Complexity: "O(N) where N is the number of shard channels to subscribe to.", Handler: cmdSsubscribe},
		&Command{Name: "sunsubscribe", Arity: -1, Flags: "pubsub noscript loading stale", FirstKey: 1, LastKey: -1, Step: 1, Group: "pubsub", Since: "7.0.0", Summary: "Stop listening for messages posted to the given shard channels", Complexity: "O(N) where N is the number of clients already subscribed to a shard channel.", Handler: cmdSunsubscribe},
		&Command{Name: "spublish", Arity: 3, Flags: "pubsub loading stale fast may_replicate", FirstKey: 1, LastKey: 1, Step: 1, Group: "pubsub", Since: "7.0.0", Summary: "Post a message to a shard channel", Complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.", Handler: cmdSpublish},
		&Command{Name: "pubsub", Arity: -2, Group: "pubsub", Since: "2.8.0", Summary: "A container for Pub/Sub commands", Complexity: "Depends on subcommand."},
	)
	registerSub("pubsub",
		&Command{Name: "channels", Arity: -2, Flags: "pubsub loading stale", Group: "pubsub", Since: "2.8.0", Summary: "List active channels", Complexity: "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)", Handler: cmdPubsubChannels},
		&Command{Name: "numsub", Arity: -2, Flags: "pubsub loading stale", Group: "pubsub", Since: "2.8.0", Summary: "Get the count of subscribers for channels", Complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels", Handler: cmdPubsubNumsub},
		&Command{Name: "numpat", Arity: 2, Flags: "pubsub loading stale", Group: "pubsub", Since: "2.8.0", Summary: "Get the count of unique patterns pattern subscriptions", Complexity: "O(1)", Handler: cmdPubsubNumpat},
		&Command{Name: "shardchannels", Arity: -2, Flags: "pubsub loading stale", Group: "pubsub", Since: "7.0.0", Summary: "List active shard channels", Complexity: "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).", Handler: cmdPubsubShardChannels},
		&Command{Name: "shardnumsub", Arity: -2, Flags: "pubsub loading stale", Group: "pubsub", Since: "7.0.0", Summary: "Get the count of subscribers for shard channels", Complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", Handler: cmdPubsubShardNumsub},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "pubsub", Since: "6.2.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)", Handler: cmdPubsubHelp},
	)
	subscriptionCounts = func(c *Client) (sub, psub, ssub int) {
		if c.x.subs == nil {
			return 0, 0, 0
		}
		return c.x.subs.channels.len(), c.x.subs.patterns.len(), c.x.subs.shard.len()
	}
	pubsubCounts = func(s *Server) (channels, patterns, shard int) {
		return len(s.x.ps.channels), len(s.x.ps.patterns), len(s.x.ps.shard)
	}
	resetHooks = append(resetHooks, func(c *Client) { c.srv.unsubscribeAll(c) })
}

// pubsubServer maps channels and patterns to their subscribers, in
// subscription order.
type pubsubServer struct {
	channels map[string][]*Client
	shard    map[string][]*Client
	patterns map[string][]*Client
	// patOrder lists the patterns with subscribers in the order they
	// were first subscribed, so that delivery order is stable.
	patOrder []string
	// limitNormal and limitPubSub are client-output-buffer-limit's
	// classes that apply to queued clients.
	limitNormal, limitPubSub outputLimit
}

// subSet is an insertion-ordered set of names.
type subSet struct {
	order []string
	has   map[string]struct{}
}

func (ss *subSet) len() int { return len(ss.order) }

func (ss *subSet) add(name string) bool {
	if _, ok := ss.has[name]; ok {
		return false
	}
	if ss.has == nil {
		ss.has = map[string]struct{}{}
	}
	ss.has[name] = struct{}{}
	ss.order = append(ss.order, name)
	return true
}

func (ss *subSet) remove(name string) bool {
	if _, ok := ss.has[name]; !ok {
		return false
	}
	delete(ss.has, name)
	for i, n := range ss.order {
		if n == name {
			ss.order = append(ss.order[:i:i], ss.order[i+1:]...)
			break
		}
	}
	return true
}

// clientSubs is what one client is subscribed to.
type clientSubs struct {
	channels, patterns, shard subSet
}

// pubsubKind selects the plain or the shard namespace.
type pubsubKind struct {
	shard                 bool
	subMsg, unsubMsg, msg string
}

var (
	kindPlain = pubsubKind{false, "subscribe", "unsubscribe", "message"}
	kindShard = pubsubKind{true, "ssubscribe", "sunsubscribe", "smessage"}
)

func (s *Server) channelMap(k pubsubKind) *map[string][]*Client {
	if k.shard {
		return &s.x.ps.shard
	}
	return &s.x.ps.channels
}

func (c *Client) subs() *clientSubs {
	if c.x.subs == nil {
		c.x.subs = &clientSubs{}
	}
	return c.x.subs
}

func (cs *clientSubs) set(k pubsubKind) *subSet {
	if k.shard {
		return &cs.shard
	}
	return &cs.channels
}

// subCount is the count a (un)subscribe reply carries: channels plus
// patterns, or shard channels alone.
func (c *Client) subCount(k pubsubKind) int {
	if c.x.subs == nil {
		return 0
	}
	if k.shard {
		return c.x.subs.shard.len()
	}
	return c.x.subs.channels.len() + c.x.subs.patterns.len()
}

func (c *Client) totalSubs() int {
	if c.x.subs == nil {
		return 0
	}
	return c.x.subs.channels.len() + c.x.subs.patterns.len() + c.x.subs.shard.len()
}

// replySubEvent writes a (un)subscribe confirmation: a push in RESP3.
// Like every push, it is delivered even under CLIENT REPLY OFF/SKIP.
func (c *Client) replySubEvent(kind, name string, null bool, count int) {
	c.writePush(func(w *resp.Writer) {
		w.AppendPush(3)
		w.AppendBulkString(kind)
		if null {
			w.AppendNull()
		} else {
			w.AppendBulkString(name)
		}
		w.AppendInt(int64(count))
	})
}

// writePush writes a push to the running client c. Under CLIENT REPLY
// OFF/SKIP its replies are cut after the command, so the push goes to
// the output queue instead, behind the replies already produced.
func (c *Client) writePush(fn func(w *resp.Writer)) {
	if c.flags&(clientReplyOff|clientReplySkip) == 0 {
		fn(&c.w)
		return
	}
	c.srv.ensureQueue(c)
	c.queueReplies()
	if pending := c.x.out.appendWith(c.w.Proto, fn); pending >= 0 {
		c.srv.checkOutputLimit(c, pending)
	}
}

func (s *Server) subscribe(c *Client, k pubsubKind, name string) {
	if c.subs().set(k).add(name) {
		m := s.channelMap(k)
		if *m == nil {
			*m = map[string][]*Client{}
		}
		(*m)[name] = append((*m)[name], c)
	}
	s.ensureQueue(c)
	c.replySubEvent(k.subMsg, name, false, c.subCount(k))
}

func (s *Server) unsubscribe(c *Client, k pubsubKind, name string, notify bool) bool {
	removed := c.x.subs != nil && c.x.subs.set(k).remove(name)
	if removed {
		m := *s.channelMap(k)
		m[name] = removeClient(m[name], c)
		if len(m[name]) == 0 {
			delete(m, name)
		}
	}
	if notify {
		c.replySubEvent(k.unsubMsg, name, false, c.subCount(k))
	}
	return removed
}

func (s *Server) unsubscribeAllOf(c *Client, k pubsubKind, notify bool) {
	n := 0
	if c.x.subs != nil {
		for _, name := range append([]string(nil), c.x.subs.set(k).order...) {
			if s.unsubscribe(c, k, name, notify) {
				n++
			}
		}
	}
	if notify && n == 0 {
		c.replySubEvent(k.unsubMsg, "", true, c.subCount(k))
	}
}

func (s *Server) psubscribe(c *Client, pat string) {
	if c.subs().patterns.add(pat) {
		if s.x.ps.patterns == nil {
			s.x.ps.patterns = map[string][]*Client{}
		}
		if len(s.x.ps.patterns[pat]) == 0 {
			s.x.ps.patOrder = append(s.x.ps.patOrder, pat)
		}
		s.x.ps.patterns[pat] = append(s.x.ps.patterns[pat], c)
	}
	s.ensureQueue(c)
	c.replySubEvent("psubscribe", pat, false, c.subCount(kindPlain))
}

func (s *Server) punsubscribe(c *Client, pat string, notify bool) bool {
	removed := c.x.subs != nil && c.x.subs.patterns.remove(pat)
	if removed {
		l := removeClient(s.x.ps.patterns[pat], c)
		if len(l) == 0 {
			delete(s.x.ps.patterns, pat)
			for i, p := range s.x.ps.patOrder {
				if p == pat {
					s.x.ps.patOrder = append(s.x.ps.patOrder[:i:i], s.x.ps.patOrder[i+1:]...)
					break
				}
			}
		} else {
			s.x.ps.patterns[pat] = l
		}
	}
	if notify {
		c.replySubEvent("punsubscribe", pat, false, c.subCount(kindPlain))
	}
	return removed
}

func (s *Server) punsubscribeAll(c *Client, notify bool) {
	n := 0
	if c.x.subs != nil {
		for _, pat := range append([]string(nil), c.x.subs.patterns.order...) {
			if s.punsubscribe(c, pat, notify) {
				n++
			}
		}
	}
	if notify && n == 0 {
		c.replySubEvent("punsubscribe", "", true, c.subCount(kindPlain))
	}
}

// unsubscribeAll drops every subscription silently (disconnect, RESET).
func (s *Server) unsubscribeAll(c *Client) {
	if c.x.subs == nil {
		return
	}
	s.unsubscribeAllOf(c, kindPlain, false)
	s.unsubscribeAllOf(c, kindShard, false)
	s.punsubscribeAll(c, false)
	c.flags &^= clientPubSub
}

func removeClient(l []*Client, c *Client) []*Client {
	for i, o := range l {
		if o == c {
			return append(l[:i:i], l[i+1:]...)
		}
	}
	return l
}

func cmdSubscribe(c *Client, args [][]byte) {
	for _, a := range args[1:] {
		c.srv.subscribe(c, kindPlain, string(a))
	}
	c.flags |= clientPubSub
}

func cmdSsubscribe(c *Client, args [][]byte) {
	for _, a := range args[1:] {
		c.srv.subscribe(c, kindShard, string(a))
	}
	c.flags |= clientPubSub
}

func cmdPsubscribe(c *Client, args [][]byte) {
	for _, a := range args[1:] {
		c.srv.psubscribe(c, string(a))
	}
	c.flags |= clientPubSub
}

func (c *Client) unsubscribed() {
	if c.totalSubs() == 0 {
		c.flags &^= clientPubSub
	}
}

func cmdUnsubscribe(c *Client, args [][]byte) { unsubscribeCmd(c, args, kindPlain) }

func cmdSunsubscribe(c *Client, args [][]byte) { unsubscribeCmd(c, args, kindShard) }

func unsubscribeCmd(c *Client, args [][]byte, k pubsubKind) {
	if len(args) == 1 {
		c.srv.unsubscribeAllOf(c, k, true)
	} else {
		for _, a := range args[1:] {
			c.srv.unsubscribe(c, k, string(a), true)
		}
	}
	c.unsubscribed()
}

func cmdPunsubscribe(c *Client, args [][]byte) {
	if len(args) == 1 {
		c.srv.punsubscribeAll(c, true)
	} else {
		for _, a := range args[1:] {
			c.srv.punsubscribe(c, string(a), true)
		}
	}
	c.unsubscribed()
}

func cmdPublish(c *Client, args [][]byte) { publishCmd(c, args, kindPlain) }

func cmdSpublish(c *Client, args [][]byte) { publishCmd(c, args, kindShard) }

func publishCmd(c *Client, args [][]byte, k pubsubKind) {
	s := c.srv
	n := s.publish(k, string(args[1]), args[2])
	if s.cl != nil {
		// Cluster mode: the other nodes (of the shard, for SPUBLISH) get
		// it from the cluster (cluster/bus.go), not from the replication
		// stream, as Redis's clusterPropagatePublish.
		s.cl.node.Publish(k.shard, args[1], args[2])
	} else {
		// Redis replicates PUBLISH whether or not anything changed.
		s.propagate(c.db.ID, args)
	}
	c.replyInt(int64(n))
}

// unsubscribeShardSlots is Redis's removeChannelsInSlot for each slot
// given: every subscriber of a shard channel of those slots is
// unsubscribed and gets a sunsubscribe message (locked; no client is
// running). Channels go in slot order, then name order, as Redis's
// slots-to-channels index lists them.
func (s *Server) unsubscribeShardSlots(slotList []int) {
	if len(s.x.ps.shard) == 0 || len(slotList) == 0 {
		return
	}
	lost := make(map[int]bool, len(slotList))
	for _, sl := range slotList {
		lost[sl] = true
	}
	type shardChannel struct {
		slot int
		name string
	}
	var drop []shardChannel
	for ch := range s.x.ps.shard {
		if sl := slots.KeySlotString(ch); lost[sl] {
			drop = append(drop, shardChannel{sl, ch})
		}
	}
	sort.Slice(drop, func(i, j int) bool {
		if drop[i].slot != drop[j].slot {
			return drop[i].slot < drop[j].slot
		}
		return drop[i].name < drop[j].name
	})
	for _, d := range drop {
		for _, t := range s.x.ps.shard[d.name] {
			if t.x.subs != nil {
				t.x.subs.shard.remove(d.name)
			}
			count := t.subCount(kindShard)
			name := d.name
			s.pushTo(t, func(w *resp.Writer) {
				w.AppendPush(3)
				w.AppendBulkString(kindShard.unsubMsg)
				w.AppendBulkString(name)
				w.AppendInt(int64(count))
			})
			t.unsubscribed()
		}
		delete(s.x.ps.shard, d.name)
	}
}

// publish delivers a message and returns the number of receivers.
func (s *Server) publish(k pubsubKind, channel string, msg []byte) int {
	n := 0
	for _, t := range (*s.channelMap(k))[channel] {
		s.pushTo(t, func(w *resp.Writer) {
			w.AppendPush(3)
			w.AppendBulkString(k.msg)
			w.AppendBulkString(channel)
			w.AppendBulk(msg)
		})
		n++
	}
	if k.shard || len(s.x.ps.patOrder) == 0 {
		return n
	}
	for _, pat := range append([]string(nil), s.x.ps.patOrder...) {
		if !glob.Match(pat, channel, false) {
			continue
		}
		for _, t := range s.x.ps.patterns[pat] {
			s.pushTo(t, func(w *resp.Writer) {
				w.AppendPush(4)
				w.AppendBulkString("pmessage")
				w.AppendBulkString(pat)
				w.AppendBulkString(channel)
				w.AppendBulk(msg)
			})
			n++
		}
	}
	return n
}

func cmdPubsubChannels(c *Client, args [][]byte) {
	channelList(c, args, c.srv.x.ps.channels)
}

func cmdPubsubShardChannels(c *Client, args [][]byte) {
	channelList(c, args, c.srv.x.ps.shard)
}

func channelList(c *Client, args [][]byte, m map[string][]*Client) {
	if len(args) > 3 {
		c.replyErrorf("ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", args[1])
		return
	}
	var out []string
	for ch := range m {
		if len(args) == 2 || glob.Match(string(args[2]), ch, false) {
			out = append(out, ch)
		}
	}
	sort.Strings(out)
	c.w.AppendArray(len(out))
	for _, ch := range out {
		c.w.AppendBulkString(ch)
	}
}

func cmdPubsubNumsub(c *Client, args [][]byte) { numsub(c, args, c.srv.x.ps.channels) }

func cmdPubsubShardNumsub(c *Client, args [][]byte) { numsub(c, args, c.srv.x.ps.shard) }

func numsub(c *Client, args [][]byte, m map[string][]*Client) {
	// Redis answers a flat array here even in RESP3.
	c.w.AppendArray(2 * (len(args) - 2))
	for _, a := range args[2:] {
		c.w.AppendBulk(a)
		c.w.AppendInt(int64(len(m[string(a)])))
	}
}

func cmdPubsubNumpat(c *Client, args [][]byte) { c.replyInt(int64(len(c.srv.x.ps.patterns))) }

func cmdPubsubHelp(c *Client, args [][]byte) {
	c.replyHelp([]string{
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
	})
}

// ---- outbound queue ----

// outQueue holds bytes for a client's socket that its writer goroutine
// has not written yet.
type outQueue struct {
	mu       sync.Mutex
	buf      []byte
	inflight int // bytes taken by the writer and being written
	closed   bool
	killed   bool // closed for breaking the output limits: drop, not drain
	wake     chan struct{}
	done     chan struct{} // closed when the writer has exited
	conn     net.Conn
	srv      *Server
	// rw writes without waiting (outbuf.go), nil for TLS: appendWith
	// writes through it, under mu, while nothing is queued or being
	// written, as Redis writes a client's output before its next event.
	rw *rawWriter
	// softSince is when the queue first exceeded the soft limit (zero
	// while below it); guarded by the server lock.
	softSince time.Time
}

// ensureQueue gives c an outbound queue and starts its writer.
func (s *Server) ensureQueue(c *Client) {
	if c.x.out != nil {
		return
	}
	q := &outQueue{wake: make(chan struct{}, 1), done: make(chan struct{}), conn: c.conn, srv: s}
	if c.rw != nil {
		q.rw = newRawWriter(c.rw.rc)
	}
	c.x.out = q
	go q.run()
}

func (q *outQueue) run() {
	defer close(q.done)
	var spare []byte
	for range q.wake {
		q.mu.Lock()
		if q.closed && len(q.buf) == 0 {
			q.mu.Unlock()
			return
		}
		b := q.buf
		q.buf = spare[:0]
		q.inflight = len(b)
		q.mu.Unlock()
		for w := b; len(w) > 0; {
			// In chunks, so that omem follows what the peer has read.
			n, err := q.conn.Write(w[:min(len(w), outChunk)])
			q.srv.stats.NetOutputBytes.Add(int64(n))
			w = w[n:]
			q.mu.Lock()
			q.inflight = len(w)
			q.mu.Unlock()
			if err != nil {
				q.mu.Lock()
				q.closed = true
				q.buf, q.inflight = nil, 0
				q.mu.Unlock()
				q.conn.Close()
				return
			}
		}
		q.mu.Lock()
		q.inflight = 0
		closed := q.closed && len(q.buf) == 0
		q.mu.Unlock()
		if closed {
			return
		}
		if cap(b) <= 64*1024 {
			spare = b
		} else {
			spare = nil
		}
	}
}

func (q *outQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// appendWith lets fn write into the queue with c's protocol and returns
// the bytes pending. It reports -1 when the queue is closed.
func (q *outQueue) appendWith(proto int, fn func(w *resp.Writer)) int {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return -1
	}
	w := resp.Writer{B: q.buf, Proto: proto}
	fn(&w)
	q.buf = w.B
	if q.rw != nil && q.inflight == 0 && len(q.buf) > 0 {
		// The writer is not writing (it takes bytes only under mu):
		// straight to the socket, as much as it takes now, in order;
		// the writer gets the rest. A write error is left to it.
		if n, _ := q.rw.write(q.buf); n > 0 {
			q.srv.stats.NetOutputBytes.Add(int64(n))
			q.buf = append(q.buf[:0], q.buf[n:]...)
		}
	}
	pending := len(q.buf) + q.inflight
	q.mu.Unlock()
	if pending > 0 {
		q.signal()
	}
	return pending
}

// pending is the number of bytes not yet written.
func (q *outQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.buf) + q.inflight
}

// close stops the writer once what is queued has been written.
func (q *outQueue) close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
	}
	q.mu.Unlock()
	q.signal()
}

// drain waits, at most until deadline, for the queue to be written out.
func (q *outQueue) drain(deadline time.Time) {
	q.close()
	q.mu.Lock()
	killed := q.killed
	q.mu.Unlock()
	if killed {
		return
	}
	q.conn.SetWriteDeadline(deadline)
	select {
	case <-q.done:
	case <-time.After(time.Until(deadline)):
	}
}

// pushTo delivers an out-of-band message (pub/sub, monitor) to t. It
// runs under the data lock, on any client's goroutine.
func (s *Server) pushTo(t *Client, fn func(w *resp.Writer)) {
	if t.x.out == nil || len(t.w.B) > 0 {
		// t is the client running now (see the file comment), or has no
		// queue yet: its reply buffer is the right place.
		t.writePush(fn)
		return
	}
	pending := t.x.out.appendWith(t.w.Proto, fn)
	if pending >= 0 {
		s.checkOutputLimit(t, pending)
	}
}

// queueReplies moves a queued client's replies into its queue at the end
// of its batch, under the lock (see the file comment).
func (c *Client) queueReplies() {
	q := c.x.out
	if q == nil || len(c.w.B) == 0 {
		return
	}
	b := c.w.B
	pending := q.appendWith(c.w.Proto, func(w *resp.Writer) { w.B = append(w.B, b...) })
	if cap(c.w.B) > 64*1024 {
		c.w.B = nil
	} else {
		c.w.B = c.w.B[:0]
	}
	if pending >= 0 {
		c.srv.checkOutputLimit(c, pending)
	}
}

// outputLimit is one class of client-output-buffer-limit.
type outputLimit struct {
	hard, soft int64
	softSecs   int64
}

// parseOutputLimits reads the normalised option ("normal h s secs slave
// ... pubsub ...") into the normal and pubsub classes.
func parseOutputLimits(v string) (normal, pubsub outputLimit) {
	f := strings.Fields(v)
	for i := 0; i+3 < len(f); i += 4 {
		h, _ := strconv.ParseInt(f[i+1], 10, 64)
		sft, _ := strconv.ParseInt(f[i+2], 10, 64)
		secs, _ := strconv.ParseInt(f[i+3], 10, 64)
		l := outputLimit{h, sft, secs}
		switch f[i] {
		case "normal":
			normal = l
		case "pubsub":
			pubsub = l
		}
	}
	return normal, pubsub
}

// checkOutputLimit disconnects c when its pending output breaks its
// class's limits, as Redis's checkClientOutputBufferLimits, when bytes
// are queued. Under the lock.
func (s *Server) checkOutputLimit(c *Client, pending int) {
	if c.flags&(clientMaster|clientReplica|clientCloseASAP) != 0 {
		return
	}
	if s.outputLimitReached(c, pending) {
		s.closeForOutputLimit(c, pending, true)
		return // not evicted too: the output limit comes first, as in Redis
	}
	// Output queued by another client's command (a message, a tracking
	// redirection) counts at once, as Redis counts a client's memory
	// when it adds to its buffers, cron or not (outbuf.go).
	if s.x.evict.maxmemory > 0 || s.x.evict.clients.limit > 0 {
		s.checkClientMem(c)
	}
}

// outputLimitReached tells whether pending bytes of queued output break
// c's class's hard limit, or its soft limit for longer than its seconds
// (tracked in the queue). Under the lock.
func (s *Server) outputLimitReached(c *Client, pending int) bool {
	l := s.x.ps.limitNormal
	if c.flags&clientPubSub != 0 {
		l = s.x.ps.limitPubSub
	}
	q := c.x.out
	hard := l.hard > 0 && int64(pending) >= l.hard
	soft := false
	if l.soft > 0 && int64(pending) >= l.soft {
		now := time.Now()
		if q.softSince.IsZero() {
			q.softSince = now
		} else if now.Sub(q.softSince) > time.Duration(l.softSecs)*time.Second {
			soft = true
		}
	} else {
		q.softSince = time.Time{}
	}
	return hard || soft
}

// closeForOutputLimit disconnects c, dropping its queued output, and
// logs it in Redis's words (async: found while adding output, rather
// than by the cron).
func (s *Server) closeForOutputLimit(c *Client, pending int, async bool) {
	line := strings.TrimRight(string(c.infoLine(nil, nil, time.Now())), "\n")
	if async {
		s.log.Warn("Client " + line + " scheduled to be closed ASAP for overcoming of output buffer limits.")
	} else {
		s.log.Warn("Client " + line + " closed for overcoming of output buffer limits.")
	}
	q := c.x.out
	c.flags |= clientCloseASAP
	delete(s.clients, c.id) // gone from CLIENT LIST at once, as in Redis
	// Closing the connection is what ends its goroutine (its read or
	// its wait fails).
	q.mu.Lock()
	q.killed = true
	q.closed = true
	q.buf = nil
	q.mu.Unlock()
	q.signal()
	c.conn.Close()
}
