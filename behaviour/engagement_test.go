package behaviour

import (
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// TestEngagementFormula checks the score after hand-worked sequences, so the
// documented formula and the code cannot drift apart.
func TestEngagementFormula(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		events           []*so.Event
		journey, session float64
		level            string
	}{
		// E=4 (all at 0 s, no decay), R=1: 50 + 20·4/20 − 8·1 = 46.
		"same instant": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c1", so.EventClick, 0),
			e("c2", so.EventClick, 0), e("x", so.EventError, 0)}, 46, 46, so.EngagementMedium},
		// At 300 s: E = 1·2^(−300/300) + 1 = 1.5 → 20·1.5/20 = 1.5; the 300 s gap is idle, I = 1 → −6;
		// V = min(1, 60/300) = 0.2 → 20·0.2 = 4. 50 + 1.5 + 4 − 6 = 49.5.
		"slow completion after a gap": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")),
			e("d", so.EventStepCompleted, 300, on("a"))}, 49.5, 49.5, so.EngagementMedium},
		// A gap of exactly 60 s is not idle: E = 2^(−60/300) + 1 = 0.8705505633 + 1 → 50 + 1.8705505633.
		"sixty seconds is no gap": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventClick, 60)},
			51.8705505633, 51.8705505633, so.EngagementMedium},
		// At 600 s: E = 2^(−2) = 0.25 → +0.25; the idle event I = 1 → −6 (its gap is not counted twice):
		// raw 44.25; last activity 600 s = 10 min ago → ·2^(−1) = 22.125.
		"idle decays the score": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("i", so.EventIdle, 600)},
			22.125, 22.125, so.EngagementLow},
		// At 300 s: E = view 2^(−1) + click 1 = 1.5; I = idle at 30 s, 2^(−270/300) = 0.5358867313;
		// the 270 s gap after an idle event is not idle again. 50 + 1.5 − 6·0.5358867313 = 48.2846796122.
		"no gap after an idle event": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("i", so.EventIdle, 30),
			e("c", so.EventClick, 300)}, 48.2846796122, 48.2846796122, so.EngagementMedium},
		// E=5 → +5, H=1 → +5, S=1 → −5, Q=1 → −10, B=1 → −6: 50 + 5 + 5 − 5 − 10 − 6 = 39.
		"help, hesitation, rage, back": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("h", so.EventHelpOpened, 0),
			e("s", so.EventHesitation, 0, ms(100)), e("r", so.EventRageClick, 0), e("b", so.EventStepBack, 0, on("a"))},
			39, 39, so.EngagementLow},
		// E=9, R=8: 50 + 9 − 64 = −5 → clamped to 0.
		"clamped at zero": {append([]*so.Event{e("v", so.EventStepViewed, 0, on("a"))}, repeat(so.EventError, 8, 0)...),
			0, 0, so.EngagementLow},
		// At 30 s: E = 26·2^(−0.1) + 2 = 26.258 ≥ 20 → +20; V = 1 (30 s ≤ 60 s estimate) → +20; H = 1 → +5: 95.
		"fast and active": {append(append([]*so.Event{e("v", so.EventStepViewed, 0, on("a"))}, repeat(so.EventClick, 25, 0)...),
			e("d", so.EventStepCompleted, 30, on("a")), e("h", so.EventHelpOpened, 30)), 95, 95, so.EngagementHigh},
		// The click at 0 s arrives after the view at 300 s: the clock stays at 300 s and it weighs 2^(−1):
		// E = 1 + 0.5 → 50 + 1.5 = 51.5, and no gap is counted.
		"late event": {[]*so.Event{e("v", so.EventStepViewed, 300, on("a")), e("c", so.EventClick, 0)},
			51.5, 51.5, so.EngagementMedium},
		// The journey's E = 2·2^(−60/300) + 1 = 2.7411011266 → 52.7411011266; session s2 starts afresh, E=1 → 51.
		"new session": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventClick, 0),
			e("v2", so.EventStepViewed, 60, on("a"), in("s2"))}, 52.7411011266, 51, so.EngagementMedium},
		// Two tabs: the journey sees E=3 → 53; session s1 keeps its own E=2 → 52.
		"interleaved sessions": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventClick, 0, in("s2")),
			e("c2", so.EventClick, 0)}, 53, 52, so.EngagementMedium},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			obs, _ := observeAll(t, c.events, journeyF(), so.BehaviourDefaults, false)
			got := obs[len(obs)-1].Engagement
			if got == nil || !near(got.Journey, c.journey) || !near(got.Session, c.session) || got.Level != c.level {
				t.Fatalf("got %+v, want journey %v session %v level %s", got, c.journey, c.session, c.level)
			}
		})
	}
}

