package smartonboard

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EventType is what happened in the browser.
type EventType string

// Event types the SDK sends.
const (
	EventSessionStarted       EventType = "session_started"
	EventSessionEnded         EventType = "session_ended"
	EventPageViewed           EventType = "page_viewed"
	EventStepViewed           EventType = "step_viewed"
	EventStepStarted          EventType = "step_started"
	EventStepCompleted        EventType = "step_completed"
	EventStepSkipped          EventType = "step_skipped"
	EventStepBack             EventType = "step_back"
	EventClick                EventType = "click"
	EventRageClick            EventType = "rage_click"
	EventHesitation           EventType = "hesitation"
	EventError                EventType = "error"
	EventIdle                 EventType = "idle"
	EventHelpOpened           EventType = "help_opened"
	EventHelpClosed           EventType = "help_closed"
	EventInterventionShown    EventType = "intervention_shown"
	EventInterventionAccepted EventType = "intervention_accepted"
	EventInterventionDismiss  EventType = "intervention_dismissed"
	EventCustom               EventType = "custom"
)

// Events the server logs itself, never sent by clients, so that durable
// consumers (analytics) learn of journeys that moved without a client event
// from the log like of everything else: a journey started through the API,
// and one the abandonment job abandoned.
const (
	EventJourneyStarted   EventType = "journey_started"
	EventJourneyAbandoned EventType = "journey_abandoned"
)

// ServerEvent tells whether the server logged the event itself: consumers of
// user behaviour skip such events.
func ServerEvent(t EventType) bool { return t == EventJourneyStarted || t == EventJourneyAbandoned }

// StartedEvent is the journey_started event of a journey started through
// the API; its id is derived from the journey, so it is logged once.
func StartedEvent(j *Journey) *Event {
	props, _ := json.Marshal(struct {
		JourneyID string `json:"journey_id"`
	}{j.ID})
	return &Event{ProjectID: j.ProjectID, ID: DerivedID(j.StartedAt, j.ProjectID, j.ID, string(EventJourneyStarted)),
		Type: EventJourneyStarted, UserID: j.UserID, Flow: j.FlowKey, Step: j.CurrentStep, Timestamp: j.StartedAt,
		ReceivedAt: j.StartedAt, Properties: props}
}

// AbandonedEvent is the journey_abandoned event of a journey the job
// abandoned at now for no activity since before. It happened once the journey
// had been idle that long (at most now), so that imported history's
// abandonments fall on their own days; its id is derived, so a retried job
// logs it once.
func AbandonedEvent(j *Journey, before, now time.Time) *Event {
	at := j.LastActivityAt.Add(now.Sub(before))
	if at.After(now) {
		at = now
	}
	props, _ := json.Marshal(struct {
		JourneyID string `json:"journey_id"`
		Revision  int    `json:"revision"`
	}{j.ID, j.Revision})
	return &Event{ProjectID: j.ProjectID, ID: DerivedID(at, j.ProjectID, j.ID, string(EventJourneyAbandoned), strconv.Itoa(j.Revision)),
		Type: EventJourneyAbandoned, UserID: j.UserID, Flow: j.FlowKey, Step: j.CurrentStep, Timestamp: at, ReceivedAt: now,
		Properties: props}
}

// EventTypes lists every event type a client may send.
var EventTypes = []EventType{EventSessionStarted, EventSessionEnded, EventPageViewed, EventStepViewed,
	EventStepStarted, EventStepCompleted, EventStepSkipped, EventStepBack, EventClick, EventRageClick,
	EventHesitation, EventError, EventIdle, EventHelpOpened, EventHelpClosed, EventInterventionShown,
	EventInterventionAccepted, EventInterventionDismiss, EventCustom}

// stepEvents must name a flow and a step.
var stepEvents = []EventType{EventStepViewed, EventStepStarted, EventStepCompleted, EventStepSkipped, EventStepBack}

// Event limits from the API contract.
const (
	MaxEventsPerBatch  = 500
	MaxEventBatchBytes = 1 << 20
	MaxEventIDLen      = 64
	MaxPropertiesBytes = 8 * 1024
	MaxFutureSkew      = 5 * time.Minute
	maxSessionIDLen    = 128
	maxEventNameLen    = 100
)

