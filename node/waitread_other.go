//go:build !linux

package node

import "syscall"

// readableWaiter: elsewhere than Linux a released query buffer is not
// supported (clientbuf.go keeps the buffer).
func readableWaiter(rc syscall.RawConn) func() error { return nil }
