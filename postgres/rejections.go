package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// AddRejections implements smartonboard.RejectionStore: one statement, its
// rows summed by key and taken in key order, so instances flushing at once
// lock rows in the same order and never deadlock.
func (db *DB) AddRejections(ctx context.Context, counts []so.RejectionCount) error {
	if len(counts) == 0 {
		return nil
	}
	projects, hours, codes, events := make([]string, len(counts)), make([]time.Time, len(counts)), make([]string, len(counts)),
		make([]int64, len(counts))
	for i, c := range counts {
		projects[i], hours[i], codes[i], events[i] = c.ProjectID, c.Hour, c.Code, c.Events
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO rejected_events (project_id, hour, code, events)
			SELECT r.project_id, r.hour, r.code, sum(r.events)
			FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[]) AS r (project_id, hour, code, events)
			WHERE EXISTS (SELECT 1 FROM projects p WHERE p.id = r.project_id)
			GROUP BY r.project_id, r.hour, r.code ORDER BY r.project_id, r.hour, r.code
			ON CONFLICT (project_id, hour, code) DO UPDATE SET events = rejected_events.events + excluded.events`,
			projects, hours, codes, events)
		return err
	})
	return mapError(err, "rejected events")
}

// RejectedEvents implements smartonboard.AnalyticsStore.
func (db *DB) RejectedEvents(ctx context.Context, q so.RollupQuery) ([]so.RejectionCount, error) {
	rows, err := db.pool.Query(ctx, `SELECT project_id, hour, code, events FROM rejected_events
		WHERE project_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, code`, q.ProjectID, q.From, q.To)
	if err != nil {
		return nil, mapError(err, "rejected events")
	}
	out := []so.RejectionCount{}
	var c so.RejectionCount
	_, err = pgx.ForEachRow(rows, []any{&c.ProjectID, &c.Hour, &c.Code, &c.Events}, func() error {
		c.Hour = c.Hour.UTC()
		out = append(out, c)
		return nil
	})
	return out, mapError(err, "rejected events")
}
