package node

import (
	"strconv"
	"sync/atomic"

	"github.com/skiffdb/skiff/store"
)

// Lazy freeing, as INFO memory reports it.
//
// Redis hands a deleted value to a background thread when the deletion
// asked for it (UNLINK, FLUSHALL/FLUSHDB ASYNC, the lazyfree-lazy-*
// options) and the value is made of enough allocations to be worth it;
// it counts such values in lazyfree_pending_objects until the thread has
// freed them, then in lazyfreed_objects. Skiff never frees memory itself:
// dropping the last reference is all a deletion does, and the Go
// collector reclaims the memory concurrently. So there is nothing to wait
// for (lazyfree_pending_objects stays 0), and lazyfreed_objects counts,
// at the moment of the deletion, the values Redis would have freed in the
// background by the same rule, so that the figure moves as Redis's does.

// lazyfreeThreshold is the free effort above which Redis frees a value
// in the background (smaller values are freed at once even when the
// deletion was asked to be lazy: for them that is faster).
const lazyfreeThreshold = 64

// lazyfreeStats are the counters behind INFO's lazyfree_* fields.
type lazyfreeStats struct {
	freed atomic.Int64 // values and keys freed "in the background"
}

func init() {
	resetStatHooks = append(resetStatHooks, func(s *Server) { s.x.lazy.freed.Store(0) })
}

// freeEffort is Redis's estimate of the allocations a value is made of,
// computed from the encoding Redis would give it: one for strings and
// for every compact encoding, the element count for hash tables and
// skip lists, the quicklist's node count for lists, and for streams the
// radix tree's nodes plus, for consumer groups, one per group and per
// entry of the first group's PEL, times the number of groups.
func (s *Server) freeEffort(o *store.Object) int64 {
	switch v := o.Val.(type) {
	case *store.List:
		return quicklistNodes(v, int(s.cfg.Int("list-max-listpack-size")))
	case *store.Set:
		if v.Encoding() == "hashtable" {
			return int64(v.Len())
		}
	case *store.ZSet:
		if v.Encoding() == "skiplist" {
			return int64(v.Len())
		}
	case *store.Hash:
		if v.Encoding() == "hashtable" {
			return int64(v.Len())
		}
	case *store.Stream:
		effort := int64(v.RaxNodes())
		if gs := v.Groups(); len(gs) > 0 {
			effort += int64(len(gs)) * int64(1+gs[0].PEL.Len())
		}
		return effort
	}
	return 1
}

// freeValue accounts the deletion of a value; lazy says whether the
// deletion asked to be lazy (UNLINK, or the lazyfree option that governs
// it).
func (s *Server) freeValue(o *store.Object, lazy bool) {
	if _, ok := o.Val.(store.Collection); !ok {
		return
	}
	if lazy && s.freeEffort(o) > lazyfreeThreshold {
		s.x.lazy.freed.Add(1)
	}
}

// freeDBLazily accounts an asynchronous flush of db: Redis hands the
// whole table to its background thread, whatever its size, and counts
// every key in it.
func (s *Server) freeDBLazily(db *store.DB) {
	s.x.lazy.freed.Add(int64(db.Len()))
}

// Listpack and quicklist sizes (Redis 7.0): a listpack is a 6-byte
// header, its entries and a 1-byte terminator; a quicklist node accepts
// one more entry while its listpack stays within the fill limit.
const (
	lpHeaderSize         = 6
	lpEndSize            = 1
	qlSizeEstimateExtra  = 8    // per entry, added when checking the limit
	qlSizeSafetyLimit    = 8192 // bytes, for a positive (count) fill
	qlPackedThreshold    = 1 << 30
	qlMaxNegativeFill    = 5
	qlMinNegativeFillCap = 4096
)

