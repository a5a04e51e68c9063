package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Config is the live configuration of one process. It is safe for
// concurrent use.
type Config struct {
	mu      sync.RWMutex
	values  map[string]string // by canonical option name
	file    string            // absolute path of the main config file, "" if none
	hooks   map[string][]func(string) error
	touched map[string]bool // set by this load (for Multi: first occurrence replaces default)
	given   map[string]bool // options the file or the command line set (see IsSet)

	sentinel      bool        // loaded with LoadOptions.Sentinel
	sentinelLines []Directive // the `sentinel ...` directives, in file order

	userLines    [][]string      // the `user <name> <rules...>` directives (ACL users)
	usersRewrite func() []string // the `user` lines CONFIG REWRITE writes
}

// New returns a configuration holding every option's default.
func New() *Config {
	c := &Config{values: map[string]string{}, hooks: map[string][]func(string) error{}}
	for _, o := range All() {
		c.values[o.Name] = o.Default
	}
	return c
}

// File is the config file the process started with ("" when none).
func (c *Config) File() string { return c.file }

// String returns the value of an option; it panics on an unregistered name
// because that is a programming error, not input.
func (c *Config) String(name string) string {
	c.mu.RLock()
	v, ok := c.values[name]
	c.mu.RUnlock()
	if !ok {
		if o := Lookup(name); o != nil {
			return c.String(o.Name)
		}
		panic("config: unknown option " + name)
	}
	return v
}

// Int returns an integer or memory option's value.
func (c *Config) Int(name string) int64 {
	n, _ := strconv.ParseInt(c.String(name), 10, 64)
	return n
}

// Bool returns a yes/no option's value.
func (c *Config) Bool(name string) bool { return c.String(name) == "yes" }

// OnChange registers fn to run when name is set at run time (CONFIG SET)
// and once immediately with the current value. If fn returns an error the
// set is rolled back.
func (c *Config) OnChange(name string, fn func(string) error) error {
	o := Lookup(name)
	if o == nil {
		panic("config: unknown option " + name)
	}
	c.mu.Lock()
	c.hooks[o.Name] = append(c.hooks[o.Name], fn)
	v := c.values[o.Name]
	c.mu.Unlock()
	return fn(v)
}

// Set assigns a value as a config file line would (for loading): it
// validates and stores, without running hooks.
func (c *Config) set(o *Option, value string, appendMulti bool) error {
	v, err := o.normalize(value)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if o.Multi && appendMulti && c.values[o.Name] != "" && v != "" {
		v = c.values[o.Name] + " " + v
	}
	c.values[o.Name] = v
	return nil
}

// SetPairs implements CONFIG SET name value [name value ...]: all or
// nothing. It returns Redis's error text on failure.
func (c *Config) SetPairs(pairs []string) error { return c.SetPairsAs(pairs, true) }

