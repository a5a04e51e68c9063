package integration

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skiffdb/skiff/internal/testpki"
)

// tlsPKI is a test CA with one certificate (for servers and clients
// alike) written to a directory.
type tlsPKI struct {
	dir   string
	ca    *testpki.CA
	files testpki.Files
	leaf  *testpki.Leaf
}

func newTLSPKI(t testing.TB, name string) *tlsPKI {
	t.Helper()
	ca, err := testpki.NewCA(name + " CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(name, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f, err := testpki.Write(dir, name, ca, leaf)
	if err != nil {
		t.Fatal(err)
	}
	return &tlsPKI{dir: dir, ca: ca, files: f, leaf: leaf}
}

// issue writes another certificate of the same CA (valid in [nb, na]).
func (p *tlsPKI) issue(t testing.TB, name string, nb, na time.Time) testpki.Files {
	t.Helper()
	l, err := p.ca.Issue(name, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	f, err := testpki.Write(p.dir, name, p.ca, l)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// serverArgs are the TLS options of a server (skiff or redis-server)
// listening on tlsPort with this PKI.
func (p *tlsPKI) serverArgs(tlsPort int) []string {
	return []string{"--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", p.files.Cert,
		"--tls-key-file", p.files.Key, "--tls-ca-cert-file", p.files.CA}
}

// clientTLS is a Go client configuration: trusts the CA, presents the
// certificate.
func (p *tlsPKI) clientTLS(t testing.TB) *tls.Config {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.files.Cert, p.files.Key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(p.ca.Cert)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1"}
}

// tlsServer is a started server with its TLS port.
type tlsServer struct {
	*Server
	tlsPort int
}

func (s *tlsServer) tlsAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.tlsPort)) }

// startTLS starts kind ("skiff" or "redis") with a plain port (the
// harness waits on it) and a TLS port.
func startTLS(t testing.TB, kind string, p *tlsPKI, extra ...string) *tlsServer {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, kind, append(p.serverArgs(port), extra...))
	return &tlsServer{Server: s, tlsPort: port}
}

// dialTLS opens a raw RESP connection over TLS.
func (s *tlsServer) dialTLS(t testing.TB, cfg *tls.Config) (*Conn, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	tc, err := tls.DialWithDialer(d, "tcp", s.tlsAddr(), cfg)
	if err != nil {
		return nil, err
	}
	c := &Conn{srv: s.Server, nc: tc, br: bufio.NewReader(tc), Timeout: 10 * time.Second}
	// TLS 1.3: a refused client certificate shows at the first read.
	r, err := c.Do("PING")
	if err != nil {
		tc.Close()
		return nil, err
	}
	if r.Str != "PONG" {
		tc.Close()
		return nil, fmt.Errorf("PING over TLS answered %+v", r)
	}
	t.Cleanup(func() { tc.Close() })
	return c, nil
}

