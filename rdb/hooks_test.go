package rdb

import (
	"bytes"
	"errors"
	"testing"

	"github.com/skiffdb/skiff/store"
)

// TestLoadHooks: Aux sees every AUX field as it is read, Entry runs after
// every key entry, an empty collection (skipped) included, with the
// offset just past it; an error from Entry stops the load as it is.
func TestLoadHooks(t *testing.T) {
	file := []byte("REDIS0010" +
		"\xfa\x08used-mem\x041234" +
		"\x00\x02k1\x01v" + // string k1
		"\x02\x01e\x00" + // empty set: skipped
		"\x00\x02k2\x01v" + // string k2
		"\xff\x00\x00\x00\x00\x00\x00\x00\x00") // no checksum
	var aux []string
	var offs []int64
	var keys []string
	hooks := Hooks{
		Aux:   func(k, v string) { aux = append(aux, k+"="+v) },
		Entry: func(off int64) error { offs = append(offs, off); return nil },
	}
	_, err := LoadHooks(bytes.NewReader(file), DefaultLimits, hooks, func(db int, key string, obj *store.Object) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(aux) != 1 || aux[0] != "used-mem=1234" {
		t.Errorf("Aux calls %q", aux)
	}
	if len(keys) != 2 {
		t.Errorf("keys %q", keys)
	}
	k1End := int64(len("REDIS0010\xfa\x08used-mem\x041234\x00\x02k1\x01v"))
	want := []int64{k1End, k1End + 4, k1End + 10}
	if len(offs) != 3 || offs[0] != want[0] || offs[1] != want[1] || offs[2] != want[2] {
		t.Errorf("Entry offsets %v, want %v", offs, want)
	}
	stop := errors.New("stop")
	n := 0
	_, err = LoadHooks(bytes.NewReader(file), DefaultLimits, Hooks{Entry: func(int64) error { n++; return stop }},
		func(int, string, *store.Object) error { return nil })
	if err != stop || n != 1 {
		t.Errorf("Entry error: load returned %v after %d entries", err, n)
	}
}
