package script

import (
	"bytes"
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/skiffdb/skiff/internal/resp"
)

// ---- RESP reply -> Lua (what redis.call returns) ----

// replyToLua converts one RESP2/RESP3 reply, as the server wrote it, into
// the Lua value Redis gives a script: integers are numbers, bulk strings
// strings, a nil bulk or array false (RESP3 null: nil), a status {ok=},
// an error {err=} (raw reports it), arrays tables, RESP3 maps {map=},
// sets {set=}, doubles {double=}, big numbers {big_number=} and verbatim
// strings {verbatim_string={format=, string=}}. Attributes are skipped.
func replyToLua(L *lua.LState, b []byte) (v lua.LValue, isErr bool) {
	p := replyParser{b: b}
	v = p.value(L)
	if len(b) > 0 && b[0] == '-' {
		isErr = true
	}
	return v, isErr
}

type replyParser struct {
	b   []byte
	pos int
}

// line returns the rest of the current line after its type byte.
func (p *replyParser) line() []byte {
	i := bytes.Index(p.b[p.pos:], []byte("\r\n"))
	if i < 0 {
		s := p.b[p.pos:]
		p.pos = len(p.b)
		return s
	}
	s := p.b[p.pos : p.pos+i]
	p.pos += i + 2
	return s
}

func (p *replyParser) int() int64 {
	n, _ := strconv.ParseInt(string(p.line()), 10, 64)
	return n
}

func (p *replyParser) bulk() ([]byte, bool) {
	n := p.int()
	if n < 0 {
		return nil, false
	}
	end := p.pos + int(n)
	if end > len(p.b) {
		end = len(p.b)
	}
	s := p.b[p.pos:end]
	p.pos = end + 2
	return s, true
}

// value parses one reply; L nil parses and discards (attributes).
func (p *replyParser) value(L *lua.LState) lua.LValue {
	if p.pos >= len(p.b) {
		return lua.LNil
	}
	t := p.b[p.pos]
	p.pos++
	switch t {
	case ':':
		return lua.LNumber(p.int())
	case '$':
		s, ok := p.bulk()
		if !ok {
			return lua.LFalse
		}
		return lua.LString(s)
	case '+':
		s := p.line()
		if L == nil {
			return lua.LNil
		}
		if string(s) == "OK" {
			return oneField(L, "ok", lvOK) // the common status, not copied
		}
		return oneField(L, "ok", lua.LString(s))
	case '-':
		s := p.line()
		if L == nil {
			return lua.LNil
		}
		return errorTable(L, "-"+string(s))
	case '*', '~', '>':
		n := p.int()
		if n < 0 {
			return lua.LFalse
		}
		if L == nil {
			for i := int64(0); i < n; i++ {
				p.value(nil)
			}
			return lua.LNil
		}
		if t == '~' {
			set := L.CreateTable(0, int(n))
			for i := int64(0); i < n; i++ {
				set.RawSet(p.value(L), lua.LTrue)
			}
			tb := L.CreateTable(0, 1)
			tb.RawSetString("set", set)
			return tb
		}
		tb := L.CreateTable(int(min(n, 1<<16)), 0)
		for i := int64(0); i < n; i++ {
			tb.RawSetInt(int(i+1), p.value(L))
		}
		return tb
	case '%', '|':
		n := p.int()
		if t == '|' {
			for i := int64(0); i < 2*n; i++ {
				p.value(nil)
			}
			return p.value(L)
		}
		if L == nil {
			for i := int64(0); i < 2*n; i++ {
				p.value(nil)
			}
			return lua.LNil
		}
		m := L.CreateTable(0, int(n))
		for i := int64(0); i < n; i++ {
			k := p.value(L)
			m.RawSet(k, p.value(L))
		}
		tb := L.CreateTable(0, 1)
		tb.RawSetString("map", m)
		return tb
	case '_':
		p.line()
		return lua.LNil
	case '#':
		return lua.LBool(string(p.line()) == "t")
	case ',':
		s := string(p.line())
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			switch s {
			case "inf":
				f = math.Inf(1)
			case "-inf":
				f = math.Inf(-1)
			default:
				f = math.NaN()
			}
		}
		if L == nil {
			return lua.LNil
		}
		return oneField(L, "double", lua.LNumber(f))
	case '(':
		s := p.line()
		if L == nil {
			return lua.LNil
		}
		return oneField(L, "big_number", lua.LString(s))
	case '=':
		s, _ := p.bulk()
		if L == nil {
			return lua.LNil
		}
		format, str := "", s
		if len(s) >= 4 {
			format, str = string(s[:3]), s[4:]
		}
		vt := L.CreateTable(0, 2)
		vt.RawSetString("string", lua.LString(str))
		vt.RawSetString("format", lua.LString(format))
		tb := L.CreateTable(0, 1)
		tb.RawSetString("verbatim_string", vt)
		return tb
	}
	p.line()
	return lua.LNil
}

// lvOK is the string of the +OK status, made once.
var lvOK lua.LValue = lua.LString("OK")

// plainReply reports a reply whose Lua value writeReply turns back into
// the same RESP value, which writePlainReply can therefore write from
// the bytes: a status without CR or LF inside, an integer, a non-null
// bulk string.
func plainReply(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	p := replyParser{b: b, pos: 1}
	switch b[0] {
	case '+':
		return bytes.IndexAny(p.line(), "\r\n") < 0
	case ':':
		return true
	case '$':
		return len(b) > 1 && b[1] != '-'
	}
	return false
}

