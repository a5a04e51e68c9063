package tlsconf

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiffdb/skiff/internal/testpki"
)

type pki struct {
	dir   string
	ca    *testpki.CA
	files testpki.Files
}

func newPKI(t *testing.T, name string) *pki {
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
	return &pki{dir: dir, ca: ca, files: f}
}

func (p *pki) options() Options {
	return Options{CertFile: p.files.Cert, KeyFile: p.files.Key, CACertFile: p.files.CA, SessionCaching: true, SessionCacheSize: 10}
}

// handshake runs one TLS handshake over loopback TCP, then one byte each
// way, and returns both sides' errors.
func handshake(t *testing.T, srv, cli *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	deadline := time.Now().Add(5 * time.Second)
	done := make(chan error, 1)
	go func() {
		a, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer a.Close()
		a.SetDeadline(deadline)
		s := tls.Server(a, srv)
		err = s.Handshake()
		if err == nil {
			// TLS 1.3: the server learns of a refused certificate only
			// when it reads.
			buf := make([]byte, 1)
			if _, err = s.Read(buf); err == nil {
				_, err = s.Write(buf)
			}
		}
		done <- err
	}()
	b, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.SetDeadline(deadline)
	c := tls.Client(b, cli)
	cerr := c.Handshake()
	if cerr == nil {
		if _, cerr = c.Write([]byte("x")); cerr == nil {
			buf := make([]byte, 1)
			_, cerr = c.Read(buf) // the server's alert, if it refused us
		}
	}
	serr := <-done
	return serr, cerr
}

func TestHandshakeMutual(t *testing.T) {
	p := newPKI(t, "node")
	var m Manager
	if err := m.Reload(p.options()); err != nil {
		t.Fatal(err)
	}
	cli, err := m.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if serr, _ := handshake(t, m.ServerConfig(), cli); serr != nil {
		t.Fatalf("mutual handshake: server: %v", serr)
	}
}

func TestRefusals(t *testing.T) {
	good := newPKI(t, "good")
	other := newPKI(t, "other") // signed by another CA
	var m Manager
	if err := m.Reload(good.options()); err != nil {
		t.Fatal(err)
	}

	// A client trusting another CA refuses the server.
	var om Manager
	if err := om.Reload(other.options()); err != nil {
		t.Fatal(err)
	}
	ocli, _ := om.ClientConfig()
	if _, cerr := handshake(t, m.ServerConfig(), ocli); cerr == nil || !strings.Contains(cerr.Error(), "unknown authority") {
		t.Fatalf("client with a wrong CA: got %v, want an unknown authority error", cerr)
	}
	// The server refuses a client certificate of another CA.
	ocli.VerifyConnection = nil
	ocert := ocli.Certificates[0]
	ocli.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &ocert, nil }
	if serr, _ := handshake(t, m.ServerConfig(), ocli); serr == nil || !strings.Contains(serr.Error(), "unknown authority") {
		t.Fatalf("server, client cert of another CA: got %v", serr)
	}

	// No client certificate: refused with tls-auth-clients yes, accepted
	// with optional and no.
	nocert := &tls.Config{InsecureSkipVerify: true}
	if serr, _ := handshake(t, m.ServerConfig(), nocert); serr == nil || !strings.Contains(serr.Error(), "didn't provide a certificate") {
		t.Fatalf("no client cert, auth yes: got %v", serr)
	}
	m.SetAuthClients(AuthOptional)
	if serr, _ := handshake(t, m.ServerConfig(), nocert); serr != nil {
		t.Fatalf("no client cert, auth optional: %v", serr)
	}
	m.SetAuthClients(AuthNo)
	if serr, _ := handshake(t, m.ServerConfig(), nocert); serr != nil {
		t.Fatalf("no client cert, auth no: %v", serr)
	}
	// The cluster bus always wants one.
	if serr, _ := handshake(t, m.MutualServerConfig(), nocert); serr == nil {
		t.Fatal("cluster listener accepted a peer without a certificate")
	}

	// An expired server certificate is refused by clients.
	expired, err := good.ca.Issue("old", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ef, err := testpki.Write(t.TempDir(), "old", good.ca, expired)
	if err != nil {
		t.Fatal(err)
	}
	var em Manager
	eo := good.options()
	eo.CertFile, eo.KeyFile = ef.Cert, ef.Key
	if err := em.Reload(eo); err != nil {
		t.Fatal(err)
	}
	cli, _ := m.ClientConfig()
	if _, cerr := handshake(t, em.ServerConfig(), cli); cerr == nil || !strings.Contains(cerr.Error(), "expired") {
		t.Fatalf("expired server certificate: got %v", cerr)
	}
}

