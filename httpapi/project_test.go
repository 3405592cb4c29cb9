package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	so "github.com/smartonboarding/smartonboard"
)

// racedProject is a project store in which another update lands between each
// read and the first write of the request under test, as a concurrent request
// on another instance would.
type racedProject struct {
	so.ProjectStore
	mu     sync.Mutex
	p      so.Project
	races  int // updates still to slip in
	writes int
}

func (s *racedProject) FindProject(_ context.Context, id string) (*so.Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.p
	if s.races > 0 { // the other update: a rotation of the identity secret
		s.races--
		s.p.PreviousIdentitySecret, s.p.IdentitySecret = s.p.IdentitySecret, "ids_rotated_elsewhere"
		s.p.Revision++
	}
	return &p, nil
}

func (s *racedProject) UpdateProject(_ context.Context, p *so.Project) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if p.Revision != s.p.Revision {
		return so.Stale("project", "revision", s.p.Revision, p.Revision)
	}
	p.Revision++
	s.p = *p
	return nil
}

// TestUpdateProjectReappliesPatch: a PATCH that meets a newer project applies
// itself again to it, so the other update (here a rotation) is kept, and after
// projectUpdateTries losses it answers 409.
func TestUpdateProjectReappliesPatch(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		races, status int
	}{{0, 200}, {2, 200}, {projectUpdateTries, 409}} {
		store := &racedProject{p: so.Project{ID: "p", Name: "old", IdentitySecret: "ids_original", Revision: 1}, races: tc.races}
		s := &Server{Projects: store}
		r := httptest.NewRequest("PATCH", "/v1/project", strings.NewReader(`{"name":"new"}`))
		r.Header.Set("Content-Type", "application/json")
		key := so.NewAPIKey("p", so.KeySecret, "admin", so.GenerateKey(so.KeySecret))
		r = r.WithContext(withPrincipal(r.Context(), so.KeyPrincipal(key)))
		w := httptest.NewRecorder()
		if err := s.updateProject(w, r); err != nil {
			if so.ErrorCode(err) != so.ECONFLICT || tc.status != 409 {
				t.Fatalf("races %d: %v, want status %d", tc.races, err, tc.status)
			}
		} else if w.Code != http.StatusOK || tc.status != 200 {
			t.Fatalf("races %d: %d %s, want %d", tc.races, w.Code, w.Body, tc.status)
		}
		if tc.status == 200 && (store.p.Name != "new" || (tc.races > 0) != (store.p.IdentitySecret == "ids_rotated_elsewhere")) {
			t.Errorf("races %d: stored %+v, want the rename and the other update both kept", tc.races, store.p)
		}
		if tc.status == 409 && (store.p.Name != "old" || store.writes != projectUpdateTries) {
			t.Errorf("races %d: stored %+v after %d writes, want nothing of the patch after %d tries", tc.races, store.p, store.writes, projectUpdateTries)
		}
	}
}
