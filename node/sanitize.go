package node

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/skiffdb/skiff/acl"
	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

// RESTORE's checks of a payload as Redis 7.0 makes them: the CRC64 unless
// DEBUG SET-SKIP-CHECKSUM-VALIDATION 1, then the value at the depth
// sanitize-dump-payload asks for (rdb/sanitize.go), with Redis's log lines.
//
// Without deep checks Redis restores a payload whose listpacks or intset
// are corrupt past their headers, and the first command that reads the
// value fails an assertion and ends the process. Skiff's decoder finds
// the corruption during the RESTORE anyway; it still restores the key, as
// Redis does, with the value as far as it decoded, and remembers it as
// corrupt. The first command that reads it logs Redis's assertion lines;
// that command and every later one reading the key are refused with an
// error instead of the crash. Commands that do not read the value (TYPE,
// EXISTS, DEL, EXPIRE, RENAME ...) work on it as on any key, as in Redis.

// dumpState is the server's share of this: the DEBUG switch and the keys
// restored corrupt.
type dumpState struct {
	skipChecksum atomic.Bool
	// corrupt are the values restored without deep checks that failed
	// them; few, since only such RESTOREs add one. Guarded by the data
	// lock, as the keyspace.
	corrupt []*corruptValue
}

// corruptValue is one key holding such a value.
type corruptValue struct {
	db  *store.DB
	key []byte
	// val is the value's Val as stored: the key still holds the corrupt
	// value while its Val is this one (a SET or a new RESTORE replaces it).
	val    any
	err    *rdb.DeferredError
	logged bool
}

// deepSanitize reports whether RESTORE checks the payload deeply: always
// with sanitize-dump-payload yes, never with no, and with clients unless
// the payload comes from the master, the AOF or the load of a file, or
// the user has the skip-sanitize-payload flag.
func (c *Client) deepSanitize() bool {
	switch c.srv.cfg.String("sanitize-dump-payload") {
	case "yes":
		return true
	case "clients":
		if c.srv.ld.active || c.flags&clientMaster != 0 {
			return false
		}
		return c.user == nil || c.user.Flags()&acl.FlagSkipSanitizePayload == 0
	}
	return false
}

// verboseLog reports whether loglevel shows Redis's verbose lines (the
// logger has one level for verbose and notice).
func (s *Server) verboseLog() bool {
	lv := s.cfg.String("loglevel")
	return lv == "verbose" || lv == "debug"
}

// decodeRestorePayload decodes RESTORE's payload, replying the error and
// logging what Redis logs when it is refused (obj nil). A payload that
// only the deep checks refuse, restored without them, comes back with
// the *rdb.DeferredError that register takes.
func (c *Client) decodeRestorePayload(payload []byte) (*store.Object, *rdb.DeferredError) {
	s := c.srv
	obj, err := rdb.DecodeValueOpts(payload, s.rdbLimits(), rdb.DecodeOptions{
		SkipChecksum: s.x.dump.skipChecksum.Load(),
		Shallow:      !c.deepSanitize(),
	})
	if err == nil {
		return obj, nil
	}
	var de *rdb.DeferredError
	if errors.As(err, &de) {
		return de.Value, de
	}
	if errors.Is(err, rdb.ErrChecksum) {
		c.replyError(errDumpPayload)
		return nil, nil
	}
	var re *rdb.Error
	if errors.As(err, &re) {
		if re.Dump != nil {
			// Redis logs the blob and panics (converting the listpack it
			// had accepted); the value is refused here instead.
			s.log.Warn(fmt.Sprintf("%s (hexdump of %d bytes):", re.DumpName, len(re.Dump)))
			s.log.Warn(hex.EncodeToString(re.Dump))
			s.log.Warn("RESTORE refused the value: " + re.Msg)
		}
		if re.RedisAsserts {
			// Redis fails an assertion while restoring this one (and
			// exits); the value is refused here instead.
			s.log.Warn("=== ASSERTION FAILED ===")
			s.log.Warn(fmt.Sprintf("==> 'the restored value is well formed' is not true: %s (%s)", re.Reason, re.Msg))
			s.log.Warn("RESTORE refused the value (Redis would exit here)")
		} else if re.Reason != "" && s.verboseLog() {
			// Redis's words (at verbose level, as for a RESTORE), then
			// what Skiff found.
			s.log.Info(fmt.Sprintf("Internal error in RDB reading offset %d -> %s (%s)", re.Offset, re.Reason, re.Msg))
		}
	}
	c.replyError(errBadDataFormat)
	return nil, nil
}

// registerCorrupt remembers that e, just restored, holds a value the deep
// checks refused.
func (s *Server) registerCorrupt(db *store.DB, key []byte, e *store.Entry, de *rdb.DeferredError) {
	s.pruneCorrupt()
	s.x.dump.corrupt = append(s.x.dump.corrupt, &corruptValue{db: db, key: bytes.Clone(key), val: e.Val.Val, err: de})
	if s.verboseLog() {
		s.log.Info(fmt.Sprintf("RESTORE of key '%s' without deep sanitization: %s (%s); commands reading it will be refused",
			key, de.Err.Reason, de.Err.Msg))
	}
}

