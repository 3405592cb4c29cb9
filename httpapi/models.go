package httpapi

import (
	"net/http"
	"strconv"

	so "github.com/smartonboarding/smartonboard"
)

// listModels answers the project's model registry, newest first.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	ms, err := s.Models.Store.ListModels(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Models []*so.Model `json:"models"`
	}{ms})
	return nil
}

// trainModel queues a training of the project's model and answers 202 with
// the job (the one already queued, when there is one).
func (s *Server) trainModel(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	if r.ContentLength > 0 {
		return so.Errorf(so.EINVALID, "training takes no body")
	}
	j, err := s.Training.EnqueueTraining(r.Context(), projectID(r))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/models/jobs/"+strconv.FormatInt(j.ID, 10))
	writeJSON(w, http.StatusAccepted, struct {
		Job *so.TrainingJob `json:"job"`
	}{j})
	return nil
}

// getTrainingJob answers one training job's state.
func (s *Server) getTrainingJob(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return so.FieldErrorf(so.EINVALID, "id", "must be a positive job number")
	}
	j, err := s.Training.FindTrainingJob(r.Context(), projectID(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Job *so.TrainingJob `json:"job"`
	}{j})
	return nil
}

// activateModel makes a model the active one: the way to roll back is to
// activate the previous model.
func (s *Server) activateModel(w http.ResponseWriter, r *http.Request) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	if r.ContentLength > 0 {
		return so.Errorf(so.EINVALID, "activation takes no body")
	}
	m, err := s.Models.Activate(r.Context(), projectID(r), r.PathValue("id"), "activated by "+principalFrom(r.Context()).Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

// userPrediction answers a user's chance of completing a journey.
func (s *Server) userPrediction(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "flow")
	if err != nil {
		return err
	}
	userID, flow := r.PathValue("user_id"), q.Get("flow")
	if err := so.CheckUserID("user_id", userID); err != nil {
		return err
	}
	if flow != "" {
		if err := so.CheckKey("flow", flow); err != nil {
			return err
		}
	}
	p, err := s.Models.Predict(r.Context(), projectID(r), userID, flow)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
