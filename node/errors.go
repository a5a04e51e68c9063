package node

// Redis 7.0's error replies, word for word.
const (
	errSyntax       = "ERR syntax error"
	errNotInt       = "ERR value is not an integer or out of range"
	errNotFloat     = "ERR value is not a valid float"
	errWrongType    = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errNoSuchKey    = "ERR no such key"
	errOverflow     = "ERR increment or decrement would overflow"
	errDBIndex      = "ERR DB index is out of range"
	errNoAuth       = "NOAUTH Authentication required."
	errWrongPass    = "WRONGPASS invalid username-password pair or user is disabled."
	errNoPassSet    = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errInvalidExp   = "ERR invalid expire time in '%s' command"
	errSameObject   = "ERR source and destination objects are the same"
	errOutOfRange   = "ERR index out of range"
	errBitOffset    = "ERR bit offset is not an integer or out of range"
	errBitValue     = "ERR bit is not an integer or out of range"
	errStrTooLong   = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
	errNegativeTime = "ERR timeout is negative"
)
