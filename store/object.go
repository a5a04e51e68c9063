// Package store is Skiff's keyspace: databases of keys with values,
// expiry, scanning and sampling. It is pure data: no network, no
// replication, no locking (the caller serialises access, as Redis's
// single thread does).
//
// In cluster mode a database also keeps an index of its keys by hash
// slot (slotindex.go): DB.EnableSlotIndex (Store.EnableSlotIndex for
// database 0) turns it on, then DB.CountKeysInSlot is O(1),
// DB.KeysInSlot / AppendKeysInSlot are O(count) and DB.DelKeysInSlot is
// O(keys in the slot), as CLUSTER COUNTKEYSINSLOT, GETKEYSINSLOT and a
// lost slot need. Every path that adds or removes a key keeps it; off, it
// costs neither memory nor time.
package store

import (
	"strconv"

	"github.com/skiffdb/skiff/internal/strint"
)

// Type is a value's Redis type.
type Type uint8

const (
	TypeString Type = iota
	TypeList
	TypeSet
	TypeZSet
	TypeHash
	TypeStream
)

var typeNames = [...]string{"string", "list", "set", "zset", "hash", "stream"}

// String is the name TYPE replies with.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "none"
}

// String encodings as OBJECT ENCODING names them.
const (
	EncRaw uint8 = iota
	EncEmbstr
	EncInt
)

// Object is the value of one key. Strings keep their bytes in Str; other
// types keep their structure in Val.
type Object struct {
	Str    []byte
	Val    any
	Expire int64  // absolute unix time in ms; 0 when the key has no TTL
	LRU    uint32 // last access (LRU clock) or LFU counter and time
	vol    int32  // 1 + index in DB.volatile; 0 when not volatile
	Type   Type
	Enc    uint8 // string encoding (EncRaw, EncEmbstr, EncInt)
	// gen is the snapshot generation the value belongs to: below the
	// running snapshot's generation it is still owed to that snapshot
	// (snapshot.go). It fits in the struct's padding.
	gen uint32
}

// Entry is a key and its value as held in the keyspace. Its node also
// holds the key's place in the database's slot index (slotMeta), outside
// Object so that code replacing a whole Object cannot disturb it.
type Entry = MetaNode[Object, slotMeta]

// keyDict is a database's table of keys.
type keyDict = MetaDict[Object, slotMeta]

// EmbstrMax is the longest string Redis stores as embstr.
const EmbstrMax = 44

// StringEncoding is the encoding Redis would choose when a command stores
// b as a new string value: "int" for canonical 64-bit integers of at most
// 20 characters, "embstr" up to 44 bytes, otherwise "raw".
func StringEncoding(b []byte) uint8 {
	if len(b) <= 20 && len(b) > 0 {
		if _, ok := ParseStrictInt(b); ok {
			return EncInt
		}
	}
	if len(b) <= EmbstrMax {
		return EncEmbstr
	}
	return EncRaw
}

// ParseStrictInt parses b as Redis's string2ll does: an optional '-',
// no '+', no leading zeros or spaces, within int64.
func ParseStrictInt(b []byte) (int64, bool) { return strint.Parse(b) }

// FormatInt is strconv.AppendInt to a fresh slice.
func FormatInt(n int64) []byte { return strconv.AppendInt(make([]byte, 0, 20), n, 10) }

// Collection is what every non-string value (list, hash, set, sorted
// set) implements, so that type-independent code (COPY, OBJECT ENCODING,
// DEBUG DIGEST, MEMORY USAGE, snapshots) can handle it.
type Collection interface {
	// Len is the number of elements.
	Len() int
	// Encoding is the name OBJECT ENCODING reports (listpack, quicklist,
	// hashtable, intset, skiplist), chosen with Redis's default
	// thresholds (or those of cfg when the caller passes them).
	Encoding() string
	// Clone returns a deep copy (COPY, copy-on-write snapshots).
	Clone() Collection
	// MemoryUsage estimates the bytes the value occupies.
	MemoryUsage() int64
}
