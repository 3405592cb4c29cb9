package behaviour

import (
	"regexp"
	"slices"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestStruggleRules fires each rule exactly at its default threshold, once
// per session, and again in a new session.
func TestStruggleRules(t *testing.T) {
	t.Parallel()
	s2 := in("s2")
	cases := map[string]struct {
		events []*so.Event
		want   []string // index:rule
	}{
		"hesitation at 5000 ms": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("h1", so.EventHesitation, 1, ms(4999)), e("h2", so.EventHesitation, 2, ms(5000)),
			e("h3", so.EventHesitation, 3, ms(9000)),
			e("v2", so.EventStepViewed, 100, on("a"), s2), e("h4", so.EventHesitation, 101, ms(6000), s2)},
			[]string{"2:hesitation", "5:hesitation"}},
		"hesitation without a duration is 5 s": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("h", so.EventHesitation, 1, props(`{}`))}, []string{"1:hesitation"}},
		"stuck at 15 s with a hesitation": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("h", so.EventHesitation, 1, ms(100)), e("c1", so.EventClick, 14.999), e("c2", so.EventClick, 15),
			e("c3", so.EventClick, 20),
			e("v2", so.EventStepViewed, 100, on("a"), s2), e("h2", so.EventHesitation, 101, ms(100), s2),
			e("x", so.EventCustom, 115, s2)},
			[]string{"3:stuck", "7:stuck"}},
		"stuck needs the third click": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("c1", so.EventClick, 1), e("c2", so.EventClick, 2), e("x", so.EventCustom, 20), e("c3", so.EventClick, 21)},
			[]string{"4:stuck"}},
		"no stuck at the session's end": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("h", so.EventHesitation, 1, ms(100)), e("end", so.EventSessionEnded, 20), e("x", so.EventCustom, 21)},
			[]string{"3:stuck"}},
		"no stuck without signals": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("x", so.EventCustom, 100)}, nil},
		"completion resets the step": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("x1", so.EventError, 1), e("x2", so.EventError, 2), e("d", so.EventStepCompleted, 3, on("a")),
			e("x3", so.EventError, 4, on("a"))}, nil},
		"third error": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("x1", so.EventError, 1), e("x2", so.EventError, 2), e("x3", so.EventError, 3), e("x4", so.EventError, 4),
			e("v2", so.EventStepViewed, 100, on("a"), s2), e("y1", so.EventError, 101, s2), e("y2", so.EventError, 102, s2),
			e("y3", so.EventError, 103, s2)},
			[]string{"3:repeated_errors", "8:repeated_errors"}},
		"second step back": {[]*so.Event{e("v", so.EventStepViewed, 0, on("b")),
			e("b1", so.EventStepBack, 1, on("a")), e("b2", so.EventStepBack, 2, on("a")), e("b3", so.EventStepBack, 3, on("a")),
			e("b4", so.EventStepBack, 100, on("a"), s2), e("b5", so.EventStepBack, 101, on("a"), s2)},
			[]string{"2:repeated_step_back", "5:repeated_step_back"}},
		"rage click": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("r1", so.EventRageClick, 1), e("r2", so.EventRageClick, 2),
			e("r3", so.EventRageClick, 100, s2)},
			[]string{"1:rage_click", "3:rage_click"}},
		"a step the journey lacks": {[]*so.Event{e("v", so.EventStepViewed, 0, on("zz")), e("r", so.EventRageClick, 1)}, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			obs, _ := observeAll(t, c.events, journeyF(), so.BehaviourDefaults, false)
			if got := fired(obs); !slices.Equal(got, c.want) {
				t.Fatalf("fired %v, want %v", got, c.want)
			}
		})
	}
}

// TestThresholdsFromSettings follows the project's thresholds, not the defaults.
func TestThresholdsFromSettings(t *testing.T) {
	t.Parallel()
	cfg := so.BehaviourDefaults
	cfg.HesitationSeconds, cfg.ErrorsPerStep, cfg.StepBacks, cfg.StuckSeconds, cfg.RepeatedClicks = 6, 1, 1, 30, 2
	events := []*so.Event{e("v", so.EventStepViewed, 0, on("a")),
		e("h", so.EventHesitation, 1), // no duration: 5 s < 6 s
		e("x", so.EventError, 2), e("b", so.EventStepBack, 3, on("a")),
		e("c", so.EventClick, 29.999), e("c2", so.EventClick, 30)}
	obs, _ := observeAll(t, events, journeyF(), cfg, false)
	want := []string{"2:repeated_errors", "3:repeated_step_back", "5:stuck"}
	if got := fired(obs); !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
}

