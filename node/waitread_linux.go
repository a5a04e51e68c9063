package node

import "syscall"

// readableWaiter returns a function that blocks until the socket behind
// rc has input (or an error or EOF to report), using no buffer: the wait
// of a client whose query buffer was released (clientbuf.go). The Go
// poller forgets readiness it saw before the wait started, so the socket
// itself is asked first (a peek that does not block), and again after
// each wake-up.
func readableWaiter(rc syscall.RawConn) func() error {
	return func() error {
		return rc.Read(func(fd uintptr) bool {
			var b [1]byte
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			// Data, EOF, or an error the read will report: go and read.
			return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
		})
	}
}
