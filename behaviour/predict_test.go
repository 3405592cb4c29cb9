package behaviour

import (
	"slices"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// TestLowSuccess evaluates the predictor once per step and session, after
// max(EstimatedSeconds, 30) s on the step.
func TestLowSuccess(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		events    []*so.Event
		completed int
		threshold float64
		want      []int // indexes of events with a low-success trigger
	}{
		"not before the estimate": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventCustom, 59.999)}, 0, 0.7, nil},
		"at the estimate, once": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventCustom, 60),
			e("c2", so.EventCustom, 90), e("v2", so.EventStepViewed, 100, on("a"), in("s2")),
			e("c3", so.EventCustom, 160, in("s2"))}, 0, 0.7, []int{1, 4}},
		"at least 30 s": {[]*so.Event{e("v", so.EventStepViewed, 0, on("b")), e("c", so.EventCustom, 29.999),
			e("c2", so.EventCustom, 30)}, 0, 0.7, []int{2}},
		"high enough, and not evaluated again": {[]*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventCustom, 60),
			e("x", so.EventError, 61), e("x2", so.EventError, 62)}, 1, 0.6, nil},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			j := journeyF()
			j.Completed = c.completed
			cfg := so.BehaviourDefaults
			cfg.SuccessThreshold = c.threshold
			obs, _ := observeAll(t, c.events, j, cfg, false)
			var got []int
			for i, o := range obs {
				for _, tr := range o.Triggers {
					if tr.Source == so.TriggerLowSuccess {
						got = append(got, i)
					}
				}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("triggers at %v, want %v", got, c.want)
			}
		})
	}
}

// TestLowSuccessScore checks the heuristic against a hand-worked value.
func TestLowSuccessScore(t *testing.T) {
	t.Parallel()
	// At 60 s: E = 2^(−60/300) + 1 = 1.8705505633, engagement 51.8705505633;
	// p = 0.2 + 0.6·0.518705505633 + 0.2·1/2 = 0.6112233034 < 0.7.
	j := journeyF()
	j.Completed = 1
	obs, _ := observeAll(t, []*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventCustom, 60)}, j, so.BehaviourDefaults, false)
	if len(obs[1].Triggers) != 1 {
		t.Fatalf("triggers %+v", obs[1].Triggers)
	}
	tr := obs[1].Triggers[0]
	if tr.Predictor != so.PredictorHeuristic || tr.Score == nil || !near(*tr.Score, 0.6112233034) || tr.JourneyID != "j1" ||
		tr.Step != "a" || tr.Rule != "" || tr.DetectionID != "" || !tr.At.Equal(at(60)) {
		t.Fatalf("trigger %+v score %v", tr, *tr.Score)
	}
	for _, c := range []struct {
		eng       float64
		done, all int
		want      float64
	}{{0, 0, 4, 0.2}, {100, 4, 4, 1}, {50, 1, 4, 0.55}, {50, 0, 0, 0.5}} {
		if got := Success(c.eng, c.done, c.all); !near(got, c.want) {
			t.Errorf("Success(%v, %d, %d) = %v, want %v", c.eng, c.done, c.all, got, c.want)
		}
	}
}

// TestLowSuccessPrefersTheModel: with a model the trigger follows its score
// (asked at the event's time, for the journey), and without one (false) the
// heuristic answers as before.
func TestLowSuccessPrefersTheModel(t *testing.T) {
	t.Parallel()
	events := []*so.Event{e("v", so.EventStepViewed, 0, on("a")), e("c", so.EventCustom, 60)}
	for _, c := range []struct {
		name      string
		score     float64
		ok        bool
		predictor string // "" for no trigger
	}{{"model low", 0.1, true, so.PredictorModel}, {"model high", 0.95, true, ""}, {"no model", 0.95, false, so.PredictorHeuristic}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			j := journeyF()
			j.Completed = 1
			s := &State{}
			var asked []string
			s.score = func(journeyID string, when time.Time) (float64, bool) {
				asked = append(asked, journeyID+"@"+so.FormatTime(when))
				return c.score, c.ok
			}
			var trig []Trigger
			for _, ev := range events {
				trig = append(trig, s.Observe(ev, j, so.BehaviourDefaults).Triggers...)
			}
			if !slices.Equal(asked, []string{"j1@" + so.FormatTime(at(60))}) {
				t.Errorf("the model was asked %v; want once, for j1 at 60 s", asked)
			}
			switch {
			case c.predictor == "" && len(trig) != 0:
				t.Errorf("triggers %+v; want none", trig)
			case c.predictor != "" && (len(trig) != 1 || trig[0].Predictor != c.predictor):
				t.Errorf("triggers %+v; want one by %s", trig, c.predictor)
			case c.predictor == so.PredictorModel && *trig[0].Score != c.score:
				t.Errorf("score %v, want the model's %v", *trig[0].Score, c.score)
			}
		})
	}
}
