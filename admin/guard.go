package admin

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/skiffdb/skiff/internal/loopback"
)

// CodeForbidden is the error code of a mutating request refused because
// no token is configured and it does not come from loopback (403).
const CodeForbidden = "forbidden"

// Authorize applies the admin API's rule to a request that changes
// something (join, remove, transfer, propose, failover):
//
//   - with a token configured, the request must carry it as
//     "Authorization: Bearer <token>", from anywhere;
//   - with none, only a request from loopback is served: an open admin
//     port would let anyone on the network join a member of their own
//     and take over the metadata, so it behaves as Redis's protected
//     mode does for clients without a password.
//
// It returns ok, or the status and error body to answer with.
func Authorize(r *http.Request, token string) (status int, body ErrorBody, ok bool) {
	if token == "" {
		if loopback.HostPort(r.RemoteAddr) {
			return 0, ErrorBody{}, true
		}
		return http.StatusForbidden, ErrorBody{Code: CodeForbidden,
			Error: "admin API: no admin-token (or requirepass) is configured, so changes are accepted only from loopback; " +
				"set admin-token on every member to manage it from other hosts"}, false
	}
	got, has := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if has && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
		return 0, ErrorBody{}, true
	}
	msg := "missing bearer token (set Authorization: Bearer <admin-token>)"
	if has {
		msg = "invalid bearer token"
	}
	return http.StatusUnauthorized, ErrorBody{Code: CodeUnauthorized, Error: msg}, false
}

// Refuse writes Authorize's refusal.
func Refuse(w http.ResponseWriter, status int, body ErrorBody) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="skiff-admin"`)
	}
	writeError(w, status, body)
}
