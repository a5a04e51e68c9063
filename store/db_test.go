package store

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// checkVolatile verifies the volatile index against the keyspace: it
// holds exactly the keys with a TTL, each knowing its own position.
func checkVolatile(t *testing.T, db *DB) {
	t.Helper()
	withTTL := 0
	db.Dict().Each(func(e *Entry) bool {
		if e.Val.Expire != 0 {
			withTTL++
			i := int(e.Val.vol) - 1
			if i < 0 || i >= len(db.volatile) || db.volatile[i] != e {
				t.Fatalf("key %s has a TTL but index position %d is wrong", e.Key, i)
			}
		} else if e.Val.vol != 0 {
			t.Fatalf("key %s has no TTL but is indexed at %d", e.Key, e.Val.vol)
		}
		return true
	})
	if withTTL != db.Expires() {
		t.Fatalf("%d keys have a TTL, the index holds %d", withTTL, db.Expires())
	}
}

func TestVolatileIndexFollowsRandomOperations(t *testing.T) {
	s := New(1)
	db := s.DBs[0]
	r := rand.New(rand.NewPCG(1, 2))
	const far = int64(1) << 50 // far future: nothing expires here
	for i := 0; i < 20000; i++ {
		k := []byte("k" + strconv.Itoa(r.IntN(300)))
		switch r.IntN(6) {
		case 0:
			db.SetString(k, []byte("v"), false)
		case 1:
			db.SetString(k, []byte("v"), true)
		case 2:
			if e := db.Lookup(k, 0); e != nil {
				db.SetExpire(e, far+int64(r.IntN(1000)))
			}
		case 3:
			if e := db.Lookup(k, 0); e != nil {
				db.Persist(e)
			}
		case 4:
			db.Delete(string(k))
		case 5:
			if e := db.Lookup(k, 0); e != nil {
				db.SetExpire(e, 0)
			}
		}
		if i%500 == 0 {
			checkVolatile(t, db)
		}
	}
	checkVolatile(t, db)
}

func TestSetValueKeepTTL(t *testing.T) {
	db := New(1).DBs[0]
	e := db.SetString([]byte("k"), []byte("a"), false)
	db.SetExpire(e, 5000)
	db.SetString([]byte("k"), []byte("b"), true)
	if e := db.Lookup([]byte("k"), 0); e == nil || e.Val.Expire != 5000 || string(e.Val.Str) != "b" {
		t.Fatalf("KEEPTTL overwrite lost the TTL or value: %+v", e)
	}
	db.SetString([]byte("k"), []byte("c"), false)
	if e := db.Lookup([]byte("k"), 0); e == nil || e.Val.Expire != 0 {
		t.Fatalf("plain overwrite kept the TTL: %+v", e)
	}
	checkVolatile(t, db)
}

func TestLazyExpiry(t *testing.T) {
	s := New(1)
	db := s.DBs[0]
	var expired []string
	s.OnExpire = func(d *DB, key string) {
		if d != db {
			t.Fatalf("OnExpire for the wrong database")
		}
		expired = append(expired, key)
	}
	e := db.SetString([]byte("k"), []byte("v"), false)
	db.SetExpire(e, 1000)
	// Like Redis, the key lives through its expire millisecond.
	if db.Lookup([]byte("k"), 1000) == nil {
		t.Fatal("key expired at its expire time instead of after it")
	}
	s.NoLazyExpire = true
	if db.Lookup([]byte("k"), 1001) != nil {
		t.Fatal("a replica-style lookup returned an expired key")
	}
	if db.Len() != 1 || s.ExpiredKeys != 0 {
		t.Fatalf("NoLazyExpire reclaimed the key (len %d, expired %d)", db.Len(), s.ExpiredKeys)
	}
	s.NoLazyExpire = false
	if db.Lookup([]byte("k"), 1001) != nil {
		t.Fatal("lookup after the expiry instant returned the key")
	}
	if db.Len() != 0 || db.Expires() != 0 || s.ExpiredKeys != 1 || len(expired) != 1 || expired[0] != "k" {
		t.Fatalf("after lazy expiry: len %d expires %d counted %d hooks %v", db.Len(), db.Expires(), s.ExpiredKeys, expired)
	}
}