// pruneCorrupt forgets the keys that no longer hold their corrupt value
// (deleted, replaced, flushed), so that commands stop paying for the check
// once none is left; it reports whether some remain.
func (s *Server) pruneCorrupt() bool {
	live := s.x.dump.corrupt[:0]
	for _, cv := range s.x.dump.corrupt {
		if cv.current() != nil {
			live = append(live, cv)
		}
	}
	clear(s.x.dump.corrupt[len(live):])
	s.x.dump.corrupt = live
	return len(live) > 0
}

// current is the entry still holding the corrupt value, or nil.
func (cv *corruptValue) current() *store.Entry {
	e := cv.db.Peek(cv.key)
	if e == nil || e.Val.Val != cv.val {
		return nil
	}
	return e
}

// refuseCorrupt is called before every command while some key holds a
// corrupt value: when cmd reads such a value it logs Redis's assertion
// lines (once per value), replies an error and returns true.
func (s *Server) refuseCorrupt(c *Client, cmd *Command, args [][]byte) bool {
	if !s.pruneCorrupt() {
		return false
	}
	keys, ok := commandKeys(cmd, args)
	if !ok {
		return false
	}
	for _, k := range keys {
		if k.pos >= len(args) {
			continue
		}
		key := args[k.pos]
		for _, cv := range s.x.dump.corrupt {
			if cv.db != c.db || !bytes.Equal(cv.key, key) {
				continue
			}
			e := cv.current()
			if e == nil || !readsValueOf(cmd, e.Val.Type) {
				continue
			}
			if !cv.logged {
				cv.logged = true
				s.logCorruptRead(cv, cmd)
			}
			c.replyErrorf("ERR the value of key '%s' is corrupt (restored without deep sanitization): %s",
				key, cv.err.Err.Reason)
			return true
		}
	}
	return false
}

// logCorruptRead logs what Redis logs when a command reads the value (it
// then exits), and what Skiff does instead.
func (s *Server) logCorruptRead(cv *corruptValue, cmd *Command) {
	switch name := cmd.base().Name; {
	case cv.err.LastIDPanic != "" && (name == "xread" || name == "xreadgroup" || name == "xsetid"):
		// These first look for the stream's last live entry, and Redis
		// panics when there is none.
		s.log.Warn("------------------------------------------------")
		s.log.Warn(fmt.Sprintf("Guru Meditation: %s (key '%s')", cv.err.LastIDPanic, cv.key))
	default:
		s.log.Warn("=== ASSERTION FAILED ===")
		s.log.Warn(fmt.Sprintf("==> 'the value of key %s is well formed' is not true: %s (%s)", cv.key, cv.err.Err.Reason, cv.err.Err.Msg))
	}
	s.log.Warn("The value was restored without deep sanitization (sanitize-dump-payload); " +
		"Redis would exit here, Skiff refuses the commands that read it (DEL or a new RESTORE replaces it)")
}

// readsValueOf reports whether cmd reads the contents of a key of type t:
// the commands of that type's group, SORT on the collections, DUMP and
// MIGRATE on any. Others (TYPE, DEL, EXPIRE, RENAME, OBJECT ...) do not,
// as in Redis; a command of another type's group replies WRONGTYPE.
func readsValueOf(cmd *Command, t store.Type) bool {
	switch cmd.base().Name {
	case "dump", "migrate":
		return true
	case "sort", "sort_ro":
		return t == store.TypeList || t == store.TypeSet || t == store.TypeZSet
	}
	switch cmd.Group {
	case "list":
		return t == store.TypeList
	case "set":
		return t == store.TypeSet
	case "sorted_set", "geo":
		return t == store.TypeZSet
	case "hash":
		return t == store.TypeHash
	case "stream":
		return t == store.TypeStream
	}
	return false
}

// rdbLoadFailed logs a failed load of the RDB file at start-up as Redis
// does when the file is corrupt or cut short (its reason after "Internal
// error in RDB reading", the report of its checker, then that it exits)
// and returns the error for the process to exit at once. Other errors
// (the file cannot be read ...) are returned as they are.
func (s *Server) rdbLoadFailed(err error) error {
	var re *rdb.Error
	if !errors.As(err, &re) || re.Reason == "" {
		return err
	}
	s.log.Warn(fmt.Sprintf("Internal error in RDB reading offset %d -> %s (%v)", re.Offset, re.Reason, err)) // (err names the file)
	// Redis then runs redis-check-rdb on the file, which reports the same
	// failure; the decoder has already said all Skiff's checker would.
	s.log.Warn("--- RDB ERROR DETECTED ---")
	s.log.Warn(fmt.Sprintf("[offset %d] %s", re.Offset, re.Reason))
	s.log.Warn("Terminating server after rdb file reading failure.")
	return &LoadErrorLogged{err}
}
