package node

import (
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(&Command{Name: "debug", Arity: -2, Flags: "admin noscript loading stale protected", Group: "server", Since: "1.0.0", Summary: "A container for debugging commands.", Complexity: "Depends on subcommand.", Handler: cmdDebug})
}

// debugReload implements DEBUG RELOAD (save and load the dataset); the
// persistence package sets it. Without persistence the dataset a reload
// would produce is the one in memory, so the default does nothing.
var debugReload = func(c *Client, args [][]byte) error { return nil }

func cmdDebug(c *Client, args [][]byte) {
	// enable-debug-command was checked before the call (protected.go).
	sub := strings.ToLower(string(args[1]))
	argc := len(args)
	switch {
	case sub == "help" && argc == 2:
		debugHelp(c)
	case sub == "log" && argc == 3:
		c.srv.log.Warn("DEBUG LOG: " + string(args[2]))
		c.replyOK()
	case sub == "sleep" && argc == 3:
		secs, err := strconv.ParseFloat(string(args[2]), 64)
		if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			c.replyError(errNotFloat)
			return
		}
		// Like Redis, the whole server sleeps: the data lock stays held.
		if secs > 0 {
			time.Sleep(time.Duration(secs * float64(time.Second)))
		}
		c.replyOK()
	case sub == "set-disable-deny-scripts" && argc == 3:
		n, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil {
			c.replyError(errNotInt)
			return
		}
		c.srv.scripts.allowNoScript = n != 0
		c.replyOK()
	case sub == "set-active-expire" && argc == 3:
		n, err := strconv.ParseInt(string(args[2]), 10, 64)
		if err != nil {
			c.replyError(errNotInt)
			return
		}
		c.srv.activeExpire.Store(n != 0)
		c.replyOK()
	case sub == "digest" && argc == 2:
		d := c.srv.datasetDigest()
		c.w.AppendSimple(hex.EncodeToString(d[:]))
	case sub == "digest-value":
		c.w.AppendArray(argc - 2)
		for _, k := range args[2:] {
			var d [20]byte
			if e := c.db.Peek(k); e != nil {
				d = valueDigest(&e.Val)
			}
			c.w.AppendSimple(hex.EncodeToString(d[:]))
		}
	case sub == "object" && argc == 3:
		debugObject(c, args[2])
	case sub == "protocol" && argc == 3:
		debugProtocol(c, strings.ToLower(string(args[2])))
	case sub == "populate" && argc >= 3 && argc <= 5:
		debugPopulate(c, args)
	case sub == "reload":
		if err := debugReload(c, args); err != nil {
			c.replyError(debugReloadReply(c, err)) // cmd_save.go
			return
		}
		c.replyOK()
	case sub == "segfault" && argc == 2:
		// Redis crashes on purpose here; so does this process, with the
		// same report in the log and the status of a SIGSEGV death.
		CrashReport(c.srv.log, syscall.SIGSEGV)
	case sub == "replicate" && argc >= 3:
		// Feed the replicas a command without running it here (Redis's
		// suite uses it to make a replica diverge on purpose).
		c.srv.replicate(-1, args[2:])
		c.replyOK()
	case sub == "loadaof" && argc == 2:
		if err := debugLoadAOF(c); err != nil {
			// Redis exits here (its dataset is gone); we keep serving
			// what was loaded and say why in the log and the reply.
			c.srv.log.Error("DEBUG LOADAOF failed", "error", err)
			c.replyErrorf("ERR Error loading the AOF: %v", err)
			return
		}
		c.replyOK()
	case sub == "change-repl-id" && argc == 2:
		st := c.srv.infoState()
		var id [20]byte
		copy(id[:], c.srv.runID)
		sum := sha1.Sum(append(id[:], strconv.FormatInt(time.Now().UnixNano(), 10)...))
		st.replID = hex.EncodeToString(sum[:])
		c.replyOK()
	case sub == "pause-cron" && argc == 3:
		c.srv.x.cronPaused.Store(string(args[2]) != "0")
		c.replyOK()
	case sub == "error" && argc == 3:
		c.replyError(string(args[2]))
	case sub == "set-skip-checksum-validation" && argc == 3:
		// Redis reads the flag with atoi: no error for a non-number.
		c.srv.x.dump.skipChecksum.Store(atoiPrefix(args[2]) != 0) // sanitize.go
		c.replyOK()
	case sub == "replybuffer" && argc == 4:
		debugReplyBuffer(c, args) // clientbuf.go
	case (sub == "jmap" || sub == "quicklist-packed-threshold" ||
		sub == "set-disable-deny-scripts" ||
		sub == "dict-resizing") && argc >= 2:
		// Knobs of Redis's allocator and encodings that have no
		// counterpart here; accepting them keeps tests that set them going.
		c.replyOK()
	case sub == "config-rewrite-force-all" && argc == 2:
		if err := c.srv.cfg.Rewrite(); err != nil {
			c.replyErrorf("ERR CONFIG-REWRITE-FORCE-ALL failed: %v", err)
			return
		}
		c.replyOK()
	case sub == "drop-cluster-packet-filter" && argc == 3:
		debugDropClusterPacketFilter(c, args[2]) // cluster.go
	case sub == "stringmatch-len":
		c.replyError("ERR unsupported")
	default:
		c.replyErrorf("ERR unknown subcommand or wrong number of arguments for '%.128s'. Try DEBUG HELP.", args[1])
	}
}

