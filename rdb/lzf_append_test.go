package rdb

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"testing"
)

// appendStr's in-place LZF form (compressed after the buffer's content,
// then moved right by the header) reads back as the same string through
// the reader, after a prefix of any length, for strings and []byte, for
// sizes on both sides of the hash table's growth steps; the prefix is
// left intact.
func TestAppendStrLZFReadsBack(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 400; i++ {
		n := 21 + r.IntN(20000)
		if i%2 == 0 {
			n = 21 + r.IntN(300)
		}
		p := make([]byte, n)
		alpha := 1 << r.IntN(7)
		for k := range p {
			p[k] = 'a' + byte(r.IntN(alpha))
		}
		prefix := bytes.Repeat([]byte{0xEE}, r.IntN(100))
		var b []byte
		if i%3 == 0 {
			b = appendStr(append([]byte(nil), prefix...), string(p), true)
		} else {
			b = appendStr(append([]byte(nil), prefix...), p, true)
		}
		if !bytes.Equal(b[:len(prefix)], prefix) {
			t.Fatalf("input %d: prefix overwritten", i)
		}
		s := &src{r: bufio.NewReader(bytes.NewReader(b[len(prefix):]))}
		got, err := s.str("value")
		if err != nil || !bytes.Equal(got, p) {
			t.Fatalf("input %d (%d bytes, alphabet %d): read back err %v, equal %v", i, n, alpha, err, bytes.Equal(got, p))
		}
		if alpha <= 4 && n > 100 && b[len(prefix)] != 0xC0|encLZF {
			t.Fatalf("input %d: %d bytes of a %d-letter alphabet not compressed", i, n, alpha)
		}
	}
}
