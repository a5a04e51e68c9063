package faults

// The workloads: each client runs, op after op until told to stop, one of
//
//   register  GET, SET of a unique value, compare-and-set (WATCH k; GET k;
//             MULTI; SET k new; EXEC: succeeds iff k did not change since
//             the WATCH, so its effect is "if k == read then k = new")
//   counter   INCR
//   set       SADD of a unique element
//   list      RPUSH of a unique element
//
// on one of keysPerKind keys of each kind. Every op is one attempt (no
// client retries) with a deadline of opTimeout, and is recorded with its
// call and return times and its status:
//
//   ok    the reply came and was a success (or, for a read, a value)
//   fail  the op certainly had no effect (see definite)
//   info  unknown: a write whose request may have been executed
//
// Between ops a client waits 5-15 ms, and 50-150 ms after an error: load
// shaping, not synchronisation.

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	opTimeout   = time.Second
	keysPerKind = 3
)

// op is one operation of a history (one JSON line of history.jsonl).
type op struct {
	Client int    `json:"client"`
	Kind   string `json:"kind"` // register, counter, set, list
	Key    string `json:"key"`
	F      string `json:"f"`              // get, set, cas, incr, sadd, rpush; final reads: read
	Arg    string `json:"arg,omitempty"`  // value written; cas: the value read
	Arg2   string `json:"arg2,omitempty"` // cas: the new value
	Call   int64  `json:"call"`           // ns since the run's start
	Ret    int64  `json:"ret"`            // ns since the run's start
	Status string `json:"status"`         // ok, fail, info
	Out    string `json:"out,omitempty"`  // get: value ("" = nil); incr: reply; cas: ok / aborted
	Err    string `json:"err,omitempty"`
	Final  bool   `json:"final,omitempty"` // a final read
}

func kindKey(kind string, i int) string { return kind + ":" + strconv.Itoa(i) }

// definite reports whether a failed request certainly had no effect:
// the connection could not be made, the pool gave none, or the server
// refused the command before executing it. Anything else (timeouts, a
// connection closed after the request was written, an unknown error
// reply) leaves the outcome unknown.
func definite(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	msg := err.Error()
	for _, p := range []string{"READONLY", "MASTERDOWN", "LOADING", "NOREPLICAS", "EXECABORT",
		"CLUSTERDOWN", "MOVED", "ASK ", "TRYAGAIN", "NOAUTH", "WRONGTYPE", "ERR Can't connect",
		"redis: all sentinels", "redis: Watch requires"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

type recorder struct {
	t0 time.Time
	mu sync.Mutex
	h  []op
}

func (r *recorder) now() int64 { return int64(time.Since(r.t0)) }

func (r *recorder) add(o op) {
	r.mu.Lock()
	r.h = append(r.h, o)
	r.mu.Unlock()
}

func (r *recorder) ops() []op {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]op(nil), r.h...)
}

// worker runs ops on c until stop is closed.
func worker(id int, c redis.UniversalClient, rng *rand.Rand, rec *recorder, stop <-chan struct{}) {
	seq := 0
	for {
		select {
		case <-stop:
			return
		default:
		}
		seq++
		uniq := fmt.Sprintf("c%d-%d", id, seq)
		k := rng.Intn(keysPerKind)
		x := rng.Float64()
		var o op
		switch {
		case x < 0.45:
			key := kindKey("register", k)
			switch y := rng.Float64(); {
			case y < 0.4:
				o = doGet(c, rec, id, key)
			case y < 0.7:
				o = doSet(c, rec, id, key, uniq)
			default:
				o = doCAS(c, rec, id, key, uniq)
			}
		case x < 0.6:
			o = doWrite(c, rec, id, "counter", kindKey("counter", k), "incr", "")
		case x < 0.8:
			o = doWrite(c, rec, id, "set", kindKey("set", k), "sadd", uniq)
		default:
			o = doWrite(c, rec, id, "list", kindKey("list", k), "rpush", uniq)
		}
		rec.add(o)
		pause := 5 + rng.Intn(11)
		if o.Status != "ok" {
			pause = 50 + rng.Intn(101)
		}
		select {
		case <-stop:
			return
		case <-time.After(time.Duration(pause) * time.Millisecond):
		}
	}
}

func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func failed(o op, err error, write bool) op {
	o.Err = err.Error()
	if !write || definite(err) {
		o.Status = "fail"
	} else {
		o.Status = "info"
	}
	return o
}

