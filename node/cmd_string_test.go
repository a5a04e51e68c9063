package node

import (
	"testing"
)

// Expected results were produced by redis-server 7.0.15 (SET k <value>;
// INCRBYFLOAT k <incr>), which computes in x87 long double.
func TestIncrbyfloatMatchesRedis(t *testing.T) {
	const errInf = "ERR increment would produce NaN or Infinity"
	cases := []struct{ value, incr, want string }{
		{"0", "0.1", "0.1"},
		{"0.1", "0.2", "0.3"},
		{"10.50", "0.1", "10.6"},
		{"5.0e3", "2.0e2", "5200"},
		{"1e-20", "0", "0"},
		{"-1e-20", "0", "0"},
		{"1.5", "-1.5", "0"},
		{"12345678901234567890", "1", "12345678901234567891"},
		{"1.23456789012345678901234", "1.1", "2.33456789012345679"},
		{"3", "3.0000000000000000001", "6"},
		{"0", "1e400", "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"},
		{"1e308", "1e308", "199999999999999999993371759311691291321120199694831134415594095989843469737676123744200253843777078640893494450108026446304269499187921167194841628860392837535918200039206381557326219209014213335878306791577877829121087126122536729803237260434173178506889763247582601711514636284849020905456510092687857156096"},
		{"0", "0x1p-3", "0.125"},
		{"0", "1e-4950", "0"},
		{"0", "123456789.123456789", "123456789.12345678899873747"},
		{"-0", "-0", "0"},
		{"17179869184", "1.5", "17179869185.5"},
		{"0", "0.00000000000000001", "0.00000000000000001"},
		{"0", "0.000000000000000005", "0"},
		{"0", "0.000000000000000015", "0.00000000000000002"},
		{"1", "inf", errInf},
		{"1e4932", "1e4932", errInf},
		{"0", ".5", "0.5"},
		{"0", "5.", "5"},
		{"1", "1e-17", "1.00000000000000001"},
		{"0", "2.5e-18", "0"},
		{"100", "-100.0000000001", "-0.0000000001"},
	}
	for _, tc := range cases {
		v, ok1 := parseLongDouble([]byte(tc.value))
		in, ok2 := parseLongDouble([]byte(tc.incr))
		if !ok1 || !ok2 {
			t.Errorf("%s + %s: parse failed (%v, %v)", tc.value, tc.incr, ok1, ok2)
			continue
		}
		sum, ok := addLongDouble(v, in)
		got := errInf
		if ok {
			got = string(formatLongDoubleHuman(sum))
		}
		if got != tc.want {
			t.Errorf("%s + %s = %s, redis says %s", tc.value, tc.incr, got, tc.want)
		}
	}
}

// What strtold-based string2ld accepts and refuses.
func TestParseLongDoubleGrammar(t *testing.T) {
	good := []string{"1", "-1", "+1", "1.", ".5", "1e5", "1E+5", "1e-5", "0x10", "0X1.8p3", "0x.8", "inf", "-INF", "Infinity", "1e-4940", "-0"}
	bad := []string{"", " 1", "1 ", "\t1", "abc", "nan", "-nan", ".", "1e", "1e+", "0x", "0x1p", "1.5.3", "--1", "1e5000", "-1e5000", "1e-5000", "0b101", "1_000", "infinit"}
	for _, s := range good {
		if _, ok := parseLongDouble([]byte(s)); !ok {
			t.Errorf("parseLongDouble(%q) refused; strtold accepts it", s)
		}
	}
	for _, s := range bad {
		if _, ok := parseLongDouble([]byte(s)); ok {
			t.Errorf("parseLongDouble(%q) accepted; Redis refuses it", s)
		}
	}
}
