package integration

// Blocking list commands with several clients: each scenario runs the same
// event sequence against skiff and redis-server and the replies each
// client sees must be identical. A client that blocks is waited for
// through INFO's blocked_clients (polled with a deadline), so the order of
// events is the same on both servers.

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bstep is one event of a scenario.
type bstep struct {
	cl   int      // client index (0 is the "control" client)
	do   []string // send and read the reply now
	send []string // send without reading (the command blocks)
	// blocked is the number of blocked clients to wait for after the step
	// (-1: do not wait).
	blocked int
	read    bool // read one pending reply of cl
	close   bool // close cl
	raw     string
	quiet   bool // do, but leave the reply out of the transcript (HELLO)
}

func bDo(cl int, argv ...string) bstep { return bstep{cl: cl, do: argv, blocked: -1} }
func bSend(cl, blocked int, argv ...string) bstep {
	return bstep{cl: cl, send: argv, blocked: blocked}
}
func bQuiet(cl int, argv ...string) bstep  { return bstep{cl: cl, do: argv, blocked: -1, quiet: true} }
func bRead(cl int) bstep                   { return bstep{cl: cl, read: true, blocked: -1} }
func bClose(cl, blocked int) bstep         { return bstep{cl: cl, close: true, blocked: blocked} }
func bRaw(cl, blocked int, s string) bstep { return bstep{cl: cl, raw: s, blocked: blocked} }

var blockingScenarios = []struct {
	name  string
	steps []bstep
}{
	{"fifo", []bstep{
		bSend(1, 1, "BLPOP", "k", "0"),
		bSend(2, 2, "BLPOP", "k", "0"),
		bSend(3, 3, "BRPOP", "k", "0"),
		bDo(0, "RPUSH", "k", "a", "b"),
		bRead(1), bRead(2),
		bDo(0, "LLEN", "k"),
		bDo(0, "RPUSH", "k", "c"),
		bRead(3),
		bDo(0, "EXISTS", "k"),
	}},
	{"multikey", []bstep{
		bSend(1, 1, "BLPOP", "k1", "k2", "0"),
		bSend(2, 2, "BLMPOP", "0", "2", "k2", "k1", "RIGHT", "COUNT", "2"),
		bDo(0, "RPUSH", "k2", "x", "y", "z"),
		bRead(1), bRead(2),
		bDo(0, "LRANGE", "k2", "0", "-1"),
	}},
	{"blmove-chain", []bstep{
		bSend(1, 1, "BLMOVE", "a", "b", "LEFT", "RIGHT", "0"),
		bSend(2, 2, "BLPOP", "b", "0"),
		bDo(0, "RPUSH", "a", "foo"),
		bRead(1), bRead(2),
		bDo(0, "EXISTS", "a", "b"),
	}},
	{"self-referential", []bstep{
		bSend(1, 1, "BRPOPLPUSH", "s", "s", "0"),
		bDo(0, "RPUSH", "s", "foo"),
		bRead(1),
		bDo(0, "LRANGE", "s", "0", "-1"),
	}},
	{"circular", []bstep{
		bSend(1, 1, "BRPOPLPUSH", "l1", "l2", "0"),
		bSend(2, 2, "BRPOPLPUSH", "l2", "l1", "0"),
		bDo(0, "RPUSH", "l1", "foo"),
		bRead(1), bRead(2),
		bDo(0, "LRANGE", "l1", "0", "-1"),
		bDo(0, "LRANGE", "l2", "0", "-1"),
	}},
	{"wrong-destination", []bstep{
		bDo(0, "SET", "d", "x"),
		bSend(1, 1, "BLMOVE", "src", "d", "LEFT", "LEFT", "0"),
		bDo(0, "RPUSH", "src", "v"),
		bRead(1),
		bDo(0, "LRANGE", "src", "0", "-1"),
	}},
	{"rename-onto", []bstep{
		bSend(1, 1, "BLPOP", "k", "0"),
		bDo(0, "RPUSH", "other", "v1", "v2"),
		bDo(0, "RENAME", "other", "k"),
		bRead(1),
		bDo(0, "LRANGE", "k", "0", "-1"),
	}},
	{"wrong-type-then-list", []bstep{
		bSend(1, 1, "BLPOP", "k", "0"),
		bDo(0, "SET", "k", "str"),
		bDo(0, "DEL", "k"),
		bDo(0, "RPUSH", "k", "v"),
		bRead(1),
		bDo(0, "EXISTS", "k"),
	}},
	{"timeouts", []bstep{
		bDo(1, "BLPOP", "k", "0.05"),
		bDo(1, "BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"),
		bDo(1, "BRPOPLPUSH", "k", "d", "0.05"),
		bDo(1, "BLMPOP", "0.05", "1", "k", "LEFT"),
		bQuiet(1, "HELLO", "3"),
		bDo(1, "BLPOP", "k", "0.05"),
		bDo(1, "BLMOVE", "k", "d", "LEFT", "LEFT", "0.05"),
	}},
	{"disconnect", []bstep{
		bSend(1, 1, "BLPOP", "k", "0"),
		bClose(1, 0),
		bDo(0, "RPUSH", "k", "v"),
		bDo(0, "LLEN", "k"),
	}},
	{"pipeline-after-block", []bstep{
		bRaw(1, 1, "*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n"),
		bDo(0, "RPUSH", "k", "a", "b"),
		bRead(1), bRead(1), bRead(1),
	}},
	{"multi-push-then-del", []bstep{
		bSend(1, 1, "BLPOP", "k", "0"),
		bDo(0, "MULTI"),
		bDo(0, "LPUSH", "k", "a"),
		bDo(0, "DEL", "k"),
		bDo(0, "EXEC"),
		bDo(0, "RPUSH", "k", "b"),
		bRead(1),
	}},
	{"multi-served-after-exec", []bstep{
		bSend(1, 1, "BLPOP", "k", "0"),
		bDo(0, "MULTI"),
		bDo(0, "RPUSH", "k", "a", "b"),
		bDo(0, "LPOP", "k"),
		bDo(0, "EXEC"),
		bRead(1),
		bDo(0, "EXISTS", "k"),
	}},
	{"blocking-inside-multi", []bstep{
		bDo(1, "MULTI"),
		bDo(1, "BLPOP", "k", "0"),
		bDo(1, "BLMOVE", "k", "d", "LEFT", "LEFT", "0"),
		bDo(1, "BLMPOP", "0", "1", "k", "LEFT"),
		bDo(1, "EXEC"),
	}},
	{"zset-pops", []bstep{
		bSend(1, 1, "BZPOPMIN", "z1", "z2", "0"),
		bSend(2, 2, "BZMPOP", "0", "1", "z2", "MAX", "COUNT", "2"),
		bSend(3, 3, "BZPOPMAX", "z2", "0"),
		bDo(0, "ZADD", "z2", "1", "a", "2", "b", "3", "c", "4", "d"),
		bRead(1), bRead(2), bRead(3),
		bDo(0, "ZRANGE", "z2", "0", "-1", "WITHSCORES"),
		bDo(1, "BZPOPMIN", "z9", "0.05"),
		bDo(1, "BZMPOP", "0.05", "1", "z9", "MIN"),
		bDo(1, "BZPOPMIN", "z2", "x"),
		bDo(0, "SET", "s", "v"),
		bDo(1, "BZPOPMAX", "s", "0"),
	}},
	{"resp3-served", []bstep{
		bQuiet(1, "HELLO", "3"),
		bSend(1, 1, "BLMPOP", "0", "1", "k", "LEFT"),
		bDo(0, "LPUSH", "k", "a"),
		bRead(1),
	}},
}

