// Package journey is the journey engine: it starts journeys on published flow
// versions, moves them with events inside the ingestion transaction, and picks
// the next step through a replaceable policy. It knows nothing of SQL.
package journey

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Policy picks the next step of a journey; personalization replaces the default.
type Policy interface {
	Next(ctx context.Context, j *so.Journey, v *so.FlowVersion) (*so.Step, string)
}

// Engine runs journeys. Flow versions are immutable, so it caches them forever.
type Engine struct {
	Flows    so.FlowStore
	Journeys so.JourneyStore
	Policy   Policy
	Clock    func() time.Time
	// OnStart, when set, hears of each journey Start creates (events report
	// theirs through Outcome), so live counters see both ways a journey starts.
	OnStart func(*so.Journey)
	// Engagement, when set, returns the latest engagement score of journeys
	// (the behaviour engine's), which views show as `engagement`.
	Engagement func(ctx context.Context, journeyIDs []string) (map[string]float64, error)
	// Success, when set, returns a journey's predicted chance of completing
	// (nil when it has none), which Start and Get show as `predicted_success`.
	Success func(ctx context.Context, j *so.Journey) *float64
	// Present, when set, renders a flow version for the SDK; the answers to
	// Start and Get carry it as `presentation`.
	Present Presenter

	mu       sync.Mutex
	versions map[versionKey]*so.FlowVersion
	latests  map[latestKey]latestEntry
	seen     seenCache
}

// LatestTTL is how long an instance keeps using the version it found to be a
// flow's latest: a publish takes up to this long to reach new journeys on other
// instances (and on this one), and a step event for an unknown flow costs one
// lookup per TTL rather than one per event.
const LatestTTL = 5 * time.Second

type latestKey struct{ projectID, flowKey string }

type latestEntry struct {
	v       *so.FlowVersion
	err     error
	expires time.Time
}

type versionKey struct {
	projectID, flowID string
	version           int
}

func (e *Engine) now() time.Time {
	if e.Clock != nil {
		return so.Truncate(e.Clock())
	}
	return so.Now()
}

func (e *Engine) policy() Policy {
	if e.Policy == nil {
		return FirstEligible{}
	}
	return e.Policy
}

// Version returns a published flow version, from the cache when it can.
func (e *Engine) Version(ctx context.Context, projectID, flowID string, version int) (*so.FlowVersion, error) {
	k := versionKey{projectID, flowID, version}
	e.mu.Lock()
	v, ok := e.versions[k]
	e.mu.Unlock()
	if ok {
		return v, nil
	}
	v, err := e.Flows.FindFlowVersion(ctx, projectID, flowID, version)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.versions == nil {
		e.versions = map[versionKey]*so.FlowVersion{}
	}
	e.versions[k] = v
	e.mu.Unlock()
	return v, nil
}

// latest returns the newest published version of a flow, or a conflict error
// when the flow was never published; answers are cached for LatestTTL.
func (e *Engine) latest(ctx context.Context, projectID, flowKey string) (*so.FlowVersion, error) {
	k, now := latestKey{projectID, flowKey}, time.Now()
	e.mu.Lock()
	c, ok := e.latests[k]
	e.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.v, c.err
	}
	v, err := e.findLatest(ctx, projectID, flowKey)
	if code := so.ErrorCode(err); err == nil || code == so.ENOTFOUND || code == so.ECONFLICT {
		e.mu.Lock()
		if e.latests == nil || len(e.latests) > 10000 {
			e.latests = map[latestKey]latestEntry{}
		}
		e.latests[k] = latestEntry{v: v, err: err, expires: now.Add(LatestTTL)}
		e.mu.Unlock()
	}
	return v, err
}

// Forget drops what the engine remembers of an erased user, so that their
// next event stores them anew.
func (e *Engine) Forget(projectID, userID string) { e.seen.forget(projectID, userID) }

// Published drops the cached latest version of a flow that was just published.
func (e *Engine) Published(v *so.FlowVersion) {
	e.mu.Lock()
	delete(e.latests, latestKey{v.ProjectID, v.FlowKey})
	e.mu.Unlock()
}

func (e *Engine) findLatest(ctx context.Context, projectID, flowKey string) (*so.FlowVersion, error) {
	f, err := e.Flows.FindFlow(ctx, projectID, flowKey)
	if err != nil {
		return nil, err
	}
	if f.PublishedVersion == 0 {
		return nil, so.FieldErrorf(so.ECONFLICT, "flow", "flow %q has no published version yet; publish it first", flowKey)
	}
	return e.Version(ctx, projectID, f.ID, f.PublishedVersion)
}

// Start starts the user's journey on the latest published version, or returns
// the journey the user already has (created reports which).
func (e *Engine) Start(ctx context.Context, projectID, userID, flowKey string) (*View, bool, error) {
	if err := so.CheckUserID("user_id", userID); err != nil {
		return nil, false, err
	}
	v, err := e.latest(ctx, projectID, flowKey)
	if err != nil {
		return nil, false, err
	}
	j, created, err := e.Journeys.StartJourney(ctx, so.NewJourney(projectID, userID, v, e.now()))
	if err != nil {
		return nil, false, err
	}
	if created && e.OnStart != nil {
		e.OnStart(j)
	}
	view, err := e.view(ctx, j)
	return view, created, err
}

// Get returns the user's journey in the flow with its next step.
func (e *Engine) Get(ctx context.Context, projectID, userID, flowKey string) (*View, error) {
	j, err := e.Journeys.FindJourney(ctx, projectID, userID, flowKey)
	if err != nil {
		return nil, err
	}
	return e.view(ctx, j)
}

