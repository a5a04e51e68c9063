package raftgroup

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// MoveStateAside renames dir/raft to dir/raft.<what>-<time>, never deleting
// it; with fresh it starts a new dir/raft that keeps the node-id file. A
// member that leaves its group of one to join another (cluster MEET,
// sentinel group formation, CLUSTER RESET) opens a new member there; the
// old log stays on disk for an operator.
func MoveStateAside(dir, what string, fresh bool) (string, error) {
	src := filepath.Join(dir, "raft")
	dst := fmt.Sprintf("%s.%s-%s", src, what, time.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.Rename(src, dst); err != nil {
		return "", fmt.Errorf("move raft state %s aside: %w", src, err)
	}
	if !fresh {
		return dst, nil
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return dst, fmt.Errorf("create %s: %w", src, err)
	}
	if id, err := os.ReadFile(filepath.Join(dst, "node-id")); err == nil {
		if err := os.WriteFile(filepath.Join(src, "node-id"), id, 0o644); err != nil {
			return dst, fmt.Errorf("keep node-id in %s: %w", src, err)
		}
	}
	return dst, nil
}
