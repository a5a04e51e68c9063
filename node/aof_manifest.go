package node

// The AOF manifest's text form, read and written as Redis 7.0 does so that
// either server can start from the other's directory: one line per file,
// "file <name> seq <n> type <b|h|i>", names needing it written as a quoted
// string with C escapes, and a strict reader whose refusals carry Redis's
// messages (its suite and operators look for them in the log).

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/config"
)

// manifestMaxLine is the longest manifest line Redis reads (its line
// buffer), newline included in the count only when it fits.
const manifestMaxLine = 1024

// Messages of a refused manifest, in Redis's words.
const (
	manifestErrEmpty    = "Found an empty AOF manifest"
	manifestErrTooLong  = "The AOF manifest file contains too long line"
	manifestErrFormat   = "Invalid AOF manifest file format"
	manifestErrPath     = "File can't be a path, just a filename"
	manifestErrDupBase  = "Found duplicate base file information"
	manifestErrNonMono  = "Found a non-monotonic sequence number"
	manifestErrUnknownT = "Unknown AOF file type"
)

// manifestError is a manifest refused at a line (line 0: no line to show).
type manifestError struct {
	msg     string
	lineNum int
	line    string
	hasLine bool // the trimmed line is shown (also when it is empty)
}

func (e *manifestError) Error() string {
	if e.hasLine {
		return fmt.Sprintf("AOF manifest line %d (%q): %s", e.lineNum, e.line, e.msg)
	}
	return "AOF manifest: " + e.msg
}

// parseManifest reads a manifest the way Redis does: the file is taken in
// chunks of at most manifestMaxLine bytes ending at a newline, so a longer
// line, or a last line without its newline, is refused; comment lines are
// skipped, a blank line is a format error, and every line needs the three
// keys (extra key/value pairs are allowed for newer versions).
func parseManifest(data []byte) (aofManifest, *manifestError) {
	var m aofManifest
	if len(data) == 0 {
		return m, &manifestError{msg: manifestErrEmpty}
	}
	var maxSeq int64
	lineNum := 0
	for len(data) > 0 {
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 || n > manifestMaxLine {
			n = min(len(data), manifestMaxLine)
		}
		chunk := data[:n]
		data = data[n:]
		lineNum++
		if chunk[0] == '#' {
			continue
		}
		if chunk[len(chunk)-1] != '\n' {
			return m, &manifestError{msg: manifestErrTooLong, lineNum: lineNum}
		}
		line := strings.Trim(string(chunk), " \t\r\n")
		bad := func(msg string) *manifestError {
			return &manifestError{msg: msg, lineNum: lineNum, line: line, hasLine: true}
		}
		if line == "" {
			return m, bad(manifestErrFormat)
		}
		words, ok := config.SplitArgs(line) // Redis reads the manifest with sdssplitargs, as its config
		// At least the three pairs; more are tolerated, as written by
		// later versions.
		if !ok || len(words) < 6 || len(words)%2 != 0 {
			return m, bad(manifestErrFormat)
		}
		var f aofFile
		for i := 0; i < len(words); i += 2 {
			switch strings.ToLower(words[i]) {
			case "file":
				f.name = words[i+1]
				if strings.ContainsAny(f.name, "/\\") {
					return m, bad(manifestErrPath)
				}
			case "seq":
				f.seq = atoll(words[i+1])
			case "type":
				if words[i+1] != "" {
					f.typ = words[i+1][0]
				}
			}
		}
		if f.name == "" || f.seq == 0 || f.typ == 0 {
			return m, bad(manifestErrFormat)
		}
		switch f.typ {
		case 'b':
			if m.base != nil {
				return m, bad(manifestErrDupBase)
			}
			fc := f
			m.base = &fc
		case 'h':
			m.hist = append(m.hist, f)
		case 'i':
			if f.seq <= maxSeq {
				return m, bad(manifestErrNonMono)
			}
			maxSeq = f.seq
			m.incr = append(m.incr, f)
		default:
			return m, bad(manifestErrUnknownT)
		}
	}
	return m, nil
}

// atoll reads a leading, optionally signed, decimal number and ignores
// the rest, as C's atoll: "12x" is 12, "x" is 0 (refused later as a
// missing seq).
func atoll(s string) int64 {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	end := 0
	if end < len(s) && (s[end] == '+' || s[end] == '-') {
		end++
	}
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.ParseInt(s[:end], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// needsRepr says whether a file name must be quoted in the manifest: it
// holds a blank, a quote, a backslash or a byte that is not printable
// ASCII.
func needsRepr(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' || c == '"' || c < 0x21 || c > 0x7e {
			return true
		}
	}
	return false
}

// repr quotes s with the escapes splitArgs reads back: \\ \" \n \r \t \a
// \b, other unprintable bytes as \xhh, printable ASCII (space included)
// as it is.
func repr(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c >= 0x20 && c <= 0x7e {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, `\x%02x`, c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// format writes the manifest: base, history, then incremental files in
// their order.
func (m *aofManifest) format() []byte {
	var b bytes.Buffer
	line := func(f aofFile) {
		name := f.name
		if needsRepr(name) {
			name = repr(name)
		}
		fmt.Fprintf(&b, "file %s seq %d type %c\n", name, f.seq, f.typ)
	}
	if m.base != nil {
		line(*m.base)
	}
	for _, f := range m.hist {
		line(f)
	}
	for _, f := range m.incr {
		line(f)
	}
	return b.Bytes()
}
