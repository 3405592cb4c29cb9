package predict

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/simulate"
)

// histories turns a simulated population into journeys as the server
// stores them (users who never reached a step have none).
func histories(t *testing.T, o simulate.Options) ([]*History, []simulate.User) {
	t.Helper()
	users, err := simulate.Run(o)
	if err != nil {
		t.Fatal(err)
	}
	flow := simulate.DefaultFlow()
	var hs []*History
	var kept []simulate.User
	for _, u := range users {
		h := &History{JourneyID: u.ID, UserID: u.ID, Flow: flow.Key, Traits: u.Traits, Completed: u.Completed}
		for _, s := range flow.Steps {
			h.Steps = append(h.Steps, so.Step{Key: s.Key, Required: s.Required, EstimatedSeconds: int(s.ExpectedSeconds)})
		}
		for _, in := range u.Events {
			ts, err := time.Parse(time.RFC3339Nano, in.Timestamp)
			if err != nil {
				t.Fatal(err)
			}
			h.Events = append(h.Events, so.Event{ID: in.ID, Type: in.Type, UserID: in.UserID, SessionID: in.SessionID,
				Flow: in.Flow, Step: in.Step, Timestamp: ts, Properties: in.Properties})
			if u.Completed && in.Type == so.EventStepCompleted {
				h.CompletedAt = ts
			}
		}
		if slices.ContainsFunc(h.Events, func(e so.Event) bool { return e.Flow == flow.Key }) {
			hs, kept = append(hs, h), append(kept, u)
		}
	}
	return hs, kept
}

// TestLaterEventsChangeNothing: a vector built at a cut-off is the same
// whatever happens after it, events added, removed or changed.
func TestLaterEventsChangeNothing(t *testing.T) {
	t.Parallel()
	hs, _ := histories(t, simulate.Options{Seed: 4, Users: 300})
	traits := make([]map[string]string, len(hs))
	for i, h := range hs {
		traits[i] = h.Traits
	}
	s := NewSchema(traits)
	rng := rand.New(rand.NewPCG(1, 2))
	checked := 0
	for _, h := range hs {
		start, last := h.Start(), h.LastEvent()
		for range 3 {
			cut := start.Add(time.Duration(rng.Float64() * float64(last.Sub(start)+time.Hour)))
			want := s.Vector(h, cut)
			later := *h
			later.Events = nil
			for _, e := range h.Events {
				if !e.Timestamp.After(cut) {
					later.Events = append(later.Events, e)
				}
			}
			trimmed := s.Vector(&later, cut)
			for _, typ := range []so.EventType{so.EventError, so.EventStepCompleted, so.EventRageClick, so.EventSessionStarted} {
				later.Events = append(later.Events, so.Event{Type: typ, Flow: h.Flow, Step: h.Steps[0].Key, SessionID: "later",
					Timestamp: cut.Add(time.Duration(1+rng.IntN(3600)) * time.Second)})
			}
			if got := s.Vector(&later, cut); !slices.Equal(got, want) || !slices.Equal(trimmed, want) {
				t.Fatalf("journey %s at %s: vector moved with later events:\n%v\n%v\n%v", h.JourneyID, cut, want, trimmed, got)
			}
			checked++
		}
	}
	if checked < 300 {
		t.Fatalf("checked %d cut-offs", checked)
	}
}

// TestFeaturesSeeTheJourney: the builder counts what the events say.
func TestFeaturesSeeTheJourney(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	h := &History{Flow: "f", Steps: []so.Step{{Key: "a", Required: true, EstimatedSeconds: 60}, {Key: "b", Required: true, EstimatedSeconds: 100}},
		Traits: map[string]string{"plan": "team"}, Events: []so.Event{
			{Type: so.EventSessionStarted, SessionID: "s1", Timestamp: at(-5)},
			{Type: so.EventStepStarted, Flow: "f", Step: "a", SessionID: "s1", Timestamp: at(0)},
			{Type: so.EventError, Flow: "f", Step: "a", SessionID: "s1", Timestamp: at(10)},
			{Type: so.EventStepCompleted, Flow: "f", Step: "a", SessionID: "s1", Timestamp: at(120)},
			{Type: so.EventStepStarted, Flow: "f", Step: "b", SessionID: "s2", Timestamp: at(7200)},
			{Type: so.EventError, Flow: "f", Step: "b", SessionID: "s2", Timestamp: at(7210)},
			{Type: so.EventError, Flow: "f", Step: "b", SessionID: "s2", Timestamp: at(7220)},
		}}
	s := Schema{Features: featureNames[:], Traits: []TraitValue{{"plan", "team"}, {"plan", "free"}}}
	x := s.Vector(h, at(7300))
	checks := []struct {
		f    Feature
		want float64
	}{
		{FProgress, 0.5}, {FStepsCompleted, 1}, {FErrors, math.Log1p(3)}, {FErrorsStep, math.Log1p(2)},
		{FPace, math.Log(120.0 / 60)}, {FOnStep, math.Log(100.0 / 100)}, {FSessions, math.Log1p(2)},
		{FSinceLast, math.Log1p(80.0 / 60)}, {FElapsed, math.Log1p(7300.0 / 60)}, {FStalled, 0},
	}
	for _, c := range checks {
		if math.Abs(x[c.f]-c.want) > 1e-5 {
			t.Errorf("%s = %v, want %v", featureNames[c.f], x[c.f], c.want)
		}
	}
	if tr := x[len(featureNames):]; tr[0] != 1 || tr[1] != 0 {
		t.Errorf("trait indicators = %v, want [1 0]", tr)
	}
	if x := s.Vector(h, at(7300+3600)); x[FStalled] != 1 {
		t.Errorf("an hour without events is not stalled: %v", x[FStalled])
	}
}

