package journey

import (
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// SeenPrecision is how exact an end user's last_seen_at is kept: an instance that
// wrote a user's sighting less than this long ago does not write it again, which
// spares one row write per user per transaction on the ingestion hot path.
const SeenPrecision = time.Minute

// seenCacheMax bounds the cache; when full it starts over, which only costs writes.
const seenCacheMax = 200_000

type userKey struct{ projectID, userID string }

// seenSpan is the range of sightings this instance has committed for a user.
type seenSpan struct{ first, last time.Time }

// seenCache remembers committed sightings. It is filled only after a commit, so a
// rolled-back transaction never makes it skip a user that was not stored. Erasing
// a user must call forget, or new events could skip recreating them for a minute.
type seenCache struct {
	mu sync.Mutex
	m  map[userKey]seenSpan
}

// covers tells whether a sighting adds nothing the store does not have to within
// SeenPrecision.
func (c *seenCache) covers(k userKey, t so.Sighting) bool {
	c.mu.Lock()
	s, ok := c.m[k]
	c.mu.Unlock()
	return ok && !t.First.Before(s.first) && t.Last.Sub(s.last) < SeenPrecision
}

// remember records committed sightings.
func (c *seenCache) remember(touched map[userKey]so.Sighting) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(touched) > seenCacheMax {
		c.m = make(map[userKey]seenSpan, len(touched))
	}
	for k, t := range touched {
		s, ok := c.m[k]
		if !ok {
			s = seenSpan{t.First, t.Last}
		}
		if t.First.Before(s.first) {
			s.first = t.First
		}
		if t.Last.After(s.last) {
			s.last = t.Last
		}
		c.m[k] = s
	}
}

// forget drops a user, for erasure.
func (c *seenCache) forget(projectID, userID string) {
	c.mu.Lock()
	delete(c.m, userKey{projectID, userID})
	c.mu.Unlock()
}
