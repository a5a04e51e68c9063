package node

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

type lineLog struct{ lines []string }

func (l *lineLog) Error(msg string, args ...any) { l.lines = append(l.lines, fmt.Sprint(msg, args)) }

func TestCrashReport(t *testing.T) {
	var code int
	old := exitProcess
	exitProcess = func(c int) { code = c }
	t.Cleanup(func() { exitProcess = old })
	var l lineLog
	CrashReport(&l, syscall.SIGSEGV)
	if code != 139 {
		t.Errorf("exit status %d, want 139", code)
	}
	all := strings.Join(l.lines, "\n")
	if !strings.Contains(all, "crashed by signal: 11") || !strings.Contains(all, "STACK TRACE") || !strings.Contains(all, "TestCrashReport") {
		t.Errorf("crash report lacks the signal line or the stacks: %.300q", all)
	}
}
