package node

import (
	"errors"
	"fmt"
	"io"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

// A replica's full sync loads the payload in two goroutines: one decodes
// the RDB (reading, CRC, lengths, LZF, building the values), the other
// inserts the keys into the new keyspace and runs the per-entry hook
// (key-load-delay, progress, INFO keyspace, the abort check) in file
// order, as the single loader did. Measured on a 1M-key sync, decoding
// was about 40% of the replica's CPU and inserting the rest
// (docs/performance.md, "Full sync"); with both on their own core the
// load keeps up with the master's encoding. The inserting goroutine is
// the only one that touches the new keyspace, as before.

// loadItem is one step of the decoded file, in order.
type loadItem struct {
	kind uint8 // itemKey, itemEntry, itemResize
	db   int
	key  string
	obj  store.Object
	off  int64  // itemEntry: bytes consumed so far
	size uint64 // itemResize
}

const (
	itemKey = iota
	itemEntry
	itemResize
)

// pipeBatch is how many items go over the channel at a time.
const pipeBatch = 256

// errLoadQuit ends the decoder once the inserter has given up.
var errLoadQuit = errors.New("load abandoned")

// loadRDBPipelined is loadRDBReader's loop: fresh is the keyspace to
// fill, insert stores one key, entry is the per-entry hook.
func loadRDBPipelined(rd io.Reader, hooks rdb.Hooks, n int, fresh *store.Store,
	insert func(db int, key string, obj *store.Object), entry func(off int64) error) error {
	full := make(chan []loadItem, 4)
	free := make(chan []loadItem, 6)
	quit := make(chan struct{})
	var decErr error
	go func() {
		defer close(full)
		cur := make([]loadItem, 0, pipeBatch)
		push := func(it loadItem) error {
			cur = append(cur, it)
			if len(cur) < pipeBatch {
				return nil
			}
			select {
			case full <- cur:
			case <-quit:
				return errLoadQuit
			}
			select {
			case cur = <-free:
				cur = cur[:0]
			default:
				cur = make([]loadItem, 0, pipeBatch)
			}
			return nil
		}
		h := hooks
		h.Entry = func(off int64) error { return push(loadItem{kind: itemEntry, off: off}) }
		h.ResizeDB = func(db int, size, _ uint64) { push(loadItem{kind: itemResize, db: db, size: size}) }
		_, decErr = rdb.LoadHooks(rd, rdb.DefaultLimits, h, func(db int, key string, obj *store.Object) error {
			if db < 0 || db >= n {
				return fmt.Errorf("key in database %d, only %d configured", db, n)
			}
			return push(loadItem{kind: itemKey, db: db, key: key, obj: *obj})
		})
		if len(cur) > 0 {
			select {
			case full <- cur:
			case <-quit:
			}
		}
	}()
	for batch := range full {
		for i := range batch {
			it := &batch[i]
			switch it.kind {
			case itemKey:
				insert(it.db, it.key, &it.obj)
			case itemResize:
				// Sized at once, as Redis expands its dict: no rehashing
				// while the keys go in. It is only a hint, so it is
				// bounded (16M keys, a 128 MB table); a larger keyspace
				// grows from there.
				if it.db >= 0 && it.db < n {
					fresh.DBs[it.db].Reserve(int(min(it.size, 1<<24)))
				}
			case itemEntry:
				if err := entry(it.off); err != nil {
					// The decoder may be blocked reading: it ends when
					// the caller closes its input, or at its next batch.
					close(quit)
					return err
				}
			}
			*it = loadItem{} // drop the references
		}
		select {
		case free <- batch:
		default:
		}
	}
	// full is closed: the decoder has returned, decErr is set.
	return decErr
}
