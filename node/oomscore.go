package node

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// oom-score-adj: the process's /proc/self/oom_score_adj follows the
// server's role as in Redis: the first value of oom-score-adj-values for
// a master, the second for a replica (the third is for Redis's fork
// children, which Skiff does not have). "yes"/"relative" add the value to
// the score the process had when the option was turned on; "absolute"
// writes it as is; "no" puts that original score back.

// oomState is process-wide, as the file is.
var oomState struct {
	mu       sync.Mutex
	adjusted bool // the score is ours: base holds the one from before
	base     int
}

const oomScorePath = "/proc/self/oom_score_adj"

// applyOOMScore sets the score for the current role; it runs on CONFIG
// SET of either option (rolled back on error, with Redis's message) and
// on every role change.
func (s *Server) applyOOMScore() error {
	mode := s.cfg.String("oom-score-adj")
	oomState.mu.Lock()
	defer oomState.mu.Unlock()
	var val int
	switch {
	case mode != "no":
		if !oomState.adjusted {
			b, err := os.ReadFile(oomScorePath)
			if err != nil {
				s.log.Warn(fmt.Sprintf("Unable to read oom_score_adj: %v", err))
				return errors.New("Failed to set current oom_score_adj. Check server logs.")
			}
			base, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				s.log.Warn(fmt.Sprintf("Unable to read oom_score_adj: %q", b))
				return errors.New("Failed to set current oom_score_adj. Check server logs.")
			}
			oomState.adjusted, oomState.base = true, base
		}
		class := 0
		if s.repl.masterHost != "" {
			class = 1
		}
		vals := strings.Fields(s.cfg.String("oom-score-adj-values"))
		if len(vals) == 3 {
			val, _ = strconv.Atoi(vals[class])
		}
		if mode != "absolute" {
			val += oomState.base
		}
		val = max(-1000, min(1000, val))
	case oomState.adjusted:
		oomState.adjusted = false
		val = oomState.base
	default:
		return nil
	}
	if err := os.WriteFile(oomScorePath, []byte(strconv.Itoa(val)+"\n"), 0); err != nil {
		s.log.Warn(fmt.Sprintf("Unable to write oom_score_adj: %v", err))
		return errors.New("Failed to set current oom_score_adj. Check server logs.")
	}
	return nil
}

// initOOMScore applies the options at start and when they change.
func (s *Server) initOOMScore() error {
	for _, name := range []string{"oom-score-adj", "oom-score-adj-values"} {
		if err := s.cfg.OnChange(name, func(string) error { return s.applyOOMScore() }); err != nil {
			return fmt.Errorf("config %s: %w", name, err)
		}
	}
	return nil
}
