package consistency

// The client side of the lease exchange (CLIENT SKIFF-LEASE PREPARE and
// GRANT, answered by node/strong.go), used by whichever Raft leader grants
// leases: the sentinels' (sentinel/lease.go) or the cluster's
// (cluster/lease.go).

import (
	"bufio"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
)

// PrepareReply is a master's answer to CLIENT SKIFF-LEASE PREPARE.
type PrepareReply struct {
	Token   int64             // the master's monotonic clock when it answered
	RunID   string            // the master's process
	Version uint64            // the in-sync set version it knows
	Bump    bool              // it asks for a new version
	Desired []string          // the in-sync set it wants
	Addrs   map[string]string // run id → host:port of its replicas
}

func ParsePrepare(r any) (PrepareReply, error) {
	if re, ok := r.(resp.ReplyError); ok {
		return PrepareReply{}, re
	}
	a, ok := r.([]any)
	if !ok || len(a) != 6 {
		return PrepareReply{}, fmt.Errorf("malformed prepare reply %v", r)
	}
	token, ok1 := a[0].(int64)
	runID, ok2 := a[1].(string)
	version, ok3 := a[2].(int64)
	bump, ok4 := a[3].(int64)
	list, ok5 := a[4].([]any)
	addrs, ok6 := a[5].([]any)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || version < 0 || len(addrs)%2 != 0 {
		return PrepareReply{}, fmt.Errorf("malformed prepare reply %v", r)
	}
	p := PrepareReply{Token: token, RunID: runID, Version: uint64(version), Bump: bump == 1}
	for _, x := range list {
		s, ok := x.(string)
		if !ok {
			return PrepareReply{}, fmt.Errorf("malformed prepare reply %v", r)
		}
		p.Desired = append(p.Desired, s)
	}
	p.Addrs = map[string]string{}
	for i := 0; i+1 < len(addrs); i += 2 {
		id, ok1 := addrs[i].(string)
		addr, ok2 := addrs[i+1].(string)
		if !ok1 || !ok2 {
			return PrepareReply{}, fmt.Errorf("malformed prepare reply %v", r)
		}
		p.Addrs[id] = addr
	}
	return p, nil
}

// LeaseConn is the leader's own connection to one master for the lease
// exchange, apart from the monitoring links so that a slow INFO never
// delays a renewal. Only the round goroutine of that master uses it.
type LeaseConn struct {
	Addr, User, Pass string
	// Dial, when set, opens the connection (over TLS where the links to
	// the master use it); nil means plain TCP.
	Dial func(addr string, timeout time.Duration) (net.Conn, error)
	nc   net.Conn
	br   *bufio.Reader
}

const leaseIOTimeout = 500 * time.Millisecond

func (lc *LeaseConn) Close() {
	if lc.nc != nil {
		lc.nc.Close()
		lc.nc = nil
	}
}

func (lc *LeaseConn) Do(args ...string) (any, error) {
	if lc.nc == nil {
		dial := lc.Dial
		if dial == nil {
			dial = func(addr string, t time.Duration) (net.Conn, error) { return net.DialTimeout("tcp", addr, t) }
		}
		nc, err := dial(lc.Addr, leaseIOTimeout)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", lc.Addr, err)
		}
		lc.nc, lc.br = nc, bufio.NewReader(nc)
		if lc.Pass != "" {
			auth := []string{"AUTH", lc.Pass}
			if lc.User != "" {
				auth = []string{"AUTH", lc.User, lc.Pass}
			}
			if r, err := lc.roundTrip(auth); err != nil {
				return nil, err
			} else if re, ok := r.(resp.ReplyError); ok {
				lc.Close()
				return nil, fmt.Errorf("auth to %s: %s", lc.Addr, string(re))
			}
		}
	}
	return lc.roundTrip(args)
}

func (lc *LeaseConn) roundTrip(args []string) (any, error) {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	lc.nc.SetDeadline(time.Now().Add(leaseIOTimeout))
	if _, err := lc.nc.Write(b); err != nil {
		lc.Close()
		return nil, fmt.Errorf("send to %s: %w", lc.Addr, err)
	}
	r, err := resp.ReadReply(lc.br, resp.ReplyLimits{MaxBulk: 1 << 20, MaxElems: 1 << 12, MaxDepth: 2})
	if err != nil {
		lc.Close()
		return nil, fmt.Errorf("read from %s: %w", lc.Addr, err)
	}
	return r, nil
}

// Prepare sends CLIENT SKIFF-LEASE PREPARE and parses the answer.
func (lc *LeaseConn) Prepare() (PrepareReply, error) {
	rep, err := lc.Do("CLIENT", "SKIFF-LEASE", "PREPARE")
	if err != nil {
		return PrepareReply{}, err
	}
	return ParsePrepare(rep)
}

// Grant sends CLIENT SKIFF-LEASE GRANT for a prepare: a lease of d from
// the master's token, with the committed in-sync set (version, members).
func (lc *LeaseConn) Grant(p PrepareReply, d time.Duration, version uint64, isr []string) error {
	rep, err := lc.Do("CLIENT", "SKIFF-LEASE", "GRANT", strconv.FormatInt(p.Token, 10),
		strconv.FormatInt(int64(d/time.Millisecond), 10), p.RunID, strconv.FormatUint(version, 10),
		strings.Join(isr, ","))
	if err != nil {
		return err
	}
	if re, ok := rep.(resp.ReplyError); ok {
		return re
	}
	return nil
}

// MustRecord reports whether the granter must commit the master's in-sync
// set (set-isr) before granting: the group has no lease holder yet, the
// master reports a version at or after the recorded one and wants another
// set, other addresses, or a new version (Bump). A master behind the record
// (a new master's first prepare) is granted the recorded set instead.
func MustRecord(p PrepareReply, holder string, version uint64, isr []string, addrs map[string]string) bool {
	if p.Version < version {
		return false
	}
	if p.Version > version || p.Bump || holder == "" || !SameSet(p.Desired, isr) {
		return true
	}
	for _, id := range p.Desired {
		if p.Addrs[id] != addrs[id] {
			return true
		}
	}
	return false
}
