package integration

// Transactions: MULTI / EXEC / DISCARD / WATCH / UNWATCH sequences with
// queuing errors (unknown commands, wrong arity), runtime errors inside
// EXEC, nested MULTI, WATCH inside MULTI and WATCHed keys changed by the
// same connection. TestMultiDifferential adds what one connection cannot
// show: a second client changing a watched key, FLUSHALL and SWAPDB.

import (
	"math/rand"
	"strconv"
	"testing"
)

func init() {
	registerGen("multi", "multi", 3, func(r *rand.Rand, k *Keys) []string { return []string{"MULTI"} })
	registerGen("multi", "exec", 4, func(r *rand.Rand, k *Keys) []string { return []string{"EXEC"} })
	registerGen("multi", "discard", 1, func(r *rand.Rand, k *Keys) []string { return []string{"DISCARD"} })
	registerGen("multi", "watch", 2, func(r *rand.Rand, k *Keys) []string {
		return append([]string{"WATCH"}, k.Keys(r, 1+r.Intn(3))...)
	})
	registerGen("multi", "unwatch", 1, func(r *rand.Rand, k *Keys) []string { return []string{"UNWATCH"} })
	registerGen("multi", "body", 12, multiGenBody)
	registerGen("multi", "queue-error", 1, func(r *rand.Rand, k *Keys) []string {
		switch r.Intn(3) {
		case 0:
			return []string{"NOSUCHCMD", k.Key(r)}
		case 1:
			return []string{"GET"}
		}
		return []string{"SET", k.Key(r)}
	})
	// EXEC's reply is compared element by element with each queued
	// command's own rule (compareExec in differential_test.go).
}

// multiGenBody emits commands that are deterministic and cover success,
// wrong type and not-an-integer outcomes, to be queued or run directly.
func multiGenBody(r *rand.Rand, k *Keys) []string {
	key := k.Key(r)
	switch r.Intn(9) {
	case 0:
		return []string{"SET", key, strconv.Itoa(r.Intn(100))}
	case 1:
		return []string{"GET", key}
	case 2:
		return []string{"INCR", key}
	case 3:
		return []string{"LPUSH", key, "v"}
	case 4:
		return []string{"DEL", key}
	case 5:
		return []string{"APPEND", key, "x"}
	case 6:
		return []string{"EXISTS", key}
	case 7:
		return []string{"SET", key, "v", "EX", strconv.Itoa(100 + r.Intn(100))}
	}
	return []string{"PING"}
}

// multiSameExec compares EXEC replies: exactly, or element by element
// where an element may differ only as a nondeterministic command's reply
// can (same multiset, integers within clock slack, same shape of an
// aggregate). Errors and simple strings must always match.

// TestMultiDifferential runs scripted two-client transaction scenarios
// against both servers and compares every reply exactly.
func TestMultiDifferential(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	type step struct {
		conn int // 0 or 1
		argv []string
	}
	s := func(conn int, argv ...string) step { return step{conn, argv} }
	scenarios := [][]step{
		{s(0, "SET", "k", "1"), s(0, "WATCH", "k"), s(1, "SET", "k", "2"), s(0, "MULTI"), s(0, "GET", "k"), s(0, "EXEC")},
		{s(0, "WATCH", "k"), s(1, "GET", "k"), s(0, "MULTI"), s(0, "INCR", "k"), s(0, "EXEC")},
		{s(0, "SET", "k", "1"), s(0, "WATCH", "k"), s(1, "FLUSHALL"), s(0, "MULTI"), s(0, "PING"), s(0, "EXEC")},
		{s(0, "WATCH", "absent"), s(1, "FLUSHALL"), s(0, "MULTI"), s(0, "PING"), s(0, "EXEC")},
		{s(1, "SELECT", "1"), s(1, "SET", "k", "x"), s(0, "WATCH", "k"), s(1, "SWAPDB", "0", "1"), s(0, "MULTI"), s(0, "GET", "k"), s(0, "EXEC"), s(1, "SELECT", "0")},
		{s(0, "SET", "src", "1"), s(0, "WATCH", "dst"), s(1, "RENAME", "src", "dst"), s(0, "MULTI"), s(0, "PING"), s(0, "EXEC")},
		{s(0, "WATCH", "k"), s(1, "SET", "k", "v"), s(0, "UNWATCH"), s(0, "MULTI"), s(0, "GET", "k"), s(0, "EXEC")},
		{s(0, "MULTI"), s(0, "SET", "a", "1"), s(0, "LPUSH", "a", "x"), s(0, "INCR", "a"), s(0, "GET", "a"), s(0, "EXEC")},
		{s(0, "MULTI"), s(0, "SET", "a", "1"), s(0, "NOSUCH"), s(0, "EXEC"), s(0, "EXISTS", "a")},
		{s(0, "MULTI"), s(0, "BLPOP", "nolist", "0"), s(0, "EXEC")},
		{s(0, "MULTI"), s(0, "SUBSCRIBE", "ch"), s(0, "EXEC"), s(0, "UNSUBSCRIBE")},
		{s(0, "WATCH", "k"), s(0, "MULTI"), s(1, "SET", "k", "1"), s(0, "SET", "k", "2"), s(0, "EXEC"), s(0, "GET", "k")},
	}
	for i, sc := range scenarios {
		var conns [2][2]*Conn // [server][client]
		for srv, server := range []*Server{sk, rd} {
			for cl := 0; cl < 2; cl++ {
				conns[srv][cl] = server.Dial(t)
			}
		}
		conns[0][0].MustDo(t, "FLUSHALL")
		conns[1][0].MustDo(t, "FLUSHALL")
		for j, st := range sc {
			a, err := conns[0][st.conn].Do(st.argv...)
			if err != nil {
				t.Fatalf("scenario %d step %d %v: skiff: %v", i, j, st.argv, err)
			}
			b, err := conns[1][st.conn].Do(st.argv...)
			if err != nil {
				t.Fatalf("scenario %d step %d %v: redis: %v", i, j, st.argv, err)
			}
			if !a.Equal(b) {
				t.Fatalf("scenario %d step %d %v:\n  skiff: %s\n  redis: %s", i, j, st.argv, a, b)
			}
		}
		for srv := range conns {
			for cl := range conns[srv] {
				conns[srv][cl].Close()
			}
		}
	}
}
