package script

import (
	"math"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The globals a script may see, as Redis 7.0's allow lists: the Lua
// builtins Redis keeps, the bundled libraries and the redis API. Any
// other global a library registers (print, dofile, loadfile, require,
// module, ...) is dropped; so are getfenv, setfenv and newproxy, which
// redis-server 7.0.15 does not expose either.
var allowedGlobals = map[string]bool{
	"string": true, "cjson": true, "bit": true, "cmsgpack": true, "math": true, "table": true, "struct": true,
	"redis":  true,
	"xpcall": true, "tostring": true, "setmetatable": true, "next": true, "assert": true,
	"tonumber": true, "rawequal": true, "collectgarbage": true, "getmetatable": true, "rawset": true,
	"pcall": true, "coroutine": true, "type": true, "_G": true, "select": true, "unpack": true,
	"gcinfo": true, "pairs": true, "rawget": true, "loadstring": true, "ipairs": true, "_VERSION": true,
	"load": true, "error": true,
}

const errReadonly = "Attempt to modify a readonly table"

// sandbox is one protected Lua state. Redis makes every table reachable
// from the globals read-only with a patch to Lua; gopher-lua has no such
// flag, so the scripts see read-only proxies instead: an empty table
// whose metatable reads through to the real table and refuses writes.
// rawset, setmetatable and getmetatable know the proxies, so the tricks
// Redis's tests try fail the same way.
type sandbox struct {
	L       *lua.LState
	globals *lua.LTable // the real globals
	env     *lua.LTable // what scripts see as _G (a proxy of globals)
	// proxies maps each proxy to the table it protects; protected the
	// reverse.
	proxies   map[*lua.LTable]*lua.LTable
	protected map[*lua.LTable]*lua.LTable
	// metaProxies are the read-only views getmetatable returns.
	metaProxies map[*lua.LTable]*lua.LTable
}

// newSandbox opens the libraries Redis opens and installs the base
// function overrides; the caller adds its API, then calls lock.
func newSandbox(openExtra func(L *lua.LState)) *sandbox {
	L := lua.NewState(lua.Options{
		SkipOpenLibs: true,
		// Room for what Redis's Lua allows (cmsgpack.unpack of ~8000
		// values, deep recursion) without preallocating it all.
		CallStackSize:       2000,
		RegistrySize:        1024 * 4,
		RegistryMaxSize:     1024 * 1024,
		RegistryGrowStep:    4096,
		IncludeGoStackTrace: false,
	})
	for _, open := range []lua.LGFunction{lua.OpenBase, lua.OpenTable, lua.OpenString, lua.OpenMath, lua.OpenCoroutine} {
		L.Push(L.NewFunction(open))
		L.Call(0, 0)
	}
	if openExtra != nil {
		openExtra(L)
	}
	sb := &sandbox{
		L: L, globals: L.G.Global,
		proxies: map[*lua.LTable]*lua.LTable{}, protected: map[*lua.LTable]*lua.LTable{},
		metaProxies: map[*lua.LTable]*lua.LTable{},
	}
	g := sb.globals
	g.RawSetString("gcinfo", L.NewFunction(func(L *lua.LState) int {
		// gopher-lua shares Go's heap: there is no per-state count.
		L.Push(lua.LNumber(0))
		return 1
	}))
	g.RawSetString("rawset", L.NewFunction(sb.rawset))
	g.RawSetString("setmetatable", L.NewFunction(sb.setmetatable))
	g.RawSetString("getmetatable", L.NewFunction(sb.getmetatable))
	g.RawSetString("pcall", L.NewFunction(redisPcall))
	if m, ok := g.RawGetString("math").(*lua.LTable); ok {
		m.RawSetString("random", L.NewFunction(mathRandom))
		m.RawSetString("randomseed", L.NewFunction(mathRandomseed))
	}
	return sb
}

// lock drops the globals Redis does not allow, then replaces every
// table reachable from the globals (libraries, the redis API) by a
// read-only proxy and makes reading an undefined global an error.
func (sb *sandbox) lock() {
	g := sb.globals
	var drop []lua.LValue
	g.ForEach(func(k, _ lua.LValue) {
		if s, ok := k.(lua.LString); !ok || !allowedGlobals[string(s)] {
			drop = append(drop, k)
		}
	})
	for _, k := range drop {
		g.RawSet(k, lua.LNil)
	}
	g.ForEach(func(k, v lua.LValue) {
		if t, ok := v.(*lua.LTable); ok && t != g {
			g.RawSet(k, sb.protect(t))
		}
	})
	missing := sb.L.CreateTable(0, 1)
	missing.RawSetString("__index", sb.L.NewFunction(func(L *lua.LState) int {
		name := L.Get(2)
		if name.Type() != lua.LTString && name.Type() != lua.LTNumber {
			L.RaiseError("Second argument to luaProtectedTableError must be a string or number")
		}
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", lua.LVAsString(name))
		return 0
	}))
	sb.L.SetMetatable(g, missing)
	sb.env = sb.protect(g)
	g.RawSetString("_G", sb.env)
}

// protect returns the read-only proxy of t (tables inside t are
// protected too, as Redis protects recursively).
func (sb *sandbox) protect(t *lua.LTable) *lua.LTable {
	if p, ok := sb.protected[t]; ok {
		return p
	}
	if _, ok := sb.proxies[t]; ok {
		return t
	}
	L := sb.L
	p := L.CreateTable(0, 0)
	sb.protected[t] = p
	sb.proxies[p] = t
	var inner []lua.LValue
	t.ForEach(func(k, v lua.LValue) {
		if c, ok := v.(*lua.LTable); ok && c != sb.globals {
			if _, isProxy := sb.proxies[c]; !isProxy {
				inner = append(inner, k)
			}
		}
	})
	for _, k := range inner {
		t.RawSet(k, sb.protect(t.RawGet(k).(*lua.LTable)))
	}
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__index", t)
	mt.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError(errReadonly)
		return 0
	}))
	L.SetMetatable(p, mt)
	return p
}

