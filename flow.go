package smartonboard

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// StepKind is how a step is presented to the end user.
type StepKind string

// Step kinds.
const (
	StepTour      StepKind = "tour"
	StepChecklist StepKind = "checklist"
	StepTask      StepKind = "task"
	StepArticle   StepKind = "article"
	StepVideo     StepKind = "video"
	StepQuiz      StepKind = "quiz"
	StepForm      StepKind = "form"
)

// StepKinds lists every valid step kind.
var StepKinds = []StepKind{StepTour, StepChecklist, StepTask, StepArticle, StepVideo, StepQuiz, StepForm}

// Step is one thing a user does in a flow. Prerequisites name other steps of the
// same flow and must form a DAG.
type Step struct {
	Key              string   `json:"key"`
	Title            string   `json:"title"`
	Kind             StepKind `json:"kind"`
	ContentItemID    string   `json:"content_item_id"`
	Required         bool     `json:"required"`
	Basic            bool     `json:"basic"`
	Prerequisites    []string `json:"prerequisites"`
	EstimatedSeconds int      `json:"estimated_seconds"`
	Target           string   `json:"target,omitempty"`
	// URL is the page pattern the step shows on ("*" matches any run of
	// characters; a path, or a whole URL with its scheme), so a flow spans pages.
	URL string `json:"url,omitempty"`
	// Placement is the side of its target the SDK prefers for the step.
	Placement Placement `json:"placement,omitempty"`
	// TargetTimeoutMS is how long the SDK awaits a late target before it shows
	// the step as a centred modal (0: the SDK's default of 10 s).
	TargetTimeoutMS int `json:"target_timeout_ms,omitempty"`
	// HelpContentIDs name content items of kind help offered beside the step.
	HelpContentIDs []string `json:"help_content_ids"`
}

// ContentKindFor picks the content item kind that fits a step kind, for
// seeders that make a step's content along with it.
func ContentKindFor(k StepKind) ContentKind {
	switch k {
	case StepTour:
		return ContentTour
	case StepArticle:
		return ContentArticle
	case StepChecklist:
		return ContentChecklist
	}
	return ContentTask
}

// Placement is where a step's tooltip sits against its target.
type Placement string

// Placements; auto lets the SDK take the side with room.
var Placements = []Placement{"auto", "top", "bottom", "left", "right"}

// FlowStatus tells whether a flow has ever been published.
type FlowStatus string

// Flow statuses: a draft flow has no published version yet.
const (
	FlowDraft     FlowStatus = "draft"
	FlowPublished FlowStatus = "published"
	FlowArchived  FlowStatus = "archived"
)

// Flow is an onboarding flow: an editable draft and the number of its latest
// published version. Published versions are immutable FlowVersions.
type Flow struct {
	ID               string        `json:"id"`
	ProjectID        string        `json:"project_id"`
	Key              string        `json:"key"`
	Name             string        `json:"name"`
	Description      string        `json:"description"`
	Status           FlowStatus    `json:"status"`
	Steps            []Step        `json:"steps"`
	Revision         int           `json:"revision"`          // draft edit counter, for optimistic concurrency
	PublishedVersion int           `json:"published_version"` // 0 until first publish
	Versions         []VersionInfo `json:"versions"`
	CreatedAt        time.Time     `json:"created_at"`
	UpdatedAt        time.Time     `json:"updated_at"`
}

// VersionInfo summarises one published version in a flow listing.
type VersionInfo struct {
	Version     int       `json:"version"`
	PublishedAt time.Time `json:"published_at"`
}

// MarshalJSON renders timestamps with milliseconds.
func (f Flow) MarshalJSON() ([]byte, error) {
	type plain Flow
	return json.Marshal(struct {
		plain
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	}{plain(f), FormatTime(f.CreatedAt), FormatTime(f.UpdatedAt)})
}

// MarshalJSON renders timestamps with milliseconds.
func (v VersionInfo) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Version     int    `json:"version"`
		PublishedAt string `json:"published_at"`
	}{v.Version, FormatTime(v.PublishedAt)})
}

// FlowVersion is a frozen, published copy of a flow; journeys pin one, so a new
// version never changes a journey in progress.
type FlowVersion struct {
	FlowID      string    `json:"flow_id"`
	ProjectID   string    `json:"project_id"`
	FlowKey     string    `json:"flow_key"`
	Version     int       `json:"version"`
	Name        string    `json:"name"`
	Steps       []Step    `json:"steps"`
	PublishedAt time.Time `json:"published_at"`
}

