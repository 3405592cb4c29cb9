package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

const projectColumns = `id, name, created_at, identity_secret, previous_identity_secret, previous_secret_until, settings, revision`

// CreateProject implements smartonboard.ProjectStore.
func (db *DB) CreateProject(ctx context.Context, p *so.Project) error {
	return mapError(insertProject(ctx, db.pool, p), "project")
}

func insertProject(ctx context.Context, q querier, p *so.Project) error {
	settings, err := settingsJSON(p.Settings)
	if err != nil {
		return err
	}
	p.Revision = 1
	_, err = q.Exec(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.Name, p.CreatedAt, p.IdentitySecret, p.PreviousIdentitySecret, zeroNull(p.PreviousSecretUntil), settings, p.Revision)
	return err
}

// FindProject implements smartonboard.ProjectStore.
func (db *DB) FindProject(ctx context.Context, id string) (*so.Project, error) {
	p, err := scanProject(db.pool.QueryRow(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, so.ProjectNotFound(id), "project")
	}
	return p, nil
}

// UpdateProject implements smartonboard.ProjectStore.
func (db *DB) UpdateProject(ctx context.Context, p *so.Project) error {
	settings, err := settingsJSON(p.Settings)
	if err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE projects SET name = $1, identity_secret = $2,
		previous_identity_secret = $3, previous_secret_until = $4, settings = $5, revision = revision + 1
		WHERE id = $6 AND revision = $7`,
		p.Name, p.IdentitySecret, p.PreviousIdentitySecret, zeroNull(p.PreviousSecretUntil), settings, p.ID, p.Revision)
	if err != nil {
		return mapError(err, "project")
	}
	if tag.RowsAffected() == 0 {
		return db.staleProject(ctx, p)
	}
	p.Revision++
	return nil
}

// staleProject explains an update that changed nothing: the project is gone,
// or another update came first.
func (db *DB) staleProject(ctx context.Context, p *so.Project) error {
	cur, err := db.FindProject(ctx, p.ID)
	if err != nil {
		return err
	}
	return so.Stale("project", "revision", cur.Revision, p.Revision)
}

// scanProject reads projectColumns, then extra; its errors are the driver's.
func scanProject(row pgx.Row, extra ...any) (*so.Project, error) {
	var p so.Project
	var until *time.Time
	var settings []byte
	dest := append([]any{&p.ID, &p.Name, &p.CreatedAt, &p.IdentitySecret, &p.PreviousIdentitySecret, &until, &settings, &p.Revision}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(settings, &p.Settings); err != nil {
		return nil, fmt.Errorf("decode settings of project %s: %w", p.ID, err)
	}
	p.CreatedAt = p.CreatedAt.UTC()
	if until != nil {
		p.PreviousSecretUntil = until.UTC()
	}
	return &p, nil
}

// settingsJSON encodes settings for the jsonb column.
func settingsJSON(s so.ProjectSettings) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode project settings: %w", err)
	}
	return string(b), nil
}

// zeroNull stores the zero time as NULL.
func zeroNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

const apiKeyColumns = `id, project_id, kind, name, prefix, hash, created_at, scopes, created_by, source,
	last_used_at, expires_at, revoked_at`

// CreateAPIKey implements smartonboard.ProjectStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *so.APIKey) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		k.ID, k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.CreatedAt, scopeStrings(k.Scopes),
		k.CreatedBy, k.Source, k.LastUsedAt, k.ExpiresAt, k.RevokedAt)
	return mapError(err, "API key")
}

// scopeStrings is the text[] form of scopes, never NULL.
func scopeStrings(scopes []so.Scope) []string {
	out := make([]string, len(scopes))
	for i, s := range scopes {
		out[i] = string(s)
	}
	return out
}

// FindAPIKeysByPrefix implements smartonboard.ProjectStore.
func (db *DB) FindAPIKeysByPrefix(ctx context.Context, prefix string) ([]*so.APIKey, error) {
	return db.queryAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE prefix = $1 ORDER BY created_at, id`, prefix)
}

// ListAPIKeys implements smartonboard.ProjectStore.
func (db *DB) ListAPIKeys(ctx context.Context, projectID string) ([]*so.APIKey, error) {
	return db.queryAPIKeys(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE project_id = $1 ORDER BY created_at, id`, projectID)
}

// RevokeAPIKey implements smartonboard.ProjectStore; a revoked key keeps its
// first revocation time.
func (db *DB) RevokeAPIKey(ctx context.Context, projectID, id string, at time.Time) (*so.APIKey, error) {
	k, err := scanAPIKey(db.pool.QueryRow(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1)
		WHERE project_id = $2 AND id = $3 RETURNING `+apiKeyColumns, at, projectID, id))
	if err != nil {
		return nil, mapError(err, "API key")
	}
	return k, nil
}

// TouchAPIKeys implements smartonboard.ProjectStore in one statement; the WHERE
// clause keeps a time from moving backwards.
func (db *DB) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	ids := slices.Sorted(maps.Keys(used))
	times := make([]time.Time, len(ids))
	for i, id := range ids {
		times[i] = used[id]
	}
	for attempt := 1; ; attempt++ {
		_, err := db.pool.Exec(ctx, `UPDATE api_keys k SET last_used_at = u.at
			FROM unnest($1::text[], $2::timestamptz[]) AS u (id, at)
			WHERE k.id = u.id AND (k.last_used_at IS NULL OR k.last_used_at < u.at)`, ids, times)
		// Instances touching the same keys may lock them in different orders.
		if err == nil || !retryable(err) || attempt == maxTouchAttempts {
			return mapError(err, "API keys")
		}
	}
}

// maxTouchAttempts bounds the retries of a last-use write that lost a deadlock.
const maxTouchAttempts = 3

func (db *DB) queryAPIKeys(ctx context.Context, query string, arg string) ([]*so.APIKey, error) {
	rows, _ := db.pool.Query(ctx, query, arg) // CollectRows reports a failed query
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.APIKey, error) { return scanAPIKey(row) })
	if err != nil {
		return nil, mapError(err, "API keys")
	}
	return keys, nil
}

// scanAPIKey reads apiKeyColumns; its errors are the driver's.
func scanAPIKey(row pgx.Row) (*so.APIKey, error) {
	var k so.APIKey
	var scopes []string
	err := row.Scan(&k.ID, &k.ProjectID, &k.Kind, &k.Name, &k.Prefix, &k.Hash, &k.CreatedAt, &scopes,
		&k.CreatedBy, &k.Source, &k.LastUsedAt, &k.ExpiresAt, &k.RevokedAt)
	if err != nil {
		return nil, err
	}
	for _, s := range scopes {
		k.Scopes = append(k.Scopes, so.Scope(s))
	}
	k.CreatedAt = k.CreatedAt.UTC()
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = utcOptional(k.LastUsedAt), utcOptional(k.ExpiresAt), utcOptional(k.RevokedAt)
	return &k, nil
}
