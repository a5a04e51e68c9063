package resp

import (
	"bufio"
	"reflect"
	"strings"
	"testing"
)

func TestReadReply(t *testing.T) {
	lim := ReplyLimits{MaxBulk: 16, MaxElems: 8, MaxDepth: 2}
	cases := []struct {
		in   string
		want any
		bad  bool
	}{
		{"+OK\r\n", "OK", false},
		{"-ERR no\r\n", ReplyError("ERR no"), false},
		{":-12\r\n", int64(-12), false},
		{"$3\r\nfoo\r\n", "foo", false},
		{"$-1\r\n", nil, false},
		{"*-1\r\n", nil, false},
		{"*2\r\n$1\r\na\r\n:1\r\n", []any{"a", int64(1)}, false},
		{"%1\r\n+k\r\n+v\r\n", []any{"k", "v"}, false},
		{"#t\r\n", true, false},
		{"_\r\n", nil, false},
		{"!5\r\nERR x\r\n", ReplyError("ERR x"), false},
		{"$17\r\n", nil, true},                  // over MaxBulk
		{"*9\r\n", nil, true},                   // over MaxElems
		{"*1\r\n*1\r\n*1\r\n*0\r\n", nil, true}, // too deep
		{"?x\r\n", nil, true},                   // unknown type
		{":x\r\n", nil, true},                   // bad integer
		{"+OK\n", nil, true},                    // no CR
		{"$3\r\nfo", nil, true},                 // truncated
	}
	for _, c := range cases {
		got, err := ReadReply(bufio.NewReader(strings.NewReader(c.in)), lim)
		if c.bad {
			if err == nil {
				t.Errorf("%q: no error, got %#v", c.in, got)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: got %#v, %v; want %#v", c.in, got, err, c.want)
		}
	}
}
