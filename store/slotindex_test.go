package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/skiffdb/skiff/slots"
)

// verifySlotIndex recomputes db's slot index from a full walk of the
// keyspace and compares: every key is listed exactly once, in its own
// slot, at the position its node records, and nothing else is listed. A
// database without the index must hold none.
func verifySlotIndex(db *DB) error {
	if !db.SlotIndexEnabled() {
		if db.slots != nil {
			return fmt.Errorf("db %d: index disabled but present", db.ID)
		}
		return nil
	}
	if db.slots == nil {
		return fmt.Errorf("db %d: index enabled but absent", db.ID)
	}
	var want [slots.Count]int
	n := 0
	var err error
	db.Dict().Each(func(e *Entry) bool {
		n++
		s := slots.KeySlotString(e.Key)
		want[s]++
		if int(e.meta.slot) != s {
			err = fmt.Errorf("db %d: key %q in slot %d, its node says %d", db.ID, e.Key, s, e.meta.slot)
			return false
		}
		l := db.slots.keys[s]
		if p := int(e.meta.pos); p < 0 || p >= len(l) || l[p] != e {
			err = fmt.Errorf("db %d: key %q not at position %d of slot %d (len %d)", db.ID, e.Key, p, s, len(l))
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	total := 0
	for s := range want {
		l := db.slots.keys[s]
		total += len(l)
		if len(l) != want[s] {
			return fmt.Errorf("db %d: slot %d lists %d keys, the keyspace has %d", db.ID, s, len(l), want[s])
		}
		if db.CountKeysInSlot(s) != want[s] {
			return fmt.Errorf("db %d: CountKeysInSlot(%d) = %d, want %d", db.ID, s, db.CountKeysInSlot(s), want[s])
		}
		if c := cap(l); c > slotShrinkMin && len(l) < c/4 {
			return fmt.Errorf("db %d: slot %d holds %d keys in a capacity of %d", db.ID, s, len(l), c)
		}
	}
	if total != n || n != db.Len() {
		return fmt.Errorf("db %d: index lists %d keys, the walk found %d, Len %d", db.ID, total, n, db.Len())
	}
	return nil
}

func checkSlotIndex(t testing.TB, db *DB) {
	t.Helper()
	if err := verifySlotIndex(db); err != nil {
		t.Fatal(err)
	}
}

func checkAll(t testing.TB, st *Store) {
	t.Helper()
	for _, db := range st.DBs {
		checkSlotIndex(t, db)
		if db.SlotIndexEnabled() {
			// The fallback paths agree with the index on a few slots.
			for _, s := range []int{0, 12182, slots.KeySlotString("k1")} {
				got := slices.Sorted(slices.Values(db.KeysInSlot(s, 1<<30)))
				x := db.slots
				db.slots = nil
				want := slices.Sorted(slices.Values(db.KeysInSlot(s, 1<<30)))
				n := db.CountKeysInSlot(s)
				walked := entryKeys(db.AppendEntriesInSlot(nil, s, 1<<30))
				db.slots = x
				if !slices.Equal(got, want) || n != len(want) {
					t.Fatalf("db %d slot %d: index lists %q, the walk %q (count %d)", db.ID, s, got, want, n)
				}
				if e := entryKeys(db.AppendEntriesInSlot(nil, s, 1<<30)); !slices.Equal(e, want) || !slices.Equal(walked, want) {
					t.Fatalf("db %d slot %d: entries %q (walk %q), keys %q", db.ID, s, e, walked, want)
				}
			}
		}
	}
}

// entryKeys returns the entries' keys, sorted.
func entryKeys(es []*Entry) []string {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return slices.Sorted(slices.Values(keys))
}

// TestEntryLayout guards the claim that the index costs no memory when it
// is off: the keyspace node stays in the 96-byte size class and nodes of
// collections are not grown by the metadata field.
func TestEntryLayout(t *testing.T) {
	if n := unsafe.Sizeof(Entry{}); n > 96 {
		t.Errorf("keyspace node is %d bytes, over the 96-byte size class", n)
	}
	if n := unsafe.Sizeof(Node[float64]{}); n != 32 {
		t.Errorf("zset dict node is %d bytes, want 32", n)
	}
	if n := unsafe.Sizeof(Node[struct{}]{}); n != 32 {
		t.Errorf("set dict node is %d bytes, want 32", n)
	}
	if n := unsafe.Sizeof(Node[string]{}); n != 40 {
		t.Errorf("hash dict node is %d bytes, want 40", n)
	}
}

func TestSlotIndexBasics(t *testing.T) {
	st := New(2)
	st.EnableSlotIndex()
	db := st.DBs[0]
	if !db.SlotIndexEnabled() || st.DBs[1].SlotIndexEnabled() {
		t.Fatal("Store.EnableSlotIndex must index database 0 only")
	}
	db.SetString([]byte("foo"), []byte("1"), false)
	db.SetString([]byte("foo"), []byte("2"), false) // overwrite: still one key
	for i := 0; i < 10; i++ {
		db.SetString([]byte("{foo}:"+strconv.Itoa(i)), []byte("v"), false)
	}
	if n := db.CountKeysInSlot(12182); n != 11 {
		t.Fatalf("CountKeysInSlot(12182) = %d, want 11", n)
	}
	if n := db.CountKeysInSlot(0); n != 0 {
		t.Fatalf("empty slot counts %d", n)
	}
	if n := db.CountKeysInSlot(-1) + db.CountKeysInSlot(slots.Count); n != 0 {
		t.Fatalf("out of range slots count %d", n)
	}
	if got := db.KeysInSlot(12182, 3); len(got) != 3 {
		t.Fatalf("KeysInSlot(…, 3) = %q", got)
	}
	all := db.KeysInSlot(12182, 100)
	slices.Sort(all)
	if len(all) != 11 || all[0] != "foo" || all[10] != "{foo}:9" {
		t.Fatalf("KeysInSlot(…, 100) = %q", all)
	}
	if db.KeysInSlot(12182, 0) != nil || db.KeysInSlot(12182, -5) != nil || db.KeysInSlot(20000, 5) != nil {
		t.Fatal("count ≤ 0 or a bad slot must list nothing")
	}
	if got := db.AppendKeysInSlot([]string{"x"}, 12182, 1); len(got) != 2 || got[0] != "x" {
		t.Fatalf("AppendKeysInSlot = %q", got)
	}
	checkAll(t, st)

	var gone []string
	if n := db.DelKeysInSlot(12182, func(k string) { gone = append(gone, k) }); n != 11 || len(gone) != 11 {
		t.Fatalf("DelKeysInSlot deleted %d (callback saw %d), want 11", n, len(gone))
	}
	if db.Len() != 0 || db.CountKeysInSlot(12182) != 0 {
		t.Fatalf("keys left after DelKeysInSlot: %d", db.Len())
	}
	checkAll(t, st)

	// An entry whose whole Object is replaced by command code (INCR on a
	// new key does e.Val = Object{...}) keeps its index position.
	e, _ := db.Put([]byte("counter"))
	e.Val = Object{Type: TypeString, Str: []byte("1"), Enc: EncInt}
	checkAll(t, st)
	if !db.Delete("counter") {
		t.Fatal("counter not deleted")
	}
	checkAll(t, st)
}

func TestSlotIndexEnableDisable(t *testing.T) {
	st := New(1)
	db := st.DBs[0]
	for i := 0; i < 5000; i++ {
		db.SetString([]byte("k"+strconv.Itoa(i)), []byte("v"), false)
	}
	db.EnableSlotIndex()
	checkAll(t, st)
	db.EnableSlotIndex() // no-op
	checkAll(t, st)
	for i := 0; i < 5000; i += 3 {
		db.Delete("k" + strconv.Itoa(i))
	}
	checkAll(t, st)
	db.DisableSlotIndex()
	checkAll(t, st)
	for i := 0; i < 5000; i += 2 {
		db.SetString([]byte("k"+strconv.Itoa(i)), []byte("w"), false)
		db.Delete("k" + strconv.Itoa(i+1))
	}
	// The walk fallbacks work without the index.
	s := slots.KeySlotString("k2")
	want := 0
	db.Dict().Each(func(e *Entry) bool {
		if slots.KeySlotString(e.Key) == s {
			want++
		}
		return true
	})
	if got := db.CountKeysInSlot(s); got != want || len(db.KeysInSlot(s, 1<<30)) != want || len(db.KeysInSlot(s, 1)) != 1 {
		t.Fatalf("fallback count %d, want %d", got, want)
	}
	db.EnableSlotIndex() // stale node metadata is rewritten
	checkAll(t, st)
	db.DisableSlotIndex()
	if n := db.DelKeysInSlot(s, nil); n != want || db.CountKeysInSlot(s) != 0 {
		t.Fatalf("fallback DelKeysInSlot deleted %d, want %d", n, want)
	}
}

// TestSlotIndexRandomOperations drives every write path the server uses
// (as the node package calls them) against an indexed database 0 and a
// plain database 1, checking the index after each burst.
func TestSlotIndexRandomOperations(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 7))
			st := New(2)
			st.EnableSlotIndex()
			reclaimed := 0
			st.OnExpire = func(*DB, string) { reclaimed++ }
			now := int64(1_000_000)
			key := func() []byte {
				if r.IntN(4) == 0 { // hash tags crowd a few slots
					return []byte("{t" + strconv.Itoa(r.IntN(3)) + "}" + strconv.Itoa(r.IntN(400)))
				}
				return []byte("k" + strconv.Itoa(r.IntN(1500)))
			}
			for i := 0; i < 30000; i++ {
				db := st.DBs[0]
				if r.IntN(8) == 0 {
					db = st.DBs[1]
				}
				k := key()
				switch op := r.IntN(100); {
				case op < 25: // SET / overwrite
					db.SetString(k, []byte("v"), r.IntN(2) == 0)
				case op < 33: // DEL / UNLINK
					db.Delete(string(k))
				case op < 40: // EXPIRE with a short TTL
					if e := db.Lookup(k, now); e != nil {
						db.SetExpire(e, now+int64(r.IntN(50)))
					}
				case op < 48: // lazy expiry on access
					db.Lookup(k, now)
				case op < 50: // active expiry
					db.ActiveExpire(now, time.Now().Add(time.Second))
				case op < 52: // RANDOMKEY reclaims expired keys on its way
					db.RandomKey(now)
				case op < 56: // eviction: sample and delete
					if e := db.Dict().Random(); e != nil {
						db.Delete(e.Key)
					}
				case op < 62: // INCR on a new key: Put and replace the Object
					if db.Lookup(k, now) == nil {
						e, _ := db.Put(k)
						e.Val = Object{Type: TypeString, Str: []byte("1"), Enc: EncInt}
					}
				case op < 67: // RENAME: delete the source, store the value under dst
					if e := db.Lookup(k, now); e != nil {
						obj, exp := e.Val, e.Val.Expire
						dst := key()
						if string(dst) != string(k) {
							db.Delete(string(dst))
							db.Delete(string(k))
							ne := db.SetValue(dst, obj, false)
							if exp != 0 {
								db.SetExpire(ne, exp)
							}
						}
					}
				case op < 71: // MOVE between the indexed and the plain database
					src, dst := st.DBs[0], st.DBs[1]
					if r.IntN(2) == 0 {
						src, dst = dst, src
					}
					if e := src.Lookup(k, now); e != nil && dst.Lookup(k, now) == nil {
						obj, exp := e.Val, e.Val.Expire
						ne := dst.SetValue(k, obj, false)
						if exp != 0 {
							dst.SetExpire(ne, exp)
						}
						src.Delete(string(k))
					}
				case op < 74: // COPY
					if e := db.Lookup(k, now); e != nil {
						obj, _ := e.Val.Clone()
						dst := key()
						if string(dst) != string(k) {
							db.Delete(string(dst))
							db.SetValue(dst, obj, false)
						}
					}
				case op < 78: // RESTORE ... REPLACE
					db.Delete(string(k))
					db.SetValue(k, Object{Type: TypeHash, Val: NewHash()}, false)
				case op < 80: // a replica: expired keys stay until the master's DEL
					st.NoLazyExpire = true
					db.Lookup(k, now)
					db.RandomKey(now)
					st.NoLazyExpire = false
				case op < 82: // the node loses a slot
					db.DelKeysInSlot(slots.KeySlot(k), nil)
				case op < 83: // GETKEYSINSLOT + MIGRATE deleting what it moved
					for _, mk := range db.KeysInSlot(slots.KeySlot(k), 1+r.IntN(5)) {
						db.Delete(mk)
					}
				case op == 83 && r.IntN(10) == 0: // FLUSHDB
					db.Flush()
				case op == 84 && r.IntN(10) == 0: // FLUSHALL
					for _, d := range st.DBs {
						d.Flush()
					}
				case op == 85 && r.IntN(5) == 0: // SWAPDB (indexed with plain)
					st.DBs[0].Swap(st.DBs[1])
				default:
					now += int64(r.IntN(3))
				}
				if i%1000 == 0 {
					checkAll(t, st)
				}
			}
			checkAll(t, st)
			if reclaimed == 0 || st.DBs[0].Len() == 0 {
				t.Fatalf("test did not exercise expiry (%d) or kept no keys (%d)", reclaimed, st.DBs[0].Len())
			}
		})
	}
}

