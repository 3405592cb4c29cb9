package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	so "github.com/smartonboarding/smartonboard"
)

// querier is what the pool and a transaction have in common, so journey SQL is
// written once for both.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// StartJourney implements smartonboard.JourneyStore; a journey it creates
// logs a journey_started event in the same transaction. Racing starts for one user
// and flow all return the journey of the one insert that won.
func (db *DB) StartJourney(ctx context.Context, j *so.Journey) (*so.Journey, bool, error) {
	var stored *so.Journey
	var created bool
	err := db.inTx(ctx, func(tx pgx.Tx) (err error) {
		if _, err := tx.Exec(ctx, announceWriter); err != nil {
			return err
		}
		if stored, created, err = insertJourney(ctx, tx, j); err != nil || !created {
			return err
		}
		_, err = insertNewEvents(ctx, tx, []*so.Event{so.StartedEvent(stored)})
		return err
	})
	if violatedReference(err) != "" { // the flow is gone (a missing project takes its flows along)
		return nil, false, so.FlowNotFound(j.FlowKey)
	} else if err != nil {
		return nil, false, notFound(err, so.JourneyNotFound(j.UserID, j.FlowKey), "journey") // the insert met another key
	}
	return stored, created, nil
}

// FindJourney implements smartonboard.JourneyStore.
func (db *DB) FindJourney(ctx context.Context, projectID, userID, flowKey string) (*so.Journey, error) {
	j, err := scanJourney(db.pool.QueryRow(ctx, `SELECT state FROM journeys
		WHERE project_id = $1 AND user_id = $2 AND flow_key = $3`, projectID, userID, flowKey))
	if err != nil {
		return nil, notFound(err, so.JourneyNotFound(userID, flowKey), "journey")
	}
	return j, nil
}

// AbandonIdleJourneys implements smartonboard.JourneyStore in one statement, so
// instances running the job together never abandon a journey twice. The JSON
// state is edited in place to agree with the columns. The journey_abandoned
// events go into the log in the same transaction, which therefore announces
// itself as a writer of the log first.
func (db *DB) AbandonIdleJourneys(ctx context.Context, before, now time.Time, then func(context.Context, so.Enqueuer, []*so.Journey) error) ([]*so.Journey, error) {
	var js []*so.Journey
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, announceWriter); err != nil {
			return mapError(err, "journeys")
		}
		rows, _ := tx.Query(ctx, `UPDATE journeys SET status = 'abandoned', revision = revision + 1,
			state = jsonb_set(jsonb_set(jsonb_set(state::jsonb,
				'{status}', '"abandoned"'), '{revision}', to_jsonb(revision + 1)), '{updated_at}', to_jsonb($2::text))::text
			WHERE status IN ('active', 'paused') AND last_activity_at < $1
			RETURNING state`, before, so.FormatTime(now))
		var err error
		if js, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Journey, error) { return scanJourney(row) }); err != nil {
			return mapError(err, "journeys")
		}
		slices.SortFunc(js, func(a, b *so.Journey) int { return strings.Compare(a.ID, b.ID) })
		if len(js) == 0 {
			return nil
		}
		if _, err := insertNewEvents(ctx, tx, abandonedEvents(js, before, now)); err != nil {
			return mapError(err, "events")
		}
		if then == nil {
			return nil
		}
		if err := then(ctx, &consumerTx{tx: tx, db: db}, js); err != nil {
			return callerError{err}
		}
		return nil
	})
	if err != nil {
		return nil, unwrapCaller(err, "journeys")
	}
	return js, nil
}

// LockJourneys implements smartonboard.IngestTx, locking in id order so that
// concurrent batches wait for each other instead of deadlocking.
func (t *ingestTx) LockJourneys(ctx context.Context, projectID string, userIDs []string) ([]*so.Journey, error) {
	rows, _ := t.tx.Query(ctx, `SELECT state FROM journeys WHERE project_id = $1 AND user_id = ANY ($2)
		ORDER BY id FOR UPDATE`, projectID, userIDs)
	js, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Journey, error) { return scanJourney(row) })
	if err != nil {
		return nil, mapError(err, "journeys")
	}
	return js, nil
}

