package smartonboard

import (
	"bytes"
	"context"
	"encoding/json"
	"time"
)

// ContentKind is what a content item is for the learner.
type ContentKind string

// Content kinds.
const (
	ContentArticle   ContentKind = "article"
	ContentVideo     ContentKind = "video"
	ContentTour      ContentKind = "tour"
	ContentChecklist ContentKind = "checklist"
	ContentTask      ContentKind = "task"
	ContentHelp      ContentKind = "help"
	ContentQuiz      ContentKind = "quiz"
)

// ContentKinds lists every valid kind, for validation and the API document.
var ContentKinds = []ContentKind{ContentArticle, ContentVideo, ContentTour, ContentChecklist, ContentTask, ContentHelp, ContentQuiz}

// ContentStatus is where an item is in its editorial life.
type ContentStatus string

// Content statuses: only published items are shown to end users.
const (
	StatusDraft     ContentStatus = "draft"
	StatusScheduled ContentStatus = "scheduled"
	StatusPublished ContentStatus = "published"
	StatusArchived  ContentStatus = "archived"
)

// ContentStatuses lists every valid status.
var ContentStatuses = []ContentStatus{StatusDraft, StatusScheduled, StatusPublished, StatusArchived}

// Complexity tells how much a learner must already know, so experts can skip basics.
type Complexity string

// Complexity levels.
const (
	ComplexityBasic    Complexity = "basic"
	ComplexityStandard Complexity = "standard"
	ComplexityAdvanced Complexity = "advanced"
)

// Complexities lists every valid complexity.
var Complexities = []Complexity{ComplexityBasic, ComplexityStandard, ComplexityAdvanced}

