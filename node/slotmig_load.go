package node

// The target's SKIFF-LOAD pipeline. Decoding a batch of the copy (DUMP
// payloads into values) costs about as much as storing it, and needs no
// lock: a goroutine of the job decodes batch N while the connection's
// goroutine stores batch N-1 under the data lock. SKIFF-LOAD N hands N
// over, then stores N-1 and answers for it. Any other command on the
// import connection (a forwarded write, a big key's chunk, the end of the
// job) first stores what is still being decoded (importBarrier, called
// by clusterAdmit), so each slot's writes still apply after its copy. An
// empty SKIFF-LOAD is a barrier too: the source sends one after the last
// batch, and its answer confirms the whole copy.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

// loadPipe is an import job's decoding goroutine and what the
// connection's goroutine keeps of it (under s.mu).
type loadPipe struct {
	in, out chan *loadBatch // capacity 1: at most one batch is ever pending
	pending *loadBatch      // handed over, not stored yet
	used    *loadBatch      // the last one stored: its bytes back the effects it queued
	free    []*loadBatch
	argv    [][]byte // the RESTORE arguments of the effects, reused per batch
	nums    []byte   // their expire times
}

// loadBatch is one SKIFF-LOAD's batch, its bytes copied out of the
// query buffer, and its keys once decoded.
type loadBatch struct {
	raw  []byte
	keys []loadedKey
	err  error
}

type loadedKey struct {
	key, payload []byte // in raw
	exp          int64
	obj          *store.Object
}

func newLoadPipe(lim rdb.Limits) *loadPipe {
	p := &loadPipe{in: make(chan *loadBatch, 1), out: make(chan *loadBatch, 1)}
	go p.decode(lim)
	return p
}

// decode decodes batches until the pipe is closed.
func (p *loadPipe) decode(lim rdb.Limits) {
	var dec rdb.PayloadDecoder
	opts := rdb.DecodeOptions{SkipChecksum: true, Shallow: true}
	for b := range p.in {
		clear(b.keys)
		b.keys, b.err = b.keys[:0], nil
		raw := b.raw
		for len(raw) > 0 {
			key, exp, payload, rest, ok := nextLoadEntry(raw)
			if !ok {
				b.err = fmt.Errorf("malformed SKIFF-LOAD batch after %d keys", len(b.keys))
				break
			}
			raw = rest
			obj, err := dec.Decode(payload, lim, opts)
			if err != nil {
				b.err = fmt.Errorf("SKIFF-LOAD key %q: %v", key, err)
				break
			}
			b.keys = append(b.keys, loadedKey{key: key, payload: payload, exp: exp, obj: obj})
		}
		p.out <- b
	}
}

// close ends the decoding goroutine (a batch still pending is dropped).
func (p *loadPipe) close() { close(p.in) }

// cmdSkiffLoad is CLUSTER SKIFF-LOAD <batch>: a batch of the slots' copy,
// on an import connection only. The batch is entries of
//
//	<key length uvarint> <key> <expire, unix ms, uvarint; 0: none>
//	<payload length uvarint> <DUMP payload>
//
// so that one command, one dispatch and one reply carry a few hundred
// keys. The batch is decoded while the next one arrives (the pipeline
// above): the answer is the number of keys of the previous batch stored.
func (s *Server) cmdSkiffLoad(c *Client, args [][]byte) {
	j := s.asm().byClient[c.id]
	if c.flags&clientImport == 0 || len(args) != 3 || j == nil {
		c.replyError("ERR CLUSTER SKIFF-LOAD is for slot import connections")
		return
	}
	p := j.pipe
	if p == nil {
		p = newLoadPipe(s.rdbLimits())
		j.pipe = p
	}
	prev := p.pending
	p.pending = nil
	if len(args[2]) > 0 {
		var b *loadBatch
		if n := len(p.free); n > 0 {
			b, p.free = p.free[n-1], p.free[:n-1]
		} else {
			b = &loadBatch{}
		}
		b.raw = append(b.raw[:0], args[2]...)
		p.in <- b
		p.pending = b
	}
	n := 0
	if prev != nil {
		var err error
		if n, err = s.storeLoaded(c, j, p); err != nil {
			c.replyErrorf("ERR %v", err)
			return
		}
	}
	c.replyInt(int64(n))
}

// importBarrier stores the batch still being decoded before any other
// command of the import connection runs; false (the error answered)
// when it cannot.
func (s *Server) importBarrier(c *Client, args [][]byte) bool {
	j := s.asm().byClient[c.id]
	if j == nil || j.pipe == nil || j.pipe.pending == nil {
		return true
	}
	if len(args) == 3 && strings.EqualFold(string(args[0]), "cluster") && strings.EqualFold(string(args[1]), "skiff-load") {
		return true // SKIFF-LOAD takes the pending batch itself
	}
	j.pipe.pending = nil
	if _, err := s.storeLoaded(c, j, j.pipe); err != nil {
		c.replyErrorf("ERR %v", err)
		c.flags |= clientCloseAfterReply // the source fails the job on the error
		return false
	}
	return true
}

// storeLoaded waits for the pending batch's keys and stores each as
// RESTORE ... REPLACE ABSTTL would, queueing that RESTORE as the effect
// (when anything listens: replicas, the backlog, the AOF). A batch that
// failed to decode stores nothing. Nothing is allocated per key but the
// value: the RESTORE arguments point into the batch, which is kept until
// the next command, after this one's effects are emitted (endCommand).
func (s *Server) storeLoaded(c *Client, j *slotJob, p *loadPipe) (int, error) {
	b := <-p.out
	if p.used != nil {
		p.free = append(p.free, p.used)
	}
	p.used = b
	if b.err != nil {
		return 0, b.err
	}
	db := s.store.DBs[0]
	prop := s.p.aof.on || s.repl.backlog != nil || len(s.repl.replicas) > 0 || s.asm().exports > 0
	argv, nums := p.argv[:0], p.nums[:0]
	n := 0
	for i := range b.keys {
		k := &b.keys[i]
		key, exp := k.key, k.exp
		if exp != 0 && exp <= c.now {
			// Expired in transit: RESTORE ABSTTL of a past time deletes.
			if db.Delete(string(key)) {
				s.alsoPropagate(0, [][]byte{[]byte("DEL"), key})
				c.modified(key)
			}
			continue
		}
		obj := k.obj
		obj.Expire = 0
		e := db.SetValue(key, *obj, false) // replaces a value, and clears its TTL
		if exp != 0 {
			db.SetExpire(e, exp)
		}
		c.modified(key)
		c.notify(notifyGeneric, "restore", key)
		if prop {
			at := len(nums)
			nums = strconv.AppendInt(nums, exp, 10)
			if cap(argv)-len(argv) < 6 {
				argv = make([][]byte, 0, 6*256) // the old slab stays with the queued effects
			}
			argv = append(argv, argRestore, key, nums[at:len(nums):len(nums)], k.payload, argReplace, argAbsTTL)
			s.alsoPropagate(0, argv[len(argv)-6:len(argv):len(argv)])
		}
		s.dirty++
		n++
	}
	clear(b.keys) // the values belong to the keyspace now
	b.keys = b.keys[:0]
	if cap(argv) <= 6*4096 {
		p.argv = argv[:0] // emitted before the next command reuses it
	}
	p.nums = nums[:0]
	j.keysRecv += int64(n)
	return n, nil
}

var (
	argRestore = []byte("RESTORE")
	argReplace = []byte("REPLACE")
)
