package behaviour

import (
	"encoding/json"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// trig is a hesitation trigger on a step of flow f in a session at sec.
func trig(step, session string, sec float64) Trigger {
	return Trigger{Source: so.TriggerStruggle, Rule: so.RuleHesitation, JourneyID: "j1", Flow: "f", Step: step,
		SessionID: session, At: at(sec)}
}

// sent is a remembered intervention of a kind on a step of flow f.
func sent(id string, kind so.InterventionKind, step, session string, sec float64) Sent {
	return Sent{ID: id, Kind: kind, Flow: "f", Step: step, SessionID: session, At: at(sec)}
}

// TestAllow applies each cap and names it.
func TestAllow(t *testing.T) {
	t.Parallel()
	tip, guide := so.InterventionTip, so.InterventionGuide
	type outcome struct {
		id string
		o  so.InterventionOutcome
	}
	cases := map[string]struct {
		sent     []Sent
		outcomes []outcome
		t        Trigger
		kind     so.InterventionKind
		want     string // "" allowed
	}{
		"first":              {nil, nil, trig("a", "s1", 0), tip, ""},
		"third in a session": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", tip, "b", "s1", 100)}, nil, trig("c", "s1", 200), tip, ""},
		"fourth in a session": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", tip, "b", "s1", 100),
			{ID: "3", Kind: tip, Flow: "f", Step: "c", SessionID: "s1", At: at(150), HeldOut: true}}, nil, trig("d", "s1", 200), tip, CapPerSession},
		"another session": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", tip, "b", "s1", 100), sent("3", tip, "c", "s1", 150)},
			nil, trig("d", "s2", 200), tip, ""},
		"cooldown":                 {[]Sent{sent("1", tip, "a", "s1", 0)}, nil, trig("a", "s1", 59.999), guide, CapCooldown},
		"cooldown over":            {[]Sent{sent("1", tip, "a", "s1", 0)}, nil, trig("a", "s1", 60), guide, ""},
		"cooldown per step":        {[]Sent{sent("1", tip, "a", "s1", 0)}, nil, trig("b", "s1", 1), tip, ""},
		"cooldown across sessions": {[]Sent{sent("1", tip, "a", "s1", 0)}, nil, trig("a", "s2", 30), tip, CapCooldown},
		"dismissed kind": {[]Sent{sent("1", tip, "a", "s1", 0)}, []outcome{{"1", so.OutcomeDismissed}},
			trig("a", "s1", 100), tip, CapDismissed},
		"dismissed, another kind": {[]Sent{sent("1", tip, "a", "s1", 0)}, []outcome{{"1", so.OutcomeDismissed}},
			trig("a", "s1", 100), guide, ""},
		"dismissed, another step": {[]Sent{sent("1", tip, "a", "s1", 0)}, []outcome{{"1", so.OutcomeDismissed}},
			trig("b", "s1", 100), tip, ""},
		"dismissed, another session": {[]Sent{sent("1", tip, "a", "s1", 0)}, []outcome{{"1", so.OutcomeDismissed}},
			trig("a", "s2", 100), tip, ""},
		"two dismissals in a row": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", guide, "b", "s1", 100)},
			[]outcome{{"1", so.OutcomeDismissed}, {"2", so.OutcomeDismissed}}, trig("c", "s1", 200), guide, CapOverGuidance},
		"accepted resets the run": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", guide, "b", "s1", 100)},
			[]outcome{{"1", so.OutcomeDismissed}, {"2", so.OutcomeAccepted}, {"1", so.OutcomeDismissed}}, trig("c", "s1", 200), guide, ""},
		"one dismissal twice": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", guide, "b", "s1", 100)},
			[]outcome{{"1", so.OutcomeDismissed}, {"1", so.OutcomeDismissed}}, trig("c", "s1", 200), guide, ""},
		"closing accepted help": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", guide, "b", "s1", 100)},
			[]outcome{{"1", so.OutcomeDismissed}, {"2", so.OutcomeAccepted}, {"2", so.OutcomeDismissed}}, trig("c", "s1", 200), guide, ""},
		"dismissals in another session": {[]Sent{sent("1", tip, "a", "s1", 0), sent("2", guide, "b", "s1", 100)},
			[]outcome{{"1", so.OutcomeDismissed}, {"2", so.OutcomeDismissed}}, trig("c", "s2", 200), guide, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := &State{}
			for _, h := range c.sent {
				s.Record(h)
			}
			for _, o := range c.outcomes {
				s.ApplyOutcome(o.id, o.o)
			}
			ok, reason := s.Allow(c.t, c.kind, so.BehaviourDefaults)
			if ok != (c.want == "") || reason != c.want {
				t.Fatalf("Allow = %v, %q; want %q", ok, reason, c.want)
			}
		})
	}
}