// isReadonly reports whether writes to t must fail.
func (sb *sandbox) isReadonly(t *lua.LTable) bool {
	if _, ok := sb.proxies[t]; ok {
		return true
	}
	_, ok := sb.metaProxies[t]
	return ok
}

func (sb *sandbox) rawset(L *lua.LState) int {
	t := L.CheckTable(1)
	k := L.CheckAny(2)
	v := L.CheckAny(3)
	if sb.isReadonly(t) {
		L.Error(lua.LString(errReadonly), 0)
	}
	t.RawSet(k, v)
	L.Push(t)
	return 1
}

func (sb *sandbox) setmetatable(L *lua.LState) int {
	t := L.CheckTable(1)
	mt := L.Get(2)
	if mt != lua.LNil && mt.Type() != lua.LTTable {
		L.ArgError(2, "nil or table expected")
	}
	if sb.isReadonly(t) {
		L.Error(lua.LString(errReadonly), 0)
	}
	if old, ok := L.GetMetatable(t).(*lua.LTable); ok && old.RawGetString("__metatable") != lua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	L.SetMetatable(t, mt)
	L.Push(t)
	return 1
}

func (sb *sandbox) getmetatable(L *lua.LState) int {
	v := L.CheckAny(1)
	if t, ok := v.(*lua.LTable); ok && sb.isReadonly(t) {
		// The metatable of a protected table is itself read-only.
		mt, _ := L.GetMetatable(t).(*lua.LTable)
		if mt == nil {
			L.Push(lua.LNil)
			return 1
		}
		if p, ok := sb.metaProxies[mt]; ok {
			L.Push(p)
			return 1
		}
		p := L.CreateTable(0, 0)
		pm := L.CreateTable(0, 2)
		// Tables read through it are protected too: its __index is
		// the real globals table.
		pm.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			v := mt.RawGet(L.Get(2))
			if t, ok := v.(*lua.LTable); ok {
				v = sb.protect(t)
			}
			L.Push(v)
			return 1
		}))
		pm.RawSetString("__newindex", L.NewFunction(func(L *lua.LState) int {
			L.RaiseError(errReadonly)
			return 0
		}))
		L.SetMetatable(p, pm)
		sb.metaProxies[mt] = p
		sb.metaProxies[p] = p
		L.Push(p)
		return 1
	}
	mt := L.GetMetatable(v)
	if t, ok := mt.(*lua.LTable); ok {
		if prot := t.RawGetString("__metatable"); prot != lua.LNil {
			L.Push(prot)
			return 1
		}
	}
	L.Push(mt)
	return 1
}

// redisPcall is Redis's pcall: an error raised as an {err=...} table (by
// redis.call) is caught as its message string, as before 7.0.
func redisPcall(L *lua.LState) int {
	L.CheckAny(1)
	top := L.GetTop()
	fn := L.Get(1)
	L.Push(fn)
	for i := 2; i <= top; i++ {
		L.Push(L.Get(i))
	}
	err := L.PCall(top-1, lua.MultRet, nil)
	if err != nil {
		obj := lua.LValue(lua.LString(err.Error()))
		if ae, ok := err.(*lua.ApiError); ok {
			obj = ae.Object
		}
		if t, ok := obj.(*lua.LTable); ok {
			if s, ok := t.RawGetString("err").(lua.LString); ok {
				obj = s
			}
		}
		L.SetTop(top)
		L.Push(lua.LFalse)
		L.Push(obj)
		return 2
	}
	n := L.GetTop() - top
	res := make([]lua.LValue, n)
	for i := range res {
		res[i] = L.Get(top + 1 + i)
	}
	L.SetTop(top)
	L.Push(lua.LTrue)
	for _, r := range res {
		L.Push(r)
	}
	return n + 1
}

// rng is the generator behind math.random, shared by every script as in
// Redis.
var rng = newRand48()

func mathRandom(L *lua.LState) int {
	if currentRun(L) == nil {
		L.RaiseError("math.random can only be called inside a script invocation")
	}
	r := float64(rng.next()%rand48Max) / float64(rand48Max)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := L.CheckInt(1)
		if u < 1 {
			L.RaiseError("bad argument #1 to 'random' (interval is empty)")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u)) + 1))
	case 2:
		l, u := L.CheckInt(1), L.CheckInt(2)
		if l > u {
			L.RaiseError("bad argument #2 to 'random' (interval is empty)")
		}
		L.Push(lua.LNumber(math.Floor(r*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func mathRandomseed(L *lua.LState) int {
	if currentRun(L) == nil {
		L.RaiseError("math.randomseed can only be called inside a script invocation")
	}
	// luaL_checkint: numbers and numeric strings.
	v := L.Get(1)
	n, ok := v.(lua.LNumber)
	if !ok {
		if str, isStr := v.(lua.LString); isStr {
			if f, err := strconv.ParseFloat(strings.TrimSpace(string(str)), 64); err == nil {
				n, ok = lua.LNumber(f), true
			}
		}
	}
	if !ok {
		L.RaiseError("bad argument #1 to 'randomseed' (number expected, got %s)", v.Type().String())
	}
	rng.seed(int32(int64(n)))
	return 0
}
