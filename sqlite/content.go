package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

const contentColumns = `id, project_id, kind, title, body, status, category, tags, locale, complexity,
	scheduled_at, published_at, created_at, updated_at, version, metadata, variant_of`

// CreateContentItem implements smartonboard.ContentStore.
func (db *DB) CreateContentItem(ctx context.Context, item *so.ContentItem) error {
	args, err := contentArgs(item)
	if err != nil {
		return err
	}
	_, err = db.writer.ExecContext(ctx, `INSERT INTO content_items (`+contentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
	if isUniqueViolation(err) {
		return so.Exists("content item", "id", item.ID)
	}
	return mapError(err)
}

// FindContentItem implements smartonboard.ContentStore.
func (db *DB) FindContentItem(ctx context.Context, projectID, id string) (*so.ContentItem, error) {
	row := db.reader.QueryRowContext(ctx,
		`SELECT `+contentColumns+` FROM content_items WHERE project_id = ? AND id = ?`, projectID, id)
	item, err := scanContent(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, so.ContentItemNotFound(id)
	}
	return item, err
}

// ListContentItems implements smartonboard.ContentStore.
func (db *DB) ListContentItems(ctx context.Context, projectID string, f so.ContentFilter) ([]*so.ContentItem, error) {
	where, args := []string{"project_id = ?"}, []any{projectID}
	add := func(cond string, vals ...any) {
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.Status != "" {
		add("status = ?", string(f.Status))
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	if f.Category != "" {
		add("category = ?", f.Category)
	}
	if f.Locale != "" {
		add("locale = ?", f.Locale)
	}
	if f.Tag != "" {
		add("EXISTS (SELECT 1 FROM json_each(content_items.tags) WHERE json_each.value = ?)", f.Tag)
	}
	if f.Q != "" {
		pattern := "%" + escapeLike(f.Q) + "%"
		add(`(title LIKE ? ESCAPE '\' OR body LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	if f.VariantOf != "" {
		add("variant_of = ?", f.VariantOf)
	}
	if f.After != "" {
		add("id < ?", f.After)
	}
	args = append(args, f.Limit)
	rows, err := db.reader.QueryContext(ctx, `SELECT `+contentColumns+` FROM content_items
		WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	items := []*so.ContentItem{}
	for rows.Next() {
		item, err := scanContent(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, mapError(rows.Err())
}

// escapeLike makes %, _ and \ match themselves in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateContentItem implements smartonboard.ContentStore.
func (db *DB) UpdateContentItem(ctx context.Context, item *so.ContentItem, expectedVersion int) error {
	args, err := contentArgs(item)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *stmtTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE content_items SET kind = ?, title = ?, body = ?, status = ?,
			category = ?, tags = ?, locale = ?, complexity = ?, scheduled_at = ?, published_at = ?,
			updated_at = ?, version = ?, metadata = ?, variant_of = ?
			WHERE project_id = ? AND id = ? AND version = ?`,
			updateArgs(args, expectedVersion)...)
		if err != nil {
			return mapError(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var version int
		err = tx.QueryRowContext(ctx, `SELECT version FROM content_items WHERE project_id = ? AND id = ?`,
			item.ProjectID, item.ID).Scan(&version)
		if err != nil {
			return notFound(err, so.ContentItemNotFound(item.ID))
		}
		return so.Stale("content item", "version", version, expectedVersion)
	})
}

// DeleteContentItem implements smartonboard.ContentStore.
func (db *DB) DeleteContentItem(ctx context.Context, projectID, id string) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM content_items WHERE project_id = ? AND id = ?`, projectID, id)
	if isForeignKeyViolation(err) {
		return so.ContentInUseError(id)
	} else if err != nil {
		return mapError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return so.ContentItemNotFound(id)
	}
	return nil
}

// PublishDueContentItems implements smartonboard.ContentStore.
func (db *DB) PublishDueContentItems(ctx context.Context, now time.Time) (int, error) {
	ms := now.UnixMilli()
	res, err := db.writer.ExecContext(ctx, `UPDATE content_items
		SET status = 'published', published_at = ?, updated_at = ?, version = version + 1
		WHERE status = 'scheduled' AND scheduled_at <= ?`, ms, ms, ms)
	if err != nil {
		return 0, mapError(err)
	}
	n, err := res.RowsAffected()
	return int(n), mapError(err)
}

// FindVariants implements smartonboard.ContentStore.
func (db *DB) FindVariants(ctx context.Context, projectID, contentID string) ([]*so.ContentItem, error) {
	items := []*so.ContentItem{}
	if contentID == "" { // '' is every item that is no variant
		return items, nil
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+contentColumns+` FROM content_items
		WHERE project_id = ? AND variant_of = ? AND status = 'published' ORDER BY id DESC`, projectID, contentID)
	if err != nil {
		return nil, mapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		item, err := scanContent(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, mapError(rows.Err())
}

// updateArgs reorders contentArgs for the UPDATE: the mutable columns (all but
// id, project_id and created_at), then the WHERE values.
func updateArgs(a []any, expectedVersion int) []any {
	set := append(append([]any{}, a[2:12]...), a[13:17]...)
	return append(set, a[1], a[0], expectedVersion)
}

// contentArgs lists an item's values in contentColumns order.
func contentArgs(item *so.ContentItem) ([]any, error) {
	tags, err := json.Marshal(item.Tags)
	if err != nil {
		return nil, fmt.Errorf("encode tags: %w", err)
	}
	return []any{item.ID, item.ProjectID, string(item.Kind), item.Title, item.Body, string(item.Status),
		item.Category, string(tags), item.Locale, string(item.Complexity), optionalMillis(item.ScheduledAt),
		optionalMillis(item.PublishedAt), item.CreatedAt.UnixMilli(), item.UpdatedAt.UnixMilli(), item.Version,
		string(item.Metadata), item.VariantOf}, nil
}

type scanner interface{ Scan(dest ...any) error }

// scanContent reads one item; a missing row stays sql.ErrNoRows, for the caller
// to report with the id it looked for.
func scanContent(row scanner) (*so.ContentItem, error) {
	var item so.ContentItem
	var tags, metadata string
	var scheduled, published sql.NullInt64
	var created, updated int64
	err := row.Scan(&item.ID, &item.ProjectID, &item.Kind, &item.Title, &item.Body, &item.Status,
		&item.Category, &tags, &item.Locale, &item.Complexity, &scheduled, &published, &created, &updated,
		&item.Version, &metadata, &item.VariantOf)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	} else if err != nil {
		return nil, mapError(err)
	}
	if err := json.Unmarshal([]byte(tags), &item.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of %s: %w", item.ID, err)
	}
	item.ScheduledAt, item.PublishedAt = nullMillis(scheduled), nullMillis(published)
	item.CreatedAt, item.UpdatedAt = fromMillis(created), fromMillis(updated)
	item.Metadata = json.RawMessage(metadata)
	return &item, nil
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func optionalMillis(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func nullMillis(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMillis(v.Int64)
	return &t
}
