package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	so "github.com/smartonboarding/smartonboard"
)

const auditColumns = `id, project_id, at, actor, action, target, status, changes, request_id`

// AppendAudit implements smartonboard.AuditStore.
func (db *DB) AppendAudit(ctx context.Context, e *so.AuditEntry) error {
	changes := e.Changes
	if changes == nil {
		changes = []string{}
	}
	text, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("encode audit changes: %w", err)
	}
	_, err = db.writer.ExecContext(ctx, `INSERT INTO audit_log (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, e.ProjectID, e.At.UnixMilli(), e.Actor, e.Action, e.Target, e.Status, string(text), e.RequestID)
	return mapError(err)
}

// ListAudit implements smartonboard.AuditStore: newest first, Since inclusive,
// Until exclusive, Before an id cursor, and 50 entries when Limit is not positive.
func (db *DB) ListAudit(ctx context.Context, projectID string, f so.AuditFilter) ([]*so.AuditEntry, error) {
	where, args := auditWhere(projectID, f)
	limit := f.Limit
	if limit <= 0 {
		limit = so.DefaultListLimit
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit_log
		WHERE `+where+` ORDER BY id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	entries := []*so.AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, mapError(rows.Err())
}

// auditWhere builds ListAudit's condition from fixed fragments; every value is
// a bound parameter.
func auditWhere(projectID string, f so.AuditFilter) (string, []any) {
	where, args := []string{"project_id = ?"}, []any{projectID}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.Target != "" {
		add("target = ?", f.Target)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UnixMilli())
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	return strings.Join(where, " AND "), args
}

func scanAudit(row scanner) (*so.AuditEntry, error) {
	var e so.AuditEntry
	var at int64
	var changes string
	err := row.Scan(&e.ID, &e.ProjectID, &at, &e.Actor, &e.Action, &e.Target, &e.Status, &changes, &e.RequestID)
	if err != nil {
		return nil, mapError(err)
	}
	if err := json.Unmarshal([]byte(changes), &e.Changes); err != nil {
		return nil, fmt.Errorf("decode changes of audit entry %s: %w", e.ID, err)
	}
	e.At = fromMillis(at)
	return &e, nil
}