// TestAllowNone holds everything back when a project allows no intervention.
func TestAllowNone(t *testing.T) {
	t.Parallel()
	cfg := so.BehaviourDefaults
	cfg.PerSession = 0
	if ok, reason := (&State{}).Allow(trig("a", "s1", 0), so.InterventionTip, cfg); ok || reason != CapPerSession {
		t.Fatalf("Allow = %v, %q", ok, reason)
	}
}

// TestRecord keeps one entry per id, and a bounded history per session.
func TestRecord(t *testing.T) {
	t.Parallel()
	s := &State{}
	s.Record(sent("1", so.InterventionTip, "a", "s1", 0))
	s.Record(sent("1", so.InterventionGuide, "a", "s1", 5))
	s.Record(sent("2", so.InterventionTip, "a", "s2", 10))
	if h := s.History("s1"); len(h) != 1 || h[0].Kind != so.InterventionTip {
		t.Fatalf("history %+v", h)
	}
	for i := range maxSent + 5 {
		s.Record(sent(itoa(int64(100+i)), so.InterventionTip, "a", "s3", float64(i)))
	}
	if len(s.Sent) != maxSent || len(s.History("s1")) != 0 || s.History("s3")[0].ID != "105" {
		t.Fatalf("kept %d, s1 %v, first s3 %v", len(s.Sent), s.History("s1"), s.History("s3")[0].ID)
	}
}

// TestOutcomeEvents applies outcomes sent as events and reports them.
func TestOutcomeEvents(t *testing.T) {
	t.Parallel()
	s := &State{}
	s.Record(sent("i1", so.InterventionTip, "a", "s1", 0))
	s.Record(sent("i2", so.InterventionGuide, "b", "s1", 0))
	cases := []struct {
		ev   *so.Event
		want *OutcomeEvent
	}{
		{e("o1", so.EventInterventionShown, 1, props(`{"intervention_id":"i1"}`)), &OutcomeEvent{"i1", so.OutcomeShown, at(1)}},
		{e("o2", so.EventInterventionDismiss, 2, props(`{"intervention_id":"i1"}`)), &OutcomeEvent{"i1", so.OutcomeDismissed, at(2)}},
		{e("o3", so.EventInterventionAccepted, 3, props(`{"intervention_id":"unknown"}`)), &OutcomeEvent{"unknown", so.OutcomeAccepted, at(3)}},
		{e("o4", so.EventInterventionDismiss, 4), nil},
		{e("o5", so.EventInterventionDismiss, 5, props(`{"intervention_id":"i2"}`)), &OutcomeEvent{"i2", so.OutcomeDismissed, at(5)}},
		{e("o6", so.EventClick, 6, props(`{"intervention_id":"i2"}`)), nil},
	}
	for i, c := range cases {
		got := s.Observe(c.ev, nil, so.BehaviourDefaults).Outcome
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(c.want)
		if string(a) != string(b) {
			t.Fatalf("event %d: outcome %s, want %s", i, a, b)
		}
	}
	if h := s.History("s1"); !h[0].Dismissed || !h[1].Dismissed {
		t.Fatalf("history %+v", h)
	}
	cfg := so.BehaviourDefaults
	cfg.PerSession = 10
	if ok, reason := s.Allow(trig("c", "s1", 500), so.InterventionTip, cfg); ok || reason != CapOverGuidance {
		t.Fatalf("Allow = %v, %q", ok, reason)
	}
}
