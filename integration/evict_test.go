package integration

// maxmemory and eviction, on skiff and redis-server side by side: fill
// past maxmemory with each policy; OOM errors must match; evicting
// policies must keep used_memory within 10% of maxmemory, volatile-*
// must evict only keys with a TTL, volatile-ttl the shortest TTLs first,
// and allkeys-lru must keep a hot set (its hit rate is logged for both
// servers).

import (
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"
)

// evictConn wraps a connection with the helpers the tests need.
type evictConn struct {
	t    *testing.T
	name string
	c    *Conn
}

func (e *evictConn) do(argv ...string) Reply {
	e.t.Helper()
	r, err := e.c.Do(argv...)
	if err != nil {
		e.t.Fatalf("%s: %s: %v", e.name, fmtArgv(argv), err)
	}
	return r
}

// pipeline sends every command, then reads every reply.
func (e *evictConn) pipeline(cmds [][]string) []Reply {
	e.t.Helper()
	var buf []byte
	for _, a := range cmds {
		buf = EncodeCommand(buf, a...)
	}
	if err := e.c.WriteRaw(buf); err != nil {
		e.t.Fatalf("%s: write: %v", e.name, err)
	}
	out := make([]Reply, len(cmds))
	for i := range cmds {
		r, err := e.c.Read()
		if err != nil {
			e.t.Fatalf("%s: read reply %d: %v", e.name, i, err)
		}
		out[i] = r
	}
	return out
}

func (e *evictConn) info(field string) int64 {
	e.t.Helper()
	r := e.do("INFO", "all")
	for _, line := range strings.Split(r.Str, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				e.t.Fatalf("%s: INFO %s = %q", e.name, field, v)
			}
			return n
		}
	}
	e.t.Fatalf("%s: INFO has no %s", e.name, field)
	return 0
}

// setup empties the server and sets maxmemory to its current usage plus
// room, under policy.
func (e *evictConn) setup(policy string, room int64) int64 {
	e.t.Helper()
	e.do("FLUSHALL")
	e.do("CONFIG", "SET", "maxmemory", "0")
	e.do("CONFIG", "SET", "maxmemory-policy", policy)
	max := e.info("used_memory") + room
	e.do("CONFIG", "SET", "maxmemory", strconv.FormatInt(max, 10))
	return max
}

func bothEvict(t *testing.T) []*evictConn {
	sk, rd := StartSkiff(t), StartRedis(t)
	return []*evictConn{{t, "skiff", sk.Dial(t)}, {t, "redis", rd.Dial(t)}}
}

const evictValue = 1000

func evictFill(prefix string, from, to int, ttl func(i int) int) [][]string {
	val := strings.Repeat("v", evictValue)
	var cmds [][]string
	for i := from; i < to; i++ {
		k := prefix + strconv.Itoa(i)
		if ttl != nil && ttl(i) > 0 {
			cmds = append(cmds, []string{"SET", k, val, "EX", strconv.Itoa(ttl(i))})
		} else {
			cmds = append(cmds, []string{"SET", k, val})
		}
	}
	return cmds
}

func TestEvictPolicies(t *testing.T) {
	conns := bothEvict(t)
	const room = 2 << 20
	for _, policy := range []string{"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"} {
		volatile := strings.HasPrefix(policy, "volatile-")
		var oomSeen [2]string
		for si, e := range conns {
			max := e.setup(policy, room)
			evictedBefore := e.info("evicted_keys")
			// Twice the room: a third of the keys with a TTL, the rest
			// persistent (more than the room by themselves).
			n := int(2 * room / evictValue)
			replies := e.pipeline(evictFill("k:", 0, n, func(i int) int {
				if i%3 == 1 {
					return 3600
				}
				return 0
			}))
			oom := 0
			for _, r := range replies {
				if r.IsError() {
					oom++
					oomSeen[si] = r.Str
				}
			}
			used := e.info("used_memory")
			evicted := e.info("evicted_keys") - evictedBefore
			t.Logf("%s %-15s used/max %.3f, evicted %d, OOM replies %d", e.name, policy, float64(used)/float64(max), evicted, oom)
			switch {
			case policy == "noeviction":
				if oom == 0 || evicted != 0 {
					t.Errorf("%s %s: %d OOM replies, %d evicted; want OOMs and no eviction", e.name, policy, oom, evicted)
				}
			case volatile:
				// Only keys with a TTL go; once they are gone, OOM.
				for _, r := range e.pipeline([][]string{{"EXISTS", "k:0"}, {"EXISTS", "k:2"}, {"EXISTS", "k:3"}}) {
					if r.Int != 1 {
						t.Errorf("%s %s: a key without TTL was evicted", e.name, policy)
					}
				}
				if evicted == 0 || oom == 0 {
					t.Errorf("%s %s: %d evicted, %d OOM replies; want both", e.name, policy, evicted, oom)
				}
			default:
				if oom != 0 || evicted == 0 {
					t.Errorf("%s %s: %d OOM replies, %d evicted; want eviction and no OOM", e.name, policy, oom, evicted)
				}
			}
			if policy != "noeviction" && !volatile && float64(used) > 1.1*float64(max) {
				t.Errorf("%s %s: used_memory %d is more than 10%% over maxmemory %d", e.name, policy, used, max)
			}
			e.do("CONFIG", "SET", "maxmemory", "0")
		}
		if oomSeen[0] != oomSeen[1] {
			t.Errorf("%s: OOM error differs:\n  skiff: %q\n  redis: %q", policy, oomSeen[0], oomSeen[1])
		}
	}
}