// TestDetectionRecord fills a detection from the event, the journey and the rule.
func TestDetectionRecord(t *testing.T) {
	t.Parallel()
	events := []*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("h", so.EventHesitation, 1, ms(10)),
		e("c1", so.EventClick, 2), e("c2", so.EventClick, 16)}
	obs, _ := observeAll(t, events, journeyF(), so.BehaviourDefaults, false)
	if len(obs[3].Detections) != 1 || len(obs[3].Triggers) != 1 {
		t.Fatalf("got %+v", obs[3])
	}
	d, tr := obs[3].Detections[0], obs[3].Triggers[0]
	want := so.Detection{ID: DetectionID("p", "u", "f", "a", "s1", so.RuleStuck), ProjectID: "p", UserID: "u",
		JourneyID: "j1", Flow: "f", Step: "a", SessionID: "s1", Rule: so.RuleStuck,
		Evidence: []string{"v", "h", "c1", "c2"}, DetectedAt: at(16)}
	if d.ID != want.ID || d.JourneyID != want.JourneyID || d.Flow != "f" || d.Step != "a" || d.SessionID != "s1" ||
		d.Rule != want.Rule || !slices.Equal(d.Evidence, want.Evidence) || !d.DetectedAt.Equal(want.DetectedAt) ||
		d.ProjectID != "p" || d.UserID != "u" {
		t.Fatalf("got %+v, want %+v", *d, want)
	}
	if tr.Source != so.TriggerStruggle || tr.Rule != so.RuleStuck || tr.DetectionID != d.ID || tr.JourneyID != "j1" ||
		tr.Step != "a" || tr.SessionID != "s1" || !tr.At.Equal(at(16)) || tr.Score != nil {
		t.Fatalf("trigger %+v", tr)
	}
}

// TestEvidence keeps the ids that made each rule fire.
func TestEvidence(t *testing.T) {
	t.Parallel()
	events := []*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("x1", so.EventError, 1), e("x2", so.EventError, 2),
		e("x3", so.EventError, 3), e("b1", so.EventStepBack, 4, on("a")), e("b2", so.EventStepBack, 5, on("a"))}
	for i := range 12 {
		events = append(events, e("c"+string(rune('a'+i)), so.EventClick, 6))
	}
	events = append(events, e("late", so.EventCustom, 20))
	obs, _ := observeAll(t, events, journeyF(), so.BehaviourDefaults, false)
	got := map[so.StruggleRule][]string{}
	for _, o := range obs {
		for _, d := range o.Detections {
			got[d.Rule] = d.Evidence
		}
	}
	// stuck: the start, the last 10 clicks (ca, cb dropped), the event.
	stuck := []string{"v", "cc", "cd", "ce", "cf", "cg", "ch", "ci", "cj", "ck", "cl", "late"}
	if !slices.Equal(got[so.RuleErrors], []string{"x1", "x2", "x3"}) || !slices.Equal(got[so.RuleStepBack], []string{"b1", "b2"}) ||
		!slices.Equal(got[so.RuleStuck], stuck) {
		t.Fatalf("evidence %v", got)
	}
}

// TestDetectionID is a deterministic UUID that tells its parts apart.
func TestDetectionID(t *testing.T) {
	t.Parallel()
	shape := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := DetectionID("p", "u", "f", "a", "s1", so.RuleStuck)
	if !shape.MatchString(a) || a != DetectionID("p", "u", "f", "a", "s1", so.RuleStuck) {
		t.Fatalf("id %q", a)
	}
	for _, other := range []string{DetectionID("p", "u", "f", "a", "s1", so.RuleErrors), DetectionID("p", "u", "f", "a", "s2", so.RuleStuck),
		DetectionID("p", "u", "fa", "", "s1", so.RuleStuck), DetectionID("p", "v", "f", "a", "s1", so.RuleStuck)} {
		if other == a {
			t.Fatalf("%q collides", other)
		}
	}
}

// TestAttribution follows the current step for events without a flow.
func TestAttribution(t *testing.T) {
	t.Parallel()
	s, j := &State{}, journeyF()
	cases := []struct {
		ev   *so.Event
		flow string
	}{
		{e("c", so.EventClick, 0), ""},
		{e("v", so.EventStepViewed, 1, on("a")), "f"},
		{e("d", so.EventStepCompleted, 2, on("b")), "f"}, // another step: a stays current
		{e("d2", so.EventStepCompleted, 3, on("a")), ""},
		{e("b", so.EventStepBack, 4, on("a")), "f"},
		{e("s", so.EventStepSkipped, 5, on("a")), ""},
	}
	for i, c := range cases {
		s.Observe(c.ev, j, so.BehaviourDefaults)
		if s.CurrentFlow() != c.flow {
			t.Fatalf("event %d: current flow %q, want %q", i, s.CurrentFlow(), c.flow)
		}
	}
}

// TestSessionWithoutID continues the session, or starts one after so.SessionGap.
func TestSessionWithoutID(t *testing.T) {
	t.Parallel()
	none := in("")
	events := []*so.Event{e("v", so.EventStepViewed, 0, on("a"), none), e("r", so.EventRageClick, 10, none),
		e("v2", so.EventStepViewed, 1810, on("a"), none), e("r2", so.EventRageClick, 1811, none)}
	obs, _ := observeAll(t, events, journeyF(), so.BehaviourDefaults, false)
	first, second := "~"+itoa(at(0).UnixMilli()), "~"+itoa(at(1810).UnixMilli())
	if got := fired(obs); !slices.Equal(got, []string{"1:rage_click", "3:rage_click"}) ||
		obs[1].Detections[0].SessionID != first || obs[3].Detections[0].SessionID != second {
		t.Fatalf("fired %v in %+v and %+v", got, obs[1].Detections, obs[3].Detections)
	}
}
