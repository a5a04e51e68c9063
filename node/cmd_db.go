package node

func init() {
	register(
		&Command{Name: "dbsize", Arity: 1, Flags: "readonly fast", Group: "server", Since: "1.0.0", Summary: "Return the number of keys in the selected database", Complexity: "O(1)", ACL: []string{"keyspace"}, Handler: cmdDbsize},
		&Command{Name: "flushdb", Arity: -1, Flags: "write", Group: "server", Since: "1.0.0", Summary: "Remove all keys from the current database", Complexity: "O(N) where N is the number of keys in the selected database", ACL: []string{"keyspace", "dangerous"}, Handler: cmdFlushdb},
		&Command{Name: "flushall", Arity: -1, Flags: "write", Group: "server", Since: "1.0.0", Summary: "Remove all keys from all databases", Complexity: "O(N) where N is the total number of keys in all databases", ACL: []string{"keyspace", "dangerous"}, Handler: cmdFlushall},
		&Command{Name: "swapdb", Arity: 3, Flags: "write fast", Group: "server", Since: "4.0.0", Summary: "Swaps two Redis databases", Complexity: "O(N) where N is the count of clients watching or blocking on keys from both databases.", ACL: []string{"keyspace", "dangerous"}, Handler: cmdSwapdb},
	)
}

func cmdDbsize(c *Client, args [][]byte) { c.replyInt(int64(c.db.Len())) }

// flushArgs checks FLUSHDB's and FLUSHALL's optional SYNC|ASYNC. Both
// modes free synchronously here: dropping the references is O(1) and the
// Go collector reclaims the memory in the background, which is what
// ASYNC asks for.
func flushArgs(c *Client, args [][]byte) bool {
	if len(args) == 1 || (len(args) == 2 && (eqFold(args[1], "sync") || eqFold(args[1], "async"))) {
		return true
	}
	c.replySyntax()
	return false
}

// flushAsync is whether a flush is lazy: ASYNC, or no argument with
// lazyfree-lazy-user-flush yes. It only decides the lazyfree counters.
func flushAsync(c *Client, args [][]byte) bool {
	if len(args) == 2 {
		return eqFold(args[1], "async")
	}
	return c.srv.cfg.Bool("lazyfree-lazy-user-flush")
}

func cmdFlushdb(c *Client, args [][]byte) {
	if !flushArgs(c, args) {
		return
	}
	n := c.db.Len()
	c.srv.touchWatchedInDB(c.db, nil, c.now)
	c.srv.trackingFlush()
	if flushAsync(c, args) {
		c.srv.freeDBLazily(c.db)
	}
	c.db.Flush()
	c.srv.signalDeletedStreams(c.db)
	c.flushed(args, int64(n))
	c.replyOK()
}

func cmdFlushall(c *Client, args [][]byte) {
	if !flushArgs(c, args) {
		return
	}
	n := 0
	c.srv.trackingFlush()
	async := flushAsync(c, args)
	for _, db := range c.srv.store.DBs {
		n += db.Len()
		if async {
			c.srv.freeDBLazily(db)
		}
		c.srv.touchWatchedInDB(db, nil, c.now)
		db.Flush()
		c.srv.signalDeletedStreams(db)
	}
	if j := c.srv.p.job; j != nil && j.aof == nil {
		// As Redis kills its RDB child: the save would write the dataset
		// just flushed. The change counter stays as it was (the save
		// did not happen).
		c.srv.log.Info("FLUSHALL: aborting the background save in progress")
		c.srv.abortSaveJob()
	}
	c.flushed(args, int64(n))
	c.replyOK()
}

// flushed accounts a flush of n keys. Redis replicates a flush even when
// there was nothing to remove (so replicas that diverged converge); the
// dispatcher propagates only commands that changed something, so an
// empty flush is propagated here.
func (c *Client) flushed(args [][]byte, n int64) {
	c.srv.dirty += n
	if n == 0 {
		c.srv.propagate(c.db.ID, args)
	}
}

func cmdSwapdb(c *Client, args [][]byte) {
	if c.clusterEnabled() {
		c.replyError(errSwapdbCluster)
		return
	}
	id1, ok := parseInt32Arg(c, args[1], "ERR invalid first DB index")
	if !ok {
		return
	}
	id2, ok := parseInt32Arg(c, args[2], "ERR invalid second DB index")
	if !ok {
		return
	}
	db1, db2 := c.dbByIndex(id1), c.dbByIndex(id2)
	if db1 == nil || db2 == nil {
		c.replyError(errDBIndex)
		return
	}
	if db1 != db2 {
		// Clients keep their *DB, so swapping the contents moves every
		// client connected to one database over to the other's keys.
		c.srv.touchWatchedInDB(db1, db2, c.now)
		c.srv.touchWatchedInDB(db2, db1, c.now)
		db1.Swap(db2)
		// Clients blocked on a key in either database may now find it.
		c.srv.signalSwappedDBs(db1, db2)
		c.srv.signalDeletedStreams(db1, db2)
	}
	c.srv.dirty++
	c.replyOK()
}
