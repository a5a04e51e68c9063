// Package glob matches Redis-style glob patterns (KEYS, SCAN MATCH,
// PSUBSCRIBE, CONFIG GET): * ? [abc] [^a-z] and \ escapes.
package glob

// Match reports whether str matches pattern. With nocase, ASCII letters
// compare case-insensitively.
func Match(pattern, str string, nocase bool) bool {
	var skip bool
	return match(pattern, str, nocase, 0, &skip)
}

// MatchBytes is Match for byte slices without copying.
func MatchBytes(pattern, str []byte, nocase bool) bool {
	var skip bool
	return match(string(pattern), string(str), nocase, 0, &skip)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 32
	}
	return c
}

// match walks pattern and string together; depth bounds the recursion that
// '*' causes so that hostile patterns cannot exhaust the stack. skip is set
// once a '*' has tried every suffix of the string and failed: no outer '*'
// can then succeed by handing it a shorter suffix, so the search stops
// (Redis's skipLongerMatches; without it "a*a*a*...b" is exponential).
func match(p, s string, nocase bool, depth int, skip *bool) bool {
	if depth > 1000 {
		return false
	}
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if match(p[1:], s, nocase, depth+1, skip) {
					return true
				}
				if *skip {
					return false
				}
				s = s[1:]
			}
			*skip = true
			return match(p[1:], s, nocase, depth+1, skip)
		case '?':
			if len(s) == 0 {
				return false
			}
			s = s[1:]
			p = p[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			p = p[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			matched := false
			for {
				if len(p) == 0 {
					break
				}
				if p[0] == '\\' && len(p) >= 2 {
					p = p[1:]
					if p[0] == s[0] {
						matched = true
					}
				} else if p[0] == ']' {
					break
				} else if len(p) >= 3 && p[1] == '-' {
					start, end := p[0], p[2]
					if start > end {
						start, end = end, start
					}
					c := s[0]
					if nocase {
						start, end, c = lower(start), lower(end), lower(c)
					}
					p = p[2:]
					if c >= start && c <= end {
						matched = true
					}
				} else {
					if nocase {
						if lower(p[0]) == lower(s[0]) {
							matched = true
						}
					} else if p[0] == s[0] {
						matched = true
					}
				}
				p = p[1:]
			}
			if not {
				matched = !matched
			}
			if !matched {
				return false
			}
			s = s[1:]
			if len(p) > 0 {
				p = p[1:] // skip ']'
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if len(s) == 0 {
				return false
			}
			if nocase {
				if lower(p[0]) != lower(s[0]) {
					return false
				}
			} else if p[0] != s[0] {
				return false
			}
			s = s[1:]
			p = p[1:]
		}
	}
	return len(s) == 0
}