// MinEventTime is the earliest event timestamp accepted: nothing the SDK sends
// predates it, so an older one is a client bug (a zero or unset clock), and
// refusing it keeps year-0 dates out of both engines' time arithmetic.
var MinEventTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Event is one stored behavioural event: append-only, idempotent by (project, id).
type Event struct {
	ProjectID  string          `json:"project_id"`
	ID         string          `json:"id"`
	Type       EventType       `json:"type"`
	UserID     string          `json:"user_id"`
	SessionID  string          `json:"session_id"`
	Flow       string          `json:"flow"`
	Step       string          `json:"step"`
	Timestamp  time.Time       `json:"timestamp"`
	ReceivedAt time.Time       `json:"received_at"`
	Properties json.RawMessage `json:"properties"`
	// Seq is the event's place in the log where the engine knows it at insert
	// (SQLite), or 0; it lets a consumer skip reading back what it was handed.
	Seq int64 `json:"-"`
}

// MarshalJSON renders timestamps with milliseconds.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	return json.Marshal(struct {
		plain
		Timestamp  string `json:"timestamp"`
		ReceivedAt string `json:"received_at"`
	}{plain(e), FormatTime(e.Timestamp), FormatTime(e.ReceivedAt)})
}

// EventInput is one event as a client sends it; the timestamp stays a string so a
// bad one is reported against its field.
type EventInput struct {
	ID         string          `json:"id"`
	Type       EventType       `json:"type"`
	UserID     string          `json:"user_id"`
	SessionID  string          `json:"session_id"`
	Flow       string          `json:"flow"`
	Step       string          `json:"step"`
	Timestamp  string          `json:"timestamp"`
	Properties json.RawMessage `json:"properties"`
}

// PastEvent is how long before its arrival an event may have happened and
// still count as live: history imported today (POST /v1/import) happened
// days ago, and a client clock is rarely an hour slow.
const PastEvent = time.Hour

// Historic tells an event that arrived over PastEvent after it happened: it
// counts in history, but is neither live activity nor help's moment.
func (e *Event) Historic() bool { return e.ReceivedAt.Sub(e.Timestamp) > PastEvent }

// ActiveAt is when the server takes the event's user to have been active: on
// its own clock, which a client cannot move, for a live event, and when it
// happened for history, which only ever makes a journey older.
func (e *Event) ActiveAt() time.Time {
	if e.Historic() {
		return e.Timestamp
	}
	return e.ReceivedAt
}

// NewEvent validates client input received at `received` and builds the event.
func NewEvent(projectID string, in EventInput, received time.Time) (*Event, error) {
	e := &Event{ProjectID: projectID, ID: in.ID, Type: in.Type, UserID: in.UserID, SessionID: in.SessionID,
		Flow: in.Flow, Step: in.Step, ReceivedAt: received, Properties: in.Properties}
	if err := checkText("id", in.ID, 1, MaxEventIDLen); err != nil {
		return nil, err
	}
	if err := checkEnum("type", in.Type, EventTypes); err != nil {
		return nil, err
	}
	if err := CheckUserID("user_id", in.UserID); err != nil {
		return nil, err
	}
	if err := checkText("session_id", in.SessionID, 0, maxSessionIDLen); err != nil {
		return nil, err
	}
	if err := e.checkFlowStep(); err != nil {
		return nil, err
	}
	ts, err := time.Parse(time.RFC3339Nano, in.Timestamp)
	switch {
	case in.Timestamp == "":
		return nil, FieldErrorf(EINVALID, "timestamp", "is required (RFC 3339, e.g. 2026-11-25T10:00:00.123Z)")
	case err != nil:
		return nil, FieldErrorf(EINVALID, "timestamp", "%q is not an RFC 3339 timestamp", in.Timestamp)
	case ts.Before(MinEventTime):
		return nil, FieldErrorf(EINVALID, "timestamp", "%q is before %s; check the client clock", in.Timestamp, MinEventTime.Format(time.RFC3339))
	case ts.After(received.Add(MaxFutureSkew)):
		return nil, FieldErrorf(EINVALID, "timestamp", "is more than %s in the future; check the client clock", MaxFutureSkew)
	}
	e.Timestamp = Truncate(ts)
	return e, e.checkProperties()
}

func (e *Event) checkFlowStep() error {
	if e.Flow != "" {
		if err := CheckKey("flow", e.Flow); err != nil {
			return err
		}
	}
	if e.Step != "" {
		if err := CheckKey("step", e.Step); err != nil {
			return err
		}
	}
	if slices.Contains(stepEvents, e.Type) && (e.Flow == "" || e.Step == "") {
		field := "flow"
		if e.Flow != "" {
			field = "step"
		}
		return FieldErrorf(EINVALID, field, "is required for %s events", e.Type)
	}
	return nil
}

