package integration

// Lua scripting end to end, with real processes on loopback:
//
//   - TestScriptReplStream: a fake replica (PSYNC on a raw connection)
//     reads what a skiff master and a redis-server master propagate for
//     the same scripts and functions; the streams must be identical:
//     several writes as one MULTI/EXEC, a redis.set_repl(REPL_NONE)
//     write left out, FUNCTION LOAD/DELETE verbatim, FCALL as effects;
//   - TestScriptReplication: skiff→redis, redis→skiff and skiff→skiff:
//     functions carried by the full sync, then scripts, REPL_NONE writes,
//     FUNCTION LOAD/FCALL/DELETE streamed; data and FUNCTION LIST equal;
//   - TestScriptRealWorld: go-redis v9 Script (EVALSHA falling back to
//     EVAL) running a redlock-style lock, a token bucket and BullMQ-like
//     queue scripts from concurrent goroutines, with exact invariants, on
//     skiff and on redis-server;
//   - TestScriptCluster: EVAL on a three-master skiff cluster against a
//     redis-server cluster: CROSSSLOT, MOVED, undeclared keys of another
//     slot or node;
//   - TestScriptBusy: busy-reply-threshold, -BUSY, SCRIPT KILL,
//     FUNCTION KILL, -UNKILLABLE and SHUTDOWN NOSAVE.
//
// Run: go test ./integration -run 'Script'

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// --- a fake replica reading a master's stream ---

type fakeReplica struct {
	t *testing.T
	c *Conn
}

// attachFakeReplica performs a full sync on a raw connection and leaves
// the connection reading the command stream.
func attachFakeReplica(t *testing.T, master *Server) *fakeReplica {
	t.Helper()
	c := master.Dial(t)
	for _, argv := range [][]string{{"REPLCONF", "listening-port", "1"}, {"REPLCONF", "capa", "eof", "capa", "psync2"}} {
		if r := c.MustDo(t, argv...); r.Str != "OK" {
			t.Fatalf("%s: %s", fmtArgv(argv), r)
		}
	}
	if err := c.Send("PSYNC", "?", "-1"); err != nil {
		t.Fatal(err)
	}
	c.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	line, err := readNonEmptyLine(c.br)
	if err != nil || !strings.HasPrefix(line, "+FULLRESYNC ") {
		t.Fatalf("PSYNC answered %q, %v", line, err)
	}
	line, err = readNonEmptyLine(c.br)
	if err != nil || !strings.HasPrefix(line, "$") {
		t.Fatalf("RDB header %q, %v", line, err)
	}
	if mark, ok := strings.CutPrefix(line, "$EOF:"); ok {
		// Diskless: the payload ends with the 40-byte mark.
		var tail []byte
		for n := 0; ; n++ {
			b, err := c.br.ReadByte()
			if err != nil {
				t.Fatalf("reading the RDB payload: %v", err)
			}
			tail = append(tail, b)
			if len(tail) > len(mark) {
				tail = tail[1:]
			}
			if string(tail) == mark {
				break
			}
			if n > 64<<20 {
				t.Fatal("RDB payload larger than 64 MB")
			}
		}
	} else {
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			t.Fatalf("RDB header %q", line)
		}
		if _, err := io.CopyN(io.Discard, c.br, int64(n)); err != nil {
			t.Fatalf("reading the RDB payload: %v", err)
		}
	}
	// A diskless master streams to the replica from its first ACK once
	// the transfer is complete on its side: redis-server ignores an
	// earlier ACK (and lists the replica online before it), skiff lists
	// it online at the first ACK. ACKs until online, then one more.
	ic := master.Dial(t)
	replWaitFor(t, master.Kind+" lists the fake replica online", 10*time.Second, func() bool {
		if err := c.Send("REPLCONF", "ACK", "0"); err != nil {
			t.Fatal(err)
		}
		return strings.Contains(infoField(t, ic, "replication", "slave0"), "state=online")
	})
	if err := c.Send("REPLCONF", "ACK", "0"); err != nil {
		t.Fatal(err)
	}
	return &fakeReplica{t: t, c: c}
}

func readNonEmptyLine(br *bufio.Reader) (string, error) {
	for i := 0; i < 10000; i++ {
		line, err := br.ReadString('\n')
		if err != nil {
			return line, err
		}
		if line = strings.TrimRight(line, "\r\n"); line != "" {
			return line, nil
		}
	}
	return "", errors.New("only empty lines")
}

