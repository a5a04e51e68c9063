package tlsconf

import (
	"strings"
	"testing"
)

// FuzzOptionParsers: tls-protocols, tls-ciphers, tls-ciphersuites and key
// files are read from user input; no input makes a parser panic, and what
// they accept is well-formed (a non-empty suite list, an ordered range).
func FuzzOptionParsers(f *testing.F) {
	for _, s := range []string{"", "TLSv1.2 TLSv1.3", "tlsv1", "TLSv1.1 TLSv1.3", "DEFAULT:!RC4-SHA", "ECDHE-RSA-AES128-GCM-SHA256",
		"HIGH:-ECDHE-ECDSA-AES128-GCM-SHA256:+AES128-SHA", "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256", "!:-:+:,, ::",
		"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
		"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if min, max, err := parseProtocols(s); err == nil && (min == 0 || min > max) {
			t.Fatalf("parseProtocols(%q) = %x..%x", s, min, max)
		}
		if ids, err := parseCiphers(s); err == nil && len(ids) == 0 {
			t.Fatalf("parseCiphers(%q) accepted an empty list", s)
		}
		if err := checkCiphersuites(s); err == nil {
			for _, n := range strings.Split(s, ":") {
				if !tls13Suites[strings.ToUpper(strings.TrimSpace(n))] {
					t.Fatalf("checkCiphersuites(%q) accepted %q", s, n)
				}
			}
		}
		_, _ = decryptKey([]byte(s), "pass")
		_, _ = decryptKey([]byte(s), "")
	})
}
