package ops

import (
	"context"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// remote asks other nodes for their INFO replication (offsets, lag, link
// state), with short timeouts and a one-second cache per address, so a
// page polled by several browsers sends each node at most one query a
// second and a dead node costs one bounded wait.
type remote struct {
	pass    string
	mu      sync.Mutex
	clients map[string]*redis.Client
	cache   map[string]remoteInfo
}

type remoteInfo struct {
	at   time.Time
	info info
	err  string
}

const remoteTimeout = 300 * time.Millisecond

func newRemote(pass string) *remote {
	return &remote{pass: pass, clients: map[string]*redis.Client{}, cache: map[string]remoteInfo{}}
}

func (r *remote) client(addr string) *redis.Client {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.clients[addr]
	if c == nil {
		c = redis.NewClient(&redis.Options{Addr: addr, Password: r.pass, DialTimeout: remoteTimeout,
			ReadTimeout: remoteTimeout, WriteTimeout: remoteTimeout, MaxRetries: -1, PoolSize: 2,
			Protocol: 2, DisableIdentity: true})
		r.clients[addr] = c
	}
	return c
}

// infos fetches INFO replication of every address in parallel (cached
// for a second); missing entries carry the error.
func (r *remote) infos(ctx context.Context, addrs []string) map[string]remoteInfo {
	out := make(map[string]remoteInfo, len(addrs))
	var wg sync.WaitGroup
	var mu sync.Mutex
	now := time.Now()
	for _, a := range addrs {
		r.mu.Lock()
		c, ok := r.cache[a]
		r.mu.Unlock()
		if ok && now.Sub(c.at) < time.Second {
			out[a] = c
			continue
		}
		wg.Add(1)
		go func(a string) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 2*remoteTimeout)
			defer cancel()
			txt, err := r.client(a).Info(cctx, "replication").Result()
			ri := remoteInfo{at: time.Now()}
			if err != nil {
				ri.err = err.Error()
			} else {
				ri.info = parseInfo(txt)
			}
			r.mu.Lock()
			r.cache[a] = ri
			r.mu.Unlock()
			mu.Lock()
			out[a] = ri
			mu.Unlock()
		}(a)
	}
	wg.Wait()
	return out
}
