// Package live keeps the rolling counters behind the admin real-time stream:
// active users, events per minute, journeys started and completed.
package live

import (
	"context"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/journey"
)

// Window is the span of the per-minute counters; ActiveWindow that of active users.
const (
	Window       = time.Minute
	ActiveWindow = 5 * time.Minute
)

// Snapshot is one reading of a project's counters, as the stream sends it.
type Snapshot struct {
	At                       string `json:"at"`
	ActiveUsers              int    `json:"active_users"` // users with an event in the last 5 minutes
	EventsPerMinute          int    `json:"events_per_minute"`
	JourneysStartedPerMinute int    `json:"journeys_started_per_minute"`
	JourneysCompletedPerMin  int    `json:"journeys_completed_per_minute"`
	EventsTotal              int64  `json:"events_total"` // since this instance started
	JourneysStartedTotal     int64  `json:"journeys_started_total"`
	JourneysCompletedTotal   int64  `json:"journeys_completed_total"`
}

// Counters is safe for concurrent use; the ingester feeds it after each commit.
type Counters struct {
	Now func() time.Time

	mu       sync.Mutex
	projects map[string]*project
}

type project struct {
	users                         map[string]time.Time
	events, started, completed    ring
	eventsT, startedT, completedT int64
}

// ring counts per second over the last minute.
type ring struct {
	secs   [60]int64
	counts [60]int
}

func (r *ring) add(now time.Time, n int) {
	sec := now.Unix()
	i := sec % 60
	if r.secs[i] != sec {
		r.secs[i], r.counts[i] = sec, 0
	}
	r.counts[i] += n
}

func (r *ring) sum(now time.Time) int {
	total, sec := 0, now.Unix()
	for i := range r.secs {
		if sec-r.secs[i] < 60 {
			total += r.counts[i]
		}
	}
	return total
}

func (c *Counters) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Counters) project(id string) *project {
	if c.projects == nil {
		c.projects = map[string]*project{}
	}
	p := c.projects[id]
	if p == nil {
		p = &project{users: map[string]time.Time{}}
		c.projects[id] = p
	}
	return p
}

// Observe counts newly stored events and the journeys they started or completed.
func (c *Counters) Observe(stored []*so.Event, outcome *journey.Outcome) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range stored {
		p := c.project(ev.ProjectID)
		p.events.add(now, 1)
		p.eventsT++
		p.users[ev.UserID] = now
	}
	if outcome == nil {
		return
	}
	for id, n := range outcome.Started {
		p := c.project(id)
		p.started.add(now, n)
		p.startedT += int64(n)
	}
	for id, n := range outcome.Completed {
		p := c.project(id)
		p.completed.add(now, n)
		p.completedT += int64(n)
	}
}

// JourneyStarted counts a journey started outside ingestion (the start API).
func (c *Counters) JourneyStarted(projectID string) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.project(projectID)
	p.started.add(now, 1)
	p.startedT++
}

// Snapshot reads a project's counters and forgets users idle past ActiveWindow.
func (c *Counters) Snapshot(projectID string) Snapshot {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.project(projectID)
	for u, at := range p.users {
		if now.Sub(at) > ActiveWindow {
			delete(p.users, u)
		}
	}
	return Snapshot{At: so.FormatTime(now), ActiveUsers: len(p.users), EventsPerMinute: p.events.sum(now),
		JourneysStartedPerMinute: p.started.sum(now), JourneysCompletedPerMin: p.completed.sum(now),
		EventsTotal: p.eventsT, JourneysStartedTotal: p.startedT, JourneysCompletedTotal: p.completedT}
}

// Projects lists the projects that have counters.
func (c *Counters) Projects() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ids := make([]string, 0, len(c.projects))
	for id := range c.projects {
		ids = append(ids, id)
	}
	return ids
}

// Publisher sends a snapshot to a project's admin stream.
type Publisher func(projectID string, s Snapshot)

// Run publishes every project's snapshot every interval until ctx ends.
func (c *Counters) Run(ctx context.Context, every time.Duration, publish Publisher) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, id := range c.Projects() {
				publish(id, c.Snapshot(id))
			}
		}
	}
}
