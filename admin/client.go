package admin

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/skiffdb/skiff/fsm"
	"github.com/skiffdb/skiff/raftgroup"
)

// maxRedirects bounds how many leader redirects one call follows.
const maxRedirects = 5

// APIError is an error answer of the admin API.
type APIError struct {
	Status int // HTTP status
	ErrorBody
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d, %s)", e.ErrorBody.Error, e.Status, e.Code)
}

// Client talks to the admin API of one member, following leader redirects
// itself (so the bearer token goes along, whatever the host).
type Client struct {
	Addr  string // host:port of any member's admin API
	Token string
	HTTP  *http.Client
	// NoLeaderRetries is how many times (100 ms apart) a call is retried
	// while the member answers 503 no_leader/not_leader: 0 means 30 (3 s),
	// negative means never.
	NoLeaderRetries int
	// HTTPS makes the client speak https even when the process has no TLS
	// of its own (SetTLS): `skiff admin --tls`, tests. HTTP then carries
	// the TLS configuration (NewTLSClient).
	HTTPS bool
}

// NewTLSClient is NewClient over HTTPS with cfg (the CA to trust, the
// client certificate to present).
func NewTLSClient(addr, token string, cfg *tls.Config) *Client {
	c := NewClient(addr, token)
	c.HTTPS = true
	c.HTTP.Transport = &http.Transport{TLSClientConfig: cfg, TLSHandshakeTimeout: 10 * time.Second}
	return c
}

func (c *Client) scheme() string {
	if c.HTTPS {
		return "https"
	}
	return Scheme()
}

func (c *Client) retries() int {
	if c.NoLeaderRetries < 0 {
		return 0
	}
	if c.NoLeaderRetries == 0 {
		return 30
	}
	return c.NoLeaderRetries
}

