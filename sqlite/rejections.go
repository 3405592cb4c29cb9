package sqlite

import (
	"context"

	so "github.com/smartonboarding/smartonboard"
)

// AddRejections implements smartonboard.RejectionStore.
func (db *DB) AddRejections(ctx context.Context, counts []so.RejectionCount) error {
	if len(counts) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *stmtTx) error {
		for _, c := range counts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO rejected_events (project_id, hour, code, events)
				SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM projects WHERE id = ?)
				ON CONFLICT (project_id, hour, code) DO UPDATE SET events = events + excluded.events`,
				c.ProjectID, c.Hour.UnixMilli(), c.Code, c.Events, c.ProjectID); err != nil {
				return mapError(err)
			}
		}
		return nil
	})
}

// RejectedEvents implements smartonboard.AnalyticsStore.
func (db *DB) RejectedEvents(ctx context.Context, q so.RollupQuery) ([]so.RejectionCount, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT project_id, hour, code, events FROM rejected_events
		WHERE project_id = ? AND hour >= ? AND hour < ? ORDER BY hour, code`, q.ProjectID, q.From.UnixMilli(), q.To.UnixMilli())
	if err != nil {
		return nil, mapError(err)
	}
	out := []so.RejectionCount{}
	var c so.RejectionCount
	var hour int64
	return out, eachRow(rows, []any{&c.ProjectID, &hour, &c.Code, &c.Events}, func() {
		c.Hour = fromMillis(hour)
		out = append(out, c)
	})
}
