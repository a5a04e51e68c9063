package store

// A writable replica (replica-read-only no) never expires keys on its own
// schedule: the master's DELs do that. Keys its own clients gave a TTL
// are another matter, since the master knows nothing of them, so they are
// remembered here and expired by ExpireReplicaKeys, as Redis does with its
// slaveKeysWithExpire. Like Redis, only databases 0-63 are tracked.

// rememberReplicaKey records that a client of this replica (not its
// master) set a TTL on key in database db.
func (s *Store) rememberReplicaKey(db int, key string) {
	if db < 0 || db > 63 {
		return
	}
	if s.replicaKeys == nil {
		s.replicaKeys = map[string]uint64{}
	}
	s.replicaKeys[key] |= 1 << uint(db)
}

// ReplicaKeysWithExpire is the number of keys remembered.
func (s *Store) ReplicaKeysWithExpire() int { return len(s.replicaKeys) }

// ForgetReplicaKeys drops the record (the node became a master, which
// expires every key itself).
func (s *Store) ForgetReplicaKeys() { s.replicaKeys = nil }

// ExpireReplicaKeys deletes the remembered keys whose TTL has passed and
// forgets those that are gone or lost their TTL meanwhile.
func (s *Store) ExpireReplicaKeys(now int64) {
	for key, dbs := range s.replicaKeys {
		left := dbs
		for id := 0; id < 64 && id < len(s.DBs); id++ {
			bit := uint64(1) << uint(id)
			if dbs&bit == 0 {
				continue
			}
			db := s.DBs[id]
			e := db.keys.Find(key)
			switch {
			case e == nil || e.Val.Expire == 0:
				left &^= bit
			case expired(&e.Val, now):
				db.expireEntry(e)
				left &^= bit
			}
		}
		if left == 0 {
			delete(s.replicaKeys, key)
		} else {
			s.replicaKeys[key] = left
		}
	}
}
