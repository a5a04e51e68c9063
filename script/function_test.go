package script

import (
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
)

func fcall(t *testing.T, f *Functions, name string, keys, args []string, c Caller) string {
	t.Helper()
	fn := f.Lookup(name)
	if fn == nil {
		return "-ERR Function not found\r\n"
	}
	w := &resp.Writer{Proto: 2}
	run := NewRun(c, fn.Name, false)
	var k, a [][]byte
	for _, x := range keys {
		k = append(k, []byte(x))
	}
	for _, x := range args {
		a = append(a, []byte(x))
	}
	f.Exec(fn, run, k, a, w)
	return string(w.B)
}

func mustLoad(t *testing.T, f *Functions, code string, replace bool) {
	t.Helper()
	if _, err := f.Load([]byte(code), replace, LoadTimeout); err != nil {
		t.Fatalf("load %q: %v", code, err)
	}
}

// The load errors are redis-server 7.0.15's replies (without "ERR ").
func TestFunctionLoadErrors(t *testing.T) {
	f := NewFunctions(nil)
	for _, tc := range []struct{ code, want string }{
		{"return 1", "Missing library metadata"},
		{"#!lua name=lib", "Invalid library metadata"},
		{"#!lua name=\"lib\nx", "Invalid library metadata"},
		{"#!lua name=\"lib\"x\nx", "Invalid library metadata"},
		{"#!lua\nx", "Library name was not given"},
		{"#!lua name=a name=b\nx", "Invalid metadata value, name argument was given multiple times"},
		{"#!lua name=test foo=bar\nx", "Invalid metadata value given: foo=bar"},
		{"#!lua name=\nx", errBadName},
		{"#!lua name=a-b\nx", errBadName},
		{"#! name=test\nx", "Engine '' not found"},
		{"#!bad_engine name=test\nx", "Engine 'bad_engine' not found"},
		{"#!lua name=lib\nreturn 1", "No functions registered"},
		{"#!lua name=lib\nreturn math.random()", "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'math'"},
		{"#!lua name=lib\nredis.call('ping')", "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"},
		{"#!lua name=lib\nreturn redis.setresp(3)", "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'setresp'"},
		{"#!lua name=lib\nreturn redis.set_repl(redis.REPL_NONE)", "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'set_repl'"},
		{"#!lua name=lib\nredis.redis.call()", "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'redis'"},
		{"#!lua name=lib\nlocal x = _G", "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable '_G'"},
		{"#!lua name=lib\nmt = getmetatable(_G)", "Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'getmetatable'"},
		{"#!lua name=lib\na = 1", "Error registering functions: ERR user_function:2: Attempt to modify a readonly table"},
		{"#!lua name=lib\nredis.x = 1", "Error registering functions: ERR user_function:2: Attempt to modify a readonly table"},
		{"#!lua name=lib\nredis.register_function()", "Error registering functions: ERR wrong number of arguments to redis.register_function"},
		{"#!lua name=lib\nredis.register_function('f1', function() return 1 end, {}, 'description', 'extra arg')", "Error registering functions: ERR wrong number of arguments to redis.register_function"},
		{"#!lua name=lib\nredis.register_function('f1')", "Error registering functions: ERR calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."},
		{"#!lua name=lib\nredis.register_function(nil, function() end)", "Error registering functions: ERR first argument to redis.register_function must be a string"},
		{"#!lua name=lib\nredis.register_function('f', 'x')", "Error registering functions: ERR second argument to redis.register_function must be a function"},
		{"#!lua name=lib\nredis.register_function('a-b', function() end)", "Error registering functions: ERR " + errBadName},
		{"#!lua name=lib\nredis.register_function('', function() end)", "Error registering functions: ERR " + errBadName},
		{"#!lua name=lib\nredis.register_function('f1', function() end) redis.register_function('f1', function() end)", "Error registering functions: ERR Function already exists in the library"},
		{"#!lua name=lib\nredis.register_function{function_name='f1'}", "Error registering functions: ERR redis.register_function must get a callback argument"},
		{"#!lua name=lib\nredis.register_function{callback=function() end}", "Error registering functions: ERR redis.register_function must get a function name argument"},
		{"#!lua name=lib\nredis.register_function{function_name=function() end, callback=function() end}", "Error registering functions: ERR function_name argument given to redis.register_function must be a string"},
		{"#!lua name=lib\nredis.register_function{function_name='f1', callback='bad'}", "Error registering functions: ERR callback argument given to redis.register_function must be a function"},
		{"#!lua name=lib\nredis.register_function{function_name='f1', callback=function() end, description=function() end}", "Error registering functions: ERR description argument given to redis.register_function must be a string"},
		{"#!lua name=lib\nredis.register_function{function_name='f1', callback=function() end, some_unknown='x'}", "Error registering functions: ERR unknown argument given to redis.register_function"},
		{"#!lua name=lib\nredis.register_function{function_name='f1', callback=function() end, flags='x'}", "Error registering functions: ERR flags argument to redis.register_function must be a table representing function flags"},
		{"#!lua name=lib\nredis.register_function{function_name='f1', callback=function() end, flags={'x'}}", "Error registering functions: ERR unknown flag given"},
		{"#!lua name=lib\nredis.register_function{function_name='f1', callback=function() end, flags={function() end}}", "Error registering functions: ERR unknown flag given"},
		{"#!lua name=lib\nlocal a = 1 while 1 do a = a + 1 end", "Error registering functions: ERR FUNCTION LOAD timeout"},
	} {
		_, err := f.Load([]byte(tc.code), true, LoadTimeout)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.code, err, tc.want)
		}
	}
	if _, err := f.Load([]byte("#!lua name=lib\nreturn 1 +"), false, 0); err == nil || !strings.HasPrefix(err.Error(), "Error compiling function: user_function:") {
		t.Errorf("compile error: %v", err)
	}
	if f.LibraryCount() != 0 || f.FunctionCount() != 0 {
		t.Errorf("failed loads left %d libraries, %d functions", f.LibraryCount(), f.FunctionCount())
	}
}

