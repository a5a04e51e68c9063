package node

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "pfadd", Arity: -2, Flags: "write denyoom fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "hyperloglog", Since: "2.8.9", Summary: "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.", Complexity: "O(1) to add every element.", Handler: cmdPfadd},
		&Command{Name: "pfcount", Arity: -2, Flags: "readonly may_replicate", FirstKey: 1, LastKey: -1, Step: 1, Group: "hyperloglog", Since: "2.8.9", Summary: "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).", Complexity: "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.", Handler: cmdPfcount},
		&Command{Name: "pfmerge", Arity: -2, Flags: "write denyoom", FirstKey: 1, LastKey: -1, Step: 1, Group: "hyperloglog", Since: "2.8.9", Summary: "Merges one or more HyperLogLog values into a single key.", Complexity: "O(N) to merge N HyperLogLogs, but with high constant times.", Handler: cmdPfmerge},
		&Command{Name: "pfdebug", Arity: 3, Flags: "write denyoom admin", FirstKey: 2, LastKey: 2, Step: 1, Group: "hyperloglog", Since: "2.8.9", Summary: "Internal commands for debugging HyperLogLog values.", Complexity: "N/A", Handler: cmdPfdebug},
		&Command{Name: "pfselftest", Arity: 1, Flags: "admin", Group: "hyperloglog", Since: "2.8.9", Summary: "An internal command for testing HyperLogLog values.", Complexity: "N/A", Handler: cmdPfselftest},
	)
}

const (
	errNotHLL     = "WRONGTYPE Key is not a valid HyperLogLog string value."
	errCorruptHLL = "INVALIDOBJ Corrupted HLL object detected"
)

// hllValue checks that e holds an HLL string, replying the error Redis
// gives when it does not.
func hllValue(c *Client, e *store.Entry) bool {
	if e.Val.Type != store.TypeString {
		c.replyWrongType()
		return false
	}
	if !store.IsHLL(e.Val.Str) {
		c.replyError(errNotHLL)
		return false
	}
	return true
}

func (c *Client) hllSparseMax() int { return int(c.srv.cfg.Int("hll-sparse-max-bytes")) }

// newHLLEntry creates key holding an empty HLL (a raw-encoded string, as
// Redis creates it).
func newHLLEntry(c *Client, key []byte) *store.Entry {
	return c.db.SetValue(key, store.Object{Type: store.TypeString, Str: store.NewHLL(), Enc: store.EncRaw}, false)
}

func cmdPfadd(c *Client, args [][]byte) {
	key := args[1]
	e := c.lookupWrite(key)
	updated := 0
	if e == nil {
		e = newHLLEntry(c, key)
		updated++
	} else if !hllValue(c, e) {
		return
	}
	max := c.hllSparseMax()
	for _, ele := range args[2:] {
		b, changed, err := store.HLLAdd(e.Val.Str, ele, max)
		if err != nil {
			c.replyError(errCorruptHLL)
			return
		}
		e.Val.Str = b
		if changed {
			updated++
		}
	}
	e.Val.Enc = store.EncRaw
	if updated > 0 {
		c.modified(key)
		c.srv.dirty += int64(updated - 1)
		c.notify(notifyString, "pfadd", key)
		store.HLLInvalidateCache(e.Val.Str)
	}
	c.replyInt(b2i(updated > 0))
}

func cmdPfcount(c *Client, args [][]byte) {
	if len(args) > 2 {
		regs := make([]uint8, store.HLLRegisters)
		for _, k := range args[1:] {
			e := c.lookupRead(k)
			if e == nil {
				continue
			}
			if !hllValue(c, e) {
				return
			}
			if err := store.HLLMerge(regs, e.Val.Str); err != nil {
				c.replyError(errCorruptHLL)
				return
			}
		}
		c.replyInt(int64(store.HLLCountRegisters(regs)))
		return
	}
	key := args[1]
	e := c.lookupRead(key)
	if e == nil {
		c.replyInt(0)
		return
	}
	if !hllValue(c, e) {
		return
	}
	card, recomputed, err := store.HLLCount(e.Val.Str)
	if err != nil {
		c.replyError(errCorruptHLL)
		return
	}
	if recomputed {
		// The cached cardinality is part of the value: replicas must see
		// it change too.
		c.modified(key)
	}
	c.replyInt(int64(card))
}

func cmdPfmerge(c *Client, args [][]byte) {
	regs := make([]uint8, store.HLLRegisters)
	useDense := false
	for _, k := range args[1:] {
		e := c.lookupRead(k)
		if e == nil {
			continue
		}
		if !hllValue(c, e) {
			return
		}
		if store.HLLIsDense(e.Val.Str) {
			useDense = true
		}
		if err := store.HLLMerge(regs, e.Val.Str); err != nil {
			c.replyError(errCorruptHLL)
			return
		}
	}
	key := args[1]
	e := c.lookupWrite(key)
	if e == nil {
		e = newHLLEntry(c, key)
	}
	b := e.Val.Str
	if useDense {
		d, err := store.HLLToDense(b)
		if err != nil {
			c.replyError(errCorruptHLL)
			return
		}
		b = d
	}
	max := c.hllSparseMax()
	for i, v := range regs {
		if v == 0 {
			continue
		}
		nb, _, err := store.HLLSet(b, i, v, max)
		if err != nil {
			break // Redis ignores a corrupt destination here too
		}
		b = nb
	}
	store.HLLInvalidateCache(b)
	e.Val.Str = b
	e.Val.Enc = store.EncRaw
	c.modified(key)
	c.notify(notifyString, "pfadd", key)
	c.replyOK()
}

func cmdPfdebug(c *Client, args [][]byte) {
	sub := strings.ToLower(string(args[1]))
	key := args[2]
	e := c.lookupWrite(key)
	if e == nil {
		c.replyError("ERR The specified key does not exist")
		return
	}
	if !hllValue(c, e) {
		return
	}
	switch sub {
	case "getreg":
		if !store.HLLIsDense(e.Val.Str) {
			d, err := store.HLLToDense(e.Val.Str)
			if err != nil {
				c.replyError(errCorruptHLL)
				return
			}
			e.Val.Str = d
			c.srv.dirty++
		}
		regs, _ := store.HLLRegistersOf(e.Val.Str)
		c.w.AppendArray(len(regs))
		for _, v := range regs {
			c.replyInt(int64(v))
		}
	case "decode":
		if store.HLLIsDense(e.Val.Str) {
			c.replyError("ERR HLL encoding is not sparse")
			return
		}
		c.replyBulkString(store.HLLDecodeSparse(e.Val.Str))
	case "encoding":
		if store.HLLIsDense(e.Val.Str) {
			c.w.AppendSimple("dense")
		} else {
			c.w.AppendSimple("sparse")
		}
	case "todense":
		conv := !store.HLLIsDense(e.Val.Str)
		if conv {
			d, err := store.HLLToDense(e.Val.Str)
			if err != nil {
				c.replyError(errCorruptHLL)
				return
			}
			e.Val.Str = d
			c.srv.dirty++
		}
		c.replyInt(b2i(conv))
	default:
		c.replyError(fmt.Sprintf("ERR Unknown PFDEBUG subcommand '%s'", args[1]))
	}
}

// cmdPfselftest checks that the sparse and dense encodings agree and that
// estimates stay within bounds, as Redis's PFSELFTEST does.
func cmdPfselftest(c *Client, args [][]byte) {
	if err := store.HLLSelfTest(rand.Uint64()); err != nil {
		c.replyError("ERR " + err.Error())
		return
	}
	c.replyOK()
}