func TestLoadErrors(t *testing.T) {
	p := newPKI(t, "n")
	cases := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"no cert", func(o *Options) { o.CertFile = "" }, "No tls-cert-file configured!"},
		{"no key", func(o *Options) { o.KeyFile = "" }, "No tls-key-file configured!"},
		{"no CA", func(o *Options) { o.CACertFile = "" }, "Either tls-ca-cert-file or tls-ca-cert-dir"},
		{"missing cert", func(o *Options) { o.CertFile = "/nonexistent.crt" }, "Failed to load certificate: /nonexistent.crt"},
		{"key of another cert", func(o *Options) { o.KeyFile = newPKI(t, "x").files.Key }, "Failed to load private key"},
		{"CA file not a cert", func(o *Options) { o.CACertFile = p.files.Key }, "Failed to configure CA certificate(s)"},
		{"protocols", func(o *Options) { o.Protocols = "TLSv1.2 SSLv3" }, "Invalid tls-protocols specified"},
		{"protocols gap", func(o *Options) { o.Protocols = "TLSv1.1 TLSv1.3" }, "name every version"},
		{"ciphers", func(o *Options) { o.Ciphers = "NOPE:ALSO-NOPE" }, "Failed to configure ciphers"},
		{"ciphersuites", func(o *Options) { o.Ciphersuites = "TLS_FOO" }, "Failed to configure ciphersuites"},
		{"dh missing", func(o *Options) { o.DHParamsFile = "/nonexistent.dh" }, "Failed to load /nonexistent.dh"},
		{"dh not dh", func(o *Options) { o.DHParamsFile = p.files.CA }, "failed to read DH params."},
	}
	for _, c := range cases {
		o := p.options()
		c.mod(&o)
		_, err := Load(o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	// Without a CA, TLS for clients only (auth no) loads.
	o := p.options()
	o.CACertFile, o.AuthClients = "", AuthNo
	if _, err := Load(o); err != nil {
		t.Errorf("auth no without CA: %v", err)
	}
	// A CA directory works.
	o = p.options()
	o.CACertFile, o.CACertDir = "", filepath.Dir(p.files.CA)
	if _, err := Load(o); err != nil {
		t.Errorf("ca dir: %v", err)
	}
}

func TestCiphersAndProtocols(t *testing.T) {
	ids, err := parseCiphers("ECDHE-RSA-AES128-GCM-SHA256:TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:!RC4-SHA:UNKNOWN")
	if err != nil || len(ids) != 2 || ids[0] != tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 || ids[1] != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 {
		t.Fatalf("parseCiphers: %v %v", ids, err)
	}
	ids, err = parseCiphers("DEFAULT:!ECDHE-ECDSA-AES128-GCM-SHA256")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id == tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
			t.Fatal("excluded suite kept")
		}
	}
	min, max, err := parseProtocols("TLSv1.3")
	if err != nil || min != tls.VersionTLS13 || max != tls.VersionTLS13 {
		t.Fatalf("TLSv1.3 only: %x %x %v", min, max, err)
	}
	// A TLSv1.3-only server refuses a TLS 1.2-only client.
	p := newPKI(t, "v")
	o := p.options()
	o.Protocols = "TLSv1.3"
	var m Manager
	if err := m.Reload(o); err != nil {
		t.Fatal(err)
	}
	cli, _ := m.ClientConfig()
	cli.MinVersion, cli.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	if _, cerr := handshake(t, m.ServerConfig(), cli); cerr == nil {
		t.Fatal("TLS 1.2 client accepted by a TLSv1.3-only server")
	}
}

