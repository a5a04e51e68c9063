package node

import (
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/store"
)

func init() {
	register(&Command{Name: "dump", Arity: 2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "2.6.0", Summary: "Return a serialized version of the value stored at the specified key.", Complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).", ACL: []string{"keyspace"}, Handler: cmdDump})
	register(&Command{Name: "restore", Arity: -4, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "generic", Since: "2.6.0", Summary: "Create a key using the provided serialized value, previously obtained using DUMP.", Complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).", ACL: []string{"keyspace", "dangerous"}, Handler: cmdRestore})
}

const (
	errBusyKey             = "BUSYKEY Target key name already exists."
	errDumpPayload         = "ERR DUMP payload version or checksum are wrong"
	errBadDataFormat       = "ERR Bad data format"
	errInvalidTTL          = "ERR Invalid TTL value, must be >= 0"
	errInvalidIdle         = "ERR Invalid IDLETIME value, must be >= 0"
	errInvalidFreq         = "ERR Invalid FREQ value, must be >= 0 and <= 255"
	lruClockMax      int64 = 1<<24 - 1
)

var argAbsTTL = []byte("ABSTTL")

func cmdDump(c *Client, args [][]byte) {
	e := c.lookupRead(args[1])
	if e == nil {
		c.replyNull()
		return
	}
	p, err := rdb.EncodeValue(&e.Val)
	if err != nil {
		c.replyErrorf("ERR cannot serialize the value: %v", err)
		return
	}
	c.replyBulk(p)
}

// rdbLimits are the encoding thresholds a loaded value is given.
func (s *Server) rdbLimits() rdb.Limits {
	return rdb.Limits{
		HashEntries: int(s.cfg.Int("hash-max-listpack-entries")),
		HashValue:   int(s.cfg.Int("hash-max-listpack-value")),
		SetIntset:   int(s.cfg.Int("set-max-intset-entries")),
		ZSet: store.ZLimits{
			Entries: int(s.cfg.Int("zset-max-listpack-entries")),
			Value:   int(s.cfg.Int("zset-max-listpack-value")),
		},
	}
}

// skipChecksum is DEBUG SET-SKIP-CHECKSUM-VALIDATION's switch (payloads
// of RESTORE and FUNCTION RESTORE, RDB files loaded).
func skipChecksum(s *Server) bool { return s.x.dump.skipChecksum.Load() }

// cmdRestore is RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s]
// [FREQ f], checking its options, the key and the TTL in Redis's order.
func cmdRestore(c *Client, args [][]byte) {
	var replace, absTTL bool
	idle, freq := int64(-1), int64(-1)
	for j := 4; j < len(args); j++ {
		more := len(args) - j - 1
		switch opt := strings.ToLower(string(args[j])); {
		case opt == "replace":
			replace = true
		case opt == "absttl":
			absTTL = true
		case opt == "idletime" && more >= 1 && freq == -1:
			v, ok := parseInt(args[j+1])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			if v < 0 {
				c.replyError(errInvalidIdle)
				return
			}
			idle = v
			j++
		case opt == "freq" && more >= 1 && idle == -1:
			v, ok := parseInt(args[j+1])
			if !ok {
				c.replyError(errNotInt)
				return
			}
			if v < 0 || v > 255 {
				c.replyError(errInvalidFreq)
				return
			}
			freq = v
			j++
		default:
			c.replySyntax()
			return
		}
	}
	key := args[1]
	if !replace && c.lookupWrite(key) != nil {
		c.replyError(errBusyKey)
		return
	}
	ttl, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if ttl < 0 {
		c.replyError(errInvalidTTL)
		return
	}
	obj, corrupt := c.decodeRestorePayload(args[3]) // sanitize.go
	if obj == nil {
		return // replied
	}
	deleted := false
	if replace {
		deleted = c.srv.serverDelete(c.db, string(key))
	}
	if ttl != 0 && !absTTL {
		ttl += c.now
	}
	if ttl != 0 && ttl <= c.now && c.srv.repl.masterHost == "" {
		// Already expired: the key is not created, but a replaced one is
		// gone, which replicas learn as a DEL.
		if deleted {
			c.propagateArgv = [][]byte{[]byte("DEL"), listCopyBytes(key)}
			c.modified(key)
			c.notify(notifyGeneric, "del", key)
		}
		c.replyOK()
		return
	}
	obj.Expire = 0
	e := c.db.SetValue(key, *obj, false)
	if corrupt != nil {
		c.srv.registerCorrupt(c.db, key, e, corrupt)
	}
	if ttl != 0 {
		c.db.SetExpire(e, ttl)
		if !absTTL {
			pa := make([][]byte, 0, len(args)+1)
			for _, a := range args {
				pa = append(pa, listCopyBytes(a))
			}
			pa[2] = strconv.AppendInt(nil, ttl, 10)
			c.propagateArgv = append(pa, argAbsTTL)
		}
	}
	switch {
	case c.lfuPolicy():
		if freq >= 0 {
			e.Val.LRU = uint32(((c.now/1000)/60)&0xffff)<<8 | uint32(freq)
		}
	case idle >= 0:
		now := int64(lruAt(c.now))
		abs := now - idle
		if abs < 0 {
			abs = (abs%(lruClockMax+1) + lruClockMax + 1) % (lruClockMax + 1)
		}
		e.Val.LRU = uint32(abs)
	}
	c.modified(key)
	c.notify(notifyGeneric, "restore", key)
	c.replyOK()
}
