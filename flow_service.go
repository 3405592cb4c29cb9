package smartonboard

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// FlowService holds the rules for editing and publishing flows above any store.
type FlowService struct {
	Store   FlowStore
	Content interface {
		FindContentItem(ctx context.Context, projectID, id string) (*ContentItem, error)
	}
	Clock func() time.Time
	// OnPublish, when set, hears of each new version, so caches of "the latest
	// version" on this instance update at once.
	OnPublish func(v *FlowVersion)
}

func (s *FlowService) now() time.Time {
	if s.Clock != nil {
		return Truncate(s.Clock())
	}
	return Now()
}

// FlowInput is what a client sends to create a flow.
type FlowInput struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Steps       []Step `json:"steps"`
}

// FlowPatch edits a draft; Revision is the draft revision the client last read.
type FlowPatch struct {
	Revision    *int    `json:"revision"`
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Steps       *[]Step `json:"steps"`
}

// Create validates and stores a new draft flow.
func (s *FlowService) Create(ctx context.Context, projectID string, in FlowInput) (*Flow, error) {
	now := s.now()
	f := &Flow{ID: NewID(), ProjectID: projectID, Key: in.Key, Name: in.Name, Description: in.Description,
		Status: FlowDraft, Steps: in.Steps, Revision: 1, Versions: []VersionInfo{}, CreatedAt: now, UpdatedAt: now}
	if f.Steps == nil {
		f.Steps = []Step{}
	}
	if err := s.validate(ctx, f); err != nil {
		return nil, err
	}
	if err := s.Store.CreateFlow(ctx, f); err != nil {
		return nil, err // a taken key is the store's Exists("flow", "key", ...)
	}
	return f, nil
}

// validate checks the flow, that every step's content item exists, and that
// each of its help_content_ids names an item of kind help.
func (s *FlowService) validate(ctx context.Context, f *Flow) error {
	if err := f.Validate(); err != nil {
		return err
	}
	found := map[string]*ContentItem{} // each item is looked up once
	find := func(field, id string) (*ContentItem, error) {
		if item, ok := found[id]; ok {
			return item, nil
		}
		item, err := s.Content.FindContentItem(ctx, f.ProjectID, id)
		if ErrorCode(err) == ENOTFOUND {
			return nil, FieldErrorf(EINVALID, field, "content item %q does not exist", id)
		} else if err != nil {
			return nil, err
		}
		found[id] = item
		return item, nil
	}
	for i, st := range f.Steps {
		if _, err := find(fmt.Sprintf("steps[%d].content_item_id", i), st.ContentItemID); err != nil {
			return err
		}
		for j, id := range st.HelpContentIDs {
			field := fmt.Sprintf("steps[%d].help_content_ids[%d]", i, j)
			item, err := find(field, id)
			if err != nil {
				return err
			}
			if item.Kind != ContentHelp {
				return FieldErrorf(EINVALID, field, "content item %q is of kind %s, not %s", id, item.Kind, ContentHelp)
			}
		}
	}
	return nil
}

// Find returns one flow with its draft and version list.
func (s *FlowService) Find(ctx context.Context, projectID, key string) (*Flow, error) {
	return s.Store.FindFlow(ctx, projectID, key)
}

// List returns a page of flows ordered by key and the next cursor.
func (s *FlowService) List(ctx context.Context, projectID string, limit int, cursor string) ([]*Flow, string, error) {
	after, err := DecodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if limit, err = CheckLimit(limit); err != nil {
		return nil, "", err
	}
	flows, err := s.Store.ListFlows(ctx, projectID, after, limit+1)
	if err != nil || len(flows) <= limit {
		return flows, "", err
	}
	return flows[:limit], EncodeCursor(flows[limit-1].Key), nil
}

// UpdateDraft applies a patch to the draft if the client's revision is current.
func (s *FlowService) UpdateDraft(ctx context.Context, projectID, key string, p FlowPatch) (*Flow, error) {
	if p.Revision == nil {
		return nil, FieldErrorf(EINVALID, "revision", "is required: send the draft revision you last read")
	}
	f, err := s.Store.FindFlow(ctx, projectID, key)
	if err != nil {
		return nil, err
	}
	if f.Revision != *p.Revision {
		return nil, Stale("draft", "revision", f.Revision, *p.Revision)
	}
	next := *f
	setIf(&next.Name, p.Name)
	setIf(&next.Description, p.Description)
	if p.Steps != nil {
		next.Steps = slices.Clone(*p.Steps)
	}
	next.Revision, next.UpdatedAt = f.Revision+1, s.now()
	if err := s.validate(ctx, &next); err != nil {
		return nil, err
	}
	if err := s.Store.UpdateFlowDraft(ctx, &next, f.Revision); err != nil {
		return nil, err
	}
	return &next, nil
}

// Publish freezes the current draft as the next immutable version.
func (s *FlowService) Publish(ctx context.Context, projectID, key string) (*FlowVersion, error) {
	f, err := s.Store.FindFlow(ctx, projectID, key)
	if err != nil {
		return nil, err
	}
	if len(f.Steps) == 0 {
		return nil, FieldErrorf(EINVALID, "steps", "a flow needs at least one step to be published")
	}
	if err := s.validate(ctx, f); err != nil { // content may have been deleted since the last edit
		return nil, err
	}
	v := &FlowVersion{FlowID: f.ID, ProjectID: projectID, FlowKey: f.Key, Version: f.PublishedVersion + 1,
		Name: f.Name, Steps: f.Steps, PublishedAt: s.now()}
	if err := s.Store.PublishFlow(ctx, v); err != nil {
		return nil, err
	}
	if s.OnPublish != nil {
		s.OnPublish(v)
	}
	return v, nil
}

// Version returns one published version.
func (s *FlowService) Version(ctx context.Context, projectID, key string, version int) (*FlowVersion, error) {
	f, err := s.Store.FindFlow(ctx, projectID, key)
	if err != nil {
		return nil, err
	}
	return s.Store.FindFlowVersion(ctx, projectID, f.ID, version)
}
