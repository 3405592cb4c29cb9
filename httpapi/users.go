package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/analytics"
	"github.com/smartonboarding/smartonboard/api"
)

func (s *Server) identify(w http.ResponseWriter, r *http.Request) error {
	var in so.IdentifyInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.checkUser(r, in.UserID); err != nil {
		return err
	}
	if err := s.checkClientTraits(r, in.Traits); err != nil {
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
	q, err := queryParams(r, "role", "plan", "experience", "seen_since", "limit", "cursor")
	if err != nil {
		return err
	}
	f := so.UserFilter{Role: q.Get("role"), Plan: q.Get("plan"), Experience: q.Get("experience")}
	if f.SeenSince, err = timeParam(q.Get("seen_since"), "seen_since"); err != nil {
		return err
	}
	if f.Limit, err = limitParam(q); err != nil {
		return err
	}
	users, next, err := s.Users.List(r.Context(), projectID(r), f, q.Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newList(users, next))
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Users.Find(r.Context(), projectID(r), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// eraseUser deletes everything stored about one end user and takes them out
// of the analytics; the answer counts what went.
func (s *Server) eraseUser(w http.ResponseWriter, r *http.Request) error {
	userID := r.PathValue("user_id")
	if err := so.CheckUserID("user_id", userID); err != nil {
		return err
	}
	var erased so.Erasure
	err := s.Eraser.EraseUser(r.Context(), func(ctx context.Context, tx so.ErasureTx) error {
		var err error
		erased, err = analytics.Erase(ctx, tx, projectID(r), userID, so.Now())
		return err
	})
	if err != nil {
		return err
	}
	s.Journeys.Forget(projectID(r), userID)
	writeJSON(w, http.StatusOK, erased)
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
	writeJSON(w, http.StatusOK, api.NextStepResponse{NextStep: step, Reason: reason})
	return nil
}

// checkClientTraits holds a call made with a public key, which any web page has,
// to the traits the project lets browsers set: admin filters and billing trust
// the others (role, plan by default), so only the customer's backend may set them.
func (s *Server) checkClientTraits(r *http.Request, traits json.RawMessage) error {
	if principalFrom(r.Context()).Kind != so.PrincipalPublicKey {
		return nil // a secret key or a signed-in admin: the customer's own side
	}
	p, err := s.cachedProject(r)
	if err != nil {
		return err
	}
	return so.CheckClientTraits(p.Settings, traits)
}

// Bounds of the behaviour a user's page reads.
const (
	maxDetections      = 100
	maxEngagementShown = 1440 // a day of minutes
)

// userDetections answers a user's struggle detections, newest first.
func (s *Server) userDetections(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	userID := r.PathValue("user_id")
	if err := so.CheckUserID("user_id", userID); err != nil {
		return err
	}
	ds, err := s.Behaviour.ListDetections(r.Context(), projectID(r), userID, maxDetections)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Detections []*so.Detection `json:"detections"`
	}{ds})
	return nil
}

// journeyEngagement answers a journey's engagement score by minute, the
// latest day of it.
func (s *Server) journeyEngagement(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	userID, flow := r.PathValue("user_id"), r.PathValue("flow_key")
	if err := so.CheckUserID("user_id", userID); err != nil {
		return err
	}
	j, err := s.Journeys.Journeys.FindJourney(r.Context(), projectID(r), userID, flow)
	if err != nil {
		return err
	}
	points, err := s.Behaviour.EngagementSeries(r.Context(), projectID(r), j.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Points []so.EngagementPoint `json:"points"`
	}{points[max(0, len(points)-maxEngagementShown):]})
	return nil
}