// repeat builds n flowless events of a type at one instant.
func repeat(typ so.EventType, n int, sec float64) []*so.Event {
	out := make([]*so.Event, n)
	for i := range out {
		out[i] = e(string(typ)+string(rune('a'+i)), typ, sec)
	}
	return out
}

// TestEngagementTwoJourneys keeps journeys apart while the session sees both.
func TestEngagementTwoJourneys(t *testing.T) {
	t.Parallel()
	s, j1, j2 := &State{}, journeyF(), &Journey{ID: "j2", Flow: "g", Steps: []StepInfo{{Key: "x"}}}
	s.Observe(e("v", so.EventStepViewed, 0, on("a")), j1, so.BehaviourDefaults)
	s.Observe(e("x", so.EventError, 0), j1, so.BehaviourDefaults)
	got := s.Observe(e("w", so.EventStepViewed, 0, func(ev *so.Event) { ev.Flow, ev.Step = "g", "x" }), j2, so.BehaviourDefaults)
	// j2: E=1 → 51. Session: E=3, R=1 → 50 + 3 − 8 = 45.
	if sc := got.Engagement; sc.JourneyID != "j2" || !near(sc.Journey, 51) || !near(sc.Session, 45) || sc.SessionID != "s1" {
		t.Fatalf("got %+v", sc)
	}
	if s.CurrentFlow() != "g" {
		t.Fatalf("current flow %q, want g", s.CurrentFlow())
	}
	if none := s.Observe(e("c", so.EventClick, 0), nil, so.BehaviourDefaults); none.Engagement != nil {
		t.Fatalf("an event without a journey scored %+v", none.Engagement)
	}
}

// TestEngagementAt decays a stored score to read time.
func TestEngagementAt(t *testing.T) {
	t.Parallel()
	_, s := observeAll(t, []*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("i", so.EventIdle, 600)},
		journeyF(), so.BehaviourDefaults, true)
	cases := []struct {
		now  float64
		want float64
	}{
		{600, 22.125}, // as at the idle event
		{300, 22.125}, // read time before the clock does not run it back
		// 600 s on: E = 0.25·2^(−2) = 0.0625, I = 2^(−2) = 0.25: 50 + 0.0625 − 1.5 = 48.5625;
		// last activity 20 min ago → ·2^(−2) = 12.140625.
		{1200, 12.140625},
	}
	for _, c := range cases {
		if got, ok := s.EngagementAt("j1", at(c.now)); !ok || !near(got, c.want) {
			t.Errorf("at %v s: %v, %v; want %v", c.now, got, ok, c.want)
		}
	}
	if _, ok := s.EngagementAt("nope", at(0)); ok {
		t.Error("an unknown journey has a score")
	}
}

// TestMoved reports only scores that moved a point or changed level.
func TestMoved(t *testing.T) {
	t.Parallel()
	// The clock stays at 900 s; events at 0 s weigh 2^(−3) = 1/8.
	steps := []struct {
		ev    *so.Event
		score float64
		moved bool
	}{
		{e("v", so.EventStepViewed, 900, on("a")), 51, true}, // first: E=1
		{e("x", so.EventError, 900), 44, true},               // E=2, R=1: 50+2−8
		{e("h", so.EventHesitation, 900, ms(0)), 40, true},   // E=3, S=1: 50+3−8−5
		{e("x2", so.EventError, 0), 39.125, true},            // E=3.125, R=1.125: level low, 0.875 down
		{e("c1", so.EventClick, 0), 39.25, false},            // +1/8
		{e("c2", so.EventClick, 900), 40.25, true},           // +1, medium again
		{e("c3", so.EventClick, 0), 40.375, false},           // +1/8 from 40.25
		{e("c4", so.EventClick, 0), 40.5, false},             // +1/4 from 40.25
		{e("c5", so.EventClick, 900), 41.5, true},            // +1.25 from 40.25
	}
	s := &State{}
	for i, st := range steps {
		got := s.Observe(st.ev, journeyF(), so.BehaviourDefaults).Engagement
		if !near(got.Journey, st.score) || got.Moved != st.moved {
			t.Fatalf("step %d: got %v moved %v, want %v moved %v", i, got.Journey, got.Moved, st.score, st.moved)
		}
	}
}
