package node

// Consumer group commands: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM
// and XINFO (t_stream.c's behaviour and texts).

import (
	"github.com/skiffdb/skiff/store"
	"github.com/skiffdb/skiff/stream"
)

func init() {
	register(&Command{Name: "xgroup", Arity: -2, Group: "stream", Since: "5.0.0", Summary: "A container for consumer groups commands", Complexity: "Depends on subcommand."})
	registerSub("xgroup",
		&Command{Name: "create", Arity: -5, Flags: "write denyoom", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Create a consumer group.", Complexity: "O(1)", Handler: cmdXgroup},
		&Command{Name: "createconsumer", Arity: 5, Flags: "write denyoom", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "6.2.0", Summary: "Create a consumer in a consumer group.", Complexity: "O(1)", Handler: cmdXgroup},
		&Command{Name: "delconsumer", Arity: 5, Flags: "write", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Delete a consumer from a consumer group.", Complexity: "O(1)", Handler: cmdXgroup},
		&Command{Name: "destroy", Arity: 4, Flags: "write", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Destroy a consumer group.", Complexity: "O(N) where N is the number of entries in the group's pending entries list (PEL).", Handler: cmdXgroup},
		&Command{Name: "setid", Arity: -5, Flags: "write", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Set a consumer group to an arbitrary last delivered ID value.", Complexity: "O(1)", Handler: cmdXgroup},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "stream", Since: "5.0.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)", Handler: cmdXgroup},
	)
	register(&Command{Name: "xinfo", Arity: -2, Group: "stream", Since: "5.0.0", Summary: "A container for stream introspection commands", Complexity: "Depends on subcommand."})
	registerSub("xinfo",
		&Command{Name: "consumers", Arity: 4, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "5.0.0", Summary: "List the consumers in a consumer group", Complexity: "O(1)", Handler: cmdXinfo},
		&Command{Name: "groups", Arity: 3, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "5.0.0", Summary: "List the consumer groups of a stream", Complexity: "O(1)", Handler: cmdXinfo},
		&Command{Name: "stream", Arity: -3, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Get information about a stream", Complexity: "O(1)", Handler: cmdXinfo},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "stream", Since: "5.0.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)", Handler: cmdXinfo},
	)
	register(
		&Command{Name: "xack", Arity: -4, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", Complexity: "O(1) for each message ID processed.", Handler: cmdXack},
		&Command{Name: "xpending", Arity: -3, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", Complexity: "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", Handler: cmdXpending},
		&Command{Name: "xclaim", Arity: -6, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "5.0.0", Summary: "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", Complexity: "O(log N) with N being the number of messages in the PEL of the consumer group.", Handler: cmdXclaim},
		&Command{Name: "xautoclaim", Arity: -6, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "stream", Since: "6.2.0", Summary: "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", Complexity: "O(1) if COUNT is small.", Handler: cmdXautoclaim},
	)
}

func cmdXgroup(c *Client, args [][]byte) {
	opt := args[1]
	var s *store.Stream
	var g *stream.Group
	mkstream := false
	entriesRead := int64(stream.InvalidEntriesRead)
	var key, grp []byte
	if len(args) >= 4 {
		create := eqFold(opt, "create")
		setid := eqFold(opt, "setid")
		for i := 5; i < len(args); {
			switch {
			case create && eqFold(args[i], "mkstream"):
				mkstream = true
				i++
			case (create || setid) && eqFold(args[i], "entriesread") && i+1 < len(args):
				v, ok := parseLongLong(c, args[i+1], "")
				if !ok {
					return
				}
				if v < 0 && v != stream.InvalidEntriesRead {
					c.replyError("ERR value for ENTRIESREAD must be positive or -1")
					return
				}
				entriesRead = v
				i += 2
			default:
				c.replySubcommandSyntax(args)
				return
			}
		}
		key, grp = args[2], args[3]
		var ok bool
		if s, ok = c.lookupStream(key, true); !ok {
			return
		}
	}
	if len(args) >= 4 && !mkstream {
		if s == nil {
			c.replyError("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.")
			return
		}
		if g = s.Group(string(grp)); g == nil && (eqFold(opt, "setid") || eqFold(opt, "createconsumer") || eqFold(opt, "delconsumer")) {
			c.replyErrorf("NOGROUP No such consumer group '%s' for key name '%s'", cString(grp), cString(key))
			return
		}
	}
	switch {
	case len(args) == 2 && eqFold(opt, "help"):
		c.replyHelp([]string{
			"CREATE <key> <groupname> <id|$> [option]",
			"    Create a new consumer group. Options are:",
			"    * MKSTREAM",
			"      Create the empty stream if it does not exist.",
			"    * ENTRIESREAD entries_read",
			"      Set the group's entries_read counter (internal use).",
			"CREATECONSUMER <key> <groupname> <consumer>",
			"    Create a new consumer in the specified group.",
			"DELCONSUMER <key> <groupname> <consumer>",
			"    Remove the specified consumer.",
			"DESTROY <key> <groupname>",
			"    Remove the specified group.",
			"SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
			"    Set the current group ID and entries_read counter.",
		})
	case eqFold(opt, "create") && len(args) >= 5 && len(args) <= 8:
		var id stream.ID
		if string(args[4]) == "$" {
			if s != nil {
				id = s.LastID
			}
		} else {
			var ok bool
			if id, ok = parseStreamID(c, args[4], 0, true); !ok {
				return
			}
		}
		if s == nil {
			s = store.NewStream()
			c.db.SetValue(key, store.Object{Type: store.TypeStream, Val: s}, false)
			c.srv.signalModifiedKey(c.db, key)
		}
		if s.CreateGroup(string(grp), id, entriesRead) != nil {
			c.replyOK()
			c.srv.dirty++
			c.notify(notifyStream, "xgroup-create", key)
		} else {
			c.replyError("BUSYGROUP Consumer Group name already exists")
		}
	case eqFold(opt, "setid") && (len(args) == 5 || len(args) == 7):
		var id stream.ID
		if string(args[4]) == "$" {
			id = s.LastID
		} else {
			var ok bool
			if id, ok = parseStreamID(c, args[4], 0, false); !ok {
				return
			}
		}
		g.LastID = id
		g.EntriesRead = entriesRead
		c.replyOK()
		c.srv.dirty++
		c.notify(notifyStream, "xgroup-setid", key)
	case eqFold(opt, "destroy") && len(args) == 4:
		if g != nil {
			s.DestroyGroup(string(grp))
			c.replyInt(1)
			c.srv.dirty++
			c.notify(notifyStream, "xgroup-destroy", key)
			c.srv.signalKeyReady(c.db, key)
		} else {
			c.replyInt(0)
		}
	case eqFold(opt, "createconsumer") && len(args) == 5:
		if g.CreateConsumer(string(args[4]), c.now) != nil {
			c.srv.dirty++
			c.notify(notifyStream, "xgroup-createconsumer", key)
			c.replyInt(1)
		} else {
			c.replyInt(0)
		}
	case eqFold(opt, "delconsumer") && len(args) == 5:
		pending := 0
		if g.Consumer(string(args[4])) != nil {
			pending = g.DeleteConsumer(string(args[4]))
			c.srv.dirty++
			c.notify(notifyStream, "xgroup-delconsumer", key)
		}
		c.replyInt(int64(pending))
	default:
		c.replySubcommandSyntax(args)
	}
}

// replySubcommandSyntax is addReplySubcommandSyntaxError.
func (c *Client) replySubcommandSyntax(args [][]byte) {
	parent := c.cmd
	name := "XGROUP"
	if parent != nil && parent.parent != nil {
		name = upper(parent.parent.Name)
	}
	c.replyErrorf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try %s HELP.", args[1], name)
}

func upper(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'z' {
			b[i] = ch - 32
		}
	}
	return string(b)
}

func cmdXack(c *Client, args [][]byte) {
	s, ok := c.lookupStream(args[1], false)
	if !ok {
		return
	}
	var g *stream.Group
	if s != nil {
		g = s.Group(string(args[2]))
	}
	if g == nil {
		c.replyInt(0)
		return
	}
	ids := make([]stream.ID, 0, len(args)-3)
	for _, a := range args[3:] {
		id, ok := parseStreamID(c, a, 0, true)
		if !ok {
			return
		}
		ids = append(ids, id)
	}
	acked := 0
	for _, id := range ids {
		if nk := g.PEL.Delete(id); nk != nil {
			nk.Consumer.PEL.Delete(id)
			acked++
			c.srv.dirty++
		}
	}
	c.replyInt(int64(acked))
}

func cmdXpending(c *Client, args [][]byte) {
	justInfo := len(args) == 3
	key, grp := args[1], args[2]
	var consumerName []byte
	var start, end stream.ID
	var count, minIdle int64
	if len(args) != 3 && (len(args) < 6 || len(args) > 9) {
		c.replySyntax()
		return
	}
	if len(args) >= 6 {
		si := 3
		if eqFold(args[3], "idle") {
			v, ok := parseLongLong(c, args[4], "")
			if !ok {
				return
			}
			minIdle = v
			if len(args) < 8 {
				c.replySyntax()
				return
			}
			si += 2
		}
		v, ok := parseLongLong(c, args[si+2], "")
		if !ok {
			return
		}
		count = max(v, 0)
		var ex bool
		if start, ex, ok = parseStreamInterval(c, args[si], 0); !ok {
			return
		}
		if ex {
			if start, ok = start.Incr(); !ok {
				c.replyError(errStreamStartID)
				return
			}
		}
		if end, ex, ok = parseStreamInterval(c, args[si+1], stream.MaxID.Seq); !ok {
			return
		}
		if ex {
			if end, ok = end.Decr(); !ok {
				c.replyError(errStreamEndID)
				return
			}
		}
		if si+3 < len(args) {
			consumerName = args[si+3]
		}
	}
	s, ok := c.lookupStream(key, false)
	if !ok {
		return
	}
	var g *stream.Group
	if s != nil {
		g = s.Group(string(grp))
	}
	if g == nil {
		c.replyErrorf("NOGROUP No such key '%s' or consumer group '%s'", cString(key), cString(grp))
		return
	}
	if justInfo {
		c.w.AppendArray(4)
		c.replyInt(int64(g.PEL.Len()))
		if g.PEL.Len() == 0 {
			c.replyNull()
			c.replyNull()
			c.w.AppendNullArray()
			return
		}
		c.replyStreamID(g.PEL.First().ID)
		c.replyStreamID(g.PEL.Last().ID)
		n := 0
		cons := g.Consumers()
		for _, x := range cons {
			if x.PEL.Len() > 0 {
				n++
			}
		}
		c.w.AppendArray(n)
		for _, x := range cons {
			if x.PEL.Len() == 0 {
				continue
			}
			c.w.AppendArray(2)
			c.w.AppendBulkString(x.Name)
			c.w.AppendBulkInt(int64(x.PEL.Len()))
		}
		return
	}
	pel := &g.PEL
	if consumerName != nil {
		cons := g.Consumer(string(consumerName))
		if cons == nil {
			c.w.AppendArray(0)
			return
		}
		pel = &cons.PEL
	}
	now := c.now
	mark := c.deferredLen()
	n := 0
	pel.Ascend(start, func(nk *stream.NACK) bool {
		if count == 0 || nk.ID.Compare(end) > 0 {
			return false
		}
		if minIdle != 0 && now-nk.DeliveryTime < minIdle {
			return true
		}
		n++
		count--
		c.w.AppendArray(4)
		c.replyStreamID(nk.ID)
		c.w.AppendBulkString(nk.Consumer.Name)
		c.replyInt(max(now-nk.DeliveryTime, 0))
		c.replyInt(int64(nk.DeliveryCount))
		return true
	})
	c.setDeferred(mark, n, false)
}

func cmdXclaim(c *Client, args [][]byte) {
	key, grp := args[1], args[2]
	s, ok := c.lookupStream(key, false)
	if !ok {
		return
	}
	var g *stream.Group
	if s != nil {
		g = s.Group(string(grp))
	}
	if g == nil {
		c.replyErrorf("NOGROUP No such key '%s' or consumer group '%s'", cString(key), cString(grp))
		return
	}
	minIdle, ok := parseLongLong(c, args[4], "Invalid min-idle-time argument for XCLAIM")
	if !ok {
		return
	}
	minIdle = max(minIdle, 0)
	var ids []stream.ID
	j := 5
	for ; j < len(args); j++ {
		id, _, ok := stream.ParseID(args[j], 0, true, false)
		if !ok {
			break
		}
		ids = append(ids, id)
	}
	lastIDArg := j - 1
	now := c.now
	var lastID stream.ID
	retry := int64(-1)
	deliveryTime := int64(-1)
	force, justid := false, false
	propagateLast := false
	for ; j < len(args); j++ {
		more := len(args) - 1 - j
		opt := args[j]
		switch {
		case eqFold(opt, "force"):
			force = true
		case eqFold(opt, "justid"):
			justid = true
		case eqFold(opt, "idle") && more > 0:
			j++
			v, ok := parseLongLong(c, args[j], "Invalid IDLE option argument for XCLAIM")
			if !ok {
				return
			}
			deliveryTime = now - v
		case eqFold(opt, "time") && more > 0:
			j++
			v, ok := parseLongLong(c, args[j], "Invalid TIME option argument for XCLAIM")
			if !ok {
				return
			}
			deliveryTime = v
		case eqFold(opt, "retrycount") && more > 0:
			j++
			v, ok := parseLongLong(c, args[j], "Invalid RETRYCOUNT option argument for XCLAIM")
			if !ok {
				return
			}
			retry = v
		case eqFold(opt, "lastid") && more > 0:
			j++
			v, ok := parseStreamID(c, args[j], 0, true)
			if !ok {
				return
			}
			lastID = v
		default:
			c.replyErrorf("ERR Unrecognized XCLAIM option '%s'", cString(opt))
			return
		}
	}
	if lastID.Compare(g.LastID) > 0 {
		g.LastID = lastID
		propagateLast = true
	}
	if deliveryTime != -1 {
		if deliveryTime < 0 || deliveryTime > now {
			deliveryTime = now
		}
	} else {
		deliveryTime = now
	}
	c.noPropagation()
	var cons *stream.Consumer
	name := args[3]
	mark := c.deferredLen()
	n := 0
	for k := 5; k <= lastIDArg; k++ {
		id := ids[k-5]
		nk := g.PEL.Get(id)
		if !s.Exists(id) {
			if nk != nil {
				propagateXclaim(c, key, g, grp, args[k], nk)
				propagateLast = false
				c.srv.dirty++
				g.PEL.Delete(id)
				nk.Consumer.PEL.Delete(id)
			}
			continue
		}
		if force && nk == nil {
			nk = &stream.NACK{ID: id, DeliveryTime: now, DeliveryCount: 1}
			g.PEL.Insert(nk)
		}
		if nk == nil {
			continue
		}
		if nk.Consumer != nil && minIdle != 0 && now-nk.DeliveryTime < minIdle {
			continue
		}
		if cons == nil {
			cons = c.streamConsumer(g, name, key, false, grp)
		}
		if nk.Consumer != cons && nk.Consumer != nil {
			nk.Consumer.PEL.Delete(id)
		}
		nk.DeliveryTime = deliveryTime
		if retry >= 0 {
			nk.DeliveryCount = uint64(retry)
		} else if !justid {
			nk.DeliveryCount++
		}
		if nk.Consumer != cons {
			cons.PEL.Insert(nk)
			nk.Consumer = cons
		}
		if justid {
			c.replyStreamID(id)
		} else {
			replyOneEntry(c, s, id)
		}
		n++
		propagateXclaim(c, key, g, grp, args[k], nk)
		propagateLast = false
		c.srv.dirty++
	}
	if propagateLast {
		propagateGroupID(c, key, g, grp)
		c.srv.dirty++
	}
	c.setDeferred(mark, n, false)
}

func cmdXautoclaim(c *Client, args [][]byte) {
	key, grp := args[1], args[2]
	e := c.lookupRead(key)
	minIdle, ok := parseLongLong(c, args[4], "Invalid min-idle-time argument for XAUTOCLAIM")
	if !ok {
		return
	}
	minIdle = max(minIdle, 0)
	start, ex, ok := parseStreamInterval(c, args[5], 0)
	if !ok {
		return
	}
	if ex {
		if start, ok = start.Incr(); !ok {
			c.replyError(errStreamStartID)
			return
		}
	}
	count := int64(100)
	justid := false
	for j := 6; j < len(args); j++ {
		more := len(args) - 1 - j
		switch {
		case eqFold(args[j], "count") && more > 0:
			v, ok := parseInt(args[j+1])
			const maxCount = (1<<63 - 1) / 16
			if !ok || v < 1 || v > maxCount {
				c.replyError("ERR COUNT must be > 0")
				return
			}
			count = v
			j++
		case eqFold(args[j], "justid"):
			justid = true
		default:
			c.replySyntax()
			return
		}
	}
	var g *stream.Group
	var s *store.Stream
	if e != nil {
		if e.Val.Type != store.TypeStream {
			c.replyWrongType()
			return
		}
		s = streamOf(e)
		g = s.Group(string(grp))
	}
	if g == nil {
		c.replyErrorf("NOGROUP No such key '%s' or consumer group '%s'", cString(key), cString(grp))
		return
	}
	c.noPropagation()
	attempts := count * 10
	now := c.now
	name := args[3]
	var cons *stream.Consumer
	var deleted []stream.ID
	c.w.AppendArray(3)
	endMark := c.deferredLen()
	arrMark := c.deferredLen()
	n := 0
	// Collect the candidates first: the walk below changes the PEL.
	cur := start
	endID := stream.ID{}
	for {
		var nk *stream.NACK
		g.PEL.Ascend(cur, func(x *stream.NACK) bool { nk = x; return false })
		if nk == nil {
			break
		}
		if attempts == 0 || count == 0 {
			endID = nk.ID
			break
		}
		attempts--
		id := nk.ID
		next, _ := id.Incr()
		if !s.Exists(id) {
			propagateXclaim(c, key, g, grp, id.Bytes(), nk)
			c.srv.dirty++
			g.PEL.Delete(id)
			nk.Consumer.PEL.Delete(id)
			deleted = append(deleted, id)
			count--
			cur = next
			if next.IsZero() {
				break
			}
			continue
		}
		cur = next
		if minIdle != 0 && now-nk.DeliveryTime < minIdle {
			if next.IsZero() {
				break
			}
			continue
		}
		if cons == nil {
			cons = c.streamConsumer(g, name, key, false, grp)
		}
		if nk.Consumer != cons && nk.Consumer != nil {
			nk.Consumer.PEL.Delete(id)
		}
		nk.DeliveryTime = now
		if !justid {
			nk.DeliveryCount++
		}
		if nk.Consumer != cons {
			cons.PEL.Insert(nk)
			nk.Consumer = cons
		}
		if justid {
			c.replyStreamID(id)
		} else {
			replyOneEntry(c, s, id)
		}
		n++
		count--
		propagateXclaim(c, key, g, grp, id.Bytes(), nk)
		c.srv.dirty++
		if next.IsZero() {
			break
		}
	}
	c.setDeferred(arrMark, n, false)
	// The cursor goes before the claimed entries.
	var idbuf [48]byte
	hw := endID.Append(idbuf[:0])
	tmp := len(c.w.B)
	c.w.AppendBulk(hw)
	cursor := append([]byte(nil), c.w.B[tmp:]...)
	c.w.B = c.w.B[:tmp]
	c.w.B = append(c.w.B, cursor...)
	copy(c.w.B[endMark+len(cursor):], c.w.B[endMark:tmp])
	copy(c.w.B[endMark:], cursor)
	c.w.AppendArray(len(deleted))
	for _, id := range deleted {
		c.replyStreamID(id)
	}
}

func cmdXinfo(c *Client, args [][]byte) {
	if eqFold(args[1], "help") {
		c.replyHelp([]string{
			"CONSUMERS <key> <groupname>",
			"    Show consumers of <groupname>.",
			"GROUPS <key>",
			"    Show the stream consumer groups.",
			"STREAM <key> [FULL [COUNT <count>]",
			"    Show information about the stream.",
		})
		return
	}
	key := args[2]
	e := c.lookupRead(key)
	if e == nil {
		c.replyError(errNoSuchKey)
		return
	}
	if e.Val.Type != store.TypeStream {
		c.replyWrongType()
		return
	}
	s := streamOf(e)
	opt := args[1]
	switch {
	case eqFold(opt, "consumers") && len(args) == 4:
		g := s.Group(string(args[3]))
		if g == nil {
			c.replyErrorf("NOGROUP No such consumer group '%s' for key name '%s'", cString(args[3]), cString(key))
			return
		}
		cons := g.Consumers()
		c.w.AppendArray(len(cons))
		for _, x := range cons {
			c.w.AppendMap(3)
			c.w.AppendBulkString("name")
			c.w.AppendBulkString(x.Name)
			c.w.AppendBulkString("pending")
			c.replyInt(int64(x.PEL.Len()))
			c.w.AppendBulkString("idle")
			c.replyInt(max(c.now-x.SeenTime, 0))
		}
	case eqFold(opt, "groups") && len(args) == 3:
		gs := s.Groups()
		c.w.AppendArray(len(gs))
		for _, g := range gs {
			c.w.AppendMap(6)
			c.w.AppendBulkString("name")
			c.w.AppendBulkString(g.Name)
			c.w.AppendBulkString("consumers")
			c.replyInt(int64(g.NumConsumers()))
			c.w.AppendBulkString("pending")
			c.replyInt(int64(g.PEL.Len()))
			c.w.AppendBulkString("last-delivered-id")
			c.replyStreamID(g.LastID)
			c.w.AppendBulkString("entries-read")
			replyEntriesRead(c, g)
			c.w.AppendBulkString("lag")
			replyGroupLag(c, s, g)
		}
	case eqFold(opt, "stream"):
		xinfoStream(c, args, s)
	default:
		c.replySubcommandSyntax(args)
	}
}

func replyEntriesRead(c *Client, g *stream.Group) {
	if g.EntriesRead != stream.InvalidEntriesRead {
		c.replyInt(g.EntriesRead)
	} else {
		c.replyNull()
	}
}

// replyGroupLag is streamReplyWithCGLag.
func replyGroupLag(c *Client, s *store.Stream, g *stream.Group) {
	switch {
	case s.EntriesAdded == 0:
		c.replyInt(0)
	case g.EntriesRead != stream.InvalidEntriesRead && !s.RangeHasTombstones(g.LastID, nil):
		c.replyInt(int64(s.EntriesAdded) - g.EntriesRead)
	default:
		if er := s.EstimateDistance(g.LastID); er != stream.InvalidEntriesRead {
			c.replyInt(int64(s.EntriesAdded) - er)
		} else {
			c.replyNull()
		}
	}
}

func xinfoStream(c *Client, args [][]byte, s *store.Stream) {
	full := false
	count := int64(10)
	opts := args[3:]
	if len(opts) > 0 {
		if len(opts) != 1 && len(opts) != 3 || !eqFold(opts[0], "full") {
			c.replySubcommandSyntax(args)
			return
		}
		full = true
		if len(opts) == 3 {
			if !eqFold(opts[1], "count") {
				c.replySubcommandSyntax(args)
				return
			}
			v, ok := parseLongLong(c, opts[2], "")
			if !ok {
				return
			}
			count = v
			if count < 0 {
				count = 10
			}
		}
	}
	if full {
		c.w.AppendMap(9)
	} else {
		c.w.AppendMap(10)
	}
	c.w.AppendBulkString("length")
	c.replyInt(int64(s.Length()))
	c.w.AppendBulkString("radix-tree-keys")
	c.replyInt(int64(s.Nodes()))
	c.w.AppendBulkString("radix-tree-nodes")
	c.replyInt(int64(s.RaxNodes()))
	c.w.AppendBulkString("last-generated-id")
	c.replyStreamID(s.LastID)
	c.w.AppendBulkString("max-deleted-entry-id")
	c.replyStreamID(s.MaxDeletedID)
	c.w.AppendBulkString("entries-added")
	c.replyInt(int64(s.EntriesAdded))
	c.w.AppendBulkString("recorded-first-entry-id")
	c.replyStreamID(s.FirstID)
	if !full {
		c.w.AppendBulkString("groups")
		c.replyInt(int64(s.NumGroups()))
		c.w.AppendBulkString("first-entry")
		if streamReplyRange(c, s, stream.ID{}, &stream.MaxID, 1, false, nil, nil, rwrRaw, nil) == 0 {
			c.replyNull()
		}
		c.w.AppendBulkString("last-entry")
		if streamReplyRange(c, s, stream.ID{}, &stream.MaxID, 1, true, nil, nil, rwrRaw, nil) == 0 {
			c.replyNull()
		}
		return
	}
	c.w.AppendBulkString("entries")
	streamReplyRange(c, s, stream.ID{}, nil, count, false, nil, nil, 0, nil)
	c.w.AppendBulkString("groups")
	gs := s.Groups()
	c.w.AppendArray(len(gs))
	for _, g := range gs {
		c.w.AppendMap(7)
		c.w.AppendBulkString("name")
		c.w.AppendBulkString(g.Name)
		c.w.AppendBulkString("last-delivered-id")
		c.replyStreamID(g.LastID)
		c.w.AppendBulkString("entries-read")
		replyEntriesRead(c, g)
		c.w.AppendBulkString("lag")
		replyGroupLag(c, s, g)
		c.w.AppendBulkString("pel-count")
		c.replyInt(int64(g.PEL.Len()))
		c.w.AppendBulkString("pending")
		mark := c.deferredLen()
		n := int64(0)
		g.PEL.Ascend(stream.ID{}, func(nk *stream.NACK) bool {
			if count != 0 && n >= count {
				return false
			}
			c.w.AppendArray(4)
			c.replyStreamID(nk.ID)
			c.w.AppendBulkString(nk.Consumer.Name)
			c.replyInt(nk.DeliveryTime)
			c.replyInt(int64(nk.DeliveryCount))
			n++
			return true
		})
		c.setDeferred(mark, int(n), false)
		c.w.AppendBulkString("consumers")
		cons := g.Consumers()
		c.w.AppendArray(len(cons))
		for _, x := range cons {
			c.w.AppendMap(4)
			c.w.AppendBulkString("name")
			c.w.AppendBulkString(x.Name)
			c.w.AppendBulkString("seen-time")
			c.replyInt(x.SeenTime)
			c.w.AppendBulkString("pel-count")
			c.replyInt(int64(x.PEL.Len()))
			c.w.AppendBulkString("pending")
			mark := c.deferredLen()
			m := int64(0)
			x.PEL.Ascend(stream.ID{}, func(nk *stream.NACK) bool {
				if count != 0 && m >= count {
					return false
				}
				c.w.AppendArray(3)
				c.replyStreamID(nk.ID)
				c.replyInt(nk.DeliveryTime)
				c.replyInt(int64(nk.DeliveryCount))
				m++
				return true
			})
			c.setDeferred(mark, int(m), false)
		}
	}
}
