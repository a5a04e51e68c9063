package script

import (
	"bytes"
	"fmt"
	"strings"
)

// Flags are the script flags a shebang (`#!lua flags=...`) or
// redis.register_function declares.
type Flags uint32

const (
	FlagNoWrites Flags = 1 << iota
	FlagAllowOOM
	FlagAllowStale
	FlagNoCluster
	FlagAllowCrossSlot
	// FlagEvalCompat marks an EVAL script without a shebang: the
	// pre-7.0 rules apply (it may write, may cross slots, and the
	// command's own flags decide the checks made before it runs).
	FlagEvalCompat
)

// flagNames is in Redis's order (FUNCTION LIST shows flags in it).
var flagNames = []struct {
	name string
	flag Flags
}{
	{"no-writes", FlagNoWrites},
	{"allow-oom", FlagAllowOOM},
	{"allow-stale", FlagAllowStale},
	{"no-cluster", FlagNoCluster},
	{"allow-cross-slot-keys", FlagAllowCrossSlot},
}

// FlagByName maps a flag name to its bit.
func FlagByName(name string) (Flags, bool) {
	for _, f := range flagNames {
		if f.name == name {
			return f.flag, true
		}
	}
	return 0, false
}

// Names lists the declared flags by name, in Redis's order.
func (f Flags) Names() []string {
	var out []string
	for _, n := range flagNames {
		if f&n.flag != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// ParseShebang reads the flags of an EVAL script. Without a shebang the
// script is in compatibility mode. n is the length of the shebang line
// (without its newline, which stays so that line numbers do not move).
func ParseShebang(body []byte) (flags Flags, n int, err error) {
	if !bytes.HasPrefix(body, []byte("#!")) {
		return FlagEvalCompat, 0, nil
	}
	end := bytes.IndexByte(body, '\n')
	if end < 0 {
		return 0, 0, fmt.Errorf("Invalid script shebang")
	}
	parts := strings.Fields(string(body[:end]))
	if len(parts) == 0 {
		return 0, 0, fmt.Errorf("Invalid engine in script shebang")
	}
	if parts[0] != "#!lua" {
		return 0, 0, fmt.Errorf("Unexpected engine in script shebang: %s", parts[0])
	}
	for _, p := range parts[1:] {
		list, ok := strings.CutPrefix(p, "flags=")
		if !ok {
			return 0, 0, fmt.Errorf("Unknown lua shebang option: %s", p)
		}
		for _, name := range strings.Split(list, ",") {
			if name == "" && list == "" {
				break // "flags=" declares none
			}
			f, ok := FlagByName(name)
			if !ok {
				return 0, 0, fmt.Errorf("Unexpected flag in script shebang: %s", name)
			}
			flags |= f
		}
	}
	return flags, end, nil
}
