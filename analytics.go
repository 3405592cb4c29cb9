package smartonboard

import (
	"context"
	"fmt"
	"time"

	gojson "github.com/goccy/go-json"
)

// JourneyFact is what analytics keeps of one journey: its state when the
// analytics consumer last saw it, reduced to what the reports count. Rollups
// are sums of facts, so a journey's contribution can be taken out again (a
// new revision replaces it; an erased user's facts are subtracted).
type JourneyFact struct {
	ProjectID string        `json:"project_id"`
	JourneyID string        `json:"journey_id"`
	UserID    string        `json:"user_id"`
	Flow      string        `json:"flow"`
	Version   int           `json:"version"`
	Revision  int           `json:"revision"`
	StartHour time.Time     `json:"start_hour"` // the hour the journey started: the cohort it counts in
	Status    JourneyStatus `json:"status"`
	// CompleteSeconds is the time from start to completion, once completed.
	CompleteSeconds *float64 `json:"complete_seconds,omitempty"`
	// ValueSeconds is the time from the user's first event to completion (time to value).
	ValueSeconds *float64 `json:"value_seconds,omitempty"`
	// Step is the step the journey is on, or its last step once it has none.
	Step string `json:"step,omitempty"`
	// EngagementBucket is the journey's latest engagement score in tens
	// (0: below 10 … 9: 90 and above), when the behaviour engine scored it.
	EngagementBucket *int       `json:"engagement_bucket,omitempty"`
	Steps            []StepFact `json:"steps"`
}

// EncodeFact and DecodeFact store a fact as JSON with goccy/go-json, which
// the analytics consumer calls for every journey of a batch (faster than
// encoding/json; TestFactJSONMatchesEncodingJSON keeps the two in agreement).
func EncodeFact(f *JourneyFact) ([]byte, error) { return gojson.Marshal(f) }

// DecodeFact reads what EncodeFact wrote.
func DecodeFact(b []byte) (*JourneyFact, error) {
	f := &JourneyFact{}
	if err := gojson.Unmarshal(b, f); err != nil {
		return nil, fmt.Errorf("journey fact: %w", err)
	}
	return f, nil
}

// StepFact is one step of a journey as the funnel counts it.
type StepFact struct {
	Key       string `json:"key"`
	Reached   bool   `json:"reached,omitempty"`   // the journey got to it: started, finished, or its prerequisites done
	Started   bool   `json:"started,omitempty"`   // the user began it
	Completed bool   `json:"completed,omitempty"` // finished by completing it
	Skipped   bool   `json:"skipped,omitempty"`   // finished by skipping it
	Dropped   bool   `json:"dropped,omitempty"`   // the journey was abandoned here
	Struggled bool   `json:"struggled,omitempty"` // a struggle was detected on it
	// Rules are the struggle rules detected on it, sorted.
	Rules []string `json:"rules,omitempty"`
	// Seconds is the time spent on the step, once completed.
	Seconds *float64 `json:"seconds,omitempty"`
}

// RollupUnit is the span one activity row covers.
type RollupUnit string

// Activity is kept per minute (recent days only: "active now" and short
// series), per hour (any window) and per UTC day (the whole days of a long
// window, whose users are then merged from one sketch a day, not 24).
const (
	UnitMinute RollupUnit = "minute"
	UnitHour   RollupUnit = "hour"
	UnitDay    RollupUnit = "day"
)

// ActivityRollup counts the events and distinct users of one minute, hour or
// day, by event time.
type ActivityRollup struct {
	ProjectID string
	Unit      RollupUnit
	Start     time.Time
	Events    int64
	Users     []byte // a HyperLogLog sketch of the user ids
	Abandoned int64  // journeys abandoned in it, by when it happened
}

// JourneyRollup counts the journeys of one flow version that started in one hour.
type JourneyRollup struct {
	ProjectID       string
	Hour            time.Time
	Flow            string
	Version         int
	Started         int64
	Completed       int64
	Abandoned       int64
	CompleteSeconds []byte // a histogram of start-to-completion times
	ValueSeconds    []byte // a histogram of first-event-to-completion times
}

// StepRollup counts, per step, the journeys of one flow version that started in one hour.
type StepRollup struct {
	ProjectID string
	Hour      time.Time
	Flow      string
	Version   int
	Step      string
	Reached   int64
	Started   int64
	Completed int64
	Skipped   int64
	Dropped   int64
	Struggled int64
	Seconds   []byte // a histogram of time on the step
	// Engagement counts the journeys on the step by engagement bucket, and
	// Rules the journeys by struggle rule detected on it (analytics.Counter).
	Engagement []byte
	Rules      []byte
}

// Rollups is a set of rollup rows: what a consumer transaction read or writes.
type Rollups struct {
	Activity []ActivityRollup
	Journeys []JourneyRollup
	// JourneyDays are journey rows of a UTC day's cohort (Hour is the day's
	// start), kept beside the hour rows so that a long window's overview
	// merges a row a day.
	JourneyDays []JourneyRollup
	Steps       []StepRollup
}

// RollupQuery selects rollup rows: one project, start times in [From, To),
// optionally one flow and one version (0: all).
type RollupQuery struct {
	ProjectID string
	From, To  time.Time
	Flow      string
	Version   int
}

