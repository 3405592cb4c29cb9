package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	so "github.com/smartonboarding/smartonboard"
)

const eventColumns = `project_id, id, type, user_id, session_id, flow, step, ts, received_at, properties`

// copyThreshold is the batch size from which the first attempt COPYs events
// straight into the table; below it one INSERT of arrays costs less than COPY's
// extra round trip.
const copyThreshold = 100

// maxIngestAttempts bounds how often a batch that lost a deadlock or a
// serialization conflict is run again before the caller is told to retry.
const maxIngestAttempts = 5

// eventKey identifies an event: ids are unique per project.
type eventKey struct{ projectID, id string }

// storedEvents is what an insert stored: every event it was given, or the keys
// the database reported.
type storedEvents struct {
	all  bool
	keys map[eventKey]bool
}

func (s storedEvents) has(e *so.Event) bool {
	return s.all || s.keys[eventKey{e.ProjectID, e.ID}]
}

// errEventRace reports that COPY met an event a concurrent batch stored first.
var errEventRace = errors.New("postgres: an event of the batch was stored concurrently")

// ingestTx is the smartonboard.IngestTx of one ingestion transaction.
type ingestTx struct{ tx pgx.Tx }

// IngestEvents implements smartonboard.EventStore. The first attempt at a large
// batch COPYs it straight into the table, which is safe only while no event is
// already stored; if one is, or the batch loses a deadlock, the next attempt
// skips stored events with ON CONFLICT. Callers never see those races.
func (db *DB) IngestEvents(ctx context.Context, events []*so.Event, apply func(ctx context.Context, tx so.IngestTx, inserted []*so.Event) error) ([]bool, error) {
	first := firstOccurrences(events)
	for attempt := 1; ; attempt++ {
		inserted, err := db.ingestOnce(ctx, events, first, attempt == 1, apply)
		switch {
		case err == nil:
			return inserted, nil
		case errors.Is(err, errEventRace):
			continue // the batch that stored the event has committed: nothing to wait for
		case !retryable(err):
			return nil, unwrapCaller(err, "events")
		case attempt >= maxIngestAttempts:
			return nil, so.Errorf(so.EUNAVAILABLE, "the database kept hitting conflicting writes; retry the request")
		}
		if err := sleep(ctx, time.Duration(attempt)*(5*time.Millisecond+rand.N(5*time.Millisecond))); err != nil {
			return nil, mapError(err, "events")
		}
	}
}

// ingestOnce inserts the events that are first in the batch and new to the store,
// and runs apply over them, all in one transaction.
func (db *DB) ingestOnce(ctx context.Context, events []*so.Event, first []bool, optimistic bool, apply func(context.Context, so.IngestTx, []*so.Event) error) ([]bool, error) {
	inserted := make([]bool, len(events))
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, announceWriter); err != nil {
			return err
		}
		stored, err := insertEvents(ctx, tx, events, first, optimistic)
		if err != nil {
			return err
		}
		var applied []*so.Event
		for i, e := range events {
			if first[i] && stored.has(e) {
				inserted[i] = true
				applied = append(applied, e)
			}
		}
		if apply == nil {
			return nil
		}
		if err := apply(ctx, &ingestTx{tx}, applied); err != nil {
			return callerError{err}
		}
		return nil
	})
	return inserted, err
}

// firstOccurrences marks the first event of each (project, id) in the batch; the
// others are duplicates and are never sent to the database.
func firstOccurrences(events []*so.Event) []bool {
	first := make([]bool, len(events))
	seen := make(map[eventKey]struct{}, len(events))
	for i, e := range events {
		k := eventKey{e.ProjectID, e.ID}
		if _, dup := seen[k]; !dup {
			seen[k] = struct{}{}
			first[i] = true
		}
	}
	return first
}

// insertEvents inserts the marked events that are not stored yet and returns the
// keys it inserted. Rows go in key order, so batches sharing events wait for each
// other instead of deadlocking.
func insertEvents(ctx context.Context, tx pgx.Tx, events []*so.Event, first []bool, optimistic bool) (storedEvents, error) {
	batch := make([]*so.Event, 0, len(events))
	for i, e := range events {
		if first[i] {
			batch = append(batch, e)
		}
	}
	if optimistic && len(batch) >= copyThreshold {
		return copyEvents(ctx, tx, batch)
	}
	return insertNewEvents(ctx, tx, batch)
}

