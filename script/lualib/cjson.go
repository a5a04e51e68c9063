package lualib

import (
	"fmt"
	"math"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// jsonNullMarker is the Value of the userdata standing for cjson.null. In C it
// is a NULL lightuserdata, and every NULL lightuserdata is the same value, so
// any userdata carrying this marker is treated as null.
type jsonNullMarker struct{}

var jsonNullValue = &jsonNullMarker{}

// IsNull reports whether v is cjson.null (a NULL lightuserdata in Redis).
func IsNull(v lua.LValue) bool {
	ud, ok := v.(*lua.LUserData)
	return ok && ud.Value == jsonNullValue
}

// jsonConfig holds the per-module settings changed by the cjson.encode_*
// and cjson.decode_* functions (Redis's defaults).
type jsonConfig struct {
	sparseConvert    int
	sparseRatio      int
	sparseSafe       int
	encodeMaxDepth   int
	decodeMaxDepth   int
	encodeInvalidNum int // 0 off, 1 on, 2 "null"
	decodeInvalidNum int
	keepBuffer       int
	precision        int
	null             *lua.LUserData
}

// OpenCjson registers the global "cjson" (lua-cjson 2.1.0 as bundled by
// Redis).
func OpenCjson(L *lua.LState) {
	L.SetGlobal("cjson", newCjson(L, nil))
}

func newCjson(L *lua.LState, null *lua.LUserData) *lua.LTable {
	if null == nil {
		null = L.NewUserData()
		null.Value = jsonNullValue
	}
	cfg := &jsonConfig{
		sparseRatio:      2,
		sparseSafe:       10,
		encodeMaxDepth:   1000,
		decodeMaxDepth:   1000,
		decodeInvalidNum: 1,
		keepBuffer:       1,
		precision:        14,
		null:             null,
	}
	t := L.NewTable()
	reg := func(name string, f func(*lua.LState, *jsonConfig) int) {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int { return f(L, cfg) }))
	}
	reg("encode", jsonEncode)
	reg("decode", jsonDecode)
	reg("encode_sparse_array", func(L *lua.LState, c *jsonConfig) int {
		jsonArgInit(L, 3)
		jsonEnumOption(L, 1, &c.sparseConvert, nil)
		jsonIntegerOption(L, 2, &c.sparseRatio, 0, math.MaxInt32)
		jsonIntegerOption(L, 3, &c.sparseSafe, 0, math.MaxInt32)
		return 3
	})
	reg("encode_max_depth", func(L *lua.LState, c *jsonConfig) int {
		jsonArgInit(L, 1)
		return jsonIntegerOption(L, 1, &c.encodeMaxDepth, 1, math.MaxInt32)
	})
	reg("decode_max_depth", func(L *lua.LState, c *jsonConfig) int {
		jsonArgInit(L, 1)
		return jsonIntegerOption(L, 1, &c.decodeMaxDepth, 1, math.MaxInt32)
	})
	reg("encode_number_precision", func(L *lua.LState, c *jsonConfig) int {
		jsonArgInit(L, 1)
		return jsonIntegerOption(L, 1, &c.precision, 1, 14)
	})
	reg("encode_keep_buffer", func(L *lua.LState, c *jsonConfig) int {
		// Buffer reuse is a C allocation detail; only the setting is kept.
		jsonArgInit(L, 1)
		return jsonEnumOption(L, 1, &c.keepBuffer, nil)
	})
	reg("encode_invalid_numbers", func(L *lua.LState, c *jsonConfig) int {
		jsonArgInit(L, 1)
		return jsonEnumOption(L, 1, &c.encodeInvalidNum, []string{"off", "on", "null"})
	})
	reg("decode_invalid_numbers", func(L *lua.LState, c *jsonConfig) int {
		jsonArgInit(L, 1)
		return jsonEnumOption(L, 1, &c.decodeInvalidNum, nil)
	})
	reg("new", func(L *lua.LState, c *jsonConfig) int {
		L.Push(newCjson(L, c.null))
		return 1
	})
	t.RawSetString("null", null)
	t.RawSetString("_NAME", lua.LString("cjson"))
	t.RawSetString("_VERSION", lua.LString("2.1.0"))
	return t
}

