package config

// TLS options, with Redis 7.0's names and defaults (docs/tls.md). What
// they do is package tlsconf's: it builds the crypto/tls configurations
// from these values and rebuilds them when one is set at run time.
//
// Values Go's crypto/tls has no knob for are accepted and checked as far
// as Go can (tls-dh-params-file must hold DH parameters,
// tls-ciphersuites must name TLS 1.3 suites), then documented as having
// no effect: Go offers no finite-field DHE and always enables its three
// TLS 1.3 suites.
func init() {
	s := func(name string) Option { return Option{Name: name, Kind: KindString} }
	b := func(name, def string) Option { return Option{Name: name, Kind: KindBool, Default: def} }
	Register(
		// The TLS listener next to `port`; 0 (the default) means none.
		// Set at run time it rebinds, as `port` does (node/listen.go).
		Option{Name: "tls-port", Kind: KindInt, Default: "0", Min: 0, Max: 65535},
		s("tls-cert-file"),
		s("tls-key-file"),
		s("tls-key-file-pass"),
		s("tls-client-cert-file"),
		s("tls-client-key-file"),
		s("tls-client-key-file-pass"),
		s("tls-dh-params-file"),
		s("tls-ca-cert-file"),
		s("tls-ca-cert-dir"),
		Option{Name: "tls-auth-clients", Kind: KindEnum, Default: "yes", Enum: []string{"no", "yes", "optional"}},
		s("tls-protocols"),
		s("tls-ciphers"),
		s("tls-ciphersuites"),
		b("tls-prefer-server-ciphers", "no"),
		b("tls-session-caching", "yes"),
		Option{Name: "tls-session-cache-size", Kind: KindInt, Default: "20480", Min: 0, Max: 1<<31 - 1},
		Option{Name: "tls-session-cache-timeout", Kind: KindInt, Default: "300", Min: 0, Max: 1<<31 - 1},
		b("tls-replication", "no"),
		b("tls-cluster", "no"),
	)
}

// TLSOptions lists the options whose change at run time rebuilds the TLS
// configuration (every tls-* option but tls-port and tls-auth-clients,
// which is read at each handshake), as Redis reconfigures on CONFIG SET of
// them.
var TLSOptions = []string{
	"tls-cert-file", "tls-key-file", "tls-key-file-pass",
	"tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
	"tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir",
	"tls-protocols", "tls-ciphers", "tls-ciphersuites",
	"tls-prefer-server-ciphers", "tls-session-caching",
	"tls-session-cache-size", "tls-session-cache-timeout",
	"tls-replication", "tls-cluster",
}
