package rdb

import (
	"encoding/binary"
	"hash/crc64"
)

// Redis's CRC64 is the "Jones" polynomial, reflected, starting at 0 with
// no final xor.
//
// The stdlib's crc64.Update is slow for it: with a table other than ECMA
// or ISO it compares the table with those two (2 KiB each) on every call
// of 64 bytes or more, goes byte by byte below 2 KiB, and builds a
// slicing-by-8 table on every call above. An RDB load updates the CRC
// once per field (a 100-byte value, a 1-byte length), so that cost was a
// sixth of a replica's full sync (docs/performance.md, "Full sync").
// Here the slicing-by-8 tables are built once.
var crcTables = func() *[8][256]uint64 {
	var t [8][256]uint64
	t[0] = *crc64.MakeTable(0x95AC9329AC4BC9B5)
	for i := 0; i < 256; i++ {
		c := t[0][i]
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return &t
}()

// crcUpdate extends a Redis CRC64 with p.
func crcUpdate(crc uint64, p []byte) uint64 {
	t := crcTables
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, v := range p {
		crc = t[0][byte(crc)^v] ^ crc>>8
	}
	return crc
}

// CRC64 is Redis's CRC64 of p.
func CRC64(p []byte) uint64 { return crcUpdate(0, p) }
