package config

import (
	"strings"

	"github.com/skiffdb/skiff/internal/glob"
)

// GlobMatch is the Redis glob used by CONFIG GET.
func GlobMatch(pattern, s string, nocase bool) bool { return glob.Match(pattern, s, nocase) }

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// SplitArgs splits a line into words the way Redis reads config lines and
// inline commands: blanks separate words; "double quotes" allow \n \r \t
// \b \a \\ \" and \xHH escapes; 'single quotes' allow \'. A closing quote
// must be followed by a blank or the end. ok is false on unbalanced quotes.
func SplitArgs(line string) (words []string, ok bool) {
	i := 0
	n := len(line)
	for {
		for i < n && isSpace(line[i]) {
			i++
		}
		if i >= n {
			return words, true
		}
		var b strings.Builder
		inq, insq := false, false
		done := false
		for !done {
			if inq {
				if i >= n {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+3 < n && line[i+1] == 'x' && isHex(line[i+2]) && isHex(line[i+3]) {
					b.WriteByte(hexVal(line[i+2])<<4 | hexVal(line[i+3]))
					i += 3
				} else if c == '\\' && i+1 < n {
					i++
					switch line[i] {
					case 'n':
						b.WriteByte('\n')
					case 'r':
						b.WriteByte('\r')
					case 't':
						b.WriteByte('\t')
					case 'b':
						b.WriteByte('\b')
					case 'a':
						b.WriteByte('\a')
					default:
						b.WriteByte(line[i])
					}
				} else if c == '"' {
					if i+1 < n && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				} else {
					b.WriteByte(c)
				}
			} else if insq {
				if i >= n {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+1 < n && line[i+1] == '\'' {
					i++
					b.WriteByte('\'')
				} else if c == '\'' {
					if i+1 < n && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				} else {
					b.WriteByte(c)
				}
			} else {
				if i >= n {
					done = true
					break
				}
				switch c := line[i]; c {
				case ' ', '\n', '\r', '\t', 0:
					done = true
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					b.WriteByte(c)
				}
			}
			if i < n {
				i++
			}
		}
		words = append(words, b.String())
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
