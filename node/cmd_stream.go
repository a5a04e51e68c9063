package node

// Stream commands without consumer groups: XADD, XRANGE, XREVRANGE,
// XLEN, XDEL, XTRIM, XSETID, XREAD (blocking too). The group commands
// are in cmd_stream_group.go; both follow t_stream.c's behaviour, reply
// shapes and error texts.

import (
	"math"
	"strconv"
	"sync"
	"time"
	"weak"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/store"
	"github.com/skiffdb/skiff/stream"
)

func init() {
	register(
		&Command{Name: "xadd", Arity: -5, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Appends a new entry to a stream", Complexity: "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", Handler: cmdXadd},
		&Command{Name: "xrange", Arity: -4, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval", Complexity: "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", Handler: cmdXrange},
		&Command{Name: "xrevrange", Arity: -4, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", Complexity: "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", Handler: cmdXrevrange},
		&Command{Name: "xlen", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Return the number of entries in a stream", Complexity: "O(1)", Handler: cmdXlen},
		&Command{Name: "xdel", Arity: -3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", Complexity: "O(1) for each single item to delete in the stream, regardless of the stream size.", Handler: cmdXdel},
		&Command{Name: "xtrim", Arity: -4, Flags: "write", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Trims the stream to (approximately if '~' is passed) a certain size", Complexity: "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", Handler: cmdXtrim},
		&Command{Name: "xsetid", Arity: -3, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "An internal command for replicating stream values", Complexity: "O(1)", Handler: cmdXsetid},
		&Command{Name: "xread", Arity: -4, Flags: "readonly blocking", Group: "stream", Since: "5.0.0", Summary: "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", Complexity: "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", Handler: cmdXread},
		&Command{Name: "xreadgroup", Arity: -7, Flags: "write blocking", Group: "stream", Since: "5.0.0", Summary: "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", Complexity: "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", Handler: cmdXread},
	)
}

const (
	errStreamID      = "ERR Invalid stream ID specified as stream command argument"
	errStreamStartID = "ERR invalid start ID for the interval"
	errStreamEndID   = "ERR invalid end ID for the interval"
	// xreadBlockedDefaultCount bounds what a blocked XREAD without COUNT
	// receives at once (Redis's XREAD_BLOCKED_DEFAULT_COUNT).
	xreadBlockedDefaultCount = 1000
)

var (
	argXclaim  = []byte("XCLAIM")
	argXgroup  = []byte("XGROUP")
	argSetid   = []byte("SETID")
	argTime    = []byte("TIME")
	argRetry   = []byte("RETRYCOUNT")
	argForce   = []byte("FORCE")
	argJustid  = []byte("JUSTID")
	argLastid  = []byte("LASTID")
	argEntRead = []byte("ENTRIESREAD")
	argZero    = []byte("0")
	argEquals  = []byte("=")
)

func streamOf(e *store.Entry) *store.Stream { return e.Val.Val.(*store.Stream) }

// lookupStream finds key; WRONGTYPE (ok=false) for another type, nil,
// true when missing.
func (c *Client) lookupStream(key []byte, write bool) (*store.Stream, bool) {
	e, ok := c.lookupTyped(key, write, store.TypeStream)
	if e == nil {
		return nil, ok
	}
	return streamOf(e), true
}

// streamNodeLimits are stream-node-max-bytes and -entries.
func (c *Client) streamNodeLimits() (int64, int64) {
	return c.srv.cfg.Int("stream-node-max-bytes"), c.srv.cfg.Int("stream-node-max-entries")
}

// parseStreamID parses an ID argument, replying the error when invalid.
func parseStreamID(c *Client, b []byte, missingSeq uint64, strict bool) (stream.ID, bool) {
	id, _, ok := stream.ParseID(b, missingSeq, strict, false)
	if !ok {
		c.replyError(errStreamID)
	}
	return id, ok
}

// parseStreamInterval parses a range bound; "(" makes it exclusive (and
// strict: "(-" and "(+" are invalid).
func parseStreamInterval(c *Client, b []byte, missingSeq uint64) (stream.ID, bool, bool) {
	if len(b) > 1 && b[0] == '(' {
		id, ok := parseStreamID(c, b[1:], missingSeq, true)
		return id, true, ok
	}
	id, ok := parseStreamID(c, b, missingSeq, false)
	return id, false, ok
}

// parseLongLong is getLongLongFromObjectOrReply: msg replaces the
// default error when set.
func parseLongLong(c *Client, b []byte, msg string) (int64, bool) {
	v, ok := parseInt(b)
	if !ok {
		if msg == "" {
			msg = errNotInt
		} else {
			msg = "ERR " + msg
		}
		c.replyError(msg)
	}
	return v, ok
}

// deferredLen marks where an aggregate header will go once its length
// is known (Redis's addReplyDeferredLen).
func (c *Client) deferredLen() int { return len(c.w.B) }

// setDeferred inserts at mark the header of an array (map=false) or a
// map of n elements.
func (c *Client) setDeferred(mark int, n int, isMap bool) {
	hw := resp.Writer{Proto: c.w.Proto}
	var tmp [24]byte
	hw.B = tmp[:0]
	if isMap {
		hw.AppendMap(n)
	} else {
		hw.AppendArray(n)
	}
	h := hw.B
	c.w.B = append(c.w.B, h...)
	copy(c.w.B[mark+len(h):], c.w.B[mark:len(c.w.B)-len(h)])
	copy(c.w.B[mark:], h)
}

func (c *Client) replyStreamID(id stream.ID) {
	var buf [48]byte
	c.w.AppendBulk(id.Append(buf[:0]))
}

// Flags of streamReplyRange (Redis's STREAM_RWR_*).
const (
	rwrNoAck   = 1 << iota // no PEL entries
	rwrRaw                 // entries only, no enclosing array
	rwrHistory             // the consumer's own PEL
)

// streamProp names what a group read propagates (nil: nothing).
type streamProp struct{ key, group []byte }

// streamReplyRange is Redis's streamReplyWithRange: it replies the
// entries in [start, end] (end nil: to the end), at most count (0: all),
// and with a group it moves the group's last ID, creates PEL entries and
// propagates them as XCLAIMs.
func streamReplyRange(c *Client, s *store.Stream, start stream.ID, end *stream.ID, count int64, rev bool, g *stream.Group, cons *stream.Consumer, flags int, prop *streamProp) int64 {
	if g != nil && flags&rwrHistory != 0 {
		return streamReplyFromPEL(c, s, start, end, count, cons)
	}
	mark := -1
	if flags&rwrRaw == 0 {
		mark = c.deferredLen()
	}
	e := stream.MaxID
	if end != nil {
		e = *end
	}
	noack := flags&rwrNoAck != 0
	propagateLast := false
	var n int64
	it := s.Iter(start, e, rev)
	var fv [][]byte
	for {
		id, _, ok := it.Next()
		if !ok {
			break
		}
		if g != nil && id.Compare(g.LastID) > 0 {
			if g.EntriesRead != stream.InvalidEntriesRead && !s.RangeHasTombstones(id, nil) {
				g.EntriesRead++
			} else if s.EntriesAdded != 0 {
				g.EntriesRead = s.EstimateDistance(id)
			}
			g.LastID = id
			if noack {
				propagateLast = true
			}
		}
		fv = it.Fields(fv[:0])
		replyStreamEntry(c, id, fv)
		if g != nil && !noack {
			nk := &stream.NACK{ID: id, DeliveryTime: c.now, DeliveryCount: 1, Consumer: cons}
			if g.PEL.Insert(nk) {
				cons.PEL.Insert(nk)
			} else {
				nk = g.PEL.Get(id)
				nk.Consumer.PEL.Delete(id)
				nk.Consumer = cons
				nk.DeliveryTime = c.now
				nk.DeliveryCount = 1
				cons.PEL.Insert(nk)
			}
			if prop != nil {
				propagateXclaim(c, prop.key, g, prop.group, id.Bytes(), nk)
			}
		}
		n++
		if count != 0 && n == count {
			break
		}
	}
	if prop != nil && propagateLast {
		propagateGroupID(c, prop.key, g, prop.group)
	}
	if mark >= 0 {
		c.setDeferred(mark, int(n), false)
	}
	return n
}

func replyStreamEntry(c *Client, id stream.ID, fv [][]byte) {
	c.w.AppendArray(2)
	c.replyStreamID(id)
	c.w.AppendArray(len(fv))
	for _, b := range fv {
		c.w.AppendBulk(b)
	}
}

// replyOneEntry replies the single entry id raw; false when it is gone.
func replyOneEntry(c *Client, s *store.Stream, id stream.ID) bool {
	return streamReplyRange(c, s, id, &id, 1, false, nil, nil, rwrRaw, nil) == 1
}

// streamReplyFromPEL serves XREADGROUP's history: the consumer's PEL
// entries from start, each with its entry (or a null when the entry was
// deleted), counting the delivery.
func streamReplyFromPEL(c *Client, s *store.Stream, start stream.ID, end *stream.ID, count int64, cons *stream.Consumer) int64 {
	mark := c.deferredLen()
	var n int64
	cons.PEL.Ascend(start, func(nk *stream.NACK) bool {
		if count != 0 && n >= count {
			return false
		}
		if end != nil && nk.ID.Compare(*end) > 0 {
			return false
		}
		if !replyOneEntry(c, s, nk.ID) {
			c.w.AppendArray(2)
			c.replyStreamID(nk.ID)
			c.w.AppendNullArray()
		} else {
			nk.DeliveryTime = c.now
			nk.DeliveryCount++
		}
		n++
		return true
	})
	c.setDeferred(mark, int(n), false)
	return n
}

// propagateXclaim is Redis's streamPropagateXCLAIM: an idempotent XCLAIM
// that recreates the PEL entry on replicas and in the AOF.
func propagateXclaim(c *Client, key []byte, g *stream.Group, group []byte, id []byte, nk *stream.NACK) {
	c.srv.propagate(c.db.ID, [][]byte{argXclaim, copyBytes(key), copyBytes(group), []byte(nk.Consumer.Name),
		argZero, copyBytes(id), argTime, store.FormatInt(nk.DeliveryTime), argRetry,
		store.FormatInt(int64(nk.DeliveryCount)), argForce, argJustid, argLastid, g.LastID.Bytes()})
}

// propagateGroupID is Redis's streamPropagateGroupID: XGROUP SETID with
// the group's last ID and read counter.
func propagateGroupID(c *Client, key []byte, g *stream.Group, group []byte) {
	c.srv.propagate(c.db.ID, [][]byte{argXgroup, argSetid, copyBytes(key), copyBytes(group), g.LastID.Bytes(),
		argEntRead, store.FormatInt(g.EntriesRead)})
}

// propagateConsumerCreation is XGROUP CREATECONSUMER, for a consumer a
// NOACK read created (no XCLAIM would create it on the replica).
func propagateConsumerCreation(c *Client, key, group []byte, name string) {
	c.srv.propagate(c.db.ID, [][]byte{argXgroup, []byte("CREATECONSUMER"), copyBytes(key), copyBytes(group), []byte(name)})
}

// noPropagation stops call() from propagating the command line itself
// (Redis's preventCommandPropagation): its effects went out already.
func (c *Client) noPropagation() { c.propagateArgv = [][]byte{} }

// trimArgs are the parsed MAXLEN/MINID/LIMIT options of XADD and XTRIM.
type trimArgs struct {
	stream.TrimArgs
	strategy   int // 0 none, 1 maxlen, 2 minid
	argIdx     int // the threshold's argument index
	id         stream.ID
	idGiven    bool
	seqGiven   bool
	noMkStream bool
}

// parseAddTrim is streamParseAddOrTrimArgsOrReply: for XADD it returns
// the position of the ID argument.
func parseAddTrim(c *Client, args [][]byte, xadd bool) (trimArgs, int, bool) {
	var a trimArgs
	limitGiven := false
	i := 2
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && len(opt) == 1 && opt[0] == '*':
			return a, i, finishAddTrim(c, &a, limitGiven, xadd)
		case eqFold(opt, "maxlen") && more > 0, eqFold(opt, "minid") && more > 0:
			if a.strategy != 0 {
				c.replyError("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
				return a, -1, false
			}
			a.Approx = false
			next := args[i+1]
			if more >= 2 && len(next) == 1 && next[0] == '~' {
				a.Approx = true
				i++
			} else if more >= 2 && len(next) == 1 && next[0] == '=' {
				i++
			}
			if eqFold(opt, "maxlen") {
				v, ok := parseLongLong(c, args[i+1], "")
				if !ok {
					return a, -1, false
				}
				if v < 0 {
					c.replyError("ERR The MAXLEN argument must be >= 0.")
					return a, -1, false
				}
				a.MaxLen = v
				a.strategy = 1
			} else {
				id, ok := parseStreamID(c, args[i+1], 0, true)
				if !ok {
					return a, -1, false
				}
				a.ID = id
				a.MinID = true
				a.strategy = 2
			}
			i++
			a.argIdx = i
		case eqFold(opt, "limit") && more > 0:
			v, ok := parseLongLong(c, args[i+1], "")
			if !ok {
				return a, -1, false
			}
			if v < 0 {
				c.replyError("ERR The LIMIT argument must be >= 0.")
				return a, -1, false
			}
			a.Limit = v
			limitGiven = true
			i++
		case xadd && eqFold(opt, "nomkstream"):
			a.noMkStream = true
		case xadd:
			id, seqGiven, ok := stream.ParseID(opt, 0, true, true)
			if !ok {
				c.replyError(errStreamID)
				return a, -1, false
			}
			a.id, a.seqGiven, a.idGiven = id, seqGiven, true
			return a, i, finishAddTrim(c, &a, limitGiven, xadd)
		default:
			c.replySyntax()
			return a, -1, false
		}
	}
	return a, i, finishAddTrim(c, &a, limitGiven, xadd)
}

func finishAddTrim(c *Client, a *trimArgs, limitGiven, xadd bool) bool {
	if a.Limit != 0 && a.strategy == 0 {
		c.replyError("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
		return false
	}
	if !xadd && a.strategy == 0 {
		c.replyError("ERR syntax error, XTRIM must be called with a trimming strategy")
		return false
	}
	if c.flags&clientMaster != 0 {
		// From the master or the AOF: the threshold was rewritten to the
		// exact outcome, so no work limit applies.
		a.Limit = 0
		return true
	}
	if limitGiven {
		if !a.Approx {
			c.replyError("ERR syntax error, LIMIT cannot be used without the special ~ option")
			return false
		}
	} else if a.Approx {
		_, maxEntries := c.streamNodeLimits()
		a.Limit = 100 * maxEntries
		if a.Limit <= 0 {
			a.Limit = 10000
		}
		if a.Limit > 1000000 {
			a.Limit = 1000000
		}
	} else {
		a.Limit = 0
	}
	return true
}

// rewriteTrim makes the propagated command trim exactly what was
// trimmed here: "~" becomes "=" and the threshold the outcome.
func rewriteTrim(c *Client, args [][]byte, a *trimArgs, s *store.Stream) [][]byte {
	pa := c.propagateArgv
	if pa == nil {
		pa = make([][]byte, len(args))
		for i, b := range args {
			pa[i] = copyBytes(b)
		}
	}
	pa[a.argIdx-1] = argEquals
	if a.strategy == 1 {
		pa[a.argIdx] = store.FormatInt(int64(s.Length()))
	} else {
		first, ok := firstIDWithTombstones(s)
		if !ok {
			first = stream.MaxID
		}
		pa[a.argIdx] = first.Bytes()
	}
	return pa
}

// firstIDWithTombstones is streamGetEdgeID(first, without skipping
// tombstones): the head entry of the first node, deleted or not.
func firstIDWithTombstones(s *store.Stream) (stream.ID, bool) {
	return s.HeadID()
}

func cmdXadd(c *Client, args [][]byte) {
	a, idpos, ok := parseAddTrim(c, args, true)
	if !ok {
		return
	}
	fieldPos := idpos + 1
	if n := len(args) - fieldPos; n < 2 || n%2 == 1 {
		c.replyErrorf("ERR wrong number of arguments for '%s' command", c.cmdName())
		return
	}
	if a.idGiven && a.seqGiven && a.id.IsZero() {
		c.replyError("ERR The ID specified in XADD must be greater than 0-0")
		return
	}
	key := args[1]
	s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	created := false
	if s == nil {
		if a.noMkStream {
			c.replyNull()
			return
		}
		s = store.NewStream()
		created = true
	}
	if s.LastID == stream.MaxID {
		c.replyError("ERR The stream has exhausted the last possible ID, unable to add more items")
		return
	}
	var given *stream.ID
	if a.idGiven {
		given = &a.id
	}
	id, err := s.NextID(c.now, given, a.seqGiven)
	if err == nil {
		maxBytes, maxEntries := c.streamNodeLimits()
		err = s.Append(id, args[fieldPos:], maxBytes, maxEntries)
	}
	if err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	if created {
		c.db.SetValue(key, store.Object{Type: store.TypeStream, Val: s}, false)
	}
	var idbuf [48]byte
	idb := id.Append(idbuf[:0])
	c.w.AppendBulk(idb)
	c.modified(key)
	c.notify(notifyStream, "xadd", key)
	if a.strategy != 0 {
		if s.Trim(a.TrimArgs) > 0 {
			c.notify(notifyStream, "xtrim", key)
		}
		if a.Approx {
			c.propagateArgv = rewriteTrim(c, args, &a, s)
		}
	}
	if !a.idGiven || !a.seqGiven {
		pa := c.propagateArgv
		if pa == nil {
			if sc := c.srv.xaddScratch(c, len(args)); sc != nil {
				// A top-level command's effects are encoded before it
				// returns: one argv per server serves every XADD.
				sc.argv = append(sc.argv[:0], args...)
				sc.id = append(sc.id[:0], idb...)
				sc.argv[idpos] = sc.id
				c.propagateArgv = sc.argv
				return
			}
			pa = make([][]byte, len(args))
			copy(pa, args)
		}
		pa[idpos] = copyBytes(idb)
		c.propagateArgv = pa
	}
}

// xaddArgv is the propagated argv of the XADD running now.
type xaddArgv struct {
	argv [][]byte
	id   []byte
}

// xaddScratches holds one xaddArgv per server (servers of one process
// are independent; each is used under its own lock), keyed weakly so
// that a stopped server is not kept alive by it.
var xaddScratches sync.Map // weak.Pointer[Server] → *xaddArgv

// xaddScratch returns the server's reusable argv when the command's
// effects will be encoded before it returns (a top-level command, not
// queued by EXEC or a script, whose effects wait for their end); nil
// otherwise.
func (s *Server) xaddScratch(c *Client, n int) *xaddArgv {
	if s.blocking.depth != 1 || s.x.txProp != nil || c.flags&clientMulti != 0 || n > 64 {
		return nil
	}
	k := weak.Make(s)
	v, ok := xaddScratches.Load(k)
	if !ok {
		v, _ = xaddScratches.LoadOrStore(k, &xaddArgv{})
	}
	return v.(*xaddArgv)
}

func cmdXrange(c *Client, args [][]byte)    { xrangeGeneric(c, args, false) }
func cmdXrevrange(c *Client, args [][]byte) { xrangeGeneric(c, args, true) }

func xrangeGeneric(c *Client, args [][]byte, rev bool) {
	startArg, endArg := args[2], args[3]
	if rev {
		startArg, endArg = endArg, startArg
	}
	start, startEx, ok := parseStreamInterval(c, startArg, 0)
	if !ok {
		return
	}
	if startEx {
		if start, ok = start.Incr(); !ok {
			c.replyError(errStreamStartID)
			return
		}
	}
	end, endEx, ok := parseStreamInterval(c, endArg, stream.MaxID.Seq)
	if !ok {
		return
	}
	if endEx {
		if end, ok = end.Decr(); !ok {
			c.replyError(errStreamEndID)
			return
		}
	}
	count := int64(-1)
	for j := 4; j < len(args); j++ {
		if eqFold(args[j], "count") && len(args)-j-1 >= 1 {
			v, ok := parseLongLong(c, args[j+1], "")
			if !ok {
				return
			}
			count = max(v, 0)
			j++
		} else {
			c.replySyntax()
			return
		}
	}
	e := c.lookupRead(args[1])
	if e == nil {
		c.w.AppendArray(0)
		return
	}
	if e.Val.Type != store.TypeStream {
		c.replyWrongType()
		return
	}
	if count == 0 {
		c.w.AppendNullArray()
		return
	}
	streamReplyRange(c, streamOf(e), start, &end, max(count, 0), rev, nil, nil, 0, nil)
}

func cmdXlen(c *Client, args [][]byte) {
	s, ok := c.lookupStream(args[1], false)
	if !ok {
		return
	}
	if s == nil {
		c.replyInt(0)
		return
	}
	c.replyInt(int64(s.Length()))
}

func cmdXdel(c *Client, args [][]byte) {
	key := args[1]
	s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	if s == nil {
		c.replyInt(0)
		return
	}
	ids := make([]stream.ID, 0, len(args)-2)
	for _, a := range args[2:] {
		id, ok := parseStreamID(c, a, 0, true)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	deleted := 0
	firstEntry := false
	for _, id := range ids {
		if s.Delete(id) {
			if id == s.FirstID {
				firstEntry = true
			}
			if id.Compare(s.MaxDeletedID) > 0 {
				s.MaxDeletedID = id
			}
			deleted++
		}
	}
	if deleted > 0 {
		if s.Length() == 0 {
			s.FirstID = stream.ID{}
		} else if firstEntry {
			s.UpdateFirstID()
		}
		c.modifiedN(key, int64(deleted))
		c.notify(notifyStream, "xdel", key)
	}
	c.replyInt(int64(deleted))
}

func cmdXtrim(c *Client, args [][]byte) {
	a, _, ok := parseAddTrim(c, args, false)
	if !ok {
		return
	}
	key := args[1]
	s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	if s == nil {
		c.replyInt(0)
		return
	}
	deleted := s.Trim(a.TrimArgs)
	if deleted > 0 {
		c.notify(notifyStream, "xtrim", key)
		if a.Approx {
			c.propagateArgv = rewriteTrim(c, args, &a, s)
		}
		c.modifiedN(key, deleted)
	}
	c.replyInt(deleted)
}

func cmdXsetid(c *Client, args [][]byte) {
	id, ok := parseStreamID(c, args[2], 0, true)
	if !ok {
		return
	}
	entriesAdded := int64(-1)
	var maxDel stream.ID
	for i := 3; i < len(args); i++ {
		more := len(args) - 1 - i
		switch {
		case eqFold(args[i], "entriesadded") && more > 0:
			v, ok := parseLongLong(c, args[i+1], "")
			if !ok {
				return
			}
			if v < 0 {
				c.replyError("ERR entries_added must be positive")
				return
			}
			entriesAdded = v
			i++
		case eqFold(args[i], "maxdeletedid") && more > 0:
			v, ok := parseStreamID(c, args[i+1], 0, true)
			if !ok {
				return
			}
			if id.Less(v) {
				c.replyError("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id")
				return
			}
			maxDel = v
			i++
		default:
			c.replySyntax()
			return
		}
	}
	key := args[1]
	s, ok := c.lookupStream(key, true)
	if !ok {
		return
	}
	if s == nil {
		c.replyError(errNoSuchKey)
		return
	}
	if s.Length() > 0 {
		if id.Less(s.LastValidID()) {
			c.replyError("ERR The ID specified in XSETID is smaller than the target stream top item")
			return
		}
		if entriesAdded != -1 && s.Length() > uint64(entriesAdded) {
			c.replyError("ERR The entries_added specified in XSETID is smaller than the target stream length")
			return
		}
	}
	s.LastID = id
	if entriesAdded != -1 {
		s.EntriesAdded = uint64(entriesAdded)
	}
	if !maxDel.IsZero() {
		s.MaxDeletedID = maxDel
	}
	c.replyOK()
	c.modified(key)
	c.notify(notifyStream, "xsetid", key)
}

// xreadWait is what a blocked XREAD/XREADGROUP waits for.
type xreadWait struct {
	ids      map[string]stream.ID // per key: entries after this ID
	count    int64
	group    []byte // XREADGROUP's group, nil for XREAD
	consumer []byte
	noack    bool
}

func cmdXread(c *Client, args [][]byte) {
	xreadgroup := len(args[0]) == 10
	timeout := int64(-1)
	var count int64
	streamsArg, nstreams := 0, 0
	var groupName, consumerName []byte
	noack := false
	for i := 1; i < len(args); i++ {
		more := len(args) - i - 1
		o := args[i]
		switch {
		case eqFold(o, "block") && more > 0:
			if c.srv.scriptClientIs(c) {
				c.replyErrorf("ERR %s command is not allowed with BLOCK option from scripts", args[0])
				return
			}
			i++
			ms, ok := parseBlockMillis(c, args[i])
			if !ok {
				return
			}
			timeout = ms
		case eqFold(o, "count") && more > 0:
			i++
			v, ok := parseLongLong(c, args[i], "")
			if !ok {
				return
			}
			count = max(v, 0)
		case eqFold(o, "streams") && more > 0:
			streamsArg = i + 1
			nstreams = len(args) - streamsArg
			if nstreams%2 != 0 {
				c.replyError("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.")
				return
			}
			nstreams /= 2
			i = len(args)
		case eqFold(o, "group") && more >= 2:
			if !xreadgroup {
				c.replyError("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			groupName, consumerName = args[i+1], args[i+2]
			i += 2
		case eqFold(o, "noack"):
			if !xreadgroup {
				c.replyError("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.")
				return
			}
			noack = true
		default:
			c.replySyntax()
			return
		}
	}
	if streamsArg == 0 {
		c.replySyntax()
		return
	}
	if xreadgroup && groupName == nil {
		c.replyError("ERR Missing GROUP option for XREADGROUP")
		return
	}
	// XREADGROUP is propagated as the XCLAIMs and SETIDs it causes.
	c.noPropagation()
	keys := args[streamsArg : streamsArg+nstreams]
	ids := make([]stream.ID, nstreams)
	var groups []*stream.Group
	if groupName != nil {
		groups = make([]*stream.Group, nstreams)
	}
	for i := 0; i < nstreams; i++ {
		key := keys[i]
		arg := args[streamsArg+nstreams+i]
		e := c.lookupRead(key)
		if e != nil && e.Val.Type != store.TypeStream {
			c.replyWrongType()
			return
		}
		var s *store.Stream
		if e != nil {
			s = streamOf(e)
		}
		if groupName != nil {
			var g *stream.Group
			if s != nil {
				g = s.Group(string(groupName))
			}
			if g == nil {
				c.replyErrorf("NOGROUP No such key '%s' or consumer group '%s' in XREADGROUP with GROUP option", cString(key), cString(groupName))
				return
			}
			groups[i] = g
		}
		switch {
		case len(arg) == 1 && arg[0] == '$':
			if xreadgroup {
				c.replyError("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.")
				return
			}
			if s != nil {
				ids[i] = s.LastID
			}
			continue
		case len(arg) == 1 && arg[0] == '>':
			if !xreadgroup {
				c.replyError("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.")
				return
			}
			ids[i] = stream.MaxID
			continue
		}
		id, ok := parseStreamID(c, arg, 0, true)
		if !ok {
			return
		}
		ids[i] = id
	}
	served := 0
	mark := 0
	for i := 0; i < nstreams; i++ {
		key := keys[i]
		e := c.db.Lookup(key, c.now)
		if e == nil || e.Val.Type != store.TypeStream {
			continue
		}
		s := streamOf(e)
		gt := ids[i]
		sync, history := false, false
		if groups != nil {
			if gt != stream.MaxID {
				sync, history = true, true
			} else if s.Length() > 0 {
				if last := groups[i].LastID; s.LastValidID().Compare(last) > 0 {
					sync = true
					gt = last
				}
			}
		} else if s.Length() > 0 && s.LastValidID().Compare(gt) > 0 {
			sync = true
		}
		if !sync {
			continue
		}
		served++
		if served == 1 {
			mark = c.deferredLen()
		}
		start, _ := gt.Incr()
		if c.w.Proto == 2 {
			c.w.AppendArray(2)
		}
		c.w.AppendBulk(key)
		var cons *stream.Consumer
		prop := &streamProp{key: key, group: groupName}
		if groups != nil {
			cons = c.streamConsumer(groups[i], consumerName, key, noack, groupName)
		}
		flags := 0
		if noack {
			flags |= rwrNoAck
		}
		if history {
			flags |= rwrHistory
		}
		var g *stream.Group
		if groups != nil {
			g = groups[i]
		}
		streamReplyRange(c, s, start, nil, count, false, g, cons, flags, prop)
		if groups != nil {
			c.srv.dirty++
		}
	}
	if served > 0 {
		c.setDeferred(mark, served, c.w.Proto != 2)
		return
	}
	if timeout == -1 {
		c.w.AppendNullArray()
		return
	}
	w := &xreadWait{ids: map[string]stream.ID{}, count: count, noack: noack}
	if w.count == 0 {
		w.count = xreadBlockedDefaultCount
	}
	for i, k := range keys {
		if _, dup := w.ids[string(k)]; !dup {
			w.ids[string(k)] = ids[i]
		}
	}
	if groupName != nil {
		w.group = copyBytes(groupName)
		w.consumer = copyBytes(consumerName)
	}
	var d time.Duration
	if timeout > 0 {
		d = time.Duration(timeout) * time.Millisecond
	}
	c.block(keys, d, func(c *Client, key []byte) bool { return xreadServe(c, key, w) },
		func(c *Client) { c.w.AppendNullArray() })
}

// streamConsumer looks the consumer up (refreshing its seen time) or
// creates it, propagating the creation for NOACK reads.
func (c *Client) streamConsumer(g *stream.Group, name, key []byte, noack bool, groupName []byte) *stream.Consumer {
	cons := g.Consumer(string(name))
	if cons != nil {
		cons.SeenTime = c.now
		return cons
	}
	cons = g.CreateConsumer(string(name), c.now)
	c.srv.dirty++
	c.notify(notifyStream, "xgroup-createconsumer", key)
	if noack {
		propagateConsumerCreation(c, key, groupName, cons.Name)
	}
	return cons
}

// xreadServe serves a client blocked in XREAD/XREADGROUP when key may
// have new entries (Redis's serveClientsBlockedOnStreamKey), or fails an
// XREADGROUP whose stream or group went away.
func xreadServe(c *Client, key []byte, w *xreadWait) bool {
	e := c.db.Lookup(key, c.now)
	if e == nil || e.Val.Type != store.TypeStream {
		if w.group != nil {
			blockedFailed(c, "UNBLOCKED the stream key no longer exists")
			return true
		}
		return false
	}
	s := streamOf(e)
	gt := w.ids[string(key)]
	var g *stream.Group
	if w.group != nil {
		g = s.Group(string(w.group))
		if g == nil {
			blockedFailed(c, "NOGROUP the consumer group this client was blocked on no longer exists")
			return true
		}
		gt = g.LastID
	}
	if s.LastID.Compare(gt) <= 0 {
		return false
	}
	start, _ := gt.Incr()
	var cons *stream.Consumer
	if g != nil {
		cons = c.streamConsumer(g, w.consumer, key, w.noack, w.group)
	}
	if c.w.Proto == 2 {
		c.w.AppendArray(1)
		c.w.AppendArray(2)
	} else {
		c.w.AppendMap(1)
	}
	c.w.AppendBulk(key)
	flags := 0
	if w.noack {
		flags = rwrNoAck
	}
	streamReplyRange(c, s, start, nil, w.count, false, g, cons, flags, &streamProp{key: key, group: w.group})
	return true
}

// blockedFailed replies an error to a blocked client and counts its
// command as failed: Redis counts a blocked call when it ends (ours was
// counted when it blocked, as a success).
func blockedFailed(c *Client, msg string) {
	c.replyError(msg)
	if st := c.srv.stats.CmdStats[c.lastCmd]; st != nil {
		st.FailedCalls++
	}
}

// parseBlockMillis is getTimeoutFromObjectOrReply in milliseconds:
// an integer, not negative.
func parseBlockMillis(c *Client, b []byte) (int64, bool) {
	v, ok := parseInt(b)
	if !ok {
		c.replyError("ERR timeout is not an integer or out of range")
		return 0, false
	}
	if v < 0 {
		c.replyError(errNegativeTime)
		return 0, false
	}
	if v > 0 && v > math.MaxInt64-time.Now().UnixMilli() {
		c.replyError("ERR timeout is out of range")
		return 0, false
	}
	return v, true
}

// scriptClientIs reports whether c runs a script's commands.
func (s *Server) scriptClientIs(c *Client) bool {
	return s.scripts.client != nil && s.scripts.client == c
}

var _ = strconv.Itoa

// signalDeletedStreams marks ready every key clients are blocked on in
// the databases (after FLUSHDB, FLUSHALL, SWAPDB), so that an XREADGROUP
// whose stream is gone fails at once (Redis's
// scanDatabaseForDeletedStreams); other waiters find nothing and stay.
func (s *Server) signalDeletedStreams(dbs ...*store.DB) {
	if s.blocking.nblocked == 0 {
		return
	}
	for _, db := range dbs {
		for key := range s.blocking.waiting[db.ID] {
			s.signalKeyReady(db, []byte(key))
		}
	}
}