// writePlainReply writes a plainReply reply to w exactly as
// writeReply(w, replyToLua(b)) would: an integer goes through a Lua
// number (a float64), as it would in the script.
func writePlainReply(w *resp.Writer, b []byte) {
	p := replyParser{b: b, pos: 1}
	switch b[0] {
	case '+':
		w.AppendSimple(string(p.line()))
	case ':':
		w.AppendInt(luaToInt64(float64(lua.LNumber(p.int()))))
	case '$':
		s, _ := p.bulk()
		w.AppendBulk(s)
	}
}

// oneField is {name=v}, the shape of status, double and big number
// replies.
func oneField(L *lua.LState, name string, v lua.LValue) *lua.LTable {
	tb := L.CreateTable(0, 1)
	tb.RawSetString(name, v)
	return tb
}

// errorTable builds the {err="CODE message"} table Redis uses for errors:
// "-CODE message" keeps its code, a bare message gets ERR; trailing
// newlines are trimmed.
func errorTable(L *lua.LState, msg string) *lua.LTable {
	tb := L.CreateTable(0, 1)
	tb.RawSetString("err", lua.LString(errorText(msg)))
	return tb
}

func errorText(msg string) string {
	var code, text string
	if strings.HasPrefix(msg, "-") {
		if i := strings.IndexByte(msg, ' '); i >= 0 {
			code, text = msg[1:i], msg[i+1:]
		} else {
			code, text = "ERR", msg[1:]
		}
	} else {
		code, text = "ERR", msg
	}
	text = strings.Trim(text, "\r\n")
	return code + " " + text
}

// ---- Lua -> RESP (what a script returns) ----

// maxReplyDepth bounds nested tables in a script's reply, where Redis
// reports "reached lua stack limit".
const maxReplyDepth = 1000

// writeReply converts a script's return value to the caller's protocol
// as Redis does: numbers truncate to integers, strings are bulks, true is
// 1 (RESP2 script) or #t, false a null (RESP2) or #f, nil a null; a table
// is an error ({err=}), a status ({ok=}), a double, big number, verbatim
// string, map or set in their RESP3 form, or else an array of its
// elements 1..n up to the first nil. scriptResp is the protocol the
// script chose with redis.setresp. It returns the error text written,
// if the reply is an error.
func writeReply(w *resp.Writer, v lua.LValue, scriptResp int, depth int) (errMsg string) {
	if depth > maxReplyDepth {
		msg := "ERR reached lua stack limit"
		w.AppendError(msg)
		return msg
	}
	switch v := v.(type) {
	case lua.LString:
		w.AppendBulkString(string(v))
	case lua.LBool:
		if scriptResp == 2 {
			if v {
				w.AppendInt(1)
			} else {
				w.AppendNull()
			}
		} else {
			w.AppendBool(bool(v))
		}
	case lua.LNumber:
		w.AppendInt(luaToInt64(float64(v)))
	case *lua.LTable:
		if s, ok := v.RawGetString("err").(lua.LString); ok {
			msg := string(s)
			w.AppendError(msg)
			return msg
		}
		if s, ok := v.RawGetString("ok").(lua.LString); ok {
			w.AppendSimple(crlfToSpace.Replace(string(s)))
			return ""
		}
		if d, ok := v.RawGetString("double").(lua.LNumber); ok {
			w.AppendDouble(float64(d))
			return ""
		}
		if s, ok := v.RawGetString("big_number").(lua.LString); ok {
			n := crlfToSpace.Replace(string(s))
			if w.Proto == 3 {
				w.B = append(w.B, '(')
				w.B = append(w.B, n...)
				w.B = append(w.B, '\r', '\n')
			} else {
				w.AppendBulkString(n)
			}
			return ""
		}
		if vt, ok := v.RawGetString("verbatim_string").(*lua.LTable); ok {
			f, fok := vt.RawGetString("format").(lua.LString)
			s, sok := vt.RawGetString("string").(lua.LString)
			if fok && sok {
				if w.Proto == 3 {
					format := string(f)
					for len(format) < 3 {
						format += " "
					}
					w.B = append(w.B, '=')
					w.B = strconv.AppendInt(w.B, int64(len(s)+4), 10)
					w.B = append(w.B, "\r\n"...)
					w.B = append(w.B, format[:3]...)
					w.B = append(w.B, ':')
					w.B = append(w.B, s...)
					w.B = append(w.B, '\r', '\n')
				} else {
					w.AppendBulkString(string(s))
				}
				return ""
			}
		}
		if m, ok := v.RawGetString("map").(*lua.LTable); ok {
			n := 0
			m.ForEach(func(lua.LValue, lua.LValue) { n++ })
			w.AppendMap(n)
			m.ForEach(func(k, val lua.LValue) {
				writeReply(w, k, scriptResp, depth+1)
				writeReply(w, val, scriptResp, depth+1)
			})
			return ""
		}
		if s, ok := v.RawGetString("set").(*lua.LTable); ok {
			n := 0
			s.ForEach(func(lua.LValue, lua.LValue) { n++ })
			w.AppendSet(n)
			s.ForEach(func(k, _ lua.LValue) { writeReply(w, k, scriptResp, depth+1) })
			return ""
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		w.AppendArray(n)
		for i := 1; i <= n; i++ {
			writeReply(w, v.RawGetInt(i), scriptResp, depth+1)
		}
	default:
		w.AppendNull()
	}
	return ""
}

// crlfToSpace keeps a status or big number on one protocol line.
var crlfToSpace = strings.NewReplacer("\r", " ", "\n", " ")

// luaToInt64 is C's (long long) cast of a Lua number, saturating where C
// is undefined.
func luaToInt64(f float64) int64 {
	switch {
	case f != f:
		return math.MinInt64
	case f >= 9.223372036854775807e18:
		return math.MinInt64 // what x86-64 gives for an out-of-range cast
	case f <= -9.223372036854775808e18:
		return math.MinInt64
	}
	return int64(f)
}
