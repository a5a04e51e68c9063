package raftgroup

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/skiffdb/skiff/internal/loopback"
	"github.com/skiffdb/skiff/raftauth"
)

// Raft's network transport settings, as NewTCPTransport had them: three
// pooled connections per peer, five seconds per RPC.
const (
	transportPool    = 3
	transportTimeout = 5 * time.Second
)

// openTransport listens on o.BindAddr and returns raft's network transport
// over a raftauth stream layer, so that no raft RPC is read from or sent
// to a peer that has not proved the cluster-secret.
func openTransport(o Options, adv net.Addr, rlog hclog.Logger) (raft.Transport, error) {
	listen := o.Listen
	if listen == nil {
		listen = net.Listen
	}
	ln, err := listen("tcp", o.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("raftgroup: listen on raft address %s: %w", o.BindAddr, err)
	}
	// Raft records the advertised address in the configuration; an
	// unspecified one (0.0.0.0) would be dialled by nobody.
	a := adv
	if a == nil {
		a = ln.Addr()
	}
	if ta, ok := a.(*net.TCPAddr); !ok || ta.IP == nil || ta.IP.IsUnspecified() {
		_ = ln.Close()
		return nil, fmt.Errorf("raftgroup: raft address %s is not one other members can dial; set an advertised address", a)
	}
	tlog := rlog.Named("transport")
	if len(o.Secret) == 0 && !o.PeersAuthenticated && !loopback.HostPort(ln.Addr().String()) {
		tlog.Warn("no cluster-secret: raft peers are accepted and dialled only on loopback; set cluster-secret on every member to form a group across machines",
			"bind", ln.Addr().String())
	}
	stream := raftauth.New(raftauth.Config{
		Listener:           ln,
		Dial:               o.Dial,
		Advertise:          adv,
		Secret:             o.Secret,
		Logger:             tlog.Named("auth"),
		PeersAuthenticated: o.PeersAuthenticated,
	})
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  stream,
		MaxPool: transportPool,
		Timeout: transportTimeout,
		Logger:  tlog,
	}), nil
}
