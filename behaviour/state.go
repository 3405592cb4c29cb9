package behaviour

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Bounds on the State, so a user's document stays small whatever they do.
const (
	maxStepCounters = 16  // (session, flow, step) counter sets
	maxDone         = 128 // rules fired and low-success evaluations
	maxJourneys     = 8   // journeys with engagement counters
	maxSessions     = 4   // sessions with engagement counters (tabs may interleave)
	maxSent         = 100 // interventions remembered (the largest PerSession)
	maxRuns         = 8   // sessions with a dismissal run
)

// idleGap is the silence between two events of a session that counts as idling.
const idleGap = 60 * time.Second

// StepInfo is what the engine knows of one step of the journey's flow version.
type StepInfo struct {
	Key              string
	EstimatedSeconds int
	ContentItemID    string   // the step's content ("" none)
	GuideAvailable   bool     // the step's content is step-by-step (kind tour/checklist/task)
	HelpContentIDs   []string // help content the step lists (tips)
	SimplerContentID string   // a variant of the content one complexity level down ("" none)
}

// Journey is the journey an event concerns, as the wiring found it.
type Journey struct {
	ID        string
	Flow      string
	Steps     []StepInfo // flow order
	Completed int        // steps completed or skipped now
}

// step returns the named step, so rules fire only on steps the flow has.
func (j *Journey) step(key string) *StepInfo {
	if j == nil {
		return nil
	}
	for i := range j.Steps {
		if j.Steps[i].Key == key {
			return &j.Steps[i]
		}
	}
	return nil
}

// State is one user's behavioural state, stored as JSON between batches; every
// list is capped and drops its oldest entries.
type State struct {
	Clock    time.Time           `json:"clock,omitzero"`      // latest event time seen
	Session  string              `json:"session,omitempty"`   // the current session
	LastIdle bool                `json:"last_idle,omitempty"` // the last event was idle
	Flow     string              `json:"flow,omitempty"`      // the current step's flow
	Step     string              `json:"step,omitempty"`      // the current step
	Steps    []StepCounters      `json:"steps,omitempty"`     // least recently used first
	Done     []string            `json:"done,omitempty"`      // fired detections, evaluated low-success keys
	Sessions []SessionEngagement `json:"sessions,omitempty"`  // least recently used first
	Journeys []JourneyEngagement `json:"journeys,omitempty"`  // least recently used first
	Sent     []Sent              `json:"sent,omitempty"`      // oldest first
	Runs     []DismissalRun      `json:"runs,omitempty"`      // oldest first

	// score, when set, is the model's chance that a journey completes as of
	// a time (false: no model), which the low-success trigger prefers to the
	// heuristic; the consumer sets it for each event.
	score func(journeyID string, at time.Time) (float64, bool)
}

// StepCounters are the struggle counters of one step in one session.
type StepCounters struct {
	Session  string    `json:"session"`
	Flow     string    `json:"flow"`
	Step     string    `json:"step"`
	StartID  string    `json:"start_id,omitempty"`
	StartAt  time.Time `json:"start_at,omitzero"`
	Clicks   int       `json:"clicks,omitempty"`
	Hesitant int       `json:"hesitations,omitempty"`
	Signals  []string  `json:"signals,omitempty"` // hesitation and click ids, last 10
	Errors   []string  `json:"errors,omitempty"`  // last 20
	ErrorN   int       `json:"error_n,omitempty"`
	Backs    []string  `json:"backs,omitempty"` // last 20
	BackN    int       `json:"back_n,omitempty"`
}

// DismissalRun counts a session's dismissals since its last acceptance.
type DismissalRun struct {
	Session    string `json:"session"`
	Dismissals int    `json:"dismissals"`
}

// CurrentFlow names the flow of the user's current step, so the wiring knows
// which journey an event without a flow concerns.
func (s *State) CurrentFlow() string { return s.Flow }

// Observation is what one event produced.
type Observation struct {
	Detections []*so.Detection // new detections
	Engagement *Scores         // nil when the event concerns no journey
	Triggers   []Trigger       // interventions now due (before caps)
	Outcome    *OutcomeEvent   // for intervention_shown/accepted/dismissed with properties.intervention_id
}

// Scores are a journey's and a session's engagement after an event.
type Scores struct {
	JourneyID string
	Journey   float64
	Session   float64
	Level     string
	SessionID string
	At        time.Time
	Moved     bool // changed by ≥ 1 point or level since the last Moved
}

// Trigger is an intervention made due by a detection or a low prediction.
type Trigger struct {
	Source      string // so.TriggerStruggle or so.TriggerLowSuccess
	Rule        so.StruggleRule
	DetectionID string
	Predictor   string
	Score       *float64
	JourneyID   string
	Flow        string
	Step        string
	SessionID   string
	At          time.Time
}

// OutcomeEvent is an intervention outcome reported as an event.
type OutcomeEvent struct {
	InterventionID string
	Outcome        so.InterventionOutcome
	At             time.Time
}

