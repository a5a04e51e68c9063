package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/skiffdb/skiff/store"
)

// Redis checks a RESTORE payload (and an RDB file) at two depths, chosen by
// sanitize-dump-payload. The shallow checks (headers, sizes, terminators)
// are always made; the deep ones (every entry of a listpack, the order of
// an intset, duplicates) only with sanitization. Ziplists and zipmaps are
// always checked deeply, since Redis converts them entry by entry anyway.
//
// Skiff decodes every value into its own structures, so it always walks
// every entry. What the depth changes is the answer for a payload that
// passes the shallow checks but not the deep ones:
//   - deep: the payload is refused, as Redis refuses it;
//   - shallow (DecodeOptions.Shallow): Redis would have accepted it and
//     failed later, when a command reads the value (an assertion that ends
//     the process). DecodeValueOpts then returns a *DeferredError with the
//     value as far as it decoded, and leaves the choice to the server.
//
// Errors carry Redis's own words for the failure in Error.Reason (the text
// Redis logs after "Internal error in RDB reading ... ->"), so that a
// server can log them as Redis does; Msg keeps Skiff's detail.

// Redis's reasons, as rdb.c logs them.
const (
	reasonQuicklist      = "Quicklist integrity check failed."
	reasonListpack       = "Listpack integrity check failed."
	reasonZiplist        = "Ziplist integrity check failed."
	reasonZipmap         = "Zipmap integrity check failed."
	reasonListZiplist    = "List ziplist integrity check failed."
	reasonIntset         = "Intset integrity check failed."
	reasonZSetZiplist    = "Zset ziplist integrity check failed."
	reasonZSetListpack   = "Zset listpack integrity check failed."
	reasonHashZiplist    = "Hash ziplist integrity check failed."
	reasonHashListpack   = "Hash listpack integrity check failed."
	reasonSetDup         = "Duplicate set members detected"
	reasonZSetNaN        = "Zset with NAN score detected"
	reasonZSetDup        = "Duplicate zset fields detected"
	reasonHashDupDeep    = "Hash with dup elements"
	reasonHashDup        = "Duplicate hash fields detected"
	reasonLZF            = "Invalid LZF compressed string"
	reasonCRC            = "RDB CRC error"
	reasonUnexpectedEOF  = "Unexpected EOF reading RDB file"
	reasonZipmapDupOrBig = "Hash zipmap with dup elements, or big length (%d)"
)

// DecodeOptions are the choices of DecodeValueOpts.
type DecodeOptions struct {
	// SkipChecksum accepts a payload whatever its CRC64 (Redis's DEBUG
	// SET-SKIP-CHECKSUM-VALIDATION); the RDB version is still checked.
	SkipChecksum bool
	// Shallow is Redis without deep sanitization (sanitize-dump-payload
	// no, or clients for a master or a user with skip-sanitize-payload):
	// a payload that only the deep checks refuse comes back as a
	// *DeferredError instead of being refused.
	Shallow bool
}

// DeferredError reports a payload that passed the checks Redis makes
// without deep sanitization but is corrupt further in. Redis would have
// restored it and asserted when a command read it. Value is the value as
// far as it decoded (possibly without elements, never nil), of the type
// the payload announced; Err says what the deep check found.
type DeferredError struct {
	Err   *Error
	Value *store.Object
	// LastIDPanic, for a stream, is the message of Redis's panic when a
	// command that first looks for the last live entry (XREAD, XREADGROUP,
	// XSETID) finds none; "" when those assert too. Every other read of
	// the value fails an assertion in Redis.
	LastIDPanic string
}

func (e *DeferredError) Error() string {
	return "accepted without deep sanitization, but " + e.Err.Error()
}

func (e *DeferredError) Unwrap() error { return e.Err }

// reasonErr tags a decoding failure with Redis's words for it; value()
// turns it into an *Error at the value's offset.
type reasonErr struct {
	reason string
	err    error
	// dump, when set, is a blob Redis logs as a hexdump under dumpName
	// before refusing (it panics there, Skiff refuses the value).
	dumpName string
	dump     []byte
}

func (e *reasonErr) Error() string { return e.err.Error() }
func (e *reasonErr) Unwrap() error { return e.err }

func withReason(reason string, err error) error {
	if err == nil || err == ErrEmptyKey {
		return err
	}
	var re *reasonErr
	if errors.As(err, &re) {
		return err // the innermost reason is the precise one
	}
	return &reasonErr{reason: reason, err: err}
}

