package node

import (
	"math"

	"github.com/skiffdb/skiff/store"
)

// BITFIELD overflow behaviours.
const (
	bfWrap = iota
	bfSat
	bfFail
)

const errBitfieldType = "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is."

type bitfieldOp struct {
	offset   uint64
	value    int64 // SET value or INCRBY increment
	op       int   // 0 get, 1 set, 2 incrby
	overflow int
	bits     uint
	signed   bool
}

// parseBitfieldType parses i1..i64 or u1..u63.
func parseBitfieldType(c *Client, arg []byte) (signed bool, nbits uint, ok bool) {
	if len(arg) == 0 || (arg[0] != 'i' && arg[0] != 'u') {
		c.replyError(errBitfieldType)
		return false, 0, false
	}
	signed = arg[0] == 'i'
	n, ok := parseInt(arg[1:])
	if !ok || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		c.replyError(errBitfieldType)
		return false, 0, false
	}
	return signed, uint(n), true
}

func cmdBitfield(c *Client, args [][]byte)   { bitfieldGeneric(c, args, false) }
func cmdBitfieldRO(c *Client, args [][]byte) { bitfieldGeneric(c, args, true) }

func bitfieldGeneric(c *Client, args [][]byte, roCmd bool) {
	var ops []bitfieldOp
	overflow := bfWrap
	readonly := true
	var highest uint64
	for j := 2; j < len(args); j++ {
		rem := len(args) - j - 1
		sub := args[j]
		var op int
		switch {
		case eqFold(sub, "get") && rem >= 2:
			op = 0
		case eqFold(sub, "set") && rem >= 3:
			op = 1
		case eqFold(sub, "incrby") && rem >= 3:
			op = 2
		case eqFold(sub, "overflow") && rem >= 1:
			j++
			switch {
			case eqFold(args[j], "wrap"):
				overflow = bfWrap
			case eqFold(args[j], "sat"):
				overflow = bfSat
			case eqFold(args[j], "fail"):
				overflow = bfFail
			default:
				c.replyError("ERR Invalid OVERFLOW type specified")
				return
			}
			continue
		default:
			c.replySyntax()
			return
		}
		signed, nbits, ok := parseBitfieldType(c, args[j+1])
		if !ok {
			return
		}
		off, ok := bitOffset(c, args[j+2], int(nbits))
		if !ok {
			return
		}
		var v int64
		if op != 0 {
			readonly = false
			highest = max(highest, off+uint64(nbits)-1)
			if v, ok = parseInt(args[j+3]); !ok {
				c.replyError(errNotInt)
				return
			}
			j += 3
		} else {
			j += 2
		}
		ops = append(ops, bitfieldOp{offset: off, value: v, op: op, overflow: overflow, bits: nbits, signed: signed})
	}

	var e *store.Entry
	grown := false
	if readonly {
		var ok bool
		if e, ok = stringEntry(c, args[1]); !ok {
			return
		}
	} else {
		if roCmd {
			c.replyError("ERR BITFIELD_RO only supports the GET subcommand")
			return
		}
		var ok bool
		if e, grown, ok = stringForBitWrite(c, args[1], highest); !ok {
			return
		}
	}

	c.w.AppendArray(len(ops))
	changes := 0
	for _, o := range ops {
		if o.op == 0 {
			var src []byte
			if e != nil {
				src = e.Val.Str
			}
			u := getBitfield(src, o.offset, o.bits)
			if o.signed {
				c.replyInt(signExtend(u, o.bits))
			} else {
				c.replyInt(int64(u))
			}
			continue
		}
		s := e.Val.Str
		oldU := getBitfield(s, o.offset, o.bits)
		var newU uint64
		var ret int64
		var over bool
		if o.signed {
			old := signExtend(oldU, o.bits)
			var nv int64
			if o.op == 2 {
				nv, over = signedBitfieldAdd(old, o.value, o.bits, o.overflow)
				ret = nv
			} else {
				nv, over = signedBitfieldAdd(o.value, 0, o.bits, o.overflow)
				ret = old
			}
			newU = uint64(nv)
		} else {
			if o.op == 2 {
				newU, over = unsignedBitfieldAdd(oldU, o.value, o.bits, o.overflow)
				ret = int64(newU)
			} else {
				newU, over = unsignedBitfieldAdd(uint64(o.value), 0, o.bits, o.overflow)
				ret = int64(oldU)
			}
		}
		if over && o.overflow == bfFail {
			c.replyNull()
			continue
		}
		c.replyInt(ret)
		setBitfield(s, o.offset, o.bits, newU)
		if grown || oldU != newU&mask64(o.bits) {
			changes++
		}
	}
	if changes > 0 {
		c.modified(args[1])
		c.srv.dirty += int64(changes - 1)
		c.notify(notifyString, "setbit", args[1])
	}
}

