// Package reshard plans slot moves as redis-cli --cluster reshard and
// rebalance do and runs them as atomic slot migrations (CLUSTER
// MIGRATESLOTS, docs/slot-migration.md), reporting progress. It talks
// RESP to the cluster's nodes; `skiff admin reshard|rebalance` is its
// command line.
package reshard

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/skiffdb/skiff/internal/resp"
	"github.com/skiffdb/skiff/slots"
)

// Master is a master of the cluster and the slots it owns.
type Master struct {
	ID    string
	Addr  string
	Slots []int // ascending
}

// Move is a set of slots to move from one master to another.
type Move struct {
	From, To string
	Slots    []int
}

// Rebalance plans moves so that every master that takes part owns its
// share of the assigned slots, as redis-cli --cluster rebalance does:
// each master's expected count is the assigned slots times its weight
// over the total weight (weights default to 1; masters without slots
// take part only with useEmpty); nothing moves when no master is off by
// more than threshold percent of its expected count. Slots leave a
// master from the end of its list.
func Rebalance(masters []Master, weights map[string]float64, useEmpty bool, threshold float64) []Move {
	type bal struct {
		m       *Master
		balance int
	}
	var parts []*bal
	total, wsum := 0, 0.0
	for i := range masters {
		m := &masters[i]
		if len(m.Slots) == 0 && !useEmpty {
			continue
		}
		w := 1.0
		if x, ok := weights[m.ID]; ok {
			w = x
		}
		wsum += w
		total += len(m.Slots)
		parts = append(parts, &bal{m: m})
	}
	if len(parts) < 2 || wsum == 0 {
		return nil
	}
	over := false
	sum := 0
	for _, p := range parts {
		w := 1.0
		if x, ok := weights[p.m.ID]; ok {
			w = x
		}
		expected := int(float64(total) * w / wsum)
		p.balance = len(p.m.Slots) - expected
		sum += p.balance
		if expected > 0 && abs(p.balance)*100 > int(threshold*float64(expected)) {
			over = true
		}
		if expected == 0 && len(p.m.Slots) > 0 {
			over = true
		}
	}
	if !over {
		return nil
	}
	// Rounding leaves a surplus: give it to the masters that take the
	// most, as redis-cli does, so the balances sum to zero.
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].balance < parts[j].balance })
	for i := 0; sum > 0 && i < len(parts); i++ {
		parts[i].balance--
		sum--
	}
	left := map[string][]int{}
	for _, p := range parts {
		left[p.m.ID] = append([]int(nil), p.m.Slots...)
	}
	var moves []Move
	for range len(parts) * len(parts) {
		// The master that lacks the most takes from the one with the most
		// surplus, until no master lacks any.
		sort.SliceStable(parts, func(i, j int) bool { return parts[i].balance < parts[j].balance })
		d, s := parts[0], parts[len(parts)-1]
		if d.balance >= 0 || s.balance <= 0 {
			break
		}
		n := min(-d.balance, s.balance)
		sl := left[s.m.ID]
		take := append([]int(nil), sl[len(sl)-n:]...)
		left[s.m.ID] = sl[:len(sl)-n]
		moves = append(moves, Move{From: s.m.ID, To: d.m.ID, Slots: take})
		d.balance += n
		s.balance -= n
	}
	return merge(moves)
}

// Reshard plans moving n slots to the master to from the masters from
// (all other masters that own slots when from is empty), each giving in
// proportion to what it owns, as redis-cli --cluster reshard does.
func Reshard(masters []Master, to string, from []string, n int) ([]Move, error) {
	var srcs []*Master
	total := 0
	known := false
	for i := range masters {
		m := &masters[i]
		if m.ID == to {
			known = true
			continue
		}
		if len(from) > 0 && !contains(from, m.ID) {
			continue
		}
		if len(m.Slots) > 0 {
			srcs = append(srcs, m)
			total += len(m.Slots)
		}
	}
	if !known {
		return nil, fmt.Errorf("target %s is not a master of this cluster", to)
	}
	if n <= 0 || n > total {
		return nil, fmt.Errorf("cannot move %d slots: the sources own %d", n, total)
	}
	var moves []Move
	left := n
	for i, m := range srcs {
		k := int(float64(n) * float64(len(m.Slots)) / float64(total))
		if i == 0 {
			// The first source gives the rounding remainder (redis-cli
			// rounds up for the first one).
			k = n - sumShares(srcs[1:], n, total)
		}
		k = min(k, left, len(m.Slots))
		if k == 0 {
			continue
		}
		moves = append(moves, Move{From: m.ID, To: to, Slots: append([]int(nil), m.Slots[:k]...)})
		left -= k
	}
	return moves, nil
}

func sumShares(ms []*Master, n, total int) int {
	s := 0
	for _, m := range ms {
		s += int(float64(n) * float64(len(m.Slots)) / float64(total))
	}
	return s
}

