package script

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/internal/resp"
)

// LoadTimeout bounds the run of a library's code at FUNCTION LOAD: the
// code should only register functions (Redis's LOAD_TIMEOUT_MS). Loads
// from a master, the AOF or an RDB file run without a limit.
const LoadTimeout = 500 * time.Millisecond

// EngineName is the only engine: FUNCTION LIST and STATS show it so.
const EngineName = "LUA"

// Function is one registered function.
type Function struct {
	Name string
	// Desc is the description given to register_function; HasDesc
	// tells an empty one from none (FUNCTION LIST shows none as nil).
	Desc    string
	HasDesc bool
	Flags   Flags
	Lib     *Library
	fn      *lua.LFunction
}

// Library is one loaded library: its code as given to FUNCTION LOAD
// (shebang included, which is what DUMP and the RDB file hold) and the
// functions it registered, in registration order.
type Library struct {
	Name      string
	Code      []byte
	Functions []*Function
}

// registry is a set of libraries and the index of their functions.
// Library names are case-sensitive, function names are not (FCALL TEST
// finds test), as in Redis.
type registry struct {
	libs  map[string]*Library
	funcs map[string]*Function // by lower-case name
}

func newRegistry() *registry {
	return &registry{libs: map[string]*Library{}, funcs: map[string]*Function{}}
}

func (r *registry) link(li *Library) {
	r.libs[li.Name] = li
	for _, fn := range li.Functions {
		r.funcs[strings.ToLower(fn.Name)] = fn
	}
}

func (r *registry) unlink(li *Library) {
	delete(r.libs, li.Name)
	for _, fn := range li.Functions {
		if r.funcs[strings.ToLower(fn.Name)] == fn {
			delete(r.funcs, strings.ToLower(fn.Name))
		}
	}
}

// collision returns the first function of li whose name another library
// of r already uses.
func (r *registry) collision(li *Library) *Function {
	for _, fn := range li.Functions {
		if other := r.funcs[strings.ToLower(fn.Name)]; other != nil && other.Lib != li {
			return fn
		}
	}
	return nil
}

// Functions is the Lua state of function libraries and the libraries
// loaded into it (Redis's functions lib ctx and its Lua engine). Not
// safe for concurrent use: the node runs it under its data lock.
type Functions struct {
	sb  *sandbox
	log Logger
	reg *registry
	// envMeta is the metatable of the globals proxy every library's code
	// runs with. Its __index is the real globals, except while a
	// library's code runs at load, when it is loadGlobals: the same code
	// (and the closures it creates, which share its environment) sees
	// only the load API then and the full API when FCALL runs it.
	envMeta     *lua.LTable
	globals     *lua.LTable
	loadGlobals *lua.LTable
	// loading collects the functions of the library being loaded; nil
	// outside a load, which is how register_function knows it is called
	// from a function.
	loading *Library
}

// NewFunctions creates the functions state with no library.
func NewFunctions(log Logger) *Functions {
	f := &Functions{}
	f.init(log)
	return f
}

// init builds the state into f (register_function keeps f, so Flush
// must rebuild in place rather than copy a new Functions over it).
func (f *Functions) init(log Logger) {
	sb := newSandbox(OpenLibs)
	L := sb.L
	api := registerAPI(L, log)
	// A function calling redis.register_function gets the error Lua 5.1
	// gives for a nil field: gopher-lua words a call of nil as "attempt
	// to call a non-function object" without naming the field, so the
	// runtime API holds a stub that raises Redis's text instead.
	api.RawSetString("register_function", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("attempt to call field 'register_function' (a nil value)")
		return 0
	}))
	sb.globals.RawSetString("redis", api)

	// The load API: register_function, log and the version and log-level
	// constants, nothing else; any other name is an error, as for an
	// undefined global.
	loadAPI := L.CreateTable(0, 8)
	for _, name := range []string{"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"} {
		loadAPI.RawSetString(name, api.RawGetString(name))
	}
	*f = Functions{sb: sb, log: log, reg: newRegistry()}
	loadAPI.RawSetString("register_function", L.NewFunction(f.registerFunction))
	L.SetMetatable(loadAPI, missingGlobalMeta(L))
	sb.lock()
	f.globals = sb.globals
	f.loadGlobals = L.CreateTable(0, 1)
	f.loadGlobals.RawSetString("redis", sb.protect(loadAPI))
	L.SetMetatable(f.loadGlobals, missingGlobalMeta(L))
	f.envMeta, _ = L.GetMetatable(sb.env).(*lua.LTable)
}

