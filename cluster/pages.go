package cluster

import "net/http"

// pages is a handler for some paths of the admin port besides the admin
// API (package ops: /metrics, the topology page). It lives outside the
// API's handler because that one is rebuilt for each Raft member, while
// the pages stay for the life of the process.
type pages struct {
	h    http.Handler
	owns func(path string) bool
}

// SetPages serves the paths for which owns is true with h on the admin
// port, before the admin API sees them.
func (n *Node) SetPages(h http.Handler, owns func(path string) bool) {
	n.pages.Store(&pages{h: h, owns: owns})
}
