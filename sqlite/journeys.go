package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// StartJourney implements smartonboard.JourneyStore; a journey it creates
// logs a journey_started event in the same transaction.
func (db *DB) StartJourney(ctx context.Context, j *so.Journey) (*so.Journey, bool, error) {
	var stored *so.Journey
	var created bool
	err := db.inTx(ctx, func(tx *stmtTx) (err error) {
		if stored, created, err = insertJourney(ctx, tx, j); err != nil || !created {
			return err
		}
		_, _, err = insertEvents(ctx, tx, []*so.Event{so.StartedEvent(stored)})
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return stored, created, nil
}

// FindJourney implements smartonboard.JourneyStore.
func (db *DB) FindJourney(ctx context.Context, projectID, userID, flowKey string) (*so.Journey, error) {
	var state string
	err := db.reader.QueryRowContext(ctx, `SELECT state FROM journeys
		WHERE project_id = ? AND user_id = ? AND flow_key = ?`, projectID, userID, flowKey).Scan(&state)
	if err != nil {
		return nil, notFound(err, so.JourneyNotFound(userID, flowKey))
	}
	return decodeJourney(state)
}

// AbandonIdleJourneys implements smartonboard.JourneyStore. One statement updates
// the indexed columns and the JSON state together; the journey_abandoned
// events go into the log in the same transaction.
func (db *DB) AbandonIdleJourneys(ctx context.Context, before, now time.Time, then func(context.Context, so.Enqueuer, []*so.Journey) error) ([]*so.Journey, error) {
	var js []*so.Journey
	err := db.inTx(ctx, func(tx *stmtTx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE journeys SET status = 'abandoned', revision = revision + 1,
			state = json_set(state, '$.status', 'abandoned', '$.revision', revision + 1, '$.updated_at', ?)
			WHERE status IN ('active', 'paused') AND last_activity_at < ?
			RETURNING state`, so.FormatTime(now), before.UnixMilli())
		if err != nil {
			return mapError(err)
		}
		if js, err = scanJourneys(rows); err != nil || len(js) == 0 {
			return err
		}
		if _, _, err := insertEvents(ctx, tx, abandonedEvents(js, before, now)); err != nil {
			return err
		}
		if then == nil {
			return nil
		}
		return then(ctx, consumerTx{tx: tx, db: db}, js)
	})
	return js, err
}

// insertJourney stores j unless the user has a journey in its flow already, and
// returns the stored journey and whether it is j.
func insertJourney(ctx context.Context, tx *stmtTx, j *so.Journey) (*so.Journey, bool, error) {
	state, err := j.MarshalJSON() // direct: json.Marshal would re-scan the output
	if err != nil {
		return nil, false, fmt.Errorf("encode journey: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO journeys (id, project_id, user_id, flow_id, flow_key,
		flow_version, status, last_activity_at, revision, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (project_id, user_id, flow_id) DO NOTHING`,
		j.ID, j.ProjectID, j.UserID, j.FlowID, j.FlowKey, j.FlowVersion, string(j.Status),
		j.LastActivityAt.UnixMilli(), j.Revision, string(state))
	if isForeignKeyViolation(err) { // the flow is gone (a missing project takes its flows along)
		return nil, false, so.FlowNotFound(j.FlowKey)
	} else if err != nil {
		return nil, false, mapError(err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return j, true, nil
	}
	var existing string
	err = tx.QueryRowContext(ctx, `SELECT state FROM journeys WHERE project_id = ? AND user_id = ? AND flow_id = ?`,
		j.ProjectID, j.UserID, j.FlowID).Scan(&existing)
	if err != nil { // the insert met another key: neither inserted nor found
		return nil, false, notFound(err, so.JourneyNotFound(j.UserID, j.FlowKey))
	}
	stored, err := decodeJourney(existing)
	return stored, false, err
}

// saveJourneys writes journeys back by id, keeping the indexed columns in step
// with the JSON state.
func saveJourneys(ctx context.Context, tx *stmtTx, js []*so.Journey) error {
	if len(js) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE journeys SET flow_version = ?, status = ?, last_activity_at = ?,
		revision = ?, state = ? WHERE project_id = ? AND id = ?`)
	if err != nil {
		return mapError(err)
	}
	defer stmt.Close()
	for _, j := range js {
		state, err := j.MarshalJSON() // direct: json.Marshal would re-scan the output
		if err != nil {
			return fmt.Errorf("encode journey %s: %w", j.ID, err)
		}
		res, err := stmt.ExecContext(ctx, j.FlowVersion, string(j.Status), j.LastActivityAt.UnixMilli(),
			j.Revision, string(state), j.ProjectID, j.ID)
		if err != nil {
			return mapError(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return so.NotFound("journey", j.ID)
		}
	}
	return nil
}

// lockChunk bounds the bound parameters of one IN list.
const lockChunk = 500

// selectJourneys returns every journey of the users, in user id chunks.
func selectJourneys(ctx context.Context, tx *stmtTx, projectID string, userIDs []string) ([]*so.Journey, error) {
	out := []*so.Journey{}
	err := inChunks(userIDs, func(in string, ids []any) error {
		rows, err := tx.QueryContext(ctx, `SELECT state FROM journeys WHERE project_id = ? AND user_id IN (`+in+`)
			ORDER BY user_id, flow_key`, append([]any{projectID}, ids...)...)
		if err != nil {
			return mapError(err)
		}
		js, err := scanJourneys(rows)
		out = append(out, js...)
		return err
	})
	return out, err
}

// inChunks runs fn over the distinct ids, lockChunk at a time, with the
// placeholders of an IN list and the ids as its arguments.
func inChunks(ids []string, fn func(in string, args []any) error) error {
	ids = unique(ids)
	for start := 0; start < len(ids); start += lockChunk {
		chunk := ids[start:min(start+lockChunk, len(ids))]
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		if err := fn(placeholders(len(chunk)), args); err != nil {
			return err
		}
	}
	return nil
}

// eachRow scans every row into dest, calls fn after each, and closes rows.
func eachRow(rows *sql.Rows, dest []any, fn func()) error {
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return mapError(err)
		}
		fn()
	}
	return mapError(rows.Err())
}

// scanJourneys decodes and closes rows of one state column.
func scanJourneys(rows *sql.Rows) ([]*so.Journey, error) {
	defer rows.Close()
	js := []*so.Journey{}
	for rows.Next() {
		var state string
		if err := rows.Scan(&state); err != nil {
			return nil, mapError(err)
		}
		j, err := decodeJourney(state)
		if err != nil {
			return nil, err
		}
		js = append(js, j)
	}
	return js, mapError(rows.Err())
}

func decodeJourney(state string) (*so.Journey, error) { return so.DecodeJourney([]byte(state)) }

// placeholders returns "?, ?, ..." for n bound parameters.
func placeholders(n int) string {
	b := make([]byte, 0, 3*n)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '?')
	}
	return string(b)
}

// unique drops repeated ids, keeping first occurrences in order.
func unique(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// abandonedEvents are the journey_abandoned events of the journeys.
func abandonedEvents(js []*so.Journey, before, now time.Time) []*so.Event {
	events := make([]*so.Event, len(js))
	for i, j := range js {
		events[i] = so.AbandonedEvent(j, before, now)
	}
	return events
}