// ContentItem is one piece of onboarding content that steps and help point at.
type ContentItem struct {
	ID          string          `json:"id"`
	ProjectID   string          `json:"project_id"`
	Kind        ContentKind     `json:"kind"`
	Title       string          `json:"title"`
	Body        string          `json:"body"`
	Status      ContentStatus   `json:"status"`
	Category    string          `json:"category"`
	Tags        []string        `json:"tags"`
	Locale      string          `json:"locale"`
	Complexity  Complexity      `json:"complexity"`
	ScheduledAt *time.Time      `json:"scheduled_at"`
	PublishedAt *time.Time      `json:"published_at"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Version     int             `json:"version"`
	Metadata    json.RawMessage `json:"metadata"`
	// VariantOf is the id of the item of which this one is a simpler or harder
	// variant: of the same project and kind, another complexity, itself no
	// variant. Empty for an item that is no variant.
	VariantOf string `json:"variant_of,omitempty"`
}

// MarshalJSON renders timestamps with milliseconds, as the API promises.
func (c ContentItem) MarshalJSON() ([]byte, error) {
	type plain ContentItem
	return json.Marshal(struct {
		plain
		ScheduledAt *string `json:"scheduled_at"`
		PublishedAt *string `json:"published_at"`
		CreatedAt   string  `json:"created_at"`
		UpdatedAt   string  `json:"updated_at"`
	}{plain(c), FormatOptionalTime(c.ScheduledAt), FormatOptionalTime(c.PublishedAt), FormatTime(c.CreatedAt), FormatTime(c.UpdatedAt)})
}

// FormatOptionalTime renders an optional time the way the API promises, or nil.
func FormatOptionalTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := FormatTime(*t)
	return &s
}

// ContentFilter narrows a content listing; zero fields do not filter.
type ContentFilter struct {
	Status   ContentStatus
	Kind     ContentKind
	Category string
	Tag      string
	Locale   string
	Q        string // case-insensitive substring of title or body
	// VariantOf keeps the variants of this item, whatever their status.
	VariantOf string
	After     string // id of the last item already seen (items come newest first)
	Limit     int
}

// ContentStore keeps content items; every method is scoped to one project.
type ContentStore interface {
	// CreateContentItem stores a new, already validated item; a taken id is
	// Exists("content item", "id", id).
	CreateContentItem(ctx context.Context, item *ContentItem) error
	// FindContentItem returns one item or ContentItemNotFound.
	FindContentItem(ctx context.Context, projectID, id string) (*ContentItem, error)
	// ListContentItems returns up to f.Limit items, newest first, after f.After.
	ListContentItems(ctx context.Context, projectID string, f ContentFilter) ([]*ContentItem, error)
	// UpdateContentItem replaces the stored item if its version is still
	// expectedVersion (else Stale("content item", "version", ...), or
	// ContentItemNotFound if it is gone); item.Version must already be
	// expectedVersion+1.
	UpdateContentItem(ctx context.Context, item *ContentItem, expectedVersion int) error
	// DeleteContentItem removes one item, or returns ContentItemNotFound, or
	// ContentInUseError when a published flow version uses it.
	DeleteContentItem(ctx context.Context, projectID, id string) error
	// PublishDueContentItems publishes every scheduled item whose time is at or
	// before now, in all projects, and returns how many it published.
	PublishDueContentItems(ctx context.Context, now time.Time) (int, error)
	// FindVariants returns the published items whose variant_of is contentID,
	// newest first ([] for none, and for an empty contentID).
	FindVariants(ctx context.Context, projectID, contentID string) ([]*ContentItem, error)
}

// simpler maps each complexity to the one a level below it.
var simpler = map[Complexity]Complexity{ComplexityAdvanced: ComplexityStandard, ComplexityStandard: ComplexityBasic}

// SimplerVariant returns the published variant of base exactly one complexity
// level below it (advanced → standard → basic), or nil: none for a basic base,
// and none among variants that are not base's (another variant_of or kind).
// Of several, one in base's locale wins, then the newest (the highest id).
func SimplerVariant(base *ContentItem, variants []*ContentItem) *ContentItem {
	if base == nil {
		return nil
	}
	want, ok := simpler[base.Complexity]
	if !ok {
		return nil
	}
	var best *ContentItem
	for _, v := range variants {
		if v == nil || v.VariantOf != base.ID || v.Kind != base.Kind || v.Status != StatusPublished || v.Complexity != want {
			continue
		}
		if best == nil || better(v, best, base.Locale) {
			best = v
		}
	}
	return best
}

func better(v, than *ContentItem, locale string) bool {
	if (v.Locale == locale) != (than.Locale == locale) {
		return v.Locale == locale
	}
	return v.ID > than.ID
}

// Content limits; a larger value is rejected, never truncated.
const (
	MaxTitleLen     = 200
	MaxBodyBytes    = 100 * 1024
	MaxCategoryLen  = 100
	MaxTags         = 50
	MaxTagLen       = 50
	MaxMetadataSize = 16 * 1024
)

// ContentInput is what a client may set when it creates an item.
type ContentInput struct {
	Kind        ContentKind     `json:"kind"`
	Title       string          `json:"title"`
	Body        string          `json:"body"`
	Status      ContentStatus   `json:"status"`
	Category    string          `json:"category"`
	Tags        []string        `json:"tags"`
	Locale      string          `json:"locale"`
	Complexity  Complexity      `json:"complexity"`
	ScheduledAt *time.Time      `json:"scheduled_at"`
	Metadata    json.RawMessage `json:"metadata"`
	VariantOf   string          `json:"variant_of"`
}

// ContentPatch is a partial update: nil fields stay as they are. Version is the
// version the client last read, so concurrent edits cannot overwrite each other.
type ContentPatch struct {
	Version     *int            `json:"version"`
	Kind        *ContentKind    `json:"kind"`
	Title       *string         `json:"title"`
	Body        *string         `json:"body"`
	Status      *ContentStatus  `json:"status"`
	Category    *string         `json:"category"`
	Tags        *[]string       `json:"tags"`
	Locale      *string         `json:"locale"`
	Complexity  *Complexity     `json:"complexity"`
	ScheduledAt *time.Time      `json:"scheduled_at"`
	Metadata    json.RawMessage `json:"metadata"`
	VariantOf   *string         `json:"variant_of"` // "" makes the item no variant
}

// NewContentItem builds a validated item from client input, filling defaults.
func NewContentItem(projectID string, in ContentInput, now time.Time) (*ContentItem, error) {
	item := &ContentItem{
		ID: NewID(), ProjectID: projectID, Kind: in.Kind, Title: in.Title, Body: in.Body,
		Status: in.Status, Category: in.Category, Tags: in.Tags, Locale: in.Locale,
		Complexity: in.Complexity, ScheduledAt: truncateOptional(in.ScheduledAt),
		CreatedAt: now, UpdatedAt: now, Version: 1, Metadata: in.Metadata, VariantOf: in.VariantOf,
	}
	if item.Status == "" {
		item.Status = StatusDraft
	}
	if item.Complexity == "" {
		item.Complexity = ComplexityStandard
	}
	if item.Locale == "" {
		item.Locale = "en"
	}
	if err := item.normalize(now); err != nil {
		return nil, err
	}
	return item, nil
}

// Apply returns a copy of item with the patch applied, validated, and its version
// and update time advanced.
func (p ContentPatch) Apply(item *ContentItem, now time.Time) (*ContentItem, error) {
	if p.Version == nil {
		return nil, FieldErrorf(EINVALID, "version", "is required: send the version you last read")
	}
	next := *item
	setIf(&next.Kind, p.Kind)
	setIf(&next.Title, p.Title)
	setIf(&next.Body, p.Body)
	setIf(&next.Status, p.Status)
	setIf(&next.Category, p.Category)
	setIf(&next.Tags, p.Tags)
	setIf(&next.Locale, p.Locale)
	setIf(&next.Complexity, p.Complexity)
	setIf(&next.VariantOf, p.VariantOf)
	if p.ScheduledAt != nil {
		next.ScheduledAt = truncateOptional(p.ScheduledAt)
	}
	if p.Metadata != nil {
		next.Metadata = p.Metadata
	}
	if next.Status == StatusPublished && item.Status != StatusPublished {
		next.PublishedAt = nil
	}
	next.Version = *p.Version + 1
	next.UpdatedAt = now
	if err := next.normalize(now); err != nil {
		return nil, err
	}
	return &next, nil
}

func setIf[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

func truncateOptional(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := Truncate(*t)
	return &v
}

// normalize validates the item and fills the fields that follow from others.
func (c *ContentItem) normalize(now time.Time) error {
	if c.Tags == nil {
		c.Tags = []string{}
	}
	if len(bytes.TrimSpace(c.Metadata)) == 0 || string(bytes.TrimSpace(c.Metadata)) == "null" {
		c.Metadata = json.RawMessage("{}")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, c.Metadata) // Validate has proven it is valid JSON
	c.Metadata = compact.Bytes()
	if c.Status == StatusPublished && c.PublishedAt == nil {
		c.PublishedAt = &now
	}
	return nil
}
