package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

// flowColumns reads a flow with its version list in one statement, so the list
// always matches the flow it comes with.
const flowColumns = `f.id, f.project_id, f.key, f.name, f.description, f.status, f.steps, f.revision,
	f.published_version, f.created_at, f.updated_at,
	ARRAY(SELECT v.version FROM flow_versions v WHERE v.flow_id = f.id ORDER BY v.version),
	ARRAY(SELECT v.published_at FROM flow_versions v WHERE v.flow_id = f.id ORDER BY v.version)`

// CreateFlow implements smartonboard.FlowStore.
func (db *DB) CreateFlow(ctx context.Context, f *so.Flow) error {
	steps, err := marshalSteps(f.Steps)
	if err != nil {
		return err
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO flows (id, project_id, key, name, description, status, steps,
		revision, published_version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.ID, f.ProjectID, f.Key, f.Name, f.Description, string(f.Status), steps, f.Revision,
		f.PublishedVersion, f.CreatedAt, f.UpdatedAt)
	if isUniqueViolation(err) { // ids are random: the key is taken
		return so.Exists("flow", "key", f.Key)
	}
	return mapError(err, "flow")
}

// FindFlow implements smartonboard.FlowStore.
func (db *DB) FindFlow(ctx context.Context, projectID, key string) (*so.Flow, error) {
	row := db.pool.QueryRow(ctx, `SELECT `+flowColumns+` FROM flows f WHERE f.project_id = $1 AND f.key = $2`,
		projectID, key)
	f, err := scanFlow(row)
	if err != nil {
		return nil, notFound(err, so.FlowNotFound(key), "flow")
	}
	return f, nil
}

// ListFlows implements smartonboard.FlowStore.
func (db *DB) ListFlows(ctx context.Context, projectID, after string, limit int) ([]*so.Flow, error) {
	rows, _ := db.pool.Query(ctx, `SELECT `+flowColumns+` FROM flows f
		WHERE f.project_id = $1 AND f.key > $2 ORDER BY f.key LIMIT $3`, projectID, after, limit)
	flows, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.Flow, error) { return scanFlow(row) })
	if err != nil {
		return nil, mapError(err, "flows")
	}
	return flows, nil
}

// UpdateFlowDraft implements smartonboard.FlowStore. The flow is found by its key;
// its status and published version belong to PublishFlow and are left alone.
func (db *DB) UpdateFlowDraft(ctx context.Context, f *so.Flow, expectedRevision int) error {
	steps, err := marshalSteps(f.Steps)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE flows SET name = $1, description = $2, steps = $3, revision = $4,
			updated_at = $5 WHERE project_id = $6 AND key = $7 AND revision = $8`,
			f.Name, f.Description, steps, f.Revision, f.UpdatedAt, f.ProjectID, f.Key, expectedRevision)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var current int
		err = tx.QueryRow(ctx, `SELECT revision FROM flows WHERE project_id = $1 AND key = $2`,
			f.ProjectID, f.Key).Scan(&current)
		if err != nil {
			return err
		}
		return so.Stale("draft", "revision", current, expectedRevision)
	})
	return notFound(err, so.FlowNotFound(f.Key), "flow")
}

// PublishFlow implements smartonboard.FlowStore. The flow row stays locked from
// the version check to the write, so concurrent publishers cannot both succeed.
func (db *DB) PublishFlow(ctx context.Context, v *so.FlowVersion) error {
	steps, err := marshalSteps(v.Steps)
	if err != nil {
		return err
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var published int
		err := tx.QueryRow(ctx, `SELECT published_version FROM flows WHERE project_id = $1 AND id = $2 FOR UPDATE`,
			v.ProjectID, v.FlowID).Scan(&published)
		if err != nil {
			return err
		}
		if v.Version != published+1 {
			return so.PublishRace(published, v.Version)
		}
		return insertVersion(ctx, tx, v, steps)
	})
	if violatedReference(err) == "content item" { // checked at commit: the key is deferred
		return so.ContentGoneError()
	}
	return notFound(err, so.FlowNotFound(v.FlowKey), "flow")
}

// insertVersion writes the version, the content it uses, and the flow's new state.
func insertVersion(ctx context.Context, tx pgx.Tx, v *so.FlowVersion, steps string) error {
	_, err := tx.Exec(ctx, `INSERT INTO flow_versions (flow_id, project_id, version, name, steps, published_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, v.FlowID, v.ProjectID, v.Version, v.Name, steps, v.PublishedAt)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO flow_version_content (project_id, content_item_id, flow_id, version)
		SELECT $1, c, $3, $4 FROM unnest($2::text[]) AS c`, v.ProjectID, so.ContentItemIDs(v.Steps), v.FlowID, v.Version)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE flows SET status = 'published', published_version = $1 WHERE id = $2`,
		v.Version, v.FlowID)
	return err
}

// FindFlowVersion implements smartonboard.FlowStore.
func (db *DB) FindFlowVersion(ctx context.Context, projectID, flowID string, version int) (*so.FlowVersion, error) {
	var v so.FlowVersion
	var steps string
	err := db.pool.QueryRow(ctx, `SELECT v.flow_id, v.project_id, f.key, v.version, v.name, v.steps, v.published_at
		FROM flow_versions v JOIN flows f ON f.id = v.flow_id
		WHERE v.project_id = $1 AND v.flow_id = $2 AND v.version = $3`, projectID, flowID, version).
		Scan(&v.FlowID, &v.ProjectID, &v.FlowKey, &v.Version, &v.Name, &steps, &v.PublishedAt)
	if err != nil {
		return nil, notFound(err, so.VersionNotFound(version), "flow version")
	}
	if v.Steps, err = so.DecodeSteps([]byte(steps)); err != nil {
		return nil, mapError(err, "flow version")
	}
	v.PublishedAt = v.PublishedAt.UTC()
	return &v, nil
}

// ContentInUse implements smartonboard.FlowStore.
func (db *DB) ContentInUse(ctx context.Context, projectID, contentItemID string) (bool, error) {
	var used bool
	err := db.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM flow_version_content
		WHERE project_id = $1 AND content_item_id = $2)`, projectID, contentItemID).Scan(&used)
	return used, mapError(err, "flow content")
}

func scanFlow(row pgx.Row) (*so.Flow, error) {
	var f so.Flow
	var steps string
	var versions []int
	var publishedAt []time.Time
	err := row.Scan(&f.ID, &f.ProjectID, &f.Key, &f.Name, &f.Description, &f.Status, &steps, &f.Revision,
		&f.PublishedVersion, &f.CreatedAt, &f.UpdatedAt, &versions, &publishedAt)
	if err != nil {
		return nil, err
	}
	if f.Steps, err = so.DecodeSteps([]byte(steps)); err != nil {
		return nil, err
	}
	f.Versions = make([]so.VersionInfo, len(versions))
	for i := range versions {
		f.Versions[i] = so.VersionInfo{Version: versions[i], PublishedAt: publishedAt[i].UTC()}
	}
	f.CreatedAt, f.UpdatedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC()
	return &f, nil
}

// marshalSteps stores steps as a JSON array, never as null.
func marshalSteps(steps []so.Step) (string, error) {
	if steps == nil {
		steps = []so.Step{}
	}
	b, err := json.Marshal(steps)
	return string(b), err
}
