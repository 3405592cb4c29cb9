package behaviour

import (
	"slices"
	"time"

	so "github.com/smartonboarding/smartonboard"
)

// Sent is an intervention sent or held out, remembered for caps and escalation.
type Sent struct {
	ID        string              `json:"id"`
	Kind      so.InterventionKind `json:"kind"`
	Flow      string              `json:"flow"`
	Step      string              `json:"step"`
	SessionID string              `json:"session_id"`
	At        time.Time           `json:"at"`
	HeldOut   bool                `json:"held_out,omitempty"`
	Dismissed bool                `json:"dismissed,omitempty"`
	Accepted  bool                `json:"accepted,omitempty"`
}

// Allow applies the caps to an intervention of the kind for the trigger, so
// users are not over-guided; held-out interventions count like sent ones.
func (s *State) Allow(t Trigger, kind so.InterventionKind, cfg so.Behaviour) (bool, string) {
	history := s.History(t.SessionID)
	cooldown := seconds(cfg.StepCooldownSeconds)
	switch {
	case len(history) >= cfg.PerSession:
		return false, CapPerSession
	case s.run(t.SessionID) >= 2:
		return false, CapOverGuidance
	case slices.ContainsFunc(s.Sent, func(h Sent) bool {
		return h.Flow == t.Flow && h.Step == t.Step && t.At.Sub(h.At) < cooldown
	}):
		return false, CapCooldown
	case slices.ContainsFunc(history, func(h Sent) bool { return h.Dismissed && h.Kind == kind && onStep(h, t) }):
		return false, CapDismissed
	}
	return true, ""
}

// Record remembers a sent or held-out intervention, once per id.
func (s *State) Record(sent Sent) {
	if slices.ContainsFunc(s.Sent, func(h Sent) bool { return h.ID == sent.ID }) {
		return
	}
	s.Sent = pushCapped(s.Sent, sent, maxSent)
}

// History returns the session's remembered interventions, oldest first.
func (s *State) History(sessionID string) []Sent {
	var out []Sent
	for _, h := range s.Sent {
		if h.SessionID == sessionID {
			out = append(out, h)
		}
	}
	return out
}

// ApplyOutcome records what the user did with an intervention: a first
// dismissal lengthens the session's run of dismissals, an acceptance ends it
// (a dismissal after acceptance is closing accepted help, not refusing it).
func (s *State) ApplyOutcome(id string, o so.InterventionOutcome) {
	i := slices.IndexFunc(s.Sent, func(h Sent) bool { return h.ID == id })
	if i < 0 {
		return
	}
	h := &s.Sent[i]
	switch {
	case o == so.OutcomeDismissed && !h.Dismissed && !h.Accepted:
		h.Dismissed = true
		s.setRun(h.SessionID, s.run(h.SessionID)+1)
	case o == so.OutcomeAccepted && !h.Accepted:
		h.Accepted = true
		s.setRun(h.SessionID, 0)
	}
}

// run is the session's current run of dismissals.
func (s *State) run(session string) int {
	for _, r := range s.Runs {
		if r.Session == session {
			return r.Dismissals
		}
	}
	return 0
}

// setRun stores the session's run of dismissals, most recent last.
func (s *State) setRun(session string, n int) {
	s.Runs = slices.DeleteFunc(s.Runs, func(r DismissalRun) bool { return r.Session == session })
	s.Runs = pushCapped(s.Runs, DismissalRun{session, n}, maxRuns)
}
