package node

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// Client eviction (maxmemory-clients), as Redis 7.0's: when the memory
// that normal and pub/sub clients hold together passes the limit, the
// clients holding the most are closed, largest first, until the total is
// under it again. Clients with CLIENT NO-EVICT on count in the total but
// are never closed; masters and replicas are neither counted nor closed.
//
// A client's memory is what CLIENT LIST shows as tot-mem: its query
// buffer (the capacity its goroutine last published), its reply buffer,
// a fixed 1 KiB for the client itself, and its queued output, plus what
// its state beyond the buffers holds (stateMemory). Unlike Redis, which
// hands a big argument's buffer over to the command, the query buffer
// keeps its capacity until the cron shrinks it, so a big argument queued
// in MULTI counts twice for a while. Checked:
//   - before and after each batch of a client, for that client alone (a
//     huge argument or a partial one is refused before it runs: Redis
//     checks while it reads);
//   - by the cron, hz times a second, for the total;
//   - when maxmemory-clients (or maxmemory, for a percentage) changes.
// stateMemory covers queued MULTI commands, watched keys, subscriptions
// and BCAST prefixes.

// clientEvictState is the limit in bytes (0: no eviction) and the count
// of evicted clients (INFO stats evicted_clients). Under the lock.
type clientEvictState struct {
	setting string // maxmemory-clients as configured: bytes, or "N%"
	limit   int64
	evicted int64
}

func init() {
	resetStatHooks = append(resetStatHooks, func(s *Server) { s.x.evict.clients.evicted = 0 })
}

// initClientEvict follows maxmemory-clients and maxmemory.
func (s *Server) initClientEvict() error {
	ce := &s.x.evict.clients
	update := func() {
		ce.limit = 0
		if p, ok := strings.CutSuffix(ce.setting, "%"); ok {
			n, _ := strconv.ParseInt(p, 10, 64)
			ce.limit = s.x.evict.maxmemory * n / 100
		} else {
			ce.limit, _ = strconv.ParseInt(ce.setting, 10, 64)
		}
		s.evictClients() // a lower limit acts at once, as in Redis
	}
	if err := s.cfg.OnChange("maxmemory-clients", func(v string) error {
		ce.setting = v
		update()
		return nil
	}); err != nil {
		return err
	}
	return s.cfg.OnChange("maxmemory", func(string) error {
		update() // evict.go's hook has stored the new maxmemory already
		return nil
	})
}

// clientMemory is c's memory as CLIENT LIST's tot-mem counts it (from
// the figures its goroutine published).
func (c *Client) clientMemory() int64 {
	return c.bufs.qCap.Load() + c.bufs.rbSize.Load() + 1024 + int64(c.queuedBytes()) + c.stateMemory()
}

// stateMemory estimates the memory of a client's MULTI queue, watched
// keys, subscriptions and tracking prefixes: their bytes plus a fixed
// overhead per entry, about what Redis's structures for them take.
// Under the lock (the structures change only under it).
func (c *Client) stateMemory() int64 {
	var n int64
	if tx := c.x.tx; tx != nil {
		for _, args := range tx.queued {
			n += 24 // the queued command
			for _, a := range args {
				n += int64(len(a)) + 16 // argument and its object
			}
		}
	}
	for _, w := range c.x.watching {
		n += int64(len(w.key)) + 56 // list node, watched key, dict entry
	}
	sub, psub, ssub := subscriptionCounts(c)
	n += int64(sub+psub+ssub) * 64 // dict entry and the channel object
	if c.trk != nil {
		for _, p := range c.trk.prefixes {
			n += int64(len(p)) + 48 // radix tree node
		}
	}
	return n
}

// evictable reports whether maxmemory-clients may close c.
func (c *Client) evictable() bool {
	return c.flags&(clientMaster|clientReplica|clientNoEvict|clientCloseASAP) == 0
}

// evictSelfIfOver closes c, the client whose batch just ended, when it
// alone holds more than the limit. Under the lock.
func (s *Server) evictSelfIfOver(c *Client) {
	ce := &s.x.evict.clients
	if ce.limit <= 0 || !c.evictable() {
		return
	}
	if c.clientMemory() > ce.limit {
		c.w.B = c.w.B[:0] // its goroutine's: nothing more is sent
		s.evictClient(c)
	}
}

// evictClients closes the largest evictable clients while all clients
// together hold more than the limit. Under the lock (or before serving).
func (s *Server) evictClients() {
	ce := &s.x.evict.clients
	if ce.limit <= 0 || len(s.clients) == 0 {
		return
	}
	type held struct {
		c   *Client
		mem int64
	}
	var total int64
	var cands []held
	for _, c := range s.clients {
		if c.flags&(clientMaster|clientReplica|clientCloseASAP) != 0 {
			continue
		}
		m := c.clientMemory()
		total += m
		if c.evictable() {
			cands = append(cands, held{c, m})
		}
	}
	if total <= ce.limit {
		return
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].mem > cands[j].mem })
	for _, h := range cands {
		if total <= ce.limit {
			break
		}
		s.evictClient(h.c)
		total -= h.mem
	}
}

// evictClient closes c for maxmemory-clients, logging it as Redis does.
func (s *Server) evictClient(c *Client) {
	s.x.evict.clients.evicted++
	line := strings.TrimRight(string(c.infoLine(nil, nil, time.Now())), "\n")
	s.log.Info("Evicting client: " + line)
	c.flags |= clientCloseASAP
	delete(s.clients, c.id)
	c.conn.Close()
}
