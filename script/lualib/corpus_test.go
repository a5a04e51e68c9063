package lualib

import (
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
)

// corpusGen builds random Lua values as source text. safe tracks whether
// every table in the value has at most one key outside its array part, i.e.
// whether encodings are independent of table iteration order.
type corpusGen struct {
	r    *rand.Rand
	safe bool
}

var corpusNumbers = []float64{0, 1, -1, 127, 128, 255, 256, 65535, 65536,
	2147483647, 2147483648, 4294967295, 4294967296, -31, -32, -33, -127, -128, -129,
	-32767, -32768, -32769, -2147483648, -2147483649, 9007199254740992,
	9223372036854775807, -9223372036854775808, 18446744073709551616,
	0.5, 0.1, -2.75, 1e-300, 5e-324, 1e300, 3.4028234663852886e+38, 1.17549435e-38,
	123456789012345678, 1e14, 1e15, 1e16, 0.0001, 0.00001}

func (g *corpusGen) number() string {
	var f float64
	switch g.r.Intn(4) {
	case 0:
		f = corpusNumbers[g.r.Intn(len(corpusNumbers))]
	case 1:
		f = float64(g.r.Intn(400) - 100)
	case 2:
		f = math.Round(g.r.NormFloat64() * math.Pow(10, float64(g.r.Intn(12))))
	default:
		f = g.r.NormFloat64() * math.Pow(10, float64(g.r.Intn(40)-20))
	}
	s := strconv.FormatFloat(f, 'g', 17, 64)
	return "(" + s + ")"
}

var corpusChunks = []string{"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\b", "\f", "\r",
	"\x00", "\x01", "\x1f", "\x7f", "\x80", "\xff", "é", "€", "😀", "{", "}", "[", "]", ":", ","}

func (g *corpusGen) str() string {
	if g.r.Intn(20) == 0 {
		n := []int{31, 32, 255, 256, 65535, 65536}[g.r.Intn(6)]
		// Parenthesised: gopher-lua 1.1.2 wrongly expands a call that ends
		// a table constructor even in a keyed field ({x=f()} sets t[1]).
		return fmt.Sprintf("(string.rep('x', %d))", n)
	}
	var b strings.Builder
	for i, n := 0, g.r.Intn(12); i < n; i++ {
		b.WriteString(corpusChunks[g.r.Intn(len(corpusChunks))])
	}
	return luaQuote(b.String())
}

// luaQuote writes a Lua string literal with decimal escapes for anything
// but letters and digits, so both interpreters read the same bytes.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func (g *corpusGen) value(depth int) string {
	k := g.r.Intn(10)
	if depth >= 5 {
		k = g.r.Intn(4)
	}
	switch k {
	case 0:
		return g.number()
	case 1:
		return g.str()
	case 2:
		return []string{"true", "false"}[g.r.Intn(2)]
	case 3:
		return []string{g.number(), g.str(), "cjson.null"}[g.r.Intn(3)]
	case 4, 5: // array
		n := g.r.Intn(6)
		if g.r.Intn(8) == 0 {
			n = 14 + g.r.Intn(5) // around the fixarray limit
		}
		parts := make([]string, n)
		for i := range parts {
			parts[i] = g.value(depth + 1)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case 6: // string-keyed map
		n := 1 + g.r.Intn(4)
		if n > 1 {
			g.safe = false
		}
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("[%s]=%s", g.str(), g.value(depth+1))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case 7: // sparse array
		g.safe = false
		var parts []string
		idx := 0
		for i, n := 0, 1+g.r.Intn(4); i < n; i++ {
			idx += 1 + g.r.Intn(12)
			parts = append(parts, fmt.Sprintf("[%d]=%s", idx, g.value(depth+1)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case 8: // numeric, non-array keys
		g.safe = false
		keys := []string{"1.5", "-1", "0", "2^31", "0.25", "1e20", "-7.5"}
		var parts []string
		for i, n := 0, 1+g.r.Intn(3); i < n; i++ {
			parts = append(parts, fmt.Sprintf("[%s]=%s", keys[g.r.Intn(len(keys))], g.value(depth+1)))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default: // mixed array and hash parts, possibly with holes
		g.safe = false
		return fmt.Sprintf("{%s, nil, %s, x=%s}", g.value(depth+1), g.value(depth+1), g.value(depth+1))
	}
}

// corpusScript encodes a random value with both libraries, decodes the
// results and returns order-independent summaries (plus the raw encodings
// when they cannot depend on iteration order).
func corpusScript(r *rand.Rand) string {
	g := &corpusGen{r: r, safe: true}
	v := g.value(0)
	raw := "''"
	if g.safe {
		raw = "' ' .. (ok and j or '') .. ' ' .. hex(m)"
	}
	return "local v = " + v + `
local ok, j = pcall(cjson.encode, v)
local m = cmsgpack.pack(v)
local mp = ser(cmsgpack.unpack(m)) .. ' ' .. #m
if not ok then return 'encerr ' .. j .. ' ' .. mp end
local d = cjson.decode(j)
local ok2, j2 = pcall(cjson.encode, d)
return #j .. ' ' .. ser(d) .. ' ' .. tostring(ok2 and #j2) .. ' ' .. mp .. ` + raw
}
