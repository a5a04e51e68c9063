package node

import (
	"math/bits"

	"github.com/skiffdb/skiff/store"
)

func init() {
	register(
		&Command{Name: "setbit", Arity: 4, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "bitmap", Since: "2.2.0", Summary: "Sets or clears the bit at offset in the string value stored at key", Complexity: "O(1)", Handler: cmdSetbit},
		&Command{Name: "getbit", Arity: 3, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "bitmap", Since: "2.2.0", Summary: "Returns the bit value at offset in the string value stored at key", Complexity: "O(1)", Handler: cmdGetbit},
		&Command{Name: "bitcount", Arity: -2, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "bitmap", Since: "2.6.0", Summary: "Count set bits in a string", Complexity: "O(N)", Handler: cmdBitcount},
		&Command{Name: "bitpos", Arity: -3, Flags: "readonly", FirstKey: 1, LastKey: 1, Step: 1, Group: "bitmap", Since: "2.8.7", Summary: "Find first bit set or clear in a string", Complexity: "O(N)", Handler: cmdBitpos},
		&Command{Name: "bitop", Arity: -4, Flags: "write denyoom", FirstKey: 2, LastKey: -1, Step: 1, Group: "bitmap", Since: "2.6.0", Summary: "Perform bitwise operations between strings", Complexity: "O(N)", Handler: cmdBitop},
		&Command{Name: "bitfield", Arity: -2, Flags: "write denyoom", FirstKey: 1, LastKey: 1, Step: 1, Group: "bitmap", Since: "3.2.0", Summary: "Perform arbitrary bitfield integer operations on strings", Complexity: "O(1) for each subcommand specified", Handler: cmdBitfield},
		&Command{Name: "bitfield_ro", Arity: -2, Flags: "readonly fast", FirstKey: 1, LastKey: 1, Step: 1, Group: "bitmap", Since: "6.0.0", Summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", Complexity: "O(1) for each subcommand specified", Handler: cmdBitfieldRO},
	)
}

// bitOffset parses a bit offset as Redis's getBitOffsetFromArgument: a
// non-negative integer whose byte lies within proto-max-bulk-len; with
// hashBits > 0 the "#N" form means N*hashBits.
func bitOffset(c *Client, arg []byte, hashBits int) (uint64, bool) {
	useHash := hashBits > 0 && len(arg) > 0 && arg[0] == '#'
	if useHash {
		arg = arg[1:]
	}
	n, ok := parseInt(arg)
	if !ok {
		c.replyError(errBitOffset)
		return 0, false
	}
	if useHash {
		n *= int64(hashBits) // wraps like Redis's; a negative result is refused below
	}
	if n < 0 || (c.flags&clientMaster == 0 && n>>3 >= c.srv.protoMaxBulk.Load()) {
		c.replyError(errBitOffset)
		return 0, false
	}
	return uint64(n), true
}

// stringForBitWrite returns key's string grown with zeros so that bit
// maxBit exists, creating it if absent; grown reports a new key or a
// longer string. The value becomes raw, as Redis unshares it.
func stringForBitWrite(c *Client, key []byte, maxBit uint64) (e *store.Entry, grown bool, ok bool) {
	need := int64(maxBit>>3) + 1
	e = c.lookupWrite(key)
	if e == nil {
		e = c.db.SetValue(key, store.Object{Str: make([]byte, need), Type: store.TypeString, Enc: store.EncRaw}, false)
		return e, true, true
	}
	if e.Val.Type != store.TypeString {
		c.replyWrongType()
		return nil, false, false
	}
	old := len(e.Val.Str)
	e.Val.Str = growZero(e.Val.Str, need)
	e.Val.Enc = store.EncRaw
	return e, len(e.Val.Str) != old, true
}

func cmdSetbit(c *Client, args [][]byte) {
	off, ok := bitOffset(c, args[2], 0)
	if !ok {
		return
	}
	on, ok := parseInt(args[3])
	if !ok || on&^1 != 0 {
		c.replyError(errBitValue)
		return
	}
	e, grown, ok := stringForBitWrite(c, args[1], off)
	if !ok {
		return
	}
	byteIdx, mask := off>>3, byte(1)<<(7-off&7)
	old := e.Val.Str[byteIdx]&mask != 0
	if grown || old != (on == 1) {
		if on == 1 {
			e.Val.Str[byteIdx] |= mask
		} else {
			e.Val.Str[byteIdx] &^= mask
		}
		c.modified(args[1])
		c.notify(notifyString, "setbit", args[1])
	}
	if old {
		c.replyInt(1)
	} else {
		c.replyInt(0)
	}
}

func cmdGetbit(c *Client, args [][]byte) {
	off, ok := bitOffset(c, args[2], 0)
	if !ok {
		return
	}
	e, ok := stringEntry(c, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.replyInt(0)
		return
	}
	byteIdx := off >> 3
	if byteIdx < uint64(len(e.Val.Str)) && e.Val.Str[byteIdx]&(1<<(7-off&7)) != 0 {
		c.replyInt(1)
		return
	}
	c.replyInt(0)
}

// bitRange resolves BITCOUNT/BITPOS start/end (already parsed) over a
// string of n bytes into an inclusive range of bits; empty when
// first > last.
func bitRange(start, end, n int64, isBit bool) (first, last int64) {
	total := n
	if isBit {
		total = n * 8
	}
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start = max(start, 0)
	end = max(end, 0)
	end = min(end, total-1)
	if isBit || start > end {
		return start, end
	}
	// end < n here, and start <= end, so neither product overflows.
	return start * 8, end*8 + 7
}

// popcountBits counts the set bits of s in the inclusive bit range.
func popcountBits(s []byte, first, last int64) int64 {
	fb, lb := first>>3, last>>3
	var n int64
	if fb == lb {
		m := byte(0xff>>(first&7)) & byte(0xff<<(7-last&7))
		return int64(bits.OnesCount8(s[fb] & m))
	}
	n += int64(bits.OnesCount8(s[fb] & byte(0xff>>(first&7))))
	n += int64(bits.OnesCount8(s[lb] & byte(0xff<<(7-last&7))))
	mid := s[fb+1 : lb]
	for len(mid) >= 8 {
		w := uint64(mid[0]) | uint64(mid[1])<<8 | uint64(mid[2])<<16 | uint64(mid[3])<<24 |
			uint64(mid[4])<<32 | uint64(mid[5])<<40 | uint64(mid[6])<<48 | uint64(mid[7])<<56
		n += int64(bits.OnesCount64(w))
		mid = mid[8:]
	}
	for _, b := range mid {
		n += int64(bits.OnesCount8(b))
	}
	return n
}

func parseBitUnit(c *Client, arg []byte) (isBit bool, ok bool) {
	switch {
	case eqFold(arg, "bit"):
		return true, true
	case eqFold(arg, "byte"):
		return false, true
	}
	c.replySyntax()
	return false, false
}

func cmdBitcount(c *Client, args [][]byte) {
	e, ok := stringEntry(c, args[1])
	if !ok {
		return
	}
	if e == nil {
		c.replyInt(0)
		return
	}
	s := e.Val.Str
	var first, last int64
	switch len(args) {
	case 2:
		first, last = 0, int64(len(s))*8-1
	case 4, 5:
		start, ok1 := parseInt(args[2])
		if !ok1 {
			c.replyError(errNotInt)
			return
		}
		end, ok2 := parseInt(args[3])
		if !ok2 {
			c.replyError(errNotInt)
			return
		}
		if start < 0 && end < 0 && start > end {
			c.replyInt(0)
			return
		}
		isBit := false
		if len(args) == 5 {
			if isBit, ok = parseBitUnit(c, args[4]); !ok {
				return
			}
		}
		first, last = bitRange(start, end, int64(len(s)), isBit)
	default:
		c.replySyntax()
		return
	}
	if first > last {
		c.replyInt(0)
		return
	}
	c.replyInt(popcountBits(s, first, last))
}

func cmdBitpos(c *Client, args [][]byte) {
	bit, ok := parseInt(args[2])
	if !ok {
		c.replyError(errNotInt)
		return
	}
	if bit != 0 && bit != 1 {
		c.replyError("ERR The bit argument must be 1 or 0.")
		return
	}
	e := c.lookupRead(args[1])
	if e == nil {
		// A missing key is an endless run of zeros.
		if bit == 1 {
			c.replyInt(-1)
		} else {
			c.replyInt(0)
		}
		return
	}
	if e.Val.Type != store.TypeString {
		c.replyWrongType()
		return
	}
	s := e.Val.Str
	n := int64(len(s))
	var first, last int64
	endGiven := false
	switch len(args) {
	case 3:
		first, last = 0, n*8-1
	case 4, 5, 6:
		start, ok := parseInt(args[3])
		if !ok {
			c.replyError(errNotInt)
			return
		}
		isBit := false
		if len(args) == 6 {
			if isBit, ok = parseBitUnit(c, args[5]); !ok {
				return
			}
		}
		end := n - 1
		if isBit {
			end = n*8 + 7
		}
		if len(args) >= 5 {
			if end, ok = parseInt(args[4]); !ok {
				c.replyError(errNotInt)
				return
			}
			endGiven = true
		}
		first, last = bitRange(start, end, n, isBit)
	default:
		c.replySyntax()
		return
	}
	if first > last {
		c.replyInt(-1)
		return
	}
	if pos := findBit(s, first, last, bit == 1); pos >= 0 {
		c.replyInt(pos)
		return
	}
	if bit == 1 || endGiven {
		c.replyInt(-1)
		return
	}
	// Looking for a zero with no explicit end: the string is taken as
	// padded with zeros, so the answer is the first bit past its last
	// byte in range.
	c.replyInt((last>>3 + 1) * 8)
}

// findBit returns the position of the first bit equal to want in the
// inclusive range [first, last] of s, or -1.
func findBit(s []byte, first, last int64, want bool) int64 {
	skip := byte(0xff) // a byte with no interesting bit
	if want {
		skip = 0
	}
	for pos := first; pos <= last; {
		if pos&7 == 0 && pos+7 <= last && s[pos>>3] == skip {
			pos += 8
			continue
		}
		if (s[pos>>3]&(1<<(7-pos&7)) != 0) == want {
			return pos
		}
		pos++
	}
	return -1
}

func cmdBitop(c *Client, args [][]byte) {
	const (
		opAnd = iota
		opOr
		opXor
		opNot
	)
	var op int
	switch {
	case eqFold(args[1], "and"):
		op = opAnd
	case eqFold(args[1], "or"):
		op = opOr
	case eqFold(args[1], "xor"):
		op = opXor
	case eqFold(args[1], "not"):
		op = opNot
	default:
		c.replySyntax()
		return
	}
	if op == opNot && len(args) != 4 {
		c.replyError("ERR BITOP NOT must be called with a single source key.")
		return
	}
	srcs := make([][]byte, 0, len(args)-3)
	maxLen := 0
	for _, k := range args[3:] {
		e := c.lookupRead(k)
		if e == nil {
			srcs = append(srcs, nil)
			continue
		}
		if e.Val.Type != store.TypeString {
			c.replyWrongType()
			return
		}
		srcs = append(srcs, e.Val.Str)
		maxLen = max(maxLen, len(e.Val.Str))
	}
	dest := args[2]
	if maxLen == 0 {
		if c.srv.serverDelete(c.db, string(dest)) {
			c.modified(dest)
			c.notify(notifyGeneric, "del", dest)
		}
		c.replyInt(0)
		return
	}
	res := make([]byte, maxLen)
	copy(res, srcs[0])
	switch op {
	case opNot:
		for i := range res {
			res[i] = ^res[i]
		}
	case opAnd:
		for _, s := range srcs[1:] {
			for i := range res {
				if i < len(s) {
					res[i] &= s[i]
				} else {
					res[i] = 0
				}
			}
		}
	case opOr:
		for _, s := range srcs[1:] {
			for i := 0; i < len(s); i++ {
				res[i] |= s[i]
			}
		}
	case opXor:
		for _, s := range srcs[1:] {
			for i := 0; i < len(s); i++ {
				res[i] ^= s[i]
			}
		}
	}
	c.db.SetValue(dest, store.Object{Str: res, Type: store.TypeString, Enc: store.EncRaw}, false)
	c.modified(dest)
	c.notify(notifyString, "set", dest)
	c.replyInt(int64(maxLen))
}

// Key specs of the string and bitmap commands whose flags differ from
// what COMMAND derives from FirstKey/LastKey (Redis 7.0's key specs).
func init() {
	keySpecOverrides["getex"] = []keySpec{{notes: "RW and UPDATE because it changes the TTL", flags: []string{"RW", "access", "update"}, index: 1, keyStep: 1}}
	keySpecOverrides["strlen"] = []keySpec{{flags: []string{"RO"}, index: 1, keyStep: 1}}
	keySpecOverrides["setrange"] = []keySpec{{flags: []string{"RW", "update"}, index: 1, keyStep: 1}}
	keySpecOverrides["bitop"] = []keySpec{
		{flags: []string{"OW", "update"}, index: 2, keyStep: 1},
		{flags: []string{"RO", "access"}, index: 3, lastKey: -1, keyStep: 1},
	}
	keySpecOverrides["bitfield"] = []keySpec{{notes: "This command allows both access and modification of the key", flags: []string{"RW", "access", "update", "variable_flags"}, index: 1, keyStep: 1}}
	// BITFIELD only reads its key when every subcommand is a GET.
	getKeysProcs["bitfield"] = func(args [][]byte) []keyRef {
		for i := 2; i < len(args); i++ {
			rem := len(args) - i - 1
			switch {
			case eqFold(args[i], "get") && rem >= 2:
				i += 2
			case eqFold(args[i], "overflow") && rem >= 1:
				i++
			default: // SET, INCRBY, or a syntax error: assume a write
				return []keyRef{{pos: 1, flags: []string{"RW", "access", "update"}}}
			}
		}
		return []keyRef{{pos: 1, flags: []string{"RO", "access"}}}
	}
}