func TestEvictVolatileTTLShortestFirst(t *testing.T) {
	conns := bothEvict(t)
	const room = 2 << 20
	n := int(2 * room / evictValue)
	perm := rand.New(rand.NewSource(1)).Perm(n)
	for _, e := range conns {
		e.setup("volatile-ttl", room)
		// Insert in random order: key i lives 1000+i seconds.
		var cmds [][]string
		val := strings.Repeat("v", evictValue)
		for _, i := range perm {
			cmds = append(cmds, []string{"SET", "t:" + strconv.Itoa(i), val, "EX", strconv.Itoa(1000 + i)})
		}
		e.pipeline(cmds)
		var exists [][]string
		for i := 0; i < n; i++ {
			exists = append(exists, []string{"EXISTS", "t:" + strconv.Itoa(i)})
		}
		rs := e.pipeline(exists)
		fifth := n / 5
		shortGone, longKept := 0, 0
		for i := 0; i < fifth; i++ {
			if rs[i].Int == 0 {
				shortGone++
			}
			if rs[n-1-i].Int == 1 {
				longKept++
			}
		}
		t.Logf("%s volatile-ttl: shortest fifth evicted %.2f, longest fifth kept %.2f", e.name, float64(shortGone)/float64(fifth), float64(longKept)/float64(fifth))
		// Eviction samples (maxmemory-samples 5, a pool of 16), so it is
		// approximate: Redis evicts 87-91% of the shortest fifth here and
		// skiff 80-82%. Random eviction would take the same share from
		// every fifth; 70% of the shortest against 80% of the longest kept
		// is far from that on every run seen.
		if shortGone < fifth*7/10 || longKept < fifth*8/10 {
			t.Errorf("%s: volatile-ttl did not evict shortest TTLs first (%d/%d short evicted, %d/%d long kept)", e.name, shortGone, fifth, longKept, fifth)
		}
		e.do("CONFIG", "SET", "maxmemory", "0")
	}
}

func TestEvictLRUKeepsHotSet(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the LRU clock (1 s resolution)")
	}
	conns := bothEvict(t)
	const room = 3 << 20
	rates := make([]float64, len(conns))
	for ci, e := range conns {
		e.setup("allkeys-lru", room)
		// Cold keys up to the limit.
		cold := 0
		for batch := 0; batch < 100 && e.info("evicted_keys") == 0; batch++ {
			e.pipeline(evictFill("c:", cold, cold+200, nil))
			cold += 200
		}
		// The LRU clock ticks once a second: let the cold keys age.
		time.Sleep(2100 * time.Millisecond)
		hot := cold / 10
		touch := func() {
			var cmds [][]string
			for i := cold - hot; i < cold; i++ {
				cmds = append(cmds, []string{"GET", "c:" + strconv.Itoa(i)})
			}
			e.pipeline(cmds)
		}
		touch()
		// New keys worth a third of the dataset, the hot set read along.
		for added := 0; added < cold/3; added += 100 {
			e.pipeline(evictFill("n:", added, added+100, nil))
			if added%500 == 0 {
				touch()
			}
		}
		var exists [][]string
		for i := cold - hot; i < cold; i++ {
			exists = append(exists, []string{"EXISTS", "c:" + strconv.Itoa(i)})
		}
		kept := 0
		for _, r := range e.pipeline(exists) {
			kept += int(r.Int)
		}
		rates[ci] = float64(kept) / float64(hot)
		used, max := e.info("used_memory"), e.info("maxmemory")
		t.Logf("%s allkeys-lru: hot set %d keys of %d, hit rate %.3f, used/max %.3f", e.name, hot, cold, rates[ci], float64(used)/float64(max))
		if float64(used) > 1.1*float64(max) {
			t.Errorf("%s: used_memory %d more than 10%% over maxmemory %d", e.name, used, max)
		}
		e.do("CONFIG", "SET", "maxmemory", "0")
	}
	if rates[0] < 0.9 {
		t.Errorf("skiff kept %.3f of the hot set (redis %.3f); want at least 0.9", rates[0], rates[1])
	}
}
