package acl

import "strings"

// commandRules describes a selector's command bits as rules that would
// rebuild them (Redis's ACLDescribeSelectorCommandRules): "+@all" or
// "-@all" (by the "future commands" bit only +@all sets), then the
// categories that fit best, then single commands, subcommands and first
// arguments. Categories are tried greedily: at each step, among those
// with more commands agreeing with the user than not, the one with the
// fewest disagreements (then the most agreements).
func (s *Selector) commandRules() string {
	t := s.t
	var rules []string
	fake := newSelector(t, 0)
	additive := !s.bit(t.futureBit())
	if additive {
		rules = append(rules, "-@all")
		fake.setAll(false)
	} else {
		rules = append(rules, "+@all")
		fake.setAll(true)
	}
	temp := newSelector(t, 0)
	copy(temp.allowed, s.allowed)
	applied := make([]bool, len(Categories))
	for {
		best, minDiff, maxSame := -1, int(^uint(0)>>1), 0
		for j := range Categories {
			if applied[j] {
				continue
			}
			on, off := temp.countCategory(1 << j)
			diff, same := on, off
			if additive {
				diff, same = off, on
			}
			if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
				best, minDiff, maxSame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		bit := uint32(1) << best
		fake.setCategory(bit, additive)
		temp.setCategory(bit, !additive)
		sign := "-@"
		if additive {
			sign = "+@"
		}
		rules = append(rules, sign+Categories[best])
		applied[best] = true
	}
	for _, c := range t.top {
		rules = s.describeSingle(fake, c, rules)
		for _, sub := range c.Subcommands {
			rules = s.describeSingle(fake, sub, rules)
		}
	}
	return strings.Join(rules, " ")
}

func (s *Selector) describeSingle(fake *Selector, c *Command, rules []string) []string {
	user, f := s.bit(c.id), fake.bit(c.id)
	if user != f {
		if user {
			rules = append(rules, "+"+c.Name)
		} else {
			rules = append(rules, "-"+c.Name)
		}
		fake.changePerm(c, user)
	}
	if !user {
		for _, a := range s.firstArgs[c.id] {
			rules = append(rules, "+"+c.Name+"|"+a)
		}
	}
	return rules
}

// countCategory counts the commands of a category the selector allows
// (on) and denies (off).
func (s *Selector) countCategory(bit uint32) (on, off int) {
	for _, c := range s.t.all {
		if c.Categories&bit == 0 {
			continue
		}
		if s.bit(c.id) {
			on++
		} else {
			off++
		}
	}
	return on, off
}

// KeysString is GETUSER's "keys": "~*" or the patterns.
func (s *Selector) KeysString() string {
	if s.flags&selAllKeys != 0 {
		return "~*"
	}
	parts := make([]string, len(s.keys))
	for i, k := range s.keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, " ")
}

// ChannelsString is GETUSER's "channels": "&*" or the patterns.
func (s *Selector) ChannelsString() string {
	if s.flags&selAllChannels != 0 {
		return "&*"
	}
	parts := make([]string, len(s.channels))
	for i, c := range s.channels {
		parts[i] = "&" + c
	}
	return strings.Join(parts, " ")
}

// CommandsString is GETUSER's "commands".
func (s *Selector) CommandsString() string { return s.commandRules() }

// describe is the selector's part of an ACL LIST line.
func (s *Selector) describe() string {
	var b strings.Builder
	if s.flags&selAllKeys != 0 {
		b.WriteString("~* ")
	} else {
		for _, k := range s.keys {
			b.WriteString(k.String())
			b.WriteByte(' ')
		}
	}
	if s.flags&selAllChannels != 0 {
		b.WriteString("&* ")
	} else {
		b.WriteString("resetchannels ")
		for _, c := range s.channels {
			b.WriteString("&" + c + " ")
		}
	}
	b.WriteString(s.commandRules())
	return b.String()
}

// Describe renders the user's rules as ACL LIST shows them (without
// "user <name> "): flags, password hashes, root permissions, then each
// further selector in parentheses.
func (u *User) Describe() string {
	if u.descr != "" {
		return u.descr
	}
	var b strings.Builder
	for _, f := range userFlagNames {
		if u.flags&f.flag != 0 {
			b.WriteString(f.name)
			b.WriteByte(' ')
		}
	}
	for _, p := range u.passwords {
		b.WriteString("#" + p + " ")
	}
	for i, s := range u.selectors {
		if i == 0 {
			b.WriteString(s.describe())
		} else {
			b.WriteString(" (" + s.describe() + ")")
		}
	}
	u.descr = b.String()
	return u.descr
}

// Selectors returns the user's selectors: the root first.
func (u *User) Selectors() []*Selector { return u.selectors }

// FlagNames lists the user's flags as GETUSER shows them.
func (u *User) FlagNames() []string {
	var out []string
	for _, f := range userFlagNames {
		if u.flags&f.flag != 0 {
			out = append(out, f.name)
		}
	}
	return out
}
