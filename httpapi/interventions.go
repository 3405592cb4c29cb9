package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	so "github.com/smartonboarding/smartonboard"
	"github.com/smartonboarding/smartonboard/behaviour"
)

// defaultWindow is how far back a report looks when `from` is not given.
const defaultWindow = 7 * 24 * time.Hour

func (s *Server) listInterventions(w http.ResponseWriter, r *http.Request) error {
	q, err := queryParams(r, "user_id", "flow", "step", "kind", "held_out", "from", "to", "limit", "cursor")
	if err != nil {
		return err
	}
	f := so.InterventionFilter{UserID: q.Get("user_id"), Flow: q.Get("flow"), Step: q.Get("step"), Kind: so.InterventionKind(q.Get("kind"))}
	if err := so.CheckEnumValue("kind", f.Kind, so.InterventionKinds); f.Kind != "" && err != nil {
		return err
	}
	switch q.Get("held_out") {
	case "":
	case "true", "false":
		held := q.Get("held_out") == "true"
		f.HeldOut = &held
	default:
		return so.FieldErrorf(so.EINVALID, "held_out", "must be true or false")
	}
	if f.From, err = timeParam(q.Get("from"), "from"); err != nil {
		return err
	}
	if f.To, err = timeParam(q.Get("to"), "to"); err != nil {
		return err
	}
	if f.Limit, err = limitParam(q); err != nil {
		return err
	}
	f.Limit = max(f.Limit, 0)
	if f.Limit == 0 {
		f.Limit = so.DefaultListLimit
	}
	if f.After, err = so.DecodeCursor(q.Get("cursor")); err != nil {
		return err
	}
	f.Limit++ // one more tells whether there is a next page
	items, err := s.Behaviour.ListInterventions(r.Context(), projectID(r), f)
	if err != nil {
		return err
	}
	next := ""
	if len(items) == f.Limit {
		items = items[:f.Limit-1]
		next = so.EncodeCursor(items[len(items)-1].ID)
	}
	writeJSON(w, http.StatusOK, newList(items, next))
	return nil
}

// outcomeRequest is the body of POST /v1/interventions/{id}/outcome.
type outcomeRequest struct {
	UserID  string                 `json:"user_id"`
	Outcome so.InterventionOutcome `json:"outcome"`
}

// outcomeEvents are the outcomes the behaviour engine's caps hear of, as the
// events the SDK would send for them.
var outcomeEvents = map[so.InterventionOutcome]so.EventType{
	so.OutcomeShown:     so.EventInterventionShown,
	so.OutcomeAccepted:  so.EventInterventionAccepted,
	so.OutcomeDismissed: so.EventInterventionDismiss,
}

// postOutcome records what the user did with an intervention: stored at once
// (a 200 means it is committed), and, for shown/accepted/dismissed, also put
// in the event log as the matching event, so the caps (no repeat after a
// dismissal, none after two in a row) see it in order with everything else.
func (s *Server) postOutcome(w http.ResponseWriter, r *http.Request) error {
	var in outcomeRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := so.CheckUserID("user_id", in.UserID); err != nil {
		return err
	}
	if err := so.CheckEnumValue("outcome", in.Outcome, so.InterventionOutcomes); err != nil {
		return err
	}
	if err := s.checkUser(r, in.UserID); err != nil {
		return err
	}
	if err := s.limitUsers(w, r, []string{in.UserID}); err != nil { // it writes an event: the user's event budget
		return err
	}
	now := so.Now()
	i, err := s.Behaviour.RecordOutcome(r.Context(), projectID(r), in.UserID, r.PathValue("id"), in.Outcome, now)
	if err != nil {
		return err
	}
	if t, ok := outcomeEvents[in.Outcome]; ok {
		if err := s.logOutcome(r, i, t, now); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, i)
	return nil
}

// logOutcome submits the outcome event; its id is derived from the
// intervention and the outcome, so a retried request stores it once.
func (s *Server) logOutcome(r *http.Request, i *so.Intervention, t so.EventType, now time.Time) error {
	props, err := json.Marshal(map[string]string{"intervention_id": i.ID, "source": "api"})
	if err != nil {
		return err
	}
	ev, err := so.NewEvent(i.ProjectID, so.EventInput{ID: so.DerivedID(i.TriggeredAt, i.ID, string(t)), Type: t,
		UserID: i.UserID, SessionID: i.SessionID, Timestamp: so.FormatTime(now), Properties: props}, now)
	if err != nil {
		return err
	}
	_, err = s.Ingest.Submit(r.Context(), []*so.Event{ev})
	return err
}

