package script

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/script/lualib"
)

// OpenLibs opens the libraries Redis bundles (cjson, cmsgpack, bit,
// struct) in each new state.
var OpenLibs = lualib.Open

// Script is one cached EVAL script.
type Script struct {
	SHA   string
	Body  []byte
	Flags Flags
	fn    *lua.LFunction
	// argsShared: the script only indexes KEYS and ARGV (argsOnlyIndexed),
	// so its runs share two tables that Exec refills.
	argsShared bool
}

// Eval is the Lua state of EVAL scripts and its script cache (Redis's
// lctx). Not safe for concurrent use: the node runs scripts under its
// data lock.
type Eval struct {
	sb      *sandbox
	log     Logger
	calls   *callVariants // what specialized call sites load
	scripts map[string]*Script
	// bodyBytes is the size of the cached bodies (used_memory_scripts_eval).
	bodyBytes int64
	// last is the script LookupBytes found last (the cache only grows
	// until Flush, which replaces the whole Eval).
	last *Script
	// keys and argv are the tables the argsShared scripts get as KEYS and
	// ARGV, refilled for each run.
	keys, argv sharedArray
}

// sharedArray is a KEYS or ARGV table reused from run to run.
type sharedArray struct {
	t *lua.LTable
	n int // elements set by the last fill
}

// fill makes a's table the array items, reusing the elements that did
// not change (a constant ARGV costs nothing).
func (a *sharedArray) fill(L *lua.LState, items [][]byte) *lua.LTable {
	if a.t == nil || a.n > len(items)+64 {
		// Shrinking a table leaves nils at its end, which # scans.
		a.t, a.n = L.CreateTable(len(items), 0), 0
	}
	t := a.t
	for i, it := range items {
		if old, ok := t.RawGetInt(i + 1).(lua.LString); ok && string(old) == string(it) {
			continue
		}
		t.RawSetInt(i+1, lua.LString(it))
	}
	for i := len(items) + 1; i <= a.n; i++ {
		t.RawSetInt(i, lua.LNil)
	}
	a.n = len(items)
	return t
}

// NewEval creates the EVAL state.
func NewEval(log Logger) *Eval {
	sb := newSandbox(OpenLibs)
	api := registerAPI(sb.L, log)
	L := sb.L
	api.RawSetString("replicate_commands", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LTrue) // always on since 7.0
		return 1
	}))
	api.RawSetString("breakpoint", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LFalse) // no debugging session
		return 1
	}))
	api.RawSetString("debug", L.NewFunction(func(L *lua.LState) int { return 0 }))
	sb.globals.RawSetString("redis", api)
	sb.lock()
	return &Eval{sb: sb, log: log, calls: newCallVariants(L, api), scripts: map[string]*Script{}}
}

// SHA1Hex is the script's name in the cache.
func SHA1Hex(body []byte) string {
	sum := sha1.Sum(body)
	return hex.EncodeToString(sum[:])
}

// Lookup finds a cached script by sha (any case).
func (e *Eval) Lookup(sha string) *Script {
	if len(sha) != 40 {
		return nil
	}
	return e.scripts[strings.ToLower(sha)]
}

// LookupBytes is Lookup without allocating (EVALSHA's hot path). The
// last script found is checked first: EVALSHA looks its script up twice
// (for its flags, then to run it), and a workload often repeats one.
func (e *Eval) LookupBytes(sha []byte) *Script {
	if len(sha) != 40 {
		return nil
	}
	if l := e.last; l != nil && sameSHA(sha, l.SHA) {
		return l
	}
	var low [40]byte
	for i, ch := range sha {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		low[i] = ch
	}
	sc := e.scripts[string(low[:])]
	if sc != nil {
		e.last = sc
	}
	return sc
}

// sameSHA compares a sha as given (any case) with a cached one (lower).
func sameSHA(given []byte, cached string) bool {
	if len(given) != len(cached) {
		return false
	}
	for i, ch := range given {
		if ch >= 'A' && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != cached[i] {
			return false
		}
	}
	return true
}

// LookupBody finds the cached script with this body.
func (e *Eval) LookupBody(body []byte) *Script {
	sum := sha1.Sum(body)
	var h [40]byte
	hex.Encode(h[:], sum[:])
	return e.scripts[string(h[:])]
}

// Len is the number of cached scripts.
func (e *Eval) Len() int { return len(e.scripts) }

// BodyBytes is the memory the cached bodies take.
func (e *Eval) BodyBytes() int64 { return e.bodyBytes }