// jsonArgInit refuses extra arguments and pads missing ones with nil.
func jsonArgInit(L *lua.LState, args int) {
	if L.GetTop() > args {
		argError(L, args+1, "found too many arguments")
	}
	for L.GetTop() < args {
		L.Push(lua.LNil)
	}
}

func jsonIntegerOption(L *lua.LState, idx int, setting *int, min, max int) int {
	if L.Get(idx) != lua.LNil {
		value := int(int32(checkInteger(L, idx)))
		if value < min || value > max {
			// The C code always blames argument 1.
			argError(L, 1, fmt.Sprintf("expected integer between %d and %d", min, max))
		}
		*setting = value
	}
	L.Push(lua.LNumber(*setting))
	return 1
}

func jsonEnumOption(L *lua.LState, idx int, setting *int, options []string) int {
	if options == nil {
		options = []string{"off", "on"}
	}
	if v := L.Get(idx); v != lua.LNil {
		if b, ok := v.(lua.LBool); ok {
			*setting = 0
			if b {
				*setting = 1
			}
		} else {
			name := checkLString(L, idx)
			found := -1
			for i, o := range options {
				if o == name {
					found = i
					break
				}
			}
			if found < 0 {
				argError(L, idx, fmt.Sprintf("invalid option '%s'", name))
			}
			*setting = found
		}
	}
	if *setting == 0 || *setting == 1 {
		L.Push(lua.LBool(*setting == 1))
	} else {
		L.Push(lua.LString(options[*setting]))
	}
	return 1
}

// ===== encoding =====

type jsonEncoder struct {
	L   *lua.LState
	cfg *jsonConfig
	buf []byte
	top int // Lua stack slots the C encoder would be using
}

func jsonEncode(L *lua.LState, cfg *jsonConfig) int {
	if L.GetTop() != 1 {
		argError(L, 1, "expected 1 argument")
	}
	e := &jsonEncoder{L: L, cfg: cfg, top: 1}
	e.value(L.Get(1), 0)
	L.Push(lua.LString(e.buf))
	return 1
}

func (e *jsonEncoder) fail(v lua.LValue, reason string) {
	raise(e.L, "Cannot serialise %s: %s", luaTypeName(v), reason)
}

func (e *jsonEncoder) value(v lua.LValue, depth int) {
	switch v := v.(type) {
	case lua.LString:
		e.str(string(v))
	case lua.LNumber:
		e.number(v)
	case lua.LBool:
		if v {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case *lua.LTable:
		depth++
		// Besides the configured depth, C fails when the Lua C stack
		// (LUAI_MAXCSTACK slots) cannot take 3 more.
		if depth > e.cfg.encodeMaxDepth || e.top+3 > luaMaxCStack {
			raise(e.L, "Cannot serialise, excessive nesting (%d)", depth)
		}
		if n := e.arrayLength(v); n > 0 {
			e.array(v, n, depth)
		} else {
			e.object(v, depth)
		}
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	default:
		if IsNull(v) {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.fail(v, "type not supported")
	}
}

// arrayLength returns the array size, or a value <= 0 for an object. The
// maximum index is kept in a C int, as in lua-cjson.
func (e *jsonEncoder) arrayLength(t *lua.LTable) int {
	var max int32
	var items int32
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		f := float64(n)
		if !ok || f == 0 || math.Floor(f) != f || f < 1 {
			return -1
		}
		if f > float64(max) {
			max = cInt32(f)
		}
		items++
	}
	c := e.cfg
	if c.sparseRatio > 0 && max > items*int32(c.sparseRatio) && max > int32(c.sparseSafe) {
		if c.sparseConvert == 0 {
			e.fail(t, "excessively sparse array")
		}
		return -1
	}
	return int(max)
}

func (e *jsonEncoder) array(t *lua.LTable, n, depth int) {
	e.buf = append(e.buf, '[')
	e.top++ // lua_rawgeti's value
	for i := 1; i <= n; i++ {
		if i > 1 {
			e.buf = append(e.buf, ',')
		}
		e.value(t.RawGetInt(i), depth)
	}
	e.top--
	e.buf = append(e.buf, ']')
}

func (e *jsonEncoder) object(t *lua.LTable, depth int) {
	e.buf = append(e.buf, '{')
	e.top += 2 // lua_next's key and value
	first := true
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		switch k := k.(type) {
		case lua.LNumber:
			e.buf = append(e.buf, '"')
			e.number(k)
			e.buf = append(e.buf, '"', ':')
		case lua.LString:
			e.str(string(k))
			e.buf = append(e.buf, ':')
		default:
			e.fail(k, "table key must be a number or string")
		}
		e.value(v, depth)
	}
	e.top -= 2
	e.buf = append(e.buf, '}')
}

