package node

// maxmemory and key eviction, after Redis's evict.c: before a command
// runs, while the memory figure is over maxmemory, keys are evicted by
// the configured policy, choosing among maxmemory-samples random keys per
// database through a pool of the 16 best candidates seen so far. When
// nothing can be evicted, commands flagged denyoom (and anything queued
// in MULTI) are refused with OOM.
//
// The memory figure (docs/memory.md): Go's heap counts garbage until the
// collector runs, so evicting a key would not lower it at once and the
// loop would empty the dataset. Eviction instead uses an estimate of the
// dataset: the number of keys of each database times the average size of
// its entries (objectMemory, sampled and smoothed), plus the heap in use
// at start-up. Evicting a key subtracts its own size at once.

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/skiffdb/skiff/store"
)

const errOOM = "OOM command not allowed when used memory > 'maxmemory'."

// Eviction policies.
const (
	policyNoEviction = iota
	policyAllKeysLRU
	policyAllKeysLFU
	policyAllKeysRandom
	policyVolatileLRU
	policyVolatileLFU
	policyVolatileRandom
	policyVolatileTTL
)

var policyByName = map[string]int{
	"noeviction": policyNoEviction, "allkeys-lru": policyAllKeysLRU, "allkeys-lfu": policyAllKeysLFU,
	"allkeys-random": policyAllKeysRandom, "volatile-lru": policyVolatileLRU, "volatile-lfu": policyVolatileLFU,
	"volatile-random": policyVolatileRandom, "volatile-ttl": policyVolatileTTL,
}

// evictState is the maxmemory configuration and eviction bookkeeping,
// guarded by the data lock.
type evictState struct {
	maxmemory int64
	policy    int
	samples   int
	lfu       bool
	logFactor int64
	decayTime int64
	// replicaIgnore is replica-ignore-maxmemory: while this server is a
	// replica, maxmemory neither evicts nor refuses commands.
	replicaIgnore bool

	// avg is the smoothed average entry size of each database.
	avg        map[*store.DB]float64
	lastSample time.Time
	lastDirty  int64
	// exact: at the last sample every database was small enough to be
	// measured whole (exactKeys), so after any write the next estimate
	// measures again: a single big value written to a small dataset is
	// seen by the very next command, as Redis sees it.
	exact bool
	// adjust corrects the estimate for evictions since the last sample.
	adjust int64

	pool     []evictCandidate
	nextDB   int
	rejected int64

	clients clientEvictState // maxmemory-clients (clientevict.go)
}

type evictCandidate struct {
	db    *store.DB
	key   string
	score uint64 // higher is evicted first
}

func (s *Server) initEvict() error {
	e := &s.x.evict
	hooks := []struct {
		name string
		fn   func(string) error
	}{
		{"maxmemory", func(v string) error {
			e.maxmemory = atoi64(v)
			s.updateGate()
			return nil
		}},
		{"maxmemory-policy", func(v string) error {
			e.policy = policyByName[v]
			e.lfu = e.policy == policyAllKeysLFU || e.policy == policyVolatileLFU
			e.pool = e.pool[:0]
			if e.lfu {
				s.store.NewLRU = func() uint32 { return lfuInit(time.Now().Unix()) }
			} else {
				s.store.NewLRU = lruClock
			}
			return nil
		}},
		{"maxmemory-samples", func(v string) error { e.samples = int(atoi64(v)); return nil }},
		{"lfu-log-factor", func(v string) error { e.logFactor = atoi64(v); return nil }},
		{"lfu-decay-time", func(v string) error { e.decayTime = atoi64(v); return nil }},
		{"replica-ignore-maxmemory", func(v string) error { e.replicaIgnore = v == "yes"; return nil }},
	}
	for _, h := range hooks {
		if err := s.cfg.OnChange(h.name, h.fn); err != nil {
			return err
		}
	}
	if err := s.initClientEvict(); err != nil {
		return err
	}
	return nil
}

// checkMemory is the maxmemory step of admit: evict what the policy
// allows, then refuse the command if memory is still over the limit and
// the command may use more.
func (s *Server) checkMemory(c *Client, cmd *Command) bool {
	if c.flags&clientMaster != 0 {
		// The master's stream is applied whatever the memory: refusing a
		// command would make this replica diverge for good. Under
		// replica-ignore-maxmemory no, it still makes room first, as
		// Redis evicts before every command.
		s.performEvictions()
		return true
	}
	if c.flags&clientReplica != 0 {
		return true
	}
	if s.performEvictions() {
		return true
	}
	reject := cmd.Has(FlagDenyOOM)
	inMulti := c.flags&clientMulti != 0
	isExec := cmd.parent == nil && cmd.Name == "exec"
	if isExec && c.x.tx != nil && c.x.tx.flags&FlagDenyOOM != 0 {
		reject = true
	}
	if inMulti && !isExec && !(cmd.parent == nil && (cmd.Name == "discard" || cmd.Name == "quit" || cmd.Name == "reset")) {
		// Queuing itself takes memory.
		reject = true
	}
	if !reject {
		return true
	}
	s.rejectedCall(cmd)
	if isExec {
		// A refused EXEC ends the transaction, saying why.
		s.discardTransaction(c)
		c.replyError("EXECABORT Transaction discarded because of: " + errOOM)
		return false
	}
	c.replyError(errOOM)
	return false
}

