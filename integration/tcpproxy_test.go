package integration

// The TCP proxy layer of the partition tests (used by sentinel_test.go)
// lives in internal/netfault, shared with the fault-injection suite
// (integration/faults); see that package for how connections are
// attributed to processes and how a cut link behaves. This file adapts it
// to the tests: a lab per test, closed by its cleanup, proxies on ports
// from freePort.

import (
	"testing"

	"github.com/skiffdb/skiff/internal/netfault"
)

// netLab is the set of proxies and named processes of one test.
type netLab struct {
	*netfault.Lab
	t testing.TB
}

func newNetLab(t testing.TB) *netLab {
	l := &netLab{Lab: netfault.New(t.Logf), t: t}
	t.Cleanup(l.Close)
	return l
}

// register names a process: connections it opens are attributed to name.
func (l *netLab) register(pid int, name string) { l.Register(pid, name) }

// bypasses lists links across a partition of a and b that do not go
// through a proxy (netfault.Lab.Bypasses).
func (l *netLab) bypasses(a, b []string) []string { return l.Bypasses(a, b) }

// listen opens a proxy for the endpoint of process owner; its backend is
// set later with setTarget (a data node is told its proxy's port at start).
func (l *netLab) listen(owner string) *tcpProxy {
	l.t.Helper()
	var p *netfault.Proxy
	var err error
	for tries := 0; tries < 5; tries++ {
		var port int
		if port, err = freePort(); err != nil {
			continue
		}
		if p, err = l.ListenOn(owner, port); err == nil {
			break
		}
	}
	if err != nil {
		l.t.Fatalf("netlab: proxy listen: %v", err)
	}
	return &tcpProxy{p}
}

// listenOn opens a proxy on a given port (sentinel port plans need fixed
// offsets between ports).
func (l *netLab) listenOn(owner string, port int) (*tcpProxy, error) {
	p, err := l.ListenOn(owner, port)
	if err != nil {
		return nil, err
	}
	return &tcpProxy{p}, nil
}

// tcpProxy forwards one endpoint.
type tcpProxy struct{ *netfault.Proxy }

func (p *tcpProxy) setTarget(addr string) { p.SetTarget(addr) }
func (p *tcpProxy) close()                { p.Close() }