// blockedCount reads INFO's blocked_clients through c.
func blockedCount(c *Conn) (int, error) {
	r, err := c.Do("INFO", "clients")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(r.Str, "\r\n") {
		if v, ok := strings.CutPrefix(line, "blocked_clients:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("no blocked_clients in INFO clients: %q", r.Str)
}

func waitBlocked(c *Conn, want int) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := blockedCount(c)
		if err != nil {
			return err
		}
		if n == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("blocked_clients is %d, want %d", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runBlockingScenario returns the transcript of replies.
func runBlockingScenario(t *testing.T, srv *Server, steps []bstep) []string {
	t.Helper()
	conns := map[int]*Conn{}
	conn := func(i int) *Conn {
		if conns[i] == nil {
			c, err := srv.DialErr()
			if err != nil {
				t.Fatalf("%s: dial: %v", srv.Kind, err)
			}
			conns[i] = c
		}
		return conns[i]
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if r := conn(0).MustDo(t, "FLUSHALL"); r.Str != "OK" {
		t.Fatalf("%s: FLUSHALL: %v", srv.Kind, r)
	}
	var out []string
	for i, st := range steps {
		c := conn(st.cl)
		var err error
		switch {
		case st.do != nil:
			var r Reply
			r, err = c.Do(st.do...)
			if st.quiet {
				break
			}
			out = append(out, fmt.Sprintf("c%d %s -> %s", st.cl, fmtArgv(st.do), r))
		case st.send != nil:
			err = c.Send(st.send...)
		case st.raw != "":
			err = c.WriteRaw([]byte(st.raw))
		case st.read:
			var r Reply
			r, err = c.Read()
			out = append(out, fmt.Sprintf("c%d read -> %s", st.cl, r))
		case st.close:
			err = c.Close()
			delete(conns, st.cl)
		}
		if err != nil {
			t.Fatalf("%s: step %d: %v", srv.Kind, i, err)
		}
		if st.blocked >= 0 {
			if err := waitBlocked(conn(0), st.blocked); err != nil {
				t.Fatalf("%s: step %d: %v", srv.Kind, i, err)
			}
		}
	}
	return out
}

func TestBlockingDifferential(t *testing.T) {
	sk, rd := StartSkiff(t), StartRedis(t)
	for _, sc := range blockingScenarios {
		t.Run(sc.name, func(t *testing.T) {
			want := runBlockingScenario(t, rd, sc.steps)
			got := runBlockingScenario(t, sk, sc.steps)
			if len(got) != len(want) {
				t.Fatalf("transcripts differ in length:\nskiff: %q\nredis: %q", got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("event %d:\n  skiff: %s\n  redis: %s", i, got[i], want[i])
				}
			}
		})
	}
}