// SetPairsAs is SetPairs for a client that may (allowProtected) or may
// not change protected options (enable-protected-configs, decided by the
// caller, who knows the client's address).
func (c *Config) SetPairsAs(pairs []string, allowProtected bool) error {
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		return fmt.Errorf("ERR wrong number of arguments for 'config|set' command")
	}
	type change struct {
		o        *Option
		name     string // as registered: the option's name or the alias used
		old, new string
	}
	failed := func(name, why string) error {
		return fmt.Errorf("ERR CONFIG SET failed (possibly related to argument '%s') - %s", name, why)
	}
	// As Redis: the names are checked first, all of them, and the first
	// problem met is the error (so an unknown name is reported even when
	// an earlier value would not parse); then the values.
	var changes []change
	seen := map[string]bool{}
	for i := 0; i < len(pairs); i += 2 {
		name := pairs[i]
		o := Lookup(name)
		if o == nil {
			return fmt.Errorf("ERR Unknown option or number of arguments for CONFIG SET - '%s'", name)
		}
		if o.Immutable {
			return failed(name, "can't set immutable config")
		}
		if o.Protected && !allowProtected {
			return failed(name, "can't set protected config")
		}
		// Redis registers an alias as a config of its own: a name and its
		// alias in one CONFIG SET are not duplicates (the later wins).
		key := strings.ToLower(name)
		if seen[key] {
			return failed(name, "duplicate parameter")
		}
		seen[key] = true
		changes = append(changes, change{o: o, name: key, old: c.String(o.Name)})
	}
	for i := range changes {
		v, err := changes[i].o.normalize(pairs[2*i+1])
		if err != nil {
			return failed(changes[i].name, err.Error())
		}
		changes[i].new = v
	}
	// A name and its alias set together: the option's hooks see only its
	// final value.
	last := map[*Option]int{}
	for i, ch := range changes {
		last[ch.o] = i
	}
	c.mu.Lock()
	for _, ch := range changes {
		c.values[ch.o.Name] = ch.new
	}
	c.mu.Unlock()
	for i, ch := range changes {
		if last[ch.o] != i {
			continue
		}
		c.mu.RLock()
		hooks := c.hooks[ch.o.Name]
		c.mu.RUnlock()
		for _, h := range hooks {
			if err := h(ch.new); err != nil {
				// Roll every change back, re-running hooks with old values.
				c.mu.Lock()
				for _, rb := range changes {
					c.values[rb.o.Name] = rb.old
				}
				c.mu.Unlock()
				for j, rb := range changes[:i+1] {
					if last[rb.o] != j {
						continue
					}
					c.mu.RLock()
					rh := c.hooks[rb.o.Name]
					c.mu.RUnlock()
					for _, h2 := range rh {
						_ = h2(rb.old)
					}
				}
				return failed(ch.name, err.Error())
			}
		}
	}
	return nil
}

// Get implements CONFIG GET pattern [pattern ...]: name/value pairs of
// every option (by canonical name, or alias when the pattern names the
// alias exactly) matching a glob pattern.
func (c *Config) Get(patterns []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range patterns {
		lp := strings.ToLower(p)
		if !hasGlob(lp) {
			if o := Lookup(lp); o != nil && !seen[lp] {
				seen[lp] = true
				out = append(out, lp, c.String(o.Name))
			}
			continue
		}
		for _, o := range All() {
			if o.Hidden {
				continue // an exact name only, as Redis
			}
			for _, name := range append([]string{o.Name}, o.Aliases...) {
				if !seen[name] && GlobMatch(lp, name, false) {
					seen[name] = true
					out = append(out, name, c.String(o.Name))
				}
			}
		}
	}
	return out
}

func hasGlob(p string) bool { return strings.ContainsAny(p, "*?[\\") }

// Load builds a configuration from an optional file and redis-server style
// arguments ("--port 7000 --save ”"), the arguments overriding the file.
func Load(file string, args []string) (*Config, error) {
	return LoadWith(file, args, LoadOptions{})
}

// LoadWith is Load with options (sentinel mode).
func LoadWith(file string, args []string, lo LoadOptions) (*Config, error) {
	c := New()
	c.touched = map[string]bool{}
	c.given = map[string]bool{}
	if lo.Sentinel {
		c.enterSentinelMode()
	}
	if file != "" {
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		c.file = abs
		if err := c.loadFile(abs, 0); err != nil {
			return nil, err
		}
	}
	lines, err := argsToLines(args)
	if err != nil {
		return nil, err
	}
	for i, l := range lines {
		if err := c.applyDirective("command line", i+1, l, strings.Join(l, " ")); err != nil {
			return nil, err
		}
	}
	c.touched = nil
	return c, nil
}