// missingGlobalMeta is a metatable whose __index raises Redis's error
// for an undefined global.
func missingGlobalMeta(L *lua.LState) *lua.LTable {
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		name := L.Get(2)
		if name.Type() != lua.LTString && name.Type() != lua.LTNumber {
			L.RaiseError("Second argument to luaProtectedTableError must be a string or number")
		}
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", lua.LVAsString(name))
		return 0
	}))
	return mt
}

// Close releases the state.
func (f *Functions) Close() { f.sb.L.Close() }

// Flush drops every library and starts a new state (FUNCTION FLUSH).
func (f *Functions) Flush() {
	f.sb.L.Close()
	f.init(f.log)
}

// Lookup finds a function by name, in any case; nil when there is none.
func (f *Functions) Lookup(name string) *Function {
	return f.reg.funcs[strings.ToLower(name)]
}

// Library finds a library by its exact name.
func (f *Functions) Library(name string) *Library { return f.reg.libs[name] }

// Libraries lists the libraries by name.
func (f *Functions) Libraries() []*Library {
	out := make([]*Library, 0, len(f.reg.libs))
	for _, li := range f.reg.libs {
		out = append(out, li)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LibraryCount and FunctionCount are FUNCTION STATS's figures.
func (f *Functions) LibraryCount() int  { return len(f.reg.libs) }
func (f *Functions) FunctionCount() int { return len(f.reg.funcs) }

// CodeBytes is the size of the libraries' code (an estimate of the
// memory they take: gopher-lua has no per-state allocation count).
func (f *Functions) CodeBytes() int64 {
	var n int64
	for _, li := range f.reg.libs {
		n += int64(len(li.Code))
	}
	return n
}

// Codes are the libraries' codes by library name, for FUNCTION DUMP and
// the RDB file.
func (f *Functions) Codes() [][]byte {
	libs := f.Libraries()
	out := make([][]byte, len(libs))
	for i, li := range libs {
		out[i] = li.Code
	}
	return out
}

// Delete removes a library and its functions (FUNCTION DELETE).
func (f *Functions) Delete(name string) error {
	li := f.reg.libs[name]
	if li == nil {
		return errors.New("Library not found")
	}
	f.reg.unlink(li)
	return nil
}

// Load compiles code, runs it so that it registers its functions and
// adds the library (FUNCTION LOAD [REPLACE]); it returns the library's
// name. timeout 0 runs the code without a time limit. On error nothing
// changes, and the error is Redis's reply text without its ERR code.
func (f *Functions) Load(code []byte, replace bool, timeout time.Duration) (string, error) {
	return f.loadInto(f.reg, code, replace, timeout)
}

func (f *Functions) loadInto(reg *registry, code []byte, replace bool, timeout time.Duration) (string, error) {
	engine, name, body, err := parseLibraryMeta(code)
	if err != nil {
		return "", err
	}
	if !validName(name) {
		return "", errors.New(errBadName)
	}
	if !strings.EqualFold(engine, EngineName) {
		return "", fmt.Errorf("Engine '%s' not found", engine)
	}
	old := reg.libs[name]
	if old != nil && !replace {
		return "", fmt.Errorf("Library '%s' already exists", name)
	}
	li := &Library{Name: name, Code: bytes.Clone(code)}
	if err := f.create(li, body, timeout); err != nil {
		return "", err
	}
	if len(li.Functions) == 0 {
		return "", errors.New("No functions registered")
	}
	if old != nil {
		reg.unlink(old)
	}
	if fn := reg.collision(li); fn != nil {
		if old != nil {
			reg.link(old)
		}
		return "", fmt.Errorf("Function %s already exists", fn.Name)
	}
	reg.link(li)
	return name, nil
}

const errBadName = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"

// validName: library and function names are [A-Za-z0-9_]+.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseLibraryMeta reads the shebang of a library, `#!<engine>
// name=<name>`, split as Redis splits it (quotes allowed). body is the
// code after the shebang, its newline kept so that line numbers count
// from the shebang as in Redis.
func parseLibraryMeta(code []byte) (engine, name string, body []byte, err error) {
	if !bytes.HasPrefix(code, []byte("#!")) {
		return "", "", nil, errors.New("Missing library metadata")
	}
	// Redis reads the shebang with C string functions: a NUL ends it.
	if i := bytes.IndexByte(code, 0); i >= 0 {
		code = code[:i]
	}
	end := bytes.IndexByte(code, '\n')
	if end < 0 {
		return "", "", nil, errors.New("Invalid library metadata")
	}
	parts, ok := config.SplitArgs(string(code[:end]))
	if !ok || len(parts) == 0 {
		return "", "", nil, errors.New("Invalid library metadata")
	}
	engine = strings.TrimPrefix(parts[0], "#!")
	if len(parts[0]) < 2 {
		engine = "" // a quoted `"#"` would leave part of the marker
	}
	haveName := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if haveName {
				return "", "", nil, errors.New("Invalid metadata value, name argument was given multiple times")
			}
			name, haveName = p[5:], true
			continue
		}
		return "", "", nil, fmt.Errorf("Invalid metadata value given: %s", p)
	}
	if !haveName {
		return "", "", nil, errors.New("Library name was not given")
	}
	return engine, name, code[end:], nil
}

