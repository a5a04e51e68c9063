package node

import "fmt"

// debugLoadAOF is DEBUG LOADAOF: flush the AOF, empty the dataset
// (functions included) and replay the AOF files of the manifest, as a
// restart would. Redis's suite uses it to check that a rewrite wrote the
// same dataset. The replay is not propagated, and the writer is started
// again on the last incremental file afterwards. Called under the lock.
func debugLoadAOF(c *Client) error {
	s := c.srv
	a := &s.p.aof
	wasOn := a.on
	if wasOn {
		s.flushAOFLocked() // stops the writer after an fsync
	}
	s.trackingFlush()
	for _, db := range s.store.DBs {
		s.touchWatchedInDB(db, nil, c.now)
		db.Flush()
	}
	if s.functions.engine != nil {
		s.functions.engine.Flush()
	}
	// The replay runs nested in this command, whose effects are emitted
	// when it ends: mark it as propagating nothing.
	skip := s.repl.propSkip
	s.repl.propSkip = skipAOF | skipReplicas
	err := s.loadAOFLocked()
	s.repl.propSkip = skip
	if s.ld.active {
		s.stopLoadingLocked()
	}
	if wasOn {
		if oerr := s.openAOFLocked(false); oerr != nil && err == nil {
			err = fmt.Errorf("reopen the AOF: %w", oerr)
		}
	}
	s.dirty = 0 // nothing of the replay goes to the AOF or the replicas
	if err != nil {
		return fmt.Errorf("DEBUG LOADAOF: %w", err)
	}
	s.log.Warn("Append Only File loaded by DEBUG LOADAOF")
	return nil
}