func (e *jsonEncoder) number(n lua.LNumber) {
	f := float64(n)
	bad := math.IsInf(f, 0) || math.IsNaN(f)
	switch e.cfg.encodeInvalidNum {
	case 0:
		if bad {
			e.fail(n, "must not be NaN or Inf")
		}
	case 1:
		// "nan" is written by hand so that a negative NaN is not "-nan".
		if math.IsNaN(f) {
			e.buf = append(e.buf, "nan"...)
			return
		}
	default:
		if bad {
			e.buf = append(e.buf, "null"...)
			return
		}
	}
	e.buf = append(e.buf, fmtG(f, e.cfg.precision)...)
}

const hexDigits = "0123456789abcdef"

func (e *jsonEncoder) str(s string) {
	e.buf = append(e.buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			e.buf = append(e.buf, '\\', '"')
		case '\\':
			e.buf = append(e.buf, '\\', '\\')
		case '/':
			e.buf = append(e.buf, '\\', '/')
		case '\b':
			e.buf = append(e.buf, '\\', 'b')
		case '\t':
			e.buf = append(e.buf, '\\', 't')
		case '\n':
			e.buf = append(e.buf, '\\', 'n')
		case '\f':
			e.buf = append(e.buf, '\\', 'f')
		case '\r':
			e.buf = append(e.buf, '\\', 'r')
		default:
			if c < 0x20 || c == 0x7f {
				e.buf = append(e.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
			} else {
				e.buf = append(e.buf, c)
			}
		}
	}
	e.buf = append(e.buf, '"')
}

// ===== decoding =====
//
// top counts the Lua stack slots the C parser would hold at each point (its
// tables and pending keys) so that its lua_checkstack limit is reproduced.

type jsonTokType int

const (
	tObjBegin jsonTokType = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
	tUnknown
)

var jsonTokNames = [...]string{"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END",
	"T_STRING", "T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END",
	"T_WHITESPACE", "T_ERROR", "T_UNKNOWN"}

type jsonToken struct {
	typ   jsonTokType
	index int
	str   string
	num   float64
	b     bool
	err   string
}

type jsonParser struct {
	L     *lua.LState
	cfg   *jsonConfig
	data  string // the C parser stops at the first NUL, so data is cut there
	ptr   int
	depth int
	top   int // Lua stack slots the C parser would be using
	tmp   []byte
}

// at returns the byte at i, or 0 past the end (C's terminating NUL).
func (p *jsonParser) at(i int) byte {
	if i < len(p.data) {
		return p.data[i]
	}
	return 0
}

