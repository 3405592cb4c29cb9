package journey

import (
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

func TestSeenCache(t *testing.T) {
	t.Parallel()
	var c seenCache
	k := so.UserRef{ProjectID: "p", UserID: "u"}
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(ts time.Time) so.Sighting { return so.Sighting{First: ts, Last: ts} }
	if c.covers(k, at(t0)) {
		t.Fatal("an unknown user is covered")
	}
	c.remember(map[so.UserRef]so.Sighting{k: {First: t0, Last: t0}})
	for _, c2 := range []struct {
		at   time.Time
		want bool
	}{
		{t0, true},
		{t0.Add(59 * time.Second), true},
		{t0.Add(so.SeenPrecision), false}, // a minute newer: write it
		{t0.Add(-time.Second), false},     // older than the first sighting: write it
	} {
		if got := c.covers(k, at(c2.at)); got != c2.want {
			t.Errorf("covers(%s) = %v, want %v", c2.at.Sub(t0), got, c2.want)
		}
	}
	c.remember(map[so.UserRef]so.Sighting{k: {First: t0.Add(-time.Hour), Last: t0.Add(-time.Hour)}})
	if !c.covers(k, at(t0.Add(-30*time.Minute))) {
		t.Fatal("the span did not grow back to the older sighting")
	}
	if c.covers(k, so.Sighting{First: t0.Add(-2 * time.Hour), Last: t0}) {
		t.Fatal("a span that starts before the stored one is covered")
	}
	if c.covers(k, so.Sighting{First: t0, Last: t0.Add(so.SeenPrecision)}) {
		t.Fatal("a span that ends a minute after the stored one is covered")
	}
	c.forget("p", "u")
	if c.covers(k, at(t0)) {
		t.Fatal("a forgotten user is covered")
	}
}