func TestEncryptedKey(t *testing.T) {
	p := newPKI(t, "enc")
	raw, _ := os.ReadFile(p.files.Key)
	b, _ := pem.Decode(raw)
	//lint:ignore SA1019 legacy PEM encryption is what tls-key-file-pass reads
	eb, err := x509.EncryptPEMBlock(rand.Reader, b.Type, b.Bytes, []byte("s3cret"), x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	encPath := filepath.Join(p.dir, "enc-encrypted.key")
	if err := os.WriteFile(encPath, pem.EncodeToMemory(eb), 0o600); err != nil {
		t.Fatal(err)
	}
	o := p.options()
	o.KeyFile = encPath
	if _, err := Load(o); err == nil || !strings.Contains(err.Error(), "no passphrase") {
		t.Fatalf("no pass: %v", err)
	}
	o.KeyFilePass = "wrong"
	if _, err := Load(o); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Fatalf("wrong pass: %v", err)
	}
	o.KeyFilePass = "s3cret"
	if _, err := Load(o); err != nil {
		t.Fatalf("right pass: %v", err)
	}
	pk8 := filepath.Join(p.dir, "pk8.key")
	os.WriteFile(pk8, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}}), 0o600)
	o.KeyFile = pk8
	if _, err := Load(o); err == nil || !strings.Contains(err.Error(), "PKCS#8") {
		t.Fatalf("pkcs8: %v", err)
	}
}

func TestReloadKeepsOldOnError(t *testing.T) {
	p := newPKI(t, "r")
	var m Manager
	if err := m.Reload(p.options()); err != nil {
		t.Fatal(err)
	}
	before := m.mat.Load()
	o := p.options()
	o.CertFile = "/nonexistent"
	if err := m.Reload(o); err == nil {
		t.Fatal("reload of a missing file succeeded")
	}
	if m.mat.Load() != before {
		t.Fatal("a failed reload replaced the material")
	}
	q := newPKI(t, "r2")
	if err := m.Reload(q.options()); err != nil {
		t.Fatal(err)
	}
	if m.mat.Load() == before {
		t.Fatal("a good reload kept the old material")
	}
}

// TestCluster: two managers of the same CA talk over the cluster bus; a
// peer without a certificate, or with one of another CA, is refused.
func TestCluster(t *testing.T) {
	p := newPKI(t, "bus")
	var m Manager
	if err := m.Reload(p.options()); err != nil {
		t.Fatal(err)
	}
	m.SetAuthClients(AuthNo) // the bus ignores it
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := m.ClusterListener(raw)
	defer ln.Close()
	results := make(chan error, 3)
	go func() {
		for i := 0; i < 3; i++ {
			c, err := ln.Accept()
			if err != nil {
				results <- err
				return
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 2)
			_, err = c.Read(buf)
			if err == nil {
				_, err = c.Write(buf)
			}
			c.Close()
			results <- err
		}
	}()
	// A member.
	c, err := m.DialCluster(ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hi"))
	buf := make([]byte, 2)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(buf); err != nil || string(buf) != "hi" {
		t.Fatalf("member echo: %q %v", buf, err)
	}
	c.Close()
	if err := <-results; err != nil {
		t.Fatalf("member refused: %v", err)
	}
	// No certificate.
	nc, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		nc.Write([]byte("hi"))
		nc.Close()
	}
	if err := <-results; err == nil || !strings.Contains(err.Error(), "didn't provide a certificate") {
		t.Fatalf("peer without a certificate: %v", err)
	}
	// Another CA.
	o := newPKI(t, "rogue")
	var om Manager
	if err := om.Reload(o.options()); err != nil {
		t.Fatal(err)
	}
	if c, err := om.DialCluster(ln.Addr().String(), 5*time.Second); err == nil {
		c.Close()
		t.Fatal("a peer of another CA trusted the member's certificate")
	}
	if err := <-results; err == nil {
		t.Fatal("the member accepted a peer of another CA")
	}
}