// until reads propagated commands up to and including one equal to
// marker and returns those before it (PING and REPLCONF left out).
func (f *fakeReplica) until(marker string) []string {
	f.t.Helper()
	var out []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f.c.nc.SetReadDeadline(deadline)
		r, err := ReadReply(f.c.br)
		if err != nil {
			f.t.Fatalf("%s replication stream: %v (read so far: %q)", f.c.srv.Kind, err, out)
		}
		var argv []string
		for _, e := range r.Elems {
			argv = append(argv, e.Str)
		}
		cmd := fmtArgv(argv)
		if cmd == marker {
			return out
		}
		if len(argv) > 0 && (strings.EqualFold(argv[0], "PING") || strings.EqualFold(argv[0], "REPLCONF")) {
			continue
		}
		out = append(out, cmd)
	}
	f.t.Fatalf("marker %q not seen within 10s (read: %q)", marker, out)
	return nil
}

const libA = "#!lua name=liba\n" +
	"redis.register_function('seta', function(keys, args) redis.call('set', keys[1], args[1]) return redis.call('incr', keys[2]) end)\n" +
	"redis.register_function{function_name='geta', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}\n"

const libB = "#!lua name=libb\n" +
	"redis.register_function('pushb', function(keys, args) return redis.call('rpush', keys[1], unpack(args)) end)\n"

// replScripts are the commands both masters run; each returns the same
// reply on both (checked) and propagates what the fake replica reads.
var replScripts = [][]string{
	{"EVAL", "redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', KEYS[2]) redis.call('lpush', KEYS[3], 'a', 'b') redis.call('hset', KEYS[4], 'f', ARGV[1]) return 1",
		"4", "s:1", "s:n", "s:l", "s:h", "v1"},
	{"EVAL", "return redis.call('set', KEYS[1], 'single')", "1", "s:single"},
	{"EVAL", "redis.call('set', KEYS[1], 'kept') redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[2], 'local only') redis.set_repl(redis.REPL_ALL) redis.call('set', KEYS[3], 'kept too') return 1",
		"3", "s:k1", "s:none", "s:k2"},
	{"EVAL", "redis.set_repl(redis.REPL_NONE) return redis.call('set', KEYS[1], 'local only')", "1", "s:none2"},
	{"EVAL", "return redis.call('get', KEYS[1])", "1", "s:1"},
	{"EVAL_RO", "return redis.call('get', KEYS[1])", "1", "s:1"},
	{"EVAL", "redis.call('incr', KEYS[1]) redis.call('set', KEYS[2], 'x') return redis.call('incr', KEYS[2])", "2", "s:n", "s:2"},
	{"EVAL", "redis.call('set', KEYS[1], '1') redis.call('expire', KEYS[1], 1000) redis.call('del', KEYS[2]) return 1", "2", "s:ttl", "s:1"},
	{"EVAL", "redis.call('incrbyfloat', KEYS[1], '1.5') redis.call('spop', KEYS[2]) return 1", "2", "s:f", "nokey"},
	{"EVAL", "redis.call('select', 1) redis.call('set', KEYS[1], 'db1') return 1", "1", "s:db1"},
	{"EVAL", "local x = redis.call('incr', KEYS[1]) return redis.call('incr', KEYS[2])", "2", "s:a", "s:b"},
	{"FUNCTION", "LOAD", libA},
	{"FCALL", "seta", "2", "s:fa", "s:fn", "fv"},
	{"FCALL_RO", "geta", "1", "s:fa"},
	{"FUNCTION", "LOAD", libB},
	{"FCALL", "pushb", "1", "s:fl", "x", "y", "z"},
	{"FUNCTION", "DELETE", "liba"},
	{"FUNCTION", "LOAD", "REPLACE", libA},
	{"SCRIPT", "FLUSH"},
	{"FUNCTION", "FLUSH"},
}

var pexpireatRe = regexp.MustCompile(`(?i)(PEXPIREAT \S+) \d+`)

