package node

import (
	"math"
	"strings"
	"time"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(&Command{Name: "object", Arity: -2, Group: "generic", Since: "2.2.3", Summary: "A container for object introspection commands", Complexity: "Depends on subcommand."})
	registerSub("object",
		&Command{Name: "encoding", Arity: 3, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "generic", Since: "2.2.3", Summary: "Inspect the internal encoding of a Redis object", Complexity: "O(1)", Handler: cmdObjectEncoding},
		&Command{Name: "idletime", Arity: 3, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "generic", Since: "2.2.3", Summary: "Get the time since a Redis object was last accessed", Complexity: "O(1)", Handler: cmdObjectIdletime},
		&Command{Name: "refcount", Arity: 3, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "generic", Since: "2.2.3", Summary: "Get the number of references to the value of the key", Complexity: "O(1)", Handler: cmdObjectRefcount},
		&Command{Name: "freq", Arity: 3, Flags: "readonly", FirstKey: 2, LastKey: 2, Step: 1, Group: "generic", Since: "4.0.0", Summary: "Get the logarithmic access frequency counter of a Redis object", Complexity: "O(1)", Handler: cmdObjectFreq},
		&Command{Name: "help", Arity: 2, Flags: "loading stale", Group: "generic", Since: "6.2.0", Summary: "Show helpful text about the different subcommands", Complexity: "O(1)", Handler: cmdObjectHelp},
	)
}

const (
	errObjectLFUIdle = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
	errObjectNoLFU   = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."
)

// sharedIntRefcount is the reference count Redis reports for its shared
// integer objects (0..9999), which are never freed.
const sharedIntRefcount = math.MaxInt32

var objectHelp = []string{
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
}

// objectLookup finds the key without touching it or firing keymiss, and
// replies null when it is missing.
func objectLookup(c *Client, key []byte) *store.Entry {
	e := c.lookupReadNoTouch(key, true)
	if e == nil {
		c.replyNull()
	}
	return e
}

// lfuPolicy reports whether maxmemory-policy is one of the LFU ones.
func (c *Client) lfuPolicy() bool {
	return strings.HasSuffix(c.srv.cfg.String("maxmemory-policy"), "-lfu")
}

// objectEncoding is the name OBJECT ENCODING reports for a value.
func objectEncoding(o *store.Object) string {
	if o.Type == store.TypeString {
		switch o.Enc {
		case store.EncInt:
			return "int"
		case store.EncEmbstr:
			return "embstr"
		default:
			return "raw"
		}
	}
	if col, ok := o.Val.(store.Collection); ok {
		return col.Encoding()
	}
	return "unknown"
}

func cmdObjectEncoding(c *Client, args [][]byte) {
	if e := objectLookup(c, args[2]); e != nil {
		c.w.AppendBulkString(objectEncoding(&e.Val))
	}
}

func cmdObjectIdletime(c *Client, args [][]byte) {
	e := objectLookup(c, args[2])
	if e == nil {
		return
	}
	if c.lfuPolicy() {
		c.replyError(errObjectLFUIdle)
		return
	}
	c.replyInt(idleSeconds(e.Val.LRU))
}

func cmdObjectRefcount(c *Client, args [][]byte) {
	e := objectLookup(c, args[2])
	if e == nil {
		return
	}
	c.replyInt(objectRefcount(c, &e.Val))
}

// objectRefcount mirrors Redis's sharing of small integers: a string
// stored as an integer in 0..9999 is the shared object, unless an LRU or
// LFU policy with a memory limit needs per-key access data.
func objectRefcount(c *Client, o *store.Object) int64 {
	if o.Type != store.TypeString || o.Enc != store.EncInt {
		return 1
	}
	n, ok := store.ParseStrictInt(o.Str)
	if !ok || n < 0 || n >= 10000 {
		return 1
	}
	if c.srv.cfg.Int("maxmemory") != 0 {
		p := c.srv.cfg.String("maxmemory-policy")
		if strings.HasSuffix(p, "-lru") || strings.HasSuffix(p, "-lfu") {
			return 1
		}
	}
	return sharedIntRefcount
}

func cmdObjectFreq(c *Client, args [][]byte) {
	e := objectLookup(c, args[2])
	if e == nil {
		return
	}
	if !c.lfuPolicy() {
		c.replyError(errObjectNoLFU)
		return
	}
	c.replyInt(lfuDecayed(e.Val.LRU, c.srv.cfg.Int("lfu-decay-time")))
}

// lfuDecayed reads an LFU clock value as Redis lays it out (minutes in
// the top 16 bits, a logarithmic counter in the low 8) and returns the
// counter after decaying it by one per lfu-decay-time minutes idle.
func lfuDecayed(v uint32, decayTime int64) int64 {
	counter := int64(v & 0xff)
	if decayTime <= 0 {
		return counter
	}
	last := int64(v>>8) & 0xffff
	now := (time.Now().Unix() / 60) & 0xffff
	elapsed := now - last
	if elapsed < 0 {
		elapsed += 0xffff
	}
	counter -= elapsed / decayTime
	if counter < 0 {
		counter = 0
	}
	return counter
}

func cmdObjectHelp(c *Client, args [][]byte) {
	c.w.AppendArray(len(objectHelp) + 3)
	c.w.AppendSimple(strings.ToUpper(string(args[0])) + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")
	for _, l := range objectHelp {
		c.w.AppendSimple(l)
	}
	c.w.AppendSimple("HELP")
	c.w.AppendSimple("    Prints this help.")
}