// NextStep returns the next step for the user in the flow; a user who has not
// started is judged on the latest published version.
func (e *Engine) NextStep(ctx context.Context, projectID, userID, flowKey string) (*so.Step, string, error) {
	j, err := e.Journeys.FindJourney(ctx, projectID, userID, flowKey)
	if so.ErrorCode(err) == so.ENOTFOUND {
		v, err := e.latest(ctx, projectID, flowKey)
		if err != nil {
			return nil, "", err
		}
		step, reason := e.policy().Next(ctx, so.NewJourney(projectID, userID, v, e.now()), v)
		return step, "journey not started yet; " + reason, nil
	} else if err != nil {
		return nil, "", err
	}
	v, err := e.Version(ctx, projectID, j.FlowID, j.FlowVersion)
	if err != nil {
		return nil, "", err
	}
	step, reason := e.policy().Next(ctx, j, v)
	return step, reason, nil
}

// View is a journey as the API shows it: its state, the next step, and the
// scores that later capabilities fill (null until they exist).
type View struct {
	Journey          *so.Journey
	NextStep         *so.Step
	Reason           string
	Engagement       *float64
	PredictedSuccess *float64
	Persona          *string
	Presentation     *Presentation // Start and Get only
}

// MarshalJSON flattens the journey and adds the next step and scores: the
// journey's own object, with the extra fields appended before its closing brace.
func (v View) MarshalJSON() ([]byte, error) {
	journey, err := v.Journey.MarshalJSON() // direct: json.Marshal would re-scan the output
	if err != nil {
		return nil, err
	}
	extra, err := json.Marshal(struct {
		NextStep         *so.Step      `json:"next_step"`
		Reason           string        `json:"next_step_reason"`
		Engagement       *float64      `json:"engagement"`
		PredictedSuccess *float64      `json:"predicted_success"`
		Persona          *string       `json:"persona"`
		Presentation     *Presentation `json:"presentation,omitempty"`
	}{v.NextStep, v.Reason, v.Engagement, v.PredictedSuccess, v.Persona, v.Presentation})
	if err != nil {
		return nil, err
	}
	out := append(journey[:len(journey)-1:len(journey)-1], ',')
	return append(out, extra[1:]...), nil
}

func (e *Engine) view(ctx context.Context, j *so.Journey) (*View, error) {
	view, err := e.bareView(ctx, j)
	if err != nil {
		return nil, err
	}
	e.fillEngagement(ctx, []*View{view})
	if e.Success != nil {
		view.PredictedSuccess = e.Success(ctx, j)
	}
	if e.Present != nil {
		v, err := e.Version(ctx, j.ProjectID, j.FlowID, j.FlowVersion)
		if err != nil {
			return nil, err
		}
		if view.Presentation, err = e.Present(ctx, v); err != nil {
			return nil, fmt.Errorf("presenting journey %s: %w", j.ID, err)
		}
	}
	return view, nil
}

// bareView is a view without the scores, which are read for many at once.
func (e *Engine) bareView(ctx context.Context, j *so.Journey) (*View, error) {
	v, err := e.Version(ctx, j.ProjectID, j.FlowID, j.FlowVersion)
	if err != nil {
		return nil, fmt.Errorf("journey %s: %w", j.ID, err)
	}
	step, reason := e.policy().Next(ctx, j, v)
	return &View{Journey: j, NextStep: step, Reason: reason}, nil
}

// fillEngagement adds the latest engagement scores; a score that cannot be
// read leaves the view's null, which the API documents as "not scored yet".
func (e *Engine) fillEngagement(ctx context.Context, views []*View) {
	if e.Engagement == nil || len(views) == 0 {
		return
	}
	ids := make([]string, len(views))
	for i, v := range views {
		ids[i] = v.Journey.ID
	}
	scores, err := e.Engagement(ctx, ids)
	if err != nil {
		return
	}
	for _, v := range views {
		if s, ok := scores[v.Journey.ID]; ok {
			v.Engagement = &s
		}
	}
}

// Views builds views of changed journeys, for the real-time streams.
func (e *Engine) Views(ctx context.Context, js []*so.Journey) []*View {
	out := make([]*View, 0, len(js))
	for _, j := range js {
		if v, err := e.bareView(ctx, j); err == nil {
			out = append(out, v)
		}
	}
	e.fillEngagement(ctx, out)
	return out
}

// AbandonIdle abandons journeys idle for longer than `after` and returns them.
// then runs in the abandoning transaction (see so.JourneyStore).
func (e *Engine) AbandonIdle(ctx context.Context, after time.Duration, then func(context.Context, so.Enqueuer, []*so.Journey) error) ([]*so.Journey, error) {
	now := e.now()
	return e.Journeys.AbandonIdleJourneys(ctx, now.Add(-after), now, then)
}

// FirstEligible picks the first step in flow order that is not done and whose
// prerequisites are met.
type FirstEligible struct{}

// Next implements Policy.
func (FirstEligible) Next(_ context.Context, j *so.Journey, v *so.FlowVersion) (*so.Step, string) {
	if j.Status == so.JourneyCompleted {
		return nil, "the journey is completed"
	}
	blocked := 0
	for i := range v.Steps {
		s := &v.Steps[i]
		st := j.Step(s.Key)
		if st == nil || st.Status == so.StepCompleted || st.Status == so.StepSkipped {
			continue
		}
		if !j.PrerequisitesMet(s) {
			blocked++
			continue
		}
		return s, "first step in flow order that is not done and whose prerequisites are met"
	}
	if blocked > 0 {
		return nil, fmt.Sprintf("%d remaining steps wait for prerequisites", blocked)
	}
	return nil, "every step is done"
}