// fill puts n string keys, some with a TTL, into db as the RDB loader
// and the full-sync loader do (SetValue, then SetExpire).
func fill(db *DB, prefix string, n int) {
	for i := 0; i < n; i++ {
		e := db.SetValue([]byte(prefix+strconv.Itoa(i)), Object{Type: TypeString, Str: []byte("v")}, false)
		if i%3 == 0 {
			db.SetExpire(e, 1<<50)
		}
	}
}

// TestSlotIndexSwap covers SWAPDB and the loaders, which build a fresh
// store and swap its databases in.
func TestSlotIndexSwap(t *testing.T) {
	t.Run("indexed with plain", func(t *testing.T) {
		st := New(2)
		st.EnableSlotIndex()
		fill(st.DBs[0], "a", 2000)
		fill(st.DBs[1], "b", 3000)
		st.DBs[0].Swap(st.DBs[1])
		checkAll(t, st)
		if st.DBs[0].Len() != 3000 || st.DBs[0].CountKeysInSlot(slots.KeySlotString("b7")) == 0 {
			t.Fatal("database 0 did not get database 1's keys indexed")
		}
		st.DBs[1].Swap(st.DBs[0]) // the other way round
		checkAll(t, st)
	})
	t.Run("both indexed", func(t *testing.T) {
		st := New(2)
		st.DBs[0].EnableSlotIndex()
		st.DBs[1].EnableSlotIndex()
		fill(st.DBs[0], "a", 2000)
		fill(st.DBs[1], "b", 3000)
		x0, x1 := st.DBs[0].slots, st.DBs[1].slots
		st.DBs[0].Swap(st.DBs[1])
		if st.DBs[0].slots != x1 || st.DBs[1].slots != x0 {
			t.Fatal("indexes were rebuilt instead of exchanged")
		}
		checkAll(t, st)
	})
	for _, freshIndexed := range []bool{false, true} {
		t.Run(fmt.Sprintf("load, fresh store indexed %v", freshIndexed), func(t *testing.T) {
			st := New(2)
			st.EnableSlotIndex()
			fill(st.DBs[0], "old", 1000)
			fresh := New(2)
			if freshIndexed {
				fresh.EnableSlotIndex()
			}
			fresh.NoLazyExpire = true
			fill(fresh.DBs[0], "new", 4000)
			fill(fresh.DBs[1], "one", 100)
			for i, db := range st.DBs {
				db.Swap(fresh.DBs[i])
			}
			checkAll(t, st)
			checkAll(t, fresh)
			if st.DBs[0].Len() != 4000 || st.DBs[0].Peek([]byte("old1")) != nil {
				t.Fatal("database 0 does not hold the loaded keys")
			}
			fill(st.DBs[0], "more", 500) // the installed index keeps working
			for i := 0; i < 4000; i += 2 {
				st.DBs[0].Delete("new" + strconv.Itoa(i))
			}
			checkAll(t, st)
		})
	}
}

