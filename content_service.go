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
	if err := s.checkVariant(ctx, nil, item); err != nil {
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
	if err := s.checkVariant(ctx, current, next); err != nil {
		return nil, err
	}
	if err := s.Store.UpdateContentItem(ctx, next, *p.Version); err != nil {
		return nil, err
	}
	return next, nil
}

// Delete removes one item unless a published flow version uses it or it has
// variants (which would be left pointing at nothing).
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
	variants, err := s.Store.ListContentItems(ctx, projectID, ContentFilter{VariantOf: id, Limit: 1})
	if err != nil {
		return err
	}
	if len(variants) > 0 {
		return HasVariantsError(id, variants[0].ID)
	}
	return s.Store.DeleteContentItem(ctx, projectID, id)
}

// HasVariantsError answers a delete of an item that other items are variants of.
func HasVariantsError(id, variantID string) error {
	return Errorf(ECONFLICT, "content item %q has variants (%q among them): delete them or clear their variant_of first", id, variantID)
}

// checkVariant holds the rules of variants against the stored items: the item
// an item is a variant of exists, has its kind, another complexity and is no
// variant itself; and an item that has variants stays no variant, keeps their
// kind and a complexity none of them has. prev is the stored item an update
// replaces (nil on create, when the item can have no variants yet). It checks
// only when variant_of, kind or complexity change, so an item whose base a race
// left missing can still be edited otherwise.
func (s *ContentService) checkVariant(ctx context.Context, prev, item *ContentItem) error {
	if prev != nil && prev.VariantOf == item.VariantOf && prev.Kind == item.Kind && prev.Complexity == item.Complexity {
		return nil
	}
	if item.VariantOf != "" {
		base, err := s.Store.FindContentItem(ctx, item.ProjectID, item.VariantOf)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			return FieldErrorf(EINVALID, "variant_of", "content item %q does not exist", item.VariantOf)
		case err != nil:
			return err
		case base.VariantOf != "":
			return FieldErrorf(EINVALID, "variant_of", "content item %q is itself a variant of %q: variants do not chain, so name %q instead",
				base.ID, base.VariantOf, base.VariantOf)
		case base.Kind != item.Kind:
			return FieldErrorf(EINVALID, "variant_of", "content item %q is of kind %s, not %s: a variant has the kind of the item it varies",
				base.ID, base.Kind, item.Kind)
		case base.Complexity == item.Complexity:
			return FieldErrorf(EINVALID, "complexity", "is %s, as content item %q is: a variant is simpler or harder than the item it varies",
				item.Complexity, base.ID)
		}
	}
	if prev == nil {
		return nil
	}
	return s.eachVariant(ctx, item, func(v *ContentItem) error {
		switch {
		case item.VariantOf != "":
			return FieldErrorf(EINVALID, "variant_of", "content item %q is a variant of this item, so this item cannot be a variant: variants do not chain", v.ID)
		case v.Kind != item.Kind:
			return FieldErrorf(EINVALID, "kind", "its variant %q is of kind %s: change or unlink the variants first", v.ID, v.Kind)
		case v.Complexity == item.Complexity:
			return FieldErrorf(EINVALID, "complexity", "is %s, as its variant %q is: an item and its variants differ in complexity", item.Complexity, v.ID)
		}
		return nil
	})
}

// eachVariant calls fn with each item (of any status) that is a variant of
// item, page by page, until fn returns an error.
func (s *ContentService) eachVariant(ctx context.Context, item *ContentItem, fn func(*ContentItem) error) error {
	f := ContentFilter{VariantOf: item.ID, Limit: MaxListLimit}
	for {
		page, err := s.Store.ListContentItems(ctx, item.ProjectID, f)
		if err != nil {
			return err
		}
		for _, v := range page {
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(page) < f.Limit {
			return nil
		}
		f.After = page[len(page)-1].ID
	}
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
