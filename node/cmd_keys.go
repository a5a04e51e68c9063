package node

import (
	"bytes"
	"math"

	"github.com/skiffdb/skiff/internal/glob"
	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "del", Arity: -2, Flags: "write", FirstKey: 1, LastKey: -1, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Delete a key", Complexity: "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).", Handler: cmdDel},
		&Command{Name: "unlink", Arity: -2, Flags: "write fast", FirstKey: 1, LastKey: -1, Step: 1, Group: "generic", Since: "4.0.0", Summary: "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", Complexity: "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", Handler: cmdDel},
		&Command{Name: "exists", Arity: -2, Flags: "readonly fast", FirstKey: 1, LastKey: -1, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Determine if a key exists", Complexity: "O(N) where N is the number of keys to check.", Handler: cmdExists},
		&Command{Name: "type", Arity: 2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Determine the type stored at key", Complexity: "O(1)", Handler: cmdType},
		&Command{Name: "keys", Arity: 2, Flags: "readonly", Group: "generic", Since: "1.0.0", Summary: "Find all keys matching the given pattern", Complexity: "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.", ACL: []string{"keyspace", "dangerous"}, Handler: cmdKeys},
		&Command{Name: "randomkey", Arity: 1, Flags: "readonly", Group: "generic", Since: "1.0.0", Summary: "Return a random key from the keyspace", Complexity: "O(1)", Handler: cmdRandomkey},
		&Command{Name: "rename", Arity: 3, Flags: "write", FirstKey: 1, LastKey: 2, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Rename a key", Complexity: "O(1)", Handler: cmdRename},
		&Command{Name: "renamenx", Arity: 3, Flags: "write fast", FirstKey: 1, LastKey: 2, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Rename a key, only if the new key does not exist", Complexity: "O(1)", Handler: cmdRenamenx},
		&Command{Name: "copy", Arity: -3, Flags: "write denyoom", FirstKey: 1, LastKey: 2, Step: 1, Group: "generic", Since: "6.2.0", Summary: "Copy a key", Complexity: "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", Handler: cmdCopy},
		&Command{Name: "move", Arity: 3, Flags: "write fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "1.0.0", Summary: "Move a key to another database", Complexity: "O(1)", Handler: cmdMove},
		&Command{Name: "touch", Arity: -2, Flags: "readonly fast", FirstKey: 1, LastKey: -1, Step: 1, Group: "generic", Since: "3.2.1", Summary: "Alters the last access time of a key(s). Returns the number of existing keys specified.", Complexity: "O(N) where N is the number of keys that will be touched.", Handler: cmdTouch},
	)
}

// Errors of the keyspace commands that errors.go does not hold.
const (
	errIntRange         = "ERR value is out of range, value must between -2147483648 and 2147483647"
	errMoveCluster      = "ERR MOVE is not allowed in cluster mode"
	errCopyCluster      = "ERR Copying to another database is not allowed in cluster mode"
	errSwapdbCluster    = "ERR SWAPDB is not allowed in cluster mode"
	errUnknownTypeValue = "ERR unknown type object"
)

// lookupReadNoTouch is a read lookup that leaves the key's access time
// alone (Redis's LOOKUP_NOTOUCH: TYPE, EXISTS, TTL, OBJECT) but still
// counts hits and misses; noNotify also suppresses the keymiss event.
func (c *Client) lookupReadNoTouch(key []byte, noNotify bool) *store.Entry {
	e := c.db.Lookup(key, c.now)
	if e == nil {
		c.srv.stats.KeyspaceMisses++
		if !noNotify {
			c.notify(notifyKeyMiss, "keymiss", key)
		}
		return nil
	}
	c.srv.stats.KeyspaceHits++
	return e
}

// lookupWriteIn is lookupWrite on another database (MOVE, COPY).
func (c *Client) lookupWriteIn(db *store.DB, key []byte) *store.Entry {
	e := db.Lookup(key, c.now)
	if e != nil {
		c.touch(e)
	}
	return e
}

// notifyIn publishes a keyspace event about key in database db.
func (c *Client) notifyIn(db *store.DB, class int, event string, key []byte) {
	if c.srv.notifyFlags&class == 0 {
		return
	}
	c.srv.keyspaceEvent(db, string(key), event, class)
}

// signalKeyIn invalidates WATCHes of (and wakes clients blocked on) a key
// that the current command changed in addition to one already counted
// with c.modified: Redis counts one change (dirty) per rename, move or
// copy.
func (c *Client) signalKeyIn(db *store.DB, key []byte) {
	c.srv.signalModifiedKey(db, key)
}

// clusterEnabled reports whether the server runs in cluster mode, where
// only database 0 exists.
func (c *Client) clusterEnabled() bool { return c.srv.cfg.Bool("cluster-enabled") }

// parseInt32Arg parses an argument as Redis's getIntFromObjectOrReply
// does; msg, when not empty, replaces both of its error texts.
func parseInt32Arg(c *Client, b []byte, msg string) (int, bool) {
	n, ok := parseInt(b)
	if !ok {
		if msg == "" {
			msg = errNotInt
		}
		c.replyError(msg)
		return 0, false
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		if msg == "" {
			msg = errIntRange
		}
		c.replyError(msg)
		return 0, false
	}
	return int(n), true
}

// dbByIndex returns database id, or nil when it is out of range.
func (c *Client) dbByIndex(id int) *store.DB {
	if id < 0 || id >= len(c.srv.store.DBs) {
		return nil
	}
	return c.srv.store.DBs[id]
}

func cmdDel(c *Client, args [][]byte) {
	var n int64
	lazy := eqFold(args[0], "unlink") || c.srv.cfg.Bool("lazyfree-lazy-user-del")
	for _, key := range args[1:] {
		// Lookup reclaims an expired key first (firing "expired"), so a
		// key whose TTL passed is not counted as deleted, as in Redis.
		e := c.db.Lookup(key, c.now)
		if e == nil {
			continue
		}
		c.srv.freeValue(&e.Val, lazy)
		c.db.Delete(string(key))
		c.modified(key)
		c.notify(notifyGeneric, "del", key)
		n++
	}
	c.replyInt(n)
}

func cmdExists(c *Client, args [][]byte) {
	var n int64
	for _, key := range args[1:] {
		if c.lookupReadNoTouch(key, false) != nil {
			n++
		}
	}
	c.replyInt(n)
}

func cmdType(c *Client, args [][]byte) {
	e := c.lookupReadNoTouch(args[1], false)
	if e == nil {
		c.w.AppendSimple("none")
		return
	}
	c.w.AppendSimple(e.Val.Type.String())
}

func cmdKeys(c *Client, args [][]byte) {
	pattern := string(args[1])
	all := pattern == "*"
	var keys []string
	// Expired keys are skipped but not reclaimed: KEYS must not change
	// the dict it walks.
	c.db.Dict().Each(func(e *store.Entry) bool {
		if (all || glob.Match(pattern, e.Key, false)) &&
			(e.Val.Expire == 0 || e.Val.Expire >= c.now) {
			keys = append(keys, e.Key)
		}
		return true
	})
	c.w.AppendArray(len(keys))
	for _, k := range keys {
		c.w.AppendBulkString(k)
	}
}

func cmdRandomkey(c *Client, args [][]byte) {
	key, ok := c.db.RandomKey(c.now)
	if !ok {
		c.replyNull()
		return
	}
	c.w.AppendBulkString(key)
}

func cmdRename(c *Client, args [][]byte)   { renameKey(c, args[1], args[2], false) }
func cmdRenamenx(c *Client, args [][]byte) { renameKey(c, args[1], args[2], true) }

// renameKey implements RENAME and RENAMENX. The value keeps its TTL.
func renameKey(c *Client, src, dst []byte, nx bool) {
	e := c.lookupWrite(src)
	if e == nil {
		c.replyError(errNoSuchKey)
		return
	}
	if bytes.Equal(src, dst) {
		if nx {
			c.replyInt(0)
		} else {
			c.replyOK()
		}
		return
	}
	if c.lookupWrite(dst) != nil {
		if nx {
			c.replyInt(0)
			return
		}
		c.srv.serverDelete(c.db, string(dst))
	}
	obj, expire := e.Val, e.Val.Expire
	c.db.Delete(string(src))
	ne := c.db.SetValue(dst, obj, false)
	if expire != 0 {
		c.db.SetExpire(ne, expire)
	}
	c.notify(notifyNew, "new", dst)
	c.modified(src)
	c.signalKeyIn(c.db, dst)
	c.notify(notifyGeneric, "rename_from", src)
	c.notify(notifyGeneric, "rename_to", dst)
	if nx {
		c.replyInt(1)
	} else {
		c.replyOK()
	}
}

func cmdMove(c *Client, args [][]byte) {
	if c.clusterEnabled() {
		c.replyError(errMoveCluster)
		return
	}
	id, ok := parseInt32Arg(c, args[2], "")
	if !ok {
		return
	}
	dst := c.dbByIndex(id)
	if dst == nil {
		c.replyError(errDBIndex)
		return
	}
	src := c.db
	if src == dst {
		c.replyError(errSameObject)
		return
	}
	key := args[1]
	e := c.lookupWrite(key)
	if e == nil {
		c.replyInt(0)
		return
	}
	if c.lookupWriteIn(dst, key) != nil {
		c.replyInt(0)
		return
	}
	obj, expire := e.Val, e.Val.Expire
	ne := dst.SetValue(key, obj, false)
	if expire != 0 {
		dst.SetExpire(ne, expire)
	}
	c.notifyIn(dst, notifyNew, "new", key)
	src.Delete(string(key))
	c.modified(key)
	c.signalKeyIn(dst, key)
	c.notify(notifyGeneric, "move_from", key)
	c.notifyIn(dst, notifyGeneric, "move_to", key)
	c.replyInt(1)
}

func cmdCopy(c *Client, args [][]byte) {
	src, dst := c.db, c.db
	replace := false
	for j := 3; j < len(args); j++ {
		switch {
		case eqFold(args[j], "replace"):
			replace = true
		case eqFold(args[j], "db") && j+1 < len(args):
			id, ok := parseInt32Arg(c, args[j+1], "")
			if !ok {
				return
			}
			if dst = c.dbByIndex(id); dst == nil {
				c.replyError(errDBIndex)
				return
			}
			j++
		default:
			c.replySyntax()
			return
		}
	}
	if c.clusterEnabled() && (src.ID != 0 || dst.ID != 0) {
		c.replyError(errCopyCluster)
		return
	}
	key, newkey := args[1], args[2]
	if src == dst && bytes.Equal(key, newkey) {
		c.replyError(errSameObject)
		return
	}
	e := c.lookupRead(key)
	if e == nil {
		c.replyInt(0)
		return
	}
	expire := e.Val.Expire
	exists := c.lookupWriteIn(dst, newkey) != nil
	if exists && !replace {
		c.replyInt(0)
		return
	}
	obj, err := e.Val.Clone()
	if err != nil {
		c.srv.log.Warn("COPY of an uncopyable value", "key", string(key), "error", err)
		c.replyError(errUnknownTypeValue)
		return
	}
	obj.LRU = lruAt(c.now)
	if exists {
		c.srv.serverDelete(dst, string(newkey))
	}
	ne := dst.SetValue(newkey, obj, false)
	if expire != 0 {
		dst.SetExpire(ne, expire)
	}
	c.notifyIn(dst, notifyNew, "new", newkey)
	c.srv.dirty++
	c.signalKeyIn(dst, newkey)
	c.notifyIn(dst, notifyGeneric, "copy_to", newkey)
	c.replyInt(1)
}

func cmdTouch(c *Client, args [][]byte) {
	var n int64
	for _, key := range args[1:] {
		if c.lookupRead(key) != nil {
			n++
		}
	}
	c.replyInt(n)
}
