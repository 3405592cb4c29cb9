// Package live keeps the rolling counters behind the admin real-time stream:
// active users, events per minute, journeys started and completed.
package live

import (
	"context"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"

	so "github.com/smartonboarding/smartonboard"
)

// Window is the span of the per-minute counters; ActiveWindow that of active users.
const (
	Window       = time.Minute
	ActiveWindow = 5 * time.Minute
)

// activeSlots is how many one-minute sketches of user ids the active count
// merges: the current minute and the ActiveWindow before it, so a user counts
// for at least ActiveWindow after their last event and at most a minute more.
const activeSlots = int(ActiveWindow/time.Minute) + 1

// forgetAfter is how long a project may go without events before its counters
// are forgotten: by then every windowed count has read zero for a minute, so
// the admin stream's last snapshot shows the project idle.
const forgetAfter = time.Duration(activeSlots)*time.Minute + Window

// Snapshot is one reading of a project's counters, as the stream sends it.
type Snapshot struct {
	At string `json:"at"`
	// ActiveUsers estimates the users with an event in the last 5 to 6
	// minutes (HyperLogLog: exact for a few hundred, within about 1% beyond).
	ActiveUsers              int   `json:"active_users"`
	EventsPerMinute          int   `json:"events_per_minute"`
	JourneysStartedPerMinute int   `json:"journeys_started_per_minute"`
	JourneysCompletedPerMin  int   `json:"journeys_completed_per_minute"`
	EventsTotal              int64 `json:"events_total"` // since this instance last found the project idle 7 minutes
	JourneysStartedTotal     int64 `json:"journeys_started_total"`
	JourneysCompletedTotal   int64 `json:"journeys_completed_total"`
}

// Counters is safe for concurrent use; the ingester feeds it after each commit.
// Its memory is bounded whatever user ids clients invent: a few sketches of
// at most 16 KiB each per project active in the last few minutes.
type Counters struct {
	Now func() time.Time

	mu       sync.Mutex
	projects map[string]*project
}

type project struct {
	active                        [activeSlots]slot
	events, started, completed    ring
	eventsT, startedT, completedT int64
	seen                          time.Time // last event or journey start, to forget idle projects
}

// slot holds a sketch of the user ids seen in one Unix minute.
type slot struct {
	minute int64
	users  *hyperloglog.Sketch
}

// saw counts a user in the current minute's sketch, starting it afresh when
// the slot last held an older minute.
func (p *project) saw(now time.Time, userID string) {
	minute := now.Unix() / 60
	s := &p.active[minute%int64(activeSlots)]
	if s.users == nil || s.minute != minute {
		s.minute, s.users = minute, hyperloglog.New14()
	}
	s.users.Insert([]byte(userID))
}

// activeUsers merges the sketches of the window's minutes into one estimate.
func (p *project) activeUsers(now time.Time) int {
	minute := now.Unix() / 60
	var merged hyperloglog.Sketch // adopts the first sketch merged into it
	for _, s := range p.active {
		if s.users != nil && s.minute <= minute && minute-s.minute < int64(activeSlots) {
			_ = merged.Merge(s.users) // every sketch has New14's precision: Merge cannot fail
		}
	}
	return int(merged.Estimate())
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

// project returns a project's counters, creating them (and forgetting idle
// projects', so the map holds only projects active of late) when it has none.
func (c *Counters) project(id string, now time.Time) *project {
	if c.projects == nil {
		c.projects = map[string]*project{}
	}
	p := c.projects[id]
	if p == nil {
		c.forgetIdle(now)
		p = &project{}
		c.projects[id] = p
	}
	p.seen = now
	return p
}

// forgetIdle drops the counters of projects idle for forgetAfter.
func (c *Counters) forgetIdle(now time.Time) {
	for id, p := range c.projects {
		if now.Sub(p.seen) > forgetAfter {
			delete(c.projects, id)
		}
	}
}

// Observe counts newly stored events and the journeys they started or
// completed; historic events (an import) are not live activity.
func (c *Counters) Observe(stored []*so.Event, outcome *so.Outcome) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range stored {
		if ev.Historic() {
			continue
		}
		p := c.project(ev.ProjectID, now)
		p.events.add(now, 1)
		p.eventsT++
		p.saw(now, ev.UserID)
	}
	if outcome == nil {
		return
	}
	for id, n := range outcome.Started {
		p := c.project(id, now)
		p.started.add(now, n)
		p.startedT += int64(n)
	}
	for id, n := range outcome.Completed {
		p := c.project(id, now)
		p.completed.add(now, n)
		p.completedT += int64(n)
	}
}

// JourneyStarted counts a journey started outside ingestion (the start API).
func (c *Counters) JourneyStarted(projectID string) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.project(projectID, now)
	p.started.add(now, 1)
	p.startedT++
}

// Snapshot reads a project's counters; a project without any (never active,
// or forgotten) reads as all zeros.
func (c *Counters) Snapshot(projectID string) Snapshot {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.projects[projectID]
	if p == nil {
		return Snapshot{At: so.FormatTime(now)}
	}
	return Snapshot{At: so.FormatTime(now), ActiveUsers: p.activeUsers(now), EventsPerMinute: p.events.sum(now),
		JourneysStartedPerMinute: p.started.sum(now), JourneysCompletedPerMin: p.completed.sum(now),
		EventsTotal: p.eventsT, JourneysStartedTotal: p.startedT, JourneysCompletedTotal: p.completedT}
}

// Projects lists the projects that have counters, first forgetting those idle
// for forgetAfter.
func (c *Counters) Projects() []string {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetIdle(now)
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
