package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

const modelColumns = `id, project_id, version, status, note, body, activated_at, health`

// SaveModel implements smartonboard.ModelStore.
func (db *DB) SaveModel(ctx context.Context, m *so.Model) error {
	return db.inTx(ctx, func(tx *stmtTx) error {
		err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) + 1 FROM models WHERE project_id = ?`, m.ProjectID).Scan(&m.Version)
		if err != nil {
			return mapError(err)
		}
		body, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO models (id, project_id, version, status, note, body, created_at, activated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, m.ID, m.ProjectID, m.Version, string(m.Status), m.Note, string(body),
			m.CreatedAt.UnixMilli(), optionalMillis(m.ActivatedAt))
		return mapError(err)
	})
}

// ListModels implements smartonboard.ModelStore.
func (db *DB) ListModels(ctx context.Context, projectID string) ([]*so.Model, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+modelColumns+` FROM models WHERE project_id = ? ORDER BY version DESC`, projectID)
	if err != nil {
		return nil, mapError(err)
	}
	return scanModels(rows)
}

// FindModel implements smartonboard.ModelStore.
func (db *DB) FindModel(ctx context.Context, projectID, id string) (*so.Model, error) {
	return db.oneModel(ctx, db.reader, so.ModelNotFound(id), `SELECT `+modelColumns+` FROM models WHERE project_id = ? AND id = ?`, projectID, id)
}

// ActiveModels implements smartonboard.ModelStore.
func (db *DB) ActiveModels(ctx context.Context) ([]*so.Model, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+modelColumns+` FROM models WHERE status = 'active' ORDER BY project_id`)
	if err != nil {
		return nil, mapError(err)
	}
	return scanModels(rows)
}

// ActiveModel implements smartonboard.ModelStore.
func (db *DB) ActiveModel(ctx context.Context, projectID string) (*so.Model, error) {
	return db.oneModel(ctx, db.reader, so.NoActiveModel(), `SELECT `+modelColumns+` FROM models WHERE project_id = ? AND status = 'active'`, projectID)
}

// ActivateModel implements smartonboard.ModelStore.
func (db *DB) ActivateModel(ctx context.Context, projectID, id, note string, at time.Time) (*so.Model, error) {
	var m *so.Model
	err := db.inTx(ctx, func(tx *stmtTx) error {
		if _, err := db.oneModel(ctx, tx, so.ModelNotFound(id), `SELECT `+modelColumns+` FROM models WHERE project_id = ? AND id = ?`, projectID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE models SET status = 'retired' WHERE project_id = ? AND status = 'active' AND id <> ?`, projectID, id); err != nil {
			return mapError(err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE models SET status = 'active', note = ?, activated_at = ? WHERE project_id = ? AND id = ?`,
			note, at.UnixMilli(), projectID, id); err != nil {
			return mapError(err)
		}
		var err error
		m, err = db.oneModel(ctx, tx, so.ModelNotFound(id), `SELECT `+modelColumns+` FROM models WHERE project_id = ? AND id = ?`, projectID, id)
		return err
	})
	return m, err
}

// SaveModelHealth implements smartonboard.ModelStore.
func (db *DB) SaveModelHealth(ctx context.Context, projectID, id string, health json.RawMessage) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE models SET health = ? WHERE project_id = ? AND id = ?`, string(health), projectID, id)
	if err != nil {
		return mapError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return so.ModelNotFound(id)
	}
	return nil
}

// querier is a connection pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// oneModel returns the only model the query finds, or missing.
func (db *DB) oneModel(ctx context.Context, q querier, missing error, query string, args ...any) (*so.Model, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapError(err)
	}
	ms, err := scanModels(rows)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, missing
	}
	return ms[0], nil
}

func scanModels(rows *sql.Rows) ([]*so.Model, error) {
	out := []*so.Model{}
	var id, project, status, note, body string
	var version int
	var activated sql.NullInt64
	var health sql.NullString
	var bad error
	err := eachRow(rows, []any{&id, &project, &version, &status, &note, &body, &activated, &health}, func() {
		m, err := decodeModel(body)
		if err != nil {
			bad = errors.Join(bad, fmt.Errorf("model %s: %w", id, err))
			return
		}
		m.ID, m.ProjectID, m.Version, m.Status, m.Note, m.ActivatedAt = id, project, version, so.ModelStatus(status), note, nullMillis(activated)
		m.Health = nil
		if health.Valid {
			m.Health = json.RawMessage(health.String)
		}
		out = append(out, m)
	})
	if err == nil {
		err = bad
	}
	return out, err
}

// decodeModel reads a model's stored body.
func decodeModel(body string) (*so.Model, error) {
	var m so.Model
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return nil, fmt.Errorf("stored model is not valid JSON: %w", err)
	}
	return &m, nil
}
