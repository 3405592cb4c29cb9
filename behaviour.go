package smartonboard

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DerivedID is a UUIDv7 made from a time and what a record is about instead of
// randomness: ids still sort by time, and deriving the record again (a replay
// of the same events) gives the same id, so the store keeps it once.
func DerivedID(t time.Time, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var u uuid.UUID
	copy(u[6:], h.Sum(nil))
	ms := uint64(t.UnixMilli())
	u[0], u[1], u[2], u[3], u[4], u[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 4122 variant
	return u.String()
}

// StruggleRule names the rule a struggle detection fired under.
type StruggleRule string

// Struggle rules, with the earlier system's defaults in BehaviourDefaults.
const (
	RuleHesitation StruggleRule = "hesitation"         // one hesitation of at least HesitationSeconds
	RuleStuck      StruggleRule = "stuck"              // StuckSeconds on a step without progress, with hesitation or repeated clicks
	RuleErrors     StruggleRule = "repeated_errors"    // ErrorsPerStep errors on one step
	RuleStepBack   StruggleRule = "repeated_step_back" // StepBacks step_back events on one step
	RuleRageClick  StruggleRule = "rage_click"         // a rage click on the step
)

// StruggleRules lists every rule.
var StruggleRules = []StruggleRule{RuleHesitation, RuleStuck, RuleErrors, RuleStepBack, RuleRageClick}

// Detection is one stored struggle detection. Its id is derived from what it
// is about (project, user, flow, step, session, rule), so processing the same
// events again yields the same record, not a second one.
type Detection struct {
	ID         string       `json:"id"`
	ProjectID  string       `json:"project_id"`
	UserID     string       `json:"user_id"`
	JourneyID  string       `json:"journey_id"`
	Flow       string       `json:"flow"`
	Step       string       `json:"step"`
	SessionID  string       `json:"session_id"`
	Rule       StruggleRule `json:"rule"`
	Evidence   []string     `json:"evidence"` // ids of the events that made the rule fire, in order
	DetectedAt time.Time    `json:"detected_at"`
}

// InterventionKind is the sort of help an intervention offers.
type InterventionKind string

// Intervention kinds.
const (
	InterventionTip      InterventionKind = "tip"      // help content the step lists
	InterventionGuide    InterventionKind = "guide"    // the step's step-by-step content
	InterventionSimplify InterventionKind = "simplify" // the step's content one complexity level down
	InterventionHuman    InterventionKind = "human"    // an offer of human help, escalated by webhook
)

// InterventionKinds lists every kind.
var InterventionKinds = []InterventionKind{InterventionTip, InterventionGuide, InterventionSimplify, InterventionHuman}

// InterventionOutcome is what the user did with an intervention.
type InterventionOutcome string

// Outcomes a client reports.
const (
	OutcomeShown      InterventionOutcome = "shown"
	OutcomeAccepted   InterventionOutcome = "accepted"
	OutcomeDismissed  InterventionOutcome = "dismissed"
	OutcomeHelpful    InterventionOutcome = "helpful"
	OutcomeNotHelpful InterventionOutcome = "not_helpful"
)

// InterventionOutcomes lists every outcome.
var InterventionOutcomes = []InterventionOutcome{OutcomeShown, OutcomeAccepted, OutcomeDismissed, OutcomeHelpful, OutcomeNotHelpful}

// Trigger sources: what made an intervention due.
const (
	TriggerStruggle   = "struggle"    // a struggle detection
	TriggerLowSuccess = "low_success" // predicted success below the threshold
)

// Predictors that produced a low-success trigger's score.
const (
	PredictorHeuristic = "heuristic" // engagement and progress, until a model exists
	PredictorModel     = "model"     // the project's active success-prediction model
)

// Action is a button an intervention offers.
type Action struct {
	ID    string `json:"id"`
	Label string `json:"label"`
	URL   string `json:"url,omitempty"`
}

// Intervention is one triggered intervention: sent to the user, or recorded
// as held out (the user is in the holdout and got nothing).
type Intervention struct {
	ID          string           `json:"id"`
	ProjectID   string           `json:"project_id"`
	UserID      string           `json:"user_id"`
	JourneyID   string           `json:"journey_id"`
	Flow        string           `json:"flow"`
	Step        string           `json:"step"`
	SessionID   string           `json:"session_id"`
	Kind        InterventionKind `json:"kind"`
	Trigger     string           `json:"trigger"`      // TriggerStruggle or TriggerLowSuccess
	Rule        StruggleRule     `json:"rule"`         // for struggle triggers
	Predictor   string           `json:"predictor"`    // for low-success triggers
	Score       *float64         `json:"score"`        // the predicted success that triggered it
	DetectionID string           `json:"detection_id"` // for struggle triggers
	HeldOut     bool             `json:"held_out"`
	ContentID   string           `json:"content_id"`
	Title       string           `json:"title"`
	Body        string           `json:"body_html"` // sanitized HTML
	Actions     []Action         `json:"actions"`
	TriggeredAt time.Time        `json:"triggered_at"`

	ShownAt         *time.Time          `json:"shown_at"`
	AcceptedAt      *time.Time          `json:"accepted_at"`
	DismissedAt     *time.Time          `json:"dismissed_at"`
	Feedback        InterventionOutcome `json:"feedback"` // "", helpful or not_helpful
	StepCompletedAt *time.Time          `json:"step_completed_at"`
}

// Engagement levels and their thresholds, from the earlier system.
const (
	EngagementLow    = "low"    // score < 40
	EngagementMedium = "medium" // 40 ≤ score < 80
	EngagementHigh   = "high"   // score ≥ 80
)

// EngagementLevel names the level of a score from 0 to 100.
func EngagementLevel(score float64) string {
	switch {
	case score < 40:
		return EngagementLow
	case score < 80:
		return EngagementMedium
	}
	return EngagementHigh
}

// EngagementPoint is one minute of a journey's engagement series: the last
// score computed in that minute (and the session's score at that moment).
type EngagementPoint struct {
	ProjectID    string    `json:"project_id"`
	JourneyID    string    `json:"journey_id"`
	Minute       time.Time `json:"minute"`
	Score        float64   `json:"score"`
	Level        string    `json:"level"`
	SessionID    string    `json:"session_id"`
	SessionScore float64   `json:"session_score"`
}

// Cursor is a durable consumer's place in the event log: the last event it
// processed, in the engine's commit order.
type Cursor struct {
	Tx  int64 `json:"tx"`  // PostgreSQL: the inserting transaction's id; SQLite: 0
	Seq int64 `json:"seq"` // the event's sequence number
}

// UserBehaviour is a user's stored behavioural state, an opaque document the
// behaviour consumer reads and writes in its own transaction.
type UserBehaviour struct {
	ProjectID string
	UserID    string
	State     json.RawMessage
}

// ConsumerTx is what a durable consumer may do inside the transaction that also
// advances its cursor: what it writes commits with its place in the log, so a
// crash can neither lose nor repeat its work.
type ConsumerTx interface {
	// Journeys returns the users' journeys as stored now, keyed by user id.
	Journeys(ctx context.Context, projectID string, userIDs []string) (map[string][]*Journey, error)
	// LoadBehaviour returns the stored states of the users (missing ones are absent).
	LoadBehaviour(ctx context.Context, projectID string, userIDs []string) (map[string]json.RawMessage, error)
	// SaveBehaviour writes the states back.
	SaveBehaviour(ctx context.Context, states []UserBehaviour) error
	// InsertDetections stores the detections whose id is new and reports which were.
	InsertDetections(ctx context.Context, ds []*Detection) ([]bool, error)
	// InsertInterventions stores the interventions whose id is new and reports which were.
	InsertInterventions(ctx context.Context, is []*Intervention) ([]bool, error)
	// RecordOutcome applies an outcome to one intervention of the user at time at;
	// an intervention that is not the user's is InterventionNotFound.
	RecordOutcome(ctx context.Context, projectID, userID, id string, o InterventionOutcome, at time.Time) (*Intervention, error)
	// StepCompleted marks the user's interventions on the step triggered within
	// window before at, and not yet marked, as followed by the step's completion.
	StepCompleted(ctx context.Context, projectID, userID, flow, step string, at time.Time, window time.Duration) error
	// SaveEngagement upserts the points by (journey, minute) and the journeys'
	// latest scores.
	SaveEngagement(ctx context.Context, points []EngagementPoint) error
	// Enqueuer announces what the consumer found to webhooks, in its transaction.
	Enqueuer
	// AnalyticsTx keeps journey facts and rollups.
	AnalyticsTx
	// Continued tells whether this transaction starts where this process's
	// last committed one of the consumer left off: when it does, no other
	// instance has run the consumer since, and what the consumer remembers in
	// memory of its own writes still holds.
	Continued() bool
}

// InterventionFilter narrows an intervention listing.
type InterventionFilter struct {
	UserID  string
	Flow    string
	Step    string
	Kind    InterventionKind
	HeldOut *bool
	From    time.Time
	To      time.Time
	After   string // id of the last intervention already seen (newest first)
	Limit   int
}

// EffectCounts are, for one kind and step, the interventions sent and held out
// and how many were followed by the step's completion (within the window) and by
// the journey's completion.
type EffectCounts struct {
	Kind                 InterventionKind `json:"kind"`
	Step                 string           `json:"step"`
	Flow                 string           `json:"flow"`
	Sent                 int              `json:"sent"`
	SentStepCompleted    int              `json:"sent_step_completed"`
	SentJourneyCompleted int              `json:"sent_journey_completed"`
	HeldOut              int              `json:"held_out"`
	HeldStepCompleted    int              `json:"held_out_step_completed"`
	HeldJourneyCompleted int              `json:"held_out_journey_completed"`
	Shown                int              `json:"shown"`
	Accepted             int              `json:"accepted"`
	Dismissed            int              `json:"dismissed"`
	Helpful              int              `json:"helpful"`
	NotHelpful           int              `json:"not_helpful"`
}

// BehaviourStore keeps what the behaviour engine found, for the API.
type BehaviourStore interface {
	// ListInterventions returns up to f.Limit interventions, newest first.
	ListInterventions(ctx context.Context, projectID string, f InterventionFilter) ([]*Intervention, error)
	// FindIntervention returns one intervention or InterventionNotFound.
	FindIntervention(ctx context.Context, projectID, id string) (*Intervention, error)
	// RecordOutcome is ConsumerTx.RecordOutcome in a transaction of its own.
	RecordOutcome(ctx context.Context, projectID, userID, id string, o InterventionOutcome, at time.Time) (*Intervention, error)
	// InterventionEffects counts, per flow, step and kind, the interventions
	// triggered in [from, to).
	InterventionEffects(ctx context.Context, projectID string, from, to time.Time) ([]EffectCounts, error)
	// ListDetections returns a user's detections, newest first, up to limit.
	ListDetections(ctx context.Context, projectID, userID string, limit int) ([]*Detection, error)
	// JourneyEngagement returns the latest score of each journey that has one.
	JourneyEngagement(ctx context.Context, journeyIDs []string) (map[string]float64, error)
	// EngagementSeries returns a journey's points in time order.
	EngagementSeries(ctx context.Context, projectID, journeyID string) ([]EngagementPoint, error)
}

// ConsumeOptions tune one consumer transaction.
type ConsumeOptions struct {
	Limit int // events at most
	// Recent are the events this instance committed last, in commit order:
	// when they are exactly the next events of the log, the engine may hand
	// them over instead of reading them back.
	Recent []*Event
	// After names the consumer this one follows: only events at or before
	// that consumer's cursor are seen, so its output for them is committed.
	After string
	// Derived says the consumer's whole output is recomputed from the log if
	// a crash loses it: the engine may commit without waiting for the disk
	// (PostgreSQL's synchronous_commit off), since the output and the cursor
	// are lost together and the events are read again.
	Derived bool
	// Handed are batches the followed consumer (After) committed, in order,
	// each with the cursor before and after it: when they continue from this
	// consumer's cursor (TakeHandoffs), the engine may take them instead of
	// reading the same rows back (PostgreSQL, whose events are not numbered
	// until they commit, has no Recent).
	Handed []Handoff
	// Span, when set, receives the cursor before and after the batch consumed
	// (its From and To; Events is left as the caller set it).
	Span *Handoff
}

// Handoff is one committed consumer batch: its events and the cursor before
// (From) and after (To) them.
type Handoff struct {
	From, To Cursor
	Events   []*Event
	// At is each event's place in the log where the engine reports it
	// (PostgreSQL), so a follower whose cursor stopped inside the batch can
	// take the rest of it.
	At []Cursor
}

// AtMost tells whether c comes at or before d in the log.
func (c Cursor) AtMost(d Cursor) bool { return c.Tx < d.Tx || c.Tx == d.Tx && c.Seq <= d.Seq }

// TakeHandoffs returns the events of the handoffs that continue from c, one
// after another, up to limit events (at least one handoff; the last one
// taken in part when every one taken has At, so that a backlog fills the
// batch), the cursor after them, and their places in the log (nil unless
// every handoff taken has At); the first may be entered at c when its At
// says c is one of its events. ok is false when none continues from c.
func TakeHandoffs(handed []Handoff, c Cursor, limit int) (events []*Event, at []Cursor, to Cursor, ok bool) {
	to, placed := c, true
	for _, h := range handed {
		if h.To.AtMost(to) {
			continue // wholly behind the cursor
		}
		start := 0
		if h.From != to {
			if start = entry(h, to); len(events) > 0 || start < 0 {
				break
			}
		}
		rest := h.Events[start:]
		if len(rest) == 0 {
			break
		}
		if room := limit - len(events); len(events) > 0 && len(rest) > room {
			if placed && len(h.At) == len(h.Events) && room > 0 { // part of it, up to the limit: a full batch tells the caller more is waiting
				events, to = append(events, rest[:room]...), h.At[start+room-1]
				at = append(at, h.At[start:start+room]...)
			}
			break
		}
		events, to = append(events, rest...), h.To
		if placed = placed && len(h.At) == len(h.Events); placed {
			at = append(at, h.At[start:]...)
		}
	}
	if !placed {
		at = nil
	}
	return events, at, to, len(events) > 0
}

// entry is the index of the event right after c in h, when c is the place of
// one of h's events, or -1.
func entry(h Handoff, c Cursor) int {
	if len(h.At) != len(h.Events) {
		return -1
	}
	for i, at := range h.At {
		if at == c {
			return i + 1
		}
		if !at.AtMost(c) {
			break
		}
	}
	return -1
}

// PipelineStore runs durable consumers over the event log.
type PipelineStore interface {
	// StartConsumer creates the consumer's cursor at the end of the log unless it
	// exists: a consumer added to a running installation starts with the events
	// that commit after it, not with the whole history.
	StartConsumer(ctx context.Context, consumer string) error
	// Consume runs fn, in one transaction, over up to limit committed events
	// after the consumer's cursor, in commit order, and advances the cursor past
	// them; it returns how many events fn saw (0: none were waiting). Only one
	// instance runs a consumer at a time; another waits for it. Events that
	// commit late (an overlapping transaction) are never skipped.
	Consume(ctx context.Context, consumer string, limit int, fn func(ctx context.Context, tx ConsumerTx, events []*Event) error) (int, error)
	// ConsumeWith is Consume with options: a consumer that follows another
	// only sees events the other has processed, and the events this instance
	// committed last may be handed to fn instead of being read back.
	ConsumeWith(ctx context.Context, consumer string, opts ConsumeOptions, fn func(ctx context.Context, tx ConsumerTx, events []*Event) error) (int, error)
	// ConsumerLag reports the consumer's cursor and how many committed events lie
	// beyond it (counted up to max).
	ConsumerLag(ctx context.Context, consumer string, max int) (Cursor, int, error)
}

// MarshalJSON renders timestamps with milliseconds, as the API promises.
func (d Detection) MarshalJSON() ([]byte, error) {
	type plain Detection
	return json.Marshal(struct {
		plain
		DetectedAt string `json:"detected_at"`
	}{plain(d), FormatTime(d.DetectedAt)})
}

// MarshalJSON renders timestamps with milliseconds, as the API promises.
func (i Intervention) MarshalJSON() ([]byte, error) {
	type plain Intervention
	actions := i.Actions
	if actions == nil {
		actions = []Action{}
	}
	return json.Marshal(struct {
		plain
		Actions         []Action `json:"actions"`
		TriggeredAt     string   `json:"triggered_at"`
		ShownAt         *string  `json:"shown_at"`
		AcceptedAt      *string  `json:"accepted_at"`
		DismissedAt     *string  `json:"dismissed_at"`
		StepCompletedAt *string  `json:"step_completed_at"`
	}{plain(i), actions, FormatTime(i.TriggeredAt), FormatOptionalTime(i.ShownAt), FormatOptionalTime(i.AcceptedAt),
		FormatOptionalTime(i.DismissedAt), FormatOptionalTime(i.StepCompletedAt)})
}

// CursorMemo remembers where this process's last committed transaction of
// each consumer left its cursor; engines use it to answer ConsumerTx.Continued.
type CursorMemo struct {
	mu sync.Mutex
	at map[string]Cursor
}

// Continues tells whether the cursor read now is where this process left it.
func (m *CursorMemo) Continues(consumer string, c Cursor) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	last, ok := m.at[consumer]
	return ok && last == c
}

// Left records the cursor a committed transaction wrote.
func (m *CursorMemo) Left(consumer string, c Cursor) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at == nil {
		m.at = map[string]Cursor{}
	}
	m.at[consumer] = c
}