func TestFunctionLoadAndCall(t *testing.T) {
	f := NewFunctions(nil)
	c := &fakeCaller{replies: map[string]string{"ping": "+PONG\r\n", "set": "+OK\r\n"}}
	name, err := f.Load([]byte("#!LUA name=\"lib1\"\nlocal function ping() return redis.call('ping') end\n"+
		"redis.register_function('f1', function(keys, args) return ping() end)\n"+
		"redis.register_function{function_name='F2', callback=function(keys, args) return {keys[1], args[1], #keys, #args} end, flags={'NO-WRITES', 'allow-stale'}, description='some desc'}"), false, LoadTimeout)
	if err != nil || name != "lib1" {
		t.Fatalf("load: %q %v", name, err)
	}
	if got := fcall(t, f, "F1", nil, nil, c); got != "+PONG\r\n" {
		t.Errorf("f1: %q", got)
	}
	if got := fcall(t, f, "f2", []string{"k"}, []string{"a", "b"}, c); got != "*4\r\n$1\r\nk\r\n$1\r\na\r\n:1\r\n:2\r\n" {
		t.Errorf("f2: %q", got)
	}
	fn := f.Lookup("f2")
	if fn.Name != "F2" || fn.Desc != "some desc" || !fn.HasDesc || fn.Flags != FlagNoWrites|FlagAllowStale || fn.Lib.Name != "lib1" {
		t.Errorf("f2 registered as %+v", fn)
	}
	if f.Lookup("f1").HasDesc {
		t.Error("f1 has a description")
	}
	// Errors of a running function, as redis-server words them.
	mustLoad(t, f, "#!lua name=lib2\n"+
		"redis.register_function('e1', function() return redis.register_function('x', function() end) end)\n"+
		"redis.register_function('e2', function() return error('x') end)\n"+
		"redis.register_function('e3', function() return redis.call('nosuch') end)\n"+
		"redis.register_function('e4', function() return KEYS end)\n"+
		"redis.register_function('e5', function() mt = getmetatable(_G) end)\n", false)
	for fname, want := range map[string]string{
		"e1": "-ERR user_function:2: attempt to call field 'register_function' (a nil value) script: e1, on @user_function:2.\r\n",
		"e2": "-ERR user_function:3: x script: e2, on @user_function:3.\r\n",
		"e3": "-ERR Unknown Redis command called from script script: e3, on @user_function:4.\r\n",
		"e4": "-ERR user_function:5: Script attempted to access nonexistent global variable 'KEYS' script: e4, on @user_function:5.\r\n",
		"e5": "-ERR user_function:6: Attempt to modify a readonly table script: e5, on @user_function:6.\r\n",
	} {
		if got := fcall(t, f, fname, nil, nil, c); got != want {
			t.Errorf("%s:\n got %q\nwant %q", fname, got, want)
		}
	}
	if f.LibraryCount() != 2 || f.FunctionCount() != 7 {
		t.Errorf("stats %d %d", f.LibraryCount(), f.FunctionCount())
	}
}

