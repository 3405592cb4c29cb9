package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	so "github.com/smartonboarding/smartonboard"
)

// flowColumns reads a flow and, in the same statement (so one snapshot), its
// published versions as a JSON array of [version, published_at] pairs.
const flowColumns = `id, project_id, key, name, description, status, steps, revision, published_version,
	created_at, updated_at,
	(SELECT json_group_array(json_array(v.version, v.published_at) ORDER BY v.version)
		FROM flow_versions v WHERE v.flow_id = flows.id)`

// CreateFlow implements smartonboard.FlowStore.
func (db *DB) CreateFlow(ctx context.Context, f *so.Flow) error {
	steps, err := encodeSteps(f.Steps)
	if err != nil {
		return err
	}
	_, err = db.writer.ExecContext(ctx, `INSERT INTO flows (id, project_id, key, name, description, status,
		steps, revision, published_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.ID, f.ProjectID, f.Key, f.Name, f.Description, string(f.Status), steps, f.Revision,
		f.PublishedVersion, f.CreatedAt.UnixMilli(), f.UpdatedAt.UnixMilli())
	if isUniqueViolation(err) { // ids are random: the key is taken
		return so.Exists("flow", "key", f.Key)
	}
	return mapError(err)
}

// FindFlow implements smartonboard.FlowStore.
func (db *DB) FindFlow(ctx context.Context, projectID, key string) (*so.Flow, error) {
	row := db.reader.QueryRowContext(ctx,
		`SELECT `+flowColumns+` FROM flows WHERE project_id = ? AND key = ?`, projectID, key)
	f, err := scanFlow(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, so.FlowNotFound(key)
	}
	return f, err
}

// ListFlows implements smartonboard.FlowStore.
func (db *DB) ListFlows(ctx context.Context, projectID, after string, limit int) ([]*so.Flow, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+flowColumns+` FROM flows
		WHERE project_id = ? AND key > ? ORDER BY key LIMIT ?`, projectID, after, limit)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	flows := []*so.Flow{}
	for rows.Next() {
		f, err := scanFlow(rows)
		if err != nil {
			return nil, err
		}
		flows = append(flows, f)
	}
	return flows, mapError(rows.Err())
}

// UpdateFlowDraft implements smartonboard.FlowStore. It leaves status and
// published_version alone: only PublishFlow moves them.
func (db *DB) UpdateFlowDraft(ctx context.Context, f *so.Flow, expectedRevision int) error {
	steps, err := encodeSteps(f.Steps)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE flows SET name = ?, description = ?, steps = ?, revision = ?,
			updated_at = ? WHERE project_id = ? AND key = ? AND revision = ?`,
			f.Name, f.Description, steps, f.Revision, f.UpdatedAt.UnixMilli(), f.ProjectID, f.Key, expectedRevision)
		if err != nil {
			return mapError(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var revision int
		err = tx.QueryRowContext(ctx, `SELECT revision FROM flows WHERE project_id = ? AND key = ?`,
			f.ProjectID, f.Key).Scan(&revision)
		if err != nil {
			return notFound(err, so.FlowNotFound(f.Key))
		}
		return so.Stale("draft", "revision", revision, expectedRevision)
	})
}

