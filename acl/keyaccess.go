package acl

// UnrestrictedKeyAccess reports whether the user may run a command line
// through a selector that also grants the key permissions of flags
// (KeyAccess, KeyUpdate...) on every possible key name: a selector with
// allkeys, or with the pattern "*" carrying those permissions. SORT asks
// it before following BY and GET patterns, whose key names come from the
// data rather than from the command line, so ordinary key checks cannot
// cover them.
func (u *User) UnrestrictedKeyAccess(c *Command, args [][]byte, flags int) bool {
	if u.all {
		return true
	}
	need := keyPerm(flags)
	var kc keyCache
	for _, s := range u.selectors {
		if r, _ := s.check(c, args, &kc); r != OK {
			continue
		}
		if s.flags&selAllKeys != 0 {
			return true
		}
		for _, p := range s.keys {
			if p.perm&need == need && p.pattern == "*" {
				return true
			}
		}
	}
	return false
}
