package script

// Call-site specialization of redis.call and redis.pcall in EVAL scripts.
//
// In a script, redis.call is always the same function: the globals and
// the redis table are read-only (sandbox.go), so `redis.call` can only
// ever read the one function registerAPI made. Each use still costs two
// look-ups through the read-only proxies' metatables (the global redis,
// then its call field), and every reply becomes a Lua value even where
// the script drops it (`redis.call('set', k, v)` as a statement) or hands
// it straight back as the script's reply (`return redis.call(...)`),
// where a status reply alone is a table of three Go maps.
//
// specialize rewrites, at load, the two instructions that fetch the
// function (GETGLOBAL 'redis'; GETTABLEKS 'call') into a LOADK of a
// constant holding it, and, where the call's results are provably
// dropped or provably the main chunk's return value, into a variant of
// the function that does not build the value nobody sees:
//
//   - dropped (CALL with C = 1): the reply is converted only when it is
//     an error that redis.call must raise;
//   - returned (TAILCALL A; RETURN A 0 in the main chunk): a status,
//     integer or bulk reply is kept as bytes and written to the client
//     as writeReply would write its Lua value (tailMark stands for it
//     on the Lua stack, and never reaches Lua code: the main chunk
//     returns to execCounted only).
//
// Everything the script can observe stays the same: the instruction
// count and line table (the kill check and error positions), the error
// tables raised, the commands run. The rewrite is skipped whenever the
// bytecode is not exactly the shape the compiler emits for a direct call
// (a jump leaving the argument list, register A read before the call).

import (
	"slices"

	lua "github.com/yuin/gopher-lua"
)

// The gopher-lua v1.1.2 instruction layout (opcode.go): opcode in bits
// 26-31, A in 18-25, C in 9-17, B in 0-8, Bx in 0-17, sBx = Bx - 131071.
const (
	rkBit      = 1 << 8
	maxSbx     = (1<<18 - 1) >> 1
	regUnbound = 1 << 30 // a register range up to the top of the stack
)

func instOp(i uint32) int { return int(i >> 26) }
func instA(i uint32) int  { return int(i>>18) & 0xff }
func instB(i uint32) int  { return int(i & 0x1ff) }
func instC(i uint32) int  { return int(i>>9) & 0x1ff }
func instBx(i uint32) int { return int(i & 0x3ffff) }
func instSbx(i uint32) int {
	return instBx(i) - maxSbx
}
func makeABx(op, a, bx int) uint32 {
	return uint32(op)<<26 | uint32(a&0xff)<<18 | uint32(bx&0x3ffff)
}
func makeABC(op, a, b, c int) uint32 {
	return uint32(op)<<26 | uint32(a&0xff)<<18 | uint32(c&0x1ff)<<9 | uint32(b&0x1ff)
}

// callVariants are the functions a specialized call site loads.
type callVariants struct {
	call, pcall               *lua.LFunction // the API's own functions
	callDrop, pcallDrop       *lua.LFunction // results dropped
	callReturn, pcallReturn   *lua.LFunction // the script's reply
	callConst, pcallConst     lua.LValue
	callDropC, pcallDropC     lua.LValue
	callReturnC, pcallReturnC lua.LValue
}

func newCallVariants(L *lua.LState, api *lua.LTable) *callVariants {
	call, _ := api.RawGetString("call").(*lua.LFunction)
	pcall, _ := api.RawGetString("pcall").(*lua.LFunction)
	if call == nil || pcall == nil {
		return nil
	}
	h := holderFor(L)
	if h.tailMark == nil {
		h.tailMark = L.NewUserData()
	}
	v := &callVariants{
		call:        call,
		pcall:       pcall,
		callDrop:    L.NewFunction(func(L *lua.LState) int { return redisCallMode(L, h, true, callDropped) }),
		pcallDrop:   L.NewFunction(func(L *lua.LState) int { return redisCallMode(L, h, false, callDropped) }),
		callReturn:  L.NewFunction(func(L *lua.LState) int { return redisCallMode(L, h, true, callReturned) }),
		pcallReturn: L.NewFunction(func(L *lua.LState) int { return redisCallMode(L, h, false, callReturned) }),
	}
	v.callConst, v.pcallConst = v.call, v.pcall
	v.callDropC, v.pcallDropC = v.callDrop, v.pcallDrop
	v.callReturnC, v.pcallReturnC = v.callReturn, v.pcallReturn
	return v
}

