package store

import (
	"math/rand/v2"
	"time"
)

// DB is one numbered database: a dict of keys and an index of the keys
// that have a TTL, for active expiry sampling.
type DB struct {
	ID       int
	keys     *keyDict
	volatile []*Entry
	store    *Store
	// slots indexes the keys by hash slot (slotindex.go); nil unless
	// slotIndexOn, which belongs to the database rather than to the
	// contents that Swap moves.
	slots       *slotIndex
	slotIndexOn bool
	// AvgTTL is the running average TTL of sampled volatile keys (INFO
	// keyspace avg_ttl), in ms.
	AvgTTL int64
}

// Store holds every database of one server.
type Store struct {
	DBs []*DB
	// OnExpire is called when a key is removed because its TTL passed
	// (lazily or by the active cycle), after the removal. Replication and
	// keyspace notifications hook in here.
	OnExpire func(db *DB, key string)
	// OnNew is called when a key is added (the "new" keyspace event).
	OnNew func(db *DB, key string)
	// Dropping, when set, is called with a value about to be dropped by
	// an expiry (expired true) or replaced by SetValue (expired false),
	// for the lazyfree counters.
	Dropping func(db *DB, old *Object, expired bool)
	// NoLazyExpire makes lookups treat expired keys as missing without
	// deleting them (a replica waits for its master's DEL).
	NoLazyExpire bool
	// HoldExpired does the same while clients are paused (CLIENT PAUSE,
	// a failover, a shutdown's wait): the dataset must not change, so an
	// expired key reads as missing but stays until the pause ends.
	HoldExpired bool
	// MasterView makes lookups return expired keys as live: set while a
	// replica applies its master's stream, whose commands (the DEL of an
	// expiry above all) must reach keys this replica already treats as
	// expired but may not delete by itself, as Redis's master client does.
	MasterView bool
	// TrackReplicaTTL is set on a replica's live keyspace: a TTL set there
	// by anyone but the master is remembered (replica_keys.go).
	TrackReplicaTTL bool
	// replicaKeys: keys with a TTL set by a writable replica's own clients,
	// by name, with a bit per database (replica_keys.go).
	replicaKeys map[string]uint64
	// ExpiredKeys counts keys removed because their TTL passed.
	ExpiredKeys int64
	// ExpiredStalePerc and friends are for INFO stats.
	ExpiredTimeCapReached int64
	// NewLRU, when set, gives a value stored with LRU 0 its access clock:
	// a new key starts with idle time 0, as in Redis.
	NewLRU func() uint32

	// snap is the running point-in-time snapshot, if any; every write
	// path below hands it the old value of a key it has not saved yet.
	snap *Snapshot
	// snapGen numbers snapshots; new entries are stamped with it.
	snapGen uint32
	// cowLookups makes Lookup treat its entry as about to be modified
	// (set while a write command runs, see SetWriting).
	cowLookups bool
}

// New returns a store of n empty databases.
func New(n int) *Store {
	s := &Store{}
	s.DBs = make([]*DB, n)
	for i := range s.DBs {
		s.DBs[i] = &DB{ID: i, keys: newMetaDict[Object, slotMeta](), store: s}
	}
	return s
}

// Len is the number of keys (including not yet reclaimed expired ones).
func (db *DB) Len() int { return db.keys.Len() }

// Expires is the number of keys with a TTL.
func (db *DB) Expires() int { return len(db.volatile) }

// Dict exposes the key table for iteration (SCAN, KEYS, snapshots) and
// sampling. Keys must be added and removed only through DB's methods
// (Put, SetValue, Delete...), which keep the TTL and slot indexes and
// running snapshots right.
func (db *DB) Dict() *keyDict { return db.keys }

// expired follows Redis: a key lives through the millisecond of its
// expire time and is gone only after it (keyIsExpired's now > when).
func expired(o *Object, now int64) bool { return o.Expire != 0 && o.Expire < now }

// Lookup returns the entry of a live key, reclaiming it first if its TTL
// has passed. now is the command's clock in unix ms.
func (db *DB) Lookup(key []byte, now int64) *Entry {
	e := db.keys.FindBytes(key)
	if e == nil {
		return nil
	}
	if expired(&e.Val, now) && !db.store.MasterView {
		if db.store.NoLazyExpire || db.store.HoldExpired {
			return nil
		}
		db.expireEntry(e)
		return nil
	}
	if sn := db.store.snap; sn != nil && db.store.cowLookups && e.Val.gen < sn.gen {
		sn.save(db, e, true)
	}
	return e
}

