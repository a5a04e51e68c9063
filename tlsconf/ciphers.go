package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// openSSLNames maps Go's TLS 1.0–1.2 suites to the names OpenSSL (and so
// Redis's tls-ciphers) uses for them.
var openSSLNames = map[string]string{
	"TLS_RSA_WITH_RC4_128_SHA":                      "RC4-SHA",
	"TLS_RSA_WITH_3DES_EDE_CBC_SHA":                 "DES-CBC3-SHA",
	"TLS_RSA_WITH_AES_128_CBC_SHA":                  "AES128-SHA",
	"TLS_RSA_WITH_AES_256_CBC_SHA":                  "AES256-SHA",
	"TLS_RSA_WITH_AES_128_CBC_SHA256":               "AES128-SHA256",
	"TLS_RSA_WITH_AES_128_GCM_SHA256":               "AES128-GCM-SHA256",
	"TLS_RSA_WITH_AES_256_GCM_SHA384":               "AES256-GCM-SHA384",
	"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA":              "ECDHE-ECDSA-RC4-SHA",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA":          "ECDHE-ECDSA-AES128-SHA",
	"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA":          "ECDHE-ECDSA-AES256-SHA",
	"TLS_ECDHE_RSA_WITH_RC4_128_SHA":                "ECDHE-RSA-RC4-SHA",
	"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA":           "ECDHE-RSA-DES-CBC3-SHA",
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA":            "ECDHE-RSA-AES128-SHA",
	"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA":            "ECDHE-RSA-AES256-SHA",
	"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256":       "ECDHE-ECDSA-AES128-SHA256",
	"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256":         "ECDHE-RSA-AES128-SHA256",
	"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256":         "ECDHE-RSA-AES128-GCM-SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256":       "ECDHE-ECDSA-AES128-GCM-SHA256",
	"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384":         "ECDHE-RSA-AES256-GCM-SHA384",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384":       "ECDHE-ECDSA-AES256-GCM-SHA384",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256":   "ECDHE-RSA-CHACHA20-POLY1305",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
}

// parseCiphers reads tls-ciphers, an OpenSSL cipher list for TLS 1.2 and
// below, as far as Go can follow it: items separated by ':', ',' or
// spaces; a suite by its OpenSSL or IANA name adds it; "!name" and
// "-name" remove it; DEFAULT, HIGH and ALL add Go's secure suites; other
// OpenSSL keywords and unknown names are skipped (OpenSSL skips unknown
// names too). A list that selects nothing is refused, as OpenSSL refuses
// it. TLS 1.3 suites are not affected (Go does not let them be chosen).
func parseCiphers(list string) ([]uint16, error) {
	byName := map[string]uint16{}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13 {
			continue
		}
		byName[strings.ToUpper(cs.Name)] = cs.ID
		if o, ok := openSSLNames[cs.Name]; ok {
			byName[o] = cs.ID
		}
	}
	var out []uint16
	has := func(id uint16) int {
		for i, x := range out {
			if x == id {
				return i
			}
		}
		return -1
	}
	removed := map[uint16]bool{}
	for _, item := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		up := strings.ToUpper(item)
		switch {
		case up == "DEFAULT" || up == "HIGH" || up == "ALL":
			for _, cs := range tls.CipherSuites() {
				if !removed[cs.ID] && has(cs.ID) < 0 && !(len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13) {
					out = append(out, cs.ID)
				}
			}
		case strings.HasPrefix(up, "!") || strings.HasPrefix(up, "-"):
			if id, ok := byName[up[1:]]; ok {
				if i := has(id); i >= 0 {
					out = append(out[:i], out[i+1:]...)
				}
				if up[0] == '!' {
					removed[id] = true
				}
			}
		default:
			if id, ok := byName[strings.TrimPrefix(up, "+")]; ok && !removed[id] && has(id) < 0 {
				out = append(out, id)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("Failed to configure ciphers: %s (no cipher suite Go supports was selected)", list)
	}
	return out, nil
}

// tls13Suites are the TLS 1.3 suites Go implements (and always enables).
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// checkCiphersuites reads tls-ciphersuites (TLS 1.3, names separated by
// ':'): every name must be a suite Go implements. Go enables all three
// whatever the list says, which docs/tls.md states.
func checkCiphersuites(list string) error {
	for _, n := range strings.Split(list, ":") {
		if !tls13Suites[strings.ToUpper(strings.TrimSpace(n))] {
			return fmt.Errorf("Failed to configure ciphersuites: %s (unknown TLS 1.3 suite %q)", list, n)
		}
	}
	return nil
}
