package rdb

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/skiffdb/skiff/store"
)

// FuzzLoad feeds arbitrary files to the loader: it must never panic, and
// whatever it accepts must survive a write and a second load unchanged.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.rdb")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, fx := range legacyFixtures() {
		f.Add(fx.file.bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []kv
		_, err := Load(bytes.NewReader(data), func(db int, key string, o *store.Object) error {
			entries = append(entries, kv{db, key, o})
			return nil
		})
		if err != nil {
			return
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.Header(nil); err != nil {
			t.Fatal(err)
		}
		cur := -1
		for _, e := range entries {
			if e.db != cur {
				if err := w.SelectDB(e.db, 0, 0); err != nil {
					t.Fatal(err)
				}
				cur = e.db
			}
			if err := w.Entry(e.key, e.obj); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Finish(); err != nil {
			t.Fatal(err)
		}
		i := 0
		_, err = Load(&buf, func(db int, key string, o *store.Object) error {
			want := entries[i]
			i++
			if db != want.db || key != want.key || describe(o) != describe(want.obj) {
				t.Fatalf("reloaded db%d %q %s, want db%d %q %s", db, key, describe(o), want.db, want.key, describe(want.obj))
			}
			return nil
		})
		if err != nil || i != len(entries) {
			t.Fatalf("reload: %d of %d keys, err %v", i, len(entries), err)
		}
	})
}

// FuzzDecodeValue feeds arbitrary DUMP payloads (checksums not enforced,
// so the fuzzer reaches the decoders) and checks what decodes re-encodes
// to the same value.
func FuzzDecodeValue(f *testing.F) {
	for _, l := range readDumpLines(f) {
		f.Add(l.payload)
	}
	// The values of the generated older-format files, as DUMP payloads.
	for _, fx := range legacyFixtures() {
		for _, p := range fx.file.dumpPayloads() {
			f.Add(p)
		}
	}
	f.Fuzz(decodeValueProperty)
}

func decodeValueProperty(t *testing.T, payload []byte) {
	{
		o, err := DecodeValueLimits(payload, DefaultLimits, true)
		if err != nil {
			return
		}
		p, err := EncodeValue(o)
		if err != nil {
			t.Fatalf("encode of a decoded value: %v", err)
		}
		back, err := DecodeValue(p)
		if err != nil {
			t.Fatalf("decode of our own payload: %v", err)
		}
		if describe(back) != describe(o) {
			t.Fatalf("round trip changed %s to %s", describe(o), describe(back))
		}
	}
}
