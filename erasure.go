package smartonboard

import (
	"context"
	"time"
)

// Erasure reports what erasing one end user removed.
type Erasure struct {
	UserID   string `json:"user_id"`
	Events   int64  `json:"events"`   // their events deleted
	Journeys int64  `json:"journeys"` // their journeys deleted, with facts, engagement and behaviour state
	// ActivityRows is how many activity rollup rows (minutes, hours, days)
	// were recomputed without the user.
	ActivityRows int `json:"activity_rows"`
}

// ErasureTx is the transaction of a user's erasure. Like a rebuild's, it
// holds the analytics consumer off and sees the log up to that consumer's
// cursor, so what it takes out of the rollups is exactly what the consumer
// had counted; events past the cursor are deleted before it counts them.
type ErasureTx interface {
	AnalyticsTx
	// UserFacts returns the stored facts of the user's journeys.
	UserFacts(ctx context.Context, projectID, userID string) ([]*JourneyFact, error)
	// CountedEvents calls fn, a chunk at a time, with the events of the users
	// whose event time is in [from, to) and that the analytics consumer has
	// counted (at or before its cursor).
	CountedEvents(ctx context.Context, projectID string, users []string, from, to time.Time, fn func([]*Event) error) error
	// SeenBetween returns the users first seen before to and last seen at or
	// after from: everyone who can have an event in [from, to).
	SeenBetween(ctx context.Context, projectID string, from, to time.Time) ([]string, error)
	// DeleteUser deletes the user and everything stored about them: the user
	// row, events, journeys and their facts and engagement, behaviour state,
	// struggle detections, interventions, and webhook deliveries about them.
	// It returns how many events and journeys went; a user with neither a
	// row nor events is a not_found error.
	DeleteUser(ctx context.Context, projectID, userID string) (events, journeys int64, err error)
}

// UserEraser runs an erasure in one transaction.
type UserEraser interface {
	EraseUser(ctx context.Context, fn func(ctx context.Context, tx ErasureTx) error) error
}
