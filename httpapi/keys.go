package httpapi

import (
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/api"
)

func viewKey(k *so.APIKey) api.APIKeyView {
	scopes := k.Scopes
	if scopes == nil {
		scopes = []so.Scope{}
	}
	return api.APIKeyView{ID: k.ID, Kind: k.Kind, Name: k.Name, Prefix: k.Prefix, Scopes: scopes,
		CreatedBy: k.CreatedBy, Source: k.Source, CreatedAt: so.FormatTime(k.CreatedAt),
		LastUsedAt: so.FormatOptionalTime(k.LastUsedAt), ExpiresAt: so.FormatOptionalTime(k.ExpiresAt),
		RevokedAt: so.FormatOptionalTime(k.RevokedAt)}
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	keys, err := s.Projects.ListAPIKeys(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	views := make([]api.APIKeyView, len(keys))
	for i, k := range keys {
		views[i] = viewKey(k)
	}
	writeJSON(w, http.StatusOK, newList(views, ""))
	return nil
}

// createKey makes a key and shows its value this once; only its hash is kept.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	var in so.KeyInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	now := so.Now()
	if err := in.Validate(now); err != nil {
		return err
	}
	value := so.GenerateKey(in.Kind)
	k := so.NewAPIKey(projectID(r), in.Kind, in.Name, value)
	k.CreatedBy = principalFrom(r.Context()).Actor()
	if in.Kind == so.KeySecret {
		k.Scopes = in.Scopes
	}
	if in.ExpiresAt != nil {
		exp := so.Truncate(*in.ExpiresAt)
		k.ExpiresAt = &exp
	}
	if err := s.Projects.CreateAPIKey(r.Context(), k); err != nil {
		return err
	}
	noteTarget(r, "", r.URL.Path+"/"+k.ID)
	writeJSON(w, http.StatusCreated, api.APIKeyCreated{APIKeyView: viewKey(k), Key: value})
	return nil
}

// revokeKey ends a key: at once on this instance, within the key cache's
// lifetime on the others.
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.Projects.RevokeAPIKey(r.Context(), projectID(r), r.PathValue("id"), so.Now())
	if so.ErrorCode(err) == so.ENOTFOUND {
		return so.Errorf(so.ENOTFOUND, "no API key %q in this project", r.PathValue("id"))
	} else if err != nil {
		return err
	}
	s.keys.forgetAll()
	writeJSON(w, http.StatusOK, viewKey(k))
	return nil
}
