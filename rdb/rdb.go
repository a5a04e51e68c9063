// Package rdb reads and writes Redis's RDB format (version 10, as Redis
// 7.0 writes it) and the DUMP payload that shares its value encoding.
//
// Files Skiff writes use plain encodings that every Redis 7.0 loads
// (strings, with small integers int-encoded; lists as plain lists; sets
// as intsets or plain sets; hashes plain; sorted sets as zset_2), so that
// redis-server and redis-check-rdb accept them. The reader accepts
// everything Redis 7.0.15 writes plus the older encodings (ziplists,
// zipmaps, quicklists of ziplists) and function libraries (handed to
// Hooks.Function, and written by Writer.Function), and refuses modules
// and streams with an error, since Skiff has no such values.
//
// The reader is meant for hostile input: every length is checked against
// the bytes actually present before memory is committed to it, and every
// error names the byte offset at which decoding failed.
package rdb

import (
	"errors"
	"fmt"

	"github.com/skiffdb/skiff/store"
)

// Version is the RDB version Skiff writes and the newest it reads.
const Version = 10

// Opcodes and value types of the format.
const (
	opFunction2    = 0xF5
	opFunction     = 0xF6
	opModuleAux    = 0xF7
	opIdle         = 0xF8
	opFreq         = 0xF9
	opAux          = 0xFA
	opResizeDB     = 0xFB
	opExpireTimeMS = 0xFC
	opExpireTime   = 0xFD
	opSelectDB     = 0xFE
	opEOF          = 0xFF

	typeString         = 0
	typeList           = 1
	typeSet            = 2
	typeZSet           = 3
	typeHash           = 4
	typeZSet2          = 5
	typeModule         = 6
	typeModule2        = 7
	typeHashZipmap     = 9
	typeListZiplist    = 10
	typeSetIntset      = 11
	typeZSetZiplist    = 12
	typeHashZiplist    = 13
	typeListQuicklist  = 14
	typeStreamLP       = 15
	typeHashListpack   = 16
	typeZSetListpack   = 17
	typeListQuicklist2 = 18
	typeStreamLP2      = 19

	// quicklist 2 node containers
	containerPlain  = 1
	containerPacked = 2
)

// Length encoding markers.
const (
	len6      = 0
	len14     = 1
	len32     = 0x80
	len64     = 0x81
	lenEncVal = 3

	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// Limits are the thresholds under which a loaded value keeps a compact
// encoding, Redis's *-max-listpack-* and set-max-intset-entries options.
type Limits struct {
	HashEntries int
	HashValue   int
	SetIntset   int
	ZSet        store.ZLimits
}

// DefaultLimits are Redis's default thresholds.
var DefaultLimits = Limits{HashEntries: 512, HashValue: 64, SetIntset: 512, ZSet: store.DefaultZLimits}

// Error is a decoding failure at a byte offset of the input.
type Error struct {
	Offset int64
	Msg    string
	// Reason is Redis's words for the failure where Redis logs some
	// ("Ziplist integrity check failed." ...; see sanitize.go), else "".
	Reason string
	// Dump, when set, is a blob Redis logs as a hexdump titled DumpName
	// before it gives up on the value (see sanitize.go).
	DumpName string
	Dump     []byte
	// RedisAsserts: Redis fails an assertion (and exits) at this point of
	// the value instead of reporting it; servers log its lines.
	RedisAsserts bool
}

func (e *Error) Error() string { return fmt.Sprintf("rdb: at offset %d: %s", e.Offset, e.Msg) }

// ErrEmptyKey reports a collection value without elements. Redis skips
// such keys when loading a file and refuses them in RESTORE.
var ErrEmptyKey = errors.New("rdb: empty collection value")

// ErrChecksum reports a DUMP payload whose version or CRC is wrong.
var ErrChecksum = errors.New("rdb: DUMP payload version or checksum are wrong")
