package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

const modelColumns = `id, project_id, version, status, note, body, activated_at, health`

// SaveModel implements smartonboard.ModelStore; the project row's lock
// orders concurrent saves, so versions never collide.
func (db *DB) SaveModel(ctx context.Context, m *so.Model) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, m.ProjectID); err != nil {
			return mapError(err, "model")
		}
		err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) + 1 FROM models WHERE project_id = $1`, m.ProjectID).Scan(&m.Version)
		if err != nil {
			return mapError(err, "model")
		}
		body, err := json.Marshal(m)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO models (id, project_id, version, status, note, body, created_at, activated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, m.ID, m.ProjectID, m.Version, string(m.Status), m.Note, string(body),
			m.CreatedAt, m.ActivatedAt)
		return mapError(err, "model")
	})
}

// ListModels implements smartonboard.ModelStore.
func (db *DB) ListModels(ctx context.Context, projectID string) ([]*so.Model, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+modelColumns+` FROM models WHERE project_id = $1 ORDER BY version DESC`, projectID)
	return collectModels(rows)
}

// FindModel implements smartonboard.ModelStore.
func (db *DB) FindModel(ctx context.Context, projectID, id string) (*so.Model, error) {
	return oneModel(ctx, db.pool, so.ModelNotFound(id), `SELECT `+modelColumns+` FROM models WHERE project_id = $1 AND id = $2`, projectID, id)
}

// ActiveModels implements smartonboard.ModelStore.
func (db *DB) ActiveModels(ctx context.Context) ([]*so.Model, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+modelColumns+` FROM models WHERE status = 'active' ORDER BY project_id`)
	return collectModels(rows)
}

// ActiveModel implements smartonboard.ModelStore.
func (db *DB) ActiveModel(ctx context.Context, projectID string) (*so.Model, error) {
	return oneModel(ctx, db.pool, so.NoActiveModel(), `SELECT `+modelColumns+` FROM models WHERE project_id = $1 AND status = 'active'`, projectID)
}

// ActivateModel implements smartonboard.ModelStore; the model rows of the
// project are locked, so two activations take turns.
func (db *DB) ActivateModel(ctx context.Context, projectID, id, note string, at time.Time) (*so.Model, error) {
	var m *so.Model
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM projects WHERE id = $1 FOR UPDATE`, projectID); err != nil {
			return mapError(err, "model")
		}
		if _, err := oneModel(ctx, tx, so.ModelNotFound(id), `SELECT `+modelColumns+` FROM models WHERE project_id = $1 AND id = $2`, projectID, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE models SET status = 'retired' WHERE project_id = $1 AND status = 'active' AND id <> $2`, projectID, id); err != nil {
			return mapError(err, "model")
		}
		if _, err := tx.Exec(ctx, `UPDATE models SET status = 'active', note = $1, activated_at = $2 WHERE project_id = $3 AND id = $4`,
			note, at, projectID, id); err != nil {
			return mapError(err, "model")
		}
		var err error
		m, err = oneModel(ctx, tx, so.ModelNotFound(id), `SELECT `+modelColumns+` FROM models WHERE project_id = $1 AND id = $2`, projectID, id)
		return err
	})
	return m, err
}

// oneModel returns the only model the query finds, or missing.
func oneModel(ctx context.Context, q querier, missing error, query string, args ...any) (*so.Model, error) {
	rows, _ := q.Query(ctx, query, args...)
	ms, err := collectModels(rows)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return nil, missing
	}
	return ms[0], nil
}

// SaveModelHealth implements smartonboard.ModelStore.
func (db *DB) SaveModelHealth(ctx context.Context, projectID, id string, health json.RawMessage) error {
	tag, err := db.pool.Exec(ctx, `UPDATE models SET health = $1 WHERE project_id = $2 AND id = $3`, string(health), projectID, id)
	if err != nil {
		return mapError(err, "model")
	}
	if tag.RowsAffected() == 0 {
		return so.ModelNotFound(id)
	}
	return nil
}

func collectModels(rows pgx.Rows) ([]*so.Model, error) {
	ms, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Model, error) {
		var id, project, status, note, body string
		var version int
		var activated *time.Time
		var health *string
		if err := row.Scan(&id, &project, &version, &status, &note, &body, &activated, &health); err != nil {
			return nil, err
		}
		var m so.Model
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			return nil, fmt.Errorf("model %s: stored model is not valid JSON: %w", id, err)
		}
		if activated != nil {
			t := activated.UTC()
			activated = &t
		}
		m.ID, m.ProjectID, m.Version, m.Status, m.Note, m.ActivatedAt = id, project, version, so.ModelStatus(status), note, activated
		m.Health = nil
		if health != nil {
			m.Health = json.RawMessage(*health)
		}
		return &m, nil
	})
	if err != nil {
		return nil, mapError(err, "model")
	}
	return ms, nil
}
