// Package loopback answers one question for every port Skiff opens: is
// this peer on the same machine? Protected mode, the Raft handshake without
// a cluster-secret and the admin API without a token all trust only such
// peers, and they must agree on what "local" means.
package loopback

import (
	"net"
	"net/netip"
)

// Addr reports whether a is a loopback address: 127.0.0.0/8, ::1, an
// IPv4-mapped ::ffff:127.x.y.z, or a Unix socket (which only local
// processes can reach). Anything it cannot parse is not loopback: a
// refusal is the safe answer.
func Addr(a net.Addr) bool {
	switch v := a.(type) {
	case nil:
		return false
	case *net.TCPAddr:
		return v.IP.IsLoopback()
	case *net.UDPAddr:
		return v.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	if a.Network() == "unix" {
		return true
	}
	return HostPort(a.String())
}

// HostPort reports whether "host:port" (or a bare IP) names a loopback IP.
// Host names are not resolved: "localhost" could be made to point anywhere.
func HostPort(s string) bool {
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	return ip.Unmap().IsLoopback()
}
