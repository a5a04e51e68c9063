package loopback

import (
	"net"
	"testing"
)

func TestHostPort(t *testing.T) {
	cases := map[string]bool{
		"127.0.0.1:6379":          true,
		"127.8.9.10:1":            true,
		"[::1]:6379":              true,
		"[::ffff:127.0.0.1]:6379": true,
		"::1":                     true,
		"10.0.0.1:6379":           false,
		"[::]:6379":               false,
		"0.0.0.0:6379":            false,
		"localhost:6379":          false, // never resolved
		"":                        false,
		"garbage":                 false,
		"[fe80::1%lo]:1":          false,
	}
	for in, want := range cases {
		if got := HostPort(in); got != want {
			t.Errorf("HostPort(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestAddr(t *testing.T) {
	if !Addr(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}) {
		t.Error("127.0.0.1 TCP addr not loopback")
	}
	if Addr(&net.TCPAddr{IP: net.IPv4(192, 168, 1, 1), Port: 1}) {
		t.Error("192.168.1.1 TCP addr taken for loopback")
	}
	if !Addr(&net.UnixAddr{Name: "/tmp/s", Net: "unix"}) {
		t.Error("unix socket not local")
	}
	if Addr(nil) {
		t.Error("nil addr taken for loopback")
	}
}