func TestActiveExpireReclaimsOnlyExpired(t *testing.T) {
	s := New(1)
	db := s.DBs[0]
	hooks := 0
	s.OnExpire = func(*DB, string) { hooks++ }
	const dead, live = 3000, 500
	for i := 0; i < dead; i++ {
		e := db.SetString([]byte("dead"+strconv.Itoa(i)), []byte("v"), false)
		db.SetExpire(e, 100)
	}
	for i := 0; i < live; i++ {
		e := db.SetString([]byte("live"+strconv.Itoa(i)), []byte("v"), false)
		db.SetExpire(e, 1_000_000)
	}
	for i := 0; i < 100; i++ {
		db.SetString([]byte("plain"+strconv.Itoa(i)), []byte("v"), false)
	}
	now := int64(500)
	// Each round stops once a sample is mostly live, so it takes several
	// rounds (cron ticks) to get everything; bound them.
	for round := 0; round < 1000 && db.Len() > live+100; round++ {
		db.ActiveExpire(now, time.Now().Add(time.Second))
	}
	if db.Len() > live+100+dead/10 {
		t.Fatalf("active expiry left %d keys, want about %d", db.Len(), live+100)
	}
	if int(s.ExpiredKeys) != dead-(db.Len()-live-100) || hooks != int(s.ExpiredKeys) {
		t.Fatalf("counted %d expired, %d hooks, for %d reclaimed", s.ExpiredKeys, hooks, dead-(db.Len()-live-100))
	}
	for i := 0; i < live; i++ {
		if db.Lookup([]byte("live"+strconv.Itoa(i)), now) == nil {
			t.Fatalf("live%d was reclaimed before its time", i)
		}
	}
	if db.AvgTTL <= 0 {
		t.Fatalf("avg ttl %d after sampling live keys", db.AvgTTL)
	}
	checkVolatile(t, db)
}

func TestRandomKey(t *testing.T) {
	s := New(1)
	db := s.DBs[0]
	if _, ok := db.RandomKey(0); ok {
		t.Fatal("RandomKey on an empty database")
	}
	for i := 0; i < 10; i++ {
		e := db.SetString([]byte("old"+strconv.Itoa(i)), []byte("v"), false)
		db.SetExpire(e, 10)
	}
	db.SetString([]byte("alive"), []byte("v"), false)
	for i := 0; i < 50; i++ {
		k, ok := db.RandomKey(100)
		if !ok || k != "alive" {
			t.Fatalf("RandomKey returned %q %v, want the only live key", k, ok)
		}
	}
	db.Delete("alive")
	for i := 0; i < 10 && db.Len() > 0; i++ {
		db.RandomKey(100)
	}
	if k, ok := db.RandomKey(100); ok {
		t.Fatalf("RandomKey returned %q when every key has expired", k)
	}
}

func TestSwapAndFlush(t *testing.T) {
	s := New(2)
	a, b := s.DBs[0], s.DBs[1]
	e := a.SetString([]byte("x"), []byte("1"), false)
	a.SetExpire(e, 1<<50)
	b.SetString([]byte("y"), []byte("2"), false)
	a.Swap(b)
	if a.Lookup([]byte("y"), 0) == nil || b.Lookup([]byte("x"), 0) == nil || a.Expires() != 0 || b.Expires() != 1 {
		t.Fatal("Swap did not exchange keys and TTL indexes")
	}
	if a.ID != 0 || b.ID != 1 {
		t.Fatal("Swap exchanged database ids")
	}
	b.Flush()
	if b.Len() != 0 || b.Expires() != 0 || b.Lookup([]byte("x"), 0) != nil {
		t.Fatal("Flush left keys behind")
	}
}

type fakeColl struct{ items []string }

func (f *fakeColl) Len() int           { return len(f.items) }
func (f *fakeColl) Encoding() string   { return "fake" }
func (f *fakeColl) MemoryUsage() int64 { return 0 }
func (f *fakeColl) Clone() Collection {
	return &fakeColl{items: append([]string(nil), f.items...)}
}

func TestCloneIsDeep(t *testing.T) {
	o := Object{Str: []byte("hello"), Type: TypeString, Enc: EncEmbstr, Expire: 99, vol: 3}
	c, err := o.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.Str[0] = 'J'
	if string(o.Str) != "hello" || !bytes.Equal(c.Str, []byte("Jello")) || c.Enc != EncEmbstr {
		t.Fatalf("string clone shares memory or lost its encoding: %q %q", o.Str, c.Str)
	}
	if c.Expire != 0 || c.vol != 0 {
		t.Fatal("clone carried the TTL or index position")
	}
	empty := Object{Str: []byte{}, Type: TypeString}
	if c, _ := empty.Clone(); c.Str == nil {
		t.Fatal("clone of an empty string became nil")
	}
	src := &fakeColl{items: []string{"a", "b"}}
	o = Object{Val: src, Type: TypeList}
	c, err = o.Clone()
	if err != nil {
		t.Fatal(err)
	}
	cc := c.Val.(*fakeColl)
	cc.items[0] = "z"
	if src.items[0] != "a" || cc == src {
		t.Fatal("collection clone shares memory with the original")
	}
	if _, err := (&Object{Val: 42, Type: TypeList}).Clone(); err == nil {
		t.Fatal("clone of a value that is not a Collection succeeded")
	}
}