// specialize rewrites the redis.call / redis.pcall sites of p (the main
// chunk when main is set) and of the functions it defines.
func (cv *callVariants) specialize(p *lua.FunctionProto, main bool) {
	if cv == nil {
		return
	}
	// The functions added to p.Constants, at most six: a linear search,
	// no map per function compiled.
	first := len(p.Constants)
	constIndex := func(v lua.LValue) int {
		for i := first; i < len(p.Constants); i++ {
			if p.Constants[i] == v {
				return i
			}
		}
		p.Constants = append(p.Constants, v)
		return len(p.Constants) - 1
	}
	// Trimmed to length again (see trimProto): appending doubled it.
	defer func() {
		if len(p.Constants) != first {
			p.Constants = slices.Clone(p.Constants)
		}
	}()
	code := p.Code
	for i := 0; i+1 < len(code); i++ {
		if skipsNext(code, i) {
			i++ // the next word is data, not an instruction
			continue
		}
		a, pcall, ok := apiFetch(p, code[i], code[i+1])
		if !ok {
			continue
		}
		fn := cv.callConst
		if pcall {
			fn = cv.pcallConst
		}
		if j, op := callSite(code, i+2, a); j >= 0 {
			switch {
			case op == lua.OP_CALL && instC(code[j]) == 1:
				fn = cv.callDropC
				if pcall {
					fn = cv.pcallDropC
				}
			case op == lua.OP_TAILCALL && main && j+1 < len(code) &&
				code[j+1] == makeABC(lua.OP_RETURN, a, 0, 0):
				fn = cv.callReturnC
				if pcall {
					fn = cv.pcallReturnC
				}
			}
		}
		k := constIndex(fn)
		if k > 0x3ffff {
			return // no room for the constant in Bx (never for a script)
		}
		code[i] = makeABx(lua.OP_LOADK, a, k)
		code[i+1] = makeABC(lua.OP_NOP, 0, 0, 0)
		i++
	}
	for _, child := range p.FunctionPrototypes {
		cv.specialize(child, false)
	}
}

// apiFetch recognizes `R(A) := redis.call` (or pcall): GETGLOBAL A
// 'redis' then GETTABLE(KS) A A 'call'.
func apiFetch(p *lua.FunctionProto, first, second uint32) (a int, pcall, ok bool) {
	if instOp(first) != lua.OP_GETGLOBAL {
		return 0, false, false
	}
	a = instA(first)
	if !constString(p, instBx(first), "redis") {
		return 0, false, false
	}
	if op := instOp(second); op != lua.OP_GETTABLEKS && op != lua.OP_GETTABLE {
		return 0, false, false
	}
	if instA(second) != a || instB(second) != a || instC(second)&rkBit == 0 {
		return 0, false, false
	}
	k := instC(second) &^ rkBit
	switch {
	case constString(p, k, "call"):
		return a, false, true
	case constString(p, k, "pcall"):
		return a, true, true
	}
	return 0, false, false
}

func constString(p *lua.FunctionProto, k int, s string) bool {
	if k < 0 || k >= len(p.Constants) {
		return false
	}
	v, ok := p.Constants[k].(lua.LString)
	return ok && string(v) == s
}

// callSite finds the CALL or TAILCALL that calls R(a), scanning from
// start: the first instruction touching register a must be it, and no
// jump in between may leave the argument list. It returns -1 when the
// shape is anything else (the function value used otherwise).
func callSite(code []uint32, start, a int) (int, int) {
	for j := start; j < len(code); j++ {
		in := code[j]
		op := instOp(in)
		if (op == lua.OP_CALL || op == lua.OP_TAILCALL) && instA(in) == a {
			return j, op
		}
		if touches(in, a) {
			return -1, 0
		}
		switch op {
		case lua.OP_JMP:
			// A conditional skip (EQ, TEST, LOADBOOL ...) lands on the
			// next instruction but one, still before the call; a jump
			// must too.
			if t := j + 1 + instSbx(in); t < start || t >= len(code) {
				return -1, 0
			}
		case lua.OP_FORLOOP, lua.OP_FORPREP, lua.OP_TFORLOOP, lua.OP_RETURN, lua.OP_CLOSE:
			return -1, 0 // not something an argument list contains
		case lua.OP_SETLIST:
			if instC(in) == 0 {
				j++ // data word
			}
		}
	}
	return -1, 0
}

