// Package admin is the admin HTTP API of a Skiff Raft member and a small
// client for it (used by `skiff admin`, by joining nodes and for leader
// forwarding).
//
//	GET  /status               this member's view: id, addresses, raft state, term, indexes, leader, members
//	GET  /cluster              the applied metadata (fsm snapshot format, plus shards)
//	POST /join                 {"id","raft_addr","addr","admin_addr","nonvoter"} -> add a member
//	POST /remove               {"id"} -> remove a member for good
//	POST /transfer-leadership  {"id"} (optional) -> hand leadership over
//	POST /propose              an fsm command envelope -> commit it (leader forwarding)
//
// Bodies are JSON, at most 64 KiB. Errors are {"error","code",...} with a
// status that means what it says. When a token is configured, POST
// endpoints need "Authorization: Bearer <token>"; when none is, they are
// served only to loopback clients (guard.go). Leader-only requests
// that reach a follower get a 307 redirect to the leader's admin address.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

const maxBody = 64 << 10

// maxProposeBody bounds a proposed entry: a cluster's ADDSLOTS of 16384
// scattered slots (as Redis's test suite sends) is 16384 ranges.
const maxProposeBody = 4 << 20

// Error codes in JSON error bodies.
const (
	CodeInvalid        = "invalid"         // 400: malformed body or parameters
	CodeUnauthorized   = "unauthorized"    // 401: missing or wrong bearer token
	CodeNotFound       = "not_found"       // 404: unknown member or path
	CodeMethod         = "method"          // 405
	CodeConflict       = "conflict"        // 409: contradicts the membership
	CodeRemoved        = "removed"         // 410: this node was removed from the cluster
	CodeTooLarge       = "too_large"       // 413
	CodeRefused        = "refused"         // 422: the state machine refused the command
	CodeNotLeader      = "not_leader"      // 307 (with Location) or 503 when the leader's address is unknown
	CodeNoLeader       = "no_leader"       // 503: no leader (election or no quorum)
	CodeOutcomeUnknown = "outcome_unknown" // 503: leadership lost while committing
	CodeTimeout        = "timeout"         // 504
	CodeInternal       = "internal"        // 500
)

// ErrorBody is the JSON of an error response.
type ErrorBody struct {
	Error           string `json:"error"`
	Code            string `json:"code"`
	LeaderID        string `json:"leader_id,omitempty"`
	LeaderAdminAddr string `json:"leader_admin_addr,omitempty"`
}

// TransferRequest is the body of POST /transfer-leadership.
type TransferRequest struct {
	ID string `json:"id,omitempty"`
}

// TransferResult is its answer.
type TransferResult struct {
	LeaderID        string `json:"leader_id"`
	LeaderAdminAddr string `json:"leader_admin_addr"`
}

// RemoveRequest is the body of POST /remove.
type RemoveRequest struct {
	ID string `json:"id"`
}

// ClusterView is the answer of GET /cluster.
type ClusterView struct {
	*fsm.SnapshotData
}

// Server serves the admin API of one member.
type Server struct {
	g       *raftgroup.Group
	token   string
	log     hclog.Logger
	timeout time.Duration
	l       *HTTPListener
}

// NewServer returns a server for g. token "" disables authentication.
func NewServer(g *raftgroup.Group, token string, logger hclog.Logger) *Server {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	return &Server{g: g, token: token, log: logger, timeout: 15 * time.Second}
}

// Listen binds addr and serves in the background.
func (s *Server) Listen(addr string) error {
	l, err := ListenHTTP(addr, s.Handler(), s.log)
	if err != nil {
		return err
	}
	s.l = l
	return nil
}

// Addr is the bound address (after Listen).
func (s *Server) Addr() string {
	if s.l == nil {
		return ""
	}
	return s.l.Addr()
}

// Close stops the server, waiting (bounded) for requests in flight.
func (s *Server) Close() error {
	if s.l == nil {
		return nil
	}
	return s.l.Close()
}

// Handler returns the API's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/status", s.method(http.MethodGet, s.handleStatus))
	mux.HandleFunc("/cluster", s.method(http.MethodGet, s.handleCluster))
	mux.HandleFunc("/join", s.method(http.MethodPost, s.auth(s.handleJoin)))
	mux.HandleFunc("/remove", s.method(http.MethodPost, s.auth(s.handleRemove)))
	mux.HandleFunc("/transfer-leadership", s.method(http.MethodPost, s.auth(s.handleTransfer)))
	mux.HandleFunc("/propose", s.method(http.MethodPost, s.auth(s.handlePropose)))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, ErrorBody{Code: CodeNotFound, Error: "no such endpoint " + r.URL.Path})
	})
	return mux
}

func (s *Server) method(m string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != m {
			w.Header().Set("Allow", m)
			writeError(w, http.StatusMethodNotAllowed, ErrorBody{Code: CodeMethod, Error: fmt.Sprintf("%s needs %s", r.URL.Path, m)})
			return
		}
		h(w, r)
	}
}

// auth applies Authorize (guard.go) before a handler that changes
// something.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if status, body, ok := Authorize(r, s.token); !ok {
			s.log.Warn("admin request refused", "path", r.URL.Path, "remote", r.RemoteAddr, "code", body.Code)
			Refuse(w, status, body)
			return
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, e ErrorBody) { writeJSON(w, status, e) }

