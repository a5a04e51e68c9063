package acl

import (
	"strings"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/internal/glob"
)

// Selector flags.
const (
	selRoot = 1 << iota
	selAllKeys
	selAllChannels
	selAllCommands
)

// Key pattern permissions.
const (
	permRead  = 1
	permWrite = 2
	permAll   = permRead | permWrite
)

type keyPattern struct {
	perm    int
	pattern string
}

func (p keyPattern) String() string {
	switch p.perm {
	case permRead:
		return "%R~" + p.pattern
	case permWrite:
		return "%W~" + p.pattern
	}
	return "~" + p.pattern
}

// Selector is one set of permissions: the commands (a bit per command,
// plus allowed first arguments of otherwise denied commands), the key
// patterns and the channel patterns. A user has a root selector and may
// have more, written in parentheses; a command is allowed when one
// selector allows all of it.
type Selector struct {
	t         *Table
	flags     int
	allowed   []uint64
	firstArgs map[int][]string
	keys      []keyPattern
	channels  []string
}

func newSelector(t *Table, flags int) *Selector {
	return &Selector{t: t, flags: flags, allowed: make([]uint64, (t.bits()+63)/64)}
}

func (s *Selector) clone() *Selector {
	c := *s
	c.allowed = append([]uint64(nil), s.allowed...)
	c.keys = append([]keyPattern(nil), s.keys...)
	c.channels = append([]string(nil), s.channels...)
	c.firstArgs = nil
	for id, args := range s.firstArgs {
		if c.firstArgs == nil {
			c.firstArgs = map[int][]string{}
		}
		c.firstArgs[id] = append([]string(nil), args...)
	}
	return &c
}

func (s *Selector) bit(id int) bool { return s.allowed[id/64]&(1<<(id%64)) != 0 }

// setBit sets or clears one command bit; clearing one means the
// selector no longer holds every command, whatever the other bits say.
func (s *Selector) setBit(id int, v bool) {
	if v {
		s.allowed[id/64] |= 1 << (id % 64)
	} else {
		s.allowed[id/64] &^= 1 << (id % 64)
		s.flags &^= selAllCommands
	}
}

// changePerm allows or denies a command, and all its subcommands when it
// is a container; allowed first arguments of the command are dropped.
func (s *Selector) changePerm(c *Command, allow bool) {
	s.setBit(c.id, allow)
	delete(s.firstArgs, c.id)
	for _, sub := range c.Subcommands {
		s.setBit(sub.id, allow)
	}
}

func (s *Selector) setCategory(bit uint32, allow bool) {
	for _, c := range s.t.top {
		if c.Categories&bit != 0 {
			s.changePerm(c, allow)
		}
		for _, sub := range c.Subcommands {
			if sub.Categories&bit != 0 {
				s.changePerm(sub, allow)
			}
		}
	}
}

func (s *Selector) setAll(allow bool) {
	for i := range s.allowed {
		if allow {
			s.allowed[i] = ^uint64(0)
		} else {
			s.allowed[i] = 0
		}
	}
	if allow {
		s.flags |= selAllCommands
	} else {
		s.flags &^= selAllCommands
	}
	s.firstArgs = nil
}

func (s *Selector) addFirstArg(id int, arg string) {
	if s.firstArgs == nil {
		s.firstArgs = map[int][]string{}
	}
	for _, a := range s.firstArgs[id] {
		if strings.EqualFold(a, arg) {
			return
		}
	}
	s.firstArgs[id] = append(s.firstArgs[id], arg)
}

// hasSpaces reports whether s holds white space or NUL, which user names
// and patterns may not.
func hasSpaces(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\v', '\f', '\r', 0:
			return true
		}
	}
	return false
}