func TestScriptReplStream(t *testing.T) {
	sk, rd := StartSkiff(t, replOpts...), StartRedis(t, replOpts...)
	skc, rdc := sk.Dial(t), rd.Dial(t)
	skf, rdf := attachFakeReplica(t, sk), attachFakeReplica(t, rd)
	var skAll []string
	for i, argv := range replScripts {
		skr, rdr := skc.MustDo(t, argv...), rdc.MustDo(t, argv...)
		if !skr.Equal(rdr) {
			t.Errorf("%s: skiff %s, redis %s", fmtArgv(argv), skr, rdr)
		}
		marker := fmt.Sprintf("marker:%d", i)
		for _, c := range []*Conn{skc, rdc} {
			c.MustDo(t, "SELECT", "0")
			c.MustDo(t, "SET", marker, "x")
		}
		want := fmtArgv([]string{"SET", marker, "x"})
		sks, rds := skf.until(want), rdf.until(want)
		skAll = append(skAll, sks...)
		// Absolute expiry times are the servers' own clocks.
		norm := func(cmds []string) string {
			return pexpireatRe.ReplaceAllString(strings.Join(cmds, "\n"), "$1 <ms>")
		}
		if norm(sks) != norm(rds) {
			t.Errorf("%s propagated differently:\n  skiff: %q\n  redis: %q", fmtArgv(argv), sks, rds)
		}
	}
	// What redis-server propagates is checked above; these make sure
	// the comparison is not vacuous.
	// (SCRIPT FLUSH is not propagated by Redis 7.0: scripts replicate
	// by their effects.)
	all := strings.ToUpper(strings.Join(skAll, "\n"))
	for _, want := range []string{"MULTI\nSET S:1 V1\nINCR S:N\nLPUSH S:L A B\nHSET S:H F V1\nEXEC", "MULTI\nSET S:K1 KEPT\nSET S:K2 \"KEPT TOO\"\nEXEC",
		"\nSET S:SINGLE SINGLE\nMULTI", "FUNCTION LOAD", "FUNCTION DELETE LIBA", "MULTI\nSET S:FA FV\nINCR S:FN\nEXEC", "RPUSH S:FL X Y Z", "FUNCTION FLUSH"} {
		if !strings.Contains(all, want) {
			t.Errorf("skiff's stream has no %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "LOCAL ONLY") || strings.Contains(all, "S:NONE") {
		t.Errorf("a REPL_NONE write was propagated:\n%s", all)
	}
}

func functionList(t *testing.T, c *Conn) string {
	t.Helper()
	r := c.MustDo(t, "FUNCTION", "LIST", "WITHCODE")
	if r.IsError() {
		t.Fatalf("FUNCTION LIST: %s", r)
	}
	// Libraries in name order, and their functions too: redis-server
	// lists both in the order of its dicts, whose hash seed is random
	// per process.
	var libs []string
	for _, l := range r.Elems {
		for i := 0; i+1 < len(l.Elems); i += 2 {
			if l.Elems[i].Str == "functions" {
				fs := l.Elems[i+1].Elems
				sort.Slice(fs, func(a, b int) bool { return fs[a].String() < fs[b].String() })
			}
		}
		libs = append(libs, l.String())
	}
	sort.Strings(libs)
	return strings.Join(libs, "\n")
}

func TestScriptReplication(t *testing.T) {
	for _, kinds := range mixedPairs {
		t.Run(kinds[0]+"-master_"+kinds[1]+"-replica", func(t *testing.T) {
			t.Parallel()
			p := startReplPair(t, kinds[0], kinds[1])
			m := p.mc
			// Before the replica attaches: functions and script writes,
			// carried by the full sync.
			m.MustDo(t, "FUNCTION", "LOAD", libA)
			m.MustDo(t, "FCALL", "seta", "2", "pre:fa", "pre:fn", "v")
			m.MustDo(t, "EVAL", "for i = 1, 50 do redis.call('rpush', KEYS[1], i) end return 1", "1", "pre:list")
			p.attach(t)
			if a, b := functionList(t, m), functionList(t, p.rc); a != b || !strings.Contains(b, "liba") {
				t.Fatalf("after the full sync, FUNCTION LIST:\nmaster:  %s\nreplica: %s", a, b)
			}
			// Streamed.
			for _, argv := range replScripts[:len(replScripts)-2] { // not the flushes
				m.MustDo(t, argv...) // replies compared in TestScriptReplStream
			}
			m.MustDo(t, "SELECT", "0")
			waitInSync(t, m, p.rc)
			// The replica reads its own copy of what master wrote with
			// REPL_NONE: nothing.
			for _, k := range []string{"s:none", "s:none2"} {
				if r := m.MustDo(t, "GET", k); r.Str != "local only" {
					t.Fatalf("master GET %s: %s", k, r)
				}
				if r := p.rc.MustDo(t, "EXISTS", k); r.Int != 0 {
					t.Fatalf("replica has %s, written with REPL_NONE", k)
				}
				m.MustDo(t, "EVAL", "redis.set_repl(redis.REPL_NONE) return redis.call('del', KEYS[1])", "1", k)
			}
			waitInSync(t, m, p.rc)
			sameData(t, m, p.rc)
			if a, b := functionList(t, m), functionList(t, p.rc); a != b || !strings.Contains(b, "libb") {
				t.Fatalf("FUNCTION LIST:\nmaster:  %s\nreplica: %s", a, b)
			}
			// The replica runs the replicated functions (read-only ones).
			if r := p.rc.MustDo(t, "FCALL_RO", "geta", "1", "s:fa"); r.Str != "fv" {
				t.Fatalf("replica FCALL_RO geta: %s", r)
			}
			if r := p.rc.MustDo(t, "FCALL", "seta", "2", "x", "y", "z"); !strings.HasPrefix(r.Str, "READONLY") {
				t.Fatalf("replica FCALL of a writing function: %s", r)
			}
			m.MustDo(t, "FUNCTION", "DELETE", "libb")
			m.MustDo(t, "SET", "after", "1")
			waitInSync(t, m, p.rc)
			if a, b := functionList(t, m), functionList(t, p.rc); a != b || strings.Contains(b, "libb") {
				t.Fatalf("after FUNCTION DELETE, FUNCTION LIST:\nmaster:  %s\nreplica: %s", a, b)
			}
			m.MustDo(t, "FUNCTION", "FLUSH")
			m.MustDo(t, "SET", "after", "2")
			waitInSync(t, m, p.rc)
			if r := p.rc.MustDo(t, "FUNCTION", "LIST"); len(r.Elems) != 0 {
				t.Fatalf("after FUNCTION FLUSH the replica lists %s", r)
			}
		})
	}
}

// --- real-world scripts through go-redis ---

const unlockScript = `if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end`

const extendScript = `if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("pexpire",KEYS[1],ARGV[2]) else return 0 end`

const tokenBucketScript = `
local key = KEYS[1]
local rate = tonumber(ARGV[1])      -- tokens per second
local capacity = tonumber(ARGV[2])
local now = tonumber(ARGV[3])       -- milliseconds
local requested = tonumber(ARGV[4])
local data = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(data[1])
local ts = tonumber(data[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
local delta = math.max(0, now - ts)
tokens = math.min(capacity, tokens + delta * rate / 1000)
local allowed = 0
if tokens >= requested then
  tokens = tokens - requested
  allowed = 1
end
redis.call('HMSET', key, 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', key, math.ceil(capacity / rate * 1000) * 2)
return {allowed, tostring(tokens)}
`

// The BullMQ-like queue: KEYS are the queue's lists and sets, ARGV[1]
// the prefix of the job hashes (undeclared keys, as BullMQ does).
const addJobScript = `
local id = redis.call('INCR', KEYS[3])
local jobKey = ARGV[1] .. id
local opts = cmsgpack.unpack(ARGV[3])
local data = cjson.decode(ARGV[2])
redis.call('HMSET', jobKey, 'name', data.name, 'data', ARGV[2], 'opts', cmsgpack.pack(opts),
  'timestamp', ARGV[4], 'attempts', 0, 'priority', opts.priority or 0)
if opts.delay and opts.delay > 0 then
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]) + opts.delay, id)
else
  redis.call('LPUSH', KEYS[1], id)
end
return id
`

const promoteScript = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 10)
for _, id in ipairs(ids) do
  if redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('LPUSH', KEYS[2], id)
  end
end
return #ids
`

const moveToActiveScript = `
local id
if ARGV[4] == 'lmove' then
  id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
else
  id = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
end
if not id then return false end
local jobKey = ARGV[1] .. id
redis.call('HSET', jobKey, 'lockToken', ARGV[2], 'processedOn', ARGV[3])
redis.call('HINCRBY', jobKey, 'attempts', 1)
return {id, redis.call('HGET', jobKey, 'data')}
`

const moveToFinishedScript = `
local jobKey = ARGV[1] .. ARGV[2]
if redis.call('HGET', jobKey, 'lockToken') ~= ARGV[3] then
  return redis.error_reply('ERR lock mismatch for job ' .. ARGV[2])
end
if redis.call('LREM', KEYS[1], -1, ARGV[2]) ~= 1 then
  return -1
end
local data = cjson.decode(redis.call('HGET', jobKey, 'data'))
local opts = cmsgpack.unpack(redis.call('HGET', jobKey, 'opts'))
local result = cjson.decode(ARGV[4])
result.check = data.n * 2 + (opts.priority or 0)
redis.call('HSET', jobKey, 'returnvalue', cjson.encode(result), 'finishedOn', ARGV[5])
redis.call('HDEL', jobKey, 'lockToken')
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
return tonumber(ARGV[2])
`

// msgpackMap encodes a small map of string keys to non-negative ints as
// MessagePack (what a client's packer produces for the job options).
func msgpackMap(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := []byte{0x80 | byte(len(keys))}
	for _, k := range keys {
		b = append(b, 0xa0|byte(len(k)))
		b = append(b, k...)
		v := m[k]
		switch {
		case v < 128:
			b = append(b, byte(v))
		case v < 1<<16:
			b = append(b, 0xcd, byte(v>>8), byte(v))
		default:
			b = append(b, 0xce, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
	}
	return string(b)
}

func TestScriptRealWorld(t *testing.T) {
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, kind, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			c := redis.NewClient(&redis.Options{Addr: srv.Addr(), PoolSize: 16})
			defer c.Close()
			t.Run("redlock", func(t *testing.T) { realWorldLock(ctx, t, c) })
			t.Run("tokenbucket", func(t *testing.T) { realWorldBucket(ctx, t, c) })
			t.Run("queue", func(t *testing.T) { realWorldQueue(ctx, t, c) })
			// go-redis's Script went through NOSCRIPT and fell back to
			// EVAL (the scripts are flushed while the workers run).
			info, err := c.Info(ctx, "errorstats").Result()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(info, "errorstat_NOSCRIPT:count=") {
				t.Errorf("no NOSCRIPT error counted: the EVALSHA fallback was not exercised\n%s", info)
			}
		})
	}
}

func realWorldLock(ctx context.Context, t *testing.T, c *redis.Client) {
	unlock, extend := redis.NewScript(unlockScript), redis.NewScript(extendScript)
	const workers, rounds = 8, 25
	var inside, acquired, retries atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	deadline := time.Now().Add(20 * time.Second)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				token := fmt.Sprintf("w%d-r%d-%d", w, r, rand.Int63())
				for {
					if time.Now().After(deadline) {
						errc <- fmt.Errorf("worker %d: round %d not acquired before the deadline", w, r)
						return
					}
					ok, err := c.SetNX(ctx, "lock:res", token, 10*time.Second).Result()
					if err != nil {
						errc <- err
						return
					}
					if ok {
						break
					}
					retries.Add(1)
					time.Sleep(time.Millisecond) // a lock client's retry delay
				}
				if n := inside.Add(1); n != 1 {
					errc <- fmt.Errorf("worker %d: %d holders of the lock", w, n)
				}
				// Critical section: a read-modify-write only safe under the lock.
				v, err := c.Get(ctx, "lock:counter").Int()
				if err != nil && err != redis.Nil {
					errc <- err
					return
				}
				if r%5 == 0 {
					if n, err := extend.Run(ctx, c, []string{"lock:res"}, token, 20000).Int(); err != nil || n != 1 {
						errc <- fmt.Errorf("extend by the holder: %d, %v", n, err)
					}
					if n, err := extend.Run(ctx, c, []string{"lock:res"}, "not-the-token", 20000).Int(); err != nil || n != 0 {
						errc <- fmt.Errorf("extend by another token: %d, %v", n, err)
					}
				}
				if err := c.Set(ctx, "lock:counter", v+1, 0).Err(); err != nil {
					errc <- err
					return
				}
				acquired.Add(1)
				inside.Add(-1)
				if n, err := unlock.Run(ctx, c, []string{"lock:res"}, "not-the-token").Int(); err != nil || n != 0 {
					errc <- fmt.Errorf("unlock by another token: %d, %v", n, err)
				}
				if n, err := unlock.Run(ctx, c, []string{"lock:res"}, token).Int(); err != nil || n != 1 {
					errc <- fmt.Errorf("unlock by the holder: %d, %v", n, err)
					return
				}
				if w == 0 && r == rounds/2 {
					c.ScriptFlush(ctx) // the others' next Run gets NOSCRIPT
				}
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if got, err := c.Get(ctx, "lock:counter").Int(); err != nil || got != workers*rounds || acquired.Load() != workers*rounds {
		t.Errorf("counter %d (%v), acquisitions %d, want %d", got, err, acquired.Load(), workers*rounds)
	}
	t.Logf("%d acquisitions, %d retries", acquired.Load(), retries.Load())
}

func realWorldBucket(ctx context.Context, t *testing.T, c *redis.Client) {
	bucket := redis.NewScript(tokenBucketScript)
	c.Del(ctx, "bucket:api")
	const capacity, rate = 100, 7 // 7 tokens a second
	now := int64(1_700_000_000_000)
	run := func(at int64, workers, each int) (allowed int64) {
		var n atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					res, err := bucket.Run(ctx, c, []string{"bucket:api"}, rate, capacity, at, 1).Slice()
					if err != nil {
						t.Errorf("token bucket: %v", err)
						return
					}
					if res[0].(int64) == 1 {
						n.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		return n.Load()
	}
	// At a fixed time, exactly the capacity is granted.
	if got := run(now, 8, 30); got != capacity {
		t.Fatalf("at t0: %d requests allowed, want %d", got, capacity)
	}
	// 1.5 s later, 10.5 tokens: 10 granted, half a token left.
	if got := run(now+1500, 6, 5); got != 10 {
		t.Fatalf("at t0+1.5s: %d requests allowed, want 10", got)
	}
	if v, err := c.HGet(ctx, "bucket:api", "tokens").Result(); err != nil || v != "0.5" {
		t.Fatalf("tokens left %q, %v; want 0.5", v, err)
	}
	if pttl, err := c.PTTL(ctx, "bucket:api").Result(); err != nil || pttl <= 0 || pttl > 2*(capacity*1000/rate+1)*time.Millisecond {
		t.Fatalf("bucket PTTL %v, %v", pttl, err)
	}
}

func realWorldQueue(ctx context.Context, t *testing.T, c *redis.Client) {
	add, promote := redis.NewScript(addJobScript), redis.NewScript(promoteScript)
	toActive, finish := redis.NewScript(moveToActiveScript), redis.NewScript(moveToFinishedScript)
	const prefix = "bull:q:"
	wait, active, delayed, completed, idKey := prefix+"wait", prefix+"active", prefix+"delayed", prefix+"completed", prefix+"id"
	const producers, perProducer, consumers = 4, 50, 4
	const total = producers * perProducer
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var jobN sync.Map // id -> n
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				n := p*perProducer + i
				opts := map[string]int{"attempts": 3, "priority": n % 3}
				if n%5 == 0 {
					opts["delay"] = 1000 + n
				}
				data := fmt.Sprintf(`{"name":"job-%d","n":%d,"tags":["a","b"],"nested":{"x":1.5}}`, n, n)
				id, err := add.Run(ctx, c, []string{wait, delayed, idKey}, prefix, data, msgpackMap(opts), 1000).Int64()
				if err != nil {
					report(fmt.Errorf("addJob: %v", err))
					return
				}
				jobN.Store(id, n)
			}
		}(p)
	}
	var done atomic.Int64
	var processed sync.Map // id -> consumer
	deadline := time.Now().Add(25 * time.Second)
	for w := 0; w < consumers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			mode := []string{"rpoplpush", "lmove"}[w%2]
			for i := 0; done.Load() < total; i++ {
				if time.Now().After(deadline) {
					report(fmt.Errorf("consumer %d: %d of %d jobs done at the deadline", w, done.Load(), total))
					return
				}
				if w == 0 && i%10 == 0 {
					if _, err := promote.Run(ctx, c, []string{delayed, wait}, 1_000_000).Int(); err != nil {
						report(fmt.Errorf("promote: %v", err))
						return
					}
				}
				token := fmt.Sprintf("c%d-%d", w, i)
				res, err := toActive.Run(ctx, c, []string{wait, active}, prefix, token, 2000, mode).Slice()
				if err == redis.Nil {
					time.Sleep(time.Millisecond) // a worker's poll interval
					continue
				}
				if err != nil {
					report(fmt.Errorf("moveToActive: %v", err))
					return
				}
				id, _ := strconv.ParseInt(res[0].(string), 10, 64)
				if prev, dup := processed.LoadOrStore(id, w); dup {
					report(fmt.Errorf("job %d taken twice (consumers %v and %d)", id, prev, w))
				}
				got, err := finish.Run(ctx, c, []string{active, completed}, prefix, id, token, `{"ok":true}`, 3000+i).Int64()
				if err != nil || got != id {
					report(fmt.Errorf("moveToFinished job %d: %d, %v", id, got, err))
					return
				}
				if w == 1 && i == 20 {
					c.ScriptFlush(ctx)
				}
				done.Add(1)
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	if n, _ := c.ZCard(ctx, completed).Result(); n != total {
		t.Fatalf("completed %d, want %d", n, total)
	}
	for _, k := range []string{wait, active} {
		if n, _ := c.LLen(ctx, k).Result(); n != 0 {
			t.Fatalf("%s has %d jobs left", k, n)
		}
	}
	if n, _ := c.ZCard(ctx, delayed).Result(); n != 0 {
		t.Fatalf("%d delayed jobs left", n)
	}
	count := 0
	jobN.Range(func(k, v any) bool {
		count++
		id, n := k.(int64), v.(int)
		h, err := c.HGetAll(ctx, fmt.Sprintf("%s%d", prefix, id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`"check":%d`, n*2+n%3)
		if !strings.Contains(h["returnvalue"], want) || h["attempts"] != "1" || h["lockToken"] != "" {
			t.Errorf("job %d (n=%d): %v (want returnvalue with %s, one attempt)", id, n, h, want)
			return false
		}
		return true
	})
	if count != total {
		t.Fatalf("%d jobs added, want %d", count, total)
	}
}

// --- cluster ---

var addrRe = regexp.MustCompile(`127\.0\.0\.1:\d+`)

func TestScriptCluster(t *testing.T) {
	if redisCliBin == "" {
		t.Skip("redis-cli not found")
	}
	t.Parallel()
	sk := startSkiffClusterNodes(t, 3)
	rd := startRedisClusterNodes(t, 3)
	var skAddrs, rdAddrs []string
	for i := range sk {
		skAddrs = append(skAddrs, sk[i].respAddr())
		rdAddrs = append(rdAddrs, rd[i].Addr())
	}
	for _, addrs := range [][]string{skAddrs, rdAddrs} {
		args := append([]string{"--cluster", "create"}, addrs...)
		args = append(args, "--cluster-replicas", "0", "--cluster-yes")
		if out, err := redisCli(t, 60*time.Second, args...); err != nil || !strings.Contains(out, "[OK] All 16384 slots covered.") {
			t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
		}
	}
	skLog, rdLog := scriptClusterScenario(t, skAddrs), scriptClusterScenario(t, rdAddrs)
	for i := range rdLog {
		if skLog[i] != rdLog[i] {
			t.Errorf("step %d differs:\n  skiff: %s\n  redis: %s", i, skLog[i], rdLog[i])
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("redis transcript:\n%s", strings.Join(rdLog, "\n"))
	}
}

// scriptClusterScenario runs the same commands on the node owning slot
// of "{a}" (with the keys chosen by slot owner) and returns a transcript
// with addresses replaced by node indexes.
func scriptClusterScenario(t *testing.T, addrs []string) []string {
	t.Helper()
	conns := make([]*Conn, len(addrs))
	for i, a := range addrs {
		conns[i] = dialAddr(t, a)
	}
	// Wait until every node agrees on the owner of the test keys' slots.
	var owner map[string]int
	replWaitFor(t, "the cluster agrees on slot owners", 30*time.Second, func() bool {
		owner = map[string]int{}
		for _, k := range []string{"{a}1", "{b}1", "{c}1", "{d}1", "{e}1", "{f}1"} {
			o := -1
			for i, c := range conns {
				r, err := c.Do("GET", k)
				if err != nil {
					return false
				}
				if !strings.HasPrefix(r.Str, "MOVED") && !r.IsError() {
					if o >= 0 {
						return false
					}
					o = i
				}
			}
			if o < 0 {
				return false
			}
			owner[k] = o
		}
		return true
	})
	// Two keys of different slots on the same node, and one elsewhere.
	var local1, local2, remote string
	home := owner["{a}1"]
	local1 = "{a}1"
	for _, k := range []string{"{b}1", "{c}1", "{d}1", "{e}1", "{f}1"} {
		if owner[k] == home && local2 == "" {
			local2 = k
		} else if owner[k] != home && remote == "" {
			remote = k
		}
	}
	if local2 == "" || remote == "" {
		t.Skipf("slot layout gives no second local slot among the test keys: %v", owner)
	}
	c := conns[home]
	steps := [][]string{
		{"EVAL", "return redis.call('set', KEYS[1], 'v')", "1", local1},
		{"EVAL", "return redis.call('get', KEYS[1])", "1", local1},
		{"EVAL", "return 1", "2", local1, local2},                  // CROSSSLOT
		{"EVAL", "return redis.call('get', KEYS[1])", "1", remote}, // MOVED
		{"EVAL", "return redis.call('get', KEYS[1])", "2", local1, remote},
		{"EVAL", "return redis.call('get', '" + local2 + "')", "1", local1}, // undeclared, other slot, same node (compat mode)
		{"EVAL", "#!lua\nreturn redis.call('get', '" + local2 + "')", "1", local1},
		{"EVAL", "#!lua flags=allow-cross-slot-keys\nreturn redis.call('get', '" + local2 + "')", "1", local1},
		{"EVAL", "return redis.call('get', '" + remote + "')", "1", local1}, // undeclared, other node
		{"EVAL", "#!lua\nreturn redis.call('get', '" + remote + "')", "1", local1},
		{"EVAL", "return redis.call('get', '" + remote + "')", "0"},
		{"EVAL", "#!lua flags=no-cluster\nreturn 1", "0"},
		{"EVAL", "return redis.pcall('get', '" + remote + "')", "1", local1},
		{"EVAL_RO", "return redis.call('get', KEYS[1])", "1", local1},
		{"FUNCTION", "LOAD", "REPLACE", libA},
		{"FCALL", "seta", "2", local1, local1, "fv"},
		{"FCALL", "seta", "2", local1, local2, "fv"},
		{"FCALL", "seta", "2", remote, remote, "fv"},
		{"FCALL_RO", "geta", "1", local1},
	}
	var log []string
	for _, argv := range steps {
		r := c.MustDo(t, argv...)
		line := fmtArgv(argv) + " -> " + r.String()
		line = addrRe.ReplaceAllStringFunc(line, func(a string) string {
			for i, x := range addrs {
				if x == a {
					return fmt.Sprintf("node%d", (i-home+len(addrs))%len(addrs))
				}
			}
			return a
		})
		// Keys are chosen by owner, so the same names are used on both.
		log = append(log, line)
	}
	return log
}

// --- busy scripts ---

func TestScriptBusy(t *testing.T) {
	for _, kind := range []string{"skiff", "redis"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, kind, []string{"--busy-reply-threshold", "100"})
			a, b := srv.Dial(t), srv.Dial(t)
			slow := 0
			waitBusy := func(what string) {
				t.Helper()
				// Both servers log the script going busy. Skiff answers
				// -BUSY to a command that arrives once the script runs;
				// one that finds the lock taken just before the script
				// starts waits for its end (node/busy.go): the first PING
				// goes after the log line.
				slow++
				replWaitFor(t, what+": 'Slow script detected' logged", 10*time.Second, func() bool {
					return strings.Count(srv.LogTail(1<<20), "Slow script detected") >= slow
				})
				var last Reply
				deadline := time.Now().Add(10 * time.Second)
				for {
					r, err := b.Do("PING")
					if err != nil {
						t.Fatalf("%s: PING: %v", what, err)
					}
					if strings.HasPrefix(r.Str, "BUSY") {
						if !strings.HasPrefix(r.Str, "BUSY Redis is busy running a script. You can only call ") {
							t.Fatalf("%s: busy reply %s", what, r)
						}
						return
					}
					last = r
					if time.Now().After(deadline) {
						t.Fatalf("%s: no -BUSY within 10 s (last %s)", what, last)
					}
					time.Sleep(10 * time.Millisecond)
				}
			}
			waitPong := func() {
				t.Helper()
				replWaitFor(t, "PONG after the script ended", 10*time.Second, func() bool {
					r, err := b.Do("PING")
					return err == nil && r.Str == "PONG"
				})
			}

			// A read-only busy script: SCRIPT KILL ends it.
			if r := b.MustDo(t, "SCRIPT", "KILL"); !strings.HasPrefix(r.Str, "NOTBUSY") {
				t.Fatalf("SCRIPT KILL with no script: %s", r)
			}
			if err := a.Send("EVAL", "local i = 0 while true do i = i + 1 end", "0"); err != nil {
				t.Fatal(err)
			}
			waitBusy("EVAL loop")
			if r := b.MustDo(t, "GET", "x"); !strings.HasPrefix(r.Str, "BUSY") {
				t.Fatalf("GET while busy: %s", r)
			}
			if r := b.MustDo(t, "FUNCTION", "KILL"); r.Str != "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE." {
				t.Fatalf("FUNCTION KILL during EVAL: %s", r)
			}
			if r := b.MustDo(t, "SCRIPT", "KILL"); r.Str != "OK" {
				t.Fatalf("SCRIPT KILL: %s", r)
			}
			if r, err := a.Read(); err != nil || !strings.HasPrefix(r.Str, "ERR Script killed by user with SCRIPT KILL...") {
				t.Fatalf("the killed script's reply: %s, %v", r, err)
			}
			waitPong()
			if r := a.MustDo(t, "PING"); r.Str != "PONG" {
				t.Fatalf("the killed script's client: %s", r)
			}

			// A busy function: FUNCTION KILL ends it.
			a.MustDo(t, "FUNCTION", "LOAD", "#!lua name=busy\nredis.register_function{function_name='spin', callback=function() while true do end end, flags={'no-writes'}}")
			if err := a.Send("FCALL", "spin", "0"); err != nil {
				t.Fatal(err)
			}
			waitBusy("FCALL spin")
			if r := b.MustDo(t, "SCRIPT", "KILL"); r.Str != "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE." {
				t.Fatalf("SCRIPT KILL during FCALL: %s", r)
			}
			if r := b.MustDo(t, "FUNCTION", "KILL"); r.Str != "OK" {
				t.Fatalf("FUNCTION KILL: %s", r)
			}
			if r, err := a.Read(); err != nil || !strings.HasPrefix(r.Str, "ERR Script killed by user with SCRIPT KILL...") /* sic, Redis 7.0 */ {
				t.Fatalf("the killed function's reply: %s, %v", r, err)
			}
			waitPong()

			// A busy script that wrote: unkillable; SHUTDOWN NOSAVE.
			if err := a.Send("EVAL", "redis.call('set', KEYS[1], 'y') while true do end", "1", "x"); err != nil {
				t.Fatal(err)
			}
			waitBusy("writing EVAL loop")
			if r := b.MustDo(t, "SCRIPT", "KILL"); !strings.HasPrefix(r.Str, "UNKILLABLE Sorry the script already executed write commands against the dataset.") {
				t.Fatalf("SCRIPT KILL of a writing script: %s", r)
			}
			if r := b.MustDo(t, "SHUTDOWN"); r.Str != "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE." {
				t.Fatalf("SHUTDOWN (saving) during a busy script: %s", r)
			}
			if err := b.Send("SHUTDOWN", "NOSAVE"); err != nil {
				t.Fatal(err)
			}
			select {
			case <-srv.exited:
			case <-time.After(10 * time.Second):
				t.Fatalf("%s still running 10 s after SHUTDOWN NOSAVE", kind)
			}
			if out, err := b.ReadAllUntilClose(); err != nil && !isClosed(err) || len(bytes.TrimSpace(out)) != 0 {
				t.Fatalf("SHUTDOWN NOSAVE answered %q, %v", out, err)
			}
		})
	}
}
