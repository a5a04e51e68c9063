package replication

import "strconv"

// AppendCommand appends args as a RESP multibulk, byte for byte as Redis
// feeds its replication stream (offsets depend on the exact bytes).
func AppendCommand(dst []byte, args [][]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// AppendSelect appends the SELECT a master sends when the database of
// the propagated commands changes.
func AppendSelect(dst []byte, db int) []byte {
	return AppendCommand(dst, [][]byte{[]byte("SELECT"), strconv.AppendInt(nil, int64(db), 10)})
}
