// Package ops serves the operator's side of the admin HTTP port: the
// Prometheus page (/metrics, redis_exporter's metric names for Redis's
// figures, skiff_* for the Raft group, failovers and slots), the live
// topology page (/, its JSON at /api/topology, assets under /static/) and
// a manual failover (POST /api/failover). The admin API (package admin)
// keeps every other path.
//
// Everything is read at request time from what the process already
// keeps: the data node's INFO (taken under its lock, in one go), the Raft
// member's status and applied metadata (package fsm), the cluster view or
// the sentinel engine. Only the event ring (events.go) is kept here,
// because the metadata holds the present, not the history.
package ops

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/skiffdb/skiff/cluster"
	"github.com/skiffdb/skiff/node"
	"github.com/skiffdb/skiff/raftgroup"
)

// Options say where the figures come from. Every source may be nil.
type Options struct {
	// Mode is "cluster" or "sentinel".
	Mode string
	// Data is the process's data node (in sentinel mode, the sentinel's
	// RESP server).
	Data *node.Server
	// Cluster is the cluster member (cluster mode).
	Cluster *cluster.Node
	// Group returns the current Raft member (nil while it is replaced).
	Group func() *raftgroup.Group
	// SentinelInfo returns INFO's sentinel section (sentinel mode).
	SentinelInfo func() string
	// SentinelFailover asks the local sentinel for a failover of a
	// monitored master (SENTINEL FAILOVER); "" or an error text.
	SentinelFailover func(name string) error
	// Token is the admin token; MetricsAuth says whether /metrics needs
	// it (admin-metrics-auth). The page and POST /api/failover always
	// need it for writes; reads of the page follow MetricsAuth too.
	Token       string
	MetricsAuth func() bool
	// PeerPassword authenticates RESP queries to other nodes.
	PeerPassword string
	Logger       hclog.Logger
}

// Ops is the handler of the operator paths plus the event watcher.
type Ops struct {
	o   Options
	log hclog.Logger
	mux *http.ServeMux
	ev  *events
	rem *remote
	reg *registry
}

// New builds the handler and starts the event watcher (Close stops it).
func New(o Options) *Ops {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	if o.Group == nil {
		o.Group = func() *raftgroup.Group { return nil }
	}
	if o.MetricsAuth == nil {
		o.MetricsAuth = func() bool { return false }
	}
	p := &Ops{o: o, log: o.Logger, mux: http.NewServeMux(), rem: newRemote(o.PeerPassword)}
	p.ev = newEvents(p)
	p.reg = newRegistry(p)
	p.mux.Handle("/metrics", p.guard(p.reg.handler()))
	p.mux.HandleFunc("/api/topology", p.guard(http.HandlerFunc(p.handleTopology)).ServeHTTP)
	p.mux.HandleFunc("/api/failover", p.handleFailover)
	p.mux.Handle("/static/", p.guard(staticHandler()))
	p.mux.HandleFunc("/{$}", p.guard(http.HandlerFunc(p.handlePage)).ServeHTTP)
	go p.ev.run()
	return p
}

// Close stops the watcher.
func (p *Ops) Close() { p.ev.stop() }

// Owns reports whether a path is served here rather than by the admin API.
func Owns(path string) bool {
	return path == "/" || path == "/metrics" || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/static/")
}

// ServeHTTP serves the operator paths.
func (p *Ops) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// guard applies admin-metrics-auth: like an exporter, the read-only pages
// are open by default; with the option they need the admin token.
func (p *Ops) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			writeJSON(w, http.StatusMethodNotAllowed, errBody{Code: "method", Error: r.URL.Path + " needs GET"})
			return
		}
		if p.o.MetricsAuth() && !p.authorized(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// authorized checks the bearer token (the admin API's rule: no token
// configured, no check), answering 401 itself when it fails.
func (p *Ops) authorized(w http.ResponseWriter, r *http.Request) bool {
	if p.o.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(got), []byte(p.o.Token)) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="skiff-admin"`)
	msg := "missing bearer token (set Authorization: Bearer <admin-token>)"
	if ok {
		msg = "invalid bearer token"
	}
	writeJSON(w, http.StatusUnauthorized, errBody{Code: "unauthorized", Error: msg})
	return false
}

type errBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// snapshot reads the data node, bounded: a scrape must not hang behind a
// long script holding the data lock.
func (p *Ops) snapshot() (node.OpsSnapshot, bool) {
	if p.o.Data == nil {
		return node.OpsSnapshot{}, false
	}
	return p.o.Data.OpsSnapshot(2 * time.Second)
}