// usedMemory is the memory figure eviction works on (see the file
// comment).
func (s *Server) usedMemory() int64 {
	e := &s.x.evict
	now := time.Now()
	if e.avg == nil || now.Sub(e.lastSample) > 100*time.Millisecond || s.dirty-e.lastDirty > 1000 || e.exact && s.dirty != e.lastDirty {
		s.sampleEntrySizes()
		e.lastSample, e.lastDirty, e.adjust = now, s.dirty, 0
	}
	total := float64(startupMemory())
	for _, db := range s.store.DBs {
		if n := db.Len(); n > 0 {
			avg, ok := e.avg[db]
			if !ok {
				// Keys arrived in a database not sampled yet.
				s.sampleEntrySizes()
				avg = e.avg[db]
			}
			total += float64(n) * avg
		}
	}
	// Clients' buffers count as in Redis's allocator figure (outbuf.go).
	return int64(total) + e.adjust + s.cc.memNormal
}

// sampleEntrySizes refreshes each database's average entry size from a
// few random entries, smoothing so one large key does not swing it.
func (s *Server) sampleEntrySizes() {
	e := &s.x.evict
	if e.avg == nil {
		e.avg = map[*store.DB]float64{}
	}
	e.exact = true
	for _, db := range s.store.DBs {
		n := db.Len()
		if n == 0 {
			delete(e.avg, db)
			continue
		}
		if n <= exactKeys {
			// Fewer keys than samples: measure them all.
			var sum float64
			db.Dict().Each(func(ent *store.Entry) bool {
				sum += float64(entrySize(ent))
				return true
			})
			e.avg[db] = sum / float64(n)
			continue
		}
		e.exact = false
		// The mean of 16 values of uniformly spread sizes is off by 14%
		// on average, 64 by 7% (halved again by the smoothing below). A
		// database seen for the first time has no history to smooth
		// with, and its first figure is the one INFO shows right after
		// a bulk load: 256 samples, under 4%.
		old, seen := e.avg[db]
		samples := 64
		if !seen {
			samples = 256
		}
		var sum float64
		got := 0
		for i := 0; i < samples; i++ {
			ent := db.Dict().Random()
			if ent == nil {
				break
			}
			sum += float64(entrySize(ent))
			got++
		}
		if got == 0 {
			continue
		}
		avg := sum / float64(got)
		if seen && n > samples {
			avg = old*0.5 + avg*0.5
		}
		e.avg[db] = avg
	}
}

// exactKeys is the size up to which a database is measured whole rather
// than sampled.
const exactKeys = 64

// entrySize is an entry's memory: the value and key (objectMemory) plus
// the hash table slot and, for a key with a TTL, its expiry index slot.
func entrySize(ent *store.Entry) int64 {
	n := objectMemory(ent) + 16
	if ent.Val.Expire != 0 {
		n += 8
	}
	return n
}

// performEvictions evicts keys until memory is under maxmemory. It
// reports false when it could not get there (OOM).
func (s *Server) performEvictions() bool {
	e := &s.x.evict
	if e.maxmemory <= 0 || s.ld.active {
		return true // Redis never evicts while loading
	}
	if e.replicaIgnore && s.repl.masterHost != "" {
		// A replica stays an exact copy of its master: the master's
		// evictions arrive as DELs. Evicting here too would drift the
		// datasets apart, so nothing is evicted and nothing refused.
		return true
	}
	if s.store.HoldExpired {
		// Clients are paused: the dataset stays as it is (Redis neither
		// evicts nor refuses writes then).
		return true
	}
	used := s.usedMemory()
	if used <= e.maxmemory {
		return true
	}
	if e.policy == policyNoEviction {
		return false
	}
	// The latency monitor's eviction-del and eviction-cycle (latency.go).
	timed := s.latTrack.mon.threshold.Load() != 0
	var cycleStart time.Duration
	if timed {
		cycleStart = monoNow()
	}
	// Bounded work per command, as Redis's eviction time limit: the next
	// command continues.
	for i := 0; i < 10000 && used > e.maxmemory; i++ {
		db, key := s.pickVictim()
		if db == nil {
			break
		}
		ent := db.Peek([]byte(key))
		if ent == nil {
			continue
		}
		size := entrySize(ent)
		var delStart time.Duration
		if timed {
			delStart = monoNow()
		}
		s.evictKey(db, key)
		if timed {
			s.latencySample("eviction-del", monoNow()-delStart)
		}
		e.adjust -= size
		used -= size
	}
	if timed {
		s.latencySample("eviction-cycle", monoNow()-cycleStart)
	}
	return used <= e.maxmemory
}