// skipsNext reports an instruction followed by a data word.
func skipsNext(code []uint32, i int) bool {
	return instOp(code[i]) == lua.OP_SETLIST && instC(code[i]) == 0
}

// touches reports whether the instruction reads or writes register r
// (conservatively: a range up to the stack top counts).
func touches(in uint32, r int) bool {
	a, b, c := instA(in), instB(in), instC(in)
	reg := func(x int) bool { return x == r }
	rk := func(x int) bool { return x&rkBit == 0 && x == r }
	span := func(from, to int) bool { return r >= from && r <= to }
	switch instOp(in) {
	case lua.OP_MOVE, lua.OP_MOVEN, lua.OP_UNM, lua.OP_NOT, lua.OP_LEN, lua.OP_TESTSET:
		return reg(a) || reg(b)
	case lua.OP_LOADK, lua.OP_LOADBOOL, lua.OP_GETUPVAL, lua.OP_GETGLOBAL, lua.OP_SETGLOBAL,
		lua.OP_SETUPVAL, lua.OP_NEWTABLE, lua.OP_TEST, lua.OP_CLOSURE:
		return reg(a)
	case lua.OP_LOADNIL:
		return span(a, b)
	case lua.OP_GETTABLE, lua.OP_GETTABLEKS:
		return reg(a) || reg(b) || rk(c)
	case lua.OP_SETTABLE, lua.OP_SETTABLEKS, lua.OP_ADD, lua.OP_SUB, lua.OP_MUL, lua.OP_DIV,
		lua.OP_MOD, lua.OP_POW:
		return reg(a) || rk(b) || rk(c)
	case lua.OP_SELF:
		return reg(a) || reg(a+1) || reg(b) || rk(c)
	case lua.OP_CONCAT:
		return reg(a) || span(b, c)
	case lua.OP_EQ, lua.OP_LT, lua.OP_LE:
		return rk(b) || rk(c)
	case lua.OP_JMP, lua.OP_NOP:
		return false
	case lua.OP_CALL, lua.OP_TAILCALL:
		args, rets := a+b-1, a+c-2
		if b == 0 {
			args = regUnbound
		}
		if c == 0 {
			rets = regUnbound
		}
		return span(a, max(args, rets, a))
	case lua.OP_RETURN, lua.OP_VARARG:
		if b == 0 {
			return r >= a
		}
		return span(a, a+b-2)
	case lua.OP_FORLOOP, lua.OP_FORPREP:
		return span(a, a+3)
	case lua.OP_TFORLOOP:
		return span(a, a+3+c)
	case lua.OP_SETLIST:
		if b == 0 {
			return r >= a
		}
		return span(a, a+b)
	case lua.OP_CLOSE:
		return r >= a
	}
	return true // unknown: assume it does
}

// argsOnlyIndexed reports whether the script (p, a main chunk) uses KEYS
// and ARGV only to index them or take their length, each right where it
// fetched them (GETGLOBAL R 'KEYS' then GETTABLE R R x or LEN R R), and
// names none of _G, load, loadstring, getfenv or setfenv, the ways to
// reach the globals table by another road. Such a script can neither
// change the two tables nor keep them past its run, so Exec may refill
// the same two tables for every run of it instead of making new ones.
func argsOnlyIndexed(p *lua.FunctionProto) bool {
	code := p.Code
	for i := 0; i < len(code); i++ {
		if skipsNext(code, i) {
			i++
			continue
		}
		in := code[i]
		if instOp(in) != lua.OP_GETGLOBAL {
			continue
		}
		bx := instBx(in)
		for _, name := range []string{"_G", "load", "loadstring", "getfenv", "setfenv"} {
			if constString(p, bx, name) {
				return false
			}
		}
		if !constString(p, bx, "KEYS") && !constString(p, bx, "ARGV") {
			continue
		}
		if i+1 >= len(code) {
			return false
		}
		a, next := instA(in), code[i+1]
		switch instOp(next) {
		case lua.OP_GETTABLE, lua.OP_GETTABLEKS, lua.OP_LEN:
			if instA(next) != a || instB(next) != a {
				return false
			}
		default:
			return false
		}
	}
	for _, child := range p.FunctionPrototypes {
		if !argsOnlyIndexed(child) {
			return false
		}
	}
	return true
}
