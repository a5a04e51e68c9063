package store

import "github.com/skiffdb/skiff/slots"

// The slot index (cluster mode): a database can keep, for each of the
// 16384 hash slots, the list of its keys that hash there, so that CLUSTER
// COUNTKEYSINSLOT costs O(1), CLUSTER GETKEYSINSLOT <slot> <count>
// O(count) and dropping a lost slot O(keys in it), as in Redis 7.0.
//
// Each slot's list is a slice of entries; every entry records its slot
// and its position in that slice in its dict node (slotMeta), so adding
// is an append and removing swaps the last entry of the slice into the
// hole, both O(1) (amortized over the slice's growth and shrinking). The
// index holds every key of the table, expired or not, exactly as Redis's
// slots_to_keys does: a key leaves it when it leaves the table.
//
// slotMeta lives in the node, not in Object, because command code may
// replace a whole Object (e.Val = Object{...}); it is 8 bytes that fit in
// the node's allocation size class (88 → 96 bytes), so a database without
// the index pays nothing in memory, and one nil check per key creation
// and deletion in time.

// slotMeta is an entry's place in its database's slot index. It is
// meaningful only while the database has an index.
type slotMeta struct {
	pos  int32 // index in slotIndex.keys[slot]
	slot uint16
}

// slotIndex lists the keys of each hash slot of one database.
type slotIndex struct {
	keys [slots.Count][]*Entry
}

// slotShrinkMin is the capacity under which a slot's slice is never
// shrunk, so a slot going between a few keys and none does not
// reallocate each time.
const slotShrinkMin = 16

func (x *slotIndex) add(e *Entry) {
	s := slots.KeySlotString(e.Key)
	l := x.keys[s]
	e.meta = slotMeta{pos: int32(len(l)), slot: uint16(s)}
	x.keys[s] = append(l, e)
}

func (x *slotIndex) remove(e *Entry) {
	s, i := e.meta.slot, int(e.meta.pos)
	l := x.keys[s]
	if i >= len(l) || l[i] != e {
		panic("store: slot index does not hold key " + e.Key + " where its node says")
	}
	last := len(l) - 1
	if i != last {
		l[i] = l[last]
		l[i].meta.pos = int32(i)
	}
	l[last] = nil
	l = l[:last]
	if c := cap(l); c > slotShrinkMin && len(l) <= c/4 {
		// Halve the capacity: appends and removals stay amortized O(1)
		// and a slot that emptied does not keep its largest array.
		l = append(make([]*Entry, 0, c/2), l...)
	}
	x.keys[s] = l
}

func buildSlotIndex(d *keyDict) *slotIndex {
	x := new(slotIndex)
	d.Each(func(e *Entry) bool { x.add(e); return true })
	return x
}

// EnableSlotIndex makes db keep the index of its keys by hash slot that
// CountKeysInSlot, KeysInSlot and DelKeysInSlot use (cluster mode, where
// only database 0 is used; see Store.EnableSlotIndex). Keys already in db
// are indexed now, O(keys). The index belongs to the database, not to
// its contents: Swap and Flush keep it (see Swap for its cost).
func (db *DB) EnableSlotIndex() {
	if db.slotIndexOn {
		return
	}
	db.slotIndexOn = true
	db.slots = buildSlotIndex(db.keys)
}

// DisableSlotIndex drops db's slot index.
func (db *DB) DisableSlotIndex() {
	db.slotIndexOn = false
	db.slots = nil
}

// SlotIndexEnabled reports whether db keeps a slot index.
func (db *DB) SlotIndexEnabled() bool { return db.slotIndexOn }

// EnableSlotIndex enables the slot index of database 0, the only one
// cluster mode uses. A store that will be swapped into this one (an RDB
// load, a full sync) should get the same call before it is filled, so
// that DB.Swap exchanges the indexes instead of rebuilding one.
func (st *Store) EnableSlotIndex() { st.DBs[0].EnableSlotIndex() }