// TestSlotIndexSnapshot runs copy-on-write snapshots while the indexed
// databases change under every write path, including slot deletion, and
// checks both the snapshot (point in time) and the index.
func TestSlotIndexSnapshot(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 11))
			st := New(3)
			st.DBs[0].EnableSlotIndex()
			st.DBs[2].EnableSlotIndex()
			now := time.Now().UnixMilli()
			step := func() {
				if r.IntN(30) == 0 {
					db := st.DBs[r.IntN(3)]
					db.DelKeysInSlot(slots.KeySlotString(fmt.Sprintf("k%d", r.IntN(3000))), nil)
					return
				}
				mutate(r, st, now)
			}
			for i := 0; i < 4000; i++ {
				step()
			}
			checkAll(t, st)
			want := dump(st)
			sn, err := st.BeginSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			sink := newCollectSink(t)
			for done, steps := false, 0; !done; steps++ {
				if steps > 100000 {
					t.Fatal("snapshot did not finish")
				}
				for i := r.IntN(40); i > 0; i-- {
					step()
				}
				if steps%50 == 0 {
					checkAll(t, st)
				}
				if done, err = sn.Step(sink, 1+r.IntN(50), time.Second); err != nil {
					t.Fatal(err)
				}
			}
			sn.Close()
			diffDumps(t, want, sink.dbs)
			checkAll(t, st)
		})
	}
}

