package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	so "github.com/smartonboarding/smartonboard"
)

const contentColumns = `id, project_id, kind, title, body, status, category, tags, locale, complexity,
	scheduled_at, published_at, created_at, updated_at, version, metadata, variant_of`

// CreateContentItem implements smartonboard.ContentStore.
func (db *DB) CreateContentItem(ctx context.Context, item *so.ContentItem) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO content_items (`+contentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		item.ID, item.ProjectID, string(item.Kind), item.Title, item.Body, string(item.Status),
		item.Category, tagsOf(item), item.Locale, string(item.Complexity), item.ScheduledAt,
		item.PublishedAt, item.CreatedAt, item.UpdatedAt, item.Version, string(item.Metadata), item.VariantOf)
	if isUniqueViolation(err) {
		return so.Exists("content item", "id", item.ID)
	}
	return mapError(err, "content item")
}

// FindContentItem implements smartonboard.ContentStore.
func (db *DB) FindContentItem(ctx context.Context, projectID, id string) (*so.ContentItem, error) {
	row := db.pool.QueryRow(ctx, `SELECT `+contentColumns+` FROM content_items
		WHERE project_id = $1 AND id = $2`, projectID, id)
	item, err := scanContentItem(row)
	if err != nil {
		return nil, notFound(err, so.ContentItemNotFound(id), "content item")
	}
	return item, nil
}

// ListContentItems implements smartonboard.ContentStore. The WHERE clause is
// assembled from fixed fragments; every value is a bound parameter.
func (db *DB) ListContentItems(ctx context.Context, projectID string, f so.ContentFilter) ([]*so.ContentItem, error) {
	where, args := []string{"project_id = $1"}, []any{projectID}
	add := func(fragment string, value any) {
		args = append(args, value)
		where = append(where, fmt.Sprintf(fragment, len(args)))
	}
	if f.Status != "" {
		add("status = $%d", string(f.Status))
	}
	if f.Kind != "" {
		add("kind = $%d", string(f.Kind))
	}
	if f.Category != "" {
		add("category = $%d", f.Category)
	}
	if f.Locale != "" {
		add("locale = $%d", f.Locale)
	}
	if f.Tag != "" {
		add("$%d = ANY (tags)", f.Tag)
	}
	if f.Q != "" {
		add(`(title ILIKE $%[1]d ESCAPE '\' OR body ILIKE $%[1]d ESCAPE '\')`, "%"+escapeLike(f.Q)+"%")
	}
	if f.VariantOf != "" {
		add("variant_of = $%d", f.VariantOf)
	}
	if f.After != "" {
		add("id < $%d", f.After)
	}
	args = append(args, f.Limit)
	rows, _ := db.pool.Query(ctx, `SELECT `+contentColumns+` FROM content_items WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.ContentItem, error) {
		return scanContentItem(row)
	})
	if err != nil {
		return nil, mapError(err, "content items")
	}
	return items, nil
}

// escapeLike makes %, _ and \ match themselves in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateContentItem implements smartonboard.ContentStore: the version check and
// the write are one statement, so concurrent writers cannot both win.
func (db *DB) UpdateContentItem(ctx context.Context, item *so.ContentItem, expectedVersion int) error {
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE content_items SET kind = $1, title = $2, body = $3, status = $4,
			category = $5, tags = $6, locale = $7, complexity = $8, scheduled_at = $9, published_at = $10,
			updated_at = $11, version = $12, metadata = $13, variant_of = $14
			WHERE project_id = $15 AND id = $16 AND version = $17`,
			string(item.Kind), item.Title, item.Body, string(item.Status), item.Category, tagsOf(item),
			item.Locale, string(item.Complexity), item.ScheduledAt, item.PublishedAt, item.UpdatedAt,
			item.Version, string(item.Metadata), item.VariantOf, item.ProjectID, item.ID, expectedVersion)
		if err != nil || tag.RowsAffected() == 1 {
			return err
		}
		var current int
		err = tx.QueryRow(ctx, `SELECT version FROM content_items WHERE project_id = $1 AND id = $2`,
			item.ProjectID, item.ID).Scan(&current)
		if err != nil {
			return err
		}
		return so.Stale("content item", "version", current, expectedVersion)
	})
	return notFound(err, so.ContentItemNotFound(item.ID), "content item")
}

// DeleteContentItem implements smartonboard.ContentStore.
func (db *DB) DeleteContentItem(ctx context.Context, projectID, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM content_items WHERE project_id = $1 AND id = $2`, projectID, id)
	if violatedReference(err) == "content item" {
		return so.ContentInUseError(id)
	} else if err != nil {
		return mapError(err, "content item")
	}
	if tag.RowsAffected() == 0 {
		return so.ContentItemNotFound(id)
	}
	return nil
}

// PublishDueContentItems implements smartonboard.ContentStore in one statement, so
// instances running the job together never publish an item twice.
func (db *DB) PublishDueContentItems(ctx context.Context, now time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE content_items
		SET status = 'published', published_at = $1, updated_at = $1, version = version + 1
		WHERE status = 'scheduled' AND scheduled_at <= $1`, now)
	if err != nil {
		return 0, mapError(err, "due content items")
	}
	return int(tag.RowsAffected()), nil
}

// FindVariants implements smartonboard.ContentStore.
func (db *DB) FindVariants(ctx context.Context, projectID, contentID string) ([]*so.ContentItem, error) {
	if contentID == "" { // '' is every item that is no variant
		return []*so.ContentItem{}, nil
	}
	rows, _ := db.pool.Query(ctx, `SELECT `+contentColumns+` FROM content_items
		WHERE project_id = $1 AND variant_of = $2 AND status = 'published' ORDER BY id DESC`, projectID, contentID)
	items, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*so.ContentItem, error) {
		return scanContentItem(row)
	})
	if err != nil {
		return nil, mapError(err, "content variants")
	}
	return items, nil
}

// tagsOf never sends NULL for the NOT NULL tags column.
func tagsOf(item *so.ContentItem) []string {
	if item.Tags == nil {
		return []string{}
	}
	return item.Tags
}

func scanContentItem(row pgx.Row) (*so.ContentItem, error) {
	var item so.ContentItem
	var metadata string
	err := row.Scan(&item.ID, &item.ProjectID, &item.Kind, &item.Title, &item.Body, &item.Status,
		&item.Category, &item.Tags, &item.Locale, &item.Complexity, &item.ScheduledAt, &item.PublishedAt,
		&item.CreatedAt, &item.UpdatedAt, &item.Version, &metadata, &item.VariantOf)
	if err != nil {
		return nil, err
	}
	item.Tags = tagsOf(&item)
	item.Metadata = json.RawMessage(metadata)
	item.ScheduledAt, item.PublishedAt = utcOptional(item.ScheduledAt), utcOptional(item.PublishedAt)
	item.CreatedAt, item.UpdatedAt = item.CreatedAt.UTC(), item.UpdatedAt.UTC()
	return &item, nil
}

func utcOptional(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
