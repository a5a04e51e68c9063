package node

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/script"
	"github.com/skiffdb/skiff/store"
)

// Load loads the dataset at start-up, as Redis's loadDataFromDisk: the
// AOF with appendonly yes, else dir/dbfilename. A server that already
// listens (Listen was called) accepts connections from the moment the
// load starts and answers them as Redis does while loading: -LOADING for
// every command without the loading flag, INFO persistence with
// loading:1 and the loading_* progress fields (see loading.go). Serve
// starts the rest (cron, replication) once Load has returned.
//
// A missing file is an empty dataset; a corrupt one is an error naming
// the file and the offset. After an error the server stays in the
// loading state, so that the shutdown that follows never saves the empty
// or partial dataset over the file. ErrLoadAborted means the server was
// shut down (SHUTDOWN, a signal) before the load ended.
func (s *Server) Load() error {
	var err error
	switch {
	case s.sentinel != nil:
	case s.cfg.Bool("appendonly"):
		err = s.loadAOFAtStart()
	default:
		err = s.LoadRDB()
	}
	if err == nil {
		s.acceptIfListening()
	}
	return err
}

// LoadRDB loads dir/dbfilename into a fresh keyspace and swaps it in (see
// Load). With appendonly yes the dataset comes from the AOF instead, as in
// Redis, and the RDB file is left alone. A sentinel has no dataset:
// nothing is loaded.
func (s *Server) LoadRDB() error {
	if s.cfg.Bool("appendonly") || s.sentinel != nil {
		return nil
	}
	path := s.rdbPath()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.mu.Lock()
		s.stopLoadingLocked() // (a retry after a failed load)
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading %s: %w", path, err)
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	start := time.Now()
	s.mu.Lock()
	s.startLoadingLocked(size, false)
	s.holdClientsLocked()
	master := s.repl.masterHost == ""
	s.mu.Unlock()
	s.acceptIfListening()
	p := s.newLoadProgress(false, nil)
	p.collectExpired = master
	p.logProgress("loading RDB", size)
	fresh, aux, codes, err := s.loadRDBFrom(f, path, master, p)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		return s.rdbLoadFailed(err) // still loading: see Load
	}
	if err := s.installFunctions(codes, script.RestoreFlush); err != nil {
		return fmt.Errorf("loading %s: %w", path, err)
	}
	keys := 0
	for i, db := range s.store.DBs {
		db.Swap(fresh.DBs[i])
		keys += db.Len()
	}
	// The file's repl-id/repl-offset let a restarted replica ask its
	// master to continue (PSYNC) instead of a full resync, as Redis does.
	if s.restoreReplFromAux(aux) && master {
		// The replicas that will ask to continue from the file's offset
		// still hold the keys that expired meanwhile: their DELs go into
		// the stream, as Redis does on such a restart (a backlog they
		// overflow means a full sync instead).
		for _, k := range p.expiredKeys {
			s.replicate(k.db, [][]byte{[]byte("DEL"), []byte(k.key)})
		}
	}
	p.expiredKeys = nil
	p.finishLocked(size)
	s.stopLoadingLocked()
	s.log.Info("DB loaded from disk", "file", path, "keys", keys, "expired", p.expired.Load(), "redis-ver", aux["redis-ver"],
		"seconds", fmt.Sprintf("%.3f", time.Since(start).Seconds()))
	return nil
}

// loadRDBStore reads the RDB at path into a new store with as many
// databases as ours (DEBUG RELOAD: no progress, no key-load-delay).
// dropExpired discards keys whose TTL has passed, as a master does (a
// replica keeps them until its master deletes them).
func (s *Server) loadRDBStore(path string, dropExpired bool) (*store.Store, map[string]string, [][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	return s.loadRDBFrom(f, path, dropExpired, nil)
}

// loadRDBFrom decodes an RDB into a new store and returns the codes of
// the function libraries it holds; p, when set, follows the load
// (key-load-delay, progress, abort on shutdown). It takes no lock but
// p's reports: the new store is reachable by nobody else.
func (s *Server) loadRDBFrom(r io.Reader, path string, dropExpired bool, p *loadProgress) (*store.Store, map[string]string, [][]byte, error) {
	fresh := store.New(len(s.store.DBs))
	fresh.NewLRU = s.store.NewLRU
	now := time.Now().UnixMilli()
	var hooks rdb.Hooks
	if p != nil {
		hooks = rdb.Hooks{Aux: p.aux, Entry: p.entry}
		p.fresh = fresh
	}
	var codes [][]byte
	hooks.Function = collectFunction(&codes)
	hooks.SkipChecksum = skipChecksum(s)
	var loaded, expired, empty int64
	hooks.EmptyKey = func(db int, key string) {
		if empty < 10 { // Redis names the first ten
			s.log.Warn("rdbLoadObject skipping empty key: " + key)
		}
		empty++
	}
	aux, err := rdb.LoadHooks(r, s.rdbLimits(), hooks, func(db int, key string, obj *store.Object) error {
		if db >= len(fresh.DBs) {
			return fmt.Errorf("the file uses database %d but only %d databases are configured", db, len(fresh.DBs))
		}
		if dropExpired && obj.Expire != 0 && obj.Expire < now {
			expired++
			if p != nil {
				p.expired.Add(1)
				if p.collectExpired {
					p.expiredKeys = append(p.expiredKeys, dbKey{db, key})
				}
			}
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
		loaded++
		if p != nil {
			p.keys.Add(1)
		}
		return nil
	})
	if errors.Is(err, ErrLoadAborted) {
		return nil, nil, nil, err
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("loading %s: %w", path, err)
	}
	// Redis's words, which its suite reads.
	if empty > 0 {
		s.log.Warn(fmt.Sprintf("Done loading RDB, keys loaded: %d, keys expired: %d, empty keys skipped: %d.", loaded, expired, empty))
	} else {
		s.log.Info(fmt.Sprintf("Done loading RDB, keys loaded: %d, keys expired: %d.", loaded, expired))
	}
	return fresh, aux, codes, nil
}
