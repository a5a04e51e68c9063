package rdb

import "hash/crc64"

// Redis's CRC64 is the "Jones" polynomial, reflected, starting at 0 with
// no final xor. The stdlib takes any reversed polynomial but inverts the
// crc before and after each update; inverting around the call cancels
// that.
var crcTable = crc64.MakeTable(0x95AC9329AC4BC9B5)

// crcUpdate extends a Redis CRC64 with p.
func crcUpdate(crc uint64, p []byte) uint64 { return ^crc64.Update(^crc, crcTable, p) }

// CRC64 is Redis's CRC64 of p.
func CRC64(p []byte) uint64 { return crcUpdate(0, p) }