func jsonDecode(L *lua.LState, cfg *jsonConfig) int {
	if L.GetTop() != 1 {
		argError(L, 1, "expected 1 argument")
	}
	s := checkLString(L, 1)
	if len(s) >= 2 && (s[0] == 0 || s[1] == 0) {
		raise(L, "JSON parser does not support UTF-16 or UTF-32")
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	p := &jsonParser{L: L, cfg: cfg, data: s, top: 1}
	var tok jsonToken
	p.next(&tok)
	v := p.value(&tok)
	p.next(&tok)
	if tok.typ != tEnd {
		p.throw("the end", &tok)
	}
	L.Push(v)
	return 1
}

func (p *jsonParser) throw(expected string, tok *jsonToken) {
	found := jsonTokNames[tok.typ]
	if tok.typ == tError {
		found = tok.err
	}
	raise(p.L, "Expected %s but found %s at character %d", expected, found, tok.index+1)
}

func (p *jsonParser) tokenError(tok *jsonToken, msg string) {
	tok.typ = tError
	tok.index = p.ptr
	tok.err = msg
}

func jsonCharToken(c byte) jsonTokType {
	switch c {
	case '{':
		return tObjBegin
	case '}':
		return tObjEnd
	case '[':
		return tArrBegin
	case ']':
		return tArrEnd
	case ',':
		return tComma
	case ':':
		return tColon
	case 0:
		return tEnd
	case ' ', '\t', '\n', '\r':
		return tWhitespace
	case 'f', 'i', 'I', 'n', 'N', 't', '"', '+', '-':
		return tUnknown
	}
	if isDigit(c) {
		return tUnknown
	}
	return tError
}

func (p *jsonParser) next(tok *jsonToken) {
	var c byte
	for {
		c = p.at(p.ptr)
		tok.typ = jsonCharToken(c)
		if tok.typ != tWhitespace {
			break
		}
		p.ptr++
	}
	tok.index = p.ptr
	switch tok.typ {
	case tError:
		p.tokenError(tok, "invalid token")
		return
	case tEnd:
		return
	case tUnknown:
	default:
		p.ptr++
		return
	}
	switch {
	case c == '"':
		p.stringToken(tok)
	case c == '-' || isDigit(c):
		if p.cfg.decodeInvalidNum == 0 && p.invalidNumber() {
			p.tokenError(tok, "invalid number")
			return
		}
		p.numberToken(tok)
	case strings.HasPrefix(p.data[p.ptr:], "true"):
		tok.typ, tok.b = tBoolean, true
		p.ptr += 4
	case strings.HasPrefix(p.data[p.ptr:], "false"):
		tok.typ, tok.b = tBoolean, false
		p.ptr += 5
	case strings.HasPrefix(p.data[p.ptr:], "null"):
		tok.typ = tNull
		p.ptr += 4
	case p.cfg.decodeInvalidNum != 0 && p.invalidNumber():
		p.numberToken(tok)
	default:
		p.tokenError(tok, "invalid token")
	}
}

// invalidNumber spots what strtod accepts but strict JSON does not: a
// leading '+', hex, leading zeros, inf and nan.
func (p *jsonParser) invalidNumber() bool {
	i := p.ptr
	if p.at(i) == '+' {
		return true
	}
	if p.at(i) == '-' {
		i++
	}
	if c := p.at(i); c == '0' {
		c2 := p.at(i + 1)
		return c2|0x20 == 'x' || isDigit(c2)
	} else if c <= '9' {
		return false
	}
	return hasPrefixFold(p.data, i, "inf") || hasPrefixFold(p.data, i, "nan")
}

func (p *jsonParser) numberToken(tok *jsonToken) {
	tok.typ = tNumber
	f, end := cStrtod(p.data, p.ptr)
	if end == p.ptr {
		p.tokenError(tok, "invalid number")
		return
	}
	tok.num = f
	p.ptr = end
}

func hexValue(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return int(c|0x20-'a') + 10
	}
	return -1
}

func (p *jsonParser) hex4(i int) int {
	v := 0
	for j := 0; j < 4; j++ {
		d := hexValue(p.at(i + j))
		if d < 0 {
			return -1
		}
		v = v<<4 | d
	}
	return v
}

