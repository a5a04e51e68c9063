// Package tracking is the server-side memory of client-side caching
// (CLIENT TRACKING): which clients may hold a copy of which keys, and
// which clients asked to be told about every change under a key prefix
// (BCAST mode). It stores client IDs only and never talks to a client:
// the caller turns what it returns into invalidation messages.
//
// # Keys
//
// Remember records that a client read a key. Invalidate, called when the
// key changes, forgets the key and returns every client that had it:
// each is told once, and must read the key again to be told again. A
// client that stops tracking is not removed from the keys it read (that
// would cost a walk of the whole table); the caller skips IDs that no
// longer track when it gets them back, as Redis does. The IDs of one key
// come back in Redis's order, which is that of their eight bytes in
// memory on a little-endian machine (Redis keeps them in a radix tree of
// the raw integers), so that several clients are told in the same order
// as Redis tells them.
//
// # Prefixes
//
// Subscribe registers a BCAST client for a prefix ("" matches every key).
// Modified records a changed key in every prefix it starts with, with the
// client that changed it (0 when none did: expiry, eviction); a later
// change of the same key overwrites that client. Broadcasts hands out,
// prefix by prefix in byte order, the keys gathered since the last call
// (in byte order) and the prefix's clients, then starts gathering anew.
package tracking

import (
	"math/bits"
	"sort"
	"strings"
)

// Table is one server's tracking state. It is not safe for concurrent
// use: the server calls it under its data lock.
type Table struct {
	keys  map[string][]int64
	items int

	prefixes map[string]*prefix
	// order lists the prefixes in byte order.
	order []string
	// pending counts the prefixes with gathered keys.
	pending int
}

// prefix is one BCAST prefix: its clients and the keys changed under it
// since the last broadcast, each with the ID of the client that changed
// it last (0: none).
type prefix struct {
	clients []int64
	keys    map[string]int64
}

// New returns an empty table.
func New() *Table {
	return &Table{keys: map[string][]int64{}, prefixes: map[string]*prefix{}}
}

// idLess orders client IDs as Redis's radix tree of their raw
// (little-endian) bytes does.
func idLess(a, b int64) bool {
	return bits.ReverseBytes64(uint64(a)) < bits.ReverseBytes64(uint64(b))
}

// Remember records that client id may cache key. It reports whether this
// is a new (key, client) pair.
func (t *Table) Remember(key []byte, id int64) bool {
	ids := t.keys[string(key)]
	i := sort.Search(len(ids), func(i int) bool { return !idLess(ids[i], id) })
	if i < len(ids) && ids[i] == id {
		return false
	}
	ids = append(ids, 0)
	copy(ids[i+1:], ids[i:])
	ids[i] = id
	t.keys[string(key)] = ids
	t.items++
	return true
}

// Invalidate forgets key and returns the clients that had it, in Redis's
// order (nil when none). The slice is the caller's.
func (t *Table) Invalidate(key []byte) []int64 {
	ids, ok := t.keys[string(key)]
	if !ok {
		return nil
	}
	delete(t.keys, string(key))
	t.items -= len(ids)
	return ids
}

// RandomKey returns some tracked key, for evicting entries when the table
// is over its size limit.
func (t *Table) RandomKey() (string, bool) {
	// Map iteration starts at a random place.
	for k := range t.keys {
		return k, true
	}
	return "", false
}

// Clear forgets every key (FLUSHALL, FLUSHDB: every client is told that
// everything changed). Prefix subscriptions stay.
func (t *Table) Clear() {
	t.keys = map[string][]int64{}
	t.items = 0
}

// Keys is the number of tracked keys (INFO tracking_total_keys).
func (t *Table) Keys() int { return len(t.keys) }

// Items is the number of (key, client) pairs (INFO tracking_total_items).
func (t *Table) Items() int { return t.items }

// Prefixes is the number of BCAST prefixes with at least one client (INFO
// tracking_total_prefixes).
func (t *Table) Prefixes() int { return len(t.order) }

// Subscribe registers client id for broadcasts about keys starting with
// p. It reports whether the client was not registered for p yet.
func (t *Table) Subscribe(p string, id int64) bool {
	px := t.prefixes[p]
	if px == nil {
		px = &prefix{keys: map[string]int64{}}
		t.prefixes[p] = px
		i := sort.SearchStrings(t.order, p)
		t.order = append(t.order, "")
		copy(t.order[i+1:], t.order[i:])
		t.order[i] = p
	}
	for _, c := range px.clients {
		if c == id {
			return false
		}
	}
	px.clients = append(px.clients, id)
	return true
}

// Unsubscribe removes client id from prefix p; the prefix goes away with
// its last client, and with it the keys gathered for it.
func (t *Table) Unsubscribe(p string, id int64) {
	px := t.prefixes[p]
	if px == nil {
		return
	}
	for i, c := range px.clients {
		if c == id {
			px.clients = append(px.clients[:i:i], px.clients[i+1:]...)
			break
		}
	}
	if len(px.clients) > 0 {
		return
	}
	if len(px.keys) > 0 {
		t.pending--
	}
	delete(t.prefixes, p)
	i := sort.SearchStrings(t.order, p)
	t.order = append(t.order[:i:i], t.order[i+1:]...)
}

// Modified records that key was changed by client by (0: by none) in
// every prefix it starts with. It reports whether any prefix matched.
func (t *Table) Modified(key []byte, by int64) bool {
	matched := false
	for _, p := range t.order {
		if len(p) > len(key) || string(key[:len(p)]) != p {
			continue
		}
		px := t.prefixes[p]
		if len(px.keys) == 0 {
			t.pending++
		}
		px.keys[string(key)] = by
		matched = true
	}
	return matched
}

// Pending reports whether some prefix has gathered keys to broadcast.
func (t *Table) Pending() bool { return t.pending > 0 }

// Broadcast is what one prefix has to send: the keys changed under it
// since the last broadcast, in byte order, the client that changed each
// one last (0: none), and the clients registered for the prefix.
type Broadcast struct {
	Prefix  string
	Keys    []string
	By      []int64
	Clients []int64
}

// Broadcasts calls fn for every prefix with gathered keys, in prefix
// order, then forgets the keys. fn must not change the table's prefixes.
func (t *Table) Broadcasts(fn func(b *Broadcast)) {
	if t.pending == 0 {
		return
	}
	var b Broadcast
	for _, p := range t.order {
		px := t.prefixes[p]
		if len(px.keys) == 0 {
			continue
		}
		b.Prefix = p
		b.Keys = b.Keys[:0]
		for k := range px.keys {
			b.Keys = append(b.Keys, k)
		}
		sort.Strings(b.Keys)
		b.By = b.By[:0]
		for _, k := range b.Keys {
			b.By = append(b.By, px.keys[k])
		}
		b.Clients = px.clients
		fn(&b)
		px.keys = map[string]int64{}
	}
	t.pending = 0
}

// Overlap reports whether two prefixes would both match some key (one is
// a prefix of the other), which Redis refuses for one client.
func Overlap(a, b string) bool {
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}
