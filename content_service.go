package smartonboard

import (
	"context"
	"encoding/base64"
	"time"
)

// List limits shared by every listing endpoint.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// ContentService holds the business rules for content items above any store:
// validation, defaults, partial updates and pagination.
type ContentService struct {
	Store ContentStore
	// Usage tells whether a published flow uses an item, which forbids deleting it.
	Usage interface {
		ContentInUse(ctx context.Context, projectID, contentItemID string) (bool, error)
	}
	Clock func() time.Time
}

func (s *ContentService) now() time.Time {
	if s.Clock != nil {
		return Truncate(s.Clock())
	}
	return Now()
}

// Create validates input and stores a new item.
func (s *ContentService) Create(ctx context.Context, projectID string, in ContentInput) (*ContentItem, error) {
	item, err := NewContentItem(projectID, in, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateContentItem(ctx, item); err != nil {
		return nil, err
	}
	return item, nil
}

// Find returns one item.
func (s *ContentService) Find(ctx context.Context, projectID, id string) (*ContentItem, error) {
	return s.Store.FindContentItem(ctx, projectID, id)
}

// List returns one page of items and the cursor of the next page ("" at the end).
func (s *ContentService) List(ctx context.Context, projectID string, f ContentFilter, cursor string) ([]*ContentItem, string, error) {
	after, err := DecodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if f.Limit, err = CheckLimit(f.Limit); err != nil {
		return nil, "", err
	}
	if f.Status != "" {
		if err := checkEnum("status", f.Status, ContentStatuses); err != nil {
			return nil, "", err
		}
	}
	if f.Kind != "" {
		if err := checkEnum("kind", f.Kind, ContentKinds); err != nil {
			return nil, "", err
		}
	}
	limit := f.Limit
	f.After, f.Limit = after, limit+1
	items, err := s.Store.ListContentItems(ctx, projectID, f)
	if err != nil {
		return nil, "", err
	}
	if len(items) <= limit {
		return items, "", nil
	}
	items = items[:limit]
	return items, EncodeCursor(items[limit-1].ID), nil
}

// Update applies a partial update if the client's version is still current.
func (s *ContentService) Update(ctx context.Context, projectID, id string, p ContentPatch) (*ContentItem, error) {
	current, err := s.Store.FindContentItem(ctx, projectID, id)
	if err != nil {
		return nil, err
	}
	if p.Version != nil && *p.Version != current.Version {
		return nil, Stale("content item", "version", current.Version, *p.Version)
	}
	next, err := p.Apply(current, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.Store.UpdateContentItem(ctx, next, *p.Version); err != nil {
		return nil, err
	}
	return next, nil
}

// Delete removes one item unless a published flow version uses it.
func (s *ContentService) Delete(ctx context.Context, projectID, id string) error {
	if s.Usage != nil {
		used, err := s.Usage.ContentInUse(ctx, projectID, id)
		if err != nil {
			return err
		}
		if used {
			return ContentInUseError(id)
		}
	}
	return s.Store.DeleteContentItem(ctx, projectID, id)
}

// PublishDue publishes every scheduled item whose time has come.
func (s *ContentService) PublishDue(ctx context.Context) (int, error) {
	return s.Store.PublishDueContentItems(ctx, s.now())
}

// CheckLimit applies the default page size and rejects one out of range.
func CheckLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return DefaultListLimit, nil
	case limit < 0 || limit > MaxListLimit:
		return 0, FieldErrorf(EINVALID, "limit", "must be between 1 and %d", MaxListLimit)
	}
	return limit, nil
}

// EncodeCursor makes an opaque page cursor from the last id of a page.
func EncodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// maxCursorID bounds the id a cursor carries: the longest id a list pages by,
// a user id of MaxUserIDLen characters of up to 4 bytes each.
const maxCursorID = 4 * MaxUserIDLen

// DecodeCursor reverses EncodeCursor; "" means the first page.
func DecodeCursor(cursor string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) > maxCursorID || CheckStorableText("cursor", string(b)) != nil {
		return "", FieldErrorf(EINVALID, "cursor", "is not a cursor this server issued")
	}
	return string(b), nil
}