// listpackShallow is Redis's listpack check without deep sanitization:
// a header and terminator fit, the header's size is the blob's, and the
// last byte is the terminator.
func listpackShallow(b []byte) error {
	const kind = "listpack"
	if len(b) < 7 {
		return blobErr(kind, 0, "too short (%d bytes)", len(b))
	}
	if int64(binary.LittleEndian.Uint32(b)) != int64(len(b)) {
		return blobErr(kind, 0, "header says %d bytes, blob has %d", binary.LittleEndian.Uint32(b), len(b))
	}
	if b[len(b)-1] != 0xFF {
		return blobErr(kind, len(b)-1, "last byte 0x%02x is not the terminator", b[len(b)-1])
	}
	return nil
}

// listpackCount is the element count of a listpack's header (0xFFFF:
// unknown, count them).
func listpackCount(b []byte) int { return int(binary.LittleEndian.Uint16(b[4:])) }

// ziplistShallow is the part of Redis's ziplist check made before any
// entry is read: sizes, the terminator, and a tail offset inside the blob.
func ziplistShallow(b []byte) error {
	const kind = "ziplist"
	if len(b) < 11 {
		return blobErr(kind, 0, "too short (%d bytes)", len(b))
	}
	if int64(binary.LittleEndian.Uint32(b)) != int64(len(b)) {
		return blobErr(kind, 0, "header says %d bytes, blob has %d", binary.LittleEndian.Uint32(b), len(b))
	}
	if b[len(b)-1] != 0xFF {
		return blobErr(kind, len(b)-1, "last byte 0x%02x is not the terminator", b[len(b)-1])
	}
	if tail := binary.LittleEndian.Uint32(b[4:]); int64(tail) > int64(len(b)-1) {
		return blobErr(kind, 4, "tail offset %d is past the end", tail)
	}
	return nil
}

// intsetShallow is Redis's intset check without deep sanitization: a
// known width, a count that fills the blob exactly, and not empty.
func intsetShallow(b []byte) (width, count uint64, err error) {
	const kind = "intset"
	if len(b) < 8 {
		return 0, 0, blobErr(kind, 0, "too short (%d bytes)", len(b))
	}
	width = uint64(binary.LittleEndian.Uint32(b))
	if width != 2 && width != 4 && width != 8 {
		return 0, 0, blobErr(kind, 0, "bad encoding width %d", width)
	}
	count = uint64(binary.LittleEndian.Uint32(b[4:]))
	if uint64(len(b)) != 8+count*width {
		return 0, 0, blobErr(kind, 4, "count %d of %d-byte integers does not fit %d bytes", count, width, len(b))
	}
	if count == 0 {
		return 0, 0, blobErr(kind, 4, "empty")
	}
	return width, count, nil
}

// emptyOf is a value of type t without elements, the stand-in for a
// value whose first element is already corrupt.
func emptyOf(t store.Type) *store.Object {
	o := &store.Object{Type: t}
	switch t {
	case store.TypeList:
		o.Val = store.NewList()
	case store.TypeSet:
		o.Val = store.NewIntSet()
	case store.TypeHash:
		o.Val = store.NewHash()
	case store.TypeZSet:
		o.Val = store.NewZSet(0, 0, store.DefaultZLimits)
	}
	return o
}

// partial turns what a builder collected before a deep failure into the
// DeferredError's value.
func partial(o *store.Object, err error, t store.Type) *store.Object {
	if err != nil || o == nil {
		return emptyOf(t)
	}
	return o
}

// deferred makes the *DeferredError of a value that failed a deep check
// at offset off of the input.
func deferred(off int64, reason string, cause error, v *store.Object) *DeferredError {
	return &DeferredError{Err: &Error{Offset: off, Msg: cause.Error(), Reason: reason}, Value: v}
}

// valueErr gives a failure inside a value of type t, which started at
// offset start, its final form: an *Error naming the offset (and Redis's
// reason when one was given), or ErrEmptyKey / *DeferredError as they are.
func valueErr(err error, t byte, start int64) error {
	switch err.(type) {
	case *Error, *DeferredError:
		return err
	}
	if err == ErrEmptyKey {
		return err
	}
	out := &Error{Offset: start, Msg: fmt.Sprintf("value of type %d: %v", t, err)}
	var re *reasonErr
	if errors.As(err, &re) {
		out.Reason, out.DumpName, out.Dump = re.reason, re.dumpName, re.dump
	}
	return out
}