// waitLog polls the server's log for a substring.
func waitLog(t testing.TB, s *Server, substr string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(s.logPath)
		if strings.Contains(string(b), substr) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTLSClients runs the same TLS client checks against skiff and
// redis-server: go-redis and redis-cli --tls work; a plain-text client, a
// client without a certificate, one trusting another CA, and one with an
// expired certificate are refused.
func TestTLSClients(t *testing.T) {
	p := newTLSPKI(t, "clients")
	other := newTLSPKI(t, "other")
	expired := p.issue(t, "expired", time.Now().Add(-72*time.Hour), time.Now().Add(-24*time.Hour))
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind, func(t *testing.T) {
			s := startTLS(t, kind, p)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()

			// go-redis over TLS.
			rc := redis.NewClient(&redis.Options{Addr: s.tlsAddr(), TLSConfig: p.clientTLS(t), MaxRetries: -1})
			defer rc.Close()
			if err := rc.Set(ctx, "k", "v", 0).Err(); err != nil {
				t.Fatalf("go-redis SET over TLS: %v", err)
			}
			if v, err := rc.Get(ctx, "k").Result(); err != nil || v != "v" {
				t.Fatalf("go-redis GET over TLS: %q %v", v, err)
			}
			if kind == "skiff" {
				// INFO shows the TLS connection as any other.
				info, err := rc.Info(ctx, "server").Result()
				if err != nil || !strings.Contains(info, "tcp_port:"+strconv.Itoa(s.Port)) {
					t.Fatalf("INFO server over TLS: %v\n%s", err, info)
				}
			}

			// redis-cli --tls.
			if redisCliBin != "" {
				out, err := exec.CommandContext(ctx, redisCliBin, "-p", strconv.Itoa(s.tlsPort), "--tls",
					"--cacert", p.files.CA, "--cert", p.files.Cert, "--key", p.files.Key, "get", "k").CombinedOutput()
				if err != nil || strings.TrimSpace(string(out)) != "v" {
					t.Fatalf("redis-cli --tls get: %v %q", err, out)
				}
				// Without a client certificate: refused.
				out, _ = exec.CommandContext(ctx, redisCliBin, "-p", strconv.Itoa(s.tlsPort), "--tls",
					"--cacert", p.files.CA, "ping").CombinedOutput()
				if strings.Contains(string(out), "PONG") {
					t.Fatalf("redis-cli --tls without a certificate got PONG")
				}
			}

			// A plain-text client on the TLS port gets no reply.
			nc, err := net.DialTimeout("tcp", s.tlsAddr(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			nc.SetDeadline(time.Now().Add(10 * time.Second))
			nc.Write([]byte("PING\r\n"))
			buf := make([]byte, 64)
			n, _ := nc.Read(buf)
			nc.Close()
			if strings.Contains(string(buf[:n]), "PONG") {
				t.Fatalf("plain-text PING on the TLS port answered %q", buf[:n])
			}
			if kind == "skiff" && !waitLog(t, s.Server, "Error accepting a client connection", 5*time.Second) {
				t.Fatalf("no 'Error accepting a client connection' in the log:\n%s", s.LogTail(4096))
			}

			// Missing client certificate (tls-auth-clients yes).
			noCert := p.clientTLS(t)
			noCert.Certificates = nil
			// refused checks that the handshake failed; skiff's client
			// sees the alert (redis-server may reset the connection first).
			refused := func(err error, alert string) bool {
				return err != nil && (kind != "skiff" || strings.Contains(err.Error(), alert))
			}
			if _, err := s.dialTLS(t, noCert); !refused(err, "certificate required") {
				t.Fatalf("client without a certificate: got %v, want a 'certificate required' alert", err)
			}
			if kind == "skiff" && !waitLog(t, s.Server, "client didn't provide a certificate", 5*time.Second) {
				t.Fatalf("log lacks the reason of the refused handshake:\n%s", s.LogTail(4096))
			}
			// A client trusting another CA refuses the server.
			wrongCA := other.clientTLS(t)
			if _, err := s.dialTLS(t, wrongCA); err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
				t.Fatalf("client trusting another CA: got %v", err)
			}
			// A client certificate of another CA is refused by the server.
			foreign := p.clientTLS(t)
			oc := other.clientTLS(t).Certificates[0]
			foreign.Certificates = nil
			foreign.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &oc, nil }
			if _, err := s.dialTLS(t, foreign); !refused(err, "unknown certificate authority") {
				t.Fatalf("client certificate of another CA: got %v, want an 'unknown certificate authority' alert", err)
			}
			// An expired client certificate is refused.
			exp := p.clientTLS(t)
			ec, err := tls.LoadX509KeyPair(expired.Cert, expired.Key)
			if err != nil {
				t.Fatal(err)
			}
			exp.Certificates = []tls.Certificate{ec}
			if _, err := s.dialTLS(t, exp); !refused(err, "expired certificate") {
				t.Fatalf("expired client certificate: got %v, want an 'expired certificate' alert", err)
			}
			if kind == "skiff" && !waitLog(t, s.Server, "certificate has expired", 5*time.Second) {
				t.Fatalf("log lacks the expired certificate:\n%s", s.LogTail(4096))
			}

			// tls-auth-clients optional: no certificate is fine, a
			// foreign one is still refused.
			c, err := s.dialTLS(t, p.clientTLS(t))
			if err != nil {
				t.Fatal(err)
			}
			if r := c.MustDo(t, "CONFIG", "SET", "tls-auth-clients", "optional"); r.Str != "OK" {
				t.Fatalf("CONFIG SET tls-auth-clients optional: %+v", r)
			}
			if _, err := s.dialTLS(t, noCert); err != nil {
				t.Fatalf("tls-auth-clients optional, no certificate: %v", err)
			}
			if _, err := s.dialTLS(t, foreign); err == nil {
				t.Fatal("tls-auth-clients optional accepted a certificate of another CA")
			}
			c.MustDo(t, "CONFIG", "SET", "tls-auth-clients", "yes")
		})
	}
}

