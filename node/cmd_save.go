package node

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/skiffdb/skiff/script"
	"github.com/skiffdb/skiff/store"
)

func init() {
	register(&Command{Name: "save", Arity: 1, Flags: "admin noscript no_async_loading no_multi", Group: "server", Since: "1.0.0", Summary: "Synchronously save the dataset to disk", Complexity: "O(N) where N is the total number of keys in all databases", Handler: cmdSave})
	debugReload = debugReloadRDB
}

// cmdSave writes the dataset to dir/dbfilename while holding the data
// lock, as Redis's SAVE blocks its single thread.
func cmdSave(c *Client, args [][]byte) {
	if c.srv.BgsaveInProgress() {
		c.replyError("ERR Background save already in progress")
		return
	}
	if err := c.srv.saveSync(c.srv.rdbPath()); err != nil {
		c.srv.log.Warn("SAVE failed", "error", err)
		c.replyError("ERR")
		return
	}
	c.replyOK()
}

// debugReloadRDB is DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the
// dataset (unless NOSAVE), empty it (unless NOFLUSH) and load the file
// back. MERGE lets loaded keys replace existing ones instead of failing.
func debugReloadRDB(c *Client, args [][]byte) error {
	save, flush, merge := true, true, false
	for _, a := range args[2:] {
		switch strings.ToLower(string(a)) {
		case "merge":
			merge = true
		case "noflush":
			flush = false
		case "nosave":
			save = false
		default:
			return errReloadSyntax
		}
	}
	s := c.srv
	path := s.rdbPath()
	if save {
		if s.BgsaveInProgress() {
			s.abortSaveJob()
		}
		if err := s.saveSync(path); err != nil {
			return errReloadSave{err}
		}
	}
	fresh, _, codes, err := s.loadRDBStore(path, false)
	if err != nil {
		return err
	}
	// The file's libraries replace ours on a flush, join them on a
	// merge (replacing those of the same names) and otherwise must be
	// new, as a key must.
	policy := script.RestoreAppend
	switch {
	case flush:
		policy = script.RestoreFlush
	case merge:
		policy = script.RestoreReplace
	}
	if err := s.installFunctions(codes, policy); err != nil {
		return err
	}
	now := time.Now().UnixMilli()
	if flush {
		s.trackingFlush()
	}
	for i, db := range s.store.DBs {
		src := fresh.DBs[i]
		if flush {
			// As a flush and reload would: WATCHers of any key see it
			// change, clients blocked on a key that now exists wake up.
			s.touchWatchedInDB(db, src, now)
			db.Swap(src)
			s.signalSwappedDBs(db)
			continue
		}
		var dup error
		src.Dict().Each(func(n *store.Entry) bool {
			if !merge && db.Peek([]byte(n.Key)) != nil {
				dup = fmt.Errorf("duplicate key %q in database %d", n.Key, i)
				return false
			}
			obj := n.Val
			exp := obj.Expire
			obj.Expire = 0
			e := db.SetValue([]byte(n.Key), obj, false)
			if exp != 0 {
				db.SetExpire(e, exp)
			}
			return true
		})
		if dup != nil {
			return dup
		}
	}
	return nil
}

var errReloadSyntax = errors.New("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")

// errReloadSave marks a failure of DEBUG RELOAD's save step.
type errReloadSave struct{ err error }

func (e errReloadSave) Error() string { return "save: " + e.err.Error() }

// debugReloadReply is the error DEBUG RELOAD answers, in Redis's words
// (which leave the details to the log).
func debugReloadReply(c *Client, err error) string {
	if err == errReloadSyntax {
		return "ERR " + err.Error()
	}
	c.srv.log.Warn("DEBUG RELOAD failed", "error", err)
	if _, ok := err.(errReloadSave); ok {
		return "ERR"
	}
	return "ERR Error trying to load the RDB dump"
}
