package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	so "github.com/smartonboarding/smartonboard"
)

func (s *Server) createFlow(w http.ResponseWriter, r *http.Request) error {
	var in so.FlowInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	f, err := s.Flows.Create(r.Context(), projectID(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/flows/"+url.PathEscape(f.Key))
	writeJSON(w, http.StatusCreated, f)
	return nil
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, s.Flows.List)
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Flows.Find(r.Context(), projectID(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) getFlowVersion(w http.ResponseWriter, r *http.Request) error {
	n, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || n < 1 {
		return so.FieldErrorf(so.EINVALID, "version", "must be a positive whole number")
	}
	v, err := s.Flows.Version(r.Context(), projectID(r), r.PathValue("key"), n)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) updateFlow(w http.ResponseWriter, r *http.Request) error {
	var p so.FlowPatch
	if err := decodeJSON(w, r, &p, "application/json", "application/merge-patch+json"); err != nil {
		return err
	}
	f, err := s.Flows.UpdateDraft(r.Context(), projectID(r), r.PathValue("key"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, f)
	return nil
}

func (s *Server) publishFlow(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength > 0 {
		return so.Errorf(so.EINVALID, "publish takes no body")
	}
	v, err := s.Flows.Publish(r.Context(), projectID(r), r.PathValue("key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}
