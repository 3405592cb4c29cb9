package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// VisitHistories implements smartonboard.HistoryStore: users with journeys
// in pages of so.HistoryBatch, each page's journeys, traits and events read
// in one query apiece.
func (db *DB) VisitHistories(ctx context.Context, projectID, userID string, fn func(*so.UserHistory) error) error {
	return so.VisitHistoryPages(userID, func(after string) ([]string, error) {
		rows, _ := db.pool.Query(ctx, `SELECT DISTINCT user_id FROM journeys WHERE project_id = $1 AND user_id > $2
			ORDER BY user_id LIMIT $3`, projectID, after, so.HistoryBatch)
		users, err := pgx.CollectRows(rows, pgx.RowTo[string])
		return users, mapError(err, "journeys")
	}, func(users []string) ([]*so.UserHistory, error) { return db.histories(ctx, projectID, users) }, fn)
}

// histories reads the journeys, traits and events of the users.
func (db *DB) histories(ctx context.Context, projectID string, users []string) ([]*so.UserHistory, error) {
	rows, _ := db.pool.Query(ctx, `SELECT state FROM journeys WHERE project_id = $1 AND user_id = ANY($2)`, projectID, users)
	js, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Journey, error) { return scanJourney(row) })
	if err != nil {
		return nil, mapError(err, "journeys")
	}
	traits := map[string]json.RawMessage{}
	rows, _ = db.pool.Query(ctx, `SELECT user_id, traits FROM end_users WHERE project_id = $1 AND user_id = ANY($2)`, projectID, users)
	var u, t string
	if _, err := pgx.ForEachRow(rows, []any{&u, &t}, func() error { traits[u] = json.RawMessage(t); return nil }); err != nil {
		return nil, mapError(err, "users")
	}
	rows, _ = db.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE project_id = $1 AND user_id = ANY($2)
		ORDER BY user_id, ts, seq`, projectID, users)
	events, err := pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return nil, mapError(err, "events")
	}
	return so.GroupHistories(users, js, traits, events), nil
}