// NewClient returns a client with a 15 s per-request timeout.
func NewClient(addr, token string) *Client {
	return &Client{Addr: addr, Token: token, HTTP: &http.Client{
		Timeout:   15 * time.Second,
		Transport: Transport(),
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	target := c.scheme() + "://" + c.Addr + path
	waits := 0
	for hop := 0; ; hop++ {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rd)
		if err != nil {
			return fmt.Errorf("admin %s %s: %w", method, target, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		if c.Token != "" {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return fmt.Errorf("admin %s %s: %w", method, target, err)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("admin %s %s: read answer: %w", method, target, err)
		}
		if resp.StatusCode == http.StatusTemporaryRedirect || resp.StatusCode == http.StatusPermanentRedirect {
			loc := resp.Header.Get("Location")
			if hop >= maxRedirects || loc == "" {
				return &APIError{Status: resp.StatusCode, ErrorBody: ErrorBody{Code: CodeNotLeader, Error: fmt.Sprintf("too many redirects (last to %q)", loc)}}
			}
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != c.scheme() || u.Host == "" {
				return fmt.Errorf("admin %s %s: bad redirect %q", method, target, loc)
			}
			target = loc
			continue
		}
		if resp.StatusCode/100 != 2 {
			e := &APIError{Status: resp.StatusCode}
			if json.Unmarshal(data, &e.ErrorBody) != nil || e.ErrorBody.Error == "" {
				e.Code = CodeInternal
				e.ErrorBody.Error = strings.TrimSpace(string(data))
			}
			// No leader yet, or its address not yet known here: nothing was
			// attempted, so waiting briefly and retrying is safe.
			if resp.StatusCode == http.StatusServiceUnavailable && (e.Code == CodeNoLeader || e.Code == CodeNotLeader) && waits < c.retries() {
				waits++
				hop--
				select {
				case <-ctx.Done():
					return e
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			return e
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("admin %s %s: malformed answer: %w", method, target, err)
		}
		return nil
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return b
}

// Status is GET /status.
func (c *Client) Status(ctx context.Context) (raftgroup.Status, error) {
	var st raftgroup.Status
	err := c.do(ctx, http.MethodGet, "/status", nil, &st)
	return st, err
}

// Cluster is GET /cluster.
func (c *Client) Cluster(ctx context.Context) (*fsm.SnapshotData, error) {
	var d fsm.SnapshotData
	if err := c.do(ctx, http.MethodGet, "/cluster", nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Join is POST /join.
func (c *Client) Join(ctx context.Context, req raftgroup.JoinRequest) (raftgroup.JoinResult, error) {
	var res raftgroup.JoinResult
	err := c.do(ctx, http.MethodPost, "/join", mustJSON(req), &res)
	return res, err
}

// Remove is POST /remove.
func (c *Client) Remove(ctx context.Context, id string) (raftgroup.RemoveResult, error) {
	var res raftgroup.RemoveResult
	err := c.do(ctx, http.MethodPost, "/remove", mustJSON(RemoveRequest{ID: id}), &res)
	return res, err
}

// TransferLeadership is POST /transfer-leadership; id "" lets raft choose.
func (c *Client) TransferLeadership(ctx context.Context, id string) (TransferResult, error) {
	var res TransferResult
	err := c.do(ctx, http.MethodPost, "/transfer-leadership", mustJSON(TransferRequest{ID: id}), &res)
	return res, err
}

// Propose commits a command through the leader (POST /propose).
func (c *Client) Propose(ctx context.Context, cmd fsm.Command) (fsm.Result, error) {
	data, err := fsm.Encode(cmd)
	if err != nil {
		return fsm.Result{}, err
	}
	return c.ProposeEncoded(ctx, data)
}

// ProposeEncoded is Propose for bytes from fsm.Encode. A refusal by the
// state machine comes back as a *fsm.CommandError.
func (c *Client) ProposeEncoded(ctx context.Context, data []byte) (fsm.Result, error) {
	var res fsm.Result
	err := c.do(ctx, http.MethodPost, "/propose", data, &res)
	if ae, ok := err.(*APIError); ok && ae.Code == CodeRefused {
		return res, &fsm.CommandError{Type: "remote", Msg: ae.ErrorBody.Error}
	}
	return res, err
}

// Forwarder returns a raftgroup.ForwardFunc that sends proposals to the
// leader's admin API with token.
func Forwarder(token string) raftgroup.ForwardFunc {
	return func(ctx context.Context, leader *raftgroup.NotLeaderError, data []byte) (fsm.Result, error) {
		return NewClient(leader.LeaderAdminAddr, token).ProposeEncoded(ctx, data)
	}
}

// JoinAny sends a join request to each address in turn, retrying the list
// until one succeeds, a definitive refusal comes back (invalid, conflict,
// unauthorized, removed), or ctx ends. Between rounds it waits backoff.
func JoinAny(ctx context.Context, addrs []string, token string, req raftgroup.JoinRequest, backoff time.Duration) (raftgroup.JoinResult, error) {
	var last error
	for round := 0; ; round++ {
		for _, a := range addrs {
			res, err := NewClient(a, token).Join(ctx, req)
			if err == nil {
				return res, nil
			}
			last = err
			if ae, ok := err.(*APIError); ok {
				switch ae.Code {
				case CodeInvalid, CodeConflict, CodeUnauthorized, CodeRefused:
					return res, fmt.Errorf("join via %s refused: %w", a, err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return raftgroup.JoinResult{}, fmt.Errorf("join via %s: gave up after %d rounds: %w", strings.Join(addrs, ","), round+1, last)
		case <-time.After(backoff):
		}
	}
}

// Rejoin re-sends a restarted member's join request to the group (it is
// idempotent and refreshes the member's addresses in the metadata), for
// up to 30 s or until stop is closed. The member runs from its own Raft
// state meanwhile, so a failure is only logged.
func Rejoin(stop <-chan struct{}, addrs []string, token string, req raftgroup.JoinRequest, log interface {
	Warn(string, ...interface{})
	Info(string, ...interface{})
}) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if res, err := JoinAny(ctx, addrs, token, req, time.Second); err != nil {
		log.Warn("re-join after restart failed (running from local raft state)", "error", err)
	} else {
		log.Info("re-joined after restart", "suffrage", res.Suffrage, "already_member", res.AlreadyMember)
	}
}