// create compiles a library's body and runs it with the load API so
// that it registers its functions into li.
func (f *Functions) create(li *Library, body []byte, timeout time.Duration) (err error) {
	L := f.sb.L
	fn, cerr := compile(L, body, "user_function")
	if cerr != nil {
		return fmt.Errorf("Error compiling function: %s", cerr)
	}
	fn.Env = f.sb.env

	ctx, cancel := context.Background(), context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	f.envMeta.RawSetString("__index", f.loadGlobals)
	f.loading = li
	L.SetContext(ctx)
	defer func() {
		L.RemoveContext()
		cancel()
		f.loading = nil
		f.envMeta.RawSetString("__index", f.globals)
		// A panic inside gopher-lua must not take the server down.
		if p := recover(); p != nil {
			err = fmt.Errorf("Error registering functions: ERR %v", p)
		}
	}()
	top := L.GetTop()
	L.Push(fn)
	perr := L.PCall(0, 0, nil)
	L.SetTop(top)
	if perr == nil {
		return nil
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errors.New("Error registering functions: ERR FUNCTION LOAD timeout")
	}
	msg := loadErrorMessage(perr)
	return fmt.Errorf("Error registering functions: %s", msg)
}

// loadErrorMessage words an error raised by a library's code at load as
// Redis does: a table's err field, or "ERR " and the message.
func loadErrorMessage(err error) string {
	var obj lua.LValue = lua.LString(err.Error())
	if ae, ok := err.(*lua.ApiError); ok && ae.Object != nil {
		obj = ae.Object
	}
	if t, ok := obj.(*lua.LTable); ok {
		if s, ok := t.RawGetString("err").(lua.LString); ok {
			return string(s)
		}
		return "ERR execution failure"
	}
	return "ERR " + lua.LVAsString(obj)
}

