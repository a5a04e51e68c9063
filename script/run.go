package script

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Caller executes the commands of a running script. The node package
// implements it with its script client.
type Caller interface {
	// Call runs one command for the script. reply is the command's RESP
	// reply in protocol resp; refusal, when set, is why the script layer
	// refused the command before running it (Redis's text, e.g. "Unknown
	// Redis command called from script" or "-NOSCRIPT ...").
	Call(args [][]byte, resp int) (reply []byte, refusal string)
	// ACLCheck reports whether the caller's user may run args (known is
	// false for an unknown command).
	ACLCheck(args [][]byte) (allowed, known bool)
}

// Propagation flags of redis.set_repl (Redis's PROPAGATE_AOF/REPL).
const (
	ReplNone    = 0
	ReplAOF     = 1
	ReplReplica = 2
	ReplAll     = ReplAOF | ReplReplica
)

// Run is one execution of a script or function.
type Run struct {
	Caller Caller
	// Name is the script's sha (EVAL) or the function's name (FCALL).
	Name string
	// Eval is set for EVAL scripts, unset for functions.
	Eval bool
	// Resp is the protocol of the replies redis.call returns: 2 until the
	// script calls redis.setresp.
	Resp int
	// Repl is what redis.set_repl allows to propagate (ReplAll at start).
	Repl int
	// Start is when the run began (monotonic).
	Start time.Time

	kill   atomic.Pointer[killCtx]
	killed atomic.Bool
	// WriteDirty is set once the script has run a write command: from
	// then on SCRIPT KILL refuses to stop it (the node sets it).
	WriteDirty atomic.Bool
}

// NewRun prepares a run for caller.
func NewRun(caller Caller, name string, eval bool) *Run {
	r := &Run{}
	r.Init(caller, name, eval, time.Now())
	return r
}

// Init prepares r, a zero Run, for caller, started at start (it must
// carry a monotonic reading): what NewRun does, for a Run kept inside the
// caller's own per-run object (one allocation per script instead of two)
// and a caller that has a cheaper clock than time.Now.
func (r *Run) Init(caller Caller, name string, eval bool, start time.Time) {
	r.Caller, r.Name, r.Eval = caller, name, eval
	r.Resp, r.Repl = 2, ReplAll
	r.Start = start
}

// Kill stops the script at its next Lua instruction (SCRIPT KILL,
// FUNCTION KILL, SHUTDOWN NOSAVE). Safe from any goroutine.
func (r *Run) Kill() {
	r.killed.Store(true)
	if c := r.kill.Load(); c != nil {
		c.stop()
	}
}

// killCtx is the context gopher-lua polls between instructions. One is
// shared by the runs of a state until a run is killed: a script costs no
// context of its own.
type killCtx struct {
	done chan struct{}
	once sync.Once
}

func newKillCtx() *killCtx { return &killCtx{done: make(chan struct{})} }

func (k *killCtx) stop()                       { k.once.Do(func() { close(k.done) }) }
func (k *killCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (k *killCtx) Done() <-chan struct{}       { return k.done }
func (k *killCtx) Value(any) any               { return nil }
func (k *killCtx) Err() error {
	select {
	case <-k.done:
		return context.Canceled
	default:
		return nil
	}
}

// Killed reports whether Kill was called.
func (r *Run) Killed() bool { return r.killed.Load() }

// runKey is where the running Run is kept in a state's registry.
const runKey = "__skiff_run"

type runHolder struct {
	run *Run
	// tailMark stands, on the Lua stack, for a reply a specialized
	// `return redis.call(...)` kept as bytes in tail (specialize.go); nil
	// in states without specialized scripts.
	tailMark *lua.LUserData
	tail     []byte
	// errFn is the state's error handler (errorHandlerOf), kept here.
	errFn *lua.LFunction
	// argBuf and argv are redis.call's argument scratch, reused from one
	// call to the next (commands copy what they keep).
	argBuf []byte
	argv   [][]byte
}

// holderOf returns the state's run holder.
func holderOf(L *lua.LState) *runHolder {
	ud, ok := L.G.Registry.RawGetString(runKey).(*lua.LUserData)
	if !ok {
		return nil
	}
	h, _ := ud.Value.(*runHolder)
	return h
}

// currentRun returns the run of the script executing on L, nil outside
// one (while a library loads, for instance).
func currentRun(L *lua.LState) *Run {
	ud, ok := L.G.Registry.RawGetString(runKey).(*lua.LUserData)
	if !ok {
		return nil
	}
	h, _ := ud.Value.(*runHolder)
	if h == nil {
		return nil
	}
	return h.run
}

// holderFor returns the state's run holder, made on first use.
func holderFor(L *lua.LState) *runHolder {
	if h := holderOf(L); h != nil {
		return h
	}
	h := &runHolder{}
	ud := L.NewUserData()
	ud.Value = h
	L.G.Registry.RawSetString(runKey, ud)
	return h
}
