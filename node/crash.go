package node

import (
	"fmt"
	"runtime"
	"syscall"

	"github.com/skiffdb/skiff/config"
)

func init() {
	// Redis's hidden test knob: _exit(1) instead of abort() on a failed
	// assertion. Skiff has no such path (corrupt input is refused with an
	// error; a Go panic in a command ends the process with the runtime's
	// trace), so the option is accepted for configs that set it.
	config.Register(config.Option{Name: "use-exit-on-panic", Kind: config.KindBool, Default: "no", Hidden: true})
}

// CrashReport logs what Redis calls a crash report (the line operators
// and Redis's test harness look for, then every goroutine's stack) and
// ends the process with the status of a process killed by sig. It serves
// DEBUG SEGFAULT and cmd/skiff's handler for a fatal signal sent to the
// process; faults inside Go code are panics with their own trace.
func CrashReport(log interface{ Error(string, ...any) }, sig syscall.Signal) {
	log.Error(fmt.Sprintf("Skiff %s (Redis %s compatible) crashed by signal: %d (%s)", SkiffVersion, Version, int(sig), sig))
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	log.Error("------ STACK TRACE ------\n" + string(buf[:n]))
	exitProcess(128 + int(sig))
}