func mask64(nbits uint) uint64 {
	if nbits >= 64 {
		return math.MaxUint64
	}
	return 1<<nbits - 1
}

// getBitfield reads nbits big-endian bits at bit offset off; bits past
// the end of s read as zero.
func getBitfield(s []byte, off uint64, nbits uint) uint64 {
	var v uint64
	for i := uint64(0); i < uint64(nbits); i++ {
		pos := off + i
		bit := uint64(0)
		if pos>>3 < uint64(len(s)) && s[pos>>3]&(1<<(7-pos&7)) != 0 {
			bit = 1
		}
		v = v<<1 | bit
	}
	return v
}

// setBitfield writes the low nbits of v at bit offset off; s is long
// enough (the caller grew it).
func setBitfield(s []byte, off uint64, nbits uint, v uint64) {
	for i := uint64(0); i < uint64(nbits); i++ {
		pos := off + i
		m := byte(1) << (7 - pos&7)
		if v>>(uint64(nbits)-1-i)&1 != 0 {
			s[pos>>3] |= m
		} else {
			s[pos>>3] &^= m
		}
	}
}

func signExtend(u uint64, nbits uint) int64 {
	if nbits < 64 && u&(1<<(nbits-1)) != 0 {
		u |= math.MaxUint64 << nbits
	}
	return int64(u)
}

// unsignedBitfieldAdd computes value+incr for an unsigned field of nbits
// (value may be any uint64 when it comes from SET). It reports overflow
// and returns the wrapped or saturated result. The range checks use
// Redis's wrapping int64 arithmetic on purpose, so that the corner cases
// (huge SET values, INCRBY of math.MinInt64) answer as Redis does.
func unsignedBitfieldAdd(value uint64, incr int64, nbits uint, mode int) (uint64, bool) {
	maxV := mask64(nbits)
	maxInc := int64(maxV - value)
	minInc := -int64(value)
	switch {
	case value > maxV || (incr > 0 && incr > maxInc):
		if mode == bfSat {
			return maxV, true
		}
	case incr < 0 && incr < minInc:
		if mode == bfSat {
			return 0, true
		}
	default:
		return value + uint64(incr), false
	}
	return (value + uint64(incr)) & maxV, true
}

// signedBitfieldAdd is the signed counterpart: wrapping keeps the low
// nbits as two's complement, saturation clamps to the type's range. As
// in Redis, a SET of a value far below the range (whose distance to the
// maximum wraps around) counts as an overflow, not an underflow.
func signedBitfieldAdd(value, incr int64, nbits uint, mode int) (int64, bool) {
	maxV := int64(math.MaxInt64)
	if nbits < 64 {
		maxV = 1<<(nbits-1) - 1
	}
	minV := -maxV - 1
	maxInc := int64(uint64(maxV) - uint64(value))
	minInc := minV - value
	switch {
	case value > maxV || (nbits != 64 && incr > maxInc) || (value >= 0 && incr > 0 && incr > maxInc):
		if mode == bfSat {
			return maxV, true
		}
	case value < minV || (nbits != 64 && incr < minInc) || (value < 0 && incr < 0 && incr < minInc):
		if mode == bfSat {
			return minV, true
		}
	default:
		return value + incr, false
	}
	return signExtend(uint64(value+incr)&mask64(nbits), nbits), true
}
