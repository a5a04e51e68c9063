// Package tlsconf builds the crypto/tls configurations of a Skiff process
// from Redis's tls-* options (config/tls.go) and swaps them when those
// options change at run time, as Redis reconfigures OpenSSL on CONFIG SET.
//
// One loaded set of files (Material) gives a server configuration for the
// RESP and admin ports (client certificates per tls-auth-clients), a
// mutual one for the cluster bus (the Raft transport), and a client one
// for outgoing links (replication, sentinel, Raft, admin client).
// Outgoing links check the peer's chain against the CA but not its host
// name, as Redis (OpenSSL without a host check) does.
package tlsconf

import "strconv"

// AuthMode is tls-auth-clients.
type AuthMode int

const (
	AuthYes      AuthMode = iota // a client certificate signed by the CA is required
	AuthNo                       // none is asked for
	AuthOptional                 // one is asked for and checked if given
)

// ParseAuthMode reads tls-auth-clients ("yes", "no", "optional").
func ParseAuthMode(v string) AuthMode {
	switch v {
	case "no":
		return AuthNo
	case "optional":
		return AuthOptional
	}
	return AuthYes
}

// Options are the values of the tls-* options.
type Options struct {
	CertFile, KeyFile, KeyFilePass                   string
	ClientCertFile, ClientKeyFile, ClientKeyFilePass string
	DHParamsFile                                     string
	CACertFile, CACertDir                            string
	Protocols, Ciphers, Ciphersuites                 string
	PreferServerCiphers, SessionCaching              bool
	SessionCacheSize, SessionCacheTimeout            int

	// Redis asks for a CA when any of these is on (the peer's or the
	// client's certificate must be checked).
	AuthClients AuthMode
	Replication bool
	Cluster     bool
}

// OptionsFrom reads the options through get (a config lookup by name).
func OptionsFrom(get func(name string) string) Options {
	atoi := func(n string) int { v, _ := strconv.Atoi(get(n)); return v }
	return Options{
		CertFile: get("tls-cert-file"), KeyFile: get("tls-key-file"), KeyFilePass: get("tls-key-file-pass"),
		ClientCertFile: get("tls-client-cert-file"), ClientKeyFile: get("tls-client-key-file"),
		ClientKeyFilePass: get("tls-client-key-file-pass"),
		DHParamsFile:      get("tls-dh-params-file"),
		CACertFile:        get("tls-ca-cert-file"), CACertDir: get("tls-ca-cert-dir"),
		Protocols: get("tls-protocols"), Ciphers: get("tls-ciphers"), Ciphersuites: get("tls-ciphersuites"),
		PreferServerCiphers: get("tls-prefer-server-ciphers") == "yes",
		SessionCaching:      get("tls-session-caching") == "yes",
		SessionCacheSize:    atoi("tls-session-cache-size"),
		SessionCacheTimeout: atoi("tls-session-cache-timeout"),
		AuthClients:         ParseAuthMode(get("tls-auth-clients")),
		Replication:         get("tls-replication") == "yes",
		Cluster:             get("tls-cluster") == "yes",
	}
}
