package store

import (
	"errors"
	"time"
)

// Snapshot is a point-in-time view of every database that is read
// incrementally while writers keep changing the keyspace: the saver walks
// each database's table in bucket order a chunk at a time (under the
// caller's data lock), and every write path hands the snapshot the old
// value of a key it has not visited yet before changing or removing it
// (copy-on-write at key granularity). The result is exactly the keyspace
// as it was when BeginSnapshot ran.
//
// Bookkeeping: every value carries the generation of the snapshot it was
// last settled for. When a snapshot begins the store's generation is
// bumped, which makes every existing value "owed" to it at no cost;
// values created afterwards are stamped with the new generation and so
// are skipped, and visiting or copying a value stamps it too, so that a
// key saved by a writer is not delivered again by the walk. The walk
// reads the buckets in index order with the table's rehashing paused
// (Redis's tables do not resize while its child saves either), so it
// meets every key present for the whole walk exactly once.
//
// Go cannot fork, so this replaces the child process of Redis's BGSAVE.
// The cost moves to the writers: the first write to a not yet visited key
// copies its value, O(size of the value).
type Snapshot struct {
	st     *Store
	gen    uint32
	dbs    []snapDB
	byDict map[*keyDict]int
	cur    int
	// fresh holds entries created during the snapshot, for the case where
	// a writer replaced the whole Object (and with it the stamp) of a new
	// entry.
	fresh map[*Entry]struct{}

	// Processed counts keys handed to the sink so far, Total the keys in
	// the keyspace when the snapshot began (INFO current_save_keys_*).
	Processed, Total int64
	// CopiedKeys and CopiedBytes measure copy-on-write work done by
	// writers (INFO current_cow_size).
	CopiedKeys, CopiedBytes int64

	batch []*Entry // the step's keys, collected a batch at a time
	sum   uint32   // where touch's loads go, so they are not elided
}

type snapDB struct {
	id            int
	dict          *keyDict
	size, expires int
	// pos is the walk's position in dict (CollectBuckets); the dict's
	// rehashing is paused from BeginSnapshot until the walk ends, so
	// that walking the buckets in order sees every key once.
	pos         int
	paused      bool
	begun, done bool
	saved       []savedEntry
}

type savedEntry struct {
	key string
	obj Object
}

// SnapshotSink receives a snapshot: SelectDB once per non-empty database
// (with its key and TTL counts when the snapshot began), then its keys.
// rdb.Writer is one.
type SnapshotSink interface {
	SelectDB(db, size, expires int) error
	Entry(key string, obj *Object) error
}

// ErrSnapshotRunning is returned by BeginSnapshot while another snapshot
// is in progress.
var ErrSnapshotRunning = errors.New("store: a snapshot is already in progress")

// BeginSnapshot starts a point-in-time snapshot of every database. It is
// O(number of databases). The caller must hold the data lock, drive the
// snapshot with Step and end it with Close.
func (st *Store) BeginSnapshot() (*Snapshot, error) {
	if st.snap != nil {
		return nil, ErrSnapshotRunning
	}
	st.snapGen++
	if st.snapGen == 0 {
		// After 2^32 snapshots the stamps would be ambiguous; values
		// stamped 0 would be wrongly skipped. Skipping a generation keeps
		// every old stamp below the new one until a full wrap, which a
		// process does not live to see.
		st.snapGen = 1
	}
	sn := &Snapshot{
		st:     st,
		gen:    st.snapGen,
		byDict: make(map[*keyDict]int, len(st.DBs)),
		fresh:  map[*Entry]struct{}{},
	}
	for i, db := range st.DBs {
		d := snapDB{id: db.ID, dict: db.keys, size: db.Len(), expires: db.Expires()}
		if d.size > 0 {
			d.dict.PauseRehash()
			d.paused = true
		}
		sn.dbs = append(sn.dbs, d)
		sn.byDict[db.keys] = i
		sn.Total += int64(db.Len())
	}
	st.snap = sn
	return sn, nil
}

// Active reports whether a snapshot is running.
func (st *Store) SnapshotActive() bool { return st.snap != nil }

// SetWriting tells the store whether the command now running may modify
// what it looks up; while a snapshot runs, Lookup then saves the value
// before handing it out, so every in-place mutation (APPEND, LPUSH,
// HSET...) is covered whatever lookup path the command uses. It returns
// the previous setting, to restore after nested calls (EXEC).
func (st *Store) SetWriting(on bool) (prev bool) {
	prev = st.cowLookups
	st.cowLookups = on
	return prev
}

// WillModify must be called before a value is changed in place through
// an entry obtained without Lookup under SetWriting(true) (Peek, or a
// read lookup): a running snapshot copies the value first if it still
// needs the old one.
func (db *DB) WillModify(e *Entry) {
	if sn := db.store.snap; sn != nil && e.Val.gen < sn.gen {
		sn.save(db, e, true)
	}
}

// stampNew marks a newly created entry as not part of a running snapshot.
func (db *DB) stampNew(e *Entry) {
	e.Val.gen = db.store.snapGen
	if sn := db.store.snap; sn != nil {
		sn.fresh[e] = struct{}{}
	}
}