// RandomVolatile returns a random key that has a TTL, expired or not
// (eviction sampling), or nil when there is none.
func (db *DB) RandomVolatile() *Entry {
	if len(db.volatile) == 0 {
		return nil
	}
	return db.volatile[rand.IntN(len(db.volatile))]
}

// Peek returns the entry whether or not it has expired (DEBUG, internals).
func (db *DB) Peek(key []byte) *Entry { return db.keys.FindBytes(key) }

func (db *DB) expireEntry(e *Entry) {
	key := e.Key
	if db.store.Dropping != nil {
		db.store.Dropping(db, &e.Val, true)
	}
	db.Delete(key)
	db.store.ExpiredKeys++
	if db.store.OnExpire != nil {
		db.store.OnExpire(db, key)
	}
}

// Put returns the entry for key, creating it when absent. An existing
// value is left for the caller to replace; its TTL is kept.
func (db *DB) Put(key []byte) (e *Entry, created bool) {
	e, created = db.put(key)
	if !created {
		db.WillModify(e)
	}
	return e, created
}

// put is Put without the snapshot hook for an existing entry.
func (db *DB) put(key []byte) (e *Entry, created bool) {
	if e := db.keys.FindBytes(key); e != nil {
		return e, false
	}
	e, created = db.keys.Upsert(string(key))
	if db.slots != nil {
		db.slots.add(e)
	}
	db.stampNew(e)
	if created && db.store.OnNew != nil {
		db.store.OnNew(db, e.Key)
	}
	return e, created
}

// putString is put for a key already held as a string (an RDB load):
// one lookup, no conversion.
func (db *DB) putString(key string) (e *Entry, created bool) {
	e, created = db.keys.Upsert(key)
	if !created {
		return e, false
	}
	if db.slots != nil {
		db.slots.add(e)
	}
	db.stampNew(e)
	if db.store.OnNew != nil {
		db.store.OnNew(db, e.Key)
	}
	return e, true
}

// Reserve sizes an empty database's table for n keys (RDB loads, from
// the file's RESIZEDB hint).
func (db *DB) Reserve(n int) { db.keys.Reserve(n) }

// SetValue stores obj under key, replacing any value and clearing the TTL
// unless keepTTL. obj's Expire is ignored; use SetExpire.
func (db *DB) SetValue(key []byte, obj Object, keepTTL bool) *Entry {
	e, created := db.put(key)
	return db.setValue(e, created, obj, keepTTL)
}

// SetValueString is SetValue for a key held as a string.
func (db *DB) SetValueString(key string, obj Object, keepTTL bool) *Entry {
	e, created := db.putString(key)
	return db.setValue(e, created, obj, keepTTL)
}

func (db *DB) setValue(e *Entry, created bool, obj Object, keepTTL bool) *Entry {
	if sn := db.store.snap; sn != nil && !created && e.Val.gen < sn.gen {
		sn.save(db, e, false) // the old value is dropped: no copy needed
	}
	if !created && db.store.Dropping != nil {
		db.store.Dropping(db, &e.Val, false)
	}
	exp, vol, gen := e.Val.Expire, e.Val.vol, e.Val.gen
	e.Val = obj
	e.Val.gen = gen
	if e.Val.LRU == 0 && db.store.NewLRU != nil {
		e.Val.LRU = db.store.NewLRU()
	}
	e.Val.Expire, e.Val.vol = exp, vol
	if !keepTTL && exp != 0 {
		db.Persist(e)
	}
	return e
}

// SetString stores a string value, copying b.
func (db *DB) SetString(key, b []byte, keepTTL bool) *Entry {
	v := make([]byte, len(b))
	copy(v, b)
	return db.SetValue(key, Object{Str: v, Type: TypeString, Enc: StringEncoding(b)}, keepTTL)
}

// Delete removes key. It reports whether the key existed.
func (db *DB) Delete(key string) bool {
	e := db.keys.Delete(key)
	if e == nil {
		return false
	}
	if sn := db.store.snap; sn != nil && e.Val.gen < sn.gen {
		sn.saveDeleted(db, e)
	}
	if e.Val.vol != 0 {
		db.unindex(e)
	}
	if db.slots != nil {
		db.slots.remove(e)
	}
	db.keys.ShrinkIfNeeded()
	return true
}

