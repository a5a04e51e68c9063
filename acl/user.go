package acl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// User flags, in the order ACL LIST and GETUSER show them.
const (
	FlagOn = 1 << iota
	FlagOff
	FlagNoPass
	FlagSkipSanitizePayload
	FlagSanitizePayload
)

var userFlagNames = []struct {
	name string
	flag int
}{{"on", FlagOn}, {"off", FlagOff}, {"nopass", FlagNoPass},
	{"skip-sanitize-payload", FlagSkipSanitizePayload}, {"sanitize-payload", FlagSanitizePayload}}

// User is one ACL user. Connections hold a pointer to their user: rule
// changes are made to the same User, so they apply at once to every
// connection authenticated as it. A User is not safe for concurrent use:
// the server changes and reads users under its data lock.
type User struct {
	name      string
	flags     int
	passwords []string // SHA-256 hex digests, in the order they were added
	selectors []*Selector
	t         *Table

	// all is set when the root selector allows every command, key and
	// channel: the check made on every command is then this one flag.
	all   bool
	descr string // cached description, "" when stale
}

func newUser(t *Table, name string, pubsubAll bool) *User {
	flags := selRoot
	if pubsubAll {
		flags |= selAllChannels
	}
	u := &User{name: name, flags: FlagOff, t: t}
	u.selectors = []*Selector{newSelector(t, flags)}
	return u
}

// Name is the user name.
func (u *User) Name() string { return u.name }

// Flags returns the user flags (FlagOn, FlagOff, FlagNoPass ...).
func (u *User) Flags() int { return u.flags }

// Enabled reports whether the user may authenticate (on).
func (u *User) Enabled() bool { return u.flags&FlagOff == 0 }

// NoPass reports whether any password authenticates the user.
func (u *User) NoPass() bool { return u.flags&FlagNoPass != 0 }

// AllPermissions reports whether the user may run every command on every
// key and channel: the per-command check can be skipped.
func (u *User) AllPermissions() bool { return u.all }

// Passwords returns the SHA-256 hex digests of the user's passwords.
func (u *User) Passwords() []string { return u.passwords }

func (u *User) root() *Selector { return u.selectors[0] }

// clone copies the user's rules (for staging a change).
func (u *User) clone() *User {
	c := *u
	c.passwords = append([]string(nil), u.passwords...)
	c.selectors = make([]*Selector, len(u.selectors))
	for i, s := range u.selectors {
		c.selectors[i] = s.clone()
	}
	return &c
}

// copyFrom gives u the rules of src, keeping u's identity and name
// (Redis's ACLCopyUser).
func (u *User) copyFrom(src *User) {
	name := u.name
	*u = *src.clone()
	u.name = name
	u.refresh()
}

func (u *User) refresh() {
	r := u.root()
	u.all = r.flags&(selAllCommands|selAllKeys|selAllChannels) == selAllCommands|selAllKeys|selAllChannels
	u.descr = ""
}

// HashPassword is the SHA-256 hex digest ACL stores for a password.
func HashPassword(pw []byte) string {
	sum := sha256.Sum256(pw)
	return hex.EncodeToString(sum[:])
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if (c < 'a' || c > 'f') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// apply changes the user with one rule (Redis's ACLSetUser); pubsubAll is
// acl-pubsub-default (new selectors and "reset" get allchannels).
func (u *User) apply(op string, pubsubAll bool) error {
	u.descr = ""
	defer u.refresh()
	if op == "" {
		return nil
	}
	switch {
	case strings.EqualFold(op, "on"):
		u.flags = u.flags&^FlagOff | FlagOn
	case strings.EqualFold(op, "off"):
		u.flags = u.flags&^FlagOn | FlagOff
	case strings.EqualFold(op, "skip-sanitize-payload"):
		u.flags = u.flags&^FlagSanitizePayload | FlagSkipSanitizePayload
	case strings.EqualFold(op, "sanitize-payload"):
		u.flags = u.flags&^FlagSkipSanitizePayload | FlagSanitizePayload
	case strings.EqualFold(op, "nopass"):
		u.flags |= FlagNoPass
		u.passwords = nil
	case strings.EqualFold(op, "resetpass"):
		u.flags &^= FlagNoPass
		u.passwords = nil
	case op[0] == '>' || op[0] == '#':
		var h string
		if op[0] == '>' {
			h = HashPassword([]byte(op[1:]))
		} else {
			if !validHash(op[1:]) {
				return errBadHash
			}
			h = op[1:]
		}
		if !contains(u.passwords, h) {
			u.passwords = append(u.passwords, h)
		}
		u.flags &^= FlagNoPass
	case op[0] == '<' || op[0] == '!':
		var h string
		if op[0] == '<' {
			h = HashPassword([]byte(op[1:]))
		} else {
			if !validHash(op[1:]) {
				return errBadHash
			}
			h = op[1:]
		}
		i := index(u.passwords, h)
		if i < 0 {
			return errNoSuchPassword
		}
		u.passwords = append(u.passwords[:i:i], u.passwords[i+1:]...)
	case op[0] == '(' && op[len(op)-1] == ')':
		s, err := selectorFromOps(u.t, op, pubsubAll)
		if err != nil {
			return err
		}
		u.selectors = append(u.selectors, s)
	case strings.EqualFold(op, "clearselectors"):
		u.selectors = u.selectors[:1:1]
	case strings.EqualFold(op, "reset"):
		for _, r := range []string{"resetpass", "resetkeys", "resetchannels"} {
			u.apply(r, pubsubAll)
		}
		if pubsubAll {
			u.apply("allchannels", pubsubAll)
		}
		for _, r := range []string{"off", "sanitize-payload", "clearselectors", "-@all"} {
			u.apply(r, pubsubAll)
		}
	default:
		return u.root().apply(op)
	}
	return nil
}

func contains(l []string, s string) bool { return index(l, s) >= 0 }

func index(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

// checkPassword reports whether pass authenticates the user (which must be
// enabled). The digests are compared in constant time.
func (u *User) checkPassword(pass []byte) bool {
	if u.flags&FlagOff != 0 {
		return false
	}
	if u.flags&FlagNoPass != 0 {
		return true
	}
	h := []byte(HashPassword(pass))
	for _, p := range u.passwords {
		if subtle.ConstantTimeCompare(h, []byte(p)) == 1 {
			return true
		}
	}
	return false
}

// Check reports whether the user may run a command line, as Redis
// decides it: the first selector that allows everything wins; otherwise
// the denial reported is the command if no selector allows it, else the
// key or channel at the highest position among the selectors' denials.
// pos is the argument index of the denied key or channel.
func (u *User) Check(c *Command, args [][]byte) (result, pos int) {
	if u.all {
		return OK, 0
	}
	var kc keyCache
	result = DeniedCommand
	for _, s := range u.selectors {
		r, p := s.check(c, args, &kc)
		if r == OK {
			return OK, 0
		}
		if r > result || (r == result && p > pos) {
			result, pos = r, p
		}
	}
	return result, pos
}

// CheckChannel reports whether the user may use a channel (or, with
// isPattern, subscribe to a pattern).
func (u *User) CheckChannel(ch []byte, isPattern bool) bool {
	for _, s := range u.selectors {
		if s.flags&selAllChannels != 0 || channelAllowed(s.channels, ch, isPattern) {
			return true
		}
	}
	return false
}