func doGet(c redis.UniversalClient, rec *recorder, id int, key string) op {
	o := op{Client: id, Kind: "register", Key: key, F: "get", Call: rec.now()}
	ctx, cancel := opCtx()
	defer cancel()
	v, err := c.Get(ctx, key).Result()
	o.Ret = rec.now()
	if err == redis.Nil {
		v, err = "", nil
	}
	if err != nil {
		return failed(o, err, false)
	}
	o.Status, o.Out = "ok", v
	return o
}

func doSet(c redis.UniversalClient, rec *recorder, id int, key, val string) op {
	o := op{Client: id, Kind: "register", Key: key, F: "set", Arg: val, Call: rec.now()}
	ctx, cancel := opCtx()
	defer cancel()
	err := c.Set(ctx, key, val, 0).Err()
	o.Ret = rec.now()
	if err != nil {
		return failed(o, err, true)
	}
	o.Status = "ok"
	return o
}

// doCAS: WATCH key; GET key -> v; MULTI; SET key new; EXEC. An error
// before EXEC was sent is a failure without effect (the read, if any, is
// not used); an error after is unknown; EXEC's nil reply is "aborted" (no
// effect).
func doCAS(c redis.UniversalClient, rec *recorder, id int, key, val string) op {
	o := op{Client: id, Kind: "register", Key: key, F: "cas", Arg2: val, Call: rec.now()}
	ctx, cancel := opCtx()
	defer cancel()
	execSent := false
	err := c.Watch(ctx, func(tx *redis.Tx) error {
		v, err := tx.Get(ctx, key).Result()
		if err == redis.Nil {
			v, err = "", nil
		}
		if err != nil {
			return err
		}
		o.Arg = v
		execSent = true
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, val, 0)
			return nil
		})
		return err
	}, key)
	o.Ret = rec.now()
	switch {
	case err == nil && !execSent:
		// go-redis v9's ClusterClient.Watch returns nil when its last
		// attempt got MOVED (it re-points the node and leaves the loop
		// with the nil error of that lookup): nothing ran.
		o.Err, o.Status = "Watch returned without running the transaction (MOVED on the last attempt)", "fail"
	case err == nil:
		o.Status, o.Out = "ok", "ok"
	case errors.Is(err, redis.TxFailedErr):
		o.Status, o.Out = "ok", "aborted"
	case !execSent:
		o.Err, o.Status = err.Error(), "fail"
	default:
		o = failed(o, err, true)
	}
	return o
}

// doWrite runs INCR, SADD or RPUSH.
func doWrite(c redis.UniversalClient, rec *recorder, id int, kind, key, f, val string) op {
	o := op{Client: id, Kind: kind, Key: key, F: f, Arg: val, Call: rec.now()}
	ctx, cancel := opCtx()
	defer cancel()
	var n int64
	var err error
	switch f {
	case "incr":
		n, err = c.Incr(ctx, key).Result()
	case "sadd":
		n, err = c.SAdd(ctx, key, val).Result()
	case "rpush":
		n, err = c.RPush(ctx, key, val).Result()
	}
	o.Ret = rec.now()
	if err != nil {
		return failed(o, err, true)
	}
	o.Status, o.Out = "ok", strconv.FormatInt(n, 10)
	return o
}

// finalReads reads every key once, after healing and settling, with
// retries until deadline; the register reads join the history (client
// id nClients). It returns the values by key: register and counter as a
// one-element slice ("" = nil), set and list elements.
func finalReads(c redis.UniversalClient, rec *recorder, client int, deadline time.Time) (map[string][]string, error) {
	out := map[string][]string{}
	for _, kind := range []string{"register", "counter", "set", "list"} {
		for i := 0; i < keysPerKind; i++ {
			key := kindKey(kind, i)
			var lastErr error
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				call := rec.now()
				var vals []string
				var err error
				switch kind {
				case "register", "counter":
					var v string
					v, err = c.Get(ctx, key).Result()
					if err == redis.Nil {
						v, err = "", nil
					}
					vals = []string{v}
				case "set":
					vals, err = c.SMembers(ctx, key).Result()
				case "list":
					vals, err = c.LRange(ctx, key, 0, -1).Result()
				}
				ret := rec.now()
				cancel()
				if err == nil {
					out[key] = vals
					if kind == "register" {
						rec.add(op{Client: client, Kind: kind, Key: key, F: "get", Call: call, Ret: ret, Status: "ok", Out: vals[0], Final: true})
					}
					break
				}
				lastErr = err
				if time.Now().After(deadline) {
					return out, fmt.Errorf("final read of %s: %v", key, lastErr)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	return out, nil
}
