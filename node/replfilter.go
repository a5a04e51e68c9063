package node

// REPLCONF rdb-only and rdb-filter-only: what a replica asks to receive
// in its full sync. redis-cli --rdb sends rdb-only 1 (the snapshot, no
// stream after it); redis-cli --functions-rdb adds rdb-filter-only
// functions (the function libraries and no keys); redis-cli --replica
// sends an empty filter (neither keys nor functions: it only wants the
// stream).

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/skiffdb/skiff/config"
	"github.com/skiffdb/skiff/rdb"
)

// rdbFilter is a replica's request on its full sync payload.
type rdbFilter struct {
	rdbOnly          bool
	excludeData      bool
	excludeFunctions bool
}

// replconfFilter applies REPLCONF rdb-only / rdb-filter-only to rc; on a
// bad value it replies the error and returns false.
func (rc *replicaConn) replconfFilter(c *Client, opt string, val []byte) bool {
	switch opt {
	case "rdb-only":
		n, err := strconv.ParseInt(string(val), 10, 64)
		if err != nil {
			c.replyError(errNotInt)
			return false
		}
		if n < 0 || n > 1 {
			c.replyError("ERR value is out of range, value must between 0 and 1")
			return false
		}
		rc.filter.rdbOnly = n == 1
	case "rdb-filter-only":
		words, ok := config.SplitArgs(string(val))
		if !ok {
			c.replyError("ERR Missing rdb-filter-only values")
			return false
		}
		// Include filters: whatever is not named is left out.
		rc.filter.excludeData, rc.filter.excludeFunctions = true, true
		for _, w := range words {
			if !strings.EqualFold(w, "functions") {
				c.replyError(fmt.Sprintf("ERR Unsupported rdb-filter-only option: %s", w))
				return false
			}
			rc.filter.excludeFunctions = false
		}
	}
	return true
}

// noDataRDB is the payload of a replica that asked for no keys: the aux
// fields and, unless excluded too, the function libraries.
func (s *Server) noDataRDB(aux map[string]string, codes [][]byte) ([]byte, error) {
	var buf bytesBuffer
	w := rdb.NewWriter(&buf)
	w.SetCompression(s.cfg.Bool("rdbcompression"))
	if err := w.Header(aux); err != nil {
		return nil, fmt.Errorf("rdb header: %w", err)
	}
	if err := writeFunctionCodes(w, codes); err != nil {
		return nil, fmt.Errorf("rdb functions: %w", err)
	}
	if err := w.Finish(); err != nil {
		return nil, fmt.Errorf("rdb end: %w", err)
	}
	return buf.b, nil
}
