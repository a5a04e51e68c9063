package strint

import (
	"strconv"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in string
		v  int64
		ok bool
	}{
		{"0", 0, true}, {"-1", -1, true}, {"123", 123, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"18446744073709551616", 0, false}, {"99999999999999999999", 0, false},
		{"", 0, false}, {"-", 0, false}, {"+1", 0, false}, {"01", 0, false},
		{"-0", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1a", 0, false},
	} {
		v, ok := Parse([]byte(tc.in))
		if v != tc.v || ok != tc.ok {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tc.in, v, ok, tc.v, tc.ok)
		}
	}
	for i := int64(-1000); i <= 1000; i++ {
		if v, ok := Parse([]byte(strconv.FormatInt(i, 10))); !ok || v != i {
			t.Fatalf("Parse(%d) = %d, %v", i, v, ok)
		}
	}
}
