package live_test

import (
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/journey"
	"github.com/smartonboarding/smartonboard/live"
)

func TestCountersRollOff(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	c := &live.Counters{Now: func() time.Time { return now }}
	evs := []*so.Event{{ProjectID: "p", UserID: "a"}, {ProjectID: "p", UserID: "b"}, {ProjectID: "p", UserID: "a"}, {ProjectID: "q", UserID: "z"}}
	c.Observe(evs, &journey.Outcome{Started: map[string]int{"p": 2}, Completed: map[string]int{"p": 1}})

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