// TestTrainOnSimulatedHistory: the model ranks and is calibrated on the
// newest journeys, and its stored parameters score the same after a round
// trip through JSON.
func TestTrainOnSimulatedHistory(t *testing.T) {
	t.Parallel()
	hs, _ := histories(t, simulate.Options{Seed: 9, Users: 4000})
	c := NewCollector(Options{})
	for _, h := range hs {
		c.Add(h)
	}
	r, err := c.Train()
	if err != nil {
		t.Fatal(err)
	}
	if r.Metrics.AUC < 0.8 || r.Metrics.ECE > 0.05 || r.Metrics.N != len(r.Samples) || r.Holdout == 0 {
		t.Errorf("holdout metrics = %+v", r.Metrics)
	}
	if r.Train+r.Calibrate+r.Holdout != c.Journeys() || !r.From.Before(r.To) {
		t.Errorf("splits %d/%d/%d of %d journeys, window %s..%s", r.Train, r.Calibrate, r.Holdout, c.Journeys(), r.From, r.To)
	}
	raw, err := json.Marshal(r.Params)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeParams(raw)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Measure(clone(r.Samples))
	if again != r.Metrics {
		t.Errorf("metrics after a JSON round trip = %+v, want %+v", again, r.Metrics)
	}
	x := r.Params.Schema.Vector(hs[len(hs)-1], hs[len(hs)-1].Start().Add(10*time.Minute))
	ex := r.Params.Explain(x, 3)
	if len(ex) != 3 || math.Abs(ex[0].Effect) < math.Abs(ex[2].Effect) || ex[0].Text == "" {
		t.Errorf("explanation = %+v; want three, largest first, in words", ex)
	}
	bad := *back
	bad.Stages = slices.Clone(bad.Stages)
	bad.Stages[0].Weights = bad.Stages[0].Weights[:2]
	if bad.Check() == nil {
		t.Error("parameters with short weights pass Check")
	}
}

// TestTooLittleData: a small or one-sided collection is refused, saying what
// training needs.
func TestTooLittleData(t *testing.T) {
	t.Parallel()
	hs, _ := histories(t, simulate.Options{Seed: 2, Users: 120})
	c := NewCollector(Options{})
	for _, h := range hs {
		c.Add(h)
	}
	if _, err := c.Train(); !errors.Is(err, ErrTooLittleData) {
		t.Errorf("training on %d journeys: %v; want ErrTooLittleData", c.Journeys(), err)
	}
	now := hs[len(hs)-1].LastEvent().Add(time.Hour)
	recent := NewCollector(Options{Now: now})
	for _, h := range hs {
		recent.Add(h)
	}
	if recent.Journeys() == 0 || recent.Journeys() >= c.Journeys() {
		t.Errorf("kept %d of %d journeys judged at the end of the history; want the ones old enough", recent.Journeys(), c.Journeys())
	}
	for _, j := range recent.journeys {
		if j.start.Add(7 * 24 * time.Hour).After(now) {
			t.Errorf("journey %s started %s, within the abandonment window of %s", j.id, j.start, now)
		}
	}
}