// ContentItemIDs lists every content item the steps use, each once, sorted:
// each step's content_item_id and its help_content_ids. A published version
// records them all, so none of them can be deleted while it exists.
func ContentItemIDs(steps []Step) []string {
	ids := make([]string, 0, len(steps))
	for _, s := range steps {
		ids = append(ids, s.ContentItemID)
		ids = append(ids, s.HelpContentIDs...)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// Step returns the step with the key, or nil.
func (v *FlowVersion) Step(key string) *Step {
	for i := range v.Steps {
		if v.Steps[i].Key == key {
			return &v.Steps[i]
		}
	}
	return nil
}

// FlowStore keeps flows and their published versions.
type FlowStore interface {
	// CreateFlow stores a new draft flow; a taken key is Exists("flow", "key", key).
	CreateFlow(ctx context.Context, f *Flow) error
	// FindFlow returns a flow by key with its version list, or FlowNotFound.
	FindFlow(ctx context.Context, projectID, key string) (*Flow, error)
	// ListFlows returns up to limit flows ordered by key, after the key `after`.
	ListFlows(ctx context.Context, projectID, after string, limit int) ([]*Flow, error)
	// UpdateFlowDraft replaces the draft if its revision is still expectedRevision
	// (else Stale("draft", "revision", ...), or FlowNotFound).
	UpdateFlowDraft(ctx context.Context, f *Flow, expectedRevision int) error
	// PublishFlow stores v as the next version of its flow (v.Version must be the
	// flow's PublishedVersion+1, else PublishRace) and marks the flow published;
	// a missing flow is FlowNotFound, a deleted content item ContentGoneError.
	PublishFlow(ctx context.Context, v *FlowVersion) error
	// FindFlowVersion returns one published version, or VersionNotFound.
	FindFlowVersion(ctx context.Context, projectID, flowID string, version int) (*FlowVersion, error)
	// ContentInUse tells whether any published flow version uses the content item,
	// as a step's content_item_id or among its help_content_ids.
	ContentInUse(ctx context.Context, projectID, contentItemID string) (bool, error)
}

// Flow limits.
const (
	MaxFlowSteps       = 100
	MaxPrerequisites   = 20
	MaxDescriptionLen  = 2000
	MaxTargetLen       = 500
	MaxStepURLLen      = 500
	MaxTargetTimeoutMS = 60_000
	MaxEstimateSeconds = 7 * 24 * 3600
	MaxHelpContent     = 10
)

var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// CheckKey accepts a slug: lower-case letters, digits, '-' and '_', up to 64.
func CheckKey(field, key string) error {
	if !keyPattern.MatchString(key) {
		return FieldErrorf(EINVALID, field, "%q is not a key: use 1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit", key)
	}
	return nil
}

// Validate checks a flow's fields and its steps, including that prerequisites name
// existing steps and contain no cycle.
func (f *Flow) Validate() error {
	if err := CheckKey("key", f.Key); err != nil {
		return err
	}
	if err := checkText("name", f.Name, 1, MaxTitleLen); err != nil {
		return err
	}
	if err := checkText("description", f.Description, 0, MaxDescriptionLen); err != nil {
		return err
	}
	return ValidateSteps(f.Steps)
}

// ValidateSteps checks every step and the prerequisite graph.
func ValidateSteps(steps []Step) error {
	if len(steps) > MaxFlowSteps {
		return FieldErrorf(EINVALID, "steps", "at most %d steps are allowed, got %d", MaxFlowSteps, len(steps))
	}
	seen := map[string]bool{}
	for i := range steps {
		if err := steps[i].validate(fmt.Sprintf("steps[%d]", i)); err != nil {
			return err
		}
		if seen[steps[i].Key] {
			return FieldErrorf(EINVALID, fmt.Sprintf("steps[%d].key", i), "step key %q is used twice", steps[i].Key)
		}
		seen[steps[i].Key] = true
	}
	for i, s := range steps {
		for j, p := range s.Prerequisites {
			if !seen[p] {
				return FieldErrorf(EINVALID, fmt.Sprintf("steps[%d].prerequisites[%d]", i, j), "unknown step %q", p)
			}
		}
	}
	if cycle := findCycle(steps); cycle != nil {
		return FieldErrorf(EINVALID, "steps", "prerequisites form a cycle: %s", strings.Join(cycle, " → "))
	}
	return nil
}

func (s *Step) validate(at string) error {
	if s.Prerequisites == nil {
		s.Prerequisites = []string{}
	}
	if s.HelpContentIDs == nil {
		s.HelpContentIDs = []string{}
	}
	switch {
	case CheckKey(at+".key", s.Key) != nil:
		return CheckKey(at+".key", s.Key)
	case checkText(at+".title", s.Title, 1, MaxTitleLen) != nil:
		return checkText(at+".title", s.Title, 1, MaxTitleLen)
	case checkEnum(at+".kind", s.Kind, StepKinds) != nil:
		return checkEnum(at+".kind", s.Kind, StepKinds)
	case s.ContentItemID == "":
		return FieldErrorf(EINVALID, at+".content_item_id", "is required")
	case checkBytes(at+".content_item_id", s.ContentItemID, len(s.ContentItemID)) != nil:
		// NUL or invalid UTF-8 would reach the content lookup, which PostgreSQL refuses.
		return checkBytes(at+".content_item_id", s.ContentItemID, len(s.ContentItemID))
	case len(s.Prerequisites) > MaxPrerequisites:
		return FieldErrorf(EINVALID, at+".prerequisites", "at most %d prerequisites", MaxPrerequisites)
	case slices.Contains(s.Prerequisites, s.Key):
		return FieldErrorf(EINVALID, at+".prerequisites", "step %q cannot require itself", s.Key)
	case s.EstimatedSeconds < 0 || s.EstimatedSeconds > MaxEstimateSeconds:
		return FieldErrorf(EINVALID, at+".estimated_seconds", "must be between 0 and %d", MaxEstimateSeconds)
	}
	if err := checkText(at+".target", s.Target, 0, MaxTargetLen); err != nil {
		return err
	}
	if err := s.validatePlacement(at); err != nil {
		return err
	}
	return s.validateHelp(at)
}

// validatePlacement checks where and how the SDK shows the step.
func (s *Step) validatePlacement(at string) error {
	if err := checkText(at+".url", s.URL, 0, MaxStepURLLen); err != nil {
		return err
	}
	if s.URL != "" && !strings.HasPrefix(s.URL, "/") && !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
		return FieldErrorf(EINVALID, at+".url", "must be a path starting with / or a URL starting with https://, got %q", s.URL)
	}
	if s.Placement != "" {
		if err := checkEnum(at+".placement", s.Placement, Placements); err != nil {
			return err
		}
	}
	if s.TargetTimeoutMS < 0 || s.TargetTimeoutMS > MaxTargetTimeoutMS {
		return FieldErrorf(EINVALID, at+".target_timeout_ms", "must be between 0 and %d (0: the SDK's default of 10000)", MaxTargetTimeoutMS)
	}
	return nil
}

// validateHelp checks the shape of help_content_ids; FlowService checks that
// each names a help item.
func (s *Step) validateHelp(at string) error {
	if len(s.HelpContentIDs) > MaxHelpContent {
		return FieldErrorf(EINVALID, at+".help_content_ids", "at most %d help items are allowed, got %d", MaxHelpContent, len(s.HelpContentIDs))
	}
	for j, id := range s.HelpContentIDs {
		field := fmt.Sprintf("%s.help_content_ids[%d]", at, j)
		if id == "" {
			return FieldErrorf(EINVALID, field, "is required")
		}
		if err := checkBytes(field, id, len(id)); err != nil {
			return err
		}
		if k := slices.Index(s.HelpContentIDs, id); k < j {
			return FieldErrorf(EINVALID, field, "content item %q is already help_content_ids[%d]", id, k)
		}
	}
	return nil
}

// findCycle returns the keys of one prerequisite cycle, or nil.
func findCycle(steps []Step) []string {
	prereqs := map[string][]string{}
	for _, s := range steps {
		prereqs[s.Key] = s.Prerequisites
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(k string) []string
	visit = func(k string) []string {
		switch state[k] {
		case onPath:
			i := slices.Index(path, k)
			return append(slices.Clone(path[i:]), k)
		case done:
			return nil
		}
		state[k] = onPath
		path = append(path, k)
		for _, p := range prereqs[k] {
			if c := visit(p); c != nil {
				return c
			}
		}
		path = path[:len(path)-1]
		state[k] = done
		return nil
	}
	for _, s := range steps {
		if c := visit(s.Key); c != nil {
			return c
		}
	}
	return nil
}

// MarshalJSON renders timestamps with milliseconds.
func (v FlowVersion) MarshalJSON() ([]byte, error) {
	type plain FlowVersion
	return json.Marshal(struct {
		plain
		PublishedAt string `json:"published_at"`
	}{plain(v), FormatTime(v.PublishedAt)})
}

// DecodeSteps reads stored steps with empty lists as [] rather than null, the
// form validation leaves them in, so every engine returns what it was given;
// steps stored before help_content_ids existed read back with none.
func DecodeSteps(raw []byte) ([]Step, error) {
	steps := []Step{}
	if err := json.Unmarshal(raw, &steps); err != nil {
		return nil, err
	}
	if steps == nil {
		steps = []Step{}
	}
	for i := range steps {
		if steps[i].Prerequisites == nil {
			steps[i].Prerequisites = []string{}
		}
		if steps[i].HelpContentIDs == nil {
			steps[i].HelpContentIDs = []string{}
		}
	}
	return steps, nil
}