// input is one event with what Observe worked out about it.
type input struct {
	ev         *so.Event
	j          *Journey
	cfg        so.Behaviour
	session    string
	now        time.Time // the clock after the event
	gap        bool      // an idle gap preceded the event
	flow, step string    // attribution
	info       *StepInfo // the step in j, nil when j lacks it
	credit     float64   // velocity credit of a completion
}

// Observe takes one event in commit order and reports what it produced.
func (s *State) Observe(ev *so.Event, j *Journey, cfg so.Behaviour) Observation {
	x := s.prepare(ev, j, cfg)
	var obs Observation
	obs.Detections = s.stepRules(x)
	s.moveCurrent(x)
	obs.Engagement = s.engage(x)
	for _, d := range obs.Detections {
		obs.Triggers = append(obs.Triggers, Trigger{Source: so.TriggerStruggle, Rule: d.Rule, DetectionID: d.ID,
			JourneyID: d.JourneyID, Flow: d.Flow, Step: d.Step, SessionID: d.SessionID, At: ev.Timestamp})
	}
	if t := s.lowSuccess(x, obs.Engagement); t != nil {
		obs.Triggers = append(obs.Triggers, *t)
	}
	obs.Outcome = s.outcome(ev)
	return obs
}

// prepare settles the event's session, clock, idle gap and step.
func (s *State) prepare(ev *so.Event, j *Journey, cfg so.Behaviour) *input {
	x := &input{ev: ev, j: j, cfg: cfg, session: s.sessionOf(ev)}
	same := x.session == s.Session && !s.Clock.IsZero()
	x.gap = same && ev.Timestamp.Sub(s.Clock) > idleGap && !s.LastIdle && ev.Type != so.EventIdle
	s.Session = x.session
	if ev.Timestamp.After(s.Clock) {
		s.Clock = ev.Timestamp
	}
	x.now, s.LastIdle = s.Clock, ev.Type == so.EventIdle
	x.flow, x.step = s.attribute(ev)
	if j != nil && j.Flow == x.flow {
		x.info = j.step(x.step)
	}
	return x
}

// sessionOf names the event's session, inventing one for events without it.
func (s *State) sessionOf(ev *so.Event) string {
	switch {
	case ev.SessionID != "":
		return ev.SessionID
	case s.Session != "" && ev.Timestamp.Sub(s.Clock) < so.SessionGap:
		return s.Session
	}
	return "~" + strconv.FormatInt(ev.Timestamp.UnixMilli(), 10)
}

// attribute finds the flow and step an event concerns.
func (s *State) attribute(ev *so.Event) (string, string) {
	switch {
	case ev.Flow == "":
		return s.Flow, s.Step
	case ev.Step != "":
		return ev.Flow, ev.Step
	case ev.Flow == s.Flow:
		return s.Flow, s.Step
	}
	return ev.Flow, ""
}

// moveCurrent keeps the current step that flowless events are attributed to.
func (s *State) moveCurrent(x *input) {
	switch x.ev.Type {
	case so.EventStepViewed, so.EventStepStarted, so.EventStepBack:
		s.Flow, s.Step = x.ev.Flow, x.ev.Step
	case so.EventStepCompleted, so.EventStepSkipped:
		if x.ev.Flow == s.Flow && x.ev.Step == s.Step {
			s.Flow, s.Step = "", ""
		}
	}
}

// done tells whether a key (a detection id or an evaluation) was already used.
func (s *State) done(key string) bool { return slices.Contains(s.Done, key) }

// markDone remembers a key, forgetting the oldest beyond the cap.
func (s *State) markDone(key string) { s.Done = pushCapped(s.Done, key, maxDone) }

// pushCapped appends v and drops the oldest entries beyond max.
func pushCapped[T any](list []T, v T, max int) []T {
	list = append(list, v)
	if len(list) > max {
		list = slices.Delete(list, 0, len(list)-max)
	}
	return list
}

// interventionID reads properties.intervention_id of an outcome event.
func interventionID(props json.RawMessage) string {
	var p struct {
		ID string `json:"intervention_id"`
	}
	if json.Unmarshal(props, &p) != nil {
		return ""
	}
	return p.ID
}

// outcomes maps outcome events to the outcome they report.
var outcomes = map[so.EventType]so.InterventionOutcome{so.EventInterventionShown: so.OutcomeShown,
	so.EventInterventionAccepted: so.OutcomeAccepted, so.EventInterventionDismiss: so.OutcomeDismissed}

// outcome applies and reports an outcome event.
func (s *State) outcome(ev *so.Event) *OutcomeEvent {
	o, ok := outcomes[ev.Type]
	if !ok {
		return nil
	}
	id := interventionID(ev.Properties)
	if id == "" {
		return nil
	}
	s.ApplyOutcome(id, o)
	return &OutcomeEvent{InterventionID: id, Outcome: o, At: ev.Timestamp}
}
