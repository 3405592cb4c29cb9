package analytics_test

import (
	"reflect"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
)

// The journeys of the engagement and struggle tests, all of flow setup
// (steps profile, invite) but j4 (flow other):
//
//	j1 on invite, score 85 (high): struggled on profile (hesitation, rage_click)
//	j2 on invite, score 39.9 (low): struggled on invite (hesitation)
//	j3 on profile, score 40 (medium): struggled on profile (hesitation)
//	j4 other, on step x, score 5 (low): struggled on x (repeated_errors)
//	j5 on profile, never scored
func behaviourFacts() []*so.JourneyFact {
	bucket := func(b int) *int { return &b }
	reached := func(key string, rules ...string) so.StepFact {
		return so.StepFact{Key: key, Reached: true, Started: true, Struggled: len(rules) > 0, Rules: rules}
	}
	fact := func(id, flow, step string, b *int, steps ...so.StepFact) *so.JourneyFact {
		return &so.JourneyFact{ProjectID: "p", JourneyID: id, Flow: flow, Version: 1, StartHour: hour,
			Status: so.JourneyActive, Step: step, EngagementBucket: b, Steps: steps}
	}
	return []*so.JourneyFact{
		fact("j1", "setup", "invite", bucket(8), reached("profile", "hesitation", "rage_click"), reached("invite")),
		fact("j2", "setup", "invite", bucket(3), reached("profile"), reached("invite", "hesitation")),
		fact("j3", "setup", "profile", bucket(4), reached("profile", "hesitation"), so.StepFact{Key: "invite"}),
		fact("j4", "other", "x", bucket(0), reached("x", "repeated_errors")),
		fact("j5", "setup", "profile", nil, reached("profile"), so.StepFact{Key: "invite"}),
	}
}

// behaviourWindow is the tally of behaviourFacts as a report reads it: stored and loaded back.
func behaviourWindow(t *testing.T) *analytics.Tally {
	t.Helper()
	tl := analytics.NewTally()
	for _, f := range behaviourFacts() {
		tl.Replace(nil, f)
	}
	return stored(t, tl)
}

func TestEngagementReport(t *testing.T) {
	t.Parallel()
	q := so.RollupQuery{ProjectID: "p", From: hour, To: hour.Add(time.Hour), Flow: "setup"}
	r := analytics.EngagementOf(q, behaviourWindow(t), []string{"profile", "invite"})
	// Scored journeys of setup: j1 (8), j2 (3), j3 (4): one low, one medium, one high.
	if r.Journeys != 3 || r.Levels != (analytics.Levels{Low: 1, Medium: 1, High: 1}) {
		t.Fatalf("overall = %d journeys, levels %+v; want 3, one each", r.Journeys, r.Levels)
	}
	counts := func(b []analytics.ScoreBucket) []int64 {
		var out []int64
		for _, x := range b {
			out = append(out, x.Journeys)
		}
		return out
	}
	if got, want := counts(r.Buckets), []int64{0, 0, 0, 1, 1, 0, 0, 0, 1, 0}; !reflect.DeepEqual(got, want) {
		t.Errorf("buckets = %v, want %v", got, want)
	}
	if len(r.Steps) != 2 || r.Steps[0].Key != "profile" || r.Steps[0].Journeys != 1 || r.Steps[0].Levels.Medium != 1 ||
		r.Steps[1].Key != "invite" || r.Steps[1].Journeys != 2 || r.Steps[1].Levels != (analytics.Levels{Low: 1, High: 1}) {
		t.Errorf("by step = %+v; want profile: j3 (medium), invite: j1 (high), j2 (low)", r.Steps)
	}
	if r.Buckets[9].From != 90 || r.Buckets[9].To != 100 {
		t.Errorf("last bucket = %+v", r.Buckets[9])
	}
	all := analytics.EngagementOf(so.RollupQuery{ProjectID: "p", From: hour, To: hour.Add(time.Hour)}, behaviourWindow(t), nil)
	if all.Journeys != 4 || all.Levels.Low != 2 || len(all.Steps) != 0 {
		t.Errorf("every flow = %d journeys, %+v, %d steps; want 4 (j4 adds a low), no steps", all.Journeys, all.Levels, len(all.Steps))
	}
	if rows := r.Table(); len(rows) != 4 || rows[1][0] != "(all)" || rows[2][0] != "profile" || len(rows[0]) != 15 {
		t.Errorf("table = %q", rows)
	}
}

