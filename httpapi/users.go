package httpapi

import (
	"net/http"

	so "github.com/smartonboarding/smartonboard"
)

func (s *Server) identify(w http.ResponseWriter, r *http.Request) error {
	var in so.IdentifyInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.checkUser(r, in.UserID); err != nil {
		return err
	}
	u, err := s.Users.Identify(r.Context(), projectID(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	return writePage(w, r, s.Users.List)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Users.Find(r.Context(), projectID(r), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) startJourney(w http.ResponseWriter, r *http.Request) error {
	userID := r.PathValue("user_id")
	if err := s.checkUser(r, userID); err != nil {
		return err
	}
	view, created, err := s.Journeys.Start(r.Context(), projectID(r), userID, r.PathValue("flow_key"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.publishJourney(r.Context(), view.Journey)
	}
	writeJSON(w, status, view)
	return nil
}

func (s *Server) getJourney(w http.ResponseWriter, r *http.Request) error {
	userID := r.PathValue("user_id")
	if err := s.checkUser(r, userID); err != nil {
		return err
	}
	view, err := s.Journeys.Get(r.Context(), projectID(r), userID, r.PathValue("flow_key"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

// NextStepResponse is the body of GET /v1/users/{user_id}/next-step.
type NextStepResponse struct {
	NextStep *so.Step `json:"next_step"`
	Reason   string   `json:"reason"`
}

func (s *Server) nextStep(w http.ResponseWriter, r *http.Request) error {
	userID := r.PathValue("user_id")
	if err := s.checkUser(r, userID); err != nil {
		return err
	}
	q, err := queryParams(r, "flow")
	if err != nil {
		return err
	}
	if q.Get("flow") == "" {
		return so.FieldErrorf(so.EINVALID, "flow", "is required: ?flow=<flow key>")
	}
	step, reason, err := s.Journeys.NextStep(r.Context(), projectID(r), userID, q.Get("flow"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, NextStepResponse{NextStep: step, Reason: reason})
	return nil
}
