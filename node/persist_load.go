package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

// LoadRDB loads the dataset from dir/dbfilename at start-up, before the
// server accepts connections. A missing file is an empty dataset; a
// corrupt or unreadable one is an error naming the file and the offset,
// so that the server refuses to start rather than serve partial data.
// With appendonly yes the dataset comes from the AOF instead (loaded by
// New, see aof.go), as in Redis, and the RDB file is left alone. A
// sentinel has no dataset: nothing is loaded.
func (s *Server) LoadRDB() error {
	if s.cfg.Bool("appendonly") || s.sentinel != nil {
		return nil
	}
	path := s.rdbPath()
	start := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh, aux, err := s.loadRDBStore(path, s.repl.masterHost == "")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	keys := 0
	for i, db := range s.store.DBs {
		db.Swap(fresh.DBs[i])
		keys += db.Len()
	}
	// The file's repl-id/repl-offset let a restarted replica ask its
	// master to continue (PSYNC) instead of a full resync, as Redis does.
	s.restoreReplFromAux(aux)
	s.log.Info("DB loaded from disk", "file", path, "keys", keys, "redis-ver", aux["redis-ver"],
		"seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	return nil
}

// loadRDBStore reads the RDB at path into a new store with as many
// databases as ours. dropExpired discards keys whose TTL has passed, as a
// master does (a replica keeps them until its master deletes them).
func (s *Server) loadRDBStore(path string, dropExpired bool) (*store.Store, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fresh := store.New(len(s.store.DBs))
	fresh.NewLRU = s.store.NewLRU
	now := time.Now().UnixMilli()
	aux, err := rdb.LoadLimits(f, s.rdbLimits(), func(db int, key string, obj *store.Object) error {
		if db >= len(fresh.DBs) {
			return fmt.Errorf("the file uses database %d but only %d databases are configured", db, len(fresh.DBs))
		}
		if dropExpired && obj.Expire != 0 && obj.Expire < now {
			return nil
		}
		d := fresh.DBs[db]
		if d.Peek([]byte(key)) != nil {
			return errors.New("duplicate key")
		}
		exp := obj.Expire
		obj.Expire = 0
		e := d.SetValue([]byte(key), *obj, false)
		if exp != 0 {
			d.SetExpire(e, exp)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("loading %s: %w", path, err)
	}
	return fresh, aux, nil
}