// owed reports whether e (with a stamp below the generation) still
// belongs to the snapshot, and settles it either way.
func (sn *Snapshot) owed(e *Entry) bool {
	e.Val.gen = sn.gen
	if _, ok := sn.fresh[e]; ok {
		delete(sn.fresh, e)
		return false
	}
	return true
}

// save keeps the current value of e, which db is about to change, for
// the snapshot. deep copies it because the entry lives on and will be
// modified; otherwise the value is being dropped and is taken as is
// (strings are still copied: their bytes may be reused by the writer).
func (sn *Snapshot) save(db *DB, e *Entry, deep bool) {
	if !sn.owed(e) {
		return
	}
	i, ok := sn.byDict[db.keys]
	if !ok || sn.dbs[i].done {
		// Not a table the snapshot started with, or one it has already
		// walked completely: the value cannot be owed.
		return
	}
	obj := e.Val
	if obj.Str != nil {
		obj.Str = append([]byte(nil), obj.Str...)
		sn.CopiedBytes += int64(len(obj.Str))
	}
	if deep && obj.Val != nil {
		if col, ok := obj.Val.(Collection); ok {
			obj.Val = col.Clone()
			sn.CopiedBytes += col.MemoryUsage()
		}
	}
	sn.CopiedKeys++
	sn.dbs[i].saved = append(sn.dbs[i].saved, savedEntry{key: e.Key, obj: obj})
}

// saveDeleted is save for an entry already unlinked from db's table.
func (sn *Snapshot) saveDeleted(db *DB, e *Entry) { sn.save(db, e, false) }

// Step hands the sink the next part of the snapshot: at most maxKeys keys
// and roughly budget of time, so that the caller can release the data
// lock between steps and writers are never stalled for long. It reports
// done when the whole snapshot has been delivered. The caller must hold
// the data lock.
func (sn *Snapshot) Step(sink SnapshotSink, maxKeys int, budget time.Duration) (done bool, err error) {
	if sn.st.snap != sn {
		return false, errors.New("store: snapshot step after Close")
	}
	start := time.Now()
	n := 0
	over := func() bool { return n >= maxKeys || time.Since(start) > budget }
	for sn.cur < len(sn.dbs) {
		d := &sn.dbs[sn.cur]
		if d.size == 0 {
			// Empty when the snapshot began: nothing can be owed.
			d.done = true
			sn.cur++
			continue
		}
		if !d.begun {
			if err := sink.SelectDB(d.id, d.size, d.expires); err != nil {
				return false, err
			}
			d.begun = true
		}
		if err := sn.drain(d, sink); err != nil {
			return false, err
		}
		for d.pos >= 0 {
			want := min(walkBatch, max(maxKeys-n, 1))
			sn.batch, d.pos = d.dict.CollectBuckets(d.pos, want, sn.batch[:0])
			sn.touch(sn.batch)
			for i, e := range sn.batch {
				sn.batch[i] = nil
				if e.Val.gen >= sn.gen || !sn.owed(e) {
					continue
				}
				if err := sink.Entry(e.Key, &e.Val); err != nil {
					return false, err
				}
				sn.Processed++
				n++
			}
			if d.pos >= 0 && over() {
				return false, nil
			}
		}
		// Walked completely: whatever was owed and is gone from the table
		// has been saved by now.
		if err := sn.drain(d, sink); err != nil {
			return false, err
		}
		d.done = true
		d.resume()
		sn.cur++
		if over() {
			return sn.cur == len(sn.dbs), nil
		}
	}
	return true, nil
}

// walkBatch is how many keys a step collects before handing them over.
const walkBatch = 64

// touch reads, for a batch of entries, the words the step is about to
// read one entry at a time: the value's stamp, the first byte of the key
// and of a string value. These loads do not depend on each other, so the
// CPU overlaps their cache misses, where the step proper would wait for
// each in turn; a walk of 1M keys spent most of its time in such misses
// (docs/performance.md, "BGSAVE latency").
func (sn *Snapshot) touch(batch []*Entry) {
	var x uint32
	for _, e := range batch {
		x += e.Val.gen
	}
	for _, e := range batch {
		if len(e.Key) > 0 {
			x += uint32(e.Key[0])
		}
		if len(e.Val.Str) > 0 {
			x += uint32(e.Val.Str[0])
		}
	}
	sn.sum += x
}

func (d *snapDB) resume() {
	if d.paused {
		d.paused = false
		d.dict.ResumeRehash()
	}
}

func (sn *Snapshot) drain(d *snapDB, sink SnapshotSink) error {
	for i := range d.saved {
		if err := sink.Entry(d.saved[i].key, &d.saved[i].obj); err != nil {
			return err
		}
		sn.Processed++
		d.saved[i] = savedEntry{}
	}
	d.saved = d.saved[:0]
	return nil
}

// Close ends the snapshot (finished or not) and releases what it holds.
// The caller must hold the data lock.
func (sn *Snapshot) Close() {
	if sn.st.snap == sn {
		sn.st.snap = nil
	}
	for i := range sn.dbs {
		sn.dbs[i].resume()
	}
	sn.dbs = nil
	sn.batch = nil
	sn.byDict = nil
	sn.fresh = nil
}
