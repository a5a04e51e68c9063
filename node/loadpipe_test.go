package node

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

func pipeTestRDB(t *testing.T, keys int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := rdb.NewWriter(&buf)
	if err := w.Header(rdb.DefaultAux()); err != nil {
		t.Fatal(err)
	}
	if err := w.SelectDB(1, keys, 0); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < keys; i++ {
		obj := store.Object{Str: []byte(fmt.Sprint("value-", i)), Type: store.TypeString}
		if i%7 == 0 {
			obj.Expire = 4102444800000 + int64(i)
		}
		if err := w.Entry(fmt.Sprint("key:", i), &obj); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// The two-goroutine load inserts every key in file order with its TTL,
// runs the entry hook once per key with growing offsets, and sizes the
// table from RESIZEDB; an error of the hook ends the load with that
// error; a truncated file ends it with the decoder's error.
func TestLoadRDBPipelined(t *testing.T) {
	const keys = 3000
	data := pipeTestRDB(t, keys)
	fresh := store.New(2)
	var order []string
	insert := func(db int, key string, obj *store.Object) {
		if db != 1 {
			t.Errorf("key %q in db %d", key, db)
		}
		d := fresh.DBs[db]
		exp := obj.Expire
		e := d.SetValueString(key, *obj, false)
		if exp != 0 {
			d.SetExpire(e, exp)
		}
		order = append(order, key)
	}
	entries, last := 0, int64(0)
	entry := func(off int64) error {
		if off <= last {
			t.Errorf("entry offset %d after %d", off, last)
		}
		last = off
		entries++
		if entries != len(order) {
			t.Errorf("entry hook %d after %d keys", entries, len(order))
		}
		return nil
	}
	if err := loadRDBPipelined(bytes.NewReader(data), rdb.Hooks{}, 2, fresh, insert, entry); err != nil {
		t.Fatal(err)
	}
	if len(order) != keys || entries != keys || fresh.DBs[1].Len() != keys {
		t.Fatalf("inserted %d, entries %d, db size %d; want %d", len(order), entries, fresh.DBs[1].Len(), keys)
	}
	for i, k := range order {
		if k != fmt.Sprint("key:", i) {
			t.Fatalf("key %d is %q: not in file order", i, k)
		}
	}
	if fresh.DBs[1].Expires() != (keys+6)/7 {
		t.Fatalf("%d keys with a TTL, want %d", fresh.DBs[1].Expires(), (keys+6)/7)
	}

	stop := errors.New("stop here")
	n := 0
	err := loadRDBPipelined(bytes.NewReader(data), rdb.Hooks{}, 2, store.New(2),
		func(int, string, *store.Object) {}, func(int64) error {
			if n++; n == 500 {
				return stop
			}
			return nil
		})
	if err != stop || n != 500 {
		t.Fatalf("hook error: load returned %v after %d entries, want %v after 500", err, n, stop)
	}

	err = loadRDBPipelined(bytes.NewReader(data[:len(data)/2]), rdb.Hooks{}, 2, store.New(2),
		func(int, string, *store.Object) {}, func(int64) error { return nil })
	if err == nil {
		t.Fatal("a truncated file loaded without error")
	}
	err = loadRDBPipelined(bytes.NewReader(data), rdb.Hooks{}, 1, store.New(1),
		func(int, string, *store.Object) {}, func(int64) error { return nil })
	if err == nil {
		t.Fatal("a key in database 1 of 1 loaded without error")
	}
}
