package sqlite

import (
	"context"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// erasureTx is the write transaction of an erasure and the analytics cursor
// it read.
type erasureTx struct {
	consumerTx
	upTo int64 // the analytics cursor
}

// EraseUser implements smartonboard.UserEraser. SQLite's one writer runs it
// between two consumer batches, and a batch after it finds the user's events
// gone from the log, even those it was handed in memory.
func (db *DB) EraseUser(ctx context.Context, fn func(context.Context, so.ErasureTx) error) error {
	return db.holdingAnalytics(ctx, func(tx consumerTx, upTo int64) error {
		return fn(ctx, erasureTx{consumerTx: tx, upTo: upTo})
	})
}

// UserFacts implements smartonboard.ErasureTx.
func (t erasureTx) UserFacts(ctx context.Context, projectID, userID string) ([]*so.JourneyFact, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT fact FROM journey_facts WHERE project_id = ? AND user_id = ? ORDER BY journey_id`,
		projectID, userID)
	var out []*so.JourneyFact
	err = eachFact(rows, err, func(f *so.JourneyFact) { out = append(out, f) })
	return out, err
}

// CountedEvents implements smartonboard.ErasureTx, through the events' user index.
func (t erasureTx) CountedEvents(ctx context.Context, projectID string, users []string, from, to time.Time, fn func([]*so.Event) error) error {
	return inChunks(users, func(in string, ids []any) error {
		args := append([]any{projectID}, ids...)
		rows, err := t.tx.QueryContext(ctx, `SELECT seq, `+eventColumns+` FROM events
			WHERE project_id = ? AND user_id IN (`+in+`) AND ts >= ? AND ts < ? AND seq <= ?`,
			append(args, from.UnixMilli(), to.UnixMilli(), t.upTo)...)
		if err != nil {
			return mapError(err)
		}
		defer rows.Close()
		var chunk []*so.Event
		var seq int64
		for rows.Next() {
			e, err := scanEvent(prefixed{rows, &seq})
			if err != nil {
				return err
			}
			e.Seq = seq
			if chunk = append(chunk, e); len(chunk) == rebuildChunk {
				if err := fn(chunk); err != nil {
					return err
				}
				chunk = nil
			}
		}
		if err := rows.Err(); err != nil {
			return mapError(err)
		}
		if len(chunk) == 0 {
			return nil
		}
		return fn(chunk)
	})
}

// SeenBetween implements smartonboard.ErasureTx.
func (t erasureTx) SeenBetween(ctx context.Context, projectID string, from, to time.Time) ([]string, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT user_id FROM end_users
		WHERE project_id = ? AND first_seen_at < ? AND last_seen_at >= ? ORDER BY user_id`,
		projectID, to.UnixMilli(), from.UnixMilli())
	if err != nil {
		return nil, mapError(err)
	}
	var out []string
	var user string
	err = eachRow(rows, []any{&user}, func() { out = append(out, user) })
	return out, err
}

// DeleteUser implements smartonboard.ErasureTx. Facts, engagement points and
// journey engagement go by their journeys' cascade; they are named anyway,
// so the erasure does not hang on the foreign keys being on.
func (t erasureTx) DeleteUser(ctx context.Context, projectID, userID string) (events, journeys int64, err error) {
	const ofJourneys = `journey_id IN (SELECT id FROM journeys WHERE project_id = ? AND user_id = ?)`
	var users int64
	counts := map[string]*int64{"events": &events, "journeys": &journeys, "end_users": &users}
	for _, stmt := range []struct{ table, where string }{
		{"journey_facts", `project_id = ? AND user_id = ?`},
		{"engagement_points", ofJourneys},
		{"journey_engagement", ofJourneys},
		{"struggle_detections", `project_id = ? AND user_id = ?`},
		{"interventions", `project_id = ? AND user_id = ?`},
		{"behaviour_states", `project_id = ? AND user_id = ?`},
		{"webhook_deliveries", `project_id = ? AND json_extract(payload, '$.data.user_id') = ?`},
		{"journeys", `project_id = ? AND user_id = ?`},
		{"events", `project_id = ? AND user_id = ?`},
		{"end_users", `project_id = ? AND user_id = ?`},
	} {
		res, err := t.tx.ExecContext(ctx, `DELETE FROM `+stmt.table+` WHERE `+stmt.where, projectID, userID)
		if err != nil {
			return 0, 0, mapError(err)
		}
		if n, ok := counts[stmt.table]; ok {
			if *n, err = res.RowsAffected(); err != nil {
				return 0, 0, mapError(err)
			}
		}
	}
	if users+events+journeys == 0 {
		return 0, 0, so.UserNotFound(userID)
	}
	return events, journeys, nil
}