// registerFunction is redis.register_function, positional (name,
// callback) or with a table of named arguments.
func (f *Functions) registerFunction(L *lua.LState) int {
	li := f.loading
	if li == nil {
		raiseErrTable(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	var fn *Function
	var msg string
	switch L.GetTop() {
	case 1:
		fn, msg = readNamedArgs(L)
	case 2:
		fn, msg = readPositionalArgs(L)
	default:
		msg = "wrong number of arguments to redis.register_function"
	}
	if msg != "" {
		raiseErrTable(L, msg)
	}
	if !validName(fn.Name) {
		raiseErrTable(L, errBadName)
	}
	for _, other := range li.Functions {
		// Redis keeps a library's functions case-sensitively but indexes
		// all functions case-insensitively, and asserts when two of one
		// library differ only in case; refusing them here is safe.
		if strings.EqualFold(other.Name, fn.Name) {
			raiseErrTable(L, "Function already exists in the library")
		}
	}
	fn.Lib = li
	li.Functions = append(li.Functions, fn)
	return 0
}

// luaString is Lua's lua_isstring + tostring: strings and numbers.
func luaString(v lua.LValue) (string, bool) {
	switch v.Type() {
	case lua.LTString, lua.LTNumber:
		return lua.LVAsString(v), true
	}
	return "", false
}

func readPositionalArgs(L *lua.LState) (*Function, string) {
	name, ok := luaString(L.Get(1))
	if !ok {
		return nil, "first argument to redis.register_function must be a string"
	}
	cb, ok := L.Get(2).(*lua.LFunction)
	if !ok {
		return nil, "second argument to redis.register_function must be a function"
	}
	return &Function{Name: name, fn: cb}, ""
}

func readNamedArgs(L *lua.LState) (*Function, string) {
	t, ok := L.Get(1).(*lua.LTable)
	if !ok {
		return nil, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."
	}
	fn := &Function{}
	haveName := false
	msg := ""
	// Redis stops at the first bad argument in table order; gopher-lua's
	// order may differ, so which of two errors is reported may too.
	t.ForEach(func(k, v lua.LValue) {
		if msg != "" {
			return
		}
		key, ok := luaString(k)
		if !ok {
			msg = "named argument key given to redis.register_function is not a string"
			return
		}
		switch strings.ToLower(key) {
		case "function_name":
			if fn.Name, ok = luaString(v); !ok {
				msg = "function_name argument given to redis.register_function must be a string"
			}
			haveName = ok
		case "description":
			if fn.Desc, ok = luaString(v); !ok {
				msg = "description argument given to redis.register_function must be a string"
			}
			fn.HasDesc = ok
		case "callback":
			if fn.fn, ok = v.(*lua.LFunction); !ok {
				msg = "callback argument given to redis.register_function must be a function"
			}
		case "flags":
			ft, ok := v.(*lua.LTable)
			if !ok {
				msg = "flags argument to redis.register_function must be a table representing function flags"
				return
			}
			flags, ok := readFlags(ft)
			if !ok {
				msg = "unknown flag given"
				return
			}
			fn.Flags = flags
		default:
			msg = "unknown argument given to redis.register_function"
		}
	})
	if msg != "" {
		return nil, msg
	}
	if !haveName {
		return nil, "redis.register_function must get a function name argument"
	}
	if fn.fn == nil {
		return nil, "redis.register_function must get a callback argument"
	}
	return fn, ""
}

// readFlags reads a flags array (t[1], t[2], ... up to the first nil);
// names compare without case.
func readFlags(t *lua.LTable) (Flags, bool) {
	var flags Flags
	for i := 1; ; i++ {
		v := t.RawGetInt(i)
		if v == lua.LNil {
			return flags, true
		}
		s, ok := luaString(v)
		if !ok {
			return 0, false
		}
		fl, ok := FlagByName(strings.ToLower(s))
		if !ok {
			return 0, false
		}
		flags |= fl
	}
}

// RestorePolicy is FUNCTION RESTORE's handling of existing libraries.
type RestorePolicy int

const (
	// RestoreAppend adds the libraries; an existing name is an error.
	RestoreAppend RestorePolicy = iota
	// RestoreReplace replaces libraries of the same names.
	RestoreReplace
	// RestoreFlush drops every library first.
	RestoreFlush
)

// Restore loads the libraries of a FUNCTION DUMP payload (or of an RDB
// file, with RestoreFlush) under policy. Every library is compiled and
// registered before anything changes: on error the current libraries
// stay as they were. Library code runs without a time limit, as Redis
// loads payloads.
func (f *Functions) Restore(codes [][]byte, policy RestorePolicy) error {
	tmp := newRegistry()
	for _, code := range codes {
		if _, err := f.loadInto(tmp, code, false, 0); err != nil {
			return err
		}
	}
	if policy == RestoreFlush {
		f.reg = tmp
		return nil
	}
	names := make([]string, 0, len(tmp.libs))
	for name := range tmp.libs {
		names = append(names, name)
	}
	sort.Strings(names)
	var replaced []*Library
	relink := func() {
		for _, li := range replaced {
			f.reg.link(li)
		}
	}
	for _, name := range names {
		old := f.reg.libs[name]
		if old == nil {
			continue
		}
		if policy != RestoreReplace {
			relink()
			return fmt.Errorf("Library %s already exists", name)
		}
		f.reg.unlink(old)
		replaced = append(replaced, old)
	}
	for _, name := range names {
		if fn := f.reg.collision(tmp.libs[name]); fn != nil {
			relink()
			return fmt.Errorf("Function %s already exists", fn.Name)
		}
	}
	for _, name := range names {
		f.reg.link(tmp.libs[name])
	}
	return nil
}

// Exec runs a function for FCALL with its keys and arguments (the
// callback's two parameters) and writes its reply to w in w's protocol.
// It returns the error's text when the reply is an error.
func (f *Functions) Exec(fn *Function, run *Run, keys, args [][]byte, w *resp.Writer) (errMsg string) {
	L := f.sb.L
	return execFunction(L, fn.fn, []lua.LValue{stringArray(L, keys), stringArray(L, args)}, run, w)
}