// Load compiles body and caches it (SCRIPT LOAD, the first EVAL). The
// error is the reply text, e.g. "Error compiling script (new function):
// user_script:1: ...".
func (e *Eval) Load(body []byte) (*Script, error) {
	sha := SHA1Hex(body)
	if s := e.scripts[sha]; s != nil {
		return s, nil
	}
	flags, n, err := ParseShebang(body)
	if err != nil {
		return nil, err
	}
	// The shebang is blanked, its newline kept: line numbers stay.
	src := body[n:]
	fn, err := compile(e.sb.L, src, "user_script")
	if err != nil {
		return nil, fmt.Errorf("Error compiling script (new function): %s", err)
	}
	fn.Env = e.sb.env
	e.calls.specialize(fn.Proto, true)
	s := &Script{SHA: sha, Body: bytes.Clone(body), Flags: flags, fn: fn, argsShared: argsOnlyIndexed(fn.Proto)}
	e.scripts[sha] = s
	e.bodyBytes += int64(len(body)) + 40
	return s, nil
}

// compile parses and compiles src as a chunk named name.
func compile(L *lua.LState, src []byte, name string) (*lua.LFunction, error) {
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, fmt.Errorf("%s", compileError(err, name))
	}
	proto, err := lua.Compile(chunk, name)
	if err != nil {
		return nil, fmt.Errorf("%s", compileError(err, name))
	}
	trimProto(proto)
	// A main chunk has no `arg` table in Lua 5.1; gopher-lua would build
	// one (with a hash part) on every call.
	proto.IsVarArg &^= lua.VarArgNeedsArg
	return L.NewFunctionFromProto(proto), nil
}

// trimProto copies a compiled function's slices to their length:
// gopher-lua's compiler preallocates several KB per function, which a
// cache of thousands of small scripts would otherwise keep.
func trimProto(p *lua.FunctionProto) {
	p.Code = slices.Clone(p.Code)
	p.Constants = slices.Clone(p.Constants)
	p.DbgSourcePositions = slices.Clone(p.DbgSourcePositions)
	p.DbgLocals = slices.Clone(p.DbgLocals)
	p.DbgCalls = slices.Clone(p.DbgCalls)
	p.DbgUpvalues = slices.Clone(p.DbgUpvalues)
	p.FunctionPrototypes = slices.Clone(p.FunctionPrototypes)
	for _, c := range p.FunctionPrototypes {
		trimProto(c)
	}
}

// compileError words a gopher-lua parse error like Lua 5.1's
// "name:line: message near 'token'" where it can.
func compileError(err error, name string) string {
	msg := strings.TrimSpace(err.Error())
	// gopher-lua: "name line:3(column:5) near 'x':   syntax error" or
	// "name at EOF:   syntax error".
	if rest, ok := strings.CutPrefix(msg, name+" line:"); ok {
		line := rest
		if i := strings.IndexByte(rest, '('); i >= 0 {
			line = rest[:i]
		}
		near := ""
		if i := strings.Index(rest, "near '"); i >= 0 {
			near = rest[i:]
			if j := strings.Index(near, "':"); j >= 0 {
				near = near[:j+1]
			}
		}
		what := "syntax error"
		if i := strings.LastIndex(rest, ":"); i >= 0 {
			what = strings.TrimSpace(rest[i+1:])
		}
		if near != "" {
			return fmt.Sprintf("%s:%s: %s %s", name, line, what, near)
		}
		return fmt.Sprintf("%s:%s: %s", name, line, what)
	}
	if rest, ok := strings.CutPrefix(msg, name+" at EOF:"); ok {
		return fmt.Sprintf("%s:1: %s near '<eof>'", name, strings.TrimSpace(rest))
	}
	return msg
}

// Flush empties the cache and starts a new state (SCRIPT FLUSH).
func (e *Eval) Flush() {
	e.sb.L.Close()
	*e = *NewEval(e.log)
}

// Close releases the state.
func (e *Eval) Close() { e.sb.L.Close() }

// Exec runs a cached script with KEYS and ARGV and writes its reply to
// w in w's protocol. It returns the error's text when the reply is an
// error, and whether that error was already counted in the error stats
// (an error of a command the script called, re-raised).
func (e *Eval) Exec(s *Script, run *Run, keys, args [][]byte, w *resp.Writer) (errMsg string, counted bool) {
	L := e.sb.L
	g := e.sb.globals
	if s.argsShared {
		g.RawSetString("KEYS", e.keys.fill(L, keys))
		g.RawSetString("ARGV", e.argv.fill(L, args))
	} else {
		g.RawSetString("KEYS", stringArray(L, keys))
		g.RawSetString("ARGV", stringArray(L, args))
	}
	return execCounted(L, s.fn, nil, run, w)
}

func stringArray(L *lua.LState, items [][]byte) *lua.LTable {
	t := L.CreateTable(len(items), 0)
	for i, it := range items {
		t.RawSetInt(i+1, lua.LString(it))
	}
	return t
}

// execFunction calls fn(args...) for run, converts its result into w and
// returns the error text when the reply is an error.
func execFunction(L *lua.LState, fn *lua.LFunction, fnArgs []lua.LValue, run *Run, w *resp.Writer) string {
	msg, _ := execCounted(L, fn, fnArgs, run, w)
	return msg
}

