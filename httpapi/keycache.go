package httpapi

import (
	"context"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// keyCacheTTL bounds how long a verified key is trusted without asking the store;
// it is also how long a key revoked on another instance may keep working here.
// With a stream's re-check every 3 s (stream.DefaultReauthorizeEvery), an open
// stream of a revoked key ends within the 5 seconds the API promises.
const keyCacheTTL = 2 * time.Second

// keyCacheMax bounds the cache; when full it is emptied rather than evicted
// entry by entry, which is simple and cheap at this size.
const keyCacheMax = 10000

// keyUseEvery is how often a key's last use is written at most.
const keyUseEvery = time.Minute

// keyCache remembers keys that authenticated recently, so the hot paths (events,
// streams) do not query the store on every request. Entries are keyed by the
// key's hash, never the key. It also gathers when keys were used, to be written
// at most once a minute per key by FlushKeyUse.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyEntry
	written map[string]time.Time // key id → last use handed to the store
	pending map[string]time.Time // key id → last use not yet written
}

type keyEntry struct {
	key     *so.APIKey
	expires time.Time
}

// authenticate returns the stored key a presented key matches, from the cache
// when it is fresh; expiry is checked on every call, cached or not.
func (c *keyCache) authenticate(ctx context.Context, store so.ProjectStore, presented string) (*so.APIKey, error) {
	hash, now := so.HashKey(presented), time.Now()
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		k, err := so.FindKey(ctx, store, presented)
		if err != nil {
			return nil, err
		}
		e = keyEntry{key: k, expires: now.Add(keyCacheTTL)}
		c.mu.Lock()
		if c.entries == nil || len(c.entries) >= keyCacheMax {
			c.entries = map[string]keyEntry{}
		}
		c.entries[hash] = e
		c.mu.Unlock()
	}
	if err := e.key.CheckUsable(now); err != nil {
		return nil, err
	}
	c.used(e.key.ID, now)
	return e.key, nil
}

// used notes a key's use when the last one written is a minute old or more.
func (c *keyCache) used(id string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if last, ok := c.written[id]; ok && now.Sub(last) < keyUseEvery {
		return
	}
	if c.written == nil || len(c.written) >= keyCacheMax {
		c.written = map[string]time.Time{}
	}
	if c.pending == nil {
		c.pending = map[string]time.Time{}
	}
	c.written[id], c.pending[id] = now, so.Truncate(now)
}

// takePending hands over the uses gathered since the last flush.
func (c *keyCache) takePending() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	c.pending = nil
	return p
}

// forgetAll drops every cached key, so a revocation applies on this instance
// at once.
func (c *keyCache) forgetAll() {
	c.mu.Lock()
	clear(c.entries)
	c.mu.Unlock()
}

// FlushKeyUse writes when keys were last used; a background job calls it, so
// requests never wait on that write.
func (s *Server) FlushKeyUse(ctx context.Context) (int, error) {
	used := s.keys.takePending()
	if len(used) == 0 {
		return 0, nil
	}
	if err := s.Projects.TouchAPIKeys(ctx, used); err != nil {
		s.keys.mu.Lock() // keep them for the next flush
		if s.keys.pending == nil {
			s.keys.pending = map[string]time.Time{}
		}
		for id, at := range used {
			if at.After(s.keys.pending[id]) {
				s.keys.pending[id] = at
			}
		}
		s.keys.mu.Unlock()
		return 0, err
	}
	return len(used), nil
}