func (e *Event) checkProperties() error {
	if len(e.Properties) == 0 || string(e.Properties) == "null" {
		e.Properties = json.RawMessage("{}")
	}
	if err := CheckJSONObject("properties", e.Properties, MaxPropertiesBytes); err != nil {
		return err
	}
	if e.Type == EventCustom {
		var p struct {
			Name *string `json:"name"`
		}
		if json.Unmarshal(e.Properties, &p) != nil || p.Name == nil || strings.TrimSpace(*p.Name) == "" || len(*p.Name) > maxEventNameLen {
			return FieldErrorf(EINVALID, "properties.name", "custom events need a name of 1 to %d characters", maxEventNameLen)
		}
	}
	return nil
}

// IngestTx is what the ingestion transaction lets the journey engine do, so that
// journey changes commit together with the events that cause them.
type IngestTx interface {
	// LockJourneys returns every journey of the users, locked until commit.
	LockJourneys(ctx context.Context, projectID string, userIDs []string) ([]*Journey, error)
	// InsertJourneys stores each journey unless its user already has one in its
	// flow, and returns the stored journeys in input order either way.
	InsertJourneys(ctx context.Context, js []*Journey) ([]*Journey, error)
	// SaveJourneys writes changed journeys back by id; one that is not stored is
	// NotFound("journey", id).
	SaveJourneys(ctx context.Context, js []*Journey) error
	// TouchUsers creates the users that do not exist yet, and moves first_seen_at
	// back and last_seen_at forward to cover each user's sighting.
	TouchUsers(ctx context.Context, projectID string, seen map[string]Sighting) error
	// EventOwners returns, for each event, the user id stored with its
	// (project, id), as this transaction sees it, or "" when none is stored.
	EventOwners(ctx context.Context, events []*Event) ([]string, error)
}

// Outcome is what one ingestion transaction did to journeys, for the response
// and the pipeline's consumers.
type Outcome struct {
	Seen      map[UserRef]Sighting // sightings written, remembered by the journey engine once committed
	Notices   map[*Event]*Notice
	Changed   []*Journey
	Started   map[string]int // journeys live events started, by project (the live counters')
	Completed map[string]int // journeys live events completed, by project
	// Backfilled counts the journeys historic events (an import, a seed)
	// started or completed: history, not live activity.
	Backfilled struct{ Started, Completed int }
}

// UserRef names one end user of one project.
type UserRef struct{ ProjectID, UserID string }

// SeenPrecision is how exact an end user's last_seen_at is kept: an instance that
// wrote a user's sighting less than this long ago does not write it again, which
// spares one row write per user per transaction on the ingestion hot path.
const SeenPrecision = time.Minute

// Sighting is the span of one user's events in a batch.
type Sighting struct{ First, Last time.Time }

// Sightings gathers, per user, the first and last event time of the events.
func Sightings(events []*Event) map[string]Sighting {
	seen := map[string]Sighting{}
	for _, e := range events {
		s, ok := seen[e.UserID]
		switch {
		case !ok:
			s = Sighting{e.Timestamp, e.Timestamp}
		case e.Timestamp.Before(s.First):
			s.First = e.Timestamp
		case e.Timestamp.After(s.Last):
			s.Last = e.Timestamp
		}
		seen[e.UserID] = s
	}
	return seen
}

// EventStore keeps the append-only event log.
type EventStore interface {
	// IngestEvents inserts, in one transaction, each event whose (project, id) is
	// not stored yet, then calls apply with the inserted events in input order; if
	// apply fails nothing is committed. It reports per input event whether it was
	// inserted (false: the id is taken, by a retry of the event or by another
	// user's event, which apply may tell apart with EventOwners). A nil error
	// means everything is durable.
	IngestEvents(ctx context.Context, events []*Event, apply func(ctx context.Context, tx IngestTx, inserted []*Event) error) ([]bool, error)
	// ListUserEvents returns a user's events in timestamp order, up to limit.
	ListUserEvents(ctx context.Context, projectID, userID string, limit int) ([]*Event, error)
	// CountEvents counts a project's stored events.
	CountEvents(ctx context.Context, projectID string) (int, error)
}
