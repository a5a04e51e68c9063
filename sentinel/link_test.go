package sentinel

import (
	"net"
	"sync"
	"testing"
	"time"
)

// TestLinkCallbacksNeverRunInline: Send on a dead link must not run
// callbacks on the caller's goroutine, which holds the engine lock that
// every callback takes (that deadlocked a sentinel: a failed write inside
// Send ran the close callback inline).
func TestLinkCallbacksNeverRunInline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	var mu sync.Mutex // stands for the engine lock
	closed := make(chan struct{})
	l, err := dialLink(ln.Addr().String(), time.Second, nil, false, nil, func(error) {
		mu.Lock()
		mu.Unlock()
		close(closed)
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	l.Close() // as the engine does for a stale link, lock held
	sent := make(chan struct{})
	cbRan := make(chan struct{})
	go func() {
		l.Send(func(any, error) { mu.Lock(); mu.Unlock(); close(cbRan) }, "PING")
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(3 * time.Second):
		t.Fatal("Send on a closed link ran its callback inline (deadlock)")
	}
	mu.Unlock()
	for _, ch := range []chan struct{}{closed, cbRan} {
		select {
		case <-ch:
		case <-time.After(3 * time.Second):
			t.Fatal("a callback never ran")
		}
	}
}
