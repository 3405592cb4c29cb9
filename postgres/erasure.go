package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// erasureTx is the transaction of an erasure, holding the analytics
// consumer off as a rebuild does, and the analytics cursor.
type erasureTx struct {
	*consumerTx
	upTo so.Cursor // the analytics cursor
}

// EraseUser implements smartonboard.UserEraser. It also holds the behaviour
// consumer off: a batch of it in flight could otherwise write the user's
// state, detections and interventions back after the erasure commits.
// (Neither consumer locks the other's cursor, so the order cannot deadlock.)
func (db *DB) EraseUser(ctx context.Context, fn func(context.Context, so.ErasureTx) error) error {
	return db.holdingAnalytics(ctx, func(tx *consumerTx, upTo so.Cursor) error {
		if _, err := tx.tx.Exec(ctx, `SELECT 1 FROM pipeline_cursors WHERE consumer = 'behaviour' FOR UPDATE`); err != nil {
			return mapError(err, "pipeline cursor")
		}
		return fn(ctx, erasureTx{consumerTx: tx, upTo: upTo})
	})
}

// UserFacts implements smartonboard.ErasureTx.
func (t erasureTx) UserFacts(ctx context.Context, projectID, userID string) ([]*so.JourneyFact, error) {
	rows, _ := t.tx.Query(ctx, `SELECT fact FROM journey_facts WHERE project_id = $1 AND user_id = $2 ORDER BY journey_id`,
		projectID, userID)
	facts, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.JourneyFact, error) {
		var doc []byte
		if err := row.Scan(&doc); err != nil {
			return nil, err
		}
		return so.DecodeFact(doc)
	})
	return facts, mapError(err, "journey facts")
}

// usersChunk bounds the user ids of one CountedEvents query.
const usersChunk = 1000

// CountedEvents implements smartonboard.ErasureTx, through the events' user index.
func (t erasureTx) CountedEvents(ctx context.Context, projectID string, users []string, from, to time.Time, fn func([]*so.Event) error) error {
	for start := 0; start < len(users); start += usersChunk {
		if err := t.countedEvents(ctx, projectID, users[start:min(start+usersChunk, len(users))], from, to, fn); err != nil {
			return err
		}
	}
	return nil
}

func (t erasureTx) countedEvents(ctx context.Context, projectID string, users []string, from, to time.Time, fn func([]*so.Event) error) error {
	rows, err := t.tx.Query(ctx, `SELECT tx, seq, `+eventColumns+` FROM events
		WHERE project_id = $1 AND user_id = ANY ($2) AND ts >= $3 AND ts < $4 AND (tx, seq) <= ($5, $6)`,
		projectID, users, from, to, t.upTo.Tx, t.upTo.Seq)
	if err != nil {
		return mapError(err, "events")
	}
	defer rows.Close()
	var chunk []*so.Event
	for rows.Next() {
		var at so.Cursor
		e, err := scanEvent(prefixedRow{rows, []any{&at.Tx, &at.Seq}})
		if err != nil {
			return mapError(err, "events")
		}
		if chunk = append(chunk, e); len(chunk) == rebuildChunk {
			if err := fn(chunk); err != nil {
				return err
			}
			chunk = nil
		}
	}
	if err := rows.Err(); err != nil {
		return mapError(err, "events")
	}
	if len(chunk) == 0 {
		return nil
	}
	return fn(chunk)
}

// SeenBetween implements smartonboard.ErasureTx.
func (t erasureTx) SeenBetween(ctx context.Context, projectID string, from, to time.Time) ([]string, error) {
	rows, _ := t.tx.Query(ctx, `SELECT user_id FROM end_users
		WHERE project_id = $1 AND first_seen_at < $2 AND last_seen_at >= $3 ORDER BY user_id`, projectID, to, from)
	users, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return users, mapError(err, "users")
}

// DeleteUser implements smartonboard.ErasureTx. Facts, engagement points and
// journey engagement would go by their journeys' cascade; they are named
// anyway, in the order the rows depend on each other.
func (t erasureTx) DeleteUser(ctx context.Context, projectID, userID string) (events, journeys int64, err error) {
	const ofJourneys = `journey_id IN (SELECT id FROM journeys WHERE project_id = $1 AND user_id = $2)`
	var users int64
	counts := map[string]*int64{"events": &events, "journeys": &journeys, "end_users": &users}
	for _, stmt := range []struct{ table, where string }{
		{"journey_facts", `project_id = $1 AND user_id = $2`},
		{"engagement_points", ofJourneys},
		{"journey_engagement", ofJourneys},
		{"struggle_detections", `project_id = $1 AND user_id = $2`},
		{"interventions", `project_id = $1 AND user_id = $2`},
		{"behaviour_states", `project_id = $1 AND user_id = $2`},
		{"webhook_deliveries", `project_id = $1 AND payload::jsonb #>> '{data,user_id}' = $2`},
		{"journeys", `project_id = $1 AND user_id = $2`},
		{"events", `project_id = $1 AND user_id = $2`},
		{"end_users", `project_id = $1 AND user_id = $2`},
	} {
		tag, err := t.tx.Exec(ctx, `DELETE FROM `+stmt.table+` WHERE `+stmt.where, projectID, userID)
		if err != nil {
			return 0, 0, mapError(err, stmt.table)
		}
		if n, ok := counts[stmt.table]; ok {
			*n = tag.RowsAffected()
		}
	}
	if users+events+journeys == 0 {
		return 0, 0, so.UserNotFound(userID)
	}
	return events, journeys, nil
}
