package resp

// splitInline splits an inline request the way Redis does (sdssplitargs):
// blanks separate words, "double quotes" understand \xHH and C escapes,
// 'single quotes' only \'. Unquoted words alias the input; quoted ones
// are copied. ok is false on unbalanced quotes.
func splitInline(line []byte, out [][]byte) ([][]byte, bool) {
	i, n := 0, len(line)
	for {
		for i < n && isBlank(line[i]) {
			i++
		}
		if i >= n {
			return out, true
		}
		if line[i] != '"' && line[i] != '\'' {
			j := i
			for j < n && !isBlank(line[j]) && line[j] != '"' && line[j] != '\'' {
				j++
			}
			if j >= n || isBlank(line[j]) {
				out = append(out, line[i:j:j])
				i = j
				continue
			}
		}
		// Slow path: a word with quotes.
		var w []byte
		inq, insq := false, false
		for {
			if inq {
				if i >= n {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+3 < n && line[i+1] == 'x' && ishex(line[i+2]) && ishex(line[i+3]) {
					w = append(w, unhex(line[i+2])<<4|unhex(line[i+3]))
					i += 3
				} else if c == '\\' && i+1 < n {
					i++
					switch line[i] {
					case 'n':
						w = append(w, '\n')
					case 'r':
						w = append(w, '\r')
					case 't':
						w = append(w, '\t')
					case 'b':
						w = append(w, '\b')
					case 'a':
						w = append(w, '\a')
					default:
						w = append(w, line[i])
					}
				} else if c == '"' {
					if i+1 < n && !isBlank(line[i+1]) {
						return nil, false
					}
					i++
					break
				} else {
					w = append(w, c)
				}
			} else if insq {
				if i >= n {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+1 < n && line[i+1] == '\'' {
					i++
					w = append(w, '\'')
				} else if c == '\'' {
					if i+1 < n && !isBlank(line[i+1]) {
						return nil, false
					}
					i++
					break
				} else {
					w = append(w, c)
				}
			} else {
				if i >= n || isBlank(line[i]) {
					break
				}
				switch line[i] {
				case '"':
					inq = true
				case '\'':
					insq = true
				default:
					w = append(w, line[i])
				}
			}
			i++
		}
		if w == nil {
			w = []byte{}
		}
		out = append(out, w)
	}
}

func isBlank(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0
}

func ishex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
