package live_test

import (
	"fmt"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/live"
)

func TestCountersRollOff(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := &live.Counters{Now: func() time.Time { return now }}
	evs := []*so.Event{{ProjectID: "p", UserID: "a"}, {ProjectID: "p", UserID: "b"}, {ProjectID: "p", UserID: "a"}, {ProjectID: "q", UserID: "z"}}
	c.Observe(evs, &so.Outcome{Started: map[string]int{"p": 2}, Completed: map[string]int{"p": 1}})

	s := c.Snapshot("p")
	if s.ActiveUsers != 2 || s.EventsPerMinute != 3 || s.JourneysStartedPerMinute != 2 || s.JourneysCompletedPerMin != 1 || s.EventsTotal != 3 {
		t.Fatalf("snapshot = %+v", s)
	}
	if q := c.Snapshot("q"); q.EventsPerMinute != 1 || q.ActiveUsers != 1 {
		t.Fatalf("other project = %+v", q)
	}

	now = now.Add(61 * time.Second) // the minute window has passed, the 5-minute one has not
	s = c.Snapshot("p")
	if s.EventsPerMinute != 0 || s.JourneysStartedPerMinute != 0 || s.ActiveUsers != 2 || s.EventsTotal != 3 {
		t.Fatalf("after a minute = %+v", s)
	}
	now = now.Add(5 * time.Minute)
	if s = c.Snapshot("p"); s.ActiveUsers != 0 || s.JourneysStartedTotal != 2 {
		t.Fatalf("after six minutes = %+v", s)
	}
}

// TestActiveUsersEstimate: the sketches count many users within a percent or
// two, and a user's events count once.
func TestActiveUsersEstimate(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 30, 0, time.UTC)
	c := &live.Counters{Now: func() time.Time { return now }}
	const n = 100_000
	for i := range n {
		c.Observe([]*so.Event{{ProjectID: "p", UserID: fmt.Sprint("user-", i)}, {ProjectID: "p", UserID: fmt.Sprint("user-", i)}}, nil)
	}
	if got := c.Snapshot("p").ActiveUsers; got < n*98/100 || got > n*102/100 {
		t.Fatalf("active users = %d, want %d within 2%%", got, n)
	}
}

// TestActiveWindowSpansMinutes: users seen in different minutes of the
// window are counted once each, until the minute they were seen in leaves it.
func TestActiveWindowSpansMinutes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 59, 0, time.UTC)
	c := &live.Counters{Now: func() time.Time { return now }}
	see := func(users ...string) {
		for _, u := range users {
			c.Observe([]*so.Event{{ProjectID: "p", UserID: u}}, nil)
		}
	}
	see("a", "b")
	now = now.Add(2 * time.Minute)
	see("b", "c")
	if got := c.Snapshot("p").ActiveUsers; got != 3 {
		t.Fatalf("active users = %d, want 3", got)
	}
	now = now.Add(3*time.Minute + time.Second) // a and b's first minute leaves the window
	if got := c.Snapshot("p").ActiveUsers; got != 2 {
		t.Fatalf("after the first minute left the window: %d, want 2", got)
	}
}

// TestIdleProjectsForgotten: counters of a project without events for a
// while are dropped, so the map holds only projects active of late.
func TestIdleProjectsForgotten(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := &live.Counters{Now: func() time.Time { return now }}
	c.Observe([]*so.Event{{ProjectID: "idle", UserID: "a"}}, nil)
	c.JourneyStarted("busy")
	now = now.Add(5 * time.Minute)
	c.Observe([]*so.Event{{ProjectID: "busy", UserID: "b"}}, nil)
	if got := c.Projects(); len(got) != 2 {
		t.Fatalf("projects = %v, want both", got)
	}
	now = now.Add(3 * time.Minute)
	if got := c.Projects(); len(got) != 1 || got[0] != "busy" {
		t.Fatalf("projects = %v, want only busy", got)
	}
	if s := c.Snapshot("idle"); s.ActiveUsers != 0 || s.EventsTotal != 0 {
		t.Fatalf("a forgotten project reads %+v", s)
	}
	if got := c.Projects(); len(got) != 1 {
		t.Fatalf("Snapshot brought a forgotten project back: %v", got)
	}
}

// TestHistoricEventsAreNotLive: imported history (events that arrived over an
// hour after they happened) adds no events or active users; a slow clock's
// recent event does.
func TestHistoricEventsAreNotLive(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := &live.Counters{Now: func() time.Time { return now }}
	c.Observe([]*so.Event{
		{ProjectID: "p", UserID: "old", Timestamp: now.Add(-3 * 24 * time.Hour), ReceivedAt: now},
		{ProjectID: "p", UserID: "slow-clock", Timestamp: now.Add(-so.PastEvent + time.Second), ReceivedAt: now},
	}, nil)
	if s := c.Snapshot("p"); s.EventsPerMinute != 1 || s.ActiveUsers != 1 || s.EventsTotal != 1 {
		t.Fatalf("snapshot = %+v, want only the recent event", s)
	}
}
