package httpapi

import (
	"context"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// keyCacheTTL bounds how long a verified key is trusted without asking the store;
// it is also how long a revoked key may keep working on an instance.
const keyCacheTTL = 30 * time.Second

// keyCacheMax bounds the cache; when full it is emptied rather than evicted
// entry by entry, which is simple and cheap at this size.
const keyCacheMax = 10000

// keyCache remembers keys that authenticated recently, so the hot paths (events,
// streams) do not query the store on every request. Entries are keyed by the
// key's hash, never the key.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyEntry
}

type keyEntry struct {
	key     *so.APIKey
	expires time.Time
}

// authenticate returns the stored key a presented key matches, from the cache
// when it is fresh.
func (c *keyCache) authenticate(ctx context.Context, store so.ProjectStore, presented string) (*so.APIKey, error) {
	hash, now := so.HashKey(presented), time.Now()
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}
	k, err := so.Authenticate(ctx, store, presented)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= keyCacheMax {
		c.entries = map[string]keyEntry{}
	}
	c.entries[hash] = keyEntry{key: k, expires: now.Add(keyCacheTTL)}
	c.mu.Unlock()
	return k, nil
}
