package node

import (
	"github.com/skiffdb/skiff/store"
)

// Keyspace notification classes (notify-keyspace-events flags).
const (
	notifyKeyspace = 1 << iota // K
	notifyKeyevent             // E
	notifyGeneric              // g
	notifyString               // $
	notifyList                 // l
	notifySet                  // s
	notifyHash                 // h
	notifyZSet                 // z
	notifyExpired              // x
	notifyEvicted              // e
	notifyStream               // t
	notifyKeyMiss              // m
	notifyLoaded               // n (not in A)
	notifyModule               // d
	notifyNew                  // n
)

// lookupRead returns the live entry of key for a read, counting keyspace
// hits and misses.
func (c *Client) lookupRead(key []byte) *store.Entry {
	e := c.db.Lookup(key, c.now)
	if e == nil {
		c.srv.stats.KeyspaceMisses++
		c.notify(notifyKeyMiss, "keymiss", key)
		return nil
	}
	c.srv.stats.KeyspaceHits++
	c.touch(e)
	return e
}

// lookupWrite returns the live entry of key for a write (no hit/miss
// accounting, as in Redis).
func (c *Client) lookupWrite(key []byte) *store.Entry {
	e := c.db.Lookup(key, c.now)
	if e != nil {
		c.touch(e)
	}
	return e
}

// lookupTyped finds key for a read (hits/misses) or a write and checks its
// type: it replies WRONGTYPE and returns ok=false for another type, and
// returns nil, true when the key is missing.
func (c *Client) lookupTyped(key []byte, write bool, t store.Type) (*store.Entry, bool) {
	var e *store.Entry
	if write {
		e = c.lookupWrite(key)
	} else {
		e = c.lookupRead(key)
	}
	if e == nil {
		return nil, true
	}
	if e.Val.Type != t {
		c.replyWrongType()
		return nil, false
	}
	return e, true
}

// touch updates the access clock of an entry unless the client asked not
// to (CLIENT NO-TOUCH).
func (c *Client) touch(e *store.Entry) {
	if c.flags&clientNoTouch == 0 {
		if c.srv.x.evict.lfu {
			e.Val.LRU = c.srv.lfuTouch(e.Val.LRU, c.now) // evict.go
			return
		}
		e.Val.LRU = lruAt(c.now)
	}
}

// modified records that the current command changed key: the dirty
// counter (save points, propagation) and WATCH invalidation.
func (c *Client) modified(key []byte) {
	c.srv.dirty++
	c.srv.signalModifiedKey(c.db, key)
}

// notify publishes a keyspace event about key in the client's database.
func (c *Client) notify(class int, event string, key []byte) {
	if c.srv.notifyFlags&class == 0 {
		return
	}
	c.srv.keyspaceEvent(c.db, string(key), event, class)
}