// AnalyticsTx is what the analytics consumer reads and writes inside its
// transaction. Only that consumer (and a rebuild, which holds it off) writes
// facts and rollups, so reading rows and writing them back loses nothing.
type AnalyticsTx interface {
	// LoadFacts returns the stored facts of the journeys, keyed by journey id.
	LoadFacts(ctx context.Context, projectID string, journeyIDs []string) (map[string]*JourneyFact, error)
	// SaveFacts upserts the facts by journey id.
	SaveFacts(ctx context.Context, facts []*JourneyFact) error
	// Struggles returns, per journey id and step, the struggle rules detected (sorted).
	Struggles(ctx context.Context, projectID string, journeyIDs []string) (map[string]map[string][]string, error)
	// Engagement returns the journeys' latest engagement scores.
	Engagement(ctx context.Context, projectID string, journeyIDs []string) (map[string]float64, error)
	// FirstSeen returns when each user was first seen, keyed by user id.
	FirstSeen(ctx context.Context, projectID string, userIDs []string) (map[string]time.Time, error)
	// LoadRollups returns the stored rows with the same keys as the given ones
	// (their counts are ignored); missing rows are absent.
	LoadRollups(ctx context.Context, keys *Rollups) (*Rollups, error)
	// SaveRollups upserts whole rows by key, and deletes the rows given that
	// are Empty.
	SaveRollups(ctx context.Context, rows *Rollups) error
	// PruneMinutes deletes the activity minutes that start before the time.
	PruneMinutes(ctx context.Context, before time.Time) error
}

// AnalyticsStore answers reports from rollups, never from raw events; a
// report of a segment of users (by trait) sums their journey facts instead.
type AnalyticsStore interface {
	// EachFact calls fn with the facts of the journeys the query selects whose
	// users have every trait (name → string value) given, a chunk at a time.
	EachFact(ctx context.Context, q RollupQuery, traits map[string]string, fn func([]*JourneyFact) error) error
	// ActivityRollups returns the project's activity rows of the unit that start in the window.
	ActivityRollups(ctx context.Context, q RollupQuery, unit RollupUnit) ([]ActivityRollup, error)
	// ActivityCounts is ActivityRollups without the users sketches, which
	// series and totals do not need and which are most of a row's bytes.
	ActivityCounts(ctx context.Context, q RollupQuery, unit RollupUnit) ([]ActivityRollup, error)
	// JourneyRollups returns the journey rows the query selects.
	JourneyRollups(ctx context.Context, q RollupQuery) ([]JourneyRollup, error)
	// JourneyCounts is JourneyRollups without the histograms.
	JourneyCounts(ctx context.Context, q RollupQuery) ([]JourneyRollup, error)
	// JourneyDays returns the day rows of journeys (Rollups.JourneyDays) the
	// query selects, by their day's start.
	JourneyDays(ctx context.Context, q RollupQuery) ([]JourneyRollup, error)
	// StepRollups returns the step rows the query selects.
	StepRollups(ctx context.Context, q RollupQuery) ([]StepRollup, error)
	// RejectedEvents returns the project's rejection counts whose hour is in
	// the window (flow and version do not apply), by hour and code.
	RejectedEvents(ctx context.Context, q RollupQuery) ([]RejectionCount, error)
}

// RebuildTx is the transaction of an analytics rebuild: it holds the
// analytics consumer off, and sees the log up to that consumer's cursor, so
// what it recomputes replaces exactly what the consumer had counted.
type RebuildTx interface {
	AnalyticsTx
	// ClearAnalytics deletes the rollup rows that start at or after from and
	// the facts of journeys that started at or after from.
	ClearAnalytics(ctx context.Context, from time.Time) error
	// EachJourney calls fn with every stored journey, a chunk at a time.
	EachJourney(ctx context.Context, fn func([]*Journey) error) error
	// EachEvent calls fn with every event up to the analytics cursor, in log
	// order, a chunk at a time.
	EachEvent(ctx context.Context, fn func([]*Event) error) error
}

// AnalyticsRebuilder runs a rebuild in one transaction.
type AnalyticsRebuilder interface {
	RebuildAnalytics(ctx context.Context, fn func(ctx context.Context, tx RebuildTx) error) error
}

// SegmentCount is the journeys of one flow started in a window by users
// with one (string) value of a trait.
type SegmentCount struct {
	Flow      string
	Trait     string
	Value     string
	Started   int64
	Completed int64
}

// InsightStore counts segments from journey facts and keeps each project's
// latest insights.
type InsightStore interface {
	// SegmentCounts counts, per flow and string value of each trait, the
	// journeys started in [from, to) and how many completed.
	SegmentCounts(ctx context.Context, projectID string, from, to time.Time, traits []string) ([]SegmentCount, error)
	// SaveInsights replaces the project's insights.
	SaveInsights(ctx context.Context, projectID string, at time.Time, doc []byte) error
	// LatestInsights returns the project's insights and when they were
	// computed; none yet is a not_found error.
	LatestInsights(ctx context.Context, projectID string) ([]byte, time.Time, error)
}

// Empty tells whether the row counts nothing; SaveRollups deletes such rows
// (an erasure can take a row's last user out), so stored rows are the ones a
// rebuild makes.
func (a ActivityRollup) Empty() bool { return a.Events == 0 && a.Abandoned == 0 && len(a.Users) == 0 }

// Empty tells whether the row counts nothing (see ActivityRollup.Empty).
func (j JourneyRollup) Empty() bool {
	return j.Started == 0 && j.Completed == 0 && j.Abandoned == 0 && len(j.CompleteSeconds) == 0 && len(j.ValueSeconds) == 0
}

// Empty tells whether the row counts nothing (see ActivityRollup.Empty).
func (s StepRollup) Empty() bool {
	return s.Reached == 0 && s.Started == 0 && s.Completed == 0 && s.Skipped == 0 && s.Dropped == 0 && s.Struggled == 0 &&
		len(s.Seconds) == 0 && len(s.Engagement) == 0 && len(s.Rules) == 0
}
