package store_test

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/slots"
	"github.com/skiffdb/skiff/store"
)

// TestSlotIndexRDBRoundTrip saves an indexed keyspace of every type with
// the real RDB writer, loads it back the way the server's loaders do
// (rdb.Load into a fresh store, SetValue + SetExpire, Swap into the live
// one) and checks the index of the result.
func TestSlotIndexRDBRoundTrip(t *testing.T) {
	src := store.New(1)
	src.EnableSlotIndex()
	db := src.DBs[0]
	for i := 0; i < 3000; i++ {
		k := []byte("{u" + strconv.Itoa(i%50) + "}:" + strconv.Itoa(i))
		var e *store.Entry
		switch i % 4 {
		case 0:
			e = db.SetString(k, []byte("v"+strconv.Itoa(i)), false)
		case 1:
			h := store.NewHash()
			h.Set([]byte("f"), []byte("v"), 128, 64)
			e = db.SetValue(k, store.Object{Type: store.TypeHash, Val: h}, false)
		case 2:
			l := store.NewList()
			l.PushBack("x")
			e = db.SetValue(k, store.Object{Type: store.TypeList, Val: l}, false)
		case 3:
			set := store.NewSet([]byte("m"))
			set.Add([]byte("m"), 512)
			e = db.SetValue(k, store.Object{Type: store.TypeSet, Val: set}, false)
		}
		if i%5 == 0 {
			db.SetExpire(e, time.Now().UnixMilli()+1e7)
		}
	}
	var buf bytes.Buffer
	w := rdb.NewWriter(&buf)
	if err := w.Header(nil); err != nil {
		t.Fatal(err)
	}
	sn, err := src.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	for done := false; !done; {
		if done, err = sn.Step(w, 100, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	sn.Close()
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}

	for _, freshIndexed := range []bool{false, true} {
		live := store.New(1)
		live.EnableSlotIndex()
		live.DBs[0].SetString([]byte("stale"), []byte("x"), false)
		fresh := store.New(1)
		if freshIndexed {
			fresh.EnableSlotIndex()
		}
		_, err := rdb.Load(bytes.NewReader(buf.Bytes()), func(n int, key string, obj *store.Object) error {
			d := fresh.DBs[n]
			exp := obj.Expire
			obj.Expire = 0
			e := d.SetValue([]byte(key), *obj, false)
			if exp != 0 {
				d.SetExpire(e, exp)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		live.DBs[0].Swap(fresh.DBs[0])
		if err := store.VerifySlotIndex(live.DBs[0]); err != nil {
			t.Fatal(err)
		}
		if n := live.DBs[0].Len(); n != 3000 {
			t.Fatalf("loaded %d keys, want 3000", n)
		}
		for u := 0; u < 50; u++ {
			s := slots.KeySlotString("u" + strconv.Itoa(u))
			if got, want := live.DBs[0].CountKeysInSlot(s), src.DBs[0].CountKeysInSlot(s); got != want {
				t.Fatalf("slot %d: %d keys after load, %d before", s, got, want)
			}
		}
	}
}