// decode reads a JSON body strictly.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, ErrorBody{Code: CodeTooLarge, Error: fmt.Sprintf("body larger than %d bytes", maxBody)})
			return false
		}
		writeError(w, http.StatusBadRequest, ErrorBody{Code: CodeInvalid, Error: "reading body: " + err.Error()})
		return false
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, ErrorBody{Code: CodeInvalid, Error: "malformed JSON body: " + err.Error()})
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, ErrorBody{Code: CodeInvalid, Error: "malformed JSON body: trailing data"})
		return false
	}
	return true
}

// refuseIfRemoved answers 410 when this node is no longer a member.
func (s *Server) refuseIfRemoved(w http.ResponseWriter) bool {
	if s.g.FSM().IsRemoved(s.g.ID()) || s.g.Raft().State() == raft.Shutdown {
		writeError(w, http.StatusGone, ErrorBody{Code: CodeRemoved,
			Error: fmt.Sprintf("this node (%s) was removed from the cluster; send the request to a current member", s.g.ID())})
		return true
	}
	return false
}

// fail maps an error from raftgroup to a response; leader-only requests
// on a follower are redirected.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		nl  *raftgroup.NotLeaderError
		ce  *raftgroup.ConflictError
		nf  *raftgroup.NotFoundError
		inv *raftgroup.InvalidError
	)
	switch {
	case errors.As(err, &nl):
		if nl.LeaderAdminAddr != "" && nl.LeaderID != s.g.ID() {
			w.Header().Set("Location", URL(nl.LeaderAdminAddr, r.URL.RequestURI()))
			writeError(w, http.StatusTemporaryRedirect, ErrorBody{Code: CodeNotLeader, Error: err.Error(), LeaderID: nl.LeaderID, LeaderAdminAddr: nl.LeaderAdminAddr})
			return
		}
		code := CodeNotLeader
		if nl.LeaderID == "" {
			code = CodeNoLeader
		}
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, ErrorBody{Code: code, Error: err.Error(), LeaderID: nl.LeaderID})
	case errors.As(err, &inv):
		writeError(w, http.StatusBadRequest, ErrorBody{Code: CodeInvalid, Error: err.Error()})
	case errors.As(err, &ce):
		writeError(w, http.StatusConflict, ErrorBody{Code: CodeConflict, Error: err.Error()})
	case errors.As(err, &nf):
		writeError(w, http.StatusNotFound, ErrorBody{Code: CodeNotFound, Error: err.Error()})
	case fsm.IsCommandError(err):
		writeError(w, http.StatusUnprocessableEntity, ErrorBody{Code: CodeRefused, Error: err.Error()})
	case errors.Is(err, raftgroup.ErrOutcomeUnknown):
		writeError(w, http.StatusServiceUnavailable, ErrorBody{Code: CodeOutcomeUnknown, Error: err.Error()})
	case errors.Is(err, raftgroup.ErrClosed):
		writeError(w, http.StatusServiceUnavailable, ErrorBody{Code: CodeNoLeader, Error: err.Error()})
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, raft.ErrEnqueueTimeout):
		writeError(w, http.StatusGatewayTimeout, ErrorBody{Code: CodeTimeout, Error: err.Error()})
	default:
		writeError(w, http.StatusInternalServerError, ErrorBody{Code: CodeInternal, Error: err.Error()})
	}
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.timeout)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.g.Status())
}

func (s *Server) handleCluster(w http.ResponseWriter, r *http.Request) {
	d := s.g.FSM().Export()
	d.Shards = s.g.FSM().Shards()
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	if s.refuseIfRemoved(w) {
		return
	}
	var req raftgroup.JoinRequest
	if !decode(w, r, &req) {
		return
	}
	if err := req.Validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.g.Join(ctx, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleRemove(w http.ResponseWriter, r *http.Request) {
	if s.refuseIfRemoved(w) {
		return
	}
	var req RemoveRequest
	if !decode(w, r, &req) {
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	target, known := s.g.FSM().Node(req.ID)
	res, err := s.g.Remove(ctx, req.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Best effort: give the removed node a moment to apply its removal so
	// that it refuses requests itself (it stops receiving the log once the
	// configuration change commits).
	if known && target.AdminAddr != "" && res.Index > 0 {
		s.waitApplied(ctx, target.AdminAddr, res.Index, 2*time.Second)
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) waitApplied(ctx context.Context, addr string, index uint64, limit time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	c := NewClient(addr, s.token)
	c.HTTP.Timeout = 500 * time.Millisecond
	for i := 0; i < 100; i++ {
		if st, err := c.Status(ctx); err == nil && (st.AppliedIndex >= index || st.Removed) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	if s.refuseIfRemoved(w) {
		return
	}
	var req TransferRequest
	if r.ContentLength != 0 {
		if !decode(w, r, &req) {
			return
		}
	}
	if req.ID != "" && !fsm.ValidNodeID(req.ID) {
		writeError(w, http.StatusBadRequest, ErrorBody{Code: CodeInvalid, Error: fmt.Sprintf("id %q is not a node id", req.ID)})
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	l, err := s.g.TransferLeadership(ctx, req.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, TransferResult{LeaderID: l.LeaderID, LeaderAdminAddr: l.LeaderAdminAddr})
}

func (s *Server) handlePropose(w http.ResponseWriter, r *http.Request) {
	if s.refuseIfRemoved(w) {
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxProposeBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, ErrorBody{Code: CodeTooLarge, Error: err.Error()})
		return
	}
	if _, err := fsm.Decode(data); err != nil {
		writeError(w, http.StatusBadRequest, ErrorBody{Code: CodeInvalid, Error: err.Error()})
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	// No forwarding here: a follower redirects, so a request crosses at
	// most one hop per leader change and never loops.
	res, err := s.g.ProposeLocalEncoded(ctx, data)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