// A library's upvalues stay writable; the load API captured at load
// is read-only and refuses to register from a function.
func TestFunctionMaliciousAccess(t *testing.T) {
	f := NewFunctions(nil)
	c := &fakeCaller{}
	mustLoad(t, f, `#!lua name=lib1
local lib = redis
local t = {}
lib.register_function('f1', function ()
    lib.redis = redis
    return {ok='OK'}
end)
lib.register_function('f2', function ()
    lib.register_function('f1', function () end)
end)
lib.register_function('f3', function ()
    t.x = (t.x or 0) + 1
    return t.x
end)
`, false)
	if got := fcall(t, f, "f1", nil, nil, c); !strings.Contains(got, "Attempt to modify a readonly table") {
		t.Errorf("f1: %q", got)
	}
	if got := fcall(t, f, "f2", nil, nil, c); !strings.Contains(got, "redis.register_function can only be called on FUNCTION LOAD command") {
		t.Errorf("f2: %q", got)
	}
	fcall(t, f, "f3", nil, nil, c)
	if got := fcall(t, f, "f3", nil, nil, c); got != ":2\r\n" {
		t.Errorf("f3: %q", got)
	}
	// The functions' globals are back to the full set after a failed load.
	if _, err := f.Load([]byte("#!lua name=lib2\nerror_it()"), false, LoadTimeout); err == nil {
		t.Fatal("load of a failing library succeeded")
	}
	mustLoad(t, f, "#!lua name=lib3\nredis.register_function('f4', function() return string.format('%d', 4) end)", false)
	if got := fcall(t, f, "f4", nil, nil, c); got != "$1\r\n4\r\n" {
		t.Errorf("f4: %q", got)
	}
}

func TestFunctionReplaceDeleteCollisions(t *testing.T) {
	f := NewFunctions(nil)
	c := &fakeCaller{}
	mustLoad(t, f, "#!lua name=lib1\nredis.register_function('f1', function() return 1 end) redis.register_function('f2', function() return 2 end)", false)
	if _, err := f.Load([]byte("#!lua name=lib1\nredis.register_function('f1', function() return 1 end)"), false, 0); err == nil || err.Error() != "Library 'lib1' already exists" {
		t.Errorf("load again: %v", err)
	}
	if _, err := f.Load([]byte("#!lua name=lib2\nredis.register_function('F1', function() return 1 end)"), true, 0); err == nil || err.Error() != "Function F1 already exists" {
		t.Errorf("collision: %v", err)
	}
	// A failed replace keeps the old library.
	if _, err := f.Load([]byte("#!lua name=lib1\nredis.register_function('f1', function() return 1 end) redis.register_function('f2', 'x')"), true, 0); err == nil {
		t.Error("bad replace succeeded")
	}
	if got := fcall(t, f, "f2", nil, nil, c); got != ":2\r\n" {
		t.Errorf("f2 after a failed replace: %q", got)
	}
	// A replace may drop functions and reuse names of its own.
	mustLoad(t, f, "#!lua name=lib1\nredis.register_function('f1', function() return 11 end)", true)
	if got := fcall(t, f, "f1", nil, nil, c); got != ":11\r\n" {
		t.Errorf("f1 after replace: %q", got)
	}
	if f.Lookup("f2") != nil {
		t.Error("f2 survived the replace")
	}
	if err := f.Delete("LIB1"); err == nil || err.Error() != "Library not found" {
		t.Errorf("delete by another case: %v", err)
	}
	if err := f.Delete("lib1"); err != nil || f.Lookup("f1") != nil || f.LibraryCount() != 0 {
		t.Errorf("delete: %v", err)
	}
	mustLoad(t, f, "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)", false)
	f.Flush()
	if f.LibraryCount() != 0 || f.Lookup("f1") != nil {
		t.Error("flush left libraries")
	}
	mustLoad(t, f, "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)", false)
}

