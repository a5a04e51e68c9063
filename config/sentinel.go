package config

import "strings"

// LoadOptions change how LoadWith reads the configuration.
type LoadOptions struct {
	// Sentinel is `skiff sentinel`: `sentinel <...>` directives are
	// accepted and kept verbatim, in order, for the sentinel package
	// (SentinelDirectives), and two defaults change as in redis-sentinel:
	// port 26379 and protected-mode no. The option table's defaults stay
	// Redis's (6379, yes), so a rewrite writes these two out, as Redis does.
	Sentinel bool
}

// SentinelPort is redis-sentinel's default port.
const SentinelPort = "26379"

// Directive is one `sentinel ...` line of a config file (or of the command
// line, as --sentinel ...).
type Directive struct {
	File string   // absolute path, or "command line"
	Line int      // 1-based
	Text string   // the line as written (trimmed)
	Args []string // the words after "sentinel"
}

// Error returns the start-up error for this directive with Redis's
// message (e.g. "Duplicate master name.").
func (d Directive) Error(msg string) *LineError {
	return &LineError{File: d.File, Line: d.Line, Text: d.Text, Msg: msg}
}

func (c *Config) enterSentinelMode() {
	c.sentinel = true
	c.values["port"] = SentinelPort
	if Lookup("protected-mode") != nil {
		c.values["protected-mode"] = "no"
	}
}

// SentinelMode reports whether the configuration was loaded for a
// sentinel.
func (c *Config) SentinelMode() bool { return c.sentinel }

// SentinelDirectives returns the `sentinel ...` directives in the order
// they were read (file first, then command line).
func (c *Config) SentinelDirectives() []Directive {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([]Directive(nil), c.sentinelLines...)
}

// IsSet reports whether the config file or the command line gave the
// option (by name or alias), whatever its value.
func (c *Config) IsSet(name string) bool {
	o := Lookup(name)
	if o == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.given[o.Name]
}

// sentinelDirective handles a line starting with "sentinel". A bare
// "sentinel" is accepted and ignored (Redis reads it as the switch to
// sentinel mode); in server mode anything more is Redis's load error.
func (c *Config) sentinelDirective(file string, line int, words []string, text string) error {
	args := words[1:]
	for len(args) > 0 && args[len(args)-1] == "" && file == "command line" {
		args = args[:len(args)-1] // "--sentinel" alone: the flag, no directive
	}
	if len(args) == 0 {
		if c.sentinel {
			return nil
		}
		return &LineError{File: file, Line: line, Text: strings.TrimSpace(text), Msg: "Bad directive or wrong number of arguments"}
	}
	if !c.sentinel {
		return &LineError{File: file, Line: line, Text: strings.TrimSpace(text), Msg: "sentinel directive while not in sentinel mode"}
	}
	c.mu.Lock()
	c.sentinelLines = append(c.sentinelLines, Directive{File: file, Line: line, Text: strings.TrimSpace(text),
		Args: append([]string(nil), args...)})
	c.mu.Unlock()
	return nil
}
