package acl

import (
	"fmt"
	"sort"
	"strings"
)

// Registry is the set of users of one server.
type Registry struct {
	t     *Table
	users map[string]*User
	// Default is the user every new connection starts with. It always
	// exists and keeps its identity (ACL LOAD copies into it).
	Default *User
	// PubsubAll is acl-pubsub-default: new users and selectors start with
	// allchannels instead of resetchannels.
	PubsubAll bool

	Log Log
}

// NewRegistry returns a registry holding only the default user
// ("+@all ~* &* on nopass").
func NewRegistry(t *Table) *Registry {
	r := &Registry{t: t, users: map[string]*User{}}
	r.Default = r.newDefaultUser()
	r.users["default"] = r.Default
	r.Log.MaxLen = 128
	return r
}

func (r *Registry) newDefaultUser() *User {
	u := newUser(r.t, "default", r.PubsubAll)
	for _, op := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		u.apply(op, r.PubsubAll)
	}
	return u
}

// Table is the command table the users' rules refer to.
func (r *Registry) Table() *Table { return r.t }

// User returns a user by name, nil when there is none.
func (r *Registry) User(name string) *User { return r.users[name] }

// Users returns every user sorted by name (Redis keeps them in a radix
// tree: byte order).
func (r *Registry) Users() []*User {
	names := make([]string, 0, len(r.users))
	for n := range r.users {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]*User, len(names))
	for i, n := range names {
		out[i] = r.users[n]
	}
	return out
}

// Line is a user as an ACL file line and ACL LIST show it.
func Line(u *User) string { return "user " + u.name + " " + u.Describe() }

// ValidUserName reports whether a name may be used (no blanks, no NUL).
func ValidUserName(name string) bool { return !hasSpaces(name) }

// mergeSelectors joins rules that spread a "(...)" selector over several
// arguments. bad is the index of an unclosed opening, or -1.
func mergeSelectors(ops []string) (merged []string, bad int) {
	open := -1
	var sel string
	for j, op := range ops {
		if open < 0 && len(op) > 0 && op[0] == '(' && op[len(op)-1] != ')' {
			sel, open = op, j
			continue
		}
		if open >= 0 {
			sel += " " + op
			if len(op) > 0 && op[len(op)-1] == ')' {
				merged = append(merged, sel)
				open = -1
			}
			continue
		}
		merged = append(merged, op)
	}
	if open >= 0 {
		return nil, open
	}
	return merged, -1
}

// Stage applies rules to a copy of a user (a new user when u is nil) and
// returns the copy, or Redis's error text for the first bad rule; u is
// left untouched. Commit makes the copy live.
func (r *Registry) Stage(u *User, name string, ops []string) (*User, error) {
	merged, bad := mergeSelectors(ops)
	if bad >= 0 {
		return nil, fmt.Errorf("Unmatched parenthesis in acl selector starting at '%s'.", ops[bad])
	}
	var tmp *User
	if u != nil {
		tmp = u.clone()
	} else {
		tmp = newUser(r.t, name, r.PubsubAll)
	}
	for _, op := range merged {
		if err := tmp.apply(op, r.PubsubAll); err != nil {
			return nil, fmt.Errorf("Error in ACL SETUSER modifier '%s': %s", op, err)
		}
	}
	return tmp, nil
}

// Commit stores a staged user under name: the existing user, if any,
// takes its rules (keeping its identity), otherwise it is added.
func (r *Registry) Commit(name string, staged *User) *User {
	if u := r.users[name]; u != nil {
		u.copyFrom(staged)
		return u
	}
	staged.name = name
	staged.refresh()
	r.users[name] = staged
	return staged
}

// SetUser is ACL SETUSER without the connection side effects: Stage then
// Commit.
func (r *Registry) SetUser(name string, ops ...string) error {
	u := r.users[name]
	tmp, err := r.Stage(u, name, ops)
	if err != nil {
		return err
	}
	r.Commit(name, tmp)
	return nil
}

// Delete removes a user (not "default") and returns it, or nil.
func (r *Registry) Delete(name string) *User {
	u := r.users[name]
	if u == nil || u == r.Default {
		return nil
	}
	delete(r.users, name)
	return u
}

// Authenticate checks a user name and password: the user (enabled, with
// that password or nopass), or nil.
func (r *Registry) Authenticate(name, pass []byte) *User {
	u := r.users[string(name)]
	if u == nil || !u.checkPassword(pass) {
		return nil
	}
	return u
}

// SetDefaultPassword makes requirepass the default user's only password
// ("" means nopass), as Redis does when requirepass is set.
func (r *Registry) SetDefaultPassword(pw string) {
	u := r.Default
	u.apply("resetpass", r.PubsubAll)
	if pw != "" {
		u.apply(">"+pw, r.PubsubAll)
	} else {
		u.apply("nopass", r.PubsubAll)
	}
}

// ChannelsRevoked compares a user's channel permissions before (old) and
// after (staged) a change, as Redis does to disconnect subscribers: nil
// when every channel allowed before is still allowed literally; otherwise
// a function reporting whether a subscribed channel (or pattern) is no
// longer allowed.
func ChannelsRevoked(old, staged *User) func(ch []byte, isPattern bool) bool {
	var upcoming []string
	for _, s := range staged.selectors {
		if s.flags&selAllChannels != 0 {
			return nil
		}
		upcoming = append(upcoming, s.channels...)
	}
	match := true
	for _, s := range old.selectors {
		if s.flags&selAllChannels != 0 {
			match = false
			break
		}
		for _, c := range s.channels {
			if !contains(upcoming, c) {
				match = false
				break
			}
		}
		if !match {
			break
		}
	}
	if match {
		return nil
	}
	return func(ch []byte, isPattern bool) bool { return !channelAllowed(upcoming, ch, isPattern) }
}

