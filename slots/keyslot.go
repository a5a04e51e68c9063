// Package slots is Redis Cluster's slot arithmetic: which of the 16384
// hash slots a key belongs to, and sets and ranges of slots: the slot
// bitmaps ADDSLOTS/ADDSLOTSRANGE/DELSLOTS* edit and the "N" / "A-B"
// notation of CLUSTER NODES and nodes.conf.
//
// # Key slots
//
// KeySlot (and KeySlotString, for a key already held as a string) is
// CRC16-XMODEM of the key (polynomial 0x1021, initial value 0, no
// reflection, no final xor) modulo 16384, with Redis's hash-tag rule: when
// the key contains a '{' and, after it, a '}' with at least one byte
// between them, only the bytes between that first '{' and the first '}'
// following it are hashed, so that "{user1000}.following" and
// "{user1000}.followers" share a slot. An empty tag ("{}") or a '{'
// without a later '}' makes the whole key the hashed part. Both functions
// are table-driven and allocation-free: they run for every key of every
// command in cluster mode.
//
// # Sets and ranges
//
// Set is a 16384-bit bitmap (a value type: the zero Set is empty, two Sets
// compare with ==). Ranges lists its maximal runs in slot order, and
// Range formats as Redis does, "N" for a single slot and "A-B" otherwise;
// ParseRange and ParseSet read that notation back.
package slots

import (
	"bytes"
	"unsafe"
)

// Count is the number of hash slots.
const Count = 16384

// crcTables[7][b] is the CRC16-XMODEM remainder of the byte b (the
// register after feeding b into a zero register), so that one lookup
// advances the CRC by a whole byte. crcTables[i][b] is the register after
// feeding b followed by 7-i zero bytes: because the CRC is linear, the
// register after eight bytes is the xor of one lookup per byte (the first
// two bytes combined with the register's two bytes), and eight bytes are
// consumed per step with independent loads ("slicing by 8").
var crcTables = func() (t [8][256]uint16) {
	for b := range 256 {
		c := uint16(b) << 8
		for range 8 {
			if c&0x8000 != 0 {
				c = c<<1 ^ 0x1021
			} else {
				c <<= 1
			}
		}
		t[7][b] = c
	}
	for i := 6; i >= 0; i-- {
		for b := range 256 {
			c := t[i+1][b] // one more zero byte
			t[i][b] = c<<8 ^ t[7][byte(c>>8)]
		}
	}
	return t
}()

// CRC16 is CRC16-XMODEM of p (poly 0x1021, init 0): CRC16("123456789")
// is 0x31C3.
func CRC16(p []byte) uint16 {
	var c uint16
	t := &crcTables
	for len(p) >= 8 {
		c = t[0][byte(c>>8)^p[0]] ^ t[1][byte(c)^p[1]] ^
			t[2][p[2]] ^ t[3][p[3]] ^ t[4][p[4]] ^ t[5][p[5]] ^ t[6][p[6]] ^ t[7][p[7]]
		p = p[8:]
	}
	for _, b := range p {
		c = c<<8 ^ t[7][byte(c>>8)^b]
	}
	return c
}

// KeySlot is the hash slot (0..16383) of key, following the hash-tag
// rule described in the package documentation. It does not allocate.
func KeySlot(key []byte) int {
	return int(CRC16(hashPart(key)) & (Count - 1))
}

// KeySlotString is KeySlot for a key held as a string, without copying it.
func KeySlotString(key string) int {
	return KeySlot(unsafe.Slice(unsafe.StringData(key), len(key)))
}

// hashPart is the part of key that is hashed: the content of the first
// non-empty {tag}, or the whole key.
func hashPart(key []byte) []byte {
	open := bytes.IndexByte(key, '{')
	if open < 0 {
		return key
	}
	n := bytes.IndexByte(key[open+1:], '}')
	if n <= 0 {
		return key // no '}' after the first '{', or an empty tag "{}"
	}
	return key[open+1 : open+1+n]
}
