package node

import (
	"regexp"
	"testing"
	"time"
)

func TestMonitorFeed(t *testing.T) {
	s := extTestServer(t)
	m, c := dialRaw(t, s), dialRaw(t, s)
	expect(t, m, "+OK\r\n", "MONITOR")
	c.send(t, "MULTI")
	c.send(t, "SET", "k", "a \"b\"\n\x00")
	c.send(t, "EXEC")
	c.send(t, "CONFIG", "GET", "maxmemory") // admin: never shown
	c.send(t, "SELECT", "3")
	for i := 0; i < 5; i++ {
		c.readReply(t, 5*time.Second)
	}
	want := []string{
		`^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "MULTI"\r\n$`,
		`^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "k" "a \\"b\\"\\n\\x00"\r\n$`,
		`^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "EXEC"\r\n$`,
		`^\+\d+\.\d{6} \[3 127\.0\.0\.1:\d+\] "SELECT" "3"\r\n$`,
	}
	for _, w := range want {
		got := m.readReply(t, 5*time.Second)
		if !regexp.MustCompile(w).MatchString(got) {
			t.Fatalf("monitor line %q does not match %s", got, w)
		}
	}
	m.nc.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.Lock()
		n := len(s.x.monitors)
		s.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("monitor outlived its connection")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
