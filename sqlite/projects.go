package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

const projectColumns = `id, name, created_at, identity_secret, previous_identity_secret, previous_secret_until, settings, revision`

// execer is what the writer pool and a transaction have in common.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateProject implements smartonboard.ProjectStore.
func (db *DB) CreateProject(ctx context.Context, p *so.Project) error {
	return insertProject(ctx, db.writer, p)
}

func insertProject(ctx context.Context, ex execer, p *so.Project) error {
	settings, err := settingsText(p.Settings)
	if err != nil {
		return err
	}
	p.Revision = 1
	_, err = ex.ExecContext(ctx, `INSERT INTO projects (`+projectColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Name, p.CreatedAt.UnixMilli(), p.IdentitySecret, p.PreviousIdentitySecret,
		zeroNullMillis(p.PreviousSecretUntil), settings, p.Revision)
	return mapError(err)
}

// FindProject implements smartonboard.ProjectStore.
func (db *DB) FindProject(ctx context.Context, id string) (*so.Project, error) {
	p, err := scanProject(db.reader.QueryRowContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, so.ProjectNotFound(id))
	}
	return p, nil
}

// UpdateProject implements smartonboard.ProjectStore.
func (db *DB) UpdateProject(ctx context.Context, p *so.Project) error {
	settings, err := settingsText(p.Settings)
	if err != nil {
		return err
	}
	res, err := db.writer.ExecContext(ctx, `UPDATE projects SET name = ?, identity_secret = ?,
		previous_identity_secret = ?, previous_secret_until = ?, settings = ?, revision = revision + 1
		WHERE id = ? AND revision = ?`,
		p.Name, p.IdentitySecret, p.PreviousIdentitySecret, zeroNullMillis(p.PreviousSecretUntil), settings, p.ID, p.Revision)
	if err != nil {
		return mapError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
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

// scanProject reads projectColumns; its errors are the driver's, unmapped.
func scanProject(row scanner, extra ...any) (*so.Project, error) {
	var p so.Project
	var created int64
	var until sql.NullInt64
	var settings string
	dest := append([]any{&p.ID, &p.Name, &created, &p.IdentitySecret, &p.PreviousIdentitySecret, &until, &settings, &p.Revision}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(settings), &p.Settings); err != nil {
		return nil, fmt.Errorf("decode settings of project %s: %w", p.ID, err)
	}
	p.CreatedAt = fromMillis(created)
	if until.Valid {
		p.PreviousSecretUntil = fromMillis(until.Int64)
	}
	return &p, nil
}

func settingsText(s so.ProjectSettings) (string, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode project settings: %w", err)
	}
	return string(b), nil
}

// zeroNullMillis stores the zero time as NULL.
func zeroNullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

const keyColumns = `id, project_id, kind, name, prefix, hash, created_at, scopes, created_by, source,
	last_used_at, expires_at, revoked_at`

// CreateAPIKey implements smartonboard.ProjectStore.
func (db *DB) CreateAPIKey(ctx context.Context, k *so.APIKey) error {
	scopes, err := json.Marshal(scopeStrings(k.Scopes))
	if err != nil {
		return fmt.Errorf("encode key scopes: %w", err)
	}
	_, err = db.writer.ExecContext(ctx, `INSERT INTO api_keys (`+keyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.ProjectID, string(k.Kind), k.Name, k.Prefix, k.Hash, k.CreatedAt.UnixMilli(), string(scopes),
		k.CreatedBy, k.Source, optionalMillis(k.LastUsedAt), optionalMillis(k.ExpiresAt), optionalMillis(k.RevokedAt))
	return mapError(err)
}

// scopeStrings never encodes nil as JSON null.
func scopeStrings(scopes []so.Scope) []so.Scope {
	if scopes == nil {
		return []so.Scope{}
	}
	return scopes
}

// FindAPIKeysByPrefix implements smartonboard.ProjectStore.
func (db *DB) FindAPIKeysByPrefix(ctx context.Context, prefix string) ([]*so.APIKey, error) {
	return db.queryKeys(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE prefix = ? ORDER BY created_at, id`, prefix)
}

// ListAPIKeys implements smartonboard.ProjectStore.
func (db *DB) ListAPIKeys(ctx context.Context, projectID string) ([]*so.APIKey, error) {
	return db.queryKeys(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE project_id = ? ORDER BY created_at, id`, projectID)
}

// RevokeAPIKey implements smartonboard.ProjectStore; a revoked key keeps its
// first revocation time.
func (db *DB) RevokeAPIKey(ctx context.Context, projectID, id string, at time.Time) (*so.APIKey, error) {
	k, err := scanKey(db.writer.QueryRowContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?)
		WHERE project_id = ? AND id = ? RETURNING `+keyColumns, at.UnixMilli(), projectID, id))
	if err != nil {
		return nil, notFound(err, so.NotFound("API key", ""))
	}
	return k, nil
}

// TouchAPIKeys implements smartonboard.ProjectStore in one transaction; the
// WHERE clause keeps a time from moving backwards.
func (db *DB) TouchAPIKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	return db.inTx(ctx, func(tx *stmtTx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE api_keys SET last_used_at = ?1
			WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)`)
		if err != nil {
			return mapError(err)
		}
		defer stmt.Close()
		for id, at := range used {
			if _, err := stmt.ExecContext(ctx, at.UnixMilli(), id); err != nil {
				return mapError(err)
			}
		}
		return nil
	})
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
			return nil, mapError(err)
		}
		keys = append(keys, k)
	}
	return keys, mapError(rows.Err())
}

// scanKey reads keyColumns; its errors are the driver's, unmapped.
func scanKey(row scanner) (*so.APIKey, error) {
	var k so.APIKey
	var created int64
	var scopes string
	var lastUsed, expires, revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.ProjectID, &k.Kind, &k.Name, &k.Prefix, &k.Hash, &created, &scopes,
		&k.CreatedBy, &k.Source, &lastUsed, &expires, &revoked)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("decode scopes of key %s: %w", k.ID, err)
	}
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	k.CreatedAt = fromMillis(created)
	k.LastUsedAt, k.ExpiresAt, k.RevokedAt = nullMillis(lastUsed), nullMillis(expires), nullMillis(revoked)
	return &k, nil
}
