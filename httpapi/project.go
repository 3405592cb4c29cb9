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
	s.secrets.forget(p.ID)
	writeJSON(w, http.StatusOK, viewProject(p))
	return nil
}

// secretTTL bounds how long an instance may use a stale identity setting; on the
// instance that changed it, the change applies at once.
const secretTTL = 5 * time.Second

// secretCache keeps each project's identity secret and limits briefly, so
// that checking X-User-Hash or a stream limit does not read the project on
// every public call.
type secretCache struct {
	mu      sync.Mutex
	entries map[string]secretEntry
}

type secretEntry struct {
	secret  string
	limits  so.Limits
	expires time.Time
}

func (c *secretCache) get(ctx context.Context, store so.ProjectStore, projectID string) (string, error) {
	e, err := c.entry(ctx, store, projectID)
	return e.secret, err
}

// limits returns the project's own limits (nil fields take the instance's).
func (c *secretCache) limits(ctx context.Context, store so.ProjectStore, projectID string) (so.Limits, error) {
	e, err := c.entry(ctx, store, projectID)
	return e.limits, err
}

func (c *secretCache) entry(ctx context.Context, store so.ProjectStore, projectID string) (secretEntry, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.entries[projectID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e, nil
	}
	p, err := store.FindProject(ctx, projectID)
	if err != nil {
		return secretEntry{}, err
	}
	e = secretEntry{secret: p.IdentitySecret, limits: p.Settings.Limits, expires: now.Add(secretTTL)}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[string]secretEntry{}
	}
	c.entries[projectID] = e
	c.mu.Unlock()
	return e, nil
}

func (c *secretCache) forget(projectID string) {
	c.mu.Lock()
	delete(c.entries, projectID)
	c.mu.Unlock()
}
