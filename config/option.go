// Package config holds Skiff's configuration: a table of named options with
// Redis's names and syntax, loaded from a redis.conf-style file and
// --name value flags, readable and settable at run time (CONFIG GET/SET).
package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Kind says how an option's value is parsed and printed.
type Kind int

const (
	KindString  Kind = iota // any string
	KindBool                // yes/no
	KindInt                 // a signed integer within [Min, Max]
	KindMemory              // an integer with optional k/kb/m/mb/g/gb unit
	KindEnum                // one of Enum
	KindSpecial             // parsed by the Option's Parse function
)

// Option describes one configuration directive.
type Option struct {
	Name      string
	Aliases   []string
	Kind      Kind
	Default   string
	Enum      []string
	Min, Max  int64
	Immutable bool // CONFIG SET refuses it
	// Hidden options (Redis's HIDDEN_CONFIG: debugging knobs such as
	// key-load-delay) are matched by CONFIG GET only by their exact name,
	// never by a pattern.
	Hidden bool
	// DenyLoading options (Redis's DENY_LOADING_CONFIG: dir, appendonly,
	// repl-diskless-load) cannot be set while the server loads its
	// dataset; the server checks it, CONFIG SET answers -LOADING.
	DenyLoading bool
	// Protected options (Redis's PROTECTED_CONFIG: dir, dbfilename) can
	// be changed by CONFIG SET only as enable-protected-configs allows:
	// a client that can point the dump file anywhere can write files
	// the server's user may write.
	Protected bool
	// Multi directives may appear several times in a file; each occurrence
	// appends to the value (like "save" or "include").
	Multi bool
	// Parse normalises a KindSpecial value or returns an error text. For
	// other kinds it may add a check after the generic parse.
	Parse func(string) (string, error)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]*Option{} // by name and alias
	ordered    []*Option
)

// Register adds options to the table. It is meant to be called from init.
func Register(opts ...Option) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for i := range opts {
		o := opts[i]
		if o.Kind == KindInt && o.Min == 0 && o.Max == 0 {
			o.Min, o.Max = -1<<63, 1<<63-1
		}
		if o.Kind == KindMemory && o.Max == 0 {
			o.Max = 1<<63 - 1
		}
		if _, dup := registry[o.Name]; dup {
			panic("config: option registered twice: " + o.Name)
		}
		registry[o.Name] = &o
		for _, a := range o.Aliases {
			registry[a] = &o
		}
		ordered = append(ordered, &o)
	}
}

// Lookup finds an option by its name or alias (case-insensitive).
func Lookup(name string) *Option {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[strings.ToLower(name)]
}

// All returns every registered option sorted by name.
func All() []*Option {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := append([]*Option(nil), ordered...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// normalize parses v for the option and returns the canonical stored form.
func (o *Option) normalize(v string) (string, error) {
	switch o.Kind {
	case KindBool:
		switch strings.ToLower(v) {
		case "yes":
			v = "yes"
		case "no":
			v = "no"
		default:
			return "", fmt.Errorf("argument must be 'yes' or 'no'")
		}
	case KindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", fmt.Errorf("argument couldn't be parsed into an integer")
		}
		if n < o.Min || n > o.Max {
			return "", fmt.Errorf("argument must be between %d and %d inclusive", o.Min, o.Max)
		}
		v = strconv.FormatInt(n, 10)
	case KindMemory:
		n, err := ParseMemory(v)
		if err != nil {
			return "", fmt.Errorf("argument must be a memory value")
		}
		if n < o.Min || n > o.Max {
			return "", fmt.Errorf("argument must be between %d and %d inclusive", o.Min, o.Max)
		}
		v = strconv.FormatInt(n, 10)
	case KindEnum:
		lv := strings.ToLower(v)
		ok := false
		for _, e := range o.Enum {
			if e == lv {
				ok = true
				break
			}
		}
		if !ok {
			return "", fmt.Errorf("argument(s) must be one of the following: %s", strings.Join(o.Enum, ", "))
		}
		v = lv
	}
	if o.Parse != nil {
		return o.Parse(v)
	}
	return v, nil
}

// ParseMemory reads "100", "1k", "1kb", "2mb", "3g", "4gb" (case-insensitive)
// as Redis does: k=1000, kb=1024, m=1000^2, mb=1024^2, g=1000^3, gb=1024^3.
func ParseMemory(s string) (int64, error) {
	ls := strings.ToLower(s)
	mul := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"kb", 1024}, {"mb", 1024 * 1024}, {"gb", 1024 * 1024 * 1024}, {"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000}, {"b", 1}} {
		if strings.HasSuffix(ls, u.suf) {
			ls = strings.TrimSuffix(ls, u.suf)
			mul = u.m
			break
		}
	}
	n, err := strconv.ParseInt(ls, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid memory value %q", s)
	}
	if n != 0 && (n*mul)/mul != n {
		return 0, fmt.Errorf("memory value %q overflows", s)
	}
	return n * mul, nil
}