func merge(moves []Move) []Move {
	idx := map[[2]string]int{}
	var out []Move
	for _, m := range moves {
		k := [2]string{m.From, m.To}
		if i, ok := idx[k]; ok {
			out[i].Slots = append(out[i].Slots, m.Slots...)
			continue
		}
		idx[k] = len(out)
		out = append(out, m)
	}
	for i := range out {
		sort.Ints(out[i].Slots)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func contains(l []string, x string) bool {
	for _, y := range l {
		if y == x {
			return true
		}
	}
	return false
}

// Conn is a RESP connection to one node.
type Conn struct {
	c  net.Conn
	br *bufio.Reader
}

// Dial connects to a node's RESP port, authenticating when password is
// set.
func Dial(addr, password string, timeout time.Duration) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	cn := &Conn{c: c, br: bufio.NewReader(c)}
	if password != "" {
		if _, err := cn.Do(timeout, "AUTH", password); err != nil {
			c.Close()
			return nil, fmt.Errorf("AUTH to %s: %w", addr, err)
		}
	}
	return cn, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Do sends one command and reads its reply (an error reply is an error).
func (c *Conn) Do(timeout time.Duration, args ...string) (any, error) {
	_ = c.c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.c.Write(resp.AppendCommand(nil, args...)); err != nil {
		return nil, err
	}
	r, err := resp.ReadReply(c.br, resp.ReplyLimits{MaxBulk: 64 << 20, MaxElems: 1 << 20, MaxDepth: 8})
	if err != nil {
		return nil, err
	}
	if e, ok := r.(resp.ReplyError); ok {
		return nil, e
	}
	return r, nil
}

// Masters reads the masters and their slots from CLUSTER NODES.
func (c *Conn) Masters(timeout time.Duration) ([]Master, error) {
	r, err := c.Do(timeout, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	text, _ := r.(string)
	var out []Master
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.Contains(f[2], "master") || strings.Contains(f[2], "fail") {
			continue
		}
		addr := f[1]
		if i := strings.IndexAny(addr, "@,"); i >= 0 {
			addr = addr[:i]
		}
		m := Master{ID: f[0], Addr: addr}
		for _, r := range f[8:] {
			if strings.HasPrefix(r, "[") {
				continue // an open migration mark
			}
			rg, err := slots.ParseRange(r)
			if err != nil {
				return nil, fmt.Errorf("CLUSTER NODES slot %q: %w", r, err)
			}
			for s := rg.Start; s <= rg.End; s++ {
				m.Slots = append(m.Slots, s)
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New("no master in CLUSTER NODES")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Progress is what Run reports after each poll.
type Progress struct {
	Done, Total int // slots moved, slots to move
	Elapsed     time.Duration
}

// Run starts the moves (one CLUSTER MIGRATESLOTS per source, a NODE
// block per target) and polls the sources' CLUSTER GETSLOTMIGRATIONS
// until every job has ended, calling progress after each poll. It fails
// on the first failed or cancelled job (the other jobs run to their end).
func Run(masters []Master, moves []Move, password string, timeout time.Duration, progress func(Progress)) error {
	addr := map[string]string{}
	for _, m := range masters {
		addr[m.ID] = m.Addr
	}
	bySrc := map[string][]Move{}
	var srcs []string
	total := 0
	for _, mv := range moves {
		if _, ok := bySrc[mv.From]; !ok {
			srcs = append(srcs, mv.From)
		}
		bySrc[mv.From] = append(bySrc[mv.From], mv)
		total += len(mv.Slots)
	}
	conns := map[string]*Conn{}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	before := map[string]int{} // jobs each source listed before ours
	for _, src := range srcs {
		c, err := Dial(addr[src], password, 5*time.Second)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", src, err)
		}
		conns[src] = c
		jobs, err := c.jobs()
		if err != nil {
			return fmt.Errorf("%s: CLUSTER GETSLOTMIGRATIONS: %w", src, err)
		}
		before[src] = len(jobs)
		args := []string{"CLUSTER", "MIGRATESLOTS"}
		for _, mv := range bySrc[src] {
			args = append(args, "SLOTSRANGE")
			for _, r := range ranges(mv.Slots) {
				args = append(args, strconv.Itoa(r.Start), strconv.Itoa(r.End))
			}
			args = append(args, "NODE", mv.To)
		}
		if _, err := c.Do(10*time.Second, args...); err != nil {
			return fmt.Errorf("%s: CLUSTER MIGRATESLOTS: %w", src, err)
		}
	}
	start := time.Now()
	for {
		done, running := 0, 0
		for _, src := range srcs {
			jobs, err := conns[src].jobs()
			if err != nil {
				return fmt.Errorf("%s: CLUSTER GETSLOTMIGRATIONS: %w", src, err)
			}
			if len(jobs) < before[src] {
				before[src] = 0 // the list was trimmed: count from the start
			}
			for _, j := range jobs[before[src]:] {
				switch j["state"] {
				case "success":
					done += countSlots(j["slot_ranges"])
				case "failed", "cancelled":
					return fmt.Errorf("migration of slots %s to %s %s: %s", j["slot_ranges"], j["target_node"], j["state"], j["message"])
				default:
					running++
				}
			}
		}
		if progress != nil {
			progress(Progress{Done: done, Total: total, Elapsed: time.Since(start)})
		}
		if running == 0 && done >= total {
			return nil
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("migrations not finished after %v (%d of %d slots moved)", timeout, done, total)
		}
		time.Sleep(100 * time.Millisecond) // the polling period of the progress bar
	}
}

// jobs reads CLUSTER GETSLOTMIGRATIONS as field maps.
func (c *Conn) jobs() ([]map[string]string, error) {
	r, err := c.Do(10*time.Second, "CLUSTER", "GETSLOTMIGRATIONS")
	if err != nil {
		return nil, err
	}
	list, _ := r.([]any)
	out := make([]map[string]string, 0, len(list))
	for _, x := range list {
		kv, _ := x.([]any)
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
		}
		out = append(out, m)
	}
	return out, nil
}

func countSlots(text string) int {
	set, err := slots.ParseSet(text)
	if err != nil {
		return 0
	}
	return set.Count()
}

func ranges(list []int) []slots.Range {
	var set slots.Set
	for _, s := range list {
		set.Add(s)
	}
	return set.Ranges()
}