func TestStruggleReport(t *testing.T) {
	t.Parallel()
	q := so.RollupQuery{ProjectID: "p", From: hour, To: hour.Add(time.Hour)}
	r := analytics.StruggleOf(q, behaviourWindow(t))
	if r.JourneysStarted != 5 {
		t.Errorf("journeys started = %d, want 5", r.JourneysStarted)
	}
	// profile: reached by j1, j2, j3, j5; hesitation j1, j3; rage_click j1.
	// invite: reached by j1, j2; hesitation j2. x: reached by j4; repeated_errors j4.
	want := []analytics.HotSpot{
		{Flow: "setup", Step: "profile", Rule: "hesitation", Journeys: 2, ShareOfReached: ptr(0.5)},
		{Flow: "other", Step: "x", Rule: "repeated_errors", Journeys: 1, ShareOfReached: ptr(1)},
		{Flow: "setup", Step: "invite", Rule: "hesitation", Journeys: 1, ShareOfReached: ptr(0.5)},
		{Flow: "setup", Step: "profile", Rule: "rage_click", Journeys: 1, ShareOfReached: ptr(0.25)},
	}
	if !reflect.DeepEqual(r.HotSpots, want) {
		t.Errorf("hot spots =\n%+v\nwant\n%+v", r.HotSpots, want)
	}
	if len(r.Steps) != 3 || r.Steps[0].Step != "profile" || r.Steps[0].Struggled != 2 || *r.Steps[0].StruggleRate != 0.5 {
		t.Errorf("steps = %+v; profile first, 2 of 4", r.Steps)
	}
	one := analytics.StruggleOf(so.RollupQuery{ProjectID: "p", From: hour, To: hour.Add(time.Hour), Flow: "other"}, behaviourWindow(t))
	if len(one.HotSpots) != 1 || one.HotSpots[0].Step != "x" || one.JourneysStarted != 1 {
		t.Errorf("flow other = %+v", one)
	}
	if rows := r.Table(); len(rows) != 5 || rows[1][2] != "hesitation" {
		t.Errorf("table = %q", rows)
	}
}

func TestReplaceMovesEngagementAndRules(t *testing.T) {
	t.Parallel()
	f := behaviourFacts()[0]
	moved := *f
	b := 2
	moved.Step, moved.EngagementBucket = "profile", &b
	moved.Steps = []so.StepFact{{Key: "profile", Reached: true, Started: true}, {Key: "invite", Reached: true}}
	tl := analytics.NewTally()
	tl.Replace(nil, f)
	tl.Replace(f, &moved)
	q := so.RollupQuery{ProjectID: "p", From: hour, To: hour.Add(time.Hour), Flow: "setup"}
	w := stored(t, tl)
	if e := analytics.EngagementOf(q, w, []string{"profile", "invite"}); e.Journeys != 1 || e.Steps[0].Journeys != 1 || e.Steps[1].Journeys != 0 || e.Levels.Low != 1 {
		t.Errorf("after the move: %+v", e)
	}
	if s := analytics.StruggleOf(q, w); len(s.HotSpots) != 0 {
		t.Errorf("rules left behind: %+v", s.HotSpots)
	}
}

func TestCounterRoundTrip(t *testing.T) {
	t.Parallel()
	c := analytics.Counter{}
	c.Add("b", 2)
	c.Add("a", 1)
	c.Add("z", 1)
	c.Add("z", -1)
	got, err := analytics.DecodeCounter(c.Encode())
	if err != nil || !reflect.DeepEqual(got, analytics.Counter{"a": 1, "b": 2}) {
		t.Fatalf("round trip = %v, %v", got, err)
	}
	if empty := (analytics.Counter{}); empty.Encode() != nil {
		t.Error("an empty counter encodes as bytes")
	}
	for _, bad := range [][]byte{{9}, {1, 5}, {1, 1, 3, 'a'}, append(c.Encode(), 0)} {
		if _, err := analytics.DecodeCounter(bad); err == nil {
			t.Errorf("decoded corrupt %v", bad)
		}
	}
}

func ptr(v float64) *float64 { return &v }
