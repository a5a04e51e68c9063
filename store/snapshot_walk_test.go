package store

import (
	"fmt"
	"testing"
	"time"
)

// A snapshot begun while the table is half rehashed, with enough inserts
// during the walk to start another resize, delivers every key that
// existed at the start exactly once (the sink fails on a duplicate), none
// of the new ones, and gives the table back its rehashing at the end.
func TestSnapshotWalkAcrossRehashAndResize(t *testing.T) {
	st := New(1)
	db := st.DBs[0]
	for i := 0; i < 1025; i++ { // one over a power of two: a resize starts
		db.SetString([]byte(fmt.Sprint("old", i)), []byte("v"), false)
	}
	if !db.keys.rehashing() {
		t.Fatal("setup: the table is not rehashing")
	}
	want := dump(st)
	sn, err := st.BeginSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := newCollectSink(t)
	added := 0
	for done, steps := false, 0; !done; steps++ {
		if steps > 10000 {
			t.Fatal("snapshot did not finish")
		}
		for k := 0; k < 40; k++ {
			db.SetString([]byte(fmt.Sprint("new", added)), []byte("n"), false)
			added++
		}
		if steps%3 == 0 {
			db.Delete(fmt.Sprint("old", steps))
		}
		if done, err = sn.Step(sink, 50, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	sn.Close()
	diffDumps(t, want, sink.dbs)
	if db.keys.pauseRehash != 0 {
		t.Fatalf("rehashing still paused (%d) after the snapshot", db.keys.pauseRehash)
	}
	// An abandoned snapshot resumes rehashing too.
	sn, _ = st.BeginSnapshot()
	sn.Step(newCollectSink(t), 10, time.Second)
	sn.Close()
	if db.keys.pauseRehash != 0 {
		t.Fatalf("rehashing still paused (%d) after an abandoned snapshot", db.keys.pauseRehash)
	}
}