// TestTLSOnlyPort starts skiff with port 0 and a tls-port: nothing
// listens in plain text, INFO's tcp_port is the TLS port (as Redis's
// "port ? port : tls_port").
func TestTLSOnlyPort(t *testing.T) {
	p := newTLSPKI(t, "only")
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind, func(t *testing.T) {
			port, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			bin, args := redisBin, []string{}
			if kind == "skiff" {
				bin, args = skiffBin, []string{"server"}
			}
			args = append(args, "--port", "0", "--bind", "127.0.0.1", "--dir", dir, "--save", "")
			args = append(args, p.serverArgs(port)...)
			cmd := exec.Command(bin, args...)
			logPath := filepath.Join(dir, "log")
			lf, err := os.Create(logPath)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout, cmd.Stderr = lf, lf
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); lf.Close() })
			s := &tlsServer{Server: &Server{Kind: kind, logPath: logPath}, tlsPort: port}
			var c *Conn
			deadline := time.Now().Add(10 * time.Second)
			for {
				if c, err = s.dialTLS(t, p.clientTLS(t)); err == nil {
					break
				}
				if time.Now().After(deadline) {
					b, _ := os.ReadFile(logPath)
					t.Fatalf("no TLS PONG within 10s: %v\n%s", err, b)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if got := infoField(t, c, "server", "tcp_port"); got != strconv.Itoa(port) {
				t.Fatalf("INFO tcp_port = %q, want the tls-port %d", got, port)
			}
			if r := c.MustDo(t, "CONFIG", "GET", "port"); len(r.Elems) != 2 || r.Elems[1].Str != "0" {
				t.Fatalf("CONFIG GET port: %+v", r)
			}
		})
	}
}

// TestTLSConfigSetReload: CONFIG SET of a missing certificate is refused
// with Redis's text and the old files stay; a new certificate set at run
// time is presented to new connections while old ones go on.
func TestTLSConfigSetReload(t *testing.T) {
	p := newTLSPKI(t, "reload")
	var replies [2]string
	for i, kind := range []string{"skiff", "redis"} {
		s := startTLS(t, kind, p)
		c, err := s.dialTLS(t, p.clientTLS(t))
		if err != nil {
			t.Fatal(err)
		}
		r := c.MustDo(t, "CONFIG", "SET", "tls-cert-file", filepath.Join(p.dir, "missing.crt"))
		replies[i] = string(r.Type) + r.Str
		if r := c.MustDo(t, "CONFIG", "GET", "tls-cert-file"); len(r.Elems) != 2 || r.Elems[1].Str != p.files.Cert {
			t.Fatalf("%s: tls-cert-file after a refused set: %+v", kind, r)
		}
		if kind == "skiff" && !waitLog(t, s.Server, "Failed to load certificate: "+filepath.Join(p.dir, "missing.crt"), 5*time.Second) {
			t.Fatalf("log lacks the reason:\n%s", s.LogTail(4096))
		}
		if _, err := s.dialTLS(t, p.clientTLS(t)); err != nil {
			t.Fatalf("%s: the old certificate no longer works after a refused set: %v", kind, err)
		}

		// A second certificate of the same CA, set at run time.
		nf := p.issue(t, "renewed-"+kind, time.Time{}, time.Time{})
		if r := c.MustDo(t, "CONFIG", "SET", "tls-cert-file", nf.Cert, "tls-key-file", nf.Key); r.Str != "OK" {
			t.Fatalf("%s: CONFIG SET of a renewed certificate: %+v", kind, r)
		}
		cfg := p.clientTLS(t)
		var seen string
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			seen = cs.PeerCertificates[0].Subject.CommonName
			return nil
		}
		if _, err := s.dialTLS(t, cfg); err != nil {
			t.Fatalf("%s: connect after the reload: %v", kind, err)
		}
		if seen != "renewed-"+kind {
			t.Fatalf("%s: the server presented %q after the reload, want renewed-%s", kind, seen, kind)
		}
		if r := c.MustDo(t, "PING"); r.Str != "PONG" {
			t.Fatalf("%s: the connection made before the reload: %+v", kind, r)
		}
	}
	if replies[0] != replies[1] {
		t.Fatalf("CONFIG SET tls-cert-file <missing>:\n skiff %q\n redis %q", replies[0], replies[1])
	}
	if !strings.Contains(replies[0], "Unable to update TLS configuration. Check server logs.") {
		t.Fatalf("unexpected reply %q", replies[0])
	}
}

