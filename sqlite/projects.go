package sqlite

import (
	"context"
	"database/sql"

	so "github.com/smartonboarding/smartonboard"
)

// CreateProject implements smartonboard.ProjectStore.
func (db *DB) CreateProject(ctx context.Context, p *so.Project) error {
	_, err := db.writer.ExecContext(ctx,
		`INSERT INTO projects (id, name, created_at, identity_secret) VALUES (?, ?, ?, ?)`,
		p.ID, p.Name, p.CreatedAt.UnixMilli(), p.IdentitySecret)
	return mapError(err)
}

// FindProject implements smartonboard.ProjectStore.
func (db *DB) FindProject(ctx context.Context, id string) (*so.Project, error) {
	var p so.Project
	var created int64
	err := db.reader.QueryRowContext(ctx,
		`SELECT id, name, created_at, identity_secret FROM projects WHERE id = ?`, id).Scan(&p.ID, &p.Name, &created, &p.IdentitySecret)
	if err != nil {
		return nil, mapError(err)
	}
	p.CreatedAt = fromMillis(created)
	return &p, nil
}

// UpdateProject implements smartonboard.ProjectStore.
func (db *DB) UpdateProject(ctx context.Context, p *so.Project) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE projects SET name = ?, identity_secret = ? WHERE id = ?`,
		p.Name, p.IdentitySecret, p.ID)
	if err != nil {
		return mapError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return so.Errorf(so.ENOTFOUND, "project %q not found", p.ID)
	}
	return nil
}

// CreateAPIKey implements smartonboard.ProjectStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *so.APIKey) error {
	_, err := db.writer.ExecContext(ctx,
		`INSERT INTO api_keys (id, project_id, kind, name, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.CreatedAt.UnixMilli())
	return mapError(err)
}

const keyColumns = `id, project_id, kind, name, prefix, hash, created_at`

// FindAPIKeysByPrefix implements smartonboard.ProjectStore.
func (db *DB) FindAPIKeysByPrefix(ctx context.Context, prefix string) ([]*so.APIKey, error) {
	return db.queryKeys(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE prefix = ?`, prefix)
}

// ListAPIKeys implements smartonboard.ProjectStore.
func (db *DB) ListAPIKeys(ctx context.Context, projectID string) ([]*so.APIKey, error) {
	return db.queryKeys(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE project_id = ? ORDER BY created_at, id`, projectID)
}

func (db *DB) queryKeys(ctx context.Context, query string, args ...any) ([]*so.APIKey, error) {
	rows, err := db.reader.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	var keys []*so.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, mapError(rows.Err())
}

func scanKey(rows *sql.Rows) (*so.APIKey, error) {
	var k so.APIKey
	var created int64
	if err := rows.Scan(&k.ID, &k.ProjectID, &k.Kind, &k.Name, &k.Prefix, &k.Hash, &created); err != nil {
		return nil, mapError(err)
	}
	k.CreatedAt = fromMillis(created)
	return &k, nil
}
