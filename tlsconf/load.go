package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Material is one loaded and checked set of TLS files and settings. It is
// immutable: a reload builds a new one.
type Material struct {
	server         tls.Certificate
	client         *tls.Certificate // tls-client-cert-file; nil: outgoing links present server
	roots          *x509.CertPool   // tls-ca-cert-file/dir; nil when neither is set
	minVer         uint16
	maxVer         uint16
	suites         []uint16 // TLS 1.2 suites from tls-ciphers; nil: Go's default
	tickets        bool     // tls-session-caching
	clientSessions tls.ClientSessionCache

	// Server configurations, one per tls-auth-clients value, and the
	// cluster bus's (a client certificate always required).
	byAuth  [3]*tls.Config
	cluster *tls.Config
}

// Load reads and checks every file the options name. Its errors say which
// option and file failed, with Go's reason; the process logs them (Redis's
// CONFIG SET answers only "Unable to update TLS configuration. Check
// server logs.").
func Load(o Options) (*Material, error) {
	if o.CertFile == "" {
		return nil, errors.New("No tls-cert-file configured!")
	}
	if o.KeyFile == "" {
		return nil, errors.New("No tls-key-file configured!")
	}
	if (o.AuthClients != AuthNo || o.Cluster || o.Replication) && o.CACertFile == "" && o.CACertDir == "" {
		return nil, errors.New("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!")
	}
	m := &Material{tickets: o.SessionCaching}
	var err error
	if m.minVer, m.maxVer, err = parseProtocols(o.Protocols); err != nil {
		return nil, err
	}
	if m.server, err = loadKeyPair(o.CertFile, o.KeyFile, o.KeyFilePass); err != nil {
		return nil, err
	}
	if o.ClientCertFile != "" && o.ClientKeyFile != "" {
		c, err := loadKeyPair(o.ClientCertFile, o.ClientKeyFile, o.ClientKeyFilePass)
		if err != nil {
			return nil, err
		}
		m.client = &c
	}
	if o.CACertFile != "" || o.CACertDir != "" {
		if m.roots, err = loadRoots(o.CACertFile, o.CACertDir); err != nil {
			return nil, err
		}
	}
	if o.Ciphers != "" {
		if m.suites, err = parseCiphers(o.Ciphers); err != nil {
			return nil, err
		}
	}
	if o.Ciphersuites != "" {
		if err := checkCiphersuites(o.Ciphersuites); err != nil {
			return nil, err
		}
	}
	if o.DHParamsFile != "" {
		if err := checkDHParams(o.DHParamsFile); err != nil {
			return nil, err
		}
	}
	if o.SessionCaching && o.SessionCacheSize > 0 {
		m.clientSessions = tls.NewLRUClientSessionCache(o.SessionCacheSize)
	}
	for _, a := range []AuthMode{AuthYes, AuthNo, AuthOptional} {
		m.byAuth[a] = m.serverConfig(a)
	}
	m.cluster = m.serverConfig(AuthYes)
	return m, nil
}

func (m *Material) serverConfig(a AuthMode) *tls.Config {
	c := &tls.Config{
		Certificates:           []tls.Certificate{m.server},
		MinVersion:             m.minVer,
		MaxVersion:             m.maxVer,
		CipherSuites:           m.suites,
		SessionTicketsDisabled: !m.tickets,
		ClientCAs:              m.roots,
	}
	switch a {
	case AuthYes:
		c.ClientAuth = tls.RequireAndVerifyClientCert
	case AuthOptional:
		c.ClientAuth = tls.VerifyClientCertIfGiven
	default:
		c.ClientAuth = tls.NoClientCert
	}
	return c
}

// clientConfig is the configuration of an outgoing link: it presents the
// client certificate (or the server one) and checks the peer's chain
// against the CA, without a host name check (as Redis).
func (m *Material) clientConfig() *tls.Config {
	cert := m.server
	if m.client != nil {
		cert = *m.client
	}
	roots := m.roots
	return &tls.Config{
		Certificates:       []tls.Certificate{cert},
		MinVersion:         m.minVer,
		MaxVersion:         m.maxVer,
		CipherSuites:       m.suites,
		ClientSessionCache: m.clientSessions,
		// The chain is checked below; only the name check is skipped.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			return verifyChain(cs.PeerCertificates, roots)
		},
	}
}