func (c *Config) loadFile(path string, depth int) error {
	if depth > 16 {
		return fmt.Errorf("config file %s: include nesting too deep", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	for i, raw := range strings.Split(string(data), "\n") {
		line := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		words, ok := SplitArgs(line)
		if !ok {
			return &LineError{File: path, Line: i + 1, Text: line, Msg: "Unbalanced quotes in configuration line"}
		}
		if len(words) == 0 {
			continue
		}
		if strings.EqualFold(words[0], "include") {
			if len(words) != 2 {
				return &LineError{File: path, Line: i + 1, Text: line, Msg: "Bad directive or wrong number of arguments"}
			}
			inc := words[1]
			if !filepath.IsAbs(inc) {
				inc = filepath.Join(filepath.Dir(path), inc)
			}
			if err := c.loadFile(inc, depth+1); err != nil {
				return err
			}
			continue
		}
		if err := c.applyDirective(path, i+1, words, line); err != nil {
			if le, ok := err.(*LineError); ok {
				le.Text = line
			}
			return err
		}
	}
	return nil
}

func (c *Config) applyDirective(file string, line int, words []string, text string) error {
	if strings.EqualFold(words[0], "sentinel") {
		return c.sentinelDirective(file, line, words, text)
	}
	if strings.EqualFold(words[0], "user") && len(words) >= 2 {
		return c.userDirective(file, line, words)
	}
	o := Lookup(words[0])
	if o != nil && len(words) == 1 && bareDirectiveEmpty[o.Name] {
		// `save` alone in a file means `save ""`, as in Redis, whose
		// multi-argument options take zero arguments (its test suite
		// writes such lines).
		words = append(words, "")
	}
	if o == nil || len(words) < 2 || (len(words) > 2 && o.Kind != KindSpecial && o.Kind != KindString) {
		return &LineError{File: file, Line: line, Text: strings.Join(words, " "), Msg: "Bad directive or wrong number of arguments"}
	}
	value := strings.Join(words[1:], " ")
	appendMulti := o.Multi && c.touched[o.Name]
	if err := c.set(o, value, appendMulti); err != nil {
		return &LineError{File: file, Line: line, Text: strings.Join(words, " "), Msg: err.Error()}
	}
	c.touched[o.Name] = true
	c.given[o.Name] = true
	return nil
}

// userDirective records an ACL user of the config file; the rules are
// checked by the server, but a user defined twice is an error here, with
// Redis's text.
func (c *Config) userDirective(file string, line int, words []string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, u := range c.userLines {
		if u[0] == words[1] {
			return &LineError{File: file, Line: line, Text: strings.Join(words, " "),
				Msg: fmt.Sprintf("Error in user declaration '%s': Duplicate user found. A user can only be defined once in config files", words[1])}
		}
	}
	c.userLines = append(c.userLines, append([]string(nil), words[1:]...))
	return nil
}

// UserDirectives returns the "user" directives (the name, then the
// rules), in the order they were read.
func (c *Config) UserDirectives() [][]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return append([][]string(nil), c.userLines...)
}

// SetUsersRewrite sets the function giving the "user" lines CONFIG
// REWRITE writes in place of the file's (the server's current users).
func (c *Config) SetUsersRewrite(fn func() []string) {
	c.mu.Lock()
	c.usersRewrite = fn
	c.mu.Unlock()
}

// LineError is a bad directive at start-up; it names file, line and text.
type LineError struct {
	File string
	Line int
	Text string
	Msg  string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("config file %s, line %d: '%s': %s", e.File, e.Line, e.Text, e.Msg)
}

// argsToLines groups "--name v1 v2 --other v" into directives, as
// redis-server does: every --name starts a new line.
func argsToLines(args []string) ([][]string, error) {
	var lines [][]string
	for _, a := range args {
		if strings.HasPrefix(a, "--") && len(a) > 2 {
			lines = append(lines, []string{a[2:]})
			continue
		}
		if len(lines) == 0 {
			return nil, fmt.Errorf("command line: expected --option before %q", a)
		}
		lines[len(lines)-1] = append(lines[len(lines)-1], a)
	}
	for i, l := range lines {
		if len(l) == 1 {
			// "--save" with no value means an empty value, like redis-server.
			lines[i] = append(l, "")
		}
	}
	return lines, nil
}

// bareDirectiveEmpty: options a config file may name without a value,
// meaning the empty value.
var bareDirectiveEmpty = map[string]bool{"save": true, "latency-tracking-info-percentiles": true}
