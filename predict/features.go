package predict

import (
	"math"
	"slices"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Feature names the behavioural features, in vector order; the trait
// indicators follow them (Schema.Traits).
type Feature int

// The behavioural features. Counts are log1p, times in minutes are log1p,
// paces are log(actual ÷ the step's expected time).
const (
	FProgress Feature = iota
	FStepsCompleted
	FStepsSkipped
	FElapsed
	FSinceLast
	FStalled
	FOnStep
	FPace
	FSlowest
	FErrors
	FErrorsStep
	FHesitations
	FHesitationsStep
	FRage
	FIdle
	FHelp
	FBacks
	FClicks
	FRecent
	FSessions
	FMaxGap
	FInterventions
	FAccepted
	FDismissed
	numFeatures
)

// featureNames are the stable names stored in a model's schema.
var featureNames = [numFeatures]string{
	"progress", "steps_completed", "steps_skipped", "elapsed_minutes", "minutes_since_last_event", "stalled",
	"time_on_step", "pace", "slowest_step", "errors", "errors_on_step", "hesitations", "hesitations_on_step",
	"rage_clicks", "idle", "help_opened", "backtracks", "clicks", "recent_activity", "sessions",
	"longest_gap_hours", "interventions_shown", "interventions_accepted", "interventions_dismissed",
}

// featureWords describe a feature to an admin, for explanations.
var featureWords = [numFeatures]string{
	"share of the flow done", "steps completed", "steps skipped", "time since the journey started",
	"time since the last event", "no activity for over 30 minutes", "time on the current step against its estimate",
	"pace on completed steps against their estimates", "slowest step against its estimate", "errors",
	"errors on the current step", "hesitations", "hesitations on the current step", "rage clicks",
	"idle periods", "help opened", "backtracks", "clicks", "activity in the last 10 minutes", "sessions",
	"longest gap between events", "interventions shown", "interventions accepted", "interventions dismissed",
}

// Schema is the layout of a feature vector: the behavioural features, then
// one indicator per trait value the training data showed often enough.
type Schema struct {
	Features []string     `json:"features"`
	Traits   []TraitValue `json:"traits"`
}

// TraitValue is one indicator: the user's trait Key equals Value.
type TraitValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Len is the vector's length.
func (s Schema) Len() int { return len(s.Features) + len(s.Traits) }

// Name is the name of feature i.
func (s Schema) Name(i int) string {
	if i < len(s.Features) {
		return s.Features[i]
	}
	t := s.Traits[i-len(s.Features)]
	return "trait." + t.Key + "=" + t.Value
}

// Words describes feature i to an admin.
func (s Schema) Words(i int) string {
	if i < len(s.Features) {
		if f := slices.Index(featureNames[:], s.Features[i]); f >= 0 {
			return featureWords[f]
		}
		return s.Features[i]
	}
	t := s.Traits[i-len(s.Features)]
	return t.Key + " is " + t.Value
}

// Trait-indicator limits: keys with few values, values seen often enough.
const (
	maxTraitValues  = 12   // a key with more distinct values is an identifier, not a category
	minTraitShare   = 0.02 // a value rarer than this carries too little to learn
	maxTraitColumns = 64
)

// NewSchema lays out the behavioural features and the indicators of the
// traits common among the journeys' users (one map per journey), in a
// stable order.
func NewSchema(traits []map[string]string) Schema {
	counts := map[string]map[string]int{}
	for _, t := range traits {
		for k, v := range t {
			if counts[k] == nil {
				counts[k] = map[string]int{}
			}
			counts[k][v]++
		}
	}
	s := Schema{Features: featureNames[:]}
	for _, k := range sortedKeys(counts) {
		if len(counts[k]) > maxTraitValues {
			continue
		}
		for _, v := range sortedKeys(counts[k]) {
			if cleanTrait(v) && float64(counts[k][v]) >= minTraitShare*float64(len(traits)) && len(s.Traits) < maxTraitColumns {
				s.Traits = append(s.Traits, TraitValue{k, v})
			}
		}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Constants of the builder.
const (
	stallAfter   = 30 * time.Minute // the server's session gap
	recentWindow = 10 * time.Minute
)

// Vector builds the vector of h as known at cutoff: only events at or
// before it count, so adding later events never changes the result.
func (s Schema) Vector(h *History, cutoff time.Time) []float64 {
	f := observe(h, cutoff)
	return vector(s, &f, h.Traits)
}

// observe computes the behavioural features of h at cutoff.
func observe(h *History, cutoff time.Time) [numFeatures]float32 {
	var x [numFeatures]float64
	b := newBuilder(h, cutoff)
	for i := range h.Events {
		if e := &h.Events[i]; !e.Timestamp.After(cutoff) && !e.Timestamp.Before(b.start) {
			b.add(e)
		}
	}
	b.fill(x[:], cutoff)
	var out [numFeatures]float32
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

// builder accumulates one journey's events in time order.
type builder struct {
	h                    *History
	start, last, stepAt  time.Time
	step                 string // the step in progress
	done, skipped        map[string]bool
	counts               [numFeatures]float64
	paces                []float64
	cutoff               time.Time
	recent               int // events within recentWindow of the cut-off
	sessions             map[string]bool
	maxGap               time.Duration
	stepErrs, stepHesits float64
}

// newBuilder starts a journey's builder for a cut-off (events after it are
// the caller's to leave out).
func newBuilder(h *History, cutoff time.Time) *builder {
	return &builder{h: h, start: h.Start(), cutoff: cutoff, done: map[string]bool{}, skipped: map[string]bool{}, sessions: map[string]bool{}}
}

// add counts one event.
func (b *builder) add(e *so.Event) {
	if !b.last.IsZero() {
		b.maxGap = max(b.maxGap, e.Timestamp.Sub(b.last))
	}
	b.last = e.Timestamp
	if b.cutoff.Sub(e.Timestamp) <= recentWindow {
		b.recent++
	}
	if e.SessionID != "" {
		b.sessions[e.SessionID] = true
	}
	if e.Flow == b.h.Flow && e.Step != "" {
		b.stepEvent(e)
	}
	if f, ok := counted[e.Type]; ok {
		b.counts[f]++
		if e.Step != "" && e.Step == b.step {
			switch f {
			case FErrors:
				b.stepErrs++
			case FHesitations:
				b.stepHesits++
			}
		}
	}
}

// counted maps event types to the feature counting them.
var counted = map[so.EventType]Feature{
	so.EventError: FErrors, so.EventHesitation: FHesitations, so.EventRageClick: FRage, so.EventIdle: FIdle,
	so.EventHelpOpened: FHelp, so.EventStepBack: FBacks, so.EventClick: FClicks,
	so.EventInterventionShown: FInterventions, so.EventInterventionAccepted: FAccepted,
	so.EventInterventionDismiss: FDismissed,
}

// stepEvent follows the step in progress and the steps finished.
func (b *builder) stepEvent(e *so.Event) {
	switch e.Type {
	case so.EventStepViewed, so.EventStepStarted:
		if b.step != e.Step && !b.done[e.Step] && !b.skipped[e.Step] {
			b.step, b.stepAt, b.stepErrs, b.stepHesits = e.Step, e.Timestamp, 0, 0
		}
	case so.EventStepCompleted, so.EventStepSkipped:
		if b.done[e.Step] || b.skipped[e.Step] {
			return
		}
		if e.Type == so.EventStepCompleted {
			b.done[e.Step] = true
			if e.Step == b.step {
				b.paces = append(b.paces, b.pace(e.Step, e.Timestamp.Sub(b.stepAt)))
			}
		} else {
			b.skipped[e.Step] = true
		}
		if e.Step == b.step {
			b.step = ""
		}
	}
}

// pace is log(d ÷ the step's expected time), with a floor of one second.
func (b *builder) pace(key string, d time.Duration) float64 {
	expected := 60.0
	for _, st := range b.h.Steps {
		if st.Key == key && st.EstimatedSeconds > 0 {
			expected = float64(st.EstimatedSeconds)
		}
	}
	return math.Log(max(d.Seconds(), 1) / expected)
}

// fill writes the behavioural features at cutoff.
func (b *builder) fill(x []float64, cutoff time.Time) {
	n := len(b.h.Steps)
	finished := 0
	for _, st := range b.h.Steps {
		if b.done[st.Key] || b.skipped[st.Key] {
			finished++
		}
	}
	if n > 0 {
		x[FProgress] = float64(finished) / float64(n)
	}
	x[FStepsCompleted] = float64(len(b.done))
	x[FStepsSkipped] = float64(len(b.skipped))
	x[FElapsed] = minutes(cutoff.Sub(b.start))
	if !b.last.IsZero() {
		x[FSinceLast] = minutes(cutoff.Sub(b.last))
		if cutoff.Sub(b.last) > stallAfter {
			x[FStalled] = 1
		}
	}
	if b.step != "" {
		x[FOnStep] = b.pace(b.step, cutoff.Sub(b.stepAt))
	}
	for _, p := range b.paces {
		x[FPace] += p / float64(len(b.paces))
		x[FSlowest] = max(x[FSlowest], p)
	}
	for _, f := range []Feature{FErrors, FHesitations, FRage, FIdle, FHelp, FBacks, FClicks, FInterventions, FAccepted, FDismissed} {
		x[f] = math.Log1p(b.counts[f])
	}
	x[FErrorsStep], x[FHesitationsStep] = math.Log1p(b.stepErrs), math.Log1p(b.stepHesits)
	x[FRecent] = math.Log1p(float64(b.recent))
	x[FSessions] = math.Log1p(float64(len(b.sessions)))
	x[FMaxGap] = math.Log1p(b.maxGap.Hours())
}

// minutes is log1p of a non-negative duration in minutes.
func minutes(d time.Duration) float64 { return math.Log1p(max(d.Minutes(), 0)) }

// cleanTrait reports whether a trait value is a category worth an indicator.
func cleanTrait(v string) bool { return v != "" && len(v) <= 64 && !strings.ContainsAny(v, "\n\r") }
