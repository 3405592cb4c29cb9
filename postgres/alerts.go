package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

const alertColumns = `id, project_id, key, rule, severity, status, message, numbers, query, opened_at, updated_at,
	acknowledged_at, resolved_at, resolved_by, cleared`

// alertsTx is the smartonboard.AlertsTx of one evaluation; it announces
// through the consumer transaction's webhook queue.
type alertsTx struct{ *consumerTx }

// evaluateLock keys the advisory lock ("SONB", 2, project) that serializes
// the evaluations of one project's alerts across instances.
const evaluateLock = `SELECT pg_advisory_xact_lock(1397706306, hashtext($1))`

// EvaluateAlerts implements smartonboard.AlertStore.
func (db *DB) EvaluateAlerts(ctx context.Context, projectID string, fn func(context.Context, so.AlertsTx) error) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, evaluateLock, "alerts:"+projectID); err != nil {
			return mapError(err, "alerts")
		}
		if err := fn(ctx, alertsTx{&consumerTx{tx: tx, db: db}}); err != nil {
			return callerError{err}
		}
		return nil
	})
	return unwrapCaller(err, "alerts")
}

// LatestAlerts implements smartonboard.AlertsTx.
func (t alertsTx) LatestAlerts(ctx context.Context, projectID string) (map[string]*so.Alert, error) {
	rows, _ := t.tx.Query(ctx, `SELECT DISTINCT ON (key) `+alertColumns+` FROM alerts WHERE project_id = $1
		ORDER BY key, opened_at DESC, id DESC`, projectID)
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
	_, err = t.tx.Exec(ctx, `INSERT INTO alerts (`+alertColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, status = excluded.status, message = excluded.message,
		numbers = excluded.numbers, query = excluded.query, updated_at = excluded.updated_at,
		acknowledged_at = excluded.acknowledged_at, resolved_at = excluded.resolved_at, resolved_by = excluded.resolved_by,
		cleared = excluded.cleared`, a.ID, a.ProjectID, a.Key, a.Rule, a.Severity, string(a.Status), a.Message, string(numbers),
		a.Query, a.OpenedAt, a.UpdatedAt, a.AcknowledgedAt, a.ResolvedAt, a.ResolvedBy, a.Cleared)
	return mapError(err, "alerts")
}

// ListAlerts implements smartonboard.AlertStore.
func (db *DB) ListAlerts(ctx context.Context, projectID string, f so.AlertFilter) ([]*so.Alert, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE project_id = $1 AND ($2 = '' OR status = $2)
		ORDER BY opened_at DESC, id DESC LIMIT $3`, projectID, string(f.Status), f.Limit)
	return scanAlerts(rows)
}

// FindAlert implements smartonboard.AlertStore.
func (db *DB) FindAlert(ctx context.Context, projectID, id string) (*so.Alert, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE project_id = $1 AND id = $2`, projectID, id)
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
	tag, err := db.pool.Exec(ctx, `UPDATE alerts SET status = $1, updated_at = $2, acknowledged_at = $3, resolved_at = $4,
		resolved_by = $5, cleared = $6 WHERE project_id = $7 AND id = $8 AND status = $9`, string(a.Status), a.UpdatedAt,
		a.AcknowledgedAt, a.ResolvedAt, a.ResolvedBy, a.Cleared, a.ProjectID, a.ID, string(from))
	if err != nil {
		return mapError(err, "alerts")
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var now string
	err = db.pool.QueryRow(ctx, `SELECT status FROM alerts WHERE project_id = $1 AND id = $2`, a.ProjectID, a.ID).Scan(&now)
	if errors.Is(err, pgx.ErrNoRows) {
		return so.AlertNotFound(a.ID)
	} else if err != nil {
		return mapError(err, "alerts")
	}
	return so.AlertMoved(a.ID, so.AlertStatus(now))
}

// ActiveProjects implements smartonboard.AlertStore.
func (db *DB) ActiveProjects(ctx context.Context, since time.Time) ([]string, error) {
	rows, _ := db.pool.Query(ctx, `SELECT project_id FROM analytics_journeys WHERE hour >= $1
		UNION SELECT project_id FROM rejected_events WHERE hour >= $1 ORDER BY project_id`, since)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, mapError(err, "analytics")
}

func scanAlerts(rows pgx.Rows) ([]*so.Alert, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Alert, error) {
		var a so.Alert
		var status, numbers string
		if err := row.Scan(&a.ID, &a.ProjectID, &a.Key, &a.Rule, &a.Severity, &status, &a.Message, &numbers, &a.Query,
			&a.OpenedAt, &a.UpdatedAt, &a.AcknowledgedAt, &a.ResolvedAt, &a.ResolvedBy, &a.Cleared); err != nil {
			return nil, err
		}
		a.Status, a.OpenedAt, a.UpdatedAt = so.AlertStatus(status), a.OpenedAt.UTC(), a.UpdatedAt.UTC()
		a.AcknowledgedAt, a.ResolvedAt = utcPtr(a.AcknowledgedAt), utcPtr(a.ResolvedAt)
		if err := json.Unmarshal([]byte(numbers), &a.Numbers); err != nil {
			return nil, fmt.Errorf("alert %s numbers: %w", a.ID, err)
		}
		return &a, nil
	})
	if out == nil {
		out = []*so.Alert{}
	}
	return out, mapError(err, "alerts")
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
