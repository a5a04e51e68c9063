package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestAuthorizeRule(t *testing.T) {
	cases := []struct {
		name, token, remote, header string
		status                      int // 0 = allowed
		code                        string
	}{
		{"no token, loopback v4", "", "127.0.0.1:5000", "", 0, ""},
		{"no token, loopback v4 /8", "", "127.0.0.9:5000", "", 0, ""},
		{"no token, loopback v6", "", "[::1]:5000", "", 0, ""},
		{"no token, remote", "", "10.20.30.40:5000", "", http.StatusForbidden, CodeForbidden},
		{"no token, remote v6", "", "[2001:db8::1]:5000", "", http.StatusForbidden, CodeForbidden},
		{"no token, remote with a bearer anyway", "", "10.20.30.40:5000", "Bearer x", http.StatusForbidden, CodeForbidden},
		{"no token, unparsable remote", "", "garbage", "", http.StatusForbidden, CodeForbidden},
		{"token, right, remote", "s3", "10.20.30.40:5000", "Bearer s3", 0, ""},
		{"token, right, loopback", "s3", "127.0.0.1:5000", "Bearer s3", 0, ""},
		{"token, missing, loopback", "s3", "127.0.0.1:5000", "", http.StatusUnauthorized, CodeUnauthorized},
		{"token, wrong, remote", "s3", "10.20.30.40:5000", "Bearer s4", http.StatusUnauthorized, CodeUnauthorized},
		{"token, wrong scheme", "s3", "127.0.0.1:5000", "Basic s3", http.StatusUnauthorized, CodeUnauthorized},
	}
	for _, tc := range cases {
		r := httptest.NewRequest(http.MethodPost, "/join", nil)
		r.RemoteAddr = tc.remote
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		status, body, ok := Authorize(r, tc.token)
		if ok != (tc.status == 0) || status != tc.status || body.Code != tc.code {
			t.Errorf("%s: got ok=%v status=%d code=%q, want status=%d code=%q", tc.name, ok, status, body.Code, tc.status, tc.code)
		}
	}
}

// The rule is applied by the server's POST endpoints, with a JSON error,
// before the body is even read.
func TestServerRefusesRemoteChangesWithoutToken(t *testing.T) {
	s := &Server{log: hclog.NewNullLogger()}
	h := s.Handler()
	for _, path := range []string{"/join", "/remove", "/transfer-leadership", "/propose"} {
		r := httptest.NewRequest(http.MethodPost, path, nil)
		r.RemoteAddr = "10.1.2.3:4444"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			t.Fatalf("%s from a remote address without a token: status %d, want 403 (%s)", path, w.Code, w.Body)
		}
		var eb ErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Code != CodeForbidden || eb.Error == "" {
			t.Fatalf("%s: body %q is not a JSON error with code %q (%v)", path, w.Body, CodeForbidden, err)
		}
	}
}
