package store

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

// collectSink records what a snapshot delivers, failing on a key
// delivered twice in one database.
type collectSink struct {
	t     *testing.T
	cur   int
	dbs   map[int]map[string]string
	sizes map[int]int
}

func newCollectSink(t *testing.T) *collectSink {
	return &collectSink{t: t, cur: -1, dbs: map[int]map[string]string{}, sizes: map[int]int{}}
}

func (s *collectSink) SelectDB(db, size, expires int) error {
	if _, dup := s.dbs[db]; dup {
		s.t.Errorf("database %d selected twice", db)
	}
	s.cur = db
	s.dbs[db] = map[string]string{}
	s.sizes[db] = size
	return nil
}

func (s *collectSink) Entry(key string, obj *Object) error {
	if s.cur < 0 {
		s.t.Fatalf("entry %q before SelectDB", key)
	}
	if _, dup := s.dbs[s.cur][key]; dup {
		s.t.Errorf("db %d: key %q delivered twice", s.cur, key)
	}
	s.dbs[s.cur][key] = render(obj)
	return nil
}

// render is a comparable description of a value and its TTL.
func render(o *Object) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t%d e%d ", o.Type, o.Expire)
	switch v := o.Val.(type) {
	case nil:
		b.Write(o.Str)
	case *Hash:
		var kv []string
		v.Each(func(f, val string) bool { kv = append(kv, f+"="+val); return true })
		sort.Strings(kv)
		b.WriteString(strings.Join(kv, ","))
	default:
		fmt.Fprintf(&b, "%T", v)
	}
	return b.String()
}

// dump is the model: every database's keys rendered, as they are now.
func dump(st *Store) map[int]map[string]string {
	out := map[int]map[string]string{}
	for _, db := range st.DBs {
		if db.Len() == 0 {
			continue
		}
		m := map[string]string{}
		db.Dict().Each(func(e *Entry) bool { m[e.Key] = render(&e.Val); return true })
		out[db.ID] = m
	}
	return out
}

func diffDumps(t *testing.T, want, got map[int]map[string]string) {
	t.Helper()
	for db, wm := range want {
		gm := got[db]
		for k, v := range wm {
			if gv, ok := gm[k]; !ok {
				t.Errorf("db %d: key %q missing from snapshot", db, k)
			} else if gv != v {
				t.Errorf("db %d: key %q: snapshot has %q, want %q", db, k, gv, v)
			}
		}
		for k := range gm {
			if _, ok := wm[k]; !ok {
				t.Errorf("db %d: key %q in snapshot but created after it began", db, k)
			}
		}
	}
	for db := range got {
		if _, ok := want[db]; !ok {
			t.Errorf("db %d in snapshot but was empty when it began", db)
		}
	}
}

// mutate applies one random write through the store's write paths.
func mutate(r *rand.Rand, st *Store, now int64) {
	db := st.DBs[r.IntN(len(st.DBs))]
	key := []byte(fmt.Sprintf("k%d", r.IntN(3000)))
	switch op := r.IntN(100); {
	case op < 25:
		db.SetString(key, []byte(fmt.Sprintf("v%d", r.Int())), r.IntN(2) == 0)
	case op < 40:
		db.Delete(string(key))
	case op < 50:
		// In-place string mutation through a write lookup (APPEND, SETRANGE).
		prev := st.SetWriting(true)
		if e := db.Lookup(key, now); e != nil && e.Val.Type == TypeString && len(e.Val.Str) > 0 {
			e.Val.Str[0] ^= 1
			e.Val.Str = append(e.Val.Str, 'x')
		}
		st.SetWriting(prev)
	case op < 60:
		// In-place collection mutation (HSET).
		prev := st.SetWriting(true)
		e := db.Lookup(key, now)
		if e == nil {
			e, _ = db.Put(key)
			e.Val = Object{Type: TypeHash, Val: NewHash()} // replaces the stamp: the fresh set covers it
		}
		if h, ok := e.Val.Val.(*Hash); ok {
			h.Set([]byte(fmt.Sprintf("f%d", r.IntN(10))), []byte(fmt.Sprint(r.Int())), 128, 64)
		}
		st.SetWriting(prev)
	case op < 70:
		if e := db.Peek(key); e != nil {
			db.SetExpire(e, now+int64(r.IntN(100000)+1000))
		}
	case op < 75:
		if e := db.Peek(key); e != nil {
			db.Persist(e)
		}
	case op < 80:
		// Modification after an explicit hook (a Peek-based mutator).
		if e := db.Peek(key); e != nil && e.Val.Type == TypeString {
			db.WillModify(e)
			e.Val.Str = []byte("peeked")
		}
	case op < 81:
		st.DBs[0].Swap(st.DBs[1+r.IntN(len(st.DBs)-1)])
	case op == 81 && r.IntN(20) == 0:
		db.Flush()
	default:
		// Rename-like: take the value out and store it under a new name.
		if e := db.Peek(key); e != nil {
			prev := st.SetWriting(true)
			e = db.Lookup(key, now)
			st.SetWriting(prev)
			obj := e.Val
			db.Delete(string(key))
			db.SetValue([]byte(string(key)+"r"), obj, false)
		}
	}
}

