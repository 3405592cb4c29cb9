package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

// viewProject shows the identity secret only to callers who may manage the
// project: a read-only key or viewer could otherwise impersonate any user.
func viewProject(p *so.Project, who *so.Principal) api.ProjectView {
	v := api.ProjectView{ID: p.ID, Name: p.Name, CreatedAt: so.FormatTime(p.CreatedAt),
		IdentityVerification: p.IdentitySecret != "", Settings: p.Settings, Role: who.Role}
	if who.Can(so.ScopeAdmin) {
		v.IdentitySecret = p.IdentitySecret
		if p.PreviousIdentitySecret != "" && so.Now().Before(p.PreviousSecretUntil) {
			v.PreviousSecretUntil = so.FormatTime(p.PreviousSecretUntil)
		}
	}
	return v
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	p, err := s.Projects.FindProject(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewProject(p, principalFrom(r.Context())))
	return nil
}

// listProjects shows a session the projects it belongs to, and a key its own.
func (s *Server) listProjects(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	who := principalFrom(r.Context())
	if who.Account == nil {
		p, err := s.Projects.FindProject(r.Context(), who.ProjectID)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, newList([]api.ProjectView{viewProject(p, who)}, ""))
		return nil
	}
	views, err := s.memberships(r.Context(), who)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(views, ""))
	return nil
}

// memberships lists a signed-in account's projects as it may see them.
func (s *Server) memberships(ctx context.Context, who *so.Principal) ([]api.ProjectView, error) {
	ms, err := s.Accounts.Store.ListMemberships(ctx, who.Account.ID)
	if err != nil {
		return nil, err
	}
	views := make([]api.ProjectView, len(ms))
	for i, m := range ms {
		views[i] = viewProject(m.Project, &so.Principal{Role: m.Role, Scopes: m.Role.Scopes()})
	}
	return views, nil
}

// createProject makes a project owned by the signed-in account.
func (s *Server) createProject(w http.ResponseWriter, r *http.Request) error {
	var in api.ProjectInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	who := principalFrom(r.Context())
	p, err := s.Accounts.CreateProject(r.Context(), who.Account, in.Name)
	if err != nil {
		return err
	}
	noteTarget(r, p.ID, "/v1/projects/"+p.ID)
	writeJSON(w, http.StatusCreated, viewProject(p, &so.Principal{Role: so.RoleOwner, Scopes: so.RoleOwner.Scopes()}))
	return nil
}

// projectUpdateTries bounds how often a PATCH is applied again to a project
// another request changed meanwhile.
const projectUpdateTries = 3

// updateProject applies a patch to the project as stored now: when another
// update lands between the read and the write, the patch is applied again to
// the newer project rather than undoing that update (a concurrent rename must
// not bring back a rotated-out identity secret).
func (s *Server) updateProject(w http.ResponseWriter, r *http.Request) error {
	var patch api.ProjectPatch
	if err := decodeJSON(w, r, &patch, "application/json", "application/merge-patch+json"); err != nil {
		return err
	}
	for try := 1; ; try++ {
		p, err := s.Projects.FindProject(r.Context(), projectID(r))
		if err != nil {
			return err
		}
		if err := s.applyProjectPatch(p, patch); err != nil {
			return err
		}
		err = s.Projects.UpdateProject(r.Context(), p)
		if so.ErrorCode(err) == so.ECONFLICT && try < projectUpdateTries {
			continue
		} else if err != nil {
			return err
		}
		s.projects.forget(p.ID)
		writeJSON(w, http.StatusOK, viewProject(p, principalFrom(r.Context())))
		return nil
	}
}

// applyProjectPatch checks a patch and applies it to p.
func (s *Server) applyProjectPatch(p *so.Project, patch api.ProjectPatch) error {
	if patch.Name != nil {
		if err := so.CheckProjectName(*patch.Name); err != nil {
			return err
		}
		p.Name = *patch.Name
	}
	on := p.IdentitySecret != ""
	if patch.IdentityVerification != nil {
		on = *patch.IdentityVerification
	}
	if patch.RotateIdentitySecret && !on {
		return so.FieldErrorf(so.EINVALID, "rotate_identity_secret", "identity verification is off; there is no secret to rotate")
	}
	if patch.Settings != nil {
		if err := patch.Settings.Validate(); err != nil {
			return err
		}
		p.Settings = *patch.Settings
	}
	p.SetIdentityVerification(on, patch.RotateIdentitySecret, s.IdentityGrace, so.Now())
	return nil
}

// projectTTL bounds how long an instance may use stale project settings
// (identity verification, limits, server-only traits); on the instance that
// changed them, the change applies at once; on the others, within this plus a
// stream's 3 s re-check, 5 seconds.
const projectTTL = 2 * time.Second

// projectCacheMax bounds the cache; when full it starts over.
const projectCacheMax = 10000

// projectCache keeps each project briefly, so that checking X-User-Hash or a
// limit does not read the project on every public call.
type projectCache struct {
	mu      sync.Mutex
	entries map[string]projectEntry
}

type projectEntry struct {
	project *so.Project
	expires time.Time
}

// get returns the project, from the cache while it is fresh. The project is
// shared: callers must not change it.
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
	if c.entries == nil || len(c.entries) >= projectCacheMax {
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