// lpEntryBytes is the listpack size of one element: its encoding with
// the data, then the back-length of that.
func lpEntryBytes(v string) int {
	var n int
	if i, err := strconv.ParseInt(v, 10, 64); err == nil && strconv.FormatInt(i, 10) == v {
		switch {
		case i >= 0 && i <= 127:
			n = 1
		case i >= -4096 && i <= 4095:
			n = 2
		case i >= -32768 && i <= 32767:
			n = 3
		case i >= -8388608 && i <= 8388607:
			n = 4
		case i >= -2147483648 && i <= 2147483647:
			n = 5
		default:
			n = 9
		}
	} else {
		switch l := len(v); {
		case l < 64:
			n = 1 + l
		case l < 4096:
			n = 2 + l
		default:
			n = 5 + l
		}
	}
	switch {
	case n <= 127:
		return n + 1
	case n < 16383:
		return n + 2
	case n < 2097151:
		return n + 3
	case n < 268435455:
		return n + 4
	}
	return n + 5
}

// quicklistNodes is the node count of the quicklist Redis 7.0 would
// build by pushing l's elements in order with the given fill
// (list-max-listpack-size). A list edited in the middle may have a few
// nodes more or less in Redis; the count matters only against the
// threshold above.
func quicklistNodes(l *store.List, fill int) int64 {
	limit := 0 // bytes a node may hold for a negative fill
	if fill < 0 {
		f := -fill
		if f > qlMaxNegativeFill {
			f = qlMaxNegativeFill
		}
		limit = qlMinNegativeFillCap << (f - 1)
	}
	// Only the comparison with the threshold matters, so the walk stops
	// once it is settled: a node holds at least one element, and at most
	// fill elements, or limit/2 (no element takes less than 2 bytes).
	n := l.Len()
	if n <= lazyfreeThreshold {
		return int64(n)
	}
	perNode := fill
	if fill < 0 {
		perNode = limit / 2
	}
	if perNode > 0 && n > (lazyfreeThreshold+1)*perNode {
		return int64(n / perNode)
	}
	var nodes int64
	size, count := 0, 0 // of the last node; size 0: there is none
	for i := 0; i < n && nodes <= lazyfreeThreshold; i++ {
		v := l.At(i)
		if len(v) >= qlPackedThreshold {
			nodes++ // a plain node of its own
			size, count = 0, 0
			continue
		}
		sz := len(v)
		fits := false
		if size > 0 {
			next := size + sz + qlSizeEstimateExtra
			switch {
			case fill < 0:
				fits = next <= limit
			case next > qlSizeSafetyLimit:
				fits = false
			default:
				fits = count < fill
			}
		}
		if !fits {
			nodes++
			size, count = lpHeaderSize+lpEndSize, 0
		}
		size += lpEntryBytes(v)
		count++
	}
	return nodes
}

// droppingValue is the store's hook for values dropped by an expiry
// (lazyfree-lazy-expire) or replaced by a new value
// (lazyfree-lazy-server-del, as Redis's overwrite of a key).
func (s *Server) droppingValue(db *store.DB, old *store.Object, expired bool) {
	if _, ok := old.Val.(store.Collection); !ok {
		return // a single allocation: never lazy
	}
	opt := "lazyfree-lazy-server-del"
	if expired {
		opt = "lazyfree-lazy-expire"
	}
	s.freeValue(old, s.cfg.Bool(opt))
}

// deleteVerb is the command a deletion is propagated as: UNLINK when it
// was lazy, as Redis propagates it.
func deleteVerb(lazy bool) []byte {
	if lazy {
		return []byte("UNLINK")
	}
	return []byte("DEL")
}

// freeCacheLazily accounts an asynchronous SCRIPT FLUSH or FUNCTION
// FLUSH of n scripts or functions: Redis frees the cache in the
// background only when it holds more than the threshold.
func (s *Server) freeCacheLazily(n int64) {
	if n > lazyfreeThreshold {
		s.x.lazy.freed.Add(n)
	}
}

// serverDelete deletes key as Redis's implicit deletions do (RENAME and
// COPY onto an existing key, RESTORE REPLACE, a *STORE with an empty
// result): lazily under lazyfree-lazy-server-del.
func (s *Server) serverDelete(db *store.DB, key string) bool {
	if e := db.Peek([]byte(key)); e != nil {
		s.droppingValue(db, &e.Val, false)
	}
	return db.Delete(key)
}
