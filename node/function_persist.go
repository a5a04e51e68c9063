package node

// Function libraries in RDB files: saved after the AUX fields as Redis
// does, loaded with the keys and installed once the whole file is read.

import (
	"bytes"
	"fmt"

	"github.com/skiffdb/skiff/rdb"
	"github.com/skiffdb/skiff/script"
)

// functionCodes are the libraries' codes for a snapshot. Called under
// the lock; the codes are never modified, so a saver may keep them.
func (s *Server) functionCodes() [][]byte {
	if s.functions.engine == nil {
		return nil
	}
	return s.functions.engine.Codes()
}

// writeFunctionCodes writes the libraries after the header of an RDB.
func writeFunctionCodes(w *rdb.Writer, codes [][]byte) error {
	for _, code := range codes {
		if err := w.Function(code); err != nil {
			return err
		}
	}
	return nil
}

// collectFunction is an rdb.Hooks.Function that keeps each library's
// code in *codes (the reader may reuse its buffers).
func collectFunction(codes *[][]byte) func(code []byte) error {
	return func(code []byte) error {
		*codes = append(*codes, bytes.Clone(code))
		return nil
	}
}

// installFunctions loads the libraries of a file just read under policy
// (RestoreFlush replaces every library, as a load at start does). A file
// without libraries leaves ours alone unless the policy is a flush.
// Called under the lock.
func (s *Server) installFunctions(codes [][]byte, policy script.RestorePolicy) error {
	if len(codes) == 0 && (policy != script.RestoreFlush || s.functions.engine == nil) {
		return nil
	}
	if err := s.functionEngine().Restore(codes, policy); err != nil {
		return fmt.Errorf("Failed loading library, %w", err)
	}
	return nil
}
