package script

import (
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// Log levels of redis.log (Redis's LL_*).
const (
	LogDebug   = 0
	LogVerbose = 1
	LogNotice  = 2
	LogWarning = 3
)

// Version is what redis.REDIS_VERSION reports.
const (
	Version    = "7.0.15"
	VersionNum = 0x07000f
)

// Logger receives redis.log lines at or above the server's verbosity.
type Logger func(level int, msg string)

// registerAPI builds the redis table shared by scripts and functions.
// The callers add what only one of them has.
func registerAPI(L *lua.LState, log Logger) *lua.LTable {
	t := L.CreateTable(0, 32)
	fn := func(name string, f lua.LGFunction) { t.RawSetString(name, L.NewFunction(f)) }
	h := holderFor(L) // looked up once, not at every call
	fn("call", func(L *lua.LState) int { return redisCallMode(L, h, true, callValue) })
	fn("pcall", func(L *lua.LState) int { return redisCallMode(L, h, false, callValue) })
	fn("sha1hex", func(L *lua.LState) int {
		if L.GetTop() != 1 {
			raiseErrTable(L, "wrong number of arguments")
		}
		s := ""
		if v := L.Get(1); v.Type() == lua.LTString || v.Type() == lua.LTNumber {
			s = lua.LVAsString(v)
		}
		sum := sha1.Sum([]byte(s))
		L.Push(lua.LString(hex.EncodeToString(sum[:])))
		return 1
	})
	fn("error_reply", func(L *lua.LState) int {
		if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
			L.Push(errorTable(L, "wrong number or type of arguments"))
			return 1
		}
		msg := L.ToString(1)
		if !strings.HasPrefix(msg, "-") {
			msg = "-" + msg
		}
		L.Push(errorTable(L, msg))
		return 1
	})
	fn("status_reply", func(L *lua.LState) int {
		if L.GetTop() != 1 || L.Get(1).Type() != lua.LTString {
			L.Push(errorTable(L, "wrong number or type of arguments"))
			return 1
		}
		r := L.CreateTable(0, 1)
		r.RawSetString("ok", L.Get(1))
		L.Push(r)
		return 1
	})
	fn("log", func(L *lua.LState) int {
		argc := L.GetTop()
		if argc < 2 {
			raiseErrTable(L, "redis.log() requires two arguments or more.")
		}
		lv, ok := L.Get(1).(lua.LNumber)
		if !ok {
			if s, isStr := L.Get(1).(lua.LString); isStr {
				if f, err := strconv.ParseFloat(strings.TrimSpace(string(s)), 64); err == nil {
					lv, ok = lua.LNumber(f), true
				}
			}
		}
		if !ok {
			raiseErrTable(L, "First argument must be a number (log level).")
		}
		level := int(lv)
		if level < LogDebug || level > LogWarning {
			raiseErrTable(L, "Invalid debug level.")
		}
		var b strings.Builder
		for i := 2; i <= argc; i++ {
			v := L.Get(i)
			if v.Type() != lua.LTString && v.Type() != lua.LTNumber {
				continue
			}
			if i != 2 {
				b.WriteByte(' ')
			}
			b.WriteString(lua.LVAsString(v))
		}
		if log != nil {
			log(level, b.String())
		}
		return 0
	})
	for name, v := range map[string]int{"LOG_DEBUG": LogDebug, "LOG_VERBOSE": LogVerbose, "LOG_NOTICE": LogNotice, "LOG_WARNING": LogWarning} {
		t.RawSetString(name, lua.LNumber(v))
	}
	t.RawSetString("REDIS_VERSION", lua.LString(Version))
	t.RawSetString("REDIS_VERSION_NUM", lua.LNumber(VersionNum))
	fn("setresp", func(L *lua.LState) int {
		r := currentRun(L)
		if r == nil {
			raiseErrTable(L, "redis.setresp can only be called inside a script invocation")
		}
		if L.GetTop() != 1 {
			raiseErrTable(L, "redis.setresp() requires one argument.")
		}
		v := int(L.ToNumber(1))
		if v != 2 && v != 3 {
			raiseErrTable(L, "RESP version must be 2 or 3.")
		}
		r.Resp = v
		return 0
	})
	fn("set_repl", func(L *lua.LState) int {
		r := currentRun(L)
		if r == nil {
			raiseErrTable(L, "redis.set_repl can only be called inside a script invocation")
		}
		if L.GetTop() != 1 {
			raiseErrTable(L, "redis.set_repl() requires two arguments.")
		}
		v := int(L.ToNumber(1))
		if v&^ReplAll != 0 {
			raiseErrTable(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
		}
		r.Repl = v
		return 0
	})
	for name, v := range map[string]int{"REPL_NONE": ReplNone, "REPL_AOF": ReplAOF, "REPL_SLAVE": ReplReplica, "REPL_REPLICA": ReplReplica, "REPL_ALL": ReplAll} {
		t.RawSetString(name, lua.LNumber(v))
	}
	fn("acl_check_cmd", func(L *lua.LState) int {
		r := currentRun(L)
		if r == nil {
			raiseErrTable(L, "redis.acl_check_cmd can only be called inside a script invocation")
		}
		args, errMsg := callArgs(L, holderOf(L))
		if errMsg != "" {
			raiseErrTable(L, errMsg)
		}
		allowed, known := r.Caller.ACLCheck(args)
		if !known {
			raiseErrTable(L, "Invalid command passed to redis.acl_check_cmd()")
		}
		L.Push(lua.LBool(allowed))
		return 1
	})
	return t
}

// raiseErrTable raises Redis's {err="ERR msg"} error.
func raiseErrTable(L *lua.LState, msg string) {
	L.Error(errorTable(L, msg), 0)
}

// callArgs converts redis.call's arguments: strings as they are, numbers
// with %.17g (Lua's own conversion would lose precision). The result is
// valid until the next call (it lives in the state's scratch space).
func callArgs(L *lua.LState, h *runHolder) ([][]byte, string) {
	n := L.GetTop()
	if n == 0 {
		return nil, "Please specify at least one argument for this redis lib call"
	}
	if h == nil {
		h = &runHolder{}
	}
	buf := h.argBuf[:0]
	ends := h.argv[:0]
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			buf = append(buf, v...)
		case lua.LNumber:
			// Go's 'g' with 17 digits is C's %.17g, exponents included.
			buf = strconv.AppendFloat(buf, float64(v), 'g', 17, 64)
		default:
			return nil, "Lua redis lib command arguments must be strings or integers"
		}
		// For now only the length counts: the argument's end offset.
		ends = append(ends, buf[:len(buf):len(buf)])
	}
	// ends[i] holds buf up to argument i's end; cut the starts now that
	// buf no longer moves.
	start := 0
	for i := range ends {
		end := len(ends[i])
		ends[i] = buf[start:end:end]
		start = end
	}
	h.argBuf, h.argv = buf, ends
	return ends, ""
}