// insertNewEvents inserts the events that are not stored yet with one statement
// over column arrays.
func insertNewEvents(ctx context.Context, tx pgx.Tx, batch []*so.Event) (storedEvents, error) {
	if len(batch) == 0 {
		return storedEvents{}, nil
	}
	n := len(batch)
	projects, ids, types, users := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	sessions, flows, steps, props := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	ts, received := make([]time.Time, n), make([]time.Time, n)
	for i, e := range batch {
		projects[i], ids[i], types[i], users[i] = e.ProjectID, e.ID, string(e.Type), e.UserID
		sessions[i], flows[i], steps[i], props[i] = e.SessionID, e.Flow, e.Step, objectText(e.Properties)
		ts[i], received[i] = e.Timestamp, e.ReceivedAt
	}
	rows, _ := tx.Query(ctx, `INSERT INTO events (`+eventColumns+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::timestamptz[], $9::timestamptz[], $10::text[]) AS e (`+eventColumns+`)
		ORDER BY project_id COLLATE "C", id COLLATE "C"
		ON CONFLICT (project_id, id) DO NOTHING RETURNING project_id, id`,
		projects, ids, types, users, sessions, flows, steps, ts, received, props)
	return collectKeys(rows, n)
}

// copyEvents COPYs the batch into the table, as fast as PostgreSQL takes rows.
// COPY cannot skip a stored event: meeting one aborts the transaction with
// errEventRace.
func copyEvents(ctx context.Context, tx pgx.Tx, batch []*so.Event) (storedEvents, error) {
	slices.SortFunc(batch, func(a, b *so.Event) int {
		return cmp.Or(strings.Compare(a.ProjectID, b.ProjectID), strings.Compare(a.ID, b.ID))
	})
	err := copyRows(ctx, tx, batch)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		return storedEvents{}, errEventRace
	} else if err != nil {
		return storedEvents{}, err
	}
	return storedEvents{all: true}, nil
}

// collectKeys reads the keys an INSERT ... RETURNING project_id, id reports.
func collectKeys(rows pgx.Rows, n int) (storedEvents, error) {
	keys := make(map[eventKey]bool, n)
	var k eventKey
	_, err := pgx.ForEachRow(rows, []any{&k.projectID, &k.id}, func() error {
		keys[k] = true
		return nil
	})
	return storedEvents{keys: keys}, err
}

// EventOwners implements smartonboard.IngestTx in one statement; it runs only
// for the events a batch did not insert.
func (t *ingestTx) EventOwners(ctx context.Context, events []*so.Event) ([]string, error) {
	owners := make([]string, len(events))
	if len(events) == 0 {
		return owners, nil
	}
	projects, ids := make([]string, len(events)), make([]string, len(events))
	for i, e := range events {
		projects[i], ids[i] = e.ProjectID, e.ID
	}
	rows, _ := t.tx.Query(ctx, `SELECT k.n, e.user_id
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k (project_id, id, n)
		JOIN events e ON e.project_id = k.project_id AND e.id = k.id`, projects, ids)
	var n int
	var user string
	_, err := pgx.ForEachRow(rows, []any{&n, &user}, func() error {
		owners[n-1] = user
		return nil
	})
	if err != nil {
		return nil, mapError(err, "events")
	}
	return owners, nil
}

// ListUserEvents implements smartonboard.EventStore.
func (db *DB) ListUserEvents(ctx context.Context, projectID, userID string, limit int) ([]*so.Event, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE project_id = $1 AND user_id = $2 ORDER BY ts, id LIMIT $3`, projectID, userID, limit)
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, mapError(err, "events")
	}
	return events, nil
}

// CountEvents implements smartonboard.EventStore.
func (db *DB) CountEvents(ctx context.Context, projectID string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE project_id = $1`, projectID).Scan(&n)
	return n, mapError(err, "events")
}

func scanEvent(row pgx.CollectableRow) (*so.Event, error) {
	var e so.Event
	var props string
	err := row.Scan(&e.ProjectID, &e.ID, &e.Type, &e.UserID, &e.SessionID, &e.Flow, &e.Step,
		&e.Timestamp, &e.ReceivedAt, &props)
	e.Properties = json.RawMessage(props)
	e.Timestamp, e.ReceivedAt = e.Timestamp.UTC(), e.ReceivedAt.UTC()
	return &e, err
}

// objectText stores an absent JSON object (properties, traits) as {}.
func objectText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// sleep waits for d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
