package acl

// Log contexts.
const (
	ContextTopLevel = iota
	ContextMulti
	ContextLua
	ContextModule
)

// LogEntry is one ACL LOG entry.
type LogEntry struct {
	Count      int64
	Reason     int // DeniedCommand, DeniedKey, DeniedChannel, DeniedAuth
	Context    int
	Object     string // command, key, channel, or the AUTH command name
	Username   string
	CTime      int64  // unix ms of the last occurrence
	ClientInfo string // CLIENT LIST line of the last client
}

// ReasonName is the "reason" field of ACL LOG.
func (e *LogEntry) ReasonName() string {
	switch e.Reason {
	case DeniedCommand:
		return "command"
	case DeniedKey:
		return "key"
	case DeniedChannel:
		return "channel"
	case DeniedAuth:
		return "auth"
	}
	return "unknown"
}

// ContextName is the "context" field of ACL LOG.
func (e *LogEntry) ContextName() string {
	switch e.Context {
	case ContextTopLevel:
		return "toplevel"
	case ContextMulti:
		return "multi"
	case ContextLua:
		return "lua"
	case ContextModule:
		return "module"
	}
	return "unknown"
}

// Log is the ACL security log: newest first, at most MaxLen entries.
type Log struct {
	MaxLen  int64
	entries []*LogEntry
}

// groupingWindow is how close in time (ms) two similar events must be to
// share an entry.
const groupingWindow = 60000

// Add records an event. An entry among the 10 newest with the same
// reason, context, object and user, updated less than a minute apart, is
// bumped (count, time, client) and moved first instead.
func (l *Log) Add(e LogEntry) {
	e.Count = 1
	for i := 0; i < len(l.entries) && i < 10; i++ {
		m := l.entries[i]
		d := m.CTime - e.CTime
		if d < 0 {
			d = -d
		}
		if m.Reason != e.Reason || m.Context != e.Context || d > groupingWindow ||
			m.Object != e.Object || m.Username != e.Username {
			continue
		}
		m.ClientInfo = e.ClientInfo
		m.CTime = e.CTime
		m.Count++
		copy(l.entries[1:i+1], l.entries[:i])
		l.entries[0] = m
		return
	}
	l.entries = append(l.entries, nil)
	copy(l.entries[1:], l.entries)
	l.entries[0] = &e
	l.trim()
}

func (l *Log) trim() {
	for int64(len(l.entries)) > l.MaxLen {
		l.entries[len(l.entries)-1] = nil
		l.entries = l.entries[:len(l.entries)-1]
	}
}

// SetMaxLen changes acllog-max-len; the log is trimmed at the next Add,
// as Redis does.
func (l *Log) SetMaxLen(n int64) { l.MaxLen = n }

// Entries returns up to n entries, newest first.
func (l *Log) Entries(n int) []*LogEntry {
	if n > len(l.entries) {
		n = len(l.entries)
	}
	if n < 0 {
		n = 0
	}
	return l.entries[:n]
}

// Len is the number of entries.
func (l *Log) Len() int { return len(l.entries) }

// Reset empties the log.
func (l *Log) Reset() { l.entries = nil }