// TestTLSReplication replicates over TLS (tls-replication yes) in every
// pairing of skiff and redis-server.
func TestTLSReplication(t *testing.T) {
	p := newTLSPKI(t, "repl")
	for _, pair := range [][2]string{{"skiff", "skiff"}, {"skiff", "redis"}, {"redis", "skiff"}} {
		t.Run(pair[0]+"-master-"+pair[1]+"-replica", func(t *testing.T) {
			m := startTLS(t, pair[0], p, replOpts...)
			r := startTLS(t, pair[1], p, "--tls-replication", "yes")
			mc, rc := m.Dial(t), r.Dial(t)
			for i := 0; i < 100; i++ {
				mc.MustDo(t, "SET", "k"+strconv.Itoa(i), strconv.Itoa(i))
			}
			if rep := rc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(m.tlsPort)); rep.Type != '+' {
				t.Fatalf("REPLICAOF: %+v", rep)
			}
			waitInSync(t, mc, rc)
			mc.MustDo(t, "SET", "after", "sync")
			replWaitFor(t, "streamed write", 10*time.Second, func() bool {
				return rc.MustDo(t, "GET", "after").Str == "sync"
			})
			if got := rc.MustDo(t, "GET", "k99").Str; got != "99" {
				t.Fatalf("replica k99 = %q", got)
			}
			// The replica announces its TLS port (Redis's rule).
			slave0 := infoField(t, mc, "replication", "slave0")
			if !strings.Contains(slave0, "port="+strconv.Itoa(r.tlsPort)) {
				t.Fatalf("master's slave0 = %q, want port=%d (the replica's tls-port)", slave0, r.tlsPort)
			}
			// The link really is TLS: the master's plain port refuses
			// nothing, but its replica connection is on the TLS port.
			clients := mc.MustDo(t, "CLIENT", "LIST", "TYPE", "replica").Str
			if !strings.Contains(clients, "laddr=127.0.0.1:"+strconv.Itoa(m.tlsPort)) {
				t.Fatalf("replica connection not on the master's tls-port %d:\n%s", m.tlsPort, clients)
			}
		})
	}
	// A replica whose CA does not trust the master never syncs, and says
	// why in its log.
	t.Run("wrong-CA", func(t *testing.T) {
		other := newTLSPKI(t, "other")
		m := startTLS(t, "skiff", p, replOpts...)
		r := startTLS(t, "skiff", other, "--tls-replication", "yes")
		rc := r.Dial(t)
		rc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(m.tlsPort))
		if !waitLog(t, r.Server, "certificate signed by unknown authority", 10*time.Second) {
			t.Fatalf("replica log lacks the TLS error:\n%s", r.LogTail(4096))
		}
		if st := infoField(t, rc, "replication", "master_link_status"); st != "down" {
			t.Fatalf("master_link_status = %q with an untrusted master", st)
		}
	})
}

var _ = errors.New

// tlsSentinel is a skiff sentinel started with TLS options.
type tlsSentinel struct {
	port, tlsPort, adminPort int
	dir, logPath             string
}