// TestFunctionRestore follows Redis's "test function restore with
// function name collision".
func TestFunctionRestore(t *testing.T) {
	f := NewFunctions(nil)
	c := &fakeCaller{}
	mustLoad(t, f, "#!lua name=lib1\nlocal function add1(a) return a + 1 end\n"+
		"redis.register_function('f1', function() return add1(1) end)\n"+
		"redis.register_function('f2', function() return add1(2) end)\n"+
		"redis.register_function('f3', function() return add1(3) end)", false)
	dump := f.Codes()
	f.Flush()
	mustLoad(t, f, "#!lua name=lib1\nredis.register_function('f6', function() return 7 end)", false)
	mustLoad(t, f, "#!lua name=lib2\nredis.register_function('f4', function() return 5 end) redis.register_function('f5', function() return 6 end) redis.register_function('f3', function() return 4 end)", false)
	if err := f.Restore(dump, RestoreAppend); err == nil || err.Error() != "Library lib1 already exists" {
		t.Errorf("append: %v", err)
	}
	if err := f.Restore(dump, RestoreReplace); err == nil || err.Error() != "Function f3 already exists" {
		t.Errorf("replace: %v", err)
	}
	for name, want := range map[string]string{"f3": ":4\r\n", "f4": ":5\r\n", "f5": ":6\r\n", "f6": ":7\r\n"} {
		if got := fcall(t, f, name, nil, nil, c); got != want {
			t.Errorf("%s after failed restores: %q", name, got)
		}
	}
	if err := f.Restore(dump, RestoreFlush); err != nil {
		t.Fatal(err)
	}
	if f.LibraryCount() != 1 || f.FunctionCount() != 3 || f.Lookup("f6") != nil {
		t.Errorf("after flush restore: %d libraries, %d functions", f.LibraryCount(), f.FunctionCount())
	}
	if got := fcall(t, f, "f3", nil, nil, c); got != ":4\r\n" {
		t.Errorf("f3: %q", got)
	}
	mustLoad(t, f, "#!lua name=lib9\nredis.register_function('f9', function() return 9 end)", false)
	if err := f.Restore([][]byte{[]byte("#!lua name=lib1\nredis.register_function('g1', function() return 1 end)")}, RestoreReplace); err != nil {
		t.Fatal(err)
	}
	if f.Lookup("f1") != nil || f.Lookup("g1") == nil || f.Lookup("f9") == nil {
		t.Error("replace restore did not replace lib1 only")
	}
	// Two libraries of one name in a payload.
	twice := [][]byte{[]byte("#!lua name=x\nredis.register_function('x1', function() end)"), []byte("#!lua name=x\nredis.register_function('x2', function() end)")}
	if err := f.Restore(twice, RestoreFlush); err == nil || err.Error() != "Library 'x' already exists" {
		t.Errorf("duplicate in payload: %v", err)
	}
}

// A load from a master or a file has no time limit: Kill is the only way
// out of a run, and a library's load ends by itself.
func TestFunctionLoadNoTimeout(t *testing.T) {
	f := NewFunctions(nil)
	start := time.Now()
	if _, err := f.Load([]byte("#!lua name=lib\nlocal a = 0 for i = 1, 3000000 do a = a + 1 end redis.register_function('f', function() return a end)"), false, 0); err != nil {
		t.Fatal(err)
	}
	t.Logf("load took %v", time.Since(start))
}

func TestFunctionKill(t *testing.T) {
	f := NewFunctions(nil)
	mustLoad(t, f, "#!lua name=lib\nredis.register_function('f', function() local a = 1 while true do a = a + 1 end end)", false)
	fn := f.Lookup("f")
	run := NewRun(&fakeCaller{}, fn.Name, false)
	go func() {
		time.Sleep(50 * time.Millisecond)
		run.Kill()
	}()
	w := &resp.Writer{Proto: 2}
	msg := f.Exec(fn, run, nil, nil, w)
	if !strings.HasPrefix(msg, "ERR Script killed by user with SCRIPT KILL...") {
		t.Errorf("killed function: %q", msg)
	}
}
