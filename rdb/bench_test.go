package rdb

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/skiffdb/skiff/store"
)

// BenchmarkWriteStrings measures writing string keys as SAVE does.
func BenchmarkWriteStrings(b *testing.B) {
	objs := make([]store.Object, 1000)
	keys := make([]string, len(objs))
	for i := range objs {
		keys[i] = "key:" + strconv.Itoa(i)
		v := []byte("value-" + strconv.Itoa(i*7919) + "-padding-padding")
		objs[i] = store.Object{Type: store.TypeString, Str: v}
	}
	b.ReportAllocs()
	b.ResetTimer()
	w := NewWriter(io.Discard)
	for i := 0; i < b.N; i++ {
		k := i % len(objs)
		if err := w.Entry(keys[k], &objs[k]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadStrings measures loading string keys.
func BenchmarkLoadStrings(b *testing.B) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Header(nil)
	w.SelectDB(0, 0, 0)
	for i := 0; i < 100000; i++ {
		o := store.Object{Type: store.TypeString, Str: []byte("value-" + strconv.Itoa(i*7919) + "-padding-padding")}
		w.Entry("key:"+strconv.Itoa(i), &o)
	}
	w.Finish()
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		if _, err := Load(bytes.NewReader(data), func(int, string, *store.Object) error { n++; return nil }); err != nil || n != 100000 {
			b.Fatal(err, n)
		}
	}
}