func TestSnapshotIsPointInTime(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 99))
			st := New(3)
			now := time.Now().UnixMilli()
			for i := 0; i < 4000; i++ {
				mutate(r, st, now)
			}
			want := dump(st)
			sn, err := st.BeginSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.BeginSnapshot(); err != ErrSnapshotRunning {
				t.Fatalf("second BeginSnapshot: %v, want ErrSnapshotRunning", err)
			}
			sink := newCollectSink(t)
			steps := 0
			for done := false; !done; steps++ {
				if steps > 100000 {
					t.Fatal("snapshot did not finish")
				}
				for i := r.IntN(40); i > 0; i-- {
					mutate(r, st, now)
				}
				done, err = sn.Step(sink, 1+r.IntN(50), time.Second)
				if err != nil {
					t.Fatal(err)
				}
			}
			sn.Close()
			if st.SnapshotActive() {
				t.Fatal("snapshot still active after Close")
			}
			diffDumps(t, want, sink.dbs)
			for db, n := range sink.sizes {
				if n != len(want[db]) {
					t.Errorf("db %d: size hint %d, want %d", db, n, len(want[db]))
				}
			}
			// A new snapshot after heavy writing again matches the keyspace.
			want = dump(st)
			sn, err = st.BeginSnapshot()
			if err != nil {
				t.Fatal(err)
			}
			sink = newCollectSink(t)
			for done := false; !done; {
				mutate(r, st, now)
				if done, err = sn.Step(sink, 100, time.Second); err != nil {
					t.Fatal(err)
				}
			}
			sn.Close()
			diffDumps(t, want, sink.dbs)
		})
	}
}

// TestSnapshotStepBounded checks that one step delivers no more than the
// keys asked for, so the data lock is held briefly.
func TestSnapshotStepBounded(t *testing.T) {
	st := New(1)
	for i := 0; i < 10000; i++ {
		st.DBs[0].SetString([]byte(fmt.Sprint(i)), []byte("v"), false)
	}
	sn, err := st.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer sn.Close()
	sink := newCollectSink(t)
	steps := 0
	for done := false; !done; steps++ {
		before := len(sink.dbs[0])
		if done, err = sn.Step(sink, 100, time.Second); err != nil {
			t.Fatal(err)
		}
		// A bucket is delivered whole, so allow a short chain over the limit.
		if got := len(sink.dbs[0]) - before; got > 120 {
			t.Fatalf("step delivered %d keys, asked for 100", got)
		}
		if steps > 1000 {
			t.Fatal("too many steps")
		}
	}
	if len(sink.dbs[0]) != 10000 || sn.Processed != 10000 || sn.Total != 10000 {
		t.Fatalf("delivered %d keys (processed %d of %d), want 10000", len(sink.dbs[0]), sn.Processed, sn.Total)
	}
}

// TestSnapshotWritesAfterVisit checks that writes to keys the snapshot
// has already delivered copy nothing.
func TestSnapshotWritesAfterVisit(t *testing.T) {
	st := New(1)
	db := st.DBs[0]
	db.SetString([]byte("a"), []byte("1"), false)
	sn, _ := st.BeginSnapshot()
	sink := newCollectSink(t)
	for done := false; !done; {
		var err error
		if done, err = sn.Step(sink, 10, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	db.SetString([]byte("a"), []byte("2"), false)
	db.Delete("a")
	if sn.CopiedKeys != 0 {
		t.Fatalf("copied %d keys after they were delivered", sn.CopiedKeys)
	}
	sn.Close()
	if got := sink.dbs[0]["a"]; !strings.HasSuffix(got, " 1") {
		t.Fatalf("snapshot has %q for a", got)
	}
}
