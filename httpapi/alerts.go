package httpapi

import (
	"net/http"

	so "github.com/smartonboarding/smartonboard"
)

// Alert listing limits.
const (
	defaultAlerts = 50
	maxAlerts     = 200
)

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "status", "limit")
	if err != nil {
		return err
	}
	f := so.AlertFilter{Status: so.AlertStatus(q.Get("status")), Limit: defaultAlerts}
	if f.Status != "" {
		if err := so.CheckEnumValue("status", f.Status, so.AlertStatuses); err != nil {
			return err
		}
	}
	if n, err := limitParam(q); err != nil {
		return err
	} else if n != 0 {
		if n < 1 || n > maxAlerts {
			return so.FieldErrorf(so.EINVALID, "limit", "must be from 1 to %d", maxAlerts)
		}
		f.Limit = n
	}
	as, err := s.Alerts.ListAlerts(r.Context(), projectID(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Alerts []*so.Alert `json:"alerts"`
	}{as})
	return nil
}

func (s *Server) acknowledgeAlert(w http.ResponseWriter, r *http.Request) error {
	return s.moveAlert(w, r, func(a *so.Alert) (bool, error) { return a.Acknowledge(so.Now()) })
}

func (s *Server) resolveAlert(w http.ResponseWriter, r *http.Request) error {
	return s.moveAlert(w, r, func(a *so.Alert) (bool, error) { return a.Resolve(so.Now()), nil })
}

// moveAlert applies an action to the alert and stores it unless its status
// moved meanwhile; an action that changes nothing answers the alert as is.
func (s *Server) moveAlert(w http.ResponseWriter, r *http.Request, action func(*so.Alert) (bool, error)) error {
	if _, err := queryParams(r); err != nil {
		return err
	}
	a, err := s.Alerts.FindAlert(r.Context(), projectID(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	from := a.Status
	changed, err := action(a)
	if err != nil {
		return err
	}
	if changed {
		if err := s.Alerts.UpdateAlert(r.Context(), a, from); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}
