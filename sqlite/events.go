package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	so "github.com/smartonboarding/smartonboard"
)

const eventColumns = `project_id, id, type, user_id, session_id, flow, step, ts, received_at, properties`

// IngestEvents implements smartonboard.EventStore. Everything runs in one write
// transaction on the single writer connection, so the journey changes apply makes
// commit or roll back with the events.
func (db *DB) IngestEvents(ctx context.Context, events []*so.Event, apply func(ctx context.Context, tx so.IngestTx, inserted []*so.Event) error) ([]bool, error) {
	var ok []bool
	err := db.inTx(ctx, func(tx *stmtTx) error {
		var inserted []*so.Event
		var err error
		if ok, inserted, err = insertEvents(ctx, tx, events); err != nil {
			return err
		}
		return apply(ctx, ingestTx{tx}, inserted)
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// insertEvents inserts each new event through one prepared statement; a repeated
// (project, id), even within the batch, is skipped and reported false.
func insertEvents(ctx context.Context, tx *stmtTx, events []*so.Event) ([]bool, []*so.Event, error) {
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO events (`+eventColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, id) DO NOTHING`)
	if err != nil {
		return nil, nil, mapError(err)
	}
	defer stmt.Close()
	ok := make([]bool, len(events))
	inserted := make([]*so.Event, 0, len(events))
	for i, e := range events {
		res, err := stmt.ExecContext(ctx, e.ProjectID, e.ID, string(e.Type), e.UserID, e.SessionID, e.Flow,
			e.Step, e.Timestamp.UnixMilli(), e.ReceivedAt.UnixMilli(), string(orEmptyObject(e.Properties)))
		if err != nil {
			return nil, nil, mapError(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ok[i] = true
			e.Seq, _ = res.LastInsertId() // seq is the rowid
			inserted = append(inserted, e)
		}
	}
	return ok, inserted, nil
}

// ListUserEvents implements smartonboard.EventStore.
func (db *DB) ListUserEvents(ctx context.Context, projectID, userID string, limit int) ([]*so.Event, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events
		WHERE project_id = ? AND user_id = ? ORDER BY ts, id LIMIT ?`, projectID, userID, limit)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	events := []*so.Event{}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, mapError(rows.Err())
}

// CountEvents implements smartonboard.EventStore.
func (db *DB) CountEvents(ctx context.Context, projectID string) (int, error) {
	var n int
	err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE project_id = ?`, projectID).Scan(&n)
	return n, mapError(err)
}

func scanEvent(row scanner) (*so.Event, error) {
	var e so.Event
	var ts, received int64
	var props string
	err := row.Scan(&e.ProjectID, &e.ID, &e.Type, &e.UserID, &e.SessionID, &e.Flow, &e.Step, &ts, &received, &props)
	if err != nil {
		return nil, mapError(err)
	}
	e.Timestamp, e.ReceivedAt = fromMillis(ts), fromMillis(received)
	e.Properties = json.RawMessage(props)
	return &e, nil
}

// ingestTx is the IngestTx of one IngestEvents call. SQLite's single writer
// already serialises ingestion, so locking is only reading.
type ingestTx struct{ tx *stmtTx }

// LockJourneys implements smartonboard.IngestTx.
func (t ingestTx) LockJourneys(ctx context.Context, projectID string, userIDs []string) ([]*so.Journey, error) {
	return selectJourneys(ctx, t.tx, projectID, userIDs)
}

// InsertJourneys implements smartonboard.IngestTx; SQLite has no round trips to
// save, so it inserts one by one on the writer.
func (t ingestTx) InsertJourneys(ctx context.Context, js []*so.Journey) ([]*so.Journey, error) {
	out := make([]*so.Journey, len(js))
	for i, j := range js {
		stored, _, err := insertJourney(ctx, t.tx, j)
		if err != nil {
			return nil, err
		}
		out[i] = stored
	}
	return out, nil
}

// SaveJourneys implements smartonboard.IngestTx.
func (t ingestTx) SaveJourneys(ctx context.Context, js []*so.Journey) error {
	return saveJourneys(ctx, t.tx, js)
}

// TouchUsers implements smartonboard.IngestTx: new users get empty traits;
// first_seen_at only moves back and last_seen_at only forward.
func (t ingestTx) TouchUsers(ctx context.Context, projectID string, seen map[string]so.Sighting) error {
	if len(seen) == 0 {
		return nil
	}
	stmt, err := t.tx.PrepareContext(ctx, `INSERT INTO end_users (`+userColumns+`) VALUES (?, ?, '{}', ?, ?)
		ON CONFLICT (project_id, user_id) DO UPDATE
		SET first_seen_at = min(end_users.first_seen_at, excluded.first_seen_at),
			last_seen_at = max(end_users.last_seen_at, excluded.last_seen_at)
		WHERE excluded.last_seen_at > end_users.last_seen_at OR excluded.first_seen_at < end_users.first_seen_at`)
	if err != nil {
		return mapError(err)
	}
	defer stmt.Close()
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		s := seen[id]
		if _, err := stmt.ExecContext(ctx, projectID, id, s.First.UnixMilli(), s.Last.UnixMilli()); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// EventOwners implements smartonboard.IngestTx; it runs only for the events a
// batch did not insert, so one lookup each is cheap enough.
func (t ingestTx) EventOwners(ctx context.Context, events []*so.Event) ([]string, error) {
	owners := make([]string, len(events))
	if len(events) == 0 {
		return owners, nil
	}
	stmt, err := t.tx.PrepareContext(ctx, `SELECT user_id FROM events WHERE project_id = ? AND id = ?`)
	if err != nil {
		return nil, mapError(err)
	}
	defer stmt.Close()
	for i, e := range events {
		err := stmt.QueryRowContext(ctx, e.ProjectID, e.ID).Scan(&owners[i])
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, mapError(err)
		}
	}
	return owners, nil
}