// fixSlotIndex gives db an index of its current contents when it should
// have one and drops a foreign one when it should not (after Swap).
func (db *DB) fixSlotIndex() {
	switch {
	case db.slotIndexOn && db.slots == nil:
		db.slots = buildSlotIndex(db.keys)
	case !db.slotIndexOn:
		db.slots = nil
	}
}

// CountKeysInSlot is the number of keys of db in slot, including expired
// keys not yet reclaimed (as Redis counts them): O(1) with the slot
// index, a walk of the whole keyspace without it. A slot outside
// 0..16383 has no keys.
func (db *DB) CountKeysInSlot(slot int) int {
	if slot < 0 || slot >= slots.Count {
		return 0
	}
	if db.slots != nil {
		return len(db.slots.keys[slot])
	}
	n := 0
	db.keys.Each(func(e *Entry) bool {
		if slots.KeySlotString(e.Key) == slot {
			n++
		}
		return true
	})
	return n
}

// KeysInSlot returns up to count keys of db that are in slot (expired
// keys not yet reclaimed included, as in Redis), in no particular order:
// O(count) with the slot index, a walk of the keyspace without it. The
// strings are the keys themselves, not copies.
func (db *DB) KeysInSlot(slot, count int) []string {
	return db.AppendKeysInSlot(nil, slot, count)
}

// AppendKeysInSlot is KeysInSlot appending to dst.
func (db *DB) AppendKeysInSlot(dst []string, slot, count int) []string {
	if slot < 0 || slot >= slots.Count || count <= 0 {
		return dst
	}
	if db.slots != nil {
		l := db.slots.keys[slot]
		for _, e := range l[:min(count, len(l))] {
			dst = append(dst, e.Key)
		}
		return dst
	}
	db.keys.Each(func(e *Entry) bool {
		if slots.KeySlotString(e.Key) == slot {
			dst = append(dst, e.Key)
			count--
		}
		return count > 0
	})
	return dst
}

// AppendEntriesInSlot is AppendKeysInSlot returning the entries, for a
// caller that reads every value (a slot migration's copy): no lookup of
// each key again. The entries are valid until db next changes.
func (db *DB) AppendEntriesInSlot(dst []*Entry, slot, count int) []*Entry {
	if slot < 0 || slot >= slots.Count || count <= 0 {
		return dst
	}
	if db.slots != nil {
		return append(dst, db.slots.keys[slot][:min(count, len(db.slots.keys[slot]))]...)
	}
	db.keys.Each(func(e *Entry) bool {
		if slots.KeySlotString(e.Key) == slot {
			dst = append(dst, e)
			count--
		}
		return count > 0
	})
	return dst
}

// DelKeysInSlot deletes every key of db in slot (used when the node
// loses the slot) and returns how many it deleted. deleted, when not nil,
// is called after each deletion with the key, for the caller to
// propagate a DEL or notify; it must not add keys to db. Each deletion
// is Delete's, so a running snapshot still gets the old values. O(keys in
// the slot) with the index, plus a keyspace walk without it.
func (db *DB) DelKeysInSlot(slot int, deleted func(key string)) int {
	if slot < 0 || slot >= slots.Count {
		return 0
	}
	var victims []string
	if db.slots == nil {
		victims = db.KeysInSlot(slot, db.Len())
	}
	n := 0
	for {
		var key string
		if db.slots != nil {
			l := db.slots.keys[slot]
			if len(l) == 0 {
				break
			}
			key = l[len(l)-1].Key
		} else {
			if n == len(victims) {
				break
			}
			key = victims[n]
		}
		if !db.Delete(key) {
			// Only a corrupt index lists a key the table lacks; going
			// on would loop forever.
			panic("store: slot index lists key " + key + " that is not in the database")
		}
		n++
		if deleted != nil {
			deleted(key)
		}
	}
	return n
}