// InsertJourneys implements smartonboard.IngestTx in two statements: one insert
// for all, skipping journeys that exist, then one locked read of those. The
// journeys it returns are locked until commit either way.
func (t *ingestTx) InsertJourneys(ctx context.Context, js []*so.Journey) ([]*so.Journey, error) {
	if len(js) == 0 {
		return nil, nil
	}
	n := len(js)
	ids, projects, users, flowIDs, flowKeys := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	versions, revisions, statuses, states := make([]int, n), make([]int, n), make([]string, n), make([]string, n)
	activity := make([]time.Time, n)
	for i, j := range js {
		state, err := j.MarshalJSON() // direct: json.Marshal would re-scan the output
		if err != nil {
			return nil, err
		}
		ids[i], projects[i], users[i], flowIDs[i], flowKeys[i] = j.ID, j.ProjectID, j.UserID, j.FlowID, j.FlowKey
		versions[i], revisions[i], statuses[i], states[i], activity[i] = j.FlowVersion, j.Revision, string(j.Status), string(state), j.LastActivityAt
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO journeys (id, project_id, user_id, flow_id, flow_key, flow_version,
			status, last_activity_at, revision, state)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::text[],
			$8::timestamptz[], $9::int[], $10::text[])
		ON CONFLICT (project_id, user_id, flow_id) DO NOTHING`,
		ids, projects, users, flowIDs, flowKeys, versions, statuses, activity, revisions, states); violatedReference(err) != "" {
		return nil, so.FlowNotFound(oneKey(flowKeys)) // a missing project takes its flows along
	} else if err != nil {
		return nil, mapError(err, "journey")
	}
	rows, _ := t.tx.Query(ctx, `SELECT j.state FROM journeys j
		JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (project_id, user_id, flow_id)
		ON j.project_id = k.project_id AND j.user_id = k.user_id AND j.flow_id = k.flow_id
		ORDER BY j.id FOR UPDATE OF j`, projects, users, flowIDs)
	stored, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Journey, error) { return scanJourney(row) })
	if err != nil {
		return nil, mapError(err, "journey")
	}
	return inInputOrder(js, stored)
}

// inInputOrder matches stored journeys to the ones asked for, by user and flow.
func inInputOrder(asked, stored []*so.Journey) ([]*so.Journey, error) {
	type key struct{ project, user, flow string }
	byKey := make(map[key]*so.Journey, len(stored))
	for _, j := range stored {
		byKey[key{j.ProjectID, j.UserID, j.FlowID}] = j
	}
	out := make([]*so.Journey, len(asked))
	for i, j := range asked {
		if out[i] = byKey[key{j.ProjectID, j.UserID, j.FlowID}]; out[i] == nil { // the insert met another key
			return nil, so.JourneyNotFound(j.UserID, j.FlowKey)
		}
	}
	return out, nil
}

// SaveJourneys implements smartonboard.IngestTx in one statement.
func (t *ingestTx) SaveJourneys(ctx context.Context, js []*so.Journey) error {
	if len(js) == 0 {
		return nil
	}
	byID := make(map[string]*so.Journey, len(js))
	for _, j := range js {
		byID[j.ID] = j // the last copy of a journey wins
	}
	n := len(byID)
	ids, versions, statuses := make([]string, 0, n), make([]int, 0, n), make([]string, 0, n)
	activity, revisions, states := make([]time.Time, 0, n), make([]int, 0, n), make([]string, 0, n)
	for _, j := range byID {
		state, err := j.MarshalJSON() // direct: json.Marshal would re-scan the output
		if err != nil {
			return err
		}
		ids, versions, statuses = append(ids, j.ID), append(versions, j.FlowVersion), append(statuses, string(j.Status))
		activity, revisions, states = append(activity, j.LastActivityAt), append(revisions, j.Revision), append(states, string(state))
	}
	tag, err := t.tx.Exec(ctx, `UPDATE journeys j SET flow_version = u.flow_version, status = u.status,
		last_activity_at = u.last_activity_at, revision = u.revision, state = u.state
		FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[], $5::int[], $6::text[])
			AS u (id, flow_version, status, last_activity_at, revision, state)
		WHERE j.id = u.id`, ids, versions, statuses, activity, revisions, states)
	if err != nil {
		return mapError(err, "journeys")
	}
	if int(tag.RowsAffected()) != n {
		return t.missingJourney(ctx, js)
	}
	return nil
}

// missingJourney reports the first of js, in input order, that is not stored.
func (t *ingestTx) missingJourney(ctx context.Context, js []*so.Journey) error {
	ids := make([]string, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	rows, _ := t.tx.Query(ctx, `SELECT id FROM journeys WHERE id = ANY ($1)`, ids)
	stored, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return mapError(err, "journeys")
	}
	for _, j := range js {
		if !slices.Contains(stored, j.ID) {
			return so.NotFound("journey", j.ID)
		}
	}
	return errors.New("postgres: a journey to save was not updated, yet all are stored")
}

// oneKey is the flow key the journeys of a batch share, or "" when they differ:
// the driver does not say which row a violated reference came from.
func oneKey(keys []string) string {
	for _, k := range keys {
		if k != keys[0] {
			return ""
		}
	}
	return keys[0]
}

// insertJourney stores j unless its user already has a journey in its flow, and
// returns the stored journey and whether j
// was inserted. A racing insert makes ON CONFLICT wait for the other transaction,
// so the read that follows sees the winner.
func insertJourney(ctx context.Context, q querier, j *so.Journey) (*so.Journey, bool, error) {
	state, err := j.MarshalJSON() // direct: json.Marshal would re-scan the output
	if err != nil {
		return nil, false, err
	}
	tag, err := q.Exec(ctx, `INSERT INTO journeys (id, project_id, user_id, flow_id, flow_key, flow_version,
		status, last_activity_at, revision, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (project_id, user_id, flow_id) DO NOTHING`,
		j.ID, j.ProjectID, j.UserID, j.FlowID, j.FlowKey, j.FlowVersion, string(j.Status), j.LastActivityAt,
		j.Revision, string(state))
	if err != nil {
		return nil, false, err
	}
	if tag.RowsAffected() == 1 {
		return j, true, nil
	}
	stored, err := scanJourney(q.QueryRow(ctx, `SELECT state FROM journeys
		WHERE project_id = $1 AND user_id = $2 AND flow_id = $3`, j.ProjectID, j.UserID, j.FlowID))
	return stored, false, err
}

// scanJourney decodes the JSON state column.
func scanJourney(row pgx.Row) (*so.Journey, error) {
	var state []byte
	if err := row.Scan(&state); err != nil {
		return nil, err
	}
	return so.DecodeJourney(state)
}

// abandonedEvents are the journey_abandoned events of the journeys.
func abandonedEvents(js []*so.Journey, before, now time.Time) []*so.Event {
	events := make([]*so.Event, len(js))
	for i, j := range js {
		events[i] = so.AbandonedEvent(j, before, now)
	}
	return events
}