// execCounted is execFunction that also reports whether the error was
// already counted in the error stats (see Exec).
func execCounted(L *lua.LState, fn *lua.LFunction, fnArgs []lua.LValue, run *Run, w *resp.Writer) (string, bool) {
	h := holderFor(L)
	if h.errFn == nil {
		h.errFn = errorHandlerOf(L) // kept here: one registry look-up less per run
	}
	h.run = run
	kc, _ := L.Context().(*killCtx)
	if kc == nil || kc.Err() != nil {
		kc = newKillCtx() // the first run, or the last one was killed
		L.SetContext(kc)
	}
	run.kill.Store(kc)
	if run.Killed() {
		kc.stop() // killed before it started
	}
	defer func() { h.run = nil }()
	L.Push(fn)
	for _, a := range fnArgs {
		L.Push(a)
	}
	err := L.PCall(len(fnArgs), 1, h.errFn)
	if err != nil {
		var obj lua.LValue = lua.LString(err.Error())
		if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
			obj = ae.Object
		}
		msg := errorReply(run, obj)
		w.AppendError(msg)
		return msg, ignoreStats(obj)
	}
	ret := L.Get(-1)
	L.Pop(1)
	if ud, ok := ret.(*lua.LUserData); ok {
		if ud == h.tailMark {
			// `return redis.call(...)` kept the reply as bytes.
			writePlainReply(w, h.tail)
			return "", false
		}
	}
	msg := writeReply(w, ret, run.Resp, 0)
	if msg != "" {
		if t, ok := ret.(*lua.LTable); ok {
			return msg, ignoreStats(t)
		}
	}
	return msg, false
}

// errorHandlerOf returns the state's error handler, made once.
func errorHandlerOf(L *lua.LState) *lua.LFunction {
	if fn, ok := L.G.Registry.RawGetString("__skiff_err_handler").(*lua.LFunction); ok {
		return fn
	}
	fn := L.NewFunction(errorHandler)
	L.G.Registry.RawSetString("__skiff_err_handler", fn)
	return fn
}

// errorHandler is Redis's __redis__err__handler: a string error becomes
// {err="ERR <msg>"}, and the table gets the source and line of the Lua
// code running when the error was raised.
func errorHandler(L *lua.LState) int {
	obj := L.Get(1)
	t, ok := obj.(*lua.LTable)
	if !ok {
		// tostring(err), as Redis's handler does.
		t = L.CreateTable(0, 3)
		t.RawSetString("err", lua.LString("ERR "+obj.String()))
	}
	if r := currentRun(L); r != nil && r.Killed() {
		t = L.CreateTable(0, 3)
		t.RawSetString("err", lua.LString(killedMessage(r)))
	}
	for lvl := 1; lvl < 1000; lvl++ {
		d, ok := L.GetStack(lvl)
		if !ok {
			break
		}
		if _, err := L.GetInfo("Sl", d, nil); err != nil {
			break
		}
		if d.What == "G" {
			continue
		}
		t.RawSetString("source", lua.LString("@"+d.Source))
		t.RawSetString("line", lua.LString(fmt.Sprint(d.CurrentLine)))
		break
	}
	L.Push(t)
	return 1
}

// killedMessage is the error of a killed script. Redis 7.0 has one text
// for both: a function stopped by FUNCTION KILL also reads "SCRIPT KILL"
// (checked against redis-server 7.0.15).
func killedMessage(r *Run) string {
	return "ERR Script killed by user with SCRIPT KILL..."
}

// ignoreStats reports an error table marked as already counted.
func ignoreStats(obj lua.LValue) bool {
	t, ok := obj.(*lua.LTable)
	return ok && lua.LVAsBool(t.RawGetString("ignore_error_stats_update"))
}

// errorReply formats a script's error as Redis's reply: the err text,
// then " script: <name>, on <source>:<line>." when known.
func errorReply(run *Run, obj lua.LValue) string {
	t, ok := obj.(*lua.LTable)
	if !ok {
		msg := "execution failure"
		if obj.Type() == lua.LTString || obj.Type() == lua.LTNumber {
			msg = lua.LVAsString(obj)
		}
		if run.Killed() {
			return killedMessage(run)
		}
		if len(msg) > 100 {
			msg = msg[:100]
		}
		return fmt.Sprintf("ERR Error running script %s, %s", run.Name, msg)
	}
	msg := "ERR execution failure"
	if s, ok := t.RawGetString("err").(lua.LString); ok {
		msg = string(s)
	}
	src, sok := t.RawGetString("source").(lua.LString)
	line, lok := t.RawGetString("line").(lua.LString)
	if sok && lok {
		msg += fmt.Sprintf(" script: %s, on %s:%s.", run.Name, src, line)
	}
	return msg
}