// TestSlotIndexShrinks checks that a slot that held many keys (hash
// tags) gives its memory back as they go, and that listing is bounded by
// count.
func TestSlotIndexShrinks(t *testing.T) {
	st := New(1)
	st.EnableSlotIndex()
	db := st.DBs[0]
	const n = 100000
	for i := 0; i < n; i++ {
		db.SetString([]byte("{same}"+strconv.Itoa(i)), nil, false)
	}
	s := slots.KeySlotString("same")
	if db.CountKeysInSlot(s) != n {
		t.Fatalf("count %d, want %d", db.CountKeysInSlot(s), n)
	}
	if got := db.KeysInSlot(s, 10); len(got) != 10 {
		t.Fatalf("KeysInSlot(…, 10) returned %d keys", len(got))
	}
	for i := 0; i < n-3; i++ {
		db.Delete("{same}" + strconv.Itoa(i))
	}
	if c := cap(db.slots.keys[s]); c > slotShrinkMin*2 {
		t.Fatalf("slot with 3 keys keeps a capacity of %d", c)
	}
	checkAll(t, st)
}

// populate fills db 0 with n keys the way DEBUG POPULATE does.
func populate(st *Store, n int) {
	db := st.DBs[0]
	var kb, vb []byte
	for i := 0; i < n; i++ {
		kb = strconv.AppendInt(append(kb[:0], "key:"...), int64(i), 10)
		vb = strconv.AppendInt(append(vb[:0], "value:"...), int64(i), 10)
		db.SetString(kb, vb, false)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkSlotIndexMemory reports the heap a 1M-key keyspace takes with
// and without the slot index, and the index's overhead per key. Run it
// alone: go test ./store -run XXX -bench SlotIndexMemory -benchtime 1x
func BenchmarkSlotIndexMemory(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		base := heapInUse()
		off := New(1)
		populate(off, n)
		offBytes := heapInUse() - base
		runtime.KeepAlive(off)
		off = nil

		base = heapInUse()
		on := New(1)
		on.EnableSlotIndex()
		populate(on, n)
		onBytes := heapInUse() - base
		checkSlotIndex(b, on.DBs[0])
		runtime.KeepAlive(on)

		b.ReportMetric(float64(offBytes)/n, "B/key-off")
		b.ReportMetric(float64(onBytes)/n, "B/key-on")
		b.ReportMetric(float64(int64(onBytes)-int64(offBytes))/n, "B/key-index")
	}
}

// The SET/GET/DEL micro-benchmarks run the store's own write and read
// paths on a 100k-key database with the index off and on.
func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
	}
	return keys
}