// TestMetrics checks the measures on cases worked by hand.
func TestMetrics(t *testing.T) {
	t.Parallel()
	y := []bool{false, false, true, true}
	if a := AUC([]float64{0.1, 0.4, 0.35, 0.8}, y); math.Abs(a-0.75) > 1e-12 {
		t.Errorf("AUC = %v, want 0.75", a)
	}
	if a := AUC([]float64{0.5, 0.5, 0.5, 0.5}, y); a != 0.5 {
		t.Errorf("AUC of ties = %v, want 0.5", a)
	}
	m := Measure([]float64{0.2, 0.2, 0.8, 0.8}, y)
	if math.Abs(m.Brier-0.04) > 1e-12 || math.Abs(m.LogLoss+math.Log(0.8)) > 1e-12 || math.Abs(m.ECE-0.2) > 1e-12 || m.BaseRate != 0.5 {
		t.Errorf("metrics = %+v", m)
	}
	groups := []int{0, 0, 1, 1, 2, 2, 3, 3}
	vals := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	iv := Bootstrap(groups, 500, 1, func(idx []int) float64 {
		s := 0.0
		for _, i := range idx {
			s += vals[i]
		}
		return s / float64(len(idx))
	})
	if iv.Value != 4.5 || !(iv.Low < iv.Value && iv.Value < iv.High) || iv.Low < 1.5 || iv.High > 7.5 {
		t.Errorf("bootstrap = %+v", iv)
	}
}

// TestDriftAndCalibrationMaps: the same distribution is stable, a shifted
// one is not; the isotonic map is monotone and within [0, 1].
func TestDriftAndCalibrationMaps(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	a, b, shifted := make([]float64, 5000), make([]float64, 5000), make([]float64, 5000)
	for i := range a {
		a[i], b[i], shifted[i] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()+1
	}
	ref := NewReference(a)
	if p := ref.PSI(b); p > 0.02 {
		t.Errorf("PSI of the same distribution = %v", p)
	}
	if p := ref.PSI(shifted); p < 0.25 {
		t.Errorf("PSI of a shift by one deviation = %v", p)
	}
	if r := NewReference([]float64{0, 0, 0, 1, 1}); len(r.Shares) != 2 {
		t.Errorf("an indicator's reference = %+v; want two bins", r)
	}
	p, y := make([]float64, 2000), make([]bool, 2000)
	for i := range p {
		p[i] = rng.Float64()
		y[i] = rng.Float64() < p[i]*p[i]
	}
	iso := fitIsotonic(p, y)
	prev := -1.0
	for q := 0.0; q <= 1; q += 0.01 {
		v := iso.apply(q)
		if v < prev || v < 0 || v > 1 {
			t.Fatalf("isotonic map at %v = %v after %v", q, v, prev)
		}
		prev = v
	}
}

// TestPrior: the documented prior is the smoothed share of the flow done.
func TestPrior(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h := &History{Flow: "f", Steps: []so.Step{{Key: "a"}, {Key: "b"}, {Key: "c"}}, Events: []so.Event{
		{Type: so.EventStepCompleted, Flow: "f", Step: "a", Timestamp: t0},
		{Type: so.EventStepSkipped, Flow: "f", Step: "b", Timestamp: t0.Add(time.Minute)}}}
	if p := Prior(h, t0.Add(time.Hour)); p != 3.0/5 {
		t.Errorf("prior = %v, want (2+1)/(3+2)", p)
	}
	if p := Prior(h, t0.Add(-time.Hour)); p != 1.0/5 {
		t.Errorf("prior before any step = %v, want 1/5", p)
	}
}

// TestChecks: each rule fires past its threshold only, and says why.
func TestChecks(t *testing.T) {
	t.Parallel()
	m := &so.Model{Version: 3}
	low, fine := 0.70, 0.79
	for _, c := range []struct {
		h            Health
		drift, decay bool
	}{
		{Health{Recent: 500, MaxPSI: 0.3, Drift: []FeatureDrift{{"errors", 0.3}}, HoldoutAUC: 0.8}, true, false},
		{Health{Recent: 50, MaxPSI: 0.9, Drift: []FeatureDrift{{"errors", 0.9}}, HoldoutAUC: 0.8}, false, false},
		{Health{Recent: 500, MaxPSI: 0.1, HoldoutAUC: 0.8, LiveAUC: &low, LiveJourneys: 300}, false, true},
		{Health{Recent: 500, MaxPSI: 0.1, HoldoutAUC: 0.8, LiveAUC: &fine, LiveJourneys: 300}, false, false},
	} {
		cs := Checks(m, &c.h)
		if len(cs) != 2 || cs[0].Firing != c.drift || cs[1].Firing != c.decay {
			t.Errorf("health %+v: drift %v decay %v; want %v %v", c.h, cs[0].Firing, cs[1].Firing, c.drift, c.decay)
		}
		for _, ck := range cs {
			if ck.Firing && (ck.Message == "" || ck.Key == "") {
				t.Errorf("firing check %+v says nothing", ck)
			}
		}
	}
}