// verifyChain checks that the peer's certificate chains to roots (the
// system pool when roots is nil) for server authentication.
func verifyChain(certs []*x509.Certificate, roots *x509.CertPool) error {
	if len(certs) == 0 {
		return errors.New("tls: the server presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	if err != nil {
		return fmt.Errorf("tls: server certificate %q: %w", certs[0].Subject.String(), err)
	}
	return nil
}

// parseProtocols reads tls-protocols: "" means TLSv1.2 and TLSv1.3, as in
// Redis. Go sets a range, so the versions named must be contiguous.
func parseProtocols(s string) (min, max uint16, err error) {
	if strings.TrimSpace(s) == "" {
		return tls.VersionTLS12, tls.VersionTLS13, nil
	}
	for _, t := range strings.Fields(s) {
		var v uint16
		switch strings.ToLower(t) {
		case "tlsv1":
			v = tls.VersionTLS10
		case "tlsv1.1":
			v = tls.VersionTLS11
		case "tlsv1.2":
			v = tls.VersionTLS12
		case "tlsv1.3":
			v = tls.VersionTLS13
		default:
			return 0, 0, errors.New("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
		}
		if min == 0 || v < min {
			min = v
		}
		if v > max {
			max = v
		}
	}
	named := map[uint16]bool{}
	for _, t := range strings.Fields(strings.ToLower(s)) {
		named[map[string]uint16{"tlsv1": tls.VersionTLS10, "tlsv1.1": tls.VersionTLS11, "tlsv1.2": tls.VersionTLS12, "tlsv1.3": tls.VersionTLS13}[t]] = true
	}
	for v := min; v <= max; v++ {
		if !named[v] {
			return 0, 0, fmt.Errorf("tls-protocols %q: Go's TLS enables a range of versions; name every version between the lowest and the highest", s)
		}
	}
	return min, max, nil
}

// loadKeyPair reads a certificate chain and its private key, decrypting
// the key with pass when it is encrypted.
func loadKeyPair(certFile, keyFile, pass string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load certificate: %s: %w", certFile, err)
	}
	if _, err := firstCert(certPEM); err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load certificate: %s: %w", certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load private key: %s: %w", keyFile, err)
	}
	keyPEM, err = decryptKey(keyPEM, pass)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load private key: %s: %w", keyFile, err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("Failed to load private key: %s (certificate %s): %w", keyFile, certFile, err)
	}
	return pair, nil
}

func firstCert(data []byte) (*x509.Certificate, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM CERTIFICATE block")
		}
		if b.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse certificate: %w", err)
			}
			return c, nil
		}
	}
}

// decryptKey returns the key's PEM unencrypted. Legacy OpenSSL encryption
// (Proc-Type: 4,ENCRYPTED, as `openssl rsa -aes256 -traditional` writes)
// is supported; encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY") is not, since
// Go's standard library cannot decrypt it.
func decryptKey(data []byte, pass string) ([]byte, error) {
	rest := data
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return data, nil // let X509KeyPair report what is wrong
		}
		if b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("encrypted PKCS#8 keys are not supported (Go has no decoder for them); convert with `openssl rsa -in KEY -aes256 -traditional` (or `openssl ec ...`) or remove the passphrase")
		}
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue
		}
		//lint:ignore SA1019 the only way to read legacy encrypted PEM keys, which Redis accepts with tls-key-file-pass
		if !x509.IsEncryptedPEMBlock(b) { //nolint:staticcheck
			return data, nil
		}
		if pass == "" {
			return nil, errors.New("the key is encrypted and no passphrase is set (tls-key-file-pass / tls-client-key-file-pass)")
		}
		der, err := x509.DecryptPEMBlock(b, []byte(pass)) //nolint:staticcheck
		if err != nil {
			return nil, fmt.Errorf("decrypt with the passphrase: %w", err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: b.Type, Bytes: der}), nil
	}
}

// loadRoots builds the CA pool from tls-ca-cert-file and every PEM file
// of tls-ca-cert-dir (Go reads them all; OpenSSL needs hashed names).
func loadRoots(file, dir string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	add := func(path string, must bool) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for {
			var b *pem.Block
			b, data = pem.Decode(data)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				if must {
					return fmt.Errorf("parse certificate: %w", err)
				}
				continue
			}
			pool.AddCert(c)
			n++
		}
		return nil
	}
	if file != "" {
		if err := add(file, true); err != nil {
			return nil, fmt.Errorf("Failed to configure CA certificate(s) file/directory: %s: %w", file, err)
		}
	}
	if dir != "" {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("Failed to configure CA certificate(s) file/directory: %s: %w", dir, err)
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			_ = add(filepath.Join(dir, e.Name()), false) // like OpenSSL's lookup: skip what is not a certificate
		}
	}
	if n == 0 {
		where := strings.TrimSpace(file + " " + dir)
		return nil, fmt.Errorf("Failed to configure CA certificate(s) file/directory: %s: no certificate found", where)
	}
	return pool, nil
}

// checkDHParams reads tls-dh-params-file. Go's TLS has no finite-field DHE
// (only ECDHE), so the parameters are checked and then unused.
func checkDHParams(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("Failed to load %s: %w", path, err)
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return fmt.Errorf("%s: failed to read DH params.", path)
		}
		if b.Type == "DH PARAMETERS" || b.Type == "X9.42 DH PARAMETERS" {
			return nil
		}
	}
}
