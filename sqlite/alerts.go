package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

const alertColumns = `id, project_id, key, rule, severity, status, message, numbers, query, opened_at, updated_at,
	acknowledged_at, resolved_at, resolved_by, cleared`

// alertsTx is the smartonboard.AlertsTx of one evaluation; it announces
// through the consumer transaction's webhook queue.
type alertsTx struct{ consumerTx }

// EvaluateAlerts implements smartonboard.AlertStore: the write transaction
// holds the single writer, so evaluations take turns.
func (db *DB) EvaluateAlerts(ctx context.Context, projectID string, fn func(context.Context, so.AlertsTx) error) error {
	return db.inTx(ctx, func(tx *stmtTx) error { return fn(ctx, alertsTx{consumerTx{tx: tx, db: db}}) })
}

// LatestAlerts implements smartonboard.AlertsTx.
func (t alertsTx) LatestAlerts(ctx context.Context, projectID string) (map[string]*so.Alert, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT `+alertColumns+` FROM (SELECT *, row_number() OVER (PARTITION BY key
		ORDER BY opened_at DESC, id DESC) AS n FROM alerts WHERE project_id = ?) WHERE n = 1`, projectID)
	if err != nil {
		return nil, mapError(err)
	}
	as, err := scanAlerts(rows)
	out := map[string]*so.Alert{}
	for _, a := range as {
		out[a.Key] = a
	}
	return out, err
}

// SaveAlert implements smartonboard.AlertsTx.
func (t alertsTx) SaveAlert(ctx context.Context, a *so.Alert) error {
	numbers, err := json.Marshal(a.Numbers)
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(ctx, `INSERT INTO alerts (`+alertColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, status = excluded.status, message = excluded.message,
		numbers = excluded.numbers, query = excluded.query, updated_at = excluded.updated_at,
		acknowledged_at = excluded.acknowledged_at, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by,
		cleared = excluded.cleared`, a.ID, a.ProjectID, a.Key, a.Rule, a.Severity, string(a.Status), a.Message, string(numbers),
		a.Query, a.OpenedAt.UnixMilli(), a.UpdatedAt.UnixMilli(), optionalMillis(a.AcknowledgedAt), optionalMillis(a.ResolvedAt),
		a.ResolvedBy, a.Cleared)
	return mapError(err)
}

// ListAlerts implements smartonboard.AlertStore.
func (db *DB) ListAlerts(ctx context.Context, projectID string, f so.AlertFilter) ([]*so.Alert, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE project_id = ? AND (? = '' OR status = ?)
		ORDER BY opened_at DESC, id DESC LIMIT ?`, projectID, string(f.Status), string(f.Status), f.Limit)
	if err != nil {
		return nil, mapError(err)
	}
	return scanAlerts(rows)
}

// FindAlert implements smartonboard.AlertStore.
func (db *DB) FindAlert(ctx context.Context, projectID, id string) (*so.Alert, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE project_id = ? AND id = ?`, projectID, id)
	if err != nil {
		return nil, mapError(err)
	}
	as, err := scanAlerts(rows)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, so.AlertNotFound(id)
	}
	return as[0], nil
}

// UpdateAlert implements smartonboard.AlertStore.
func (db *DB) UpdateAlert(ctx context.Context, a *so.Alert, from so.AlertStatus) error {
	return db.inTx(ctx, func(tx *stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET status = ?, updated_at = ?, acknowledged_at = ?, resolved_at = ?,
			resolved_by = ?, cleared = ? WHERE project_id = ? AND id = ? AND status = ?`, string(a.Status), a.UpdatedAt.UnixMilli(),
			optionalMillis(a.AcknowledgedAt), optionalMillis(a.ResolvedAt), a.ResolvedBy, a.Cleared, a.ProjectID, a.ID, string(from))
		if err != nil {
			return mapError(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var now string
		err = tx.QueryRowContext(ctx, `SELECT status FROM alerts WHERE project_id = ? AND id = ?`, a.ProjectID, a.ID).Scan(&now)
		if err != nil {
			return notFound(err, so.AlertNotFound(a.ID))
		}
		return so.AlertMoved(a.ID, so.AlertStatus(now))
	})
}

// ActiveProjects implements smartonboard.AlertStore.
func (db *DB) ActiveProjects(ctx context.Context, since time.Time) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT project_id FROM analytics_journeys WHERE hour >= ?
		UNION SELECT project_id FROM rejected_events WHERE hour >= ? ORDER BY project_id`, since.UnixMilli(), since.UnixMilli())
	if err != nil {
		return nil, mapError(err)
	}
	var out []string
	var id string
	return out, eachRow(rows, []any{&id}, func() { out = append(out, id) })
}

func scanAlerts(rows *sql.Rows) ([]*so.Alert, error) {
	out := []*so.Alert{}
	var a so.Alert
	var status, numbers string
	var opened, updated int64
	var acked, resolved sql.NullInt64
	var bad error
	err := eachRow(rows, []any{&a.ID, &a.ProjectID, &a.Key, &a.Rule, &a.Severity, &status, &a.Message, &numbers, &a.Query,
		&opened, &updated, &acked, &resolved, &a.ResolvedBy, &a.Cleared}, func() {
		c := a
		c.Status, c.OpenedAt, c.UpdatedAt = so.AlertStatus(status), fromMillis(opened), fromMillis(updated)
		c.AcknowledgedAt, c.ResolvedAt = nullMillis(acked), nullMillis(resolved)
		if err := json.Unmarshal([]byte(numbers), &c.Numbers); err != nil {
			bad = fmt.Errorf("alert %s numbers: %w", c.ID, err)
		}
		out = append(out, &c)
	})
	if err == nil {
		err = bad
	}
	return out, err
}