// ConfigUser is a "user" directive of a config file: the name and rules.
type ConfigUser struct {
	Name  string
	Rules []string
}

// CheckConfigUser validates a "user" directive (words: the name, then
// the rules) as Redis does while reading config files: rules that do not
// parse are errors, except unknown commands, which are only reported when
// the users are loaded. It returns Redis's message ("Error in user
// declaration '...': ..."), which names the word at the rule's index in
// the whole directive, as Redis does.
func (r *Registry) CheckConfigUser(words []string) error {
	full := append([]string{"user"}, words...)
	at := func(j int) string {
		if j >= 0 && j < len(full) {
			return full[j]
		}
		return "user"
	}
	if len(words) < 1 {
		return fmt.Errorf("Error in user declaration 'user': %s", errSyntax)
	}
	fake := newUser(r.t, "__fakeuser__", r.PubsubAll)
	merged, bad := mergeSelectors(words[1:])
	if bad >= 0 {
		return fmt.Errorf("Error in user declaration '%s': Unmatched parenthesis in acl selector", at(bad))
	}
	for j, op := range merged {
		if err := fake.apply(op, r.PubsubAll); err != nil && !IsUnknownCommand(err) {
			return fmt.Errorf("Error in user declaration '%s': %s", at(j), err)
		}
	}
	return nil
}

// LoadConfigUsers creates the users of config-file "user" directives
// (the default user is reset first when it is among them). The first bad
// rule stops the load with a message for the log.
func (r *Registry) LoadConfigUsers(users []ConfigUser) error {
	for _, cu := range users {
		if hasSpaces(cu.Name) {
			return fmt.Errorf("Spaces not allowed in ACL usernames")
		}
		u := r.users[cu.Name]
		if u == nil {
			u = newUser(r.t, cu.Name, r.PubsubAll)
			r.users[cu.Name] = u
		} else {
			u.apply("reset", r.PubsubAll)
		}
		merged, _ := mergeSelectors(cu.Rules)
		for _, op := range merged {
			if err := u.apply(op, r.PubsubAll); err != nil {
				return fmt.Errorf("Error loading ACL rule '%s' for the user named '%s': %s", op, cu.Name, err)
			}
		}
	}
	return nil
}

// ParseFile reads an ACL file (lines "user <name> <rules...>") into a new
// set of users, as ACL LOAD does: every error of every line is collected
// and then nothing is loaded. file is the name used in messages.
func (r *Registry) ParseFile(file, text string) (map[string]*User, error) {
	users := map[string]*User{}
	var errs strings.Builder
	for i, line := range strings.Split(text, "\n") {
		lineno := i + 1
		line = strings.Trim(line, " \t\r\n")
		if line == "" {
			continue
		}
		argv := strings.Split(line, " ")
		if argv[0] != "user" || len(argv) < 2 {
			fmt.Fprintf(&errs, "%s:%d should start with user keyword followed by the username. ", file, lineno)
			continue
		}
		if hasSpaces(argv[1]) {
			fmt.Fprintf(&errs, "'%s:%d: username '%s' contains invalid characters. ", file, lineno, argv[1])
			continue
		}
		if users[argv[1]] != nil {
			fmt.Fprintf(&errs, "WARNING: Duplicate user '%s' found on line %d. ", argv[1], lineno)
			continue
		}
		u := newUser(r.t, argv[1], r.PubsubAll)
		users[argv[1]] = u
		merged, bad := mergeSelectors(argv[2:])
		if bad >= 0 {
			fmt.Fprintf(&errs, "%s:%d: Unmatched parenthesis in selector definition.", file, lineno)
		}
		syntaxErr := false
		for _, op := range merged {
			op = strings.Trim(op, "\t\r\n")
			if err := u.apply(op, r.PubsubAll); err != nil {
				if IsUnknownCommand(err) {
					fmt.Fprintf(&errs, "%s:%d: Error in applying operation '%s': %s. ", file, lineno, op, err)
				} else if !syntaxErr {
					fmt.Fprintf(&errs, "%s:%d: %s. ", file, lineno, err)
					syntaxErr = true
				}
			}
		}
	}
	if errs.Len() > 0 {
		errs.WriteString("WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
		return nil, fmt.Errorf("%s", errs.String())
	}
	return users, nil
}

// Replace installs users read by ParseFile: the default user takes the
// rules of the file's "default" (or of a fresh default user when the file
// has none) and keeps its identity; every other user is replaced. It
// returns the users that were dropped or replaced (their connections
// must be closed).
func (r *Registry) Replace(users map[string]*User) (gone []*User) {
	nd := users["default"]
	if nd == nil {
		nd = r.newDefaultUser()
	}
	r.Default.copyFrom(nd)
	for name, u := range r.users {
		if u != r.Default {
			gone = append(gone, u)
		}
		delete(r.users, name)
	}
	for name, u := range users {
		if name != "default" {
			u.refresh()
			r.users[name] = u
		}
	}
	r.users["default"] = r.Default
	return gone
}

// FileText is the ACL file ACL SAVE writes: one line per user, sorted.
func (r *Registry) FileText() string {
	var b strings.Builder
	for _, u := range r.Users() {
		b.WriteString(Line(u))
		b.WriteByte('\n')
	}
	return b.String()
}