// How a call site uses redis.call's result (specialize.go).
const (
	callValue    = iota // an ordinary call: the reply as a Lua value
	callDropped         // a statement: the reply is not used
	callReturned        // `return redis.call(...)` in the main chunk
)

// redisCallMode is redis.call (raise) and redis.pcall, h the state's run
// holder, at a call site that uses the result as mode says: a dropped
// result is built only when it is an error to raise; a returned status,
// integer or bulk reply stays bytes (tailMark).
func redisCallMode(L *lua.LState, h *runHolder, raise bool, mode int) int {
	r := h.run
	if r == nil {
		raiseErrTable(L, "redis.call/pcall can only be called inside a script invocation")
	}
	args, errMsg := callArgs(L, h)
	if errMsg != "" {
		t := errorTable(L, errMsg)
		if raise {
			L.Error(t, 0)
		}
		L.Push(t)
		return 1
	}
	reply, refusal := r.Caller.Call(args, r.Resp)
	if refusal != "" {
		t := errorTable(L, refusal)
		t.RawSetString("ignore_error_stats_update", lua.LTrue)
		if raise {
			L.Error(t, 0)
		}
		L.Push(t)
		return 1
	}
	isErr := len(reply) > 0 && reply[0] == '-'
	switch {
	case mode == callDropped && !(isErr && raise):
		return 0 // nothing reads it: no Lua value to build
	case mode == callReturned && !isErr && h.tailMark != nil && plainReply(reply):
		h.tail = append(h.tail[:0], reply...)
		L.Push(h.tailMark)
		return 1
	}
	v, isErr := replyToLua(L, reply)
	if isErr {
		if t, ok := v.(*lua.LTable); ok {
			t.RawSetString("ignore_error_stats_update", lua.LTrue)
		}
		if raise {
			L.Error(v, 0)
		}
	}
	L.Push(v)
	return 1
}
