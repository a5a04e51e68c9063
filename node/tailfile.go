package node

import (
	"errors"
	"io"
	"os"
	"sync"
)

// tailFile lets a decoder read a file while the transfer that writes it
// is still going on (a replica's disk-mode full sync): the reader waits at
// the end of what has been written until more arrives or the writer is
// done, and the writer is never slowed down by the reader. When the
// decoder fails, the transfer is stopped at its next write.
type tailFile struct {
	mu      sync.Mutex
	cond    *sync.Cond
	written int64
	closed  bool
	err     error // the writer's failure, if any
	readErr error // the decoder's failure, if any
}

func newTailFile() *tailFile {
	t := &tailFile{}
	t.cond = sync.NewCond(&t.mu)
	return t
}

var errTailAborted = errors.New("transfer failed")

// writer returns the writer of the transfer: bytes go to f and become
// readable.
func (t *tailFile) writer(f *os.File) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		t.mu.Lock()
		rerr := t.readErr
		t.mu.Unlock()
		if rerr != nil {
			return 0, rerr
		}
		n, err := f.Write(b)
		t.mu.Lock()
		t.written += int64(n)
		t.cond.Broadcast()
		t.mu.Unlock()
		return n, err
	})
}

// close ends the transfer; err is its failure (nil: complete).
func (t *tailFile) close(err error) {
	t.mu.Lock()
	t.closed = true
	t.err = err
	t.cond.Broadcast()
	t.mu.Unlock()
}

// size is the number of bytes written.
func (t *tailFile) size() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.written
}

// loaderDone records the decoder's result.
func (t *tailFile) loaderDone(err error) {
	t.mu.Lock()
	t.readErr = err
	t.mu.Unlock()
}

// reader reads f (opened separately) up to what has been written.
func (t *tailFile) reader(f *os.File) io.Reader {
	var off int64
	return readerFunc(func(p []byte) (int, error) {
		t.mu.Lock()
		for off >= t.written && !t.closed {
			t.cond.Wait()
		}
		avail, closed, werr := t.written-off, t.closed, t.err
		t.mu.Unlock()
		if avail <= 0 {
			if closed && werr != nil {
				return 0, errTailAborted
			}
			return 0, io.EOF
		}
		if int64(len(p)) > avail {
			p = p[:avail]
		}
		n, err := f.ReadAt(p, off)
		off += int64(n)
		if err == io.EOF && n > 0 {
			err = nil
		}
		return n, err
	})
}

// readerFunc adapts a function to io.Reader.
type readerFunc func([]byte) (int, error)

func (r readerFunc) Read(p []byte) (int, error) { return r(p) }