func benchDB(indexed bool, keys [][]byte) *DB {
	st := New(1)
	if indexed {
		st.EnableSlotIndex()
	}
	for _, k := range keys {
		st.DBs[0].SetString(k, []byte("value"), false)
	}
	return st.DBs[0]
}

func benchModes(b *testing.B, fn func(b *testing.B, db *DB, keys [][]byte)) {
	keys := benchKeys(100_000)
	for _, mode := range []struct {
		name string
		on   bool
	}{{"off", false}, {"on", true}} {
		b.Run(mode.name, func(b *testing.B) {
			db := benchDB(mode.on, keys)
			b.ReportAllocs()
			b.ResetTimer()
			fn(b, db, keys)
		})
	}
}

// BenchmarkDBSetOverwrite is SET of an existing key.
func BenchmarkDBSetOverwrite(b *testing.B) {
	benchModes(b, func(b *testing.B, db *DB, keys [][]byte) {
		v := []byte("other")
		for i := 0; i < b.N; i++ {
			db.SetString(keys[i%len(keys)], v, false)
		}
	})
}

// BenchmarkDBGet is a GET's lookup.
func BenchmarkDBGet(b *testing.B) {
	benchModes(b, func(b *testing.B, db *DB, keys [][]byte) {
		for i := 0; i < b.N; i++ {
			if db.Lookup(keys[i%len(keys)], 0) == nil {
				b.Fatal("missing")
			}
		}
	})
}

// BenchmarkDBDelSet deletes a key and creates it again: both paths that
// change the index.
func BenchmarkDBDelSet(b *testing.B) {
	benchModes(b, func(b *testing.B, db *DB, keys [][]byte) {
		v := []byte("value")
		for i := 0; i < b.N; i++ {
			k := keys[i%len(keys)]
			db.Delete(string(k))
			db.SetString(k, v, false)
		}
	})
}

// BenchmarkKeysInSlot lists 10 keys of a slot holding 100 or 100k keys
// (hash tags): the cost follows count, not the slot's size.
func BenchmarkKeysInSlot(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			st := New(1)
			st.EnableSlotIndex()
			for i := 0; i < n; i++ {
				st.DBs[0].SetString([]byte("{tag}"+strconv.Itoa(i)), nil, false)
			}
			s := slots.KeySlotString("tag")
			buf := make([]string, 0, 10)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				buf = st.DBs[0].AppendKeysInSlot(buf[:0], s, 10)
				if len(buf) != 10 || st.DBs[0].CountKeysInSlot(s) != n {
					b.Fatal("wrong listing")
				}
			}
		})
	}
}
