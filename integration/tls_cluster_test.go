package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skiffdb/skiff/admin"
)

// tlsClusterNode is a raftNode started with TLS everywhere.
type tlsClusterNode struct {
	*raftNode
	tlsPort int
	pki     *tlsPKI
}

func (n *tlsClusterNode) adminClient(t testing.TB) *admin.Client {
	c := admin.NewTLSClient(n.adminAddr(), raftToken, n.pki.clientTLS(t))
	c.HTTP.Timeout = 3 * time.Second
	c.NoLeaderRetries = -1
	return c
}

func (n *tlsClusterNode) waitUpTLS(t testing.TB, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if !n.alive() {
			t.Fatalf("%s exited: %v\n%s", n.name, n.exitErr, n.logTail(4096))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := n.adminClient(t).Status(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: admin over HTTPS not up after %v: %v\n%s", n.name, timeout, err, n.logTail(4096))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTLSCluster runs three cluster nodes with tls-cluster and
// tls-replication: the admin API answers HTTPS only, joins go over it, the
// Raft port takes only peers with a certificate of the CA, nodes announce
// their tls-ports (MOVED and CLUSTER SLOTS name them), and a go-redis
// ClusterClient over TLS reads and writes across the three.
func TestTLSCluster(t *testing.T) {
	p := newTLSPKI(t, "cluster")
	nodes := make([]*tlsClusterNode, 3)
	for i := range nodes {
		tp, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		extra := append(p.serverArgs(tp), "--tls-cluster", "yes", "--tls-replication", "yes")
		nodes[i] = &tlsClusterNode{raftNode: newRaftNode(t, fmt.Sprintf("tls%d", i+1), extra...), tlsPort: tp, pki: p}
	}
	nodes[0].extra = append(nodes[0].extra, "--bootstrap", "yes")
	nodes[0].start()
	nodes[0].waitUpTLS(t, 15*time.Second)
	for _, n := range nodes[1:] {
		n.extra = append(n.extra, "--join", nodes[0].adminAddr())
		n.start()
	}
	for _, n := range nodes[1:] {
		n.waitUpTLS(t, 30*time.Second)
	}
	waitRaft(t, "3 members, one leader, over TLS", 30*time.Second, func() (bool, string) {
		leaders := map[string]bool{}
		for _, n := range nodes {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			st, err := n.adminClient(t).Status(ctx)
			cancel()
			if err != nil {
				return false, n.name + ": " + err.Error()
			}
			if len(st.Members) != 3 || st.LeaderID == "" {
				return false, fmt.Sprintf("%s: %d members, leader %q", n.name, len(st.Members), st.LeaderID)
			}
			leaders[st.LeaderID] = true
		}
		return len(leaders) == 1, fmt.Sprint(leaders)
	})

	// The admin API refuses plain HTTP.
	plain := admin.NewClient(nodes[0].adminAddr(), raftToken)
	plain.HTTP.Timeout = 3 * time.Second
	plain.NoLeaderRetries = -1
	if _, err := plain.Status(context.Background()); err == nil {
		t.Fatal("the admin API answered plain HTTP")
	}
	// ... and an HTTPS client without a certificate (tls-auth-clients yes).
	nc := p.clientTLS(t)
	nc.Certificates = nil
	anon := admin.NewTLSClient(nodes[0].adminAddr(), raftToken, nc)
	anon.HTTP.Timeout = 3 * time.Second
	anon.NoLeaderRetries = -1
	if _, err := anon.Status(context.Background()); err == nil {
		t.Fatal("the admin API answered a client without a certificate")
	}

	// The Raft port: a peer with a certificate of the CA completes the TLS
	// handshake; one without a certificate, or with one of another CA, is
	// refused.
	raftHandshake := func(cfg *tls.Config) error {
		d := &net.Dialer{Timeout: 3 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", nodes[1].raftAddr(), cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		// TLS 1.3: a refused client certificate shows at the first read.
		_, err = c.Read(make([]byte, 1))
		if err != nil && strings.Contains(err.Error(), "tls: ") {
			return err
		}
		return nil
	}
	if err := raftHandshake(p.clientTLS(t)); err != nil {
		t.Fatalf("raft port, member certificate: %v", err)
	}
	if err := raftHandshake(nc); err == nil || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("raft port, no client certificate: got %v, want a 'certificate required' alert", err)
	}
	rogue := newTLSPKI(t, "rogue").clientTLS(t)
	rogue.InsecureSkipVerify = true
	rc := rogue.Certificates[0]
	rogue.Certificates = nil
	rogue.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &rc, nil }
	if err := raftHandshake(rogue); err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Fatalf("raft port, certificate of another CA: got %v", err)
	}
	// A plain-TCP peer speaking raft's framing gets nothing back.
	if c, err := net.DialTimeout("tcp", nodes[1].raftAddr(), 3*time.Second); err == nil {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte{0, 0x85, 0xa4, 'T', 'e', 'r', 'm'})
		n, _ := c.Read(make([]byte, 64))
		c.Close()
		if n > 0 && n != 7 { // a TLS alert record is 7 bytes
			t.Fatalf("the raft port answered %d bytes to a plain-TCP peer", n)
		}
	}

	// Slots, then data over TLS with a cluster client.
	c0, err := nodes[0].tlsConn(t)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		c, err := n.tlsConn(t)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := i*5462, min((i+1)*5462-1, 16383)
		if r := c.MustDo(t, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); r.Str != "OK" {
			t.Fatalf("%s ADDSLOTSRANGE: %+v", n.name, r)
		}
	}
	waitRaft(t, "CLUSTER SLOTS names the three tls-ports", 20*time.Second, func() (bool, string) {
		r := c0.MustDo(t, "CLUSTER", "SLOTS")
		ports := map[int64]bool{}
		for _, e := range r.Elems {
			if len(e.Elems) >= 3 && len(e.Elems[2].Elems) >= 2 {
				ports[e.Elems[2].Elems[1].Int] = true
			}
		}
		for _, n := range nodes {
			if !ports[int64(n.tlsPort)] {
				return false, fmt.Sprintf("CLUSTER SLOTS ports %v", ports)
			}
		}
		return true, ""
	})
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(n.tlsPort))
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, TLSConfig: p.clientTLS(t)})
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 200; i++ {
		k := "key:" + strconv.Itoa(i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("ClusterClient SET %s over TLS: %v", k, err)
		}
	}
	for i := 0; i < 200; i++ {
		k := "key:" + strconv.Itoa(i)
		if v, err := cc.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("ClusterClient GET %s: %d %v", k, v, err)
		}
	}
	// A MOVED redirect names the owner's tls-port.
	r := c0.MustDo(t, "GET", "key:0")
	for j := 1; r.Type != '-' && j < 200; j++ {
		r = c0.MustDo(t, "GET", "key:"+strconv.Itoa(j))
	}
	if r.Type != '-' || !strings.HasPrefix(r.Str, "MOVED") {
		t.Fatalf("no MOVED from n1 for 200 keys spread over three nodes: %+v", r)
	}
	port := r.Str[strings.LastIndex(r.Str, ":")+1:]
	ok := false
	for _, n := range nodes {
		ok = ok || port == strconv.Itoa(n.tlsPort)
	}
	if !ok {
		t.Fatalf("MOVED names port %s, not a tls-port", port)
	}
}

// tlsConn is a raw RESP connection to the node's tls-port.
func (n *tlsClusterNode) tlsConn(t testing.TB) (*Conn, error) {
	s := &tlsServer{Server: &Server{Kind: "skiff", Port: n.port, logPath: n.logPath}, tlsPort: n.tlsPort}
	return s.dialTLS(t, n.pki.clientTLS(t))
}