// armView is one arm of an intervention comparison.
type armView struct {
	Users                 int     `json:"users"`
	StepCompleted         int     `json:"step_completed"`
	StepCompletionRate    float64 `json:"step_completion_rate"`
	JourneyCompleted      int     `json:"journey_completed"`
	JourneyCompletionRate float64 `json:"journey_completion_rate"`
}

// differenceView is sent minus held out, with its 95% interval.
type differenceView struct {
	Difference float64 `json:"difference"`
	Low        float64 `json:"low"`
	High       float64 `json:"high"`
	Defined    bool    `json:"defined"` // false while either arm has no users
}

// effectView is one flow, step and kind of the interventions report.
type effectView struct {
	Flow              string              `json:"flow"`
	Step              string              `json:"step"`
	Kind              so.InterventionKind `json:"kind"`
	Sent              armView             `json:"sent"`
	HeldOut           armView             `json:"held_out"`
	StepCompletion    differenceView      `json:"step_completion_difference"`
	JourneyCompletion differenceView      `json:"journey_completion_difference"`
	Shown             int                 `json:"shown"`
	Accepted          int                 `json:"accepted"`
	Dismissed         int                 `json:"dismissed"`
	Helpful           int                 `json:"helpful"`
	NotHelpful        int                 `json:"not_helpful"`
}

// effectsReport is GET /v1/analytics/interventions.
type effectsReport struct {
	From   string       `json:"from"`
	To     string       `json:"to"`
	Unit   string       `json:"unit"`
	Window float64      `json:"step_window_minutes"`
	Groups []effectView `json:"groups"`
}

func (s *Server) interventionEffects(w http.ResponseWriter, r *http.Request) error {
	from, to, err := reportWindow(r)
	if err != nil {
		return err
	}
	p, err := s.cachedProject(r)
	if err != nil {
		return err
	}
	counts, err := s.Behaviour.InterventionEffects(r.Context(), projectID(r), from, to)
	if err != nil {
		return err
	}
	out := effectsReport{From: so.FormatTime(from), To: so.FormatTime(to), Unit: "users",
		Window: p.Settings.Behaviour.Resolve().OutcomeWindowMinutes, Groups: make([]effectView, len(counts))}
	for k, c := range counts {
		out.Groups[k] = effectView{Flow: c.Flow, Step: c.Step, Kind: c.Kind,
			Sent:              arm(c.Sent, c.SentStepCompleted, c.SentJourneyCompleted),
			HeldOut:           arm(c.HeldOut, c.HeldStepCompleted, c.HeldJourneyCompleted),
			StepCompletion:    difference(behaviour.Compare(c.Sent, c.SentStepCompleted, c.HeldOut, c.HeldStepCompleted)),
			JourneyCompletion: difference(behaviour.Compare(c.Sent, c.SentJourneyCompleted, c.HeldOut, c.HeldJourneyCompleted)),
			Shown:             c.Shown, Accepted: c.Accepted, Dismissed: c.Dismissed, Helpful: c.Helpful, NotHelpful: c.NotHelpful}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func arm(users, step, journey int) armView {
	v := armView{Users: users, StepCompleted: step, JourneyCompleted: journey}
	if users > 0 {
		v.StepCompletionRate, v.JourneyCompletionRate = float64(step)/float64(users), float64(journey)/float64(users)
	}
	return v
}

func difference(e behaviour.Effect) differenceView {
	return differenceView{Difference: e.Difference, Low: e.Low, High: e.High, Defined: e.Defined}
}

// reportWindow reads `from` and `to` (RFC 3339), by default the last 7 days.
func reportWindow(r *http.Request) (time.Time, time.Time, error) {
	q, err := queryParams(r, "from", "to")
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	return windowOf(q)
}

// windowOf reads `from` and `to` of checked query parameters.
func windowOf(q url.Values) (time.Time, time.Time, error) {
	from, err := timeParam(q.Get("from"), "from")
	if err != nil {
		return from, from, err
	}
	to, err := timeParam(q.Get("to"), "to")
	if err != nil {
		return from, to, err
	}
	if to.IsZero() {
		to = so.Now().Add(time.Millisecond) // include what happened this millisecond
	}
	if from.IsZero() {
		from = to.Add(-defaultWindow)
	}
	if !from.Before(to) {
		return from, to, so.FieldErrorf(so.EINVALID, "from", "must be before to")
	}
	return from, to, nil
}
