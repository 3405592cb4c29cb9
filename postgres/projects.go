package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// CreateProject implements smartonboard.ProjectStore.
func (db *DB) CreateProject(ctx context.Context, p *so.Project) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO projects (id, name, created_at, identity_secret) VALUES ($1, $2, $3, $4)`,
		p.ID, p.Name, p.CreatedAt, p.IdentitySecret)
	return mapError(err, "project")
}

// FindProject implements smartonboard.ProjectStore.
func (db *DB) FindProject(ctx context.Context, id string) (*so.Project, error) {
	var p so.Project
	err := db.pool.QueryRow(ctx, `SELECT id, name, created_at, identity_secret FROM projects WHERE id = $1`, id).
		Scan(&p.ID, &p.Name, &p.CreatedAt, &p.IdentitySecret)
	if err != nil {
		return nil, mapError(err, "project")
	}
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// UpdateProject implements smartonboard.ProjectStore.
func (db *DB) UpdateProject(ctx context.Context, p *so.Project) error {
	tag, err := db.pool.Exec(ctx, `UPDATE projects SET name = $1, identity_secret = $2 WHERE id = $3`,
		p.Name, p.IdentitySecret, p.ID)
	if err != nil {
		return mapError(err, "project")
	}
	if tag.RowsAffected() == 0 {
		return so.Errorf(so.ENOTFOUND, "project %q not found", p.ID)
	}
	return nil
}

const apiKeyColumns = `id, project_id, kind, name, prefix, hash, created_at`

// CreateAPIKey implements smartonboard.ProjectStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *so.APIKey) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.CreatedAt)
	return mapError(err, "API key")
}

// FindAPIKeysByPrefix implements smartonboard.ProjectStore.
func (db *DB) FindAPIKeysByPrefix(ctx context.Context, prefix string) ([]*so.APIKey, error) {
	return db.queryAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = $1 ORDER BY created_at, id`, prefix)
}

// ListAPIKeys implements smartonboard.ProjectStore.
func (db *DB) ListAPIKeys(ctx context.Context, projectID string) ([]*so.APIKey, error) {
	return db.queryAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE project_id = $1 ORDER BY created_at, id`, projectID)
}

func (db *DB) queryAPIKeys(ctx context.Context, query string, arg string) ([]*so.APIKey, error) {
	rows, _ := db.pool.Query(ctx, query, arg) // CollectRows reports a failed query
	keys, err := pgx.CollectRows(rows, scanAPIKey)
	if err != nil {
		return nil, mapError(err, "API keys")
	}
	return keys, nil
}

func scanAPIKey(row pgx.CollectableRow) (*so.APIKey, error) {
	var k so.APIKey
	err := row.Scan(&k.ID, &k.ProjectID, &k.Kind, &k.Name, &k.Prefix, &k.Hash, &k.CreatedAt)
	k.CreatedAt = k.CreatedAt.UTC()
	return &k, err
}