// evictKey deletes a key chosen for eviction with Redis's side effects.
func (s *Server) evictKey(db *store.DB, key string) {
	lazy := s.cfg.Bool("lazyfree-lazy-eviction")
	if e := db.Peek([]byte(key)); e != nil {
		s.freeValue(&e.Val, lazy)
	}
	db.Delete(key)
	s.stats.EvictedKeys++
	s.dirty++
	s.keyspaceEvent(db, key, "evicted", notifyEvicted)
	s.signalKeyGone(db, []byte(key))
	s.propagate(db.ID, [][]byte{deleteVerb(lazy), []byte(key)})
}

func (s *Server) volatilePolicy() bool {
	switch s.x.evict.policy {
	case policyVolatileLRU, policyVolatileLFU, policyVolatileRandom, policyVolatileTTL:
		return true
	}
	return false
}

// pickVictim returns the key to evict next, or a nil db when there is
// no candidate.
func (s *Server) pickVictim() (*store.DB, string) {
	e := &s.x.evict
	volatile := s.volatilePolicy()
	if e.policy == policyAllKeysRandom || e.policy == policyVolatileRandom {
		// Visit the databases in turn, as Redis does.
		for i := 0; i < len(s.store.DBs); i++ {
			db := s.store.DBs[e.nextDB%len(s.store.DBs)]
			e.nextDB++
			var ent *store.Entry
			if volatile {
				ent = db.RandomVolatile()
			} else {
				ent = db.Dict().Random()
			}
			if ent != nil {
				return db, ent.Key
			}
		}
		return nil, ""
	}
	for tries := 0; tries < 16; tries++ {
		any := false
		for _, db := range s.store.DBs {
			if (volatile && db.Expires() == 0) || db.Len() == 0 {
				continue
			}
			any = true
			s.fillPool(db, volatile)
		}
		if !any {
			return nil, ""
		}
		// Best candidates are at the end; skip ones gone meanwhile.
		for len(e.pool) > 0 {
			cand := e.pool[len(e.pool)-1]
			e.pool = e.pool[:len(e.pool)-1]
			if ent := cand.db.Peek([]byte(cand.key)); ent != nil && (!volatile || ent.Val.Expire != 0) {
				return cand.db, cand.key
			}
		}
	}
	return nil, ""
}

// fillPool samples keys of db into the eviction pool, which keeps the 16
// highest scores in ascending order.
func (s *Server) fillPool(db *store.DB, volatile bool) {
	e := &s.x.evict
	n := e.samples
	if n <= 0 {
		n = 5
	}
	nowMs := time.Now().UnixMilli()
	for i := 0; i < n; i++ {
		var ent *store.Entry
		if volatile {
			ent = db.RandomVolatile()
		} else {
			ent = db.Dict().Random()
		}
		if ent == nil {
			return
		}
		var score uint64
		switch e.policy {
		case policyAllKeysLRU, policyVolatileLRU:
			score = uint64(idleSeconds(ent.Val.LRU))
		case policyAllKeysLFU, policyVolatileLFU:
			score = 255 - uint64(lfuDecayed(ent.Val.LRU, e.decayTime))
		case policyVolatileTTL:
			score = math.MaxUint64 - uint64(ent.Val.Expire)
			_ = nowMs
		}
		e.poolInsert(evictCandidate{db: db, key: ent.Key, score: score})
	}
}

func (e *evictState) poolInsert(c evictCandidate) {
	const poolSize = 16
	for _, o := range e.pool {
		if o.db == c.db && o.key == c.key {
			return
		}
	}
	i := 0
	for i < len(e.pool) && e.pool[i].score < c.score {
		i++
	}
	if len(e.pool) == poolSize {
		if i == 0 {
			return // worse than everything pooled
		}
		// Drop the worst to make room.
		copy(e.pool, e.pool[1:i])
		e.pool[i-1] = c
		return
	}
	e.pool = append(e.pool, evictCandidate{})
	copy(e.pool[i+1:], e.pool[i:])
	e.pool[i] = c
}

// LFU: Redis's 24-bit layout, the last decrement time in minutes (16
// bits) and a logarithmic access counter (8 bits).

const lfuInitVal = 5

func lfuInit(unixSec int64) uint32 {
	return uint32((unixSec/60)&0xffff)<<8 | lfuInitVal
}

// lfuTouch is an access under an LFU policy: decay the counter for the
// time idle, then increment it logarithmically.
func (s *Server) lfuTouch(v uint32, nowMs int64) uint32 {
	e := &s.x.evict
	counter := lfuDecayed(v, e.decayTime)
	if counter < 255 {
		base := float64(counter - lfuInitVal)
		if base < 0 {
			base = 0
		}
		if rand.Float64() < 1.0/(base*float64(e.logFactor)+1) {
			counter++
		}
	}
	return uint32(((nowMs/1000)/60)&0xffff)<<8 | uint32(counter)
}
