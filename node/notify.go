package node

// Keyspace notifications: the notify-keyspace-events option and the
// publishing of events on __keyspace@<db>__:<key> and
// __keyevent@<db>__:<event>.

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/store"
)

// notifyAll is the 'A' alias: every class except key-miss (and new-key).
const notifyAll = notifyGeneric | notifyString | notifyList | notifySet | notifyHash |
	notifyZSet | notifyExpired | notifyEvicted | notifyStream | notifyModule

var errNotifyClass = errors.New("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")

func init() {
	// CONFIG GET shows the classes in Redis's canonical order ("KEA"
	// reads back as "AKE"), so the option is normalised when set.
	if o := config.Lookup("notify-keyspace-events"); o != nil {
		o.Parse = func(v string) (string, error) {
			f, err := parseNotifyFlags(v)
			if err != nil {
				return "", err
			}
			return notifyFlagsString(f), nil
		}
	}
}

// parseNotifyFlags reads notify-keyspace-events letters.
func parseNotifyFlags(v string) (int, error) {
	flags := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case 'A':
			flags |= notifyAll
		case 'g':
			flags |= notifyGeneric
		case '$':
			flags |= notifyString
		case 'l':
			flags |= notifyList
		case 's':
			flags |= notifySet
		case 'h':
			flags |= notifyHash
		case 'z':
			flags |= notifyZSet
		case 'x':
			flags |= notifyExpired
		case 'e':
			flags |= notifyEvicted
		case 'K':
			flags |= notifyKeyspace
		case 'E':
			flags |= notifyKeyevent
		case 't':
			flags |= notifyStream
		case 'm':
			flags |= notifyKeyMiss
		case 'd':
			flags |= notifyModule
		case 'n':
			flags |= notifyNew
		default:
			return 0, errNotifyClass
		}
	}
	return flags, nil
}

// notifyFlagsString is the canonical spelling of flags.
func notifyFlagsString(flags int) string {
	var b []byte
	if flags&notifyAll == notifyAll {
		b = append(b, 'A')
		if flags&notifyNew != 0 {
			// Redis prints "AKE" for "AKEn" but keeps n in its flags;
			// here the string is the only state, so n must stay in it.
			b = append(b, 'n')
		}
	} else {
		for _, f := range []struct {
			bit int
			ch  byte
		}{
			{notifyGeneric, 'g'}, {notifyString, '$'}, {notifyList, 'l'}, {notifySet, 's'},
			{notifyHash, 'h'}, {notifyZSet, 'z'}, {notifyExpired, 'x'}, {notifyEvicted, 'e'},
			{notifyStream, 't'}, {notifyModule, 'd'}, {notifyNew, 'n'},
		} {
			if flags&f.bit != 0 {
				b = append(b, f.ch)
			}
		}
	}
	if flags&notifyKeyspace != 0 {
		b = append(b, 'K')
	}
	if flags&notifyKeyevent != 0 {
		b = append(b, 'E')
	}
	if flags&notifyKeyMiss != 0 {
		b = append(b, 'm')
	}
	return string(b)
}

// keyspaceEvent publishes a keyspace notification of class about key.
func (s *Server) keyspaceEvent(db *store.DB, key string, event string, class int) {
	flags := s.notifyFlags
	if flags&class == 0 || flags&(notifyKeyspace|notifyKeyevent) == 0 {
		return
	}
	if class == notifyNew && event == "new" && s.x.lastNew == (newKeyMark{db, key, s.dirty, s.stats.TotalCommands}) {
		return // already published by onNewKey
	}
	if len(s.x.ps.channels) == 0 && len(s.x.ps.patterns) == 0 {
		// Nobody can be listening: skip building the channel names.
		return
	}
	dbs := strconv.Itoa(db.ID)
	if flags&notifyKeyspace != 0 {
		s.publish(kindPlain, "__keyspace@"+dbs+"__:"+key, []byte(event))
	}
	if flags&notifyKeyevent != 0 {
		s.publish(kindPlain, "__keyevent@"+dbs+"__:"+event, []byte(key))
	}
}

// onNewKey fires the "new" event when the store adds a key, as Redis's
// dbAdd does. RENAME, COPY and MOVE also announce their destination
// explicitly (cmd_keys.go); the same key announced again with no change
// counted in between is the same event, and is not repeated.
func (s *Server) onNewKey(db *store.DB, key string) {
	if s.notifyFlags&notifyNew == 0 {
		return
	}
	s.keyspaceEvent(db, key, "new", notifyNew)
	s.x.lastNew = newKeyMark{db, key, s.dirty, s.stats.TotalCommands}
}

// newKeyMark identifies the last "new" event published.
type newKeyMark struct {
	db       *store.DB
	key      string
	dirty    int64
	commands int64
}

// initExt wires the options of transactions, pub/sub, notifications and
// eviction into the server; New calls it once.
func (s *Server) initExt() error {
	hooks := []struct {
		name string
		fn   func(string) error
	}{
		{"notify-keyspace-events", func(v string) error {
			f, err := parseNotifyFlags(v)
			if err != nil {
				return err
			}
			s.notifyFlags = f
			return nil
		}},
		{"client-output-buffer-limit", func(v string) error {
			s.x.ps.limitNormal, s.x.ps.limitPubSub = parseOutputLimits(v)
			return nil
		}},
	}
	for _, h := range hooks {
		if err := s.cfg.OnChange(h.name, h.fn); err != nil {
			return fmt.Errorf("config %s: %w", h.name, err)
		}
	}
	s.store.OnNew = s.onNewKey
	if err := s.initTracking(); err != nil {
		return err
	}
	return s.initEvict()
}
