package journey

import (
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// seenCacheMax bounds the cache; when full it starts over, which only costs writes.
const seenCacheMax = 200_000

// seenSpan is the range of sightings this instance has committed for a user.
type seenSpan struct{ first, last time.Time }

// seenCache remembers committed sightings. It is filled only after a commit, so a
// rolled-back transaction never makes it skip a user that was not stored. Erasing
// a user must call forget, or new events could skip recreating them for a minute.
type seenCache struct {
	mu sync.Mutex
	m  map[so.UserRef]seenSpan
}

// covers tells whether a sighting adds nothing the store does not have to within
// so.SeenPrecision.
func (c *seenCache) covers(k so.UserRef, t so.Sighting) bool {
	c.mu.Lock()
	s, ok := c.m[k]
	c.mu.Unlock()
	return ok && !t.First.Before(s.first) && t.Last.Sub(s.last) < so.SeenPrecision
}

// remember records committed sightings.
func (c *seenCache) remember(touched map[so.UserRef]so.Sighting) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(touched) > seenCacheMax {
		c.m = make(map[so.UserRef]seenSpan, len(touched))
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
	delete(c.m, so.UserRef{ProjectID: projectID, UserID: userID})
	c.mu.Unlock()
}