// SetExpire sets an absolute expiry time (unix ms) on an existing entry.
func (db *DB) SetExpire(e *Entry, at int64) {
	if at == 0 {
		db.Persist(e)
		return
	}
	db.WillModify(e)
	e.Val.Expire = at
	if db.store.TrackReplicaTTL && !db.store.MasterView {
		db.store.rememberReplicaKey(db.ID, e.Key)
	}
	if e.Val.vol == 0 {
		db.volatile = append(db.volatile, e)
		e.Val.vol = int32(len(db.volatile))
	}
}

// Persist removes the TTL of an entry; it reports whether it had one.
func (db *DB) Persist(e *Entry) bool {
	if e.Val.Expire == 0 {
		return false
	}
	db.WillModify(e)
	e.Val.Expire = 0
	if e.Val.vol != 0 {
		db.unindex(e)
	}
	return true
}

func (db *DB) unindex(e *Entry) {
	i := int(e.Val.vol - 1)
	last := len(db.volatile) - 1
	if i != last {
		db.volatile[i] = db.volatile[last]
		db.volatile[i].Val.vol = int32(i + 1)
	}
	db.volatile[last] = nil
	db.volatile = db.volatile[:last]
	e.Val.vol = 0
}

// Flush removes every key. A running snapshot keeps walking the old
// table, which nothing can reach or change any more, so it needs no copy.
func (db *DB) Flush() {
	db.keys = newMetaDict[Object, slotMeta]()
	db.volatile = nil
	db.AvgTTL = 0
	if db.slots != nil {
		db.slots = new(slotIndex)
	}
}

// Swap exchanges the contents of two databases (SWAPDB, and installing a
// loaded keyspace). A running snapshot finds an entry's original database
// by its table, so the swap needs nothing from it. Slot indexes travel
// with the keys; a database that keeps a slot index and receives keys
// that have none builds one, O(keys), and one that keeps none drops the
// index it receives. So a store built for loading should have the same
// databases indexed as the one it is swapped into.
func (db *DB) Swap(other *DB) {
	db.keys, other.keys = other.keys, db.keys
	db.volatile, other.volatile = other.volatile, db.volatile
	db.AvgTTL, other.AvgTTL = other.AvgTTL, db.AvgTTL
	db.slots, other.slots = other.slots, db.slots
	db.fixSlotIndex()
	other.fixSlotIndex()
}

// RandomKey returns a random live key, or "" and false when there is none.
// Expired keys met on the way are reclaimed, as Redis does.
func (db *DB) RandomKey(now int64) (string, bool) {
	for tries := 0; tries < 100 && db.keys.Len() > 0; tries++ {
		e := db.keys.Random()
		if e == nil {
			break
		}
		if !expired(&e.Val, now) {
			return e.Key, true
		}
		if db.store.NoLazyExpire || db.store.HoldExpired {
			if len(db.volatile) == db.keys.Len() {
				// Every key is volatile and we may not reclaim: give the
				// expired one back rather than spin, as Redis does.
				return e.Key, true
			}
			continue
		}
		db.expireEntry(e)
	}
	return "", false
}

// ActiveExpire runs one round of Redis-style active expiry on this
// database: sample up to 20 volatile keys, reclaim the expired ones, and
// repeat while more than a quarter of a sample was expired, until the
// deadline. It returns how many keys it reclaimed.
func (db *DB) ActiveExpire(now int64, deadline time.Time) int {
	total := 0
	for iter := 0; len(db.volatile) > 0; iter++ {
		n := min(20, len(db.volatile))
		exp := 0
		var ttlSum, ttlN int64
		for i := 0; i < n && len(db.volatile) > 0; i++ {
			e := db.volatile[rand.IntN(len(db.volatile))]
			if expired(&e.Val, now) {
				db.expireEntry(e)
				exp++
			} else {
				ttlSum += e.Val.Expire - now
				ttlN++
			}
		}
		if ttlN > 0 {
			avg := ttlSum / ttlN
			if db.AvgTTL == 0 {
				db.AvgTTL = avg
			} else {
				db.AvgTTL = (db.AvgTTL/50)*49 + avg/50
			}
		}
		total += exp
		if exp*4 <= n {
			break
		}
		if iter&15 == 15 && time.Now().After(deadline) {
			db.store.ExpiredTimeCapReached++
			break
		}
	}
	return total
}