// unicodeEscape decodes \uXXXX (or a surrogate pair) at p.ptr into p.tmp.
func (p *jsonParser) unicodeEscape() bool {
	cp := p.hex4(p.ptr + 2)
	if cp < 0 {
		return false
	}
	escLen := 6
	if cp&0xF800 == 0xD800 {
		if cp&0x400 != 0 { // a low surrogate cannot come first
			return false
		}
		if p.at(p.ptr+6) != '\\' || p.at(p.ptr+7) != 'u' {
			return false
		}
		low := p.hex4(p.ptr + 8)
		if low < 0 || low&0xFC00 != 0xDC00 {
			return false
		}
		cp = ((cp&0x3FF)<<10 | low&0x3FF) + 0x10000
		escLen = 12
	}
	switch {
	case cp <= 0x7F:
		p.tmp = append(p.tmp, byte(cp))
	case cp <= 0x7FF:
		p.tmp = append(p.tmp, byte(cp>>6|0xC0), byte(cp&0x3F|0x80))
	case cp <= 0xFFFF:
		p.tmp = append(p.tmp, byte(cp>>12|0xE0), byte(cp>>6&0x3F|0x80), byte(cp&0x3F|0x80))
	default:
		p.tmp = append(p.tmp, byte(cp>>18|0xF0), byte(cp>>12&0x3F|0x80), byte(cp>>6&0x3F|0x80), byte(cp&0x3F|0x80))
	}
	p.ptr += escLen
	return true
}

var jsonEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 't': '\t',
	'n': '\n', 'f': '\f', 'r': '\r', 'u': 'u'}

func (p *jsonParser) stringToken(tok *jsonToken) {
	p.ptr++ // opening quote
	p.tmp = p.tmp[:0]
	for {
		c := p.at(p.ptr)
		if c == '"' {
			break
		}
		if c == 0 {
			p.tokenError(tok, "unexpected end of string")
			return
		}
		if c == '\\' {
			c = jsonEscapes[p.at(p.ptr+1)]
			if c == 'u' {
				if p.unicodeEscape() {
					continue
				}
				p.tokenError(tok, "invalid unicode escape code")
				return
			}
			if c == 0 {
				p.tokenError(tok, "invalid escape code")
				return
			}
			p.ptr++
		}
		p.tmp = append(p.tmp, c)
		p.ptr++
	}
	p.ptr++ // closing quote
	tok.typ = tString
	tok.str = string(p.tmp)
}

func (p *jsonParser) descend(slots int) {
	p.depth++
	if p.depth <= p.cfg.decodeMaxDepth && p.top+slots <= luaMaxCStack {
		return
	}
	raise(p.L, "Found too many nested data structures (%d) at character %d", p.depth, p.ptr)
}

func (p *jsonParser) value(tok *jsonToken) lua.LValue {
	switch tok.typ {
	case tString:
		return lua.LString(tok.str)
	case tNumber:
		return lua.LNumber(tok.num)
	case tBoolean:
		return lua.LBool(tok.b)
	case tNull:
		return p.cfg.null
	case tObjBegin:
		return p.object()
	case tArrBegin:
		return p.array()
	}
	p.throw("value", tok)
	return nil
}

func (p *jsonParser) object() lua.LValue {
	p.descend(3)
	t := p.L.NewTable()
	p.top++
	var tok jsonToken
	p.next(&tok)
	if tok.typ == tObjEnd {
		p.depth--
		p.top--
		return t
	}
	for {
		if tok.typ != tString {
			p.throw("object key string", &tok)
		}
		key := lua.LString(tok.str)
		p.top++
		p.next(&tok)
		if tok.typ != tColon {
			p.throw("colon", &tok)
		}
		p.next(&tok)
		v := p.value(&tok)
		t.RawSetString(string(key), v)
		p.top--
		p.next(&tok)
		if tok.typ == tObjEnd {
			p.depth--
			p.top--
			return t
		}
		if tok.typ != tComma {
			p.throw("comma or object end", &tok)
		}
		p.next(&tok)
	}
}

func (p *jsonParser) array() lua.LValue {
	p.descend(2)
	t := p.L.NewTable()
	p.top++
	var tok jsonToken
	p.next(&tok)
	if tok.typ == tArrEnd {
		p.depth--
		p.top--
		return t
	}
	for i := 1; ; i++ {
		t.RawSetInt(i, p.value(&tok))
		p.next(&tok)
		if tok.typ == tArrEnd {
			p.depth--
			p.top--
			return t
		}
		if tok.typ != tComma {
			p.throw("comma or array end", &tok)
		}
		p.next(&tok)
	}
}