func debugHelp(c *Client) {
	c.replyHelp([]string{
		"CHANGE-REPL-ID",
		"    Change the replication IDs of the instance.",
		"DIGEST",
		"    Output a hex signature representing the current DB content.",
		"DIGEST-VALUE <key> [<key> ...]",
		"    Output a hex signature of the values of all the specified keys.",
		"DROP-CLUSTER-PACKET-FILTER <packet-type>",
		"    Drop incoming cluster messages of that type (4 PUBLISH, 10 PUBLISHSHARD); -1 drops none.",
		"ERROR <string>",
		"    Return a Redis protocol error with <string> as message.",
		"LOADAOF",
		"    Flush the AOF buffers on disk and reload the AOF in memory.",
		"LOG <message>",
		"    Write <message> to the server log.",
		"OBJECT <key>",
		"    Show low level info about the `key` and associated value.",
		"POPULATE <count> [<prefix>] [<size>]",
		"    Create <count> string keys named key:<num>, or <prefix>:<num> when given.",
		"RELOAD",
		"    Save the dataset and reload it.",
		"SET-ACTIVE-EXPIRE <0|1>",
		"    Switch the active expiry cycle off (0) or on (1).",
		"SLEEP <seconds>",
		"    Stop the server for <seconds>. Decimals allowed.",
	})
}

// digestWriter feeds values into a SHA-1 with length prefixes, so that
// different splits of the same bytes digest differently.
type digestWriter struct{ buf []byte }

func (d *digestWriter) add(b []byte) {
	d.buf = binary.AppendUvarint(d.buf, uint64(len(b)))
	d.buf = append(d.buf, b...)
}

func (d *digestWriter) addString(s string) {
	d.buf = binary.AppendUvarint(d.buf, uint64(len(s)))
	d.buf = append(d.buf, s...)
}

func (d *digestWriter) sum() [20]byte { return sha1.Sum(d.buf) }

func xorInto(dst *[20]byte, src [20]byte) {
	for i := range dst {
		dst[i] ^= src[i]
	}
}

// Shapes of collection values, matched by method so that this file does
// not depend on each type's internals.
type (
	listLike interface {
		Len() int
		At(i int) string
	}
	hashLike interface {
		Each(fn func(field, value string) bool)
	}
	setLike interface {
		Each(fn func(member string) bool)
	}
	zsetLike interface {
		Len() int
		At(r int) store.ZMember
	}
)

// keyDigest is one key's part of DEBUG DIGEST: its name and its value.
func keyDigest(key string, o *store.Object) [20]byte {
	v := valueDigest(o)
	var d digestWriter
	d.addString(key)
	d.buf = append(d.buf, v[:]...)
	return d.sum()
}

// valueDigest is DEBUG DIGEST-VALUE: a digest of the type, the content
// and whether there is a TTL (like Redis, not the TTL itself, so a COPY
// digests equal to its source). Unordered collections combine their
// elements with XOR so that the digest does not depend on iteration
// order.
func valueDigest(o *store.Object) [20]byte {
	var d digestWriter
	d.addString(o.Type.String())
	if o.Expire != 0 {
		d.addString("!!expire!!")
	}
	if o.Type == store.TypeString {
		d.add(o.Str)
		return d.sum()
	}
	var acc [20]byte
	switch v := o.Val.(type) {
	case zsetLike:
		for i := 0; i < v.Len(); i++ {
			m := v.At(i)
			d.addString(m.Member)
			d.addString(strconv.FormatFloat(m.Score, 'g', 17, 64))
		}
	case listLike:
		for i := 0; i < v.Len(); i++ {
			d.addString(v.At(i))
		}
	case hashLike:
		v.Each(func(f, val string) bool {
			var e digestWriter
			e.addString(f)
			e.addString(val)
			xorInto(&acc, e.sum())
			return true
		})
	case setLike:
		v.Each(func(m string) bool {
			var e digestWriter
			e.addString(m)
			xorInto(&acc, e.sum())
			return true
		})
	case interface{ AppendDigest([]byte) []byte }: // streams
		d.buf = v.AppendDigest(d.buf)
	case store.Collection:
		// An unknown kind: its size is the best signature available.
		d.addString(strconv.Itoa(v.Len()))
	}
	d.buf = append(d.buf, acc[:]...)
	return d.sum()
}

