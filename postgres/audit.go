package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

const auditColumns = `id, project_id, at, actor, action, target, status, changes, request_id`

// AppendAudit implements smartonboard.AuditStore.
func (db *DB) AppendAudit(ctx context.Context, e *so.AuditEntry) error {
	changes := e.Changes
	if changes == nil {
		changes = []string{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		e.ID, e.ProjectID, e.At, e.Actor, e.Action, e.Target, e.Status, changes, e.RequestID)
	return mapError(err, "audit entry")
}

// ListAudit implements smartonboard.AuditStore: newest first, Since inclusive,
// Until exclusive, Before an id cursor, and 50 entries when Limit is not positive.
func (db *DB) ListAudit(ctx context.Context, projectID string, f so.AuditFilter) ([]*so.AuditEntry, error) {
	where, args := auditWhere(projectID, f)
	limit := f.Limit
	if limit <= 0 {
		limit = so.DefaultListLimit
	}
	args = append(args, limit)
	rows, _ := db.pool.Query(ctx, `SELECT `+auditColumns+` FROM audit_log WHERE `+where+
		fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	entries, err := pgx.CollectRows(rows, scanAudit)
	if err != nil {
		return nil, mapError(err, "audit entries")
	}
	return entries, nil
}

// auditWhere builds ListAudit's condition from fixed fragments; every value is
// a bound parameter.
func auditWhere(projectID string, f so.AuditFilter) (string, []any) {
	where, args := []string{"project_id = $1"}, []any{projectID}
	add := func(fragment string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(fragment, len(args)))
	}
	if f.Actor != "" {
		add("actor = $%d", f.Actor)
	}
	if f.Action != "" {
		add("action = $%d", f.Action)
	}
	if f.Target != "" {
		add("target = $%d", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= $%d", f.Since)
	}
	if !f.Until.IsZero() {
		add("at < $%d", f.Until)
	}
	if f.Before != "" {
		add("id < $%d", f.Before)
	}
	return strings.Join(where, " AND "), args
}

func scanAudit(row pgx.CollectableRow) (*so.AuditEntry, error) {
	var e so.AuditEntry
	err := row.Scan(&e.ID, &e.ProjectID, &e.At, &e.Actor, &e.Action, &e.Target, &e.Status, &e.Changes, &e.RequestID)
	if e.Changes == nil {
		e.Changes = []string{}
	}
	e.At = e.At.UTC()
	return &e, err
}
