package script

import (
	"testing"

	"github.com/skiffdb/skiff/internal/resp"
)

// BenchmarkExecGetSet is the engine's share of an EVALSHA of a GET plus
// a SET: the commands themselves answer from a fake caller.
func BenchmarkExecGetSet(b *testing.B) {
	e := NewEval(nil)
	s, err := e.Load([]byte("redis.call('get', KEYS[1]); return redis.call('set', KEYS[1], ARGV[1])"))
	if err != nil {
		b.Fatal(err)
	}
	c := &fakeCaller{replies: map[string]string{"get": "$3\r\nbar\r\n", "set": "+OK\r\n"}}
	keys, args := [][]byte{[]byte("key:1")}, [][]byte{[]byte("xxx")}
	w := &resp.Writer{Proto: 2}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.calls = c.calls[:0]
		w.B = w.B[:0]
		run := NewRun(c, s.SHA, true)
		e.Exec(s, run, keys, args, w)
	}
}
