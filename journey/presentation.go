package journey

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// PresentTTL is how long a rendered flow version is reused: a content edit
// reaches the SDK within it, and a page load costs no markdown rendering.
const PresentTTL = 30 * time.Second

// maxPresented bounds the rendered versions kept; when full the cache starts over.
const maxPresented = 1000

// Presentation is what the SDK draws for a journey's flow: its name and, per
// step, where the step shows and its rendered, sanitized content. Views for
// GET and POST journey answers carry it; stream updates do not (the SDK keeps
// the one it fetched for the same flow version).
type Presentation struct {
	Name  string          `json:"name"`
	Steps []PresentedStep `json:"steps"`
}

// PresentedStep is one step as the SDK shows it.
type PresentedStep struct {
	Key             string       `json:"key"`
	Title           string       `json:"title"`
	Kind            so.StepKind  `json:"kind"`
	Required        bool         `json:"required"`
	Target          string       `json:"target,omitempty"`
	URL             string       `json:"url,omitempty"`
	Placement       so.Placement `json:"placement,omitempty"`
	TargetTimeoutMS int          `json:"target_timeout_ms,omitempty"`
	BodyHTML        string       `json:"body_html"`
	// VideoURL is a video step's media (its content's metadata.video_url, an
	// https URL or a path), which the SDK plays in the step's modal.
	VideoURL string `json:"video_url,omitempty"`
}

// videoURL reads a video item's metadata.video_url, keeping only https URLs
// and paths, so no other scheme reaches a page's <video>.
func videoURL(item *so.ContentItem) string {
	if item.Kind != so.ContentVideo || len(item.Metadata) == 0 {
		return ""
	}
	var m struct {
		VideoURL string `json:"video_url"`
	}
	if json.Unmarshal(item.Metadata, &m) != nil {
		return ""
	}
	u, err := url.Parse(m.VideoURL)
	if err != nil || !(u.Scheme == "https" && u.Host != "" || u.Scheme == "" && u.Host == "" && strings.HasPrefix(u.Path, "/")) {
		return ""
	}
	return u.String()
}

// Presenter renders a flow version's steps for the SDK.
type Presenter func(ctx context.Context, v *so.FlowVersion) (*Presentation, error)

// Present builds a Presentation from a version, with content bodies (markdown)
// found by id and rendered to sanitized HTML, kept for PresentTTL; a step
// whose content is gone shows its title alone.
func Present(find func(ctx context.Context, projectID, id string) (*so.ContentItem, error), render func(string) (string, error)) Presenter {
	type entry struct {
		p       *Presentation
		expires time.Time
	}
	var mu sync.Mutex
	cache := map[versionKey]entry{}
	build := presenter(find, render)
	return func(ctx context.Context, v *so.FlowVersion) (*Presentation, error) {
		k, now := versionKey{v.ProjectID, v.FlowID, v.Version}, time.Now()
		mu.Lock()
		e, ok := cache[k]
		mu.Unlock()
		if ok && now.Before(e.expires) {
			return e.p, nil
		}
		p, err := build(ctx, v)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		if len(cache) >= maxPresented {
			cache = map[versionKey]entry{}
		}
		cache[k] = entry{p, now.Add(PresentTTL)}
		mu.Unlock()
		return p, nil
	}
}

func presenter(find func(ctx context.Context, projectID, id string) (*so.ContentItem, error), render func(string) (string, error)) Presenter {
	return func(ctx context.Context, v *so.FlowVersion) (*Presentation, error) {
		p := &Presentation{Name: v.Name, Steps: make([]PresentedStep, len(v.Steps))}
		for i, s := range v.Steps {
			p.Steps[i] = PresentedStep{Key: s.Key, Title: s.Title, Kind: s.Kind, Required: s.Required, Target: s.Target,
				URL: s.URL, Placement: s.Placement, TargetTimeoutMS: s.TargetTimeoutMS}
			item, err := find(ctx, v.ProjectID, s.ContentItemID)
			if so.ErrorCode(err) == so.ENOTFOUND {
				continue
			} else if err != nil {
				return nil, err
			}
			if p.Steps[i].BodyHTML, err = render(item.Body); err != nil {
				return nil, err
			}
			p.Steps[i].VideoURL = videoURL(item)
		}
		return p, nil
	}
}