// PublishFlow implements smartonboard.FlowStore.
func (db *DB) PublishFlow(ctx context.Context, v *so.FlowVersion) error {
	steps, err := encodeSteps(v.Steps)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *stmtTx) error {
		var published int
		err := tx.QueryRowContext(ctx, `SELECT published_version FROM flows WHERE project_id = ? AND id = ?`,
			v.ProjectID, v.FlowID).Scan(&published)
		if err != nil {
			return notFound(err, so.FlowNotFound(v.FlowKey))
		}
		if v.Version != published+1 {
			return so.PublishRace(published, v.Version)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO flow_versions (flow_id, project_id, version, name, steps,
			published_at) VALUES (?, ?, ?, ?, ?, ?)`,
			v.FlowID, v.ProjectID, v.Version, v.Name, steps, v.PublishedAt.UnixMilli()); err != nil {
			return mapError(err)
		}
		for _, id := range so.ContentItemIDs(v.Steps) { // the step's content and its help
			if _, err := tx.ExecContext(ctx, `INSERT INTO flow_version_content (project_id, content_item_id,
				flow_id, version) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				v.ProjectID, id, v.FlowID, v.Version); isForeignKeyViolation(err) {
				return so.ContentGoneError()
			} else if err != nil {
				return mapError(err)
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE flows SET status = 'published', published_version = ?
			WHERE project_id = ? AND id = ?`, v.Version, v.ProjectID, v.FlowID)
		return mapError(err)
	})
}

// FindFlowVersion implements smartonboard.FlowStore.
func (db *DB) FindFlowVersion(ctx context.Context, projectID, flowID string, version int) (*so.FlowVersion, error) {
	v := so.FlowVersion{FlowID: flowID, ProjectID: projectID, Version: version}
	var steps string
	var published int64
	err := db.reader.QueryRowContext(ctx, `SELECT f.key, v.name, v.steps, v.published_at
		FROM flow_versions v JOIN flows f ON f.id = v.flow_id
		WHERE v.project_id = ? AND v.flow_id = ? AND v.version = ?`, projectID, flowID, version).
		Scan(&v.FlowKey, &v.Name, &steps, &published)
	if err != nil {
		return nil, notFound(err, so.VersionNotFound(version))
	}
	if v.Steps, err = so.DecodeSteps([]byte(steps)); err != nil {
		return nil, fmt.Errorf("decode steps of flow %s version %d: %w", flowID, version, err)
	}
	v.PublishedAt = fromMillis(published)
	return &v, nil
}

// ContentInUse implements smartonboard.FlowStore.
func (db *DB) ContentInUse(ctx context.Context, projectID, contentItemID string) (bool, error) {
	var used bool
	err := db.reader.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM flow_version_content
		WHERE project_id = ? AND content_item_id = ?)`, projectID, contentItemID).Scan(&used)
	return used, mapError(err)
}

// scanFlow reads one flow; a missing row stays sql.ErrNoRows, for the caller
// to report with the key it looked for.
func scanFlow(row scanner) (*so.Flow, error) {
	var f so.Flow
	var steps, versions string
	var created, updated int64
	err := row.Scan(&f.ID, &f.ProjectID, &f.Key, &f.Name, &f.Description, &f.Status, &steps, &f.Revision,
		&f.PublishedVersion, &created, &updated, &versions)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	} else if err != nil {
		return nil, mapError(err)
	}
	if f.Steps, err = so.DecodeSteps([]byte(steps)); err != nil {
		return nil, fmt.Errorf("decode steps of flow %s: %w", f.ID, err)
	}
	if f.Versions, err = decodeVersions(versions); err != nil {
		return nil, fmt.Errorf("decode versions of flow %s: %w", f.ID, err)
	}
	f.CreatedAt, f.UpdatedAt = fromMillis(created), fromMillis(updated)
	return &f, nil
}

// decodeVersions reads the [[version, published_at], ...] array of flowColumns.
func decodeVersions(raw string) ([]so.VersionInfo, error) {
	var pairs [][2]int64
	if err := json.Unmarshal([]byte(raw), &pairs); err != nil {
		return nil, err
	}
	versions := make([]so.VersionInfo, len(pairs))
	for i, p := range pairs {
		versions[i] = so.VersionInfo{Version: int(p[0]), PublishedAt: fromMillis(p[1])}
	}
	return versions, nil
}

// encodeSteps stores steps as a JSON array, never null.
func encodeSteps(steps []so.Step) (string, error) {
	if steps == nil {
		steps = []so.Step{}
	}
	b, err := json.Marshal(steps)
	if err != nil {
		return "", fmt.Errorf("encode steps: %w", err)
	}
	return string(b), nil
}
