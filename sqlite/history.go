package sqlite

import (
	"context"
	"encoding/json"

	so "github.com/smartonboarding/smartonboard"
)

// VisitHistories implements smartonboard.HistoryStore: users with journeys
// in pages of so.HistoryBatch, each page's journeys, traits and events read
// in one query apiece.
func (db *DB) VisitHistories(ctx context.Context, projectID, userID string, fn func(*so.UserHistory) error) error {
	return so.VisitHistoryPages(userID, func(after string) ([]string, error) { return db.historyUsers(ctx, projectID, after) },
		func(users []string) ([]*so.UserHistory, error) { return db.histories(ctx, projectID, users) }, fn)
}

// historyUsers is the next page of users with journeys after `after`.
func (db *DB) historyUsers(ctx context.Context, projectID, after string) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT DISTINCT user_id FROM journeys WHERE project_id = ? AND user_id > ?
		ORDER BY user_id LIMIT ?`, projectID, after, so.HistoryBatch)
	if err != nil {
		return nil, mapError(err)
	}
	var out []string
	var u string
	return out, eachRow(rows, []any{&u}, func() { out = append(out, u) })
}

// histories reads the journeys, traits and events of the users.
func (db *DB) histories(ctx context.Context, projectID string, users []string) ([]*so.UserHistory, error) {
	args := append([]any{projectID}, anys(users)...)
	in := `(` + placeholders(len(users)) + `)`
	rows, err := db.reader.QueryContext(ctx, `SELECT state FROM journeys WHERE project_id = ? AND user_id IN `+in, args...)
	if err != nil {
		return nil, mapError(err)
	}
	js, err := scanJourneys(rows)
	if err != nil {
		return nil, err
	}
	rows, err = db.reader.QueryContext(ctx, `SELECT user_id, traits FROM end_users WHERE project_id = ? AND user_id IN `+in, args...)
	if err != nil {
		return nil, mapError(err)
	}
	traits := map[string]json.RawMessage{}
	var u, t string
	if err := eachRow(rows, []any{&u, &t}, func() { traits[u] = json.RawMessage(t) }); err != nil {
		return nil, err
	}
	rows, err = db.reader.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE project_id = ? AND user_id IN `+in+`
		ORDER BY user_id, ts, seq`, args...)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	var events []*so.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(err)
	}
	return so.GroupHistories(users, js, traits, events), nil
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