// apply changes the selector with one rule (Redis's ACLSetSelector).
func (s *Selector) apply(op string) error {
	switch {
	case strings.EqualFold(op, "allkeys") || op == "~*":
		s.flags |= selAllKeys
		s.keys = nil
	case strings.EqualFold(op, "resetkeys"):
		s.flags &^= selAllKeys
		s.keys = nil
	case strings.EqualFold(op, "allchannels") || op == "&*":
		s.flags |= selAllChannels
		s.channels = nil
	case strings.EqualFold(op, "resetchannels"):
		s.flags &^= selAllChannels
		s.channels = nil
	case strings.EqualFold(op, "allcommands") || strings.EqualFold(op, "+@all"):
		s.setAll(true)
	case strings.EqualFold(op, "nocommands") || strings.EqualFold(op, "-@all"):
		s.setAll(false)
	case op[0] == '~' || op[0] == '%':
		if s.flags&selAllKeys != 0 {
			return errPatternAfterAllKeys
		}
		perm, off := permAll, 1
		if op[0] == '%' {
			perm = 0
			for ; off < len(op); off++ {
				ch := op[off]
				if (ch == 'R' || ch == 'r') && perm&permRead == 0 {
					perm |= permRead
				} else if (ch == 'W' || ch == 'w') && perm&permWrite == 0 {
					perm |= permWrite
				} else if ch == '~' {
					off++
					break
				} else {
					return errSyntax
				}
			}
		}
		pat := op[min(off, len(op)):]
		if perm == 0 || hasSpaces(pat) {
			// Redis accepts "%~x" (no permission) and then cannot
			// describe the user; refusing it is the safe reading.
			return errSyntax
		}
		found := false
		for i := range s.keys {
			if s.keys[i].pattern == pat {
				s.keys[i].perm |= perm
				found = true
				break
			}
		}
		if !found {
			s.keys = append(s.keys, keyPattern{perm: perm, pattern: pat})
		}
		s.flags &^= selAllKeys
	case op[0] == '&':
		if s.flags&selAllChannels != 0 {
			return errPatternAfterAllChannels
		}
		pat := op[1:]
		if hasSpaces(pat) {
			return errSyntax
		}
		found := false
		for _, c := range s.channels {
			if c == pat {
				found = true
				break
			}
		}
		if !found {
			s.channels = append(s.channels, pat)
		}
		s.flags &^= selAllChannels
	case op[0] == '+' && (len(op) < 2 || op[1] != '@'):
		name := op[1:]
		i := strings.LastIndexByte(name, '|')
		if i < 0 {
			c := s.t.Lookup(name)
			if c == nil {
				return errUnknownCommand
			}
			s.changePerm(c, true)
			return nil
		}
		c := s.t.Lookup(name[:i])
		if c == nil {
			return errUnknownCommand
		}
		if c.parent != nil {
			return errFirstArgOfSub
		}
		sub := name[i+1:]
		if sub == "" {
			return errSyntax
		}
		if c.Subcommands != nil {
			sc := s.t.Lookup(name)
			if sc == nil {
				return errUnknownCommand
			}
			s.changePerm(sc, true)
			return nil
		}
		// An allowed first argument of an otherwise denied command
		// (SELECT|0): deprecated in Redis, still accepted.
		s.addFirstArg(c.id, sub)
	case op[0] == '-' && (len(op) < 2 || op[1] != '@'):
		c := s.t.Lookup(op[1:])
		if c == nil {
			return errUnknownCommand
		}
		s.changePerm(c, false)
	case (op[0] == '+' || op[0] == '-') && op[1] == '@':
		bit := CategoryBit(op[2:])
		if bit == 0 {
			return errUnknownCommand
		}
		s.setCategory(bit, op[0] == '+')
	default:
		return errSyntax
	}
	return nil
}

// selectorFromOps builds a selector from "(rule rule ...)".
func selectorFromOps(t *Table, op string, pubsubAll bool) (*Selector, error) {
	flags := 0
	if pubsubAll {
		flags |= selAllChannels
	}
	s := newSelector(t, flags)
	words, ok := config.SplitArgs(op[1 : len(op)-1])
	if !ok {
		words = nil // as sdssplitargs: an unbalanced quote yields no rules
	}
	for _, w := range words {
		if w == "" {
			continue
		}
		if err := s.apply(w); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Check results.
const (
	OK = iota
	DeniedCommand
	DeniedKey
	DeniedChannel
	DeniedAuth
)

// keyCache computes the keys of a command line once for all selectors.
type keyCache struct {
	done bool
	keys []KeyRef
}

func (kc *keyCache) get(c *Command, args [][]byte) []KeyRef {
	if !kc.done {
		kc.keys = c.Keys(args)
		kc.done = true
	}
	return kc.keys
}

func keyPerm(flags int) int {
	p := 0
	if flags&KeyAccess != 0 {
		p |= permRead
	}
	if flags&(KeyInsert|KeyDelete|KeyUpdate) != 0 {
		p |= permWrite
	}
	return p
}

func (s *Selector) checkKey(key []byte, flags int) bool {
	if s.flags&selAllKeys != 0 {
		return true
	}
	need := keyPerm(flags)
	for _, p := range s.keys {
		if p.perm&need != need {
			continue
		}
		if glob.MatchBytes([]byte(p.pattern), key, false) {
			return true
		}
	}
	return false
}

// channelAllowed checks a channel (or, for PSUBSCRIBE, a pattern, which
// must appear literally) against a list of channel patterns.
func channelAllowed(list []string, ch []byte, isPattern bool) bool {
	for _, p := range list {
		if isPattern {
			if p == string(ch) {
				return true
			}
		} else if glob.MatchBytes([]byte(p), ch, false) {
			return true
		}
	}
	return false
}

// check is Redis's ACLSelectorCheckCmd: the command bit (or an allowed
// first argument), then every key, then every channel.
func (s *Selector) check(c *Command, args [][]byte, kc *keyCache) (int, int) {
	if s.flags&selAllCommands == 0 && !c.NoAuth && !s.bit(c.id) {
		allowed := s.firstArgs[c.id]
		if len(args) < 2 || allowed == nil {
			return DeniedCommand, 0
		}
		idx := 1
		if c.parent != nil {
			idx = 2
		}
		ok := false
		if idx < len(args) {
			for _, a := range allowed {
				if strings.EqualFold(a, string(args[idx])) {
					ok = true
					break
				}
			}
		}
		if !ok {
			return DeniedCommand, 0
		}
	}
	if s.flags&selAllKeys == 0 && c.Keys != nil {
		for _, k := range kc.get(c, args) {
			if !s.checkKey(args[k.Pos], k.Flags) {
				return DeniedKey, k.Pos
			}
		}
	}
	if s.flags&selAllChannels == 0 && c.Channels != nil {
		for _, ch := range c.Channels(args) {
			if ch.Flags&(ChannelPublish|ChannelSubscribe) == 0 {
				continue
			}
			if !channelAllowed(s.channels, args[ch.Pos], ch.Flags&ChannelPattern != 0) {
				return DeniedChannel, ch.Pos
			}
		}
	}
	return OK, 0
}