// datasetDigest is DEBUG DIGEST: all zeros for an empty dataset,
// otherwise a digest of every database's keys, independent of the order
// in which keys are stored. Logically expired keys that were not yet
// reclaimed are skipped, as they do not exist for clients.
func (s *Server) datasetDigest() [20]byte {
	var total [20]byte
	now := time.Now().UnixMilli()
	for _, db := range s.store.DBs {
		if db.Len() == 0 {
			continue
		}
		var dbAcc [20]byte
		n := 0
		db.Dict().Each(func(e *store.Entry) bool {
			if e.Val.Expire != 0 && e.Val.Expire <= now {
				return true
			}
			xorInto(&dbAcc, keyDigest(e.Key, &e.Val))
			n++
			return true
		})
		if n == 0 {
			continue
		}
		var d digestWriter
		d.addString(strconv.Itoa(db.ID))
		d.buf = append(d.buf, dbAcc[:]...)
		xorInto(&total, d.sum())
	}
	return total
}

func encodingName(o *store.Object) string {
	if o.Type == store.TypeString {
		switch o.Enc {
		case store.EncInt:
			return "int"
		case store.EncEmbstr:
			return "embstr"
		}
		return "raw"
	}
	if coll, ok := o.Val.(store.Collection); ok {
		return coll.Encoding()
	}
	return "unknown"
}

func debugObject(c *Client, key []byte) {
	e := c.db.Peek(key)
	if e == nil {
		c.replyError(errNoSuchKey)
		return
	}
	o := &e.Val
	serLen := len(o.Str)
	extra := ""
	if coll, ok := o.Val.(store.Collection); ok {
		serLen = int(coll.MemoryUsage())
		if coll.Encoding() == "quicklist" {
			extra = fmt.Sprintf(" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:0 ql_uncompressed_size:%d",
				1, float64(coll.Len()), c.srv.cfg.Int("list-max-listpack-size"), serLen)
		}
	}
	c.w.AppendSimple(fmt.Sprintf("Value at:%p refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d%s",
		unsafe.Pointer(o), encodingName(o), serLen, o.LRU, idleSeconds(o.LRU), extra))
}

func debugPopulate(c *Client, args [][]byte) {
	count, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil || count < 0 {
		c.replyError("ERR value is out of range, must be positive")
		return
	}
	prefix := "key"
	if len(args) >= 4 {
		prefix = string(args[3])
	}
	var size int64
	if len(args) == 5 {
		size, err = strconv.ParseInt(string(args[4]), 10, 64)
		if err != nil || size < 0 {
			c.replyError("ERR value is out of range, must be positive")
			return
		}
	}
	var kb, vb, padded []byte
	if size > 0 {
		padded = make([]byte, size)
	}
	for j := int64(0); j < count; j++ {
		kb = strconv.AppendInt(append(append(kb[:0], prefix...), ':'), j, 10)
		if c.db.Lookup(kb, c.now) != nil {
			continue
		}
		vb = strconv.AppendInt(append(vb[:0], "value:"...), j, 10)
		val := vb
		if size > 0 {
			// One reused buffer (SetString copies): a garbage value per
			// key, between the live ones, would leave the heap's spans
			// half empty after the next collection.
			clear(padded)
			copy(padded, vb)
			val = padded
		}
		c.db.SetString(kb, val, false)
		c.srv.signalModifiedKey(c.db, kb)
	}
	c.replyOK()
}

// debugProtocol is DEBUG PROTOCOL <type>: one reply of each RESP type, so
// that clients (and Redis's test suite) can check their parsers.
func debugProtocol(c *Client, name string) {
	w := &c.w
	switch name {
	case "string":
		w.AppendBulkString("Hello World")
	case "integer":
		w.AppendInt(12345)
	case "double":
		w.AppendDouble(3.141)
	case "bignum":
		const n = "1234567999999999999999999999999999999"
		if w.Proto == 3 {
			w.AppendRaw([]byte("(" + n + "\r\n"))
		} else {
			w.AppendBulkString(n)
		}
	case "null":
		w.AppendNull()
	case "array", "set":
		if name == "set" {
			w.AppendSet(3)
		} else {
			w.AppendArray(3)
		}
		for j := int64(0); j < 3; j++ {
			w.AppendInt(j)
		}
	case "map":
		w.AppendMap(3)
		for j := int64(0); j < 3; j++ {
			w.AppendInt(j)
			w.AppendBool(j == 1)
		}
	case "attrib":
		if w.Proto == 3 {
			// An attribute precedes the real reply it annotates.
			w.AppendRaw([]byte("|1\r\n"))
			w.AppendBulkString("key-popularity")
			w.AppendArray(2)
			w.AppendBulkString("key:123")
			w.AppendInt(90)
		}
		w.AppendBulkString("Some real reply following the attribute")
	case "push":
		if w.Proto < 3 {
			c.replyError("ERR RESP2 is not supported by this command")
			return
		}
		w.AppendPush(2)
		w.AppendBulkString("server-cpu-usage")
		w.AppendInt(42)
		w.AppendBulkString("Some real reply following the push reply")
	case "true":
		w.AppendBool(true)
	case "false":
		w.AppendBool(false)
	case "verbatim":
		w.AppendVerbatim("This is a verbatim\nstring")
	default:
		c.replyError("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")
	}
}
