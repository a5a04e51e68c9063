package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/skiffdb/skiff/admin"
	"github.com/skiffdb/skiff/fsm"
)

// FailoverRequest is the body of POST /api/failover: a shard id, a
// master's node id or RESP address (cluster mode), or a monitored
// master's name (sentinel mode).
type FailoverRequest struct {
	Target string `json:"target"`
}

// FailoverResult is its answer.
type FailoverResult struct {
	Target  string `json:"target"`
	Replica string `json:"replica,omitempty"` // cluster: the replica that was asked to take over
	Message string `json:"message"`
}

// leaderHealth asks the Raft leader which members answer it.
func leaderHealth(ctx context.Context, leaderAdmin, token string) (map[string]string, error) {
	c := admin.NewClient(leaderAdmin, token)
	c.HTTP.Timeout = remoteTimeout
	c.NoLeaderRetries = -1
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range st.Members {
		out[m.ID] = m.Health
	}
	return out, nil
}

// handleFailover starts a manual failover the way an operator would by
// hand, so that it takes the tested paths: in cluster mode CLUSTER
// FAILOVER sent to the shard's most advanced replica (coordinated, no
// acknowledged write lost), in sentinel mode SENTINEL FAILOVER on this
// sentinel. It answers once the failover is accepted, not finished; the
// topology shows the end.
func (p *Ops) handleFailover(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, errBody{Code: "method", Error: "/api/failover needs POST"})
		return
	}
	// A failover changes the topology: the admin API's rule for changes
	// (a token, or loopback when none is configured).
	if status, body, ok := admin.Authorize(r, p.o.Token); !ok {
		p.log.Warn("failover request refused", "remote", r.RemoteAddr, "code", body.Code)
		admin.Refuse(w, status, body)
		return
	}
	var req FailoverRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || strings.TrimSpace(req.Target) == "" {
		writeJSON(w, http.StatusBadRequest, errBody{Code: "invalid", Error: `body must be {"target": "<shard id | master id | master address | monitored master name>"}`})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	var res FailoverResult
	var err error
	if p.o.Mode == "sentinel" {
		res, err = p.sentinelFailover(req.Target)
	} else {
		res, err = p.clusterFailover(ctx, req.Target)
	}
	if err != nil {
		var fe *failoverError
		if errors.As(err, &fe) {
			writeJSON(w, fe.status, errBody{Code: fe.code, Error: fe.msg})
			return
		}
		writeJSON(w, http.StatusBadGateway, errBody{Code: "failed", Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type failoverError struct {
	status    int
	code, msg string
}

func (e *failoverError) Error() string { return e.msg }

func (p *Ops) sentinelFailover(name string) (FailoverResult, error) {
	if p.o.SentinelFailover == nil {
		return FailoverResult{}, &failoverError{http.StatusNotImplemented, "unsupported", "this process does not run a sentinel"}
	}
	if err := p.o.SentinelFailover(name); err != nil {
		return FailoverResult{}, &failoverError{http.StatusConflict, "refused", fmt.Sprintf("SENTINEL FAILOVER %s: %v", name, err)}
	}
	return FailoverResult{Target: name, Message: "failover started (SENTINEL FAILOVER)"}, nil
}

func (p *Ops) clusterFailover(ctx context.Context, target string) (FailoverResult, error) {
	g := p.o.Group()
	if g == nil {
		return FailoverResult{}, &failoverError{http.StatusServiceUnavailable, "no_leader", "the Raft member is being replaced; retry"}
	}
	d := g.FSM().Export()
	var master *fsm.Node
	for i := range d.Nodes {
		n := &d.Nodes[i]
		if n.Role != fsm.RoleMaster {
			continue
		}
		if n.ID == target || n.ShardID == target || n.Addr == target || (len(target) >= 8 && strings.HasPrefix(n.ID, target)) {
			if master != nil && master.ID != n.ID {
				return FailoverResult{}, &failoverError{http.StatusBadRequest, "invalid", fmt.Sprintf("%q names more than one master; give more of the id", target)}
			}
			master = n
		}
	}
	if master == nil {
		return FailoverResult{}, &failoverError{http.StatusNotFound, "not_found", fmt.Sprintf("no master, shard or address %q in the cluster", target)}
	}
	var replicas []fsm.Node
	for _, n := range d.Nodes {
		if n.Role == fsm.RoleReplica && n.MasterID == master.ID && !n.Failed {
			replicas = append(replicas, n)
		}
	}
	if len(replicas) == 0 {
		return FailoverResult{}, &failoverError{http.StatusConflict, "no_replica", fmt.Sprintf("master %s has no healthy replica to promote", master.Addr)}
	}
	// The most advanced replica, as the failure detector ranks them.
	var addrs []string
	for _, n := range replicas {
		addrs = append(addrs, n.Addr)
	}
	infos := p.rem.infos(ctx, addrs)
	best, bestOff := replicas[0], int64(-1)
	for _, n := range replicas {
		if v, ok := infos[n.Addr].info.num("slave_repl_offset"); ok && int64(v) > bestOff {
			best, bestOff = n, int64(v)
		}
	}
	c := redis.NewClient(&redis.Options{Addr: best.Addr, Password: p.o.PeerPassword, DialTimeout: time.Second,
		ReadTimeout: 6 * time.Second, MaxRetries: -1, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	if err := c.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		return FailoverResult{}, fmt.Errorf("CLUSTER FAILOVER on replica %s: %w", best.Addr, err)
	}
	return FailoverResult{Target: master.Addr, Replica: best.Addr,
		Message: fmt.Sprintf("CLUSTER FAILOVER sent to %s (replica of %s)", best.Addr, master.Addr)}, nil
}