func (s *tlsSentinel) conn(t testing.TB) *Conn {
	t.Helper()
	c, err := dialConn("127.0.0.1:"+strconv.Itoa(s.port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// startTLSSentinel starts a skiff sentinel with tls-replication yes
// monitoring mymaster at masterPort (a TLS port), quorum 1.
func startTLSSentinel(t testing.TB, p *tlsPKI, masterPort int) *tlsSentinel {
	t.Helper()
	var ports [4]int
	for i := range ports {
		var err error
		if ports[i], err = freePort(); err != nil {
			t.Fatal(err)
		}
	}
	s := &tlsSentinel{port: ports[0], tlsPort: ports[1], adminPort: ports[3], dir: t.TempDir()}
	s.logPath = filepath.Join(s.dir, "log")
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\ntls-port %d\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\n"+
		"tls-replication yes\nraft-port %d\nadmin-port %d\n"+
		"sentinel monitor mymaster 127.0.0.1 %d 1\nsentinel down-after-milliseconds mymaster 5000\nsentinel failover-timeout mymaster 10000\n",
		s.port, s.dir, s.tlsPort, p.files.Cert, p.files.Key, p.files.CA, ports[2], ports[3], masterPort)
	cf := filepath.Join(s.dir, "sentinel.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	lf, err := os.Create(s.logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(skiffBin, "sentinel", cf)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		lf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(s.logPath)
			if len(b) > 6000 {
				b = b[len(b)-6000:]
			}
			t.Logf("sentinel log:\n%s", b)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if r, err := doOnce("127.0.0.1:"+strconv.Itoa(s.port), time.Second, "PING"); err == nil && r.Str == "PONG" {
			return s
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(s.logPath)
			t.Fatalf("sentinel not answering within 15 s:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTLSSentinel: a sentinel with tls-replication yes monitors a master
// and its replica over TLS (its links are on their tls-ports), fails over
// to the replica, and serves its admin API over HTTPS only. The data
// nodes are skiff, then redis-server.
func TestTLSSentinel(t *testing.T) {
	p := newTLSPKI(t, "sentinel")
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind+"-data", func(t *testing.T) {
			m := startTLS(t, kind, p, append([]string{"--tls-replication", "yes"}, replOpts...)...)
			r := startTLS(t, kind, p, "--tls-replication", "yes")
			mc, rc := m.Dial(t), r.Dial(t)
			rc.MustDo(t, "REPLICAOF", "127.0.0.1", strconv.Itoa(m.tlsPort))
			waitInSync(t, mc, rc)
			s := startTLSSentinel(t, p, m.tlsPort)
			sc := s.conn(t)

			pollUntil(t, "the sentinel sees the replica over TLS", 20*time.Second, 100*time.Millisecond, func() (bool, string) {
				rep := sc.MustDo(t, "SENTINEL", "REPLICAS", "mymaster")
				if len(rep.Elems) != 1 {
					return false, fmt.Sprintf("%d replicas", len(rep.Elems))
				}
				kv := kvReply(rep.Elems[0])
				return kv["port"] == strconv.Itoa(r.tlsPort) && kv["flags"] == "slave", fmt.Sprint(kv)
			})
			// (down-after-milliseconds is 5 s so that a loaded machine does
			// not start a failover of its own before the one asked below.)
			mi := kvReply(sc.MustDo(t, "SENTINEL", "MASTER", "mymaster"))
			if mi["flags"] != "master" {
				t.Fatalf("master flags %q (the sentinel cannot talk to it over TLS?)", mi["flags"])
			}
			// The sentinel's connections to the master are on its tls-port.
			pollUntil(t, "sentinel links on the master's tls-port", 10*time.Second, 100*time.Millisecond, func() (bool, string) {
				list := mc.MustDo(t, "CLIENT", "LIST").Str
				n := 0
				for _, line := range strings.Split(list, "\n") {
					if strings.Contains(line, "name=sentinel-") {
						if !strings.Contains(line, "laddr=127.0.0.1:"+strconv.Itoa(m.tlsPort)) {
							return false, "a sentinel link not on the tls-port: " + line
						}
						n++
					}
				}
				return n >= 2, list
			})

			// The sentinel may not yet hold a fresh INFO of the replica
			// (-NOGOODSLAVE): ask again until it accepts.
			pollUntil(t, "SENTINEL FAILOVER accepted", 20*time.Second, 200*time.Millisecond, func() (bool, string) {
				rep := sc.MustDo(t, "SENTINEL", "FAILOVER", "mymaster")
				return rep.Str == "OK", rep.Str
			})
			pollUntil(t, "failover to the replica", 30*time.Second, 100*time.Millisecond, func() (bool, string) {
				a := sc.MustDo(t, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
				if len(a.Elems) != 2 || a.Elems[1].Str != strconv.Itoa(r.tlsPort) {
					return false, fmt.Sprint(a)
				}
				// Fresh connections: the failover kills normal clients.
				role, err := doOnce(r.Addr(), time.Second, "ROLE")
				return err == nil && len(role.Elems) > 0 && role.Elems[0].Str == "master", fmt.Sprint(role, err)
			})
			// The old master follows the new one, over TLS.
			pollUntil(t, "the old master replicates from the new one", 30*time.Second, 100*time.Millisecond, func() (bool, string) {
				rep, err := doOnce(m.Addr(), time.Second, "INFO", "replication")
				if err != nil {
					return false, err.Error()
				}
				kv := infoMap(rep.Str)
				return kv["master_link_status"] == "up" && kv["master_port"] == strconv.Itoa(r.tlsPort), fmt.Sprint(kv)
			})

			// The sentinel's admin API: HTTPS with the same CA and a client
			// certificate; plain HTTP gets nothing.
			hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: p.clientTLS(t)}}
			res, err := hc.Get("https://127.0.0.1:" + strconv.Itoa(s.adminPort) + "/sentinel-group")
			if err != nil {
				t.Fatalf("admin over HTTPS: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("admin over HTTPS: HTTP %d", res.StatusCode)
			}
			if res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://127.0.0.1:" + strconv.Itoa(s.adminPort) + "/sentinel-group"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					t.Fatal("admin answered plain HTTP")
				}
			}
		})
	}
}
