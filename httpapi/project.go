package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

func viewProject(p *so.Project) api.ProjectView {
	return api.ProjectView{ID: p.ID, Name: p.Name, CreatedAt: so.FormatTime(p.CreatedAt),
		IdentityVerification: p.IdentitySecret != "", IdentitySecret: p.IdentitySecret}
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Projects.FindProject(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewProject(p))
	return nil
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	var patch api.ProjectPatch
	if err := decodeJSON(w, r, &patch, "application/json", "application/merge-patch+json"); err != nil {
		return err
	}
	p, err := s.Projects.FindProject(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	if patch.Name != nil {
		p.Name = *patch.Name
		if p.Name == "" || len(p.Name) > so.MaxTitleLen {
			return so.FieldErrorf(so.EINVALID, "name", "must be 1 to %d characters", so.MaxTitleLen)
		}
	}
	on := p.IdentitySecret != ""
	if patch.IdentityVerification != nil {
		on = *patch.IdentityVerification
	}
	if patch.RotateIdentitySecret && !on {
		return so.FieldErrorf(so.EINVALID, "rotate_identity_secret", "identity verification is off; there is no secret to rotate")
	}
	p.SetIdentityVerification(on, patch.RotateIdentitySecret)
	if err := s.Projects.UpdateProject(r.Context(), p); err != nil {
		return err
	}
	s.projects.forget(p.ID)
	writeJSON(w, http.StatusOK, viewProject(p))
	return nil
}

// projectTTL bounds how long an instance may use stale project settings; on the
// instance that changed them, the change applies at once.
const projectTTL = 5 * time.Second

// projectCache keeps each project briefly, so that checking X-User-Hash and
// server-only traits does not read the project on every public call. Cached
// projects are shared: callers must not change them.
type projectCache struct {
	mu      sync.Mutex
	entries map[string]projectEntry
}

type projectEntry struct {
	project *so.Project
	expires time.Time
}

func (c *projectCache) get(ctx context.Context, store so.ProjectStore, projectID string) (*so.Project, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[projectID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.project, nil
	}
	p, err := store.FindProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]projectEntry{}
	}
	c.entries[projectID] = projectEntry{project: p, expires: now.Add(projectTTL)}
	c.mu.Unlock()
	return p, nil
}

func (c *projectCache) forget(projectID string) {
	c.mu.Lock()
	delete(c.entries, projectID)
	c.mu.Unlock()
}

// cachedProject is the request's project from the cache; a store that cannot
// answer makes it unavailable (retry), not an internal error.
func (s *Server) cachedProject(r *http.Request) (*so.Project, error) {
	p, err := s.projects.get(r.Context(), s.Projects, projectID(r))
	if so.ErrorCode(err) == so.EINTERNAL {
		s.Logger.WarnContext(r.Context(), "cannot read project settings", "err", err, "request_id", requestID(r.Context()))
		return nil, so.Errorf(so.EUNAVAILABLE, "the project's settings cannot be read right now; retry")
	}
	return p, err
}
